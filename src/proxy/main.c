/*
 * main.c -- propeller-proxy: configuration from PROXY_* variables, then
 * the service until SIGTERM/SIGINT.
 */
#define LOG_MODULE "main"
#include "proxy/proxy.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

static struct proxy *running;

static void
on_signal(int sig)
{
	(void)sig;
	if (running != NULL)
		proxy_stop(running);
}

int
main(int argc, char **argv)
{
	struct proxy_config cfg;
	struct core_cfg errs;
	struct core_errbuf eb;
	struct sigaction sa;
	enum log_level lvl = LOG_LEVEL_INFO;
	int rc = 1;

	log_set_proc("proxy");
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("propeller-proxy %s\n", PROPELLER_VERSION);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "usage: propeller-proxy (configured by PROXY_* "
		    "environment variables; see docs/operations.md)\n");
		return 2;
	}
	core_cfg_init(&errs);
	proxy_config_load(&cfg, &errs);
	if (errs.nerrors > 0) {
		fprintf(stderr, "propeller-proxy: bad configuration:\n%s\n",
		    (char *)errs.errors.data);
		goto out;
	}
	(void)log_level_parse(cfg.log_level, &lvl);
	log_set_level(lvl);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	core_errbuf_clear(&eb);
	if (proxy_new(&cfg, &running, &eb) != CORE_OK ||
	    proxy_run(running, &eb) != CORE_OK) {
		log_errorx("%s", eb.msg);
		goto out;
	}
	rc = 0;
out:
	proxy_free(running);
	running = NULL;
	proxy_config_cleanup(&cfg);
	core_cfg_cleanup(&errs);
	curl_global_cleanup();
	return rc;
}
