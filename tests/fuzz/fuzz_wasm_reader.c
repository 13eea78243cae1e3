/*
 * fuzz_wasm_reader.c -- the module reader on arbitrary bytes: parse, then
 * every query a caller makes (export lookup, signatures, import check).
 * Seeds: tests/fuzz/corpus/wasm_reader/ (seed*.wasm are wat2wasm output of
 * the seed*.wat beside them).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wasm/wasm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wasm_module *m = NULL;
	struct core_errbuf eb;
	const struct wasm_functype *ft;
	uint32_t i;

	core_errbuf_clear(&eb);
	if (wasm_module_parse(data, size, &m, &eb) != CORE_OK) {
		if (eb.msg[0] == '\0')
			abort(); /* every failure must say why */
		return 0;
	}
	for (i = 0; i < m->nexports; i++) {
		if (wasm_module_export(m, m->exports[i].name) == NULL)
			abort();
		ft = wasm_module_export_functype(m, m->exports[i].name);
		if (ft != NULL && (ft->nparams > WASM_MAX_PARAMS ||
		    ft->nresults > WASM_MAX_PARAMS))
			abort();
	}
	(void)wasm_module_check_imports(m, NULL);
	if (memcmp(m->bytes, data, size) != 0 || m->len != size)
		abort();
	wasm_module_free(m);
	return 0;
}
