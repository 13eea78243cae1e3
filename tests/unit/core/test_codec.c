#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

/* RFC 4648 §10 test vectors. */
static const char *const rfc_in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
static const char *const rfc_b64[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==",
	"Zm9vYmE=", "Zm9vYmFy" };
static const char *const rfc_hex[] = { "", "66", "666f", "666f6f", "666f6f62",
	"666f6f6261", "666f6f626172" };

static void
test_b64_rfc4648(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < 7; i++) {
		char *e = core_b64_encode(rfc_in[i], strlen(rfc_in[i]));
		uint8_t *d;
		size_t n;

		assert_string_equal(e, rfc_b64[i]);
		assert_int_equal(strlen(e), core_b64_enc_len(strlen(rfc_in[i])));
		assert_int_equal(core_b64_decode(e, strlen(e), &d, &n, NULL), CORE_OK);
		assert_int_equal(n, strlen(rfc_in[i]));
		assert_memory_equal(d, rfc_in[i], n);
		free(d);
		free(e);
		e = core_hex_encode(rfc_in[i], strlen(rfc_in[i]));
		assert_string_equal(e, rfc_hex[i]);
		free(e);
	}
}

static void
test_b64url(void **state)
{
	const uint8_t bytes[] = { 0xfb, 0xff, 0xfe, 0x3e };
	char *e;
	uint8_t *d;
	size_t n;

	(void)state;
	e = core_b64url_encode(bytes, sizeof(bytes));
	assert_string_equal(e, "-__-Pg");
	assert_int_equal(strlen(e), core_b64url_enc_len(sizeof(bytes)));
	assert_int_equal(core_b64url_decode(e, strlen(e), &d, &n, NULL), CORE_OK);
	assert_int_equal(n, 4);
	assert_memory_equal(d, bytes, 4);
	free(d);
	/* Padded base64url is accepted too. */
	assert_int_equal(core_b64url_decode("-__-Pg==", 8, &d, &n, NULL), CORE_OK);
	assert_int_equal(n, 4);
	free(d);
	free(e);
	e = core_b64_encode(bytes, sizeof(bytes));
	assert_string_equal(e, "+//+Pg==");
	free(e);
}

static void
test_b64_rejects(void **state)
{
	struct core_errbuf eb;
	uint8_t *d = (uint8_t *)"x";
	size_t n = 9;

	(void)state;
	core_errbuf_clear(&eb);
	assert_int_equal(core_b64_decode("Zm!v", 4, &d, &n, &eb), CORE_ERR_INVALID);
	assert_null(d);
	assert_non_null(strstr(eb.msg, "offset 2"));
	assert_int_equal(core_b64_decode("Zm9 v", 5, &d, &n, NULL), CORE_ERR_INVALID);
	assert_int_equal(core_b64_decode("Z", 1, &d, &n, NULL), CORE_ERR_INVALID);
	assert_int_equal(core_b64_decode("Zg=", 3, &d, &n, NULL), CORE_ERR_INVALID);
	assert_int_equal(core_b64_decode("Zh==", 4, &d, &n, NULL), CORE_ERR_INVALID);
	assert_int_equal(core_b64_decode("-_==", 4, &d, &n, NULL), CORE_ERR_INVALID);
	assert_int_equal(core_b64url_decode("+/", 2, &d, &n, NULL), CORE_ERR_INVALID);
	/* Unpadded standard base64 is accepted. */
	assert_int_equal(core_b64_decode("Zg", 2, &d, &n, NULL), CORE_OK);
	assert_int_equal(n, 1);
	free(d);
}

static void
test_hex(void **state)
{
	uint8_t fixed[4], *d;
	size_t n;
	struct core_errbuf eb;

	(void)state;
	assert_int_equal(core_hex_decode("DEADbeef", 8, &d, &n, NULL), CORE_OK);
	assert_int_equal(n, 4);
	assert_int_equal(d[0], 0xde);
	assert_int_equal(d[3], 0xef);
	free(d);
	assert_int_equal(core_hex_decode("abc", 3, &d, &n, NULL), CORE_ERR_INVALID);
	core_errbuf_clear(&eb);
	assert_int_equal(core_hex_decode("zz", 2, &d, &n, &eb), CORE_ERR_INVALID);
	assert_non_null(strstr(eb.msg, "offset 0"));
	assert_int_equal(core_hex_decode_fixed("01020304", fixed, 4, NULL), CORE_OK);
	assert_int_equal(fixed[3], 4);
	core_errbuf_clear(&eb);
	assert_int_equal(core_hex_decode_fixed("0102", fixed, 4, &eb), CORE_ERR_INVALID);
	assert_non_null(strstr(eb.msg, "expected 8"));
}

static void
test_roundtrip_all_bytes(void **state)
{
	uint8_t in[256], *d;
	size_t i, n, len;

	(void)state;
	for (i = 0; i < 256; i++)
		in[i] = (uint8_t)i;
	for (len = 0; len <= 256; len += 17) {
		char *a = core_b64_encode(in, len), *b = core_b64url_encode(in, len);

		assert_int_equal(core_b64_decode(a, strlen(a), &d, &n, NULL), CORE_OK);
		assert_int_equal(n, len);
		assert_memory_equal(d, in, len);
		free(d);
		assert_int_equal(core_b64url_decode(b, strlen(b), &d, &n, NULL), CORE_OK);
		assert_int_equal(n, len);
		assert_memory_equal(d, in, len);
		free(d);
		free(a);
		free(b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64_rfc4648),
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_b64_rejects),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_roundtrip_all_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
