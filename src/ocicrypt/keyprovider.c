/*
 * keyprovider.c -- the ocicrypt keyprovider protocol, provider side:
 * keywrap (keypath=/keyid=[/algorithm=] parameters, CoCo packet out) and
 * keyunwrap (packet in, private options out).
 */
#include "ocicrypt/ocicrypt.h"
#include "ocicrypt/ocicrypt_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kp_params {
	char *keypath;
	char *keyid;
	char *algorithm;
};

static void
kp_params_cleanup(struct kp_params *p)
{
	free(p->keypath);
	free(p->keyid);
	free(p->algorithm);
	memset(p, 0, sizeof(*p));
}

/* Parses "k=v::k=v"; each item splits at its first '='. */
STATIC enum core_err
ocicrypt_kp_params_parse(
    const char *s, size_t n, struct kp_params *out, struct core_errbuf *eb)
{
	const char *p = s, *end = s + n;

	memset(out, 0, sizeof(*out));
	while (p < end) {
		const char *sep = p, *eq;
		size_t il;
		char **slot = NULL;

		while (sep < end &&
		    !(sep + 1 < end && sep[0] == ':' && sep[1] == ':'))
			sep++;
		il = (size_t)(sep - p);
		eq = memchr(p, '=', il);
		if (il > 0 && eq == NULL) {
			kp_params_cleanup(out);
			return core_errf(eb, CORE_ERR_INVALID,
			    "keyprovider parameter \"%.*s\": want key=value",
			    (int)(il > 64 ? 64 : il), p);
		}
		if (il > 0) {
			size_t kl = (size_t)(eq - p);

			if (kl == 7 && strncmp(p, "keypath", 7) == 0)
				slot = &out->keypath;
			else if (kl == 5 && strncmp(p, "keyid", 5) == 0)
				slot = &out->keyid;
			else if (kl == 9 && strncmp(p, "algorithm", 9) == 0)
				slot = &out->algorithm;
			if (slot != NULL) {
				free(*slot);
				*slot = strndup(eq + 1, il - kl - 1);
				if (*slot == NULL) {
					kp_params_cleanup(out);
					return CORE_ERR_NOMEM;
				}
			}
		}
		p = sep < end ? sep + 2 : end;
	}
	return CORE_OK;
}

static enum core_err
kp_wrap(json_t *root, char **resp, struct core_errbuf *eb)
{
	json_t *kw = json_object_get(root, "keywrapparams");
	json_t *params =
	    json_object_get(json_object_get(kw, "ec"), "Parameters");
	json_t *od = json_object_get(kw, "optsdata"), *vals, *v, *o = NULL;
	const char *name;
	struct kp_params kp = {0};
	struct secret *kek = NULL;
	struct ocicrypt_packet pk = {0};
	struct ocicrypt_privopts check;
	uint8_t *opts = NULL, *pv = NULL;
	size_t olen = 0, pvlen = 0, i;
	char *pj = NULL;
	enum core_err err = CORE_OK;
	bool have = false;

	memset(&check, 0, sizeof(check));
	if (!json_is_object(params)) {
		return core_errf(eb, CORE_ERR_INVALID,
		    "keywrap: keywrapparams.ec.Parameters missing");
	}
	json_object_foreach(params, name, vals)
	{
		if (!json_is_array(vals))
			continue;
		json_array_foreach(vals, i, v)
		{
			free(pv);
			pv = NULL;
			if ((err = ocicrypt_json_bytes(v, "keywrap parameter",
			         65536, &pv, &pvlen, eb)) != CORE_OK)
				goto out;
			kp_params_cleanup(&kp);
			if ((err = ocicrypt_kp_params_parse(
			         (char *)pv, pvlen, &kp, eb)) != CORE_OK)
				goto out;
			if (kp.keyid != NULL || kp.keypath != NULL) {
				have = true;
				break;
			}
		}
		if (have)
			break;
	}
	if (!have) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "keywrap: no parameter with keypath= and keyid=");
		goto out;
	}
	if (kp.keypath == NULL || kp.keyid == NULL) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "keywrap: need both keypath= and keyid= (got %s)",
		    kp.keypath == NULL ? "no keypath" : "no keyid");
		goto out;
	}
	if (kp.algorithm != NULL && strcmp(kp.algorithm, "A256GCM") != 0) {
		err = core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "keywrap: algorithm %s not supported (A256GCM only)",
		    kp.algorithm);
		goto out;
	}
	/* The ocicrypt-rs client sends raw JSON instead of base64. */
	if (json_is_string(od) && json_string_value(od)[0] == '{') {
		olen = json_string_length(od);
		if ((opts = malloc(olen + 1)) == NULL) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
		memcpy(opts, json_string_value(od), olen + 1);
	} else if ((err = ocicrypt_json_bytes(od, "keywrap optsdata",
	                OCICRYPT_JSON_MAX, &opts, &olen, eb)) != CORE_OK) {
		goto out;
	}
	if ((err = ocicrypt_privopts_parse(opts, olen, &check, eb)) !=
	    CORE_OK) {
		core_errbuf_prefix(eb, "keywrap optsdata");
		goto out;
	}
	if ((err = ocicrypt_kek_load(kp.keypath, &kek, eb)) != CORE_OK ||
	    (err = ocicrypt_packet_wrap(
	         kp.keyid, kek, NULL, opts, olen, &pk, eb)) != CORE_OK)
		goto out;
	if ((pj = ocicrypt_packet_dump(&pk)) == NULL ||
	    (o = json_pack("{s:{s:o}}", "keywrapresults", "annotation",
	         ocicrypt_json_int_array((uint8_t *)pj, strlen(pj)))) == NULL ||
	    (*resp = core_json_dumps(o)) == NULL)
		err = CORE_ERR_NOMEM;
out:
	if (opts != NULL)
		core_wipe(opts, olen);
	free(opts);
	free(pv);
	free(pj);
	json_decref(o);
	secret_free(kek);
	kp_params_cleanup(&kp);
	ocicrypt_packet_cleanup(&pk);
	ocicrypt_privopts_cleanup(&check);
	return err;
}

static enum core_err
kp_unwrap(json_t *root, const struct ocicrypt_kp_config *c, char **resp,
    struct core_errbuf *eb)
{
	json_t *ku = json_object_get(root, "keyunwrapparams"), *o = NULL;
	uint8_t *ann = NULL;
	size_t alen = 0, i;
	struct ocicrypt_packet pk = {0};
	struct secret *po = NULL, *kek = NULL;
	struct core_buf why;
	struct core_errbuf e1;
	json_t *arr = NULL;
	enum core_err err;

	core_buf_init(&why, 4096);
	if ((err = ocicrypt_json_bytes(json_object_get(ku, "annotation"),
	         "keyunwrap annotation", OCICRYPT_JSON_MAX, &ann, &alen, eb)) !=
	    CORE_OK)
		goto out;
	if (alen == 0) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "keyunwrap: keyunwrapparams.annotation missing");
		goto out;
	}
	if ((err = ocicrypt_packet_parse(ann, alen, &pk, eb)) != CORE_OK)
		goto out;
	if (c->kek_for_kid != NULL) {
		core_errbuf_clear(&e1);
		if (c->kek_for_kid(c->kek_ctx, pk.kid, &kek, &e1) == CORE_OK) {
			core_errbuf_clear(&e1);
			ocicrypt_packet_unwrap(&pk, kek, &po, &e1);
		}
		if (po == NULL)
			core_buf_printf(&why, "%s", core_errbuf_msg(&e1));
	}
	for (i = 0; po == NULL && i < c->nkeks; i++) {
		core_errbuf_clear(&e1);
		if (ocicrypt_packet_unwrap(&pk, c->keks[i], &po, &e1) !=
		    CORE_OK)
			core_buf_printf(&why, "%s%s", why.len ? "; " : "",
			    core_errbuf_msg(&e1));
	}
	if (po == NULL) {
		err = core_errf(eb, CORE_ERR_AUTH, "keyunwrap: kid %s: %s",
		    pk.kid, why.len ? (char *)why.data : "no KEK configured");
		goto out;
	}
	if ((arr = ocicrypt_json_int_array(po->ptr, po->len)) == NULL ||
	    (o = json_pack("{s:{s:O}}", "keyunwrapresults", "optsdata", arr)) ==
	        NULL ||
	    (*resp = core_json_dumps(o)) == NULL)
		err = CORE_ERR_NOMEM;
out:
	json_decref(arr);
	json_decref(o);
	free(ann);
	secret_free(po);
	secret_free(kek);
	ocicrypt_packet_cleanup(&pk);
	core_buf_cleanup(&why);
	return err;
}

enum core_err
ocicrypt_keyprovider_handle(const void *req, size_t n,
    const struct ocicrypt_kp_config *c, char **resp_out, struct core_errbuf *eb)
{
	json_t *root = NULL;
	const char *op = NULL;
	enum core_err err;

	*resp_out = NULL;
	if ((err = core_json_parse_object(
	         req, n, OCICRYPT_JSON_MAX, &root, eb)) != CORE_OK) {
		core_errbuf_prefix(eb, "keyprovider request");
		return err;
	}
	if ((err = core_json_get_str(root, "op", true, &op, eb)) != CORE_OK) {
		core_errbuf_prefix(eb, "keyprovider request");
		goto out;
	}
	if (strcmp(op, "keywrap") == 0)
		err = kp_wrap(root, resp_out, eb);
	else if (strcmp(op, "keyunwrap") == 0)
		err = kp_unwrap(root, c, resp_out, eb);
	else
		err = core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "keyprovider: unknown op \"%s\"", op);
out:
	json_decref(root);
	return err;
}
