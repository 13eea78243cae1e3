/*
 * alg.c -- the OpenSSL algorithms the module uses, fetched once per
 * process.
 *
 * With OpenSSL 3 every EVP_sha256()/EVP_aes_256_gcm()-style object passed
 * to an init function is looked up again in the provider store (a locked
 * hash table walk, property matching and reference counting) on every
 * call. Fetching each algorithm once with EVP_MD_fetch/EVP_CIPHER_fetch/
 * EVP_MAC_fetch and passing the fetched object skips that lookup. The
 * fetched objects are written only inside pthread_once and never changed
 * afterwards, so any thread may use them at once (OpenSSL only takes and
 * drops atomic references on them); every call still creates its own
 * EVP_*_CTX.
 *
 * The objects are never freed: they live as long as the process, the
 * pointers stay reachable from this file (so leak checkers do not report
 * them), and freeing them from an atexit handler could run after
 * OpenSSL's own atexit cleanup has unloaded the providers, or while
 * another thread is still inside a call.
 */
#include "crypto/crypto.h"

#include <pthread.h>
#include <stdio.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "crypto/internal.h"

/* Index of a 16-, 24- or 32-byte AES key in the per-size tables. */
#define ALG_AES_SIZES 3

static struct {
	EVP_MD *md[3];                    /* sha256, sha384, sha512 */
	EVP_CIPHER *gcm[ALG_AES_SIZES];
	EVP_CIPHER *ecb[ALG_AES_SIZES];
	EVP_CIPHER *cbc[ALG_AES_SIZES];
	EVP_CIPHER *ctr256;
	EVP_MAC *hmac;
} alg;
static pthread_once_t alg_once = PTHREAD_ONCE_INIT;

static void alg_init(void);
static int alg_aes_index(size_t key_len);

static void
alg_init(void)
{
	static const char *const md_names[3] = { "SHA256", "SHA384",
		"SHA512" };
	static const char *const bits[ALG_AES_SIZES] = { "128", "192",
		"256" };
	char name[32];

	/* A failed fetch leaves NULL: the callers then fall back to the
	 * implicit-fetch object, which fails with OpenSSL's own error. */
	for (int i = 0; i < 3; i++)
		alg.md[i] = EVP_MD_fetch(NULL, md_names[i], NULL);
	for (int i = 0; i < ALG_AES_SIZES; i++) {
		snprintf(name, sizeof(name), "AES-%s-GCM", bits[i]);
		alg.gcm[i] = EVP_CIPHER_fetch(NULL, name, NULL);
		snprintf(name, sizeof(name), "AES-%s-ECB", bits[i]);
		alg.ecb[i] = EVP_CIPHER_fetch(NULL, name, NULL);
		snprintf(name, sizeof(name), "AES-%s-CBC", bits[i]);
		alg.cbc[i] = EVP_CIPHER_fetch(NULL, name, NULL);
	}
	alg.ctr256 = EVP_CIPHER_fetch(NULL, "AES-256-CTR", NULL);
	alg.hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	ERR_clear_error();
}

static int
alg_aes_index(size_t key_len)
{
	switch (key_len) {
	case 16:
		return 0;
	case 24:
		return 1;
	case 32:
		return 2;
	}
	return -1;
}

const EVP_MD *
crypto_hash_md(enum crypto_hash h)
{
	pthread_once(&alg_once, alg_init);
	switch (h) {
	case CRYPTO_HASH_SHA256:
		return alg.md[0] != NULL ? alg.md[0] : EVP_sha256();
	case CRYPTO_HASH_SHA384:
		return alg.md[1] != NULL ? alg.md[1] : EVP_sha384();
	case CRYPTO_HASH_SHA512:
		return alg.md[2] != NULL ? alg.md[2] : EVP_sha512();
	}
	return NULL;
}

const EVP_CIPHER *
crypto_alg_aes_gcm(size_t key_len)
{
	static const EVP_CIPHER *(*const implicit[ALG_AES_SIZES])(void) = {
		EVP_aes_128_gcm, EVP_aes_192_gcm, EVP_aes_256_gcm };
	int i = alg_aes_index(key_len);

	if (i < 0)
		return NULL;
	pthread_once(&alg_once, alg_init);
	return alg.gcm[i] != NULL ? alg.gcm[i] : implicit[i]();
}

const EVP_CIPHER *
crypto_alg_aes_ecb(size_t key_len)
{
	static const EVP_CIPHER *(*const implicit[ALG_AES_SIZES])(void) = {
		EVP_aes_128_ecb, EVP_aes_192_ecb, EVP_aes_256_ecb };
	int i = alg_aes_index(key_len);

	if (i < 0)
		return NULL;
	pthread_once(&alg_once, alg_init);
	return alg.ecb[i] != NULL ? alg.ecb[i] : implicit[i]();
}

const EVP_CIPHER *
crypto_alg_aes_cbc(size_t key_len)
{
	static const EVP_CIPHER *(*const implicit[ALG_AES_SIZES])(void) = {
		EVP_aes_128_cbc, EVP_aes_192_cbc, EVP_aes_256_cbc };
	int i = alg_aes_index(key_len);

	if (i < 0)
		return NULL;
	pthread_once(&alg_once, alg_init);
	return alg.cbc[i] != NULL ? alg.cbc[i] : implicit[i]();
}

const EVP_CIPHER *
crypto_alg_aes_256_ctr(void)
{
	pthread_once(&alg_once, alg_init);
	return alg.ctr256 != NULL ? alg.ctr256 : EVP_aes_256_ctr();
}

EVP_MAC *
crypto_alg_hmac(void)
{
	pthread_once(&alg_once, alg_init);
	return alg.hmac;
}
