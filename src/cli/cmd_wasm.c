/*
 * cmd_wasm.c -- `propeller wasm run`, a wasmtime-compatible runner.
 *
 *   propeller wasm run [--invoke NAME] [--dir HOST[::GUEST]]... [--env K=V]...
 *       [--tier 1|2|auto] [--max-memory BYTES] [--timeout SECONDS]
 *       [--cache-dir DIR] MODULE [ARGS...]
 *
 * Options end at MODULE: everything after it goes to the program. Exit
 * codes (docs/wasm.md): the program's own exit code for _start; 0 when an
 * invoked export returns; 1 the module could not be loaded or run; 2 usage;
 * 124 timeout; 134 trap (the kind is printed on stderr); 137 killed or
 * crashed.
 */
#include "core/core.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "wasm/wasm.h"

#define WASM_CLI_MAX_LIST 256
#define WASM_CLI_STDIN_MAX (64u * 1024 * 1024)

#define WASM_EXIT_TIMEOUT 124
#define WASM_EXIT_TRAP 134
#define WASM_EXIT_KILLED 137

struct wasm_cli_args {
	const char *invoke;
	const char *module;
	char **args;                  /* borrowed from argv */
	size_t nargs;
	const char *env[WASM_CLI_MAX_LIST];
	size_t nenv;
	char *envbuf[WASM_CLI_MAX_LIST]; /* owned: K=V built from the host */
	size_t nenvbuf;
	struct wasm_preopen dirs[WASM_CLI_MAX_LIST];
	char *dirbuf[WASM_CLI_MAX_LIST]; /* owned: split HOST::GUEST copies */
	size_t ndirs;
	enum wasm_tier tier;
	uint64_t max_memory;
	int64_t timeout_ms;
	const char *cache_dir;
};

STATIC int wasm_cli_parse(int argc, char **argv, struct wasm_cli_args *a,
    char *err, size_t errlen);
STATIC void wasm_cli_args_cleanup(struct wasm_cli_args *a);
STATIC enum core_err wasm_cli_parse_bytes(const char *s, uint64_t *out);
static int cmd_wasm(int argc, char **argv);
static int wasm_cli_run(struct wasm_cli_args *a);
static void usage(FILE *f);

const struct cli_command cli_cmd_wasm = {
	"wasm", "run WebAssembly modules (wasmtime-compatible `wasm run`)",
	cmd_wasm
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: propeller wasm run [--invoke NAME] [--dir HOST[::GUEST]]...\n"
	    "           [--env K=V]... [--tier 1|2|auto] [--max-memory BYTES]\n"
	    "           [--timeout SECONDS] [--cache-dir DIR] MODULE [ARGS...]\n"
	    "\n"
	    "Without --invoke runs _start with ARGS as argv and exits with the\n"
	    "program's exit code. With --invoke parses ARGS by the export's\n"
	    "parameter types and prints each result on its own line.\n"
	    "Exit codes: program's code | 0 ok | 1 failure | 2 usage |\n"
	    "124 timeout | 134 trap | 137 killed/crashed.\n");
}

/* Bytes with an optional binary suffix: 65536, 64K, 16M, 1G (or KiB...). */
STATIC enum core_err
wasm_cli_parse_bytes(const char *s, uint64_t *out)
{
	char *end = NULL;
	unsigned long long v;
	uint64_t mul = 1;

	if (s == NULL || *s < '0' || *s > '9')
		return CORE_ERR_INVALID;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return CORE_ERR_INVALID;
	if (*end == 'k' || *end == 'K')
		mul = 1024;
	else if (*end == 'm' || *end == 'M')
		mul = 1024 * 1024;
	else if (*end == 'g' || *end == 'G')
		mul = 1024ull * 1024 * 1024;
	else if (*end != '\0')
		return CORE_ERR_INVALID;
	if (*end != '\0') {
		end++;
		if (strcmp(end, "iB") != 0 && strcmp(end, "B") != 0 &&
		    *end != '\0')
			return CORE_ERR_INVALID;
	}
	if (v == 0 || v > UINT64_MAX / mul)
		return CORE_ERR_INVALID;
	*out = v * mul;
	return CORE_OK;
}

STATIC void
wasm_cli_args_cleanup(struct wasm_cli_args *a)
{
	size_t i;

	for (i = 0; i < a->nenvbuf; i++)
		free(a->envbuf[i]);
	for (i = 0; i < a->ndirs; i++)
		free(a->dirbuf[i]);
	a->nenvbuf = 0;
	a->ndirs = 0;
}

/*
 * Parses `run [options] MODULE [ARGS...]` (argv[0] = "wasm"). Returns 0, or
 * CLI_EXIT_USAGE with the reason in err. a must be zeroed by the caller and
 * released with wasm_cli_args_cleanup either way.
 */
STATIC int
wasm_cli_parse(int argc, char **argv, struct wasm_cli_args *a, char *err,
    size_t errlen)
{
	static const struct option opts[] = {
		{ "invoke", required_argument, NULL, 'i' },
		{ "dir", required_argument, NULL, 'd' },
		{ "env", required_argument, NULL, 'e' },
		{ "tier", required_argument, NULL, 't' },
		{ "max-memory", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "cache-dir", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *sep, *val;
	char *host;
	int c;
	int64_t ms;

	err[0] = '\0';
	a->tier = WASM_TIER_AUTO;
	if (argc < 2 || strcmp(argv[1], "run") != 0) {
		snprintf(err, errlen, "expected the subcommand \"run\"");
		return CLI_EXIT_USAGE;
	}
	argc--;
	argv++;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (*optarg == '\0') {
				snprintf(err, errlen, "--invoke: empty name");
				return CLI_EXIT_USAGE;
			}
			a->invoke = optarg;
			break;
		case 'd':
			if (a->ndirs >= WASM_CLI_MAX_LIST || *optarg == '\0') {
				snprintf(err, errlen, "--dir: %s", *optarg ?
				    "too many directories" : "empty path");
				return CLI_EXIT_USAGE;
			}
			host = strdup(optarg);
			if (host == NULL) {
				snprintf(err, errlen, "out of memory");
				return CLI_EXIT_USAGE;
			}
			a->dirbuf[a->ndirs] = host;
			sep = strstr(host, "::");
			if (sep != NULL) {
				host[sep - host] = '\0';
				a->dirs[a->ndirs].guest_path = sep + 2;
			} else {
				a->dirs[a->ndirs].guest_path = host;
			}
			a->dirs[a->ndirs].host_path = host;
			a->ndirs++;
			if (*host == '\0' ||
			    *a->dirs[a->ndirs - 1].guest_path == '\0') {
				snprintf(err, errlen, "--dir \"%s\": expected "
				    "HOST[::GUEST]", optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'e':
			if (a->nenv >= WASM_CLI_MAX_LIST || optarg[0] == '=' ||
			    optarg[0] == '\0') {
				snprintf(err, errlen, "--env \"%s\": expected "
				    "K=V", optarg);
				return CLI_EXIT_USAGE;
			}
			if (strchr(optarg, '=') != NULL) {
				a->env[a->nenv++] = optarg;
				break;
			}
			/* wasmtime: --env K passes the host's value of K. */
			val = getenv(optarg);
			if (val == NULL)
				break;
			if (asprintf(&a->envbuf[a->nenvbuf], "%s=%s", optarg,
			    val) < 0) {
				snprintf(err, errlen, "out of memory");
				return CLI_EXIT_USAGE;
			}
			a->env[a->nenv++] = a->envbuf[a->nenvbuf++];
			break;
		case 't':
			if (strcmp(optarg, "1") == 0)
				a->tier = WASM_TIER_1;
			else if (strcmp(optarg, "2") == 0)
				a->tier = WASM_TIER_2;
			else if (strcmp(optarg, "auto") == 0)
				a->tier = WASM_TIER_AUTO;
			else {
				snprintf(err, errlen, "--tier \"%s\": expected "
				    "1, 2 or auto", optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'm':
			if (wasm_cli_parse_bytes(optarg, &a->max_memory) !=
			    CORE_OK) {
				snprintf(err, errlen, "--max-memory \"%s\": "
				    "expected a positive byte count (e.g. "
				    "67108864 or 64M)", optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'T':
			if (core_duration_parse_ms(optarg, &ms, NULL) != CORE_OK ||
			    ms <= 0) {
				snprintf(err, errlen, "--timeout \"%s\": expected "
				    "seconds (e.g. 10) or a duration (500ms)",
				    optarg);
				return CLI_EXIT_USAGE;
			}
			a->timeout_ms = ms;
			break;
		case 'c':
			a->cache_dir = optarg;
			break;
		case 'h':
			snprintf(err, errlen, "help");
			return CLI_EXIT_USAGE;
		default:
			snprintf(err, errlen, "unknown or incomplete option "
			    "\"%s\"", argv[optind - 1]);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		snprintf(err, errlen, "missing MODULE");
		return CLI_EXIT_USAGE;
	}
	a->module = argv[optind];
	a->args = argv + optind + 1;
	a->nargs = (size_t)(argc - optind - 1);
	return 0;
}

static int
wasm_cli_run(struct wasm_cli_args *a)
{
	struct core_errbuf eb;
	struct wasm_module *m = NULL;
	struct wasm_run_opts o;
	struct wasm_result r;
	uint8_t *bytes = NULL, *in = NULL;
	size_t n = 0, inlen = 0;
	enum core_err err;
	int rc = CLI_EXIT_FAIL;
	const char *base;

	core_errbuf_clear(&eb);
	wasm_result_init(&r);
	err = core_fs_read(a->module, WASM_MODULE_MAX_BYTES, &bytes, &n, &eb);
	if (err == CORE_OK)
		err = wasm_module_parse(bytes, n, &m, &eb);
	if (err != CORE_OK) {
		fprintf(stderr, "propeller: %s: %s\n", a->module,
		    core_errbuf_msg(&eb));
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.invoke = a->invoke;
	o.args = (const char *const *)a->args;
	o.nargs = a->nargs;
	base = strrchr(a->module, '/');
	o.argv0 = base ? base + 1 : a->module;
	o.env = a->env;
	o.nenv = a->nenv;
	o.preopens = a->dirs;
	o.npreopens = a->ndirs;
	o.stdin_fd = -1;
	if (isatty(0)) {
		o.stdin_fd = 0;
	} else if (core_fs_read_fd(0, WASM_CLI_STDIN_MAX, &in, &inlen, NULL) ==
	    CORE_OK) {
		o.stdin_data = in;
		o.stdin_len = inlen;
	}
	o.inherit_stdout = true;
	o.inherit_stderr = true;
	o.tier = a->tier;
	o.max_memory_bytes = a->max_memory;
	o.timeout_ms = a->timeout_ms;
	o.cache_dir = a->cache_dir;
	err = wasm_run(m, &o, &r, &eb);
	if (err != CORE_OK) {
		fprintf(stderr, "propeller: %s\n", core_errbuf_msg(&eb));
		goto out;
	}
	switch (r.outcome) {
	case WASM_OUT_EXITED:
		rc = r.exit_code;
		break;
	case WASM_OUT_RETURNED:
		fputs(r.results, stdout);
		fflush(stdout);
		rc = CLI_EXIT_OK;
		break;
	case WASM_OUT_TRAPPED:
		fprintf(stderr, "propeller: wasm trap: %s\n",
		    wasm_trap_str(r.trap));
		rc = WASM_EXIT_TRAP;
		break;
	case WASM_OUT_TIMEOUT:
		fprintf(stderr, "propeller: wasm: timed out after %" PRId64
		    " ms\n", a->timeout_ms);
		rc = WASM_EXIT_TIMEOUT;
		break;
	case WASM_OUT_KILLED:
		fprintf(stderr, "propeller: wasm: killed\n");
		rc = WASM_EXIT_KILLED;
		break;
	case WASM_OUT_CRASHED:
		fprintf(stderr, "propeller: wasm: the run crashed (signal %d)\n",
		    r.term_signal);
		rc = WASM_EXIT_KILLED;
		break;
	case WASM_OUT_FAILED:
		fprintf(stderr, "propeller: %s\n", r.errmsg);
		rc = CLI_EXIT_FAIL;
		break;
	}
out:
	wasm_result_cleanup(&r);
	wasm_module_free(m);
	free(bytes);
	free(in);
	return rc;
}

static int
cmd_wasm(int argc, char **argv)
{
	struct wasm_cli_args a;
	char err[256];
	int rc;

	memset(&a, 0, sizeof(a));
	rc = wasm_cli_parse(argc, argv, &a, err, sizeof(err));
	if (rc != 0) {
		if (strcmp(err, "help") == 0) {
			usage(stdout);
			rc = CLI_EXIT_OK;
		} else {
			fprintf(stderr, "propeller wasm: %s\n", err);
			usage(stderr);
		}
		wasm_cli_args_cleanup(&a);
		return rc;
	}
	rc = wasm_cli_run(&a);
	wasm_cli_args_cleanup(&a);
	return rc;
}
