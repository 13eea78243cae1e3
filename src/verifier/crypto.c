/*
 * crypto.c -- OpenSSL helpers shared by the verifiers: pinned anchors,
 * certificate chains, raw ECDSA signatures, claims builders.
 */
#include "verifier/verifier_int.h"

#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509_vfy.h>

/* Largest certificate we accept. */
#define VRF_CERT_MAX (64 * 1024)

uint16_t
vrf_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

uint32_t
vrf_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	    ((uint32_t)p[3] << 24);
}

uint64_t
vrf_le64(const uint8_t *p)
{
	return (uint64_t)vrf_le32(p) | ((uint64_t)vrf_le32(p + 4) << 32);
}

bool
vrf_all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

int64_t
vrf_check_time(const struct verifier_opts *opts)
{
	if (opts != NULL && opts->check_time != 0)
		return opts->check_time;
	return (int64_t)time(NULL);
}

enum core_err
vrf_cert_parse(const uint8_t *p, size_t n, X509 **out,
    struct core_errbuf *eb)
{
	BIO *bio = NULL;
	X509 *c = NULL;
	const unsigned char *q = p;

	*out = NULL;
	if (p == NULL || n == 0)
		return core_errf(eb, CORE_ERR_INVALID, "empty certificate");
	if (n > VRF_CERT_MAX)
		return core_errf(eb, CORE_ERR_TOO_BIG,
		    "certificate of %zu bytes exceeds %d", n, VRF_CERT_MAX);
	if (n >= 10 && memcmp(p, "-----BEGIN", 10) == 0) {
		bio = BIO_new_mem_buf(p, (int)n);
		if (bio == NULL)
			return core_errf(eb, CORE_ERR_NOMEM, "BIO_new_mem_buf");
		c = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		BIO_free(bio);
	} else {
		c = d2i_X509(NULL, &q, (long)n);
	}
	if (c == NULL) {
		ERR_clear_error();
		return core_errf(eb, CORE_ERR_INVALID,
		    "not a DER or PEM X.509 certificate");
	}
	*out = c;
	return CORE_OK;
}

enum core_err
vrf_anchor_load(const char *name, X509 **out, struct core_errbuf *eb)
{
	const struct verifier_anchor *a;
	unsigned char *der = NULL;
	unsigned char md[SHA256_DIGEST_LENGTH];
	char *hex = NULL;
	enum core_err err;
	int len;

	*out = NULL;
	for (a = verifier_anchors; a->name != NULL; a++)
		if (strcmp(a->name, name) == 0)
			break;
	if (a->name == NULL)
		return core_errf(eb, CORE_ERR_NOT_FOUND, "no pinned anchor %s",
		    name);
	err = vrf_cert_parse((const uint8_t *)a->pem, strlen(a->pem), out,
	    eb);
	if (err != CORE_OK)
		return err;
	len = i2d_X509(*out, &der);
	if (len <= 0) {
		err = core_errf(eb, CORE_ERR_CRYPTO, "i2d_X509 failed");
		goto out;
	}
	SHA256(der, (size_t)len, md);
	hex = core_hex_encode(md, sizeof(md));
	if (hex == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "hex");
		goto out;
	}
	if (strcmp(hex, a->sha256_hex) != 0) {
		err = core_errf(eb, CORE_ERR_INTERNAL,
		    "pinned anchor %s does not match its fingerprint", name);
		goto out;
	}
	err = CORE_OK;
out:
	OPENSSL_free(der);
	free(hex);
	if (err != CORE_OK) {
		X509_free(*out);
		*out = NULL;
	}
	return err;
}

const char *
verifier_anchor_pem(const char *name)
{
	if (name == NULL)
		return NULL;
	for (const struct verifier_anchor *a = verifier_anchors;
	    a->name != NULL; a++)
		if (strcmp(a->name, name) == 0)
			return a->pem;
	return NULL;
}

enum core_err
vrf_chain_verify(X509 *anchor, X509 *leaf, STACK_OF(X509) *untrusted,
    STACK_OF(X509_CRL) *crls, int64_t t, const char *step,
    struct core_errbuf *eb)
{
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	enum core_err err;
	unsigned long flags = 0;

	store = X509_STORE_new();
	ctx = X509_STORE_CTX_new();
	if (store == NULL || ctx == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "%s: X509_STORE", step);
		goto out;
	}
	if (X509_STORE_add_cert(store, anchor) != 1) {
		err = core_errf(eb, CORE_ERR_CRYPTO, "%s: add anchor", step);
		goto out;
	}
	if (crls != NULL) {
		for (int i = 0; i < sk_X509_CRL_num(crls); i++) {
			if (X509_STORE_add_crl(store,
			    sk_X509_CRL_value(crls, i)) != 1) {
				err = core_errf(eb, CORE_ERR_CRYPTO,
				    "%s: add CRL", step);
				goto out;
			}
		}
		flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
	}
	if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
		err = core_errf(eb, CORE_ERR_CRYPTO, "%s: X509_STORE_CTX_init",
		    step);
		goto out;
	}
	/* Never X509_V_FLAG_X509_STRICT: AMD leaves lack an AKI. */
	if (flags != 0)
		X509_STORE_CTX_set_flags(ctx, flags);
	X509_STORE_CTX_set_time(ctx, 0, (time_t)t);
	if (X509_verify_cert(ctx) != 1) {
		int code = X509_STORE_CTX_get_error(ctx);

		err = core_errf(eb, CORE_ERR_AUTH, "%s: %s", step,
		    X509_verify_cert_error_string(code));
		goto out;
	}
	err = CORE_OK;
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return err;
}

enum core_err
vrf_ecdsa_verify(EVP_PKEY *key, const EVP_MD *md, const uint8_t *msg,
    size_t msg_len, const uint8_t *r, const uint8_t *s, size_t comp_len,
    const char *step, struct core_errbuf *eb)
{
	ECDSA_SIG *sig = NULL;
	BIGNUM *br = NULL, *bs = NULL;
	EVP_MD_CTX *mctx = NULL;
	unsigned char *der = NULL;
	enum core_err err;
	int der_len, rc;

	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) {
		err = core_errf(eb, CORE_ERR_AUTH, "%s: key is not EC", step);
		goto out;
	}
	sig = ECDSA_SIG_new();
	br = BN_bin2bn(r, (int)comp_len, NULL);
	bs = BN_bin2bn(s, (int)comp_len, NULL);
	if (sig == NULL || br == NULL || bs == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "%s: ECDSA_SIG", step);
		goto out;
	}
	if (ECDSA_SIG_set0(sig, br, bs) != 1) {
		err = core_errf(eb, CORE_ERR_CRYPTO, "%s: ECDSA_SIG_set0",
		    step);
		goto out;
	}
	br = bs = NULL; /* owned by sig now */
	der_len = i2d_ECDSA_SIG(sig, &der);
	if (der_len <= 0) {
		err = core_errf(eb, CORE_ERR_CRYPTO, "%s: i2d_ECDSA_SIG", step);
		goto out;
	}
	mctx = EVP_MD_CTX_new();
	if (mctx == NULL ||
	    EVP_DigestVerifyInit(mctx, NULL, md, NULL, key) != 1) {
		err = core_errf(eb, CORE_ERR_CRYPTO, "%s: DigestVerifyInit",
		    step);
		goto out;
	}
	rc = EVP_DigestVerify(mctx, der, (size_t)der_len, msg, msg_len);
	if (rc != 1) {
		err = core_errf(eb, CORE_ERR_AUTH,
		    "%s: signature verification failed", step);
		goto out;
	}
	err = CORE_OK;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(mctx);
	OPENSSL_free(der);
	BN_free(br);
	BN_free(bs);
	ECDSA_SIG_free(sig);
	return err;
}

enum core_err
vrf_p256_key(const uint8_t xy[64], EVP_PKEY **out, struct core_errbuf *eb)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t pub[65];
	enum core_err err;

	*out = NULL;
	pub[0] = 0x04;
	memcpy(pub + 1, xy, 64);
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    pub, sizeof(pub)) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "OSSL_PARAM_BLD");
		goto out;
	}
	pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (pctx == NULL || EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		err = core_errf(eb, CORE_ERR_AUTH,
		    "attestation key is not a valid P-256 point");
		goto out;
	}
	err = CORE_OK;
out:
	ERR_clear_error();
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return err;
}

void
vrf_cert_cn(X509 *c, char *buf, size_t len)
{
	X509_NAME *n = X509_get_subject_name(c);

	buf[0] = '\0';
	if (n == NULL ||
	    X509_NAME_get_text_by_NID(n, NID_commonName, buf, (int)len) < 0)
		buf[0] = '\0';
	ERR_clear_error();
}

bool
vrf_set_hex(json_t *obj, const char *key, const uint8_t *p, size_t n)
{
	char *hex = core_hex_encode(p, n);
	json_t *v;

	if (hex == NULL)
		return false;
	v = json_string(hex);
	free(hex);
	return v != NULL && json_object_set_new(obj, key, v) == 0;
}

bool
vrf_set_int(json_t *obj, const char *key, int64_t v)
{
	return json_object_set_new(obj, key, json_integer(v)) == 0;
}

bool
vrf_set_bool(json_t *obj, const char *key, bool v)
{
	return json_object_set_new(obj, key, json_boolean(v)) == 0;
}

bool
vrf_set_str(json_t *obj, const char *key, const char *v)
{
	return json_object_set_new(obj, key, json_string(v)) == 0;
}

enum core_err
vrf_compare_padded(const uint8_t *field, size_t field_len,
    const uint8_t *expected, size_t expected_len, const char *what,
    struct core_errbuf *eb)
{
	uint8_t want[64];

	if (expected_len > field_len || field_len > sizeof(want))
		return core_errf(eb, CORE_ERR_INVALID,
		    "%s: expected value of %zu bytes is longer than the "
		    "%zu-byte field", what, expected_len, field_len);
	memset(want, 0, sizeof(want));
	if (expected_len > 0)
		memcpy(want, expected, expected_len);
	if (CRYPTO_memcmp(want, field, field_len) != 0)
		return core_errf(eb, CORE_ERR_PERM,
		    "%s: mismatch with the expected value", what);
	return CORE_OK;
}
