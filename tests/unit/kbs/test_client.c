/*
 * test_client.c -- the KBS client's parsing of the attest reply and the
 * attest request it writes as text (checked against the jansson/JCS
 * forms).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kbs/kbs_int.h"

enum core_err token_reply_fast(const struct core_buf *b, char **out);
size_t on_header(char *p, size_t sz, size_t n, void *ud);
bool rcar_text_ok(const json_t *jwk, const char *nonce);
enum core_err rcar_digest_text(const json_t *jwk, const char *nonce,
    uint8_t digest[KBS_DIGEST_LEN], struct core_errbuf *eb);
char *rcar_body_text(const json_t *jwk, const char *nonce, const json_t *ev);

static void
header(const char *line, char *cookie)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s", line);
	assert_int_equal(on_header(buf, 1, strlen(buf), cookie), strlen(line));
}

/* The session cookie is kept from Set-Cookie, whatever its attributes. */
static void
test_session_cookie(void **state)
{
	char cookie[256] = "";
	char big[400];

	(void)state;
	header("HTTP/1.1 200 OK\r\n", cookie);
	header("Content-Type: application/json\r\n", cookie);
	header("Set-Cookie: other=1; Path=/\r\n", cookie);
	assert_string_equal(cookie, "");
	header("set-cookie:kbs-session-id=0123abcd; Expires=Wed, 25 Nov 2026 "
	    "15:00:00 GMT; Path=/kbs/v0; HttpOnly\r\n", cookie);
	assert_string_equal(cookie, "kbs-session-id=0123abcd");
	header("Set-Cookie: kbs-session-id=6f0e-4a\r\n", cookie);
	assert_string_equal(cookie, "kbs-session-id=6f0e-4a");
	/* A value too long for the buffer is ignored, not truncated. */
	memcpy(big, "Set-Cookie: kbs-session-id=", 27);
	memset(big + 27, 'a', 300);
	big[327] = '\0';
	header(big, cookie);
	assert_string_equal(cookie, "kbs-session-id=6f0e-4a");
}

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

/*
 * The attest request written as text: the same runtime-data digest as
 * kbs_runtime_digest (JCS over jansson) and the same JSON as the jansson
 * form, for P-256 and P-521 keys; RSA keys and nonces needing escapes are
 * left to jansson.
 */
static void
test_rcar_text(void **state)
{
	static const enum crypto_key_type types[] = { CRYPTO_KEY_EC_P256,
		CRYPTO_KEY_EC_P521 };
	static const char nonce[] = "q1Yf7mBz+/0A9Wl3x1c2aGQvR8dZkE3mPn0sT5uVw==";
	struct crypto_key *k = NULL;
	json_t *raw = NULL, *pub = NULL, *ev = NULL, *want = NULL, *got = NULL;
	uint8_t d1[KBS_DIGEST_LEN], d2[KBS_DIGEST_LEN];
	char *body;

	(void)state;
	ev = json_pack("{s:s,s:s}", "svn", "1", "report_data", "AAEC");
	assert_non_null(ev);
	for (size_t i = 0; i < CORE_ARRAY_LEN(types); i++) {
		assert_int_equal(crypto_key_generate(types[i], 0, &k, NULL),
		    CORE_OK);
		assert_int_equal(crypto_key_to_jwk(k, false, &raw, NULL),
		    CORE_OK);
		assert_int_equal(kbs_pub_jwk(k, "ECDH-ES+A256KW", &pub, NULL),
		    CORE_OK);
		assert_true(rcar_text_ok(raw, nonce));
		assert_int_equal(rcar_digest_text(raw, nonce, d1, NULL),
		    CORE_OK);
		assert_int_equal(kbs_runtime_digest(pub, nonce, "", d2, NULL),
		    CORE_OK);
		assert_memory_equal(d1, d2, sizeof(d1));
		body = rcar_body_text(raw, nonce, ev);
		assert_non_null(body);
		got = json_loads(body, 0, NULL);
		assert_non_null(got);
		want = json_pack("{s:{s:s,s:O},s:{s:O,s:s}}", "runtime-data",
		    "nonce", nonce, "tee-pubkey", pub, "tee-evidence",
		    "primary_evidence", ev, "additional_evidence", "");
		assert_true(json_equal(got, want));
		/* A nonce JSON would escape goes through jansson. */
		assert_false(rcar_text_ok(raw, "a\"b"));
		assert_false(rcar_text_ok(raw, "a\\b"));
		assert_false(rcar_text_ok(raw, "caf\xc3\xa9"));
		assert_false(rcar_text_ok(raw, "a\nb"));
		free(body);
		json_decref(got);
		json_decref(want);
		json_decref(raw);
		json_decref(pub);
		crypto_key_free(k);
	}
	assert_int_equal(crypto_key_generate(CRYPTO_KEY_RSA, 2048, &k, NULL),
	    CORE_OK);
	assert_int_equal(crypto_key_to_jwk(k, false, &raw, NULL), CORE_OK);
	assert_false(rcar_text_ok(raw, nonce));
	json_decref(raw);
	crypto_key_free(k);
	json_decref(ev);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_reply_fast),
		cmocka_unit_test(test_session_cookie),
		cmocka_unit_test(test_rcar_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
