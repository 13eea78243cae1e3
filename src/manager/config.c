/*
 * config.c -- the manager's configuration, read once from the environment
 * (spec §2.3 names, §2.2 old/new identity names, §2.1 config.toml fallback).
 */
#include "manager/manager.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt/mqtt.h"

static char *cfg_dup(const char *s);
static void cfg_identity(struct manager_config *cfg, struct core_cfg *cc);

static char *
cfg_dup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

enum core_err
manager_toml_get(const char *path, const char *section, const char *key,
    char **out, struct core_errbuf *eb)
{
	uint8_t *text = NULL;
	size_t len;
	enum core_err err;

	*out = NULL;
	err = core_fs_read(path, CORE_TOML_MAX_BYTES, &text, &len, eb);
	if (err == CORE_OK) {
		err = core_toml_get((const char *)text, len, section, key, out,
		    eb);
		if (err != CORE_OK)
			core_errbuf_prefix(eb, "%s", path);
	}
	free(text);
	return err;
}

/* Identity: newer names, then older ones, then [manager] in config.toml. */
static void
cfg_identity(struct manager_config *cfg, struct core_cfg *cc)
{
	static const char *const names[4][3] = {
		{ "MANAGER_TENANT_ID", "MANAGER_DOMAIN_ID", NULL },
		{ "MANAGER_ENTITY_ID", "MANAGER_CLIENT_ID", NULL },
		{ "MANAGER_API_KEY", "MANAGER_CLIENT_KEY", NULL },
		{ "MANAGER_CHANNEL_ID", NULL, NULL },
	};
	static const char *const keys[4][2] = {
		{ "tenant_id", "domain_id" }, { "entity_id", "client_id" },
		{ "api_key", "client_key" }, { "channel_id", "channel_id" },
	};
	char **dst[4] = { &cfg->tenant_id, &cfg->entity_id, &cfg->api_key,
		&cfg->channel_id };
	struct core_errbuf eb;
	const char *file;
	bool missing = false;
	char *v;
	int i, k;

	for (i = 0; i < 4; i++) {
		*dst[i] = cfg_dup(core_env_str(cc, names[i], NULL));
		if (*dst[i] == NULL)
			missing = true;
	}
	file = core_env_str(cc, CORE_ENV("MANAGER_CONFIG_FILE"), "config.toml");
	if (missing && core_fs_exists(file)) {
		for (i = 0; i < 4; i++) {
			for (k = 0; k < 2; k++) {
				core_errbuf_clear(&eb);
				if (manager_toml_get(file, "manager", keys[i][k],
				    &v, &eb) != CORE_OK) {
					core_cfg_error(cc, "MANAGER_CONFIG_FILE",
					    file, "%s", core_errbuf_msg(&eb));
					return;
				}
				if (v != NULL && *v != '\0') {
					free(*dst[i]);
					*dst[i] = v;
					break;
				}
				free(v);
			}
		}
	}
	for (i = 0; i < 4; i++) {
		if (*dst[i] == NULL || **dst[i] == '\0')
			core_cfg_error(cc, names[i][0], "", "required (or %s, "
			    "or %s in [manager] of %s)", names[i][1] != NULL ?
			    names[i][1] : names[i][0], keys[i][0], file);
	}
	if (cfg->tenant_id != NULL && *cfg->tenant_id != '\0' &&
	    !mqtt_topic_part_valid(cfg->tenant_id))
		core_cfg_error(cc, "MANAGER_TENANT_ID", cfg->tenant_id,
		    "must not contain '/', '+', '#' or control characters");
	if (cfg->channel_id != NULL && *cfg->channel_id != '\0' &&
	    !mqtt_topic_part_valid(cfg->channel_id))
		core_cfg_error(cc, "MANAGER_CHANNEL_ID", cfg->channel_id,
		    "must not contain '/', '+', '#' or control characters");
}

enum core_err
manager_config_load(struct manager_config *cfg, struct core_cfg *cc)
{
	const char *s, *st;
	char uuid[CORE_UUID_STR_LEN + 1];

	memset(cfg, 0, sizeof(*cfg));

	s = core_env_str(cc, CORE_ENV("MANAGER_LOG_LEVEL"), "info");
	if (log_level_parse(s, &cfg->log_level) != CORE_OK) {
		core_cfg_error(cc, "MANAGER_LOG_LEVEL", s,
		    "must be debug, info, warn, error or none");
		cfg->log_level = LOG_LEVEL_INFO;
	}

	mqtt_settings_load(&cfg->mqtt, "MANAGER", cc);
	if (cfg->mqtt.tls_ca_cert != NULL &&
	    !core_fs_exists(cfg->mqtt.tls_ca_cert))
		core_cfg_error(cc, "MANAGER_MQTT_TLS_CA_CERT",
		    cfg->mqtt.tls_ca_cert, "file does not exist");

	cfg_identity(cfg, cc);

	cfg->http_host = cfg_dup(core_env_str(cc,
	    CORE_ENV("MANAGER_HTTP_HOST"), "localhost"));
	cfg->http_port = (int)core_env_int(cc, CORE_ENV("MANAGER_HTTP_PORT"),
	    7070, 0, 65535);
	cfg->http_cert = cfg_dup(core_env_str(cc,
	    CORE_ENV("MANAGER_HTTP_SERVER_CERT"), NULL));
	cfg->http_key = cfg_dup(core_env_str(cc,
	    CORE_ENV("MANAGER_HTTP_SERVER_KEY"), NULL));
	if ((cfg->http_cert == NULL) != (cfg->http_key == NULL))
		core_cfg_error(cc, "MANAGER_HTTP_SERVER_CERT", "",
		    "MANAGER_HTTP_SERVER_CERT and MANAGER_HTTP_SERVER_KEY must "
		    "be set together");
	cfg->http_read_timeout_ms = core_env_duration_ms(cc,
	    CORE_ENV("MANAGER_HTTP_SERVER_READ_TIMEOUT"), 15000);
	cfg->http_write_timeout_ms = core_env_duration_ms(cc,
	    CORE_ENV("MANAGER_HTTP_SERVER_WRITE_TIMEOUT"), 15000);
	cfg->http_read_header_timeout_ms = core_env_duration_ms(cc,
	    CORE_ENV("MANAGER_HTTP_SERVER_READ_HEADER_TIMEOUT"), 5000);
	cfg->http_idle_timeout_ms = core_env_duration_ms(cc,
	    CORE_ENV("MANAGER_HTTP_SERVER_IDLE_TIMEOUT"), 60000);
	cfg->http_max_header_bytes = core_env_int(cc,
	    CORE_ENV("MANAGER_HTTP_SERVER_MAX_HEADER_BYTES"), 1048576, 1024,
	    64 * 1024 * 1024);
	cfg->api_token = cfg_dup(core_env_str(cc,
	    CORE_ENV("MANAGER_API_TOKEN"), NULL));
	if (cfg->api_token != NULL && strlen(cfg->api_token) < 16)
		core_cfg_error(cc, "MANAGER_API_TOKEN", "<redacted>",
		    "must be at least 16 characters");

	st = core_env_str(cc, CORE_ENV("MANAGER_STORAGE_TYPE"), "memory");
	if (strcmp(st, "memory") == 0)
		cfg->storage = MANAGER_STORAGE_MEMORY;
	else if (strcmp(st, "sqlite") == 0)
		cfg->storage = MANAGER_STORAGE_SQLITE;
	else if (strcmp(st, "postgres") == 0)
		cfg->storage = MANAGER_STORAGE_POSTGRES;
	else if (strcmp(st, "badger") == 0)
		core_cfg_error(cc, "MANAGER_STORAGE_TYPE", st,
		    "badger is not supported by this manager; use sqlite");
	else
		core_cfg_error(cc, "MANAGER_STORAGE_TYPE", st,
		    "must be memory, sqlite or postgres");
	cfg->sqlite_path = cfg_dup(core_env_str(cc,
	    CORE_ENV("MANAGER_SQLITE_PATH"), "./propeller.db"));
	cfg->pg_host = cfg_dup(core_env_str(cc,
	    CORE_ENV("MANAGER_POSTGRES_HOST"), "localhost"));
	cfg->pg_port = cfg_dup(core_env_str(cc,
	    CORE_ENV("MANAGER_POSTGRES_PORT"), "5432"));
	if (core_parse_int(cfg->pg_port, 1, 65535, &(int64_t){ 0 }) != CORE_OK)
		core_cfg_error(cc, "MANAGER_POSTGRES_PORT", cfg->pg_port,
		    "must be a port number");
	cfg->pg_user = cfg_dup(core_env_str(cc,
	    CORE_ENV("MANAGER_POSTGRES_USER"), "propeller"));
	cfg->pg_pass = cfg_dup(core_env_str(cc,
	    CORE_ENV("MANAGER_POSTGRES_PASS"), "propeller"));
	cfg->pg_db = cfg_dup(core_env_str(cc,
	    CORE_ENV("MANAGER_POSTGRES_DB"), "propeller"));
	cfg->pg_sslmode = cfg_dup(core_env_str(cc,
	    CORE_ENV("MANAGER_POSTGRES_SSLMODE"), "disable"));
	s = cfg->pg_sslmode;
	if (strcmp(s, "disable") != 0 && strcmp(s, "allow") != 0 &&
	    strcmp(s, "prefer") != 0 && strcmp(s, "require") != 0 &&
	    strcmp(s, "verify-ca") != 0 && strcmp(s, "verify-full") != 0)
		core_cfg_error(cc, "MANAGER_POSTGRES_SSLMODE", s,
		    "must be disable, allow, prefer, require, verify-ca or "
		    "verify-full");
	cfg->liveness_timeout_ms = core_env_duration_ms(cc,
	    CORE_ENV("MANAGER_LIVENESS_TIMEOUT"), MANAGER_LIVENESS_DEFAULT_MS);
	if (cfg->liveness_timeout_ms < 100 || cfg->liveness_timeout_ms > 3600000)
		core_cfg_error(cc, "MANAGER_LIVENESS_TIMEOUT", "",
		    "must be between 100ms and 1h");

	if (core_uuid_v4(uuid) == CORE_OK)
		cfg->instance_id = strdup(uuid);
	if (cfg->mqtt.address == NULL || cfg->http_host == NULL ||
	    cfg->sqlite_path == NULL || cfg->pg_host == NULL ||
	    cfg->instance_id == NULL)
		core_cfg_error(cc, "MANAGER", "", "out of memory");
	return cc->nerrors > 0 ? CORE_ERR_INVALID : CORE_OK;
}

void
manager_config_cleanup(struct manager_config *cfg)
{
	char **s[] = { &cfg->tenant_id,
		&cfg->entity_id, &cfg->channel_id, &cfg->http_host,
		&cfg->http_cert, &cfg->http_key, &cfg->sqlite_path,
		&cfg->pg_host, &cfg->pg_port, &cfg->pg_user, &cfg->pg_db,
		&cfg->pg_sslmode, &cfg->instance_id };
	size_t i;

	if (cfg == NULL)
		return;
	mqtt_settings_cleanup(&cfg->mqtt);
	for (i = 0; i < CORE_ARRAY_LEN(s); i++) {
		free(*s[i]);
		*s[i] = NULL;
	}
	if (cfg->api_key != NULL)
		core_wipe(cfg->api_key, strlen(cfg->api_key));
	free(cfg->api_key);
	if (cfg->api_token != NULL)
		core_wipe(cfg->api_token, strlen(cfg->api_token));
	free(cfg->api_token);
	if (cfg->pg_pass != NULL)
		core_wipe(cfg->pg_pass, strlen(cfg->pg_pass));
	free(cfg->pg_pass);
	cfg->api_key = cfg->api_token = cfg->pg_pass = NULL;
}
