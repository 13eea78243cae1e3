/*
 * fuzz_wasm_fold.c -- tier 1's expression folding (src/wasm/codegen_fold.c)
 * on arbitrary text: never crashes, and text it has nothing to fold in
 * (no "w2c_") comes back unchanged. Seeds: tests/fuzz/corpus/wasm_fold/
 * (excerpts of wasm2c output).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wasm/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in, *out;

	if (size > (1u << 20))
		return 0;
	in = malloc(size + 2);
	if (in == NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0'; /* the text ends at the first NUL */
	out = wasm_tier1_fold(in);
	if (out == NULL)
		abort();
	if (strstr(in, "w2c_") == NULL && strlen(in) > 0 &&
	    in[strlen(in) - 1] == '\n' && strchr(in, '\r') == NULL &&
	    strcmp(in, out) != 0)
		abort();
	free(out);
	free(in);
	return 0;
}
