/*
 * test_oci.c -- references, manifests, challenges, auth files, and the
 * dir:/oci: layouts against the shared skopeo vectors.
 */
#include "unit/oci/oci_test_util.h"

#include "oci/oci.h"

#include <sys/stat.h>
#include <unistd.h>

#define RSA_LAYER                                                              \
	"sha256:"                                                              \
	"23b645b7a7ecaa3e158f45dd3c21ba0f8a20f2d0b6a2a1d54b4731c0c7c4a386"
#define RSA_CONFIG                                                             \
	"sha256:"                                                              \
	"cfb17e5430bb6b62f044aae0032c27c3bfb3443d07ea439fc0febd92348a8c0e"

static void
test_ref_defaults(void **state)
{
	struct oci_ref *r = NULL;
	char *s;

	(void)state;
	assert_int_equal(oci_ref_parse("alpine", &r, NULL), CORE_OK);
	assert_string_equal(r->domain, "docker.io");
	assert_string_equal(r->endpoint, "registry-1.docker.io");
	assert_string_equal(r->repo, "library/alpine");
	assert_string_equal(r->tag, "latest");
	assert_null(r->digest);
	s = oci_ref_string(r);
	assert_string_equal(s, "docker.io/library/alpine:latest");
	free(s);
	oci_ref_free(r);

	assert_int_equal(
	    oci_ref_parse("index.docker.io/user/app:v1", &r, NULL), CORE_OK);
	assert_string_equal(r->domain, "docker.io");
	assert_string_equal(r->repo, "user/app");
	assert_string_equal(r->tag, "v1");
	oci_ref_free(r);

	assert_int_equal(
	    oci_ref_parse("localhost:5000/a/b-c__d:1.0", &r, NULL), CORE_OK);
	assert_string_equal(r->endpoint, "localhost:5000");
	assert_string_equal(r->repo, "a/b-c__d");
	assert_string_equal(r->tag, "1.0");
	oci_ref_free(r);

	assert_int_equal(oci_ref_parse("localhost/x", &r, NULL), CORE_OK);
	assert_string_equal(r->domain, "localhost");
	assert_string_equal(r->repo, "x");
	oci_ref_free(r);

	assert_int_equal(
	    oci_ref_parse("ghcr.io/o/r@" RSA_LAYER, &r, NULL), CORE_OK);
	assert_string_equal(r->domain, "ghcr.io");
	assert_null(r->tag);
	assert_string_equal(r->digest, RSA_LAYER);
	oci_ref_free(r);

	assert_int_equal(
	    oci_ref_parse("127.0.0.1:5000/w:t@" RSA_LAYER, &r, NULL), CORE_OK);
	assert_string_equal(r->tag, "t");
	assert_string_equal(r->digest, RSA_LAYER);
	oci_ref_free(r);
}

static void
test_ref_errors(void **state)
{
	static const char *const bad[] = {
	    "",
	    "Alpine",
	    "a//b",
	    "a/b:",
	    "a/b:-x",
	    "a/b@sha256:abc",
	    "a/b@md5:0123",
	    "-a",
	    "a-",
	    "a..b",
	    "/x",
	    "host.io/",
	    "a/b:tag with space",
	};
	struct oci_ref *r = NULL;
	struct core_errbuf eb;
	size_t i;
	char longname[1100];

	(void)state;
	for (i = 0; i < CORE_ARRAY_LEN(bad); i++) {
		core_errbuf_clear(&eb);
		if (oci_ref_parse(bad[i], &r, &eb) == CORE_OK)
			fail_msg("accepted bad reference \"%s\"", bad[i]);
		assert_null(r);
		assert_true(strlen(core_errbuf_msg(&eb)) > 0);
	}
	core_errbuf_clear(&eb);
	assert_int_equal(oci_ref_parse("Alpine", &r, &eb), CORE_ERR_INVALID);
	assert_non_null(strstr(core_errbuf_msg(&eb), "repository"));
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(oci_ref_parse(longname, &r, NULL), CORE_ERR_TOO_BIG);
}

static void
test_digest(void **state)
{
	char d[OCI_DIGEST_LEN + 1];
	struct oci_hasher *h;

	(void)state;
	oci_digest_of("{}", 2, d);
	assert_string_equal(d,
	    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc"
	    "21fe77e8310c060f61caaff8a");
	h = oci_hasher_new();
	oci_hasher_update(h, "{", 1);
	oci_hasher_update(h, "}", 1);
	oci_hasher_final(h, d);
	oci_hasher_free(h);
	assert_true(oci_digest_valid(d));
	assert_false(oci_digest_valid("sha256:44136FA355b3678a1146ad16f7e8649e"
	                              "94fb4fc21fe77e8310c060f61caaff8a"));
	assert_false(oci_digest_valid("sha256:"));
	assert_false(oci_digest_valid(NULL));
}

static void
test_manifest_vectors(void **state)
{
	static const char *const dirs[] = {"skopeo-jwe-rsa", "skopeo-jwe-ec",
	    "skopeo-jwe-multi", "skopeo-jwe-recompressed", "coco-wasm-raw",
	    "coco-tar-gzip"};
	size_t i, n;

	(void)state;
	for (i = 0; i < CORE_ARRAY_LEN(dirs); i++) {
		char rel[128];
		uint8_t *raw;
		struct oci_manifest *m = NULL;
		struct core_errbuf eb;

		snprintf(rel, sizeof(rel), "%s/manifest.json", dirs[i]);
		raw = tu_read_td(rel, &n);
		core_errbuf_clear(&eb);
		if (oci_manifest_parse(raw, n, NULL, &m, &eb) != CORE_OK)
			fail_msg("%s: %s", dirs[i], core_errbuf_msg(&eb));
		assert_int_equal(m->kind, OCI_KIND_IMAGE);
		assert_string_equal(m->media_type, OCI_MT_MANIFEST);
		assert_int_equal(m->nlayers, 1);
		assert_true(oci_digest_valid(m->layers[0].digest));
		assert_non_null(m->layers[0].annotations);
		oci_manifest_free(m);
		free(raw);
	}
}

static void
test_manifest_shapes(void **state)
{
	/* wasm-to-oci: no top-level mediaType; content type decides. */
	static const char wasm[] =
	    "{\"schemaVersion\":2,\"config\":{"
	    "\"mediaType\":\"application/vnd.wasm.config.v1+json\","
	    "\"digest\":\"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e"
	    "8310c060f61caaff8a\",\"size\":2},\"layers\":[]}";
	static const char list[] =
	    "{\"schemaVersion\":2,\"mediaType\":"
	    "\"application/vnd.docker.distribution.manifest.list.v2+json\","
	    "\"manifests\":["
	    "{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+"
	    "json\",\"digest\":\"" RSA_LAYER "\",\"size\":10,\"platform\":{"
	    "\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
	    "{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+"
	    "json\",\"digest\":\"" RSA_CONFIG "\",\"size\":11,\"platform\":{"
	    "\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";
	struct oci_manifest *m = NULL;
	size_t idx = 99;
	char *dump;

	(void)state;
	assert_int_equal(oci_manifest_parse(wasm, strlen(wasm),
	                     OCI_MT_MANIFEST "; charset=utf-8", &m, NULL),
	    CORE_OK);
	assert_int_equal(m->kind, OCI_KIND_IMAGE);
	assert_int_equal(m->nlayers, 0);
	assert_string_equal(m->config.media_type, OCI_MT_WASM_CONFIG);
	dump = oci_manifest_dump(m, NULL);
	assert_string_equal(dump, wasm);
	free(dump);
	oci_manifest_free(m);

	assert_int_equal(
	    oci_manifest_parse(list, strlen(list), NULL, &m, NULL), CORE_OK);
	assert_int_equal(m->kind, OCI_KIND_INDEX);
	assert_int_equal(m->nmanifests, 2);
	assert_int_equal(
	    oci_index_select(m, NULL, NULL, NULL, &idx, NULL), CORE_OK);
	assert_int_equal(idx, 1);
	assert_int_equal(
	    oci_index_select(m, "linux", "arm64", "v8", &idx, NULL), CORE_OK);
	assert_int_equal(idx, 0);
	assert_int_equal(
	    oci_index_select(m, "linux", "s390x", NULL, &idx, NULL),
	    CORE_ERR_NOT_FOUND);
	oci_manifest_free(m);
}

static void
test_manifest_errors(void **state)
{
	static const struct {
		const char *json;
		const char *why;
	} bad[] = {
	    {"{\"schemaVersion\":1,\"config\":{}}", "schemaVersion"},
	    {"{\"config\":{}}", "schemaVersion"},
	    {"[1,2]", ""},
	    {"{\"schemaVersion\":2,\"layers\":[]", ""},
	    {"{\"schemaVersion\":2,\"mediaType\":\"text/plain\"}",
	        "text/plain"},
	    {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\","
	     "\"digest\":\"sha256:1\",\"size\":1},\"layers\":[]}",
	        "digest"},
	    {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\","
	     "\"digest\":\"" RSA_LAYER "\",\"size\":-1},\"layers\":[]}",
	        "size"},
	    {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\","
	     "\"digest\":\"" RSA_LAYER "\",\"size\":1},\"layers\":{}}",
	        "layers"},
	    {"{\"schemaVersion\":2,\"config\":{\"digest\":\"" RSA_LAYER
	     "\",\"size\":1},\"layers\":[]}",
	        "mediaType"},
	    {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\","
	     "\"digest\":\"" RSA_LAYER "\",\"size\":1,\"annotations\":"
	     "{\"a\":1}},\"layers\":[]}",
	        "annotation"},
	};
	struct oci_manifest *m = NULL;
	struct core_errbuf eb;
	size_t i;
	char *big;

	(void)state;
	for (i = 0; i < CORE_ARRAY_LEN(bad); i++) {
		core_errbuf_clear(&eb);
		if (oci_manifest_parse(bad[i].json, strlen(bad[i].json), NULL,
		        &m, &eb) == CORE_OK)
			fail_msg("accepted %s", bad[i].json);
		assert_null(m);
		if (strstr(core_errbuf_msg(&eb), bad[i].why) == NULL)
			fail_msg("error \"%s\" does not mention \"%s\"",
			    core_errbuf_msg(&eb), bad[i].why);
	}
	big = malloc(OCI_MANIFEST_MAX + 2);
	assert_non_null(big);
	memset(big, ' ', OCI_MANIFEST_MAX + 1);
	big[0] = '{';
	big[OCI_MANIFEST_MAX] = '}';
	core_errbuf_clear(&eb);
	assert_int_equal(
	    oci_manifest_parse(big, OCI_MANIFEST_MAX + 1, NULL, &m, &eb),
	    CORE_ERR_TOO_BIG);
	assert_non_null(strstr(core_errbuf_msg(&eb), "limit"));
	free(big);
}

static void
test_challenge(void **state)
{
	struct oci_challenge c;

	(void)state;
	assert_int_equal(
	    oci_challenge_parse(
	        "Bearer realm=\"https://auth."
	        "docker.io/token\",service=\"registry.docker.io\",scope=\""
	        "repository:library/alpine:pull,push\"",
	        &c, NULL),
	    CORE_OK);
	assert_string_equal(c.scheme, "Bearer");
	assert_string_equal(c.realm, "https://auth.docker.io/token");
	assert_string_equal(c.service, "registry.docker.io");
	assert_string_equal(c.scope, "repository:library/alpine:pull,push");
	oci_challenge_cleanup(&c);
	assert_int_equal(
	    oci_challenge_parse("Basic realm=basic-realm", &c, NULL), CORE_OK);
	assert_string_equal(c.scheme, "Basic");
	assert_string_equal(c.realm, "basic-realm");
	assert_null(c.scope);
	oci_challenge_cleanup(&c);
	assert_int_equal(oci_challenge_parse("Bearer realm=\"x", &c, NULL),
	    CORE_ERR_INVALID);
	assert_int_equal(oci_challenge_parse("", &c, NULL), CORE_ERR_INVALID);
}

static void
test_authfile(void **state)
{
	char *dir = tu_tmpdir(), *f = tu_join(dir, "auth.json");
	static const char text[] =
	    "{\"auths\":{\"localhost:5000\":{\"auth\":"
	    "\"dXNlcjpwYTpzcw==\"},\"https://index.docker.io/v1/\":{\"auth\":"
	    "\"aHViOnNlY3JldA==\"},\"bad.io\":{\"auth\":\"bm9jb2xvbg==\"}}}";
	char *u = NULL, *p = NULL;
	struct core_errbuf eb;

	(void)state;
	tu_write(f, text, strlen(text));
	assert_int_equal(
	    oci_auth_lookup(f, "localhost:5000", &u, &p, NULL), CORE_OK);
	assert_string_equal(u, "user");
	assert_string_equal(p, "pa:ss");
	free(u);
	free(p);
	assert_int_equal(
	    oci_auth_lookup(f, "docker.io", &u, &p, NULL), CORE_OK);
	assert_string_equal(u, "hub");
	free(u);
	free(p);
	assert_int_equal(
	    oci_auth_lookup(f, "other.io", &u, &p, NULL), CORE_ERR_NOT_FOUND);
	core_errbuf_clear(&eb);
	assert_int_equal(
	    oci_auth_lookup(f, "bad.io", &u, &p, &eb), CORE_ERR_INVALID);
	assert_non_null(strstr(core_errbuf_msg(&eb), "user:password"));
	core_fs_rmtree(dir, NULL);
	free(f);
	free(dir);
}

static void
test_dir_store_and_copy(void **state)
{
	char *src = tu_td("skopeo-jwe-rsa"), *tmp = tu_tmpdir();
	char *ocidir = tu_join(tmp, "oci"), *outdir = tu_join(tmp, "out");
	char spec[1024], spec2[1024];
	struct oci_store *a = NULL, *b = NULL;
	struct oci_manifest *m = NULL;
	uint8_t *blob = NULL, *m1, *m2;
	size_t n, n1, n2;
	struct core_errbuf eb;

	(void)state;
	snprintf(spec, sizeof(spec), "dir:%s", src);
	assert_int_equal(oci_store_open(spec, NULL, false, &a, NULL), CORE_OK);
	assert_string_equal(oci_store_kind(a), "dir");
	assert_int_equal(oci_store_get_image(a, NULL, NULL, &m, NULL), CORE_OK);
	assert_string_equal(m->config.digest, RSA_CONFIG);
	assert_string_equal(m->layers[0].digest, RSA_LAYER);
	assert_int_equal(
	    oci_store_get_blob_mem(a, &m->layers[0], 1 << 20, &blob, &n, NULL),
	    CORE_OK);
	assert_int_equal(n, 107);
	free(blob);
	core_errbuf_clear(&eb);
	assert_int_equal(
	    oci_store_get_blob_mem(a, &m->layers[0], 100, &blob, &n, &eb),
	    CORE_ERR_TOO_BIG);

	/* dir: -> oci:DIR:v1 -> dir: keeps the manifest bytes. */
	snprintf(spec2, sizeof(spec2), "oci:%s:v1", ocidir);
	assert_int_equal(oci_store_open(spec2, NULL, true, &b, NULL), CORE_OK);
	core_errbuf_clear(&eb);
	if (oci_copy(a, b, &eb) != CORE_OK)
		fail_msg("copy: %s", core_errbuf_msg(&eb));
	oci_store_free(a);
	oci_store_free(b);
	assert_int_equal(oci_store_open(spec2, NULL, false, &a, NULL), CORE_OK);
	snprintf(spec, sizeof(spec), "dir:%s", outdir);
	assert_int_equal(oci_store_open(spec, NULL, true, &b, NULL), CORE_OK);
	assert_int_equal(oci_copy(a, b, NULL), CORE_OK);
	oci_store_free(a);
	oci_store_free(b);
	m1 = tu_read_td("skopeo-jwe-rsa/manifest.json", &n1);
	{
		char *p = tu_join(outdir, "manifest.json");

		m2 = tu_read(p, &n2);
		free(p);
		p = tu_join(outdir, "version");
		free(tu_read(p, &n));
		assert_int_equal(n, 33);
		free(p);
	}
	assert_int_equal(n1, n2);
	assert_memory_equal(m1, m2, n1);
	free(m1);
	free(m2);

	/* A second tag in the same oci: layout; unnamed access is refused. */
	snprintf(spec2, sizeof(spec2), "oci:%s:v2", ocidir);
	snprintf(spec, sizeof(spec), "dir:%s", src);
	assert_int_equal(oci_store_open(spec, NULL, false, &a, NULL), CORE_OK);
	assert_int_equal(oci_store_open(spec2, NULL, true, &b, NULL), CORE_OK);
	assert_int_equal(oci_copy(a, b, NULL), CORE_OK);
	oci_store_free(a);
	oci_store_free(b);
	snprintf(spec2, sizeof(spec2), "oci:%s", ocidir);
	assert_int_equal(oci_store_open(spec2, NULL, false, &a, NULL), CORE_OK);
	core_errbuf_clear(&eb);
	{
		struct oci_manifest *mm = NULL;

		assert_int_equal(oci_store_get_image(a, NULL, NULL, &mm, &eb),
		    CORE_ERR_NOT_FOUND);
		assert_null(mm);
	}
	assert_non_null(strstr(core_errbuf_msg(&eb), "oci:DIR:TAG"));
	oci_store_free(a);
	snprintf(spec2, sizeof(spec2), "oci:%s:nope", ocidir);
	assert_int_equal(oci_store_open(spec2, NULL, false, &a, NULL), CORE_OK);
	core_errbuf_clear(&eb);
	assert_int_equal(oci_store_get_manifest(a, NULL, &blob, &n, NULL, &eb),
	    CORE_ERR_NOT_FOUND);
	assert_non_null(strstr(core_errbuf_msg(&eb), "nope"));
	oci_store_free(a);

	oci_manifest_free(m);
	core_fs_rmtree(tmp, NULL);
	free(src);
	free(tmp);
	free(ocidir);
	free(outdir);
}

/* A blob whose content does not match its digest, or is truncated. */
static void
test_blob_verification(void **state)
{
	char *src = tu_td("skopeo-jwe-rsa"), *tmp = tu_tmpdir();
	char *copy = tu_join(tmp, "img"), *bp;
	char spec[1024];
	struct oci_store *a = NULL;
	struct oci_manifest *m = NULL;
	uint8_t *blob = NULL, *data;
	size_t n;
	struct core_errbuf eb;

	(void)state;
	tu_copy_dir(src, copy);
	bp = tu_join(copy, RSA_LAYER + 7);
	data = tu_read(bp, &n);
	data[10] ^= 1;
	tu_write(bp, data, n);
	snprintf(spec, sizeof(spec), "dir:%s", copy);
	assert_int_equal(oci_store_open(spec, NULL, false, &a, NULL), CORE_OK);
	assert_int_equal(oci_store_get_image(a, NULL, NULL, &m, NULL), CORE_OK);
	core_errbuf_clear(&eb);
	assert_int_equal(
	    oci_store_get_blob_mem(a, &m->layers[0], 1 << 20, &blob, &n, &eb),
	    CORE_ERR_AUTH);
	assert_non_null(strstr(core_errbuf_msg(&eb), "digest mismatch"));
	assert_null(blob);
	tu_write(bp, data, 50); /* truncated */
	core_errbuf_clear(&eb);
	assert_int_equal(
	    oci_store_get_blob_mem(a, &m->layers[0], 1 << 20, &blob, &n, &eb),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(core_errbuf_msg(&eb), "truncated"));
	data[10] ^= 1;
	tu_write(bp, data, 107);
	{
		/* Longer than the descriptor says. */
		uint8_t more[200];

		memcpy(more, data, 107);
		memset(more + 107, 'x', sizeof(more) - 107);
		tu_write(bp, more, sizeof(more));
		core_errbuf_clear(&eb);
		assert_int_equal(oci_store_get_blob_mem(
		                     a, &m->layers[0], 1 << 20, &blob, &n, &eb),
		    CORE_ERR_INVALID);
		assert_non_null(strstr(core_errbuf_msg(&eb), "more than"));
	}
	unlink(bp);
	core_errbuf_clear(&eb);
	assert_int_equal(
	    oci_store_get_blob_mem(a, &m->layers[0], 1 << 20, &blob, &n, &eb),
	    CORE_ERR_NOT_FOUND);
	oci_manifest_free(m);
	oci_store_free(a);
	free(data);
	free(bp);
	core_fs_rmtree(tmp, NULL);
	free(tmp);
	free(copy);
	free(src);
}

static void
test_store_open_errors(void **state)
{
	struct oci_store *st = NULL;
	struct core_errbuf eb;
	char *tmp = tu_tmpdir(), *v = tu_join(tmp, "version"), spec[600];

	(void)state;
	core_errbuf_clear(&eb);
	assert_int_equal(oci_store_open("http://x", NULL, false, &st, &eb),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(core_errbuf_msg(&eb), "docker://"));
	assert_int_equal(
	    oci_store_open("dir:", NULL, false, &st, NULL), CORE_ERR_INVALID);
	assert_int_equal(oci_store_open("docker://Bad", NULL, false, &st, NULL),
	    CORE_ERR_INVALID);
	assert_int_equal(
	    oci_store_open("docker://x@" RSA_LAYER, NULL, true, &st, NULL),
	    CORE_ERR_INVALID);
	/* Writing into a directory with a foreign version file. */
	tu_write(v, "something else\n", 15);
	snprintf(spec, sizeof(spec), "dir:%s", tmp);
	core_errbuf_clear(&eb);
	assert_int_equal(
	    oci_store_open(spec, NULL, true, &st, &eb), CORE_ERR_INVALID);
	assert_non_null(strstr(core_errbuf_msg(&eb), "version"));
	core_fs_rmtree(tmp, NULL);
	free(tmp);
	free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ref_defaults),
	    cmocka_unit_test(test_ref_errors),
	    cmocka_unit_test(test_digest),
	    cmocka_unit_test(test_manifest_vectors),
	    cmocka_unit_test(test_manifest_shapes),
	    cmocka_unit_test(test_manifest_errors),
	    cmocka_unit_test(test_challenge),
	    cmocka_unit_test(test_authfile),
	    cmocka_unit_test(test_dir_store_and_copy),
	    cmocka_unit_test(test_blob_verification),
	    cmocka_unit_test(test_store_open_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
