#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proplet/internal.h"

static struct mqtt_chunk
chunk(const char *app, int64_t idx, int64_t total, const char *data)
{
	struct mqtt_chunk c = { .app_name = (char *)app, .chunk_idx = idx,
		.total_chunks = total, .data = (uint8_t *)data,
		.data_len = strlen(data) };

	return c;
}

static void
test_out_of_order_and_duplicates(void **state)
{
	struct proplet_chunks *cs = proplet_chunks_new();
	struct mqtt_chunk c;
	uint8_t *out;
	size_t len;

	(void)state;
	c = chunk("app", 2, 3, "ghi");
	assert_int_equal(proplet_chunks_add(cs, &c, NULL), CORE_OK);
	c = chunk("app", 0, 3, "abc");
	assert_int_equal(proplet_chunks_add(cs, &c, NULL), CORE_OK);
	c = chunk("app", 0, 3, "XXX"); /* duplicate: ignored */
	assert_int_equal(proplet_chunks_add(cs, &c, NULL), CORE_OK);
	c = chunk("other", 0, 1, "zz"); /* unrequested: accepted */
	assert_int_equal(proplet_chunks_add(cs, &c, NULL), CORE_OK);
	c = chunk("app", 1, 3, "def");
	assert_int_equal(proplet_chunks_add(cs, &c, NULL), CORE_OK);
	assert_int_equal(proplet_chunks_wait(cs, "app", 1000, &out, &len, NULL), CORE_OK);
	assert_int_equal(len, 9);
	assert_memory_equal(out, "abcdefghi", 9);
	free(out);
	/* Taken once: the assembly is gone. */
	assert_int_equal(proplet_chunks_wait(cs, "app", 10, &out, &len, NULL),
	    CORE_ERR_TIMEOUT);
	assert_int_equal(proplet_chunks_wait(cs, "other", 10, &out, &len, NULL), CORE_OK);
	free(out);
	proplet_chunks_free(cs);
}

static void
test_bad_chunks(void **state)
{
	struct proplet_chunks *cs = proplet_chunks_new();
	struct core_errbuf eb;
	struct mqtt_chunk c;
	uint8_t *out;
	size_t len;

	(void)state;
	core_errbuf_clear(&eb);
	c = chunk("app", 3, 3, "x");
	assert_int_equal(proplet_chunks_add(cs, &c, &eb), CORE_ERR_INVALID);
	assert_non_null(strstr(eb.msg, "out of range"));
	c = chunk("app", 0, 0, "x");
	assert_int_equal(proplet_chunks_add(cs, &c, NULL), CORE_ERR_INVALID);
	c = chunk("app", 0, 2, "x");
	assert_int_equal(proplet_chunks_add(cs, &c, NULL), CORE_OK);
	core_errbuf_clear(&eb);
	c = chunk("app", 1, 5, "y");
	assert_int_equal(proplet_chunks_add(cs, &c, &eb), CORE_ERR_INVALID);
	assert_non_null(strstr(eb.msg, "differs"));
	/* The inconsistent assembly was dropped. */
	core_errbuf_clear(&eb);
	assert_int_equal(proplet_chunks_wait(cs, "app", 20, &out, &len, &eb),
	    CORE_ERR_TIMEOUT);
	assert_non_null(strstr(eb.msg, "Timeout waiting for binary chunks"));
	proplet_chunks_free(cs);
}

struct feeder {
	struct proplet_chunks *cs;
};

static void *
feed_later(void *arg)
{
	struct feeder *f = arg;
	struct mqtt_chunk c = chunk("late", 0, 1, "\0asm");

	c.data_len = 4;
	usleep(50000);
	proplet_chunks_add(f->cs, &c, NULL);
	return NULL;
}

static void
test_wait_wakes_up(void **state)
{
	struct feeder f = { proplet_chunks_new() };
	pthread_t th;
	uint8_t *out;
	size_t len;

	(void)state;
	pthread_create(&th, NULL, feed_later, &f);
	assert_int_equal(proplet_chunks_wait(f.cs, "late", 5000, &out, &len, NULL), CORE_OK);
	assert_int_equal(len, 4);
	assert_memory_equal(out, "\0asm", 4);
	free(out);
	pthread_join(th, NULL);
	proplet_chunks_free(f.cs);
}

static void
test_assembly_limit(void **state)
{
	struct proplet_chunks *cs = proplet_chunks_new();
	char name[32];
	struct mqtt_chunk c;
	int i;

	(void)state;
	for (i = 0; i < PROPLET_CHUNK_MAX_ASSEMBLIES; i++) {
		snprintf(name, sizeof(name), "app%d", i);
		c = chunk(name, 0, 2, "x");
		assert_int_equal(proplet_chunks_add(cs, &c, NULL), CORE_OK);
	}
	c = chunk("one-too-many", 0, 2, "x");
	assert_int_equal(proplet_chunks_add(cs, &c, NULL), CORE_ERR_TOO_BIG);
	proplet_chunks_sweep(cs); /* nothing is old enough to expire */
	assert_int_equal(proplet_chunks_add(cs, &c, NULL), CORE_ERR_TOO_BIG);
	proplet_chunks_free(cs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_out_of_order_and_duplicates),
		cmocka_unit_test(test_bad_chunks),
		cmocka_unit_test(test_wait_wakes_up),
		cmocka_unit_test(test_assembly_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
