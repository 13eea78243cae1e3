/*
 * sig.c -- JOSE signature algorithms (RFC 7518 §3, RFC 8037) over
 * struct crypto_key: ECDSA with raw R||S signatures, EdDSA, RSASSA-PKCS1
 * v1.5 and RSASSA-PSS.
 */
#include "crypto/crypto.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "crypto/internal.h"

enum sig_kind { SIG_ECDSA, SIG_EDDSA, SIG_RSA_PKCS1, SIG_RSA_PSS };

struct sig_alg {
	const char *name;
	enum sig_kind kind;
	enum crypto_hash hash;
	enum crypto_key_type key;   /* for ECDSA: the required curve */
};

static const struct sig_alg sig_algs[] = {
	{ "ES256", SIG_ECDSA, CRYPTO_HASH_SHA256, CRYPTO_KEY_EC_P256 },
	{ "ES384", SIG_ECDSA, CRYPTO_HASH_SHA384, CRYPTO_KEY_EC_P384 },
	{ "ES512", SIG_ECDSA, CRYPTO_HASH_SHA512, CRYPTO_KEY_EC_P521 },
	{ "EdDSA", SIG_EDDSA, CRYPTO_HASH_SHA512, CRYPTO_KEY_ED25519 },
	{ "RS256", SIG_RSA_PKCS1, CRYPTO_HASH_SHA256, CRYPTO_KEY_RSA },
	{ "RS384", SIG_RSA_PKCS1, CRYPTO_HASH_SHA384, CRYPTO_KEY_RSA },
	{ "RS512", SIG_RSA_PKCS1, CRYPTO_HASH_SHA512, CRYPTO_KEY_RSA },
	{ "PS256", SIG_RSA_PSS, CRYPTO_HASH_SHA256, CRYPTO_KEY_RSA },
	{ "PS384", SIG_RSA_PSS, CRYPTO_HASH_SHA384, CRYPTO_KEY_RSA },
	{ "PS512", SIG_RSA_PSS, CRYPTO_HASH_SHA512, CRYPTO_KEY_RSA },
};

static enum core_err sig_lookup(const struct crypto_key *k, const char *alg,
    const struct sig_alg **out, struct core_errbuf *eb);
static enum core_err sig_init(EVP_MD_CTX *md, const struct sig_alg *a,
    const struct crypto_key *k, bool sign, struct core_errbuf *eb);
static enum core_err ecdsa_raw(const struct sig_alg *a, const uint8_t *der,
    size_t der_len, uint8_t **sig_out, size_t *sig_len,
    struct core_errbuf *eb);

static enum core_err
sig_lookup(const struct crypto_key *k, const char *alg,
    const struct sig_alg **out, struct core_errbuf *eb)
{
	if (alg == NULL)
		return core_errf(eb, CORE_ERR_INVALID,
		    "signature algorithm missing");
	for (size_t i = 0; i < CORE_ARRAY_LEN(sig_algs); i++) {
		if (strcmp(sig_algs[i].name, alg) != 0)
			continue;
		if (crypto_key_type(k) != sig_algs[i].key)
			return core_errf(eb, CORE_ERR_INVALID,
			    "algorithm %s does not fit a %s key", alg,
			    crypto_key_type_name(crypto_key_type(k)));
		*out = &sig_algs[i];
		return CORE_OK;
	}
	return core_errf(eb, CORE_ERR_UNSUPPORTED,
	    "unsupported signature algorithm \"%.32s\"", alg);
}

const char *
crypto_key_default_sig_alg(const struct crypto_key *k)
{
	switch (crypto_key_type(k)) {
	case CRYPTO_KEY_EC_P256:
		return "ES256";
	case CRYPTO_KEY_EC_P384:
		return "ES384";
	case CRYPTO_KEY_EC_P521:
		return "ES512";
	case CRYPTO_KEY_ED25519:
		return "EdDSA";
	case CRYPTO_KEY_RSA:
		return "RS256";
	case CRYPTO_KEY_X25519:
		break;
	}
	return NULL;
}

static enum core_err
sig_init(EVP_MD_CTX *md, const struct sig_alg *a, const struct crypto_key *k,
    bool sign, struct core_errbuf *eb)
{
	const EVP_MD *digest = a->kind == SIG_EDDSA ? NULL :
	    crypto_hash_md(a->hash);
	EVP_PKEY_CTX *pctx = NULL;
	int ok;

	if (sign)
		ok = EVP_DigestSignInit(md, &pctx, digest, NULL,
		    crypto_key_evp(k));
	else
		ok = EVP_DigestVerifyInit(md, &pctx, digest, NULL,
		    crypto_key_evp(k));
	if (ok != 1)
		return crypto_ossl_err(eb, "%s init", a->name);
	if (a->kind == SIG_RSA_PSS &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
		return crypto_ossl_err(eb, "%s padding", a->name);
	return CORE_OK;
}

enum core_err
crypto_sign(const struct crypto_key *k, const char *alg, const void *p,
    size_t n, uint8_t **sig_out, size_t *sig_len, struct core_errbuf *eb)
{
	const struct sig_alg *a = NULL;
	EVP_MD_CTX *md = NULL;
	uint8_t *der = NULL;
	size_t der_len = 0;
	enum core_err err;

	*sig_out = NULL;
	*sig_len = 0;
	err = sig_lookup(k, alg, &a, eb);
	if (err != CORE_OK)
		return err;
	if (!crypto_key_is_private(k))
		return core_errf(eb, CORE_ERR_INVALID,
		    "%s: signing needs a private key", alg);
	md = EVP_MD_CTX_new();
	if (md == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "sign");
		goto out;
	}
	err = sig_init(md, a, k, true, eb);
	if (err != CORE_OK)
		goto out;
	if (EVP_DigestSign(md, NULL, &der_len, p, n) != 1 ||
	    (der = malloc(der_len)) == NULL ||
	    EVP_DigestSign(md, der, &der_len, p, n) != 1) {
		err = crypto_ossl_err(eb, "%s sign", alg);
		goto out;
	}
	if (a->kind != SIG_ECDSA) {
		*sig_out = der;
		*sig_len = der_len;
		der = NULL;
		goto out;
	}
	err = ecdsa_raw(a, der, der_len, sig_out, sig_len, eb);
out:
	free(der);
	EVP_MD_CTX_free(md);
	return err;
}

/* ECDSA: DER SEQUENCE{r, s} -> raw R||S, each field-size bytes. */
static enum core_err
ecdsa_raw(const struct sig_alg *a, const uint8_t *der, size_t der_len,
    uint8_t **sig_out, size_t *sig_len, struct core_errbuf *eb)
{
	size_t flen = crypto_ec_field_len(a->key);
	const unsigned char *q = der;
	const BIGNUM *r, *s;
	ECDSA_SIG *es;
	uint8_t *raw;

	es = d2i_ECDSA_SIG(NULL, &q, (long)der_len);
	raw = malloc(2 * flen);
	if (es == NULL || raw == NULL) {
		ECDSA_SIG_free(es);
		free(raw);
		return crypto_ossl_err(eb, "%s signature form", a->name);
	}
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, raw, (int)flen) < 0 ||
	    BN_bn2binpad(s, raw + flen, (int)flen) < 0) {
		ECDSA_SIG_free(es);
		free(raw);
		return crypto_ossl_err(eb, "%s signature form", a->name);
	}
	ECDSA_SIG_free(es);
	*sig_out = raw;
	*sig_len = 2 * flen;
	return CORE_OK;
}

/* ---- signers ---------------------------------------------------------- */

struct crypto_signer {
	const struct crypto_key *key; /* borrowed; must outlive the signer */
	const struct sig_alg *alg;
	EVP_PKEY_CTX *pctx;           /* owned; ECDSA: set up for
	                                 EVP_PKEY_sign of a digest, reused */
};

enum core_err
crypto_signer_new(const struct crypto_key *k, const char *alg,
    struct crypto_signer **out, struct core_errbuf *eb)
{
	struct crypto_signer *s;
	const struct sig_alg *a = NULL;
	enum core_err err;

	*out = NULL;
	err = sig_lookup(k, alg, &a, eb);
	if (err != CORE_OK)
		return err;
	if (!crypto_key_is_private(k))
		return core_errf(eb, CORE_ERR_INVALID,
		    "%s: signing needs a private key", alg);
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "signer");
	s->key = k;
	s->alg = a;
	if (a->kind == SIG_ECDSA) {
		s->pctx = crypto_key_evp(k) ? EVP_PKEY_CTX_new_from_pkey(NULL,
		    crypto_key_evp(k), NULL) : NULL;
		if (s->pctx == NULL || EVP_PKEY_sign_init(s->pctx) != 1 ||
		    EVP_PKEY_CTX_set_signature_md(s->pctx,
		    crypto_hash_md(a->hash)) != 1) {
			crypto_signer_free(s);
			return crypto_ossl_err(eb, "%s signer", alg);
		}
	}
	*out = s;
	return CORE_OK;
}

void
crypto_signer_free(struct crypto_signer *s)
{
	if (s == NULL)
		return;
	EVP_PKEY_CTX_free(s->pctx);
	free(s);
}

const char *
crypto_signer_alg(const struct crypto_signer *s)
{
	return s->alg->name;
}

enum core_err
crypto_signer_sign(struct crypto_signer *s, const void *p, size_t n,
    uint8_t **sig_out, size_t *sig_len, struct core_errbuf *eb)
{
	uint8_t digest[CRYPTO_HASH_MAX_LEN], der[160];
	size_t dlen = crypto_hash_len(s->alg->hash), der_len = sizeof(der);
	enum core_err err;

	*sig_out = NULL;
	*sig_len = 0;
	if (s->pctx == NULL)
		return crypto_sign(s->key, s->alg->name, p, n, sig_out, sig_len,
		    eb);
	err = crypto_hash(s->alg->hash, p, n, digest, eb);
	if (err != CORE_OK)
		return err;
	if (EVP_PKEY_sign(s->pctx, der, &der_len, digest, dlen) != 1)
		return crypto_ossl_err(eb, "%s sign", s->alg->name);
	return ecdsa_raw(s->alg, der, der_len, sig_out, sig_len, eb);
}

enum core_err
crypto_verify(const struct crypto_key *k, const char *alg, const void *p,
    size_t n, const uint8_t *sig, size_t sig_len, struct core_errbuf *eb)
{
	const struct sig_alg *a = NULL;
	EVP_MD_CTX *md = NULL;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	const uint8_t *vsig = sig;
	size_t vlen = sig_len, flen;
	enum core_err err;
	int len;

	err = sig_lookup(k, alg, &a, eb);
	if (err != CORE_OK)
		return err;
	if (a->kind == SIG_ECDSA) {
		flen = crypto_ec_field_len(a->key);
		if (sig_len != 2 * flen)
			return core_errf(eb, CORE_ERR_AUTH,
			    "%s signature must be %zu bytes (got %zu)", alg,
			    2 * flen, sig_len);
		es = ECDSA_SIG_new();
		r = BN_bin2bn(sig, (int)flen, NULL);
		s = BN_bin2bn(sig + flen, (int)flen, NULL);
		if (es == NULL || r == NULL || s == NULL ||
		    ECDSA_SIG_set0(es, r, s) != 1) {
			err = crypto_ossl_err(eb, "%s signature", alg);
			goto out;
		}
		r = s = NULL;
		len = i2d_ECDSA_SIG(es, &der);
		if (len <= 0) {
			err = crypto_ossl_err(eb, "%s signature", alg);
			goto out;
		}
		vsig = der;
		vlen = (size_t)len;
	} else if (a->kind == SIG_EDDSA && sig_len != 64) {
		return core_errf(eb, CORE_ERR_AUTH,
		    "EdDSA signature must be 64 bytes (got %zu)", sig_len);
	}
	md = EVP_MD_CTX_new();
	if (md == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "verify");
		goto out;
	}
	err = sig_init(md, a, k, false, eb);
	if (err != CORE_OK)
		goto out;
	if (EVP_DigestVerify(md, vsig, vlen, p, n) != 1) {
		ERR_clear_error();
		err = core_errf(eb, CORE_ERR_AUTH,
		    "%s signature does not verify", alg);
		goto out;
	}
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	return err;
}
