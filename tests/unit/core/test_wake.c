#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <unistd.h>

#include "core/core.h"

static void
test_timeout_then_wake(void **state)
{
	struct core_waker w;
	int64_t t0;

	(void)state;
	assert_int_equal(core_waker_init(&w, NULL), CORE_OK);
	t0 = core_mono_ms();
	assert_false(core_waker_wait(&w, 50));
	assert_true(core_mono_ms() - t0 >= 40);
	/* Several wakes before a wait collapse into one early return. */
	core_waker_wake(&w);
	core_waker_wake(&w);
	assert_true(core_waker_wait(&w, 5000));
	assert_false(core_waker_wait(&w, 0));
	core_waker_cleanup(&w);
	core_waker_cleanup(&w); /* idempotent */
}

static void *
waker_thread(void *arg)
{
	usleep(30000);
	core_waker_wake(arg);
	return NULL;
}

static void
test_wake_from_thread(void **state)
{
	struct core_waker w;
	pthread_t th;
	int64_t t0;

	(void)state;
	assert_int_equal(core_waker_init(&w, NULL), CORE_OK);
	t0 = core_mono_ms();
	pthread_create(&th, NULL, waker_thread, &w);
	assert_true(core_waker_wait(&w, 10000));
	assert_true(core_mono_ms() - t0 < 5000);
	pthread_join(th, NULL);
	core_waker_cleanup(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timeout_then_wake),
		cmocka_unit_test(test_wake_from_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
