/* wt_runtime.c -- `<this> run ...` behaves like `propeller wasm run ...`. */
#include "core/core.h"

#include "cli/cli.h"

extern const struct cli_command cli_cmd_wasm;

int
main(int argc, char **argv)
{
	argv[0] = (char *)"wasm";
	log_set_level(LOG_LEVEL_WARN);
	return cli_cmd_wasm.run(argc, argv);
}
