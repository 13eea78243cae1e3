/*
 * snp.c -- AMD SEV-SNP attestation reports v2..v5 (spec tee-evidence.md
 * section 4): parsing, the VCEK/VLEK chain to the pinned ARK of Milan,
 * Genoa or Turin, the P-384 report signature, and the binding between the
 * certificate's extensions and the report.
 */
#include "verifier/verifier_int.h"

#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <time.h>

#define SNP_SIG_OFF 0x2A0
#define SNP_OID_BASE "1.3.6.1.4.1.3704.1"
#define SNP_CERT_TABLE_MAX (64 * 1024)


static const char *const snp_gen_names[] = { "unknown", "milan", "genoa",
	"turin" };
static const char *const snp_gen_product[] = { "", "Milan", "Genoa",
	"Turin" };


STATIC void
snp_tcb_decode(uint64_t raw, enum snp_gen gen, struct snp_tcb *t)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(raw >> (8 * i));
	if (gen == SNP_GEN_TURIN) {
		t->fmc = b[0];
		t->bootloader = b[1];
		t->tee = b[2];
		t->snp = b[3];
	} else {
		t->fmc = -1;
		t->bootloader = b[0];
		t->tee = b[1];
		t->snp = b[6];
	}
	t->microcode = b[7];
}

/* Generation from the v3+ CPUID fields; UNKNOWN when zero or new. */
STATIC enum snp_gen
snp_gen_from_cpuid(const uint8_t *r)
{
	uint32_t version = vrf_le32(r);
	uint8_t fam = r[0x188], model = r[0x189];

	if (version < 3)
		return SNP_GEN_UNKNOWN;
	if (fam == 0x19 && model <= 0x0F)
		return SNP_GEN_MILAN;
	if (fam == 0x19 && ((model >= 0x10 && model <= 0x1F) ||
	    (model >= 0xA0 && model <= 0xAF)))
		return SNP_GEN_GENOA;
	if (fam == 0x1A && model <= 0x11)
		return SNP_GEN_TURIN;
	return SNP_GEN_UNKNOWN;
}

static bool
snp_tcb_claims(json_t *o, const char *key, uint64_t raw, enum snp_gen gen)
{
	struct snp_tcb t;
	json_t *j = json_object();
	char hex[20];
	bool ok;

	if (j == NULL)
		return false;
	snp_tcb_decode(raw, gen, &t);
	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)raw);
	ok = vrf_set_str(j, "raw", hex) &&
	    vrf_set_int(j, "bootloader", t.bootloader) &&
	    vrf_set_int(j, "tee", t.tee) && vrf_set_int(j, "snp", t.snp) &&
	    vrf_set_int(j, "microcode", t.microcode) &&
	    json_object_set_new(j, "fmc",
	    t.fmc < 0 ? json_null() : json_integer(t.fmc)) == 0;
	if (!ok) {
		json_decref(j);
		return false;
	}
	return json_object_set_new(o, key, j) == 0;
}

static bool
snp_version_claims(json_t *o, const char *key, const uint8_t *p)
{
	json_t *j = json_object();
	char s[32];

	if (j == NULL)
		return false;
	snprintf(s, sizeof(s), "%u.%u.%u", p[2], p[1], p[0]);
	if (!vrf_set_int(j, "build", p[0]) || !vrf_set_int(j, "minor", p[1]) ||
	    !vrf_set_int(j, "major", p[2]) || !vrf_set_str(j, "text", s)) {
		json_decref(j);
		return false;
	}
	return json_object_set_new(o, key, j) == 0;
}

static bool
snp_policy_claims(json_t *o, uint64_t pol)
{
	json_t *j = json_object();
	bool ok;

	if (j == NULL)
		return false;
	ok = vrf_set_int(j, "abi_minor", (int64_t)(pol & 0xFF)) &&
	    vrf_set_int(j, "abi_major", (int64_t)((pol >> 8) & 0xFF)) &&
	    vrf_set_bool(j, "smt", (pol >> 16) & 1) &&
	    vrf_set_bool(j, "migrate_ma", (pol >> 18) & 1) &&
	    vrf_set_bool(j, "debug", (pol >> 19) & 1) &&
	    vrf_set_bool(j, "single_socket", (pol >> 20) & 1) &&
	    vrf_set_bool(j, "cxl_allow", (pol >> 21) & 1) &&
	    vrf_set_bool(j, "mem_aes_256_xts", (pol >> 22) & 1) &&
	    vrf_set_bool(j, "rapl_dis", (pol >> 23) & 1) &&
	    vrf_set_bool(j, "ciphertext_hiding", (pol >> 24) & 1) &&
	    vrf_set_bool(j, "page_swap_disable", (pol >> 25) & 1);
	if (!ok) {
		json_decref(j);
		return false;
	}
	return json_object_set_new(o, "policy_decoded", j) == 0;
}

static enum core_err
snp_claims(const uint8_t *r, enum snp_gen gen, json_t **out,
    struct core_errbuf *eb)
{
	json_t *o = json_object();
	uint64_t pol = vrf_le64(r + 0x08);
	uint32_t signer = vrf_le32(r + 0x48);
	uint32_t version = vrf_le32(r);
	unsigned key = (signer >> 2) & 7;
	bool ok;

	*out = NULL;
	if (o == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "claims");
	ok = vrf_set_str(o, "tee", "snp") && vrf_set_int(o, "version", version) &&
	    vrf_set_int(o, "guest_svn", vrf_le32(r + 0x04)) &&
	    vrf_set_int(o, "policy", (int64_t)pol) &&
	    snp_policy_claims(o, pol) &&
	    vrf_set_bool(o, "debug", (pol >> 19) & 1) &&
	    vrf_set_hex(o, "family_id", r + 0x10, 16) &&
	    vrf_set_hex(o, "image_id", r + 0x20, 16) &&
	    vrf_set_int(o, "vmpl", vrf_le32(r + 0x30)) &&
	    vrf_set_int(o, "signature_algo", vrf_le32(r + 0x34)) &&
	    snp_tcb_claims(o, "current_tcb", vrf_le64(r + 0x38), gen) &&
	    vrf_set_int(o, "platform_info", (int64_t)vrf_le64(r + 0x40)) &&
	    vrf_set_bool(o, "smt_enabled", r[0x40] & 1) &&
	    vrf_set_bool(o, "tsme_enabled", (r[0x40] >> 1) & 1) &&
	    vrf_set_int(o, "key_info", signer) &&
	    vrf_set_bool(o, "author_key_en", signer & 1) &&
	    vrf_set_bool(o, "mask_chip_key", (signer >> 1) & 1) &&
	    vrf_set_str(o, "signing_key", key == 0 ? "vcek" :
	    key == 1 ? "vlek" : key == 7 ? "none" : "reserved") &&
	    vrf_set_hex(o, "report_data", r + 0x50, 64) &&
	    vrf_set_hex(o, "measurement", r + 0x90, 48) &&
	    vrf_set_hex(o, "host_data", r + 0xC0, 32) &&
	    vrf_set_hex(o, "id_key_digest", r + 0xE0, 48) &&
	    vrf_set_hex(o, "author_key_digest", r + 0x110, 48) &&
	    vrf_set_hex(o, "report_id", r + 0x140, 32) &&
	    vrf_set_hex(o, "report_id_ma", r + 0x160, 32) &&
	    snp_tcb_claims(o, "reported_tcb", vrf_le64(r + 0x180), gen) &&
	    vrf_set_hex(o, "chip_id", r + 0x1A0, 64) &&
	    snp_tcb_claims(o, "committed_tcb", vrf_le64(r + 0x1E0), gen) &&
	    snp_version_claims(o, "current_version", r + 0x1E8) &&
	    snp_version_claims(o, "committed_version", r + 0x1EC) &&
	    snp_tcb_claims(o, "launch_tcb", vrf_le64(r + 0x1F0), gen) &&
	    vrf_set_str(o, "generation", snp_gen_names[gen]);
	if (ok && version >= 3) {
		json_t *cpu = json_object();

		ok = cpu != NULL && vrf_set_int(cpu, "family", r[0x188]) &&
		    vrf_set_int(cpu, "model", r[0x189]) &&
		    vrf_set_int(cpu, "stepping", r[0x18A]) &&
		    json_object_set_new(o, "cpuid", cpu) == 0;
		if (!ok)
			json_decref(cpu);
	}
	if (ok && version >= 5)
		ok = vrf_set_int(o, "launch_mit_vector",
		    (int64_t)vrf_le64(r + 0x1F8)) &&
		    vrf_set_int(o, "current_mit_vector",
		    (int64_t)vrf_le64(r + 0x200));
	if (!ok) {
		json_decref(o);
		return core_errf(eb, CORE_ERR_NOMEM, "claims");
	}
	*out = o;
	return CORE_OK;
}

static enum core_err
snp_check_shape(const uint8_t *r, size_t n, struct core_errbuf *eb)
{
	uint32_t version;

	if (n != VRF_SNP_REPORT_LEN)
		return core_errf(eb, CORE_ERR_INVALID,
		    "parse: report is %zu bytes, want %d", n,
		    VRF_SNP_REPORT_LEN);
	version = vrf_le32(r);
	if (version < 2 || version > 5)
		return core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "parse: report version %u (want 2..5)", version);
	if (vrf_le32(r + 0x34) != 1)
		return core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "parse: signature algorithm %u (want 1, ECDSA P-384)",
		    vrf_le32(r + 0x34));
	return CORE_OK;
}

enum core_err
vrf_snp_parse(const uint8_t *report, size_t n, json_t **claims,
    struct core_errbuf *eb)
{
	enum core_err err;

	*claims = NULL;
	err = snp_check_shape(report, n, eb);
	if (err != CORE_OK)
		return err;
	return snp_claims(report, snp_gen_from_cpuid(report), claims, eb);
}

/* ---- Certificate table ------------------------------------------------ */

static const struct {
	const char *guid; /* RFC 4122 string order */
	int which;        /* 0 vcek, 1 vlek, 2 ask/asvk, 3 ark, 4 crl */
} snp_guids[] = {
	{ "63da758de6644564adc5f4b93be8accd", 0 },
	{ "a8074bc2a25a483eaae639c045a0b8a1", 1 },
	{ "4ab7b379bbac4fe4a02f05aef327c782", 2 },
	{ "c0b406a4a80349529743" "3fb6014cd0ae", 3 },
	{ "92f81bc358114d3d97ffd19f88dc67ea", 4 },
};

enum core_err
vrf_snp_cert_table(const uint8_t *p, size_t n, struct vrf_snp_certs *certs,
    struct core_errbuf *eb)
{
	size_t off;

	if (n > SNP_CERT_TABLE_MAX)
		return core_errf(eb, CORE_ERR_TOO_BIG,
		    "cert table: %zu bytes exceeds %d", n, SNP_CERT_TABLE_MAX);
	for (off = 0; off + 24 <= n; off += 24) {
		const uint8_t *e = p + off;
		uint32_t eo = vrf_le32(e + 16), el = vrf_le32(e + 20);
		char *guid;
		int which = -1;

		if (vrf_all_zero(e, 24))
			return CORE_OK;
		if (eo > n || el > n - eo)
			return core_errf(eb, CORE_ERR_INVALID,
			    "cert table: entry %zu (offset %u, length %u) "
			    "overruns the table", off / 24, eo, el);
		guid = core_hex_encode(e, 16);
		if (guid == NULL)
			return core_errf(eb, CORE_ERR_NOMEM, "hex");
		for (size_t i = 0; i < CORE_ARRAY_LEN(snp_guids); i++)
			if (strcmp(guid, snp_guids[i].guid) == 0)
				which = snp_guids[i].which;
		free(guid);
		switch (which) {
		case 0:
		case 1:
			certs->vcek = p + eo;
			certs->vcek_len = el;
			certs->is_vlek = which == 1;
			break;
		case 2:
			certs->ask = p + eo;
			certs->ask_len = el;
			break;
		case 3:
			certs->ark = p + eo;
			certs->ark_len = el;
			break;
		default:
			break; /* CRLs and unknown entries are ignored */
		}
	}
	return core_errf(eb, CORE_ERR_INVALID,
	    "cert table: no terminating all-zero entry");
}

/* ---- Certificate extensions ------------------------------------------- */

/* Returns the extension data for OID base.suffix, or NULL. */
static const ASN1_OCTET_STRING *
snp_ext(X509 *c, const char *suffix)
{
	char oid[64];
	ASN1_OBJECT *obj;
	int idx;

	snprintf(oid, sizeof(oid), SNP_OID_BASE ".%s", suffix);
	obj = OBJ_txt2obj(oid, 1);
	if (obj == NULL)
		return NULL;
	idx = X509_get_ext_by_OBJ(c, obj, -1);
	ASN1_OBJECT_free(obj);
	if (idx < 0)
		return NULL;
	return X509_EXTENSION_get_data(X509_get_ext(c, idx));
}

/* An SPL extension as a small integer; -1 when absent or malformed. */
static int
snp_ext_int(X509 *c, const char *suffix)
{
	const ASN1_OCTET_STRING *d = snp_ext(c, suffix);
	const unsigned char *q;
	ASN1_INTEGER *i;
	long v;

	if (d == NULL)
		return -1;
	q = d->data;
	i = d2i_ASN1_INTEGER(NULL, &q, d->length);
	if (i == NULL) {
		ERR_clear_error();
		return -1;
	}
	v = ASN1_INTEGER_get(i);
	ASN1_INTEGER_free(i);
	return (v < 0 || v > 255) ? -1 : (int)v;
}

static enum core_err
snp_check_spl(X509 *c, const char *suffix, int want, const char *name,
    struct core_errbuf *eb)
{
	int got = snp_ext_int(c, suffix);

	if (got != want)
		return core_errf(eb, CORE_ERR_AUTH,
		    "tcb binding: certificate %s %d differs from the reported "
		    "TCB %d", name, got, want);
	return CORE_OK;
}

/* productName ("Milan-B0") names the generation; UNKNOWN if absent. */
static enum snp_gen
snp_cert_product(X509 *c)
{
	const ASN1_OCTET_STRING *d = snp_ext(c, "2");
	const unsigned char *q;
	ASN1_STRING *s;
	enum snp_gen g = SNP_GEN_UNKNOWN;

	if (d == NULL)
		return g;
	q = d->data;
	s = d2i_ASN1_IA5STRING(NULL, &q, d->length);
	if (s == NULL) {
		ERR_clear_error();
		return g;
	}
	for (int i = SNP_GEN_MILAN; i <= SNP_GEN_TURIN; i++) {
		size_t l = strlen(snp_gen_product[i]);

		if ((size_t)s->length >= l &&
		    memcmp(s->data, snp_gen_product[i], l) == 0)
			g = (enum snp_gen)i;
	}
	ASN1_STRING_free(s);
	return g;
}

/* Issuer CN "SEV-Milan" / "SEV-VLEK-Genoa" names the generation too. */
static enum snp_gen
snp_cert_issuer_gen(X509 *c)
{
	X509_NAME *n = X509_get_issuer_name(c);
	char cn[64];

	if (n == NULL ||
	    X509_NAME_get_text_by_NID(n, NID_commonName, cn, sizeof(cn)) < 0) {
		ERR_clear_error();
		return SNP_GEN_UNKNOWN;
	}
	for (int i = SNP_GEN_MILAN; i <= SNP_GEN_TURIN; i++) {
		char a[32], b[32];

		snprintf(a, sizeof(a), "SEV-%s", snp_gen_product[i]);
		snprintf(b, sizeof(b), "SEV-VLEK-%s", snp_gen_product[i]);
		if (strcmp(cn, a) == 0 || strcmp(cn, b) == 0)
			return (enum snp_gen)i;
	}
	return SNP_GEN_UNKNOWN;
}

static enum core_err
snp_check_binding(X509 *cert, bool is_vlek, const uint8_t *r,
    enum snp_gen gen, struct core_errbuf *eb)
{
	struct snp_tcb t;
	enum core_err err;
	enum snp_gen prod;

	snp_tcb_decode(vrf_le64(r + 0x180), gen, &t);
	if ((err = snp_check_spl(cert, "3.1", t.bootloader, "blSPL", eb)) ||
	    (err = snp_check_spl(cert, "3.2", t.tee, "teeSPL", eb)) ||
	    (err = snp_check_spl(cert, "3.3", t.snp, "snpSPL", eb)) ||
	    (err = snp_check_spl(cert, "3.8", t.microcode, "ucodeSPL", eb)))
		return err;
	if (gen == SNP_GEN_TURIN &&
	    (err = snp_check_spl(cert, "3.9", t.fmc, "fmcSPL", eb)))
		return err;
	prod = snp_cert_product(cert);
	if (prod != SNP_GEN_UNKNOWN && prod != gen)
		return core_errf(eb, CORE_ERR_AUTH,
		    "tcb binding: certificate productName is %s, report is %s",
		    snp_gen_product[prod], snp_gen_product[gen]);
	if (!is_vlek && ((vrf_le32(r + 0x48) >> 1) & 1) == 0) {
		const ASN1_OCTET_STRING *hw = snp_ext(cert, "4");
		const uint8_t *id;
		size_t idlen, want = gen == SNP_GEN_TURIN ? 8 : 64;

		if (hw == NULL)
			return core_errf(eb, CORE_ERR_AUTH,
			    "hwid binding: VCEK has no hwID extension");
		id = hw->data;
		idlen = (size_t)hw->length;
		/* Accept the legacy raw form and DER OCTET STRING. */
		if (idlen == want + 2 && id[0] == 0x04 && id[1] == want) {
			id += 2;
			idlen -= 2;
		}
		if (idlen != want || CRYPTO_memcmp(id, r + 0x1A0, want) != 0)
			return core_errf(eb, CORE_ERR_AUTH,
			    "hwid binding: VCEK hwID differs from the report's "
			    "chip_id");
	}
	return CORE_OK;
}

/* ---- Verification ----------------------------------------------------- */

/*
 * The AMD CRL (KDS .../crl, signed by the ARK): valid at t, and the ASK or
 * ASVK that issued the VCEK/VLEK is not on it.
 */
STATIC enum core_err
snp_check_crl(const uint8_t *p, size_t n, X509 *ark, X509 *ask, int64_t t,
    struct core_errbuf *eb)
{
	const unsigned char *q = p;
	X509_CRL *crl = NULL;
	X509_REVOKED *rev = NULL;
	time_t tt = (time_t)t;
	enum core_err err;

	if (n >= 10 && memcmp(p, "-----BEGIN", 10) == 0) {
		BIO *bio = BIO_new_mem_buf(p, (int)n);

		crl = bio != NULL ? PEM_read_bio_X509_CRL(bio, NULL, NULL,
		    NULL) : NULL;
		BIO_free(bio);
	} else {
		crl = d2i_X509_CRL(NULL, &q, (long)n);
	}
	if (crl == NULL) {
		err = core_errf(eb, CORE_ERR_INVALID, "amd crl: not a CRL");
		goto out;
	}
	if (X509_NAME_cmp(X509_CRL_get_issuer(crl),
	    X509_get_subject_name(ark)) != 0 ||
	    X509_CRL_verify(crl, X509_get0_pubkey(ark)) != 1) {
		err = core_errf(eb, CORE_ERR_AUTH,
		    "amd crl: not signed by the pinned ARK");
		goto out;
	}
	if (X509_cmp_time(X509_CRL_get0_lastUpdate(crl), &tt) > 0 ||
	    X509_CRL_get0_nextUpdate(crl) == NULL ||
	    X509_cmp_time(X509_CRL_get0_nextUpdate(crl), &tt) <= 0) {
		err = core_errf(eb, CORE_ERR_AUTH,
		    "amd crl: not valid at the check time (CRL has expired or "
		    "is not yet valid)");
		goto out;
	}
	if (X509_CRL_get0_by_serial(crl, &rev,
	    X509_get0_serialNumber(ask)) == 1) {
		err = core_errf(eb, CORE_ERR_AUTH,
		    "amd crl: the ASK/ASVK is revoked");
		goto out;
	}
	err = CORE_OK;
out:
	ERR_clear_error();
	X509_CRL_free(crl);
	return err;
}

/* Reads the first existing AMD CRL file of dir; *p NULL if none. */
static enum core_err
snp_read_crl(const char *dir, uint8_t **p, size_t *n, struct core_errbuf *eb)
{
	static const char *const names[] = { "amd_crl.der", "amd_crl.pem",
		"crl.der", "crl.pem", NULL };

	*p = NULL;
	*n = 0;
	for (size_t i = 0; names[i] != NULL; i++) {
		char *path = core_path_join(dir, names[i]);
		enum core_err err;

		if (path == NULL)
			return core_errf(eb, CORE_ERR_NOMEM, "path");
		if (!core_fs_exists(path)) {
			free(path);
			continue;
		}
		err = core_fs_read(path, SNP_CERT_TABLE_MAX, p, n, eb);
		free(path);
		return err;
	}
	return core_errf(eb, CORE_ERR_NOT_FOUND,
	    "collateral: no amd_crl.der (or crl.der) in %s", dir);
}

static enum core_err
snp_verify_chain(X509 *vcek, bool is_vlek, enum snp_gen gen, int64_t t,
    const struct vrf_snp_certs *certs, const char *crl_dir,
    json_t *ver, struct core_errbuf *eb)
{
	char n_ark[32], n_ask[32];
	X509 *ark = NULL, *ask = NULL, *given = NULL;
	STACK_OF(X509) *untrusted = NULL;
	enum core_err err;

	snprintf(n_ark, sizeof(n_ark), "amd-ark-%s", snp_gen_names[gen]);
	snprintf(n_ask, sizeof(n_ask), "amd-%s-%s", is_vlek ? "asvk" : "ask",
	    snp_gen_names[gen]);
	if ((err = vrf_anchor_load(n_ark, &ark, eb)) ||
	    (err = vrf_anchor_load(n_ask, &ask, eb)))
		goto out;
	/* Certificates shipped with the evidence may only equal the pinned. */
	if (certs != NULL && certs->ark != NULL) {
		err = vrf_cert_parse(certs->ark, certs->ark_len, &given, eb);
		if (err == CORE_OK && X509_cmp(given, ark) != 0)
			err = core_errf(eb, CORE_ERR_AUTH,
			    "ARK in the evidence is not the pinned %s ARK",
			    snp_gen_product[gen]);
		X509_free(given);
		given = NULL;
		if (err != CORE_OK)
			goto out;
	}
	if (certs != NULL && certs->ask != NULL) {
		err = vrf_cert_parse(certs->ask, certs->ask_len, &given, eb);
		if (err == CORE_OK && X509_cmp(given, ask) != 0)
			err = core_errf(eb, CORE_ERR_AUTH,
			    "ASK/ASVK in the evidence is not the pinned %s one",
			    snp_gen_product[gen]);
		X509_free(given);
		given = NULL;
		if (err != CORE_OK)
			goto out;
	}
	untrusted = sk_X509_new_null();
	if (untrusted == NULL || sk_X509_push(untrusted, ask) <= 0) {
		err = core_errf(eb, CORE_ERR_NOMEM, "stack");
		goto out;
	}
	err = vrf_chain_verify(ark, vcek, untrusted, NULL, t,
	    is_vlek ? "vlek chain" : "vcek chain", eb);
	if (err == CORE_OK && crl_dir != NULL) {
		uint8_t *crl = NULL;
		size_t crl_len = 0;

		err = snp_read_crl(crl_dir, &crl, &crl_len, eb);
		if (err == CORE_OK)
			err = snp_check_crl(crl, crl_len, ark, ask, t, eb);
		free(crl);
		if (err == CORE_OK)
			vrf_set_str(ver, "amd_crl", "ok");
	}
	ask = NULL; /* owned by the stack */
out:
	X509_free(ark);
	X509_free(ask);
	sk_X509_pop_free(untrusted, X509_free);
	return err;
}

/* The policy checks on an authentic report: VMPL and DEBUG. */
STATIC enum core_err
snp_check_policy(const uint8_t *r, const struct verifier_opts *opts,
    struct core_errbuf *eb)
{
	unsigned max = opts != NULL ? opts->max_vmpl : 0;

	if (vrf_le32(r + 0x30) > max)
		return core_errf(eb, CORE_ERR_PERM,
		    "policy: report VMPL %u is above the accepted %u",
		    vrf_le32(r + 0x30), max);
	if (((vrf_le64(r + 0x08) >> 19) & 1) &&
	    (opts == NULL || !opts->allow_debug))
		return core_errf(eb, CORE_ERR_PERM,
		    "policy: guest policy has DEBUG set");
	return CORE_OK;
}

enum core_err
vrf_snp_verify(const uint8_t *r, size_t n, const struct vrf_snp_certs *certs,
    const uint8_t *expected_rd, size_t expected_len,
    const struct verifier_opts *opts, json_t **claims,
    struct core_errbuf *eb)
{
	X509 *vcek = NULL;
	json_t *c = NULL, *ver = NULL;
	const uint8_t *vp = NULL;
	size_t vlen = 0;
	bool is_vlek = false;
	enum snp_gen gen;
	unsigned key;
	uint8_t rs[72], ss[72];
	char cn[64];
	enum core_err err;

	*claims = NULL;
	err = snp_check_shape(r, n, eb);
	if (err != CORE_OK)
		goto out;
	if (opts != NULL && opts->vcek != NULL) {
		vp = opts->vcek;
		vlen = opts->vcek_len;
	} else if (certs != NULL && certs->vcek != NULL) {
		vp = certs->vcek;
		vlen = certs->vcek_len;
	}
	if (vp == NULL) {
		err = core_errf(eb, CORE_ERR_NOT_FOUND,
		    "vcek: no VCEK or VLEK supplied (evidence cert_chain or "
		    "--vcek)");
		goto out;
	}
	err = vrf_cert_parse(vp, vlen, &vcek, eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "vcek");
		goto out;
	}
	vrf_cert_cn(vcek, cn, sizeof(cn));
	if (strcmp(cn, "SEV-VCEK") == 0)
		is_vlek = false;
	else if (strcmp(cn, "SEV-VLEK") == 0)
		is_vlek = true;
	else {
		err = core_errf(eb, CORE_ERR_AUTH,
		    "vcek: certificate CN \"%s\" is neither SEV-VCEK nor "
		    "SEV-VLEK", cn);
		goto out;
	}
	key = (vrf_le32(r + 0x48) >> 2) & 7;
	if ((key == 0 && is_vlek) || (key == 1 && !is_vlek) || key > 1) {
		err = core_errf(eb, CORE_ERR_AUTH,
		    "signing key: report names key %u, certificate is %s", key,
		    cn);
		goto out;
	}

	gen = snp_gen_from_cpuid(r);
	if (gen == SNP_GEN_UNKNOWN)
		gen = snp_cert_issuer_gen(vcek);
	if (gen == SNP_GEN_UNKNOWN)
		gen = snp_cert_product(vcek);
	if (gen == SNP_GEN_UNKNOWN) {
		err = core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "generation: cannot tell Milan, Genoa or Turin from the "
		    "report or the certificate");
		goto out;
	}
	err = snp_claims(r, gen, &c, eb);
	if (err != CORE_OK)
		goto out;
	ver = json_object();
	if (ver == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "claims");
		goto out;
	}

	err = snp_verify_chain(vcek, is_vlek, gen, vrf_check_time(opts), certs,
	    opts != NULL ? opts->collateral_dir : NULL, ver, eb);
	if (err != CORE_OK)
		goto out;
	vrf_set_str(ver, is_vlek ? "vlek_chain" : "vcek_chain", "ok");

	for (int i = 0; i < 72; i++) {
		rs[i] = r[SNP_SIG_OFF + 71 - i];
		ss[i] = r[SNP_SIG_OFF + 72 + 71 - i];
	}
	err = vrf_ecdsa_verify(X509_get0_pubkey(vcek), EVP_sha384(), r,
	    SNP_SIG_OFF, rs, ss, 72, "report signature", eb);
	if (err != CORE_OK)
		goto out;
	vrf_set_str(ver, "report_signature", "ok");

	err = snp_check_binding(vcek, is_vlek, r, gen, eb);
	if (err != CORE_OK)
		goto out;
	vrf_set_str(ver, "tcb_binding", "ok");
	vrf_set_str(c, "signing_key", is_vlek ? "vlek" : "vcek");

	if (expected_rd != NULL) {
		err = vrf_compare_padded(r + 0x50, 64, expected_rd,
		    expected_len, "report_data", eb);
		if (err != CORE_OK)
			goto out;
		vrf_set_str(ver, "report_data", "ok");
	} else {
		vrf_set_str(ver, "report_data", "not checked");
	}
	if (opts != NULL && opts->init_data_digest != NULL) {
		err = vrf_compare_padded(r + 0xC0, 32, opts->init_data_digest,
		    opts->init_data_digest_len, "init data (host_data)", eb);
		if (err != CORE_OK)
			goto out;
		vrf_set_str(ver, "init_data", "ok");
	}
	err = snp_check_policy(r, opts, eb);
out:
	if (c != NULL && ver != NULL) {
		json_object_set_new(c, "verification", ver);
		ver = NULL;
	}
	json_decref(ver);
	if (err == CORE_OK || err == CORE_ERR_PERM)
		*claims = c;
	else
		json_decref(c);
	if (err != CORE_OK)
		core_errbuf_prefix(eb, "snp");
	X509_free(vcek);
	return err;
}

/* ---- Trustee's serde JSON form ---------------------------------------- */

static enum core_err
snp_json_bytes(const json_t *j, const char *key, uint8_t *out, size_t n,
    bool required, struct core_errbuf *eb)
{
	const json_t *a = json_object_get(j, key);
	size_t i;
	const json_t *v;

	if (a == NULL || json_is_null(a)) {
		if (required)
			return core_errf(eb, CORE_ERR_INVALID,
			    "attestation_report.%s missing", key);
		return CORE_OK;
	}
	if (!json_is_array(a) || json_array_size(a) != n)
		return core_errf(eb, CORE_ERR_INVALID,
		    "attestation_report.%s must be an array of %zu bytes", key,
		    n);
	json_array_foreach(a, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 255)
			return core_errf(eb, CORE_ERR_INVALID,
			    "attestation_report.%s[%zu] is not a byte", key, i);
		out[i] = (uint8_t)json_integer_value(v);
	}
	return CORE_OK;
}

static enum core_err
snp_json_uint(const json_t *j, const char *key, uint8_t *out, size_t width,
    bool required, struct core_errbuf *eb)
{
	const json_t *v = json_object_get(j, key);
	json_int_t x;

	if (v == NULL || json_is_null(v)) {
		if (required)
			return core_errf(eb, CORE_ERR_INVALID,
			    "attestation_report.%s missing", key);
		return CORE_OK;
	}
	if (!json_is_integer(v) || (x = json_integer_value(v)) < 0 ||
	    (width < 8 && (uint64_t)x >> (8 * width) != 0))
		return core_errf(eb, CORE_ERR_INVALID,
		    "attestation_report.%s is not an unsigned %zu-byte integer",
		    key, width);
	for (size_t i = 0; i < width; i++)
		out[i] = (uint8_t)((uint64_t)x >> (8 * i));
	return CORE_OK;
}

static enum core_err
snp_json_tcb(const json_t *j, const char *key, uint8_t out[8],
    struct core_errbuf *eb)
{
	const json_t *t = json_object_get(j, key);
	const json_t *fmc;
	uint8_t bl = 0, tee = 0, snp = 0, uc = 0, f = 0;
	enum core_err err;

	if (!json_is_object(t))
		return core_errf(eb, CORE_ERR_INVALID,
		    "attestation_report.%s must be a TCB object", key);
	if ((err = snp_json_uint(t, "bootloader", &bl, 1, true, eb)) ||
	    (err = snp_json_uint(t, "tee", &tee, 1, true, eb)) ||
	    (err = snp_json_uint(t, "snp", &snp, 1, true, eb)) ||
	    (err = snp_json_uint(t, "microcode", &uc, 1, true, eb))) {
		core_errbuf_prefix(eb, "%s", key);
		return err;
	}
	memset(out, 0, 8);
	fmc = json_object_get(t, "fmc");
	if (fmc != NULL && !json_is_null(fmc)) {
		if ((err = snp_json_uint(t, "fmc", &f, 1, true, eb)))
			return err;
		out[0] = f;
		out[1] = bl;
		out[2] = tee;
		out[3] = snp;
	} else {
		out[0] = bl;
		out[1] = tee;
		out[6] = snp;
	}
	out[7] = uc;
	return CORE_OK;
}

/*
 * Firmware version: {"major","minor","build"} (sev crate >= 4), or the
 * older flat <key>_build / <key>_minor / <key>_major members.
 */
static enum core_err
snp_json_version(const json_t *j, const char *key, uint8_t out[3],
    struct core_errbuf *eb)
{
	const json_t *v = json_object_get(j, key);
	enum core_err err;

	if (v == NULL || json_is_null(v)) {
		static const char *const part[3] = { "build", "minor",
			"major" };

		for (int i = 0; i < 3; i++) {
			char flat[32];

			snprintf(flat, sizeof(flat), "%s_%s", key, part[i]);
			if ((err = snp_json_uint(j, flat, &out[i], 1, false,
			    eb)))
				return err;
		}
		return CORE_OK;
	}
	if (!json_is_object(v))
		return core_errf(eb, CORE_ERR_INVALID,
		    "attestation_report.%s must be a version object", key);
	if ((err = snp_json_uint(v, "build", &out[0], 1, true, eb)) ||
	    (err = snp_json_uint(v, "minor", &out[1], 1, true, eb)) ||
	    (err = snp_json_uint(v, "major", &out[2], 1, true, eb)))
		return err;
	return CORE_OK;
}

enum core_err
vrf_snp_report_from_json(const json_t *j, uint8_t out[VRF_SNP_REPORT_LEN],
    struct core_errbuf *eb)
{
	const json_t *sig;
	uint8_t r[72], s[72];
	enum core_err err;

	memset(out, 0, VRF_SNP_REPORT_LEN);
	if (!json_is_object(j))
		return core_errf(eb, CORE_ERR_INVALID,
		    "attestation_report must be an object");
	if ((err = snp_json_uint(j, "version", out + 0x00, 4, true, eb)) ||
	    (err = snp_json_uint(j, "guest_svn", out + 0x04, 4, true, eb)) ||
	    (err = snp_json_uint(j, "policy", out + 0x08, 8, true, eb)) ||
	    (err = snp_json_bytes(j, "family_id", out + 0x10, 16, true, eb)) ||
	    (err = snp_json_bytes(j, "image_id", out + 0x20, 16, true, eb)) ||
	    (err = snp_json_uint(j, "vmpl", out + 0x30, 4, true, eb)) ||
	    (err = snp_json_uint(j, "sig_algo", out + 0x34, 4, true, eb)) ||
	    (err = snp_json_tcb(j, "current_tcb", out + 0x38, eb)) ||
	    (err = snp_json_uint(j, "plat_info", out + 0x40, 8, true, eb)) ||
	    (err = snp_json_uint(j, json_object_get(j, "key_info") == NULL &&
	    json_object_get(j, "_author_key_en") != NULL ? "_author_key_en" :
	    "key_info", out + 0x48, 4, false, eb)) ||
	    (err = snp_json_bytes(j, "report_data", out + 0x50, 64, true,
	    eb)) ||
	    (err = snp_json_bytes(j, "measurement", out + 0x90, 48, true,
	    eb)) ||
	    (err = snp_json_bytes(j, "host_data", out + 0xC0, 32, true, eb)) ||
	    (err = snp_json_bytes(j, "id_key_digest", out + 0xE0, 48, true,
	    eb)) ||
	    (err = snp_json_bytes(j, "author_key_digest", out + 0x110, 48,
	    true, eb)) ||
	    (err = snp_json_bytes(j, "report_id", out + 0x140, 32, true, eb)) ||
	    (err = snp_json_bytes(j, "report_id_ma", out + 0x160, 32, true,
	    eb)) ||
	    (err = snp_json_tcb(j, "reported_tcb", out + 0x180, eb)) ||
	    (err = snp_json_uint(j, "cpuid_fam_id", out + 0x188, 1, false,
	    eb)) ||
	    (err = snp_json_uint(j, "cpuid_mod_id", out + 0x189, 1, false,
	    eb)) ||
	    (err = snp_json_uint(j, "cpuid_step", out + 0x18A, 1, false, eb)) ||
	    (err = snp_json_bytes(j, "chip_id", out + 0x1A0, 64, true, eb)) ||
	    (err = snp_json_tcb(j, "committed_tcb", out + 0x1E0, eb)) ||
	    (err = snp_json_version(j, "current", out + 0x1E8, eb)) ||
	    (err = snp_json_version(j, "committed", out + 0x1EC, eb)) ||
	    (err = snp_json_tcb(j, "launch_tcb", out + 0x1F0, eb)) ||
	    (err = snp_json_uint(j, "launch_mit_vector", out + 0x1F8, 8, false,
	    eb)) ||
	    (err = snp_json_uint(j, "current_mit_vector", out + 0x200, 8,
	    false, eb)))
		return err;
	sig = json_object_get(j, "signature");
	if (!json_is_object(sig))
		return core_errf(eb, CORE_ERR_INVALID,
		    "attestation_report.signature must be {\"r\",\"s\"}");
	if ((err = snp_json_bytes(sig, "r", r, 72, true, eb)) ||
	    (err = snp_json_bytes(sig, "s", s, 72, true, eb)))
		return err;
	memcpy(out + SNP_SIG_OFF, r, 72);
	memcpy(out + SNP_SIG_OFF + 72, s, 72);
	return CORE_OK;
}
