/*
 * test_server.c -- a real propeller-kbs server (in process, 127.0.0.1 on a
 * free port) driven over HTTP with libcurl and with the kbs client: the
 * walkthrough, every refusal the issue lists (status, error type, nothing
 * stored), restart persistence and the client's error reporting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jose/jose.h>
#include <openssl/pem.h>

#include "kbs/kbs_int.h"

struct fixture {
	char dir[64];
	char data[96];
	char admin_priv[96], admin_pub[96], wrong_priv[96], tee_key[96];
	struct kbs_config cfg;
	struct kbs_server *srv;
	char url[64];
	EVP_PKEY *admin, *wrong;
};

static struct fixture fx;

/* The daemon's request hook: the last refusal seen. */
static unsigned last_status;
static char last_detail[256];
static pthread_mutex_t last_lock = PTHREAD_MUTEX_INITIALIZER;

static void
on_request(void *arg, const char *method, const char *path, unsigned status,
    const char *detail)
{
	(void)arg;
	(void)method;
	(void)path;
	pthread_mutex_lock(&last_lock);
	last_status = status;
	snprintf(last_detail, sizeof(last_detail), "%s", detail);
	pthread_mutex_unlock(&last_lock);
}

static void
write_pem(const char *path, EVP_PKEY *k, bool pub)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	if (pub)
		assert_int_equal(PEM_write_PUBKEY(f, k), 1);
	else
		assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL,
		    NULL), 1);
	fclose(f);
}

static void
start_server(void)
{
	assert_int_equal(kbs_server_new(&fx.cfg, &fx.srv, NULL), CORE_OK);
	snprintf(fx.url, sizeof(fx.url), "http://127.0.0.1:%u",
	    (unsigned)kbs_server_port(fx.srv));
}

static int
setup(void **state)
{
	EVP_PKEY *tee;

	(void)state;
	memset(&fx, 0, sizeof(fx));
	snprintf(fx.dir, sizeof(fx.dir), "%s", "/tmp/kbs-test-XXXXXX");
	assert_non_null(mkdtemp(fx.dir));
	snprintf(fx.data, sizeof(fx.data), "%s/data", fx.dir);
	snprintf(fx.admin_priv, sizeof(fx.admin_priv), "%s/admin.key", fx.dir);
	snprintf(fx.admin_pub, sizeof(fx.admin_pub), "%s/admin.pub", fx.dir);
	snprintf(fx.wrong_priv, sizeof(fx.wrong_priv), "%s/wrong.key", fx.dir);
	snprintf(fx.tee_key, sizeof(fx.tee_key), "%s/tee.pem", fx.dir);
	fx.admin = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	fx.wrong = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	tee = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	write_pem(fx.admin_priv, fx.admin, false);
	write_pem(fx.admin_pub, fx.admin, true);
	write_pem(fx.wrong_priv, fx.wrong, false);
	write_pem(fx.tee_key, tee, false);
	EVP_PKEY_free(tee);
	kbs_config_init(&fx.cfg);
	free(fx.cfg.listen_addr);
	fx.cfg.listen_addr = strdup("127.0.0.1");
	fx.cfg.listen_port = 0;
	fx.cfg.data_dir = strdup(fx.data);
	fx.cfg.admin_public_key = strdup(fx.admin_pub);
	fx.cfg.max_body = 64 * 1024;
	fx.cfg.session_timeout_ms = 1500;
	fx.cfg.on_request = on_request;
	start_server();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	kbs_server_free(fx.srv);
	kbs_config_cleanup(&fx.cfg);
	EVP_PKEY_free(fx.admin);
	EVP_PKEY_free(fx.wrong);
	core_fs_rmtree(fx.dir, NULL);
	return 0;
}

struct resp {
	long status;
	struct core_buf body;
	char setcookie[128];
};

static size_t
on_body(char *p, size_t s, size_t n, void *ud)
{
	core_buf_append(ud, p, s * n);
	return s * n;
}

static size_t
on_header(char *p, size_t s, size_t n, void *ud)
{
	struct resp *r = ud;

	if (strncasecmp(p, "Set-Cookie: kbs-session-id=", 27) == 0)
		snprintf(r->setcookie, 33, "%s", p + 27);
	return s * n;
}

/* One raw HTTP request; cookie is the session id or NULL. */
static void
http(const char *method, const char *path, const char *body, size_t len,
    const char *cookie, const char *authz, struct resp *r)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hd = NULL;
	char url[512], hv[4096];

	memset(r, 0, sizeof(*r));
	core_buf_init(&r->body, 0);
	snprintf(url, sizeof(url), "%s%s", fx.url, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	if (cookie != NULL) {
		snprintf(hv, sizeof(hv), "kbs-session-id=%s", cookie);
		curl_easy_setopt(h, CURLOPT_COOKIE, hv);
	}
	if (authz != NULL) {
		snprintf(hv, sizeof(hv), "Authorization: %s", authz);
		hd = curl_slist_append(hd, hv);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	}
	if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	}
	assert_int_equal(curl_easy_perform(h), CURLE_OK);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(hd);
	curl_easy_cleanup(h);
}

struct upload {
	const char *p;
	size_t left;
};

static size_t
on_read(char *buf, size_t s, size_t n, void *ud)
{
	struct upload *u = ud;
	size_t k = s * n < u->left ? s * n : u->left;

	if (k > 1000)
		k = 1000; /* many small chunks */
	memcpy(buf, u->p, k);
	u->p += k;
	u->left -= k;
	return k;
}

/* A POST with a chunked body (no Content-Length). */
static void
http_chunked(const char *path, const char *body, size_t len,
    const char *authz, struct resp *r)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hd = NULL;
	struct upload u = { body, len };
	char url[512], hv[4096];

	memset(r, 0, sizeof(*r));
	core_buf_init(&r->body, 0);
	snprintf(url, sizeof(url), "%s%s", fx.url, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(h, CURLOPT_READDATA, &u);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
	hd = curl_slist_append(hd, "Transfer-Encoding: chunked");
	if (authz != NULL) {
		snprintf(hv, sizeof(hv), "Authorization: %s", authz);
		hd = curl_slist_append(hd, hv);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	assert_int_equal(curl_easy_perform(h), CURLE_OK);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(hd);
	curl_easy_cleanup(h);
}

/* Asserts status and the ErrorInformation variant, then frees r. */
static void
expect(struct resp *r, long status, const char *variant)
{
	json_t *j = json_loadb((char *)r->body.data, r->body.len, 0, NULL);
	const char *type = json_string_value(json_object_get(j, "type"));
	char want[256];

	if (r->status != status || type == NULL)
		fprintf(stderr, "got %ld %.*s\n", r->status, (int)r->body.len,
		    (char *)r->body.data);
	assert_int_equal(r->status, status);
	assert_non_null(type);
	snprintf(want, sizeof(want), KBS_ERR_PREFIX "%s", variant);
	assert_string_equal(type, want);
	assert_non_null(json_object_get(j, "detail"));
	json_decref(j);
	core_buf_cleanup(&r->body);
}

static size_t
count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;
	char sub[512];

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
		if (e->d_type == DT_DIR)
			n += count_files(sub);
		else
			n++;
	}
	closedir(d);
	return n;
}

static size_t
stored(void)
{
	char p[160];

	snprintf(p, sizeof(p), "%s/resources", fx.data);
	return count_files(p);
}

static char *
admin_token(EVP_PKEY *k, const char *payload)
{
	const char *hdr = "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}";
	char *h = core_b64url_encode(hdr, strlen(hdr));
	char *p = core_b64url_encode(payload, strlen(payload));
	char *out = malloc(4096), *s;
	uint8_t sig[64];
	size_t sl = 64;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	snprintf(out, 4096, "%s.%s", h, p);
	assert_int_equal(EVP_DigestSignInit(md, NULL, NULL, NULL, k), 1);
	assert_int_equal(EVP_DigestSign(md, sig, &sl, (uint8_t *)out,
	    strlen(out)), 1);
	s = core_b64url_encode(sig, 64);
	snprintf(out + strlen(out), 4096 - strlen(out), ".%s", s);
	EVP_MD_CTX_free(md);
	free(h);
	free(p);
	free(s);
	return out;
}

static char *
bearer(EVP_PKEY *k, int64_t iat, int64_t exp, const char *extra)
{
	char pl[512], *t, *b;

	snprintf(pl, sizeof(pl), "{\"exp\":%lld,\"iat\":%lld%s}",
	    (long long)exp, (long long)iat, extra ? extra : "");
	t = admin_token(k, pl);
	b = malloc(strlen(t) + 8);
	snprintf(b, strlen(t) + 8, "Bearer %s", t);
	free(t);
	return b;
}

/* /auth, returning the cookie and the nonce. */
static void
do_auth(const char *tee, char cookie[33], char nonce[64])
{
	char body[128];
	struct resp r;
	json_t *j;

	snprintf(body, sizeof(body), "{\"version\":\"0.4.0\",\"tee\":\"%s\","
	    "\"extra-params\":{}}", tee);
	http("POST", "/kbs/v0/auth", body, strlen(body), NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(strlen(r.setcookie), 32);
	memcpy(cookie, r.setcookie, 33);
	j = json_loadb((char *)r.body.data, r.body.len, 0, NULL);
	assert_int_equal(strlen(json_string_value(json_object_get(j,
	    "nonce"))), 44);
	assert_string_equal(json_string_value(json_object_get(j,
	    "extra-params")), "");
	snprintf(nonce, 64, "%s", json_string_value(json_object_get(j,
	    "nonce")));
	json_decref(j);
	core_buf_cleanup(&r.body);
}

/* An /attest body with sample evidence binding bind_nonce. */
static char *
attest_body(const char *nonce, const char *bind_nonce)
{
	struct crypto_key *k = NULL;
	json_t *jwk = NULL, *b;
	uint8_t d[48];
	char *rd, *s;

	assert_int_equal(crypto_key_generate(CRYPTO_KEY_EC_P256, 0, &k, NULL),
	    CORE_OK);
	assert_int_equal(kbs_pub_jwk(k, "ECDH-ES+A256KW", &jwk, NULL),
	    CORE_OK);
	assert_int_equal(kbs_runtime_digest(jwk, bind_nonce, "", d, NULL),
	    CORE_OK);
	rd = core_b64_encode(d, 48);
	b = json_pack("{s:{s:s,s:O},s:{s:{s:s,s:s},s:s}}", "runtime-data",
	    "nonce", nonce, "tee-pubkey", jwk, "tee-evidence",
	    "primary_evidence", "svn", "1", "report_data", rd,
	    "additional_evidence", "");
	s = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	json_decref(jwk);
	crypto_key_free(k);
	free(rd);
	return s;
}

static void
set_policy(enum kbs_policy_preset p)
{
	struct kbs_admin_opts o = { fx.url, NULL, fx.admin_priv, NULL, 0 };
	const char *t = kbs_policy_preset_text(p);

	assert_int_equal(kbs_admin_set_policy(&o, t, strlen(t), NULL), CORE_OK);
}

static void
test_walkthrough(void **state)
{
	struct kbs_admin_opts o = { fx.url, NULL, fx.admin_priv, NULL, 0 };
	struct kbs_client_opts co = { 0 };
	struct kbs_client *c = NULL;
	struct secret *s = NULL;
	struct core_errbuf eb;
	const char *key = "k4MZqFekujKA77bhoO755yD8Cf/lgZGBrXny3PJlJgs=\n";
	const char *t1, *t2;
	char *t1copy;

	(void)state;
	core_errbuf_clear(&eb);
	assert_int_equal(kbs_admin_set_resource(&o, "default/key/walk", key,
	    strlen(key), &eb), CORE_OK);
	co.url = fx.url;
	assert_int_equal(kbs_client_new(&co, &c, NULL), CORE_OK);
	/* The default policy refuses the sample TEE, with the KBS's detail. */
	assert_int_equal(kbs_client_get_resource(c, "default/key/walk", &s,
	    &eb), CORE_ERR_PERM);
	assert_non_null(strstr(core_errbuf_msg(&eb), "PolicyDeny"));
	set_policy(KBS_POLICY_ALLOW_ALL);
	assert_int_equal(kbs_client_get_resource(c, "default/key/walk", &s,
	    NULL), CORE_OK);
	assert_int_equal(s->len, strlen(key));
	assert_memory_equal(s->ptr, key, strlen(key));
	secret_free(s);
	/* The token is reused while valid. */
	assert_int_equal(kbs_client_attest(c, &t1, NULL), CORE_OK);
	t1copy = strdup(t1);
	assert_int_equal(kbs_client_attest(c, &t2, NULL), CORE_OK);
	assert_string_equal(t1copy, t2);
	free(t1copy);
	/* A missing resource is 401 PluginInternalError for the client. */
	core_errbuf_clear(&eb);
	assert_int_equal(kbs_client_get_resource(c, "default/key/none", &s,
	    &eb), CORE_ERR_AUTH);
	assert_non_null(strstr(core_errbuf_msg(&eb), "PluginInternalError"));
	/* Delete, then the resource is gone. */
	assert_int_equal(kbs_admin_delete_resource(&o, "default/key/walk",
	    NULL), CORE_OK);
	assert_int_equal(kbs_client_get_resource(c, "default/key/walk", &s,
	    NULL), CORE_ERR_AUTH);
	assert_int_equal(kbs_admin_delete_resource(&o, "default/key/walk",
	    NULL), CORE_ERR_AUTH);
	kbs_client_free(c);
	set_policy(KBS_POLICY_DEFAULT);
}

/*
 * A real HTTP resource answer for an RFC 7518 "Bob" TEE key decrypts with
 * libjose, and its protected header is Trustee's serde form.
 */
static void
test_jwe_answer_libjose(void **state)
{
	struct kbs_admin_opts o = { fx.url, NULL, fx.admin_priv, NULL, 0 };
	json_t *bob = json_pack("{s:s,s:s,s:s,s:s,s:s}", "kty", "EC", "crv",
	    "P-256", "alg", "ECDH-ES+A256KW", "x",
	    "weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ", "y",
	    "e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck");
	json_t *bobpriv = json_deep_copy(bob), *body, *jwe, *hdr;
	char cookie[33], nonce[64], *rd, *b;
	const char *prot;
	uint8_t d[48], *ph = NULL;
	size_t phl = 0, ptl = 0;
	struct resp r;
	void *pt;

	(void)state;
	json_object_del(bobpriv, "alg");
	json_object_set_new(bobpriv, "d", json_string(
	    "VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw"));
	set_policy(KBS_POLICY_ALLOW_ALL);
	assert_int_equal(kbs_admin_set_resource(&o, "default/key/jose",
	    "libjose reads this", 18, NULL), CORE_OK);
	do_auth("sample", cookie, nonce);
	assert_int_equal(kbs_runtime_digest(bob, nonce, "", d, NULL), CORE_OK);
	rd = core_b64_encode(d, 48);
	body = json_pack("{s:{s:s,s:O},s:{s:{s:s,s:s},s:s}}", "runtime-data",
	    "nonce", nonce, "tee-pubkey", bob, "tee-evidence",
	    "primary_evidence", "svn", "1", "report_data", rd,
	    "additional_evidence", "");
	b = json_dumps(body, JSON_COMPACT);
	http("POST", "/kbs/v0/attest", b, strlen(b), cookie, NULL, &r);
	assert_int_equal(r.status, 200);
	core_buf_cleanup(&r.body);
	http("GET", "/kbs/v0/resource/default/key/jose", NULL, 0, cookie, NULL,
	    &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.setcookie[0], '\0'); /* no Set-Cookie on 200 */
	jwe = json_loadb((char *)r.body.data, r.body.len, 0, NULL);
	assert_non_null(jwe);
	assert_null(json_object_get(jwe, "aad"));
	pt = jose_jwe_dec(NULL, jwe, NULL, bobpriv, &ptl);
	assert_non_null(pt);
	assert_int_equal(ptl, 18);
	assert_memory_equal(pt, "libjose reads this", 18);
	prot = json_string_value(json_object_get(jwe, "protected"));
	assert_int_equal(core_b64url_decode(prot, strlen(prot), &ph, &phl,
	    NULL), CORE_OK);
	assert_memory_equal(ph, "{\"alg\":\"ECDH-ES+A256KW\",\"enc\":"
	    "\"A256GCM\",\"epk\":{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":", 76);
	hdr = json_loadb((char *)ph, phl, 0, NULL);
	assert_null(json_object_get(hdr, "apu"));
	json_decref(hdr);
	free(ph);
	free(pt);
	json_decref(jwe);
	core_buf_cleanup(&r.body);
	free(b);
	free(rd);
	json_decref(body);
	json_decref(bob);
	json_decref(bobpriv);
	set_policy(KBS_POLICY_DEFAULT);
}

static void
test_rcar_refusals(void **state)
{
	char cookie[33], nonce[64], cookie2[33], nonce2[64];
	struct resp r;
	char *body, *good;

	(void)state;
	/* Missing cookie. */
	body = attest_body("x", "x");
	http("POST", "/kbs/v0/attest", body, strlen(body), NULL, NULL, &r);
	expect(&r, 401, "AttestationError");
	free(body);
	/* Bad JSON on /auth and /attest; wrong version; unknown tee. */
	http("POST", "/kbs/v0/auth", "{", 1, NULL, NULL, &r);
	expect(&r, 401, "AttestationError");
	http("POST", "/kbs/v0/auth", "{\"version\":\"0.1.1\",\"tee\":\"sample\","
	    "\"extra-params\":{}}", 52, NULL, NULL, &r);
	expect(&r, 401, "AttestationError");
	do_auth("sample", cookie, nonce);
	http("POST", "/kbs/v0/attest", "{\"runtime-data\":", 16, cookie, NULL,
	    &r);
	expect(&r, 401, "AttestationError");
	/* Wrong binding: the evidence binds another nonce. The nonce is then
	 * burnt: the right evidence on that session fails too. */
	body = attest_body(nonce, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	http("POST", "/kbs/v0/attest", body, strlen(body), cookie, NULL, &r);
	expect(&r, 401, "AttestationError");
	free(body);
	good = attest_body(nonce, nonce);
	http("POST", "/kbs/v0/attest", good, strlen(good), cookie, NULL, &r);
	expect(&r, 401, "AttestationError");
	free(good);
	/* Replayed nonce: a success, then the same body again on the same
	 * session and on a new one. */
	do_auth("sample", cookie, nonce);
	good = attest_body(nonce, nonce);
	http("POST", "/kbs/v0/attest", good, strlen(good), cookie, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.setcookie, cookie);
	core_buf_cleanup(&r.body);
	http("POST", "/kbs/v0/attest", good, strlen(good), cookie, NULL, &r);
	expect(&r, 401, "AttestationError");
	do_auth("sample", cookie2, nonce2);
	http("POST", "/kbs/v0/attest", good, strlen(good), cookie2, NULL, &r);
	expect(&r, 401, "AttestationError");
	free(good);
	/* Evidence for another tee: the session was opened for snp. */
	do_auth("snp", cookie, nonce);
	good = attest_body(nonce, nonce);
	http("POST", "/kbs/v0/attest", good, strlen(good), cookie, NULL, &r);
	expect(&r, 401, "AttestationError");
	free(good);
	/* Unknown session id. */
	good = attest_body(nonce, nonce);
	http("POST", "/kbs/v0/attest", good, strlen(good),
	    "00000000000000000000000000000000", NULL, &r);
	expect(&r, 401, "AttestationError");
	free(good);
	/* Expired session (timeout 1.5 s in this fixture). */
	do_auth("sample", cookie, nonce);
	usleep(1600 * 1000);
	good = attest_body(nonce, nonce);
	http("POST", "/kbs/v0/attest", good, strlen(good), cookie, NULL, &r);
	expect(&r, 401, "AttestationError");
	free(good);
}

static void
test_resource_refusals(void **state)
{
	char cookie[33], nonce[64], *good, *b;
	struct resp r;
	size_t before = stored();
	time_t now = time(NULL);

	(void)state;
	/* No token at all, a garbage Bearer, a token from another signer. */
	http("GET", "/kbs/v0/resource/default/key/x", NULL, 0, NULL, NULL, &r);
	expect(&r, 401, "TokenNotFound");
	http("GET", "/kbs/v0/resource/default/key/x", NULL, 0, NULL,
	    "Bearer a.b.c", &r);
	expect(&r, 401, "TokenVerifierError");
	b = bearer(fx.admin, now, now + 60, NULL);
	http("GET", "/kbs/v0/resource/default/key/x", NULL, 0, NULL, b, &r);
	expect(&r, 401, "TokenVerifierError");
	free(b);
	/* Bad paths. */
	do_auth("sample", cookie, nonce);
	good = attest_body(nonce, nonce);
	http("POST", "/kbs/v0/attest", good, strlen(good), cookie, NULL, &r);
	assert_int_equal(r.status, 200);
	core_buf_cleanup(&r.body);
	free(good);
	http("GET", "/kbs/v0/resource/default/../key", NULL, 0, cookie, NULL,
	    &r);
	expect(&r, 401, "PluginInternalError");
	http("GET", "/kbs/v0/resource/default/key/a%24b", NULL, 0, cookie,
	    NULL, &r);
	expect(&r, 401, "PluginInternalError");
	http("GET", "/kbs/v0/resource/default/key", NULL, 0, cookie, NULL, &r);
	expect(&r, 401, "PluginInternalError");
	/* Policy denial with a valid session under the default policy. */
	http("GET", "/kbs/v0/resource/default/key/x", NULL, 0, cookie, NULL,
	    &r);
	expect(&r, 401, "PolicyDeny");
	/* Routing. */
	http("GET", "/kbs/v0/auth", NULL, 0, NULL, NULL, &r);
	expect(&r, 404, "PluginNotFound");
	http("GET", "/kbs/v0/nope", NULL, 0, NULL, NULL, &r);
	expect(&r, 404, "PluginNotFound");
	http("GET", "/other", NULL, 0, NULL, NULL, &r);
	expect(&r, 404, "InvalidRequestPath");
	pthread_mutex_lock(&last_lock);
	assert_int_equal(last_status, 404);
	assert_non_null(strstr(last_detail, "/other"));
	pthread_mutex_unlock(&last_lock);
	http("GET", "/healthz", NULL, 0, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	core_buf_cleanup(&r.body);
	assert_int_equal(stored(), before);
}

static void
test_admin_refusals(void **state)
{
	time_t now = time(NULL);
	char *ok = bearer(fx.admin, now, now + 600, NULL);
	char *expired = bearer(fx.admin, now - 9000, now - 1800, NULL);
	char *future = bearer(fx.admin, now + 3600, now + 7200, NULL);
	char *wrong = bearer(fx.wrong, now, now + 600, NULL);
	char *noexp, *role_ok, *role_bad;
	char *big = calloc(1, 70 * 1024);
	size_t before = stored();
	struct resp r;

	(void)state;
	{
		char *t = admin_token(fx.admin, "{\"iat\":1}");

		noexp = malloc(strlen(t) + 8);
		snprintf(noexp, strlen(t) + 8, "Bearer %s", t);
		free(t);
	}
	role_ok = bearer(fx.admin, now, now + 600, ",\"role\":\"admin\"");
	role_bad = bearer(fx.admin, now, now + 600, ",\"role\":\"reader\"");
	http("POST", "/kbs/v0/resource/a/b/c", "x", 1, NULL, NULL, &r);
	expect(&r, 401, "AdminAuth");
	http("POST", "/kbs/v0/resource/a/b/c", "x", 1, NULL, expired, &r);
	expect(&r, 401, "AdminAuth");
	http("POST", "/kbs/v0/resource/a/b/c", "x", 1, NULL, future, &r);
	expect(&r, 401, "AdminAuth");
	http("POST", "/kbs/v0/resource/a/b/c", "x", 1, NULL, wrong, &r);
	expect(&r, 401, "AdminAuth");
	http("POST", "/kbs/v0/resource/a/b/c", "x", 1, NULL, noexp, &r);
	expect(&r, 401, "AdminAuth");
	http("POST", "/kbs/v0/resource/a/b/c", "x", 1, NULL, role_bad, &r);
	expect(&r, 401, "AdminAuth");
	http("DELETE", "/kbs/v0/resource/a/b/c", NULL, 0, NULL, wrong, &r);
	expect(&r, 401, "AdminAuth");
	http("POST", "/kbs/v0/resource-policy", "{}", 2, NULL, expired, &r);
	expect(&r, 401, "AdminAuth");
	/* Authenticated but bad: paths, bodies, policies. */
	http("POST", "/kbs/v0/resource/a/../c", "x", 1, NULL, ok, &r);
	expect(&r, 401, "PluginInternalError");
	http("POST", "/kbs/v0/resource/a/b/.c", "x", 1, NULL, ok, &r);
	expect(&r, 401, "PluginInternalError");
	http("POST", "/kbs/v0/resource/a/b/c%2Fd", "x", 1, NULL, ok, &r);
	expect(&r, 401, "PluginInternalError");
	memset(big, 'a', 70 * 1024 - 1);
	http("POST", "/kbs/v0/resource/a/b/big", big, strlen(big), NULL, ok,
	    &r);
	expect(&r, 413, "PayloadTooLarge");
	http("POST", "/kbs/v0/auth", big, strlen(big), NULL, NULL, &r);
	expect(&r, 413, "PayloadTooLarge");
	/* Chunked bodies have no Content-Length: cut off while reading. */
	http_chunked("/kbs/v0/resource/a/b/big", big, strlen(big), ok, &r);
	expect(&r, 413, "PayloadTooLarge");
	http_chunked("/kbs/v0/resource/a/b/small", "chunked ok", 10, ok, &r);
	assert_int_equal(r.status, 200);
	core_buf_cleanup(&r.body);
	http("DELETE", "/kbs/v0/resource/a/b/small", NULL, 0, NULL, ok, &r);
	assert_int_equal(r.status, 200);
	core_buf_cleanup(&r.body);
	http("POST", "/kbs/v0/resource-policy", "{\"policy\":\"YQ==\"}", 17,
	    NULL, ok, &r);
	expect(&r, 401, "ParsePolicyError");
	http("POST", "/kbs/v0/resource-policy", "{\"policy\":\"e30\"}", 16,
	    NULL, ok, &r);
	expect(&r, 401, "ParsePolicyError");
	assert_int_equal(stored(), before);
	/* The role-claim variant with role admin is accepted. */
	http("POST", "/kbs/v0/resource/a/b/role", "x", 1, NULL, role_ok, &r);
	assert_int_equal(r.status, 200);
	core_buf_cleanup(&r.body);
	assert_int_equal(stored(), before + 1);
	http("DELETE", "/kbs/v0/resource/a/b/role", NULL, 0, NULL, ok, &r);
	assert_int_equal(r.status, 200);
	core_buf_cleanup(&r.body);
	assert_int_equal(stored(), before);
	free(ok);
	free(expired);
	free(future);
	free(wrong);
	free(noexp);
	free(role_ok);
	free(role_bad);
	free(big);
}

/* Resources and the token key survive a restart: a token issued before
 * still works after it (Bearer path). */
static void
test_restart(void **state)
{
	struct kbs_admin_opts o = { fx.url, NULL, fx.admin_priv, NULL, 0 };
	struct kbs_client_opts co = { 0 };
	struct kbs_client *c = NULL;
	struct secret *s = NULL;
	const char *tok;
	char *saved;

	(void)state;
	set_policy(KBS_POLICY_ALLOW_ALL);
	assert_int_equal(kbs_admin_set_resource(&o, "default/key/keep", "kept",
	    4, NULL), CORE_OK);
	co.url = fx.url;
	co.tee_key_file = fx.tee_key;
	assert_int_equal(kbs_client_new(&co, &c, NULL), CORE_OK);
	assert_int_equal(kbs_client_attest(c, &tok, NULL), CORE_OK);
	saved = strdup(tok);
	kbs_client_free(c);
	kbs_server_free(fx.srv);
	fx.srv = NULL;
	start_server();
	co.url = fx.url;
	assert_int_equal(kbs_client_new(&co, &c, NULL), CORE_OK);
	assert_int_equal(kbs_client_set_token(c, saved, NULL), CORE_OK);
	assert_int_equal(kbs_client_get_resource(c, "default/key/keep", &s,
	    NULL), CORE_OK);
	assert_int_equal(s->len, 4);
	assert_memory_equal(s->ptr, "kept", 4);
	secret_free(s);
	kbs_client_free(c);
	free(saved);
	set_policy(KBS_POLICY_DEFAULT);
}

static void
test_client_errors(void **state)
{
	struct kbs_client_opts co = { 0 };
	struct kbs_client *c = NULL;
	struct secret *s = NULL;
	struct core_errbuf eb;
	struct kbs_admin_opts o = { fx.url, NULL, fx.wrong_priv, NULL, 0 };

	(void)state;
	/* Unreachable: port 1 on loopback has no listener. */
	co.url = "http://127.0.0.1:1";
	assert_int_equal(kbs_client_new(&co, &c, NULL), CORE_OK);
	core_errbuf_clear(&eb);
	assert_int_equal(kbs_client_get_resource(c, "a/b/c", &s, &eb),
	    CORE_ERR_NET);
	assert_non_null(strstr(core_errbuf_msg(&eb), "unreachable"));
	kbs_client_free(c);
	/* A bad path is refused before anything is sent. */
	co.url = fx.url;
	assert_int_equal(kbs_client_new(&co, &c, NULL), CORE_OK);
	assert_int_equal(kbs_client_get_resource(c, "a/../c", &s, NULL),
	    CORE_ERR_INVALID);
	kbs_client_free(c);
	/* An admin call with the wrong key reports AdminAuth. */
	core_errbuf_clear(&eb);
	assert_int_equal(kbs_admin_set_resource(&o, "a/b/c", "x", 1, &eb),
	    CORE_ERR_AUTH);
	assert_non_null(strstr(core_errbuf_msg(&eb), "AdminAuth"));
}

/*
 * Passport: a token issued by another KBS is refused until that KBS's
 * token key is pinned with trusted_token_keys.
 */
static void
test_passport_trusted_keys(void **state)
{
	struct kbs_admin_opts o = { NULL, NULL, fx.admin_priv, NULL, 0 };
	struct kbs_client_opts co = { 0 };
	struct kbs_config c2;
	struct kbs_server *other = NULL;
	struct kbs_client *c = NULL;
	struct secret *s = NULL;
	struct core_errbuf eb;
	char url2[64], data2[128], keyp[160], pubp[160];
	const char *tok;
	char *saved;
	struct crypto_key *k = NULL;

	(void)state;
	snprintf(data2, sizeof(data2), "%s/data2", fx.dir);
	kbs_config_init(&c2);
	free(c2.listen_addr);
	c2.listen_addr = strdup("127.0.0.1");
	c2.listen_port = 0;
	c2.data_dir = strdup(data2);
	c2.admin_public_key = strdup(fx.admin_pub);
	assert_int_equal(kbs_server_new(&c2, &other, NULL), CORE_OK);
	snprintf(url2, sizeof(url2), "http://127.0.0.1:%u",
	    (unsigned)kbs_server_port(other));
	co.url = url2;
	co.tee_key_file = fx.tee_key;
	assert_int_equal(kbs_client_new(&co, &c, NULL), CORE_OK);
	assert_int_equal(kbs_client_attest(c, &tok, NULL), CORE_OK);
	saved = strdup(tok);
	kbs_client_free(c);
	kbs_server_free(other);
	kbs_config_cleanup(&c2);
	/* Our KBS does not know that signer. */
	set_policy(KBS_POLICY_ALLOW_ALL);
	o.url = fx.url;
	assert_int_equal(kbs_admin_set_resource(&o, "default/key/pass", "pp", 2,
	    NULL), CORE_OK);
	co.url = fx.url;
	assert_int_equal(kbs_client_new(&co, &c, NULL), CORE_OK);
	assert_int_equal(kbs_client_set_token(c, saved, NULL), CORE_OK);
	core_errbuf_clear(&eb);
	assert_int_equal(kbs_client_get_resource(c, "default/key/pass", &s,
	    &eb), CORE_ERR_AUTH);
	assert_non_null(strstr(core_errbuf_msg(&eb), "TokenVerifierError"));
	kbs_client_free(c);
	/* Pin the other KBS's token key and restart. */
	snprintf(keyp, sizeof(keyp), "%s/token-key.pem", data2);
	snprintf(pubp, sizeof(pubp), "%s/other-token.pub", fx.dir);
	assert_int_equal(crypto_key_load_file(keyp, &k, NULL), CORE_OK);
	write_pem(pubp, crypto_key_evp(k), true);
	crypto_key_free(k);
	fx.cfg.trusted_token_keys = calloc(1, sizeof(char *));
	fx.cfg.trusted_token_keys[0] = strdup(pubp);
	fx.cfg.ntrusted = 1;
	kbs_server_free(fx.srv);
	start_server();
	co.url = fx.url;
	assert_int_equal(kbs_client_new(&co, &c, NULL), CORE_OK);
	assert_int_equal(kbs_client_set_token(c, saved, NULL), CORE_OK);
	assert_int_equal(kbs_client_get_resource(c, "default/key/pass", &s,
	    NULL), CORE_OK);
	assert_memory_equal(s->ptr, "pp", 2);
	secret_free(s);
	kbs_client_free(c);
	free(saved);
	o.url = fx.url;
	set_policy(KBS_POLICY_DEFAULT);
	assert_int_equal(kbs_admin_delete_resource(&o, "default/key/pass",
	    NULL), CORE_OK);
}

/* Talks to a vault child directly: a good request, then hostile ones. */
static void
vault_exchange(int fd, uint32_t type, const void *p, uint32_t len,
    uint64_t id, struct kbs_msg_hdr *r)
{
	struct kbs_msg_hdr h = { type, len, id };

	assert_int_equal(core_write_all(fd, &h, sizeof(h)), CORE_OK);
	if (len)
		assert_int_equal(core_write_all(fd, p, len), CORE_OK);
	if (r != NULL)
		assert_int_equal(core_read_exact(fd, r, sizeof(*r)), CORE_OK);
}

static void
expect_child_gone(int fd, pid_t pid)
{
	char c;
	int st = 0;

	assert_int_equal(read(fd, &c, 1), 0); /* EOF: the child ended */
	assert_int_equal(waitpid(pid, &st, 0), pid);
	close(fd);
}

static void
test_vault_ipc(void **state)
{
	struct kbs_msg_hdr r;
	uint8_t buf[4096];
	pid_t pid;
	int fd;

	(void)state;
	/* A good request is answered with the same id. */
	assert_int_equal(kbs_vault_spawn(fx.data, 1, &fd, &pid, NULL), CORE_OK);
	vault_exchange(fd, KBS_MSG_PUBKEY, NULL, 0, 77, &r);
	assert_int_equal(r.type, KBS_MSG_OK);
	assert_int_equal(r.id, 77);
	assert_true(r.len > 0 && r.len < sizeof(buf));
	assert_int_equal(core_read_exact(fd, buf, r.len), CORE_OK);
	/* A refused request is an ERR reply, and the child stays. */
	vault_exchange(fd, KBS_MSG_GET, "a/../b", 6, 78, &r);
	assert_int_equal(r.type, KBS_MSG_ERR);
	assert_int_equal(core_read_exact(fd, buf, r.len), CORE_OK);
	/* An unknown type ends the child. */
	vault_exchange(fd, 99, NULL, 0, 79, NULL);
	expect_child_gone(fd, pid);
	/* So does a wrong length (PUBKEY carries no payload)... */
	assert_int_equal(kbs_vault_spawn(fx.data, 1, &fd, &pid, NULL), CORE_OK);
	vault_exchange(fd, KBS_MSG_PUBKEY, "x", 1, 1, NULL);
	expect_child_gone(fd, pid);
	/* ... a NUL inside a path, or a PUT whose path overruns. */
	assert_int_equal(kbs_vault_spawn(fx.data, 1, &fd, &pid, NULL), CORE_OK);
	vault_exchange(fd, KBS_MSG_GET, "a/b\0c", 5, 1, NULL);
	expect_child_gone(fd, pid);
	assert_int_equal(kbs_vault_spawn(fx.data, 1, &fd, &pid, NULL), CORE_OK);
	{
		uint8_t put[8] = { 200, 0, 0, 0, 'a', '/', 'b', '/' };

		vault_exchange(fd, KBS_MSG_PUT, put, sizeof(put), 1, NULL);
	}
	expect_child_gone(fd, pid);
	/* A reply type sent as a request, and an oversized length. */
	assert_int_equal(kbs_vault_spawn(fx.data, 1, &fd, &pid, NULL), CORE_OK);
	vault_exchange(fd, KBS_MSG_OK, NULL, 0, 1, NULL);
	expect_child_gone(fd, pid);
	assert_int_equal(kbs_vault_spawn(fx.data, 1, &fd, &pid, NULL), CORE_OK);
	vault_exchange(fd, KBS_MSG_SIGN, NULL, 0, 1, NULL);
	expect_child_gone(fd, pid);
}

/* GET over the vault socket: the reply type and (for OK) the bytes. */
static uint32_t
vault_get(int fd, const char *path, char *out, size_t cap)
{
	struct kbs_msg_hdr r;

	vault_exchange(fd, KBS_MSG_GET, path, (uint32_t)strlen(path), 5, &r);
	assert_int_equal(r.id, 5);
	assert_true(r.len < cap);
	assert_int_equal(core_read_exact(fd, out, r.len), CORE_OK);
	out[r.len] = '\0';
	return r.type;
}

/*
 * The vault keeps resources it has read, but a file replaced or edited on
 * disk (behind the KBS's back) is read again at once; the IPC reader takes
 * a header split over two writes and ends the child when a second request
 * arrives before the reply to the first.
 */
static void
test_vault_cache(void **state)
{
	char file[PATH_MAX], got[256];
	uint8_t put[64];
	struct kbs_msg_hdr h = { KBS_MSG_GET, 13, 9 }, r;
	uint32_t pl = 13;
	pid_t pid;
	int fd, wfd;

	(void)state;
	assert_int_equal(kbs_vault_spawn(fx.data, 1, &fd, &pid, NULL), CORE_OK);
	memcpy(put, &pl, 4);
	memcpy(put + 4, "cache/key/one", 13);
	memcpy(put + 17, "first", 5);
	vault_exchange(fd, KBS_MSG_PUT, put, 22, 4, &r);
	assert_int_equal(r.type, KBS_MSG_OK);
	assert_int_equal(vault_get(fd, "cache/key/one", got, sizeof(got)),
	    KBS_MSG_OK);
	assert_string_equal(got, "first");
	snprintf(file, sizeof(file), "%s/resources/cache/key/one", fx.data);
	/* Replaced on disk (a new inode). */
	assert_int_equal(core_fs_write_atomic(file, "second", 6, 0600, NULL),
	    CORE_OK);
	assert_int_equal(vault_get(fd, "cache/key/one", got, sizeof(got)),
	    KBS_MSG_OK);
	assert_string_equal(got, "second");
	/* Edited in place with the same size (same inode, new times). */
	usleep(20 * 1000);
	wfd = open(file, O_WRONLY | O_TRUNC);
	assert_true(wfd >= 0);
	assert_int_equal(write(wfd, "thirds", 6), 6);
	close(wfd);
	assert_int_equal(vault_get(fd, "cache/key/one", got, sizeof(got)),
	    KBS_MSG_OK);
	assert_string_equal(got, "thirds");
	/* Removed on disk. */
	assert_int_equal(unlink(file), 0);
	assert_int_equal(vault_get(fd, "cache/key/one", got, sizeof(got)),
	    KBS_MSG_ERR);
	/* A header in two writes is one message. */
	assert_int_equal(core_write_all(fd, &h, 7), CORE_OK);
	usleep(10 * 1000);
	assert_int_equal(core_write_all(fd, (uint8_t *)&h + 7, sizeof(h) - 7),
	    CORE_OK);
	assert_int_equal(core_write_all(fd, "cache/key/one", 13), CORE_OK);
	assert_int_equal(core_read_exact(fd, &r, sizeof(r)), CORE_OK);
	assert_int_equal(r.id, 9);
	assert_int_equal(core_read_exact(fd, got, r.len), CORE_OK);
	/* Two requests in one write: a protocol violation. */
	{
		uint8_t two[2 * sizeof(h)];

		h.type = KBS_MSG_PUBKEY;
		h.len = 0;
		memcpy(two, &h, sizeof(h));
		memcpy(two + sizeof(h), &h, sizeof(h));
		assert_int_equal(core_write_all(fd, two, sizeof(two)), CORE_OK);
	}
	expect_child_gone(fd, pid);
}


#define SMALL_TABLE 8
#define FLOW_THREADS 4
#define FLOWS_PER_THREAD 40

/* Full flows, each with a new client (a new session); counts failures. */
static void *
flows_run(void *arg)
{
	struct kbs_client_opts co = { 0 };
	struct kbs_client *c = NULL;
	struct secret *s = NULL;
	int *failed = arg;

	co.url = fx.url;
	for (int i = 0; i < FLOWS_PER_THREAD; i++) {
		if (kbs_client_new(&co, &c, NULL) != CORE_OK ||
		    kbs_client_get_resource(c, "default/key/many", &s, NULL) !=
		    CORE_OK || s->len != 4 || memcmp(s->ptr, "many", 4) != 0)
			(*failed)++;
		secret_free(s);
		kbs_client_free(c);
		s = NULL;
		c = NULL;
	}
	return NULL;
}

/* The value of one /metrics line, e.g. `kbs_sessions{state="pending"}`. */
static long
metric(const char *name)
{
	struct resp r;
	const char *p;
	long v = -1;

	http("GET", "/metrics", NULL, 0, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(core_buf_append(&r.body, "", 1), CORE_OK);
	p = strstr((const char *)r.body.data, name);
	if (p != NULL)
		v = strtol(p + strlen(name) + 1, NULL, 10);
	core_buf_cleanup(&r.body);
	return v;
}

/*
 * Sustained load over a table of 8 sessions: 160 flows from 4 threads are
 * never refused; a client whose attested session was evicted meanwhile
 * still gets its resource with the token it holds (sent as Bearer, no new
 * attestation), while the bare cookie of an evicted session gets
 * TokenNotFound.
 */
static void
test_sustained_small_table(void **state)
{
	struct kbs_admin_opts o = { fx.url, NULL, fx.admin_priv, NULL, 0 };
	struct kbs_client_opts co = { 0 };
	struct kbs_client *early = NULL;
	struct secret *s = NULL;
	char cookie[33], nonce[64], *body, *tok1;
	const char *tok2;
	int failed[FLOW_THREADS] = { 0 };
	pthread_t t[FLOW_THREADS];
	struct resp r;

	(void)state;
	kbs_server_free(fx.srv);
	fx.cfg.max_sessions = SMALL_TABLE;
	start_server();
	o.url = fx.url;
	set_policy(KBS_POLICY_ALLOW_ALL);
	assert_int_equal(kbs_admin_set_resource(&o, "default/key/many", "many",
	    4, NULL), CORE_OK);
	co.url = fx.url;
	assert_int_equal(kbs_client_new(&co, &early, NULL), CORE_OK);
	assert_int_equal(kbs_client_get_resource(early, "default/key/many", &s,
	    NULL), CORE_OK);
	secret_free(s);
	assert_int_equal(kbs_client_attest(early, &tok2, NULL), CORE_OK);
	tok1 = strdup(tok2);
	/* A session used with its cookie only. */
	do_auth("sample", cookie, nonce);
	body = attest_body(nonce, nonce);
	http("POST", "/kbs/v0/attest", body, strlen(body), cookie, NULL, &r);
	assert_int_equal(r.status, 200);
	core_buf_cleanup(&r.body);
	free(body);
	http("GET", "/kbs/v0/resource/default/key/many", NULL, 0, cookie, NULL,
	    &r);
	assert_int_equal(r.status, 200);
	core_buf_cleanup(&r.body);
	for (int i = 0; i < FLOW_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, flows_run,
		    &failed[i]), 0);
	for (int i = 0; i < FLOW_THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(failed[i], 0);
	}
	assert_true(metric("kbs_sessions{state=\"pending\"}") +
	    metric("kbs_sessions{state=\"attested\"}") <= SMALL_TABLE);
	assert_true(metric("kbs_sessions_removed_total{reason=\"evicted\"}") >=
	    FLOW_THREADS * FLOWS_PER_THREAD - SMALL_TABLE);
	/* The early client's session is long gone; its token still works. */
	assert_int_equal(kbs_client_get_resource(early, "default/key/many", &s,
	    NULL), CORE_OK);
	assert_memory_equal(s->ptr, "many", 4);
	secret_free(s);
	assert_int_equal(kbs_client_attest(early, &tok2, NULL), CORE_OK);
	assert_string_equal(tok1, tok2);
	free(tok1);
	kbs_client_free(early);
	http("GET", "/kbs/v0/resource/default/key/many", NULL, 0, cookie, NULL,
	    &r);
	expect(&r, 401, "TokenNotFound");
	assert_int_equal(kbs_admin_delete_resource(&o, "default/key/many",
	    NULL), CORE_OK);
	set_policy(KBS_POLICY_DEFAULT);
	kbs_server_free(fx.srv);
	fx.cfg.max_sessions = 20000;
	start_server();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walkthrough),
		cmocka_unit_test(test_jwe_answer_libjose),
		cmocka_unit_test(test_rcar_refusals),
		cmocka_unit_test(test_resource_refusals),
		cmocka_unit_test(test_admin_refusals),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_client_errors),
		cmocka_unit_test(test_vault_ipc),
		cmocka_unit_test(test_vault_cache),
		cmocka_unit_test(test_passport_trusted_keys),
		cmocka_unit_test(test_sustained_small_table),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, setup, teardown);
	curl_global_cleanup();
	return rc;
}
