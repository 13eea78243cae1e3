/* test_aes.c -- AES-GCM (GCM spec / NIST vectors), AES-256-CTR (SP 800-38A)
 * and AES key wrap (RFC 3394), including tamper and bad-length cases. */
#include "helpers.h"

#include <openssl/evp.h>

struct gcm_vec {
	const char *k, *iv, *p, *a, *c, *t;
};

/* The GCM specification's test cases 2, 3, 14 and 16. */
static const struct gcm_vec gcm_vecs[] = {
	{ "00000000000000000000000000000000", "000000000000000000000000",
	  "00000000000000000000000000000000", "",
	  "0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf" },
	{ "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
	  "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	  "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255", "",
	  "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
	  "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
	  "4d5c2af327cd64a62cf35abd2ba6fab4" },
	{ "0000000000000000000000000000000000000000000000000000000000000000",
	  "000000000000000000000000", "00000000000000000000000000000000", "",
	  "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919" },
	{ "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
	  "cafebabefacedbaddecaf888",
	  "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	  "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
	  "feedfacedeadbeeffeedfacedeadbeefabaddad2",
	  "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	  "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
	  "76fc6ece0f4e1768cddf8853bb2d551b" },
};

static void
test_gcm_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < CORE_ARRAY_LEN(gcm_vecs); i++) {
		const struct gcm_vec *v = &gcm_vecs[i];
		size_t kl, ivl, pl, al, cl, tl;
		uint8_t *k = th_hex(v->k, &kl), *iv = th_hex(v->iv, &ivl);
		uint8_t *p = th_hex(v->p, &pl), *a = th_hex(v->a, &al);
		uint8_t *c = th_hex(v->c, &cl), *t = th_hex(v->t, &tl);
		uint8_t *out = malloc(pl + 1), *back = malloc(pl + 1);
		uint8_t tag[16];

		assert_int_equal(crypto_aes_gcm_seal(k, kl, iv, a, al, p, pl,
		    out, tag, NULL), CORE_OK);
		assert_memory_equal(out, c, cl);
		assert_memory_equal(tag, t, 16);
		assert_int_equal(crypto_aes_gcm_open(k, kl, iv, a, al, c, cl,
		    t, back, NULL), CORE_OK);
		assert_memory_equal(back, p, pl);
		free(k); free(iv); free(p); free(a); free(c); free(t);
		free(out); free(back);
	}
}

static void
test_gcm_tamper(void **state)
{
	const struct gcm_vec *v = &gcm_vecs[3];
	size_t kl, ivl, pl, al, cl, tl;
	uint8_t *k = th_hex(v->k, &kl), *iv = th_hex(v->iv, &ivl);
	uint8_t *p = th_hex(v->p, &pl), *a = th_hex(v->a, &al);
	uint8_t *c = th_hex(v->c, &cl), *t = th_hex(v->t, &tl);
	uint8_t *back = malloc(cl);
	struct core_errbuf eb;

	(void)state;
	/* Flip one bit in each of ciphertext, tag, aad, iv, key. */
	uint8_t *parts[] = { c, t, a, iv, k };
	size_t lens[] = { cl, tl, al, ivl, kl };

	for (size_t i = 0; i < CORE_ARRAY_LEN(parts); i++) {
		for (size_t pos = 0; pos < lens[i]; pos += 7) {
			parts[i][pos] ^= 0x01;
			core_errbuf_clear(&eb);
			assert_int_equal(crypto_aes_gcm_open(k, kl, iv, a, al,
			    c, cl, t, back, &eb), CORE_ERR_AUTH);
			TH_ASSERT_ERR_CONTAINS(&eb, "tag mismatch");
			parts[i][pos] ^= 0x01;
		}
	}
	/* Output is wiped on failure. */
	for (size_t i = 0; i < cl; i++)
		assert_int_equal(back[i], 0);
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_aes_gcm_open(k, 20, iv, a, al, c, cl, t, back,
	    &eb), CORE_ERR_INVALID);
	TH_ASSERT_ERR_CONTAINS(&eb, "16, 24 or 32");
	free(k); free(iv); free(p); free(a); free(c); free(t); free(back);
}

static void
test_ctr_sp800_38a(void **state)
{
	size_t kl, ivl, pl, cl;
	uint8_t *k = th_hex("603deb1015ca71be2b73aef0857d7781"
	    "1f352c073b6108d72d9810a30914dff4", &kl);
	uint8_t *iv = th_hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", &ivl);
	uint8_t *p = th_hex("6bc1bee22e409f96e93d7e117393172a"
	    "ae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52ef"
	    "f69f2445df4f9b17ad2b417be66c3710", &pl);
	uint8_t *c = th_hex("601ec313775789a5b7a7f504bbf3d228"
	    "f443e3ca4d62b59aca84e990cacaf5c52b0930daa23de94ce87017ba2d84988d"
	    "dfc9c58db67aada613c2dd08457941a6", &cl);
	uint8_t out[64];
	struct crypto_aes_ctr *ctx = NULL;
	size_t off = 0;
	static const size_t chunks[] = { 1, 15, 3, 29, 16 };

	(void)state;
	/* Odd-sized chunks must give the same stream as one call. */
	assert_int_equal(crypto_aes_ctr_new(k, iv, &ctx, NULL), CORE_OK);
	for (size_t i = 0; i < CORE_ARRAY_LEN(chunks); i++) {
		assert_int_equal(crypto_aes_ctr_update(ctx, p + off, chunks[i],
		    out + off, NULL), CORE_OK);
		off += chunks[i];
	}
	assert_int_equal(off, 64);
	crypto_aes_ctr_free(ctx);
	assert_memory_equal(out, c, 64);
	/* Decrypt in place. */
	assert_int_equal(crypto_aes_ctr_new(k, iv, &ctx, NULL), CORE_OK);
	assert_int_equal(crypto_aes_ctr_update(ctx, out, 64, out, NULL),
	    CORE_OK);
	crypto_aes_ctr_free(ctx);
	assert_memory_equal(out, p, 64);
	free(k); free(iv); free(p); free(c);
}

static void
test_ctr_counter_wraps_128_bits(void **state)
{
	uint8_t key[32], iv[16], zero[32] = { 0 }, out[32], ks[32];
	uint8_t blocks[32];
	struct crypto_aes_ctr *ctx = NULL;
	EVP_CIPHER_CTX *ecb;
	int len;

	(void)state;
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	memset(iv, 0xff, sizeof(iv));
	assert_int_equal(crypto_aes_ctr_new(key, iv, &ctx, NULL), CORE_OK);
	assert_int_equal(crypto_aes_ctr_update(ctx, zero, 32, out, NULL),
	    CORE_OK);
	crypto_aes_ctr_free(ctx);
	/* Expected keystream: E(ff..ff) then E(00..00). */
	memset(blocks, 0xff, 16);
	memset(blocks + 16, 0, 16);
	ecb = EVP_CIPHER_CTX_new();
	assert_int_equal(EVP_EncryptInit_ex(ecb, EVP_aes_256_ecb(), NULL, key,
	    NULL), 1);
	EVP_CIPHER_CTX_set_padding(ecb, 0);
	assert_int_equal(EVP_EncryptUpdate(ecb, ks, &len, blocks, 32), 1);
	EVP_CIPHER_CTX_free(ecb);
	assert_memory_equal(out, ks, 32);
}

static void
test_kw_rfc3394(void **state)
{
	static const struct {
		const char *kek, *key, *wrapped;
	} v[] = {
		{ "000102030405060708090a0b0c0d0e0f",
		  "00112233445566778899aabbccddeeff",
		  "1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5" },
		{ "000102030405060708090a0b0c0d0e0f1011121314151617",
		  "00112233445566778899aabbccddeeff",
		  "96778b25ae6ca435f92b5b97c050aed2468ab8a17ad84e5d" },
		{ "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		  "00112233445566778899aabbccddeeff",
		  "64e8c3f9ce0f5ba263e9777905818a2a93c8191e7d6e8ae7" },
		{ "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		  "00112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f",
		  "28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43b"
		  "fb988b9b7a02dd21" },
	};

	(void)state;
	for (size_t i = 0; i < CORE_ARRAY_LEN(v); i++) {
		size_t kl, dl, wl;
		uint8_t *kek = th_hex(v[i].kek, &kl);
		uint8_t *key = th_hex(v[i].key, &dl);
		uint8_t *w = th_hex(v[i].wrapped, &wl);
		uint8_t out[48], back[40];
		struct core_errbuf eb;

		assert_int_equal(crypto_aes_kw_wrap(kek, kl, key, dl, out,
		    NULL), CORE_OK);
		assert_memory_equal(out, w, wl);
		assert_int_equal(crypto_aes_kw_unwrap(kek, kl, w, wl, back,
		    NULL), CORE_OK);
		assert_memory_equal(back, key, dl);
		/* Any flipped byte fails the integrity check. */
		for (size_t pos = 0; pos < wl; pos++) {
			w[pos] ^= 0x80;
			core_errbuf_clear(&eb);
			assert_int_equal(crypto_aes_kw_unwrap(kek, kl, w, wl,
			    back, &eb), CORE_ERR_AUTH);
			TH_ASSERT_ERR_CONTAINS(&eb, "integrity");
			w[pos] ^= 0x80;
		}
		kek[0] ^= 1;
		assert_int_equal(crypto_aes_kw_unwrap(kek, kl, w, wl, back,
		    NULL), CORE_ERR_AUTH);
		free(kek); free(key); free(w);
	}
}

/* OpenSSL's own key-wrap cipher: the reference for the cross-check. */
static void
ossl_kw(const uint8_t *kek, size_t kl, const uint8_t *in, size_t n,
    bool wrap, uint8_t *out, size_t *out_len)
{
	const EVP_CIPHER *c = kl == 16 ? EVP_aes_128_wrap() : kl == 24 ?
	    EVP_aes_192_wrap() : EVP_aes_256_wrap();
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int l1 = 0, l2 = 0;

	assert_non_null(ctx);
	EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	assert_int_equal(EVP_CipherInit_ex(ctx, c, NULL, kek, NULL,
	    wrap ? 1 : 0), 1);
	assert_int_equal(EVP_CipherUpdate(ctx, out, &l1, in, (int)n), 1);
	assert_int_equal(EVP_CipherFinal_ex(ctx, out + l1, &l2), 1);
	*out_len = (size_t)(l1 + l2);
	EVP_CIPHER_CTX_free(ctx);
}

/*
 * Our RFC 3394 rounds (on AES-ECB) against OpenSSL's key-wrap cipher for
 * every KEK size and key lengths 16..256 bytes, random material, both
 * directions.
 */
static void
test_kw_matches_openssl(void **state)
{
	uint8_t kek[32], key[256], w[264 + 16], ref[264 + 16], back[264 + 16];
	size_t ref_len;

	(void)state;
	for (size_t kl = 16; kl <= 32; kl += 8) {
		for (size_t n = 16; n <= 256; n += 8) {
			assert_int_equal(core_random(kek, kl, NULL), CORE_OK);
			assert_int_equal(core_random(key, n, NULL), CORE_OK);
			assert_int_equal(crypto_aes_kw_wrap(kek, kl, key, n, w,
			    NULL), CORE_OK);
			ossl_kw(kek, kl, key, n, true, ref, &ref_len);
			assert_int_equal(ref_len, n + 8);
			assert_memory_equal(w, ref, n + 8);
			assert_int_equal(crypto_aes_kw_unwrap(kek, kl, w,
			    n + 8, back, NULL), CORE_OK);
			assert_memory_equal(back, key, n);
			ossl_kw(kek, kl, w, n + 8, false, ref, &ref_len);
			assert_int_equal(ref_len, n);
			assert_memory_equal(ref, key, n);
		}
	}
}

static void
test_kw_bad_lengths(void **state)
{
	uint8_t kek[32] = { 0 }, buf[64] = { 0 }, out[64];
	struct core_errbuf eb;

	(void)state;
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_aes_kw_wrap(kek, 32, buf, 12, out, &eb),
	    CORE_ERR_INVALID);
	TH_ASSERT_ERR_CONTAINS(&eb, "multiple of 8");
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_aes_kw_wrap(kek, 31, buf, 16, out, &eb),
	    CORE_ERR_INVALID);
	TH_ASSERT_ERR_CONTAINS(&eb, "KEK");
	core_errbuf_clear(&eb);
	assert_int_equal(crypto_aes_kw_unwrap(kek, 32, buf, 16, out, &eb),
	    CORE_ERR_INVALID);
	TH_ASSERT_ERR_CONTAINS(&eb, ">= 24");
	assert_int_equal(crypto_aes_kw_unwrap(kek, 32, buf, 41, out, NULL),
	    CORE_ERR_INVALID);
}

/*
 * The ocicrypt layer cipher and CoCo key wrap on the real images in
 * testdata: HMAC-SHA256 over the blob matches pubopts, AES-256-CTR with
 * the symkey/nonce gives the plain layer digest, and AES-256-GCM with the
 * KEK unwraps the AnnotationPacket to the exact private options.
 */
static void
layer_case(const char *dir)
{
	json_t *vec = NULL, *m = NULL, *pub = NULL, *pkt = NULL;
	const json_t *v, *layer;
	const char *digest, *want_hmac, *want_plain, *ann, *priv;
	uint8_t *symkey = NULL, *nonce = NULL, *hmac = NULL, *blob_pt;
	uint8_t *pjson = NULL, *wrapped = NULL, *iv = NULL;
	size_t kl, nl, hl, n, pl, wl, ivl;
	uint8_t mac[32], d[32];
	char path[256], *blob, *vtxt, *mtxt, *kek, *hex;
	struct crypto_hmac_ctx *h = NULL;
	struct crypto_aes_ctr *c = NULL;

	vtxt = th_testdata("ocicrypt/vectors.json", &n);
	assert_int_equal(core_json_parse(vtxt, n, 0, &vec, NULL), CORE_OK);
	v = json_object_get(vec, dir);
	assert_int_equal(core_json_parse(json_string_value(json_object_get(v,
	    "pubopts")), strlen(json_string_value(json_object_get(v,
	    "pubopts"))), 0, &pub, NULL), CORE_OK);
	want_hmac = json_string_value(json_object_get(pub, "hmac"));
	want_plain = json_string_value(json_object_get(v,
	    "plain_layer_digest"));
	assert_int_equal(core_json_get_b64(v, "symkey_b64", true, &symkey, &kl,
	    NULL), CORE_OK);
	assert_int_equal(core_json_get_b64(v, "nonce_b64", true, &nonce, &nl,
	    NULL), CORE_OK);
	assert_int_equal(core_json_get_b64(pub, "hmac", true, &hmac, &hl,
	    NULL), CORE_OK);
	assert_non_null(want_hmac);
	assert_int_equal(kl, 32);
	assert_int_equal(nl, 16);
	snprintf(path, sizeof(path), "ocicrypt/%s/manifest.json", dir);
	mtxt = th_testdata(path, &n);
	assert_int_equal(core_json_parse(mtxt, n, 0, &m, NULL), CORE_OK);
	layer = json_array_get(json_object_get(m, "layers"), 0);
	digest = json_string_value(json_object_get(layer, "digest"));
	snprintf(path, sizeof(path), "ocicrypt/%s/%s", dir, digest + 7);
	blob = th_testdata(path, &n);
	/* HMAC over the whole ciphertext, streamed in odd pieces. */
	assert_int_equal(crypto_hmac_ctx_new(symkey, kl, &h, NULL), CORE_OK);
	for (size_t off = 0; off < n; off += 13)
		assert_int_equal(crypto_hmac_ctx_update(h, blob + off,
		    n - off < 13 ? n - off : 13, NULL), CORE_OK);
	assert_int_equal(crypto_hmac_ctx_final(h, mac, NULL), CORE_OK);
	crypto_hmac_ctx_free(h);
	assert_int_equal(hl, 32);
	assert_memory_equal(mac, hmac, 32);
	/* CTR decrypt gives the plain layer. */
	blob_pt = malloc(n);
	assert_int_equal(crypto_aes_ctr_new(symkey, nonce, &c, NULL), CORE_OK);
	assert_int_equal(crypto_aes_ctr_update(c, (uint8_t *)blob, n, blob_pt,
	    NULL), CORE_OK);
	crypto_aes_ctr_free(c);
	assert_int_equal(crypto_sha256(blob_pt, n, d), CORE_OK);
	hex = core_hex_encode(d, 32);
	assert_string_equal(hex, want_plain + 7);
	free(hex);
	/* AnnotationPacket: AES-256-GCM(KEK, iv, privopts), no AAD. */
	ann = json_string_value(json_object_get(json_object_get(layer,
	    "annotations"), "org.opencontainers.image.enc.keys.provider."
	    "attestation-agent"));
	assert_non_null(ann);
	assert_int_equal(core_b64_decode(ann, strlen(ann), &pjson, &pl, NULL),
	    CORE_OK);
	assert_int_equal(core_json_parse(pjson, pl, 0, &pkt, NULL), CORE_OK);
	assert_int_equal(core_json_get_b64(pkt, "wrapped_data", true, &wrapped,
	    &wl, NULL), CORE_OK);
	assert_int_equal(core_json_get_b64(pkt, "iv", true, &iv, &ivl, NULL),
	    CORE_OK);
	assert_int_equal(ivl, 12);
	kek = th_testdata("ocicrypt/KEK.bin", &n);
	assert_int_equal(n, 32);
	priv = json_string_value(json_object_get(v, "privopts"));
	{
		uint8_t *out = malloc(wl);

		assert_int_equal(crypto_aes_gcm_open((uint8_t *)kek, 32, iv,
		    NULL, 0, wrapped, wl - 16, wrapped + wl - 16, out, NULL),
		    CORE_OK);
		assert_int_equal(wl - 16, strlen(priv));
		assert_memory_equal(out, priv, wl - 16);
		free(out);
	}
	free(kek); free(iv); free(wrapped); free(pjson); free(blob_pt);
	free(blob); free(mtxt); free(vtxt); free(symkey); free(nonce);
	free(hmac);
	json_decref(pkt);
	json_decref(m);
	json_decref(pub);
	json_decref(vec);
}

static void
test_ocicrypt_testdata(void **state)
{
	(void)state;
	layer_case("coco-wasm-raw");
	layer_case("coco-tar-gzip");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gcm_vectors),
		cmocka_unit_test(test_gcm_tamper),
		cmocka_unit_test(test_ctr_sp800_38a),
		cmocka_unit_test(test_ctr_counter_wraps_128_bits),
		cmocka_unit_test(test_kw_rfc3394),
		cmocka_unit_test(test_kw_matches_openssl),
		cmocka_unit_test(test_kw_bad_lengths),
		cmocka_unit_test(test_ocicrypt_testdata),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
