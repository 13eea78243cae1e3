#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "proplet/internal.h"
#include "wasm/wasm.h"

/* File-local functions of service.c, reached through STATIC. */
char *utf8_lossy(const uint8_t *p, size_t n);
void render_outcome(const char *task_id, const struct wasm_result *r,
    bool cli_style, char **results, char **error);
bool start_file_span(const char *p, size_t n, size_t *off, size_t *len);
enum core_err start_decode(const void *payload, size_t n,
    struct mqtt_start *m, struct core_errbuf *eb);
extern size_t start_fast_min;

static void
test_utf8_lossy(void **state)
{
	char *s;

	(void)state;
	s = utf8_lossy((const uint8_t *)"30\n", 3);
	assert_string_equal(s, "30\n");
	free(s);
	s = utf8_lossy((const uint8_t *)"a\xff" "b", 3);
	assert_string_equal(s, "a\xef\xbf\xbd" "b");
	free(s);
	s = utf8_lossy((const uint8_t *)"\xc3\xa9\xe2\x82", 4); /* é, cut € */
	assert_string_equal(s, "\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd");
	free(s);
	s = utf8_lossy((const uint8_t *)"\xed\xa0\x80", 3); /* surrogate */
	assert_string_equal(s, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	free(s);
	s = utf8_lossy((const uint8_t *)"\xf0\x9f\x98\x80", 4);
	assert_string_equal(s, "\xf0\x9f\x98\x80");
	free(s);
	s = utf8_lossy(NULL, 0);
	assert_string_equal(s, "");
	free(s);
}

static void
test_render_outcomes(void **state)
{
	struct wasm_result r;
	char *res, *err;

	(void)state;
	wasm_result_init(&r);
	r.outcome = WASM_OUT_RETURNED;
	r.results = strdup("30\n");
	render_outcome("t", &r, false, &res, &err);
	assert_string_equal(res, "30"); /* in-process form */
	assert_null(err);
	free(res);
	render_outcome("t", &r, true, &res, &err);
	assert_string_equal(res, "30\n"); /* CLI form, as wasmtime prints */
	free(res);
	/* An external runtime prints the values itself: stdout is the result. */
	core_buf_append_str(&r.out, "30\n");
	r.tier_used = WASM_TIER_EXTERNAL;
	render_outcome("t", &r, true, &res, &err);
	assert_string_equal(res, "30\n");
	free(res);
	r.tier_used = WASM_TIER_2;
	core_buf_reset(&r.out);
	r.outcome = WASM_OUT_EXITED;
	r.exit_code = 3;
	core_buf_append_str(&r.err, "boom");
	render_outcome("t", &r, true, &res, &err);
	assert_null(res);
	assert_string_equal(err, "Process exited with status: 3, stderr: boom");
	free(err);
	r.exit_code = 0;
	core_buf_append_str(&r.out, "hello\n");
	render_outcome("t", &r, false, &res, &err);
	assert_string_equal(res, "hello\n");
	free(res);
	r.outcome = WASM_OUT_TRAPPED;
	r.trap = WASM_TRAP_DIV_ZERO;
	render_outcome("t", &r, false, &res, &err);
	assert_non_null(strstr(err, "wasm trap: "));
	assert_non_null(strstr(err, wasm_trap_str(WASM_TRAP_DIV_ZERO)));
	free(err);
	r.outcome = WASM_OUT_KILLED;
	render_outcome("abc", &r, false, &res, &err);
	assert_string_equal(err, "Task abc was stopped before completion");
	free(err);
	r.outcome = WASM_OUT_FAILED;
	snprintf(r.errmsg, sizeof(r.errmsg), "bad import");
	render_outcome("t", &r, false, &res, &err);
	assert_string_equal(err, "bad import");
	free(err);
	wasm_result_cleanup(&r);
}

/* The start fast lane gives what the ordinary decoder gives. */
static void
test_start_decode(void **state)
{
	static const struct {
		const char *json;
		bool fast;          /* the scanner finds the value */
		const char *file;   /* NULL: decoding fails */
	} cases[] = {
		{ "{\"id\":\"67c8dfa8-1111-4a2d-a489-660b5f7ab461\","
		  "\"name\":\"a\",\"inputs\":[1],\"file\":\"AGFzbQ==\"}",
		  true, "AGFzbQ==" },
		/* A nested "file" first, spaces around the colon. */
		{ "{\"env\":{\"file\":\"no\"},\"x\":[\"file\",{\"file\":1}],"
		  "\"id\":\"67c8dfa8-1111-4a2d-a489-660b5f7ab461\","
		  "\"name\":\"a\",\"inputs\":[],\"file\" :  \"QUJD\"}",
		  true, "QUJD" },
		/* Escapes: the ordinary path ("\/" is "/"). */
		{ "{\"id\":\"67c8dfa8-1111-4a2d-a489-660b5f7ab461\","
		  "\"name\":\"a\",\"inputs\":[],\"file\":\"A\\/B\"}",
		  false, "A/B" },
		/* A key containing \"file\" is not the key file. */
		{ "{\"id\":\"67c8dfa8-1111-4a2d-a489-660b5f7ab461\","
		  "\"name\":\"a\\\"file\\\"\",\"inputs\":[],\"file\":\"QQ==\"}",
		  true, "QQ==" },
		/* Duplicate keys are refused either way. */
		{ "{\"id\":\"67c8dfa8-1111-4a2d-a489-660b5f7ab461\","
		  "\"name\":\"a\",\"inputs\":[],\"file\":\"QQ==\","
		  "\"file\":\"\"}", true, NULL },
		/* Malformed after the value: the original error. */
		{ "{\"id\":\"67c8dfa8-1111-4a2d-a489-660b5f7ab461\","
		  "\"name\":\"a\",\"inputs\":[],\"file\":\"QQ==\",}",
		  true, NULL },
		{ "{\"file\":\"QQ==\"", true, NULL },
		{ "{\"file\":\"Q\x01Q\"}", false, NULL },
	};
	struct mqtt_start a, b;
	struct core_errbuf ea, eb;
	size_t i, off, len;
	enum core_err ra, rb;

	(void)state;
	start_fast_min = 0;
	for (i = 0; i < CORE_ARRAY_LEN(cases); i++) {
		const char *j = cases[i].json;

		assert_int_equal(start_file_span(j, strlen(j), &off, &len),
		    cases[i].fast);
		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		core_errbuf_clear(&ea);
		core_errbuf_clear(&eb);
		ra = mqtt_start_decode(j, strlen(j), &a, &ea);
		rb = start_decode(j, strlen(j), &b, &eb);
		assert_int_equal(ra, rb);
		assert_string_equal(ea.msg, eb.msg);
		if (cases[i].file == NULL) {
			assert_int_not_equal(ra, CORE_OK);
		} else {
			assert_int_equal(ra, CORE_OK);
			assert_string_equal(a.file, cases[i].file);
			assert_string_equal(b.file, cases[i].file);
			assert_string_equal(b.id, a.id);
			assert_string_equal(b.name, a.name);
		}
		mqtt_start_cleanup(&a);
		mqtt_start_cleanup(&b);
	}
	/* One odd byte anywhere in a long value: never the fast lane. */
	{
		static const char *const odd[] = { "\x01", "\x7f", "\xc3\xa9",
		    "\\/", "\\\"" };
		char j[512], val[128];
		size_t k, pos;

		for (k = 0; k < CORE_ARRAY_LEN(odd); k++) {
			for (pos = 0; pos < 40; pos++) {
				snprintf(val, sizeof(val), "%.*s%s%.*s", (int)pos,
				    "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZn",
				    odd[k], (int)(40 - pos),
				    "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZn");
				snprintf(j, sizeof(j), "{\"id\":\"67c8dfa8-1111-4a2d-"
				    "a489-660b5f7ab461\",\"name\":\"a\",\"inputs\":"
				    "[],\"file\":\"%s\"}", val);
				assert_false(start_file_span(j, strlen(j), &off,
				    &len));
				memset(&a, 0, sizeof(a));
				memset(&b, 0, sizeof(b));
				ra = mqtt_start_decode(j, strlen(j), &a, NULL);
				rb = start_decode(j, strlen(j), &b, NULL);
				assert_int_equal(ra, rb);
				if (ra == CORE_OK)
					assert_string_equal(a.file, b.file);
				mqtt_start_cleanup(&a);
				mqtt_start_cleanup(&b);
			}
		}
	}
	start_fast_min = 4096;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_lossy),
		cmocka_unit_test(test_render_outcomes),
		cmocka_unit_test(test_start_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
