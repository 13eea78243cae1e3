/*
 * test_codec.c -- every MQTT payload codec: valid messages (spec examples),
 * round trips, each missing or mistyped field, oversized payloads; topics
 * and broker addresses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mqtt/mqtt.h"

#define ID1 "67c8dfa8-1111-4a2d-a489-660b5f7ab461"
#define ID2 "c902e51c-5eac-4a2d-a489-660b5f7ab461"
#define ID3 "0e4c1c57-7a1b-4c59-9d0e-3f7b8e2f0a11"

static size_t
slen(const char *s)
{
	return strlen(s);
}

/* Asserts that decoding fails with err and the message contains want. */
#define EXPECT_FAIL(fn, type, cleanup, json, want_err, want_msg) do { \
	struct core_errbuf eb_; type m_; \
	memset(&m_, 0, sizeof(m_)); core_errbuf_clear(&eb_); \
	assert_int_equal(fn(json, slen(json), &m_, &eb_), want_err); \
	if (strstr(core_errbuf_msg(&eb_), want_msg) == NULL) \
		fail_msg("error \"%s\" lacks \"%s\"", core_errbuf_msg(&eb_), \
		    want_msg); \
	cleanup(&m_); } while (0)

static void
test_start_spec_example(void **state)
{
	const char *json = "{\"id\":\"" ID1 "\",\"name\":\"add\",\"state\":0,"
	    "\"image_url\":\"docker.io/acme/tee-wasm-addition:encrypted\","
	    "\"inputs\":[\"10\",\"20\"],\"cli_args\":[\"--invoke\",\"add\"],"
	    "\"broadcast\":false,\"daemon\":false,\"latent\":false,"
	    "\"env\":{\"K\":\"V\"},\"encrypted\":true,"
	    "\"kbs_resource_path\":\"default/key/propeller-addition\","
	    "\"monitoring_profile\":{\"enabled\":true,\"interval\":10000000000,"
	    "\"collect_cpu\":true},\"proplet_id\":\"" ID2 "\","
	    "\"hal_storage_path\":\"/data/x\",\"parent_results\":{\"" ID3
	    "\":\"5\"},\"unknown_key\":[1,2]}";
	struct mqtt_start m, m2;
	struct core_errbuf eb;
	char *out = NULL;

	(void)state;
	memset(&m, 0, sizeof(m));
	memset(&m2, 0, sizeof(m2));
	assert_int_equal(mqtt_start_decode(json, slen(json), &m, &eb), CORE_OK);
	assert_string_equal(m.id, ID1);
	assert_string_equal(m.name, "add");
	assert_true(m.encrypted);
	assert_false(m.daemon);
	assert_int_equal(m.inputs.n, 2);
	assert_string_equal(m.inputs.v[1], "20");
	assert_int_equal(m.cli_args.n, 2);
	assert_string_equal(m.env.keys[0], "K");
	assert_string_equal(m.env.values[0], "V");
	assert_string_equal(m.proplet_id, ID2);
	assert_true(m.monitoring_profile.present);
	assert_int_equal(mqtt_monitoring_interval_s(&m.monitoring_profile), 10);
	assert_non_null(m.parent_results);
	assert_null(m.file);
	assert_int_equal(mqtt_start_encode(&m, &out, &eb), CORE_OK);
	assert_int_equal(mqtt_start_decode(out, strlen(out), &m2, &eb), CORE_OK);
	assert_string_equal(m2.image_url, m.image_url);
	assert_string_equal(m2.kbs_resource_path, m.kbs_resource_path);
	assert_string_equal(m2.hal_storage_path, "/data/x");
	assert_true(json_equal(m2.parent_results, m.parent_results));
	free(out);
	mqtt_start_cleanup(&m);
	mqtt_start_cleanup(&m2);
}

static void
test_start_nulls_numbers_and_minimal(void **state)
{
	const char *json = "{\"id\":\"" ID1 "\",\"name\":\"f\",\"cli_args\":null,"
	    "\"file\":null,\"image_url\":null,\"inputs\":[10,2.5,-3],"
	    "\"mode\":\"infer\",\"monitoring_profile\":{\"interval\":5}}";
	struct mqtt_start m;
	struct core_errbuf eb;
	char *out = NULL;

	(void)state;
	memset(&m, 0, sizeof(m));
	assert_int_equal(mqtt_start_decode(json, slen(json), &m, &eb), CORE_OK);
	assert_true(m.cli_args.null);
	assert_null(m.file);
	assert_string_equal(m.inputs.v[0], "10");
	assert_string_equal(m.inputs.v[1], "2.5");
	assert_string_equal(m.inputs.v[2], "-3");
	assert_int_equal(mqtt_monitoring_interval_s(&m.monitoring_profile), 5);
	assert_int_equal(mqtt_start_encode(&m, &out, &eb), CORE_OK);
	/* Always present: id, name, state, cli_args (null), the four bools. */
	assert_non_null(strstr(out, "\"cli_args\":null"));
	assert_non_null(strstr(out, "\"broadcast\":false"));
	assert_non_null(strstr(out, "\"daemon\":false"));
	assert_non_null(strstr(out, "\"latent\":false"));
	assert_non_null(strstr(out, "\"encrypted\":false"));
	assert_non_null(strstr(out, "\"state\":0"));
	assert_null(strstr(out, "\"env\""));
	assert_null(strstr(out, "\"proplet_id\""));
	free(out);
	mqtt_start_cleanup(&m);
}

static void
test_start_bad(void **state)
{
	(void)state;
	EXPECT_FAIL(mqtt_start_decode, struct mqtt_start, mqtt_start_cleanup,
	    "{\"name\":\"a\"}", CORE_ERR_INVALID, "\"id\"");
	EXPECT_FAIL(mqtt_start_decode, struct mqtt_start, mqtt_start_cleanup,
	    "{\"id\":\"" ID1 "\"}", CORE_ERR_INVALID, "\"name\"");
	EXPECT_FAIL(mqtt_start_decode, struct mqtt_start, mqtt_start_cleanup,
	    "{\"id\":\"" ID1 "\",\"name\":\"\"}", CORE_ERR_INVALID,
	    "must not be empty");
	EXPECT_FAIL(mqtt_start_decode, struct mqtt_start, mqtt_start_cleanup,
	    "{\"id\":\"abc\",\"name\":\"a\"}", CORE_ERR_INVALID, "UUID");
	EXPECT_FAIL(mqtt_start_decode, struct mqtt_start, mqtt_start_cleanup,
	    "{\"id\":7,\"name\":\"a\"}", CORE_ERR_INVALID, "\"id\" must be");
	EXPECT_FAIL(mqtt_start_decode, struct mqtt_start, mqtt_start_cleanup,
	    "{\"id\":\"" ID1 "\",\"name\":\"a\",\"state\":\"0\"}",
	    CORE_ERR_INVALID, "state");
	EXPECT_FAIL(mqtt_start_decode, struct mqtt_start, mqtt_start_cleanup,
	    "{\"id\":\"" ID1 "\",\"name\":\"a\",\"inputs\":[{}]}",
	    CORE_ERR_INVALID, "\"inputs\" item 0");
	EXPECT_FAIL(mqtt_start_decode, struct mqtt_start, mqtt_start_cleanup,
	    "{\"id\":\"" ID1 "\",\"name\":\"a\",\"inputs\":\"10\"}",
	    CORE_ERR_INVALID, "\"inputs\" must be an array");
	EXPECT_FAIL(mqtt_start_decode, struct mqtt_start, mqtt_start_cleanup,
	    "{\"id\":\"" ID1 "\",\"name\":\"a\",\"cli_args\":[1]}",
	    CORE_ERR_INVALID, "\"cli_args\" item 0 must be a string");
	EXPECT_FAIL(mqtt_start_decode, struct mqtt_start, mqtt_start_cleanup,
	    "{\"id\":\"" ID1 "\",\"name\":\"a\",\"env\":{\"K\":1}}",
	    CORE_ERR_INVALID, "\"env\"");
	EXPECT_FAIL(mqtt_start_decode, struct mqtt_start, mqtt_start_cleanup,
	    "{\"id\":\"" ID1 "\",\"name\":\"a\",\"env\":[]}",
	    CORE_ERR_INVALID, "\"env\" must be an object");
	EXPECT_FAIL(mqtt_start_decode, struct mqtt_start, mqtt_start_cleanup,
	    "{\"id\":\"" ID1 "\",\"name\":\"a\",\"daemon\":\"yes\"}",
	    CORE_ERR_INVALID, "daemon");
	EXPECT_FAIL(mqtt_start_decode, struct mqtt_start, mqtt_start_cleanup,
	    "{\"id\":\"" ID1 "\",\"name\":\"a\",\"encrypted\":1}",
	    CORE_ERR_INVALID, "encrypted");
	EXPECT_FAIL(mqtt_start_decode, struct mqtt_start, mqtt_start_cleanup,
	    "{\"id\":\"" ID1 "\",\"name\":\"a\",\"proplet_id\":\"x\"}",
	    CORE_ERR_INVALID, "\"proplet_id\" must be a UUID");
	EXPECT_FAIL(mqtt_start_decode, struct mqtt_start, mqtt_start_cleanup,
	    "{\"id\":\"" ID1 "\",\"name\":\"a\",\"monitoring_profile\":"
	    "{\"interval\":-1}}", CORE_ERR_INVALID, "monitoring_profile");
	EXPECT_FAIL(mqtt_start_decode, struct mqtt_start, mqtt_start_cleanup,
	    "{\"id\":\"" ID1 "\",\"name\":\"a\",\"parent_results\":[1]}",
	    CORE_ERR_INVALID, "parent_results");
	EXPECT_FAIL(mqtt_start_decode, struct mqtt_start, mqtt_start_cleanup,
	    "[1]", CORE_ERR_INVALID, "start");
	EXPECT_FAIL(mqtt_start_decode, struct mqtt_start, mqtt_start_cleanup,
	    "{\"id\":", CORE_ERR_INVALID, "start");
	EXPECT_FAIL(mqtt_start_decode, struct mqtt_start, mqtt_start_cleanup,
	    "", CORE_ERR_INVALID, "empty payload");
}

static void
test_start_encode_refuses(void **state)
{
	struct mqtt_start m;
	struct core_errbuf eb;
	char *out = (char *)1;

	(void)state;
	memset(&m, 0, sizeof(m));
	core_errbuf_clear(&eb);
	m.id = (char *)"nope";
	m.name = (char *)"x";
	assert_int_equal(mqtt_start_encode(&m, &out, &eb), CORE_ERR_INVALID);
	assert_null(out);
	m.id = (char *)ID1;
	m.name = (char *)"";
	assert_int_equal(mqtt_start_encode(&m, &out, &eb), CORE_ERR_INVALID);
}

static void
test_oversized(void **state)
{
	size_t n = MQTT_MAX_CONTROL + 10;
	char *big = malloc(n + 1);
	struct mqtt_heartbeat hb;
	struct mqtt_result r;
	struct core_errbuf eb;

	(void)state;
	assert_non_null(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = '\0';
	memset(&hb, 0, sizeof(hb));
	core_errbuf_clear(&eb);
	assert_int_equal(mqtt_heartbeat_decode(big, n, &hb, &eb),
	    CORE_ERR_TOO_BIG);
	assert_non_null(strstr(core_errbuf_msg(&eb), "exceeds the limit"));
	mqtt_heartbeat_cleanup(&hb);
	/* Results allow more (16 MiB) but not unbounded. */
	memset(&r, 0, sizeof(r));
	core_errbuf_clear(&eb);
	assert_int_not_equal(mqtt_result_decode(big, n, &r, &eb),
	    CORE_ERR_TOO_BIG);
	mqtt_result_cleanup(&r);
	assert_int_equal(mqtt_result_decode(big, MQTT_MAX_RESULT + 1, &r, &eb),
	    CORE_ERR_TOO_BIG);
	mqtt_result_cleanup(&r);
	free(big);
}

static void
test_stop(void **state)
{
	struct mqtt_stop m, m2;
	struct core_errbuf eb;
	char *out = NULL;

	(void)state;
	memset(&m, 0, sizeof(m));
	memset(&m2, 0, sizeof(m2));
	m.id = (char *)ID1;
	m.has_broadcast = true;
	m.proplet_id = (char *)ID2;
	assert_int_equal(mqtt_stop_encode(&m, &out, &eb), CORE_OK);
	assert_string_equal(out, "{\"id\":\"" ID1 "\",\"broadcast\":false,"
	    "\"proplet_id\":\"" ID2 "\"}");
	free(out);
	m.broadcast = true;
	assert_int_equal(mqtt_stop_encode(&m, &out, &eb), CORE_OK);
	assert_string_equal(out, "{\"id\":\"" ID1 "\",\"broadcast\":true}");
	free(out);
	m.broadcast = false;
	m.has_broadcast = false;
	assert_int_equal(mqtt_stop_encode(&m, &out, &eb), CORE_OK);
	assert_string_equal(out, "{\"id\":\"" ID1 "\",\"proplet_id\":\"" ID2
	    "\"}");
	assert_int_equal(mqtt_stop_decode(out, strlen(out), &m2, &eb), CORE_OK);
	assert_false(m2.has_broadcast);
	assert_string_equal(m2.proplet_id, ID2);
	free(out);
	mqtt_stop_cleanup(&m2);
	EXPECT_FAIL(mqtt_stop_decode, struct mqtt_stop, mqtt_stop_cleanup,
	    "{\"broadcast\":true}", CORE_ERR_INVALID, "\"id\"");
	EXPECT_FAIL(mqtt_stop_decode, struct mqtt_stop, mqtt_stop_cleanup,
	    "{\"id\":\"" ID1 "\",\"broadcast\":\"no\"}", CORE_ERR_INVALID,
	    "broadcast");
	EXPECT_FAIL(mqtt_stop_decode, struct mqtt_stop, mqtt_stop_cleanup,
	    "{\"id\":\"" ID1 "\",\"proplet_id\":5}", CORE_ERR_INVALID,
	    "proplet_id");
}

static void
test_invoke(void **state)
{
	const char *json = "{\"id\":\"" ID1 "\",\"broadcast\":false,"
	    "\"proplet_id\":\"" ID2 "\",\"invocation_id\":\"" ID3 "\","
	    "\"inputs\":[\"1\",2],\"env\":{\"K\":\"V\"}}";
	struct mqtt_invoke m, m2;
	struct core_errbuf eb;
	char *out = NULL;

	(void)state;
	memset(&m, 0, sizeof(m));
	memset(&m2, 0, sizeof(m2));
	assert_int_equal(mqtt_invoke_decode(json, slen(json), &m, &eb), CORE_OK);
	assert_string_equal(m.inputs.v[1], "2");
	assert_int_equal(mqtt_invoke_encode(&m, &out, &eb), CORE_OK);
	assert_int_equal(mqtt_invoke_decode(out, strlen(out), &m2, &eb),
	    CORE_OK);
	assert_string_equal(m2.invocation_id, ID3);
	assert_int_equal(m2.env.n, 1);
	free(out);
	mqtt_invoke_cleanup(&m);
	mqtt_invoke_cleanup(&m2);
	EXPECT_FAIL(mqtt_invoke_decode, struct mqtt_invoke, mqtt_invoke_cleanup,
	    "{\"id\":\"" ID1 "\"}", CORE_ERR_INVALID, "invocation_id");
	EXPECT_FAIL(mqtt_invoke_decode, struct mqtt_invoke, mqtt_invoke_cleanup,
	    "{\"id\":\"" ID1 "\",\"invocation_id\":\"" ID3 "\",\"inputs\":{}}",
	    CORE_ERR_INVALID, "inputs");
}

static void
test_discovery(void **state)
{
	const char *json = "{\"proplet_id\":\"" ID2 "\",\"namespace\":\"default\","
	    "\"metadata\":{\"environment\":\"binary\",\"os\":\"linux\","
	    "\"hostname\":\"propeller-cvm\",\"cpu_arch\":\"x86_64\","
	    "\"total_memory_bytes\":16772296704,\"proplet_version\":\"0.5.0\","
	    "\"wasm_runtime\":\"/usr/local/bin/wasmtime\",\"tags\":[\"a\",\"b\"]}}";
	struct mqtt_discovery m, m2;
	struct core_errbuf eb;
	char *out = NULL;
	json_t *md;

	(void)state;
	memset(&m, 0, sizeof(m));
	memset(&m2, 0, sizeof(m2));
	assert_int_equal(mqtt_discovery_decode(json, slen(json), &m, &eb),
	    CORE_OK);
	assert_string_equal(m.metadata.hostname, "propeller-cvm");
	assert_true(m.metadata.total_memory_bytes == 16772296704LL);
	assert_int_equal(m.metadata.tags.n, 2);
	assert_null(m.metadata.ip);
	md = mqtt_proplet_meta_to_json(&m.metadata);
	assert_null(json_object_get(md, "ip"));
	assert_string_equal(json_string_value(json_object_get(md, "os")),
	    "linux");
	json_decref(md);
	assert_int_equal(mqtt_discovery_encode(&m, &out, &eb), CORE_OK);
	assert_int_equal(mqtt_discovery_decode(out, strlen(out), &m2, &eb),
	    CORE_OK);
	assert_string_equal(m2.metadata.wasm_runtime, "/usr/local/bin/wasmtime");
	free(out);
	mqtt_discovery_cleanup(&m);
	mqtt_discovery_cleanup(&m2);
	EXPECT_FAIL(mqtt_discovery_decode, struct mqtt_discovery,
	    mqtt_discovery_cleanup, "{\"namespace\":\"x\"}", CORE_ERR_INVALID,
	    "proplet_id");
	EXPECT_FAIL(mqtt_discovery_decode, struct mqtt_discovery,
	    mqtt_discovery_cleanup, "{\"proplet_id\":\"" ID2 "\",\"metadata\":"
	    "\"x\"}", CORE_ERR_INVALID, "metadata");
	EXPECT_FAIL(mqtt_discovery_decode, struct mqtt_discovery,
	    mqtt_discovery_cleanup, "{\"proplet_id\":\"" ID2 "\",\"metadata\":"
	    "{\"total_memory_bytes\":-5}}", CORE_ERR_INVALID,
	    "total_memory_bytes");
	EXPECT_FAIL(mqtt_discovery_decode, struct mqtt_discovery,
	    mqtt_discovery_cleanup, "{\"proplet_id\":\"" ID2 "\",\"metadata\":"
	    "{\"tags\":[1]}}", CORE_ERR_INVALID, "tags");
}

static void
test_heartbeat(void **state)
{
	const char *alive = "{\"proplet_id\":\"" ID2 "\",\"status\":\"alive\","
	    "\"namespace\":\"default\"}";
	const char *off = "{\"status\":\"offline\",\"proplet_id\":\"" ID2 "\"}";
	struct mqtt_heartbeat m;
	struct core_errbuf eb;
	char *out = NULL;

	(void)state;
	memset(&m, 0, sizeof(m));
	assert_int_equal(mqtt_heartbeat_decode(alive, slen(alive), &m, &eb),
	    CORE_OK);
	assert_false(m.offline);
	assert_int_equal(mqtt_heartbeat_encode(&m, &out, &eb), CORE_OK);
	assert_string_equal(out, alive);
	free(out);
	mqtt_heartbeat_cleanup(&m);
	assert_int_equal(mqtt_heartbeat_decode(off, slen(off), &m, &eb),
	    CORE_OK);
	assert_true(m.offline);
	mqtt_heartbeat_cleanup(&m);
	EXPECT_FAIL(mqtt_heartbeat_decode, struct mqtt_heartbeat,
	    mqtt_heartbeat_cleanup, "{\"status\":\"alive\"}", CORE_ERR_INVALID,
	    "proplet_id");
	EXPECT_FAIL(mqtt_heartbeat_decode, struct mqtt_heartbeat,
	    mqtt_heartbeat_cleanup, "{\"proplet_id\":\"" ID2 "\",\"status\":1}",
	    CORE_ERR_INVALID, "status");
	EXPECT_FAIL(mqtt_heartbeat_decode, struct mqtt_heartbeat,
	    mqtt_heartbeat_cleanup, "{\"proplet_id\":\"edge-1\"}",
	    CORE_ERR_INVALID, "UUID");
}

static void
test_result(void **state)
{
	const char *ok = "{\"task_id\":\"" ID1 "\",\"proplet_id\":\"" ID2 "\","
	    "\"results\":\"30\\n\",\"error\":null}";
	const char *fl = "{\"task_id\":\"" ID1 "\",\"results\":{\"w\":[1]},"
	    "\"error\":\"\"}";
	const char *bad = "{\"task_id\":\"" ID1 "\",\"results\":\"\","
	    "\"error\":\"boom\"}";
	struct mqtt_result m;
	struct core_errbuf eb;
	char *out = NULL;

	(void)state;
	memset(&m, 0, sizeof(m));
	assert_int_equal(mqtt_result_decode(ok, slen(ok), &m, &eb), CORE_OK);
	assert_string_equal(json_string_value(m.results), "30\n");
	assert_null(m.error);
	assert_int_equal(mqtt_result_encode(&m, &out, &eb), CORE_OK);
	assert_string_equal(out, ok);
	free(out);
	mqtt_result_cleanup(&m);
	assert_int_equal(mqtt_result_decode(fl, slen(fl), &m, &eb), CORE_OK);
	assert_true(json_is_object(m.results));
	assert_null(m.error);  /* "" means no error */
	mqtt_result_cleanup(&m);
	assert_int_equal(mqtt_result_decode(bad, slen(bad), &m, &eb), CORE_OK);
	assert_string_equal(m.error, "boom");
	mqtt_result_cleanup(&m);
	EXPECT_FAIL(mqtt_result_decode, struct mqtt_result, mqtt_result_cleanup,
	    "{\"results\":\"1\"}", CORE_ERR_INVALID, "task_id");
	EXPECT_FAIL(mqtt_result_decode, struct mqtt_result, mqtt_result_cleanup,
	    "{\"task_id\":\"" ID1 "\",\"error\":5}", CORE_ERR_INVALID, "error");
}

static void
test_invoke_result(void **state)
{
	const char *ok = "{\"task_id\":\"" ID1 "\",\"invocation_id\":\"" ID3
	    "\",\"proplet_id\":\"" ID2 "\",\"results\":\"30\",\"error\":null}";
	struct mqtt_invoke_result m;
	struct core_errbuf eb;
	char *out = NULL;

	(void)state;
	memset(&m, 0, sizeof(m));
	assert_int_equal(mqtt_invoke_result_decode(ok, slen(ok), &m, &eb),
	    CORE_OK);
	assert_string_equal(m.results, "30");
	assert_int_equal(mqtt_invoke_result_encode(&m, &out, &eb), CORE_OK);
	assert_string_equal(out, ok);
	free(out);
	mqtt_invoke_result_cleanup(&m);
	EXPECT_FAIL(mqtt_invoke_result_decode, struct mqtt_invoke_result,
	    mqtt_invoke_result_cleanup, "{\"task_id\":\"" ID1 "\"}",
	    CORE_ERR_INVALID, "invocation_id");
	EXPECT_FAIL(mqtt_invoke_result_decode, struct mqtt_invoke_result,
	    mqtt_invoke_result_cleanup, "{\"task_id\":\"" ID1 "\","
	    "\"invocation_id\":\"" ID3 "\",\"results\":{}}", CORE_ERR_INVALID,
	    "results");
}

static void
test_task_metrics(void **state)
{
	const char *json = "{\"task_id\":\"" ID1 "\",\"proplet_id\":\"" ID2 "\","
	    "\"metrics\":{\"cpu_percent\":12.5,\"memory_bytes\":1024,"
	    "\"memory_percent\":0.1,\"disk_read_bytes\":1,\"disk_write_bytes\":2,"
	    "\"uptime_seconds\":3,\"thread_count\":4,\"file_descriptor_count\":5},"
	    "\"aggregated\":null,\"timestamp\":\"2026-01-02T03:04:05.123456789Z\"}";
	const char *upstream_ts = "{\"task_id\":\"" ID1 "\",\"proplet_id\":\""
	    ID2 "\",\"metrics\":{},\"aggregated\":{\"sample_count\":3},"
	    "\"timestamp\":{\"secs_since_epoch\":10,\"nanos_since_epoch\":5}}";
	struct mqtt_task_metrics m, m2;
	struct core_errbuf eb;
	char *out = NULL;

	(void)state;
	memset(&m, 0, sizeof(m));
	memset(&m2, 0, sizeof(m2));
	assert_int_equal(mqtt_task_metrics_decode(json, slen(json), &m, &eb),
	    CORE_OK);
	assert_true(m.metrics.cpu_percent == 12.5);
	assert_int_equal(m.metrics.file_descriptor_count, 5);
	assert_false(m.aggregated.present);
	assert_true(m.timestamp_ns > 0);
	assert_int_equal(mqtt_task_metrics_encode(&m, &out, &eb), CORE_OK);
	assert_int_equal(mqtt_task_metrics_decode(out, strlen(out), &m2, &eb),
	    CORE_OK);
	assert_true(m2.timestamp_ns == m.timestamp_ns);
	free(out);
	mqtt_task_metrics_cleanup(&m);
	mqtt_task_metrics_cleanup(&m2);
	assert_int_equal(mqtt_task_metrics_decode(upstream_ts, slen(upstream_ts),
	    &m, &eb), CORE_OK);
	assert_true(m.timestamp_ns == 10000000005LL);
	assert_int_equal(m.aggregated.sample_count, 3);
	mqtt_task_metrics_cleanup(&m);
	EXPECT_FAIL(mqtt_task_metrics_decode, struct mqtt_task_metrics,
	    mqtt_task_metrics_cleanup, "{\"task_id\":\"" ID1 "\",\"proplet_id\":\""
	    ID2 "\"}", CORE_ERR_INVALID, "metrics");
	EXPECT_FAIL(mqtt_task_metrics_decode, struct mqtt_task_metrics,
	    mqtt_task_metrics_cleanup, "{\"task_id\":\"" ID1 "\",\"proplet_id\":\""
	    ID2 "\",\"metrics\":{\"cpu_percent\":\"x\"}}", CORE_ERR_INVALID,
	    "cpu_percent");
	EXPECT_FAIL(mqtt_task_metrics_decode, struct mqtt_task_metrics,
	    mqtt_task_metrics_cleanup, "{\"task_id\":\"" ID1 "\",\"proplet_id\":\""
	    ID2 "\",\"metrics\":{},\"timestamp\":\"yesterday\"}",
	    CORE_ERR_INVALID, "timestamp");
}

static void
test_proplet_metrics(void **state)
{
	const char *json = "{\"proplet_id\":\"" ID2 "\",\"namespace\":\"default\","
	    "\"timestamp\":\"2026-01-02T03:04:05Z\",\"cpu_metrics\":"
	    "{\"user_seconds\":1.5,\"system_seconds\":0.5,\"percent\":3},"
	    "\"memory_metrics\":{\"rss_bytes\":100,\"heap_alloc_bytes\":1,"
	    "\"heap_sys_bytes\":2,\"heap_inuse_bytes\":3,"
	    "\"container_limit_bytes\":99}}";
	struct mqtt_proplet_metrics m, m2;
	struct core_errbuf eb;
	char *out = NULL;

	(void)state;
	memset(&m, 0, sizeof(m));
	memset(&m2, 0, sizeof(m2));
	assert_int_equal(mqtt_proplet_metrics_decode(json, slen(json), &m, &eb),
	    CORE_OK);
	assert_int_equal(m.rss_bytes, 100);
	assert_int_equal(m.container_usage_bytes, -1);
	assert_int_equal(m.container_limit_bytes, 99);
	assert_int_equal(mqtt_proplet_metrics_encode(&m, &out, &eb), CORE_OK);
	assert_null(strstr(out, "container_usage_bytes"));
	assert_int_equal(mqtt_proplet_metrics_decode(out, strlen(out), &m2, &eb),
	    CORE_OK);
	assert_true(m2.cpu_user_seconds == 1.5);
	free(out);
	mqtt_proplet_metrics_cleanup(&m);
	mqtt_proplet_metrics_cleanup(&m2);
	EXPECT_FAIL(mqtt_proplet_metrics_decode, struct mqtt_proplet_metrics,
	    mqtt_proplet_metrics_cleanup, "{\"proplet_id\":\"" ID2 "\","
	    "\"memory_metrics\":{\"rss_bytes\":\"1\"}}", CORE_ERR_INVALID,
	    "rss_bytes");
	EXPECT_FAIL(mqtt_proplet_metrics_decode, struct mqtt_proplet_metrics,
	    mqtt_proplet_metrics_cleanup, "{\"proplet_id\":\"" ID2 "\","
	    "\"cpu_metrics\":[]}", CORE_ERR_INVALID, "cpu_metrics");
	EXPECT_FAIL(mqtt_proplet_metrics_decode, struct mqtt_proplet_metrics,
	    mqtt_proplet_metrics_cleanup, "{}", CORE_ERR_INVALID, "proplet_id");
}

static void
test_chunk(void **state)
{
	const char *json = "{\"app_name\":\"docker.io/acme/addition:latest\","
	    "\"chunk_idx\":0,\"total_chunks\":3,\"data\":\"AGFzbQEAAAA=\"}";
	struct mqtt_chunk m, m2;
	struct mqtt_chunk_request rq, rq2;
	struct core_errbuf eb;
	char *out = NULL;

	(void)state;
	memset(&m, 0, sizeof(m));
	memset(&m2, 0, sizeof(m2));
	assert_int_equal(mqtt_chunk_decode(json, slen(json), &m, &eb), CORE_OK);
	assert_int_equal(m.data_len, 8);
	assert_memory_equal(m.data, "\0asm\1\0\0\0", 8);
	assert_int_equal(mqtt_chunk_encode(&m, &out, &eb), CORE_OK);
	assert_string_equal(out, json);
	free(out);
	mqtt_chunk_cleanup(&m);
	EXPECT_FAIL(mqtt_chunk_decode, struct mqtt_chunk, mqtt_chunk_cleanup,
	    "{\"app_name\":\"a\",\"chunk_idx\":3,\"total_chunks\":3,"
	    "\"data\":\"\"}", CORE_ERR_INVALID, "chunk_idx");
	EXPECT_FAIL(mqtt_chunk_decode, struct mqtt_chunk, mqtt_chunk_cleanup,
	    "{\"app_name\":\"a\",\"chunk_idx\":0,\"total_chunks\":0,"
	    "\"data\":\"\"}", CORE_ERR_INVALID, "total_chunks");
	EXPECT_FAIL(mqtt_chunk_decode, struct mqtt_chunk, mqtt_chunk_cleanup,
	    "{\"app_name\":\"a\",\"chunk_idx\":0,\"total_chunks\":1,"
	    "\"data\":\"!!!\"}", CORE_ERR_INVALID, "data");
	EXPECT_FAIL(mqtt_chunk_decode, struct mqtt_chunk, mqtt_chunk_cleanup,
	    "{\"app_name\":\"a\",\"chunk_idx\":0,\"total_chunks\":1}",
	    CORE_ERR_INVALID, "data");
	EXPECT_FAIL(mqtt_chunk_decode, struct mqtt_chunk, mqtt_chunk_cleanup,
	    "{\"chunk_idx\":0,\"total_chunks\":1,\"data\":\"\"}",
	    CORE_ERR_INVALID, "app_name");
	EXPECT_FAIL(mqtt_chunk_decode, struct mqtt_chunk, mqtt_chunk_cleanup,
	    "{\"app_name\":\"a\",\"chunk_idx\":\"0\",\"total_chunks\":1,"
	    "\"data\":\"\"}", CORE_ERR_INVALID, "chunk_idx");

	memset(&rq, 0, sizeof(rq));
	memset(&rq2, 0, sizeof(rq2));
	rq.app_name = (char *)"docker.io/acme/addition:v1";
	assert_int_equal(mqtt_chunk_request_encode(&rq, &out, &eb), CORE_OK);
	assert_string_equal(out, "{\"app_name\":\"docker.io/acme/addition:v1\"}");
	assert_int_equal(mqtt_chunk_request_decode(out, strlen(out), &rq2, &eb),
	    CORE_OK);
	assert_string_equal(rq2.app_name, rq.app_name);
	free(out);
	mqtt_chunk_request_cleanup(&rq2);
	EXPECT_FAIL(mqtt_chunk_request_decode, struct mqtt_chunk_request,
	    mqtt_chunk_request_cleanup, "{\"app_name\":1}", CORE_ERR_INVALID,
	    "app_name");
	EXPECT_FAIL(mqtt_chunk_request_decode, struct mqtt_chunk_request,
	    mqtt_chunk_request_cleanup, "{}", CORE_ERR_INVALID, "app_name");
}

static void
test_string_bounds(void **state)
{
	size_t n = MQTT_MAX_STRING + 100, i;
	struct core_buf b;
	struct mqtt_start m;
	struct core_errbuf eb;

	(void)state;
	core_buf_init(&b, 0);
	assert_int_equal(core_buf_append_str(&b, "{\"id\":\"" ID1 "\",\"name\":\""),
	    CORE_OK);
	for (i = 0; i < n; i++)
		assert_int_equal(core_buf_append(&b, "a", 1), CORE_OK);
	assert_int_equal(core_buf_append_str(&b, "\"}"), CORE_OK);
	memset(&m, 0, sizeof(m));
	core_errbuf_clear(&eb);
	assert_int_equal(mqtt_start_decode(b.data, b.len, &m, &eb),
	    CORE_ERR_TOO_BIG);
	assert_non_null(strstr(core_errbuf_msg(&eb), "\"name\" is longer"));
	mqtt_start_cleanup(&m);
	core_buf_cleanup(&b);
	/* An embedded NUL is refused. */
	memset(&m, 0, sizeof(m));
	assert_int_equal(mqtt_start_decode("{\"id\":\"" ID1 "\",\"name\":\"a\\u0000b\"}",
	    slen("{\"id\":\"" ID1 "\",\"name\":\"a\\u0000b\"}"), &m, &eb),
	    CORE_ERR_INVALID);
	mqtt_start_cleanup(&m);
}

static void
test_topics_and_address(void **state)
{
	char t[MQTT_TOPIC_MAX], *host = NULL;
	struct core_errbuf eb;
	bool tls;
	int port;

	(void)state;
	assert_int_equal(mqtt_topic(t, "ten", "chan", MQTT_SUFFIX_START, &eb),
	    CORE_OK);
	assert_string_equal(t, "m/ten/c/chan/control/manager/start");
	assert_string_equal(mqtt_topic_suffix(t, "ten", "chan"),
	    "control/manager/start");
	assert_null(mqtt_topic_suffix(t, "ten", "cha"));
	assert_null(mqtt_topic_suffix(t, "te", "chan"));
	assert_null(mqtt_topic_suffix("x/ten/c/chan/a", "ten", "chan"));
	assert_int_equal(mqtt_topic(t, "a/b", "c", "x", &eb), CORE_ERR_INVALID);
	assert_int_equal(mqtt_topic(t, "a", "#", "x", &eb), CORE_ERR_INVALID);
	assert_int_equal(mqtt_topic(t, "", "c", "x", &eb), CORE_ERR_INVALID);
	assert_false(mqtt_topic_part_valid("a+b"));
	assert_true(mqtt_topic_part_valid(ID1));

	assert_int_equal(mqtt_address_parse("tcp://localhost:1883", &host, &port,
	    &tls, &eb), CORE_OK);
	assert_string_equal(host, "localhost");
	assert_int_equal(port, 1883);
	assert_false(tls);
	free(host);
	assert_int_equal(mqtt_address_parse("mqtts://broker.example", &host,
	    &port, &tls, &eb), CORE_OK);
	assert_int_equal(port, 8883);
	assert_true(tls);
	free(host);
	assert_int_equal(mqtt_address_parse("ssl://[::1]:9000", &host, &port,
	    &tls, &eb), CORE_OK);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 9000);
	free(host);
	assert_int_equal(mqtt_address_parse("127.0.0.1:1884", &host, &port,
	    &tls, &eb), CORE_OK);
	assert_int_equal(port, 1884);
	free(host);
	assert_int_equal(mqtt_address_parse("http://x:1", &host, &port, &tls,
	    &eb), CORE_ERR_INVALID);
	assert_int_equal(mqtt_address_parse("tcp://x:99999", &host, &port, &tls,
	    &eb), CORE_ERR_INVALID);
	assert_int_equal(mqtt_address_parse("tcp://:1883", &host, &port, &tls,
	    &eb), CORE_ERR_INVALID);
	assert_int_equal(mqtt_address_parse("", &host, &port, &tls, &eb),
	    CORE_ERR_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_spec_example),
		cmocka_unit_test(test_start_nulls_numbers_and_minimal),
		cmocka_unit_test(test_start_bad),
		cmocka_unit_test(test_start_encode_refuses),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_invoke),
		cmocka_unit_test(test_discovery),
		cmocka_unit_test(test_heartbeat),
		cmocka_unit_test(test_result),
		cmocka_unit_test(test_invoke_result),
		cmocka_unit_test(test_task_metrics),
		cmocka_unit_test(test_proplet_metrics),
		cmocka_unit_test(test_chunk),
		cmocka_unit_test(test_string_bounds),
		cmocka_unit_test(test_topics_and_address),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
