/* test_alg.c -- the algorithms fetched once per process (alg.c), used
 * from several threads at once: digests, HMAC, AES-GCM, key wrap, the
 * Concat KDF, AES-CBC-HMAC and ECDH-ES+A256KW JWE round trips. Each
 * thread compares its results with those computed on the main thread
 * before the threads start, so a shared object corrupted by concurrent
 * use shows up as a mismatch (and as a report under the sanitizers). */
#include "helpers.h"

#include <pthread.h>

#define ALG_THREADS 4
#define ALG_ROUNDS 150

/* What every thread must reproduce. */
static struct {
	uint8_t sha256[CRYPTO_SHA256_LEN];
	uint8_t sha384[CRYPTO_SHA384_LEN];
	uint8_t sha512[CRYPTO_SHA512_LEN];
	uint8_t hmac[CRYPTO_SHA256_LEN];
	uint8_t gcm_ct[64], gcm_tag[CRYPTO_GCM_TAG_LEN];
	uint8_t kw[40];
	uint8_t kdf[32];
	struct crypto_key *key;       /* owned: the JWE recipient */
} ref;

static const uint8_t msg[64] = "the same 64 bytes on every thread, round "
    "after round.......";
static const uint8_t k32[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
static const uint8_t iv12[12] = { 9, 8, 7 };

/* Runs every primitive once into the given outputs. */
static int
alg_round(uint8_t *s256, uint8_t *s384, uint8_t *s512, uint8_t *mac,
    uint8_t *ct, uint8_t *tag, uint8_t *kw, uint8_t *kdf)
{
	uint8_t back[32];

	if (crypto_sha256(msg, sizeof(msg), s256) != CORE_OK ||
	    crypto_sha384(msg, sizeof(msg), s384) != CORE_OK ||
	    crypto_sha512(msg, sizeof(msg), s512) != CORE_OK ||
	    crypto_hmac_sha256(k32, 32, msg, sizeof(msg), mac, NULL) !=
	    CORE_OK ||
	    crypto_aes_gcm_seal(k32, 32, iv12, "aad", 3, msg, sizeof(msg), ct,
	    tag, NULL) != CORE_OK ||
	    crypto_aes_kw_wrap(k32, 32, msg, 32, kw, NULL) != CORE_OK ||
	    crypto_aes_kw_unwrap(k32, 32, kw, 40, back, NULL) != CORE_OK ||
	    memcmp(back, msg, 32) != 0 ||
	    crypto_concat_kdf(k32, 32, "ECDH-ES+A256KW", NULL, 0, NULL, 0,
	    256, kdf, NULL) != CORE_OK)
		return -1;
	return 0;
}

/* A JWE to ref.key and back, with the given enc. */
static int
alg_jwe(const char *enc)
{
	struct crypto_jwe_recipient r = { 0 };
	struct crypto_jwe_enc_opts o = { 0 };
	struct crypto_jwe_dec_opts d = { 0 };
	const struct crypto_key *keys[1] = { ref.key };
	struct secret *pt = NULL;
	char *jwe = NULL;
	size_t n = 0;
	int rc = -1;

	r.key = ref.key;
	r.alg = "ECDH-ES+A256KW";
	o.format = CRYPTO_JWE_FLATTENED;
	o.enc = enc;
	d.keys = keys;
	d.nkeys = 1;
	if (crypto_jwe_encrypt(&r, 1, &o, msg, sizeof(msg), &jwe, &n, NULL) ==
	    CORE_OK && crypto_jwe_decrypt(jwe, n, &d, &pt, NULL, NULL) ==
	    CORE_OK && pt->len == sizeof(msg) &&
	    memcmp(pt->ptr, msg, sizeof(msg)) == 0)
		rc = 0;
	secret_free(pt);
	free(jwe);
	return rc;
}

static void *
alg_thread(void *arg)
{
	uint8_t s256[CRYPTO_SHA256_LEN], s384[CRYPTO_SHA384_LEN];
	uint8_t s512[CRYPTO_SHA512_LEN], mac[CRYPTO_SHA256_LEN];
	uint8_t ct[64], tag[CRYPTO_GCM_TAG_LEN], kw[40], kdf[32];
	int *bad = arg;

	for (int i = 0; i < ALG_ROUNDS; i++) {
		if (alg_round(s256, s384, s512, mac, ct, tag, kw, kdf) != 0 ||
		    memcmp(s256, ref.sha256, sizeof(s256)) != 0 ||
		    memcmp(s384, ref.sha384, sizeof(s384)) != 0 ||
		    memcmp(s512, ref.sha512, sizeof(s512)) != 0 ||
		    memcmp(mac, ref.hmac, sizeof(mac)) != 0 ||
		    memcmp(ct, ref.gcm_ct, sizeof(ct)) != 0 ||
		    memcmp(tag, ref.gcm_tag, sizeof(tag)) != 0 ||
		    memcmp(kw, ref.kw, sizeof(kw)) != 0 ||
		    memcmp(kdf, ref.kdf, sizeof(kdf)) != 0)
			(*bad)++;
		if (i % 10 == 0 && (alg_jwe("A256GCM") != 0 ||
		    alg_jwe("A128CBC-HS256") != 0))
			(*bad)++;
	}
	return NULL;
}

static void
test_threads_share_algorithms(void **state)
{
	pthread_t t[ALG_THREADS];
	int bad[ALG_THREADS] = { 0 };

	(void)state;
	assert_int_equal(crypto_key_generate(CRYPTO_KEY_EC_P256, 0, &ref.key,
	    NULL), CORE_OK);
	assert_int_equal(alg_round(ref.sha256, ref.sha384, ref.sha512,
	    ref.hmac, ref.gcm_ct, ref.gcm_tag, ref.kw, ref.kdf), 0);
	/* One known answer (Python's hashlib), so that the reference is
	 * right too. */
	th_assert_hex(ref.sha256, sizeof(ref.sha256), "bf8c88ef108fbe441961"
	    "adb462fd8070e77f892807e7376806e961a2d73cb38d");
	for (int i = 0; i < ALG_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, alg_thread,
		    &bad[i]), 0);
	for (int i = 0; i < ALG_THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(bad[i], 0);
	}
	crypto_key_free(ref.key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_share_algorithms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
