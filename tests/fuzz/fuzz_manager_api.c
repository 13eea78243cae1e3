/*
 * fuzz_manager_api.c -- the manager HTTP API request handling: the first
 * byte picks a route and method, the rest is the body (POST/PUT) or the
 * query string (GET). Runs the real service over a memory store with a
 * publish callback that accepts everything.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "manager/manager.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct manager_config cfg;
static struct manager_service *svc;

static enum core_err
sink(void *arg, const char *topic, const void *p, size_t n,
    struct core_errbuf *eb)
{
	(void)arg; (void)topic; (void)p; (void)n; (void)eb;
	return CORE_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = { "/tasks", "/tasks",
		"/tasks/11111111-1111-4111-8111-111111111111",
		"/proplets", "/tasks/11111111-1111-4111-8111-111111111111/start" };
	static const char *const methods[] = { "POST", "GET", "PUT", "GET",
		"POST" };
	struct manager_store *st = NULL;
	struct manager_api_req req;
	struct manager_api_resp resp;
	json_t *task = NULL;
	char *text;
	unsigned k;

	if (svc == NULL) {
		cfg.tenant_id = (char *)"t";
		cfg.channel_id = (char *)"c";
		cfg.liveness_timeout_ms = 10000;
		if (manager_store_open_sqlite(":memory:", &st, NULL) != CORE_OK ||
		    manager_service_new(&cfg, st, sink, NULL, &svc, NULL) !=
		    CORE_OK)
			abort();
	}
	if (size < 1)
		return 0;
	/* The body parser alone. */
	if (manager_task_parse(data + 1, size - 1, &task, NULL) == CORE_OK) {
		if (task == NULL)
			abort();
		json_decref(task);
	}
	k = data[0] % 5;
	text = strndup((const char *)data + 1, size - 1);
	if (text == NULL)
		return 0;
	memset(&req, 0, sizeof(req));
	req.method = methods[k];
	req.path = paths[k];
	req.content_type = "application/json";
	if (strcmp(req.method, "GET") == 0) {
		req.query = text;
	} else {
		req.body = data + 1;
		req.body_len = size - 1;
	}
	manager_api_handle(svc, &cfg, &req, &resp);
	if (resp.status < 200 || resp.status > 599)
		abort();
	manager_api_resp_cleanup(&resp);
	free(text);
	return 0;
}
