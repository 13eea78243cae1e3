/*
 * aes.c -- AES-GCM (JWE content, CoCo annotation packets), AES-256-CTR
 * (the ocicrypt layer cipher) and AES key wrap (RFC 3394).
 */
#include "crypto/crypto.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "crypto/internal.h"

struct crypto_aes_ctr {
	EVP_CIPHER_CTX *ctx;    /* owned; holds the expanded key */
};

static const EVP_CIPHER *aes_gcm_cipher(size_t key_len);
static const EVP_CIPHER *aes_kw_cipher(size_t kek_len);

static const EVP_CIPHER *
aes_gcm_cipher(size_t key_len)
{
	switch (key_len) {
	case 16:
		return EVP_aes_128_gcm();
	case 24:
		return EVP_aes_192_gcm();
	case 32:
		return EVP_aes_256_gcm();
	}
	return NULL;
}

static const EVP_CIPHER *
aes_kw_cipher(size_t kek_len)
{
	switch (kek_len) {
	case 16:
		return EVP_aes_128_wrap();
	case 24:
		return EVP_aes_192_wrap();
	case 32:
		return EVP_aes_256_wrap();
	}
	return NULL;
}

enum core_err
crypto_aes_gcm_seal(const uint8_t *key, size_t key_len,
    const uint8_t iv[CRYPTO_GCM_IV_LEN], const void *aad, size_t aad_len,
    const void *pt, size_t pt_len, uint8_t *ct,
    uint8_t tag[CRYPTO_GCM_TAG_LEN], struct core_errbuf *eb)
{
	const EVP_CIPHER *cipher = aes_gcm_cipher(key_len);
	EVP_CIPHER_CTX *ctx = NULL;
	enum core_err err = CORE_OK;
	int len;

	if (cipher == NULL)
		return core_errf(eb, CORE_ERR_INVALID,
		    "AES-GCM key must be 16, 24 or 32 bytes (got %zu)",
		    key_len);
	if (pt_len > INT_MAX || aad_len > INT_MAX)
		return core_errf(eb, CORE_ERR_TOO_BIG, "AES-GCM input too big");
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL ||
	    EVP_EncryptInit_ex(ctx, cipher, NULL, key, iv) != 1) {
		err = crypto_ossl_err(eb, "AES-GCM init");
		goto out;
	}
	if (aad_len > 0 &&
	    EVP_EncryptUpdate(ctx, NULL, &len, aad, (int)aad_len) != 1) {
		err = crypto_ossl_err(eb, "AES-GCM aad");
		goto out;
	}
	if (pt_len > 0 &&
	    EVP_EncryptUpdate(ctx, ct, &len, pt, (int)pt_len) != 1) {
		err = crypto_ossl_err(eb, "AES-GCM encrypt");
		goto out;
	}
	if (EVP_EncryptFinal_ex(ctx, ct + pt_len, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
	    CRYPTO_GCM_TAG_LEN, tag) != 1) {
		err = crypto_ossl_err(eb, "AES-GCM final");
		goto out;
	}
out:
	EVP_CIPHER_CTX_free(ctx);
	return err;
}

enum core_err
crypto_aes_gcm_open(const uint8_t *key, size_t key_len,
    const uint8_t iv[CRYPTO_GCM_IV_LEN], const void *aad, size_t aad_len,
    const void *ct, size_t ct_len, const uint8_t tag[CRYPTO_GCM_TAG_LEN],
    uint8_t *pt, struct core_errbuf *eb)
{
	const EVP_CIPHER *cipher = aes_gcm_cipher(key_len);
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t tagcopy[CRYPTO_GCM_TAG_LEN];
	enum core_err err = CORE_OK;
	int len;

	if (cipher == NULL)
		return core_errf(eb, CORE_ERR_INVALID,
		    "AES-GCM key must be 16, 24 or 32 bytes (got %zu)",
		    key_len);
	if (ct_len > INT_MAX || aad_len > INT_MAX)
		return core_errf(eb, CORE_ERR_TOO_BIG, "AES-GCM input too big");
	memcpy(tagcopy, tag, sizeof(tagcopy));
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL ||
	    EVP_DecryptInit_ex(ctx, cipher, NULL, key, iv) != 1) {
		err = crypto_ossl_err(eb, "AES-GCM init");
		goto out;
	}
	if (aad_len > 0 &&
	    EVP_DecryptUpdate(ctx, NULL, &len, aad, (int)aad_len) != 1) {
		err = crypto_ossl_err(eb, "AES-GCM aad");
		goto out;
	}
	if (ct_len > 0 &&
	    EVP_DecryptUpdate(ctx, pt, &len, ct, (int)ct_len) != 1) {
		err = crypto_ossl_err(eb, "AES-GCM decrypt");
		goto out;
	}
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG,
	    CRYPTO_GCM_TAG_LEN, tagcopy) != 1) {
		err = crypto_ossl_err(eb, "AES-GCM set tag");
		goto out;
	}
	if (EVP_DecryptFinal_ex(ctx, pt + ct_len, &len) != 1) {
		if (ct_len > 0)
			core_wipe(pt, ct_len);
		err = core_errf(eb, CORE_ERR_AUTH,
		    "GCM tag mismatch (wrong key or tampered data)");
		goto out;
	}
out:
	EVP_CIPHER_CTX_free(ctx);
	return err;
}

enum core_err
crypto_aes_ctr_new(const uint8_t key[32], const uint8_t iv[CRYPTO_CTR_IV_LEN],
    struct crypto_aes_ctr **out, struct core_errbuf *eb)
{
	struct crypto_aes_ctr *c;
	enum core_err err;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "AES-CTR context");
	c->ctx = EVP_CIPHER_CTX_new();
	if (c->ctx == NULL || EVP_EncryptInit_ex(c->ctx, EVP_aes_256_ctr(),
	    NULL, key, iv) != 1) {
		err = crypto_ossl_err(eb, "AES-256-CTR init");
		crypto_aes_ctr_free(c);
		return err;
	}
	*out = c;
	return CORE_OK;
}

enum core_err
crypto_aes_ctr_update(struct crypto_aes_ctr *c, const uint8_t *in, size_t n,
    uint8_t *out, struct core_errbuf *eb)
{
	int len;

	while (n > 0) {
		size_t chunk = n > (1u << 30) ? (1u << 30) : n;

		if (EVP_EncryptUpdate(c->ctx, out, &len, in, (int)chunk) != 1 ||
		    (size_t)len != chunk)
			return crypto_ossl_err(eb, "AES-256-CTR update");
		in += chunk;
		out += chunk;
		n -= chunk;
	}
	return CORE_OK;
}

void
crypto_aes_ctr_free(struct crypto_aes_ctr *c)
{
	if (c == NULL)
		return;
	EVP_CIPHER_CTX_free(c->ctx);
	free(c);
}

enum core_err
crypto_aes_kw_wrap(const uint8_t *kek, size_t kek_len, const uint8_t *key,
    size_t key_len, uint8_t *out, struct core_errbuf *eb)
{
	const EVP_CIPHER *cipher = aes_kw_cipher(kek_len);
	EVP_CIPHER_CTX *ctx = NULL;
	enum core_err err = CORE_OK;
	int len = 0, len2 = 0;

	if (cipher == NULL)
		return core_errf(eb, CORE_ERR_INVALID,
		    "key-wrap KEK must be 16, 24 or 32 bytes (got %zu)",
		    kek_len);
	if (key_len < 16 || key_len % 8 != 0 || key_len > 4096)
		return core_errf(eb, CORE_ERR_INVALID,
		    "key to wrap must be a multiple of 8 bytes, >= 16 (got %zu)",
		    key_len);
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "key wrap");
		goto out;
	}
	EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	if (EVP_EncryptInit_ex(ctx, cipher, NULL, kek, NULL) != 1 ||
	    EVP_EncryptUpdate(ctx, out, &len, key, (int)key_len) != 1 ||
	    EVP_EncryptFinal_ex(ctx, out + len, &len2) != 1 ||
	    (size_t)(len + len2) != key_len + CRYPTO_KW_OVERHEAD) {
		err = crypto_ossl_err(eb, "AES key wrap");
		goto out;
	}
out:
	EVP_CIPHER_CTX_free(ctx);
	return err;
}

enum core_err
crypto_aes_kw_unwrap(const uint8_t *kek, size_t kek_len, const uint8_t *in,
    size_t in_len, uint8_t *out, struct core_errbuf *eb)
{
	const EVP_CIPHER *cipher = aes_kw_cipher(kek_len);
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t *tmp = NULL;
	enum core_err err = CORE_OK;
	int len = 0, len2 = 0;

	if (cipher == NULL)
		return core_errf(eb, CORE_ERR_INVALID,
		    "key-wrap KEK must be 16, 24 or 32 bytes (got %zu)",
		    kek_len);
	if (in_len < 24 || in_len % 8 != 0 || in_len > 4096 + 8)
		return core_errf(eb, CORE_ERR_INVALID,
		    "wrapped key must be a multiple of 8 bytes, >= 24 (got %zu)",
		    in_len);
	/* OpenSSL may write a full block beyond the result; use scratch. */
	tmp = malloc(in_len + 16);
	ctx = EVP_CIPHER_CTX_new();
	if (tmp == NULL || ctx == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "key unwrap");
		goto out;
	}
	EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	if (EVP_DecryptInit_ex(ctx, cipher, NULL, kek, NULL) != 1) {
		err = crypto_ossl_err(eb, "AES key unwrap init");
		goto out;
	}
	if (EVP_DecryptUpdate(ctx, tmp, &len, in, (int)in_len) != 1 ||
	    EVP_DecryptFinal_ex(ctx, tmp + len, &len2) != 1 ||
	    (size_t)(len + len2) != in_len - CRYPTO_KW_OVERHEAD) {
		ERR_clear_error();
		err = core_errf(eb, CORE_ERR_AUTH,
		    "key unwrap integrity check failed (wrong key or "
		    "tampered data)");
		goto out;
	}
	memcpy(out, tmp, in_len - CRYPTO_KW_OVERHEAD);
out:
	if (tmp != NULL) {
		core_wipe(tmp, in_len + 16);
		free(tmp);
	}
	EVP_CIPHER_CTX_free(ctx);
	return err;
}
