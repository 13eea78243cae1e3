/*
 * layer.c -- which key an encrypted layer needs, and unwrapping its
 * private options from the enc.keys.* annotations.
 */
#include "ocicrypt/ocicrypt.h"
#include "ocicrypt/ocicrypt_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LAYER_MAX_WRAPS 64
#define LAYER_ANNOT_MAX (4 * 1024 * 1024)

bool
ocicrypt_media_encrypted(const char *mt)
{
	size_t n, s = strlen(OCICRYPT_ENC_SUFFIX);

	if (mt == NULL)
		return false;
	n = strlen(mt);
	return n > s && strcmp(mt + n - s, OCICRYPT_ENC_SUFFIX) == 0;
}

void
ocicrypt_keyreqs_free(struct ocicrypt_keyreq *r, size_t n)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(r[i].scheme);
		free(r[i].kid);
		free(r[i].alg);
	}
	free(r);
}

/* Calls fn on each base64-decoded item of a comma-separated value. */
typedef enum core_err (*item_fn)(void *ctx, const char *scheme,
    const uint8_t *p, size_t n, struct core_errbuf *eb);

static enum core_err
for_each_item(const char *scheme, const char *val, item_fn fn, void *ctx,
    struct core_errbuf *eb)
{
	const char *p = val;
	size_t count = 0;
	enum core_err err;

	if (strlen(val) > LAYER_ANNOT_MAX)
		return core_errf(eb, CORE_ERR_TOO_BIG,
		    "annotation %s%s: too long", OCICRYPT_ANNOT_KEYS_PREFIX,
		    scheme);
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		uint8_t *dec = NULL;
		size_t declen = 0;

		if (n > 0) {
			if (++count > LAYER_MAX_WRAPS)
				return core_errf(eb, CORE_ERR_TOO_BIG,
				    "annotation %s%s: more than %d keys",
				    OCICRYPT_ANNOT_KEYS_PREFIX, scheme,
				    LAYER_MAX_WRAPS);
			if ((err = core_b64_decode(p, n, &dec, &declen, eb)) !=
			    CORE_OK) {
				core_errbuf_prefix(eb, "annotation %s%s",
				    OCICRYPT_ANNOT_KEYS_PREFIX, scheme);
				return err;
			}
			err = fn(ctx, scheme, dec, declen, eb);
			core_wipe(dec, declen);
			free(dec);
			if (err != CORE_OK)
				return err;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return CORE_OK;
}

struct reqlist {
	struct ocicrypt_keyreq *r;
	size_t n;
};

/* Collects alg (and kid) from a JWE's protected header and recipients. */
static void
jwe_algs(const uint8_t *p, size_t n, struct core_buf *algs, char **kid)
{
	json_t *root = NULL, *prot = NULL, *rs, *h;
	uint8_t *dec = NULL;
	size_t declen = 0, i;
	const char *ps;

	if (core_json_parse_object(p, n, OCICRYPT_JSON_MAX, &root, NULL) !=
	    CORE_OK)
		return;
	ps = json_string_value(json_object_get(root, "protected"));
	if (ps != NULL &&
	    core_b64url_decode(ps, strlen(ps), &dec, &declen, NULL) == CORE_OK)
		core_json_parse_object(
		    dec, declen, OCICRYPT_JSON_MAX, &prot, NULL);
	free(dec);
	rs = json_object_get(root, "recipients");
	for (i = 0; i <= json_array_size(rs); i++) {
		const char *a = NULL, *k = NULL;

		if (json_is_array(rs) && i < json_array_size(rs)) {
			h = json_object_get(json_array_get(rs, i), "header");
		} else if (!json_is_array(rs) && i == 0) {
			h = json_object_get(root, "header");
		} else {
			break;
		}
		a = json_string_value(json_object_get(h, "alg"));
		k = json_string_value(json_object_get(h, "kid"));
		if (a == NULL)
			a = json_string_value(json_object_get(prot, "alg"));
		if (k == NULL)
			k = json_string_value(json_object_get(prot, "kid"));
		if (a != NULL)
			core_buf_printf(algs, "%s%s", algs->len ? "," : "", a);
		if (k != NULL && *kid == NULL)
			*kid = strdup(k);
	}
	json_decref(prot);
	json_decref(root);
}

static enum core_err
req_item(void *ctx, const char *scheme, const uint8_t *p, size_t n,
    struct core_errbuf *eb)
{
	struct reqlist *l = ctx;
	struct ocicrypt_keyreq *nr, *r;
	struct core_buf algs;

	(void)eb;
	if ((nr = realloc(l->r, (l->n + 1) * sizeof(*nr))) == NULL)
		return CORE_ERR_NOMEM;
	l->r = nr;
	r = &l->r[l->n++];
	memset(r, 0, sizeof(*r));
	if ((r->scheme = strdup(scheme)) == NULL)
		return CORE_ERR_NOMEM;
	if (strncmp(scheme, "provider.", 9) == 0) {
		struct ocicrypt_packet pk;

		/* A packet that does not parse still names the scheme. */
		if (ocicrypt_packet_parse(p, n, &pk, NULL) == CORE_OK) {
			r->kid = strdup(pk.kid);
			r->alg = strdup(pk.wrap_type);
			ocicrypt_packet_cleanup(&pk);
		}
	} else if (strcmp(scheme, "jwe") == 0) {
		core_buf_init(&algs, 4096);
		jwe_algs(p, n, &algs, &r->kid);
		if (algs.len > 0)
			r->alg = (char *)core_buf_steal(&algs, NULL);
		core_buf_cleanup(&algs);
	}
	return CORE_OK;
}

enum core_err
ocicrypt_layer_keyreqs(const struct oci_desc *d, struct ocicrypt_keyreq **out,
    size_t *n_out, struct core_errbuf *eb)
{
	struct reqlist l = {NULL, 0};
	const char *k;
	json_t *v;
	enum core_err err = CORE_OK;
	size_t pl = strlen(OCICRYPT_ANNOT_KEYS_PREFIX);

	*out = NULL;
	*n_out = 0;
	if (d->annotations != NULL) {
		json_object_foreach(d->annotations, k, v)
		{
			if (strncmp(k, OCICRYPT_ANNOT_KEYS_PREFIX, pl) != 0 ||
			    !json_is_string(v))
				continue;
			if ((err = for_each_item(k + pl, json_string_value(v),
			         req_item, &l, eb)) != CORE_OK)
				break;
		}
	}
	if (err != CORE_OK) {
		ocicrypt_keyreqs_free(l.r, l.n);
		return err;
	}
	if (l.n == 0 && ocicrypt_media_encrypted(d->media_type))
		return core_errf(eb, CORE_ERR_INVALID,
		    "layer %s: encrypted but carries no enc.keys annotation",
		    d->digest);
	*out = l.r;
	*n_out = l.n;
	return CORE_OK;
}

struct unwrap_ctx {
	const struct ocicrypt_keys *keys;
	struct secret *found; /* the private options JSON */
	struct core_buf why;  /* what was tried and why it failed */
};

static void
why_add(struct unwrap_ctx *u, const char *what, const char *msg)
{
	core_buf_printf(&u->why, "%s%s: %s", u->why.len ? "; " : "", what, msg);
}

static void
try_packet(struct unwrap_ctx *u, const char *scheme, const uint8_t *p, size_t n)
{
	struct ocicrypt_packet pk;
	struct core_errbuf eb;
	struct secret *kek = NULL;
	size_t i;
	char what[1200];

	core_errbuf_clear(&eb);
	if (ocicrypt_packet_parse(p, n, &pk, &eb) != CORE_OK) {
		why_add(u, scheme, core_errbuf_msg(&eb));
		return;
	}
	snprintf(what, sizeof(what), "%s kid %s", scheme, pk.kid);
	if (u->keys->kek_for_kid != NULL) {
		core_errbuf_clear(&eb);
		if (u->keys->kek_for_kid(u->keys->kek_ctx, pk.kid, &kek, &eb) !=
		    CORE_OK) {
			why_add(u, what, core_errbuf_msg(&eb));
		} else {
			core_errbuf_clear(&eb);
			if (ocicrypt_packet_unwrap(&pk, kek, &u->found, &eb) !=
			    CORE_OK)
				why_add(u, what, core_errbuf_msg(&eb));
			secret_free(kek);
		}
	}
	for (i = 0; u->found == NULL && i < u->keys->nkeks; i++) {
		core_errbuf_clear(&eb);
		if (ocicrypt_packet_unwrap(
		        &pk, u->keys->keks[i], &u->found, &eb) != CORE_OK)
			why_add(u, what, core_errbuf_msg(&eb));
	}
	if (u->found == NULL && u->keys->kek_for_kid == NULL &&
	    u->keys->nkeks == 0)
		why_add(u, what, "no KEK given");
	ocicrypt_packet_cleanup(&pk);
}

static void
try_jwe(struct unwrap_ctx *u, const uint8_t *p, size_t n)
{
	struct crypto_jwe_dec_opts o;
	struct core_errbuf eb;

	if (u->keys->njwe_keys == 0) {
		why_add(u, "jwe", "no private key given");
		return;
	}
	memset(&o, 0, sizeof(o));
	o.keys = u->keys->jwe_keys;
	o.nkeys = u->keys->njwe_keys;
	o.max_len = OCICRYPT_JSON_MAX;
	core_errbuf_clear(&eb);
	if (crypto_jwe_decrypt(p, n, &o, &u->found, NULL, &eb) != CORE_OK) {
		u->found = NULL;
		why_add(u, "jwe", core_errbuf_msg(&eb));
	}
}

static enum core_err
unwrap_item(void *ctx, const char *scheme, const uint8_t *p, size_t n,
    struct core_errbuf *eb)
{
	struct unwrap_ctx *u = ctx;

	(void)eb;
	if (u->found != NULL)
		return CORE_OK;
	if (strncmp(scheme, "provider.", 9) == 0 &&
	    u->keys->providers != NULL && u->keys->provider_name != NULL &&
	    strcmp(scheme + 9, u->keys->provider_name) == 0) {
		struct core_errbuf e1;

		core_errbuf_clear(&e1);
		if (ocicrypt_kp_unwrap(u->keys->providers, scheme + 9,
		        u->keys->provider_param, p, n, &u->found,
		        &e1) != CORE_OK)
			why_add(u, scheme, core_errbuf_msg(&e1));
		if (u->found == NULL &&
		    (u->keys->nkeks > 0 || u->keys->kek_for_kid != NULL))
			try_packet(u, scheme, p, n);
	} else if (strncmp(scheme, "provider.", 9) == 0)
		try_packet(u, scheme, p, n);
	else if (strcmp(scheme, "jwe") == 0)
		try_jwe(u, p, n);
	else
		why_add(u, scheme, "key scheme not supported");
	return CORE_OK;
}

enum core_err
ocicrypt_layer_unwrap(const struct oci_desc *d,
    const struct ocicrypt_keys *keys, struct ocicrypt_privopts *priv,
    struct ocicrypt_pubopts *pub, struct core_errbuf *eb)
{
	struct unwrap_ctx u;
	const char *k;
	json_t *v, *po;
	uint8_t *pdec = NULL;
	size_t pdlen = 0, pl = strlen(OCICRYPT_ANNOT_KEYS_PREFIX);
	enum core_err err = CORE_OK;
	bool any = false;

	memset(priv, 0, sizeof(*priv));
	memset(pub, 0, sizeof(*pub));
	memset(&u, 0, sizeof(u));
	u.keys = keys;
	core_buf_init(&u.why, 4096);
	if (d->annotations == NULL) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "layer %s: no annotations (not an ocicrypt layer)",
		    d->digest);
		goto out;
	}
	po = json_object_get(d->annotations, OCICRYPT_ANNOT_PUBOPTS);
	if (!json_is_string(po)) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "layer %s: missing %s annotation", d->digest,
		    OCICRYPT_ANNOT_PUBOPTS);
		goto out;
	}
	if ((err = core_b64_decode(json_string_value(po),
	         json_string_length(po), &pdec, &pdlen, eb)) != CORE_OK ||
	    (err = ocicrypt_pubopts_parse(pdec, pdlen, pub, eb)) != CORE_OK) {
		core_errbuf_prefix(
		    eb, "layer %s: %s", d->digest, OCICRYPT_ANNOT_PUBOPTS);
		goto out;
	}
	json_object_foreach(d->annotations, k, v)
	{
		if (strncmp(k, OCICRYPT_ANNOT_KEYS_PREFIX, pl) != 0 ||
		    !json_is_string(v))
			continue;
		any = true;
		if ((err = for_each_item(k + pl, json_string_value(v),
		         unwrap_item, &u, eb)) != CORE_OK)
			goto out;
		if (u.found != NULL)
			break;
	}
	if (!any) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "layer %s: no %s* annotation", d->digest,
		    OCICRYPT_ANNOT_KEYS_PREFIX);
		goto out;
	}
	if (u.found == NULL) {
		err = core_errf(eb, CORE_ERR_AUTH,
		    "layer %s: no key unwrapped it: %s", d->digest,
		    u.why.len ? (char *)u.why.data : "nothing tried");
		goto out;
	}
	if ((err = ocicrypt_privopts_parse(
	         u.found->ptr, u.found->len, priv, eb)) != CORE_OK) {
		core_errbuf_prefix(eb, "layer %s", d->digest);
		goto out;
	}
out:
	secret_free(u.found);
	core_buf_cleanup(&u.why);
	free(pdec);
	if (err != CORE_OK) {
		ocicrypt_privopts_cleanup(priv);
		ocicrypt_pubopts_cleanup(pub);
	}
	return err;
}
