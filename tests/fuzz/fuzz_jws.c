/*
 * fuzz_jws.c -- compact JWS/JWT parsing and verification with fixed keys
 * (the RFC 8037 Ed25519 key and an EC P-256 key) and every algorithm
 * allowed, plus the JWT claim checks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char ed_jwk[] = "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}";
static const char ec_jwk[] = "{\"kty\":\"EC\",\"crv\":\"P-256\","
    "\"x\":\"weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ\","
    "\"y\":\"e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck\"}";
static const char *const algs[] = { "ES256", "ES384", "ES512", "EdDSA",
	"RS256", "PS256", "none", NULL };
static struct crypto_key *ed, *ec;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct crypto_jws *j = NULL;
	struct crypto_jwt_opts o;
	json_t *claims = NULL;
	struct core_errbuf eb;

	if (ed == NULL &&
	    (crypto_key_from_jwk_str(ed_jwk, strlen(ed_jwk), &ed, NULL) ||
	    crypto_key_from_jwk_str(ec_jwk, strlen(ec_jwk), &ec, NULL)))
		abort();
	core_errbuf_clear(&eb);
	if (crypto_jws_parse((const char *)data, size, 64 * 1024, &j, &eb) ==
	    CORE_OK) {
		(void)crypto_jws_verify(j, ed, algs, NULL);
		(void)crypto_jws_verify(j, ec, algs, NULL);
		crypto_jws_free(j);
	} else if (j != NULL || core_errbuf_msg(&eb)[0] == '\0') {
		abort();
	}
	memset(&o, 0, sizeof(o));
	o.allowed_algs = algs;
	o.now_s = 1700000000;
	o.leeway_s = 60;
	if (crypto_jwt_verify((const char *)data, size, ed, &o, &claims, NULL,
	    NULL) == CORE_OK && !json_is_object(claims))
		abort();
	json_decref(claims);
	return 0;
}
