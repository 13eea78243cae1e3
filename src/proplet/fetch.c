/*
 * fetch.c -- obtaining a module that is not in the start message: an
 * http(s) URL, a registry pull, an encrypted image. Each is done by the
 * fetch helper, a separate program (fetch_helper.h), so the daemon never
 * loads libcurl, libarchive or a key. Also: reading a task's cli_args.
 */
#include "proplet/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proplet/fetch_helper.h"

/* Fills the registry part of a helper request from the configuration. */
static void
req_from_cfg(struct proplet_fetch_req *q, const struct proplet_config *cfg)
{
	q->registry_username = cfg->registry_username;
	q->registry_password = cfg->registry_password;
	q->registry_authfile = cfg->registry_authfile;
	q->registry_insecure = cfg->registry_insecure;
	q->kbs_uri = cfg->kbs_uri;
	q->require_kid_match = cfg->require_kid_match;
}

enum core_err
proplet_http_get(const char *url, uint8_t **out, size_t *len,
    struct core_errbuf *eb)
{
	struct proplet_fetch_req q = { .op = PROPLET_FETCH_OP_HTTP,
		.url = (char *)url };

	return proplet_fetch_helper_run(&q, out, len, eb);
}

enum core_err
proplet_registry_pull(const struct proplet_config *cfg, const char *image_url,
    uint8_t **out, size_t *len, struct core_errbuf *eb)
{
	struct proplet_fetch_req q = { .op = PROPLET_FETCH_OP_PULL,
		.url = (char *)image_url };

	req_from_cfg(&q, cfg);
	return proplet_fetch_helper_run(&q, out, len, eb);
}

enum core_err
proplet_encrypted_fetch(const struct proplet_encrypted_req *r, uint8_t **out,
    size_t *len, struct core_errbuf *eb)
{
	struct proplet_fetch_req q = { .op = PROPLET_FETCH_OP_ENCRYPTED,
		.url = (char *)r->image_url,
		.kbs_resource_path = (char *)r->kbs_resource_path,
		.tee_kind = r->tee_kind };

	req_from_cfg(&q, r->cfg);
	return proplet_fetch_helper_run(&q, out, len, eb);
}

static enum core_err
push_env(struct proplet_invocation *inv, const char *kv, struct core_errbuf *eb)
{
	char **nv;

	if (strchr(kv, '=') == NULL || kv[0] == '=')
		return core_errf(eb, CORE_ERR_INVALID,
		    "cli_args: --env expects K=V (got \"%s\")", kv);
	if ((nv = realloc(inv->env, (inv->nenv + 1) * sizeof(*nv))) == NULL)
		return CORE_ERR_NOMEM;
	inv->env = nv;
	if ((inv->env[inv->nenv] = strdup(kv)) == NULL)
		return CORE_ERR_NOMEM;
	inv->nenv++;
	return CORE_OK;
}

enum core_err
proplet_invocation_parse(const struct mqtt_strv *cli_args,
    struct proplet_invocation *inv, struct core_errbuf *eb)
{
	enum core_err err;
	size_t i;

	memset(inv, 0, sizeof(*inv));
	for (i = 0; cli_args != NULL && i < cli_args->n; i++) {
		const char *a = cli_args->v[i];
		const char *val = NULL;

		inv->cli_style = true;
		if (strcmp(a, "--invoke") == 0 || strcmp(a, "--env") == 0) {
			if (i + 1 >= cli_args->n)
				return core_errf(eb, CORE_ERR_INVALID,
				    "cli_args: %s needs a value", a);
			val = cli_args->v[++i];
		} else if (strncmp(a, "--invoke=", 9) == 0 ||
		    strncmp(a, "--env=", 6) == 0) {
			val = strchr(a, '=') + 1;
		} else {
			return core_errf(eb, CORE_ERR_INVALID,
			    "cli_args: unsupported argument \"%s\" (only --invoke "
			    "and --env are accepted; --dir would expose host paths)",
			    a);
		}
		if (strncmp(a, "--invoke", 8) == 0) {
			if (*val == '\0' || strchr(val, '(') != NULL)
				return core_errf(eb, CORE_ERR_INVALID,
				    "cli_args: bad --invoke value \"%s\"", val);
			free(inv->invoke);
			if ((inv->invoke = strdup(val)) == NULL)
				return CORE_ERR_NOMEM;
		} else if ((err = push_env(inv, val, eb)) != CORE_OK) {
			return err;
		}
	}
	return CORE_OK;
}

void
proplet_invocation_cleanup(struct proplet_invocation *inv)
{
	size_t i;

	if (inv == NULL)
		return;
	free(inv->invoke);
	for (i = 0; i < inv->nenv; i++)
		free(inv->env[i]);
	free(inv->env);
	memset(inv, 0, sizeof(*inv));
}
