/*
 * fuzz_core_codec.c -- the core parsers of outside input: base64,
 * base64url, hex, RFC 3339 timestamps, Go durations and bounded JSON.
 */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	uint8_t *out = NULL;
	size_t n = 0;
	int64_t v;
	json_t *j = NULL;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (core_b64_decode(s, size, &out, &n, NULL) == CORE_OK) {
		char *re = core_b64_encode(out, n);

		/* Re-encoding a decoded value must decode to the same bytes. */
		if (re != NULL) {
			uint8_t *back = NULL;
			size_t bn = 0;

			if (core_b64_decode(re, strlen(re), &back, &bn, NULL) != CORE_OK ||
			    bn != n || memcmp(back, out, n) != 0)
				abort();
			free(back);
		}
		free(re);
		free(out);
	}
	if (core_b64url_decode(s, size, &out, &n, NULL) == CORE_OK)
		free(out);
	if (core_hex_decode(s, size, &out, &n, NULL) == CORE_OK)
		free(out);
	(void)core_rfc3339_parse(s, &v, NULL);
	(void)core_duration_parse_ms(s, &v, NULL);
	(void)core_uuid_valid(s);
	if (core_json_parse(data, size, 4096, &j, NULL) == CORE_OK) {
		const char *str;
		int64_t i;
		bool b;

		(void)core_json_get_str(j, "a", false, &str, NULL);
		(void)core_json_get_int(j, "b", false, &i, NULL);
		(void)core_json_get_bool(j, "c", false, &b, NULL);
		json_decref(j);
	}
	free(s);
	return 0;
}
