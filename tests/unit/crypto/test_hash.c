/* test_hash.c -- SHA-2, HMAC-SHA256 and Concat KDF against published
 * vectors; crypto_json_dumps against jansson's compact dump. */
#include "helpers.h"

#include "crypto/internal.h"

static void
test_sha2_abc(void **state)
{
	uint8_t d[CRYPTO_HASH_MAX_LEN];

	(void)state;
	assert_int_equal(crypto_sha256("abc", 3, d), CORE_OK);
	th_assert_hex(d, 32, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(crypto_sha384("abc", 3, d), CORE_OK);
	th_assert_hex(d, 48, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded163"
	    "1a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7");
	assert_int_equal(crypto_sha512("abc", 3, d), CORE_OK);
	th_assert_hex(d, 64, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea2"
	    "0a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a"
	    "9ac94fa54ca49f");
	assert_int_equal(crypto_sha256(NULL, 0, d), CORE_OK);
	th_assert_hex(d, 32, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
}

static void
test_sha2_streaming_matches_oneshot(void **state)
{
	static const char msg[] = "The quick brown fox jumps over the lazy dog";
	uint8_t a[CRYPTO_HASH_MAX_LEN], b[CRYPTO_HASH_MAX_LEN];
	enum crypto_hash hs[] = { CRYPTO_HASH_SHA256, CRYPTO_HASH_SHA384,
		CRYPTO_HASH_SHA512 };

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		struct crypto_hash_ctx *c = NULL;

		assert_int_equal(crypto_hash(hs[i], msg, strlen(msg), a, NULL),
		    CORE_OK);
		assert_int_equal(crypto_hash_ctx_new(hs[i], &c, NULL), CORE_OK);
		for (size_t j = 0; j < strlen(msg); j += 7)
			assert_int_equal(crypto_hash_ctx_update(c, msg + j,
			    strlen(msg) - j < 7 ? strlen(msg) - j : 7, NULL),
			    CORE_OK);
		assert_int_equal(crypto_hash_ctx_final(c, b, NULL), CORE_OK);
		crypto_hash_ctx_free(c);
		assert_memory_equal(a, b, crypto_hash_len(hs[i]));
	}
}

static void
test_hash_parse(void **state)
{
	enum crypto_hash h;
	struct core_errbuf eb;

	(void)state;
	assert_int_equal(crypto_hash_parse("sha384", &h, NULL), CORE_OK);
	assert_int_equal(h, CRYPTO_HASH_SHA384);
	assert_string_equal(crypto_hash_name(h), "sha384");
	assert_int_equal(crypto_hash_len(h), 48);
	core_errbuf_clear(&eb);
	/* IANA spellings are rejected, as init-data requires. */
	assert_int_equal(crypto_hash_parse("sha-384", &h, &eb),
	    CORE_ERR_UNSUPPORTED);
	TH_ASSERT_ERR_CONTAINS(&eb, "sha-384");
	assert_int_equal(crypto_hash_parse("SHA256", &h, NULL),
	    CORE_ERR_UNSUPPORTED);
}

static void
test_hmac_rfc4231(void **state)
{
	uint8_t mac[32], mac2[32];
	uint8_t *key, *data;
	size_t klen, dlen;
	struct crypto_hmac_ctx *c = NULL;

	(void)state;
	/* RFC 4231 test case 2. */
	assert_int_equal(crypto_hmac_sha256("Jefe", 4,
	    "what do ya want for nothing?", 28, mac, NULL), CORE_OK);
	th_assert_hex(mac, 32, "5bdcc146bf60754e6a042426089575c7"
	    "5a003f089d2739839dec58b964ec3843");
	/* Test case 6: key longer than the block size (131 x 0xaa). */
	key = malloc(131);
	memset(key, 0xaa, 131);
	data = (uint8_t *)strdup("Test Using Larger Than Block-Size Key - "
	    "Hash Key First");
	dlen = strlen((char *)data);
	klen = 131;
	assert_int_equal(crypto_hmac_ctx_new(key, klen, &c, NULL), CORE_OK);
	assert_int_equal(crypto_hmac_ctx_update(c, data, 10, NULL), CORE_OK);
	assert_int_equal(crypto_hmac_ctx_update(c, data + 10, dlen - 10, NULL),
	    CORE_OK);
	assert_int_equal(crypto_hmac_ctx_final(c, mac2, NULL), CORE_OK);
	crypto_hmac_ctx_free(c);
	th_assert_hex(mac2, 32, "60e431591ee0b67f0d8a26aacbf5b77f"
	    "8e0bc6213728c5140546040f0ee37f54");
	free(key);
	free(data);
}

static void
test_concat_kdf_spec_v4(void **state)
{
	/* kbs-protocol.md §13 V4 (RFC 7518 App. C's Z). */
	uint8_t *z;
	size_t zlen;
	uint8_t kek[32];

	(void)state;
	z = th_hex("9e56d91d817135d372834283bf84269cfb316ea3da806a48f6daa779"
	    "8cfe90c4", &zlen);
	assert_int_equal(crypto_concat_kdf(z, zlen, "ECDH-ES+A256KW", NULL, 0,
	    NULL, 0, 256, kek, NULL), CORE_OK);
	th_assert_hex(kek, 32, "89ab838633757805bd678cb164f242777682"
	    "4e8f784152f23747096449921f46");
	free(z);
}

static void
test_concat_kdf_rfc7518_appc(void **state)
{
	uint8_t *z;
	size_t zlen;
	uint8_t key[16];
	char *b64;
	struct core_errbuf eb;

	(void)state;
	z = th_hex("9e56d91d817135d372834283bf84269cfb316ea3da806a48f6daa779"
	    "8cfe90c4", &zlen);
	assert_int_equal(crypto_concat_kdf(z, zlen, "A128GCM",
	    (const uint8_t *)"Alice", 5, (const uint8_t *)"Bob", 3, 128, key,
	    NULL), CORE_OK);
	b64 = core_b64url_encode(key, 16);
	assert_string_equal(b64, "VqqN6vgjbSBcIijNcacQGg");
	free(b64);
	/* Multi-round output (512 bits) is the concatenation of rounds. */
	{
		uint8_t big[64], small[32];

		assert_int_equal(crypto_concat_kdf(z, zlen, "X", NULL, 0, NULL,
		    0, 512, big, NULL), CORE_OK);
		assert_int_equal(crypto_concat_kdf(z, zlen, "X", NULL, 0, NULL,
		    0, 256, small, NULL), CORE_OK);
		/* keydatalen is hashed in, so the first round differs. */
		assert_memory_not_equal(big, small, 32);
	}
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_concat_kdf(z, zlen, "A128GCM", NULL, 0, NULL,
	    0, 100, key, &eb), CORE_ERR_INVALID);
	TH_ASSERT_ERR_CONTAINS(&eb, "100 bits");
	free(z);
}

/*
 * crypto_json_dumps writes simple documents itself and leaves the rest to
 * jansson: both must give jansson's bytes, whichever path is taken.
 */
static void
test_json_dumps_matches_jansson(void **state)
{
	static const char *const docs[] = {
		"{}", "[]", "\"x\"", "0", "-9223372036854775808", "true",
		"null", "{\"a\":[1,false,null,{\"b\":{}}],\"c\":\"~ !\"}",
		"{\"protected\":\"eyJh\",\"iv\":\"AA\",\"tag\":\"-_\"}",
		"{\"z\":1,\"a\":2,\"m\":{\"y\":\"1\",\"b\":\"2\"}}",
		"{\"s\":\"a\\\"b\"}", "{\"s\":\"a\\\\b\"}",
		"{\"s\":\"a/b\"}", "{\"s\":\"\\u00e9\"}",
		"{\"s\":\"\\u0001\"}", "{\"s\":\"\\u007f\"}",
"{\"s\":\"a\\u0000b\"}",
		"{\"r\":1.5}", "[1e300]", "{\"r\":[0.1,{\"x\":-0.0}]}",
		"[[[[[[[[[[[[1]]]]]]]]]]]]", "{\"\\\"\":1}",
	};

	(void)state;
	for (size_t i = 0; i < CORE_ARRAY_LEN(docs); i++) {
		json_t *v = json_loads(docs[i], JSON_DECODE_ANY |
		    JSON_ALLOW_NUL, NULL);
		char *a, *b;

		if (v == NULL)
			fail_msg("jansson cannot read %s", docs[i]);
		a = crypto_json_dumps(v);
		b = core_json_dumps(v);
		assert_non_null(a);
		assert_non_null(b);
		assert_string_equal(a, b);
		free(a);
		free(b);
		json_decref(v);
	}
	assert_null(crypto_json_dumps(NULL));
	/* A key with a NUL byte (only the API can make one). */
	{
		json_t *o = json_object();
		char *a, *b;

		assert_int_equal(json_object_setn_new(o, "k\0k", 3,
		    json_integer(1)), 0);
		a = crypto_json_dumps(o);
		b = core_json_dumps(o);
		assert_non_null(a);
		assert_non_null(b);
		assert_string_equal(a, b);
		free(a);
		free(b);
		json_decref(o);
	}
}

/* The simple parser agrees with jansson, or declines. */
static void
check_parse_simple(const char *doc, size_t n, bool want_simple)
{
	json_t *a = NULL, *b = NULL;
	bool simple = crypto_json_parse_simple(doc, n, &a);
	enum core_err err = core_json_parse_object(doc, n, n + 1, &b, NULL);

	if (simple != want_simple)
		fail_msg("simple parser %s %.*s", simple ? "took" : "declined",
		    (int)n, doc);
	if (simple) {
		char *da = core_json_dumps(a), *db;

		assert_int_equal(err, CORE_OK);
		db = core_json_dumps(b);
		assert_true(json_equal(a, b));
		assert_string_equal(da, db); /* member order too */
		free(da);
		free(db);
	} else {
		assert_null(a);
	}
	json_decref(a);
	json_decref(b);
}

static void
test_json_parse_simple_matches_jansson(void **state)
{
	static const struct {
		const char *doc;
		bool simple;
	} v[] = {
		{ "{}", true }, { " \r\n\t{ } \n", true },
		{ "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":\"A256GCM\",\"epk\":"
		  "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"gI0G\",\"y\":"
		  "\"SLW_\"}}", true },
		{ "{ \"z\" : \"1\" , \"a\":{ \"b\":{}},\"m\":\"~ /\"}", true },
		{ "{\"a\":\"1\",\"a\":\"2\"}", false },
		{ "{\"a\":{\"b\":\"1\",\"b\":\"1\"}}", false },
		{ "{\"a\":\"\\u0041\"}", false }, { "{\"a\":\"\\\"\"}", false },
		{ "{\"a\":\"\xc3\xa9\"}", false }, { "{\"a\":1}", false },
		{ "{\"a\":[]}", false }, { "{\"a\":null}", false },
		{ "{\"a\":\"1\",}", false }, { "{\"a\":\"1\"} x", false },
		{ "{\"a\":\"1\"}}", false }, { "{\"a\" \"1\"}", false },
		{ "{\"a\":\"1\"", false }, { "{\"a\":\"1", false },
		{ "{\"a\"", false }, { "{", false }, { "", false },
		{ "[]", false }, { "\"a\"", false }, { "{\"a\":\"\t\"}", false },
		{ "\f{}", false }, { "{}\f", false },
		{ "{\"1\":{\"2\":{\"3\":{\"4\":{\"5\":{\"6\":{\"7\":{\"8\":"
		  "{}}}}}}}}}", true },
		{ "{\"1\":{\"2\":{\"3\":{\"4\":{\"5\":{\"6\":{\"7\":{\"8\":"
		  "{\"9\":{}}}}}}}}}}", false },
	};

	(void)state;
	for (size_t i = 0; i < CORE_ARRAY_LEN(v); i++)
		check_parse_simple(v[i].doc, strlen(v[i].doc), v[i].simple);
	/* Every prefix of a header: only the whole one is taken. */
	{
		const char *h = v[2].doc;

		for (size_t n = 0; n < strlen(h); n++)
			check_parse_simple(h, n, false);
	}
	/* A NUL byte inside a string. */
	check_parse_simple("{\"a\":\"\0\"}", 8, false);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha2_abc),
		cmocka_unit_test(test_sha2_streaming_matches_oneshot),
		cmocka_unit_test(test_hash_parse),
		cmocka_unit_test(test_hmac_rfc4231),
		cmocka_unit_test(test_concat_kdf_spec_v4),
		cmocka_unit_test(test_concat_kdf_rfc7518_appc),
		cmocka_unit_test(test_json_dumps_matches_jansson),
		cmocka_unit_test(test_json_parse_simple_matches_jansson),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
