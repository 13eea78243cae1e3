/*
 * config.c -- the proplet's configuration, read once at startup from the
 * upstream environment variables (spec propeller-wire.md §2.5), with the
 * older identity names and the config.toml fallback of §2.1. Every bad
 * value is reported; nothing reads the environment after this.
 */
#include "proplet/proplet.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mqtt/mqtt.h"
#include "tee/tee.h"
#include "wasm/wasm.h"


STATIC char *dup_or_null(const char *s);
STATIC enum core_err split_list(const char *s, char sep, char ***out,
    size_t *nout);
STATIC char *resolve_program(const char *name);

STATIC char *
dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* Splits s on sep into trimmed, non-empty, malloc'd strings. */
STATIC enum core_err
split_list(const char *s, char sep, char ***out, size_t *nout)
{
	char **v = NULL;
	size_t n = 0;
	const char *p = s;

	*out = NULL;
	*nout = 0;
	while (p != NULL && *p != '\0') {
		const char *e = strchr(p, sep);
		size_t len = e != NULL ? (size_t)(e - p) : strlen(p);
		const char *b = p;
		char **nv;

		while (len > 0 && isspace((unsigned char)*b)) {
			b++;
			len--;
		}
		while (len > 0 && isspace((unsigned char)b[len - 1]))
			len--;
		if (len > 0) {
			if ((nv = realloc(v, (n + 1) * sizeof(*v))) == NULL)
				goto nomem;
			v = nv;
			if ((v[n] = strndup(b, len)) == NULL)
				goto nomem;
			n++;
		}
		p = e != NULL ? e + 1 : NULL;
	}
	*out = v;
	*nout = n;
	return CORE_OK;
nomem:
	while (n > 0)
		free(v[--n]);
	free(v);
	return CORE_ERR_NOMEM;
}

/* Finds an executable: a path with '/' as is, else searched in PATH. */
STATIC char *
resolve_program(const char *name)
{
	const char *path = getenv("PATH");
	char **dirs = NULL;
	size_t ndirs = 0, i;
	char *found = NULL;

	if (strchr(name, '/') != NULL)
		return access(name, X_OK) == 0 ? strdup(name) : NULL;
	if (split_list(path != NULL ? path : "/usr/bin:/bin", ':', &dirs,
	    &ndirs) != CORE_OK)
		return NULL;
	for (i = 0; i < ndirs && found == NULL; i++) {
		char *cand = core_path_join(dirs[i], name);
		struct stat st;

		if (cand != NULL && stat(cand, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(cand, X_OK) == 0)
			found = cand;
		else
			free(cand);
	}
	for (i = 0; i < ndirs; i++)
		free(dirs[i]);
	free(dirs);
	return found;
}

struct identity_field {
	const char *const *env;   /* newer name first */
	const char *toml_keys[2]; /* newer key first */
	char **dst;
};

static void
load_identity(struct proplet_config *c, struct core_cfg *errs)
{
	struct identity_field f[] = {
		{ CORE_ENV("PROPLET_TENANT_ID", "PROPLET_DOMAIN_ID"),
		    { "tenant_id", "domain_id" }, &c->tenant_id },
		{ CORE_ENV("PROPLET_ENTITY_ID", "PROPLET_CLIENT_ID"),
		    { "entity_id", "client_id" }, &c->entity_id },
		{ CORE_ENV("PROPLET_API_KEY", "PROPLET_CLIENT_KEY"),
		    { "api_key", "client_key" }, &c->api_key },
		{ CORE_ENV("PROPLET_CHANNEL_ID"), { "channel_id", NULL },
		    &c->channel_id },
	};
	const char *file = core_env_str(errs, CORE_ENV("PROPLET_CONFIG_FILE"),
	    "config.toml");
	const char *section = core_env_str(errs,
	    CORE_ENV("PROPLET_CONFIG_SECTION"), "proplet");
	uint8_t *text = NULL;
	size_t tlen = 0, i;
	bool missing = false, file_read = false;

	for (i = 0; i < CORE_ARRAY_LEN(f); i++) {
		*f[i].dst = dup_or_null(core_env_str(errs, f[i].env, NULL));
		missing = missing || *f[i].dst == NULL;
	}
	if (missing) {
		struct core_errbuf eb;

		core_errbuf_clear(&eb);
		if (core_fs_read(file, CORE_TOML_MAX_BYTES, &text, &tlen, &eb) == CORE_OK)
			file_read = true;
		for (i = 0; i < CORE_ARRAY_LEN(f) && file_read; i++) {
			size_t k;

			for (k = 0; k < 2 && *f[i].dst == NULL &&
			    f[i].toml_keys[k] != NULL; k++) {
				core_errbuf_clear(&eb);
				if (core_toml_get((char *)text, tlen, section,
				    f[i].toml_keys[k], f[i].dst, &eb) != CORE_OK)
					core_cfg_error(errs, "PROPLET_CONFIG_FILE",
					    file, "%s", eb.msg);
			}
		}
	}
	for (i = 0; i < CORE_ARRAY_LEN(f); i++) {
		if (*f[i].dst == NULL || **f[i].dst == '\0')
			core_cfg_error(errs, f[i].env[0], NULL,
			    "required (or %s in [%s] of %s)", f[i].toml_keys[0],
			    section, file);
	}
	if (c->entity_id != NULL && !core_uuid_valid(c->entity_id))
		core_cfg_error(errs, "PROPLET_ENTITY_ID", c->entity_id,
		    "must be a UUID (the proplet id)");
	if (c->tenant_id != NULL && !mqtt_topic_part_valid(c->tenant_id))
		core_cfg_error(errs, "PROPLET_TENANT_ID", c->tenant_id,
		    "not usable in an MQTT topic");
	if (c->channel_id != NULL && !mqtt_topic_part_valid(c->channel_id))
		core_cfg_error(errs, "PROPLET_CHANNEL_ID", c->channel_id,
		    "not usable in an MQTT topic");
	if (text != NULL)
		core_wipe(text, tlen);
	free(text);
}

static void
load_execution(struct proplet_config *c, struct core_cfg *errs)
{
	const char *rt = core_env_str(errs,
	    CORE_ENV("PROPLET_EXTERNAL_WASM_RUNTIME"), NULL);
	const char *tier = core_env_str(errs, CORE_ENV("PROPLET_WASM_TIER"),
	    "auto");
	const char *dirs = core_env_str(errs, CORE_ENV("PROPLET_DIRS"), NULL);
	size_t i;

	if (rt != NULL) {
		c->external_runtime = resolve_program(rt);
		if (c->external_runtime == NULL)
			core_cfg_error(errs, "PROPLET_EXTERNAL_WASM_RUNTIME", rt,
			    "not an executable file or a program in PATH");
	}
	if (strcmp(tier, "auto") == 0)
		c->wasm_tier = WASM_TIER_AUTO;
	else if (strcmp(tier, "1") == 0)
		c->wasm_tier = WASM_TIER_1;
	else if (strcmp(tier, "2") == 0)
		c->wasm_tier = WASM_TIER_2;
	else
		core_cfg_error(errs, "PROPLET_WASM_TIER", tier,
		    "expected auto, 1 or 2");
	c->wasm_cache_dir = dup_or_null(core_env_str(errs,
	    CORE_ENV("PROPLET_WASM_CACHE_DIR"), NULL));
	c->max_memory_bytes = (uint64_t)core_env_int(errs,
	    CORE_ENV("PROPLET_TASK_MAX_MEMORY"), 0, 0, (int64_t)1 << 40);
	c->task_timeout_ms = core_env_duration_ms(errs,
	    CORE_ENV("PROPLET_TASK_TIMEOUT"), 0);
	{
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		c->wasm_workers = (unsigned)core_env_int(errs,
		    CORE_ENV("PROPLET_WASM_WORKERS"), ncpu > 0 ? ncpu : 1, 0,
		    256);
	}
	c->wasm_worker_idle_ms = core_env_duration_ms(errs,
	    CORE_ENV("PROPLET_WASM_WORKER_IDLE"), 30000);
	if (c->wasm_worker_idle_ms <= 0)
		core_cfg_error(errs, "PROPLET_WASM_WORKER_IDLE", NULL,
		    "must be positive");
	if (dirs != NULL) {
		if (split_list(dirs, ':', &c->dirs, &c->ndirs) != CORE_OK)
			core_cfg_error(errs, "PROPLET_DIRS", dirs, "out of memory");
		for (i = 0; i < c->ndirs; i++) {
			struct stat st;

			if (stat(c->dirs[i], &st) != 0 || !S_ISDIR(st.st_mode))
				core_cfg_error(errs, "PROPLET_DIRS", c->dirs[i],
				    "not a directory");
		}
	}
}

static void
load_tee_and_images(struct proplet_config *c, struct core_cfg *errs)
{
	const char *tee = core_env_str(errs, CORE_ENV("PROPLET_TEE"), "auto");
	const char *fetch = core_env_str(errs, CORE_ENV("PROPLET_IMAGE_FETCH"),
	    "proxy");
	enum tee_kind kind;

	if (strcmp(tee, "auto") == 0) {
		c->tee_mode = PROPLET_TEE_AUTO;
	} else if (strcmp(tee, "none") == 0 || strcmp(tee, "off") == 0) {
		c->tee_mode = PROPLET_TEE_OFF;
	} else if (tee_kind_parse(tee, false, &kind, NULL) == CORE_OK) {
		c->tee_mode = PROPLET_TEE_FORCE;
		c->tee_kind = (int)kind;
	} else {
		core_cfg_error(errs, "PROPLET_TEE", tee,
		    "expected auto, none, sample, tdx, snp or sgx");
	}
	c->kbs_uri = dup_or_null(core_env_str(errs, CORE_ENV("PROPLET_KBS_URI"),
	    NULL));
	if (c->kbs_uri != NULL && strncmp(c->kbs_uri, "http://", 7) != 0 &&
	    strncmp(c->kbs_uri, "https://", 8) != 0)
		core_cfg_error(errs, "PROPLET_KBS_URI", c->kbs_uri,
		    "must be an http:// or https:// URL");
	if (c->tee_mode == PROPLET_TEE_FORCE && c->kbs_uri == NULL)
		core_cfg_error(errs, "PROPLET_KBS_URI", NULL,
		    "required when PROPLET_TEE names a TEE");
	c->require_kid_match = core_env_bool(errs,
	    CORE_ENV("PROPLET_REQUIRE_KID_MATCH"), false);
	if (strcmp(fetch, "proxy") == 0)
		c->fetch_mode = PROPLET_FETCH_PROXY;
	else if (strcmp(fetch, "direct") == 0)
		c->fetch_mode = PROPLET_FETCH_DIRECT;
	else
		core_cfg_error(errs, "PROPLET_IMAGE_FETCH", fetch,
		    "expected proxy or direct");
	c->registry_username = dup_or_null(core_env_str(errs,
	    CORE_ENV("PROPLET_REGISTRY_USERNAME"), NULL));
	c->registry_password = dup_or_null(core_env_str(errs,
	    CORE_ENV("PROPLET_REGISTRY_PASSWORD"), NULL));
	c->registry_authfile = dup_or_null(core_env_str(errs,
	    CORE_ENV("PROPLET_REGISTRY_AUTHFILE"), NULL));
	c->registry_insecure = core_env_bool(errs,
	    CORE_ENV("PROPLET_REGISTRY_INSECURE"), false);
	c->chunk_wait_ms = core_env_duration_ms(errs,
	    CORE_ENV("PROPLET_CHUNK_TIMEOUT"), 60000);
}

void
proplet_config_load(struct proplet_config *c, struct core_cfg *errs)
{
	const char *tags;
	enum log_level lvl;

	memset(c, 0, sizeof(*c));
	c->log_level = strdup(core_env_str(errs, CORE_ENV("PROPLET_LOG_LEVEL"),
	    "info"));
	if (c->log_level != NULL && log_level_parse(c->log_level, &lvl) != CORE_OK)
		core_cfg_error(errs, "PROPLET_LOG_LEVEL", c->log_level,
		    "expected debug, info, warn or error");
	load_identity(c, errs);
	mqtt_settings_load(&c->mqtt, "PROPLET", errs);
	c->liveliness_interval_ms = core_env_duration_ms(errs,
	    CORE_ENV("PROPLET_LIVELINESS_INTERVAL"), 5000);
	if (c->liveliness_interval_ms < 100 || c->liveliness_interval_ms > 3600000) {
		core_cfg_error(errs, "PROPLET_LIVELINESS_INTERVAL", NULL,
		    "must be between 100 ms and 1 h (the manager's timeout is 10 s)");
		c->liveliness_interval_ms = 5000;
	}
	c->metrics_interval_ms = core_env_duration_ms(errs,
	    CORE_ENV("PROPLET_METRICS_INTERVAL"), 10000);
	if (c->metrics_interval_ms < 100) {
		core_cfg_error(errs, "PROPLET_METRICS_INTERVAL", NULL,
		    "must be at least 100 ms");
		c->metrics_interval_ms = 10000;
	}
	c->enable_monitoring = core_env_bool(errs,
	    CORE_ENV("PROPLET_ENABLE_MONITORING"), true);
	load_execution(c, errs);
	load_tee_and_images(c, errs);
	c->ns = strdup(core_env_str(errs,
	    CORE_ENV("PROPLET_MANAGER_K8S_NAMESPACE"), "default"));
	c->description = dup_or_null(core_env_str(errs,
	    CORE_ENV("PROPLET_DESCRIPTION"), NULL));
	c->location = dup_or_null(core_env_str(errs,
	    CORE_ENV("PROPLET_LOCATION"), NULL));
	tags = core_env_str(errs, CORE_ENV("PROPLET_TAGS"), NULL);
	if (tags != NULL && split_list(tags, ',', &c->tags, &c->ntags) != CORE_OK)
		core_cfg_error(errs, "PROPLET_TAGS", tags, "out of memory");
}

static void
free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
proplet_config_cleanup(struct proplet_config *c)
{
	if (c == NULL)
		return;
	free(c->tenant_id);
	free(c->entity_id);
	if (c->api_key != NULL)
		core_wipe(c->api_key, strlen(c->api_key));
	free(c->api_key);
	free(c->channel_id);
	mqtt_settings_cleanup(&c->mqtt);
	free(c->external_runtime);
	free(c->wasm_cache_dir);
	free_strv(c->dirs, c->ndirs);
	free(c->registry_username);
	if (c->registry_password != NULL)
		core_wipe(c->registry_password, strlen(c->registry_password));
	free(c->registry_password);
	free(c->registry_authfile);
	free(c->kbs_uri);
	free(c->ns);
	free(c->description);
	free(c->location);
	free_strv(c->tags, c->ntags);
	free(c->log_level);
	memset(c, 0, sizeof(*c));
}
