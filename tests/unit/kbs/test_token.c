/*
 * test_token.c -- the EAR claims serializer (crypto_json_dumps, which
 * token signing uses): the claims of a real sample attestation and documents with every kind of
 * value and escape come out byte for byte as jansson's compact dump (the
 * token is signed over those bytes); reals and deep trees go to jansson.
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

static void
expect_same(const json_t *v)
{
	char *a = core_json_dumps(v), *b = crypto_json_dumps(v);

	assert_non_null(a);
	assert_non_null(b);
	assert_string_equal(b, a);
	free(a);
	free(b);
}

/* The claims of a sample attestation, as /attest builds them. */
static void
test_claims(void **state)
{
	static const char nonce[] = "bm9uY2Ugbm9uY2Ugbm9uY2Ugbm9uY2Ugbm9uY2Ugbm8=";
	struct crypto_key *k = NULL;
	json_t *jwk = NULL, *req, *claims = NULL;
	uint8_t d[KBS_DIGEST_LEN];
	char *rd;

	(void)state;
	assert_int_equal(crypto_key_generate(CRYPTO_KEY_EC_P256, 0, &k, NULL),
	    CORE_OK);
	assert_int_equal(kbs_pub_jwk(k, "ECDH-ES+A256KW", &jwk, NULL),
	    CORE_OK);
	assert_int_equal(kbs_runtime_digest(jwk, nonce, "{\"x\":\"\\u0001\"}",
	    d, NULL), CORE_OK);
	rd = core_b64_encode(d, sizeof(d));
	req = json_pack("{s:{s:s,s:O},s:{s:{s:s,s:s},s:s},s:{s:s}}",
	    "runtime-data", "nonce", nonce, "tee-pubkey", jwk, "tee-evidence",
	    "primary_evidence", "svn", "1", "report_data", rd,
	    "additional_evidence", "{\"x\":\"\\u0001\"}", "init-data", "body",
	    "algorithm = \"sha384\"\nversion = \"0.1.0\"\n");
	assert_non_null(req);
	assert_int_equal(kbs_evidence_verify("sample", req, nonce, 1000, 300,
	    &claims, NULL), CORE_OK);
	expect_same(claims);
	json_decref(claims);
	json_decref(req);
	json_decref(jwk);
	crypto_key_free(k);
	free(rd);
}

/* Every escape, UTF-8, NUL, integers, empty containers, scalars. */
static void
test_values(void **state)
{
	char all[128];
	json_t *v, *deep;

	(void)state;
	for (int i = 0; i < 127; i++)
		all[i] = (char)(i + 1);
	all[127] = '\0';
	v = json_pack("{s:s,s:s%,s:s,s:{},s:[],s:[I,I,i,b,b,n],s:[[{}]]}",
	    "all", all, "nul", "a\0b\0", (size_t)4, "utf8",
	    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 \"q\" \\ /", "e", "a", "n",
	    (json_int_t)INT64_MIN, (json_int_t)INT64_MAX, 0, 1, 0, "nest");
	assert_non_null(v);
	json_object_set_new(v, "\n\x01key\"", json_string("v"));
	expect_same(v);
	json_decref(v);
	v = json_string("top\tlevel");
	expect_same(v);
	json_decref(v);
	v = json_integer(-42);
	expect_same(v);
	json_decref(v);
	v = json_null();
	expect_same(v);
	/* A real anywhere: jansson formats it. */
	v = json_pack("{s:[i,{s:f}]}", "r", 1, "x", 0.1);
	expect_same(v);
	json_decref(v);
	/* Deeper than the serializer goes: jansson again. */
	deep = json_array();
	for (int i = 0; i < 100; i++) {
		v = json_array();
		json_array_append_new(v, deep);
		deep = v;
	}
	expect_same(deep);
	json_decref(deep);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_claims),
		cmocka_unit_test(test_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
