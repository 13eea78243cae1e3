/*
 * test_jose.c -- the KBS protocol vectors of spec §13 (V1-V7), the JWE
 * cross-check with libjose, and the protocol parsers and policy engine.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jose/jose.h>
#include <openssl/evp.h>

#include "kbs/kbs_int.h"

/* RFC 7518 Appendix C keys. */
#define BOB_X "weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ"
#define BOB_Y "e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck"
#define BOB_D "VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw"
#define ALICE_X "gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0"
#define ALICE_Y "SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps"
#define ALICE_D "0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo"

#define V6_JWE "{\"protected\":\"eyJhbGciOiJFQ0RILUVTK0EyNTZLVyIsImVuYyI6IkEy" \
	"NTZHQ00iLCJlcGsiOnsiY3J2IjoiUC0yNTYiLCJrdHkiOiJFQyIsIngiOiJnSTBHQUlM" \
	"QmR1N1Q1M2FrckZtTXlHY3NGM241ZE83TW13TkJIS1c1U1YwIiwieSI6IlNMV194U2Zm" \
	"emxQV3JIRVZJMzBESE1fNGVnVnd0M05RcWVVRDduTUZwcHMifX0\",\"encrypted_ke" \
	"y\":\"T0NVWKoWucQiDmmVc2dmvQ8xVyt-7o5H1C0MnaCf5KFFpsfACs-0RQ\",\"iv\"" \
	":\"AAECAwQFBgcICQoL\",\"ciphertext\":\"L2e6d6rFqXn-\",\"tag\":\"39gRW" \
	"1s8-q60aKDnG0_2Ew\"}"

static struct crypto_key *
ec_private(const char *x, const char *y, const char *d)
{
	json_t *jwk = json_pack("{s:s,s:s,s:s,s:s,s:s}", "kty", "EC", "crv",
	    "P-256", "x", x, "y", y, "d", d);
	struct crypto_key *k = NULL;

	assert_int_equal(crypto_key_from_jwk(jwk, &k, NULL), CORE_OK);
	json_decref(jwk);
	return k;
}

static char *
hex(const uint8_t *p, size_t n)
{
	return core_hex_encode(p, n);
}

static void
test_v1_jcs_sha384(void **state)
{
	json_t *j = json_loads("{\"b\":1,\"a\":\"test\",\"c\":{\"d\":\"e\"}}",
	    0, NULL);
	char *b = NULL;
	size_t bl = 0;
	uint8_t h[48];
	char *s;

	(void)state;
	assert_int_equal(crypto_jcs(j, &b, &bl, NULL), CORE_OK);
	assert_string_equal(b,
	    "{\"a\":\"test\",\"b\":1,\"c\":{\"d\":\"e\"}}");
	assert_int_equal(crypto_sha384(b, bl, h), CORE_OK);
	s = hex(h, 48);
	assert_string_equal(s, "e71ce8e70d814ba6639c3612ebee0ff1f76f650f8dbb5e4"
	    "7157e0f3f525cd22c4597480a186427c813ca941da78870c3");
	free(s);
	free(b);
	json_decref(j);
}

static void
test_jcs_escapes(void **state)
{
	json_t *j = json_pack("{s:s,s:[b,n]}", "k", "a\"/\\\n\x01", "a", 1);
	char *b = NULL;

	(void)state;
	assert_int_equal(crypto_jcs(j, &b, NULL, NULL), CORE_OK);
	assert_string_equal(b,
	    "{\"a\":[true,null],\"k\":\"a\\\"/\\\\\\n\\u0001\"}");
	free(b);
	json_decref(j);
	/* RFC 8785 numbers: reals in ECMAScript form. */
	j = json_pack("{s:f,s:I}", "r", 1.5, "i", (json_int_t)-7);
	assert_int_equal(crypto_jcs(j, &b, NULL, NULL), CORE_OK);
	assert_string_equal(b, "{\"i\":-7,\"r\":1.5}");
	free(b);
	json_decref(j);
}

static void
test_v2_protected_header(void **state)
{
	const char *h = "{\"alg\":\"fakealg\",\"enc\":\"fakeenc\"}";
	char *s = core_b64url_encode(h, strlen(h));

	(void)state;
	assert_string_equal(s, "eyJhbGciOiJmYWtlYWxnIiwiZW5jIjoiZmFrZWVuYyJ9");
	free(s);
}

static void
test_v3_runtime_digest(void **state)
{
	json_t *jwk = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "kty", "EC",
	    "crv", "P-256", "alg", "ECDH-ES+A256KW", "x", BOB_X, "y", BOB_Y,
	    "kid", "dropped");
	json_t *norm = NULL, *req, *claims = NULL;
	uint8_t d[48];
	char *s, *b64;
	const char *nonce = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
	struct core_errbuf eb;

	(void)state;
	core_errbuf_clear(&eb);
	/* The server hashes its own re-serialization: unknown members go. */
	assert_int_equal(kbs_jwk_normalize(jwk, &norm, NULL), CORE_OK);
	assert_null(json_object_get(norm, "kid"));
	assert_int_equal(kbs_runtime_digest(norm, nonce, "", d, NULL),
	    CORE_OK);
	s = hex(d, 48);
	assert_string_equal(s, "fd4e5e53f4fbd5c9395aefee50132a7028c082e967a4da8"
	    "45fd2cd5c242c8f983d7d4d2c16540d69c771ab9e46a28fdf");
	free(s);
	b64 = core_b64_encode(d, 48);
	assert_string_equal(b64, "/U5eU/T71ck5Wu/uUBMqcCjAgulnpNqEX9LNXCQsj5g9f"
	    "U0sFlQNacdxq55Goo/f");
	/* The sample verifier accepts exactly that evidence... */
	req = json_pack("{s:{s:s,s:O},s:{s:{s:s,s:s},s:s}}", "runtime-data",
	    "nonce", nonce, "tee-pubkey", jwk, "tee-evidence",
	    "primary_evidence", "svn", "1", "report_data", b64,
	    "additional_evidence", "");
	assert_int_equal(kbs_evidence_verify("sample", req, nonce, 1000, 300,
	    &claims, &eb), CORE_OK);
	assert_int_equal(json_integer_value(json_object_get(claims, "exp")),
	    1300);
	assert_non_null(kbs_token_tee_pubkey(claims));
	json_decref(claims);
	/* ... refuses another nonce (wrong binding)... */
	assert_int_equal(kbs_evidence_verify("sample", req,
	    "BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 1000, 300, &claims,
	    &eb), CORE_ERR_AUTH);
	/* ... and evidence for another tee. */
	core_errbuf_clear(&eb);
	assert_int_not_equal(kbs_evidence_verify("tdx", req, nonce, 1000, 300,
	    &claims, &eb), CORE_OK);
	assert_non_null(strstr(core_errbuf_msg(&eb), "tdx"));
	json_decref(req);
	free(b64);
	json_decref(norm);
	json_decref(jwk);
}

/* Real TDX evidence reaches the verifier module; its report_data binds
 * another digest, so the binding check refuses it. */
static void
test_hardware_evidence(void **state)
{
	const char *td = getenv("PROPELLER_TESTDATA");
	const char *nonce = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
	char path[512];
	uint8_t *q = NULL;
	size_t ql = 0;
	char *b64;
	json_t *req, *claims = NULL;
	struct core_errbuf eb;

	(void)state;
	if (td == NULL)
		skip();
	snprintf(path, sizeof(path), "%s/tee/tdx/tdx_prod_quote_SPR_E4.dat",
	    td);
	assert_int_equal(core_fs_read(path, 0, &q, &ql, NULL), CORE_OK);
	b64 = core_b64_encode(q, ql);
	req = json_pack("{s:{s:s,s:{s:s,s:s,s:s,s:s,s:s}},s:{s:{s:n,s:s},s:s}}",
	    "runtime-data", "nonce", nonce, "tee-pubkey", "kty", "EC", "crv",
	    "P-256", "alg", "ECDH-ES+A256KW", "x", BOB_X, "y", BOB_Y,
	    "tee-evidence", "primary_evidence", "cc_eventlog", "quote", b64,
	    "additional_evidence", "");
	core_errbuf_clear(&eb);
	assert_int_not_equal(kbs_evidence_verify("tdx", req, nonce, 1000, 300,
	    &claims, &eb), CORE_OK);
	assert_null(claims);
	assert_non_null(strstr(core_errbuf_msg(&eb), "report_data"));
	/* The same quote sent for an snp session is refused as well. */
	core_errbuf_clear(&eb);
	assert_int_not_equal(kbs_evidence_verify("snp", req, nonce, 1000, 300,
	    &claims, &eb), CORE_OK);
	assert_null(claims);
	json_decref(req);
	free(b64);
	free(q);
}

static void
test_init_data(void **state)
{
	const char *toml = "algorithm = \"sha256\"\nversion = \"0.1.0\"\n"
	    "[data]\nalgorithm = \"sha512\"\n";
	const char *nonce = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
	uint8_t d[64], rd[48], want[32];
	size_t n = 0;
	unsigned int wl = 0;
	json_t *jwk, *req, *claims = NULL;
	char *b64, *wb;
	struct core_errbuf eb;

	(void)state;
	assert_int_equal(kbs_init_data_digest(toml, d, &n, NULL), CORE_OK);
	assert_int_equal(n, 32);
	EVP_Digest(toml, strlen(toml), want, &wl, EVP_sha256(), NULL);
	assert_memory_equal(d, want, 32);
	core_errbuf_clear(&eb);
	assert_int_equal(kbs_init_data_digest("algorithm = \"sha-384\"\n", d,
	    &n, &eb), CORE_ERR_INVALID);
	assert_non_null(strstr(core_errbuf_msg(&eb), "sha-384"));
	assert_int_equal(kbs_init_data_digest("[x]\nalgorithm = \"sha384\"\n",
	    d, &n, NULL), CORE_ERR_INVALID);
	/* The sample verifier reports b64(hash) as init_data. */
	jwk = json_pack("{s:s,s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-256",
	    "alg", "ECDH-ES+A256KW", "x", BOB_X, "y", BOB_Y);
	assert_int_equal(kbs_runtime_digest(jwk, nonce, "", rd, NULL), CORE_OK);
	b64 = core_b64_encode(rd, 48);
	req = json_pack("{s:{s:s,s:s},s:{s:s,s:O},s:{s:{s:s,s:s},s:s}}",
	    "init-data", "format", "toml", "body", toml, "runtime-data",
	    "nonce", nonce, "tee-pubkey", jwk, "tee-evidence",
	    "primary_evidence", "svn", "1", "report_data", b64,
	    "additional_evidence", "");
	assert_int_equal(kbs_evidence_verify("sample", req, nonce, 1, 60,
	    &claims, NULL), CORE_OK);
	wb = core_b64_encode(want, 32);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_object_get(json_object_get(claims, "submods"), "cpu0"),
	    "ear.veraison.annotated-evidence"), "init_data")), wb);
	json_decref(claims);
	/* A bad algorithm refuses the attestation. */
	json_object_set_new(json_object_get(req, "init-data"), "body",
	    json_string("algorithm = \"md5\"\n"));
	assert_int_equal(kbs_evidence_verify("sample", req, nonce, 1, 60,
	    &claims, NULL), CORE_ERR_INVALID);
	free(wb);
	free(b64);
	json_decref(req);
	json_decref(jwk);
}

static void
test_v4_concat_kdf(void **state)
{
	uint8_t *z = NULL, kek[32];
	size_t zl = 0;
	char *s;

	(void)state;
	assert_int_equal(core_hex_decode("9e56d91d817135d372834283bf84269cfb316"
	    "ea3da806a48f6daa7798cfe90c4", 64, &z, &zl, NULL), CORE_OK);
	assert_int_equal(crypto_concat_kdf(z, zl, "ECDH-ES+A256KW", NULL, 0,
	    NULL, 0, 256, kek, NULL), CORE_OK);
	s = hex(kek, 32);
	assert_string_equal(s, "89ab838633757805bd678cb164f2427776824e8f784152f"
	    "23747096449921f46");
	free(s);
	free(z);
}

static void
test_v6_jwe_vector(void **state)
{
	json_t *bob = json_pack("{s:s,s:s,s:s,s:s,s:s}", "kty", "EC", "crv",
	    "P-256", "alg", "ECDH-ES+A256KW", "x", BOB_X, "y", BOB_Y);
	struct crypto_key *alice = ec_private(ALICE_X, ALICE_Y, ALICE_D);
	struct crypto_key *bobk = ec_private(BOB_X, BOB_Y, BOB_D);
	uint8_t cek[32], iv[12];
	struct secret *pt = NULL;
	char *out = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < 32; i++)
		cek[i] = (uint8_t)i;
	for (i = 0; i < 12; i++)
		iv[i] = (uint8_t)i;
	assert_int_equal(kbs_jwe_encrypt(bob, "hello kbs", 9, false, alice, cek,
	    iv, &out, NULL), CORE_OK);
	assert_string_equal(out, V6_JWE);
	assert_int_equal(kbs_jwe_decrypt(V6_JWE, strlen(V6_JWE), bobk, &pt,
	    NULL), CORE_OK);
	assert_int_equal(pt->len, 9);
	assert_memory_equal(pt->ptr, "hello kbs", 9);
	secret_free(pt);
	/* The wrong key fails cleanly with a "bad JWE" error. */
	{
		struct core_errbuf eb;

		core_errbuf_clear(&eb);
		assert_int_equal(kbs_jwe_decrypt(V6_JWE, strlen(V6_JWE), alice,
		    &pt, &eb), CORE_ERR_CRYPTO);
		assert_non_null(strstr(core_errbuf_msg(&eb), "bad JWE"));
		assert_int_equal(kbs_jwe_decrypt("{\"protected\":1}", 15, bobk,
		    &pt, &eb), CORE_ERR_CRYPTO);
	}
	free(out);
	crypto_key_free(alice);
	crypto_key_free(bobk);
	json_decref(bob);
}

/*
 * A KBS JWE is flattened JSON with exactly protected, encrypted_key (ek_len
 * bytes), iv, ciphertext and tag, in that order, and the given protected
 * header text.
 */
static void
check_flattened(const char *jwe, const char *want_hdr, size_t ek_len)
{
	static const char *const order[] = { "protected", "encrypted_key",
		"iv", "ciphertext", "tag" };
	json_t *j = json_loads(jwe, 0, NULL);
	const char *k, *p = jwe;
	json_t *v;
	uint8_t *h = NULL;
	size_t hl = 0, i = 0;

	assert_non_null(j);
	json_object_foreach(j, k, v) {
		assert_true(i < 5);
		assert_string_equal(k, order[i]);
		/* Member order on the wire, not only in the parsed object. */
		p = strstr(p, k);
		assert_non_null(p);
		i++;
	}
	assert_int_equal(i, 5);
	k = json_string_value(json_object_get(j, "protected"));
	assert_int_equal(core_b64url_decode(k, strlen(k), &h, &hl, NULL),
	    CORE_OK);
	assert_int_equal(hl, strlen(want_hdr));
	assert_memory_equal(h, want_hdr, hl);
	free(h);
	k = json_string_value(json_object_get(j, "encrypted_key"));
	assert_int_equal(core_b64url_decode(k, strlen(k), &h, &hl, NULL),
	    CORE_OK);
	assert_int_equal(hl, ek_len);
	free(h);
	json_decref(j);
}

/* Our server's answers decrypt with libjose as well. */
static void
test_jwe_libjose(void **state)
{
	json_t *bob = json_pack("{s:s,s:s,s:s,s:s,s:s}", "kty", "EC", "crv",
	    "P-256", "alg", "ECDH-ES+A256KW", "x", BOB_X, "y", BOB_Y);
	json_t *bobpriv = json_pack("{s:s,s:s,s:s,s:s,s:s}", "kty", "EC", "crv",
	    "P-256", "x", BOB_X, "y", BOB_Y, "d", BOB_D);
	json_t *jwe;
	char *out = NULL;
	void *pt;
	size_t ptl = 0;
	struct crypto_key *rsa = NULL;
	json_t *rjwk = NULL;
	struct core_errbuf eb;

	(void)state;
	assert_int_equal(crypto_key_generate(CRYPTO_KEY_RSA, 2048, &rsa, NULL),
	    CORE_OK);
	assert_int_equal(kbs_jwe_encrypt(bob, "libjose agrees", 14, false, NULL,
	    NULL, NULL, &out, NULL), CORE_OK);
	jwe = json_loads(out, 0, NULL);
	pt = jose_jwe_dec(NULL, jwe, NULL, bobpriv, &ptl);
	assert_non_null(pt);
	assert_int_equal(ptl, 14);
	assert_memory_equal(pt, "libjose agrees", 14);
	free(pt);
	json_decref(jwe);
	free(out);
	/* RSA-OAEP-256 round trip; RSA1_5 only when enabled. */
	assert_int_equal(kbs_pub_jwk(rsa, "RSA-OAEP-256", &rjwk, NULL),
	    CORE_OK);
	assert_int_equal(kbs_jwe_encrypt(rjwk, "rsa", 3, false, NULL, NULL,
	    NULL, &out, NULL), CORE_OK);
	check_flattened(out, "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256GCM\"}",
	    256);
	{
		struct secret *s = NULL;

		assert_int_equal(kbs_jwe_decrypt(out, strlen(out), rsa, &s,
		    NULL), CORE_OK);
		assert_memory_equal(s->ptr, "rsa", 3);
		secret_free(s);
	}
	free(out);
	out = NULL;
	json_object_set_new(rjwk, "alg", json_string("RSA1_5"));
	core_errbuf_clear(&eb);
	assert_int_equal(kbs_jwe_encrypt(rjwk, "rsa", 3, false, NULL, NULL,
	    NULL, &out, &eb), CORE_ERR_UNSUPPORTED);
	assert_non_null(strstr(core_errbuf_msg(&eb), "RSA1_5"));
	assert_int_equal(kbs_jwe_encrypt(rjwk, "rsa", 3, true, NULL, NULL,
	    NULL, &out, NULL), CORE_OK);
	check_flattened(out, "{\"alg\":\"RSA1_5\",\"enc\":\"A256GCM\"}", 256);
	{
		/* The RSA1_5 adapter's output decrypts with the crypto module. */
		const struct crypto_key *keys[] = { rsa };
		const char *const algs[] = { "RSA1_5", NULL };
		struct crypto_jwe_dec_opts dopt = { keys, 1, NULL, algs, true,
			0 };
		struct secret *s = NULL;

		assert_int_equal(crypto_jwe_decrypt(out, strlen(out), &dopt, &s,
		    NULL, NULL), CORE_OK);
		assert_int_equal(s->len, 3);
		assert_memory_equal(s->ptr, "rsa", 3);
		secret_free(s);
		/* The KBS client itself never accepts RSA1_5. */
		assert_int_equal(kbs_jwe_decrypt(out, strlen(out), rsa, &s,
		    NULL), CORE_ERR_CRYPTO);
	}
	free(out);
	json_object_set_new(rjwk, "alg", json_string("RSA-OAEP"));
	assert_int_equal(kbs_jwe_encrypt(rjwk, "rsa", 3, true, NULL, NULL,
	    NULL, &out, NULL), CORE_ERR_UNSUPPORTED);
	json_decref(rjwk);
	crypto_key_free(rsa);
	/* P-521 TEE keys: the epk is on P-521 and a 40-byte wrapped CEK. */
	{
		struct crypto_key *p521 = NULL;
		struct secret *s = NULL;
		json_t *ejwk = NULL;

		assert_int_equal(crypto_key_generate(CRYPTO_KEY_EC_P521, 0,
		    &p521, NULL), CORE_OK);
		assert_int_equal(kbs_pub_jwk(p521, "ECDH-ES+A256KW", &ejwk,
		    NULL), CORE_OK);
		assert_string_equal(json_string_value(json_object_get(ejwk,
		    "crv")), "P-521");
		assert_int_equal(kbs_jwe_encrypt(ejwk, "p521", 4, false, NULL,
		    NULL, NULL, &out, NULL), CORE_OK);
		assert_non_null(strstr(out, "\"encrypted_key\""));
		assert_int_equal(kbs_jwe_decrypt(out, strlen(out), p521, &s,
		    NULL), CORE_OK);
		assert_memory_equal(s->ptr, "p521", 4);
		secret_free(s);
		free(out);
		json_decref(ejwk);
		crypto_key_free(p521);
	}
	json_decref(bob);
	json_decref(bobpriv);
}

/* V7: the kbs-client v0.18-v0.20 admin token verifies, then is expired. */
static void
test_v7_admin_jwt(void **state)
{
	const char *tok = "eyJ0eXAiOiJKV1QiLCJhbGciOiJFZERTQSJ9.eyJleHAiOjE3MDA"
	    "wMDcyMDAsImlhdCI6MTcwMDAwMDAwMH0.qvE-qp2DhZPDsGleLYUpJhSLpZ28i-tzN"
	    "EvUENz2UWU77Z758J-3E_rrURvMSNYrzxmGhMw3Y3t3I-ewez69Bw";
	char dir[] = "/tmp/kbs-v7-XXXXXX", path[64], authz[512];
	struct kbs_config c;
	struct kbs_admin *a = NULL;
	struct core_errbuf eb;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/pub.pem", dir);
	f = fopen(path, "w");
	fputs("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHO"
	    "g7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n", f);
	fclose(f);
	kbs_config_init(&c);
	c.admin_public_key = strdup(path);
	assert_int_equal(kbs_admin_new(&c, &a, NULL), CORE_OK);
	snprintf(authz, sizeof(authz), "Bearer %s", tok);
	assert_int_equal(kbs_admin_check(a, authz, "/kbs/v0/resource/a/b/c",
	    1700000100, NULL), CORE_OK);
	core_errbuf_clear(&eb);
	assert_int_equal(kbs_admin_check(a, authz, "/kbs/v0/resource/a/b/c",
	    1800000000, &eb), CORE_ERR_AUTH);
	assert_non_null(strstr(core_errbuf_msg(&eb), "expired"));
	/* One flipped signature character fails. */
	authz[strlen(authz) - 5] ^= 1;
	assert_int_equal(kbs_admin_check(a, authz, "/kbs/v0/resource/a/b/c",
	    1700000100, NULL), CORE_ERR_AUTH);
	assert_int_equal(kbs_admin_check(a, NULL, "/kbs/v0/resource/a/b/c",
	    1700000100, NULL), CORE_ERR_AUTH);
	kbs_admin_free(a);
	kbs_config_cleanup(&c);
	unlink(path);
	rmdir(dir);
}

static void
test_paths(void **state)
{
	char r[KBS_SEGMENT_MAX + 1], t[KBS_SEGMENT_MAX + 1],
	    g[KBS_SEGMENT_MAX + 1];
	static const char *const bad[] = { "a/b", "a/b/c/d", "../b/c",
		"a/../c", "a/b/..", "a//c", "a/b/c d", "a/b/c$", ".a/b/c",
		"a/b/", "/a/b/c", "a/b/c\n", "", NULL };
	size_t i;

	(void)state;
	assert_int_equal(kbs_path_parse("default/key/propeller-addition", r,
	    t, g, NULL), CORE_OK);
	assert_string_equal(g, "propeller-addition");
	assert_int_equal(kbs_path_parse("a_1/b-2/c.3.d", r, t, g, NULL),
	    CORE_OK);
	for (i = 0; bad[i] != NULL; i++)
		assert_int_equal(kbs_path_parse(bad[i], r, t, g, NULL),
		    CORE_ERR_INVALID);
	assert_true(kbs_tee_valid("az-snp-vtpm"));
	assert_false(kbs_tee_valid("azsnpvtpm"));
	assert_false(kbs_tee_valid("sample_device"));
}

static void
test_auth_parser(void **state)
{
	char tee[32];
	struct core_errbuf eb;
	const char *ok = "{\"version\":\"0.4.0\",\"tee\":\"snp\","
	    "\"extra-params\":{}}";
	const char *bad;

	(void)state;
	assert_int_equal(kbs_parse_auth_request(ok, strlen(ok), tee, NULL),
	    CORE_OK);
	assert_string_equal(tee, "snp");
	core_errbuf_clear(&eb);
	bad = "{\"version\":\"0.2.0\",\"tee\":\"snp\",\"extra-params\":{}}";
	assert_int_equal(kbs_parse_auth_request(bad, strlen(bad), tee, &eb),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(core_errbuf_msg(&eb), "Version Mismatch"));
	assert_int_equal(kbs_parse_auth_request("{\"version\":\"0.4.0\","
	    "\"tee\":\"snp\"}", 31, tee, NULL), CORE_ERR_INVALID);
	bad = "{\"version\":\"0.4.0\",\"tee\":\"nope\",\"extra-params\":{}}";
	assert_int_equal(kbs_parse_auth_request(bad, strlen(bad), tee, NULL),
	    CORE_ERR_INVALID);
	assert_int_equal(kbs_parse_auth_request("{bad", 4, tee, NULL),
	    CORE_ERR_INVALID);
}

static void
test_policy_request_parser(void **state)
{
	uint8_t *p = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(kbs_parse_policy_request("{\"policy\":\"YWJj\"}", 17,
	    &p, &n, NULL), CORE_OK);
	assert_int_equal(n, 3);
	free(p);
	assert_int_equal(kbs_parse_policy_request("{\"policy\":\"YQ==\"}", 17,
	    &p, &n, NULL), CORE_ERR_INVALID);
	assert_int_equal(kbs_parse_policy_request("{\"policy\":\"a+b/\"}", 17,
	    &p, &n, NULL), CORE_ERR_INVALID);
	assert_int_equal(kbs_parse_policy_request("[]", 2, &p, &n, NULL),
	    CORE_ERR_INVALID);
}

static json_t *
claims_for(const char *tee, const char *status, bool debug)
{
	return json_pack("{s:{s:{s:s,s:{s:{s:b,s:s},s:s}}}}", "submods", "cpu0",
	    "ear.status", status, "ear.veraison.annotated-evidence", tee,
	    "debug", debug, "launch_digest", "abc", "report_data", "x");
}

static bool
decide(const char *policy, const json_t *claims, const char *path)
{
	struct kbs_policy *p = NULL;
	const char *why;
	bool allow = false;

	assert_int_equal(kbs_policy_parse(policy, strlen(policy), &p, NULL),
	    CORE_OK);
	kbs_policy_eval(p, claims, path, &allow, &why);
	kbs_policy_free(p);
	return allow;
}

static void
test_policy(void **state)
{
	json_t *sample = claims_for("sample", "warning", false);
	json_t *tdx = claims_for("tdx", "affirming", false);
	json_t *snp_dbg = claims_for("snp", "contraindicated", true);
	const char *custom = "{\"version\":1,\"default\":\"deny\",\"rules\":["
	    "{\"effect\":\"deny\",\"claims\":{\"debug\":true}},"
	    "{\"effect\":\"allow\",\"resources\":[\"default/key/*\"],"
	    "\"tee\":[\"tdx\",\"snp\"],\"claims\":{\"launch_digest\":"
	    "{\"one_of\":[\"abc\",\"def\"]}}}]}";
	struct kbs_policy *p = NULL;
	struct core_errbuf eb;
	const char *bad;

	(void)state;
	assert_false(decide(kbs_policy_preset_text(KBS_POLICY_DEFAULT), sample,
	    "a/b/c"));
	assert_true(decide(kbs_policy_preset_text(KBS_POLICY_DEFAULT), tdx,
	    "a/b/c"));
	assert_true(decide(kbs_policy_preset_text(KBS_POLICY_DEFAULT), snp_dbg,
	    "a/b/c"));
	assert_true(decide(kbs_policy_preset_text(KBS_POLICY_ALLOW_ALL), sample,
	    "a/b/c"));
	assert_false(decide(kbs_policy_preset_text(KBS_POLICY_DENY_ALL), tdx,
	    "a/b/c"));
	assert_true(decide(kbs_policy_preset_text(KBS_POLICY_AFFIRMING), tdx,
	    "a/b/c"));
	assert_false(decide(kbs_policy_preset_text(KBS_POLICY_AFFIRMING),
	    sample, "a/b/c"));
	assert_true(decide(custom, tdx, "default/key/k1"));
	assert_false(decide(custom, tdx, "other/key/k1"));
	assert_false(decide(custom, snp_dbg, "default/key/k1"));
	assert_false(decide(custom, sample, "default/key/k1"));
	/* Bad policies name what is wrong. */
	core_errbuf_clear(&eb);
	bad = "{\"version\":1,\"default\":\"maybe\"}";
	assert_int_equal(kbs_policy_parse(bad, strlen(bad), &p, &eb),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(core_errbuf_msg(&eb), "default"));
	core_errbuf_clear(&eb);
	bad = "{\"version\":1,\"default\":\"deny\",\"rules\":[{\"effect\":"
	    "\"allow\",\"tea\":[\"x\"]}]}";
	assert_int_equal(kbs_policy_parse(bad, strlen(bad), &p, &eb),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(core_errbuf_msg(&eb), "tea"));
	bad = "package policy\ndefault allow = true";
	assert_int_equal(kbs_policy_parse(bad, strlen(bad), &p, NULL),
	    CORE_ERR_INVALID);
	json_decref(sample);
	json_decref(tdx);
	json_decref(snp_dbg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_jcs_sha384),
		cmocka_unit_test(test_jcs_escapes),
		cmocka_unit_test(test_v2_protected_header),
		cmocka_unit_test(test_v3_runtime_digest),
		cmocka_unit_test(test_hardware_evidence),
		cmocka_unit_test(test_init_data),
		cmocka_unit_test(test_v4_concat_kdf),
		cmocka_unit_test(test_v6_jwe_vector),
		cmocka_unit_test(test_jwe_libjose),
		cmocka_unit_test(test_v7_admin_jwt),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_auth_parser),
		cmocka_unit_test(test_policy_request_parser),
		cmocka_unit_test(test_policy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
