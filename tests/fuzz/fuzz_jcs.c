/*
 * fuzz_jcs.c -- RFC 8785 canonicalization of parsed JSON. The canonical
 * form must parse again and canonicalize to itself (idempotence). Also
 * crypto_json_dumps (the module's direct writer for simple documents)
 * must give jansson's compact bytes for every parsed document, and
 * crypto_json_parse_simple, when it takes an input, the value jansson
 * reads from it (members in the same order).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *v = NULL, *v2 = NULL;
	char *c1 = NULL, *c2 = NULL;
	size_t n1 = 0, n2 = 0;

	if (crypto_json_parse_simple((const char *)data, size, &v)) {
		if (core_json_parse(data, size, 64 * 1024, &v2, NULL) !=
		    CORE_OK || !json_equal(v, v2))
			abort();
		c1 = core_json_dumps(v);
		c2 = core_json_dumps(v2);
		if (c1 == NULL || c2 == NULL || strcmp(c1, c2) != 0)
			abort();
		free(c1);
		free(c2);
		c1 = c2 = NULL;
		json_decref(v);
		json_decref(v2);
		v = v2 = NULL;
	}
	if (core_json_parse(data, size, 64 * 1024, &v, NULL) != CORE_OK)
		return 0;
	c1 = crypto_json_dumps(v);
	c2 = core_json_dumps(v);
	if (c1 == NULL || c2 == NULL || strcmp(c1, c2) != 0)
		abort();
	free(c1);
	free(c2);
	c1 = c2 = NULL;
	if (crypto_jcs(v, &c1, &n1, NULL) == CORE_OK) {
		/* Canonical numbers such as 295147905179352830000 exceed
		 * jansson's integers, so re-read every number as a double
		 * (which is what JCS formats anyway). */
		v2 = json_loadb(c1, n1, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL |
		    JSON_REJECT_DUPLICATES, NULL);
		if (v2 == NULL ||
		    crypto_jcs(v2, &c2, &n2, NULL) != CORE_OK || n1 != n2 ||
		    memcmp(c1, c2, n1) != 0)
			abort();
	}
	free(c1);
	free(c2);
	json_decref(v);
	json_decref(v2);
	return 0;
}
