/*
 * config.c -- propeller-proxy's configuration (spec propeller-wire.md
 * §2.4), validated once. The identity takes the newer names, then the
 * older ones; when any of the four is still missing, all four come from
 * [proxy] of config.toml, as upstream does (§2.1).
 */
#include "proxy/proxy.h"

#include <stdlib.h>
#include <string.h>

#include "mqtt/mqtt.h"

static char *
dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static void
load_identity(struct proxy_config *c, struct core_cfg *errs)
{
	static const char *const keys[4][2] = {
		{ "tenant_id", "domain_id" }, { "entity_id", "client_id" },
		{ "api_key", "client_key" }, { "channel_id", NULL },
	};
	const char *const *env[4] = {
		CORE_ENV("PROXY_TENANT_ID", "PROXY_DOMAIN_ID"),
		CORE_ENV("PROXY_ENTITY_ID", "PROXY_CLIENT_ID"),
		CORE_ENV("PROXY_API_KEY", "PROXY_CLIENT_KEY"),
		CORE_ENV("PROXY_CHANNEL_ID"),
	};
	char **dst[4] = { &c->tenant_id, &c->entity_id, &c->api_key,
		&c->channel_id };
	const char *file = core_env_str(errs, CORE_ENV("PROXY_CONFIG_FILE"),
	    "config.toml");
	bool missing = false;
	size_t i, k;

	for (i = 0; i < 4; i++) {
		*dst[i] = dup_or_null(core_env_str(errs, env[i], NULL));
		missing = missing || *dst[i] == NULL;
	}
	if (missing) {
		struct core_errbuf eb;
		uint8_t *text = NULL;
		size_t len = 0;

		core_errbuf_clear(&eb);
		if (core_fs_read(file, CORE_TOML_MAX_BYTES, &text, &len, &eb) ==
		    CORE_OK) {
			for (i = 0; i < 4; i++) {
				free(*dst[i]);
				*dst[i] = NULL;
				for (k = 0; k < 2 && *dst[i] == NULL &&
				    keys[i][k] != NULL; k++) {
					core_errbuf_clear(&eb);
					if (core_toml_get((char *)text, len, "proxy",
					    keys[i][k], dst[i], &eb) != CORE_OK)
						core_cfg_error(errs,
						    "PROXY_CONFIG_FILE", file, "%s",
						    eb.msg);
				}
			}
			core_wipe(text, len);
			free(text);
		}
	}
	for (i = 0; i < 4; i++)
		if (*dst[i] == NULL || **dst[i] == '\0')
			core_cfg_error(errs, env[i][0], NULL,
			    "required (or %s in [proxy] of %s)", keys[i][0], file);
	if (c->tenant_id != NULL && !mqtt_topic_part_valid(c->tenant_id))
		core_cfg_error(errs, "PROXY_TENANT_ID", c->tenant_id,
		    "not usable in an MQTT topic");
	if (c->channel_id != NULL && !mqtt_topic_part_valid(c->channel_id))
		core_cfg_error(errs, "PROXY_CHANNEL_ID", c->channel_id,
		    "not usable in an MQTT topic");
}

/* Splits http(s)://host[:port][/...] into host[:port] and the scheme. */
static void
load_registry(struct proxy_config *c, struct core_cfg *errs)
{
	const char *url = core_env_str(errs, CORE_ENV("PROXY_REGISTRY_URL"), NULL);
	const char *h;
	size_t n;

	if (url == NULL) {
		core_cfg_error(errs, "PROXY_REGISTRY_URL", NULL,
		    "required (the registry the proxy pulls from)");
		return;
	}
	c->registry_url = strdup(url);
	if (strncmp(url, "http://", 7) == 0) {
		c->registry_http = true;
		h = url + 7;
	} else if (strncmp(url, "https://", 8) == 0) {
		h = url + 8;
	} else {
		h = url; /* a bare host[:port], as docker.io */
	}
	n = strcspn(h, "/");
	if (n == 0) {
		core_cfg_error(errs, "PROXY_REGISTRY_URL", url, "no host");
		return;
	}
	c->registry_host = strndup(h, n);
}

void
proxy_config_load(struct proxy_config *c, struct core_cfg *errs)
{
	enum log_level lvl;

	memset(c, 0, sizeof(*c));
	c->log_level = strdup(core_env_str(errs, CORE_ENV("PROXY_LOG_LEVEL"),
	    "info"));
	if (c->log_level != NULL && log_level_parse(c->log_level, &lvl) != CORE_OK)
		core_cfg_error(errs, "PROXY_LOG_LEVEL", c->log_level,
		    "expected debug, info, warn or error");
	load_identity(c, errs);
	mqtt_settings_load(&c->mqtt, "PROXY", errs);
	c->http_port = (int)core_env_int(errs, CORE_ENV("PROXY_HTTP_PORT"), 9191,
	    0, 65535);
	/* A chunk is base64'd into one MQTT message: keep it well below the
	 * proplet's 8 MiB ceiling on chunk payloads. */
	c->chunk_size = (size_t)core_env_int(errs, CORE_ENV("PROXY_CHUNK_SIZE"),
	    512000, 1024, 4 * 1024 * 1024);
	c->workers = (int)core_env_int(errs, CORE_ENV("PROXY_WORKERS"), 4, 1, 50);
	load_registry(c, errs);
	c->authenticate = core_env_bool(errs, CORE_ENV("PROXY_AUTHENTICATE"), false);
	c->registry_username = dup_or_null(core_env_str(errs,
	    CORE_ENV("PROXY_REGISTRY_USERNAME"), NULL));
	c->registry_password = dup_or_null(core_env_str(errs,
	    CORE_ENV("PROXY_REGISTRY_PASSWORD"), NULL));
	c->registry_token = dup_or_null(core_env_str(errs,
	    CORE_ENV("PROXY_REGISTRY_TOKEN"), NULL));
	if (c->authenticate && c->registry_token == NULL &&
	    (c->registry_username == NULL || c->registry_password == NULL))
		core_cfg_error(errs, "PROXY_AUTHENTICATE", "true",
		    "needs PROXY_REGISTRY_USERNAME and PROXY_REGISTRY_PASSWORD, "
		    "or PROXY_REGISTRY_TOKEN");
}

static void
free_secret_str(char *s)
{
	if (s != NULL)
		core_wipe(s, strlen(s));
	free(s);
}

void
proxy_config_cleanup(struct proxy_config *c)
{
	if (c == NULL)
		return;
	free(c->tenant_id);
	free(c->entity_id);
	free_secret_str(c->api_key);
	free(c->channel_id);
	mqtt_settings_cleanup(&c->mqtt);
	free(c->registry_url);
	free(c->registry_host);
	free(c->registry_username);
	free_secret_str(c->registry_password);
	free_secret_str(c->registry_token);
	free(c->log_level);
	memset(c, 0, sizeof(*c));
}
