/*
 * Fuzzes what the client parses from a KBS: the resource JWE (decrypted
 * with a fixed P-256 key) and EAR/admin JWTs (parse, and verify with the
 * same key).
 */
#include <stdint.h>
#include <stdlib.h>

#include "kbs/kbs_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct crypto_key *key;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct secret *pt = NULL;
	json_t *h = NULL, *p = NULL;

	if (key == NULL && crypto_key_generate(CRYPTO_KEY_EC_P256, 0, &key,
	    NULL) != CORE_OK)
		return 0;
	if (kbs_jwe_decrypt(data, size, key, &pt, NULL) == CORE_OK)
		secret_free(pt);
	if (kbs_jws_parse((const char *)data, size, &h, &p, NULL) == CORE_OK) {
		json_decref(h);
		json_decref(p);
	}
	if (kbs_jws_verify(key, (const char *)data, size, &h, &p, NULL) ==
	    CORE_OK) {
		json_decref(h);
		json_decref(p);
	}
	return 0;
}
