/*
 * test_ocicrypt.c -- the shared vectors (spec §10.1), the negative checks
 * (§10.2), options JSON byte-exactness, packets, KEK and kid forms, key
 * listing, round trips, the keyprovider protocol and module extraction.
 */
#include "unit/oci/oci_test_util.h"

#include "ocicrypt/ocicrypt.h"
#include "ocicrypt/ocicrypt_int.h"

#include <unistd.h>

#define KID "kbs:///default/key/propeller-addition"
#define WASM_DIGEST                                                            \
	"sha256:"                                                              \
	"f61fd62f57c41269c3c23f360eeaf1090b1db9c38651106674d48bc65dba88ba"
#define JWE_PLAIN                                                              \
	"sha256:"                                                              \
	"b1017f1b2f7185a0577b87429c4fffeecbb0f98fbeb3cb316ad0a29036e388f7"

STATIC enum core_err ocicrypt_gunzip(const uint8_t *p, size_t n, size_t max,
    uint8_t **out, size_t *len_out, struct core_errbuf *eb);

static json_t *vectors;

static int
setup(void **state)
{
	size_t n;
	uint8_t *p = tu_read_td("vectors.json", &n);

	(void)state;
	assert_int_equal(
	    core_json_parse_object(p, n, 0, &vectors, NULL), CORE_OK);
	free(p);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	json_decref(vectors);
	return 0;
}

static const char *
vec(const char *img, const char *key)
{
	const char *s = json_string_value(json_object_get(
	    img != NULL ? json_object_get(vectors, img) : vectors, key));

	assert_non_null(s);
	return s;
}

static struct secret *
kek_bin(void)
{
	char *p = tu_td("KEK.bin");
	struct secret *k = NULL;

	assert_int_equal(ocicrypt_kek_load(p, &k, NULL), CORE_OK);
	free(p);
	return k;
}

static struct crypto_key *
load_key(const char *rel)
{
	char *p = tu_td(rel);
	struct crypto_key *k = NULL;
	struct core_errbuf eb;

	core_errbuf_clear(&eb);
	if (crypto_key_load_file(p, &k, &eb) != CORE_OK)
		fail_msg("%s: %s", rel, core_errbuf_msg(&eb));
	free(p);
	return k;
}

/* Decrypts dir:<vector> into a fresh dir: and returns the layer digest. */
static enum core_err
decrypt_dir(const char *srcdir, const char *dstdir,
    const struct ocicrypt_keys *keys, struct oci_manifest **out,
    struct core_errbuf *eb)
{
	char s1[1024], s2[1024];
	struct oci_store *a = NULL, *b = NULL;
	enum core_err err;

	snprintf(s1, sizeof(s1), "dir:%s", srcdir);
	snprintf(s2, sizeof(s2), "dir:%s", dstdir);
	assert_int_equal(oci_store_open(s1, NULL, false, &a, NULL), CORE_OK);
	assert_int_equal(oci_store_open(s2, NULL, true, &b, NULL), CORE_OK);
	err = ocicrypt_image_decrypt(a, b, keys, eb);
	oci_store_free(a);
	oci_store_free(b);
	if (err == CORE_OK && out != NULL) {
		assert_int_equal(
		    oci_store_open(s2, NULL, false, &b, NULL), CORE_OK);
		assert_int_equal(
		    oci_store_get_image(b, NULL, NULL, out, NULL), CORE_OK);
		oci_store_free(b);
	}
	return err;
}

static void
check_plain_layer(const char *dir, const struct oci_manifest *m,
    const char *digest, const char *mt, int64_t size)
{
	char *p = tu_join(dir, digest + 7);
	size_t n;
	uint8_t *d = tu_read(p, &n);
	char got[OCI_DIGEST_LEN + 1];

	assert_int_equal(m->nlayers, 1);
	assert_string_equal(m->layers[0].digest, digest);
	assert_string_equal(m->layers[0].media_type, mt);
	assert_int_equal(m->layers[0].size, size);
	assert_int_equal((int64_t)n, size);
	oci_digest_of(d, n, got);
	assert_string_equal(got, digest);
	if (m->layers[0].annotations != NULL) {
		const char *k;
		json_t *v;

		json_object_foreach(m->layers[0].annotations, k, v)
		    assert_null(strstr(k, "org.opencontainers.image.enc"));
	}
	free(d);
	free(p);
}

static void
test_skopeo_jwe_vectors(void **state)
{
	static const struct {
		const char *dir;
		const char *key;
		const char *plain;
		int64_t size;
	} v[] = {
	    {"skopeo-jwe-rsa", "keys/priv.pem", JWE_PLAIN, 107},
	    {"skopeo-jwe-ec", "keys/ecpriv.pem", JWE_PLAIN, 107},
	    {"skopeo-jwe-multi", "keys/ecpriv.pem", JWE_PLAIN, 107},
	    {"skopeo-jwe-multi", "keys/priv.pem", JWE_PLAIN, 107},
	    {"skopeo-jwe-recompressed", "keys/priv.pem",
	        "sha256:34ff71e3408ecc2540d1fc1f16dc1655c533edf8aca3e40afb189"
	        "fa3abceb675",
	        38},
	};
	size_t i;

	(void)state;
	for (i = 0; i < CORE_ARRAY_LEN(v); i++) {
		struct crypto_key *k = load_key(v[i].key);
		const struct crypto_key *ks[1] = {k};
		struct ocicrypt_keys keys = {0};
		char *src = tu_td(v[i].dir), *tmp = tu_tmpdir();
		struct oci_manifest *m = NULL;
		struct core_errbuf eb;

		keys.jwe_keys = ks;
		keys.njwe_keys = 1;
		core_errbuf_clear(&eb);
		if (decrypt_dir(src, tmp, &keys, &m, &eb) != CORE_OK)
			fail_msg("%s with %s: %s", v[i].dir, v[i].key,
			    core_errbuf_msg(&eb));
		check_plain_layer(
		    tmp, m, v[i].plain, OCI_MT_LAYER_TAR_GZIP, v[i].size);
		oci_manifest_free(m);
		crypto_key_free(k);
		core_fs_rmtree(tmp, NULL);
		free(tmp);
		free(src);
	}
}

static void
test_coco_vectors(void **state)
{
	struct secret *kek = kek_bin();
	const struct secret *ks[1] = {kek};
	struct ocicrypt_keys keys = {0};
	char *src = tu_td("coco-wasm-raw"), *tmp = tu_tmpdir();
	struct oci_manifest *m = NULL;
	struct core_errbuf eb;
	char *dump;
	static const char want[] =
	    "{\"schemaVersion\":2,\"mediaType\":"
	    "\"application/vnd.oci.image.manifest.v1+json\",\"config\":{"
	    "\"mediaType\":\"application/vnd.wasm.config.v1+json\",\"digest\":"
	    "\"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61"
	    "caaff8a\",\"size\":2},\"layers\":[{\"mediaType\":\"application/"
	    "vnd.wasm.content.layer.v1+wasm\",\"digest\":\"sha256:f61fd62f57c41"
	    "269c3c23f360eeaf1090b1db9c38651106674d48bc65dba88ba\",\"size\":41,"
	    "\"annotations\":{\"org.opencontainers.image.title\":"
	    "\"addition.wasm\"}}]}";
	uint8_t *w1, *w2;
	size_t n1, n2;

	(void)state;
	keys.keks = ks;
	keys.nkeks = 1;
	core_errbuf_clear(&eb);
	if (decrypt_dir(src, tmp, &keys, &m, &eb) != CORE_OK)
		fail_msg("coco-wasm-raw: %s", core_errbuf_msg(&eb));
	check_plain_layer(tmp, m, WASM_DIGEST, OCI_MT_WASM_LAYER, 41);
	dump = tu_join(tmp, "manifest.json");
	w1 = tu_read(dump, &n1);
	assert_int_equal(n1, strlen(want));
	assert_memory_equal(w1, want, n1);
	free(w1);
	free(dump);
	oci_manifest_free(m);
	core_fs_rmtree(tmp, NULL);
	free(tmp);
	free(src);

	src = tu_td("coco-tar-gzip");
	tmp = tu_tmpdir();
	core_errbuf_clear(&eb);
	if (decrypt_dir(src, tmp, &keys, &m, &eb) != CORE_OK)
		fail_msg("coco-tar-gzip: %s", core_errbuf_msg(&eb));
	check_plain_layer(tmp, m, vec("coco-tar-gzip", "plain_layer_digest"),
	    OCI_MT_LAYER_TAR_GZIP, 139);
	oci_manifest_free(m);
	core_fs_rmtree(tmp, NULL);
	free(tmp);
	free(src);

	/* The proplet path: pull + decrypt + extract in memory. */
	w2 = tu_read_td("WASM.wasm", &n2);
	{
		static const char *const imgs[] = {
		    "coco-wasm-raw", "coco-tar-gzip"};
		size_t i;

		for (i = 0; i < 2; i++) {
			char *d = tu_td(imgs[i]), spec[1024];
			uint8_t *mod = NULL;
			size_t mlen = 0;

			snprintf(spec, sizeof(spec), "dir:%s", d);
			core_errbuf_clear(&eb);
			if (ocicrypt_pull_module(spec, NULL, &keys, 1 << 20,
			        &mod, &mlen, &eb) != CORE_OK)
				fail_msg(
				    "%s: %s", imgs[i], core_errbuf_msg(&eb));
			assert_int_equal(mlen, n2);
			assert_memory_equal(mod, w2, n2);
			free(mod);
			free(d);
		}
	}
	free(w2);
	secret_free(kek);
}

/* KEK given as base64 text (Propeller's convention). */
static void
test_kek_forms(void **state)
{
	struct secret *a = kek_bin(), *b = NULL;
	char text[64];
	struct core_errbuf eb;

	(void)state;
	snprintf(text, sizeof(text), "  %s\n", vec(NULL, "kek_b64"));
	assert_int_equal(
	    ocicrypt_kek_from_bytes(text, strlen(text), &b, NULL), CORE_OK);
	assert_int_equal(b->len, 32);
	assert_memory_equal(a->ptr, b->ptr, 32);
	secret_free(b);
	core_errbuf_clear(&eb);
	assert_int_equal(
	    ocicrypt_kek_from_bytes("AAEC", 4, &b, &eb), CORE_ERR_INVALID);
	assert_non_null(strstr(core_errbuf_msg(&eb), "32"));
	assert_int_equal(
	    ocicrypt_kek_from_bytes("", 0, &b, NULL), CORE_ERR_INVALID);
	assert_int_equal(
	    ocicrypt_kek_from_bytes(text, 33, &b, NULL), CORE_ERR_INVALID);
	secret_free(a);
}

static void
test_kid(void **state)
{
	static const struct {
		const char *kid;
		const char *path;
	} ok[] = {
	    {KID, "default/key/propeller-addition"},
	    {"kbs://kbs.example:8080/default/key/1", "default/key/1"},
	    {"kbs+pkcs11:///repo/type/tag", "repo/type/tag"},
	    {"kbs:///a/b/c?x=1", "a/b/c"},
	    {"/repo/type/tag", "repo/type/tag"},
	    {"host/repo/type/tag", "repo/type/tag"},
	};
	static const char *const bad[] = {"", "kbs:///a/b", "kbs:///a/b/c/d",
	    "http:///a/b/c", "kbs:///a/../c", "kbs:///a//c",
	    "/default/image-kek/x/y", "kbs:", "kbs:///a/b/c d"};
	size_t i;
	char *p;
	struct core_errbuf eb;

	(void)state;
	for (i = 0; i < CORE_ARRAY_LEN(ok); i++) {
		core_errbuf_clear(&eb);
		if (ocicrypt_kid_resource(ok[i].kid, &p, &eb) != CORE_OK)
			fail_msg("%s: %s", ok[i].kid, core_errbuf_msg(&eb));
		assert_string_equal(p, ok[i].path);
		free(p);
	}
	for (i = 0; i < CORE_ARRAY_LEN(bad); i++) {
		p = NULL;
		if (ocicrypt_kid_resource(bad[i], &p, NULL) == CORE_OK)
			fail_msg("accepted kid \"%s\"", bad[i]);
		assert_null(p);
	}
}

static void
test_options_exact(void **state)
{
	static const char *const imgs[] = {"coco-wasm-raw", "coco-tar-gzip"};
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		const char *po = vec(imgs[i], "privopts");
		const char *pu = vec(imgs[i], "pubopts");
		struct ocicrypt_privopts priv;
		struct ocicrypt_pubopts pub;
		struct secret *s = NULL;
		char *d;

		assert_int_equal(
		    ocicrypt_privopts_parse(po, strlen(po), &priv, NULL),
		    CORE_OK);
		assert_int_equal(priv.symkey->len, 32);
		assert_true(priv.has_nonce);
		assert_int_equal(
		    ocicrypt_privopts_dump(&priv, &s, NULL), CORE_OK);
		assert_int_equal(s->len, strlen(po));
		assert_memory_equal(s->ptr, po, s->len);
		secret_free(s);
		ocicrypt_privopts_cleanup(&priv);
		assert_int_equal(
		    ocicrypt_pubopts_parse(pu, strlen(pu), &pub, NULL),
		    CORE_OK);
		assert_string_equal(pub.cipher, OCICRYPT_CIPHER);
		assert_int_equal(pub.hmac_len, 32);
		d = ocicrypt_pubopts_dump(&pub);
		assert_string_equal(d, pu);
		free(d);
		ocicrypt_pubopts_cleanup(&pub);
	}
}

static enum core_err
buf_sink(void *ctx, const void *p, size_t n)
{
	return core_buf_append(ctx, p, n);
}

static void
test_options_tolerance(void **state)
{
	/* Reordered, whitespace, unknown members, integer-array bytes, nonce
	 * in the public options, null cipheroptions. */
	static const char priv_json[] =
	    " { \"x\": 1, \"cipheroptions\": null,"
	    " \"digest\": \"\", \"symkey\": [17,17,17,17,17,17,17,17,17,17,17,"
	    "17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17] }";
	static const char pub_json[] =
	    "{\"hmac\":\"BiNSjcQidy5wtx1ctditrKmj99N"
	    "RVC3+kmYektGbg3I\",\"cipheroptions\":{\"nonce\":\"IiIiIiIiIiIiIiIi"
	    "IiIiIg==\"},\"cipher\":\"AES_256_CTR_HMAC_SHA256\"}";
	struct ocicrypt_privopts priv;
	struct ocicrypt_pubopts pub;
	uint8_t *ct, *w;
	size_t n, wn;
	struct core_buf out;
	struct oci_blob_src src;
	struct core_errbuf eb;

	(void)state;
	assert_int_equal(
	    ocicrypt_privopts_parse(priv_json, strlen(priv_json), &priv, NULL),
	    CORE_OK);
	assert_false(priv.has_nonce);
	assert_int_equal(
	    ocicrypt_pubopts_parse(pub_json, strlen(pub_json), &pub, NULL),
	    CORE_OK);
	assert_true(pub.has_nonce);
	ct = tu_read_td("coco-wasm-raw/0aa127b04058c044e895817204d3da7042c5375f"
	                "59505d7763f885a7d0d0678c",
	    &n);
	w = tu_read_td("WASM.wasm", &wn);
	core_buf_init(&out, 0);
	src.fd = -1;
	src.mem = ct;
	src.len = n;
	core_errbuf_clear(&eb);
	if (ocicrypt_layer_decrypt(&src,
	        "sha256:0aa127b04058c044e895817204d3d"
	        "a7042c5375f59505d7763f885a7d0d0678c",
	        &priv, &pub, buf_sink, &out, &eb) != CORE_OK)
		fail_msg("tolerant options: %s", core_errbuf_msg(&eb));
	assert_int_equal(out.len, wn);
	assert_memory_equal(out.data, w, wn);
	/* A wrong expected digest is refused before any output. */
	core_buf_reset(&out);
	core_errbuf_clear(&eb);
	assert_int_equal(ocicrypt_layer_decrypt(&src, WASM_DIGEST, &priv, &pub,
	                     buf_sink, &out, &eb),
	    CORE_ERR_AUTH);
	assert_int_equal(out.len, 0);
	assert_non_null(strstr(core_errbuf_msg(&eb), "digest mismatch"));
	core_buf_cleanup(&out);
	free(ct);
	free(w);
	ocicrypt_privopts_cleanup(&priv);
	ocicrypt_pubopts_cleanup(&pub);
}

static void
layer_decrypt_case(const char *privj, const char *pubj, const uint8_t *ct,
    size_t n, enum core_err want, const char *msg)
{
	struct ocicrypt_privopts priv;
	struct ocicrypt_pubopts pub;
	struct core_buf out;
	struct oci_blob_src src = {-1, ct, n};
	struct core_errbuf eb;
	enum core_err err;

	assert_int_equal(
	    ocicrypt_privopts_parse(privj, strlen(privj), &priv, NULL),
	    CORE_OK);
	assert_int_equal(
	    ocicrypt_pubopts_parse(pubj, strlen(pubj), &pub, NULL), CORE_OK);
	core_buf_init(&out, 0);
	core_errbuf_clear(&eb);
	err = ocicrypt_layer_decrypt(
	    &src, NULL, &priv, &pub, buf_sink, &out, &eb);
	if (err != want)
		fail_msg("got %s (%s), want %s", core_err_str(err),
		    core_errbuf_msg(&eb), core_err_str(want));
	if (want != CORE_OK) {
		assert_int_equal(out.len, 0); /* nothing released */
		if (strstr(core_errbuf_msg(&eb), msg) == NULL)
			fail_msg(
			    "\"%s\" lacks \"%s\"", core_errbuf_msg(&eb), msg);
	} else {
		size_t wn;
		uint8_t *w = tu_read_td("WASM.wasm", &wn);

		assert_int_equal(out.len, wn);
		assert_memory_equal(out.data, w, wn);
		free(w);
	}
	core_buf_cleanup(&out);
	ocicrypt_privopts_cleanup(&priv);
	ocicrypt_pubopts_cleanup(&pub);
}

static void
test_layer_cipher_checks(void **state)
{
	const char *po = vec("coco-wasm-raw", "privopts");
	const char *pu = vec("coco-wasm-raw", "pubopts");
	uint8_t *ct;
	size_t n, i;

	(void)state;
	ct = tu_read_td("coco-wasm-raw/0aa127b04058c044e895817204d3da7042c5375f"
	                "59505d7763f885a7d0d0678c",
	    &n);
	layer_decrypt_case(po, pu, ct, n, CORE_OK, "");
	/* Any flipped byte fails the HMAC and releases nothing. */
	for (i = 0; i < n; i += 7) {
		ct[i] ^= 0x80;
		layer_decrypt_case(po, pu, ct, n, CORE_ERR_AUTH, "HMAC");
		ct[i] ^= 0x80;
	}
	layer_decrypt_case(po, pu, ct, n - 1, CORE_ERR_AUTH, "HMAC");
	layer_decrypt_case(po,
	    "{\"cipher\":\"AES_128_CBC\",\"hmac\":\"BiNSjcQ"
	    "idy5wtx1ctditrKmj99NRVC3+kmYektGbg3I=\",\"cipheroptions\":{}}",
	    ct, n, CORE_ERR_UNSUPPORTED, "AES_128_CBC");
	layer_decrypt_case(po,
	    "{\"cipher\":\"AES_256_CTR_HMAC_SHA256\","
	    "\"hmac\":null,\"cipheroptions\":{}}",
	    ct, n, CORE_ERR_INVALID, "HMAC is not provided");
	layer_decrypt_case("{\"symkey\":\"ERERERERERERERERERERERERERERERERERER"
	                   "ERERERE=\",\"digest\":\"\",\"cipheroptions\":{}}",
	    pu, ct, n, CORE_ERR_INVALID, "nonce");
	layer_decrypt_case(
	    "{\"symkey\":\"EREREREREREREREREREREQ==\",\"digest\":"
	    "\"\",\"cipheroptions\":{\"nonce\":\"IiIiIiIiIiIiIiIiIiIiIg==\"}}",
	    pu, ct, n, CORE_ERR_INVALID, "32");
	{
		struct ocicrypt_privopts priv;
		struct core_errbuf eb;
		static const char sn[] =
		    "{\"symkey\":\"ERERERERERERERERERERE"
		    "RERERERERERERERERERERE=\",\"cipheroptions\":{\"nonce\":"
		    "\"IiIiIiIi\"}}";

		core_errbuf_clear(&eb);
		assert_int_equal(
		    ocicrypt_privopts_parse(sn, strlen(sn), &priv, &eb),
		    CORE_ERR_INVALID);
		assert_non_null(strstr(core_errbuf_msg(&eb), "nonce"));
	}
	free(ct);
}

static void
test_packets(void **state)
{
	size_t n;
	uint8_t *p = tu_read_td("sample_kbc_annotation.json", &n);
	json_t *root = NULL;
	struct ocicrypt_packet pk;
	struct secret *kek = NULL, *po = NULL;
	const char *kb, *want;
	char *pj;
	struct core_errbuf eb;

	(void)state;
	assert_int_equal(core_json_parse_object(p, n, 0, &root, NULL), CORE_OK);
	free(p);
	kb = json_string_value(json_object_get(root, "kek_b64"));
	want = json_string_value(json_object_get(root, "expected_plaintext"));
	pj = core_json_dumps(json_object_get(root, "annotation_packet"));
	assert_non_null(kb);
	assert_non_null(want);
	assert_int_equal(
	    ocicrypt_packet_parse(pj, strlen(pj), &pk, NULL), CORE_OK);
	assert_string_equal(pk.kid, "kbs:///default/key/1");
	assert_int_equal(
	    ocicrypt_kek_from_bytes(kb, strlen(kb), &kek, NULL), CORE_OK);
	assert_int_equal(ocicrypt_packet_unwrap(&pk, kek, &po, NULL), CORE_OK);
	assert_int_equal(po->len, strlen(want));
	assert_memory_equal(po->ptr, want, po->len);
	secret_free(po);
	/* Tampered wrapped_data and iv, and a wrong KEK, fail GCM. */
	pk.wrapped[3] ^= 1;
	core_errbuf_clear(&eb);
	assert_int_equal(
	    ocicrypt_packet_unwrap(&pk, kek, &po, &eb), CORE_ERR_AUTH);
	assert_non_null(strstr(core_errbuf_msg(&eb), "kbs:///default/key/1"));
	pk.wrapped[3] ^= 1;
	pk.iv[0] ^= 1;
	assert_int_equal(
	    ocicrypt_packet_unwrap(&pk, kek, &po, NULL), CORE_ERR_AUTH);
	pk.iv[0] ^= 1;
	kek->ptr[0] ^= 1;
	assert_int_equal(
	    ocicrypt_packet_unwrap(&pk, kek, &po, NULL), CORE_ERR_AUTH);
	kek->ptr[0] ^= 1;
	free(pk.wrap_type);
	pk.wrap_type = strdup("A128KW");
	core_errbuf_clear(&eb);
	assert_int_equal(
	    ocicrypt_packet_unwrap(&pk, kek, &po, &eb), CORE_ERR_UNSUPPORTED);
	assert_non_null(strstr(core_errbuf_msg(&eb), "A128KW"));
	ocicrypt_packet_cleanup(&pk);
	secret_free(kek);
	free(pj);
	json_decref(root);

	/* Re-wrapping the coco-wasm-raw options with its KEK and iv gives
	 * exactly the annotation in the vector. */
	{
		uint8_t *m = tu_read_td("coco-wasm-raw/manifest.json", &n);
		struct oci_manifest *man = NULL;
		const char *ann;
		uint8_t iv[12];
		char *b64;
		const char *po_s = vec("coco-wasm-raw", "privopts");

		assert_int_equal(
		    oci_manifest_parse(m, n, NULL, &man, NULL), CORE_OK);
		ann = json_string_value(json_object_get(
		    man->layers[0].annotations, OCICRYPT_ANNOT_COCO));
		assert_non_null(ann);
		memset(iv, 0x33, sizeof(iv));
		kek = kek_bin();
		assert_int_equal(ocicrypt_packet_wrap(KID, kek, iv, po_s,
		                     strlen(po_s), &pk, NULL),
		    CORE_OK);
		pj = ocicrypt_packet_dump(&pk);
		b64 = core_b64_encode(pj, strlen(pj));
		assert_string_equal(b64, ann);
		free(b64);
		free(pj);
		ocicrypt_packet_cleanup(&pk);
		assert_int_equal(ocicrypt_packet_wrap("/default/image-kek/x",
		                     kek, iv, po_s, strlen(po_s), &pk, NULL),
		    CORE_ERR_INVALID);
		secret_free(kek);
		oci_manifest_free(man);
		free(m);
	}
	assert_int_equal(
	    ocicrypt_packet_parse("{\"kid\":\"k\"}", 11, &pk, NULL),
	    CORE_ERR_INVALID);
	assert_int_equal(
	    ocicrypt_packet_parse(
	        "{\"kid\":\"k\",\"wrap_type\":"
	        "\"A256GCM\",\"iv\":\"AAAA\",\"wrapped_data\":\"!!\"}",
	        62, &pk, NULL),
	    CORE_ERR_INVALID);
}

static void
test_keyreqs(void **state)
{
	static const struct {
		const char *dir;
		const char *scheme;
		const char *kid;
		const char *alg;
	} v[] = {
	    {"coco-wasm-raw", "provider.attestation-agent", KID, "A256GCM"},
	    {"coco-tar-gzip", "provider.attestation-agent", KID, "A256GCM"},
	    {"skopeo-jwe-rsa", "jwe", NULL, "RSA-OAEP"},
	    {"skopeo-jwe-ec", "jwe", NULL, "ECDH-ES+A256KW"},
	    {"skopeo-jwe-multi", "jwe", NULL, "ECDH-ES+A256KW,RSA-OAEP"},
	};
	size_t i, n;

	(void)state;
	for (i = 0; i < CORE_ARRAY_LEN(v); i++) {
		char rel[128];
		uint8_t *raw;
		struct oci_manifest *m = NULL;
		struct ocicrypt_keyreq *r = NULL;
		size_t nr = 0;

		snprintf(rel, sizeof(rel), "%s/manifest.json", v[i].dir);
		raw = tu_read_td(rel, &n);
		assert_int_equal(
		    oci_manifest_parse(raw, n, NULL, &m, NULL), CORE_OK);
		assert_int_equal(
		    ocicrypt_layer_keyreqs(&m->layers[0], &r, &nr, NULL),
		    CORE_OK);
		assert_int_equal(nr, 1);
		assert_string_equal(r[0].scheme, v[i].scheme);
		if (v[i].kid != NULL)
			assert_string_equal(r[0].kid, v[i].kid);
		assert_string_equal(r[0].alg, v[i].alg);
		ocicrypt_keyreqs_free(r, nr);
		oci_manifest_free(m);
		free(raw);
	}
}

/* Wrong keys name what failed; a flipped byte leaves no output. */
static void
test_negative_images(void **state)
{
	struct crypto_key *ec = load_key("keys/ecpriv.pem");
	const struct crypto_key *ks[1] = {ec};
	struct ocicrypt_keys keys = {0};
	struct secret *kek = kek_bin();
	const struct secret *keks[1] = {kek};
	char *src = tu_td("skopeo-jwe-rsa"), *tmp = tu_tmpdir();
	char *out = tu_join(tmp, "out"), *copy = tu_join(tmp, "img");
	struct core_errbuf eb;

	(void)state;
	keys.jwe_keys = ks;
	keys.njwe_keys = 1;
	core_errbuf_clear(&eb);
	assert_int_equal(
	    decrypt_dir(src, out, &keys, NULL, &eb), CORE_ERR_AUTH);
	assert_non_null(strstr(core_errbuf_msg(&eb), "jwe"));
	assert_int_equal(tu_count_dir(out), 1); /* only "version" */
	free(src);

	/* coco-wasm-raw with the wrong KEK names the kid. */
	kek->ptr[5] ^= 0xff;
	keys.jwe_keys = NULL;
	keys.njwe_keys = 0;
	keys.keks = keks;
	keys.nkeks = 1;
	src = tu_td("coco-wasm-raw");
	core_fs_rmtree(out, NULL);
	core_errbuf_clear(&eb);
	assert_int_equal(
	    decrypt_dir(src, out, &keys, NULL, &eb), CORE_ERR_AUTH);
	assert_non_null(strstr(core_errbuf_msg(&eb), KID));
	kek->ptr[5] ^= 0xff;

	/* Flip one ciphertext byte and fix up the manifest digest: the HMAC
	 * check fails and no layer or manifest is written. */
	{
		const char *old = "0aa127b04058c044e895817204d3da7042c5375f5950"
		                  "5d7763f885a7d0d0678c";
		char *bp, *mp, *np, *pos;
		uint8_t *b, *man;
		size_t bn, mn;
		char nd[OCI_DIGEST_LEN + 1];

		tu_copy_dir(src, copy);
		bp = tu_join(copy, old);
		b = tu_read(bp, &bn);
		b[20] ^= 1;
		oci_digest_of(b, bn, nd);
		unlink(bp);
		np = tu_join(copy, nd + 7);
		tu_write(np, b, bn);
		mp = tu_join(copy, "manifest.json");
		man = tu_read(mp, &mn);
		pos = strstr((char *)man, old);
		assert_non_null(pos);
		memcpy(pos, nd + 7, 64);
		tu_write(mp, man, mn);
		core_fs_rmtree(out, NULL);
		core_errbuf_clear(&eb);
		assert_int_equal(
		    decrypt_dir(copy, out, &keys, NULL, &eb), CORE_ERR_AUTH);
		assert_non_null(strstr(core_errbuf_msg(&eb), "HMAC"));
		assert_int_equal(tu_count_dir(out), 1);

		/* Missing pubopts is refused. */
		pos =
		    strstr((char *)man, "org.opencontainers.image.enc.pubopts");
		assert_non_null(pos);
		memcpy(pos, "org.opencontainers.image.xxx.pubopts", 36);
		tu_write(mp, man, mn);
		core_fs_rmtree(out, NULL);
		core_errbuf_clear(&eb);
		assert_int_equal(
		    decrypt_dir(copy, out, &keys, NULL, &eb), CORE_ERR_INVALID);
		assert_non_null(strstr(core_errbuf_msg(&eb), "pubopts"));
		free(b);
		free(man);
		free(bp);
		free(np);
		free(mp);
	}
	crypto_key_free(ec);
	secret_free(kek);
	core_fs_rmtree(tmp, NULL);
	free(tmp);
	free(out);
	free(copy);
	free(src);
}

/* Ours encrypts (JWE RSA + EC, and CoCo) and decrypts back. */
static void
test_round_trip(void **state)
{
	static const char *const imgs[] = {"coco-wasm-raw", "coco-tar-gzip"};
	struct crypto_key *rsa = load_key("keys/pub.pem");
	struct crypto_key *ec = load_key("keys/ecpub.pem");
	struct crypto_key *rsap = load_key("keys/priv.pem");
	const struct crypto_key *pubs[2] = {rsa, ec};
	const struct crypto_key *privs[1] = {rsap};
	struct secret *kek = kek_bin();
	const struct secret *keks[1] = {kek};
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		char *tmp = tu_tmpdir(), *plain = tu_join(tmp, "plain");
		char *enc = tu_join(tmp, "enc"), *dec = tu_join(tmp, "dec");
		char s1[1024], s2[1024];
		struct oci_store *a = NULL, *b = NULL;
		struct ocicrypt_enc_config ec_cfg = {0};
		struct ocicrypt_keys keys = {0};
		struct oci_manifest *m0 = NULL, *m1 = NULL, *m2 = NULL;
		struct ocicrypt_keyreq *r = NULL;
		size_t nr = 0;
		struct core_errbuf eb;
		char *src = tu_td(imgs[i]);

		/* decrypt the vector to get a plain image */
		keys.keks = keks;
		keys.nkeks = 1;
		assert_int_equal(
		    decrypt_dir(src, plain, &keys, &m0, NULL), CORE_OK);
		snprintf(s1, sizeof(s1), "dir:%s", plain);
		snprintf(s2, sizeof(s2), "oci:%s:enc", enc);
		assert_int_equal(
		    oci_store_open(s1, NULL, false, &a, NULL), CORE_OK);
		assert_int_equal(
		    oci_store_open(s2, NULL, true, &b, NULL), CORE_OK);
		ec_cfg.jwe_pubkeys = pubs;
		ec_cfg.njwe = 2;
		ec_cfg.coco_kid = KID;
		ec_cfg.coco_kek = kek;
		core_errbuf_clear(&eb);
		if (ocicrypt_image_encrypt(a, b, &ec_cfg, &eb) != CORE_OK)
			fail_msg(
			    "encrypt %s: %s", imgs[i], core_errbuf_msg(&eb));
		oci_store_free(a);
		oci_store_free(b);
		assert_int_equal(
		    oci_store_open(s2, NULL, false, &a, NULL), CORE_OK);
		assert_int_equal(
		    oci_store_get_image(a, NULL, NULL, &m1, NULL), CORE_OK);
		oci_store_free(a);
		assert_true(ocicrypt_media_encrypted(m1->layers[0].media_type));
		assert_string_equal(m1->config.digest, m0->config.digest);
		assert_int_equal(m1->layers[0].size, m0->layers[0].size);
		assert_int_equal(
		    ocicrypt_layer_keyreqs(&m1->layers[0], &r, &nr, NULL),
		    CORE_OK);
		assert_int_equal(nr, 2);
		ocicrypt_keyreqs_free(r, nr);

		/* decrypt with only the RSA private key */
		memset(&keys, 0, sizeof(keys));
		keys.jwe_keys = privs;
		keys.njwe_keys = 1;
		snprintf(s1, sizeof(s1), "dir:%s", dec);
		assert_int_equal(
		    oci_store_open(s2, NULL, false, &a, NULL), CORE_OK);
		assert_int_equal(
		    oci_store_open(s1, NULL, true, &b, NULL), CORE_OK);
		core_errbuf_clear(&eb);
		if (ocicrypt_image_decrypt(a, b, &keys, &eb) != CORE_OK)
			fail_msg(
			    "decrypt %s: %s", imgs[i], core_errbuf_msg(&eb));
		oci_store_free(a);
		oci_store_free(b);
		assert_int_equal(
		    oci_store_open(s1, NULL, false, &a, NULL), CORE_OK);
		assert_int_equal(
		    oci_store_get_image(a, NULL, NULL, &m2, NULL), CORE_OK);
		oci_store_free(a);
		assert_int_equal(m2->raw_len, m0->raw_len);
		assert_memory_equal(m2->raw, m0->raw, m0->raw_len);

		/* encrypting an encrypted image is refused */
		snprintf(s1, sizeof(s1), "dir:%s", src);
		snprintf(s2, sizeof(s2), "dir:%s/again", tmp);
		assert_int_equal(
		    oci_store_open(s1, NULL, false, &a, NULL), CORE_OK);
		assert_int_equal(
		    oci_store_open(s2, NULL, true, &b, NULL), CORE_OK);
		core_errbuf_clear(&eb);
		assert_int_equal(ocicrypt_image_encrypt(a, b, &ec_cfg, &eb),
		    CORE_ERR_INVALID);
		assert_non_null(strstr(core_errbuf_msg(&eb), "already"));
		oci_store_free(a);
		oci_store_free(b);

		oci_manifest_free(m0);
		oci_manifest_free(m1);
		oci_manifest_free(m2);
		core_fs_rmtree(tmp, NULL);
		free(src);
		free(tmp);
		free(plain);
		free(enc);
		free(dec);
	}
	crypto_key_free(rsa);
	crypto_key_free(ec);
	crypto_key_free(rsap);
	secret_free(kek);
}

static void
test_keyprovider(void **state)
{
	char *tmp = tu_tmpdir(), *kp = tu_join(tmp, "kek");
	const char *po = vec("coco-wasm-raw", "privopts");
	char *pob = core_b64_encode(po, strlen(po)), *param, *resp = NULL;
	struct core_buf b;
	json_t *r = NULL, *ann;
	uint8_t *annb = NULL, *optsb = NULL;
	size_t annl = 0, optsl = 0;
	struct secret *kek = kek_bin();
	const struct secret *keks[1] = {kek};
	struct ocicrypt_kp_config cfg = {keks, 1, NULL, NULL};
	struct core_errbuf eb;
	char text[300];

	(void)state;
	tu_write(kp, vec(NULL, "kek_b64"), strlen(vec(NULL, "kek_b64")));
	snprintf(text, sizeof(text), "keypath=%s::keyid=%s::algorithm=A256GCM",
	    kp, KID);
	param = core_b64_encode(text, strlen(text));
	core_buf_init(&b, 0);
	core_buf_printf(&b,
	    "{\"op\":\"keywrap\",\"keywrapparams\":{\"ec\":{"
	    "\"Parameters\":{\"attestation-agent\":[\"%s\"]},\"DecryptConfig\":"
	    "{\"Parameters\":{}}},\"optsdata\":\"%s\"},\"keyunwrapparams\":{"
	    "\"dc\":null,\"annotation\":null}}",
	    param, pob);
	core_errbuf_clear(&eb);
	if (ocicrypt_keyprovider_handle(b.data, b.len, &cfg, &resp, &eb) !=
	    CORE_OK)
		fail_msg("keywrap: %s", core_errbuf_msg(&eb));
	assert_int_equal(
	    core_json_parse_object(resp, strlen(resp), 0, &r, NULL), CORE_OK);
	ann =
	    json_object_get(json_object_get(r, "keywrapresults"), "annotation");
	assert_true(json_is_array(ann));
	assert_int_equal(
	    ocicrypt_json_bytes(ann, "a", 1 << 20, &annb, &annl, NULL),
	    CORE_OK);
	json_decref(r);
	free(resp);

	/* keyunwrap with the annotation as base64 (what Go sends) */
	{
		char *ab = core_b64_encode(annb, annl);

		core_buf_reset(&b);
		core_buf_printf(&b,
		    "{\"op\":\"keyunwrap\",\"keywrapparams\":{"
		    "\"ec\":null,\"optsdata\":null},\"keyunwrapparams\":{"
		    "\"dc\":"
		    "{\"Parameters\":{\"attestation-agent\":["
		    "\"Y2Nfa2JjOjpodHRwO"
		    "i8vMTI3LjAuMC4xOjgwODA=\"]}},\"annotation\":\"%s\"}}",
		    ab);
		free(ab);
	}
	resp = NULL;
	core_errbuf_clear(&eb);
	if (ocicrypt_keyprovider_handle(b.data, b.len, &cfg, &resp, &eb) !=
	    CORE_OK)
		fail_msg("keyunwrap: %s", core_errbuf_msg(&eb));
	assert_int_equal(
	    core_json_parse_object(resp, strlen(resp), 0, &r, NULL), CORE_OK);
	assert_int_equal(
	    ocicrypt_json_bytes(
	        json_object_get(
	            json_object_get(r, "keyunwrapresults"), "optsdata"),
	        "o", 1 << 20, &optsb, &optsl, NULL),
	    CORE_OK);
	assert_int_equal(optsl, strlen(po));
	assert_memory_equal(optsb, po, optsl);
	json_decref(r);
	free(resp);

	/* wrong KEK: names the kid */
	kek->ptr[0] ^= 1;
	resp = NULL;
	core_errbuf_clear(&eb);
	assert_int_equal(
	    ocicrypt_keyprovider_handle(b.data, b.len, &cfg, &resp, &eb),
	    CORE_ERR_AUTH);
	assert_non_null(strstr(core_errbuf_msg(&eb), KID));
	assert_null(resp);
	kek->ptr[0] ^= 1;
	/* bad requests */
	assert_int_equal(ocicrypt_keyprovider_handle(
	                     "{\"op\":\"x\"}", 10, &cfg, &resp, NULL),
	    CORE_ERR_UNSUPPORTED);
	assert_int_equal(ocicrypt_keyprovider_handle("{", 1, &cfg, &resp, NULL),
	    CORE_ERR_INVALID);
	core_buf_reset(&b);
	core_buf_printf(&b,
	    "{\"op\":\"keywrap\",\"keywrapparams\":{\"ec\":{"
	    "\"Parameters\":{\"x\":[\"a2V5aWQ9a2JzOi8vL2EvYi9j\"]}},"
	    "\"optsdata\":\"%s\"}}",
	    pob);
	core_errbuf_clear(&eb);
	assert_int_equal(
	    ocicrypt_keyprovider_handle(b.data, b.len, &cfg, &resp, &eb),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(core_errbuf_msg(&eb), "keypath"));

	core_buf_cleanup(&b);
	free(annb);
	free(optsb);
	free(param);
	free(pob);
	secret_free(kek);
	core_fs_rmtree(tmp, NULL);
	free(tmp);
	free(kp);
}

static void
test_extract(void **state)
{
	uint8_t *gz, *tar = NULL, *mod = NULL;
	size_t gn, tn = 0, mn = 0;
	struct core_errbuf eb;
	char *tmp = tu_tmpdir(), *out = tu_join(tmp, "o");
	struct secret *kek = kek_bin();
	const struct secret *keks[1] = {kek};
	struct ocicrypt_keys keys = {0};
	struct oci_manifest *m = NULL;
	char *src = tu_td("coco-tar-gzip"), *lp;

	(void)state;
	keys.keks = keks;
	keys.nkeks = 1;
	assert_int_equal(decrypt_dir(src, out, &keys, &m, NULL), CORE_OK);
	lp = tu_join(out, m->layers[0].digest + 7);
	gz = tu_read(lp, &gn);
	assert_int_equal(
	    ocicrypt_gunzip(gz, gn, 1 << 20, &tar, &tn, NULL), CORE_OK);
	assert_int_equal(tn, 10240);
	free(tar);
	core_errbuf_clear(&eb);
	assert_int_equal(
	    ocicrypt_gunzip(gz, gn, 100, &tar, &tn, &eb), CORE_ERR_TOO_BIG);
	core_errbuf_clear(&eb);
	assert_int_equal(ocicrypt_gunzip(gz, gn / 2, 1 << 20, &tar, &tn, &eb),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(core_errbuf_msg(&eb), "gzip"));
	assert_int_equal(ocicrypt_extract_module(OCI_MT_LAYER_TAR_GZIP, gz, gn,
	                     1 << 20, &mod, &mn, NULL),
	    CORE_OK);
	assert_int_equal(mn, 41);
	free(mod);
	core_errbuf_clear(&eb);
	assert_int_equal(ocicrypt_extract_module(
	                     OCI_MT_LAYER_TAR_GZIP, gz, gn, 10, &mod, &mn, &eb),
	    CORE_ERR_TOO_BIG);
	core_errbuf_clear(&eb);
	assert_int_equal(ocicrypt_extract_module("application/x-foo", gz, gn,
	                     1 << 20, &mod, &mn, &eb),
	    CORE_ERR_UNSUPPORTED);
	/* skopeo-jwe-recompressed: decompress + diff_id pass, untar fails */
	{
		struct crypto_key *k = load_key("keys/priv.pem");
		const struct crypto_key *ks[1] = {k};
		struct ocicrypt_keys jk = {0};
		char spec[1024], *d = tu_td("skopeo-jwe-recompressed");

		jk.jwe_keys = ks;
		jk.njwe_keys = 1;
		snprintf(spec, sizeof(spec), "dir:%s", d);
		core_errbuf_clear(&eb);
		assert_int_equal(ocicrypt_pull_module(
		                     spec, NULL, &jk, 1 << 20, &mod, &mn, &eb),
		    CORE_ERR_INVALID);
		assert_non_null(strstr(core_errbuf_msg(&eb), "tar"));
		assert_null(strstr(core_errbuf_msg(&eb), "diff_id"));
		crypto_key_free(k);
		free(d);
	}
	free(gz);
	free(lp);
	free(src);
	oci_manifest_free(m);
	secret_free(kek);
	core_fs_rmtree(tmp, NULL);
	free(tmp);
	free(out);
}

static void
put_mem(
    struct oci_store *st, const void *p, size_t n, char dg[OCI_DIGEST_LEN + 1])
{
	struct oci_blob_src src = {-1, p, n};

	oci_digest_of(p, n, dg);
	assert_int_equal(
	    oci_store_put_blob(st, dg, (int64_t)n, &src, NULL), CORE_OK);
}

/* A Docker v2s2 image with two layers, wrapped in an OCI index: platform
 * selection, conversion to OCI on encryption, --encrypt-layer selection,
 * index copies. */
static void
test_docker_index_layers(void **state)
{
	char *tmp = tu_tmpdir(), *plain = tu_join(tmp, "plain");
	char *src = tu_td("coco-tar-gzip"), spec[1024], spec2[1024];
	struct secret *kek = kek_bin();
	const struct secret *keks[1] = {kek};
	struct ocicrypt_keys keys = {0};
	struct oci_manifest *m = NULL, *e = NULL;
	struct oci_store *st = NULL, *dst = NULL;
	uint8_t *gz, *cfg, *wasm;
	size_t gn, cn, wn;
	char gzd[OCI_DIGEST_LEN + 1], cd[OCI_DIGEST_LEN + 1];
	char wd[OCI_DIGEST_LEN + 1], md[OCI_DIGEST_LEN + 1];
	char id[OCI_DIGEST_LEN + 1];
	struct core_buf man, idx;
	struct crypto_key *rsa = load_key("keys/pub.pem");
	const struct crypto_key *pubs[1] = {rsa};
	struct crypto_key *rsap = load_key("keys/priv.pem");
	const struct crypto_key *privs[1] = {rsap};
	struct ocicrypt_enc_config ec = {0};
	int sel[1] = {-1};
	struct core_errbuf eb;
	char *p;

	(void)state;
	keys.keks = keks;
	keys.nkeks = 1;
	assert_int_equal(decrypt_dir(src, plain, &keys, &m, NULL), CORE_OK);
	p = tu_join(plain, m->layers[0].digest + 7);
	gz = tu_read(p, &gn);
	free(p);
	p = tu_join(plain, m->config.digest + 7);
	cfg = tu_read(p, &cn);
	free(p);
	oci_manifest_free(m);
	m = NULL;
	wasm = tu_read_td("WASM.wasm", &wn);

	snprintf(spec, sizeof(spec), "oci:%s/layout:multi", tmp);
	assert_int_equal(oci_store_open(spec, NULL, true, &st, NULL), CORE_OK);
	put_mem(st, cfg, cn, cd);
	put_mem(st, wasm, wn, wd);
	put_mem(st, gz, gn, gzd);
	core_buf_init(&man, 0);
	core_buf_printf(&man,
	    "{\"schemaVersion\":2,\"mediaType\":\"%s\","
	    "\"config\":{\"mediaType\":\"application/vnd.docker.container."
	    "image.v1+json\",\"size\":%zu,\"digest\":\"%s\"},\"layers\":["
	    "{\"mediaType\":\"%s\",\"size\":%zu,\"digest\":\"%s\"},"
	    "{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar."
	    "gzip\",\"size\":%zu,\"digest\":\"%s\"}]}",
	    OCI_MT_DOCKER_MANIFEST, cn, cd, OCI_MT_WASM_LAYER, wn, wd, gn, gzd);
	put_mem(st, man.data, man.len, md);
	core_buf_init(&idx, 0);
	core_buf_printf(&idx,
	    "{\"schemaVersion\":2,\"mediaType\":\"%s\","
	    "\"manifests\":[{\"mediaType\":\"%s\",\"size\":%zu,\"digest\":"
	    "\"%s\",\"platform\":{\"architecture\":\"amd64\",\"os\":"
	    "\"linux\"}},{\"mediaType\":\"%s\",\"size\":%zu,\"digest\":"
	    "\"%s\",\"platform\":{\"architecture\":\"arm64\",\"os\":"
	    "\"linux\"}}]}",
	    OCI_MT_DOCKER_LIST, OCI_MT_DOCKER_MANIFEST, man.len, md,
	    OCI_MT_DOCKER_MANIFEST, man.len, md);
	oci_digest_of(idx.data, idx.len, id);
	assert_int_equal(oci_store_put_manifest(
	                     st, idx.data, idx.len, OCI_MT_DOCKER_LIST, NULL),
	    CORE_OK);
	assert_int_equal(oci_store_commit(st, NULL), CORE_OK);
	oci_store_free(st);

	/* Platform selection through the index. */
	assert_int_equal(oci_store_open(spec, NULL, false, &st, NULL), CORE_OK);
	assert_int_equal(
	    oci_store_get_image(st, "linux", "arm64", &m, NULL), CORE_OK);
	assert_string_equal(m->digest, md);
	assert_int_equal(m->nlayers, 2);
	oci_manifest_free(m);
	m = NULL;
	core_errbuf_clear(&eb);
	assert_int_equal(oci_store_get_image(st, "windows", "amd64", &m, &eb),
	    CORE_ERR_NOT_FOUND);
	assert_non_null(strstr(core_errbuf_msg(&eb), "windows/amd64"));

	/* The index copies whole to another oci: layout, not into dir:. */
	snprintf(spec2, sizeof(spec2), "oci:%s/copy:x", tmp);
	assert_int_equal(
	    oci_store_open(spec2, NULL, true, &dst, NULL), CORE_OK);
	assert_int_equal(oci_copy(st, dst, NULL), CORE_OK);
	oci_store_free(dst);
	assert_int_equal(
	    oci_store_open(spec2, NULL, false, &dst, NULL), CORE_OK);
	{
		uint8_t *raw = NULL;
		size_t rl = 0;
		char *mt = NULL;

		assert_int_equal(
		    oci_store_get_manifest(dst, NULL, &raw, &rl, &mt, NULL),
		    CORE_OK);
		assert_int_equal(rl, idx.len);
		assert_memory_equal(raw, idx.data, rl);
		assert_string_equal(mt, OCI_MT_DOCKER_LIST);
		free(raw);
		free(mt);
	}
	oci_store_free(dst);
	snprintf(spec2, sizeof(spec2), "dir:%s/d", tmp);
	assert_int_equal(
	    oci_store_open(spec2, NULL, true, &dst, NULL), CORE_OK);
	assert_int_equal(oci_copy(st, dst, NULL), CORE_OK);
	oci_store_free(dst);
	assert_int_equal(
	    oci_store_open(spec2, NULL, false, &dst, NULL), CORE_OK);
	assert_int_equal(
	    oci_store_get_image(dst, "linux", "amd64", &m, NULL), CORE_OK);
	assert_string_equal(m->digest, md);
	oci_manifest_free(m);
	m = NULL;
	oci_store_free(dst);
	{
		/* A blob larger than the spool limit is refused up front. */
		struct oci_opts small = {0};
		struct oci_store *s3 = NULL;
		int fd = -1;

		small.max_blob_bytes = 10;
		assert_int_equal(
		    oci_store_open(spec, &small, false, &s3, NULL), CORE_OK);
		assert_int_equal(
		    oci_store_get_image(s3, NULL, NULL, &m, NULL), CORE_OK);
		core_errbuf_clear(&eb);
		assert_int_equal(
		    oci_store_get_blob_memfd(s3, &m->layers[1], &fd, &eb),
		    CORE_ERR_TOO_BIG);
		assert_non_null(strstr(core_errbuf_msg(&eb), "limit"));
		oci_manifest_free(m);
		m = NULL;
		oci_store_free(s3);
	}

	/* Encrypt only the last layer; Docker types become OCI. */
	ec.jwe_pubkeys = pubs;
	ec.njwe = 1;
	ec.layers = sel;
	ec.nlayers = 1;
	snprintf(spec2, sizeof(spec2), "dir:%s/enc", tmp);
	assert_int_equal(
	    oci_store_open(spec2, NULL, true, &dst, NULL), CORE_OK);
	core_errbuf_clear(&eb);
	if (ocicrypt_image_encrypt(st, dst, &ec, &eb) != CORE_OK)
		fail_msg("encrypt: %s", core_errbuf_msg(&eb));
	oci_store_free(dst);
	oci_store_free(st);
	assert_int_equal(
	    oci_store_open(spec2, NULL, false, &st, NULL), CORE_OK);
	assert_int_equal(
	    oci_store_get_image(st, NULL, NULL, &e, NULL), CORE_OK);
	assert_string_equal(e->media_type, OCI_MT_MANIFEST);
	assert_string_equal(e->config.media_type, OCI_MT_CONFIG);
	assert_string_equal(e->config.digest, cd);
	assert_string_equal(e->layers[0].media_type, OCI_MT_WASM_LAYER);
	assert_string_equal(e->layers[0].digest, wd);
	assert_string_equal(
	    e->layers[1].media_type, OCI_MT_LAYER_TAR_GZIP OCICRYPT_ENC_SUFFIX);
	oci_store_free(st);
	/* The module comes from the first wasm-bearing layer. */
	memset(&keys, 0, sizeof(keys));
	keys.jwe_keys = privs;
	keys.njwe_keys = 1;
	{
		uint8_t *mod = NULL;
		size_t ml = 0;

		assert_int_equal(ocicrypt_pull_module(spec2, NULL, &keys,
		                     1 << 20, &mod, &ml, NULL),
		    CORE_OK);
		assert_int_equal(ml, wn);
		assert_memory_equal(mod, wasm, wn);
		free(mod);
	}
	snprintf(spec, sizeof(spec), "dir:%s/dec", tmp);
	assert_int_equal(
	    oci_store_open(spec2, NULL, false, &st, NULL), CORE_OK);
	assert_int_equal(oci_store_open(spec, NULL, true, &dst, NULL), CORE_OK);
	assert_int_equal(ocicrypt_image_decrypt(st, dst, &keys, NULL), CORE_OK);
	oci_store_free(st);
	oci_store_free(dst);
	assert_int_equal(oci_store_open(spec, NULL, false, &st, NULL), CORE_OK);
	assert_int_equal(
	    oci_store_get_image(st, NULL, NULL, &m, NULL), CORE_OK);
	assert_string_equal(m->layers[1].media_type, OCI_MT_LAYER_TAR_GZIP);
	assert_string_equal(m->layers[1].digest, gzd);
	assert_null(m->layers[1].annotations);
	oci_store_free(st);

	oci_manifest_free(m);
	oci_manifest_free(e);
	core_buf_cleanup(&man);
	core_buf_cleanup(&idx);
	crypto_key_free(rsa);
	crypto_key_free(rsap);
	secret_free(kek);
	free(gz);
	free(cfg);
	free(wasm);
	free(src);
	core_fs_rmtree(tmp, NULL);
	free(tmp);
	free(plain);
}

/* The proplet supplies KEKs per kid (from the KBS) through a callback. */
static enum core_err
kek_cb(void *ctx, const char *kid, struct secret **out, struct core_errbuf *eb)
{
	int *calls = ctx;
	char *res = NULL;
	enum core_err err;

	(*calls)++;
	if ((err = ocicrypt_kid_resource(kid, &res, eb)) != CORE_OK)
		return err;
	if (strcmp(res, "default/key/propeller-addition") != 0) {
		free(res);
		return core_errf(eb, CORE_ERR_NOT_FOUND, "KBS: no resource");
	}
	free(res);
	if (*calls > 1)
		return core_errf(eb, CORE_ERR_PERM, "KBS: policy denied");
	*out = kek_bin();
	return CORE_OK;
}

static void
test_kek_callback(void **state)
{
	struct ocicrypt_keys keys = {0};
	char *d = tu_td("coco-wasm-raw"), spec[1024];
	uint8_t *mod = NULL, *w;
	size_t n = 0, wn;
	int calls = 0;
	struct core_errbuf eb;

	(void)state;
	keys.kek_for_kid = kek_cb;
	keys.kek_ctx = &calls;
	snprintf(spec, sizeof(spec), "dir:%s", d);
	assert_int_equal(
	    ocicrypt_pull_module(spec, NULL, &keys, 1 << 20, &mod, &n, NULL),
	    CORE_OK);
	w = tu_read_td("WASM.wasm", &wn);
	assert_int_equal(n, wn);
	assert_memory_equal(mod, w, wn);
	free(mod);
	free(w);
	assert_int_equal(calls, 1);
	core_errbuf_clear(&eb);
	assert_int_equal(
	    ocicrypt_pull_module(spec, NULL, &keys, 1 << 20, &mod, &n, &eb),
	    CORE_ERR_AUTH);
	assert_non_null(strstr(core_errbuf_msg(&eb), "policy denied"));
	assert_non_null(strstr(core_errbuf_msg(&eb), KID));
	free(d);
}

/* Keyprovider client: config parsing and cmd providers written in sh
 * (a Go-style provider answering base64, a failing one, a garbage one). */
static void
test_kp_client(void **state)
{
	char *tmp = tu_tmpdir(), *cfg = tu_join(tmp, "kp.json");
	const char *po = vec("coco-wasm-raw", "privopts");
	char *pob = core_b64_encode(po, strlen(po));
	struct core_buf b;
	struct ocicrypt_kp_client *c = NULL;
	struct secret *out = NULL;
	struct core_errbuf eb;
	static const char *const env[] = {"PATH=/usr/bin:/bin", NULL};
	static const char *const bad[] = {
	    "{}",
	    "{\"key-providers\":[]}",
	    "{\"key-providers\":{\"a\":{\"cmd\":\"/bin/x\"}}}",
	    "{\"key-providers\":{\"a\":{\"cmd\":{\"args\":[]}}}}",
	    "{\"key-providers\":{\"a\":{\"cmd\":{\"path\":\"x\","
	    "\"args\":[1]}}}}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < CORE_ARRAY_LEN(bad); i++) {
		tu_write(cfg, bad[i], strlen(bad[i]));
		if (ocicrypt_kp_client_load(cfg, env, &c, NULL) == CORE_OK)
			fail_msg("accepted %s", bad[i]);
		assert_null(c);
	}
	core_buf_init(&b, 0);
	core_buf_printf(&b,
	    "{\"key-providers\":{"
	    "\"go\":{\"cmd\":{\"path\":\"/bin/sh\",\"args\":[\"-c\","
	    "\"cat >/dev/null; printf '{\\\"keyunwrapresults\\\":{"
	    "\\\"optsdata\\\":\\\"%s\\\"}}'\"]}},"
	    "\"fails\":{\"cmd\":{\"path\":\"/bin/sh\",\"args\":[\"-c\","
	    "\"cat >/dev/null; echo no such key >&2; exit 3\"]}},"
	    "\"junk\":{\"cmd\":{\"path\":\"/bin/sh\",\"args\":[\"-c\","
	    "\"cat >/dev/null; echo hello\"]}},"
	    "\"remote\":{\"grpc\":\"127.0.0.1:50000\"}}}",
	    pob);
	tu_write(cfg, b.data, b.len);
	core_errbuf_clear(&eb);
	if (ocicrypt_kp_client_load(cfg, env, &c, &eb) != CORE_OK)
		fail_msg("load: %s", core_errbuf_msg(&eb));
	assert_true(ocicrypt_kp_client_has(c, "go"));
	assert_false(ocicrypt_kp_client_has(c, "nope"));
	core_errbuf_clear(&eb);
	if (ocicrypt_kp_unwrap(
	        c, "go", NULL, (const uint8_t *)"{}", 2, &out, &eb) != CORE_OK)
		fail_msg("unwrap: %s", core_errbuf_msg(&eb));
	assert_int_equal(out->len, strlen(po));
	assert_memory_equal(out->ptr, po, out->len);
	secret_free(out);
	out = NULL;
	core_errbuf_clear(&eb);
	assert_int_equal(ocicrypt_kp_unwrap(c, "fails", "x",
	                     (const uint8_t *)"{}", 2, &out, &eb),
	    CORE_ERR_AUTH);
	assert_non_null(strstr(core_errbuf_msg(&eb), "no such key"));
	core_errbuf_clear(&eb);
	assert_int_equal(ocicrypt_kp_unwrap(c, "junk", NULL,
	                     (const uint8_t *)"{}", 2, &out, &eb),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(core_errbuf_msg(&eb), "junk"));
	core_errbuf_clear(&eb);
	assert_int_equal(ocicrypt_kp_unwrap(c, "remote", NULL,
	                     (const uint8_t *)"{}", 2, &out, &eb),
	    CORE_ERR_UNSUPPORTED);
	assert_non_null(strstr(core_errbuf_msg(&eb), "grpc"));
	assert_int_equal(ocicrypt_kp_unwrap(c, "nope", NULL,
	                     (const uint8_t *)"{}", 2, &out, NULL),
	    CORE_ERR_NOT_FOUND);
	ocicrypt_kp_client_free(c);
	core_buf_cleanup(&b);
	free(pob);
	free(cfg);
	core_fs_rmtree(tmp, NULL);
	free(tmp);
}

STATIC enum core_err ocicrypt_unzstd(const uint8_t *p, size_t n, size_t max,
    uint8_t **out, size_t *len_out, struct core_errbuf *eb);

/* Writes a one-layer image (config from a vector) into spec. */
static void
write_image(const char *spec, const char *cfg_rel, const uint8_t *layer,
    size_t ln, const char *mt)
{
	struct oci_store *st = NULL;
	uint8_t *cfg;
	size_t cn;
	char cd[OCI_DIGEST_LEN + 1], ld[OCI_DIGEST_LEN + 1];
	struct oci_blob_src a, b;
	struct core_buf m;

	cfg = tu_read_td(cfg_rel, &cn);
	oci_digest_of(cfg, cn, cd);
	oci_digest_of(layer, ln, ld);
	a.fd = b.fd = -1;
	a.mem = cfg;
	a.len = cn;
	b.mem = layer;
	b.len = ln;
	assert_int_equal(oci_store_open(spec, NULL, true, &st, NULL), CORE_OK);
	assert_int_equal(
	    oci_store_put_blob(st, cd, (int64_t)cn, &a, NULL), CORE_OK);
	assert_int_equal(
	    oci_store_put_blob(st, ld, (int64_t)ln, &b, NULL), CORE_OK);
	core_buf_init(&m, 0);
	core_buf_printf(&m,
	    "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{"
	    "\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu},"
	    "\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"%s\","
	    "\"size\":%zu}]}",
	    OCI_MT_MANIFEST, OCI_MT_CONFIG, cd, cn, mt, ld, ln);
	assert_int_equal(
	    oci_store_put_manifest(st, m.data, m.len, OCI_MT_MANIFEST, NULL),
	    CORE_OK);
	assert_int_equal(oci_store_commit(st, NULL), CORE_OK);
	oci_store_free(st);
	core_buf_cleanup(&m);
	free(cfg);
}

/* tar+zstd layers: decompression, diff_id, encrypted round trip. */
static void
test_zstd_layer(void **state)
{
	const char *src = getenv("PROPELLER_SOURCE_DIR");
	char path[4096], spec[1024], spec2[1024];
	char *tmp = tu_tmpdir();
	uint8_t *zst, *w, *mod = NULL, *tar = NULL;
	size_t zn, wn, ml = 0, tn = 0;
	static const char mt[] = "application/vnd.oci.image.layer.v1.tar+zstd";
	struct secret *kek = kek_bin();
	const struct secret *keks[1] = {kek};
	struct ocicrypt_keys keys = {0};
	struct ocicrypt_enc_config ec = {0};
	struct oci_store *a = NULL, *b = NULL;
	struct core_errbuf eb;

	(void)state;
	assert_non_null(src);
	snprintf(path, sizeof(path),
	    "%s/tests/unit/ocicrypt/data/"
	    "module.tar.zst",
	    src);
	zst = tu_read(path, &zn);
	w = tu_read_td("WASM.wasm", &wn);
	assert_int_equal(
	    ocicrypt_unzstd(zst, zn, 1 << 20, &tar, &tn, NULL), CORE_OK);
	assert_int_equal(tn, 10240);
	free(tar);
	core_errbuf_clear(&eb);
	assert_int_equal(
	    ocicrypt_unzstd(zst, zn, 100, &tar, &tn, &eb), CORE_ERR_TOO_BIG);
	core_errbuf_clear(&eb);
	assert_int_equal(ocicrypt_unzstd(zst, zn - 10, 1 << 20, &tar, &tn, &eb),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(core_errbuf_msg(&eb), "zstd"));
	core_errbuf_clear(&eb);
	assert_int_equal(
	    ocicrypt_unzstd(w, wn, 1 << 20, &tar, &tn, &eb), CORE_ERR_INVALID);

	/* coco-tar-gzip's config has the diff_id of this tar. */
	snprintf(spec, sizeof(spec), "oci:%s/zst:1", tmp);
	write_image(spec,
	    "coco-tar-gzip/286ec2dd0f87af2d5add9097268d860fb5d24"
	    "0cd06c664d714129ad04d33e829",
	    zst, zn, mt);
	assert_int_equal(
	    ocicrypt_pull_module(spec, NULL, &keys, 1 << 20, &mod, &ml, NULL),
	    CORE_OK);
	assert_int_equal(ml, wn);
	assert_memory_equal(mod, w, wn);
	free(mod);
	mod = NULL;

	/* Encrypted with a CoCo packet and pulled back. */
	ec.coco_kid = KID;
	ec.coco_kek = kek;
	snprintf(spec2, sizeof(spec2), "dir:%s/zst-enc", tmp);
	assert_int_equal(oci_store_open(spec, NULL, false, &a, NULL), CORE_OK);
	assert_int_equal(oci_store_open(spec2, NULL, true, &b, NULL), CORE_OK);
	assert_int_equal(ocicrypt_image_encrypt(a, b, &ec, NULL), CORE_OK);
	oci_store_free(a);
	oci_store_free(b);
	keys.keks = keks;
	keys.nkeks = 1;
	assert_int_equal(
	    ocicrypt_pull_module(spec2, NULL, &keys, 1 << 20, &mod, &ml, NULL),
	    CORE_OK);
	assert_int_equal(ml, wn);
	assert_memory_equal(mod, w, wn);
	free(mod);
	mod = NULL;

	/* A config whose diff_id does not match is refused. */
	snprintf(spec, sizeof(spec), "oci:%s/bad:1", tmp);
	write_image(spec,
	    "skopeo-jwe-rsa/cfb17e5430bb6b62f044aae0032c27c3bfb3"
	    "443d07ea439fc0febd92348a8c0e",
	    zst, zn, mt);
	core_errbuf_clear(&eb);
	assert_int_equal(
	    ocicrypt_pull_module(spec, NULL, &keys, 1 << 20, &mod, &ml, &eb),
	    CORE_ERR_AUTH);
	assert_non_null(strstr(core_errbuf_msg(&eb), "diff_id"));
	assert_null(mod);

	secret_free(kek);
	free(zst);
	free(w);
	core_fs_rmtree(tmp, NULL);
	free(tmp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_options_exact),
	    cmocka_unit_test(test_options_tolerance),
	    cmocka_unit_test(test_layer_cipher_checks),
	    cmocka_unit_test(test_kek_forms),
	    cmocka_unit_test(test_kid),
	    cmocka_unit_test(test_packets),
	    cmocka_unit_test(test_keyreqs),
	    cmocka_unit_test(test_coco_vectors),
	    cmocka_unit_test(test_skopeo_jwe_vectors),
	    cmocka_unit_test(test_negative_images),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_keyprovider),
	    cmocka_unit_test(test_extract),
	    cmocka_unit_test(test_docker_index_layers),
	    cmocka_unit_test(test_kek_callback),
	    cmocka_unit_test(test_kp_client),
	    cmocka_unit_test(test_zstd_layer),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
