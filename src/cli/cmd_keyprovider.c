/*
 * cmd_keyprovider.c -- `propeller keyprovider`: the ocicrypt keyprovider
 * protocol over the cmd transport. Reads one request on stdin, answers on
 * stdout. keywrap takes keypath=/keyid= parameters (CoCo AnnotationPacket
 * out); keyunwrap needs a KEK source: --kek FILE (repeatable) and/or
 * --kek-dir DIR holding DIR/<repo>/<type>/<tag> per kid.
 *
 * ocicrypt configuration (OCICRYPT_KEYPROVIDER_CONFIG):
 *   {"key-providers":{"attestation-agent":{"cmd":{"path":"/usr/bin/propeller",
 *     "args":["keyprovider","--kek-dir","/etc/propeller/keks"]}}}}
 */
#define LOG_MODULE "keyprovider"
#include "core/core.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "ocicrypt/ocicrypt.h"

#define KP_MAX_KEKS 16

static enum core_err
kek_from_dir(
    void *ctx, const char *kid, struct secret **out, struct core_errbuf *eb)
{
	const char *dir = ctx;
	char *res = NULL, *path = NULL;
	enum core_err err;

	if ((err = ocicrypt_kid_resource(kid, &res, eb)) != CORE_OK)
		return err;
	if ((path = core_path_join(dir, res)) == NULL) {
		free(res);
		return CORE_ERR_NOMEM;
	}
	err = ocicrypt_kek_load(path, out, eb);
	free(path);
	free(res);
	return err;
}

static int
keyprovider_main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"kek", required_argument, NULL, 'k'},
	    {"kek-dir", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct secret *keks[KP_MAX_KEKS];
	size_t nkeks = 0, i, reqlen = 0;
	struct ocicrypt_kp_config cfg;
	struct core_errbuf eb;
	uint8_t *req = NULL;
	char *resp = NULL;
	int c, rc = CLI_EXIT_FAIL;

	memset(&cfg, 0, sizeof(cfg));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		core_errbuf_clear(&eb);
		switch (c) {
		case 'k':
			if (nkeks == KP_MAX_KEKS ||
			    ocicrypt_kek_load(optarg, &keks[nkeks], &eb) !=
			        CORE_OK) {
				log_errorx("--kek %s: %s", optarg,
				    core_errbuf_msg(&eb));
				rc = CLI_EXIT_USAGE;
				goto out;
			}
			nkeks++;
			break;
		case 'd':
			cfg.kek_for_kid = kek_from_dir;
			cfg.kek_ctx = optarg;
			break;
		case 'h':
			printf("usage: propeller keyprovider [--kek FILE]... "
			       "[--kek-dir DIR] < request.json\n");
			rc = CLI_EXIT_OK;
			goto out;
		default:
			rc = CLI_EXIT_USAGE;
			goto out;
		}
	}
	if (optind != argc) {
		log_errorx("unexpected argument \"%s\"", argv[optind]);
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	cfg.keks = (const struct secret *const *)keks;
	cfg.nkeks = nkeks;
	core_errbuf_clear(&eb);
	if (core_fs_read_fd(STDIN_FILENO, OCICRYPT_JSON_MAX, &req, &reqlen,
	        &eb) != CORE_OK ||
	    ocicrypt_keyprovider_handle(req, reqlen, &cfg, &resp, &eb) !=
	        CORE_OK) {
		log_errorx("%s", core_errbuf_msg(&eb));
		goto out;
	}
	if (core_write_all(STDOUT_FILENO, resp, strlen(resp)) != CORE_OK) {
		log_errorx("write response failed");
		goto out;
	}
	rc = CLI_EXIT_OK;
out:
	if (resp != NULL)
		core_wipe(resp, strlen(resp));
	free(resp);
	if (req != NULL)
		core_wipe(req, reqlen);
	free(req);
	for (i = 0; i < nkeks; i++)
		secret_free(keks[i]);
	return rc;
}

const struct cli_command cli_cmd_keyprovider = {"keyprovider",
    "ocicrypt keyprovider protocol (cmd transport) on stdin", keyprovider_main};
