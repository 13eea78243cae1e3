/*
 * cmd_tee.c -- `propeller tee detect`: which TEE this process runs in and
 * the signals behind the answer, as JSON.
 *
 * Exit codes: 0 detection ran (whatever it found) | 2 usage.
 */
#include "core/core.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "tee/tee.h"

static const char tee_usage[] =
    "usage: propeller tee detect [--root DIR]\n"
    "\n"
    "Prints {\"tee\":..., \"signals\":[...]} for this machine. Only\n"
    "reliable guest signals decide (configfs-tsm provider, /dev/tdx_guest,\n"
    "/dev/sev-guest, CPUID leaf 0x21, SEV_STATUS, the tdx_guest flag);\n"
    "host capability flags are listed as hints. --root reads a fake\n"
    "/sys, /dev, /proc tree instead of the real one.\n";

static int
cmd_tee(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *root = "/";
	struct tee_detection d;
	struct core_errbuf eb = { { 0 } };
	json_t *j;
	char *txt;
	int c;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(tee_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "detect") != 0) {
		fprintf(stderr, "propeller tee: unknown subcommand \"%s\"\n%s",
		    argv[1], tee_usage);
		return CLI_EXIT_USAGE;
	}
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			root = optarg;
			break;
		case 'h':
			fputs(tee_usage, stdout);
			return CLI_EXIT_OK;
		default:
			fputs(tee_usage, stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fputs(tee_usage, stderr);
		return CLI_EXIT_USAGE;
	}
	if (tee_detect(root, &d, &eb) != CORE_OK) {
		fprintf(stderr, "propeller tee detect: %s\n",
		    core_errbuf_msg(&eb));
		return CLI_EXIT_FAIL;
	}
	j = tee_detection_to_json(&d);
	txt = j != NULL ? json_dumps(j, JSON_INDENT(2)) : NULL;
	json_decref(j);
	if (txt == NULL) {
		fprintf(stderr, "propeller tee detect: out of memory\n");
		return CLI_EXIT_FAIL;
	}
	printf("%s\n", txt);
	free(txt);
	return CLI_EXIT_OK;
}

const struct cli_command cli_cmd_tee = { "tee",
	"TEE detection (tee detect)", cmd_tee };
