/*
 * kpclient.c -- the ocicrypt keyprovider protocol, client side: loads
 * OCICRYPT_KEYPROVIDER_CONFIG and runs cmd providers (request on stdin,
 * response on stdout), as containers/ocicrypt does.
 */
#include "ocicrypt/ocicrypt.h"
#include "ocicrypt/ocicrypt_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KP_MAX_PROVIDERS 64
#define KP_MAX_ARGS 64
#define KP_TIMEOUT_MS 60000

struct kp_provider {
	char *name;      /* owned */
	char **argv;     /* owned: path, args..., NULL; NULL if not cmd */
	char *transport; /* owned: "cmd", "grpc", "ttrpc", ... */
};

struct ocicrypt_kp_client {
	struct kp_provider *p; /* owned array */
	size_t n;
	const char *const *envp; /* borrowed */
};

void
ocicrypt_kp_client_free(struct ocicrypt_kp_client *c)
{
	size_t i, k;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++) {
		free(c->p[i].name);
		free(c->p[i].transport);
		for (k = 0; c->p[i].argv != NULL && c->p[i].argv[k] != NULL;
		     k++)
			free(c->p[i].argv[k]);
		free(c->p[i].argv);
	}
	free(c->p);
	free(c);
}

static enum core_err
load_cmd(const char *name, json_t *cmd, struct kp_provider *p,
    struct core_errbuf *eb)
{
	const char *path = NULL;
	json_t *args = json_object_get(cmd, "args"), *a;
	size_t i, n;
	enum core_err err;

	if (!json_is_object(cmd))
		return core_errf(eb, CORE_ERR_INVALID,
		    "key provider %s: cmd must be an object", name);
	if ((err = core_json_get_str(cmd, "path", true, &path, eb)) !=
	    CORE_OK) {
		core_errbuf_prefix(eb, "key provider %s: cmd", name);
		return err;
	}
	if (args != NULL && !json_is_null(args) && !json_is_array(args))
		return core_errf(eb, CORE_ERR_INVALID,
		    "key provider %s: cmd.args must be an array", name);
	n = json_is_array(args) ? json_array_size(args) : 0;
	if (n > KP_MAX_ARGS)
		return core_errf(eb, CORE_ERR_TOO_BIG,
		    "key provider %s: more than %d args", name, KP_MAX_ARGS);
	if ((p->argv = calloc(n + 2, sizeof(*p->argv))) == NULL ||
	    (p->argv[0] = strdup(path)) == NULL)
		return CORE_ERR_NOMEM;
	json_array_foreach(args, i, a)
	{
		if (!json_is_string(a))
			return core_errf(eb, CORE_ERR_INVALID,
			    "key provider %s: cmd.args[%zu] is not a string",
			    name, i);
		if ((p->argv[i + 1] = strdup(json_string_value(a))) == NULL)
			return CORE_ERR_NOMEM;
	}
	return CORE_OK;
}

enum core_err
ocicrypt_kp_client_load(const char *path, const char *const *envp,
    struct ocicrypt_kp_client **out, struct core_errbuf *eb)
{
	uint8_t *raw = NULL;
	size_t len = 0;
	json_t *root = NULL, *kps, *v;
	const char *name;
	struct ocicrypt_kp_client *c = NULL;
	enum core_err err;

	*out = NULL;
	if ((err = core_fs_read(path, OCICRYPT_JSON_MAX, &raw, &len, eb)) !=
	    CORE_OK)
		return err;
	if ((err = core_json_parse_object(
	         raw, len, OCICRYPT_JSON_MAX, &root, eb)) != CORE_OK) {
		core_errbuf_prefix(eb, "%s", path);
		goto out;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	c->envp = envp;
	kps = json_object_get(root, "key-providers");
	if (!json_is_object(kps) || json_object_size(kps) > KP_MAX_PROVIDERS) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "%s: \"key-providers\" must be an object (at most %d)",
		    path, KP_MAX_PROVIDERS);
		goto out;
	}
	if ((c->p = calloc(json_object_size(kps) + 1, sizeof(*c->p))) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	json_object_foreach(kps, name, v)
	{
		struct kp_provider *p = &c->p[c->n++];
		const char *t = NULL;

		if ((p->name = strdup(name)) == NULL) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
		if (!json_is_object(v)) {
			err = core_errf(eb, CORE_ERR_INVALID,
			    "%s: key provider %s is not an object", path, name);
			goto out;
		}
		if (json_object_get(v, "cmd") != NULL) {
			t = "cmd";
			if ((err = load_cmd(name, json_object_get(v, "cmd"), p,
			         eb)) != CORE_OK)
				goto out;
		} else if (json_object_get(v, "grpc") != NULL) {
			t = "grpc";
		} else if (json_object_get(v, "ttrpc") != NULL) {
			t = "ttrpc";
		} else {
			t = "unknown";
		}
		if ((p->transport = strdup(t)) == NULL) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
	}
	*out = c;
	c = NULL;
out:
	ocicrypt_kp_client_free(c);
	json_decref(root);
	free(raw);
	return err;
}

static const struct kp_provider *
find(const struct ocicrypt_kp_client *c, const char *name)
{
	size_t i;

	for (i = 0; c != NULL && i < c->n; i++)
		if (strcmp(c->p[i].name, name) == 0)
			return &c->p[i];
	return NULL;
}

bool
ocicrypt_kp_client_has(const struct ocicrypt_kp_client *c, const char *name)
{
	return find(c, name) != NULL;
}

/* Runs the provider with req on stdin; *resp_out is the parsed output. */
static enum core_err
run(const struct ocicrypt_kp_client *c, const char *name, const char *req,
    json_t **resp_out, struct core_errbuf *eb)
{
	const struct kp_provider *p = find(c, name);
	struct core_proc_opts o;
	struct core_proc_result r;
	enum core_err err;

	*resp_out = NULL;
	if (p == NULL)
		return core_errf(eb, CORE_ERR_NOT_FOUND,
		    "key provider %s is not configured", name);
	if (p->argv == NULL)
		return core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "key provider %s: %s transport not supported (cmd only)",
		    name, p->transport);
	memset(&o, 0, sizeof(o));
	memset(&r, 0, sizeof(r));
	o.argv = (const char *const *)p->argv;
	o.envp = c->envp;
	o.stdin_data = req;
	o.stdin_len = strlen(req);
	o.stdout_max = OCICRYPT_JSON_MAX;
	o.stderr_max = 4096;
	o.timeout_ms = KP_TIMEOUT_MS;
	if ((err = core_proc_run(&o, &r, eb)) != CORE_OK) {
		core_errbuf_prefix(eb, "key provider %s", name);
		goto out;
	}
	if (r.timed_out || r.signaled || r.exit_code != 0) {
		size_t el = r.err.len;

		while (el > 0 &&
		    (r.err.data[el - 1] == '\n' || r.err.data[el - 1] == '\r'))
			el--;
		err = core_errf(eb, CORE_ERR_AUTH,
		    "key provider %s (%s) %s%s%.*s", name, p->argv[0],
		    r.timed_out      ? "timed out"
		        : r.signaled ? "was killed"
		                     : "failed",
		    el > 0 ? ": " : "", (int)(el > 300 ? 300 : el),
		    el > 0 ? (const char *)r.err.data : "");
		goto out;
	}
	if (r.out_truncated) {
		err = core_errf(eb, CORE_ERR_TOO_BIG,
		    "key provider %s: response too large", name);
		goto out;
	}
	if ((err = core_json_parse_object(r.out.data, r.out.len,
	         OCICRYPT_JSON_MAX, resp_out, eb)) != CORE_OK)
		core_errbuf_prefix(eb, "key provider %s: response", name);
out:
	if (r.out.data != NULL)
		core_wipe(r.out.data, r.out.len);
	core_proc_result_cleanup(&r);
	return err;
}

enum core_err
ocicrypt_kp_wrap(const struct ocicrypt_kp_client *c, const char *name,
    const char *param, const struct secret *privopts, uint8_t **out,
    size_t *len_out, struct core_errbuf *eb)
{
	char *pb = NULL, *ob = NULL, *req = NULL;
	json_t *q = NULL, *resp = NULL;
	enum core_err err = CORE_OK;
	const char *pv = param != NULL && *param != '\0' ? param : "Enabled";

	*out = NULL;
	*len_out = 0;
	pb = core_b64_encode(pv, strlen(pv));
	ob = core_b64_encode(privopts->ptr, privopts->len);
	if (pb == NULL || ob == NULL ||
	    (q = json_pack("{s:s,s:{s:{s:{s:[s]},s:{s:{}}},s:s},s:{s:n,s:n}}",
	         "op", "keywrap", "keywrapparams", "ec", "Parameters", name, pb,
	         "DecryptConfig", "Parameters", "optsdata", ob,
	         "keyunwrapparams", "dc", "annotation")) == NULL ||
	    (req = core_json_dumps(q)) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	if ((err = run(c, name, req, &resp, eb)) != CORE_OK)
		goto out;
	if ((err = ocicrypt_json_bytes(
	         json_object_get(
	             json_object_get(resp, "keywrapresults"), "annotation"),
	         "keywrapresults.annotation", OCICRYPT_JSON_MAX, out, len_out,
	         eb)) != CORE_OK)
		goto out;
	if (*len_out == 0) {
		free(*out);
		*out = NULL;
		err = core_errf(eb, CORE_ERR_INVALID,
		    "key provider %s returned no annotation", name);
	}
out:
	if (ob != NULL)
		core_wipe(ob, strlen(ob));
	if (req != NULL)
		core_wipe(req, strlen(req));
	free(pb);
	free(ob);
	free(req);
	json_decref(q);
	json_decref(resp);
	return err;
}

enum core_err
ocicrypt_kp_unwrap(const struct ocicrypt_kp_client *c, const char *name,
    const char *param, const uint8_t *ann, size_t n,
    struct secret **privopts_out, struct core_errbuf *eb)
{
	char *pb = NULL, *ab = NULL, *req = NULL;
	json_t *q = NULL, *resp = NULL;
	uint8_t *po = NULL;
	size_t pl = 0;
	enum core_err err = CORE_OK;
	const char *pv = param != NULL && *param != '\0' ? param : "Enabled";

	*privopts_out = NULL;
	pb = core_b64_encode(pv, strlen(pv));
	ab = core_b64_encode(ann, n);
	if (pb == NULL || ab == NULL ||
	    (q = json_pack("{s:s,s:{s:n,s:n},s:{s:{s:{s:[s]}},s:s}}", "op",
	         "keyunwrap", "keywrapparams", "ec", "optsdata",
	         "keyunwrapparams", "dc", "Parameters", name, pb, "annotation",
	         ab)) == NULL ||
	    (req = core_json_dumps(q)) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	if ((err = run(c, name, req, &resp, eb)) != CORE_OK)
		goto out;
	if ((err = ocicrypt_json_bytes(
	         json_object_get(
	             json_object_get(resp, "keyunwrapresults"), "optsdata"),
	         "keyunwrapresults.optsdata", OCICRYPT_JSON_MAX, &po, &pl,
	         eb)) != CORE_OK)
		goto out;
	if (pl == 0) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "key provider %s returned no optsdata", name);
		goto out;
	}
	if ((*privopts_out = secret_from(po, pl)) == NULL)
		err = CORE_ERR_NOMEM;
out:
	if (po != NULL)
		core_wipe(po, pl);
	free(po);
	free(pb);
	free(ab);
	free(req);
	json_decref(q);
	json_decref(resp);
	return err;
}
