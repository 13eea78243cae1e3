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

static enum core_err aes_kw_run(const uint8_t *kek, size_t kek_len,
    bool wrap, uint8_t a[8], uint8_t *r, size_t n, struct core_errbuf *eb);

/* The RFC 3394 default initial value. */
static const uint8_t aes_kw_iv[8] = {
	0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6
};

enum core_err
crypto_aes_gcm_seal(const uint8_t *key, size_t key_len,
    const uint8_t iv[CRYPTO_GCM_IV_LEN], const void *aad, size_t aad_len,
    const void *pt, size_t pt_len, uint8_t *ct,
    uint8_t tag[CRYPTO_GCM_TAG_LEN], struct core_errbuf *eb)
{
	const EVP_CIPHER *cipher = crypto_alg_aes_gcm(key_len);
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
	const EVP_CIPHER *cipher = crypto_alg_aes_gcm(key_len);
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
	if (c->ctx == NULL || EVP_EncryptInit_ex(c->ctx, crypto_alg_aes_256_ctr(),
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

/*
 * The RFC 3394 §2.2.1/§2.2.2 rounds over the n 64-bit blocks r with the
 * integrity register a, one AES block operation per step on a cached
 * AES-ECB cipher (AES-NI where the CPU has it; OpenSSL's own key-wrap
 * cipher uses its table-based AES on x86 and takes ~7 us for a 32-byte
 * key).
 */
static enum core_err
aes_kw_run(const uint8_t *kek, size_t kek_len, bool wrap, uint8_t a[8],
    uint8_t *r, size_t n, struct core_errbuf *eb)
{
	const EVP_CIPHER *cipher = crypto_alg_aes_ecb(kek_len);
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t b[16];
	enum core_err err = CORE_OK;
	int len;

	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "key wrap");
		goto out;
	}
	if (EVP_CipherInit_ex(ctx, cipher, NULL, kek, NULL, wrap ? 1 : 0) !=
	    1 || EVP_CIPHER_CTX_set_padding(ctx, 0) != 1) {
		err = crypto_ossl_err(eb, "AES key %s init",
		    wrap ? "wrap" : "unwrap");
		goto out;
	}
	for (size_t s = 0; s < 6; s++) {
		size_t j = wrap ? s : 5 - s;

		for (size_t k = 0; k < n; k++) {
			size_t i = wrap ? k + 1 : n - k;
			uint64_t t = (uint64_t)(n * j + i);

			if (wrap) {
				memcpy(b, a, 8);
			} else {
				for (int q = 7; q >= 0; q--) {
					b[q] = a[q] ^ (uint8_t)t;
					t >>= 8;
				}
			}
			memcpy(b + 8, r + 8 * (i - 1), 8);
			if (EVP_CipherUpdate(ctx, b, &len, b, 16) != 1 ||
			    len != 16) {
				err = crypto_ossl_err(eb, "AES key %s",
				    wrap ? "wrap" : "unwrap");
				goto out;
			}
			if (wrap) {
				for (int q = 7; q >= 0; q--) {
					a[q] = b[q] ^ (uint8_t)t;
					t >>= 8;
				}
			} else {
				memcpy(a, b, 8);
			}
			memcpy(r + 8 * (i - 1), b + 8, 8);
		}
	}
out:
	core_wipe(b, sizeof(b));
	EVP_CIPHER_CTX_free(ctx);
	return err;
}

enum core_err
crypto_aes_kw_wrap(const uint8_t *kek, size_t kek_len, const uint8_t *key,
    size_t key_len, uint8_t *out, struct core_errbuf *eb)
{
	uint8_t a[8];
	enum core_err err;

	if (crypto_alg_aes_ecb(kek_len) == NULL)
		return core_errf(eb, CORE_ERR_INVALID,
		    "key-wrap KEK must be 16, 24 or 32 bytes (got %zu)",
		    kek_len);
	if (key_len < 16 || key_len % 8 != 0 || key_len > 4096)
		return core_errf(eb, CORE_ERR_INVALID,
		    "key to wrap must be a multiple of 8 bytes, >= 16 (got %zu)",
		    key_len);
	/* out = A | R[1..n]; the rounds run in place on R. */
	memcpy(a, aes_kw_iv, sizeof(a));
	memmove(out + CRYPTO_KW_OVERHEAD, key, key_len);
	err = aes_kw_run(kek, kek_len, true, a, out + CRYPTO_KW_OVERHEAD,
	    key_len / 8, eb);
	if (err != CORE_OK) {
		core_wipe(out, key_len + CRYPTO_KW_OVERHEAD);
		return err;
	}
	memcpy(out, a, sizeof(a));
	return CORE_OK;
}

enum core_err
crypto_aes_kw_unwrap(const uint8_t *kek, size_t kek_len, const uint8_t *in,
    size_t in_len, uint8_t *out, struct core_errbuf *eb)
{
	uint8_t a[8], *tmp = NULL;
	size_t n;
	enum core_err err = CORE_OK;

	if (crypto_alg_aes_ecb(kek_len) == NULL)
		return core_errf(eb, CORE_ERR_INVALID,
		    "key-wrap KEK must be 16, 24 or 32 bytes (got %zu)",
		    kek_len);
	if (in_len < 24 || in_len % 8 != 0 || in_len > 4096 + 8)
		return core_errf(eb, CORE_ERR_INVALID,
		    "wrapped key must be a multiple of 8 bytes, >= 24 (got %zu)",
		    in_len);
	n = in_len / 8 - 1;
	/* Unwrap into scratch: out receives the key only if it checks. */
	tmp = malloc(n * 8);
	if (tmp == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "key unwrap");
	memcpy(a, in, sizeof(a));
	memcpy(tmp, in + 8, n * 8);
	err = aes_kw_run(kek, kek_len, false, a, tmp, n, eb);
	if (err != CORE_OK)
		goto out;
	if (!core_ct_equal(a, aes_kw_iv, sizeof(a))) {
		err = core_errf(eb, CORE_ERR_AUTH,
		    "key unwrap integrity check failed (wrong key or "
		    "tampered data)");
		goto out;
	}
	memcpy(out, tmp, n * 8);
out:
	core_wipe(a, sizeof(a));
	core_wipe(tmp, n * 8);
	free(tmp);
	return err;
}
