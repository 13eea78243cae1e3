/*
 * hash.c -- SHA-2 digests, HMAC-SHA256, the Concat KDF and the small
 * helpers the rest of the module shares (OpenSSL error text, base64url
 * JSON members).
 */
#include "crypto/crypto.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "crypto/internal.h"

struct crypto_hash_ctx {
	EVP_MD_CTX *md;         /* owned */
	enum crypto_hash h;
};

struct crypto_hmac_ctx {
	EVP_MAC_CTX *mac;       /* owned; holds a copy of the key */
};

enum core_err
crypto_ossl_err(struct core_errbuf *eb, const char *fmt, ...)
{
	char msg[CORE_ERRBUF_LEN];
	char reason[256];
	unsigned long e;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e = ERR_peek_last_error();
	if (e != 0) {
		ERR_error_string_n(e, reason, sizeof(reason));
		ERR_clear_error();
		return core_errf(eb, CORE_ERR_CRYPTO, "%s: %s", msg, reason);
	}
	return core_errf(eb, CORE_ERR_CRYPTO, "%s", msg);
}

size_t
crypto_hash_len(enum crypto_hash h)
{
	switch (h) {
	case CRYPTO_HASH_SHA256:
		return CRYPTO_SHA256_LEN;
	case CRYPTO_HASH_SHA384:
		return CRYPTO_SHA384_LEN;
	case CRYPTO_HASH_SHA512:
		return CRYPTO_SHA512_LEN;
	}
	return 0;
}

const char *
crypto_hash_name(enum crypto_hash h)
{
	switch (h) {
	case CRYPTO_HASH_SHA256:
		return "sha256";
	case CRYPTO_HASH_SHA384:
		return "sha384";
	case CRYPTO_HASH_SHA512:
		return "sha512";
	}
	return "unknown";
}

enum core_err
crypto_hash_parse(const char *name, enum crypto_hash *out,
    struct core_errbuf *eb)
{
	if (name == NULL)
		return core_errf(eb, CORE_ERR_INVALID, "hash name missing");
	if (strcmp(name, "sha256") == 0)
		*out = CRYPTO_HASH_SHA256;
	else if (strcmp(name, "sha384") == 0)
		*out = CRYPTO_HASH_SHA384;
	else if (strcmp(name, "sha512") == 0)
		*out = CRYPTO_HASH_SHA512;
	else
		return core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "unsupported hash algorithm \"%.64s\" (want sha256, sha384 "
		    "or sha512)", name);
	return CORE_OK;
}

enum core_err
crypto_hash(enum crypto_hash h, const void *p, size_t n, uint8_t *out,
    struct core_errbuf *eb)
{
	const EVP_MD *md = crypto_hash_md(h);

	if (md == NULL)
		return core_errf(eb, CORE_ERR_INVALID, "unknown hash %d",
		    (int)h);
	if (p == NULL && n != 0)
		return core_errf(eb, CORE_ERR_INVALID, "hash input is NULL");
	if (EVP_Digest(p == NULL ? "" : p, n, out, NULL, md, NULL) != 1)
		return crypto_ossl_err(eb, "%s digest", crypto_hash_name(h));
	return CORE_OK;
}

enum core_err
crypto_sha256(const void *p, size_t n, uint8_t out[CRYPTO_SHA256_LEN])
{
	return crypto_hash(CRYPTO_HASH_SHA256, p, n, out, NULL);
}

enum core_err
crypto_sha384(const void *p, size_t n, uint8_t out[CRYPTO_SHA384_LEN])
{
	return crypto_hash(CRYPTO_HASH_SHA384, p, n, out, NULL);
}

enum core_err
crypto_sha512(const void *p, size_t n, uint8_t out[CRYPTO_SHA512_LEN])
{
	return crypto_hash(CRYPTO_HASH_SHA512, p, n, out, NULL);
}

enum core_err
crypto_hash_ctx_new(enum crypto_hash h, struct crypto_hash_ctx **out,
    struct core_errbuf *eb)
{
	const EVP_MD *md = crypto_hash_md(h);
	struct crypto_hash_ctx *c = NULL;
	enum core_err err;

	*out = NULL;
	if (md == NULL)
		return core_errf(eb, CORE_ERR_INVALID, "unknown hash %d",
		    (int)h);
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "hash context");
	c->h = h;
	c->md = EVP_MD_CTX_new();
	if (c->md == NULL || EVP_DigestInit_ex(c->md, md, NULL) != 1) {
		err = crypto_ossl_err(eb, "%s init", crypto_hash_name(h));
		goto fail;
	}
	*out = c;
	return CORE_OK;
fail:
	crypto_hash_ctx_free(c);
	return err;
}

enum core_err
crypto_hash_ctx_update(struct crypto_hash_ctx *c, const void *p, size_t n,
    struct core_errbuf *eb)
{
	if (n == 0)
		return CORE_OK;
	if (EVP_DigestUpdate(c->md, p, n) != 1)
		return crypto_ossl_err(eb, "%s update",
		    crypto_hash_name(c->h));
	return CORE_OK;
}

enum core_err
crypto_hash_ctx_final(struct crypto_hash_ctx *c, uint8_t *out,
    struct core_errbuf *eb)
{
	if (EVP_DigestFinal_ex(c->md, out, NULL) != 1)
		return crypto_ossl_err(eb, "%s final",
		    crypto_hash_name(c->h));
	return CORE_OK;
}

void
crypto_hash_ctx_free(struct crypto_hash_ctx *c)
{
	if (c == NULL)
		return;
	EVP_MD_CTX_free(c->md);
	free(c);
}

enum core_err
crypto_hmac_sha256(const void *key, size_t key_len, const void *p, size_t n,
    uint8_t out[CRYPTO_SHA256_LEN], struct core_errbuf *eb)
{
	struct crypto_hmac_ctx *c = NULL;
	enum core_err err;

	err = crypto_hmac_ctx_new(key, key_len, &c, eb);
	if (err != CORE_OK)
		goto out;
	err = crypto_hmac_ctx_update(c, p, n, eb);
	if (err != CORE_OK)
		goto out;
	err = crypto_hmac_ctx_final(c, out, eb);
out:
	crypto_hmac_ctx_free(c);
	return err;
}

enum core_err
crypto_hmac_ctx_new(const void *key, size_t key_len,
    struct crypto_hmac_ctx **out, struct core_errbuf *eb)
{
	static const uint8_t empty[1];
	struct crypto_hmac_ctx *c = NULL;
	EVP_MAC *mac = NULL;
	OSSL_PARAM params[2];
	enum core_err err;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "hmac context");
	mac = crypto_alg_hmac();
	if (mac == NULL) {
		mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		if (mac == NULL) {
			err = crypto_ossl_err(eb, "fetch HMAC");
			goto fail;
		}
		c->mac = EVP_MAC_CTX_new(mac);
		EVP_MAC_free(mac);
	} else {
		c->mac = EVP_MAC_CTX_new(mac);
	}
	params[0] = OSSL_PARAM_construct_utf8_string("digest",
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (c->mac == NULL || EVP_MAC_init(c->mac,
	    key_len == 0 ? empty : key, key_len, params) != 1) {
		err = crypto_ossl_err(eb, "HMAC-SHA256 init");
		goto fail;
	}
	*out = c;
	return CORE_OK;
fail:
	crypto_hmac_ctx_free(c);
	return err;
}

enum core_err
crypto_hmac_ctx_update(struct crypto_hmac_ctx *c, const void *p, size_t n,
    struct core_errbuf *eb)
{
	if (n == 0)
		return CORE_OK;
	if (EVP_MAC_update(c->mac, p, n) != 1)
		return crypto_ossl_err(eb, "HMAC-SHA256 update");
	return CORE_OK;
}

enum core_err
crypto_hmac_ctx_final(struct crypto_hmac_ctx *c,
    uint8_t out[CRYPTO_SHA256_LEN], struct core_errbuf *eb)
{
	size_t len = 0;

	if (EVP_MAC_final(c->mac, out, &len, CRYPTO_SHA256_LEN) != 1 ||
	    len != CRYPTO_SHA256_LEN)
		return crypto_ossl_err(eb, "HMAC-SHA256 final");
	return CORE_OK;
}

void
crypto_hmac_ctx_free(struct crypto_hmac_ctx *c)
{
	if (c == NULL)
		return;
	EVP_MAC_CTX_free(c->mac);
	free(c);
}

enum core_err
crypto_concat_kdf(const uint8_t *z, size_t z_len, const char *alg,
    const uint8_t *apu, size_t apu_len, const uint8_t *apv, size_t apv_len,
    size_t keydatalen_bits, uint8_t *out, struct core_errbuf *eb)
{
	uint8_t block[CRYPTO_SHA256_LEN];
	uint8_t be[4];
	size_t want, done = 0, alg_len, take;
	uint32_t counter;
	const EVP_MD *sha256 = crypto_hash_md(CRYPTO_HASH_SHA256);
	EVP_MD_CTX *md = NULL;
	enum core_err err = CORE_OK;

	if (alg == NULL || z == NULL || z_len == 0)
		return core_errf(eb, CORE_ERR_INVALID,
		    "concat KDF: missing Z or algorithm id");
	if (keydatalen_bits == 0 || keydatalen_bits % 8 != 0 ||
	    keydatalen_bits > 1024)
		return core_errf(eb, CORE_ERR_INVALID,
		    "concat KDF: bad key length %zu bits", keydatalen_bits);
	alg_len = strlen(alg);
	want = keydatalen_bits / 8;
	md = EVP_MD_CTX_new();
	if (md == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "concat KDF");
	for (counter = 1; done < want; counter++) {
		int ok = 1;
#define KDF_U32(v) do { be[0] = (uint8_t)((v) >> 24); \
	be[1] = (uint8_t)((v) >> 16); be[2] = (uint8_t)((v) >> 8); \
	be[3] = (uint8_t)(v); \
	ok &= EVP_DigestUpdate(md, be, 4); } while (0)
		ok &= EVP_DigestInit_ex(md, sha256, NULL);
		KDF_U32(counter);
		ok &= EVP_DigestUpdate(md, z, z_len);
		KDF_U32((uint32_t)alg_len);
		ok &= EVP_DigestUpdate(md, alg, alg_len);
		KDF_U32((uint32_t)apu_len);
		if (apu_len > 0)
			ok &= EVP_DigestUpdate(md, apu, apu_len);
		KDF_U32((uint32_t)apv_len);
		if (apv_len > 0)
			ok &= EVP_DigestUpdate(md, apv, apv_len);
		KDF_U32((uint32_t)keydatalen_bits);
#undef KDF_U32
		ok &= EVP_DigestFinal_ex(md, block, NULL);
		if (ok != 1) {
			err = crypto_ossl_err(eb, "concat KDF digest");
			goto out;
		}
		take = want - done < sizeof(block) ? want - done :
		    sizeof(block);
		memcpy(out + done, block, take);
		done += take;
	}
out:
	core_wipe(block, sizeof(block));
	EVP_MD_CTX_free(md);
	return err;
}

enum core_err
crypto_json_b64url(const json_t *obj, const char *name, bool required,
    uint8_t **out, size_t *out_len, struct core_errbuf *eb)
{
	const json_t *v = json_object_get(obj, name);
	enum core_err err;

	*out = NULL;
	*out_len = 0;
	if (v == NULL) {
		if (required)
			return core_errf(eb, CORE_ERR_INVALID,
			    "member \"%s\" missing", name);
		return CORE_OK;
	}
	if (!json_is_string(v))
		return core_errf(eb, CORE_ERR_INVALID,
		    "member \"%s\" is not a string", name);
	err = core_b64url_decode(json_string_value(v), json_string_length(v),
	    out, out_len, NULL);
	if (err != CORE_OK)
		return core_errf(eb, CORE_ERR_INVALID,
		    "member \"%s\" is not valid base64url", name);
	return CORE_OK;
}

enum core_err
crypto_json_set_b64url(json_t *obj, const char *name, const void *p,
    size_t n, struct core_errbuf *eb)
{
	char *s = core_b64url_encode(p, n);

	if (s == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "encode \"%s\"", name);
	if (json_object_set_new(obj, name, json_string(s)) != 0) {
		free(s);
		return core_errf(eb, CORE_ERR_NOMEM, "set \"%s\"", name);
	}
	free(s);
	return CORE_OK;
}

#define DUMP_MAX_DEPTH 64

/* s as jansson's dump_string writes it (upper-case \u00XX); see internal.h. */
static bool
dump_str(struct core_buf *b, const char *s, size_t n)
{
	return crypto_json_string(b, s, n, true) == CORE_OK;
}

/* False on allocation failure, a real number or too deep a tree. */
static bool
dump_value(struct core_buf *b, const json_t *v, int depth)
{
	const char *k;
	char num[32];
	json_t *m;
	size_t i, kl;
	bool first = true;
	int n;

	if (depth > DUMP_MAX_DEPTH)
		return false;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		if (core_buf_append(b, "{", 1) != CORE_OK)
			return false;
		json_object_keylen_foreach((json_t *)v, k, kl, m) {
			if ((!first && core_buf_append(b, ",", 1) != CORE_OK) ||
			    !dump_str(b, k, kl) ||
			    core_buf_append(b, ":", 1) != CORE_OK ||
			    !dump_value(b, m, depth + 1))
				return false;
			first = false;
		}
		return core_buf_append(b, "}", 1) == CORE_OK;
	case JSON_ARRAY:
		if (core_buf_append(b, "[", 1) != CORE_OK)
			return false;
		json_array_foreach(v, i, m) {
			if ((i > 0 && core_buf_append(b, ",", 1) != CORE_OK) ||
			    !dump_value(b, m, depth + 1))
				return false;
		}
		return core_buf_append(b, "]", 1) == CORE_OK;
	case JSON_STRING:
		return dump_str(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return core_buf_append(b, num, (size_t)n) == CORE_OK;
	case JSON_TRUE:
		return core_buf_append(b, "true", 4) == CORE_OK;
	case JSON_FALSE:
		return core_buf_append(b, "false", 5) == CORE_OK;
	case JSON_NULL:
		return core_buf_append(b, "null", 4) == CORE_OK;
	default: /* JSON_REAL: jansson's own number formatting */
		return false;
	}
}

char *
crypto_json_dumps(const json_t *v)
{
	struct core_buf b;
	char *out = NULL, *fit;
	size_t n = 0;

	if (v == NULL)
		return NULL;
	core_buf_init(&b, 0);
	if (core_buf_reserve(&b, 512) == CORE_OK && dump_value(&b, v, 0))
		out = (char *)core_buf_steal(&b, &n);
	core_buf_cleanup(&b);
	if (out == NULL)
		return core_json_dumps(v);
	/* The text may be kept (an EAR session's claims): give back slack. */
	fit = realloc(out, n + 1);
	return fit != NULL ? fit : out;
}

/* Parser state for crypto_json_parse_simple. */
struct json_simple {
	const char *s;
	size_t n, i;
};

static void
json_simple_ws(struct json_simple *js)
{
	while (js->i < js->n && (js->s[js->i] == ' ' ||
	    js->s[js->i] == '\t' || js->s[js->i] == '\n' ||
	    js->s[js->i] == '\r'))
		js->i++;
}

/* A plain string at js->i: its bytes in [*start, *start + *len). */
static bool
json_simple_str(struct json_simple *js, size_t *start, size_t *len)
{
	if (js->i >= js->n || js->s[js->i] != '"')
		return false;
	*start = ++js->i;
	while (js->i < js->n && js->s[js->i] != '"') {
		unsigned char c = (unsigned char)js->s[js->i];

		if (c < 0x20 || c > 0x7e || c == '\\')
			return false;
		js->i++;
	}
	if (js->i >= js->n)
		return false;
	*len = js->i++ - *start;
	return true;
}

/* An object at js->i (after whitespace); NULL if not of the simple kind. */
static json_t *
json_simple_obj(struct json_simple *js, int depth)
{
	json_t *o = NULL, *v;
	size_t ks, kl, vs, vl;

	if (depth > 8 || js->i >= js->n || js->s[js->i] != '{')
		return NULL;
	js->i++;
	if ((o = json_object()) == NULL)
		return NULL;
	json_simple_ws(js);
	if (js->i < js->n && js->s[js->i] == '}') {
		js->i++;
		return o;
	}
	for (;;) {
		json_simple_ws(js);
		if (!json_simple_str(js, &ks, &kl) ||
		    json_object_getn(o, js->s + ks, kl) != NULL)
			goto fail;
		json_simple_ws(js);
		if (js->i >= js->n || js->s[js->i++] != ':')
			goto fail;
		json_simple_ws(js);
		if (js->i < js->n && js->s[js->i] == '{') {
			v = json_simple_obj(js, depth + 1);
		} else {
			if (!json_simple_str(js, &vs, &vl))
				goto fail;
			v = json_stringn_nocheck(js->s + vs, vl);
		}
		if (v == NULL || json_object_setn_new_nocheck(o, js->s + ks, kl,
		    v) != 0)
			goto fail;
		json_simple_ws(js);
		if (js->i < js->n && js->s[js->i] == ',') {
			js->i++;
			continue;
		}
		if (js->i < js->n && js->s[js->i] == '}') {
			js->i++;
			return o;
		}
		goto fail;
	}
fail:
	json_decref(o);
	return NULL;
}

bool
crypto_json_parse_simple(const char *s, size_t n, json_t **out)
{
	struct json_simple js = { s, n, 0 };
	json_t *o;

	*out = NULL;
	json_simple_ws(&js);
	o = json_simple_obj(&js, 0);
	if (o == NULL)
		return false;
	json_simple_ws(&js);
	if (js.i != n) {
		json_decref(o);
		return false;
	}
	*out = o;
	return true;
}

bool
crypto_str_in(const char *s, const char *const *list)
{
	if (s == NULL || list == NULL)
		return false;
	for (; *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}
