/*
 * Fuzzes the EAR claims serializer: any JSON document jansson parses must
 * come out of kbs_json_dumps byte for byte as jansson's own compact dump
 * (the token payload is signed over those bytes).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kbs/kbs_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *v;
	char *a, *b;

	if (size > 64 * 1024)
		return 0;
	v = json_loadb((const char *)data, size,
	    JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	if (v == NULL)
		return 0;
	a = core_json_dumps(v);
	b = kbs_json_dumps(v);
	if ((a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0))
		abort();
	free(a);
	free(b);
	json_decref(v);
	return 0;
}
