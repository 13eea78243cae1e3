#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "core/core.h"

static void
test_format(void **state)
{
	char out[CORE_RFC3339_LEN];
	int64_t ns = 1700000000LL * 1000000000LL + 123456000LL;

	(void)state;
	core_rfc3339(ns, 0, out);
	assert_string_equal(out, "2023-11-14T22:13:20Z");
	core_rfc3339(ns, 3, out);
	assert_string_equal(out, "2023-11-14T22:13:20.123Z");
	core_rfc3339(ns, 9, out);
	assert_string_equal(out, "2023-11-14T22:13:20.123456Z");
	core_rfc3339(1700000000LL * 1000000000LL, 9, out);
	assert_string_equal(out, "2023-11-14T22:13:20Z");
	core_rfc3339(0, 9, out);
	assert_string_equal(out, "0001-01-01T00:00:00Z");
}

static void
test_parse(void **state)
{
	int64_t ns;
	struct core_errbuf eb;

	(void)state;
	assert_int_equal(core_rfc3339_parse("2023-11-14T22:13:20Z", &ns, NULL), CORE_OK);
	assert_true(ns == 1700000000LL * 1000000000LL);
	assert_int_equal(core_rfc3339_parse("2023-11-14T22:13:20.5Z", &ns, NULL), CORE_OK);
	assert_true(ns == 1700000000LL * 1000000000LL + 500000000LL);
	assert_int_equal(core_rfc3339_parse("2023-11-15T00:13:20.123456789123+02:00",
	    &ns, NULL), CORE_OK);
	assert_true(ns == 1700000000LL * 1000000000LL + 123456789LL);
	assert_int_equal(core_rfc3339_parse("2023-11-14T17:13:20-05:00", &ns, NULL), CORE_OK);
	assert_true(ns == 1700000000LL * 1000000000LL);
	assert_int_equal(core_rfc3339_parse("0001-01-01T00:00:00Z", &ns, NULL), CORE_OK);
	assert_true(ns == 0);
	core_errbuf_clear(&eb);
	assert_int_equal(core_rfc3339_parse("2023-11-14 22:13:20Z", &ns, &eb), CORE_ERR_INVALID);
	assert_non_null(strstr(eb.msg, "RFC 3339"));
	assert_int_equal(core_rfc3339_parse("2023-13-14T22:13:20Z", &ns, NULL), CORE_ERR_INVALID);
	assert_int_equal(core_rfc3339_parse("2023-11-14T22:13:20", &ns, NULL), CORE_ERR_INVALID);
	assert_int_equal(core_rfc3339_parse("2023-11-14T22:13:20Zjunk", &ns, NULL), CORE_ERR_INVALID);
	assert_int_equal(core_rfc3339_parse("2023-11-14T22:13:20.Z", &ns, NULL), CORE_ERR_INVALID);
	assert_int_equal(core_rfc3339_parse("9999-11-14T22:13:20Z", &ns, NULL), CORE_ERR_INVALID);
	assert_int_equal(core_rfc3339_parse(NULL, &ns, NULL), CORE_ERR_INVALID);
}

static void
test_roundtrip_now(void **state)
{
	char out[CORE_RFC3339_LEN];
	int64_t now = core_wall_ns(), back;

	(void)state;
	core_rfc3339(now, 9, out);
	assert_int_equal(core_rfc3339_parse(out, &back, NULL), CORE_OK);
	assert_true(back == now);
}

static void
test_duration(void **state)
{
	int64_t ms;

	(void)state;
	assert_int_equal(core_duration_parse_ms("30s", &ms, NULL), CORE_OK);
	assert_true(ms == 30000);
	assert_int_equal(core_duration_parse_ms("15", &ms, NULL), CORE_OK);
	assert_true(ms == 15000);
	assert_int_equal(core_duration_parse_ms("1m30s", &ms, NULL), CORE_OK);
	assert_true(ms == 90000);
	assert_int_equal(core_duration_parse_ms("250ms", &ms, NULL), CORE_OK);
	assert_true(ms == 250);
	assert_int_equal(core_duration_parse_ms("1.5h", &ms, NULL), CORE_OK);
	assert_true(ms == 5400000);
	assert_int_equal(core_duration_parse_ms("2000us", &ms, NULL), CORE_OK);
	assert_true(ms == 2);
	assert_int_equal(core_duration_parse_ms("0", &ms, NULL), CORE_OK);
	assert_true(ms == 0);
	assert_int_equal(core_duration_parse_ms("", &ms, NULL), CORE_ERR_INVALID);
	assert_int_equal(core_duration_parse_ms("10x", &ms, NULL), CORE_ERR_INVALID);
	assert_int_equal(core_duration_parse_ms("s", &ms, NULL), CORE_ERR_INVALID);
	assert_int_equal(core_duration_parse_ms("-5s", &ms, NULL), CORE_ERR_INVALID);
	assert_int_equal(core_duration_parse_ms("-5", &ms, NULL), CORE_ERR_INVALID);
}

static void
test_clocks(void **state)
{
	int64_t a = core_mono_ns(), b = core_mono_ns();

	(void)state;
	assert_true(b >= a);
	assert_true(core_mono_ms() > 0);
	assert_true(core_wall_ns() > 1700000000LL * 1000000000LL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_roundtrip_now),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_clocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
