/*
 * jwe.c -- JWE (RFC 7516) with the RFC 7518 algorithms the KBS, the KBS
 * client and ocicrypt need: key management dir, AxxxKW, ECDH-ES[+AxxxKW],
 * RSA-OAEP[-256] (and RSA1_5 decryption on explicit request); content
 * encryption AxxxGCM and AxxxCBC-HSxxx; compact, flattened and general
 * JSON serializations.
 */
#include "crypto/crypto.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "crypto/internal.h"

#define JWE_MAX_RECIPIENTS 64
#define JWE_MAX_CEK 64

enum jwe_km {
	JWE_KM_DIR,
	JWE_KM_AESKW,
	JWE_KM_ECDH,        /* direct key agreement */
	JWE_KM_ECDH_KW,     /* key agreement with key wrapping */
	JWE_KM_RSA
};

struct jwe_alg {
	const char *name;
	enum jwe_km km;
	size_t kw_len;          /* AES-KW key bytes (AESKW, ECDH_KW) */
	int rsa_pad;            /* RSA padding mode */
	const char *oaep_md;    /* RSA-OAEP digest name */
};

struct jwe_enc {
	const char *name;
	size_t cek_len;
	size_t iv_len;
	size_t tag_len;
	bool cbc;               /* AES-CBC + HMAC (RFC 7518 §5.2) */
};

static const struct jwe_alg jwe_algs[] = {
	{ "dir", JWE_KM_DIR, 0, 0, NULL },
	{ "A128KW", JWE_KM_AESKW, 16, 0, NULL },
	{ "A192KW", JWE_KM_AESKW, 24, 0, NULL },
	{ "A256KW", JWE_KM_AESKW, 32, 0, NULL },
	{ "ECDH-ES", JWE_KM_ECDH, 0, 0, NULL },
	{ "ECDH-ES+A128KW", JWE_KM_ECDH_KW, 16, 0, NULL },
	{ "ECDH-ES+A192KW", JWE_KM_ECDH_KW, 24, 0, NULL },
	{ "ECDH-ES+A256KW", JWE_KM_ECDH_KW, 32, 0, NULL },
	{ "RSA-OAEP", JWE_KM_RSA, 0, RSA_PKCS1_OAEP_PADDING, "SHA1" },
	{ "RSA-OAEP-256", JWE_KM_RSA, 0, RSA_PKCS1_OAEP_PADDING, "SHA256" },
	{ "RSA1_5", JWE_KM_RSA, 0, RSA_PKCS1_PADDING, NULL },
};

static const struct jwe_enc jwe_encs[] = {
	{ "A128GCM", 16, 12, 16, false },
	{ "A192GCM", 24, 12, 16, false },
	{ "A256GCM", 32, 12, 16, false },
	{ "A128CBC-HS256", 32, 16, 16, true },
	{ "A192CBC-HS384", 48, 16, 24, true },
	{ "A256CBC-HS512", 64, 16, 32, true },
};

/* A JWE split into its decoded parts (decrypt side). */
struct jwe_parsed {
	json_t *doc;             /* owned: the JSON document (JSON forms) */
	json_t *prot;            /* owned: decoded protected header or NULL */
	const json_t *unprot;    /* borrowed from doc */
	char *prot_b64;          /* owned: protected member as received */
	uint8_t *aad;            /* owned: full AAD for the content cipher */
	size_t aad_len;
	uint8_t *iv, *ct, *tag;  /* owned */
	size_t iv_len, ct_len, tag_len;
	size_t nrcpt;
	const json_t *rhdr[JWE_MAX_RECIPIENTS]; /* borrowed; may be NULL */
	uint8_t *ek[JWE_MAX_RECIPIENTS];        /* owned */
	size_t ek_len[JWE_MAX_RECIPIENTS];
};

static json_t *jwe_obj_str(const char *k1, const char *v1, const char *k2,
    const char *v2);
static const struct jwe_alg *jwe_alg_find(const char *name);
static const struct jwe_enc *jwe_enc_find(const char *name);
STATIC enum core_err jwe_content_seal(const struct jwe_enc *e,
    const uint8_t *cek, const uint8_t *iv, const uint8_t *aad,
    size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t *ct,
    uint8_t *tag, struct core_errbuf *eb);
STATIC enum core_err jwe_content_open(const struct jwe_enc *e,
    const uint8_t *cek, const uint8_t *iv, const uint8_t *aad,
    size_t aad_len, const uint8_t *ct, size_t ct_len, const uint8_t *tag,
    struct secret **pt_out, struct core_errbuf *eb);
static enum core_err jwe_cbc_tag(const struct jwe_enc *e,
    const uint8_t *mac_key, const uint8_t *aad, size_t aad_len,
    const uint8_t *iv, const uint8_t *ct, size_t ct_len, uint8_t *tag,
    struct core_errbuf *eb);
static enum core_err jwe_epk_json(const struct crypto_key *k, json_t **out,
    struct core_errbuf *eb);
static enum core_err jwe_rsa_crypt(const struct crypto_key *k,
    const struct jwe_alg *a, bool enc, const uint8_t *in, size_t in_len,
    uint8_t **out, size_t *out_len, struct core_errbuf *eb);
static enum core_err jwe_merge(json_t *dst, const json_t *src,
    const char *what, struct core_errbuf *eb);
static void jwe_parsed_free(struct jwe_parsed *p);
static enum core_err jwe_try_keys(const struct jwe_parsed *p,
    const json_t *hdr, size_t idx, const struct jwe_alg *a,
    const struct jwe_enc *e, const struct crypto_jwe_dec_opts *o,
    struct secret **pt_out, struct core_errbuf *eb);
static enum core_err jwe_parse(const char *s, size_t n, bool fast,
    struct jwe_parsed *p, struct core_errbuf *eb);
static bool jwe_parse_flat(const char *s, size_t n, struct jwe_parsed *p);
STATIC enum core_err jwe_decrypt(const void *jwe, size_t n,
    const struct crypto_jwe_dec_opts *o, bool fast, struct secret **pt_out,
    json_t **header_out, struct core_errbuf *eb);
static enum core_err jwe_cek_sym(const uint8_t *ek, size_t ek_len,
    const struct jwe_alg *a, const struct jwe_enc *e,
    const struct crypto_jwe_dec_opts *o, struct secret *cek,
    struct core_errbuf *eb);
static enum core_err jwe_cek_ecdh(const json_t *hdr, const uint8_t *ek,
    size_t ek_len, const struct jwe_alg *a, const struct jwe_enc *e,
    const struct crypto_jwe_dec_opts *o, size_t *next_key,
    struct secret *cek, struct core_errbuf *eb);
static enum core_err jwe_cek_rsa(const uint8_t *ek, size_t ek_len,
    const struct jwe_alg *a, const struct jwe_enc *e,
    const struct crypto_jwe_dec_opts *o, size_t *next_key,
    struct secret *cek, struct core_errbuf *eb);
static enum core_err jwe_recipient_cek(const struct jwe_parsed *p,
    const json_t *hdr, size_t idx, const struct jwe_alg *a,
    const struct jwe_enc *e, const struct crypto_jwe_dec_opts *o,
    size_t *next_key, struct secret **cek_out, struct core_errbuf *eb);

/*
 * {k1: v1[, k2: v2]} with string values, as json_pack("{s:s, s:s}") makes
 * it without parsing a format; NULL when out of memory.
 */
static json_t *
jwe_obj_str(const char *k1, const char *v1, const char *k2, const char *v2)
{
	json_t *o = json_object();

	if (o == NULL || json_object_set_new(o, k1, json_string(v1)) != 0 ||
	    (k2 != NULL && json_object_set_new(o, k2, json_string(v2)) != 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static const struct jwe_alg *
jwe_alg_find(const char *name)
{
	for (size_t i = 0; name != NULL && i < CORE_ARRAY_LEN(jwe_algs); i++)
		if (strcmp(jwe_algs[i].name, name) == 0)
			return &jwe_algs[i];
	return NULL;
}

static const struct jwe_enc *
jwe_enc_find(const char *name)
{
	for (size_t i = 0; name != NULL && i < CORE_ARRAY_LEN(jwe_encs); i++)
		if (strcmp(jwe_encs[i].name, name) == 0)
			return &jwe_encs[i];
	return NULL;
}

/* ---- content encryption ---- */

static enum core_err
jwe_cbc_tag(const struct jwe_enc *e, const uint8_t *mac_key,
    const uint8_t *aad, size_t aad_len, const uint8_t *iv,
    const uint8_t *ct, size_t ct_len, uint8_t *tag, struct core_errbuf *eb)
{
	const char *md = e->tag_len == 16 ? "SHA256" :
	    e->tag_len == 24 ? "SHA384" : "SHA512";
	uint8_t full[EVP_MAX_MD_SIZE], al[8];
	uint64_t bits = (uint64_t)aad_len * 8;
	size_t flen = 0;
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *h = NULL;
	OSSL_PARAM params[2];
	enum core_err err = CORE_OK;

	for (int i = 7; i >= 0; i--) {
		al[i] = (uint8_t)bits;
		bits >>= 8;
	}
	params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)md, 0);
	params[1] = OSSL_PARAM_construct_end();
	/* The shared HMAC when it was fetched, else one of our own. */
	mac = crypto_alg_hmac() != NULL ? NULL :
	    EVP_MAC_fetch(NULL, "HMAC", NULL);
	h = crypto_alg_hmac() != NULL ? EVP_MAC_CTX_new(crypto_alg_hmac()) :
	    mac == NULL ? NULL : EVP_MAC_CTX_new(mac);
	if (h == NULL || EVP_MAC_init(h, mac_key, e->cek_len / 2,
	    params) != 1 || EVP_MAC_update(h, aad, aad_len) != 1 ||
	    EVP_MAC_update(h, iv, e->iv_len) != 1 ||
	    (ct_len > 0 && EVP_MAC_update(h, ct, ct_len) != 1) ||
	    EVP_MAC_update(h, al, 8) != 1 ||
	    EVP_MAC_final(h, full, &flen, sizeof(full)) != 1) {
		err = crypto_ossl_err(eb, "%s HMAC", e->name);
		goto out;
	}
	memcpy(tag, full, e->tag_len);
out:
	EVP_MAC_CTX_free(h);
	EVP_MAC_free(mac);
	return err;
}

STATIC enum core_err
jwe_content_seal(const struct jwe_enc *e, const uint8_t *cek,
    const uint8_t *iv, const uint8_t *aad, size_t aad_len, const uint8_t *pt,
    size_t pt_len, uint8_t *ct, uint8_t *tag, struct core_errbuf *eb)
{
	EVP_CIPHER_CTX *c = NULL;
	const EVP_CIPHER *cipher;
	enum core_err err = CORE_OK;
	int l1 = 0, l2 = 0;

	if (!e->cbc)
		return crypto_aes_gcm_seal(cek, e->cek_len, iv, aad, aad_len,
		    pt, pt_len, ct, tag, eb);
	/* ct must hold pt_len + 16 (PKCS#7 padding). */
	cipher = crypto_alg_aes_cbc(e->cek_len / 2);
	c = EVP_CIPHER_CTX_new();
	if (c == NULL || EVP_EncryptInit_ex(c, cipher, NULL,
	    cek + e->cek_len / 2, iv) != 1 ||
	    EVP_EncryptUpdate(c, ct, &l1, pt, (int)pt_len) != 1 ||
	    EVP_EncryptFinal_ex(c, ct + l1, &l2) != 1) {
		err = crypto_ossl_err(eb, "%s encrypt", e->name);
		goto out;
	}
	err = jwe_cbc_tag(e, cek, aad, aad_len, iv, ct, (size_t)(l1 + l2),
	    tag, eb);
out:
	EVP_CIPHER_CTX_free(c);
	return err;
}

STATIC enum core_err
jwe_content_open(const struct jwe_enc *e, const uint8_t *cek,
    const uint8_t *iv, const uint8_t *aad, size_t aad_len, const uint8_t *ct,
    size_t ct_len, const uint8_t *tag, struct secret **pt_out,
    struct core_errbuf *eb)
{
	struct secret *pt = NULL;
	EVP_CIPHER_CTX *c = NULL;
	const EVP_CIPHER *cipher;
	uint8_t want[32];
	enum core_err err = CORE_OK;
	int l1 = 0, l2 = 0;

	*pt_out = NULL;
	pt = secret_new(ct_len + 1);
	if (pt == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "JWE plaintext");
	if (!e->cbc) {
		err = crypto_aes_gcm_open(cek, e->cek_len, iv, aad, aad_len,
		    ct, ct_len, tag, pt->ptr, eb);
		if (err != CORE_OK)
			goto out;
		pt->len = ct_len;
		goto done;
	}
	err = jwe_cbc_tag(e, cek, aad, aad_len, iv, ct, ct_len, want, eb);
	if (err != CORE_OK)
		goto out;
	if (!core_ct_equal(want, tag, e->tag_len)) {
		err = core_errf(eb, CORE_ERR_AUTH,
		    "%s authentication tag mismatch (wrong key or tampered "
		    "data)", e->name);
		goto out;
	}
	if (ct_len == 0 || ct_len % 16 != 0) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "%s ciphertext is not a whole number of blocks", e->name);
		goto out;
	}
	cipher = crypto_alg_aes_cbc(e->cek_len / 2);
	c = EVP_CIPHER_CTX_new();
	if (c == NULL || EVP_DecryptInit_ex(c, cipher, NULL,
	    cek + e->cek_len / 2, iv) != 1 ||
	    EVP_DecryptUpdate(c, pt->ptr, &l1, ct, (int)ct_len) != 1 ||
	    EVP_DecryptFinal_ex(c, pt->ptr + l1, &l2) != 1) {
		ERR_clear_error();
		err = core_errf(eb, CORE_ERR_AUTH, "%s bad padding", e->name);
		goto out;
	}
	pt->len = (size_t)(l1 + l2);
done:
	*pt_out = pt;
	pt = NULL;
out:
	EVP_CIPHER_CTX_free(c);
	secret_free(pt);
	return err;
}

/* ---- key management helpers ---- */

static enum core_err
jwe_epk_json(const struct crypto_key *k, json_t **out, struct core_errbuf *eb)
{
	json_t *jwk = NULL, *epk = NULL;
	enum core_err err;

	*out = NULL;
	err = crypto_key_to_jwk(k, false, &jwk, eb);
	if (err != CORE_OK)
		return err;
	/* Members in alphabetical order, as Trustee's serde emits them. */
	epk = json_object();
	if (epk == NULL ||
	    json_object_set(epk, "crv", json_object_get(jwk, "crv")) != 0 ||
	    json_object_set(epk, "kty", json_object_get(jwk, "kty")) != 0 ||
	    json_object_set(epk, "x", json_object_get(jwk, "x")) != 0 ||
	    (json_object_get(jwk, "y") != NULL &&
	    json_object_set(epk, "y", json_object_get(jwk, "y")) != 0)) {
		json_decref(epk);
		json_decref(jwk);
		return core_errf(eb, CORE_ERR_NOMEM, "JWE epk");
	}
	json_decref(jwk);
	*out = epk;
	return CORE_OK;
}

static enum core_err
jwe_rsa_crypt(const struct crypto_key *k, const struct jwe_alg *a, bool enc,
    const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len,
    struct core_errbuf *eb)
{
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	enum core_err err = CORE_OK;
	int ok;

	*out = NULL;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, crypto_key_evp(k), NULL);
	if (ctx == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "%s", a->name);
	ok = enc ? EVP_PKEY_encrypt_init(ctx) : EVP_PKEY_decrypt_init(ctx);
	if (ok != 1 || EVP_PKEY_CTX_set_rsa_padding(ctx, a->rsa_pad) != 1 ||
	    (a->oaep_md != NULL &&
	    (EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, a->oaep_md, NULL) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, a->oaep_md, NULL) != 1))) {
		err = crypto_ossl_err(eb, "%s init", a->name);
		goto out;
	}
	ok = enc ? EVP_PKEY_encrypt(ctx, NULL, &len, in, in_len) :
	    EVP_PKEY_decrypt(ctx, NULL, &len, in, in_len);
	if (ok != 1 || (buf = malloc(len)) == NULL) {
		err = crypto_ossl_err(eb, "%s", a->name);
		goto out;
	}
	ok = enc ? EVP_PKEY_encrypt(ctx, buf, &len, in, in_len) :
	    EVP_PKEY_decrypt(ctx, buf, &len, in, in_len);
	if (ok != 1) {
		ERR_clear_error();
		err = core_errf(eb, enc ? CORE_ERR_CRYPTO : CORE_ERR_AUTH,
		    "%s %s failed", a->name, enc ? "encryption" :
		    "decryption (wrong key or tampered encrypted_key)");
		goto out;
	}
	*out = buf;
	*out_len = len;
	buf = NULL;
out:
	if (buf != NULL) {
		core_wipe(buf, len);
		free(buf);
	}
	EVP_PKEY_CTX_free(ctx);
	return err;
}

/* ---- encryption ---- */

/* Per-recipient output of the key-management step. */
struct jwe_out_rcpt {
	json_t *hdr;            /* owned: alg, epk, apu, apv + extras */
	uint8_t *ek;            /* owned */
	size_t ek_len;
};

static enum core_err jwe_enc_recipient(const struct crypto_jwe_recipient *r,
    const struct jwe_alg *a, const struct jwe_enc *e,
    const struct crypto_jwe_enc_opts *o, bool first_ecdh,
    struct secret *cek, struct jwe_out_rcpt *out, struct core_errbuf *eb);
static enum core_err jwe_protected_b64(const struct crypto_jwe_enc_opts *o,
    const struct jwe_enc *e, const struct jwe_alg *alg0, json_t *hdr0,
    char **out, struct core_errbuf *eb);
static enum core_err jwe_serialize(const struct crypto_jwe_enc_opts *o,
    struct jwe_out_rcpt *rs, size_t nr, const char *prot_b64,
    const uint8_t *iv, size_t iv_len, const uint8_t *ct, size_t ct_len,
    const uint8_t *tag, size_t tag_len, char **out, size_t *out_len,
    struct core_errbuf *eb);

static const struct jwe_alg *
jwe_pick_alg(const struct crypto_jwe_recipient *r, struct core_errbuf *eb)
{
	const struct jwe_alg *a;
	const char *name = r->alg;

	if (name == NULL && r->key != NULL) {
		const char *ja = crypto_key_jwk_alg(r->key);

		a = jwe_alg_find(ja);
		if (a != NULL && (a->km == JWE_KM_ECDH_KW ||
		    a->km == JWE_KM_ECDH ||
		    (a->km == JWE_KM_RSA && a->rsa_pad ==
		    RSA_PKCS1_OAEP_PADDING)))
			return a;
		name = crypto_key_type(r->key) == CRYPTO_KEY_RSA ?
		    "RSA-OAEP-256" : "ECDH-ES+A256KW";
	}
	if (name == NULL) {
		core_errf(eb, CORE_ERR_INVALID,
		    "JWE recipient has neither alg nor key");
		return NULL;
	}
	a = jwe_alg_find(name);
	if (a == NULL || strcmp(name, "RSA1_5") == 0) {
		core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "JWE: unsupported key management alg \"%.32s\"", name);
		return NULL;
	}
	return a;
}

static enum core_err
jwe_enc_recipient(const struct crypto_jwe_recipient *r,
    const struct jwe_alg *a, const struct jwe_enc *e,
    const struct crypto_jwe_enc_opts *o, bool first_ecdh, struct secret *cek,
    struct jwe_out_rcpt *out, struct core_errbuf *eb)
{
	struct crypto_key *eph = NULL;
	struct secret *z = NULL;
	uint8_t kek[32];
	json_t *epk = NULL;
	enum core_err err = CORE_OK;
	enum crypto_key_type kt;

	out->hdr = jwe_obj_str("alg", a->name, NULL, NULL);
	if (out->hdr == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "JWE header");
	switch (a->km) {
	case JWE_KM_DIR:
		if (r->sym == NULL || r->sym->len != e->cek_len)
			return core_errf(eb, CORE_ERR_INVALID,
			    "JWE dir: key must be %zu bytes for %s",
			    e->cek_len, e->name);
		memcpy(cek->ptr, r->sym->ptr, e->cek_len);
		break;
	case JWE_KM_AESKW:
		if (r->sym == NULL || r->sym->len != a->kw_len)
			return core_errf(eb, CORE_ERR_INVALID,
			    "JWE %s: key must be %zu bytes", a->name,
			    a->kw_len);
		out->ek_len = e->cek_len + CRYPTO_KW_OVERHEAD;
		out->ek = malloc(out->ek_len);
		if (out->ek == NULL)
			return core_errf(eb, CORE_ERR_NOMEM, "JWE");
		err = crypto_aes_kw_wrap(r->sym->ptr, r->sym->len, cek->ptr,
		    e->cek_len, out->ek, eb);
		break;
	case JWE_KM_ECDH:
	case JWE_KM_ECDH_KW:
		if (r->key == NULL)
			return core_errf(eb, CORE_ERR_INVALID,
			    "JWE %s: recipient needs a public key", a->name);
		kt = crypto_key_type(r->key);
		if (crypto_ec_field_len(kt) == 0 && kt != CRYPTO_KEY_X25519)
			return core_errf(eb, CORE_ERR_INVALID,
			    "JWE %s does not fit a %s key", a->name,
			    crypto_key_type_name(kt));
		if (first_ecdh && o->epk != NULL) {
			if (crypto_key_type(o->epk) != kt ||
			    !crypto_key_is_private(o->epk))
				return core_errf(eb, CORE_ERR_INVALID,
				    "JWE: fixed ephemeral key must be a "
				    "private %s key", crypto_key_type_name(kt));
			err = crypto_ecdh(o->epk, r->key, &z, eb);
			if (err == CORE_OK)
				err = jwe_epk_json(o->epk, &epk, eb);
		} else {
			err = crypto_key_generate(kt, 0, &eph, eb);
			if (err == CORE_OK)
				err = crypto_ecdh(eph, r->key, &z, eb);
			if (err == CORE_OK)
				err = jwe_epk_json(eph, &epk, eb);
		}
		if (err != CORE_OK)
			goto out;
		json_object_set_new(out->hdr, "epk", epk);
		if ((o->apu_len > 0 && (err = crypto_json_set_b64url(out->hdr,
		    "apu", o->apu, o->apu_len, eb))) ||
		    (o->apv_len > 0 && (err = crypto_json_set_b64url(out->hdr,
		    "apv", o->apv, o->apv_len, eb))))
			goto out;
		if (a->km == JWE_KM_ECDH) {
			err = crypto_concat_kdf(z->ptr, z->len, e->name, o->apu,
			    o->apu_len, o->apv, o->apv_len, e->cek_len * 8,
			    cek->ptr, eb);
			goto out;
		}
		err = crypto_concat_kdf(z->ptr, z->len, a->name, o->apu,
		    o->apu_len, o->apv, o->apv_len, a->kw_len * 8, kek, eb);
		if (err != CORE_OK)
			goto out;
		out->ek_len = e->cek_len + CRYPTO_KW_OVERHEAD;
		out->ek = malloc(out->ek_len);
		if (out->ek == NULL) {
			err = core_errf(eb, CORE_ERR_NOMEM, "JWE");
			goto out;
		}
		err = crypto_aes_kw_wrap(kek, a->kw_len, cek->ptr, e->cek_len,
		    out->ek, eb);
		break;
	case JWE_KM_RSA:
		if (r->key == NULL || crypto_key_type(r->key) != CRYPTO_KEY_RSA)
			return core_errf(eb, CORE_ERR_INVALID,
			    "JWE %s needs an RSA key", a->name);
		err = jwe_rsa_crypt(r->key, a, true, cek->ptr, e->cek_len,
		    &out->ek, &out->ek_len, eb);
		break;
	}
out:
	core_wipe(kek, sizeof(kek));
	secret_free(z);
	crypto_key_free(eph);
	if (err == CORE_OK && r->header != NULL)
		err = jwe_merge(out->hdr, r->header, "recipient header", eb);
	return err;
}

static enum core_err
jwe_serialize(const struct crypto_jwe_enc_opts *o, struct jwe_out_rcpt *rs,
    size_t nr, const char *prot_b64, const uint8_t *iv, size_t iv_len,
    const uint8_t *ct, size_t ct_len, const uint8_t *tag, size_t tag_len,
    char **out, size_t *out_len, struct core_errbuf *eb)
{
	json_t *doc = NULL, *arr = NULL;
	char *s = NULL;
	enum core_err err = CORE_OK;

	if (o->format == CRYPTO_JWE_COMPACT) {
		char *parts[4] = { NULL };
		struct core_buf b;

		core_buf_init(&b, 0);
		parts[0] = core_b64url_encode(rs[0].ek, rs[0].ek_len);
		parts[1] = core_b64url_encode(iv, iv_len);
		parts[2] = core_b64url_encode(ct, ct_len);
		parts[3] = core_b64url_encode(tag, tag_len);
		err = core_buf_append_str(&b, prot_b64);
		for (int i = 0; i < 4 && err == CORE_OK; i++) {
			if (parts[i] == NULL)
				err = CORE_ERR_NOMEM;
			if (err == CORE_OK)
				err = core_buf_append(&b, ".", 1);
			if (err == CORE_OK)
				err = core_buf_append_str(&b, parts[i]);
		}
		for (int i = 0; i < 4; i++)
			free(parts[i]);
		if (err != CORE_OK) {
			core_buf_cleanup(&b);
			return core_errf(eb, err, "JWE compact");
		}
		*out = (char *)core_buf_steal(&b, out_len);
		return CORE_OK;
	}
	doc = jwe_obj_str("protected", prot_b64, NULL, NULL);
	if (doc == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "JWE");
	if (o->unprotected != NULL)
		json_object_set(doc, "unprotected", (json_t *)o->unprotected);
	if (o->format == CRYPTO_JWE_GENERAL) {
		arr = json_array();
		json_object_set_new(doc, "recipients", arr);
		for (size_t i = 0; i < nr && err == CORE_OK; i++) {
			json_t *r = json_object();

			if (r == NULL || json_array_append_new(arr, r) != 0) {
				err = core_errf(eb, CORE_ERR_NOMEM, "JWE");
				break;
			}
			json_object_set(r, "header", rs[i].hdr);
			if (rs[i].ek_len > 0)
				err = crypto_json_set_b64url(r,
				    "encrypted_key", rs[i].ek, rs[i].ek_len, eb);
		}
	} else {
		if (json_object_size(rs[0].hdr) > 0)
			json_object_set(doc, "header", rs[0].hdr);
		if (rs[0].ek_len > 0)
			err = crypto_json_set_b64url(doc, "encrypted_key",
			    rs[0].ek, rs[0].ek_len, eb);
	}
	if (err == CORE_OK && o->aad_len > 0)
		err = crypto_json_set_b64url(doc, "aad", o->aad, o->aad_len,
		    eb);
	if (err == CORE_OK)
		err = crypto_json_set_b64url(doc, "iv", iv, iv_len, eb);
	if (err == CORE_OK)
		err = crypto_json_set_b64url(doc, "ciphertext", ct, ct_len,
		    eb);
	if (err == CORE_OK)
		err = crypto_json_set_b64url(doc, "tag", tag, tag_len, eb);
	if (err == CORE_OK) {
		s = crypto_json_dumps(doc);
		if (s == NULL)
			err = core_errf(eb, CORE_ERR_NOMEM, "JWE");
	}
	json_decref(doc);
	if (err != CORE_OK)
		return err;
	*out = s;
	*out_len = strlen(s);
	return CORE_OK;
}

/*
 * Builds the protected header and returns its base64url form. Compact and
 * flattened: {"alg","enc"[,"epk","apu","apv"]} + extras, moving those
 * members out of the recipient header hdr0 (what stays there are the
 * caller's per-recipient extras). General: {"enc"} + extras.
 */
static enum core_err
jwe_protected_b64(const struct crypto_jwe_enc_opts *o,
    const struct jwe_enc *e, const struct jwe_alg *alg0, json_t *hdr0,
    char **out, struct core_errbuf *eb)
{
	static const char *const moved[] = { "epk", "apu", "apv" };
	json_t *prot;
	char *prot_json = NULL;
	enum core_err err = CORE_OK;

	*out = NULL;
	if (o->format == CRYPTO_JWE_GENERAL)
		prot = jwe_obj_str("enc", e->name, NULL, NULL);
	else
		prot = jwe_obj_str("alg", alg0->name, "enc", e->name);
	if (prot == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "JWE header");
	if (o->format != CRYPTO_JWE_GENERAL) {
		for (size_t i = 0; i < CORE_ARRAY_LEN(moved); i++) {
			json_t *v = json_object_get(hdr0, moved[i]);

			if (v != NULL)
				json_object_set(prot, moved[i], v);
		}
		json_object_del(hdr0, "alg");
		for (size_t i = 0; i < CORE_ARRAY_LEN(moved); i++)
			json_object_del(hdr0, moved[i]);
	}
	if (o->protected_extra != NULL &&
	    (err = jwe_merge(prot, o->protected_extra, "protected header",
	    eb)) != CORE_OK)
		goto out;
	prot_json = crypto_json_dumps(prot);
	*out = prot_json == NULL ? NULL :
	    core_b64url_encode(prot_json, strlen(prot_json));
	if (*out == NULL)
		err = core_errf(eb, CORE_ERR_NOMEM, "JWE header");
out:
	free(prot_json);
	json_decref(prot);
	return err;
}

enum core_err
crypto_jwe_encrypt(const struct crypto_jwe_recipient *rcpts, size_t nrcpts,
    const struct crypto_jwe_enc_opts *o, const void *pt, size_t pt_len,
    char **out, size_t *out_len, struct core_errbuf *eb)
{
	static const struct crypto_jwe_enc_opts defaults;
	const struct jwe_enc *e;
	const struct jwe_alg *algs[JWE_MAX_RECIPIENTS];
	struct jwe_out_rcpt rs[JWE_MAX_RECIPIENTS];
	struct secret *cek = NULL;
	char *prot_b64 = NULL, *aad_b64 = NULL;
	uint8_t iv[16], tag[32], *ct = NULL;
	struct core_buf aad;
	size_t ct_len = 0, dummy_len;
	bool seen_ecdh = false;
	enum core_err err = CORE_OK;

	if (o == NULL)
		o = &defaults;
	*out = NULL;
	if (out_len == NULL)
		out_len = &dummy_len;
	*out_len = 0;
	memset(rs, 0, sizeof(rs));
	core_buf_init(&aad, 0);
	e = jwe_enc_find(o->enc != NULL ? o->enc : "A256GCM");
	if (e == NULL)
		return core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "JWE: unsupported enc \"%.32s\"", o->enc);
	if (nrcpts == 0 || nrcpts > JWE_MAX_RECIPIENTS)
		return core_errf(eb, CORE_ERR_INVALID,
		    "JWE: need 1..%d recipients (got %zu)",
		    JWE_MAX_RECIPIENTS, nrcpts);
	if (o->format != CRYPTO_JWE_GENERAL && nrcpts != 1)
		return core_errf(eb, CORE_ERR_INVALID,
		    "JWE: compact and flattened forms take one recipient");
	if (o->format == CRYPTO_JWE_COMPACT && (o->unprotected != NULL ||
	    o->aad_len > 0 || rcpts[0].header != NULL))
		return core_errf(eb, CORE_ERR_INVALID,
		    "JWE compact form has no unprotected header or aad");
	if (pt_len > CRYPTO_JOSE_MAX_DEFAULT)
		return core_errf(eb, CORE_ERR_TOO_BIG,
		    "JWE: plaintext of %zu bytes is too big", pt_len);
	for (size_t i = 0; i < nrcpts; i++) {
		algs[i] = jwe_pick_alg(&rcpts[i], eb);
		if (algs[i] == NULL)
			return CORE_ERR_UNSUPPORTED;
		if ((algs[i]->km == JWE_KM_DIR || algs[i]->km == JWE_KM_ECDH) &&
		    nrcpts != 1)
			return core_errf(eb, CORE_ERR_INVALID,
			    "JWE %s allows a single recipient only",
			    algs[i]->name);
	}
	cek = secret_new(JWE_MAX_CEK);
	if (cek == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "JWE CEK");
	cek->len = e->cek_len;
	if (o->cek != NULL) {
		if (o->cek->len != e->cek_len) {
			err = core_errf(eb, CORE_ERR_INVALID,
			    "JWE: fixed CEK must be %zu bytes for %s",
			    e->cek_len, e->name);
			goto out;
		}
		memcpy(cek->ptr, o->cek->ptr, e->cek_len);
	} else if (o->iv == NULL) {
		/* One draw for both (each RAND call has a fixed cost). */
		uint8_t rnd[JWE_MAX_CEK + 16];

		err = core_random(rnd, e->cek_len + e->iv_len, eb);
		memcpy(cek->ptr, rnd, e->cek_len);
		memcpy(iv, rnd + e->cek_len, e->iv_len);
		core_wipe(rnd, sizeof(rnd));
		if (err != CORE_OK)
			goto out;
	} else if ((err = core_random(cek->ptr, e->cek_len, eb)) != CORE_OK) {
		goto out;
	}
	for (size_t i = 0; i < nrcpts; i++) {
		bool is_ecdh = algs[i]->km == JWE_KM_ECDH ||
		    algs[i]->km == JWE_KM_ECDH_KW;

		err = jwe_enc_recipient(&rcpts[i], algs[i], e, o,
		    is_ecdh && !seen_ecdh, cek, &rs[i], eb);
		if (err != CORE_OK) {
			core_errbuf_prefix(eb, "JWE recipient %zu", i);
			goto out;
		}
		seen_ecdh |= is_ecdh;
	}
	err = jwe_protected_b64(o, e, algs[0], rs[0].hdr, &prot_b64, eb);
	if (err != CORE_OK)
		goto out;
	err = core_buf_append_str(&aad, prot_b64);
	if (err == CORE_OK && o->aad_len > 0) {
		aad_b64 = core_b64url_encode(o->aad, o->aad_len);
		err = aad_b64 == NULL ? CORE_ERR_NOMEM :
		    core_buf_append(&aad, ".", 1);
		if (err == CORE_OK)
			err = core_buf_append_str(&aad, aad_b64);
	}
	if (err != CORE_OK) {
		core_errf(eb, err, "JWE aad");
		goto out;
	}
	if (o->iv != NULL)
		memcpy(iv, o->iv, e->iv_len);
	else if (o->cek != NULL &&
	    (err = core_random(iv, e->iv_len, eb)) != CORE_OK)
		goto out;
	ct = malloc(pt_len + 16);
	if (ct == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "JWE ciphertext");
		goto out;
	}
	err = jwe_content_seal(e, cek->ptr, iv, aad.data, aad.len, pt, pt_len,
	    ct, tag, eb);
	if (err != CORE_OK)
		goto out;
	ct_len = e->cbc ? (pt_len / 16 + 1) * 16 : pt_len;
	err = jwe_serialize(o, rs, nrcpts, prot_b64, iv, e->iv_len, ct,
	    ct_len, tag, e->tag_len, out, out_len, eb);
out:
	for (size_t i = 0; i < nrcpts && i < JWE_MAX_RECIPIENTS; i++) {
		json_decref(rs[i].hdr);
		free(rs[i].ek);
	}
	core_buf_cleanup(&aad);
	free(prot_b64);
	free(aad_b64);
	free(ct);
	secret_free(cek);
	return err;
}

/* ---- decryption ---- */

/* Copies src's members into dst; a member already in dst is an error. */
static enum core_err
jwe_merge(json_t *dst, const json_t *src, const char *what,
    struct core_errbuf *eb)
{
	const char *key;
	json_t *v;

	if (src == NULL)
		return CORE_OK;
	if (!json_is_object(src))
		return core_errf(eb, CORE_ERR_INVALID,
		    "JWE %s is not an object", what);
	json_object_foreach((json_t *)src, key, v) {
		if (json_object_get(dst, key) != NULL)
			return core_errf(eb, CORE_ERR_INVALID,
			    "JWE header member \"%.32s\" appears in more than "
			    "one header (%s)", key, what);
		if (json_object_set(dst, key, v) != 0)
			return core_errf(eb, CORE_ERR_NOMEM, "JWE header");
	}
	return CORE_OK;
}

static void
jwe_parsed_free(struct jwe_parsed *p)
{
	json_decref(p->doc);
	json_decref(p->prot);
	free(p->prot_b64);
	free(p->aad);
	free(p->iv);
	free(p->ct);
	free(p->tag);
	for (size_t i = 0; i < JWE_MAX_RECIPIENTS; i++)
		free(p->ek[i]);
}

/* Decodes b64url part i of a compact JWE. */
static enum core_err
jwe_part(const char *s, size_t n, const char *what, uint8_t **out,
    size_t *out_len, struct core_errbuf *eb)
{
	if (core_b64url_decode(s, n, out, out_len, NULL) != CORE_OK)
		return core_errf(eb, CORE_ERR_INVALID,
		    "JWE: %s is not valid base64url", what);
	return CORE_OK;
}

static enum core_err
jwe_parse_compact(const char *s, size_t n, struct jwe_parsed *p,
    struct core_errbuf *eb)
{
	const char *part[5];
	size_t plen[5], k = 0, start = 0;
	enum core_err err;

	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (k == 5)
			return core_errf(eb, CORE_ERR_INVALID,
			    "JWE: compact form must have exactly five parts");
		part[k] = s + start;
		plen[k++] = i - start;
		start = i + 1;
	}
	if (k != 5)
		return core_errf(eb, CORE_ERR_INVALID,
		    "JWE: compact form must have exactly five parts");
	p->prot_b64 = strndup(part[0], plen[0]);
	if (p->prot_b64 == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "JWE");
	p->nrcpt = 1;
	if ((err = jwe_part(part[1], plen[1], "encrypted_key", &p->ek[0],
	    &p->ek_len[0], eb)) ||
	    (err = jwe_part(part[2], plen[2], "iv", &p->iv, &p->iv_len, eb)) ||
	    (err = jwe_part(part[3], plen[3], "ciphertext", &p->ct,
	    &p->ct_len, eb)) ||
	    (err = jwe_part(part[4], plen[4], "tag", &p->tag, &p->tag_len,
	    eb)))
		return err;
	return CORE_OK;
}

/* The members jwe_parse_flat takes, and their order in its tables. */
enum jwe_flat_member {
	JWE_FLAT_PROTECTED,
	JWE_FLAT_ENCRYPTED_KEY,
	JWE_FLAT_IV,
	JWE_FLAT_CIPHERTEXT,
	JWE_FLAT_TAG,
	JWE_FLAT_AAD,
	JWE_FLAT_COUNT
};

/*
 * The flattened JSON form as JOSE libraries and the KBS write it, without
 * a JSON parser: one object whose members are only "protected",
 * "encrypted_key", "iv", "ciphertext", "tag" and "aad", each once, each a
 * string of printable ASCII without escapes, and whose iv, ciphertext and
 * tag (and encrypted_key when present) are valid base64url. For such input
 * jansson and jwe_parse_json would build exactly the same parts. Anything
 * else (another member, an escape, a non-ASCII byte, a missing or
 * undecodable member, a duplicate, malformed JSON) returns false with p
 * untouched, and jwe_parse_json parses it and reports the error. The scan
 * reads each byte of s once.
 */
static bool
jwe_parse_flat(const char *s, size_t n, struct jwe_parsed *p)
{
	static const char *const names[JWE_FLAT_COUNT] = { "protected",
		"encrypted_key", "iv", "ciphertext", "tag", "aad" };
	const char *val[JWE_FLAT_COUNT] = { NULL };
	size_t len[JWE_FLAT_COUNT] = { 0 };
	struct jwe_parsed q;
	size_t i = 0, start, m;
	int k;

#define FLAT_WS() while (i < n && (s[i] == ' ' || s[i] == '\t' || \
	s[i] == '\n' || s[i] == '\r')) i++
#define FLAT_STR() do { \
	if (i >= n || s[i] != '"') \
		return false; \
	start = ++i; \
	while (i < n && s[i] != '"') { \
		if ((unsigned char)s[i] < 0x20 || \
		    (unsigned char)s[i] > 0x7e || s[i] == '\\') \
			return false; \
		i++; \
	} \
	if (i >= n) \
		return false; \
	i++; \
} while (0)
	FLAT_WS();
	if (i >= n || s[i++] != '{')
		return false;
	for (;;) {
		FLAT_WS();
		FLAT_STR();
		m = i - 1 - start;
		for (k = 0; k < JWE_FLAT_COUNT; k++)
			if (strlen(names[k]) == m &&
			    memcmp(names[k], s + start, m) == 0)
				break;
		if (k == JWE_FLAT_COUNT || val[k] != NULL)
			return false;
		FLAT_WS();
		if (i >= n || s[i++] != ':')
			return false;
		FLAT_WS();
		FLAT_STR();
		val[k] = s + start;
		len[k] = i - 1 - start;
		FLAT_WS();
		if (i < n && s[i] == ',') {
			i++;
			continue;
		}
		if (i < n && s[i] == '}') {
			i++;
			break;
		}
		return false;
	}
	FLAT_WS();
#undef FLAT_STR
#undef FLAT_WS
	if (i != n || val[JWE_FLAT_IV] == NULL ||
	    val[JWE_FLAT_CIPHERTEXT] == NULL || val[JWE_FLAT_TAG] == NULL)
		return false;
	memset(&q, 0, sizeof(q));
	q.nrcpt = 1;
	q.prot_b64 = strndup(val[JWE_FLAT_PROTECTED] != NULL ?
	    val[JWE_FLAT_PROTECTED] : "", len[JWE_FLAT_PROTECTED]);
	if (q.prot_b64 == NULL ||
	    core_b64url_decode(val[JWE_FLAT_IV], len[JWE_FLAT_IV], &q.iv,
	    &q.iv_len, NULL) != CORE_OK ||
	    core_b64url_decode(val[JWE_FLAT_CIPHERTEXT],
	    len[JWE_FLAT_CIPHERTEXT], &q.ct, &q.ct_len, NULL) != CORE_OK ||
	    core_b64url_decode(val[JWE_FLAT_TAG], len[JWE_FLAT_TAG], &q.tag,
	    &q.tag_len, NULL) != CORE_OK ||
	    (val[JWE_FLAT_ENCRYPTED_KEY] != NULL &&
	    core_b64url_decode(val[JWE_FLAT_ENCRYPTED_KEY],
	    len[JWE_FLAT_ENCRYPTED_KEY], &q.ek[0], &q.ek_len[0], NULL) !=
	    CORE_OK))
		goto fail;
	if (val[JWE_FLAT_AAD] != NULL) {
		size_t plen = len[JWE_FLAT_PROTECTED];

		q.aad = malloc(plen + 1 + len[JWE_FLAT_AAD] + 1);
		if (q.aad == NULL)
			goto fail;
		memcpy(q.aad, q.prot_b64, plen);
		q.aad[plen] = '.';
		memcpy(q.aad + plen + 1, val[JWE_FLAT_AAD],
		    len[JWE_FLAT_AAD]);
		q.aad_len = plen + 1 + len[JWE_FLAT_AAD];
	}
	*p = q;
	return true;
fail:
	/* Out of memory or bad base64url: jwe_parse_json says which. */
	jwe_parsed_free(&q);
	return false;
}

static enum core_err
jwe_parse_json(const char *s, size_t n, struct jwe_parsed *p,
    struct core_errbuf *eb)
{
	const json_t *prot, *aad, *rcpts;
	enum core_err err;

	err = core_json_parse_object(s, n, n + 1, &p->doc, eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "JWE");
		return err;
	}
	prot = json_object_get(p->doc, "protected");
	if (prot != NULL && !json_is_string(prot))
		return core_errf(eb, CORE_ERR_INVALID,
		    "JWE: member \"protected\" is not a string");
	p->prot_b64 = strdup(prot != NULL ? json_string_value(prot) : "");
	if (p->prot_b64 == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "JWE");
	p->unprot = json_object_get(p->doc, "unprotected");
	if (p->unprot != NULL && !json_is_object(p->unprot))
		return core_errf(eb, CORE_ERR_INVALID,
		    "JWE: member \"unprotected\" is not an object");
	if ((err = crypto_json_b64url(p->doc, "iv", true, &p->iv, &p->iv_len,
	    eb)) || (err = crypto_json_b64url(p->doc, "ciphertext", true,
	    &p->ct, &p->ct_len, eb)) || (err = crypto_json_b64url(p->doc,
	    "tag", true, &p->tag, &p->tag_len, eb))) {
		core_errbuf_prefix(eb, "JWE");
		return err;
	}
	aad = json_object_get(p->doc, "aad");
	if (aad != NULL && !json_is_string(aad))
		return core_errf(eb, CORE_ERR_INVALID,
		    "JWE: member \"aad\" is not a string");
	rcpts = json_object_get(p->doc, "recipients");
	if (rcpts != NULL) {
		if (!json_is_array(rcpts) || json_array_size(rcpts) == 0 ||
		    json_array_size(rcpts) > JWE_MAX_RECIPIENTS)
			return core_errf(eb, CORE_ERR_INVALID,
			    "JWE: \"recipients\" must be an array of 1..%d",
			    JWE_MAX_RECIPIENTS);
		/* A stray top-level encrypted_key (go-jose) is ignored. */
		p->nrcpt = json_array_size(rcpts);
		for (size_t i = 0; i < p->nrcpt; i++) {
			const json_t *r = json_array_get(rcpts, i);

			if (!json_is_object(r))
				return core_errf(eb, CORE_ERR_INVALID,
				    "JWE: recipient %zu is not an object", i);
			p->rhdr[i] = json_object_get(r, "header");
			err = crypto_json_b64url(r, "encrypted_key", false,
			    &p->ek[i], &p->ek_len[i], eb);
			if (err != CORE_OK) {
				core_errbuf_prefix(eb, "JWE recipient %zu", i);
				return err;
			}
		}
	} else {
		p->nrcpt = 1;
		p->rhdr[0] = json_object_get(p->doc, "header");
		err = crypto_json_b64url(p->doc, "encrypted_key", false,
		    &p->ek[0], &p->ek_len[0], eb);
		if (err != CORE_OK) {
			core_errbuf_prefix(eb, "JWE");
			return err;
		}
	}
	for (size_t i = 0; i < p->nrcpt; i++)
		if (p->rhdr[i] != NULL && !json_is_object(p->rhdr[i]))
			return core_errf(eb, CORE_ERR_INVALID,
			    "JWE: recipient %zu \"header\" is not an object",
			    i);
	if (aad != NULL) {
		size_t plen = strlen(p->prot_b64);
		size_t alen = json_string_length(aad);

		p->aad = malloc(plen + 1 + alen + 1);
		if (p->aad == NULL)
			return core_errf(eb, CORE_ERR_NOMEM, "JWE");
		memcpy(p->aad, p->prot_b64, plen);
		p->aad[plen] = '.';
		memcpy(p->aad + plen + 1, json_string_value(aad), alen);
		p->aad_len = plen + 1 + alen;
	}
	return CORE_OK;
}

static enum core_err
jwe_parse(const char *s, size_t n, bool fast, struct jwe_parsed *p,
    struct core_errbuf *eb)
{
	uint8_t *ph = NULL;
	size_t ph_len = 0, i = 0;
	enum core_err err;

	while (i < n && isspace((unsigned char)s[i]))
		i++;
	/* A trailing newline (a token read from a file) is not part of it. */
	while (n > i && isspace((unsigned char)s[n - 1]))
		n--;
	if (i == n)
		return core_errf(eb, CORE_ERR_INVALID, "JWE: empty input");
	if (s[i] == '{' && fast && jwe_parse_flat(s + i, n - i, p))
		err = CORE_OK;
	else if (s[i] == '{')
		err = jwe_parse_json(s + i, n - i, p, eb);
	else
		err = jwe_parse_compact(s + i, n - i, p, eb);
	if (err != CORE_OK)
		return err;
	if (p->aad == NULL) {
		p->aad_len = strlen(p->prot_b64);
		p->aad = (uint8_t *)strdup(p->prot_b64);
		if (p->aad == NULL)
			return core_errf(eb, CORE_ERR_NOMEM, "JWE");
	}
	if (p->prot_b64[0] != '\0') {
		if (core_b64url_decode(p->prot_b64, strlen(p->prot_b64), &ph,
		    &ph_len, NULL) != CORE_OK)
			return core_errf(eb, CORE_ERR_INVALID,
			    "JWE: protected header is not valid base64url");
		if (fast && crypto_json_parse_simple((const char *)ph, ph_len,
		    &p->prot))
			err = CORE_OK;
		else
			err = core_json_parse_object(ph, ph_len, ph_len + 1,
			    &p->prot, eb);
		free(ph);
		if (err != CORE_OK) {
			core_errbuf_prefix(eb, "JWE protected header");
			return err;
		}
	}
	return CORE_OK;
}

/* dir and AxxxKW: the symmetric key from the options. */
static enum core_err
jwe_cek_sym(const uint8_t *ek, size_t ek_len, const struct jwe_alg *a,
    const struct jwe_enc *e, const struct crypto_jwe_dec_opts *o,
    struct secret *cek, struct core_errbuf *eb)
{
	if (a->km == JWE_KM_DIR) {
		if (o->sym == NULL || o->sym->len != e->cek_len)
			return core_errf(eb, CORE_ERR_NOT_FOUND,
			    "no %zu-byte symmetric key for dir", e->cek_len);
		if (ek_len != 0)
			return core_errf(eb, CORE_ERR_INVALID,
			    "dir requires an empty encrypted_key");
		memcpy(cek->ptr, o->sym->ptr, e->cek_len);
		return CORE_OK;
	}
	if (o->sym == NULL || o->sym->len != a->kw_len)
		return core_errf(eb, CORE_ERR_NOT_FOUND,
		    "no %zu-byte key-wrap key for %s", a->kw_len, a->name);
	if (ek_len != e->cek_len + CRYPTO_KW_OVERHEAD)
		return core_errf(eb, CORE_ERR_INVALID,
		    "encrypted_key is %zu bytes, want %zu", ek_len,
		    e->cek_len + CRYPTO_KW_OVERHEAD);
	return crypto_aes_kw_unwrap(o->sym->ptr, o->sym->len, ek, ek_len,
	    cek->ptr, eb);
}

/* ECDH-ES and ECDH-ES+AxxxKW with the first fitting key from *next_key. */
static enum core_err
jwe_cek_ecdh(const json_t *hdr, const uint8_t *ek, size_t ek_len,
    const struct jwe_alg *a, const struct jwe_enc *e,
    const struct crypto_jwe_dec_opts *o, size_t *next_key,
    struct secret *cek, struct core_errbuf *eb)
{
	size_t want_ek = a->km == JWE_KM_ECDH ? 0 :
	    e->cek_len + CRYPTO_KW_OVERHEAD;
	struct crypto_key *epk = NULL;
	struct secret *z = NULL;
	uint8_t *apu = NULL, *apv = NULL;
	size_t apu_len = 0, apv_len = 0;
	uint8_t kek[32];
	bool tried = false;
	enum core_err err;

	if (!json_is_object(json_object_get(hdr, "epk")))
		return core_errf(eb, CORE_ERR_INVALID,
		    "header \"epk\" missing or not an object");
	if (ek_len != want_ek)
		return core_errf(eb, CORE_ERR_INVALID,
		    "encrypted_key is %zu bytes, want %zu", ek_len, want_ek);
	err = crypto_key_from_jwk(json_object_get(hdr, "epk"), &epk, eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "epk");
		goto out;
	}
	if (crypto_key_is_private(epk)) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "epk carries a private key");
		goto out;
	}
	if ((err = crypto_json_b64url(hdr, "apu", false, &apu, &apu_len,
	    eb)) || (err = crypto_json_b64url(hdr, "apv", false, &apv,
	    &apv_len, eb)))
		goto out;
	err = CORE_ERR_NOT_FOUND;
	for (size_t i = *next_key; i < o->nkeys; i++) {
		const struct crypto_key *k = o->keys[i];

		if (k == NULL || !crypto_key_is_private(k) ||
		    crypto_key_type(k) != crypto_key_type(epk))
			continue;
		tried = true;
		*next_key = i + 1;
		secret_free(z);
		z = NULL;
		err = crypto_ecdh(k, epk, &z, eb);
		if (err != CORE_OK)
			continue;
		if (a->km == JWE_KM_ECDH) {
			/* Only the content tag can tell a wrong key. */
			err = crypto_concat_kdf(z->ptr, z->len, e->name, apu,
			    apu_len, apv, apv_len, e->cek_len * 8, cek->ptr,
			    eb);
			break;
		}
		err = crypto_concat_kdf(z->ptr, z->len, a->name, apu, apu_len,
		    apv, apv_len, a->kw_len * 8, kek, eb);
		if (err != CORE_OK)
			continue;
		core_errbuf_clear(eb);
		err = crypto_aes_kw_unwrap(kek, a->kw_len, ek, ek_len,
		    cek->ptr, eb);
		if (err == CORE_OK)
			break;
	}
	if (!tried)
		err = core_errf(eb, CORE_ERR_NOT_FOUND,
		    "no private %s key supplied",
		    crypto_key_type_name(crypto_key_type(epk)));
out:
	core_wipe(kek, sizeof(kek));
	free(apu);
	free(apv);
	secret_free(z);
	crypto_key_free(epk);
	return err;
}

/* RSA-OAEP[-256] and RSA1_5 with the first fitting key from *next_key. */
static enum core_err
jwe_cek_rsa(const uint8_t *ek, size_t ek_len, const struct jwe_alg *a,
    const struct jwe_enc *e, const struct crypto_jwe_dec_opts *o,
    size_t *next_key, struct secret *cek, struct core_errbuf *eb)
{
	bool pkcs1 = a->rsa_pad == RSA_PKCS1_PADDING;
	bool tried = false;
	enum core_err err = CORE_ERR_NOT_FOUND;

	for (size_t i = *next_key; i < o->nkeys; i++) {
		const struct crypto_key *k = o->keys[i];
		uint8_t *buf = NULL;
		size_t buf_len = 0;

		if (k == NULL || !crypto_key_is_private(k) ||
		    crypto_key_type(k) != CRYPTO_KEY_RSA)
			continue;
		tried = true;
		*next_key = i + 1;
		core_errbuf_clear(eb);
		err = jwe_rsa_crypt(k, a, false, ek, ek_len, &buf, &buf_len,
		    eb);
		if (err == CORE_OK && buf_len == e->cek_len)
			memcpy(cek->ptr, buf, e->cek_len);
		else if (err == CORE_OK)
			err = core_errf(eb, CORE_ERR_AUTH,
			    "%s: CEK is %zu bytes, want %zu", a->name, buf_len,
			    e->cek_len);
		if (buf != NULL) {
			core_wipe(buf, buf_len);
			free(buf);
		}
		if (err != CORE_OK && pkcs1) {
			/* RFC 7516 §11.5: after a PKCS#1 v1.5 failure go on
			 * with a random CEK, so that a padding error and a
			 * tag error look the same. */
			core_errbuf_clear(eb);
			err = core_random(cek->ptr, e->cek_len, eb);
		}
		if (err == CORE_OK)
			break;
	}
	if (!tried)
		err = core_errf(eb, CORE_ERR_NOT_FOUND,
		    "no private RSA key supplied");
	return err;
}

/*
 * Recovers a CEK for one recipient, trying the keys that fit from index
 * *next_key on; on success *next_key is the index after the key used, so
 * the caller can try the next key when only the content tag can tell a
 * wrong key (ECDH-ES direct, RSA1_5).
 */
static enum core_err
jwe_recipient_cek(const struct jwe_parsed *p, const json_t *hdr, size_t idx,
    const struct jwe_alg *a, const struct jwe_enc *e,
    const struct crypto_jwe_dec_opts *o, size_t *next_key,
    struct secret **cek_out, struct core_errbuf *eb)
{
	struct secret *cek;
	enum core_err err = CORE_ERR_INTERNAL;

	*cek_out = NULL;
	cek = secret_new(e->cek_len);
	if (cek == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "JWE CEK");
	switch (a->km) {
	case JWE_KM_DIR:
	case JWE_KM_AESKW:
		/* One symmetric key: a second attempt has nothing new. */
		if (*next_key > 0) {
			err = core_errf(eb, CORE_ERR_NOT_FOUND,
			    "no further key");
			break;
		}
		*next_key = o->nkeys;
		err = jwe_cek_sym(p->ek[idx], p->ek_len[idx], a, e, o, cek,
		    eb);
		break;
	case JWE_KM_ECDH:
	case JWE_KM_ECDH_KW:
		err = jwe_cek_ecdh(hdr, p->ek[idx], p->ek_len[idx], a, e, o,
		    next_key, cek, eb);
		break;
	case JWE_KM_RSA:
		err = jwe_cek_rsa(p->ek[idx], p->ek_len[idx], a, e, o,
		    next_key, cek, eb);
		break;
	}
	if (err != CORE_OK) {
		secret_free(cek);
		return err;
	}
	*cek_out = cek;
	return CORE_OK;
}

/*
 * Finds a CEK for recipient idx and opens the content with it. When the
 * key-management step cannot tell a wrong key (ECDH-ES direct, RSA1_5),
 * a tag mismatch moves on to the next key of the same kind.
 */
static enum core_err
jwe_try_keys(const struct jwe_parsed *p, const json_t *hdr, size_t idx,
    const struct jwe_alg *a, const struct jwe_enc *e,
    const struct crypto_jwe_dec_opts *o, struct secret **pt_out,
    struct core_errbuf *eb)
{
	struct core_errbuf content_eb;
	enum core_err err, content_err = CORE_OK;
	size_t next = 0;

	core_errbuf_clear(&content_eb);
	for (;;) {
		struct secret *cek = NULL;
		struct core_errbuf keb;

		core_errbuf_clear(&keb);
		err = jwe_recipient_cek(p, hdr, idx, a, e, o, &next, &cek,
		    &keb);
		if (err != CORE_OK) {
			/* After a content failure, that failure is the
			 * better explanation than "no more keys". */
			if (content_err != CORE_OK)
				return core_errf(eb, content_err, "%s",
				    core_errbuf_msg(&content_eb));
			return core_errf(eb, err, "%s", core_errbuf_msg(&keb));
		}
		core_errbuf_clear(&content_eb);
		content_err = jwe_content_open(e, cek->ptr, p->iv, p->aad,
		    p->aad_len, p->ct, p->ct_len, p->tag, pt_out, &content_eb);
		secret_free(cek);
		if (content_err == CORE_OK)
			return CORE_OK;
		if (a->km != JWE_KM_ECDH && a->rsa_pad != RSA_PKCS1_PADDING)
			return core_errf(eb, content_err, "%s",
			    core_errbuf_msg(&content_eb));
		if (next >= o->nkeys)
			return core_errf(eb, content_err, "%s",
			    core_errbuf_msg(&content_eb));
	}
}

enum core_err
crypto_jwe_decrypt(const void *jwe, size_t n,
    const struct crypto_jwe_dec_opts *o, struct secret **pt_out,
    json_t **header_out, struct core_errbuf *eb)
{
	return jwe_decrypt(jwe, n, o, true, pt_out, header_out, eb);
}

/*
 * crypto_jwe_decrypt; fast false always parses JSON forms with jansson
 * (the reference the tests and the fuzz target compare jwe_parse_flat
 * against).
 */
STATIC enum core_err
jwe_decrypt(const void *jwe, size_t n, const struct crypto_jwe_dec_opts *o,
    bool fast, struct secret **pt_out, json_t **header_out,
    struct core_errbuf *eb)
{
	static const struct crypto_jwe_dec_opts no_opts;
	struct jwe_parsed p;
	struct core_buf why;
	size_t max_len;
	json_t *shared = NULL, *hdr = NULL;
	enum core_err err, last = CORE_ERR_NOT_FOUND;
	bool have_real = false, real_set = false;

	*pt_out = NULL;
	if (header_out != NULL)
		*header_out = NULL;
	if (o == NULL)
		o = &no_opts;
	max_len = o->max_len != 0 ? o->max_len : CRYPTO_JOSE_MAX_DEFAULT;
	memset(&p, 0, sizeof(p));
	core_buf_init(&why, 4096);
	if (jwe == NULL || n == 0)
		return core_errf(eb, CORE_ERR_INVALID, "JWE: empty input");
	if (n > max_len)
		return core_errf(eb, CORE_ERR_TOO_BIG,
		    "JWE: input of %zu bytes exceeds %zu", n, max_len);
	err = jwe_parse(jwe, n, fast, &p, eb);
	if (err != CORE_OK)
		goto out;
	shared = json_object();
	if (shared == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "JWE");
		goto out;
	}
	if ((err = jwe_merge(shared, p.prot, "protected", eb)) ||
	    (err = jwe_merge(shared, p.unprot, "unprotected", eb)))
		goto out;
	for (size_t i = 0; i < p.nrcpt; i++) {
		const struct jwe_alg *a;
		const struct jwe_enc *e;
		const char *alg = NULL, *enc = NULL;
		struct core_errbuf reb;

		core_errbuf_clear(&reb);
		json_decref(hdr);
		hdr = json_copy(shared);
		if (hdr == NULL) {
			err = core_errf(eb, CORE_ERR_NOMEM, "JWE");
			goto out;
		}
		err = jwe_merge(hdr, p.rhdr[i], "recipient", &reb);
		if (err == CORE_OK && json_object_get(hdr, "crit") != NULL)
			err = core_errf(&reb, CORE_ERR_UNSUPPORTED,
			    "\"crit\" is not supported");
		if (err == CORE_OK && json_object_get(hdr, "zip") != NULL)
			err = core_errf(&reb, CORE_ERR_UNSUPPORTED,
			    "compressed (\"zip\") content is not supported");
		if (err == CORE_OK)
			err = core_json_get_str(hdr, "alg", true, &alg, &reb);
		if (err == CORE_OK)
			err = core_json_get_str(hdr, "enc", true, &enc, &reb);
		if (err != CORE_OK)
			goto next;
		a = jwe_alg_find(alg);
		e = jwe_enc_find(enc);
		if (a == NULL || e == NULL) {
			err = core_errf(&reb, CORE_ERR_UNSUPPORTED,
			    "unsupported %s \"%.32s\"", a == NULL ? "alg" :
			    "enc", a == NULL ? alg : enc);
			goto next;
		}
		if ((a->rsa_pad == RSA_PKCS1_PADDING && !o->allow_rsa1_5) ||
		    (o->allowed_algs != NULL &&
		    !crypto_str_in(alg, o->allowed_algs))) {
			err = core_errf(&reb, CORE_ERR_PERM,
			    "alg %s is not allowed", alg);
			goto next;
		}
		if (p.iv_len != e->iv_len || p.tag_len != e->tag_len) {
			err = core_errf(&reb, CORE_ERR_INVALID,
			    "%s needs a %zu-byte iv and %zu-byte tag (got %zu "
			    "and %zu)", e->name, e->iv_len, e->tag_len,
			    p.iv_len, p.tag_len);
			goto next;
		}
		err = jwe_try_keys(&p, hdr, i, a, e, o, pt_out, &reb);
		if (err == CORE_OK) {
			if (header_out != NULL) {
				*header_out = hdr;
				hdr = NULL;
			}
			goto out;
		}
next:
		/* Report the first failure that is more than "no key" or
		 * "not allowed" (a tag mismatch says more). */
		if (!have_real || (err != CORE_ERR_NOT_FOUND &&
		    err != CORE_ERR_PERM && !real_set)) {
			last = err;
			have_real = true;
			real_set = err != CORE_ERR_NOT_FOUND &&
			    err != CORE_ERR_PERM;
		}
		core_buf_printf(&why, "%srecipient %zu (%s): %s",
		    why.len > 0 ? "; " : "", i, alg != NULL ? alg : "?",
		    core_errbuf_msg(&reb));
	}
	err = last;
	core_errf(eb, err, "JWE: no recipient could be decrypted: %s",
	    why.data != NULL ? (const char *)why.data : "");
out:
	json_decref(hdr);
	json_decref(shared);
	core_buf_cleanup(&why);
	jwe_parsed_free(&p);
	return err;
}

enum core_err
crypto_jwe_decrypt_key(const void *jwe, size_t n, const struct crypto_key *k,
    struct secret **pt_out, struct core_errbuf *eb)
{
	struct crypto_jwe_dec_opts o;

	memset(&o, 0, sizeof(o));
	o.keys = &k;
	o.nkeys = 1;
	return crypto_jwe_decrypt(jwe, n, &o, pt_out, NULL, eb);
}
