/*
 * fuzz_jwk.c -- key loading from untrusted bytes: JWK, PEM and DER are all
 * reached through crypto_key_load's detection; a loaded key must export to
 * a JWK that loads back as the same public key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct crypto_key *k = NULL, *k2 = NULL;
	struct core_errbuf eb;
	json_t *jwk = NULL;
	uint8_t thp[CRYPTO_HASH_MAX_LEN];

	core_errbuf_clear(&eb);
	if (crypto_key_load(data, size, &k, &eb) != CORE_OK) {
		if (k != NULL || core_errbuf_msg(&eb)[0] == '\0')
			abort();
		return 0;
	}
	if (crypto_key_to_jwk(k, false, &jwk, NULL) != CORE_OK ||
	    crypto_key_from_jwk(jwk, &k2, NULL) != CORE_OK ||
	    !crypto_key_public_equal(k, k2) ||
	    crypto_key_thumbprint(k, CRYPTO_HASH_SHA256, thp, NULL) != CORE_OK)
		abort();
	json_decref(jwk);
	crypto_key_free(k2);
	crypto_key_free(k);
	return 0;
}
