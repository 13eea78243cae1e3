/* test_jwe.c -- JWE: the KBS vector V6 byte for byte, RFC 7520 vectors,
 * real skopeo JWEs from testdata, round trips over alg x enc x form,
 * tampering, multi-recipient selection, header errors, and the flattened
 * fast parser against the jansson one on mutated input. */
#include "helpers.h"

/* jwe.c (STATIC): fast false parses JSON forms with jansson only. */
enum core_err jwe_decrypt(const void *jwe, size_t n,
    const struct crypto_jwe_dec_opts *o, bool fast, struct secret **pt_out,
    json_t **header_out, struct core_errbuf *eb);

#define ALICE "{\"kty\":\"EC\",\"crv\":\"P-256\"," \
	"\"x\":\"gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0\"," \
	"\"y\":\"SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps\"," \
	"\"d\":\"0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo\"}"
#define BOB "{\"kty\":\"EC\",\"crv\":\"P-256\"," \
	"\"x\":\"weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ\"," \
	"\"y\":\"e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck\"," \
	"\"d\":\"VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw\"}"

static struct crypto_key *rsa_key; /* generated once: RSA keygen is slow */

static int
setup(void **state)
{
	(void)state;
	return crypto_key_generate(CRYPTO_KEY_RSA, 2048, &rsa_key, NULL) ==
	    CORE_OK ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	crypto_key_free(rsa_key);
	return 0;
}

static struct crypto_key *
jwk(const char *s)
{
	struct crypto_key *k = NULL;

	assert_int_equal(crypto_key_from_jwk_str(s, strlen(s), &k, NULL),
	    CORE_OK);
	return k;
}

static struct secret *
decrypt_ok(const char *jwe, size_t n, const struct crypto_jwe_dec_opts *o)
{
	struct secret *pt = NULL;
	struct core_errbuf eb;

	core_errbuf_clear(&eb);
	if (crypto_jwe_decrypt(jwe, n, o, &pt, NULL, &eb) != CORE_OK)
		fail_msg("decrypt: %s", core_errbuf_msg(&eb));
	return pt;
}

static void
test_kbs_v6_exact(void **state)
{
	static const char want[] = "{\"protected\":\"eyJhbGciOiJFQ0RILUVTK0EyNT"
	    "ZLVyIsImVuYyI6IkEyNTZHQ00iLCJlcGsiOnsiY3J2IjoiUC0yNTYiLCJrdHkiOiJF"
	    "QyIsIngiOiJnSTBHQUlMQmR1N1Q1M2FrckZtTXlHY3NGM241ZE83TW13TkJIS1c1U1"
	    "YwIiwieSI6IlNMV194U2ZmemxQV3JIRVZJMzBESE1fNGVnVnd0M05RcWVVRDduTUZw"
	    "cHMifX0\",\"encrypted_key\":\"T0NVWKoWucQiDmmVc2dmvQ8xVyt-7o5H1C0M"
	    "naCf5KFFpsfACs-0RQ\",\"iv\":\"AAECAwQFBgcICQoL\",\"ciphertext\":"
	    "\"L2e6d6rFqXn-\",\"tag\":\"39gRW1s8-q60aKDnG0_2Ew\"}";
	struct crypto_key *alice = jwk(ALICE), *bob = jwk(BOB), *bobpub = NULL;
	struct crypto_jwe_recipient r = { 0 };
	struct crypto_jwe_enc_opts o = { 0 };
	struct crypto_jwe_dec_opts d = { 0 };
	uint8_t cek_bytes[32], iv[12];
	struct secret *cek, *pt;
	json_t *hdr = NULL;
	char *out = NULL;
	size_t out_len = 0;

	(void)state;
	for (int i = 0; i < 32; i++)
		cek_bytes[i] = (uint8_t)i;
	for (int i = 0; i < 12; i++)
		iv[i] = (uint8_t)i;
	cek = secret_from(cek_bytes, 32);
	assert_int_equal(crypto_key_public(bob, &bobpub, NULL), CORE_OK);
	r.key = bobpub;
	r.alg = "ECDH-ES+A256KW";
	o.format = CRYPTO_JWE_FLATTENED;
	o.cek = cek;
	o.iv = iv;
	o.epk = alice;
	assert_int_equal(crypto_jwe_encrypt(&r, 1, &o, "hello kbs", 9, &out,
	    &out_len, NULL), CORE_OK);
	assert_string_equal(out, want);
	assert_int_equal(out_len, strlen(want));
	free(out);
	/* A client holding Bob's key recovers the plaintext. */
	d.keys = (const struct crypto_key *const[]){ bob };
	d.nkeys = 1;
	assert_int_equal(crypto_jwe_decrypt(want, strlen(want), &d, &pt, &hdr,
	    NULL), CORE_OK);
	assert_int_equal(pt->len, 9);
	assert_memory_equal(pt->ptr, "hello kbs", 9);
	assert_string_equal(json_string_value(json_object_get(hdr, "alg")),
	    "ECDH-ES+A256KW");
	json_decref(hdr);
	secret_free(pt);
	/* Alg chosen from the key when not given. */
	r.alg = NULL;
	o.epk = NULL;
	assert_int_equal(crypto_jwe_encrypt(&r, 1, &o, "x", 1, &out, NULL,
	    NULL), CORE_OK);
	pt = decrypt_ok(out, strlen(out), &d);
	assert_memory_equal(pt->ptr, "x", 1);
	secret_free(pt);
	free(out);
	secret_free(cek);
	crypto_key_free(alice);
	crypto_key_free(bob);
	crypto_key_free(bobpub);
}

static void
check_frodo(const struct secret *pt)
{
	static const char head[] = "You can trust us to stick with you";
	static const char tail[] = "We are your friends, Frodo.";

	assert_true(pt->len > sizeof(head) + sizeof(tail));
	assert_memory_equal(pt->ptr, head, strlen(head));
	assert_memory_equal(pt->ptr + pt->len - strlen(tail), tail,
	    strlen(tail));
}

static void
test_rfc7520_vectors(void **state)
{
	static const char *const ec_files[][2] = {
		{ "rfc7520_5.2.jwec", "rfc7520_5.2.jwk" },
		{ "rfc7520_5.4.jwec", "rfc7520_5.4.jwk" },
		{ "rfc7520_5.4.jweg", "rfc7520_5.4.jwk" },
		{ "rfc7520_5.5.jwec", "rfc7520_5.5.jwk" },
	};
	static const char *const sym_files[][2] = {
		{ "rfc7520_5.6.jwec", "rfc7520_5.6.k" },
		{ "rfc7520_5.8.jwec", "rfc7520_5.8.k" },
	};
	struct crypto_jwe_dec_opts d;
	struct core_errbuf eb;
	struct secret *pt;

	(void)state;
	for (size_t i = 0; i < CORE_ARRAY_LEN(ec_files); i++) {
		struct crypto_key *k = th_vec_key(ec_files[i][1]);
		size_t n;
		char *jwe = th_vec(ec_files[i][0], &n);

		memset(&d, 0, sizeof(d));
		d.keys = (const struct crypto_key *const[]){ k };
		d.nkeys = 1;
		pt = decrypt_ok(jwe, n, &d);
		check_frodo(pt);
		secret_free(pt);
		free(jwe);
		crypto_key_free(k);
	}
	for (size_t i = 0; i < CORE_ARRAY_LEN(sym_files); i++) {
		char *k = th_vec(sym_files[i][1], NULL);
		struct secret *sym = th_b64url_secret(k);
		size_t n;
		char *jwe = th_vec(sym_files[i][0], &n);

		memset(&d, 0, sizeof(d));
		d.sym = sym;
		pt = decrypt_ok(jwe, n, &d);
		check_frodo(pt);
		secret_free(pt);
		free(jwe);
		free(k);
		secret_free(sym);
	}
	/* §5.1 RSA1_5: refused unless explicitly allowed. */
	{
		struct crypto_key *k = th_vec_key("rfc7520_5.1.jwk");
		size_t n;
		char *jwe = th_vec("rfc7520_5.1.jwef", &n);

		memset(&d, 0, sizeof(d));
		d.keys = (const struct crypto_key *const[]){ k };
		d.nkeys = 1;
		pt = NULL;
		core_errbuf_clear(&eb);
		assert_int_equal(crypto_jwe_decrypt(jwe, n, &d, &pt, NULL, &eb),
		    CORE_ERR_PERM);
		TH_ASSERT_ERR_CONTAINS(&eb, "RSA1_5 is not allowed");
		assert_null(pt);
		d.allow_rsa1_5 = true;
		pt = decrypt_ok(jwe, n, &d);
		check_frodo(pt);
		secret_free(pt);
		free(jwe);
		crypto_key_free(k);
	}
}

/* Decrypts the JWE annotation of a skopeo image in testdata. */
static void
skopeo_case(const char *dir, const struct crypto_key *const *keys,
    size_t nkeys, enum core_err want, const char *err_has)
{
	char path[256];
	char *manifest;
	json_t *m = NULL, *layers;
	struct crypto_jwe_dec_opts d = { 0 };
	struct core_errbuf eb;
	size_t n = 0;

	snprintf(path, sizeof(path), "ocicrypt/%s/manifest.json", dir);
	manifest = th_testdata(path, &n);
	assert_int_equal(core_json_parse(manifest, n, 0, &m, NULL), CORE_OK);
	layers = json_object_get(m, "layers");
	d.keys = keys;
	d.nkeys = nkeys;
	for (size_t i = 0; i < json_array_size(layers); i++) {
		const json_t *a = json_object_get(json_array_get(layers, i),
		    "annotations");
		const char *b64 = NULL;
		uint8_t *jwe = NULL;
		size_t jlen = 0;
		struct secret *pt = NULL;
		json_t *opts = NULL;

		if (core_json_get_str(a, "org.opencontainers.image.enc.keys.jwe",
		    false, &b64, NULL) != CORE_OK || b64 == NULL)
			continue;
		assert_int_equal(core_b64_decode(b64, strlen(b64), &jwe, &jlen,
		    NULL), CORE_OK);
		core_errbuf_clear(&eb);
		assert_int_equal(crypto_jwe_decrypt(jwe, jlen, &d, &pt, NULL,
		    &eb), want);
		if (want == CORE_OK) {
			/* The plaintext is ocicrypt's private options JSON. */
			assert_int_equal(core_json_parse(pt->ptr, pt->len, 0,
			    &opts, NULL), CORE_OK);
			assert_non_null(json_object_get(opts, "symkey"));
			json_decref(opts);
		} else {
			TH_ASSERT_ERR_CONTAINS(&eb, err_has);
		}
		secret_free(pt);
		free(jwe);
	}
	json_decref(m);
	free(manifest);
}

static void
test_skopeo_testdata(void **state)
{
	struct crypto_key *ec = NULL, *rsa = NULL;
	const char *td = getenv("PROPELLER_TESTDATA");
	char path[1024];

	(void)state;
	snprintf(path, sizeof(path), "%s/ocicrypt/keys/ecpriv.pem", td);
	assert_int_equal(crypto_key_load_file(path, &ec, NULL), CORE_OK);
	snprintf(path, sizeof(path), "%s/ocicrypt/keys/priv.pem", td);
	assert_int_equal(crypto_key_load_file(path, &rsa, NULL), CORE_OK);
	skopeo_case("skopeo-jwe-rsa", (const struct crypto_key *const[]){ rsa },
	    1, CORE_OK, NULL);
	skopeo_case("skopeo-jwe-recompressed",
	    (const struct crypto_key *const[]){ rsa }, 1, CORE_OK, NULL);
	skopeo_case("skopeo-jwe-ec", (const struct crypto_key *const[]){ ec },
	    1, CORE_OK, NULL);
	skopeo_case("skopeo-jwe-multi", (const struct crypto_key *const[]){ ec },
	    1, CORE_OK, NULL);
	skopeo_case("skopeo-jwe-multi",
	    (const struct crypto_key *const[]){ rsa }, 1, CORE_OK, NULL);
	skopeo_case("skopeo-jwe-multi",
	    (const struct crypto_key *const[]){ rsa_key, ec }, 2, CORE_OK,
	    NULL);
	/* Wrong keys: the error names each recipient. */
	skopeo_case("skopeo-jwe-ec", (const struct crypto_key *const[]){ rsa },
	    1, CORE_ERR_NOT_FOUND, "no private EC P-256 key");
	skopeo_case("skopeo-jwe-rsa",
	    (const struct crypto_key *const[]){ rsa_key }, 1, CORE_ERR_AUTH,
	    "recipient 0 (RSA-OAEP)");
	skopeo_case("skopeo-jwe-multi",
	    (const struct crypto_key *const[]){ rsa_key }, 1, CORE_ERR_AUTH,
	    "recipient 1 (RSA-OAEP)");
	crypto_key_free(ec);
	crypto_key_free(rsa);
}

struct rt_case {
	const char *alg;
	enum crypto_key_type kt;   /* 0 = symmetric */
	size_t sym_len;
};

static void
test_roundtrip_matrix(void **state)
{
	static const struct rt_case cases[] = {
		{ "ECDH-ES", CRYPTO_KEY_EC_P256, 0 },
		{ "ECDH-ES+A128KW", CRYPTO_KEY_EC_P384, 0 },
		{ "ECDH-ES+A192KW", CRYPTO_KEY_EC_P256, 0 },
		{ "ECDH-ES+A256KW", CRYPTO_KEY_EC_P521, 0 },
		{ "ECDH-ES+A256KW", CRYPTO_KEY_X25519, 0 },
		{ "RSA-OAEP", CRYPTO_KEY_RSA, 0 },
		{ "RSA-OAEP-256", CRYPTO_KEY_RSA, 0 },
		{ "A128KW", 0, 16 },
		{ "A256KW", 0, 32 },
		{ "dir", 0, 0 },
	};
	static const char *const encs[] = { "A128GCM", "A256GCM",
		"A128CBC-HS256", "A256CBC-HS512" };
	static const size_t enc_len[] = { 16, 32, 32, 64 };
	static const enum crypto_jwe_format forms[] = { CRYPTO_JWE_COMPACT,
		CRYPTO_JWE_FLATTENED, CRYPTO_JWE_GENERAL };
	static const char msg[] = "{\"symkey\":\"secret layer key\"}";

	(void)state;
	for (size_t c = 0; c < CORE_ARRAY_LEN(cases); c++) {
		struct crypto_key *priv = NULL, *pub = NULL;

		if (cases[c].kt == CRYPTO_KEY_RSA)
			priv = rsa_key;
		else if (cases[c].kt != 0)
			assert_int_equal(crypto_key_generate(cases[c].kt, 0,
			    &priv, NULL), CORE_OK);
		if (priv != NULL)
			assert_int_equal(crypto_key_public(priv, &pub, NULL),
			    CORE_OK);
		for (size_t e = 0; e < CORE_ARRAY_LEN(encs); e++) {
			uint8_t kb[64];
			struct secret *sym = NULL;

			for (size_t i = 0; i < sizeof(kb); i++)
				kb[i] = (uint8_t)(i * 7 + c);
			if (strcmp(cases[c].alg, "dir") == 0)
				sym = secret_from(kb, enc_len[e]);
			else if (cases[c].sym_len > 0)
				sym = secret_from(kb, cases[c].sym_len);
			for (size_t f = 0; f < CORE_ARRAY_LEN(forms); f++) {
				struct crypto_jwe_recipient r = { 0 };
				struct crypto_jwe_enc_opts o = { 0 };
				struct crypto_jwe_dec_opts d = { 0 };
				struct secret *pt;
				struct core_errbuf eb;
				char *out = NULL;
				size_t out_len = 0;

				r.alg = cases[c].alg;
				r.key = pub;
				r.sym = sym;
				o.enc = encs[e];
				o.format = forms[f];
				core_errbuf_clear(&eb);
				if (crypto_jwe_encrypt(&r, 1, &o, msg,
				    strlen(msg), &out, &out_len, &eb) != CORE_OK)
					fail_msg("%s/%s/%d: %s", r.alg, o.enc,
					    (int)f, core_errbuf_msg(&eb));
				d.keys = (const struct crypto_key *const[]){
					priv };
				d.nkeys = priv != NULL ? 1 : 0;
				d.sym = sym;
				pt = decrypt_ok(out, out_len, &d);
				assert_int_equal(pt->len, strlen(msg));
				assert_memory_equal(pt->ptr, msg, pt->len);
				secret_free(pt);
				free(out);
			}
			secret_free(sym);
		}
		crypto_key_free(pub);
		if (priv != rsa_key)
			crypto_key_free(priv);
	}
}

static void
test_tamper_every_part(void **state)
{
	static const char *const algs[] = { "ECDH-ES+A256KW", "RSA-OAEP-256",
		"ECDH-ES" };
	static const char *const encs[] = { "A256GCM", "A128CBC-HS256" };
	struct crypto_key *ec = NULL;

	(void)state;
	assert_int_equal(crypto_key_generate(CRYPTO_KEY_EC_P256, 0, &ec, NULL),
	    CORE_OK);
	for (size_t a = 0; a < CORE_ARRAY_LEN(algs); a++) {
		for (size_t e = 0; e < CORE_ARRAY_LEN(encs); e++) {
			const struct crypto_key *k = a == 1 ? rsa_key : ec;
			struct crypto_jwe_recipient r = { algs[a], k, NULL,
				NULL };
			struct crypto_jwe_enc_opts o = { 0 };
			struct crypto_jwe_dec_opts d = { 0 };
			char *out = NULL;
			size_t n = 0, tried = 0;

			o.format = CRYPTO_JWE_COMPACT;
			o.enc = encs[e];
			d.keys = &k;
			d.nkeys = 1;
			assert_int_equal(crypto_jwe_encrypt(&r, 1, &o,
			    "plaintext!", 10, &out, &n, NULL), CORE_OK);
			/* Change one character at many positions of every
			 * part (header, ek, iv, ct, tag): never decrypts. */
			for (size_t pos = 0; pos < n; pos += 3) {
				char saved = out[pos];
				struct secret *pt = NULL;

				if (saved == '.')
					continue;
				out[pos] = saved == 'A' ? 'Q' : 'A';
				assert_int_not_equal(crypto_jwe_decrypt(out, n,
				    &d, &pt, NULL, NULL), CORE_OK);
				assert_null(pt);
				out[pos] = saved;
				tried++;
			}
			assert_true(tried > 20);
			free(out);
		}
	}
	crypto_key_free(ec);
}

static void
test_general_multi_recipient(void **state)
{
	struct crypto_key *ec = NULL, *ecpub = NULL, *rsapub = NULL;
	struct crypto_key *stranger = NULL;
	uint8_t kek[32] = { 1, 2, 3 };
	struct secret *sym = secret_from(kek, 32);
	json_t *extra = json_pack("{s:s}", "kid", "ec-key");
	json_t *unprot = json_pack("{s:s}", "jku", "https://example/jwks");
	struct crypto_jwe_recipient r[3] = {
		{ "ECDH-ES+A256KW", NULL, NULL, NULL },
		{ "RSA-OAEP", NULL, NULL, NULL },
		{ "A256KW", NULL, NULL, NULL },
	};
	struct crypto_jwe_enc_opts o = { 0 };
	struct crypto_jwe_dec_opts d = { 0 };
	static const uint8_t aad[] = "authenticated, not encrypted";
	struct core_errbuf eb;
	struct secret *pt = NULL;
	json_t *hdr = NULL, *doc = NULL;
	char *out = NULL, *again;
	size_t n = 0;

	(void)state;
	assert_int_equal(crypto_key_generate(CRYPTO_KEY_EC_P256, 0, &ec, NULL),
	    CORE_OK);
	assert_int_equal(crypto_key_generate(CRYPTO_KEY_EC_P256, 0, &stranger,
	    NULL), CORE_OK);
	assert_int_equal(crypto_key_public(ec, &ecpub, NULL), CORE_OK);
	assert_int_equal(crypto_key_public(rsa_key, &rsapub, NULL), CORE_OK);
	r[0].key = ecpub;
	r[0].header = extra;
	r[1].key = rsapub;
	r[2].sym = sym;
	/* Flattened A256KW keeps the per-recipient extras in "header". */
	{
		struct crypto_jwe_recipient one = { "A256KW", NULL, sym, extra };
		struct crypto_jwe_enc_opts fo = { 0 };
		json_t *fdoc = NULL;

		assert_int_equal(crypto_jwe_encrypt(&one, 1, &fo, "f", 1, &out,
		    &n, NULL), CORE_OK);
		assert_int_equal(core_json_parse(out, n, 0, &fdoc, NULL),
		    CORE_OK);
		assert_string_equal(json_string_value(json_object_get(
		    json_object_get(fdoc, "header"), "kid")), "ec-key");
		json_decref(fdoc);
		free(out);
		out = NULL;
	}
	o.format = CRYPTO_JWE_GENERAL;
	o.unprotected = unprot;
	o.aad = aad;
	o.aad_len = sizeof(aad) - 1;
	assert_int_equal(crypto_jwe_encrypt(r, 3, &o, "multi", 5, &out, &n,
	    NULL), CORE_OK);
	/* Each key alone opens it; the header says which recipient. */
	d.keys = (const struct crypto_key *const[]){ ec };
	d.nkeys = 1;
	assert_int_equal(crypto_jwe_decrypt(out, n, &d, &pt, &hdr, NULL),
	    CORE_OK);
	assert_string_equal(json_string_value(json_object_get(hdr, "kid")),
	    "ec-key");
	assert_string_equal(json_string_value(json_object_get(hdr, "jku")),
	    "https://example/jwks");
	json_decref(hdr);
	secret_free(pt);
	d.keys = (const struct crypto_key *const[]){ rsa_key };
	pt = decrypt_ok(out, n, &d);
	secret_free(pt);
	d.nkeys = 0;
	d.sym = sym;
	pt = decrypt_ok(out, n, &d);
	assert_memory_equal(pt->ptr, "multi", 5);
	secret_free(pt);
	/* A stranger's key: every recipient is named in the error. */
	d.sym = NULL;
	d.keys = (const struct crypto_key *const[]){ stranger };
	d.nkeys = 1;
	pt = NULL;
	core_errbuf_clear(&eb);
	assert_int_not_equal(crypto_jwe_decrypt(out, n, &d, &pt, NULL, &eb),
	    CORE_OK);
	TH_ASSERT_ERR_CONTAINS(&eb, "recipient 0 (ECDH-ES+A256KW): key unwrap "
	    "integrity check failed");
	TH_ASSERT_ERR_CONTAINS(&eb, "recipient 1 (RSA-OAEP): no private RSA");
	TH_ASSERT_ERR_CONTAINS(&eb, "recipient 2 (A256KW): no 32-byte");
	/* Allow-list: only RSA-OAEP-256 allowed, so nothing is tried. */
	d.keys = (const struct crypto_key *const[]){ ec };
	d.allowed_algs = (const char *const[]){ "RSA-OAEP-256", NULL };
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_jwe_decrypt(out, n, &d, &pt, NULL, &eb),
	    CORE_ERR_PERM);
	TH_ASSERT_ERR_CONTAINS(&eb, "ECDH-ES+A256KW is not allowed");
	d.allowed_algs = NULL;
	/* Tampered aad fails. */
	assert_int_equal(core_json_parse(out, n, 0, &doc, NULL), CORE_OK);
	json_object_set_new(doc, "aad", json_string("dGFtcGVyZWQ"));
	again = core_json_dumps(doc);
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_jwe_decrypt(again, strlen(again), &d, &pt,
	    NULL, &eb), CORE_ERR_AUTH);
	TH_ASSERT_ERR_CONTAINS(&eb, "tag mismatch");
	free(again);
	json_decref(doc);
	free(out);
	json_decref(extra);
	json_decref(unprot);
	secret_free(sym);
	crypto_key_free(ec);
	crypto_key_free(ecpub);
	crypto_key_free(rsapub);
	crypto_key_free(stranger);
}

static void
check_dec_err(const char *jwe, const struct crypto_jwe_dec_opts *d,
    enum core_err want, const char *has)
{
	struct secret *pt = NULL;
	struct core_errbuf eb;

	core_errbuf_clear(&eb);
	assert_int_equal(crypto_jwe_decrypt(jwe, strlen(jwe), d, &pt, NULL,
	    &eb), want);
	assert_null(pt);
	TH_ASSERT_ERR_CONTAINS(&eb, has);
}

static void
test_parse_and_header_errors(void **state)
{
	struct crypto_key *bob = jwk(BOB);
	struct crypto_jwe_dec_opts d = { 0 };
	uint8_t kek[16] = { 0 };
	struct secret *sym = secret_from(kek, 16);

	(void)state;
	d.keys = (const struct crypto_key *const[]){ bob };
	d.nkeys = 1;
	d.sym = sym;
	/* A compact JWE read from a file keeps its trailing newline. */
	{
		size_t n;
		char *k = th_vec("rfc7520_5.8.k", NULL);
		struct secret *kw = th_b64url_secret(k);
		char *jwe = th_vec("rfc7520_5.8.jwec", &n);
		char *nl = malloc(n + 3);
		struct crypto_jwe_dec_opts d2 = { 0 };
		struct secret *pt;

		memcpy(nl, jwe, n);
		memcpy(nl + n, "\r\n", 3);
		d2.sym = kw;
		pt = decrypt_ok(nl, n + 2, &d2);
		check_frodo(pt);
		secret_free(pt);
		free(nl);
		free(jwe);
		free(k);
		secret_free(kw);
	}
	check_dec_err("a.b.c", &d, CORE_ERR_INVALID, "five parts");
	check_dec_err("a.b.c.d.e.f", &d, CORE_ERR_INVALID, "five parts");
	check_dec_err("e30.AA.AA.AA.AA", &d, CORE_ERR_INVALID,
	    "required field \"alg\"");
	check_dec_err("!!.AA.AA.AA.AA", &d, CORE_ERR_INVALID,
	    "protected header is not valid base64url");
	check_dec_err("{\"iv\":\"AA\",\"ciphertext\":\"AA\"}", &d,
	    CORE_ERR_INVALID, "\"tag\" missing");
	check_dec_err("{\"protected\":\"e30\",\"iv\":\"A*\",\"ciphertext\":\"AA"
	    "\",\"tag\":\"AA\"}", &d, CORE_ERR_INVALID,
	    "member \"iv\" is not valid base64url");
	/* {"alg":"A128KW","enc":"A128GCM"} with a duplicate alg in the
	 * unprotected header. */
	check_dec_err("{\"protected\":\"eyJhbGciOiJBMTI4S1ciLCJlbmMiOiJBMTI4R0NN"
	    "In0\",\"unprotected\":{\"alg\":\"dir\"},\"iv\":\"AA\",\"ciphertext"
	    "\":\"AA\",\"tag\":\"AA\"}", &d, CORE_ERR_INVALID,
	    "more than one header");
	/* {"alg":"A128KW","enc":"A128GCM","zip":"DEF"} */
	check_dec_err("eyJhbGciOiJBMTI4S1ciLCJlbmMiOiJBMTI4R0NNIiwiemlwIjoiREVG"
	    "In0.AA.AA.AA.AA", &d, CORE_ERR_UNSUPPORTED, "zip");
	/* {"alg":"A128KW","enc":"A128GCM","crit":["exp"]} */
	check_dec_err("eyJhbGciOiJBMTI4S1ciLCJlbmMiOiJBMTI4R0NNIiwiY3JpdCI6WyJl"
	    "eHAiXX0.AA.AA.AA.AA", &d, CORE_ERR_UNSUPPORTED, "crit");
	/* {"alg":"PBES2-HS256+A128KW","enc":"A128GCM"} */
	check_dec_err("eyJhbGciOiJQQkVTMi1IUzI1NitBMTI4S1ciLCJlbmMiOiJBMTI4R0NN"
	    "In0.AA.AA.AA.AA", &d, CORE_ERR_UNSUPPORTED,
	    "unsupported alg \"PBES2-HS256+A128KW\"");
	/* {"alg":"A128KW","enc":"A128GCM"} with a 1-byte iv. */
	check_dec_err("eyJhbGciOiJBMTI4S1ciLCJlbmMiOiJBMTI4R0NNIn0.AA.AA.AA.AA",
	    &d, CORE_ERR_INVALID, "12-byte iv");
	/* {"alg":"ECDH-ES+A256KW","enc":"A256GCM"} without epk. */
	check_dec_err("eyJhbGciOiJFQ0RILUVTK0EyNTZLVyIsImVuYyI6IkEyNTZHQ00ifQ."
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAA"
	    "AAAA.AA.AAAAAAAAAAAAAAAAAAAAAA", &d, CORE_ERR_INVALID, "epk");
	check_dec_err("{\"protected\":\"e30\",\"recipients\":[],\"iv\":\"AA\","
	    "\"ciphertext\":\"AA\",\"tag\":\"AA\"}", &d, CORE_ERR_INVALID,
	    "recipients");
	d.max_len = 10;
	check_dec_err("a.b.c.d.e.f.g", &d, CORE_ERR_TOO_BIG, "exceeds");
	/* No options: nothing to decrypt with, and the error says so. */
	{
		struct secret *pt = NULL;
		struct core_errbuf eb;
		char *jwe = th_vec("rfc7520_5.8.jwec", NULL);

		core_errbuf_clear(&eb);
		assert_int_equal(crypto_jwe_decrypt(jwe, strlen(jwe), NULL,
		    &pt, NULL, &eb), CORE_ERR_NOT_FOUND);
		TH_ASSERT_ERR_CONTAINS(&eb, "no 16-byte key-wrap key");
		free(jwe);
	}
	secret_free(sym);
	crypto_key_free(bob);
}

/* Both parsers give the same result, error and message for jwe[0..n). */
static void
check_same(const char *jwe, size_t n, const struct crypto_jwe_dec_opts *d)
{
	struct secret *pt[2] = { NULL, NULL };
	json_t *hdr[2] = { NULL, NULL };
	struct core_errbuf eb[2];
	enum core_err err[2];

	for (int i = 0; i < 2; i++) {
		core_errbuf_clear(&eb[i]);
		err[i] = jwe_decrypt(jwe, n, d, i == 0, &pt[i], &hdr[i],
		    &eb[i]);
	}
	if (err[0] != err[1] || strcmp(core_errbuf_msg(&eb[0]),
	    core_errbuf_msg(&eb[1])) != 0)
		fail_msg("fast %d \"%s\" vs jansson %d \"%s\" on %.*s",
		    err[0], core_errbuf_msg(&eb[0]), err[1],
		    core_errbuf_msg(&eb[1]), (int)n, jwe);
	if (err[0] == CORE_OK) {
		assert_int_equal(pt[0]->len, pt[1]->len);
		assert_memory_equal(pt[0]->ptr, pt[1]->ptr, pt[0]->len);
		assert_true(json_equal(hdr[0], hdr[1]));
	}
	for (int i = 0; i < 2; i++) {
		secret_free(pt[i]);
		json_decref(hdr[i]);
	}
}

/*
 * The KBS's flattened JWE (V6) through jwe_parse_flat and through jansson:
 * as sent, reformatted, with other members, escapes, duplicates, bad
 * base64url, every prefix and every byte replaced by a JSON-significant
 * one. Wherever the fast parser declines, the jansson path must still
 * decide, so results and messages are the same in every case.
 */
static void
test_flat_parser_matches_jansson(void **state)
{
	static const char prot[] = "eyJhbGciOiJFQ0RILUVTK0EyNTZLVyIsImVuYyI6Ik"
	    "EyNTZHQ00iLCJlcGsiOnsiY3J2IjoiUC0yNTYiLCJrdHkiOiJFQyIsIngiOiJnSTBH"
	    "QUlMQmR1N1Q1M2FrckZtTXlHY3NGM241ZE83TW13TkJIS1c1U1YwIiwieSI6IlNMV1"
	    "94U2ZmemxQV3JIRVZJMzBESE1fNGVnVnd0M05RcWVVRDduTUZwcHMifX0";
	static const char ek[] = "T0NVWKoWucQiDmmVc2dmvQ8xVyt-7o5H1C0MnaCf5KFF"
	    "psfACs-0RQ";
	static const char *const variants[] = {
		"{\"protected\":\"%P\",\"encrypted_key\":\"%K\",\"iv\":"
		"\"AAECAwQFBgcICQoL\",\"ciphertext\":\"L2e6d6rFqXn-\",\"tag\":"
		"\"39gRW1s8-q60aKDnG0_2Ew\"}",
		" \r\n{ \"tag\" :\t\"39gRW1s8-q60aKDnG0_2Ew\" , \"iv\":"
		"\"AAECAwQFBgcICQoL\",\n\"ciphertext\":\"L2e6d6rFqXn-\","
		"\"encrypted_key\":\"%K\",\"protected\":\"%P\" }\n",
		/* aad: authenticated too, so the tag fails the same way. */
		"{\"protected\":\"%P\",\"encrypted_key\":\"%K\",\"aad\":"
		"\"AQ\",\"iv\":\"AAECAwQFBgcICQoL\",\"ciphertext\":"
		"\"L2e6d6rFqXn-\",\"tag\":\"39gRW1s8-q60aKDnG0_2Ew\"}",
		"{\"protected\":\"%P\",\"encrypted_key\":\"%K\",\"iv\":"
		"\"AAECAwQFBgcICQoL\",\"ciphertext\":\"L2e6d6rFqXn-\",\"tag\":"
		"\"39gRW1s8-q60aKDnG0_2Ew\",\"x\":\"y\"}",
		"{\"protected\":\"%P\",\"encrypted_key\":\"%K\",\"iv\":"
		"\"AAECAwQFBgcICQoL\",\"iv\":\"AAECAwQFBgcICQoL\",\"ciphertext"
		"\":\"L2e6d6rFqXn-\",\"tag\":\"39gRW1s8-q60aKDnG0_2Ew\"}",
		"{\"protected\":\"%P\",\"encrypted_key\":\"%K\",\"iv\":"
		"\"\\u0041AECAwQFBgcICQoL\",\"ciphertext\":\"L2e6d6rFqXn-\","
		"\"tag\":\"39gRW1s8-q60aKDnG0_2Ew\"}",
		"{\"protected\":\"%P\",\"encrypted_key\":\"%K\",\"iv\":"
		"\"AAECAwQFBgcICQo*\",\"ciphertext\":\"L2e6d6rFqXn-\",\"tag\":"
		"\"39gRW1s8-q60aKDnG0_2Ew\"}",
		"{\"protected\":\"%P\",\"encrypted_key\":\"%K\",\"iv\":"
		"\"AAECAwQFBgcICQoL\",\"ciphertext\":\"L2e6d6rFqXn-\"}",
		"{\"encrypted_key\":\"%K\",\"iv\":\"AAECAwQFBgcICQoL\","
		"\"ciphertext\":\"L2e6d6rFqXn-\",\"tag\":\"39gRW1s8-q60aKDnG0_"
		"2Ew\"}",
		"{\"protected\":\"%P\",\"encrypted_key\":\"%K\",\"iv\":"
		"\"AAECAwQFBgcICQoL\",\"ciphertext\":\"L2e6d6rFqXn-\",\"tag\":"
		"\"39gRW1s8-q60aKDnG0_2Ew\"}}",
		"{\"protected\":\"%P\",\"encrypted_key\":\"%K\",\"iv\":"
		"\"AAECAwQFBgcICQoL\",\"ciphertext\":\"L2e6d6rFqXn-\",\"tag\":"
		"\"39gRW1s8-q60aKDnG0_2Ew\",}",
		"{\"protected\":\"%P\",\"encrypted_key\":\"%K\",\"iv\":"
		"\"AAECAwQFBgcICQoL\",\"ciphertext\":\"L2e6d6rFqXn-\",\"tag\":"
		"\"39gRW1s8-q60aKDnG0_2Ew\",\"header\":{\"kid\":\"1\"}}",
		"{\"iv\":1}", "{}", "{", "{\"",
	};
	static const char repl[] = { '"', '\\', ' ', ',', ':', '}', '{',
		'A', '\x80', '\x00', '\x7f', '\f' };
	struct crypto_key *bob = jwk(BOB);
	struct crypto_jwe_dec_opts d = { 0 };
	struct core_buf b;

	(void)state;
	d.keys = (const struct crypto_key *const[]){ bob };
	d.nkeys = 1;
	for (size_t v = 0; v < CORE_ARRAY_LEN(variants); v++) {
		core_buf_init(&b, 0);
		for (const char *c = variants[v]; *c != '\0'; c++) {
			const char *ins = c[0] == '%' && c[1] == 'P' ? prot :
			    c[0] == '%' && c[1] == 'K' ? ek : NULL;

			if (ins != NULL) {
				assert_int_equal(core_buf_append_str(&b, ins),
				    CORE_OK);
				c++;
			} else {
				assert_int_equal(core_buf_append(&b, c, 1),
				    CORE_OK);
			}
		}
		check_same((const char *)b.data, b.len, &d);
		if (v == 0) {
			/* The first one decrypts, on both paths. */
			struct secret *pt = NULL;

			assert_int_equal(crypto_jwe_decrypt(b.data, b.len, &d,
			    &pt, NULL, NULL), CORE_OK);
			assert_memory_equal(pt->ptr, "hello kbs", 9);
			secret_free(pt);
			for (size_t n = 1; n < b.len; n++)
				check_same((const char *)b.data, n, &d);
			for (size_t i = 0; i < b.len; i++) {
				uint8_t keep = b.data[i];

				for (size_t r = 0; r < sizeof(repl); r++) {
					b.data[i] = (uint8_t)repl[r];
					check_same((const char *)b.data, b.len,
					    &d);
				}
				b.data[i] = keep;
			}
		}
		core_buf_cleanup(&b);
	}
	crypto_key_free(bob);
}

static void
test_apu_apv_and_protected_extra(void **state)
{
	struct crypto_key *k = NULL;
	struct crypto_jwe_recipient r = { "ECDH-ES", NULL, NULL, NULL };
	struct crypto_jwe_enc_opts o = { 0 };
	struct crypto_jwe_dec_opts d = { 0 };
	json_t *extra = json_pack("{s:s, s:s}", "kid", "tee", "typ", "JOSE");
	json_t *hdr = NULL, *doc = NULL;
	struct secret *pt = NULL;
	char *out = NULL, *bad;
	size_t n = 0;

	(void)state;
	assert_int_equal(crypto_key_generate(CRYPTO_KEY_EC_P384, 0, &k, NULL),
	    CORE_OK);
	r.key = k;
	o.apu = (const uint8_t *)"Alice";
	o.apu_len = 5;
	o.apv = (const uint8_t *)"Bob";
	o.apv_len = 3;
	o.protected_extra = extra;
	assert_int_equal(crypto_jwe_encrypt(&r, 1, &o, "kdf", 3, &out, &n,
	    NULL), CORE_OK);
	d.keys = (const struct crypto_key *const[]){ k };
	d.nkeys = 1;
	assert_int_equal(crypto_jwe_decrypt(out, n, &d, &pt, &hdr, NULL),
	    CORE_OK);
	assert_memory_equal(pt->ptr, "kdf", 3);
	assert_string_equal(json_string_value(json_object_get(hdr, "apu")),
	    "QWxpY2U");
	assert_string_equal(json_string_value(json_object_get(hdr, "apv")),
	    "Qm9i");
	assert_string_equal(json_string_value(json_object_get(hdr, "kid")),
	    "tee");
	secret_free(pt);
	json_decref(hdr);
	/* A different apv in an unprotected header cannot sneak in: the
	 * member would be duplicated, which is an error. */
	assert_int_equal(core_json_parse(out, n, 0, &doc, NULL), CORE_OK);
	json_object_set_new(doc, "unprotected", json_pack("{s:s}", "apv",
	    "eHh4"));
	bad = core_json_dumps(doc);
	check_dec_err(bad, &d, CORE_ERR_INVALID, "more than one header");
	free(bad);
	json_decref(doc);
	free(out);
	json_decref(extra);
	crypto_key_free(k);
}

static void
test_key_order_and_rsa1_5_oracle(void **state)
{
	struct crypto_key *right = NULL, *wrong = NULL;
	struct crypto_jwe_recipient r = { "ECDH-ES", NULL, NULL, NULL };
	struct crypto_jwe_dec_opts d = { 0 };
	struct core_errbuf eb;
	struct secret *pt = NULL;
	char *out = NULL, *jwe;
	size_t n = 0;

	(void)state;
	/* ECDH-ES direct: only the tag tells a wrong key, so the next key of
	 * the same curve must still be tried. */
	assert_int_equal(crypto_key_generate(CRYPTO_KEY_EC_P256, 0, &right,
	    NULL), CORE_OK);
	assert_int_equal(crypto_key_generate(CRYPTO_KEY_EC_P256, 0, &wrong,
	    NULL), CORE_OK);
	r.key = right;
	assert_int_equal(crypto_jwe_encrypt(&r, 1, NULL, "second", 6, &out, &n,
	    NULL), CORE_OK);
	d.keys = (const struct crypto_key *const[]){ wrong, right };
	d.nkeys = 2;
	pt = decrypt_ok(out, n, &d);
	assert_memory_equal(pt->ptr, "second", 6);
	secret_free(pt);
	d.nkeys = 1;
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_jwe_decrypt(out, n, &d, &pt, NULL, &eb),
	    CORE_ERR_AUTH);
	TH_ASSERT_ERR_CONTAINS(&eb, "tag mismatch");
	free(out);
	/* RSA1_5 with the wrong key reports a tag error, never a padding
	 * error (no Bleichenbacher oracle). */
	jwe = th_vec("rfc7520_5.1.jwef", &n);
	d.keys = (const struct crypto_key *const[]){ rsa_key };
	d.nkeys = 1;
	d.allow_rsa1_5 = true;
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_jwe_decrypt(jwe, n, &d, &pt, NULL, &eb),
	    CORE_ERR_AUTH);
	TH_ASSERT_ERR_CONTAINS(&eb, "tag mismatch");
	assert_null(strstr(core_errbuf_msg(&eb), "RSA1_5 decryption"));
	free(jwe);
	crypto_key_free(right);
	crypto_key_free(wrong);
}

static void
test_encrypt_errors(void **state)
{
	struct crypto_key *ec = NULL;
	struct crypto_jwe_recipient r[2] = { { "ECDH-ES", NULL, NULL, NULL },
		{ "ECDH-ES", NULL, NULL, NULL } };
	struct crypto_jwe_enc_opts o = { 0 };
	struct core_errbuf eb;
	char *out = NULL;

	(void)state;
	assert_int_equal(crypto_key_generate(CRYPTO_KEY_EC_P256, 0, &ec, NULL),
	    CORE_OK);
	r[0].key = r[1].key = ec;
	o.format = CRYPTO_JWE_GENERAL;
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_jwe_encrypt(r, 2, &o, "x", 1, &out, NULL, &eb),
	    CORE_ERR_INVALID);
	TH_ASSERT_ERR_CONTAINS(&eb, "single recipient");
	r[0].alg = "RSA1_5";
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_jwe_encrypt(r, 1, NULL, "x", 1, &out, NULL,
	    &eb), CORE_ERR_UNSUPPORTED);
	TH_ASSERT_ERR_CONTAINS(&eb, "RSA1_5");
	r[0].alg = "RSA-OAEP";
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_jwe_encrypt(r, 1, NULL, "x", 1, &out, NULL,
	    &eb), CORE_ERR_INVALID);
	TH_ASSERT_ERR_CONTAINS(&eb, "needs an RSA key");
	r[0].alg = "ECDH-ES+A256KW";
	o.enc = "A512GCM";
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_jwe_encrypt(r, 1, &o, "x", 1, &out, NULL, &eb),
	    CORE_ERR_UNSUPPORTED);
	TH_ASSERT_ERR_CONTAINS(&eb, "A512GCM");
	o.enc = NULL;
	o.format = CRYPTO_JWE_COMPACT;
	o.aad = (const uint8_t *)"x";
	o.aad_len = 1;
	assert_int_equal(crypto_jwe_encrypt(r, 1, &o, "x", 1, &out, NULL, NULL),
	    CORE_ERR_INVALID);
	o.format = CRYPTO_JWE_FLATTENED;
	assert_int_equal(crypto_jwe_encrypt(r, 2, &o, "x", 1, &out, NULL, NULL),
	    CORE_ERR_INVALID);
	assert_null(out);
	crypto_key_free(ec);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kbs_v6_exact),
		cmocka_unit_test(test_rfc7520_vectors),
		cmocka_unit_test(test_skopeo_testdata),
		cmocka_unit_test(test_roundtrip_matrix),
		cmocka_unit_test(test_tamper_every_part),
		cmocka_unit_test(test_general_multi_recipient),
		cmocka_unit_test(test_parse_and_header_errors),
		cmocka_unit_test(test_flat_parser_matches_jansson),
		cmocka_unit_test(test_apu_apv_and_protected_extra),
		cmocka_unit_test(test_key_order_and_rsa1_5_oracle),
		cmocka_unit_test(test_encrypt_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
