/*
 * fetch_proto.c -- the request body of the fetch helper's protocol
 * (fetch_helper.h): one JSON object, encoded by the daemon and decoded by
 * the helper like any input from outside.
 */
#include "proplet/fetch_helper.h"

#include <stdlib.h>
#include <string.h>

STATIC enum core_err dup_opt(const json_t *o, const char *key, char **out,
    struct core_errbuf *eb);

static const char *const op_names[] = {
	[PROPLET_FETCH_OP_HTTP] = "http",
	[PROPLET_FETCH_OP_PULL] = "pull",
	[PROPLET_FETCH_OP_ENCRYPTED] = "encrypted",
};

static enum core_err
set_str(json_t *o, const char *key, const char *v)
{
	if (v == NULL)
		return CORE_OK;
	return json_object_set_new(o, key, json_string(v)) == 0 ? CORE_OK :
	    CORE_ERR_NOMEM;
}

enum core_err
proplet_fetch_req_encode(const struct proplet_fetch_req *r, char **out,
    size_t *len, struct core_errbuf *eb)
{
	enum core_err err = CORE_ERR_NOMEM;
	json_t *o;

	*out = NULL;
	*len = 0;
	if (r->op < PROPLET_FETCH_OP_HTTP || r->op > PROPLET_FETCH_OP_ENCRYPTED ||
	    r->url == NULL)
		return core_errf(eb, CORE_ERR_INVALID, "fetch request: bad op or url");
	if ((o = json_object()) == NULL)
		return CORE_ERR_NOMEM;
	if (json_object_set_new(o, "op", json_string(op_names[r->op])) != 0 ||
	    set_str(o, "url", r->url) != CORE_OK ||
	    set_str(o, "kbs_resource_path", r->kbs_resource_path) != CORE_OK ||
	    set_str(o, "kbs_uri", r->kbs_uri) != CORE_OK ||
	    json_object_set_new(o, "tee_kind", json_integer(r->tee_kind)) != 0 ||
	    json_object_set_new(o, "require_kid_match",
	    json_boolean(r->require_kid_match)) != 0 ||
	    set_str(o, "registry_username", r->registry_username) != CORE_OK ||
	    set_str(o, "registry_password", r->registry_password) != CORE_OK ||
	    set_str(o, "registry_authfile", r->registry_authfile) != CORE_OK ||
	    json_object_set_new(o, "registry_insecure",
	    json_boolean(r->registry_insecure)) != 0)
		goto out;
	if ((*out = core_json_dumps(o)) == NULL)
		goto out;
	*len = strlen(*out);
	if (*len > PROPLET_FETCH_REQ_MAX) {
		core_wipe(*out, *len);
		free(*out);
		*out = NULL;
		*len = 0;
		err = core_errf(eb, CORE_ERR_TOO_BIG,
		    "fetch request: larger than %u bytes", PROPLET_FETCH_REQ_MAX);
		goto out;
	}
	err = CORE_OK;
out:
	json_decref(o);
	return err;
}

STATIC enum core_err
dup_opt(const json_t *o, const char *key, char **out, struct core_errbuf *eb)
{
	const char *v = NULL;
	enum core_err err;

	if ((err = core_json_get_str(o, key, false, &v, eb)) != CORE_OK)
		return err;
	if (v == NULL)
		return CORE_OK;
	if ((*out = strdup(v)) == NULL)
		return CORE_ERR_NOMEM;
	return CORE_OK;
}

enum core_err
proplet_fetch_req_decode(const void *p, size_t n, struct proplet_fetch_req *r,
    struct core_errbuf *eb)
{
	static const char *const known[] = { "op", "url", "kbs_resource_path",
		"kbs_uri", "tee_kind", "require_kid_match", "registry_username",
		"registry_password", "registry_authfile", "registry_insecure" };
	const char *op = NULL, *key;
	int64_t tee = 0;
	enum core_err err;
	json_t *o = NULL, *v;
	size_t i;

	memset(r, 0, sizeof(*r));
	err = core_json_parse_object(p, n, PROPLET_FETCH_REQ_MAX, &o, eb);
	if (err != CORE_OK)
		goto out;
	json_object_foreach(o, key, v) {
		for (i = 0; i < CORE_ARRAY_LEN(known); i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (i == CORE_ARRAY_LEN(known)) {
			err = core_errf(eb, CORE_ERR_INVALID,
			    "fetch request: unknown member \"%.64s\"", key);
			goto out;
		}
	}
	if ((err = core_json_get_str(o, "op", true, &op, eb)) != CORE_OK)
		goto out;
	for (i = PROPLET_FETCH_OP_HTTP; i <= PROPLET_FETCH_OP_ENCRYPTED; i++)
		if (strcmp(op, op_names[i]) == 0)
			r->op = (enum proplet_fetch_op)i;
	if (r->op == 0) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "fetch request: unknown op \"%.32s\"", op);
		goto out;
	}
	if ((err = dup_opt(o, "url", &r->url, eb)) != CORE_OK ||
	    (err = dup_opt(o, "kbs_resource_path", &r->kbs_resource_path,
	    eb)) != CORE_OK ||
	    (err = dup_opt(o, "kbs_uri", &r->kbs_uri, eb)) != CORE_OK ||
	    (err = dup_opt(o, "registry_username", &r->registry_username,
	    eb)) != CORE_OK ||
	    (err = dup_opt(o, "registry_password", &r->registry_password,
	    eb)) != CORE_OK ||
	    (err = dup_opt(o, "registry_authfile", &r->registry_authfile,
	    eb)) != CORE_OK ||
	    (err = core_json_get_int(o, "tee_kind", false, &tee, eb)) != CORE_OK ||
	    (err = core_json_get_bool(o, "require_kid_match", false,
	    &r->require_kid_match, eb)) != CORE_OK ||
	    (err = core_json_get_bool(o, "registry_insecure", false,
	    &r->registry_insecure, eb)) != CORE_OK)
		goto out;
	if (r->url == NULL || *r->url == '\0') {
		err = core_errf(eb, CORE_ERR_INVALID, "fetch request: no url");
		goto out;
	}
	if (tee < 0 || tee > 64) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "fetch request: bad tee_kind %lld", (long long)tee);
		goto out;
	}
	r->tee_kind = (int)tee;
out:
	json_decref(o);
	if (err != CORE_OK)
		proplet_fetch_req_cleanup(r);
	return err;
}

void
proplet_fetch_req_cleanup(struct proplet_fetch_req *r)
{
	if (r == NULL)
		return;
	free(r->url);
	free(r->kbs_resource_path);
	free(r->kbs_uri);
	free(r->registry_username);
	if (r->registry_password != NULL) {
		core_wipe(r->registry_password, strlen(r->registry_password));
		free(r->registry_password);
	}
	free(r->registry_authfile);
	memset(r, 0, sizeof(*r));
}
