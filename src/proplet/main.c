/*
 * main.c -- the proplet daemon: configuration from the environment, then
 * the service until SIGTERM/SIGINT.
 */
#define LOG_MODULE "main"
#include "proplet/proplet.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proplet/fetch_helper.h"

static struct proplet *running;

static void
on_signal(int sig)
{
	(void)sig;
	if (running != NULL)
		proplet_stop(running);
}

int
main(int argc, char **argv)
{
	struct proplet_config cfg;
	struct core_cfg errs;
	struct core_errbuf eb;
	struct sigaction sa;
	enum log_level lvl = LOG_LEVEL_INFO;
	int rc = 1;

	log_set_proc("proplet");
	if (argc > 1 && (strcmp(argv[1], "--version") == 0 ||
	    strcmp(argv[1], "version") == 0)) {
		printf("proplet %s\n", PROPELLER_VERSION);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "usage: proplet (configured by PROPLET_* "
		    "environment variables; see docs/operations.md)\n");
		return 2;
	}
	core_cfg_init(&errs);
	proplet_config_load(&cfg, &errs);
	if (errs.nerrors > 0) {
		fprintf(stderr, "proplet: bad configuration:\n%s\n",
		    (char *)errs.errors.data);
		goto out;
	}
	core_errbuf_clear(&eb);
	(void)log_level_parse(cfg.log_level, &lvl);
	log_set_level(lvl);
	if (proplet_fetch_helper_init(NULL, &eb) != CORE_OK) {
		log_errorx("startup failed: %s", eb.msg);
		goto out;
	}
	if (access(proplet_fetch_helper_path(), X_OK) != 0)
		log_warn("fetch helper %s: image and encrypted tasks will fail",
		    proplet_fetch_helper_path());
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (proplet_new(&cfg, &running, &eb) != CORE_OK) {
		log_errorx("startup failed: %s", eb.msg);
		goto out;
	}
	if (proplet_run(running, &eb) != CORE_OK) {
		log_errorx("%s", eb.msg);
		goto out;
	}
	rc = 0;
out:
	proplet_free(running);
	running = NULL;
	proplet_config_cleanup(&cfg);
	core_cfg_cleanup(&errs);
	proplet_fetch_helper_cleanup();
	return rc;
}
