/*
 * config.c -- propeller-kbs configuration: command-line flags over
 * environment variables over a JSON config file over defaults, every bad
 * setting reported at once (STYLE.md rule 10).
 */
#include "kbs/kbs_int.h"

#include <getopt.h>
#include <inttypes.h>
#include <string.h>

enum setting_kind { SET_STR, SET_DURATION, SET_BOOL, SET_INT };

struct setting {
	const char *key;   /* config-file member */
	const char *env;   /* environment variable */
	const char *flag;  /* long option without "--" */
	enum setting_kind kind;
	int has_arg;
};

enum {
	S_LISTEN, S_DATA_DIR, S_ADMIN_KEY, S_TLS_CERT, S_TLS_KEY, S_CONFIG,
	S_SESSION_TIMEOUT, S_TOKEN_LIFETIME, S_ALLOW_RSA1_5, S_THREADS,
	S_MAX_BODY, S_MAX_SESSIONS, S_ADMIN_MAX_LIFETIME, S_COUNT
};

static const struct setting settings[S_COUNT] = {
	[S_LISTEN] = { "listen", "KBS_LISTEN", "listen", SET_STR, 1 },
	[S_DATA_DIR] = { "data_dir", "KBS_DATA_DIR", "data-dir", SET_STR, 1 },
	[S_ADMIN_KEY] = { "admin_public_key", "KBS_ADMIN_PUBLIC_KEY",
	    "admin-public-key", SET_STR, 1 },
	[S_TLS_CERT] = { "tls_cert", "KBS_TLS_CERT", "tls-cert", SET_STR, 1 },
	[S_TLS_KEY] = { "tls_key", "KBS_TLS_KEY", "tls-key", SET_STR, 1 },
	[S_CONFIG] = { NULL, "KBS_CONFIG", "config", SET_STR, 1 },
	[S_SESSION_TIMEOUT] = { "session_timeout", "KBS_SESSION_TIMEOUT",
	    "session-timeout", SET_DURATION, 1 },
	[S_TOKEN_LIFETIME] = { "token_lifetime", "KBS_TOKEN_LIFETIME",
	    "token-lifetime", SET_DURATION, 1 },
	[S_ALLOW_RSA1_5] = { "allow_rsa1_5", "KBS_ALLOW_RSA1_5",
	    "allow-rsa1-5", SET_BOOL, 0 },
	[S_THREADS] = { "threads", "KBS_THREADS", "threads", SET_INT, 1 },
	[S_MAX_BODY] = { "max_body", "KBS_MAX_BODY", "max-body", SET_INT, 1 },
	[S_MAX_SESSIONS] = { "max_sessions", "KBS_MAX_SESSIONS",
	    "max-sessions", SET_INT, 1 },
	[S_ADMIN_MAX_LIFETIME] = { "admin_max_token_lifetime",
	    "KBS_ADMIN_MAX_TOKEN_LIFETIME", "admin-max-token-lifetime",
	    SET_DURATION, 1 },
};

enum core_err
kbs_config_init(struct kbs_config *c)
{
	memset(c, 0, sizeof(*c));
	c->listen_addr = strdup("0.0.0.0");
	c->listen_port = 8080;
	c->session_timeout_ms = 5 * 60 * 1000;
	c->token_lifetime_ms = 5 * 60 * 1000;
	c->admin_leeway_s = 60;
	c->max_body = KBS_MAX_BODY_DEFAULT;
	c->max_sessions = 20000;
	/*
	 * Twice the 2 cores the KBS was measured on: a worker waiting for the
	 * vault (or for a slow client's bytes) leaves others to run; more
	 * threads cost CPU per new connection (each wakes up on accept).
	 */
	c->threads = 4;
	return c->listen_addr ? CORE_OK : CORE_ERR_NOMEM;
}

void
kbs_config_cleanup(struct kbs_config *c)
{
	size_t i;

	free(c->listen_addr);
	free(c->data_dir);
	free(c->admin_public_key);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->admin_issuer);
	free(c->admin_audience);
	for (i = 0; i < c->nacls; i++) {
		free(c->acls[i].role);
		free(c->acls[i].allowed_endpoints);
	}
	free(c->acls);
	for (i = 0; i < c->ntrusted; i++)
		free(c->trusted_token_keys[i]);
	free(c->trusted_token_keys);
	memset(c, 0, sizeof(*c));
}

/* "ADDR:PORT" or "[V6]:PORT". */
static bool
parse_listen(const char *v, char **addr, uint16_t *port)
{
	const char *colon = strrchr(v, ':');
	const char *a = v;
	size_t alen;
	int64_t p;

	if (colon == NULL || core_parse_int(colon + 1, 0, 65535, &p) !=
	    CORE_OK)
		return false;
	alen = (size_t)(colon - v);
	if (alen >= 2 && v[0] == '[' && v[alen - 1] == ']') {
		a = v + 1;
		alen -= 2;
	}
	if (alen == 0 || alen > 255)
		return false;
	free(*addr);
	*addr = strndup(a, alen);
	*port = (uint16_t)p;
	return *addr != NULL;
}

static void
set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = v[0] ? strdup(v) : NULL;
}

/* Applies one value; the name says where it came from (flag, env, file). */
static void
apply(struct kbs_config *c, int idx, const char *name, const char *v,
    struct core_cfg *errs)
{
	int64_t n = 0;
	bool b = false;

	switch (settings[idx].kind) {
	case SET_DURATION:
		if (core_duration_parse_ms(v, &n, NULL) != CORE_OK || n <= 0) {
			core_cfg_error(errs, name, v,
			    "must be a positive duration like 30s or 5m");
			return;
		}
		break;
	case SET_BOOL:
		if (core_parse_bool(v, &b) != CORE_OK) {
			core_cfg_error(errs, name, v, "must be true or false");
			return;
		}
		break;
	case SET_INT:
		if (core_parse_int(v, 1, INT32_MAX, &n) != CORE_OK) {
			core_cfg_error(errs, name, v,
			    "must be a positive integer");
			return;
		}
		break;
	case SET_STR:
		break;
	}
	switch (idx) {
	case S_LISTEN:
		if (!parse_listen(v, &c->listen_addr, &c->listen_port))
			core_cfg_error(errs, name, v,
			    "must be ADDR:PORT (e.g. 0.0.0.0:8080)");
		break;
	case S_DATA_DIR: set_str(&c->data_dir, v); break;
	case S_ADMIN_KEY: set_str(&c->admin_public_key, v); break;
	case S_TLS_CERT: set_str(&c->tls_cert, v); break;
	case S_TLS_KEY: set_str(&c->tls_key, v); break;
	case S_SESSION_TIMEOUT: c->session_timeout_ms = n; break;
	case S_TOKEN_LIFETIME:
		if (n < 1000)
			core_cfg_error(errs, name, v, "must be at least 1s");
		c->token_lifetime_ms = n;
		break;
	case S_ALLOW_RSA1_5: c->allow_rsa1_5 = b; break;
	case S_THREADS:
		if (n > 64)
			core_cfg_error(errs, name, v, "must be 1..64");
		c->threads = (unsigned)n;
		break;
	case S_MAX_BODY: c->max_body = (size_t)n; break;
	case S_MAX_SESSIONS: c->max_sessions = (size_t)n; break;
	case S_ADMIN_MAX_LIFETIME: c->admin_max_lifetime_s = n / 1000; break;
	}
}

static void
load_acls(struct kbs_config *c, const json_t *a, struct core_cfg *errs)
{
	json_t *e;
	size_t i;

	if (!json_is_array(a)) {
		core_cfg_error(errs, "config admin_acls", "",
		    "must be an array of {role, allowed_endpoints}");
		return;
	}
	c->acls = calloc(json_array_size(a) + 1, sizeof(*c->acls));
	if (c->acls == NULL)
		return;
	json_array_foreach(a, i, e) {
		const char *role = json_string_value(json_object_get(e, "role"));
		const char *re = json_string_value(json_object_get(e,
		    "allowed_endpoints"));

		if (role == NULL || re == NULL || strncmp(re, "^/kbs", 5) != 0 ||
		    re[strlen(re) - 1] != '$') {
			core_cfg_error(errs, "config admin_acls", re ? re : "",
			    "entry %zu needs role and allowed_endpoints "
			    "(a regex starting ^/kbs and ending $)", i);
			continue;
		}
		c->acls[c->nacls].role = strdup(role);
		c->acls[c->nacls].allowed_endpoints = strdup(re);
		c->nacls++;
	}
}

/* Adds one trusted token key path (checked: an EC P-256 public key). */
static void
add_trusted(struct kbs_config *c, const char *name, const char *path,
    struct core_cfg *errs)
{
	struct core_errbuf eb;
	struct crypto_key *k = NULL;
	char **n;

	core_errbuf_clear(&eb);
	if (kbs_key_read(path, false, &k, &eb) != CORE_OK) {
		core_cfg_error(errs, name, path, "%s", core_errbuf_msg(&eb));
		return;
	}
	if (crypto_key_type(k) != CRYPTO_KEY_EC_P256) {
		core_cfg_error(errs, name, path,
		    "must be an EC P-256 public key (ES256 token signer)");
		crypto_key_free(k);
		return;
	}
	crypto_key_free(k);
	n = realloc(c->trusted_token_keys, (c->ntrusted + 1) * sizeof(*n));
	if (n == NULL)
		return;
	c->trusted_token_keys = n;
	n[c->ntrusted] = strdup(path);
	if (n[c->ntrusted] != NULL)
		c->ntrusted++;
}

static void
load_file(struct kbs_config *c, const char *path, struct core_cfg *errs)
{
	struct core_errbuf eb;
	uint8_t *p = NULL;
	size_t n = 0;
	json_t *j = NULL, *v;
	const char *k;
	char num[32], name[96];
	int i;

	core_errbuf_clear(&eb);
	if (core_fs_read(path, 1024 * 1024, &p, &n, &eb) != CORE_OK ||
	    core_json_parse_object(p, n, 0, &j, &eb) != CORE_OK) {
		core_cfg_error(errs, "--config", path, "%s",
		    core_errbuf_msg(&eb));
		goto out;
	}
	json_object_foreach(j, k, v) {
		const char *s = NULL;

		snprintf(name, sizeof(name), "%s: %s", path, k);
		if (strcmp(k, "admin_issuer") == 0 && json_is_string(v)) {
			set_str(&c->admin_issuer, json_string_value(v));
			continue;
		}
		if (strcmp(k, "admin_audience") == 0 && json_is_string(v)) {
			set_str(&c->admin_audience, json_string_value(v));
			continue;
		}
		if (strcmp(k, "admin_acls") == 0) {
			load_acls(c, v, errs);
			continue;
		}
		if (strcmp(k, "trusted_token_keys") == 0) {
			json_t *e;
			size_t ei;

			if (!json_is_array(v))
				core_cfg_error(errs, name, "",
				    "must be an array of PEM paths");
			json_array_foreach(v, ei, e) {
				if (json_is_string(e))
					add_trusted(c, name,
					    json_string_value(e), errs);
				else
					core_cfg_error(errs, name, "",
					    "entries must be strings");
			}
			continue;
		}
		for (i = 0; i < S_COUNT; i++) {
			if (settings[i].key && strcmp(settings[i].key, k) == 0)
				break;
		}
		if (i == S_COUNT) {
			core_cfg_error(errs, name, "", "unknown setting");
			continue;
		}
		if (json_is_string(v))
			s = json_string_value(v);
		else if (json_is_integer(v)) {
			snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
			    json_integer_value(v));
			s = num;
		} else if (json_is_boolean(v))
			s = json_is_true(v) ? "true" : "false";
		if (s == NULL) {
			core_cfg_error(errs, name, "",
			    "must be a string, integer or boolean");
			continue;
		}
		apply(c, i, name, s, errs);
	}
out:
	json_decref(j);
	free(p);
}

void
kbs_config_load(struct kbs_config *c, int argc, char **argv,
    struct core_cfg *errs, bool *want_help)
{
	struct option longopts[S_COUNT + 2];
	const char *flagval[S_COUNT] = { 0 };
	const char *cfgfile;
	char name[64];
	int i, ch, idx;

	*want_help = false;
	for (i = 0; i < S_COUNT; i++) {
		longopts[i].name = settings[i].flag;
		longopts[i].has_arg = settings[i].has_arg;
		longopts[i].flag = NULL;
		longopts[i].val = 1000 + i;
	}
	longopts[S_COUNT] = (struct option){ "help", 0, NULL, 'h' };
	longopts[S_COUNT + 1] = (struct option){ NULL, 0, NULL, 0 };
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
		if (ch == 'h') {
			*want_help = true;
		} else if (ch >= 1000 && ch < 1000 + S_COUNT) {
			flagval[ch - 1000] = settings[ch - 1000].has_arg ?
			    optarg : "true";
		} else {
			core_cfg_error(errs, "argument",
			    argv[optind - 1] ? argv[optind - 1] : "",
			    "unknown option or missing value");
		}
	}
	if (optind < argc)
		core_cfg_error(errs, "argument", argv[optind],
		    "unexpected argument");
	/* Lowest precedence first: file, then environment, then flags. */
	cfgfile = flagval[S_CONFIG] ? flagval[S_CONFIG] :
	    core_env_str(errs, CORE_ENV("KBS_CONFIG"), NULL);
	if (cfgfile != NULL)
		load_file(c, cfgfile, errs);
	{
		const char *tk = core_env_str(errs,
		    CORE_ENV("KBS_TRUSTED_TOKEN_KEYS"), NULL);
		char *copy = tk ? strdup(tk) : NULL, *part = copy, *colon;

		while (part != NULL) {
			colon = strchr(part, ':');
			if (colon != NULL)
				*colon = '\0';
			if (*part != '\0')
				add_trusted(c, "KBS_TRUSTED_TOKEN_KEYS", part,
				    errs);
			part = colon ? colon + 1 : NULL;
		}
		free(copy);
	}
	for (i = 0; i < S_COUNT; i++) {
		const char *v;

		if (i == S_CONFIG)
			continue;
		v = core_env_str(errs, (const char *const[]){ settings[i].env,
		    NULL }, NULL);
		if (v != NULL)
			apply(c, i, settings[i].env, v, errs);
	}
	for (i = 0; i < S_COUNT; i++) {
		if (i == S_CONFIG || flagval[i] == NULL)
			continue;
		snprintf(name, sizeof(name), "--%s", settings[i].flag);
		apply(c, i, name, flagval[i], errs);
	}
	/* Cross-checks on the result. */
	if (c->data_dir == NULL)
		core_cfg_error(errs, "--data-dir", "",
		    "required (or KBS_DATA_DIR)");
	if (c->admin_public_key == NULL) {
		core_cfg_error(errs, "--admin-public-key", "",
		    "required (or KBS_ADMIN_PUBLIC_KEY): the admin's Ed25519 "
		    "public key PEM");
	} else {
		struct core_errbuf eb;
		struct crypto_key *k = NULL;

		core_errbuf_clear(&eb);
		if (kbs_key_read(c->admin_public_key, false, &k, &eb) !=
		    CORE_OK)
			core_cfg_error(errs, "--admin-public-key",
			    c->admin_public_key, "%s", core_errbuf_msg(&eb));
		else if (crypto_key_type(k) != CRYPTO_KEY_ED25519 &&
		    crypto_key_type(k) != CRYPTO_KEY_EC_P256)
			core_cfg_error(errs, "--admin-public-key",
			    c->admin_public_key,
			    "must be an Ed25519 or EC P-256 public key");
		crypto_key_free(k);
	}
	if ((c->tls_cert == NULL) != (c->tls_key == NULL))
		core_cfg_error(errs, c->tls_cert ? "--tls-key" : "--tls-cert",
		    "", "--tls-cert and --tls-key go together");
	if (c->tls_cert != NULL && !core_fs_exists(c->tls_cert))
		core_cfg_error(errs, "--tls-cert", c->tls_cert, "no such file");
	if (c->tls_key != NULL && !core_fs_exists(c->tls_key))
		core_cfg_error(errs, "--tls-key", c->tls_key, "no such file");
}
