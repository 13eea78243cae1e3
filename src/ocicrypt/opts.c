/*
 * opts.c -- the layer block-cipher options JSON (private and public), byte
 * exact with Go's encoding/json output.
 */
#include "ocicrypt/ocicrypt.h"
#include "ocicrypt/ocicrypt_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum core_err
ocicrypt_json_bytes(const json_t *v, const char *name, size_t max,
    uint8_t **out, size_t *len_out, struct core_errbuf *eb)
{
	uint8_t *p = NULL;
	size_t n = 0, i;
	enum core_err err;

	*out = NULL;
	*len_out = 0;
	if (v == NULL || json_is_null(v)) {
		if ((*out = calloc(1, 1)) == NULL)
			return CORE_ERR_NOMEM;
		return CORE_OK;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t sl = json_string_length(v);

		if (sl / 4 * 3 > max + 3)
			return core_errf(eb, CORE_ERR_TOO_BIG,
			    "%s: longer than %zu bytes", name, max);
		if (sl == 0) {
			if ((*out = calloc(1, 1)) == NULL)
				return CORE_ERR_NOMEM;
			return CORE_OK;
		}
		if ((err = core_b64_decode(s, sl, &p, &n, eb)) != CORE_OK) {
			core_errbuf_prefix(eb, "%s: not base64", name);
			return err;
		}
		if (n > max) {
			core_wipe(p, n);
			free(p);
			return core_errf(eb, CORE_ERR_TOO_BIG,
			    "%s: longer than %zu bytes", name, max);
		}
		*out = p;
		*len_out = n;
		return CORE_OK;
	}
	if (!json_is_array(v))
		return core_errf(eb, CORE_ERR_INVALID,
		    "%s: not a base64 string or byte array", name);
	n = json_array_size(v);
	if (n > max)
		return core_errf(eb, CORE_ERR_TOO_BIG,
		    "%s: longer than %zu bytes", name, max);
	if ((p = malloc(n + 1)) == NULL)
		return CORE_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		json_t *e = json_array_get(v, i);

		if (!json_is_integer(e) || json_integer_value(e) < 0 ||
		    json_integer_value(e) > 255) {
			core_wipe(p, i);
			free(p);
			return core_errf(eb, CORE_ERR_INVALID,
			    "%s[%zu]: not an integer 0..255", name, i);
		}
		p[i] = (uint8_t)json_integer_value(e);
	}
	p[n] = 0;
	*out = p;
	*len_out = n;
	return CORE_OK;
}

json_t *
ocicrypt_json_int_array(const uint8_t *p, size_t n)
{
	json_t *a = json_array();
	size_t i;

	if (a == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (json_array_append_new(a, json_integer(p[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

void
ocicrypt_privopts_cleanup(struct ocicrypt_privopts *o)
{
	if (o == NULL)
		return;
	secret_free(o->symkey);
	free(o->digest);
	core_wipe(o, sizeof(*o));
}

void
ocicrypt_pubopts_cleanup(struct ocicrypt_pubopts *o)
{
	if (o == NULL)
		return;
	free(o->cipher);
	memset(o, 0, sizeof(*o));
}

/* Reads cipheroptions.nonce if present; wrong length is kept as "absent"
 * plus an error so the caller can decide. */
static enum core_err
nonce_from(const json_t *root, const char *what, uint8_t nonce[16], bool *has,
    struct core_errbuf *eb)
{
	json_t *co = json_object_get(root, "cipheroptions");
	json_t *nv;
	uint8_t *p = NULL;
	size_t n = 0;
	enum core_err err;
	char name[64];

	*has = false;
	if (co == NULL || json_is_null(co))
		return CORE_OK;
	if (!json_is_object(co))
		return core_errf(eb, CORE_ERR_INVALID,
		    "%s: cipheroptions is not an object", what);
	nv = json_object_get(co, "nonce");
	if (nv == NULL || json_is_null(nv))
		return CORE_OK;
	snprintf(name, sizeof(name), "%s: cipheroptions.nonce", what);
	if ((err = ocicrypt_json_bytes(nv, name, 4096, &p, &n, eb)) != CORE_OK)
		return err;
	if (n == 0) {
		free(p);
		return CORE_OK;
	}
	if (n != OCICRYPT_NONCE_LEN) {
		free(p);
		return core_errf(eb, CORE_ERR_INVALID,
		    "%s: nonce is %zu bytes, want %d", what, n,
		    OCICRYPT_NONCE_LEN);
	}
	memcpy(nonce, p, OCICRYPT_NONCE_LEN);
	free(p);
	*has = true;
	return CORE_OK;
}

enum core_err
ocicrypt_privopts_parse(const void *p, size_t n, struct ocicrypt_privopts *out,
    struct core_errbuf *eb)
{
	json_t *root = NULL, *v;
	uint8_t *key = NULL;
	size_t klen = 0;
	enum core_err err;

	memset(out, 0, sizeof(*out));
	if ((err = core_json_parse_object(
	         p, n, OCICRYPT_JSON_MAX, &root, eb)) != CORE_OK) {
		core_errbuf_prefix(eb, "private options");
		return err;
	}
	if ((err = ocicrypt_json_bytes(json_object_get(root, "symkey"),
	         "private options: symkey", 4096, &key, &klen, eb)) != CORE_OK)
		goto out;
	if ((out->symkey = secret_from(key, klen)) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	v = json_object_get(root, "digest");
	if (v != NULL && !json_is_null(v) && !json_is_string(v)) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "private options: digest is not a string");
		goto out;
	}
	out->digest = strdup(json_is_string(v) ? json_string_value(v) : "");
	if (out->digest == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	err = nonce_from(
	    root, "private options", out->nonce, &out->has_nonce, eb);
out:
	if (key != NULL)
		core_wipe(key, klen);
	free(key);
	json_decref(root);
	if (err != CORE_OK)
		ocicrypt_privopts_cleanup(out);
	return err;
}

enum core_err
ocicrypt_pubopts_parse(const void *p, size_t n, struct ocicrypt_pubopts *out,
    struct core_errbuf *eb)
{
	json_t *root = NULL, *v;
	uint8_t *mac = NULL;
	size_t mlen = 0;
	enum core_err err;

	memset(out, 0, sizeof(*out));
	if ((err = core_json_parse_object(
	         p, n, OCICRYPT_JSON_MAX, &root, eb)) != CORE_OK) {
		core_errbuf_prefix(eb, "public options");
		return err;
	}
	v = json_object_get(root, "cipher");
	if (v != NULL && !json_is_null(v) && !json_is_string(v)) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "public options: cipher is not a string");
		goto out;
	}
	out->cipher = strdup(json_is_string(v) ? json_string_value(v) : "");
	if (out->cipher == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	if ((err = ocicrypt_json_bytes(json_object_get(root, "hmac"),
	         "public options: hmac", 4096, &mac, &mlen, eb)) != CORE_OK)
		goto out;
	if (mlen != 0 && mlen != OCICRYPT_HMAC_LEN) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "public options: hmac is %zu bytes, want %d", mlen,
		    OCICRYPT_HMAC_LEN);
		goto out;
	}
	memcpy(out->hmac, mac, mlen);
	out->hmac_len = mlen;
	err =
	    nonce_from(root, "public options", out->nonce, &out->has_nonce, eb);
out:
	free(mac);
	json_decref(root);
	if (err != CORE_OK)
		ocicrypt_pubopts_cleanup(out);
	return err;
}

enum core_err
ocicrypt_privopts_dump(const struct ocicrypt_privopts *o, struct secret **out,
    struct core_errbuf *eb)
{
	char *k = NULL, *nonce = NULL, *dg = NULL;
	json_t *ds = NULL;
	struct secret *s = NULL;
	enum core_err err = CORE_OK;
	size_t n;

	*out = NULL;
	if (o->symkey == NULL || !o->has_nonce)
		return core_errf(eb, CORE_ERR_INVALID,
		    "private options: symkey and nonce are required");
	k = core_b64_encode(o->symkey->ptr, o->symkey->len);
	nonce = core_b64_encode(o->nonce, OCICRYPT_NONCE_LEN);
	ds = json_string(o->digest != NULL ? o->digest : "");
	dg = ds != NULL ? json_dumps(ds, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	if (k == NULL || nonce == NULL || dg == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	n = strlen(k) + strlen(nonce) + strlen(dg) + 64;
	if ((s = secret_new(n)) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	s->len = (size_t)snprintf((char *)s->ptr, n,
	    "{\"symkey\":\"%s\",\"digest\":%s,\"cipheroptions\":"
	    "{\"nonce\":\"%s\"}}",
	    k, dg, nonce);
	*out = s;
out:
	if (k != NULL)
		core_wipe(k, strlen(k));
	free(k);
	free(nonce);
	free(dg);
	json_decref(ds);
	return err;
}

char *
ocicrypt_pubopts_dump(const struct ocicrypt_pubopts *o)
{
	char *mac = core_b64_encode(o->hmac, o->hmac_len);
	json_t *cs = json_string(o->cipher != NULL ? o->cipher : "");
	char *c =
	    cs != NULL ? json_dumps(cs, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	char *s = NULL;
	size_t n;

	if (mac != NULL && c != NULL) {
		n = strlen(mac) + strlen(c) + 64;
		if ((s = malloc(n)) != NULL)
			snprintf(s, n,
			    "{\"cipher\":%s,\"hmac\":\"%s\","
			    "\"cipheroptions\":{}}",
			    c, mac);
	}
	free(mac);
	free(c);
	json_decref(cs);
	return s;
}
