/*
 * settings.c -- the <PREFIX>_MQTT_* variables every daemon reads, in one
 * place: the proplet and the proxy load them here.
 */
#include "mqtt/mqtt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A one-name list "<prefix>_MQTT_<what>" in buf, for the core_env_* calls. */
static const char *const *
var(char buf[96], const char *names[2], const char *prefix, const char *what)
{
	snprintf(buf, 96, "%s_MQTT_%s", prefix, what);
	names[0] = buf;
	names[1] = NULL;
	return names;
}

static char *
env_dup(struct core_cfg *errs, const char *prefix, const char *what)
{
	const char *names[2];
	char buf[96];
	const char *v = core_env_str(errs, var(buf, names, prefix, what), NULL);

	return v != NULL ? strdup(v) : NULL;
}

void
mqtt_settings_load(struct mqtt_settings *s, const char *prefix,
    struct core_cfg *errs)
{
	const char *names[2];
	struct core_errbuf eb;
	char buf[96], *host = NULL;
	bool tls;
	int port;

	memset(s, 0, sizeof(*s));
	s->address = strdup(core_env_str(errs, var(buf, names, prefix, "ADDRESS"),
	    "tcp://localhost:1883"));
	core_errbuf_clear(&eb);
	if (s->address != NULL &&
	    mqtt_address_parse(s->address, &host, &port, &tls, &eb) != CORE_OK)
		core_cfg_error(errs, buf, s->address, "%s", eb.msg);
	free(host);
	s->qos = (int)core_env_int(errs, var(buf, names, prefix, "QOS"), 2, 0, 2);
	s->timeout_ms = core_env_duration_ms(errs,
	    var(buf, names, prefix, "TIMEOUT"), 30000);
	s->keepalive_s = (int)(core_env_duration_ms(errs,
	    var(buf, names, prefix, "KEEP_ALIVE"), 30000) / 1000);
	if (s->keepalive_s < 5 || s->keepalive_s > 65535) {
		core_cfg_error(errs, buf, NULL,
		    "must be between 5 and 65535 seconds");
		s->keepalive_s = 30;
	}
	s->tls_ca_cert = env_dup(errs, prefix, "TLS_CA_CERT");
	s->tls_client_cert = env_dup(errs, prefix, "TLS_CLIENT_CERT");
	s->tls_client_key = env_dup(errs, prefix, "TLS_CLIENT_KEY");
	if ((s->tls_client_cert == NULL) != (s->tls_client_key == NULL))
		core_cfg_error(errs, var(buf, names, prefix, "TLS_CLIENT_CERT")[0],
		    NULL, "set together with %s_MQTT_TLS_CLIENT_KEY", prefix);
	s->tls_insecure = core_env_bool(errs,
	    var(buf, names, prefix, "TLS_INSECURE_SKIP_VERIFY"), false);
}

void
mqtt_settings_cleanup(struct mqtt_settings *s)
{
	if (s == NULL)
		return;
	free(s->address);
	free(s->tls_ca_cert);
	free(s->tls_client_cert);
	free(s->tls_client_key);
	memset(s, 0, sizeof(*s));
}

void
mqtt_settings_config(const struct mqtt_settings *s, const char *client_id,
    const char *password, struct mqtt_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->address = s->address;
	cfg->client_id = client_id;
	cfg->password = password;
	cfg->qos = s->qos;
	cfg->keepalive_s = s->keepalive_s;
	cfg->connect_timeout_ms = s->timeout_ms;
	cfg->tls_ca_cert = s->tls_ca_cert;
	cfg->tls_client_cert = s->tls_client_cert;
	cfg->tls_client_key = s->tls_client_key;
	cfg->tls_insecure = s->tls_insecure;
}
