/*
 * jose.c -- the JOSE subset the KBS needs, on OpenSSL 3 EVP: RFC 8785
 * canonical JSON, SHA-384, EC/RSA JWKs, the KBS resource JWE
 * (ECDH-ES+A256KW or RSA-OAEP-256 key management, A256GCM content) and
 * compact JWS with ES256 and EdDSA.
 */
#include "kbs/kbs_int.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#define KBS_JWS_MAX (64 * 1024)

static enum core_err ossl_err(struct core_errbuf *eb, const char *what);
static enum core_err b64url_member(const json_t *o, const char *key,
    size_t want, uint8_t **out, size_t *len, struct core_errbuf *eb);
static enum core_err jcs_string(const char *s, size_t n, struct core_buf *out);
static int jcs_key_cmp(const void *a, const void *b);

/*
 * Algorithms fetched once: OpenSSL 3's implicit fetch (EVP_sha256() and
 * friends) takes a lock and a name lookup on every init.
 */
static pthread_once_t algs_once = PTHREAD_ONCE_INIT;
static EVP_MD *md_sha256, *md_sha384;
static EVP_CIPHER *ci_gcm, *ci_wrap;

static void
algs_fetch(void)
{
	md_sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	md_sha384 = EVP_MD_fetch(NULL, "SHA2-384", NULL);
	ci_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	ci_wrap = EVP_CIPHER_fetch(NULL, "AES-256-WRAP", NULL);
}

static const EVP_MD *
sha256(void)
{
	pthread_once(&algs_once, algs_fetch);
	return md_sha256 ? md_sha256 : EVP_sha256();
}

static const EVP_MD *
sha384(void)
{
	pthread_once(&algs_once, algs_fetch);
	return md_sha384 ? md_sha384 : EVP_sha384();
}

static const EVP_CIPHER *
aes_gcm(void)
{
	pthread_once(&algs_once, algs_fetch);
	return ci_gcm ? ci_gcm : EVP_aes_256_gcm();
}

static const EVP_CIPHER *
aes_wrap(void)
{
	pthread_once(&algs_once, algs_fetch);
	return ci_wrap ? ci_wrap : EVP_aes_256_wrap();
}

static enum core_err
ossl_err(struct core_errbuf *eb, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	buf[0] = '\0';
	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return core_errf(eb, CORE_ERR_CRYPTO, "%s failed%s%s", what,
	    buf[0] ? ": " : "", buf);
}

/* ---- RFC 8785 ------------------------------------------------------- */

static enum core_err
jcs_string(const char *s, size_t n, struct core_buf *out)
{
	static const char hex[] = "0123456789abcdef";
	enum core_err err;
	size_t i;

	err = core_buf_append(out, "\"", 1);
	for (i = 0; err == CORE_OK && i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		char esc[7];

		switch (ch) {
		case '"': err = core_buf_append(out, "\\\"", 2); break;
		case '\\': err = core_buf_append(out, "\\\\", 2); break;
		case '\b': err = core_buf_append(out, "\\b", 2); break;
		case '\f': err = core_buf_append(out, "\\f", 2); break;
		case '\n': err = core_buf_append(out, "\\n", 2); break;
		case '\r': err = core_buf_append(out, "\\r", 2); break;
		case '\t': err = core_buf_append(out, "\\t", 2); break;
		default:
			if (ch < 0x20) {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[ch >> 4];
				esc[5] = hex[ch & 15];
				err = core_buf_append(out, esc, 6);
			} else {
				err = core_buf_append(out, &s[i], 1);
			}
		}
	}
	if (err == CORE_OK)
		err = core_buf_append(out, "\"", 1);
	return err;
}

static int
jcs_key_cmp(const void *a, const void *b)
{
	/* Byte order of UTF-8 equals code point order; JCS sorts by UTF-16
	 * units, which differs only for supplementary-plane keys. */
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

enum core_err
kbs_jcs(const json_t *v, struct core_buf *out, struct core_errbuf *eb)
{
	enum core_err err = CORE_OK;
	const char **keys = NULL;
	size_t i, n;
	char num[32];

	switch (json_typeof(v)) {
	case JSON_NULL:
		return core_buf_append_str(out, "null");
	case JSON_TRUE:
		return core_buf_append_str(out, "true");
	case JSON_FALSE:
		return core_buf_append_str(out, "false");
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return core_buf_append_str(out, num);
	case JSON_REAL:
		return core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "canonical JSON: real numbers are not supported");
	case JSON_STRING:
		return jcs_string(json_string_value(v), json_string_length(v),
		    out);
	case JSON_ARRAY:
		err = core_buf_append(out, "[", 1);
		for (i = 0; err == CORE_OK && i < json_array_size(v); i++) {
			if (i > 0)
				err = core_buf_append(out, ",", 1);
			if (err == CORE_OK)
				err = kbs_jcs(json_array_get(v, i), out, eb);
		}
		if (err == CORE_OK)
			err = core_buf_append(out, "]", 1);
		return err;
	case JSON_OBJECT:
		break;
	}
	n = json_object_size(v);
	keys = calloc(n ? n : 1, sizeof(*keys));
	if (keys == NULL)
		return CORE_ERR_NOMEM;
	{
		const char *k;
		json_t *val;

		i = 0;
		json_object_foreach((json_t *)v, k, val) {
			(void)val;
			keys[i++] = k;
		}
	}
	qsort(keys, n, sizeof(*keys), jcs_key_cmp);
	err = core_buf_append(out, "{", 1);
	for (i = 0; err == CORE_OK && i < n; i++) {
		if (i > 0)
			err = core_buf_append(out, ",", 1);
		if (err == CORE_OK)
			err = jcs_string(keys[i], strlen(keys[i]), out);
		if (err == CORE_OK)
			err = core_buf_append(out, ":", 1);
		if (err == CORE_OK)
			err = kbs_jcs(json_object_get(v, keys[i]), out, eb);
	}
	if (err == CORE_OK)
		err = core_buf_append(out, "}", 1);
	free(keys);
	return err;
}

enum core_err
kbs_sha384(const void *p, size_t n, uint8_t out[48])
{
	unsigned int len = 0;

	if (EVP_Digest(p, n, out, &len, sha384(), NULL) != 1 || len != 48)
		return CORE_ERR_CRYPTO;
	return CORE_OK;
}

enum core_err
kbs_runtime_digest(const json_t *tee_pubkey, const char *nonce,
    const char *additional_evidence, uint8_t out[KBS_DIGEST_LEN],
    struct core_errbuf *eb)
{
	json_t *rd = NULL;
	struct core_buf b;
	enum core_err err;

	core_buf_init(&b, 1024 * 1024);
	rd = json_object();
	if (rd == NULL ||
	    json_object_set(rd, "tee-pubkey", (json_t *)tee_pubkey) != 0 ||
	    json_object_set_new(rd, "nonce", json_string(nonce)) != 0 ||
	    json_object_set_new(rd, "additional-evidence",
		json_string(additional_evidence)) != 0) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	err = kbs_jcs(rd, &b, eb);
	if (err != CORE_OK)
		goto out;
	err = kbs_sha384(b.data, b.len, out);
out:
	json_decref(rd);
	core_buf_cleanup(&b);
	return err;
}

/* ---- keys and JWKs ---------------------------------------------------- */

enum core_err
kbs_ec_generate(const char *crv, EVP_PKEY **out, struct core_errbuf *eb)
{
	const char *group = strcmp(crv, "P-521") == 0 ? "P-521" : "P-256";

	*out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", group);
	if (*out == NULL)
		return ossl_err(eb, "EC key generation");
	return CORE_OK;
}

static size_t
ec_field_len(EVP_PKEY *k)
{
	return EVP_PKEY_get_bits(k) > 256 ? 66 : 32;
}

enum core_err
kbs_ec_pub_jwk(EVP_PKEY *k, const char *alg, json_t **out,
    struct core_errbuf *eb)
{
	BIGNUM *x = NULL, *y = NULL;
	uint8_t bx[66], by[66];
	size_t fl = ec_field_len(k);
	char *sx = NULL, *sy = NULL;
	json_t *j = NULL;
	enum core_err err = CORE_OK;

	if (EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
	    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1 ||
	    BN_bn2binpad(x, bx, (int)fl) < 0 ||
	    BN_bn2binpad(y, by, (int)fl) < 0) {
		err = ossl_err(eb, "EC public key export");
		goto out;
	}
	sx = core_b64url_encode(bx, fl);
	sy = core_b64url_encode(by, fl);
	j = json_object();
	if (sx == NULL || sy == NULL || j == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	json_object_set_new(j, "kty", json_string("EC"));
	json_object_set_new(j, "crv", json_string(fl == 32 ? "P-256" : "P-521"));
	if (alg != NULL)
		json_object_set_new(j, "alg", json_string(alg));
	json_object_set_new(j, "x", json_string(sx));
	json_object_set_new(j, "y", json_string(sy));
	*out = j;
	j = NULL;
out:
	BN_free(x);
	BN_free(y);
	free(sx);
	free(sy);
	json_decref(j);
	return err;
}

enum core_err
kbs_rsa_pub_jwk(EVP_PKEY *k, const char *alg, json_t **out,
    struct core_errbuf *eb)
{
	BIGNUM *n = NULL, *e = NULL;
	uint8_t *bn = NULL, be[16];
	int nlen, elen;
	char *sn = NULL, *se = NULL;
	enum core_err err = CORE_OK;
	json_t *j;

	if (EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
	    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e) != 1 ||
	    BN_num_bytes(e) > (int)sizeof(be)) {
		err = ossl_err(eb, "RSA public key export");
		goto out;
	}
	nlen = BN_num_bytes(n);
	bn = malloc((size_t)nlen);
	if (bn == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	BN_bn2bin(n, bn);
	elen = BN_bn2bin(e, be);
	sn = core_b64url_encode(bn, (size_t)nlen);
	se = core_b64url_encode(be, (size_t)elen);
	j = json_object();
	if (sn == NULL || se == NULL || j == NULL) {
		json_decref(j);
		err = CORE_ERR_NOMEM;
		goto out;
	}
	json_object_set_new(j, "kty", json_string("RSA"));
	json_object_set_new(j, "alg", json_string(alg));
	json_object_set_new(j, "n", json_string(sn));
	json_object_set_new(j, "e", json_string(se));
	*out = j;
out:
	BN_free(n);
	BN_free(e);
	free(bn);
	free(sn);
	free(se);
	return err;
}

static enum core_err
b64url_member(const json_t *o, const char *key, size_t want, uint8_t **out,
    size_t *len, struct core_errbuf *eb)
{
	const char *s = NULL;
	enum core_err err;

	err = core_json_get_str(o, key, true, &s, eb);
	if (err != CORE_OK)
		return err;
	if (strlen(s) > 4096)
		return core_errf(eb, CORE_ERR_TOO_BIG, "%s: too long", key);
	err = core_b64url_decode(s, strlen(s), out, len, eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "%s", key);
		return err;
	}
	if (want != 0 && *len != want) {
		free(*out);
		*out = NULL;
		return core_errf(eb, CORE_ERR_INVALID, "%s: %zu bytes, want %zu",
		    key, *len, want);
	}
	return CORE_OK;
}

enum core_err
kbs_jwk_to_pkey(const json_t *jwk, EVP_PKEY **out, struct core_errbuf *eb)
{
	const char *kty = NULL, *crv = NULL;
	uint8_t *x = NULL, *y = NULL, *n = NULL, *e = NULL, pt[1 + 2 * 66];
	size_t xl = 0, yl = 0, nl = 0, el = 0, fl;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *bnn = NULL, *bne = NULL;
	enum core_err err;

	*out = NULL;
	if (!json_is_object(jwk))
		return core_errf(eb, CORE_ERR_INVALID, "JWK is not an object");
	err = core_json_get_str(jwk, "kty", true, &kty, eb);
	if (err != CORE_OK)
		goto out;
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	if (strcmp(kty, "EC") == 0) {
		err = core_json_get_str(jwk, "crv", true, &crv, eb);
		if (err != CORE_OK)
			goto out;
		if (strcmp(crv, "P-256") == 0)
			fl = 32;
		else if (strcmp(crv, "P-521") == 0)
			fl = 66;
		else {
			err = core_errf(eb, CORE_ERR_UNSUPPORTED,
			    "JWK crv %s not supported", crv);
			goto out;
		}
		err = b64url_member(jwk, "x", fl, &x, &xl, eb);
		if (err == CORE_OK)
			err = b64url_member(jwk, "y", fl, &y, &yl, eb);
		if (err != CORE_OK)
			goto out;
		pt[0] = 4;
		memcpy(pt + 1, x, fl);
		memcpy(pt + 1 + fl, y, fl);
		if (!OSSL_PARAM_BLD_push_utf8_string(bld,
			OSSL_PKEY_PARAM_GROUP_NAME, crv, 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld,
			OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * fl)) {
			err = ossl_err(eb, "JWK params");
			goto out;
		}
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	} else if (strcmp(kty, "RSA") == 0) {
		err = b64url_member(jwk, "n", 0, &n, &nl, eb);
		if (err == CORE_OK)
			err = b64url_member(jwk, "e", 0, &e, &el, eb);
		if (err != CORE_OK)
			goto out;
		if (nl < 256 || nl > 1024 || el == 0 || el > 8) {
			err = core_errf(eb, CORE_ERR_INVALID,
			    "JWK RSA key size not accepted (%zu-byte modulus)",
			    nl);
			goto out;
		}
		bnn = BN_bin2bn(n, (int)nl, NULL);
		bne = BN_bin2bn(e, (int)el, NULL);
		if (bnn == NULL || bne == NULL ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bnn) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bne)) {
			err = ossl_err(eb, "JWK params");
			goto out;
		}
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	} else {
		err = core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "JWK kty %s not supported", kty);
		goto out;
	}
	params = OSSL_PARAM_BLD_to_param(bld);
	if (ctx == NULL || params == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		err = ossl_err(eb, "JWK public key (point not on curve?)");
		goto out;
	}
	err = CORE_OK;
out:
	free(x);
	free(y);
	free(n);
	free(e);
	BN_free(bnn);
	BN_free(bne);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	return err;
}

enum core_err
kbs_jwk_normalize(const json_t *jwk, json_t **out, struct core_errbuf *eb)
{
	static const char *const ec[] = { "kty", "crv", "alg", "x", "y", NULL };
	static const char *const rsa[] = { "kty", "alg", "n", "e", NULL };
	const char *const *members;
	const char *kty = NULL, *alg = NULL;
	enum core_err err;
	json_t *j;
	size_t i;

	if (!json_is_object(jwk))
		return core_errf(eb, CORE_ERR_INVALID,
		    "tee-pubkey: not a JSON object");
	err = core_json_get_str(jwk, "kty", true, &kty, eb);
	if (err == CORE_OK)
		err = core_json_get_str(jwk, "alg", true, &alg, eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "tee-pubkey");
		return err;
	}
	if (strcmp(kty, "EC") == 0)
		members = ec;
	else if (strcmp(kty, "RSA") == 0)
		members = rsa;
	else
		return core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "tee-pubkey: kty %s not supported", kty);
	j = json_object();
	if (j == NULL)
		return CORE_ERR_NOMEM;
	for (i = 0; members[i] != NULL; i++) {
		json_t *v = json_object_get(jwk, members[i]);

		if (!json_is_string(v)) {
			json_decref(j);
			return core_errf(eb, CORE_ERR_INVALID,
			    "tee-pubkey: member %s missing or not a string",
			    members[i]);
		}
		json_object_set(j, members[i], v);
	}
	*out = j;
	return CORE_OK;
}

/* ---- JWE -------------------------------------------------------------- */

enum core_err
kbs_concat_kdf_a256kw(const uint8_t *z, size_t zlen, uint8_t kek[32])
{
	static const uint8_t other[] = { 0, 0, 0, 14, 'E', 'C', 'D', 'H', '-',
		'E', 'S', '+', 'A', '2', '5', '6', 'K', 'W', 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 1, 0 };
	static const uint8_t counter[] = { 0, 0, 0, 1 };
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int len = 0;
	int ok;

	if (md == NULL)
		return CORE_ERR_NOMEM;
	ok = EVP_DigestInit_ex(md, sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(md, counter, 4) == 1 &&
	    EVP_DigestUpdate(md, z, zlen) == 1 &&
	    EVP_DigestUpdate(md, other, sizeof(other)) == 1 &&
	    EVP_DigestFinal_ex(md, kek, &len) == 1 && len == 32;
	EVP_MD_CTX_free(md);
	return ok ? CORE_OK : CORE_ERR_CRYPTO;
}

static enum core_err
ecdh_z(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t *z, size_t *zlen,
    struct core_errbuf *eb)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(priv, NULL);
	enum core_err err = CORE_OK;

	if (ctx == NULL || EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) != 1 ||
	    EVP_PKEY_derive(ctx, z, zlen) != 1)
		err = ossl_err(eb, "ECDH");
	EVP_PKEY_CTX_free(ctx);
	return err;
}

/* AES key wrap (RFC 3394) with a 256-bit KEK; enc = 1 wraps, 0 unwraps. */
static enum core_err
aes_kw(int enc, const uint8_t kek[32], const uint8_t *in, size_t inlen,
    uint8_t *out, size_t *outlen)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l1 = 0, l2 = 0, ok;

	if (c == NULL)
		return CORE_ERR_NOMEM;
	EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	ok = EVP_CipherInit_ex(c, aes_wrap(), NULL, kek, NULL, enc) ==
		1 &&
	    EVP_CipherUpdate(c, out, &l1, in, (int)inlen) == 1 &&
	    EVP_CipherFinal_ex(c, out + l1, &l2) == 1;
	EVP_CIPHER_CTX_free(c);
	ERR_clear_error();
	if (!ok)
		return CORE_ERR_CRYPTO;
	*outlen = (size_t)(l1 + l2);
	return CORE_OK;
}

static enum core_err
gcm(int enc, const uint8_t key[32], const uint8_t iv[12], const char *aad,
    const uint8_t *in, size_t inlen, uint8_t *out, uint8_t tag[16])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l = 0, ok;

	if (c == NULL)
		return CORE_ERR_NOMEM;
	ok = EVP_CipherInit_ex(c, aes_gcm(), NULL, key, iv, enc) == 1 &&
	    EVP_CipherUpdate(c, NULL, &l, (const uint8_t *)aad,
		(int)strlen(aad)) == 1 &&
	    (inlen == 0 ||
		EVP_CipherUpdate(c, out, &l, in, (int)inlen) == 1) &&
	    (enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) ==
		1) &&
	    EVP_CipherFinal_ex(c, out + (inlen ? (size_t)l : 0), &l) == 1 &&
	    (!enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) ==
		1);
	EVP_CIPHER_CTX_free(c);
	ERR_clear_error();
	return ok ? CORE_OK : CORE_ERR_CRYPTO;
}

static enum core_err
rsa_crypt(int enc, EVP_PKEY *k, bool oaep, const uint8_t *in, size_t inlen,
    uint8_t *out, size_t *outlen, struct core_errbuf *eb)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(k, NULL);
	int ok;

	ok = ctx != NULL &&
	    (enc ? EVP_PKEY_encrypt_init(ctx) : EVP_PKEY_decrypt_init(ctx)) ==
		1 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, oaep ? RSA_PKCS1_OAEP_PADDING :
		RSA_PKCS1_PADDING) == 1 &&
	    (!oaep || (EVP_PKEY_CTX_set_rsa_oaep_md(ctx, sha256()) == 1 &&
		EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, sha256()) == 1)) &&
	    (enc ? EVP_PKEY_encrypt(ctx, out, outlen, in, inlen) :
		EVP_PKEY_decrypt(ctx, out, outlen, in, inlen)) == 1;
	EVP_PKEY_CTX_free(ctx);
	if (!ok)
		return ossl_err(eb, enc ? "RSA encryption" : "RSA decryption");
	return CORE_OK;
}

enum core_err
kbs_jwe_encrypt(const json_t *tee_pubkey, const void *pt, size_t pt_len,
    bool allow_rsa1_5, EVP_PKEY *eph, const uint8_t *cek_in,
    const uint8_t *iv_in, char **out, struct core_errbuf *eb)
{
	EVP_PKEY *peer = NULL, *own_eph = NULL;
	json_t *epk = NULL;
	const char *alg = NULL, *kty = NULL;
	uint8_t cek[32], iv[12], tag[16], z[66], kek[32], ek[1024];
	size_t zlen = sizeof(z), eklen = sizeof(ek);
	uint8_t *ct = NULL;
	char *epk_s = NULL, *prot = NULL, *s_ek = NULL, *s_iv = NULL,
	     *s_ct = NULL, *s_tag = NULL;
	struct core_buf hdr, res;
	enum core_err err;

	core_buf_init(&hdr, 8192);
	core_buf_init(&res, 0);
	*out = NULL;
	err = core_json_get_str(tee_pubkey, "alg", true, &alg, eb);
	if (err == CORE_OK)
		err = core_json_get_str(tee_pubkey, "kty", true, &kty, eb);
	if (err != CORE_OK)
		goto out;
	err = kbs_jwk_to_pkey(tee_pubkey, &peer, eb);
	if (err != CORE_OK)
		goto out;
	if (cek_in != NULL)
		memcpy(cek, cek_in, 32);
	else if ((err = core_random(cek, 32, eb)) != CORE_OK)
		goto out;
	if (iv_in != NULL)
		memcpy(iv, iv_in, 12);
	else if ((err = core_random(iv, 12, eb)) != CORE_OK)
		goto out;

	if (strcmp(kty, "EC") == 0 && strcmp(alg, "ECDH-ES+A256KW") == 0) {
		if (eph == NULL) {
			/* Same group as the peer, without a lookup by name. */
			EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new(peer, NULL);

			if (kc == NULL || EVP_PKEY_keygen_init(kc) != 1 ||
			    EVP_PKEY_keygen(kc, &own_eph) != 1) {
				EVP_PKEY_CTX_free(kc);
				err = ossl_err(eb, "ephemeral EC key generation");
				goto out;
			}
			EVP_PKEY_CTX_free(kc);
			eph = own_eph;
		}
		err = ecdh_z(eph, peer, z, &zlen, eb);
		if (err == CORE_OK)
			err = kbs_concat_kdf_a256kw(z, zlen, kek);
		if (err == CORE_OK)
			err = aes_kw(1, kek, cek, 32, ek, &eklen);
		if (err == CORE_OK)
			err = kbs_ec_pub_jwk(eph, NULL, &epk, eb);
		if (err != CORE_OK)
			goto out;
		epk_s = core_json_dumps(epk); /* keys sorted below */
		err = core_buf_printf(&hdr,
		    "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\","
		    "\"epk\":{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\","
		    "\"y\":\"%s\"}}",
		    json_string_value(json_object_get(epk, "crv")),
		    json_string_value(json_object_get(epk, "x")),
		    json_string_value(json_object_get(epk, "y")));
	} else if (strcmp(kty, "RSA") == 0 &&
	    (strcmp(alg, "RSA-OAEP-256") == 0 ||
		(allow_rsa1_5 && strcmp(alg, "RSA1_5") == 0))) {
		bool oaep = strcmp(alg, "RSA-OAEP-256") == 0;

		if ((size_t)EVP_PKEY_get_size(peer) > sizeof(ek)) {
			err = core_errf(eb, CORE_ERR_UNSUPPORTED,
			    "RSA key too large");
			goto out;
		}
		err = rsa_crypt(1, peer, oaep, cek, 32, ek, &eklen, eb);
		if (err == CORE_OK)
			err = core_buf_printf(&hdr,
			    "{\"alg\":\"%s\",\"enc\":\"A256GCM\"}", alg);
	} else {
		err = core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "tee-pubkey alg %s with kty %s not supported%s", alg, kty,
		    strcmp(alg, "RSA1_5") == 0 ? " (RSA1_5 is disabled)" : "");
	}
	if (err != CORE_OK)
		goto out;
	prot = core_b64url_encode(hdr.data, hdr.len);
	ct = malloc(pt_len ? pt_len : 1);
	if (prot == NULL || ct == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	err = gcm(1, cek, iv, prot, pt, pt_len, ct, tag);
	if (err != CORE_OK) {
		core_errf(eb, err, "AES-GCM encryption failed");
		goto out;
	}
	s_ek = core_b64url_encode(ek, eklen);
	s_iv = core_b64url_encode(iv, 12);
	s_ct = core_b64url_encode(ct, pt_len);
	s_tag = core_b64url_encode(tag, 16);
	if (s_ek == NULL || s_iv == NULL || s_ct == NULL || s_tag == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	err = core_buf_printf(&res,
	    "{\"protected\":\"%s\",\"encrypted_key\":\"%s\",\"iv\":\"%s\","
	    "\"ciphertext\":\"%s\",\"tag\":\"%s\"}",
	    prot, s_ek, s_iv, s_ct, s_tag);
	if (err == CORE_OK)
		*out = (char *)core_buf_steal(&res, NULL);
out:
	core_wipe(cek, sizeof(cek));
	core_wipe(kek, sizeof(kek));
	core_wipe(z, sizeof(z));
	EVP_PKEY_free(peer);
	EVP_PKEY_free(own_eph);
	json_decref(epk);
	free(epk_s);
	free(prot);
	free(ct);
	free(s_ek);
	free(s_iv);
	free(s_ct);
	free(s_tag);
	core_buf_cleanup(&hdr);
	core_buf_cleanup(&res);
	return err;
}

enum core_err
kbs_jwe_decrypt(const void *jwe, size_t len, void *evp_pkey,
    struct secret **out, struct core_errbuf *eb)
{
	EVP_PKEY *key = evp_pkey, *epk = NULL;
	json_t *j = NULL, *hdr = NULL;
	const char *prot = NULL, *alg = NULL, *enc = NULL;
	uint8_t *ph = NULL, *ek = NULL, *iv = NULL, *ct = NULL, *tag = NULL;
	size_t phl = 0, ekl = 0, ivl = 0, ctl = 0, tagl = 0;
	uint8_t z[66], kek[32], cek[512]; /* RSA needs modulus-size room */
	size_t zlen = sizeof(z), cekl = sizeof(cek);
	struct secret *pt = NULL;
	enum core_err err;

	*out = NULL;
	err = core_json_parse_object(jwe, len, 0, &j, eb);
	if (err != CORE_OK)
		goto bad;
	err = core_json_get_str(j, "protected", true, &prot, eb);
	if (err != CORE_OK)
		goto bad;
	err = core_b64url_decode(prot, strlen(prot), &ph, &phl, eb);
	if (err == CORE_OK)
		err = core_json_parse_object(ph, phl, 0, &hdr, eb);
	if (err == CORE_OK)
		err = core_json_get_str(hdr, "alg", true, &alg, eb);
	if (err == CORE_OK)
		err = core_json_get_str(hdr, "enc", true, &enc, eb);
	if (err == CORE_OK && strcmp(enc, "A256GCM") != 0)
		err = core_errf(eb, CORE_ERR_UNSUPPORTED, "enc %s", enc);
	if (err == CORE_OK)
		err = b64url_member(j, "encrypted_key", 0, &ek, &ekl, eb);
	if (err == CORE_OK)
		err = b64url_member(j, "iv", 12, &iv, &ivl, eb);
	if (err == CORE_OK)
		err = b64url_member(j, "tag", 16, &tag, &tagl, eb);
	if (err == CORE_OK) {
		const char *s = NULL;

		err = core_json_get_str(j, "ciphertext", true, &s, eb);
		if (err == CORE_OK)
			err = core_b64url_decode(s, strlen(s), &ct, &ctl, eb);
	}
	if (err != CORE_OK)
		goto bad;
	if (strcmp(alg, "ECDH-ES+A256KW") == 0) {
		err = kbs_jwk_to_pkey(json_object_get(hdr, "epk"), &epk, eb);
		if (err == CORE_OK)
			err = ecdh_z(key, epk, z, &zlen, eb);
		if (err == CORE_OK)
			err = kbs_concat_kdf_a256kw(z, zlen, kek);
		if (err == CORE_OK && (ekl != 40 ||
		    aes_kw(0, kek, ek, ekl, cek, &cekl) != CORE_OK))
			err = core_errf(eb, CORE_ERR_CRYPTO,
			    "key unwrap failed (wrong TEE key?)");
	} else if (strcmp(alg, "RSA-OAEP-256") == 0) {
		err = rsa_crypt(0, key, true, ek, ekl, cek, &cekl, eb);
	} else {
		err = core_errf(eb, CORE_ERR_UNSUPPORTED, "alg %s", alg);
	}
	if (err == CORE_OK && cekl != 32)
		err = core_errf(eb, CORE_ERR_CRYPTO, "CEK is %zu bytes", cekl);
	if (err != CORE_OK)
		goto bad;
	pt = secret_new(ctl ? ctl : 1);
	if (pt == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	pt->len = ctl;
	if (gcm(0, cek, iv, prot, ct, ctl, pt->ptr, tag) != CORE_OK) {
		err = core_errf(eb, CORE_ERR_CRYPTO,
		    "AES-GCM authentication failed");
		goto bad;
	}
	*out = pt;
	pt = NULL;
	goto out;
bad:
	if (err == CORE_ERR_NOMEM)
		goto out;
	core_errbuf_prefix(eb, "bad JWE");
	if (err != CORE_ERR_CRYPTO)
		err = CORE_ERR_CRYPTO;
out:
	core_wipe(cek, sizeof(cek));
	core_wipe(kek, sizeof(kek));
	core_wipe(z, sizeof(z));
	secret_free(pt);
	EVP_PKEY_free(epk);
	json_decref(j);
	json_decref(hdr);
	free(ph);
	free(ek);
	free(iv);
	free(ct);
	free(tag);
	return err;
}

/* ---- JWS -------------------------------------------------------------- */

enum core_err
kbs_jws_sign_es256(EVP_PKEY *k, const char *header_json,
    const char *payload_json, char **out, struct core_errbuf *eb)
{
	char *h = NULL, *p = NULL, *s = NULL;
	struct core_buf in;
	EVP_MD_CTX *md = NULL;
	uint8_t der[160], raw[64];
	size_t derlen = sizeof(der);
	const unsigned char *dp = der;
	ECDSA_SIG *sig = NULL;
	enum core_err err = CORE_OK;

	core_buf_init(&in, 0);
	h = core_b64url_encode(header_json, strlen(header_json));
	p = core_b64url_encode(payload_json, strlen(payload_json));
	if (h == NULL || p == NULL ||
	    core_buf_printf(&in, "%s.%s", h, p) != CORE_OK) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	md = EVP_MD_CTX_new();
	if (md == NULL ||
	    EVP_DigestSignInit(md, NULL, sha256(), NULL, k) != 1 ||
	    EVP_DigestSign(md, der, &derlen, in.data, in.len) != 1 ||
	    (sig = d2i_ECDSA_SIG(NULL, &dp, (long)derlen)) == NULL ||
	    BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32) != 32 ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32) != 32) {
		err = ossl_err(eb, "ES256 signing");
		goto out;
	}
	s = core_b64url_encode(raw, 64);
	if (s == NULL || core_buf_printf(&in, ".%s", s) != CORE_OK) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	*out = (char *)core_buf_steal(&in, NULL);
out:
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
	free(h);
	free(p);
	free(s);
	core_buf_cleanup(&in);
	return err;
}

enum core_err
kbs_jws_parse(const char *jws, size_t len, json_t **header, json_t **payload,
    struct core_errbuf *eb)
{
	const char *d1, *d2;
	uint8_t *h = NULL, *p = NULL;
	size_t hl = 0, pl = 0;
	enum core_err err;

	*header = *payload = NULL;
	if (len > KBS_JWS_MAX)
		return core_errf(eb, CORE_ERR_TOO_BIG, "JWT longer than %d bytes",
		    KBS_JWS_MAX);
	d1 = memchr(jws, '.', len);
	d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jws)) : NULL;
	if (d1 == NULL || d2 == NULL ||
	    memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - jws)) != NULL)
		return core_errf(eb, CORE_ERR_INVALID,
		    "JWT is not three dot-separated parts");
	err = core_b64url_decode(jws, (size_t)(d1 - jws), &h, &hl, eb);
	if (err == CORE_OK)
		err = core_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &p, &pl,
		    eb);
	if (err == CORE_OK)
		err = core_json_parse_object(h, hl, KBS_JWS_MAX, header, eb);
	if (err == CORE_OK)
		err = core_json_parse_object(p, pl, KBS_JWS_MAX, payload, eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "JWT");
		json_decref(*header);
		*header = NULL;
		if (err == CORE_ERR_NOMEM)
			goto out;
		err = CORE_ERR_INVALID;
	}
out:
	free(h);
	free(p);
	return err;
}

enum core_err
kbs_jws_verify(EVP_PKEY *k, const char *jws, size_t len, json_t **header,
    json_t **payload, struct core_errbuf *eb)
{
	const char *d2, *alg = NULL;
	uint8_t *sig = NULL, der[160], *dp = der;
	size_t sigl = 0;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	EVP_MD_CTX *md = NULL;
	bool ed = EVP_PKEY_get_id(k) == EVP_PKEY_ED25519;
	int derlen = 0;
	enum core_err err;

	err = kbs_jws_parse(jws, len, header, payload, eb);
	if (err != CORE_OK)
		return err;
	err = core_json_get_str(*header, "alg", true, &alg, eb);
	if (err != CORE_OK)
		goto out;
	if (strcmp(alg, ed ? "EdDSA" : "ES256") != 0) {
		err = core_errf(eb, CORE_ERR_AUTH,
		    "JWT alg %s does not match the key (%s)", alg,
		    ed ? "EdDSA" : "ES256");
		goto out;
	}
	d2 = memrchr(jws, '.', len);
	err = core_b64url_decode(d2 + 1, len - (size_t)(d2 + 1 - jws), &sig,
	    &sigl, eb);
	if (err != CORE_OK || sigl != 64) {
		err = core_errf(eb, CORE_ERR_AUTH, "JWT signature malformed");
		goto out;
	}
	if (!ed) {
		es = ECDSA_SIG_new();
		r = BN_bin2bn(sig, 32, NULL);
		s = BN_bin2bn(sig + 32, 32, NULL);
		if (es == NULL || r == NULL || s == NULL ||
		    ECDSA_SIG_set0(es, r, s) != 1) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
		r = s = NULL;
		derlen = i2d_ECDSA_SIG(es, &dp);
		if (derlen <= 0) {
			err = CORE_ERR_CRYPTO;
			goto out;
		}
	}
	md = EVP_MD_CTX_new();
	if (md == NULL ||
	    EVP_DigestVerifyInit(md, NULL, ed ? NULL : sha256(), NULL, k) !=
		1 ||
	    EVP_DigestVerify(md, ed ? sig : der, ed ? 64 : (size_t)derlen,
		(const uint8_t *)jws, (size_t)(d2 - jws)) != 1) {
		ERR_clear_error();
		err = core_errf(eb, CORE_ERR_AUTH,
		    "JWT signature does not verify");
		goto out;
	}
	err = CORE_OK;
out:
	if (err != CORE_OK) {
		json_decref(*header);
		json_decref(*payload);
		*header = *payload = NULL;
	}
	EVP_MD_CTX_free(md);
	ECDSA_SIG_free(es);
	BN_free(r);
	BN_free(s);
	free(sig);
	return err;
}

/* ---- PEM -------------------------------------------------------------- */

enum core_err
kbs_pem_parse_private(const void *p, size_t n, EVP_PKEY **out,
    struct core_errbuf *eb)
{
	BIO *b = BIO_new_mem_buf(p, (int)n);

	*out = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (*out == NULL)
		return ossl_err(eb, "PEM private key parse");
	return CORE_OK;
}

enum core_err
kbs_pem_read_private(const char *path, EVP_PKEY **out, struct core_errbuf *eb)
{
	uint8_t *p = NULL;
	size_t n = 0;
	enum core_err err;

	err = core_fs_read(path, 64 * 1024, &p, &n, eb);
	if (err == CORE_OK)
		err = kbs_pem_parse_private(p, n, out, eb);
	if (err != CORE_OK)
		core_errbuf_prefix(eb, "%s", path);
	if (p != NULL)
		core_wipe(p, n);
	free(p);
	return err;
}

enum core_err
kbs_pem_read_public(const char *path, EVP_PKEY **out, struct core_errbuf *eb)
{
	uint8_t *p = NULL;
	size_t n = 0;
	BIO *b = NULL;
	enum core_err err;

	err = core_fs_read(path, 64 * 1024, &p, &n, eb);
	if (err != CORE_OK)
		goto out;
	b = BIO_new_mem_buf(p, (int)n);
	*out = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
	if (*out == NULL)
		err = ossl_err(eb, "PEM public key parse");
out:
	if (err != CORE_OK)
		core_errbuf_prefix(eb, "%s", path);
	BIO_free(b);
	free(p);
	return err;
}

enum core_err
kbs_pem_private_bytes(EVP_PKEY *k, struct secret **out, struct core_errbuf *eb)
{
	BIO *b = BIO_new(BIO_s_secmem());
	char *data = NULL;
	long n;

	*out = NULL;
	if (b == NULL || PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL,
	    NULL) != 1) {
		BIO_free(b);
		return ossl_err(eb, "PEM private key export");
	}
	n = BIO_get_mem_data(b, &data);
	if (n > 0)
		*out = secret_from(data, (size_t)n);
	BIO_free(b);
	return *out ? CORE_OK : CORE_ERR_NOMEM;
}
