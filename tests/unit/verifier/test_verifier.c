/*
 * test_verifier.c -- the verifiers against the real TDX v4 quote and SNP v2
 * report in testdata/tee, bit flips across every signed region, truncated
 * and oversized inputs, wrong report data, debug bits, expiry, collateral,
 * and the pinned anchors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "verifier/verifier.h"
#include "verifier/verifier_int.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/sha.h>


/* File-local functions of src/verifier/dcap.c, exposed by STATIC. */
enum core_err dcap_parse(enum tee_kind kind, const uint8_t *p, size_t n,
    struct dcap_quote *q, struct core_errbuf *eb);
enum core_err dcap_tcb_info(enum tee_kind kind, const struct dcap_quote *q,
    const struct dcap_pck_ext *x, const json_t *info, json_t *tcb,
    struct core_errbuf *eb);
enum core_err dcap_qe_identity(enum tee_kind kind, const struct dcap_quote *q,
    const json_t *idn, json_t *tcb, struct core_errbuf *eb);
enum core_err snp_check_crl(const uint8_t *p, size_t n, X509 *ark,
    X509 *ask, int64_t t, struct core_errbuf *eb);
enum core_err snp_check_policy(const uint8_t *r,
    const struct verifier_opts *opts, struct core_errbuf *eb);
bool dcap_json_member_span(const char *s, size_t n, const char *key,
    size_t *start, size_t *len);

/* 2023-07-01T00:00:00Z: every shipped sample and its collateral is valid. */
#define T_PINNED 1688169600
/* 2030-01-01: after both chains expired. */
#define T_EXPIRED 1893456000
/* 2023-07-09: after the PCK CRL's nextUpdate. */
#define T_CRL_EXPIRED 1688860800

static const char tdx_rd_hex[] =
    "6c62dec1b8191749a31dab490be532a35944dea47caef1f980863993d9899545"
    "eb7406a38d1eed313b987a467dacead6f0c87a6d766c66f6f29f8acb281f1113";
static const char tdx_mrtd_hex[] =
    "6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f"
    "22fc00b8dcd404bc10d5e119d7215cbb";
static const char snp_meas_hex[] =
    "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b"
    "6bdf8a9ece31a5a608eb0cf2e4872b01";

struct fix {
	uint8_t *tdx;
	size_t tdx_len;
	uint8_t *snp;
	size_t snp_len;
	uint8_t *vcek;
	size_t vcek_len;
	uint8_t tdx_rd[64];
	uint8_t snp_rd[64];
	char *tdx_dir;
};

static char *
td_path(const char *rel)
{
	const char *base = getenv("PROPELLER_TESTDATA");
	char *p;

	assert_non_null(base);
	p = core_path_join(base, rel);
	assert_non_null(p);
	return p;
}

static void
td_read(const char *rel, uint8_t **out, size_t *len)
{
	char *p = td_path(rel);

	assert_int_equal(core_fs_read(p, 0, out, len, NULL), CORE_OK);
	free(p);
}

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	td_read("tee/tdx/tdx_prod_quote_SPR_E4.dat", &f->tdx, &f->tdx_len);
	td_read("tee/snp/attestation.bin", &f->snp, &f->snp_len);
	td_read("tee/snp/vcek.der", &f->vcek, &f->vcek_len);
	assert_int_equal(core_hex_decode_fixed(tdx_rd_hex, f->tdx_rd, 64,
	    NULL), CORE_OK);
	memset(f->snp_rd, 0, 64);
	memcpy(f->snp_rd, "\x01\x02\x03\x04\x05", 5);
	f->tdx_dir = td_path("tee/tdx");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	free(f->tdx);
	free(f->snp);
	free(f->vcek);
	free(f->tdx_dir);
	free(f);
	return 0;
}

static struct verifier_opts
snp_opts(const struct fix *f, int64_t t, bool allow_debug)
{
	struct verifier_opts o = { 0 };

	o.check_time = t;
	o.vcek = f->vcek;
	o.vcek_len = f->vcek_len;
	o.allow_debug = allow_debug;
	return o;
}

static const char *
claim_str(const json_t *c, const char *k)
{
	return json_string_value(json_object_get(c, k));
}

/* ---- anchors ---------------------------------------------------------- */

static void
test_anchors_pinned(void **state)
{
	static const char *const names[] = { "intel-sgx-root",
		"amd-ark-milan", "amd-ask-milan", "amd-asvk-milan",
		"amd-ark-genoa", "amd-ask-genoa", "amd-asvk-genoa",
		"amd-ark-turin", "amd-ask-turin", "amd-asvk-turin" };
	struct core_errbuf eb = { { 0 } };
	uint8_t *pem = NULL;
	size_t len = 0;
	X509 *x = NULL, *y = NULL;

	(void)state;
	for (size_t i = 0; i < CORE_ARRAY_LEN(names); i++) {
		assert_int_equal(vrf_anchor_load(names[i], &x, &eb), CORE_OK);
		assert_non_null(verifier_anchor_pem(names[i]));
		X509_free(x);
	}
	assert_int_equal(vrf_anchor_load("amd-ark-venice", &x, &eb),
	    CORE_ERR_NOT_FOUND);
	assert_null(verifier_anchor_pem("nope"));
	/* The bundled Intel root equals the one shipped in testdata. */
	td_read("tee/tdx/intel_sgx_root_ca.pem", &pem, &len);
	assert_int_equal(vrf_cert_parse(pem, len, &y, &eb), CORE_OK);
	assert_int_equal(vrf_anchor_load("intel-sgx-root", &x, &eb), CORE_OK);
	assert_int_equal(X509_cmp(x, y), 0);
	X509_free(x);
	X509_free(y);
	free(pem);
}

/* ---- TDX -------------------------------------------------------------- */

static void
test_tdx_verifies(void **state)
{
	struct fix *f = *state;
	struct verifier_opts o = { .check_time = T_PINNED };
	struct core_errbuf eb = { { 0 } };
	json_t *c = NULL, *v;

	assert_int_equal(verifier_verify(TEE_TDX, f->tdx, f->tdx_len,
	    f->tdx_rd, 64, &o, &c, &eb), CORE_OK);
	assert_non_null(c);
	assert_string_equal(claim_str(c, "tee"), "tdx");
	assert_int_equal(json_integer_value(json_object_get(c,
	    "quote_version")), 4);
	assert_string_equal(claim_str(c, "report_data"), tdx_rd_hex);
	assert_string_equal(claim_str(c, "mr_td"), tdx_mrtd_hex);
	assert_string_equal(claim_str(c, "td_attributes"), "0000004000000000");
	assert_false(json_is_true(json_object_get(c, "debug")));
	v = json_object_get(c, "td_attributes_decoded");
	assert_true(json_is_true(json_object_get(v, "pks")));
	assert_false(json_is_true(json_object_get(v, "debug")));
	assert_false(json_is_true(json_object_get(v, "sept_ve_disable")));
	assert_string_equal(claim_str(c, "tee_tcb_svn"),
	    "03000400000000000000000000000000");
	assert_string_equal(claim_str(c, "rtmr3"),
	    "000000000000000000000000000000000000000000000000"
	    "000000000000000000000000000000000000000000000000");
	v = json_object_get(c, "qe");
	assert_int_equal(json_integer_value(json_object_get(v, "isv_svn")), 4);
	assert_int_equal(json_integer_value(json_object_get(v,
	    "isv_prod_id")), 2);
	v = json_object_get(c, "pck");
	assert_string_equal(claim_str(v, "fmspc"), "50806f000000");
	assert_int_equal(json_integer_value(json_object_get(v, "pcesvn")), 11);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(v,
	    "sgx_tcb_components"), 0)), 3);
	v = json_object_get(c, "verification");
	assert_string_equal(claim_str(v, "quote_signature"), "ok");
	assert_string_equal(claim_str(v, "qe_report_binding"), "ok");
	assert_string_equal(claim_str(v, "pck_chain"), "ok");
	assert_string_equal(claim_str(v, "qe_report_signature"), "ok");
	assert_string_equal(claim_str(v, "qe_identity"), "ok");
	assert_string_equal(claim_str(v, "report_data"), "ok");
	assert_string_equal(claim_str(json_object_get(c, "tcb"), "status"),
	    "not evaluated");
	json_decref(c);

	/* The same quote inside Trustee's evidence JSON. */
	{
		char *b64 = core_b64_encode(f->tdx, f->tdx_len);
		json_t *ev = json_pack("{s:n,s:s}", "cc_eventlog", "quote", b64);
		char *txt = core_json_dumps(ev);

		assert_int_equal(verifier_verify(TEE_TDX, (uint8_t *)txt,
		    strlen(txt), f->tdx_rd, 64, &o, &c, &eb), CORE_OK);
		assert_string_equal(claim_str(c, "mr_td"), tdx_mrtd_hex);
		json_decref(c);
		/* verifier_parse: fields without any signature check. */
		assert_int_equal(verifier_parse(TEE_TDX, (uint8_t *)txt,
		    strlen(txt), &c, &eb), CORE_OK);
		assert_null(json_object_get(c, "verification"));
		assert_string_equal(claim_str(c, "report_data"), tdx_rd_hex);
		json_decref(c);
		free(txt);
		json_decref(ev);
		free(b64);
	}
}

static void
test_tdx_wrong_report_data(void **state)
{
	struct fix *f = *state;
	struct verifier_opts o = { .check_time = T_PINNED };
	struct core_errbuf eb = { { 0 } };
	uint8_t rd[64];
	json_t *c = NULL;

	memcpy(rd, f->tdx_rd, 64);
	rd[63] ^= 1;
	assert_int_equal(verifier_verify(TEE_TDX, f->tdx, f->tdx_len, rd, 64,
	    &o, &c, &eb), CORE_ERR_PERM);
	assert_non_null(strstr(eb.msg, "report_data"));
	json_decref(c);
	/* A prefix is zero-padded and therefore also wrong. */
	core_errbuf_clear(&eb);
	assert_int_equal(verifier_verify(TEE_TDX, f->tdx, f->tdx_len,
	    f->tdx_rd, 48, &o, &c, &eb), CORE_ERR_PERM);
	json_decref(c);
	/* Longer than the field: rejected, not truncated. */
	assert_int_equal(verifier_verify(TEE_TDX, f->tdx, f->tdx_len,
	    f->tdx_rd, 65, &o, &c, &eb), CORE_ERR_INVALID);
	assert_null(c);
}

static void
expect_fail(enum tee_kind kind, const uint8_t *p, size_t n,
    const uint8_t *rd, const struct verifier_opts *o, const char *what,
    size_t at)
{
	struct core_errbuf eb = { { 0 } };
	json_t *c = NULL;
	enum core_err err = verifier_verify(kind, p, n, rd, 64, o, &c, &eb);

	if (err == CORE_OK)
		fail_msg("%s: flip at 0x%zx verified", what, at);
	assert_true(eb.msg[0] != '\0');
	json_decref(c);
}

/* True if p[at] is a base64 character on a PEM body line. */
static bool
pem_body_char(const uint8_t *p, size_t at)
{
	size_t ls = at;

	if (!((p[at] >= 'A' && p[at] <= 'Z') || (p[at] >= 'a' &&
	    p[at] <= 'z') || (p[at] >= '0' && p[at] <= '9') || p[at] == '+' ||
	    p[at] == '/'))
		return false;
	while (ls > 0 && p[ls - 1] != '\n')
		ls--;
	return p[ls] != '-';
}

static void
test_tdx_bit_flips(void **state)
{
	struct fix *f = *state;
	struct verifier_opts o = { .check_time = T_PINNED };
	uint8_t *copy = malloc(f->tdx_len);
	/* Signed regions: header+body, signature, key, cert-data headers,
	 * QE report, QE signature, auth data, the PCK chain. */
	static const struct { size_t from, to, step; const char *name; }
	    regions[] = {
		{ 0x000, 0x030, 3, "header" },
		{ 0x030, 0x278, 7, "td report body" },
		{ 0x278, 0x27C, 1, "signature data length" },
		{ 0x27C, 0x2BC, 5, "quote signature" },
		{ 0x2BC, 0x2FC, 5, "attestation key" },
		{ 0x2FC, 0x302, 1, "certification data header" },
		{ 0x302, 0x482, 7, "qe report" },
		{ 0x482, 0x4C2, 5, "qe report signature" },
		{ 0x4C2, 0x4E4, 3, "qe auth data" },
		{ 0x4E4, 0x4EA, 1, "pck chain header" },
		{ 0x4EA, 0x4EA + 3677 - 800, 37, "pck leaf + intermediate" },
	};
	size_t tried = 0;

	assert_non_null(copy);
	for (size_t r = 0; r < CORE_ARRAY_LEN(regions); r++) {
		for (size_t at = regions[r].from; at < regions[r].to;
		    at += regions[r].step) {
			int bit = (int)(at % 8);

			/* In the PEM chain only the certificates are signed,
			 * not the armor: flip base64 body characters. */
			if (at >= 0x4EA && !pem_body_char(f->tdx, at))
				continue;
			memcpy(copy, f->tdx, f->tdx_len);
			copy[at] ^= (uint8_t)(1u << bit);
			expect_fail(TEE_TDX, copy, f->tdx_len, f->tdx_rd, &o,
			    regions[r].name, at);
			tried++;
		}
	}
	assert_true(tried > 200);
	/* The spec's example: report_data byte 0x238, only the quote
	 * signature fails. */
	{
		struct core_errbuf eb = { { 0 } };
		json_t *c = NULL;

		memcpy(copy, f->tdx, f->tdx_len);
		copy[0x238] ^= 1;
		assert_int_equal(verifier_verify(TEE_TDX, copy, f->tdx_len,
		    NULL, 0, &o, &c, &eb), CORE_ERR_AUTH);
		assert_non_null(strstr(eb.msg, "quote signature"));
		assert_null(c);
	}
	free(copy);
}

static void
test_tdx_truncated_oversized(void **state)
{
	struct fix *f = *state;
	struct verifier_opts o = { .check_time = T_PINNED };
	struct core_errbuf eb = { { 0 } };
	static const size_t cuts[] = { 0, 1, 47, 48, 0x50, 0x277, 0x278,
		0x27B, 0x2BC, 0x2FC, 0x301, 0x400, 0x4C3, 0x4E5, 0x4EA, 0x800,
		4974 - 40 };
	json_t *c = NULL;
	uint8_t *big;

	for (size_t i = 0; i < CORE_ARRAY_LEN(cuts); i++) {
		core_errbuf_clear(&eb);
		assert_int_not_equal(verifier_verify(TEE_TDX, f->tdx, cuts[i],
		    f->tdx_rd, 64, &o, &c, &eb), CORE_OK);
		assert_null(c);
		assert_true(eb.msg[0] != '\0');
	}
	/* The 39 trailing bytes are outside the signature data: accepted. */
	assert_int_equal(verifier_verify(TEE_TDX, f->tdx, f->tdx_len - 39,
	    f->tdx_rd, 64, &o, &c, &eb), CORE_OK);
	json_decref(c);
	/* Beyond the evidence bound: refused before parsing. */
	big = calloc(1, VERIFIER_MAX_EVIDENCE + 1);
	assert_non_null(big);
	memcpy(big, f->tdx, f->tdx_len);
	core_errbuf_clear(&eb);
	assert_int_equal(verifier_verify(TEE_TDX, big,
	    VERIFIER_MAX_EVIDENCE + 1, f->tdx_rd, 64, &o, &c, &eb),
	    CORE_ERR_TOO_BIG);
	free(big);
	/* An SGX verifier refuses a TDX quote. */
	assert_int_not_equal(verifier_verify(TEE_SGX, f->tdx, f->tdx_len,
	    NULL, 0, &o, &c, &eb), CORE_OK);
}

static void
test_tdx_expiry(void **state)
{
	struct fix *f = *state;
	struct verifier_opts o = { .check_time = T_EXPIRED };
	struct core_errbuf eb = { { 0 } };
	json_t *c = NULL;

	assert_int_equal(verifier_verify(TEE_TDX, f->tdx, f->tdx_len,
	    f->tdx_rd, 64, &o, &c, &eb), CORE_ERR_AUTH);
	assert_non_null(strstr(eb.msg, "pck chain"));
	assert_non_null(strstr(eb.msg, "expired"));
	/* Before the PCK leaf existed. */
	o.check_time = 1600000000;
	core_errbuf_clear(&eb);
	assert_int_equal(verifier_verify(TEE_TDX, f->tdx, f->tdx_len,
	    f->tdx_rd, 64, &o, &c, &eb), CORE_ERR_AUTH);
	assert_non_null(strstr(eb.msg, "not yet valid"));
}

static void
test_tdx_collateral(void **state)
{
	struct fix *f = *state;
	struct verifier_opts o = { .check_time = T_PINNED };
	struct core_errbuf eb = { { 0 } };
	json_t *c = NULL, *tcb, *v;

	o.collateral_dir = f->tdx_dir;
	/* CRLs, QE identity and signatures pass; no TCB level matches. */
	assert_int_equal(verifier_verify(TEE_TDX, f->tdx, f->tdx_len,
	    f->tdx_rd, 64, &o, &c, &eb), CORE_ERR_PERM);
	assert_non_null(strstr(eb.msg, "no TCB level"));
	assert_non_null(c);
	tcb = json_object_get(c, "tcb");
	assert_string_equal(claim_str(tcb, "status"), "unsupported");
	assert_string_equal(claim_str(tcb, "qe_status"), "UpToDate");
	v = json_object_get(c, "verification");
	assert_string_equal(claim_str(v, "pck_revocation"), "ok");
	assert_string_equal(claim_str(v, "qe_identity_collateral"), "ok");
	json_decref(c);
	c = NULL;

	/* After the CRLs' nextUpdate the collateral is stale. */
	o.check_time = T_CRL_EXPIRED;
	core_errbuf_clear(&eb);
	assert_int_equal(verifier_verify(TEE_TDX, f->tdx, f->tdx_len,
	    f->tdx_rd, 64, &o, &c, &eb), CORE_ERR_AUTH);
	assert_non_null(strstr(eb.msg, "CRL has expired"));
	assert_null(c);

	/* An empty collateral directory is an error, not a silent pass. */
	o.check_time = T_PINNED;
	o.collateral_dir = "/nonexistent-collateral";
	core_errbuf_clear(&eb);
	assert_int_equal(verifier_verify(TEE_TDX, f->tdx, f->tdx_len,
	    f->tdx_rd, 64, &o, &c, &eb), CORE_ERR_NOT_FOUND);
}

static void
test_tdx_init_data(void **state)
{
	struct fix *f = *state;
	struct verifier_opts o = { .check_time = T_PINNED };
	struct core_errbuf eb = { { 0 } };
	uint8_t zero[48] = { 0 }, one[32] = { 1 };
	json_t *c = NULL;

	/* mr_config_id is all zero in the sample. */
	o.init_data_digest = zero;
	o.init_data_digest_len = 32;
	assert_int_equal(verifier_verify(TEE_TDX, f->tdx, f->tdx_len,
	    f->tdx_rd, 64, &o, &c, &eb), CORE_OK);
	json_decref(c);
	o.init_data_digest = one;
	assert_int_equal(verifier_verify(TEE_TDX, f->tdx, f->tdx_len,
	    f->tdx_rd, 64, &o, &c, &eb), CORE_ERR_PERM);
	assert_non_null(strstr(eb.msg, "mr_config_id"));
	json_decref(c);
}

/*
 * A v5 quote (TDX 1.5 body) rebuilt from the v4 sample and re-signed with a
 * fresh attestation key: the v5 layout parses and its quote signature over
 * [0, 0x36+648) verifies, and verification then stops at the QE binding
 * (the Intel-signed QE report binds the original key).
 */
static void
test_tdx_v5_layout(void **state)
{
	struct fix *f = *state;
	struct verifier_opts o = { .check_time = T_PINNED };
	struct core_errbuf eb = { { 0 } };
	size_t sd_len = 4 + vrf_le32(f->tdx + 0x278);
	size_t n = 0x36 + 648 + sd_len;
	uint8_t *q = calloc(1, n);
	EVP_PKEY *k = EVP_EC_gen("P-256");
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	unsigned char der[80];
	size_t der_len = sizeof(der), xy_len = 0;
	uint8_t xy[65];
	ECDSA_SIG *sig;
	const unsigned char *dp = der;
	json_t *c = NULL;

	assert_non_null(q);
	assert_non_null(k);
	memcpy(q, f->tdx, 48);
	q[0] = 5;
	q[0x30] = 3;
	q[0x32] = 648 & 0xff;
	q[0x33] = 648 >> 8;
	memcpy(q + 0x36, f->tdx + 0x30, 584);
	memset(q + 0x36 + 584, 0x11, 16);      /* tee_tcb_svn2 */
	memset(q + 0x36 + 600, 0x22, 48);      /* mr_servicetd */
	memcpy(q + 0x36 + 648, f->tdx + 0x278, sd_len);
	assert_int_equal(EVP_PKEY_get_octet_string_param(k, "pub", xy,
	    sizeof(xy), &xy_len), 1);
	memcpy(q + 0x36 + 648 + 4 + 64, xy + 1, 64);
	assert_int_equal(EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, k), 1);
	assert_int_equal(EVP_DigestSign(m, der, &der_len, q, 0x36 + 648), 1);
	sig = d2i_ECDSA_SIG(NULL, &dp, (long)der_len);
	assert_non_null(sig);
	BN_bn2binpad(ECDSA_SIG_get0_r(sig), q + 0x36 + 648 + 4, 32);
	BN_bn2binpad(ECDSA_SIG_get0_s(sig), q + 0x36 + 648 + 4 + 32, 32);
	ECDSA_SIG_free(sig);

	assert_int_equal(verifier_verify(TEE_TDX, q, n, NULL, 0, &o, &c, &eb),
	    CORE_ERR_AUTH);
	assert_non_null(strstr(eb.msg, "qe report binding"));
	assert_int_equal(verifier_parse(TEE_TDX, q, n, &c, &eb), CORE_OK);
	assert_int_equal(json_integer_value(json_object_get(c,
	    "quote_version")), 5);
	assert_int_equal(json_integer_value(json_object_get(c, "body_type")),
	    3);
	assert_string_equal(claim_str(c, "mr_td"), tdx_mrtd_hex);
	assert_string_equal(claim_str(c, "tee_tcb_svn2"),
	    "11111111111111111111111111111111");
	assert_non_null(claim_str(c, "mr_servicetd"));
	json_decref(c);
	/* v5 with an unsupported (type, size) pair. */
	q[0x30] = 2;
	core_errbuf_clear(&eb);
	assert_int_equal(verifier_parse(TEE_TDX, q, n, &c, &eb),
	    CORE_ERR_UNSUPPORTED);
	EVP_MD_CTX_free(m);
	EVP_PKEY_free(k);
	free(q);
}

/* ---- CC event log ----------------------------------------------------- */

struct ccel_buf {
	uint8_t b[2048];
	size_t n;
};

static void
cb_put(struct ccel_buf *c, const void *p, size_t n)
{
	assert_true(c->n + n <= sizeof(c->b));
	memcpy(c->b + c->n, p, n);
	c->n += n;
}

static void
cb_u32(struct ccel_buf *c, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
		(uint8_t)(v >> 24) };

	cb_put(c, b, 4);
}

static void
cb_u16(struct ccel_buf *c, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	cb_put(c, b, 2);
}

/* Spec ID event declaring SHA-1 and SHA-384. */
static void
cb_header(struct ccel_buf *c)
{
	static const uint8_t zero20[20] = { 0 };
	static const char sig[16] = "Spec ID Event03";
	uint8_t mid[8] = { 0, 0, 0, 0, 0, 2, 0, 2 };

	cb_u32(c, 0);
	cb_u32(c, 3); /* EV_NO_ACTION */
	cb_put(c, zero20, 20);
	cb_u32(c, 16 + 8 + 4 + 8 + 1);
	cb_put(c, sig, 16);
	cb_put(c, mid, 8);
	cb_u32(c, 2);
	cb_u16(c, 0x0004);
	cb_u16(c, 20);
	cb_u16(c, 0x000C);
	cb_u16(c, 48);
	cb_put(c, "", 1); /* vendorInfoSize 0 */
}

static void
cb_event(struct ccel_buf *c, uint32_t mr, uint32_t type, uint8_t fill,
    bool with_sha384)
{
	uint8_t d1[20], d384[48];

	memset(d1, fill, sizeof(d1));
	memset(d384, fill, sizeof(d384));
	cb_u32(c, mr);
	cb_u32(c, type);
	cb_u32(c, with_sha384 ? 2 : 1);
	cb_u16(c, 0x0004);
	cb_put(c, d1, 20);
	if (with_sha384) {
		cb_u16(c, 0x000C);
		cb_put(c, d384, 48);
	}
	cb_u32(c, 4);
	cb_put(c, "data", 4);
}

static void
extend_expected(uint8_t mr[48], uint8_t fill)
{
	uint8_t buf[96];
	unsigned int len = 0;

	memcpy(buf, mr, 48);
	memset(buf + 48, fill, 48);
	assert_int_equal(EVP_Digest(buf, 96, mr, &len, EVP_sha384(), NULL), 1);
}

static void
test_ccel_replay(void **state)
{
	struct fix *f = *state;
	struct ccel_buf c = { .n = 0 };
	struct core_errbuf eb = { { 0 } };
	uint8_t rt[4][48], want[4][48];
	static const uint8_t pad[16] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
		0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
	size_t nev = 0;

	cb_header(&c);
	cb_event(&c, 1, 0x80000001, 0x11, true);  /* RTMR0 */
	cb_event(&c, 3, 0x0D, 0x22, true);        /* RTMR2 */
	cb_event(&c, 2, 3, 0x33, true);           /* EV_NO_ACTION: skipped */
	cb_event(&c, 0, 0x80000001, 0x44, true);  /* MRTD: skipped */
	cb_event(&c, 1, 0x80000001, 0x55, true);  /* RTMR0 again */
	cb_event(&c, 4, 0x0D, 0x66, true);        /* RTMR3 */
	cb_put(&c, pad, sizeof(pad));
	memset(want, 0, sizeof(want));
	extend_expected(want[0], 0x11);
	extend_expected(want[2], 0x22);
	extend_expected(want[0], 0x55);
	extend_expected(want[3], 0x66);
	assert_int_equal(vrf_ccel_replay(c.b, c.n, rt, &nev, &eb), CORE_OK);
	assert_int_equal(nev, 6);
	assert_memory_equal(rt, want, sizeof(want));

	/* Truncated anywhere: an error, or (cut at an event boundary) a
	 * shorter log whose replay no longer gives the same registers. */
	for (size_t cut = c.n - sizeof(pad) - 1; cut > 80; cut -= 7) {
		enum core_err e = vrf_ccel_replay(c.b, cut, rt, &nev, &eb);

		assert_true(e != CORE_OK ||
		    memcmp(rt, want, sizeof(want)) != 0);
	}
	/* An event without a SHA-384 digest, and an MR index beyond RTMR3. */
	{
		struct ccel_buf d = { .n = 0 };

		cb_header(&d);
		cb_event(&d, 1, 0x0D, 0x11, false);
		core_errbuf_clear(&eb);
		assert_int_equal(vrf_ccel_replay(d.b, d.n, rt, &nev, &eb),
		    CORE_ERR_INVALID);
		assert_non_null(strstr(eb.msg, "SHA-384"));
		d.n = 0;
		cb_header(&d);
		cb_event(&d, 5, 0x0D, 0x11, true);
		assert_int_equal(vrf_ccel_replay(d.b, d.n, rt, &nev, &eb),
		    CORE_ERR_INVALID);
	}
	/* Not a TCG log at all. */
	assert_int_equal(vrf_ccel_replay((const uint8_t *)"event-log-event-log-"
	    "event-log-xxxx", 34, rt, &nev, &eb), CORE_ERR_INVALID);

	/* In evidence: a log that does not reproduce the quote's RTMRs. */
	{
		struct verifier_opts o = { .check_time = T_PINNED };
		char *q64 = core_b64_encode(f->tdx, f->tdx_len);
		char *l64 = core_b64_encode(c.b, c.n);
		json_t *ev = json_pack("{s:s,s:s}", "cc_eventlog", l64, "quote",
		    q64), *cl = NULL;
		char *txt = core_json_dumps(ev);

		core_errbuf_clear(&eb);
		assert_int_equal(verifier_verify(TEE_TDX, (uint8_t *)txt,
		    strlen(txt), f->tdx_rd, 64, &o, &cl, &eb), CORE_ERR_AUTH);
		assert_non_null(strstr(eb.msg, "reproduce RTMR0"));
		free(txt);
		/* An empty string counts as no log. */
		json_object_set_new(ev, "cc_eventlog", json_string(""));
		txt = core_json_dumps(ev);
		assert_int_equal(verifier_verify(TEE_TDX, (uint8_t *)txt,
		    strlen(txt), f->tdx_rd, 64, &o, &cl, &eb), CORE_OK);
		assert_string_equal(claim_str(json_object_get(cl,
		    "verification"), "cc_eventlog"), "not provided");
		json_decref(cl);
		free(txt);
		json_object_set_new(ev, "cc_eventlog", json_integer(3));
		txt = core_json_dumps(ev);
		assert_int_equal(verifier_verify(TEE_TDX, (uint8_t *)txt,
		    strlen(txt), f->tdx_rd, 64, &o, &cl, &eb), CORE_ERR_INVALID);
		free(txt);
		json_decref(ev);
		free(q64);
		free(l64);
	}
}

/* ---- SNP -------------------------------------------------------------- */

static void
test_snp_verifies_debug_reported(void **state)
{
	struct fix *f = *state;
	struct verifier_opts o = snp_opts(f, T_PINNED, false);
	struct core_errbuf eb = { { 0 } };
	json_t *c = NULL, *t, *v;

	/* Cryptographically valid, rejected by the production policy. */
	assert_int_equal(verifier_verify(TEE_SNP, f->snp, f->snp_len,
	    f->snp_rd, 64, &o, &c, &eb), CORE_ERR_PERM);
	assert_non_null(strstr(eb.msg, "DEBUG"));
	assert_non_null(c);
	assert_true(json_is_true(json_object_get(c, "debug")));
	v = json_object_get(c, "verification");
	assert_string_equal(claim_str(v, "vcek_chain"), "ok");
	assert_string_equal(claim_str(v, "report_signature"), "ok");
	json_decref(c);

	o.allow_debug = true;
	core_errbuf_clear(&eb);
	assert_int_equal(verifier_verify(TEE_SNP, f->snp, f->snp_len,
	    f->snp_rd, 5, &o, &c, &eb), CORE_OK);
	assert_int_equal(json_integer_value(json_object_get(c, "version")), 2);
	assert_int_equal(json_integer_value(json_object_get(c, "policy")),
	    0xB0000);
	assert_true(json_is_true(json_object_get(json_object_get(c,
	    "policy_decoded"), "debug")));
	assert_true(json_is_true(json_object_get(json_object_get(c,
	    "policy_decoded"), "smt")));
	assert_string_equal(claim_str(c, "measurement"), snp_meas_hex);
	assert_string_equal(claim_str(c, "generation"), "milan");
	assert_string_equal(claim_str(c, "signing_key"), "vcek");
	assert_int_equal(json_integer_value(json_object_get(c, "vmpl")), 0);
	t = json_object_get(c, "reported_tcb");
	assert_string_equal(claim_str(t, "raw"), "4405000000000002");
	assert_int_equal(json_integer_value(json_object_get(t, "bootloader")),
	    2);
	assert_int_equal(json_integer_value(json_object_get(t, "tee")), 0);
	assert_int_equal(json_integer_value(json_object_get(t, "snp")), 5);
	assert_int_equal(json_integer_value(json_object_get(t, "microcode")),
	    68);
	assert_true(json_is_null(json_object_get(t, "fmc")));
	assert_string_equal(claim_str(json_object_get(c, "current_version"),
	    "text"), "1.49.3");
	assert_string_equal(claim_str(json_object_get(c, "verification"),
	    "tcb_binding"), "ok");
	json_decref(c);
}

static void
test_snp_bit_flips(void **state)
{
	struct fix *f = *state;
	struct verifier_opts o = snp_opts(f, T_PINNED, true);
	uint8_t *copy = malloc(f->snp_len);
	uint8_t *vc = malloc(f->vcek_len);
	size_t tried = 0;

	assert_non_null(copy);
	assert_non_null(vc);
	/* Signed region [0, 0x2A0) and the signature [0x2A0, 0x330). */
	for (size_t at = 0; at < 0x330; at += 3) {
		memcpy(copy, f->snp, f->snp_len);
		copy[at] ^= (uint8_t)(1u << (at % 8));
		expect_fail(TEE_SNP, copy, f->snp_len, f->snp_rd, &o,
		    at < 0x2A0 ? "report" : "signature", at);
		tried++;
	}
	/* The VCEK certificate (its signed TBS part and signature). */
	for (size_t at = 4; at < f->vcek_len; at += 11) {
		struct verifier_opts o2 = o;

		memcpy(vc, f->vcek, f->vcek_len);
		vc[at] ^= (uint8_t)(1u << (at % 8));
		o2.vcek = vc;
		expect_fail(TEE_SNP, f->snp, f->snp_len, f->snp_rd, &o2,
		    "vcek", at);
		tried++;
	}
	assert_true(tried > 300);
	{
		struct core_errbuf eb = { { 0 } };
		json_t *c = NULL;

		memcpy(copy, f->snp, f->snp_len);
		copy[0x50] ^= 1; /* report_data 01 -> 00 */
		assert_int_equal(verifier_verify(TEE_SNP, copy, f->snp_len,
		    NULL, 0, &o, &c, &eb), CORE_ERR_AUTH);
		assert_non_null(strstr(eb.msg, "report signature"));
	}
	free(copy);
	free(vc);
}

static void
test_snp_bad_inputs(void **state)
{
	struct fix *f = *state;
	struct verifier_opts o = snp_opts(f, T_PINNED, true);
	struct core_errbuf eb = { { 0 } };
	uint8_t *big = calloc(1, f->snp_len + 1);
	uint8_t rd[64];
	json_t *c = NULL;

	assert_non_null(big);
	memcpy(big, f->snp, f->snp_len);
	assert_int_equal(verifier_verify(TEE_SNP, f->snp, f->snp_len - 1,
	    f->snp_rd, 64, &o, &c, &eb), CORE_ERR_INVALID);
	assert_non_null(strstr(eb.msg, "1183"));
	assert_int_equal(verifier_verify(TEE_SNP, big, f->snp_len + 1,
	    f->snp_rd, 64, &o, &c, &eb), CORE_ERR_INVALID);
	assert_non_null(strstr(eb.msg, "bytes after the 1184-byte report"));
	assert_int_equal(verifier_verify(TEE_SNP, f->snp, 10, f->snp_rd, 64,
	    &o, &c, &eb), CORE_ERR_INVALID);
	free(big);

	/* Wrong expected report_data. */
	memcpy(rd, f->snp_rd, 64);
	rd[4] = 6;
	core_errbuf_clear(&eb);
	assert_int_equal(verifier_verify(TEE_SNP, f->snp, f->snp_len, rd, 64,
	    &o, &c, &eb), CORE_ERR_PERM);
	assert_non_null(strstr(eb.msg, "report_data"));
	json_decref(c);

	/* Expired chain unless the time is pinned. */
	o.check_time = T_EXPIRED;
	core_errbuf_clear(&eb);
	assert_int_equal(verifier_verify(TEE_SNP, f->snp, f->snp_len,
	    f->snp_rd, 64, &o, &c, &eb), CORE_ERR_AUTH);
	assert_non_null(strstr(eb.msg, "vcek chain"));
	assert_non_null(strstr(eb.msg, "expired"));
	assert_null(c);

	/* A report from VMPL 1 is refused unless max_vmpl allows it; the
	 * signature then fails because the field is signed. */
	{
		uint8_t *v1 = malloc(f->snp_len);

		memcpy(v1, f->snp, f->snp_len);
		v1[0x30] = 1;
		o = snp_opts(f, T_PINNED, true);
		assert_int_equal(verifier_verify(TEE_SNP, v1, f->snp_len,
		    f->snp_rd, 64, &o, &c, &eb), CORE_ERR_AUTH);
		assert_int_equal(verifier_parse(TEE_SNP, v1, f->snp_len, &c,
		    &eb), CORE_OK);
		assert_int_equal(json_integer_value(json_object_get(c, "vmpl")),
		    1);
		json_decref(c);
		/* The policy step itself. */
		o.allow_debug = false;
		core_errbuf_clear(&eb);
		assert_int_equal(snp_check_policy(v1, &o, &eb), CORE_ERR_PERM);
		assert_non_null(strstr(eb.msg, "VMPL 1"));
		o.max_vmpl = 1;
		core_errbuf_clear(&eb);
		assert_int_equal(snp_check_policy(v1, &o, &eb), CORE_ERR_PERM);
		assert_non_null(strstr(eb.msg, "DEBUG"));
		o.allow_debug = true;
		assert_int_equal(snp_check_policy(v1, &o, &eb), CORE_OK);
		v1[0x0A] &= (uint8_t)~0x08; /* clear DEBUG (policy bit 19) */
		o.allow_debug = false;
		assert_int_equal(snp_check_policy(v1, &o, &eb), CORE_OK);
		assert_int_equal(snp_check_policy(v1, NULL, &eb),
		    CORE_ERR_PERM);
		free(v1);
	}

	/* No VCEK at all. */
	o = snp_opts(f, T_PINNED, true);
	o.vcek = NULL;
	core_errbuf_clear(&eb);
	assert_int_equal(verifier_verify(TEE_SNP, f->snp, f->snp_len,
	    f->snp_rd, 64, &o, &c, &eb), CORE_ERR_NOT_FOUND);
	assert_non_null(strstr(eb.msg, "vcek"));

	/* A VCEK that is not an AMD certificate (the Intel root). */
	{
		const char *pem = verifier_anchor_pem("intel-sgx-root");

		o.vcek = (const uint8_t *)pem;
		o.vcek_len = strlen(pem);
		core_errbuf_clear(&eb);
		assert_int_equal(verifier_verify(TEE_SNP, f->snp, f->snp_len,
		    f->snp_rd, 64, &o, &c, &eb), CORE_ERR_AUTH);
	}

	/* Host data (init data) must match: the sample's is zero. */
	{
		uint8_t zero[32] = { 0 }, other[32] = { 9 };

		o = snp_opts(f, T_PINNED, true);
		o.init_data_digest = zero;
		o.init_data_digest_len = 32;
		assert_int_equal(verifier_verify(TEE_SNP, f->snp, f->snp_len,
		    f->snp_rd, 64, &o, &c, &eb), CORE_OK);
		json_decref(c);
		o.init_data_digest = other;
		assert_int_equal(verifier_verify(TEE_SNP, f->snp, f->snp_len,
		    f->snp_rd, 64, &o, &c, &eb), CORE_ERR_PERM);
		json_decref(c);
		o.init_data_digest_len = 33;
		assert_int_equal(verifier_verify(TEE_SNP, f->snp, f->snp_len,
		    f->snp_rd, 64, &o, &c, &eb), CORE_ERR_INVALID);
		json_decref(c);
	}
}

/* The Trustee JSON form: report fields plus a cert_chain with the VCEK. */
static void
test_snp_evidence_json(void **state)
{
	struct fix *f = *state;
	struct verifier_opts o = { .check_time = T_PINNED,
		.allow_debug = true };
	struct core_errbuf eb = { { 0 } };
	json_t *ev = NULL, *c = NULL, *chain, *data;
	uint8_t back[VRF_SNP_REPORT_LEN];
	char *txt;

	assert_int_equal(tee_snp_evidence_json(f->snp, f->snp_len, NULL, 0,
	    &ev, &eb), CORE_OK);
	/* Round trip of every byte through the serde form. */
	assert_int_equal(vrf_snp_report_from_json(json_object_get(ev,
	    "attestation_report"), back, &eb), CORE_OK);
	assert_memory_equal(back, f->snp, 0x2A0 + 144);
	data = json_array();
	for (size_t i = 0; i < f->vcek_len; i++)
		json_array_append_new(data, json_integer(f->vcek[i]));
	chain = json_pack("[{s:s,s:o}]", "cert_type", "VCEK", "data", data);
	json_object_set_new(ev, "cert_chain", chain);
	txt = core_json_dumps(ev);
	assert_int_equal(verifier_verify(TEE_SNP, (uint8_t *)txt, strlen(txt),
	    f->snp_rd, 64, &o, &c, &eb), CORE_OK);
	assert_string_equal(claim_str(c, "measurement"), snp_meas_hex);
	json_decref(c);
	free(txt);

	/* ASK and ARK shipped in cert_chain must be the pinned ones. */
	{
		static const char *const names[2][2] = {
			{ "amd-ask-milan", "amd-ark-milan" },
			{ "amd-ask-milan", "amd-ark-genoa" } };

		for (int k = 0; k < 2; k++) {
			json_t *ch = json_object_get(ev, "cert_chain");

			while (json_array_size(ch) > 1)
				json_array_remove(ch, 1);
			for (int w = 0; w < 2; w++) {
				X509 *x = NULL;
				unsigned char *der = NULL;
				int dl;
				json_t *d = json_array();

				assert_int_equal(vrf_anchor_load(names[k][w], &x,
				    &eb), CORE_OK);
				dl = i2d_X509(x, &der);
				for (int i = 0; i < dl; i++)
					json_array_append_new(d,
					    json_integer(der[i]));
				json_array_append_new(ch, json_pack("{s:s,s:o}",
				    "cert_type", w == 0 ? "ASK" : "ARK", "data",
				    d));
				OPENSSL_free(der);
				X509_free(x);
			}
			txt = core_json_dumps(ev);
			core_errbuf_clear(&eb);
			assert_int_equal(verifier_verify(TEE_SNP, (uint8_t *)txt,
			    strlen(txt), f->snp_rd, 64, &o, &c, &eb),
			    k == 0 ? CORE_OK : CORE_ERR_AUTH);
			if (k == 1)
				assert_non_null(strstr(eb.msg, "ARK in the "
				    "evidence"));
			json_decref(c);
			c = NULL;
			free(txt);
		}
		while (json_array_size(json_object_get(ev, "cert_chain")) > 1)
			json_array_remove(json_object_get(ev, "cert_chain"), 1);
	}

	/* The older sev-crate serde form (flat firmware versions,
	 * _author_key_en) rebuilds the same signed bytes. */
	{
		json_t *rep = json_object_get(ev, "attestation_report");
		json_t *cur = json_object_get(rep, "current");
		json_t *com = json_object_get(rep, "committed");

		json_object_set(rep, "current_build", json_object_get(cur,
		    "build"));
		json_object_set(rep, "current_minor", json_object_get(cur,
		    "minor"));
		json_object_set(rep, "current_major", json_object_get(cur,
		    "major"));
		json_object_set(rep, "committed_build", json_object_get(com,
		    "build"));
		json_object_set(rep, "committed_minor", json_object_get(com,
		    "minor"));
		json_object_set(rep, "committed_major", json_object_get(com,
		    "major"));
		json_object_set(rep, "_author_key_en", json_object_get(rep,
		    "key_info"));
		json_object_del(rep, "current");
		json_object_del(rep, "committed");
		json_object_del(rep, "key_info");
		txt = core_json_dumps(ev);
		assert_int_equal(verifier_verify(TEE_SNP, (uint8_t *)txt,
		    strlen(txt), f->snp_rd, 64, &o, &c, &eb), CORE_OK);
		assert_string_equal(claim_str(json_object_get(c,
		    "current_version"), "text"), "1.49.3");
		json_decref(c);
		free(txt);
	}

	/* A tampered JSON field fails the signature. */
	json_array_set_new(json_object_get(json_object_get(ev,
	    "attestation_report"), "measurement"), 0, json_integer(0));
	txt = core_json_dumps(ev);
	core_errbuf_clear(&eb);
	assert_int_equal(verifier_verify(TEE_SNP, (uint8_t *)txt, strlen(txt),
	    f->snp_rd, 64, &o, &c, &eb), CORE_ERR_AUTH);
	free(txt);
	/* A byte array of the wrong length is malformed. */
	json_array_append_new(json_object_get(json_object_get(ev,
	    "attestation_report"), "measurement"), json_integer(0));
	txt = core_json_dumps(ev);
	core_errbuf_clear(&eb);
	assert_int_equal(verifier_verify(TEE_SNP, (uint8_t *)txt, strlen(txt),
	    f->snp_rd, 64, &o, &c, &eb), CORE_ERR_INVALID);
	assert_non_null(strstr(eb.msg, "measurement"));
	free(txt);
	json_decref(ev);
}

/* Trustee's own SNP evidence (attestation-service/tests/e2e/evidence.json,
 * no cert_chain): the serde form parses; verification needs a VCEK. */
static void
test_snp_trustee_json(void **state)
{
	const char *src = getenv("PROPELLER_SOURCE_DIR");
	struct core_errbuf eb = { { 0 } };
	uint8_t *p = NULL;
	size_t n = 0;
	char *path;
	json_t *c = NULL;

	(void)state;
	assert_non_null(src);
	path = core_path_join(src, "tests/unit/verifier/trustee_snp_evidence.json");
	assert_int_equal(core_fs_read(path, 0, &p, &n, NULL), CORE_OK);
	free(path);
	assert_int_equal(verifier_parse(TEE_SNP, p, n, &c, &eb), CORE_OK);
	assert_int_equal(json_integer_value(json_object_get(c, "version")), 2);
	assert_int_equal(json_integer_value(json_object_get(c, "policy")),
	    196639);
	assert_false(json_is_true(json_object_get(c, "debug")));
	assert_non_null(strstr(claim_str(c, "measurement"), "a1f39304"));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(c,
	    "reported_tcb"), "microcode")), 115);
	assert_string_equal(claim_str(json_object_get(c, "current_version"),
	    "text"), "1.52.4");
	json_decref(c);
	assert_int_equal(verifier_verify(TEE_SNP, p, n, NULL, 0, NULL, &c,
	    &eb), CORE_ERR_NOT_FOUND);
	assert_non_null(strstr(eb.msg, "VCEK"));
	free(p);
}

/* The real AMD Turin CRL from KDS (2026-08-19 .. 2026-10-04). */
static void
test_snp_amd_crl(void **state)
{
	struct fix *f = *state;
	const char *src = getenv("PROPELLER_SOURCE_DIR");
	struct core_errbuf eb = { { 0 } };
	uint8_t *crl = NULL;
	size_t n = 0;
	char *path;
	X509 *ark = NULL, *ask = NULL, *milan = NULL;

	assert_non_null(src);
	path = core_path_join(src, "tests/unit/verifier/amd_turin_crl.der");
	assert_int_equal(core_fs_read(path, 0, &crl, &n, NULL), CORE_OK);
	free(path);
	assert_int_equal(vrf_anchor_load("amd-ark-turin", &ark, &eb), CORE_OK);
	assert_int_equal(vrf_anchor_load("amd-ask-turin", &ask, &eb), CORE_OK);
	assert_int_equal(vrf_anchor_load("amd-ark-milan", &milan, &eb),
	    CORE_OK);
	/* 2026-09-01: valid, signed by the Turin ARK, ASK not revoked. */
	assert_int_equal(snp_check_crl(crl, n, ark, ask, 1788220800, &eb),
	    CORE_OK);
	/* 2026-11-01: expired. */
	assert_int_equal(snp_check_crl(crl, n, ark, ask, 1793491200, &eb),
	    CORE_ERR_AUTH);
	assert_non_null(strstr(eb.msg, "expired"));
	/* Another generation's ARK did not sign it. */
	core_errbuf_clear(&eb);
	assert_int_equal(snp_check_crl(crl, n, milan, ask, 1788220800, &eb),
	    CORE_ERR_AUTH);
	assert_non_null(strstr(eb.msg, "pinned ARK"));
	/* A flipped signature bit. */
	crl[n - 10] ^= 1;
	assert_int_equal(snp_check_crl(crl, n, ark, ask, 1788220800, &eb),
	    CORE_ERR_AUTH);
	assert_int_equal(snp_check_crl(crl, 20, ark, ask, 1788220800, &eb),
	    CORE_ERR_INVALID);
	free(crl);
	X509_free(ark);
	X509_free(ask);
	X509_free(milan);

	/* SNP with a collateral directory that lacks the CRL: an error. */
	{
		struct verifier_opts o = snp_opts(f, T_PINNED, true);
		json_t *c = NULL;

		o.collateral_dir = f->tdx_dir;
		core_errbuf_clear(&eb);
		assert_int_equal(verifier_verify(TEE_SNP, f->snp, f->snp_len,
		    f->snp_rd, 64, &o, &c, &eb), CORE_ERR_NOT_FOUND);
		assert_non_null(strstr(eb.msg, "amd_crl"));
		assert_null(c);
	}
}

/* Generations from the v3+ CPUID fields and the Turin TCB layout. */
static void
test_snp_generations(void **state)
{
	struct fix *f = *state;
	uint8_t r[VRF_SNP_REPORT_LEN], back[VRF_SNP_REPORT_LEN];
	struct snp_tcb t;
	struct core_errbuf eb = { { 0 } };
	json_t *c = NULL, *ev = NULL, *tcb;
	static const struct { uint8_t fam, model; int gen; } cases[] = {
		{ 0x19, 0x01, 1 }, { 0x19, 0x0F, 1 }, { 0x19, 0x11, 2 },
		{ 0x19, 0xA0, 2 }, { 0x19, 0xAF, 2 }, { 0x1A, 0x02, 3 },
		{ 0x1A, 0x11, 3 }, { 0x1A, 0x12, 0 }, { 0x17, 0x31, 0 },
		{ 0x19, 0x20, 0 },
	};

	memcpy(r, f->snp, sizeof(r));
	assert_int_equal(snp_gen_from_cpuid(r), 0); /* v2: no CPUID */
	r[0] = 3;
	for (size_t i = 0; i < CORE_ARRAY_LEN(cases); i++) {
		r[0x188] = cases[i].fam;
		r[0x189] = cases[i].model;
		assert_int_equal(snp_gen_from_cpuid(r), cases[i].gen);
	}
	/* Turin: FMC, boot loader, TEE, SNP, -, -, -, microcode. */
	snp_tcb_decode(0x0500000004030201ULL, 3, &t);
	assert_int_equal(t.fmc, 1);
	assert_int_equal(t.bootloader, 2);
	assert_int_equal(t.tee, 3);
	assert_int_equal(t.snp, 4);
	assert_int_equal(t.microcode, 5);
	snp_tcb_decode(0x4405000000000002ULL, 1, &t);
	assert_int_equal(t.fmc, -1);
	assert_int_equal(t.snp, 5);
	assert_int_equal(t.microcode, 0x44);

	/* A v5 Turin-shaped report: claims and the JSON round trip. */
	r[0] = 5;
	r[0x188] = 0x1A;
	r[0x189] = 0x02;
	r[0x18A] = 0x01;
	for (int i = 0; i < 8; i++) {
		uint8_t b = (uint8_t)(0x0500000004030201ULL >> (8 * i));

		r[0x38 + i] = r[0x180 + i] = r[0x1E0 + i] = r[0x1F0 + i] = b;
	}
	r[0x1F8] = 0x07; /* launch_mit_vector */
	r[0x200] = 0x09; /* current_mit_vector */
	assert_int_equal(verifier_parse(TEE_SNP, r, sizeof(r), &c, &eb),
	    CORE_OK);
	assert_string_equal(claim_str(c, "generation"), "turin");
	tcb = json_object_get(c, "reported_tcb");
	assert_int_equal(json_integer_value(json_object_get(tcb, "fmc")), 1);
	assert_int_equal(json_integer_value(json_object_get(tcb,
	    "bootloader")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(c,
	    "cpuid"), "family")), 0x1A);
	assert_int_equal(json_integer_value(json_object_get(c,
	    "launch_mit_vector")), 7);
	assert_int_equal(json_integer_value(json_object_get(c,
	    "current_mit_vector")), 9);
	json_decref(c);
	assert_int_equal(tee_snp_evidence_json(r, sizeof(r), NULL, 0, &ev,
	    &eb), CORE_OK);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    json_object_get(ev, "attestation_report"), "reported_tcb"), "fmc")),
	    1);
	assert_int_equal(vrf_snp_report_from_json(json_object_get(ev,
	    "attestation_report"), back, &eb), CORE_OK);
	assert_memory_equal(back, r, 0x208);
	assert_memory_equal(back + 0x2A0, r + 0x2A0, 144);
	json_decref(ev);
	/* Versions outside 2..5 and another signature algorithm. */
	r[0] = 6;
	assert_int_equal(verifier_parse(TEE_SNP, r, sizeof(r), &c, &eb),
	    CORE_ERR_UNSUPPORTED);
	r[0] = 1;
	assert_int_equal(verifier_parse(TEE_SNP, r, sizeof(r), &c, &eb),
	    CORE_ERR_UNSUPPORTED);
	r[0] = 3;
	r[0x34] = 2;
	assert_int_equal(verifier_parse(TEE_SNP, r, sizeof(r), &c, &eb),
	    CORE_ERR_UNSUPPORTED);
}

static void
test_snp_cert_table(void **state)
{
	struct fix *f = *state;
	struct core_errbuf eb = { { 0 } };
	struct vrf_snp_certs certs = { 0 };
	size_t n = 48 + f->vcek_len;
	uint8_t *t = calloc(1, n);
	static const uint8_t vcek_guid[16] = { 0x63, 0xda, 0x75, 0x8d, 0xe6,
		0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac,
		0xcd };

	assert_non_null(t);
	memcpy(t, vcek_guid, 16);
	t[16] = 48;
	t[20] = (uint8_t)(f->vcek_len & 0xff);
	t[21] = (uint8_t)(f->vcek_len >> 8);
	memcpy(t + 48, f->vcek, f->vcek_len);
	assert_int_equal(vrf_snp_cert_table(t, n, &certs, &eb), CORE_OK);
	assert_ptr_equal(certs.vcek, t + 48);
	assert_int_equal(certs.vcek_len, f->vcek_len);
	assert_false(certs.is_vlek);
	/* Raw extended report: report || table verifies without --vcek. */
	{
		struct verifier_opts o = { .check_time = T_PINNED,
			.allow_debug = true };
		uint8_t *ext = malloc(f->snp_len + n);
		json_t *c = NULL;

		memcpy(ext, f->snp, f->snp_len);
		memcpy(ext + f->snp_len, t, n);
		assert_int_equal(verifier_verify(TEE_SNP, ext, f->snp_len + n,
		    f->snp_rd, 64, &o, &c, &eb), CORE_OK);
		assert_string_equal(claim_str(c, "signing_key"), "vcek");
		json_decref(c);
		free(ext);
	}
	/* An entry pointing past the end. */
	t[21] = 0x40;
	assert_int_equal(vrf_snp_cert_table(t, n, &certs, &eb),
	    CORE_ERR_INVALID);
	/* No terminator. */
	assert_int_equal(vrf_snp_cert_table(t, 24, &certs, &eb),
	    CORE_ERR_INVALID);
	free(t);
}


/* ---- TCB evaluation (collateral logic without signatures) ------------ */

static json_t *
load_inner(const char *rel, const char *key)
{
	uint8_t *p = NULL;
	size_t n = 0;
	json_t *doc = NULL, *inner;

	td_read(rel, &p, &n);
	assert_int_equal(core_json_parse_object(p, n, 0, &doc, NULL), CORE_OK);
	free(p);
	inner = json_deep_copy(json_object_get(doc, key));
	json_decref(doc);
	assert_non_null(inner);
	return inner;
}

static void
set_svns(json_t *level, const char *which, const int *svn)
{
	json_t *arr = json_object_get(json_object_get(level, "tcb"), which);

	for (size_t i = 0; i < 16; i++)
		json_object_set_new(json_array_get(arr, i), "svn",
		    json_integer(svn[i]));
}

static void
test_tcb_levels(void **state)
{
	struct fix *f = *state;
	struct dcap_quote q;
	struct dcap_pck_ext x = { .pcesvn = 11, .comp_svn = { 3, 3, 2, 2, 2,
		1, 0, 2 }, .fmspc = { 0x50, 0x80, 0x6f }, .have_fmspc = true,
		.have_pceid = true, .have_tcb = true };
	static const int zero[16] = { 0 };
	static const int tdx_ok[16] = { 3, 0, 4 };
	json_t *info, *tcb, *levels;
	struct core_errbuf eb = { { 0 } };
	uint8_t *copy;

	assert_int_equal(dcap_parse(TEE_TDX, f->tdx, f->tdx_len, &q, &eb),
	    CORE_OK);
	info = load_inner("tee/tdx/tcbInfo_response.json", "tcbInfo");
	levels = json_object_get(info, "tcbLevels");

	/* As shipped: the platform is below every level. */
	tcb = json_object();
	assert_int_equal(dcap_tcb_info(TEE_TDX, &q, &x, info, tcb, &eb),
	    CORE_ERR_PERM);
	assert_string_equal(claim_str(tcb, "status"), "unsupported");
	json_decref(tcb);

	/* Levels lowered as upstream tests do: the first level matches. */
	set_svns(json_array_get(levels, 0), "sgxtcbcomponents", zero);
	set_svns(json_array_get(levels, 0), "tdxtcbcomponents", tdx_ok);
	tcb = json_object();
	assert_int_equal(dcap_tcb_info(TEE_TDX, &q, &x, info, tcb, &eb),
	    CORE_OK);
	assert_string_equal(claim_str(tcb, "status"), "UpToDate");
	json_decref(tcb);

	/* Only the second (OutOfDate) level matches: advisories reported. */
	{
		int high[16] = { 9 };

		set_svns(json_array_get(levels, 0), "sgxtcbcomponents", high);
		set_svns(json_array_get(levels, 1), "sgxtcbcomponents", zero);
		set_svns(json_array_get(levels, 1), "tdxtcbcomponents", tdx_ok);
	}
	tcb = json_object();
	assert_int_equal(dcap_tcb_info(TEE_TDX, &q, &x, info, tcb, &eb),
	    CORE_OK);
	assert_string_equal(claim_str(tcb, "status"), "OutOfDate");
	assert_int_equal(json_array_size(json_object_get(tcb,
	    "advisory_ids")), 13);
	json_decref(tcb);
	/* PCESVN below the level's. */
	x.pcesvn = 4;
	tcb = json_object();
	assert_int_equal(dcap_tcb_info(TEE_TDX, &q, &x, info, tcb, &eb),
	    CORE_ERR_PERM);
	json_decref(tcb);
	x.pcesvn = 11;
	/* Revoked is rejected. */
	json_object_set_new(json_array_get(levels, 1), "tcbStatus",
	    json_string("Revoked"));
	tcb = json_object();
	assert_int_equal(dcap_tcb_info(TEE_TDX, &q, &x, info, tcb, &eb),
	    CORE_ERR_PERM);
	json_decref(tcb);
	json_object_set_new(json_array_get(levels, 1), "tcbStatus",
	    json_string("OutOfDate"));

	/* FMSPC of another platform. */
	x.fmspc[5] = 1;
	tcb = json_object();
	core_errbuf_clear(&eb);
	assert_int_equal(dcap_tcb_info(TEE_TDX, &q, &x, info, tcb, &eb),
	    CORE_ERR_AUTH);
	assert_non_null(strstr(eb.msg, "fmspc"));
	json_decref(tcb);
	x.fmspc[5] = 0;
	/* TDX module signer differs. */
	json_object_set_new(json_object_get(info, "tdxModule"), "mrsigner",
	    json_string("01000000000000000000000000000000000000000000000000"
	    "0000000000000000000000000000000000000000000000"));
	tcb = json_object();
	core_errbuf_clear(&eb);
	assert_int_equal(dcap_tcb_info(TEE_TDX, &q, &x, info, tcb, &eb),
	    CORE_ERR_AUTH);
	assert_non_null(strstr(eb.msg, "mrsigner"));
	json_decref(tcb);

	/* A module with a major version: tdxModuleIdentities decide. */
	copy = malloc(f->tdx_len);
	memcpy(copy, f->tdx, f->tdx_len);
	copy[0x31] = 1; /* tee_tcb_svn[1] */
	assert_int_equal(dcap_parse(TEE_TDX, copy, f->tdx_len, &q, &eb),
	    CORE_OK);
	{
		int tdx15[16] = { 3, 1, 4 };
		json_t *ids = json_pack("[{s:s,s:s,s:s,s:s,s:[{s:{s:i},s:s},"
		    "{s:{s:i},s:s}]}]", "id", "TDX_01", "mrsigner",
		    "000000000000000000000000000000000000000000000000"
		    "000000000000000000000000000000000000000000000000",
		    "attributes", "0000000000000000", "attributesMask",
		    "FFFFFFFFFFFFFFFF", "tcbLevels", "tcb", "isvsvn", 5,
		    "tcbStatus", "UpToDate", "tcb", "isvsvn", 2, "tcbStatus",
		    "OutOfDate");

		set_svns(json_array_get(levels, 1), "tdxtcbcomponents", tdx15);
		json_object_set_new(info, "tdxModuleIdentities", ids);
		tcb = json_object();
		assert_int_equal(dcap_tcb_info(TEE_TDX, &q, &x, info, tcb,
		    &eb), CORE_OK);
		assert_string_equal(claim_str(tcb, "tdx_module_status"),
		    "OutOfDate");
		json_decref(tcb);
		/* No identity for TDX_02. */
		copy[0x31] = 2;
		assert_int_equal(dcap_parse(TEE_TDX, copy, f->tdx_len, &q, &eb),
		    CORE_OK);
		tcb = json_object();
		assert_int_equal(dcap_tcb_info(TEE_TDX, &q, &x, info, tcb,
		    &eb), CORE_ERR_PERM);
		assert_string_equal(claim_str(tcb, "tdx_module_status"),
		    "unsupported");
		json_decref(tcb);
	}
	free(copy);
	json_decref(info);
}

static void
test_qe_identity_levels(void **state)
{
	struct fix *f = *state;
	struct dcap_quote q;
	json_t *idn, *tcb;
	struct core_errbuf eb = { { 0 } };

	assert_int_equal(dcap_parse(TEE_TDX, f->tdx, f->tdx_len, &q, &eb),
	    CORE_OK);
	idn = load_inner("tee/tdx/qeIdentity_response.json", "enclaveIdentity");
	tcb = json_object();
	assert_int_equal(dcap_qe_identity(TEE_TDX, &q, idn, tcb, &eb), CORE_OK);
	assert_string_equal(claim_str(tcb, "qe_status"), "UpToDate");
	/* An SGX quote would need the "QE" identity. */
	assert_int_equal(dcap_qe_identity(TEE_SGX, &q, idn, tcb, &eb),
	    CORE_ERR_INVALID);
	/* The QE's isvsvn 4 is below a level requiring 5. */
	json_object_set_new(json_object_get(json_array_get(json_object_get(idn,
	    "tcbLevels"), 0), "tcb"), "isvsvn", json_integer(5));
	assert_int_equal(dcap_qe_identity(TEE_TDX, &q, idn, tcb, &eb),
	    CORE_ERR_PERM);
	/* Attributes outside the mask. */
	json_object_set_new(idn, "attributes",
	    json_string("13000000000000000000000000000000"));
	core_errbuf_clear(&eb);
	assert_int_equal(dcap_qe_identity(TEE_TDX, &q, idn, tcb, &eb),
	    CORE_ERR_AUTH);
	assert_non_null(strstr(eb.msg, "attributes"));
	/* Another QE signer. */
	json_object_set_new(idn, "mrsigner", json_string("8C4F5775D796503E96137F"
	    "77C68A829A0056AC8DED70140B081B094490C57BFF"));
	assert_int_equal(dcap_qe_identity(TEE_TDX, &q, idn, tcb, &eb),
	    CORE_ERR_AUTH);
	json_decref(tcb);
	json_decref(idn);
}

static void
test_json_member_span(void **state)
{
	static const char doc[] = " { \"signature\" : \"a}\\\"tcbInfo\" ,"
	    " \"x\":[1,{\"tcbInfo\":{}}], \"tcbInfo\" :\t{\"a\":\"}\",\"b\":"
	    "{\"c\":[]}} }";
	size_t start = 0, len = 0;

	(void)state;
	assert_true(dcap_json_member_span(doc, strlen(doc), "tcbInfo", &start,
	    &len));
	assert_int_equal(len, strlen("{\"a\":\"}\",\"b\":{\"c\":[]}}"));
	assert_memory_equal(doc + start, "{\"a\":\"}\",\"b\":{\"c\":[]}}", len);
	assert_false(dcap_json_member_span(doc, strlen(doc), "missing", &start,
	    &len));
	assert_false(dcap_json_member_span("[]", 2, "tcbInfo", &start, &len));
}

/* ---- sample and dispatch ---------------------------------------------- */

static void
test_sample(void **state)
{
	uint8_t digest[48];
	char *b64, *txt;
	json_t *c = NULL;
	struct core_errbuf eb = { { 0 } };

	(void)state;
	for (int i = 0; i < 48; i++)
		digest[i] = (uint8_t)i;
	b64 = core_b64_encode(digest, 48);
	assert_non_null(b64);
	txt = malloc(strlen(b64) + 64);
	snprintf(txt, strlen(b64) + 64, "{\"svn\":\"1\",\"report_data\":\"%s\"}",
	    b64);
	assert_int_equal(verifier_verify(TEE_SAMPLE, (uint8_t *)txt,
	    strlen(txt), digest, 48, NULL, &c, &eb), CORE_OK);
	assert_string_equal(claim_str(c, "svn"), "1");
	assert_string_equal(claim_str(c, "launch_digest"), "abcde");
	assert_false(json_is_true(json_object_get(c, "debug")));
	json_decref(c);
	/* Sample compares exactly: a zero-padded 64-byte value differs. */
	{
		uint8_t pad[64] = { 0 };

		memcpy(pad, digest, 48);
		assert_int_equal(verifier_verify(TEE_SAMPLE, (uint8_t *)txt,
		    strlen(txt), pad, 64, NULL, &c, &eb), CORE_ERR_PERM);
		json_decref(c);
	}
	digest[0] ^= 1;
	assert_int_equal(verifier_verify(TEE_SAMPLE, (uint8_t *)txt,
	    strlen(txt), digest, 48, NULL, &c, &eb), CORE_ERR_PERM);
	json_decref(c);
	/* Malformed sample evidence. */
	assert_int_equal(verifier_verify(TEE_SAMPLE,
	    (const uint8_t *)"{\"svn\":1}", 9, NULL, 0, NULL, &c, &eb),
	    CORE_ERR_INVALID);
	assert_int_equal(verifier_verify(TEE_SAMPLE, (const uint8_t *)"xx", 2,
	    NULL, 0, NULL, &c, &eb), CORE_ERR_INVALID);
	assert_int_equal(verifier_verify(TEE_NONE, (const uint8_t *)"{}", 2,
	    NULL, 0, NULL, &c, &eb), CORE_ERR_UNSUPPORTED);
	assert_int_equal(verifier_verify(TEE_TDX, (const uint8_t *)"{}", 2,
	    NULL, 0, NULL, &c, &eb), CORE_ERR_INVALID);
	free(txt);
	free(b64);
}

/*
 * A synthetic SGX v3 quote, signed with a fresh key and with a correct QE
 * binding: parsing, the quote signature and the binding pass, and
 * verification stops at the PCK chain (no Intel-issued certificate).
 */
static void
test_sgx_v3_layout(void **state)
{
	struct fix *f = *state;
	struct verifier_opts o = { .check_time = T_PINNED };
	struct core_errbuf eb = { { 0 } };
	/* PCK chain taken from the TDX sample: leaf + intermediate + root. */
	size_t chain_len = 3677, n = 0x3FC + 32 + chain_len;
	uint8_t *q = calloc(1, n);
	EVP_PKEY *k = EVP_EC_gen("P-256");
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	unsigned char der[80], xy[65];
	size_t der_len = sizeof(der), xy_len = 0;
	const unsigned char *dp = der;
	ECDSA_SIG *sig;
	json_t *c = NULL;

	assert_non_null(q);
	q[0] = 3;
	q[2] = 2;
	memcpy(q + 0x0C, f->tdx + 0x0C, 16);
	q[0x30 + 48] = 0x07; /* INIT | DEBUG | MODE64BIT */
	memset(q + 0x30 + 64, 0xAB, 32);      /* mr_enclave */
	memset(q + 0x30 + 320, 0x5A, 64);     /* report_data */
	{
		uint32_t sl = (uint32_t)(n - 0x1B4);

		memcpy(q + 0x1B0, &sl, 4);
	}
	assert_int_equal(EVP_PKEY_get_octet_string_param(k, "pub", xy,
	    sizeof(xy), &xy_len), 1);
	memcpy(q + 0x1F4, xy + 1, 64);
	q[0x3F4] = 32;
	for (int i = 0; i < 32; i++)
		q[0x3F6 + i] = (uint8_t)i;
	{
		uint8_t md[32], buf[96];

		memcpy(buf, xy + 1, 64);
		memcpy(buf + 64, q + 0x3F6, 32);
		SHA256(buf, 96, md);
		memcpy(q + 0x234 + 320, md, 32);
	}
	q[0x3F6 + 32] = 5;
	memcpy(q + 0x3F6 + 34, &chain_len, 4);
	memcpy(q + 0x3FC + 32, f->tdx + 0x4EA, chain_len);
	assert_int_equal(EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, k), 1);
	assert_int_equal(EVP_DigestSign(m, der, &der_len, q, 0x1B0), 1);
	sig = d2i_ECDSA_SIG(NULL, &dp, (long)der_len);
	BN_bn2binpad(ECDSA_SIG_get0_r(sig), q + 0x1B4, 32);
	BN_bn2binpad(ECDSA_SIG_get0_s(sig), q + 0x1B4 + 32, 32);
	ECDSA_SIG_free(sig);

	/* The chain is genuine, so the failure is the QE report signature. */
	assert_int_equal(verifier_verify(TEE_SGX, q, n, NULL, 0, &o, &c, &eb),
	    CORE_ERR_AUTH);
	assert_non_null(strstr(eb.msg, "qe report signature"));
	assert_int_equal(verifier_parse(TEE_SGX, q, n, &c, &eb), CORE_OK);
	assert_true(json_is_true(json_object_get(c, "debug")));
	assert_string_equal(claim_str(c, "mr_enclave"),
	    "abababababababababababababababababababababababababababababababab");
	assert_int_equal(json_integer_value(json_object_get(c,
	    "quote_version")), 3);
	json_decref(c);
	/* A TDX verifier refuses it. */
	assert_int_not_equal(verifier_verify(TEE_TDX, q, n, NULL, 0, &o, &c,
	    &eb), CORE_OK);
	EVP_MD_CTX_free(m);
	EVP_PKEY_free(k);
	free(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_anchors_pinned),
		cmocka_unit_test(test_tdx_verifies),
		cmocka_unit_test(test_tdx_wrong_report_data),
		cmocka_unit_test(test_tdx_bit_flips),
		cmocka_unit_test(test_tdx_truncated_oversized),
		cmocka_unit_test(test_tdx_expiry),
		cmocka_unit_test(test_tdx_collateral),
		cmocka_unit_test(test_tdx_init_data),
		cmocka_unit_test(test_tdx_v5_layout),
		cmocka_unit_test(test_ccel_replay),
		cmocka_unit_test(test_snp_verifies_debug_reported),
		cmocka_unit_test(test_snp_bit_flips),
		cmocka_unit_test(test_snp_bad_inputs),
		cmocka_unit_test(test_snp_evidence_json),
		cmocka_unit_test(test_snp_trustee_json),
		cmocka_unit_test(test_snp_amd_crl),
		cmocka_unit_test(test_snp_generations),
		cmocka_unit_test(test_snp_cert_table),
		cmocka_unit_test(test_tcb_levels),
		cmocka_unit_test(test_qe_identity_levels),
		cmocka_unit_test(test_json_member_span),
		cmocka_unit_test(test_sample),
		cmocka_unit_test(test_sgx_v3_layout),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
