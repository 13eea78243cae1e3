/* test_client.c -- the KBS client's parsing of the attest reply. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kbs/kbs_int.h"

enum core_err token_reply_fast(const struct core_buf *b, char **out);

static enum core_err
fast(const char *body, char **out)
{
	struct core_buf b;
	enum core_err err;

	core_buf_init(&b, 0);
	assert_int_equal(core_buf_append(&b, body, strlen(body)), CORE_OK);
	err = token_reply_fast(&b, out);
	core_buf_cleanup(&b);
	return err;
}

/* The exact shape is taken; everything else goes to the JSON parser. */
static void
test_token_reply_fast(void **state)
{
	static const char *const refused[] = {
		"", "{}", "[]", "{\"token\":1}", "{\"token\":\"a\\\"b\"}",
		"{\"token\":\"a\\u0041\"}", "{\"token\":\"a\",\"x\":1}",
		"{\"tokens\":\"a\"}", "{\"token\":\"a\"", "{\"token\":\"a\"}x",
		"{\"token\":\"a\nb\"}", "{\"token\":\"\xc3\xa9\"}",
		"{\"token\" \"a\"}", "{\"token\":\"a\"}}",
	};
	char *t = NULL;

	(void)state;
	assert_int_equal(fast("{\"token\":\"aa.bb.cc\"}", &t), CORE_OK);
	assert_string_equal(t, "aa.bb.cc");
	free(t);
	assert_int_equal(fast(" \r\n{ \"token\" :\t\"x-_.y\" }\n", &t),
	    CORE_OK);
	assert_string_equal(t, "x-_.y");
	free(t);
	for (size_t i = 0; i < CORE_ARRAY_LEN(refused); i++) {
		t = (char *)1;
		assert_int_equal(fast(refused[i], &t), CORE_ERR_INVALID);
		assert_null(t);
	}
	/* A NUL inside the value is refused too. */
	{
		struct core_buf b;

		core_buf_init(&b, 0);
		assert_int_equal(core_buf_append(&b, "{\"token\":\"a\0b\"}", 15),
		    CORE_OK);
		assert_int_equal(token_reply_fast(&b, &t), CORE_ERR_INVALID);
		core_buf_cleanup(&b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_reply_fast),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
