#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

static void
test_parse_limits(void **state)
{
	struct core_errbuf eb;
	json_t *v;
	const char *doc = "{\"a\":1}";

	(void)state;
	assert_int_equal(core_json_parse_object(doc, strlen(doc), 0, &v, NULL), CORE_OK);
	json_decref(v);
	core_errbuf_clear(&eb);
	assert_int_equal(core_json_parse(doc, strlen(doc), 3, &v, &eb), CORE_ERR_TOO_BIG);
	assert_null(v);
	assert_non_null(strstr(eb.msg, "limit"));
	core_errbuf_clear(&eb);
	assert_int_equal(core_json_parse("{\"a\":", 5, 0, &v, &eb), CORE_ERR_INVALID);
	assert_non_null(strstr(eb.msg, "line 1"));
	assert_int_equal(core_json_parse("{\"a\":1,\"a\":2}", 13, 0, &v, NULL),
	    CORE_ERR_INVALID);
	assert_int_equal(core_json_parse("", 0, 0, &v, NULL), CORE_ERR_INVALID);
	assert_int_equal(core_json_parse("[1]", 3, 0, &v, NULL), CORE_OK);
	json_decref(v);
	assert_int_equal(core_json_parse_object("[1]", 3, 0, &v, NULL), CORE_ERR_INVALID);
	assert_null(v);
	assert_int_equal(core_json_parse("{} {}", 5, 0, &v, NULL), CORE_ERR_INVALID);
}

static void
test_getters(void **state)
{
	const char *doc = "{\"s\":\"x\",\"i\":7,\"b\":true,\"n\":null,\"k\":\"Zm9v\","
	    "\"bad\":\"!!\"}";
	struct core_errbuf eb;
	const char *s = "default";
	int64_t i = -1;
	bool b = false;
	uint8_t *d = NULL;
	size_t n = 0;
	json_t *v;

	(void)state;
	assert_int_equal(core_json_parse_object(doc, strlen(doc), 0, &v, NULL), CORE_OK);
	assert_int_equal(core_json_get_str(v, "s", true, &s, NULL), CORE_OK);
	assert_string_equal(s, "x");
	assert_int_equal(core_json_get_int(v, "i", true, &i, NULL), CORE_OK);
	assert_int_equal(i, 7);
	assert_int_equal(core_json_get_bool(v, "b", true, &b, NULL), CORE_OK);
	assert_true(b);
	/* null counts as absent */
	s = "keep";
	assert_int_equal(core_json_get_str(v, "n", false, &s, NULL), CORE_OK);
	assert_string_equal(s, "keep");
	core_errbuf_clear(&eb);
	assert_int_equal(core_json_get_str(v, "n", true, &s, &eb), CORE_ERR_INVALID);
	assert_string_equal(eb.msg, "missing required field \"n\"");
	core_errbuf_clear(&eb);
	assert_int_equal(core_json_get_int(v, "s", false, &i, &eb), CORE_ERR_INVALID);
	assert_string_equal(eb.msg, "field \"s\" must be an integer");
	assert_int_equal(core_json_get_bool(v, "i", false, &b, NULL), CORE_ERR_INVALID);
	assert_int_equal(core_json_get_b64(v, "k", true, &d, &n, NULL), CORE_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(d, "foo", 3);
	free(d);
	core_errbuf_clear(&eb);
	assert_int_equal(core_json_get_b64(v, "bad", true, &d, &n, &eb), CORE_ERR_INVALID);
	assert_non_null(strstr(eb.msg, "field \"bad\""));
	json_decref(v);
}

static void
test_dumps_compact(void **state)
{
	json_t *v = json_pack("{s:i,s:[s]}", "a", 1, "b", "c");
	char *s = core_json_dumps(v);

	(void)state;
	assert_string_equal(s, "{\"a\":1,\"b\":[\"c\"]}");
	free(s);
	json_decref(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_getters),
		cmocka_unit_test(test_dumps_compact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
