/*
 * test_service.c -- the manager service and HTTP API routing over the real
 * memory store, with the MQTT publish captured at the service's publish
 * interface; and configuration loading.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "manager/manager.h"
#include "mqtt/mqtt.h"

#define TEN "ten"
#define CHAN "chan"
#define P1 "11111111-1111-4111-8111-111111111111"
#define P2 "22222222-2222-4222-8222-222222222222"

struct captured {
	char topic[MQTT_TOPIC_MAX];
	char *payload;  /* owned: last published payload */
	int count;
	bool fail;      /* make the next publishes fail */
};

struct fixture {
	struct manager_config cfg;
	struct manager_service *svc;
	struct captured cap;
	struct manager_api_resp resp;
	json_t *body;   /* parsed resp body */
};

static enum core_err
capture(void *arg, const char *topic, const void *p, size_t n,
    struct core_errbuf *eb)
{
	struct captured *c = arg;

	if (c->fail)
		return core_errf(eb, CORE_ERR_NET, "broker unreachable");
	snprintf(c->topic, sizeof(c->topic), "%s", topic);
	free(c->payload);
	c->payload = strndup(p, n);
	c->count++;
	return CORE_OK;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct manager_store *st = NULL;

	f->cfg.tenant_id = strdup(TEN);
	f->cfg.channel_id = strdup(CHAN);
	f->cfg.instance_id = strdup("inst");
	f->cfg.liveness_timeout_ms = 10000;
	if (manager_store_open_sqlite(":memory:", &st, NULL) != CORE_OK)
		return -1;
	if (manager_service_new(&f->cfg, st, capture, &f->cap, &f->svc, NULL) !=
	    CORE_OK)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	manager_service_free(f->svc);
	manager_api_resp_cleanup(&f->resp);
	json_decref(f->body);
	free(f->cap.payload);
	manager_config_cleanup(&f->cfg);
	free(f);
	return 0;
}

/* Sends one request; returns the status and keeps the parsed body. */
static int
req(struct fixture *f, const char *method, const char *path_query,
    const char *body)
{
	struct manager_api_req r;
	char path[512];
	const char *q = strchr(path_query, '?');

	manager_api_resp_cleanup(&f->resp);
	json_decref(f->body);
	f->body = NULL;
	memset(&r, 0, sizeof(r));
	snprintf(path, sizeof(path), "%.*s", q != NULL ?
	    (int)(q - path_query) : (int)strlen(path_query), path_query);
	r.method = method;
	r.path = path;
	r.query = q != NULL ? q + 1 : NULL;
	r.content_type = body != NULL ? "application/json; charset=utf-8" : NULL;
	r.body = body;
	r.body_len = body != NULL ? strlen(body) : 0;
	manager_api_handle(f->svc, &f->cfg, &r, &f->resp);
	if (f->resp.body != NULL)
		f->body = json_loadb(f->resp.body, f->resp.body_len, 0, NULL);
	return f->resp.status;
}

static const char *
bstr(struct fixture *f, const char *key)
{
	return json_string_value(json_object_get(f->body, key));
}

static json_int_t
bint(struct fixture *f, const char *key)
{
	return json_integer_value(json_object_get(f->body, key));
}

static void
mqtt_in(struct fixture *f, const char *suffix, const char *payload,
    enum core_err want)
{
	char topic[MQTT_TOPIC_MAX];
	struct core_errbuf eb;

	core_errbuf_clear(&eb);
	assert_int_equal(mqtt_topic(topic, TEN, CHAN, suffix, NULL), CORE_OK);
	if (manager_service_handle(f->svc, topic, payload, strlen(payload),
	    &eb) != want)
		fail_msg("handle %s: %s", suffix, core_errbuf_msg(&eb));
}

static void
heartbeat(struct fixture *f, const char *id)
{
	char p[160];

	snprintf(p, sizeof(p), "{\"proplet_id\":\"%s\",\"status\":\"alive\"}",
	    id);
	mqtt_in(f, MQTT_SUFFIX_ALIVE, p, CORE_OK);
}

/* Creates a task from body and returns its id (static buffer). */
static const char *
create(struct fixture *f, const char *body)
{
	static char id[CORE_UUID_STR_LEN + 1];

	assert_int_equal(req(f, "POST", "/tasks", body), 201);
	snprintf(id, sizeof(id), "%s", bstr(f, "id"));
	return id;
}

static void
test_create_get_list(void **state)
{
	struct fixture *f = *state;
	const char *id;
	char path[128], loc[128];
	int i;

	id = create(f, "{\"name\":\"add\",\"file\":\"AGFzbQEAAAABBQFgAAF/AwIBAAcHAQNhZGQAAAoGAQQAQQELAA==\","
	    "\"inputs\":[10,\"20\"],\"priority\":0,\"metadata\":{\"team\":\"a\"},"
	    "\"unknown\":1}");
	snprintf(loc, sizeof(loc), "/tasks/%s", id);
	assert_string_equal(f->resp.location, loc);
	assert_int_equal(bint(f, "state"), 0);
	assert_int_equal(bint(f, "priority"), 50);
	assert_string_equal(bstr(f, "kind"), "standard");
	assert_string_equal(bstr(f, "file"), "AGFzbQEAAA<REDACTED>QAQQELAA==");
	assert_true(json_is_null(json_object_get(f->body, "cli_args")));
	assert_false(json_is_true(json_object_get(f->body, "daemon")));
	assert_non_null(json_object_get(f->body, "encrypted"));
	assert_string_equal(bstr(f, "finish_time"), "0001-01-01T00:00:00Z");
	assert_null(json_object_get(f->body, "unknown"));
	assert_null(json_object_get(f->body, "latent"));
	assert_null(json_object_get(f->body, "results"));
	assert_null(json_object_get(f->body, "_created_ns"));
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    f->body, "inputs"), 0)), "10");
	snprintf(path, sizeof(path), "/tasks/%s", id);
	assert_int_equal(req(f, "GET", path, NULL), 200);
	assert_string_equal(bstr(f, "name"), "add");
	for (i = 0; i < 3; i++)
		create(f, "{\"name\":\"x\",\"image_url\":\"r/x:1\"}");
	assert_int_equal(req(f, "GET", "/tasks?offset=1&limit=2", NULL), 200);
	assert_int_equal(bint(f, "total"), 4);
	assert_int_equal(bint(f, "offset"), 1);
	assert_int_equal(json_array_size(json_object_get(f->body, "tasks")), 2);
	assert_int_equal(req(f, "GET", "/tasks?metadata=%7B%22team%22%3A%22a%22%7D",
	    NULL), 200);
	assert_int_equal(bint(f, "total"), 1);
	assert_int_equal(req(f, "GET", "/tasks?metadata=%7Bnope", NULL), 400);
	assert_int_equal(req(f, "GET", "/tasks?limit=0", NULL), 400);
	assert_non_null(strstr(bstr(f, "error"), "limit"));
	assert_int_equal(req(f, "GET", "/tasks?limit=101", NULL), 400);
	assert_int_equal(req(f, "GET", "/tasks?offset=-1", NULL), 400);
	assert_int_equal(req(f, "GET", "/tasks?limit=5%", NULL), 400);
}

static void
test_bad_requests(void **state)
{
	struct fixture *f = *state;
	struct manager_api_req r;

	assert_int_equal(req(f, "POST", "/tasks", "{\"name\":"), 400);
	assert_non_null(strstr(bstr(f, "error"), "invalid JSON body"));
	assert_int_equal(req(f, "POST", "/tasks", "[]"), 400);
	assert_int_equal(req(f, "POST", "/tasks", "{}"), 400);
	assert_string_equal(bstr(f, "error"), "missing task name");
	/* Every bad field is reported, joined by newlines. */
	assert_int_equal(req(f, "POST", "/tasks", "{\"name\":5,\"daemon\":\"x\","
	    "\"priority\":101,\"kind\":\"odd\",\"file\":\"!!\",\"env\":{\"a\":1},"
	    "\"proplet_id\":\"nope\",\"schedule\":\"* *\",\"mode\":\"x\","
	    "\"run_if\":\"x\",\"depends_on\":[\"x\"],\"metadata\":[]}"), 400);
	assert_non_null(strstr(bstr(f, "error"), "name must be a string\n"));
	assert_non_null(strstr(bstr(f, "error"), "daemon must be a boolean"));
	assert_non_null(strstr(bstr(f, "error"), "priority"));
	assert_non_null(strstr(bstr(f, "error"), "kind"));
	assert_non_null(strstr(bstr(f, "error"), "file must be standard base64"));
	assert_non_null(strstr(bstr(f, "error"), "proplet_id must be a UUID"));
	assert_int_equal(req(f, "POST", "/tasks", "{\"name\":\"x\",\"broadcast\":"
	    "true,\"proplet_id\":\"" P1 "\"}"), 400);
	assert_non_null(strstr(bstr(f, "error"), "mutually exclusive"));
	assert_int_equal(req(f, "POST", "/tasks", "{\"name\":\"x\",\"encrypted\":"
	    "true}"), 400);
	assert_string_equal(bstr(f, "error"), "encrypted tasks need image_url");
	assert_int_equal(req(f, "GET", "/tasks/abc", NULL), 400);
	assert_int_equal(req(f, "GET", "/tasks/" P1, NULL), 404);
	assert_int_equal(req(f, "DELETE", "/tasks/" P1, NULL), 404);
	assert_int_equal(req(f, "POST", "/tasks/" P1 "/start", NULL), 404);
	assert_int_equal(req(f, "GET", "/nope", NULL), 404);
	assert_int_equal(req(f, "PATCH", "/tasks", NULL), 405);
	assert_int_equal(req(f, "POST", "/jobs", "{}"), 501);
	assert_int_equal(req(f, "GET", "/proplets/xyz", NULL), 400);
	assert_int_equal(req(f, "GET", "/proplets?status=sleepy", NULL), 400);
	/* Wrong content type. */
	manager_api_resp_cleanup(&f->resp);
	memset(&r, 0, sizeof(r));
	r.method = "POST";
	r.path = "/tasks";
	r.content_type = "text/plain";
	r.body = "{\"name\":\"x\"}";
	r.body_len = strlen(r.body);
	manager_api_handle(f->svc, &f->cfg, &r, &f->resp);
	assert_int_equal(f->resp.status, 400);
	assert_non_null(strstr(f->resp.body, "content type"));
}

static void
test_start_round_robin_and_results(void **state)
{
	struct fixture *f = *state;
	struct mqtt_start m;
	char path[160], id[CORE_UUID_STR_LEN + 1], id2[CORE_UUID_STR_LEN + 1];
	char res[256], topic[MQTT_TOPIC_MAX];
	const char *first;

	snprintf(id, sizeof(id), "%s", create(f, "{\"name\":\"add\",\"file\":"
	    "\"AGFzbQEAAAA=\",\"inputs\":[1,2],\"cli_args\":[\"--invoke\","
	    "\"add\"]}"));
	snprintf(path, sizeof(path), "/tasks/%s/start", id);
	assert_int_equal(req(f, "POST", path, NULL), 500);
	assert_string_equal(bstr(f, "error"), "no proplet was provided");
	heartbeat(f, P1);
	heartbeat(f, P2);
	assert_int_equal(req(f, "POST", path, NULL), 200);
	assert_true(json_is_true(json_object_get(f->body, "started")));
	assert_int_equal(mqtt_topic(topic, TEN, CHAN, MQTT_SUFFIX_START, NULL),
	    CORE_OK);
	assert_string_equal(f->cap.topic, topic);
	memset(&m, 0, sizeof(m));
	assert_int_equal(mqtt_start_decode(f->cap.payload,
	    strlen(f->cap.payload), &m, NULL), CORE_OK);
	assert_string_equal(m.id, id);
	assert_string_equal(m.inputs.v[1], "2");
	assert_non_null(m.proplet_id);
	first = strcmp(m.proplet_id, P1) == 0 ? P1 : P2;
	mqtt_start_cleanup(&m);
	assert_int_equal(req(f, "POST", path, NULL), 409);

	/* Round robin: the next task goes to the other proplet. */
	snprintf(id2, sizeof(id2), "%s", create(f, "{\"name\":\"b\","
	    "\"image_url\":\"r/b:1\"}"));
	snprintf(path, sizeof(path), "/tasks/%s/start", id2);
	assert_int_equal(req(f, "POST", path, NULL), 200);
	memset(&m, 0, sizeof(m));
	assert_int_equal(mqtt_start_decode(f->cap.payload,
	    strlen(f->cap.payload), &m, NULL), CORE_OK);
	assert_string_not_equal(m.proplet_id, first);
	mqtt_start_cleanup(&m);

	/* Result: Completed with results and finish time. */
	snprintf(res, sizeof(res), "{\"task_id\":\"%s\",\"results\":\"3\","
	    "\"error\":null}", id);
	mqtt_in(f, MQTT_SUFFIX_RESULTS, res, CORE_OK);
	snprintf(path, sizeof(path), "/tasks/%s", id);
	assert_int_equal(req(f, "GET", path, NULL), 200);
	assert_int_equal(bint(f, "state"), MANAGER_TASK_COMPLETED);
	assert_string_equal(bstr(f, "results"), "3");
	assert_string_not_equal(bstr(f, "finish_time"), "0001-01-01T00:00:00Z");
	snprintf(path, sizeof(path), "/tasks/%s/results", id);
	assert_int_equal(req(f, "GET", path, NULL), 200);
	assert_string_equal(f->resp.body, "{\"results\":\"3\"}");
	snprintf(path, sizeof(path), "/tasks/%s/results", id2);
	assert_int_equal(req(f, "GET", path, NULL), 200);
	assert_null(f->resp.body);  /* null results: empty body */

	/* Error result: Failed. Unknown task: refused. */
	snprintf(res, sizeof(res), "{\"task_id\":\"%s\",\"results\":\"\","
	    "\"error\":\"trap\"}", id2);
	mqtt_in(f, MQTT_SUFFIX_RESULTS, res, CORE_OK);
	snprintf(path, sizeof(path), "/tasks/%s", id2);
	assert_int_equal(req(f, "GET", path, NULL), 200);
	assert_int_equal(bint(f, "state"), MANAGER_TASK_FAILED);
	assert_string_equal(bstr(f, "error"), "trap");
	mqtt_in(f, MQTT_SUFFIX_RESULTS, "{\"task_id\":\"" P1 "\"}",
	    CORE_ERR_NOT_FOUND);

	/* Completion does not decrement task_count (upstream). */
	assert_int_equal(req(f, "GET", "/proplets/" P1, NULL), 200);
	assert_int_equal(bint(f, "task_count"), 1);
	assert_int_equal(req(f, "DELETE", "/proplets/" P1, NULL), 409);
	assert_int_equal(req(f, "GET", "/proplets?status=active", NULL), 200);
	assert_int_equal(bint(f, "total"), 2);
	assert_int_equal(req(f, "GET", "/proplets/" P1 "/alive-history", NULL),
	    200);
	assert_int_equal(bint(f, "total"), 1);
}

static void
test_pin_broadcast_stop(void **state)
{
	struct fixture *f = *state;
	char path[160], id[CORE_UUID_STR_LEN + 1], res[200];
	int before;

	heartbeat(f, P1);
	/* Pinned to an unknown proplet. */
	snprintf(id, sizeof(id), "%s", create(f, "{\"name\":\"p\",\"file\":"
	    "\"AGFzbQEAAAA=\",\"proplet_id\":\"" P2 "\"}"));
	snprintf(path, sizeof(path), "/tasks/%s/start", id);
	assert_int_equal(req(f, "POST", path, NULL), 500);
	assert_string_equal(bstr(f, "error"),
	    "specified proplet " P2 " is not alive");
	heartbeat(f, P2);
	assert_int_equal(req(f, "POST", path, NULL), 200);
	assert_non_null(strstr(f->cap.payload, "\"proplet_id\":\"" P2 "\""));

	/* Stop: message, unpin, count down, Interrupted; late result keeps it. */
	snprintf(path, sizeof(path), "/tasks/%s/stop", id);
	assert_int_equal(req(f, "POST", path, NULL), 200);
	assert_true(json_is_true(json_object_get(f->body, "stopped")));
	snprintf(res, sizeof(res), "{\"id\":\"%s\",\"broadcast\":false,"
	    "\"proplet_id\":\"" P2 "\"}", id);
	assert_string_equal(f->cap.payload, res);
	snprintf(path, sizeof(path), "/tasks/%s", id);
	assert_int_equal(req(f, "GET", path, NULL), 200);
	assert_int_equal(bint(f, "state"), MANAGER_TASK_INTERRUPTED);
	assert_null(json_object_get(f->body, "proplet_id"));
	assert_int_equal(req(f, "GET", "/proplets/" P2, NULL), 200);
	assert_int_equal(bint(f, "task_count"), 0);
	assert_int_equal(req(f, "DELETE", "/proplets/" P2, NULL), 204);
	snprintf(res, sizeof(res), "{\"task_id\":\"%s\",\"error\":\"Task %s was "
	    "stopped before completion\"}", id, "x");
	mqtt_in(f, MQTT_SUFFIX_RESULTS, res, CORE_OK);
	snprintf(path, sizeof(path), "/tasks/%s", id);
	assert_int_equal(req(f, "GET", path, NULL), 200);
	assert_int_equal(bint(f, "state"), MANAGER_TASK_INTERRUPTED);

	/* Broadcast: no proplet_id in start, broadcast stop form. */
	snprintf(id, sizeof(id), "%s", create(f, "{\"name\":\"all\","
	    "\"image_url\":\"r/a:1\",\"broadcast\":true}"));
	snprintf(path, sizeof(path), "/tasks/%s/stop", id);
	assert_int_equal(req(f, "POST", path, NULL), 409);
	snprintf(path, sizeof(path), "/tasks/%s/start", id);
	assert_int_equal(req(f, "POST", path, NULL), 200);
	assert_null(strstr(f->cap.payload, "proplet_id"));
	assert_non_null(strstr(f->cap.payload, "\"broadcast\":true"));
	snprintf(path, sizeof(path), "/tasks/%s/stop", id);
	assert_int_equal(req(f, "POST", path, NULL), 200);
	snprintf(res, sizeof(res), "{\"id\":\"%s\",\"broadcast\":true}", id);
	assert_string_equal(f->cap.payload, res);

	/* A failed publish leaves the task untouched and says why. */
	snprintf(id, sizeof(id), "%s", create(f, "{\"name\":\"q\",\"file\":"
	    "\"AGFzbQEAAAA=\"}"));
	before = f->cap.count;
	f->cap.fail = true;
	snprintf(path, sizeof(path), "/tasks/%s/start", id);
	assert_int_equal(req(f, "POST", path, NULL), 500);
	assert_non_null(strstr(bstr(f, "error"), "broker unreachable"));
	f->cap.fail = false;
	assert_int_equal(f->cap.count, before);
	snprintf(path, sizeof(path), "/tasks/%s", id);
	assert_int_equal(req(f, "GET", path, NULL), 200);
	assert_int_equal(bint(f, "state"), MANAGER_TASK_PENDING);
}

static void
test_update_delete_and_messages(void **state)
{
	struct fixture *f = *state;
	char path[160], id[CORE_UUID_STR_LEN + 1];

	snprintf(id, sizeof(id), "%s", create(f, "{\"name\":\"u\",\"file\":"
	    "\"AGFzbQEAAAA=\",\"daemon\":true}"));
	snprintf(path, sizeof(path), "/tasks/%s", id);
	assert_int_equal(req(f, "PUT", path, "{\"name\":\"v\",\"daemon\":false,"
	    "\"inputs\":[7],\"priority\":9,\"state\":3}"), 200);
	assert_string_equal(bstr(f, "name"), "v");
	assert_true(json_is_true(json_object_get(f->body, "daemon")));
	assert_int_equal(bint(f, "priority"), 9);
	assert_int_equal(bint(f, "state"), 0);
	assert_int_equal(req(f, "PUT", path, "{\"name\":\"\"}"), 400);
	assert_int_equal(req(f, "DELETE", path, NULL), 204);
	assert_null(f->resp.body);
	assert_int_equal(req(f, "GET", path, NULL), 404);

	/* Discovery metadata, offline notices, malformed and foreign topics. */
	mqtt_in(f, MQTT_SUFFIX_DISCOVERY, "{\"proplet_id\":\"" P1 "\","
	    "\"metadata\":{\"os\":\"linux\",\"hostname\":\"h\"}}", CORE_OK);
	assert_int_equal(req(f, "GET", "/proplets/" P1, NULL), 200);
	assert_false(json_is_true(json_object_get(f->body, "alive")));
	assert_null(json_object_get(f->body, "last_alive_at"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    f->body, "metadata"), "hostname")), "h");
	mqtt_in(f, MQTT_SUFFIX_ALIVE, "{\"status\":\"offline\",\"proplet_id\":\""
	    P2 "\"}", CORE_OK);
	assert_int_equal(req(f, "GET", "/proplets/" P2, NULL), 404);
	mqtt_in(f, MQTT_SUFFIX_ALIVE, "{", CORE_ERR_INVALID);
	mqtt_in(f, MQTT_SUFFIX_DISCOVERY, "{\"proplet_id\":1}", CORE_ERR_INVALID);
	mqtt_in(f, MQTT_SUFFIX_TASK_METRICS, "{}", CORE_ERR_INVALID);
	mqtt_in(f, MQTT_SUFFIX_START, "garbage is ignored: our own topic",
	    CORE_OK);
	assert_int_equal(manager_service_handle(f->svc, "m/other/c/chan/x",
	    "{", 1, NULL), CORE_OK);
	assert_int_equal(req(f, "GET", "/metrics", NULL), 200);
	assert_non_null(strstr(f->resp.body,
	    "propeller_manager_mqtt_messages_rejected_total 3\n"));
	assert_non_null(strstr(f->resp.body,
	    "propeller_manager_offline_notices_ignored_total 1\n"));
	assert_int_equal(req(f, "GET", "/health", NULL), 200);
	assert_string_equal(bstr(f, "status"), "pass");
	assert_string_equal(bstr(f, "instance_id"), "inst");
}

#define MOD1 "AGFzbQEAAAABBQFgAAF/AwIBAAcHAQNhZGQAAAoGAQQAQQELAA=="
#define MOD2 "AGFzbQEAAAABBQFgAAF/AwIBAAcHAQNzdWIAAAoGAQQAQQILAA=="

/* Decodes the last start message and returns its file (static buffer). */
static const char *
started_file(struct fixture *f)
{
	static char file[256];
	struct mqtt_start m;

	memset(&m, 0, sizeof(m));
	assert_int_equal(mqtt_start_decode(f->cap.payload,
	    strlen(f->cap.payload), &m, NULL), CORE_OK);
	snprintf(file, sizeof(file), "%s", m.file != NULL ? m.file : "");
	mqtt_start_cleanup(&m);
	return file;
}

/* The module is stored apart from the task: the API shows it redacted,
 * every start message carries it whole, an update replaces it. */
static void
test_module_apart(void **state)
{
	struct fixture *f = *state;
	char path[160], id[CORE_UUID_STR_LEN + 1], res[160];

	heartbeat(f, P1);
	snprintf(id, sizeof(id), "%s", create(f, "{\"name\":\"m\",\"file\":\""
	    MOD1 "\"}"));
	assert_string_equal(bstr(f, "file"), "AGFzbQEAAA<REDACTED>QAQQELAA==");
	snprintf(path, sizeof(path), "/tasks/%s/start", id);
	assert_int_equal(req(f, "POST", path, NULL), 200);
	assert_string_equal(started_file(f), MOD1);
	snprintf(res, sizeof(res), "{\"task_id\":\"%s\",\"results\":\"1\"}",
	    id);
	mqtt_in(f, MQTT_SUFFIX_RESULTS, res, CORE_OK);
	snprintf(path, sizeof(path), "/tasks/%s", id);
	assert_int_equal(req(f, "PUT", path, "{\"file\":\"" MOD2 "\"}"), 200);
	assert_string_equal(bstr(f, "file"), "AGFzbQEAAA<REDACTED>QAQQILAA==");
	assert_int_equal(req(f, "GET", "/tasks", NULL), 200);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(f->body, "tasks"), 0), "file")),
	    "AGFzbQEAAA<REDACTED>QAQQILAA==");
	snprintf(path, sizeof(path), "/tasks/%s/start", id);
	assert_int_equal(req(f, "POST", path, NULL), 200);
	assert_string_equal(started_file(f), MOD2);
	/* An empty file removes the module: nothing left to start. */
	snprintf(path, sizeof(path), "/tasks/%s/stop", id);
	assert_int_equal(req(f, "POST", path, NULL), 200);
	snprintf(path, sizeof(path), "/tasks/%s", id);
	assert_int_equal(req(f, "PUT", path, "{\"file\":\"\"}"), 200);
	assert_null(json_object_get(f->body, "file"));
	snprintf(path, sizeof(path), "/tasks/%s/start", id);
	assert_int_equal(req(f, "POST", path, NULL), 400);
	assert_non_null(strstr(bstr(f, "error"), "neither file nor image_url"));
}

/* STATIC in task.c. */
bool task_lift_file(const char *body, size_t len, size_t *off,
    size_t *file_len);

/* Large bodies have their module lifted out before the JSON parse; the
 * result is the same as a whole parse, and odd bodies are parsed whole. */
static void
test_body_module_lift(void **state)
{
	struct fixture *f = *state;
	struct core_buf mod, body;
	char path[160], id[CORE_UUID_STR_LEN + 1];
	size_t off = 0, len = 0;
	const char *b;
	int i;

	core_buf_init(&mod, 0);
	core_buf_init(&body, 0);
	for (i = 0; i < 200; i++)
		core_buf_append_str(&mod, "QUJDREVG");
	core_buf_append(&mod, "", 1);
	/* Scan: top-level key only, plain base64 only. */
	b = "{\"a\":{\"file\":\"QUJD\"},\"file\" : \"QUJD\"}";
	assert_true(task_lift_file(b, strlen(b), &off, &len));
	assert_int_equal(off, 31);
	assert_int_equal(len, 4);
	b = "{\"a\":[1,\"]\",{}],\"f\\u0069le\":\"QUJD\"}";
	assert_false(task_lift_file(b, strlen(b), &off, &len));
	b = "{\"file\":\"QU\\/D\"}";
	assert_false(task_lift_file(b, strlen(b), &off, &len));
	b = "{\"a\":tru\"file\":\"QUJD\"}";
	assert_false(task_lift_file(b, strlen(b), &off, &len));
	b = "[\"file\",\"QUJD\"]";
	assert_false(task_lift_file(b, strlen(b), &off, &len));

	heartbeat(f, P1);
	core_buf_printf(&body, "{\"name\":\"big\",\"metadata\":{\"file\":"
	    "\"x\"},\"file\":\"%s\",\"inputs\":[1,2]}", (char *)mod.data);
	core_buf_append(&body, "", 1);
	snprintf(id, sizeof(id), "%s", create(f, (char *)body.data));
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    f->body, "metadata"), "file")), "x");
	snprintf(path, sizeof(path), "/tasks/%s/start", id);
	assert_int_equal(req(f, "POST", path, NULL), 200);
	assert_int_equal(strlen(f->cap.payload) > mod.len, 1);
	{
		struct mqtt_start m;

		memset(&m, 0, sizeof(m));
		assert_int_equal(mqtt_start_decode(f->cap.payload,
		    strlen(f->cap.payload), &m, NULL), CORE_OK);
		assert_string_equal(m.file, (char *)mod.data);
		assert_string_equal(m.inputs.v[1], "2");
		mqtt_start_cleanup(&m);
	}
	/* Duplicate "file" and an error after the module: refused. */
	core_buf_reset(&body);
	core_buf_printf(&body, "{\"name\":\"d\",\"file\":\"%s\",\"file\":"
	    "\"QUJD\"}", (char *)mod.data);
	core_buf_append(&body, "", 1);
	assert_int_equal(req(f, "POST", "/tasks", (char *)body.data), 400);
	core_buf_reset(&body);
	core_buf_printf(&body, "{\"name\":\"e\",\"file\":\"%s\",\"inputs\":"
	    "[1,}", (char *)mod.data);
	core_buf_append(&body, "", 1);
	assert_int_equal(req(f, "POST", "/tasks", (char *)body.data), 400);
	assert_non_null(strstr(bstr(f, "error"), "invalid JSON body"));
	/* Escaped module text: parsed whole, same value. */
	core_buf_reset(&body);
	core_buf_printf(&body, "{\"name\":\"s\",\"file\":\"%s\\/A==\"}",
	    (char *)mod.data);
	core_buf_append(&body, "", 1);
	snprintf(id, sizeof(id), "%s", create(f, (char *)body.data));
	assert_string_equal(bstr(f, "name"), "s");
	core_buf_cleanup(&mod);
	core_buf_cleanup(&body);
}

/* A task written by an earlier manager keeps its module inline in the
 * document: it is still shown redacted and started whole. */
static void
test_module_inline_from_older_manager(void **state)
{
	struct fixture *f = *state;
	struct manager_store *st = NULL;
	const char *id = "33333333-3333-4333-8333-333333333333";
	json_t *d;

	manager_service_free(f->svc);
	f->svc = NULL;
	assert_int_equal(manager_store_open_sqlite(":memory:", &st, NULL),
	    CORE_OK);
	d = json_pack("{ss,ss,si,ss,s[],ss}", "id", id, "name", "old",
	    "state", 0, "file", MOD1, "inputs", "updated_at",
	    "2026-01-01T00:00:00Z");
	assert_int_equal(manager_store_put(st, MANAGER_KIND_TASK, id, 1, d,
	    NULL), CORE_OK);
	json_decref(d);
	assert_int_equal(manager_service_new(&f->cfg, st, capture, &f->cap,
	    &f->svc, NULL), CORE_OK);
	assert_int_equal(req(f, "GET", "/tasks/33333333-3333-4333-8333-"
	    "333333333333", NULL), 200);
	assert_string_equal(bstr(f, "file"), "AGFzbQEAAA<REDACTED>QAQQELAA==");
	heartbeat(f, P1);
	assert_int_equal(req(f, "POST", "/tasks/33333333-3333-4333-8333-"
	    "333333333333/start", NULL), 200);
	assert_string_equal(started_file(f), MOD1);
}

static void
test_recover(void **state)
{
	struct fixture *f = *state;
	char path[160], id[CORE_UUID_STR_LEN + 1], res[160];
	json_t *rec = NULL;

	heartbeat(f, P1);
	snprintf(id, sizeof(id), "%s", create(f, "{\"name\":\"r\",\"file\":"
	    "\"AGFzbQEAAAA=\"}"));
	snprintf(path, sizeof(path), "/tasks/%s/start", id);
	assert_int_equal(req(f, "POST", path, NULL), 200);
	assert_int_equal(manager_service_recover(f->svc, &rec, NULL), CORE_OK);
	assert_int_equal(json_array_size(rec), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rec,
	    0), "id")), id);
	json_decref(rec);
	snprintf(path, sizeof(path), "/tasks/%s", id);
	assert_int_equal(req(f, "GET", path, NULL), 200);
	assert_int_equal(bint(f, "state"), MANAGER_TASK_INTERRUPTED);
	snprintf(res, sizeof(res), "{\"task_id\":\"%s\",\"results\":\"ok\"}", id);
	mqtt_in(f, MQTT_SUFFIX_RESULTS, res, CORE_OK);
	assert_int_equal(req(f, "GET", path, NULL), 200);
	assert_int_equal(bint(f, "state"), MANAGER_TASK_COMPLETED);
	assert_null(json_object_get(f->body, "error"));
}

static void
test_sweep_dead_proplet(void **state)
{
	struct fixture *f = *state;
	char path[160], id[CORE_UUID_STR_LEN + 1], bid[CORE_UUID_STR_LEN + 1];
	char res[160];
	json_t *lost = NULL;

	f->cfg.liveness_timeout_ms = 150;
	heartbeat(f, P1);
	snprintf(id, sizeof(id), "%s", create(f, "{\"name\":\"d\",\"file\":"
	    "\"AGFzbQEAAAA=\"}"));
	snprintf(bid, sizeof(bid), "%s", create(f, "{\"name\":\"b\",\"file\":"
	    "\"AGFzbQEAAAA=\",\"broadcast\":true}"));
	snprintf(path, sizeof(path), "/tasks/%s/start", id);
	assert_int_equal(req(f, "POST", path, NULL), 200);
	snprintf(path, sizeof(path), "/tasks/%s/start", bid);
	assert_int_equal(req(f, "POST", path, NULL), 200);
	/* Alive: nothing to report. */
	assert_int_equal(manager_service_sweep(f->svc, &lost, NULL), CORE_OK);
	assert_int_equal(json_array_size(lost), 0);
	json_decref(lost);
	usleep(300 * 1000);
	assert_int_equal(manager_service_sweep(f->svc, &lost, NULL), CORE_OK);
	assert_int_equal(json_array_size(lost), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(lost,
	    0), "id")), id);
	json_decref(lost);
	snprintf(path, sizeof(path), "/tasks/%s", id);
	assert_int_equal(req(f, "GET", path, NULL), 200);
	assert_int_equal(bint(f, "state"), MANAGER_TASK_INTERRUPTED);
	assert_string_equal(bstr(f, "error"), "proplet " P1 " is not alive");
	snprintf(path, sizeof(path), "/tasks/%s", bid);
	assert_int_equal(req(f, "GET", path, NULL), 200);
	assert_int_equal(bint(f, "state"), MANAGER_TASK_RUNNING);
	/* Reported once; a late result still lands. */
	assert_int_equal(manager_service_sweep(f->svc, &lost, NULL), CORE_OK);
	assert_int_equal(json_array_size(lost), 0);
	json_decref(lost);
	snprintf(res, sizeof(res), "{\"task_id\":\"%s\",\"results\":\"7\"}",
	    id);
	mqtt_in(f, MQTT_SUFFIX_RESULTS, res, CORE_OK);
	snprintf(path, sizeof(path), "/tasks/%s", id);
	assert_int_equal(req(f, "GET", path, NULL), 200);
	assert_int_equal(bint(f, "state"), MANAGER_TASK_COMPLETED);
}

static void
test_bearer_token(void **state)
{
	struct fixture *f = *state;
	struct manager_api_req r;

	f->cfg.api_token = strdup("0123456789abcdef");
	assert_int_equal(req(f, "GET", "/tasks", NULL), 401);
	assert_int_equal(req(f, "GET", "/health", NULL), 200);
	manager_api_resp_cleanup(&f->resp);
	memset(&r, 0, sizeof(r));
	r.method = "GET";
	r.path = "/tasks";
	r.authorization = "Bearer 0123456789abcdeX";
	manager_api_handle(f->svc, &f->cfg, &r, &f->resp);
	assert_int_equal(f->resp.status, 401);
	manager_api_resp_cleanup(&f->resp);
	r.authorization = "Bearer 0123456789abcdef";
	manager_api_handle(f->svc, &f->cfg, &r, &f->resp);
	assert_int_equal(f->resp.status, 200);
}

/* ------------------------------------------------------------------ */
/* Configuration                                                       */
/* ------------------------------------------------------------------ */

static const char *const all_vars[] = { "MANAGER_TENANT_ID",
	"MANAGER_DOMAIN_ID", "MANAGER_ENTITY_ID", "MANAGER_CLIENT_ID",
	"MANAGER_API_KEY", "MANAGER_CLIENT_KEY", "MANAGER_CHANNEL_ID",
	"MANAGER_MQTT_QOS", "MANAGER_HTTP_PORT", "MANAGER_STORAGE_TYPE",
	"MANAGER_LOG_LEVEL", "MANAGER_CONFIG_FILE", "MANAGER_MQTT_ADDRESS",
	"MANAGER_API_TOKEN", "MANAGER_POSTGRES_SSLMODE",
	"MANAGER_MQTT_TIMEOUT" };

static void
clear_env(void)
{
	size_t i;

	for (i = 0; i < CORE_ARRAY_LEN(all_vars); i++)
		unsetenv(all_vars[i]);
	setenv("MANAGER_CONFIG_FILE", "/nonexistent/config.toml", 1);
}

static void
test_config_defaults_and_old_names(void **state)
{
	struct manager_config cfg;
	struct core_cfg cc;

	(void)state;
	clear_env();
	setenv("MANAGER_DOMAIN_ID", "dom", 1);
	setenv("MANAGER_CLIENT_ID", "cli", 1);
	setenv("MANAGER_CLIENT_KEY", "key", 1);
	setenv("MANAGER_CHANNEL_ID", "ch", 1);
	setenv("MANAGER_TENANT_ID", "ten", 1);  /* newer wins */
	core_cfg_init(&cc);
	assert_int_equal(manager_config_load(&cfg, &cc), CORE_OK);
	assert_string_equal(cfg.tenant_id, "ten");
	assert_string_equal(cfg.entity_id, "cli");
	assert_string_equal(cfg.api_key, "key");
	assert_int_equal(cfg.mqtt.qos, 2);
	assert_int_equal(cfg.http_port, 7070);
	assert_string_equal(cfg.http_host, "localhost");
	assert_int_equal(cfg.storage, MANAGER_STORAGE_MEMORY);
	assert_string_equal(cfg.sqlite_path, "./propeller.db");
	assert_string_equal(cfg.mqtt.address, "tcp://localhost:1883");
	assert_true(cfg.mqtt.timeout_ms == 30000);
	assert_int_equal(cfg.mqtt.keepalive_s, 30);
	assert_true(cfg.liveness_timeout_ms == 10000);
	assert_null(cfg.api_token);
	assert_true(core_uuid_valid(cfg.instance_id));
	manager_config_cleanup(&cfg);
	core_cfg_cleanup(&cc);
}

static void
test_config_every_error_reported(void **state)
{
	struct manager_config cfg;
	struct core_cfg cc;
	const char *text;

	(void)state;
	clear_env();
	setenv("MANAGER_TENANT_ID", "a/b", 1);
	setenv("MANAGER_MQTT_QOS", "3", 1);
	setenv("MANAGER_HTTP_PORT", "http", 1);
	setenv("MANAGER_STORAGE_TYPE", "badger", 1);
	setenv("MANAGER_LOG_LEVEL", "loud", 1);
	setenv("MANAGER_MQTT_ADDRESS", "http://x", 1);
	setenv("MANAGER_API_TOKEN", "short", 1);
	setenv("MANAGER_POSTGRES_SSLMODE", "maybe", 1);
	setenv("MANAGER_MQTT_TIMEOUT", "soon", 1);
	core_cfg_init(&cc);
	assert_int_equal(manager_config_load(&cfg, &cc), CORE_ERR_INVALID);
	text = (const char *)cc.errors.data;
	assert_non_null(text);
	assert_non_null(strstr(text, "MANAGER_TENANT_ID"));
	assert_non_null(strstr(text, "MANAGER_ENTITY_ID"));
	assert_non_null(strstr(text, "MANAGER_API_KEY"));
	assert_non_null(strstr(text, "MANAGER_CHANNEL_ID"));
	assert_non_null(strstr(text, "MANAGER_MQTT_QOS"));
	assert_non_null(strstr(text, "MANAGER_HTTP_PORT"));
	assert_non_null(strstr(text, "badger is not supported"));
	assert_non_null(strstr(text, "MANAGER_LOG_LEVEL"));
	assert_non_null(strstr(text, "MANAGER_MQTT_ADDRESS"));
	assert_non_null(strstr(text, "MANAGER_API_TOKEN"));
	assert_null(strstr(text, "short"));  /* the token is never echoed */
	assert_non_null(strstr(text, "MANAGER_POSTGRES_SSLMODE"));
	assert_non_null(strstr(text, "MANAGER_MQTT_TIMEOUT"));
	assert_true(cc.nerrors >= 12);
	manager_config_cleanup(&cfg);
	core_cfg_cleanup(&cc);
}

static void
test_config_toml_fallback(void **state)
{
	struct manager_config cfg;
	struct core_cfg cc;
	char *dir = NULL, *path;
	const char *toml = "# written by propeller provision\n"
	    "[proplet]\nentity_id = \"wrong\"\n\n"
	    "[manager]\ndomain_id = \"t-old\"\nentity_id = \"e-1\"\n"
	    "api_key = \"k \\\"q\\\"\"  # comment\nchannel_id = 'c-1'\n"
	    "[proxy]\napi_key = \"no\"\n";

	(void)state;
	assert_int_equal(core_fs_tmpdir("mgr-cfg", &dir, NULL), CORE_OK);
	path = core_path_join(dir, "config.toml");
	assert_int_equal(core_fs_write_atomic(path, toml, strlen(toml), 0644,
	    NULL), CORE_OK);
	clear_env();
	setenv("MANAGER_CONFIG_FILE", path, 1);
	setenv("MANAGER_TENANT_ID", "from-env", 1);  /* file takes all four */
	core_cfg_init(&cc);
	assert_int_equal(manager_config_load(&cfg, &cc), CORE_OK);
	assert_string_equal(cfg.tenant_id, "t-old");
	assert_string_equal(cfg.entity_id, "e-1");
	assert_string_equal(cfg.api_key, "k \"q\"");
	assert_string_equal(cfg.channel_id, "c-1");
	manager_config_cleanup(&cfg);
	core_cfg_cleanup(&cc);
	core_fs_rmtree(dir, NULL);
	free(path);
	free(dir);
	clear_env();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_get_list, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_start_round_robin_and_results, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pin_broadcast_stop, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_update_delete_and_messages,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_module_apart, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_module_inline_from_older_manager, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_module_lift, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_recover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sweep_dead_proplet, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bearer_token, setup,
		    teardown),
		cmocka_unit_test(test_config_defaults_and_old_names),
		cmocka_unit_test(test_config_every_error_reported),
		cmocka_unit_test(test_config_toml_fallback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
