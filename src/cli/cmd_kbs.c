/*
 * cmd_kbs.c -- `propeller kbs`, the kbs-client equivalent (spec §10):
 *   propeller kbs [--url URL] [--cert-file PEM] attest [--tee-key-file PEM]
 *       [INIT_DATA]
 *   propeller kbs ... get-resource --path R/T/G [--tee-key-file PEM]
 *       [--attestation-token FILE] [INIT_DATA]
 *   propeller kbs ... config (--auth-private-key KEY | --admin-token-file F)
 *       set-resource --path R/T/G --resource-file F
 *     | delete-resource --path R/T/G
 *     | set-resource-policy (--policy-file F | --allow-all | --deny-all |
 *                            --default | --affirming)
 * Results go to stdout as kbs-client prints them; errors go to stderr once.
 */
#define LOG_MODULE "cli"
#include "cli/cli.h"
#include "kbs/kbs.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char kbs_usage[] =
    "usage: propeller kbs [--url URL] [--cert-file PEM] COMMAND\n"
    "  attest [--tee-key-file PEM] [INIT_DATA]\n"
    "  get-resource --path R/T/G [--tee-key-file PEM]\n"
    "               [--attestation-token FILE] [INIT_DATA]\n"
    "  config (--auth-private-key KEY | --admin-token-file F) SUBCOMMAND\n"
    "    set-resource --path R/T/G --resource-file F\n"
    "    delete-resource --path R/T/G\n"
    "    set-resource-policy (--policy-file F | --allow-all | --deny-all |\n"
    "                         --default | --affirming)\n";

struct kbs_cli {
	const char *url;
	const char *cert_file;
};

static int
fail(const struct core_errbuf *eb, const char *what)
{
	fprintf(stderr, "propeller kbs: %s: %s\n", what, core_errbuf_msg(eb));
	return CLI_EXIT_FAIL;
}

static int
usage_error(const char *msg)
{
	fprintf(stderr, "propeller kbs: %s\n%s", msg, kbs_usage);
	return CLI_EXIT_USAGE;
}

/* attest and get-resource share their flags. */
static int
cmd_guest(const struct kbs_cli *g, bool get, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "path", 1, NULL, 'p' },
		{ "tee-key-file", 1, NULL, 'k' },
		{ "attestation-token", 1, NULL, 't' },
		{ NULL, 0, NULL, 0 } };
	const char *path = NULL, *keyf = NULL, *tokf = NULL;
	struct kbs_client_opts o;
	struct kbs_attester att = kbs_sample_attester;
	bool sample = true;
	struct kbs_client *c = NULL;
	struct core_errbuf eb;
	struct secret *res = NULL;
	uint8_t *tok = NULL;
	size_t tlen = 0;
	const char *token = NULL;
	char *b64 = NULL;
	int ch, rc = CLI_EXIT_FAIL;

	core_errbuf_clear(&eb);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'p': path = optarg; break;
		case 'k': keyf = optarg; break;
		case 't': tokf = optarg; break;
		default: return usage_error("bad option");
		}
	}
	if (get && path == NULL)
		return usage_error("get-resource needs --path");
	if (tokf != NULL && (keyf == NULL || !get))
		return usage_error("--attestation-token needs --tee-key-file "
		    "and get-resource");
	if (optind + 1 < argc)
		return usage_error("too many arguments");
	memset(&o, 0, sizeof(o));
	o.url = g->url;
	o.cert_file = g->cert_file;
	o.tee_key_file = keyf;
	o.init_data = optind < argc ? argv[optind] : NULL;
	if (tokf == NULL) {
		if (kbs_attester_detect(&att, &sample, &eb) != CORE_OK) {
			rc = fail(&eb, "TEE detection");
			goto out;
		}
		if (sample)
			fprintf(stderr, "propeller kbs: no TEE detected, using "
			    "the sample attester (tee \"sample\")\n");
		else
			fprintf(stderr, "propeller kbs: TEE %s detected\n",
			    att.tee);
	}
	o.attester = &att;
	if (kbs_client_new(&o, &c, &eb) != CORE_OK) {
		rc = fail(&eb, "client");
		goto out;
	}
	if (tokf != NULL) {
		if (core_fs_read(tokf, 64 * 1024, &tok, &tlen, &eb) != CORE_OK) {
			rc = fail(&eb, "--attestation-token");
			goto out;
		}
		while (tlen > 0 && (tok[tlen - 1] == '\n' ||
		    tok[tlen - 1] == ' ' || tok[tlen - 1] == '\r'))
			tok[--tlen] = '\0';
		if (kbs_client_set_token(c, (char *)tok, &eb) != CORE_OK) {
			rc = fail(&eb, "--attestation-token");
			goto out;
		}
	}
	if (!get) {
		if (kbs_client_attest(c, &token, &eb) != CORE_OK) {
			rc = fail(&eb, "attest");
			goto out;
		}
		printf("%s\n", token);
		rc = CLI_EXIT_OK;
		goto out;
	}
	if (kbs_client_get_resource(c, path, &res, &eb) != CORE_OK) {
		rc = fail(&eb, "get-resource");
		goto out;
	}
	b64 = core_b64_encode(res->ptr, res->len);
	if (b64 == NULL)
		goto out;
	printf("%s\n", b64);
	rc = CLI_EXIT_OK;
out:
	if (b64 != NULL)
		core_wipe(b64, strlen(b64));
	free(b64);
	free(tok);
	secret_free(res);
	kbs_client_free(c);
	return rc;
}

static int
cmd_config(const struct kbs_cli *g, int argc, char **argv)
{
	static const struct option gopts[] = {
		{ "auth-private-key", 1, NULL, 'a' },
		{ "admin-token-file", 1, NULL, 't' },
		{ NULL, 0, NULL, 0 } };
	static const struct option sopts[] = {
		{ "path", 1, NULL, 'p' },
		{ "resource-file", 1, NULL, 'r' },
		{ "policy-file", 1, NULL, 'f' },
		{ "allow-all", 0, NULL, 'A' },
		{ "deny-all", 0, NULL, 'D' },
		{ "default", 0, NULL, 'd' },
		{ "affirming", 0, NULL, 'F' },
		{ NULL, 0, NULL, 0 } };
	struct kbs_admin_opts o;
	struct core_errbuf eb;
	const char *path = NULL, *rfile = NULL, *pfile = NULL, *sub;
	const char *preset = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	char *b64 = NULL;
	int ch, npol = 0, rc = CLI_EXIT_FAIL;

	core_errbuf_clear(&eb);
	memset(&o, 0, sizeof(o));
	o.url = g->url;
	o.cert_file = g->cert_file;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+", gopts, NULL)) != -1) {
		switch (ch) {
		case 'a': o.auth_private_key = optarg; break;
		case 't': o.admin_token_file = optarg; break;
		default: return usage_error("bad config option");
		}
	}
	if (o.auth_private_key == NULL && o.admin_token_file == NULL)
		return usage_error("config needs --auth-private-key or "
		    "--admin-token-file");
	if (optind >= argc)
		return usage_error("config needs a subcommand");
	sub = argv[optind];
	argc -= optind;
	argv += optind;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", sopts, NULL)) != -1) {
		switch (ch) {
		case 'p': path = optarg; break;
		case 'r': rfile = optarg; break;
		case 'f': pfile = optarg; npol++; break;
		case 'A': preset = kbs_policy_preset_text(KBS_POLICY_ALLOW_ALL);
			npol++; break;
		case 'D': preset = kbs_policy_preset_text(KBS_POLICY_DENY_ALL);
			npol++; break;
		case 'd': preset = kbs_policy_preset_text(KBS_POLICY_DEFAULT);
			npol++; break;
		case 'F': preset = kbs_policy_preset_text(KBS_POLICY_AFFIRMING);
			npol++; break;
		default: return usage_error("bad option");
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument");
	if (strcmp(sub, "set-resource") == 0) {
		if (path == NULL || rfile == NULL)
			return usage_error("set-resource needs --path and "
			    "--resource-file");
		if (core_fs_read(rfile, KBS_MAX_BODY_DEFAULT, &data, &len,
		    &eb) != CORE_OK) {
			rc = fail(&eb, "--resource-file");
			goto out;
		}
		if (kbs_admin_set_resource(&o, path, data, len, &eb) !=
		    CORE_OK) {
			rc = fail(&eb, "set-resource");
			goto out;
		}
		b64 = core_b64_encode(data, len);
		printf("Set resource success \n resource: %s\n",
		    b64 ? b64 : "");
	} else if (strcmp(sub, "delete-resource") == 0) {
		if (path == NULL)
			return usage_error("delete-resource needs --path");
		if (kbs_admin_delete_resource(&o, path, &eb) != CORE_OK) {
			rc = fail(&eb, "delete-resource");
			goto out;
		}
		printf("Delete resource success\n");
	} else if (strcmp(sub, "set-resource-policy") == 0) {
		if (npol != 1)
			return usage_error("set-resource-policy needs exactly "
			    "one of --policy-file, --allow-all, --deny-all, "
			    "--default, --affirming");
		if (pfile != NULL) {
			if (core_fs_read(pfile, 256 * 1024, &data, &len, &eb) !=
			    CORE_OK) {
				rc = fail(&eb, "--policy-file");
				goto out;
			}
		} else {
			data = (uint8_t *)strdup(preset);
			len = strlen(preset);
		}
		if (kbs_admin_set_policy(&o, data, len, &eb) != CORE_OK) {
			rc = fail(&eb, "set-resource-policy");
			goto out;
		}
		b64 = core_b64_encode(data, len);
		printf("Set resource policy success \n policy: %s\n",
		    b64 ? b64 : "");
	} else if (strcmp(sub, "set-attestation-policy") == 0 ||
	    strcmp(sub, "set-sample-reference-value") == 0 ||
	    strcmp(sub, "get-reference-value") == 0) {
		fprintf(stderr, "propeller kbs: %s: not supported by "
		    "propeller-kbs (its attestation policy is built in)\n", sub);
		goto out;
	} else {
		return usage_error("unknown config subcommand");
	}
	rc = CLI_EXIT_OK;
out:
	if (data != NULL)
		core_wipe(data, len);
	free(data);
	free(b64);
	return rc;
}

static int
kbs_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", 1, NULL, 'u' },
		{ "cert-file", 1, NULL, 'c' },
		{ "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	struct kbs_cli g = { KBS_DEFAULT_URL, NULL };
	const char *cmd;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (ch) {
		case 'u': g.url = optarg; break;
		case 'c': g.cert_file = optarg; break;
		case 'h': fputs(kbs_usage, stdout); return CLI_EXIT_OK;
		default: return usage_error("bad option");
		}
	}
	if (optind >= argc)
		return usage_error("missing command");
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "attest") == 0)
		return cmd_guest(&g, false, argc, argv);
	if (strcmp(cmd, "get-resource") == 0)
		return cmd_guest(&g, true, argc, argv);
	if (strcmp(cmd, "config") == 0)
		return cmd_config(&g, argc, argv);
	return usage_error("unknown command");
}

const struct cli_command cli_cmd_kbs = { "kbs",
	"Key Broker Service client (kbs-client equivalent)", kbs_main };
