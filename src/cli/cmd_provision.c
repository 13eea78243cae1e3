/*
 * cmd_provision.c -- `propeller provision`: local identities for one
 * deployment without Atom. Generates a tenant, a channel, and entity ids
 * with API keys for the manager, N proplets and the proxy, then writes:
 *   mosquitto/passwd        PBKDF2-SHA512 hashes in mosquitto_passwd's
 *                           format ($7$101$salt$hash), 0600
 *   mosquitto/acl           each client limited to its channel's topics
 *   mosquitto/mosquitto.conf  listener, no anonymous access, the two files
 *   manager.env, proxy.env, proplet-<i>.env   variables (new names), 0600
 *   config.toml             [manager], [proplet] or [proplet1..N], [proxy]
 * Existing files are not overwritten without --force.
 */
#define LOG_MODULE "cli"
#include "core/core.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cli/cli.h"
#include "mqtt/mqtt.h"

#define PROV_MAX_PROPLETS 1000
#define PROV_ITERATIONS 101  /* mosquitto_passwd's PBKDF2 default */

struct prov_entity {
	char id[CORE_UUID_STR_LEN + 1];
	char key[65];   /* secret: hex API key, wiped before exit */
};

struct prov {
	const char *dir, *tenant, *channel, *mqtt, *manager_url, *registry;
	const char *toml_name;
	bool force;
	long nproplets;
	char tenant_buf[CORE_UUID_STR_LEN + 1], channel_buf[CORE_UUID_STR_LEN + 1];
	struct prov_entity manager, proxy;
	struct prov_entity *proplets;  /* owned */
};

static const struct option prov_longopts[] = {
	{ "dir", required_argument, NULL, 'd' },
	{ "proplets", required_argument, NULL, 'n' },
	{ "tenant-id", required_argument, NULL, 't' },
	{ "channel-id", required_argument, NULL, 'c' },
	{ "mqtt-address", required_argument, NULL, 'a' },
	{ "manager-url", required_argument, NULL, 'm' },
	{ "registry-url", required_argument, NULL, 'r' },
	{ "file-name", required_argument, NULL, 'f' },
	{ "force", no_argument, NULL, 'F' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
prov_usage(FILE *f)
{
	fprintf(f,
	    "usage: propeller provision [flags]\n\n"
	    "Creates identities for a manager, N proplets and a proxy on one\n"
	    "channel and writes the broker's password/ACL files, env files and\n"
	    "config.toml.\n\n"
	    "  -d, --dir DIR            output directory (default .)\n"
	    "  -n, --proplets N         number of proplets (default 1)\n"
	    "  -t, --tenant-id ID       tenant (default: a new UUID)\n"
	    "  -c, --channel-id ID      channel (default: a new UUID)\n"
	    "  -a, --mqtt-address URL   broker address written to the env files\n"
	    "                           (default tcp://localhost:1883)\n"
	    "  -m, --manager-url URL    (default http://localhost:7070)\n"
	    "  -r, --registry-url URL   PROXY_REGISTRY_URL (default\n"
	    "                           http://localhost:5000)\n"
	    "  -f, --file-name NAME     config file name (default config.toml)\n"
	    "      --force              overwrite existing files\n");
}

static enum core_err
prov_entity_new(struct prov_entity *e, struct core_errbuf *eb)
{
	uint8_t raw[32];
	char *hex;
	enum core_err err;

	if (core_uuid_v4(e->id) != CORE_OK)
		return core_errf(eb, CORE_ERR_INTERNAL, "no randomness");
	err = core_random(raw, sizeof(raw), eb);
	if (err != CORE_OK)
		return err;
	hex = core_hex_encode(raw, sizeof(raw));
	core_wipe(raw, sizeof(raw));
	if (hex == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	memcpy(e->key, hex, 64);
	e->key[64] = '\0';
	core_wipe(hex, 64);
	free(hex);
	return CORE_OK;
}

/* One mosquitto_passwd line: id:$7$101$<b64 salt>$<b64 sha512 pbkdf2>. */
STATIC enum core_err
prov_passwd_line(const char *user, const char *password, struct core_buf *b,
    struct core_errbuf *eb)
{
	uint8_t salt[12], hash[64];
	char *s64 = NULL, *h64 = NULL;
	enum core_err err;

	err = core_random(salt, sizeof(salt), eb);
	if (err != CORE_OK)
		return err;
	if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt,
	    sizeof(salt), PROV_ITERATIONS, EVP_sha512(), sizeof(hash), hash) !=
	    1)
		return core_errf(eb, CORE_ERR_CRYPTO, "PBKDF2 failed");
	s64 = core_b64_encode(salt, sizeof(salt));
	h64 = core_b64_encode(hash, sizeof(hash));
	core_wipe(hash, sizeof(hash));
	if (s64 == NULL || h64 == NULL)
		err = core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	else
		err = core_buf_printf(b, "%s:$7$%d$%s$%s\n", user,
		    PROV_ITERATIONS, s64, h64);
	free(s64);
	free(h64);
	return err;
}

static enum core_err
prov_write(const struct prov *p, const char *name, struct core_buf *b,
    mode_t mode, struct core_errbuf *eb)
{
	char *path = core_path_join(p->dir, name);
	enum core_err err;

	if (path == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	if (!p->force && core_fs_exists(path)) {
		err = core_errf(eb, CORE_ERR_EXISTS, "%s exists (use --force to "
		    "overwrite)", path);
	} else {
		err = core_fs_write_atomic(path, b->data != NULL ?
		    (const void *)b->data : "", b->len, mode, eb);
		if (err == CORE_OK)
			printf("wrote %s\n", path);
	}
	free(path);
	return err;
}

static void
prov_acl_client(struct core_buf *b, const char *base, const char *comment,
    const char *id, const char *const *rules)
{
	size_t i;

	core_buf_printf(b, "# %s\nuser %s\n", comment, id);
	for (i = 0; rules[i] != NULL; i += 2)
		core_buf_printf(b, "topic %s %s/%s\n", rules[i], base,
		    rules[i + 1]);
	core_buf_printf(b, "\n");
}

static enum core_err
prov_broker_files(const struct prov *p, struct core_errbuf *eb)
{
	static const char *const mgr_rules[] = { "readwrite", "#", NULL };
	static const char *const proplet_rules[] = {
		"read", "control/manager/#", "write", "control/proplet/#",
		"write", "registry/proplet", "read", "registry/server", NULL };
	static const char *const proxy_rules[] = {
		"read", "registry/proplet", "write", "registry/server",
		"write", "control/proplet/alive", NULL };
	struct core_buf pw, acl, conf;
	char base[MQTT_TOPIC_MAX], name[64];
	enum core_err err;
	long i;

	core_buf_init(&pw, 0);
	core_buf_init(&acl, 0);
	core_buf_init(&conf, 0);
	snprintf(base, sizeof(base), "m/%s/c/%s", p->tenant, p->channel);
	if ((err = prov_passwd_line(p->manager.id, p->manager.key, &pw, eb)) ||
	    (err = prov_passwd_line(p->proxy.id, p->proxy.key, &pw, eb)))
		goto out;
	core_buf_printf(&acl, "# Generated by propeller provision: every "
	    "client is limited to %s/.\n\n", base);
	prov_acl_client(&acl, base, "manager", p->manager.id, mgr_rules);
	prov_acl_client(&acl, base, "proxy", p->proxy.id, proxy_rules);
	for (i = 0; i < p->nproplets; i++) {
		err = prov_passwd_line(p->proplets[i].id, p->proplets[i].key, &pw,
		    eb);
		if (err != CORE_OK)
			goto out;
		snprintf(name, sizeof(name), "proplet %ld", i + 1);
		prov_acl_client(&acl, base, name, p->proplets[i].id,
		    proplet_rules);
	}
	core_buf_printf(&conf, "# Generated by propeller provision.\n"
	    "listener 1883 127.0.0.1\nallow_anonymous false\n"
	    "password_file passwd\nacl_file acl\n"
	    "# Relative paths are taken from the directory mosquitto runs in;\n"
	    "# use absolute paths when running it as a service.\n");
	if ((err = prov_write(p, "mosquitto/passwd", &pw, 0600, eb)) ||
	    (err = prov_write(p, "mosquitto/acl", &acl, 0600, eb)) ||
	    (err = prov_write(p, "mosquitto/mosquitto.conf", &conf, 0644, eb)))
		goto out;
out:
	core_buf_cleanup_secure(&pw);
	core_buf_cleanup(&acl);
	core_buf_cleanup(&conf);
	return err;
}

static void
prov_env_identity(struct core_buf *b, const char *prefix, const struct prov *p,
    const struct prov_entity *e)
{
	core_buf_printf(b, "%s_TENANT_ID=%s\n%s_ENTITY_ID=%s\n%s_API_KEY=%s\n"
	    "%s_CHANNEL_ID=%s\n%s_MQTT_ADDRESS=%s\n", prefix, p->tenant, prefix,
	    e->id, prefix, e->key, prefix, p->channel, prefix, p->mqtt);
}

static void
prov_toml_section(struct core_buf *b, const char *section,
    const struct prov *p, const struct prov_entity *e)
{
	core_buf_printf(b, "[%s]\ntenant_id = \"%s\"\nentity_id = \"%s\"\n"
	    "api_key = \"%s\"\nchannel_id = \"%s\"\n\n", section, p->tenant,
	    e->id, e->key, p->channel);
}

static enum core_err
prov_service_files(const struct prov *p, struct core_errbuf *eb)
{
	struct core_buf b, toml;
	char name[64];
	enum core_err err;
	long i;

	core_buf_init(&b, 0);
	core_buf_init(&toml, 0);
	core_buf_printf(&b, "# propeller-manager (generated by propeller "
	    "provision)\n");
	prov_env_identity(&b, "MANAGER", p, &p->manager);
	core_buf_printf(&b, "MANAGER_HTTP_PORT=7070\nMANAGER_STORAGE_TYPE=sqlite\n");
	if ((err = prov_write(p, "manager.env", &b, 0600, eb)))
		goto out;
	core_buf_cleanup_secure(&b);
	core_buf_init(&b, 0);
	core_buf_printf(&b, "# propeller-proxy (generated by propeller "
	    "provision)\n");
	prov_env_identity(&b, "PROXY", p, &p->proxy);
	core_buf_printf(&b, "PROXY_REGISTRY_URL=%s\n", p->registry);
	if ((err = prov_write(p, "proxy.env", &b, 0600, eb)))
		goto out;
	core_buf_printf(&toml, "# Generated by propeller provision. Manager "
	    "URL: %s\n\n", p->manager_url);
	prov_toml_section(&toml, "manager", p, &p->manager);
	for (i = 0; i < p->nproplets; i++) {
		core_buf_cleanup_secure(&b);
		core_buf_init(&b, 0);
		core_buf_printf(&b, "# proplet %ld (generated by propeller "
		    "provision)\n", i + 1);
		prov_env_identity(&b, "PROPLET", p, &p->proplets[i]);
		snprintf(name, sizeof(name), "proplet-%ld.env", i + 1);
		if ((err = prov_write(p, name, &b, 0600, eb)))
			goto out;
		if (p->nproplets == 1)
			snprintf(name, sizeof(name), "proplet");
		else
			snprintf(name, sizeof(name), "proplet%ld", i + 1);
		prov_toml_section(&toml, name, p, &p->proplets[i]);
	}
	prov_toml_section(&toml, "proxy", p, &p->proxy);
	err = prov_write(p, p->toml_name, &toml, 0600, eb);
out:
	core_buf_cleanup_secure(&b);
	core_buf_cleanup_secure(&toml);
	return err;
}

static int
provision_run(int argc, char **argv)
{
	struct prov p;
	struct core_errbuf eb;
	char *mdir = NULL;
	int64_t n = 1;
	int c, rc = CLI_EXIT_FAIL;
	long i;

	memset(&p, 0, sizeof(p));
	p.dir = ".";
	p.mqtt = "tcp://localhost:1883";
	p.manager_url = "http://localhost:7070";
	p.registry = "http://localhost:5000";
	p.toml_name = "config.toml";
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:n:t:c:a:m:r:f:h", prov_longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'd': p.dir = optarg; break;
		case 'n':
			if (core_parse_int(optarg, 1, PROV_MAX_PROPLETS, &n) !=
			    CORE_OK) {
				fprintf(stderr, "propeller provision: --proplets "
				    "must be 1..%d (got \"%s\")\n",
				    PROV_MAX_PROPLETS, optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 't': p.tenant = optarg; break;
		case 'c': p.channel = optarg; break;
		case 'a': p.mqtt = optarg; break;
		case 'm': p.manager_url = optarg; break;
		case 'r': p.registry = optarg; break;
		case 'f': p.toml_name = optarg; break;
		case 'F': p.force = true; break;
		case 'h': prov_usage(stdout); return CLI_EXIT_OK;
		default: prov_usage(stderr); return CLI_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "propeller provision: unexpected argument \"%s\"\n",
		    argv[optind]);
		return CLI_EXIT_USAGE;
	}
	if ((p.tenant != NULL && !mqtt_topic_part_valid(p.tenant)) ||
	    (p.channel != NULL && !mqtt_topic_part_valid(p.channel))) {
		fprintf(stderr, "propeller provision: tenant and channel ids must "
		    "not contain '/', '+', '#' or control characters\n");
		return CLI_EXIT_USAGE;
	}
	if (strchr(p.toml_name, '/') != NULL || *p.toml_name == '\0') {
		fprintf(stderr, "propeller provision: --file-name must be a plain "
		    "file name (got \"%s\")\n", p.toml_name);
		return CLI_EXIT_USAGE;
	}
	p.nproplets = (long)n;
	core_errbuf_clear(&eb);
	if (p.tenant == NULL) {
		core_uuid_v4(p.tenant_buf);
		p.tenant = p.tenant_buf;
	}
	if (p.channel == NULL) {
		core_uuid_v4(p.channel_buf);
		p.channel = p.channel_buf;
	}
	p.proplets = calloc((size_t)p.nproplets, sizeof(*p.proplets));
	if (p.proplets == NULL)
		goto out;
	if (prov_entity_new(&p.manager, &eb) != CORE_OK ||
	    prov_entity_new(&p.proxy, &eb) != CORE_OK)
		goto fail;
	for (i = 0; i < p.nproplets; i++)
		if (prov_entity_new(&p.proplets[i], &eb) != CORE_OK)
			goto fail;
	mdir = core_path_join(p.dir, "mosquitto");
	if (mdir == NULL || core_fs_mkdirs(mdir, 0755, &eb) != CORE_OK ||
	    prov_broker_files(&p, &eb) != CORE_OK ||
	    prov_service_files(&p, &eb) != CORE_OK)
		goto fail;
	printf("tenant %s, channel %s, manager %s, proxy %s, %ld proplet(s)\n",
	    p.tenant, p.channel, p.manager.id, p.proxy.id, p.nproplets);
	rc = CLI_EXIT_OK;
	goto out;
fail:
	fprintf(stderr, "propeller provision: %s\n", core_errbuf_msg(&eb));
out:
	free(mdir);
	core_wipe(&p.manager, sizeof(p.manager));
	core_wipe(&p.proxy, sizeof(p.proxy));
	if (p.proplets != NULL)
		core_wipe(p.proplets, (size_t)p.nproplets * sizeof(*p.proplets));
	free(p.proplets);
	return rc;
}

const struct cli_command cli_cmd_provision = { "provision",
	"write broker passwords/ACL, env files and config.toml for a "
	"deployment", provision_run };
