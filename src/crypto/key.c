/*
 * key.c -- asymmetric keys: generation, PEM/DER/JWK import and export,
 * RFC 7638 thumbprints and ECDH/X25519 key agreement.
 */
#include "crypto/crypto.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "crypto/internal.h"

/*
 * EC keys keep their point (and scalar) on the curve's shared group, so
 * generation, JWK import/export, validation and ECDH use OpenSSL's EC
 * arithmetic directly: OpenSSL 3 builds a new EC_GROUP (Montgomery
 * constants and all) for every EVP_PKEY it imports or generates, which
 * cost the KBS more than the scalar multiplications themselves. The
 * EVP_PKEY of an EC key is built on first use (signatures, PEM/DER
 * export, crypto_key_evp) and published with a compare-and-swap, so a key
 * stays shareable between threads.
 */
struct crypto_key {
	EVP_PKEY *pkey;          /* owned (one reference); for EC keys NULL
	                            until key_evp() builds it (atomic) */
	enum crypto_key_type type;
	bool is_private;
	const EC_GROUP *ec_group; /* borrowed from ec_curves; EC keys */
	EC_POINT *ec_pub;        /* owned; EC keys */
	BIGNUM *ec_priv;         /* owned; secret: cleared by crypto_key_free;
	                            EC private keys */
	char *jwk_alg;           /* owned; NULL unless parsed from a JWK */
	char *jwk_kid;           /* owned; NULL unless parsed from a JWK */
};

/*
 * The curves, built once. An EC_GROUP is only read by point arithmetic,
 * so the keys of every thread share these.
 */
static const struct ec_curve {
	enum crypto_key_type type;
	int nid;
	const char *name;        /* OpenSSL group name */
	const char *jwk_crv;
} ec_curve_list[] = {
	{ CRYPTO_KEY_EC_P256, NID_X9_62_prime256v1, "prime256v1", "P-256" },
	{ CRYPTO_KEY_EC_P384, NID_secp384r1, "secp384r1", "P-384" },
	{ CRYPTO_KEY_EC_P521, NID_secp521r1, "secp521r1", "P-521" },
};
static EC_GROUP *ec_groups[CORE_ARRAY_LEN(ec_curve_list)];
static pthread_once_t ec_groups_once = PTHREAD_ONCE_INIT;

static bool key_public_ok(const struct crypto_key *k);
static const struct ec_curve *ec_curve(enum crypto_key_type t,
    const EC_GROUP **group);
static enum core_err ec_key_new(enum crypto_key_type t,
    struct crypto_key **out, struct core_errbuf *eb);
static enum core_err ec_from_evp(struct crypto_key *k,
    struct core_errbuf *eb);
static EVP_PKEY *key_evp(const struct crypto_key *k);
static enum core_err ec_generate(enum crypto_key_type t,
    struct crypto_key **out, struct core_errbuf *eb);
static enum core_err ec_dh(const struct crypto_key *priv,
    const struct crypto_key *peer, struct secret **z_out,
    struct core_errbuf *eb);
static enum core_err key_wrap(EVP_PKEY *pkey, struct crypto_key **out,
    struct core_errbuf *eb);
static int key_no_passphrase(char *buf, size_t size, size_t *len,
    const OSSL_PARAM params[], void *arg);
static enum core_err key_decode(const void *p, size_t n, const char *fmt,
    struct crypto_key **out, struct core_errbuf *eb);
static enum core_err key_encode(const struct crypto_key *k, bool priv,
    const char *fmt, uint8_t **out, size_t *out_len, struct core_errbuf *eb);
static enum core_err jwk_ec(const json_t *jwk, struct crypto_key **out,
    struct core_errbuf *eb);
static enum core_err jwk_rsa(const json_t *jwk, struct crypto_key **out,
    struct core_errbuf *eb);
static enum core_err jwk_okp(const json_t *jwk, struct crypto_key **out,
    struct core_errbuf *eb);
static enum core_err key_from_params(const char *name, OSSL_PARAM_BLD *bld,
    bool priv, struct crypto_key **out, struct core_errbuf *eb);
static enum core_err set_bn_b64url(json_t *o, const char *name,
    const EVP_PKEY *pkey, const char *param, size_t pad,
    struct core_errbuf *eb);

size_t
crypto_ec_field_len(enum crypto_key_type t)
{
	switch (t) {
	case CRYPTO_KEY_EC_P256:
		return 32;
	case CRYPTO_KEY_EC_P384:
		return 48;
	case CRYPTO_KEY_EC_P521:
		return 66;
	default:
		return 0;
	}
}

const char *
crypto_key_type_name(enum crypto_key_type t)
{
	switch (t) {
	case CRYPTO_KEY_EC_P256:
		return "EC P-256";
	case CRYPTO_KEY_EC_P384:
		return "EC P-384";
	case CRYPTO_KEY_EC_P521:
		return "EC P-521";
	case CRYPTO_KEY_RSA:
		return "RSA";
	case CRYPTO_KEY_ED25519:
		return "Ed25519";
	case CRYPTO_KEY_X25519:
		return "X25519";
	}
	return "unknown";
}

/* ---- EC keys on the shared groups ---- */

static void
ec_groups_init(void)
{
	for (size_t i = 0; i < CORE_ARRAY_LEN(ec_curve_list); i++)
		ec_groups[i] = EC_GROUP_new_by_curve_name(ec_curve_list[i].nid);
}

/* The curve of an EC key type and its group; NULL if t is not EC. */
static const struct ec_curve *
ec_curve(enum crypto_key_type t, const EC_GROUP **group)
{
	pthread_once(&ec_groups_once, ec_groups_init);
	for (size_t i = 0; i < CORE_ARRAY_LEN(ec_curve_list); i++) {
		if (ec_curve_list[i].type != t)
			continue;
		*group = ec_groups[i];
		return ec_groups[i] != NULL ? &ec_curve_list[i] : NULL;
	}
	return NULL;
}

/* A key of EC type t with an unset point (no EVP_PKEY yet). */
static enum core_err
ec_key_new(enum crypto_key_type t, struct crypto_key **out,
    struct core_errbuf *eb)
{
	struct crypto_key *k;
	const EC_GROUP *g = NULL;

	*out = NULL;
	if (ec_curve(t, &g) == NULL)
		return crypto_ossl_err(eb, "%s curve", crypto_key_type_name(t));
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "key");
	k->type = t;
	k->ec_group = g;
	k->ec_pub = EC_POINT_new(g);
	if (k->ec_pub == NULL) {
		crypto_key_free(k);
		return core_errf(eb, CORE_ERR_NOMEM, "key");
	}
	*out = k;
	return CORE_OK;
}

/* Fills ec_pub (and ec_priv) of an EC key from its EVP_PKEY. */
static enum core_err
ec_from_evp(struct crypto_key *k, struct core_errbuf *eb)
{
	uint8_t pub[1 + 2 * 66];
	size_t len = 0;

	if (ec_curve(k->type, &k->ec_group) == NULL)
		return crypto_ossl_err(eb, "%s curve",
		    crypto_key_type_name(k->type));
	k->ec_pub = EC_POINT_new(k->ec_group);
	if (k->ec_pub == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "key");
	if (EVP_PKEY_get_octet_string_param(k->pkey, OSSL_PKEY_PARAM_PUB_KEY,
	    pub, sizeof(pub), &len) != 1 ||
	    EC_POINT_oct2point(k->ec_group, k->ec_pub, pub, len, NULL) != 1)
		return core_errf(eb, CORE_ERR_INVALID,
		    "%s public key is not valid (point not on the curve?)",
		    crypto_key_type_name(k->type));
	if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_PRIV_KEY,
	    &k->ec_priv) == 1) {
		BN_set_flags(k->ec_priv, BN_FLG_CONSTTIME);
		k->is_private = true;
	}
	return CORE_OK;
}

/* The EVP_PKEY of an EC key, from its point and scalar. */
static EVP_PKEY *
ec_to_evp(const struct crypto_key *k)
{
	const struct ec_curve *c;
	const EC_GROUP *g = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	uint8_t pub[1 + 2 * 66];
	size_t len;

	c = ec_curve(k->type, &g);
	if (c == NULL)
		return NULL;
	len = EC_POINT_point2oct(g, k->ec_pub, POINT_CONVERSION_UNCOMPRESSED,
	    pub, sizeof(pub), NULL);
	bld = OSSL_PARAM_BLD_new();
	if (len == 0 || bld == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    c->name, 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    pub, len) != 1 ||
	    (k->ec_priv != NULL && OSSL_PARAM_BLD_push_BN(bld,
	    OSSL_PKEY_PARAM_PRIV_KEY, k->ec_priv) != 1))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, k->ec_priv != NULL ?
	    EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
out:
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	/* ec_priv is a secure BIGNUM here (ec_generate, jwk_ec: keys from
	 * EVP never come this way), so its parameter was in the secure heap
	 * and OSSL_PARAM_free clears it. */
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

/*
 * The key's EVP_PKEY, built on first use for EC keys. The key is shared
 * between threads as const: two may build it at once, and the loser of
 * the compare-and-swap frees its copy. NULL only when out of memory.
 */
static EVP_PKEY *
key_evp(const struct crypto_key *k)
{
	EVP_PKEY **slot = (EVP_PKEY **)&k->pkey; /* a cache, not a change */
	EVP_PKEY *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE), *none = NULL;

	if (p != NULL || k->ec_pub == NULL)
		return p;
	p = ec_to_evp(k);
	if (p == NULL)
		return NULL;
	if (!__atomic_compare_exchange_n(slot, &none, p, false,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		EVP_PKEY_free(p);
		p = none;
	}
	return p;
}

/*
 * Public-key sanity. EC keys: the point is on the curve and not at
 * infinity (OpenSSL's "quick" check; the full one adds n*Q == O, which
 * says nothing more on the prime-order curves we accept, cofactor 1, and
 * cost ~85 us per P-256 key on the KBS's hot path). OKP keys get
 * OpenSSL's quick check. OpenSSL's RSA check runs a primality test on the
 * modulus (tens of milliseconds, a denial-of-service lever for a server
 * parsing client keys), so RSA gets the structural checks: odd modulus,
 * odd exponent with 3 <= e < n.
 */
static bool
key_public_ok(const struct crypto_key *k)
{
	EVP_PKEY_CTX *chk;
	BIGNUM *n = NULL, *e = NULL;
	bool ok;

	if (k->ec_pub != NULL)
		return !EC_POINT_is_at_infinity(k->ec_group, k->ec_pub) &&
		    EC_POINT_is_on_curve(k->ec_group, k->ec_pub, NULL) == 1;
	if (k->type != CRYPTO_KEY_RSA) {
		chk = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
		ok = chk != NULL && EVP_PKEY_public_check_quick(chk) == 1;
		EVP_PKEY_CTX_free(chk);
		return ok;
	}
	ok = EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
	    EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_E, &e) == 1 &&
	    BN_is_odd(n) && BN_is_odd(e) && !BN_is_one(e) &&
	    BN_cmp(e, n) < 0;
	BN_free(n);
	BN_free(e);
	return ok;
}

/* Takes over pkey (frees it on failure). */
static enum core_err
key_wrap(EVP_PKEY *pkey, struct crypto_key **out, struct core_errbuf *eb)
{
	struct crypto_key *k = NULL;
	char group[64];
	BIGNUM *bn = NULL;
	size_t len = 0;
	enum core_err err;

	*out = NULL;
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		EVP_PKEY_free(pkey);
		return core_errf(eb, CORE_ERR_NOMEM, "key");
	}
	k->pkey = pkey;
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_utf8_string_param(pkey,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
		    NULL) != 1) {
			err = crypto_ossl_err(eb, "EC key without a curve");
			goto fail;
		}
		if (strcmp(group, "prime256v1") == 0 ||
		    strcmp(group, "P-256") == 0)
			k->type = CRYPTO_KEY_EC_P256;
		else if (strcmp(group, "secp384r1") == 0 ||
		    strcmp(group, "P-384") == 0)
			k->type = CRYPTO_KEY_EC_P384;
		else if (strcmp(group, "secp521r1") == 0 ||
		    strcmp(group, "P-521") == 0)
			k->type = CRYPTO_KEY_EC_P521;
		else {
			err = core_errf(eb, CORE_ERR_UNSUPPORTED,
			    "unsupported EC curve %s", group);
			goto fail;
		}
		err = ec_from_evp(k, eb);
		if (err != CORE_OK)
			goto fail;
		break;
	case EVP_PKEY_RSA:
		k->type = CRYPTO_KEY_RSA;
		if (EVP_PKEY_get_bits(pkey) < CRYPTO_RSA_MIN_BITS ||
		    EVP_PKEY_get_bits(pkey) > CRYPTO_RSA_MAX_BITS) {
			err = core_errf(eb, CORE_ERR_UNSUPPORTED,
			    "RSA key of %d bits refused (want %d..%d)",
			    EVP_PKEY_get_bits(pkey), CRYPTO_RSA_MIN_BITS,
			    CRYPTO_RSA_MAX_BITS);
			goto fail;
		}
		k->is_private = EVP_PKEY_get_bn_param(pkey,
		    OSSL_PKEY_PARAM_RSA_D, &bn) == 1;
		break;
	case EVP_PKEY_ED25519:
		k->type = CRYPTO_KEY_ED25519;
		k->is_private = EVP_PKEY_get_raw_private_key(pkey, NULL,
		    &len) == 1;
		break;
	case EVP_PKEY_X25519:
		k->type = CRYPTO_KEY_X25519;
		k->is_private = EVP_PKEY_get_raw_private_key(pkey, NULL,
		    &len) == 1;
		break;
	default:
		err = core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "unsupported key type %s", EVP_PKEY_get0_type_name(pkey));
		goto fail;
	}
	BN_clear_free(bn);
	bn = NULL;
	/* Whatever the source, refuse public keys that fail OpenSSL's
	 * validation (an RSA modulus that is even or has small factors, an
	 * EC point off the curve), so every load path agrees. */
	if (!key_public_ok(k)) {
		ERR_clear_error();
		err = core_errf(eb, CORE_ERR_INVALID,
		    "%s public key is not valid%s",
		    crypto_key_type_name(k->type), k->type == CRYPTO_KEY_RSA ?
		    " (modulus or exponent)" : " (point not on the curve?)");
		goto fail;
	}
	ERR_clear_error();
	*out = k;
	return CORE_OK;
fail:
	BN_clear_free(bn);
	crypto_key_free(k);
	return err;
}

/*
 * A fresh EC key: a uniform scalar in [1, n) and its point d*G, as
 * OpenSSL's own EC key generation does, without the provider's copy of
 * the group. The point is on the curve by construction.
 */
static enum core_err
ec_generate(enum crypto_key_type t, struct crypto_key **out,
    struct core_errbuf *eb)
{
	struct crypto_key *k = NULL;
	BN_CTX *bc = NULL;
	const BIGNUM *order;
	enum core_err err;

	err = ec_key_new(t, &k, eb);
	if (err != CORE_OK)
		return err;
	order = EC_GROUP_get0_order(k->ec_group);
	bc = BN_CTX_secure_new();
	k->ec_priv = BN_secure_new();
	if (bc == NULL || k->ec_priv == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "key");
		goto out;
	}
	BN_set_flags(k->ec_priv, BN_FLG_CONSTTIME);
	do {
		if (BN_priv_rand_range_ex(k->ec_priv, order, 0, bc) != 1) {
			err = crypto_ossl_err(eb, "generate %s key",
			    crypto_key_type_name(t));
			goto out;
		}
	} while (BN_is_zero(k->ec_priv));
	if (EC_POINT_mul(k->ec_group, k->ec_pub, k->ec_priv, NULL, NULL,
	    bc) != 1) {
		err = crypto_ossl_err(eb, "generate %s key",
		    crypto_key_type_name(t));
		goto out;
	}
	k->is_private = true;
	*out = k;
	k = NULL;
out:
	BN_CTX_free(bc);
	crypto_key_free(k);
	return err;
}

enum core_err
crypto_key_generate(enum crypto_key_type t, unsigned rsa_bits,
    struct crypto_key **out, struct core_errbuf *eb)
{
	EVP_PKEY *pkey = NULL;

	*out = NULL;
	switch (t) {
	case CRYPTO_KEY_EC_P256:
	case CRYPTO_KEY_EC_P384:
	case CRYPTO_KEY_EC_P521:
		return ec_generate(t, out, eb);
	case CRYPTO_KEY_RSA:
		if (rsa_bits == 0)
			rsa_bits = 2048;
		if (rsa_bits < CRYPTO_RSA_MIN_BITS ||
		    rsa_bits > CRYPTO_RSA_MAX_BITS)
			return core_errf(eb, CORE_ERR_INVALID,
			    "RSA key size %u out of range %d..%d", rsa_bits,
			    CRYPTO_RSA_MIN_BITS, CRYPTO_RSA_MAX_BITS);
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)rsa_bits);
		break;
	case CRYPTO_KEY_ED25519:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	case CRYPTO_KEY_X25519:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
		break;
	default:
		return core_errf(eb, CORE_ERR_INVALID, "unknown key type %d",
		    (int)t);
	}
	if (pkey == NULL)
		return crypto_ossl_err(eb, "generate %s key",
		    crypto_key_type_name(t));
	return key_wrap(pkey, out, eb);
}

void
crypto_key_free(struct crypto_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	EC_POINT_free(k->ec_pub);
	BN_clear_free(k->ec_priv);
	free(k->jwk_alg);
	free(k->jwk_kid);
	free(k);
}

enum crypto_key_type
crypto_key_type(const struct crypto_key *k)
{
	return k->type;
}

bool
crypto_key_is_private(const struct crypto_key *k)
{
	return k->is_private;
}

unsigned
crypto_key_bits(const struct crypto_key *k)
{
	int bits = k->ec_group != NULL ? EC_GROUP_get_degree(k->ec_group) :
	    EVP_PKEY_get_bits(k->pkey);

	return bits > 0 ? (unsigned)bits : 0;
}

const char *
crypto_key_jwk_alg(const struct crypto_key *k)
{
	return k->jwk_alg;
}

const char *
crypto_key_jwk_kid(const struct crypto_key *k)
{
	return k->jwk_kid;
}

struct evp_pkey_st *
crypto_key_evp(const struct crypto_key *k)
{
	return key_evp(k);
}

enum core_err
crypto_key_from_evp(struct evp_pkey_st *pkey, struct crypto_key **out,
    struct core_errbuf *eb)
{
	*out = NULL;
	if (pkey == NULL)
		return core_errf(eb, CORE_ERR_INVALID, "no key");
	if (EVP_PKEY_up_ref(pkey) != 1)
		return crypto_ossl_err(eb, "key reference");
	return key_wrap(pkey, out, eb);
}

enum core_err
crypto_key_public(const struct crypto_key *k, struct crypto_key **out,
    struct core_errbuf *eb)
{
	uint8_t *der = NULL;
	size_t len = 0;
	enum core_err err;

	*out = NULL;
	if (k->ec_pub != NULL) {
		err = ec_key_new(k->type, out, eb);
		if (err == CORE_OK &&
		    EC_POINT_copy((*out)->ec_pub, k->ec_pub) != 1)
			err = core_errf(eb, CORE_ERR_NOMEM, "public key copy");
		if (err != CORE_OK) {
			crypto_key_free(*out);
			*out = NULL;
			return err;
		}
		goto meta;
	}
	err = crypto_key_to_der(k, false, &der, &len, eb);
	if (err != CORE_OK)
		return err;
	err = crypto_key_from_der(der, len, out, eb);
	free(der);
	if (err != CORE_OK)
		return err;
meta:
	if ((k->jwk_alg != NULL &&
	    ((*out)->jwk_alg = strdup(k->jwk_alg)) == NULL) ||
	    (k->jwk_kid != NULL &&
	    ((*out)->jwk_kid = strdup(k->jwk_kid)) == NULL)) {
		crypto_key_free(*out);
		*out = NULL;
		return core_errf(eb, CORE_ERR_NOMEM, "public key copy");
	}
	return CORE_OK;
}

bool
crypto_key_public_equal(const struct crypto_key *a, const struct crypto_key *b)
{
	if (a == NULL || b == NULL || a->type != b->type)
		return false;
	if (a->ec_pub != NULL)
		return EC_POINT_cmp(a->ec_group, a->ec_pub, b->ec_pub,
		    NULL) == 0;
	return EVP_PKEY_eq(a->pkey, b->pkey) == 1;
}

/* Never prompts: encrypted keys are refused. */
static int
key_no_passphrase(char *buf, size_t size, size_t *len,
    const OSSL_PARAM params[], void *arg)
{
	(void)buf;
	(void)size;
	(void)params;
	(void)arg;
	*len = 0;
	return 0;
}

static enum core_err
key_decode(const void *p, size_t n, const char *fmt, struct crypto_key **out,
    struct core_errbuf *eb)
{
	OSSL_DECODER_CTX *dctx;
	const unsigned char *data = p;
	size_t left = n;
	EVP_PKEY *pkey = NULL;
	X509 *cert = NULL;

	*out = NULL;
	if (n == 0)
		return core_errf(eb, CORE_ERR_INVALID, "key: empty input");
	if (n > CRYPTO_KEY_MAX_LEN)
		return core_errf(eb, CORE_ERR_TOO_BIG,
		    "key: input of %zu bytes exceeds %d", n,
		    CRYPTO_KEY_MAX_LEN);
	/* Selection 0: a private or a public key, in one pass. */
	dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, fmt, NULL, NULL, 0, NULL,
	    NULL);
	if (dctx == NULL)
		return crypto_ossl_err(eb, "key decoder");
	OSSL_DECODER_CTX_set_passphrase_cb(dctx, key_no_passphrase, NULL);
	if (OSSL_DECODER_from_data(dctx, &data, &left) != 1)
		pkey = NULL;
	OSSL_DECODER_CTX_free(dctx);
	if (pkey == NULL) {
		/* Maybe an X.509 certificate: use its public key. */
		if (strcmp(fmt, "PEM") == 0) {
			BIO *bio = BIO_new_mem_buf(p, (int)n);

			if (bio != NULL)
				cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
			BIO_free(bio);
		} else {
			const unsigned char *q = p;

			cert = d2i_X509(NULL, &q, (long)n);
		}
		if (cert != NULL)
			pkey = X509_get_pubkey(cert);
		X509_free(cert);
	}
	ERR_clear_error();
	if (pkey == NULL) {
		if (strcmp(fmt, "PEM") == 0 &&
		    memmem(p, n, "ENCRYPTED", 9) != NULL)
			return core_errf(eb, CORE_ERR_UNSUPPORTED,
			    "key: encrypted PEM keys are not supported");
		return core_errf(eb, CORE_ERR_INVALID,
		    "key: not a PKCS#8, PKCS#1, SEC1, SPKI key or certificate "
		    "in %s", fmt);
	}
	return key_wrap(pkey, out, eb);
}

enum core_err
crypto_key_from_pem(const void *p, size_t n, struct crypto_key **out,
    struct core_errbuf *eb)
{
	*out = NULL;
	if (n > 0 && memmem(p, n, "-----BEGIN", 10) == NULL)
		return core_errf(eb, CORE_ERR_INVALID,
		    "key: no PEM \"-----BEGIN\" line");
	return key_decode(p, n, "PEM", out, eb);
}

enum core_err
crypto_key_from_der(const void *p, size_t n, struct crypto_key **out,
    struct core_errbuf *eb)
{
	return key_decode(p, n, "DER", out, eb);
}

enum core_err
crypto_key_load(const void *p, size_t n, struct crypto_key **out,
    struct core_errbuf *eb)
{
	const char *s = p;
	size_t i = 0;

	*out = NULL;
	while (i < n && isspace((unsigned char)s[i]))
		i++;
	if (i == n)
		return core_errf(eb, CORE_ERR_INVALID, "key: empty input");
	if (s[i] == '{')
		return crypto_key_from_jwk_str(p, n, out, eb);
	if (n - i >= 10 && memcmp(s + i, "-----BEGIN", 10) == 0)
		return crypto_key_from_pem(p, n, out, eb);
	return crypto_key_from_der(p, n, out, eb);
}

enum core_err
crypto_key_load_file(const char *path, struct crypto_key **out,
    struct core_errbuf *eb)
{
	uint8_t *p = NULL;
	size_t n = 0;
	enum core_err err;

	*out = NULL;
	err = core_fs_read(path, CRYPTO_KEY_MAX_LEN, &p, &n, eb);
	if (err != CORE_OK)
		return err;
	err = crypto_key_load(p, n, out, eb);
	if (err != CORE_OK)
		core_errbuf_prefix(eb, "%s", path);
	core_wipe(p, n);
	free(p);
	return err;
}

static enum core_err
key_encode(const struct crypto_key *k, bool priv, const char *fmt,
    uint8_t **out, size_t *out_len, struct core_errbuf *eb)
{
	OSSL_ENCODER_CTX *ectx;
	unsigned char *data = NULL;
	size_t len = 0;

	*out = NULL;
	if (priv && !k->is_private)
		return core_errf(eb, CORE_ERR_INVALID,
		    "key: no private part to export");
	if (key_evp(k) == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "key encoder");
	ectx = OSSL_ENCODER_CTX_new_for_pkey(key_evp(k),
	    priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, fmt,
	    priv ? "PrivateKeyInfo" : "SubjectPublicKeyInfo", NULL);
	if (ectx == NULL)
		return crypto_ossl_err(eb, "key encoder");
	if (OSSL_ENCODER_to_data(ectx, &data, &len) != 1) {
		OSSL_ENCODER_CTX_free(ectx);
		return crypto_ossl_err(eb, "key: encode %s", fmt);
	}
	OSSL_ENCODER_CTX_free(ectx);
	*out = data;
	*out_len = len;
	return CORE_OK;
}

enum core_err
crypto_key_to_pem(const struct crypto_key *k, bool private_part, char **out,
    struct core_errbuf *eb)
{
	uint8_t *data = NULL;
	size_t len = 0;
	char *s;
	enum core_err err;

	*out = NULL;
	err = key_encode(k, private_part, "PEM", &data, &len, eb);
	if (err != CORE_OK)
		return err;
	s = malloc(len + 1);
	if (s == NULL) {
		OPENSSL_clear_free(data, len);
		return core_errf(eb, CORE_ERR_NOMEM, "key PEM");
	}
	memcpy(s, data, len);
	s[len] = '\0';
	OPENSSL_clear_free(data, len);
	*out = s;
	return CORE_OK;
}

enum core_err
crypto_key_to_der(const struct crypto_key *k, bool private_part,
    uint8_t **out, size_t *out_len, struct core_errbuf *eb)
{
	uint8_t *data = NULL;
	size_t len = 0;
	enum core_err err;

	*out = NULL;
	err = key_encode(k, private_part, "DER", &data, &len, eb);
	if (err != CORE_OK)
		return err;
	*out = malloc(len);
	if (*out == NULL) {
		OPENSSL_clear_free(data, len);
		return core_errf(eb, CORE_ERR_NOMEM, "key DER");
	}
	memcpy(*out, data, len);
	*out_len = len;
	OPENSSL_clear_free(data, len);
	return CORE_OK;
}

/* ---- JWK import ---- */

static enum core_err
key_from_params(const char *name, OSSL_PARAM_BLD *bld, bool priv,
    struct crypto_key **out, struct core_errbuf *eb)
{
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	enum core_err err = CORE_OK;

	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL);
	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, priv ? EVP_PKEY_KEYPAIR :
	    EVP_PKEY_PUBLIC_KEY, params) != 1) {
		err = crypto_ossl_err(eb, "JWK: invalid %s key", name);
		goto out;
	}
	/* key_wrap checks the public key. OpenSSL's RSA pairwise check runs
	 * primality tests (slow); RSA private JWKs are checked with
	 * n == p * q in jwk_rsa instead. */
	err = key_wrap(pkey, out, eb);
	pkey = NULL;
	if (err != CORE_OK)
		core_errbuf_prefix(eb, "JWK");
out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return err;
}

static enum core_err
jwk_ec(const json_t *jwk, struct crypto_key **out, struct core_errbuf *eb)
{
	const char *crv = NULL;
	uint8_t *x = NULL, *y = NULL, *d = NULL;
	size_t xlen = 0, ylen = 0, dlen = 0, flen;
	uint8_t pub[1 + 2 * 66];
	struct crypto_key *k = NULL;
	enum crypto_key_type t;
	EC_POINT *chk = NULL;
	BN_CTX *bc = NULL;
	enum core_err err;

	*out = NULL;
	err = core_json_get_str(jwk, "crv", true, &crv, eb);
	if (err != CORE_OK)
		goto out;
	if (strcmp(crv, "P-256") == 0) {
		t = CRYPTO_KEY_EC_P256;
	} else if (strcmp(crv, "P-384") == 0) {
		t = CRYPTO_KEY_EC_P384;
	} else if (strcmp(crv, "P-521") == 0) {
		t = CRYPTO_KEY_EC_P521;
	} else {
		err = core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "JWK: unsupported EC crv \"%.32s\"", crv);
		goto out;
	}
	flen = crypto_ec_field_len(t);
	if ((err = crypto_json_b64url(jwk, "x", true, &x, &xlen, eb)) ||
	    (err = crypto_json_b64url(jwk, "y", true, &y, &ylen, eb)) ||
	    (err = crypto_json_b64url(jwk, "d", false, &d, &dlen, eb)))
		goto out;
	if (xlen != flen || ylen != flen || (d != NULL && dlen != flen)) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "JWK: %s coordinate %s is %zu bytes, want %zu", crv,
		    xlen != flen ? "x" : ylen != flen ? "y" : "d",
		    xlen != flen ? xlen : ylen != flen ? ylen : dlen, flen);
		goto out;
	}
	pub[0] = 0x04;
	memcpy(pub + 1, x, flen);
	memcpy(pub + 1 + flen, y, flen);
	err = ec_key_new(t, &k, eb);
	if (err != CORE_OK)
		goto out;
	/* oct2point refuses coordinates >= p and points off the curve. */
	if (EC_POINT_oct2point(k->ec_group, k->ec_pub, pub, 1 + 2 * flen,
	    NULL) != 1 || !key_public_ok(k)) {
		ERR_clear_error();
		err = core_errf(eb, CORE_ERR_INVALID,
		    "JWK: %s public key is not valid (point not on the curve?)",
		    crypto_key_type_name(t));
		goto out;
	}
	if (d != NULL) {
		bc = BN_CTX_secure_new();
		k->ec_priv = BN_secure_new();
		chk = EC_POINT_new(k->ec_group);
		if (bc == NULL || k->ec_priv == NULL || chk == NULL ||
		    BN_bin2bn(d, (int)dlen, k->ec_priv) == NULL) {
			err = core_errf(eb, CORE_ERR_NOMEM, "JWK");
			goto out;
		}
		BN_set_flags(k->ec_priv, BN_FLG_CONSTTIME);
		k->is_private = true;
		/* 0 < d < n and d*G == the public point. */
		if (BN_is_zero(k->ec_priv) || BN_cmp(k->ec_priv,
		    EC_GROUP_get0_order(k->ec_group)) >= 0 ||
		    EC_POINT_mul(k->ec_group, chk, k->ec_priv, NULL, NULL,
		    bc) != 1 ||
		    EC_POINT_cmp(k->ec_group, chk, k->ec_pub, bc) != 0) {
			ERR_clear_error();
			err = core_errf(eb, CORE_ERR_INVALID,
			    "JWK: private key does not match the public key");
			goto out;
		}
	}
	*out = k;
	k = NULL;
out:
	EC_POINT_free(chk);
	BN_CTX_free(bc);
	crypto_key_free(k);
	free(x);
	free(y);
	if (d != NULL) {
		core_wipe(d, dlen);
		free(d);
	}
	return err;
}

static enum core_err
jwk_rsa(const json_t *jwk, struct crypto_key **out, struct core_errbuf *eb)
{
	static const struct {
		const char *member;
		const char *param;
		bool priv;
	} parts[] = {
		{ "n", OSSL_PKEY_PARAM_RSA_N, false },
		{ "e", OSSL_PKEY_PARAM_RSA_E, false },
		{ "d", OSSL_PKEY_PARAM_RSA_D, true },
		{ "p", OSSL_PKEY_PARAM_RSA_FACTOR1, true },
		{ "q", OSSL_PKEY_PARAM_RSA_FACTOR2, true },
		{ "dp", OSSL_PKEY_PARAM_RSA_EXPONENT1, true },
		{ "dq", OSSL_PKEY_PARAM_RSA_EXPONENT2, true },
		{ "qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1, true },
	};
	BIGNUM *bn[CORE_ARRAY_LEN(parts)] = { 0 };
	OSSL_PARAM_BLD *bld = NULL;
	bool priv = json_object_get(jwk, "d") != NULL;
	bool crt = json_object_get(jwk, "p") != NULL;
	enum core_err err = CORE_OK;

	if (priv && !crt)
		return core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "JWK: RSA private key without the CRT members (p, q, dp, "
		    "dq, qi) is not supported");
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "JWK params");
	for (size_t i = 0; i < CORE_ARRAY_LEN(parts); i++) {
		uint8_t *b = NULL;
		size_t blen = 0;
		bool need = !parts[i].priv || (priv && (i == 2 || crt));

		if (parts[i].priv && !priv)
			continue;
		if (i > 2 && !crt)
			continue;
		err = crypto_json_b64url(jwk, parts[i].member, need, &b, &blen,
		    eb);
		if (err != CORE_OK)
			goto out;
		if (blen == 0 || blen > CRYPTO_RSA_MAX_BITS / 8) {
			free(b);
			err = core_errf(eb, CORE_ERR_INVALID,
			    "JWK: RSA member \"%s\" has bad length %zu",
			    parts[i].member, blen);
			goto out;
		}
		bn[i] = parts[i].priv ? BN_secure_new() : BN_new();
		if (bn[i] == NULL || BN_bin2bn(b, (int)blen, bn[i]) == NULL ||
		    OSSL_PARAM_BLD_push_BN(bld, parts[i].param, bn[i]) != 1) {
			core_wipe(b, blen);
			free(b);
			err = core_errf(eb, CORE_ERR_NOMEM, "JWK params");
			goto out;
		}
		core_wipe(b, blen);
		free(b);
	}
	if (BN_num_bits(bn[0]) < CRYPTO_RSA_MIN_BITS) {
		err = core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "JWK: RSA modulus of %d bits refused (want >= %d)",
		    BN_num_bits(bn[0]), CRYPTO_RSA_MIN_BITS);
		goto out;
	}
	if (priv) {
		BN_CTX *bctx = BN_CTX_new();
		BIGNUM *pq = BN_new();
		bool same = bctx != NULL && pq != NULL &&
		    BN_mul(pq, bn[3], bn[4], bctx) == 1 &&
		    BN_cmp(pq, bn[0]) == 0;

		BN_free(pq);
		BN_CTX_free(bctx);
		if (!same) {
			err = core_errf(eb, CORE_ERR_INVALID,
			    "JWK: private key does not match the public key "
			    "(n != p * q)");
			goto out;
		}
	}
	err = key_from_params("RSA", bld, priv, out, eb);
out:
	for (size_t i = 0; i < CORE_ARRAY_LEN(parts); i++)
		BN_clear_free(bn[i]);
	OSSL_PARAM_BLD_free(bld);
	return err;
}

static enum core_err
jwk_okp(const json_t *jwk, struct crypto_key **out, struct core_errbuf *eb)
{
	const char *crv = NULL, *name;
	uint8_t *x = NULL, *d = NULL;
	size_t xlen = 0, dlen = 0;
	EVP_PKEY *pkey = NULL;
	uint8_t derived[32];
	size_t dl = sizeof(derived);
	enum core_err err;
	int id;

	err = core_json_get_str(jwk, "crv", true, &crv, eb);
	if (err != CORE_OK)
		goto out;
	if (strcmp(crv, "Ed25519") == 0) {
		id = EVP_PKEY_ED25519;
		name = "Ed25519";
	} else if (strcmp(crv, "X25519") == 0) {
		id = EVP_PKEY_X25519;
		name = "X25519";
	} else {
		err = core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "JWK: unsupported OKP crv \"%.32s\"", crv);
		goto out;
	}
	if ((err = crypto_json_b64url(jwk, "x", true, &x, &xlen, eb)) ||
	    (err = crypto_json_b64url(jwk, "d", false, &d, &dlen, eb)))
		goto out;
	if (xlen != 32 || (d != NULL && dlen != 32)) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "JWK: %s \"%s\" must be 32 bytes (got %zu)", name,
		    xlen != 32 ? "x" : "d", xlen != 32 ? xlen : dlen);
		goto out;
	}
	if (d != NULL) {
		pkey = EVP_PKEY_new_raw_private_key(id, NULL, d, dlen);
		if (pkey == NULL ||
		    EVP_PKEY_get_raw_public_key(pkey, derived, &dl) != 1) {
			err = crypto_ossl_err(eb, "JWK: invalid %s key", name);
			goto out;
		}
		if (dl != 32 || memcmp(derived, x, 32) != 0) {
			err = core_errf(eb, CORE_ERR_INVALID,
			    "JWK: private key does not match the public key");
			goto out;
		}
	} else {
		pkey = EVP_PKEY_new_raw_public_key(id, NULL, x, xlen);
		if (pkey == NULL) {
			err = crypto_ossl_err(eb, "JWK: invalid %s key", name);
			goto out;
		}
	}
	err = key_wrap(pkey, out, eb);
	pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	free(x);
	if (d != NULL) {
		core_wipe(d, dlen);
		free(d);
	}
	return err;
}

enum core_err
crypto_key_from_jwk(const json_t *jwk, struct crypto_key **out,
    struct core_errbuf *eb)
{
	const char *kty = NULL, *alg = NULL, *kid = NULL;
	enum core_err err;

	*out = NULL;
	if (!json_is_object(jwk))
		return core_errf(eb, CORE_ERR_INVALID, "JWK is not an object");
	if ((err = core_json_get_str(jwk, "kty", true, &kty, eb)) ||
	    (err = core_json_get_str(jwk, "alg", false, &alg, eb)) ||
	    (err = core_json_get_str(jwk, "kid", false, &kid, eb))) {
		core_errbuf_prefix(eb, "JWK");
		return err;
	}
	if (strcmp(kty, "EC") == 0)
		err = jwk_ec(jwk, out, eb);
	else if (strcmp(kty, "RSA") == 0)
		err = jwk_rsa(jwk, out, eb);
	else if (strcmp(kty, "OKP") == 0)
		err = jwk_okp(jwk, out, eb);
	else
		return core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "JWK: unsupported kty \"%.32s\"", kty);
	if (err != CORE_OK)
		return err;
	if ((alg != NULL && ((*out)->jwk_alg = strdup(alg)) == NULL) ||
	    (kid != NULL && ((*out)->jwk_kid = strdup(kid)) == NULL)) {
		crypto_key_free(*out);
		*out = NULL;
		return core_errf(eb, CORE_ERR_NOMEM, "JWK");
	}
	return CORE_OK;
}

enum core_err
crypto_key_from_jwk_str(const void *p, size_t n, struct crypto_key **out,
    struct core_errbuf *eb)
{
	json_t *jwk = NULL;
	enum core_err err;

	*out = NULL;
	err = core_json_parse_object(p, n, CRYPTO_KEY_MAX_LEN, &jwk, eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "JWK");
		return err;
	}
	err = crypto_key_from_jwk(jwk, out, eb);
	json_decref(jwk);
	return err;
}

/* ---- JWK export ---- */

static enum core_err
set_bn_b64url(json_t *o, const char *name, const EVP_PKEY *pkey,
    const char *param, size_t pad, struct core_errbuf *eb)
{
	BIGNUM *bn = NULL;
	uint8_t *buf = NULL;
	size_t len;
	enum core_err err;

	if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1)
		return crypto_ossl_err(eb, "JWK: key has no %s", name);
	len = pad > 0 ? pad : (size_t)BN_num_bytes(bn);
	if (len == 0)
		len = 1;
	buf = malloc(len);
	if (buf == NULL || BN_bn2binpad(bn, buf, (int)len) < 0) {
		err = crypto_ossl_err(eb, "JWK: encode %s", name);
		goto out;
	}
	err = crypto_json_set_b64url(o, name, buf, len, eb);
out:
	if (buf != NULL) {
		core_wipe(buf, len);
		free(buf);
	}
	BN_clear_free(bn);
	return err;
}

enum core_err
crypto_key_to_jwk(const struct crypto_key *k, bool private_part,
    json_t **out, struct core_errbuf *eb)
{
	json_t *o = NULL;
	uint8_t raw[32], pt[1 + 2 * 66];
	size_t rawlen;
	size_t flen = crypto_ec_field_len(k->type);
	enum core_err err = CORE_OK;

	*out = NULL;
	if (private_part && !k->is_private)
		return core_errf(eb, CORE_ERR_INVALID,
		    "JWK: key has no private part");
	o = json_object();
	if (o == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "JWK");
	switch (k->type) {
	case CRYPTO_KEY_EC_P256:
	case CRYPTO_KEY_EC_P384:
	case CRYPTO_KEY_EC_P521:
		json_object_set_new(o, "kty", json_string("EC"));
		json_object_set_new(o, "crv", json_string(
		    k->type == CRYPTO_KEY_EC_P256 ? "P-256" :
		    k->type == CRYPTO_KEY_EC_P384 ? "P-384" : "P-521"));
		if (EC_POINT_point2oct(k->ec_group, k->ec_pub,
		    POINT_CONVERSION_UNCOMPRESSED, pt, sizeof(pt), NULL) !=
		    1 + 2 * flen) {
			err = crypto_ossl_err(eb, "JWK: encode the point");
			goto out;
		}
		if ((err = crypto_json_set_b64url(o, "x", pt + 1, flen, eb)) ||
		    (err = crypto_json_set_b64url(o, "y", pt + 1 + flen, flen,
		    eb)))
			goto out;
		if (private_part) {
			if (BN_bn2binpad(k->ec_priv, pt, (int)flen) < 0) {
				err = crypto_ossl_err(eb, "JWK: encode d");
				goto out;
			}
			err = crypto_json_set_b64url(o, "d", pt, flen, eb);
			core_wipe(pt, sizeof(pt));
		}
		break;
	case CRYPTO_KEY_RSA:
		json_object_set_new(o, "kty", json_string("RSA"));
		if ((err = set_bn_b64url(o, "n", k->pkey,
		    OSSL_PKEY_PARAM_RSA_N, 0, eb)) ||
		    (err = set_bn_b64url(o, "e", k->pkey,
		    OSSL_PKEY_PARAM_RSA_E, 0, eb)))
			goto out;
		if (private_part) {
			if ((err = set_bn_b64url(o, "d", k->pkey,
			    OSSL_PKEY_PARAM_RSA_D, 0, eb)))
				goto out;
			/* CRT members when the key has them. */
			if (set_bn_b64url(o, "p", k->pkey,
			    OSSL_PKEY_PARAM_RSA_FACTOR1, 0, NULL) == CORE_OK &&
			    ((err = set_bn_b64url(o, "q", k->pkey,
			    OSSL_PKEY_PARAM_RSA_FACTOR2, 0, eb)) ||
			    (err = set_bn_b64url(o, "dp", k->pkey,
			    OSSL_PKEY_PARAM_RSA_EXPONENT1, 0, eb)) ||
			    (err = set_bn_b64url(o, "dq", k->pkey,
			    OSSL_PKEY_PARAM_RSA_EXPONENT2, 0, eb)) ||
			    (err = set_bn_b64url(o, "qi", k->pkey,
			    OSSL_PKEY_PARAM_RSA_COEFFICIENT1, 0, eb))))
				goto out;
			ERR_clear_error();
		}
		break;
	case CRYPTO_KEY_ED25519:
	case CRYPTO_KEY_X25519:
		json_object_set_new(o, "kty", json_string("OKP"));
		json_object_set_new(o, "crv", json_string(
		    k->type == CRYPTO_KEY_ED25519 ? "Ed25519" : "X25519"));
		rawlen = sizeof(raw);
		if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &rawlen) != 1) {
			err = crypto_ossl_err(eb, "JWK: raw public key");
			goto out;
		}
		if ((err = crypto_json_set_b64url(o, "x", raw, rawlen, eb)))
			goto out;
		if (private_part) {
			rawlen = sizeof(raw);
			if (EVP_PKEY_get_raw_private_key(k->pkey, raw,
			    &rawlen) != 1) {
				err = crypto_ossl_err(eb,
				    "JWK: raw private key");
				goto out;
			}
			err = crypto_json_set_b64url(o, "d", raw, rawlen, eb);
			core_wipe(raw, sizeof(raw));
		}
		break;
	}
out:
	if (err != CORE_OK) {
		json_decref(o);
		return err;
	}
	*out = o;
	return CORE_OK;
}

enum core_err
crypto_key_thumbprint(const struct crypto_key *k, enum crypto_hash h,
    uint8_t *out, struct core_errbuf *eb)
{
	json_t *jwk = NULL;
	enum core_err err;

	/* crypto_key_to_jwk emits exactly the RFC 7638 required members. */
	err = crypto_key_to_jwk(k, false, &jwk, eb);
	if (err != CORE_OK)
		return err;
	err = crypto_jcs_hash(jwk, h, out, eb);
	json_decref(jwk);
	return err;
}

enum core_err
crypto_key_thumbprint_b64url(const struct crypto_key *k, enum crypto_hash h,
    char **out, struct core_errbuf *eb)
{
	uint8_t d[CRYPTO_HASH_MAX_LEN];
	enum core_err err;

	*out = NULL;
	err = crypto_key_thumbprint(k, h, d, eb);
	if (err != CORE_OK)
		return err;
	*out = core_b64url_encode(d, crypto_hash_len(h));
	if (*out == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "thumbprint");
	return CORE_OK;
}

/*
 * EC Diffie-Hellman on the shared group: Z = x(d * Q), field-size bytes,
 * as OpenSSL's ECDH does (constant-time scalar multiplication; both
 * points were validated when their keys were made).
 */
static enum core_err
ec_dh(const struct crypto_key *priv, const struct crypto_key *peer,
    struct secret **z_out, struct core_errbuf *eb)
{
	size_t flen = crypto_ec_field_len(priv->type);
	const EC_GROUP *g = priv->ec_group;
	struct secret *z = NULL;
	EC_POINT *r = NULL;
	BN_CTX *bc = NULL;
	BIGNUM *x;
	enum core_err err = CORE_OK;

	bc = BN_CTX_secure_new();
	r = EC_POINT_new(g);
	z = secret_new(flen);
	if (bc == NULL || r == NULL || z == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "ECDH");
		goto out;
	}
	BN_CTX_start(bc);
	x = BN_CTX_get(bc);
	if (x == NULL ||
	    EC_POINT_mul(g, r, NULL, peer->ec_pub, priv->ec_priv, bc) != 1 ||
	    EC_POINT_is_at_infinity(g, r) ||
	    EC_POINT_get_affine_coordinates(g, r, x, NULL, bc) != 1 ||
	    BN_bn2binpad(x, z->ptr, (int)flen) != (int)flen) {
		BN_CTX_end(bc);
		err = crypto_ossl_err(eb, "ECDH with the peer key");
		goto out;
	}
	BN_CTX_end(bc);
	*z_out = z;
	z = NULL;
out:
	secret_free(z);
	EC_POINT_clear_free(r);
	BN_CTX_free(bc);
	return err;
}

enum core_err
crypto_ecdh(const struct crypto_key *priv, const struct crypto_key *peer,
    struct secret **z_out, struct core_errbuf *eb)
{
	EVP_PKEY_CTX *ctx = NULL;
	struct secret *z = NULL;
	size_t len = 0;
	enum core_err err = CORE_OK;

	*z_out = NULL;
	if (priv->type != peer->type || (crypto_ec_field_len(priv->type) == 0 &&
	    priv->type != CRYPTO_KEY_X25519))
		return core_errf(eb, CORE_ERR_INVALID,
		    "ECDH: key types %s and %s do not agree",
		    crypto_key_type_name(priv->type),
		    crypto_key_type_name(peer->type));
	if (!priv->is_private)
		return core_errf(eb, CORE_ERR_INVALID,
		    "ECDH: need a private key");
	if (priv->ec_pub != NULL)
		return ec_dh(priv, peer, z_out, eb);
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv->pkey, NULL);
	if (ctx == NULL || EVP_PKEY_derive_init(ctx) != 1 ||
	    /* Every crypto_key was validated when it was made (key_wrap). */
	    EVP_PKEY_derive_set_peer_ex(ctx, peer->pkey, 0) != 1 ||
	    EVP_PKEY_derive(ctx, NULL, &len) != 1) {
		err = crypto_ossl_err(eb, "ECDH with the peer key");
		goto out;
	}
	z = secret_new(len);
	if (z == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "ECDH");
		goto out;
	}
	if (EVP_PKEY_derive(ctx, z->ptr, &len) != 1) {
		err = crypto_ossl_err(eb, "ECDH derive");
		goto out;
	}
	z->len = len;
	*z_out = z;
	z = NULL;
out:
	secret_free(z);
	EVP_PKEY_CTX_free(ctx);
	return err;
}
