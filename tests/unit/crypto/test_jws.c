/* test_jws.c -- JOSE signatures, compact JWS and JWT: RFC 8037 and RFC 7520
 * vectors, the KBS admin-token vector V7, round trips for every algorithm,
 * tampering, wrong keys, alg allow-lists and claim checks. */
#include "helpers.h"

#define ED_JWK "{\"kty\":\"OKP\",\"crv\":\"Ed25519\"," \
	"\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\"," \
	"\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}"

static const char *const all_algs[] = { "ES256", "ES384", "ES512", "EdDSA",
	"RS256", "PS256", NULL };

static struct crypto_key *
ed_key(void)
{
	struct crypto_key *k = NULL;

	assert_int_equal(crypto_key_from_jwk_str(ED_JWK, strlen(ED_JWK), &k,
	    NULL), CORE_OK);
	return k;
}

static void
test_rfc8037_ed25519(void **state)
{
	static const char want[] = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1"
	    "NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijc"
	    "NR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
	static const char *const eddsa[] = { "EdDSA", NULL };
	struct crypto_key *k = ed_key();
	struct crypto_jws *j = NULL;
	char *tok = NULL;

	(void)state;
	assert_int_equal(crypto_jws_sign(k, "EdDSA", NULL,
	    "Example of Ed25519 signing", 26, &tok, NULL), CORE_OK);
	assert_string_equal(tok, want);
	assert_int_equal(crypto_jws_parse(tok, strlen(tok), 0, &j, NULL),
	    CORE_OK);
	assert_string_equal(j->alg, "EdDSA");
	assert_int_equal(j->payload_len, 26);
	assert_int_equal(crypto_jws_verify(j, k, eddsa, NULL), CORE_OK);
	crypto_jws_free(j);
	free(tok);
	crypto_key_free(k);
}

static void
test_kbs_v7_admin_token(void **state)
{
	static const char want[] = "eyJ0eXAiOiJKV1QiLCJhbGciOiJFZERTQSJ9.eyJleH"
	    "AiOjE3MDAwMDcyMDAsImlhdCI6MTcwMDAwMDAwMH0.qvE-qp2DhZPDsGleLYUpJhSL"
	    "pZ28i-tzNEvUENz2UWU77Z758J-3E_rrURvMSNYrzxmGhMw3Y3t3I-ewez69Bw";
	static const char spki[] = "-----BEGIN PUBLIC KEY-----\n"
	    "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
	    "-----END PUBLIC KEY-----\n";
	static const char *const eddsa[] = { "EdDSA", NULL };
	struct crypto_key *k = ed_key(), *pub = NULL;
	struct crypto_jwt_opts o;
	json_t *claims, *got = NULL, *hdr = NULL;
	struct core_errbuf eb;
	char *tok = NULL;

	(void)state;
	claims = json_pack("{s:I, s:I}", "exp", (json_int_t)1700007200,
	    "iat", (json_int_t)1700000000);
	assert_int_equal(crypto_jwt_sign(k, "EdDSA", NULL, claims, &tok, NULL),
	    CORE_OK);
	assert_string_equal(tok, want);
	assert_int_equal(crypto_key_from_pem(spki, strlen(spki), &pub, NULL),
	    CORE_OK);
	memset(&o, 0, sizeof(o));
	o.allowed_algs = eddsa;
	o.require_exp = true;
	o.leeway_s = 60;
	o.now_s = 1700000100;
	assert_int_equal(crypto_jwt_verify(want, strlen(want), pub, &o, &got,
	    &hdr, NULL), CORE_OK);
	assert_int_equal(json_integer_value(json_object_get(got, "exp")),
	    1700007200);
	assert_string_equal(json_string_value(json_object_get(hdr, "typ")),
	    "JWT");
	json_decref(got);
	json_decref(hdr);
	/* Expired with today's clock. */
	o.now_s = 0;
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_jwt_verify(want, strlen(want), pub, &o, &got,
	    NULL, &eb), CORE_ERR_AUTH);
	TH_ASSERT_ERR_CONTAINS(&eb, "expired");
	assert_null(got);
	/* Within the leeway after exp it still passes; beyond it fails. */
	o.now_s = 1700007200 + 59;
	assert_int_equal(crypto_jwt_verify(want, strlen(want), pub, &o, &got,
	    NULL, NULL), CORE_OK);
	json_decref(got);
	o.now_s = 1700007200 + 60;
	assert_int_equal(crypto_jwt_verify(want, strlen(want), pub, &o, &got,
	    NULL, NULL), CORE_ERR_AUTH);
	json_decref(claims);
	free(tok);
	crypto_key_free(k);
	crypto_key_free(pub);
}

static void
test_rfc7520_es512_verify(void **state)
{
	static const char *const es512[] = { "ES512", NULL };
	struct crypto_key *k = th_vec_key("rfc7520_3.2.jwk"), *pub = NULL;
	struct crypto_jws *j = NULL;
	size_t n;
	char *tok = th_vec("rfc7520_4.3.jws", &n);

	(void)state;
	assert_int_equal(crypto_key_public(k, &pub, NULL), CORE_OK);
	assert_int_equal(crypto_jws_parse(tok, n, 0, &j, NULL), CORE_OK);
	assert_int_equal(j->sig_len, 132);
	assert_int_equal(crypto_jws_verify(j, pub, es512, NULL), CORE_OK);
	j->sig[100] ^= 1;
	assert_int_equal(crypto_jws_verify(j, pub, es512, NULL), CORE_ERR_AUTH);
	crypto_jws_free(j);
	free(tok);
	crypto_key_free(k);
	crypto_key_free(pub);
}

static struct crypto_key *
key_for_alg(const char *alg)
{
	enum crypto_key_type t = strcmp(alg, "ES256") == 0 ? CRYPTO_KEY_EC_P256 :
	    strcmp(alg, "ES384") == 0 ? CRYPTO_KEY_EC_P384 :
	    strcmp(alg, "ES512") == 0 ? CRYPTO_KEY_EC_P521 :
	    strcmp(alg, "EdDSA") == 0 ? CRYPTO_KEY_ED25519 : CRYPTO_KEY_RSA;
	struct crypto_key *k = NULL;

	assert_int_equal(crypto_key_generate(t, 2048, &k, NULL), CORE_OK);
	return k;
}

static void
test_roundtrip_tamper_wrong_key(void **state)
{
	(void)state;
	for (size_t i = 0; all_algs[i] != NULL; i++) {
		const char *alg = all_algs[i];
		const char *only[] = { alg, NULL };
		struct crypto_key *k = key_for_alg(alg), *other = key_for_alg(alg);
		struct crypto_key *pub = NULL;
		json_t *hdr = json_pack("{s:s}", "kid", "k1");
		struct crypto_jws *j = NULL;
		struct core_errbuf eb;
		char *tok = NULL;
		size_t n;

		assert_int_equal(crypto_key_public(k, &pub, NULL), CORE_OK);
		assert_int_equal(crypto_jws_sign(k, alg, hdr, "payload", 7,
		    &tok, NULL), CORE_OK);
		n = strlen(tok);
		assert_int_equal(crypto_jws_parse(tok, n, 0, &j, NULL),
		    CORE_OK);
		assert_string_equal(json_string_value(json_object_get(
		    j->header, "kid")), "k1");
		assert_int_equal(crypto_jws_verify(j, pub, only, NULL),
		    CORE_OK);
		/* Wrong key. */
		core_errbuf_clear(&eb);
		assert_int_equal(crypto_jws_verify(j, other, only, &eb),
		    CORE_ERR_AUTH);
		TH_ASSERT_ERR_CONTAINS(&eb, "does not verify");
		/* Not on the allow-list; NULL list refuses all. */
		core_errbuf_clear(&eb);
		{
			const char *others[8];
			size_t no = 0;

			for (size_t a = 0; all_algs[a] != NULL; a++)
				if (a != i)
					others[no++] = all_algs[a];
			others[no] = NULL;
			assert_int_equal(crypto_jws_verify(j, pub, others,
			    &eb), CORE_ERR_AUTH);
		}
		TH_ASSERT_ERR_CONTAINS(&eb, "not allowed");
		assert_int_equal(crypto_jws_verify(j, pub, NULL, NULL),
		    CORE_ERR_AUTH);
		crypto_jws_free(j);
		/* Flip a character in every position: never verifies. */
		for (size_t pos = 0; pos < n; pos += (n / 40) + 1) {
			char saved = tok[pos];
			enum core_err err;

			if (saved == '.')
				continue;
			tok[pos] = saved == 'A' ? 'B' : 'A';
			j = NULL;
			err = crypto_jws_parse(tok, n, 0, &j, NULL);
			if (err == CORE_OK)
				err = crypto_jws_verify(j, pub, only, NULL);
			assert_int_not_equal(err, CORE_OK);
			crypto_jws_free(j);
			tok[pos] = saved;
		}
		free(tok);
		json_decref(hdr);
		crypto_key_free(k);
		crypto_key_free(other);
		crypto_key_free(pub);
	}
}

static void
test_alg_key_mismatch_and_none(void **state)
{
	static const char none_tok[] = "eyJhbGciOiJub25lIn0.eyJhIjoxfQ.";
	static const char *const lst[] = { "none", "ES256", NULL };
	struct crypto_key *ec = key_for_alg("ES256"), *ed = key_for_alg("EdDSA");
	struct crypto_jws *j = NULL;
	struct core_errbuf eb;
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	char *tok = NULL;
	json_t *hdr;

	(void)state;
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_sign(ec, "EdDSA", "x", 1, &sig, &sig_len, &eb),
	    CORE_ERR_INVALID);
	TH_ASSERT_ERR_CONTAINS(&eb, "does not fit a EC P-256 key");
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_sign(ec, "HS256", "x", 1, &sig, &sig_len, &eb),
	    CORE_ERR_UNSUPPORTED);
	TH_ASSERT_ERR_CONTAINS(&eb, "HS256");
	assert_int_equal(crypto_jws_sign(ec, "none", NULL, "x", 1, &tok, NULL),
	    CORE_ERR_INVALID);
	hdr = json_pack("{s:s}", "alg", "ES384");
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_jws_sign(ec, "ES256", hdr, "x", 1, &tok, &eb),
	    CORE_ERR_INVALID);
	TH_ASSERT_ERR_CONTAINS(&eb, "differs");
	json_decref(hdr);
	/* "none" is refused even when listed. */
	assert_int_equal(crypto_jws_parse(none_tok, strlen(none_tok), 0, &j,
	    NULL), CORE_OK);
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_jws_verify(j, ec, lst, &eb), CORE_ERR_AUTH);
	TH_ASSERT_ERR_CONTAINS(&eb, "none");
	crypto_jws_free(j);
	/* An ES256 header verified with an Ed25519 key. */
	assert_int_equal(crypto_jws_sign(ec, "ES256", NULL, "x", 1, &tok,
	    NULL), CORE_OK);
	assert_int_equal(crypto_jws_parse(tok, strlen(tok), 0, &j, NULL),
	    CORE_OK);
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_jws_verify(j, ed, lst, &eb), CORE_ERR_INVALID);
	TH_ASSERT_ERR_CONTAINS(&eb, "Ed25519");
	/* ECDSA signature of the wrong length. */
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_verify(ec, "ES256", "x", 1, j->sig, 63, &eb),
	    CORE_ERR_AUTH);
	TH_ASSERT_ERR_CONTAINS(&eb, "64 bytes");
	crypto_jws_free(j);
	free(tok);
	crypto_key_free(ec);
	crypto_key_free(ed);
}

static void
test_parse_errors(void **state)
{
	static const struct {
		const char *tok;
		const char *msg;
	} v[] = {
		{ "abc", "three parts" },
		{ "a.b.c.d", "three parts" },
		{ "e30.e30.", "alg" },
		{ "eyJhbGciOiJFUzI1NiJ9.e30.!!", "signature is not valid" },
		{ "eyJhbGciOiJFUzI1NiJ9.e3*.AA", "payload is not valid" },
		{ "W10.e30.AA", "object" },
		{ "eyJhbGciOiJFUzI1NiIsImNyaXQiOlsiYiJdfQ.e30.AA", "crit" },
	};
	struct crypto_jws *j = NULL;
	struct core_errbuf eb;

	(void)state;
	for (size_t i = 0; i < CORE_ARRAY_LEN(v); i++) {
		core_errbuf_clear(&eb);
		assert_int_not_equal(crypto_jws_parse(v[i].tok,
		    strlen(v[i].tok), 0, &j, &eb), CORE_OK);
		assert_null(j);
		TH_ASSERT_ERR_CONTAINS(&eb, v[i].msg);
	}
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_jws_parse("a.b.c", 5, 4, &j, &eb),
	    CORE_ERR_TOO_BIG);
}

static void
test_jwt_claims(void **state)
{
	struct crypto_jwt_opts o;
	struct core_errbuf eb;
	json_t *c;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.now_s = 1000;
	o.leeway_s = 10;
	c = json_pack("{s:i, s:i, s:i, s:s, s:[s,s]}", "exp", 2000, "nbf",
	    1005, "iat", 1005, "iss", "issuer", "aud", "x", "kbs");
	o.iss = "issuer";
	o.aud = "kbs";
	assert_int_equal(crypto_jwt_check_claims(c, &o, NULL), CORE_OK);
	o.aud = "other";
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_jwt_check_claims(c, &o, &eb), CORE_ERR_AUTH);
	TH_ASSERT_ERR_CONTAINS(&eb, "audience");
	o.aud = NULL;
	o.iss = "mallory";
	assert_int_equal(crypto_jwt_check_claims(c, &o, NULL), CORE_ERR_AUTH);
	o.iss = NULL;
	/* nbf beyond the leeway. */
	json_object_set_new(c, "nbf", json_integer(1011));
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_jwt_check_claims(c, &o, &eb), CORE_ERR_AUTH);
	TH_ASSERT_ERR_CONTAINS(&eb, "not valid before");
	json_object_del(c, "nbf");
	json_object_set_new(c, "iat", json_integer(1100));
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_jwt_check_claims(c, &o, &eb), CORE_ERR_AUTH);
	TH_ASSERT_ERR_CONTAINS(&eb, "future");
	json_object_set_new(c, "iat", json_string("yesterday"));
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_jwt_check_claims(c, &o, &eb), CORE_ERR_INVALID);
	TH_ASSERT_ERR_CONTAINS(&eb, "\"iat\" is not a number");
	json_object_del(c, "iat");
	/* Extreme values compare without overflow. */
	json_object_set_new(c, "exp", json_integer(INT64_MIN));
	assert_int_equal(crypto_jwt_check_claims(c, &o, NULL), CORE_ERR_AUTH);
	json_object_set_new(c, "exp", json_integer(INT64_MAX));
	json_object_set_new(c, "nbf", json_integer(INT64_MAX));
	assert_int_equal(crypto_jwt_check_claims(c, &o, NULL), CORE_ERR_AUTH);
	json_object_set_new(c, "nbf", json_integer(INT64_MIN));
	o.leeway_s = INT64_MAX;
	assert_int_equal(crypto_jwt_check_claims(c, &o, NULL), CORE_OK);
	o.leeway_s = 10;
	json_object_del(c, "nbf");
	json_object_set_new(c, "exp", json_real(1500.5));
	assert_int_equal(crypto_jwt_check_claims(c, &o, NULL),
	    CORE_ERR_INVALID);
	json_object_set_new(c, "exp", json_real(1500.0));
	assert_int_equal(crypto_jwt_check_claims(c, &o, NULL), CORE_OK);
	json_object_del(c, "exp");
	assert_int_equal(crypto_jwt_check_claims(c, &o, NULL), CORE_OK);
	o.require_exp = true;
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_jwt_check_claims(c, &o, &eb), CORE_ERR_AUTH);
	TH_ASSERT_ERR_CONTAINS(&eb, "\"exp\" missing");
	json_decref(c);
}

static void
test_jwt_es256_roundtrip(void **state)
{
	static const char *const es256[] = { "ES256", NULL };
	struct crypto_key *k = key_for_alg("ES256");
	struct crypto_jwt_opts o;
	json_t *claims, *got = NULL, *hdr;
	struct core_errbuf eb;
	char *tok = NULL;

	(void)state;
	claims = json_pack("{s:s, s:I, s:I}", "iss", "CoCo-Attestation-Service",
	    "iat", (json_int_t)1760426134, "exp", (json_int_t)1760426434);
	hdr = json_pack("{s:s, s:s}", "typ", "JWT", "alg", "ES256");
	assert_int_equal(crypto_jwt_sign(k, "ES256", hdr, claims, &tok, NULL),
	    CORE_OK);
	memset(&o, 0, sizeof(o));
	o.allowed_algs = es256;
	o.now_s = 1760426200;
	o.require_exp = true;
	assert_int_equal(crypto_jwt_verify(tok, strlen(tok), k, &o, &got, NULL,
	    NULL), CORE_OK);
	assert_true(json_equal(got, claims));
	json_decref(got);
	json_decref(claims);
	json_decref(hdr);
	free(tok);
	/* Options are required. */
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_jwt_verify("a.b.c", 5, k, NULL, &got, NULL,
	    &eb), CORE_ERR_INVALID);
	TH_ASSERT_ERR_CONTAINS(&eb, "allow-list");
	/* A JWS whose payload is not a JSON object is not a JWT. */
	assert_int_equal(crypto_jws_sign(k, "ES256", NULL, "[1]", 3, &tok,
	    NULL), CORE_OK);
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_jwt_verify(tok, strlen(tok), k, &o, &got, NULL,
	    &eb), CORE_ERR_INVALID);
	TH_ASSERT_ERR_CONTAINS(&eb, "JWT claims");
	free(tok);
	crypto_key_free(k);
}

/*
 * A signer signs like crypto_jws_sign (every alg; its ECDSA context is
 * reused across signatures), refuses a public key and a misfit alg.
 */
static void
test_signer(void **state)
{
	static const enum crypto_key_type types[] = { CRYPTO_KEY_EC_P256,
		CRYPTO_KEY_EC_P384, CRYPTO_KEY_EC_P521, CRYPTO_KEY_ED25519,
		CRYPTO_KEY_RSA, CRYPTO_KEY_RSA };
	static const char *const algs[] = { "ES256", "ES384", "ES512",
		"EdDSA", "RS256", "PS256" };
	struct core_errbuf eb;

	(void)state;
	for (size_t i = 0; i < CORE_ARRAY_LEN(types); i++) {
		const char *const allowed[] = { algs[i], NULL };
		struct crypto_key *k = NULL, *pub = NULL;
		struct crypto_signer *s = NULL;

		assert_int_equal(crypto_key_generate(types[i], 0, &k, NULL),
		    CORE_OK);
		assert_int_equal(crypto_signer_new(k, algs[i], &s, NULL),
		    CORE_OK);
		assert_string_equal(crypto_signer_alg(s), algs[i]);
		for (int round = 0; round < 3; round++) {
			struct crypto_jws *j = NULL;
			char payload[32], *tok = NULL;

			snprintf(payload, sizeof(payload), "{\"n\":%d}", round);
			assert_int_equal(crypto_jws_sign_with(s, NULL, payload,
			    strlen(payload), &tok, NULL), CORE_OK);
			assert_int_equal(crypto_jws_parse(tok, strlen(tok), 0,
			    &j, NULL), CORE_OK);
			assert_int_equal(crypto_jws_verify(j, k, allowed,
			    NULL), CORE_OK);
			assert_memory_equal(j->payload, payload,
			    strlen(payload));
			crypto_jws_free(j);
			free(tok);
		}
		crypto_signer_free(s);
		assert_int_equal(crypto_key_public(k, &pub, NULL), CORE_OK);
		core_errbuf_clear(&eb);
		assert_int_equal(crypto_signer_new(pub, algs[i], &s, &eb),
		    CORE_ERR_INVALID);
		TH_ASSERT_ERR_CONTAINS(&eb, "private key");
		assert_int_equal(crypto_signer_new(k, i == 0 ? "ES384" :
		    "ES256", &s, NULL), CORE_ERR_INVALID);
		crypto_key_free(pub);
		crypto_key_free(k);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8037_ed25519),
		cmocka_unit_test(test_kbs_v7_admin_token),
		cmocka_unit_test(test_rfc7520_es512_verify),
		cmocka_unit_test(test_roundtrip_tamper_wrong_key),
		cmocka_unit_test(test_alg_key_mismatch_and_none),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_jwt_claims),
		cmocka_unit_test(test_jwt_es256_roundtrip),
		cmocka_unit_test(test_signer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
