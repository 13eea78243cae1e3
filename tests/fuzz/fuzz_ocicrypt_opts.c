/*
 * fuzz_ocicrypt_opts.c -- private/public options JSON (parse + re-emit) and
 * the enc.* annotations of a layer descriptor: key listing and unwrapping
 * with a fixed KEK and the test RSA key (which drives the JWE parser), and
 * keyprovider requests (inputs naming a keypath are skipped: keywrap would
 * read that file).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocicrypt/ocicrypt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct crypto_key *fz_rsa;
static struct secret *fz_kek;

static void
fz_init(void)
{
	const char *td = getenv("PROPELLER_TESTDATA");
	char path[4096];
	static const uint8_t kek[32] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
	    12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
	    29, 30, 31};

	if (fz_kek != NULL)
		return;
	fz_kek = secret_from(kek, sizeof(kek));
	if (td != NULL) {
		snprintf(path, sizeof(path), "%s/ocicrypt/keys/priv.pem", td);
		crypto_key_load_file(path, &fz_rsa, NULL);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ocicrypt_privopts priv;
	struct ocicrypt_pubopts pub;
	struct secret *s = NULL;
	json_t *ann = NULL;
	struct oci_desc d;
	struct ocicrypt_keyreq *r = NULL;
	size_t n = 0;
	const struct secret *keks[1];
	const struct crypto_key *keys[1];
	struct ocicrypt_keys k;

	fz_init();
	if (memmem(data, size, "keypath", 7) == NULL) {
		struct ocicrypt_kp_config kc;
		const struct secret *kk[1];
		char *resp = NULL;

		memset(&kc, 0, sizeof(kc));
		kk[0] = fz_kek;
		kc.keks = kk;
		kc.nkeks = 1;
		if (ocicrypt_keyprovider_handle(data, size, &kc, &resp, NULL) ==
		    CORE_OK)
			free(resp);
	}
	if (ocicrypt_privopts_parse(data, size, &priv, NULL) == CORE_OK) {
		if (ocicrypt_privopts_dump(&priv, &s, NULL) == CORE_OK)
			secret_free(s);
		ocicrypt_privopts_cleanup(&priv);
	}
	if (ocicrypt_pubopts_parse(data, size, &pub, NULL) == CORE_OK) {
		free(ocicrypt_pubopts_dump(&pub));
		ocicrypt_pubopts_cleanup(&pub);
	}
	if (core_json_parse_object(data, size, 0, &ann, NULL) != CORE_OK)
		return 0;
	memset(&d, 0, sizeof(d));
	d.media_type = OCI_MT_WASM_LAYER OCICRYPT_ENC_SUFFIX;
	d.digest = "sha256:0aa127b04058c044e895817204d3da7042c5375f59505d7763f"
	           "885a7d0d0678c";
	d.size = 41;
	d.annotations = ann;
	if (ocicrypt_layer_keyreqs(&d, &r, &n, NULL) == CORE_OK)
		ocicrypt_keyreqs_free(r, n);
	memset(&k, 0, sizeof(k));
	keks[0] = fz_kek;
	k.keks = keks;
	k.nkeks = 1;
	if (fz_rsa != NULL) {
		keys[0] = fz_rsa;
		k.jwe_keys = keys;
		k.njwe_keys = 1;
	}
	if (ocicrypt_layer_unwrap(&d, &k, &priv, &pub, NULL) == CORE_OK) {
		ocicrypt_privopts_cleanup(&priv);
		ocicrypt_pubopts_cleanup(&pub);
	}
	json_decref(ann);
	return 0;
}
