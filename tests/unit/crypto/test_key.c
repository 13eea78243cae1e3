/* test_key.c -- key generation, PEM/DER/JWK import and export, RFC 7638 /
 * RFC 8037 thumbprints, ECDH, and the errors bad keys must produce. */
#include "helpers.h"

static const enum crypto_key_type all_types[] = { CRYPTO_KEY_EC_P256,
	CRYPTO_KEY_EC_P384, CRYPTO_KEY_EC_P521, CRYPTO_KEY_RSA,
	CRYPTO_KEY_ED25519, CRYPTO_KEY_X25519 };

static struct crypto_key *
jwk_key(const char *json, enum core_err want, struct core_errbuf *eb)
{
	struct crypto_key *k = NULL;

	core_errbuf_clear(eb);
	assert_int_equal(crypto_key_from_jwk_str(json, strlen(json), &k, eb),
	    want);
	return k;
}

static void
test_generate_and_roundtrip(void **state)
{
	(void)state;
	for (size_t i = 0; i < CORE_ARRAY_LEN(all_types); i++) {
		struct crypto_key *k = NULL, *k2 = NULL, *pub = NULL;
		json_t *jwk = NULL;
		char *pem = NULL;
		uint8_t *der = NULL;
		size_t der_len = 0;

		assert_int_equal(crypto_key_generate(all_types[i], 0, &k,
		    NULL), CORE_OK);
		assert_int_equal(crypto_key_type(k), all_types[i]);
		assert_true(crypto_key_is_private(k));
		/* JWK private round trip. */
		assert_int_equal(crypto_key_to_jwk(k, true, &jwk, NULL),
		    CORE_OK);
		assert_non_null(json_object_get(jwk, "d"));
		assert_int_equal(crypto_key_from_jwk(jwk, &k2, NULL), CORE_OK);
		assert_true(crypto_key_is_private(k2));
		assert_true(crypto_key_public_equal(k, k2));
		crypto_key_free(k2);
		json_decref(jwk);
		/* JWK public round trip. */
		assert_int_equal(crypto_key_to_jwk(k, false, &jwk, NULL),
		    CORE_OK);
		assert_null(json_object_get(jwk, "d"));
		assert_int_equal(crypto_key_from_jwk(jwk, &k2, NULL), CORE_OK);
		assert_false(crypto_key_is_private(k2));
		assert_true(crypto_key_public_equal(k, k2));
		crypto_key_free(k2);
		json_decref(jwk);
		/* PEM (PKCS#8) and DER (SPKI). */
		assert_int_equal(crypto_key_to_pem(k, true, &pem, NULL),
		    CORE_OK);
		assert_non_null(strstr(pem, "BEGIN PRIVATE KEY"));
		assert_int_equal(crypto_key_load(pem, strlen(pem), &k2, NULL),
		    CORE_OK);
		assert_true(crypto_key_is_private(k2));
		assert_true(crypto_key_public_equal(k, k2));
		crypto_key_free(k2);
		free(pem);
		assert_int_equal(crypto_key_to_der(k, false, &der, &der_len,
		    NULL), CORE_OK);
		assert_int_equal(crypto_key_load(der, der_len, &k2, NULL),
		    CORE_OK);
		assert_false(crypto_key_is_private(k2));
		assert_true(crypto_key_public_equal(k, k2));
		free(der);
		/* Public copy; exporting a private part from it fails. */
		assert_int_equal(crypto_key_public(k, &pub, NULL), CORE_OK);
		assert_false(crypto_key_is_private(pub));
		assert_true(crypto_key_public_equal(pub, k2));
		assert_int_equal(crypto_key_to_pem(pub, true, &pem, NULL),
		    CORE_ERR_INVALID);
		assert_int_equal(crypto_key_to_jwk(pub, true, &jwk, NULL),
		    CORE_ERR_INVALID);
		crypto_key_free(k2);
		crypto_key_free(pub);
		crypto_key_free(k);
	}
}

static void
test_jwk_member_order_and_padding(void **state)
{
	struct crypto_key *k = NULL;
	json_t *jwk = NULL;
	char *s;

	(void)state;
	k = th_vec_key("rfc7520_3.2.jwk");
	assert_int_equal(crypto_key_type(k), CRYPTO_KEY_EC_P521);
	assert_string_equal(crypto_key_jwk_kid(k),
	    "bilbo.baggins@hobbiton.example");
	assert_null(crypto_key_jwk_alg(k));
	assert_int_equal(crypto_key_to_jwk(k, true, &jwk, NULL), CORE_OK);
	s = core_json_dumps(jwk);
	/* 66-byte coordinates with leading zero bits are kept padded. */
	assert_string_equal(s, "{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"AHKZLLOsC"
	    "Ozz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9A5RkTKqjqvjyekWF-7ytD"
	    "yRXYgCF5cj0Kt\",\"y\":\"AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6"
	    "pV5OhQHiraVySsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1\",\"d\":\"AAhRON2r9c"
	    "qXX1hg-RoI6R1tX5p2rUAYdmpHZoC1XNM56KtscrX6zbKipQrCW9CGZH3T4ubpnoTK"
	    "LDYJ_fF3_rJt\"}");
	free(s);
	json_decref(jwk);
	crypto_key_free(k);
}

static void
test_thumbprints(void **state)
{
	struct crypto_key *k;
	char *thp = NULL, *want;

	(void)state;
	/* RFC 7638 §3.1. */
	k = th_vec_key("rfc7638_3.1.jwk");
	assert_string_equal(crypto_key_jwk_alg(k), "RS256");
	assert_int_equal(crypto_key_thumbprint_b64url(k, CRYPTO_HASH_SHA256,
	    &thp, NULL), CORE_OK);
	want = th_vec("rfc7638_3.1.thp", NULL);
	assert_string_equal(thp, want);
	free(want);
	free(thp);
	crypto_key_free(k);
	/* RFC 8037 A.3 (Ed25519). */
	k = NULL;
	k = jwk_key("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":"
	    "\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}", CORE_OK, NULL);
	assert_int_equal(crypto_key_thumbprint_b64url(k, CRYPTO_HASH_SHA256,
	    &thp, NULL), CORE_OK);
	assert_string_equal(thp, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
	free(thp);
	crypto_key_free(k);
}

static void
test_testdata_pem_forms(void **state)
{
	static const char *const files[] = { "ocicrypt/keys/ecpriv.pem",
		"ocicrypt/keys/ecpub.pem", "ocicrypt/keys/priv.pem",
		"ocicrypt/keys/pub.pem" };
	struct crypto_key *k[4] = { NULL };
	const char *td = getenv("PROPELLER_TESTDATA");
	char path[1024];

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		struct core_errbuf eb;

		snprintf(path, sizeof(path), "%s/%s", td, files[i]);
		core_errbuf_clear(&eb);
		if (crypto_key_load_file(path, &k[i], &eb) != CORE_OK)
			fail_msg("%s", core_errbuf_msg(&eb));
	}
	/* SEC1 "EC PRIVATE KEY" and PKCS#8 RSA, with their SPKI halves. */
	assert_int_equal(crypto_key_type(k[0]), CRYPTO_KEY_EC_P256);
	assert_true(crypto_key_is_private(k[0]));
	assert_false(crypto_key_is_private(k[1]));
	assert_true(crypto_key_public_equal(k[0], k[1]));
	assert_int_equal(crypto_key_type(k[2]), CRYPTO_KEY_RSA);
	assert_int_equal(crypto_key_bits(k[2]), 2048);
	assert_true(crypto_key_public_equal(k[2], k[3]));
	assert_false(crypto_key_public_equal(k[0], k[2]));
	for (size_t i = 0; i < 4; i++)
		crypto_key_free(k[i]);
}

static void
test_certificates(void **state)
{
	static const struct {
		const char *file;
		enum crypto_key_type type;
	} v[] = {
		{ "tee/tdx/intel_sgx_root_ca.pem", CRYPTO_KEY_EC_P256 },
		{ "tee/snp/vcek.der", CRYPTO_KEY_EC_P384 },
	};

	(void)state;
	/* A certificate (PEM or DER) loads as its subject public key. */
	for (size_t i = 0; i < CORE_ARRAY_LEN(v); i++) {
		struct crypto_key *k = NULL;
		struct core_errbuf eb;
		size_t n = 0;
		char *p = th_testdata(v[i].file, &n);

		core_errbuf_clear(&eb);
		if (crypto_key_load(p, n, &k, &eb) != CORE_OK)
			fail_msg("%s: %s", v[i].file, core_errbuf_msg(&eb));
		assert_int_equal(crypto_key_type(k), v[i].type);
		assert_false(crypto_key_is_private(k));
		crypto_key_free(k);
		free(p);
	}
}

static void
test_jwk_errors(void **state)
{
	struct core_errbuf eb;
	struct crypto_key *k;

	(void)state;
	k = jwk_key("{\"crv\":\"P-256\"}", CORE_ERR_INVALID, &eb);
	TH_ASSERT_ERR_CONTAINS(&eb, "kty");
	k = jwk_key("{\"kty\":\"oct\",\"k\":\"AAAA\"}", CORE_ERR_UNSUPPORTED,
	    &eb);
	TH_ASSERT_ERR_CONTAINS(&eb, "oct");
	k = jwk_key("{\"kty\":\"EC\",\"crv\":\"P-192\",\"x\":\"AA\",\"y\":"
	    "\"AA\"}", CORE_ERR_UNSUPPORTED, &eb);
	TH_ASSERT_ERR_CONTAINS(&eb, "P-192");
	k = jwk_key("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"we!NJy\",\"y\":"
	    "\"AA\"}", CORE_ERR_INVALID, &eb);
	TH_ASSERT_ERR_CONTAINS(&eb, "\"x\" is not valid base64url");
	/* Short coordinate. */
	k = jwk_key("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\",\"y\":"
	    "\"e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck\"}",
	    CORE_ERR_INVALID, &eb);
	TH_ASSERT_ERR_CONTAINS(&eb, "x is 3 bytes, want 32");
	/* Point not on the curve (Bob's y with the last byte changed). */
	k = jwk_key("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"weNJy2HscCSM6AE"
	    "DTDg04biOvhFhyyWvOHQfeF_PxMQ\",\"y\":\"e8lnCO-AlStT-NJVX-crhB7QRYh"
	    "iix03illJOVAOycA\"}", CORE_ERR_INVALID, &eb);
	assert_null(k);
	TH_ASSERT_ERR_CONTAINS(&eb, "not on the curve");
	/* A coordinate >= p (x = 2^256 - 1). */
	k = jwk_key("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"__________"
	    "________________________________8\",\"y\":\"e8lnCO-AlStT-NJVX-crhB7"
	    "QRYhiix03illJOVAOyck\"}", CORE_ERR_INVALID, &eb);
	assert_null(k);
	TH_ASSERT_ERR_CONTAINS(&eb, "not on the curve");
	/* d = 0 and d >= n are refused. */
	k = jwk_key("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"weNJy2HscCSM6AE"
	    "DTDg04biOvhFhyyWvOHQfeF_PxMQ\",\"y\":\"e8lnCO-AlStT-NJVX-crhB7QRYh"
	    "iix03illJOVAOyck\",\"d\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAA\"}", CORE_ERR_INVALID, &eb);
	TH_ASSERT_ERR_CONTAINS(&eb, "does not match");
	k = jwk_key("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"weNJy2HscCSM6AE"
	    "DTDg04biOvhFhyyWvOHQfeF_PxMQ\",\"y\":\"e8lnCO-AlStT-NJVX-crhB7QRYh"
	    "iix03illJOVAOyck\",\"d\":\"_____________________________________"
	    "_____8\"}", CORE_ERR_INVALID, &eb);
	TH_ASSERT_ERR_CONTAINS(&eb, "does not match");
	/* Private part of Alice with Bob's public key. */
	k = jwk_key("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"weNJy2HscCSM6AE"
	    "DTDg04biOvhFhyyWvOHQfeF_PxMQ\",\"y\":\"e8lnCO-AlStT-NJVX-crhB7QRYh"
	    "iix03illJOVAOyck\",\"d\":\"0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MTo"
	    "Xn2g\"}", CORE_ERR_INVALID, &eb);
	TH_ASSERT_ERR_CONTAINS(&eb, "does not match");
	/* Ed25519 private key that does not match x. */
	k = jwk_key("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfV"
	    "S_7TyWQHOg7hcvPapiMlrwIaaPcHURo\",\"d\":\"AAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAAAAAAA\"}", CORE_ERR_INVALID, &eb);
	TH_ASSERT_ERR_CONTAINS(&eb, "does not match");
	/* RSA below 2048 bits (a 512-bit modulus). */
	k = jwk_key("{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"sXchDaQebHnPiGvyDO"
	    "AT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDX"
	    "boIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6"
	    "BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA8"
	    "4-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHp"
	    "M2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw\"}",
	    CORE_OK, &eb);
	crypto_key_free(k);
	k = jwk_key("{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"sXchDaQebHnPiGvyDO"
	    "AT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDX"
	    "boIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6"
	    "BTYuyvVRdhS8exSZEy_c4g\"}", CORE_ERR_UNSUPPORTED, &eb);
	TH_ASSERT_ERR_CONTAINS(&eb, "refused");
	k = jwk_key("[1,2]", CORE_ERR_INVALID, &eb);
	assert_null(k);
	/* An even RSA modulus or e = 1 is not a valid public key. */
	{
		char *txt = th_vec("rfc7638_3.1.jwk", NULL);
		json_t *j = NULL;
		uint8_t *nb = NULL;
		size_t nl = 0;
		char *even;
		struct crypto_key *rk = NULL;

		assert_int_equal(core_json_parse(txt, strlen(txt), 0, &j, NULL),
		    CORE_OK);
		assert_int_equal(core_b64url_decode(json_string_value(
		    json_object_get(j, "n")), strlen(json_string_value(
		    json_object_get(j, "n"))), &nb, &nl, NULL), CORE_OK);
		nb[nl - 1] &= 0xfe;
		even = core_b64url_encode(nb, nl);
		json_object_set_new(j, "n", json_string(even));
		core_errbuf_clear(&eb);
		assert_int_equal(crypto_key_from_jwk(j, &rk, &eb),
		    CORE_ERR_INVALID);
		TH_ASSERT_ERR_CONTAINS(&eb, "RSA public key is not valid");
		nb[nl - 1] |= 1;
		free(even);
		even = core_b64url_encode(nb, nl);
		json_object_set_new(j, "n", json_string(even));
		json_object_set_new(j, "e", json_string("AQ"));
		assert_int_equal(crypto_key_from_jwk(j, &rk, NULL),
		    CORE_ERR_INVALID);
		json_object_set_new(j, "e", json_string("AQAB"));
		assert_int_equal(crypto_key_from_jwk(j, &rk, NULL), CORE_OK);
		crypto_key_free(rk);
		free(even);
		free(nb);
		json_decref(j);
		free(txt);
	}
	/* RSA private keys: CRT members required, and p * q must be n. */
	{
		char *txt = th_vec("rfc7520_5.1.jwk", NULL);
		json_t *j = NULL, *q2;
		struct crypto_key *rk = NULL;

		assert_int_equal(core_json_parse(txt, strlen(txt), 0, &j, NULL),
		    CORE_OK);
		q2 = json_copy(j);
		json_object_set(q2, "q", json_object_get(j, "p"));
		core_errbuf_clear(&eb);
		assert_int_equal(crypto_key_from_jwk(q2, &rk, &eb),
		    CORE_ERR_INVALID);
		TH_ASSERT_ERR_CONTAINS(&eb, "n != p * q");
		json_object_del(q2, "p");
		core_errbuf_clear(&eb);
		assert_int_equal(crypto_key_from_jwk(q2, &rk, &eb),
		    CORE_ERR_UNSUPPORTED);
		TH_ASSERT_ERR_CONTAINS(&eb, "CRT");
		assert_int_equal(crypto_key_from_jwk(j, &rk, NULL), CORE_OK);
		assert_true(crypto_key_is_private(rk));
		crypto_key_free(rk);
		json_decref(q2);
		json_decref(j);
		free(txt);
	}
}

static void
test_pem_der_errors(void **state)
{
	static const char enc_pem[] = "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
	    "MIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQIbm9zdWNoa2V5AgIIAD"
	    "AMBggqhkiG9w0CCQUAMB0GCWCGSAFlAwQBKgQQAAAAAAAAAAAAAAAAAAAAAAQ=\n"
	    "-----END ENCRYPTED PRIVATE KEY-----\n";
	static const uint8_t junk[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	struct crypto_key *k = NULL;
	struct core_errbuf eb;
	char *big;

	(void)state;
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_key_load(enc_pem, strlen(enc_pem), &k, &eb),
	    CORE_ERR_UNSUPPORTED);
	TH_ASSERT_ERR_CONTAINS(&eb, "encrypted");
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_key_load(junk, sizeof(junk), &k, &eb),
	    CORE_ERR_INVALID);
	TH_ASSERT_ERR_CONTAINS(&eb, "DER");
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_key_from_pem("hello", 5, &k, &eb),
	    CORE_ERR_INVALID);
	TH_ASSERT_ERR_CONTAINS(&eb, "BEGIN");
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_key_load("  \n", 3, &k, &eb), CORE_ERR_INVALID);
	TH_ASSERT_ERR_CONTAINS(&eb, "empty");
	big = calloc(1, CRYPTO_KEY_MAX_LEN + 2);
	memset(big, 'A', CRYPTO_KEY_MAX_LEN + 1);
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_key_from_der(big, CRYPTO_KEY_MAX_LEN + 1, &k,
	    &eb), CORE_ERR_TOO_BIG);
	free(big);
	core_errbuf_clear(&eb);
	assert_int_not_equal(crypto_key_load_file("/nonexistent/key.pem", &k,
	    &eb), CORE_OK);
	TH_ASSERT_ERR_CONTAINS(&eb, "/nonexistent/key.pem");
	assert_null(k);
}

static void
test_ecdh_agrees(void **state)
{
	static const enum crypto_key_type types[] = { CRYPTO_KEY_EC_P256,
		CRYPTO_KEY_EC_P521, CRYPTO_KEY_X25519 };
	static const size_t zlen[] = { 32, 66, 32 };

	(void)state;
	for (size_t i = 0; i < CORE_ARRAY_LEN(types); i++) {
		struct crypto_key *a = NULL, *b = NULL, *bpub = NULL, *c = NULL;
		struct secret *z1 = NULL, *z2 = NULL;
		struct core_errbuf eb;

		assert_int_equal(crypto_key_generate(types[i], 0, &a, NULL),
		    CORE_OK);
		assert_int_equal(crypto_key_generate(types[i], 0, &b, NULL),
		    CORE_OK);
		assert_int_equal(crypto_key_public(b, &bpub, NULL), CORE_OK);
		assert_int_equal(crypto_ecdh(a, bpub, &z1, NULL), CORE_OK);
		assert_int_equal(crypto_ecdh(b, a, &z2, NULL), CORE_OK);
		assert_int_equal(z1->len, zlen[i]);
		assert_int_equal(z1->len, z2->len);
		assert_memory_equal(z1->ptr, z2->ptr, z1->len);
		secret_free(z1);
		z1 = NULL;
		core_errbuf_clear(&eb);
		assert_int_equal(crypto_ecdh(bpub, a, &z1, &eb),
		    CORE_ERR_INVALID);
		TH_ASSERT_ERR_CONTAINS(&eb, "private");
		assert_int_equal(crypto_key_generate(CRYPTO_KEY_EC_P384, 0, &c,
		    NULL), CORE_OK);
		core_errbuf_clear(&eb);
		assert_int_equal(crypto_ecdh(a, c, &z1, &eb), CORE_ERR_INVALID);
		TH_ASSERT_ERR_CONTAINS(&eb, "do not agree");
		assert_null(z1);
		secret_free(z2);
		crypto_key_free(a);
		crypto_key_free(b);
		crypto_key_free(bpub);
		crypto_key_free(c);
	}
}

static void
test_ecdh_vectors(void **state)
{
	/* RFC 7748 §6.1 (X25519) and RFC 7518 App. C (P-256) shared
	 * secrets. */
	static const char *const v[][3] = {
		{ "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"d\":\"dwdtCnMYpX08FsF"
		  "yUbJmRd9ML4frwJkqsXf7pR25LCo\",\"x\":\"hSDwCYkwp1R0i33ctD73Wg2"
		  "_Og0mOBr066SpjqqbTmo\"}",
		  "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"3p7bfXt9wbTTW2H"
		  "C7OQ1Nz-DQ8hbeGdNrfx-FG-IK08\"}",
		  "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742" },
		{ "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"gI0GAILBdu7T53ak"
		  "rFmMyGcsF3n5dO7MmwNBHKW5SV0\",\"y\":\"SLW_xSffzlPWrHEVI30DHM_4"
		  "egVwt3NQqeUD7nMFpps\",\"d\":\"0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaC"
		  "umd-MToTmIo\"}",
		  "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"weNJy2HscCSM6AEDT"
		  "Dg04biOvhFhyyWvOHQfeF_PxMQ\",\"y\":\"e8lnCO-AlStT-NJVX-crhB7QRYh"
		  "iix03illJOVAOyck\"}",
		  "9e56d91d817135d372834283bf84269cfb316ea3da806a48f6daa7798cfe90c4" },
	};

	(void)state;
	for (size_t i = 0; i < CORE_ARRAY_LEN(v); i++) {
		struct crypto_key *a = NULL, *b = NULL;
		struct secret *z = NULL;

		assert_int_equal(crypto_key_from_jwk_str(v[i][0],
		    strlen(v[i][0]), &a, NULL), CORE_OK);
		assert_int_equal(crypto_key_from_jwk_str(v[i][1],
		    strlen(v[i][1]), &b, NULL), CORE_OK);
		assert_int_equal(crypto_ecdh(a, b, &z, NULL), CORE_OK);
		th_assert_hex(z->ptr, z->len, v[i][2]);
		secret_free(z);
		crypto_key_free(a);
		crypto_key_free(b);
	}
}

static void
test_rsa_generate_bounds(void **state)
{
	struct crypto_key *k = NULL;
	struct core_errbuf eb;

	(void)state;
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_key_generate(CRYPTO_KEY_RSA, 1024, &k, &eb),
	    CORE_ERR_INVALID);
	TH_ASSERT_ERR_CONTAINS(&eb, "1024");
	assert_null(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate_and_roundtrip),
		cmocka_unit_test(test_jwk_member_order_and_padding),
		cmocka_unit_test(test_thumbprints),
		cmocka_unit_test(test_testdata_pem_forms),
		cmocka_unit_test(test_certificates),
		cmocka_unit_test(test_jwk_errors),
		cmocka_unit_test(test_pem_der_errors),
		cmocka_unit_test(test_ecdh_agrees),
		cmocka_unit_test(test_ecdh_vectors),
		cmocka_unit_test(test_rsa_generate_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
