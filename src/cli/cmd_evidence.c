/*
 * cmd_evidence.c -- `propeller evidence collect` (inside a TEE: print the
 * Trustee evidence JSON for some report data) and `propeller evidence
 * verify` (offline verification of a quote or report, raw or JSON, to the
 * pinned roots; prints the claims).
 *
 * Exit codes: 0 collected / valid | 1 collection or verification failed
 * (the failing step is named on stderr) | 2 usage.
 */
#include "core/core.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "tee/tee.h"
#include "verifier/verifier.h"

static const char ev_usage[] =
    "usage: propeller evidence collect --report-data HEX [--tee KIND]\n"
    "                                  [--vmpl N] [--root DIR]\n"
    "       propeller evidence verify --tee tdx|snp|sgx|sample FILE\n"
    "                                 [--vcek FILE] [--collateral DIR]\n"
    "                                 [--report-data HEX] [--at RFC3339]\n"
    "                                 [--init-data HEX] [--allow-debug]\n"
    "                                 [--max-vmpl N]\n"
    "\n"
    "collect: report data is at most 64 bytes (zero-padded for hardware\n"
    "  TEEs); the TEE is detected unless --tee is given.\n"
    "verify: FILE is the raw quote/report or Trustee's evidence JSON.\n"
    "  Prints the claims JSON; exits 0 only when every step passed.\n"
    "  --at pins the check time; --init-data is compared with TDX\n"
    "  mr_config_id / SNP host_data; debug evidence fails unless\n"
    "  --allow-debug.\n";

static int
ev_fail(const char *what, const struct core_errbuf *eb)
{
	fprintf(stderr, "propeller evidence %s: %s\n", what,
	    core_errbuf_msg(eb));
	return CLI_EXIT_FAIL;
}

static int
ev_usage_err(const char *msg)
{
	fprintf(stderr, "propeller evidence: %s\n%s", msg, ev_usage);
	return CLI_EXIT_USAGE;
}

/* Decodes HEX of at most 64 bytes into out. */
static bool
ev_hex(const char *s, uint8_t out[64], size_t *len)
{
	uint8_t *p = NULL;
	size_t n = 0;

	if (core_hex_decode(s, strlen(s), &p, &n, NULL) != CORE_OK || n > 64) {
		free(p);
		return false;
	}
	memcpy(out, p, n);
	*len = n;
	free(p);
	return true;
}

static int
ev_collect(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "report-data", required_argument, NULL, 'd' },
		{ "tee", required_argument, NULL, 't' },
		{ "vmpl", required_argument, NULL, 'v' },
		{ "root", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct tee_attest_opts ao = { .root = "/" };
	struct core_errbuf eb = { { 0 } };
	enum tee_kind kind = TEE_NONE;
	uint8_t rd[64];
	size_t rd_len = 0;
	bool have_rd = false;
	char *ev = NULL;
	int64_t v;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (!ev_hex(optarg, rd, &rd_len))
				return ev_usage_err("--report-data: want hex of "
				    "at most 64 bytes");
			have_rd = true;
			break;
		case 't':
			if (tee_kind_parse(optarg, false, &kind, &eb) != CORE_OK)
				return ev_usage_err(core_errbuf_msg(&eb));
			break;
		case 'v':
			if (core_parse_int(optarg, 0, 3, &v) != CORE_OK)
				return ev_usage_err("--vmpl: want 0..3");
			ao.vmpl = (unsigned)v;
			break;
		case 'r':
			ao.root = optarg;
			break;
		case 'h':
			fputs(ev_usage, stdout);
			return CLI_EXIT_OK;
		default:
			fputs(ev_usage, stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (!have_rd || optind != argc)
		return ev_usage_err("collect needs --report-data HEX and no "
		    "arguments");
	if (kind == TEE_NONE) {
		struct tee_detection d;

		if (tee_detect(ao.root, &d, &eb) != CORE_OK)
			return ev_fail("collect", &eb);
		if (d.kind == TEE_NONE) {
			fprintf(stderr, "propeller evidence collect: no TEE "
			    "detected (see `propeller tee detect`; use --tee "
			    "sample for test evidence)\n");
			return CLI_EXIT_FAIL;
		}
		kind = d.kind;
	}
	if (tee_attester_evidence(kind, rd, rd_len, &ao, &ev, &eb) != CORE_OK)
		return ev_fail("collect", &eb);
	printf("%s\n", ev);
	free(ev);
	return CLI_EXIT_OK;
}

static int
ev_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tee", required_argument, NULL, 't' },
		{ "vcek", required_argument, NULL, 'k' },
		{ "collateral", required_argument, NULL, 'c' },
		{ "report-data", required_argument, NULL, 'd' },
		{ "at", required_argument, NULL, 'a' },
		{ "init-data", required_argument, NULL, 'i' },
		{ "allow-debug", no_argument, NULL, 'D' },
		{ "max-vmpl", required_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct verifier_opts vo = { 0 };
	struct core_errbuf eb = { { 0 } };
	enum tee_kind kind = TEE_NONE;
	uint8_t rd[64], init[64];
	size_t rd_len = 0, init_len = 0;
	bool have_rd = false;
	const char *vcek_path = NULL;
	uint8_t *ev = NULL, *vcek = NULL;
	size_t ev_len = 0, vcek_len = 0;
	json_t *claims = NULL;
	enum core_err err;
	int64_t ns;
	int c, rc = CLI_EXIT_FAIL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (tee_kind_parse(optarg, false, &kind, &eb) != CORE_OK)
				return ev_usage_err(core_errbuf_msg(&eb));
			break;
		case 'k':
			vcek_path = optarg;
			break;
		case 'c':
			vo.collateral_dir = optarg;
			break;
		case 'd':
			if (!ev_hex(optarg, rd, &rd_len))
				return ev_usage_err("--report-data: want hex of "
				    "at most 64 bytes");
			have_rd = true;
			break;
		case 'a':
			if (core_rfc3339_parse(optarg, &ns, &eb) != CORE_OK)
				return ev_usage_err("--at: want an RFC 3339 "
				    "time");
			vo.check_time = ns / 1000000000;
			if (vo.check_time == 0)
				vo.check_time = 1;
			break;
		case 'i':
			if (!ev_hex(optarg, init, &init_len))
				return ev_usage_err("--init-data: want hex of "
				    "at most 64 bytes");
			vo.init_data_digest = init;
			vo.init_data_digest_len = init_len;
			break;
		case 'D':
			vo.allow_debug = true;
			break;
		case 'V':
			if (core_parse_int(optarg, 0, 3, &ns) != CORE_OK)
				return ev_usage_err("--max-vmpl: want 0..3");
			vo.max_vmpl = (unsigned)ns;
			break;
		case 'h':
			fputs(ev_usage, stdout);
			return CLI_EXIT_OK;
		default:
			fputs(ev_usage, stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (kind == TEE_NONE || optind != argc - 1)
		return ev_usage_err("verify needs --tee KIND and one FILE");
	err = core_fs_read(argv[optind], VERIFIER_MAX_EVIDENCE, &ev, &ev_len,
	    &eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(&eb, "%s", argv[optind]);
		rc = ev_fail("verify", &eb);
		goto out;
	}
	if (vcek_path != NULL) {
		err = core_fs_read(vcek_path, 64 * 1024, &vcek, &vcek_len,
		    &eb);
		if (err != CORE_OK) {
			core_errbuf_prefix(&eb, "--vcek %s", vcek_path);
			rc = ev_fail("verify", &eb);
			goto out;
		}
		vo.vcek = vcek;
		vo.vcek_len = vcek_len;
	}
	err = verifier_verify(kind, ev, ev_len, have_rd ? rd : NULL, rd_len,
	    &vo, &claims, &eb);
	if (claims != NULL) {
		char *txt = json_dumps(claims, JSON_INDENT(2));

		if (txt != NULL)
			printf("%s\n", txt);
		free(txt);
	}
	if (err != CORE_OK) {
		rc = ev_fail("verify", &eb);
		goto out;
	}
	rc = CLI_EXIT_OK;
out:
	json_decref(claims);
	free(ev);
	free(vcek);
	return rc;
}

static int
cmd_evidence(int argc, char **argv)
{
	if (argc < 2) {
		fputs(ev_usage, stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "collect") == 0)
		return ev_collect(argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0)
		return ev_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(ev_usage, stdout);
		return CLI_EXIT_OK;
	}
	fprintf(stderr, "propeller evidence: unknown subcommand \"%s\"\n%s",
	    argv[1], ev_usage);
	return CLI_EXIT_USAGE;
}

const struct cli_command cli_cmd_evidence = { "evidence",
	"TEE evidence: collect inside a TEE, verify offline", cmd_evidence };
