/*
 * main.c -- propeller-kbs, the Key Broker Service daemon.
 *
 * Reads the configuration once (flags, environment, config file; every bad
 * setting reported together), starts the server and runs until SIGTERM or
 * SIGINT.
 */
#define LOG_MODULE "kbs"
#include "kbs/kbs.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: propeller-kbs --data-dir DIR --admin-public-key FILE\n"
    "         [--listen ADDR:PORT] [--tls-cert F --tls-key F] [--config F]\n"
    "         [--session-timeout D] [--token-lifetime D] [--threads N]\n"
    "         [--max-body BYTES] [--max-sessions N] [--allow-rsa1-5]\n"
    "         [--admin-max-token-lifetime D]\n"
    "Each flag may also be set by KBS_<NAME> (e.g. KBS_LISTEN) or in the\n"
    "JSON config file (e.g. \"listen\"). See docs/kbs.md.\n";

/* One line per request: refusals at warn with the detail sent back. */
static void
on_request(void *arg, const char *method, const char *path, unsigned status,
    const char *detail)
{
	char fields[96];

	(void)arg;
	snprintf(fields, sizeof(fields), "status=%u", status);
	if (status == 200)
		log_kv(LOG_LEVEL_DEBUG, fields, "%s %.200s", method, path);
	else
		log_kv(LOG_LEVEL_WARN, fields, "%s %.200s: %s", method, path,
		    detail);
}

int
main(int argc, char **argv)
{
	struct kbs_config cfg;
	struct core_cfg errs;
	struct core_errbuf eb;
	struct kbs_server *srv = NULL;
	enum log_level lvl;
	const char *lv;
	sigset_t set;
	bool help = false;
	int sig = 0, rc = 1;

	log_set_proc("propeller-kbs");
	core_errbuf_clear(&eb);
	core_cfg_init(&errs);
	if (kbs_config_init(&cfg) != CORE_OK)
		core_fatalx("out of memory");
	lv = core_env_str(&errs, CORE_ENV("KBS_LOG_LEVEL"), "info");
	if (log_level_parse(lv, &lvl) == CORE_OK)
		log_set_level(lvl);
	else
		core_cfg_error(&errs, "KBS_LOG_LEVEL", lv,
		    "must be debug, info, warn, error or none");
	kbs_config_load(&cfg, argc, argv, &errs, &help);
	if (help) {
		fputs(usage, stdout);
		rc = 0;
		goto out;
	}
	if (errs.nerrors > 0) {
		fprintf(stderr, "propeller-kbs: %d configuration error%s:\n%s\n",
		    errs.nerrors, errs.nerrors == 1 ? "" : "s",
		    (const char *)errs.errors.data);
		fputs(usage, stderr);
		rc = 2;
		goto out;
	}
	cfg.on_request = on_request;
	/* Block the stop signals before threads start so they inherit it. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD); /* the vault child is our only child */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (kbs_server_new(&cfg, &srv, &eb) != CORE_OK) {
		log_errorx("cannot start: %s", core_errbuf_msg(&eb));
		goto out;
	}
	log_info("listening on %s:%u (%s), data in %s", cfg.listen_addr,
	    (unsigned)kbs_server_port(srv), cfg.tls_cert ? "https" : "http",
	    cfg.data_dir);
	if (cfg.tls_cert == NULL)
		log_warnx("serving plain HTTP: session cookies and tokens are "
		    "bearer secrets; use --tls-cert/--tls-key outside tests");
	sigwait(&set, &sig);
	if (sig == SIGCHLD) {
		log_errorx("the vault process exited: stopping");
		goto out;
	}
	log_info("signal %d: stopping", sig);
	rc = 0;
out:
	kbs_server_free(srv);
	kbs_config_cleanup(&cfg);
	core_cfg_cleanup(&errs);
	return rc;
}
