/*
 * dcap.c -- Intel DCAP quotes: TDX v4 and v5, SGX v3 (spec tee-evidence.md
 * sections 3 and 5), verified offline to the pinned Intel SGX Root CA, with
 * optional PCS collateral (section 3.6).
 */
#include "verifier/verifier_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#define DCAP_HDR_LEN 48
#define DCAP_SGX_BODY_LEN 384
#define DCAP_TDX10_BODY_LEN 584
#define DCAP_TDX15_BODY_LEN 648
#define DCAP_QE_REPORT_LEN 384
#define DCAP_TEE_SGX 0x00000000u
#define DCAP_TEE_TDX 0x00000081u
#define DCAP_CHAIN_MAX (32 * 1024)
#define DCAP_CHAIN_CERTS_MAX 8
#define DCAP_COLLATERAL_MAX (256 * 1024)

/* TD QE and SGX QE3 identities (spec 3.5 step 6). */
static const char dcap_td_qe_mrsigner[] =
    "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5";
static const char dcap_qe3_mrsigner[] =
    "8c4f5775d796503e96137f77c68a829a0056ac8ded70140b081b094490c57bff";

#define SGX_EXT_OID "1.2.840.113741.1.13.1"

/* A bounded cursor over evidence bytes. */
struct dcap_cur {
	const uint8_t *p;
	size_t off;
	size_t end;
};

static const uint8_t *
dcap_take(struct dcap_cur *c, size_t n)
{
	const uint8_t *r;

	if (c->off > c->end || n > c->end - c->off)
		return NULL;
	r = c->p + c->off;
	c->off += n;
	return r;
}

/* Parses the QE report certification data (type 6 payload, or the v3 tail). */
static enum core_err
dcap_parse_qe_part(struct dcap_cur *c, struct dcap_quote *q,
    struct core_errbuf *eb)
{
	const uint8_t *t;
	uint16_t type;
	uint32_t size;

	if ((q->qe_report = dcap_take(c, DCAP_QE_REPORT_LEN)) == NULL ||
	    (q->qe_sig = dcap_take(c, 64)) == NULL ||
	    (t = dcap_take(c, 2)) == NULL)
		return core_errf(eb, CORE_ERR_INVALID,
		    "parse: truncated QE report certification data");
	q->qe_auth_len = vrf_le16(t);
	if ((q->qe_auth = dcap_take(c, q->qe_auth_len)) == NULL)
		return core_errf(eb, CORE_ERR_INVALID,
		    "parse: QE auth data of %zu bytes overruns the quote",
		    q->qe_auth_len);
	if ((t = dcap_take(c, 6)) == NULL)
		return core_errf(eb, CORE_ERR_INVALID,
		    "parse: truncated PCK certification data header");
	type = vrf_le16(t);
	size = vrf_le32(t + 2);
	if (type != 5)
		return core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "parse: certification data type %u (want 5, PCK chain)",
		    type);
	if (size == 0 || size > DCAP_CHAIN_MAX)
		return core_errf(eb, CORE_ERR_INVALID,
		    "parse: PCK chain size %u out of range", size);
	if ((q->chain = dcap_take(c, size)) == NULL)
		return core_errf(eb, CORE_ERR_INVALID,
		    "parse: PCK chain of %u bytes overruns the quote", size);
	q->chain_len = size;
	return CORE_OK;
}

STATIC enum core_err
dcap_parse(enum tee_kind kind, const uint8_t *p, size_t n,
    struct dcap_quote *q, struct core_errbuf *eb)
{
	struct dcap_cur c = { p, 0, n };
	const uint8_t *t;
	uint16_t akt;
	uint32_t sig_len;
	size_t body_off = 0x30;

	memset(q, 0, sizeof(*q));
	if (n < DCAP_HDR_LEN)
		return core_errf(eb, CORE_ERR_INVALID,
		    "parse: %zu bytes is shorter than the quote header", n);
	q->hdr = p;
	q->version = vrf_le16(p);
	akt = vrf_le16(p + 2);
	q->tee_type = vrf_le32(p + 4);
	if (akt != 2)
		return core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "parse: attestation key type %u (only 2, ECDSA P-256)", akt);
	if (kind == TEE_TDX) {
		if (q->version != 4 && q->version != 5)
			return core_errf(eb, CORE_ERR_UNSUPPORTED,
			    "parse: TDX quote version %u (want 4 or 5)",
			    q->version);
		if (q->tee_type != DCAP_TEE_TDX)
			return core_errf(eb, CORE_ERR_INVALID,
			    "parse: tee_type 0x%08x is not TDX (0x81)",
			    q->tee_type);
	} else {
		if (q->version != 3)
			return core_errf(eb, CORE_ERR_UNSUPPORTED,
			    "parse: SGX quote version %u (want 3)", q->version);
		if (q->tee_type != DCAP_TEE_SGX)
			return core_errf(eb, CORE_ERR_INVALID,
			    "parse: bytes 4..8 of an SGX v3 quote must be zero");
	}
	if (q->version == 3) {
		q->body_type = 1;
		q->body_len = DCAP_SGX_BODY_LEN;
	} else if (q->version == 4) {
		q->body_type = 2;
		q->body_len = DCAP_TDX10_BODY_LEN;
	} else {
		if (n < 0x36)
			return core_errf(eb, CORE_ERR_INVALID,
			    "parse: truncated v5 body descriptor");
		q->body_type = vrf_le16(p + 0x30);
		q->body_len = vrf_le32(p + 0x32);
		body_off = 0x36;
		if (!((q->body_type == 2 && q->body_len == DCAP_TDX10_BODY_LEN) ||
		    (q->body_type == 3 && q->body_len == DCAP_TDX15_BODY_LEN)))
			return core_errf(eb, CORE_ERR_UNSUPPORTED,
			    "parse: v5 body type %u size %zu (want 2/584 or "
			    "3/648)", q->body_type, q->body_len);
	}
	c.off = body_off;
	if ((q->body = dcap_take(&c, q->body_len)) == NULL)
		return core_errf(eb, CORE_ERR_INVALID,
		    "parse: %zu bytes is too short for the report body", n);
	q->signed_len = c.off;
	if ((t = dcap_take(&c, 4)) == NULL)
		return core_errf(eb, CORE_ERR_INVALID,
		    "parse: truncated signature data length");
	sig_len = vrf_le32(t);
	if (sig_len > n - c.off)
		return core_errf(eb, CORE_ERR_INVALID,
		    "parse: signature data length %u exceeds the %zu bytes "
		    "left", sig_len, n - c.off);
	c.end = c.off + sig_len; /* trailing bytes after this are accepted */
	if ((q->sig = dcap_take(&c, 64)) == NULL ||
	    (q->att_key = dcap_take(&c, 64)) == NULL)
		return core_errf(eb, CORE_ERR_INVALID,
		    "parse: truncated quote signature or attestation key");
	if (q->version == 3)
		return dcap_parse_qe_part(&c, q, eb);
	{
		uint16_t type;
		uint32_t size;
		struct dcap_cur inner;

		if ((t = dcap_take(&c, 6)) == NULL)
			return core_errf(eb, CORE_ERR_INVALID,
			    "parse: truncated certification data header");
		type = vrf_le16(t);
		size = vrf_le32(t + 2);
		if (type != 6)
			return core_errf(eb, CORE_ERR_UNSUPPORTED,
			    "parse: certification data type %u (want 6, QE "
			    "report)", type);
		if (size > c.end - c.off)
			return core_errf(eb, CORE_ERR_INVALID,
			    "parse: QE report certification data of %u bytes "
			    "overruns the signature data", size);
		inner.p = p;
		inner.off = c.off;
		inner.end = c.off + size;
		return dcap_parse_qe_part(&inner, q, eb);
	}
}

/* ---- PCK certificate ------------------------------------------------ */

/* Parses SEQUENCE { OID, value } into its two elements. */
static STACK_OF(ASN1_TYPE) *
dcap_seq(const ASN1_TYPE *t)
{
	const unsigned char *q;

	if (t == NULL || t->type != V_ASN1_SEQUENCE)
		return NULL;
	q = t->value.sequence->data;
	return d2i_ASN1_SEQUENCE_ANY(NULL, &q, t->value.sequence->length);
}

static bool
dcap_oid_is(const ASN1_TYPE *t, const char *oid)
{
	char buf[80];

	if (t == NULL || t->type != V_ASN1_OBJECT)
		return false;
	if (OBJ_obj2txt(buf, sizeof(buf), t->value.object, 1) <= 0)
		return false;
	return strcmp(buf, oid) == 0;
}

static bool
dcap_octets(const ASN1_TYPE *t, uint8_t *out, size_t n)
{
	if (t == NULL || t->type != V_ASN1_OCTET_STRING ||
	    (size_t)t->value.octet_string->length != n)
		return false;
	memcpy(out, t->value.octet_string->data, n);
	return true;
}

static bool
dcap_small_int(const ASN1_TYPE *t, int *out)
{
	long v;

	if (t == NULL || t->type != V_ASN1_INTEGER)
		return false;
	v = ASN1_INTEGER_get(t->value.integer);
	if (v < 0 || v > 65535)
		return false;
	*out = (int)v;
	return true;
}

static void
dcap_parse_tcb(const ASN1_TYPE *val, struct dcap_pck_ext *x)
{
	STACK_OF(ASN1_TYPE) *tcb = dcap_seq(val);
	int found = 0;

	if (tcb == NULL)
		return;
	for (int i = 0; i < sk_ASN1_TYPE_num(tcb); i++) {
		STACK_OF(ASN1_TYPE) *kv = dcap_seq(sk_ASN1_TYPE_value(tcb, i));
		char oid[80];

		if (kv == NULL)
			continue;
		if (sk_ASN1_TYPE_num(kv) == 2) {
			const ASN1_TYPE *k = sk_ASN1_TYPE_value(kv, 0);
			const ASN1_TYPE *v = sk_ASN1_TYPE_value(kv, 1);

			for (int j = 1; j <= 16; j++) {
				snprintf(oid, sizeof(oid), SGX_EXT_OID ".2.%d",
				    j);
				if (dcap_oid_is(k, oid) &&
				    dcap_small_int(v, &x->comp_svn[j - 1]))
					found++;
			}
			if (dcap_oid_is(k, SGX_EXT_OID ".2.17") &&
			    dcap_small_int(v, &x->pcesvn))
				found++;
			if (dcap_oid_is(k, SGX_EXT_OID ".2.18") &&
			    dcap_octets(v, x->cpusvn, 16))
				found++;
		}
		sk_ASN1_TYPE_pop_free(kv, ASN1_TYPE_free);
	}
	x->have_tcb = found == 18;
	sk_ASN1_TYPE_pop_free(tcb, ASN1_TYPE_free);
}

STATIC enum core_err
dcap_pck_ext_parse(X509 *leaf, struct dcap_pck_ext *x, struct core_errbuf *eb)
{
	ASN1_OBJECT *obj = NULL;
	STACK_OF(ASN1_TYPE) *top = NULL;
	const ASN1_OCTET_STRING *data;
	const unsigned char *q;
	enum core_err err;
	int idx;

	memset(x, 0, sizeof(*x));
	obj = OBJ_txt2obj(SGX_EXT_OID, 1);
	if (obj == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "OBJ_txt2obj");
	idx = X509_get_ext_by_OBJ(leaf, obj, -1);
	if (idx < 0) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "pck extensions: SGX extension missing");
		goto out;
	}
	data = X509_EXTENSION_get_data(X509_get_ext(leaf, idx));
	q = data->data;
	top = d2i_ASN1_SEQUENCE_ANY(NULL, &q, data->length);
	if (top == NULL) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "pck extensions: SGX extension is not a SEQUENCE");
		goto out;
	}
	for (int i = 0; i < sk_ASN1_TYPE_num(top); i++) {
		STACK_OF(ASN1_TYPE) *kv = dcap_seq(sk_ASN1_TYPE_value(top, i));

		if (kv == NULL)
			continue;
		if (sk_ASN1_TYPE_num(kv) == 2) {
			const ASN1_TYPE *k = sk_ASN1_TYPE_value(kv, 0);
			const ASN1_TYPE *v = sk_ASN1_TYPE_value(kv, 1);

			if (dcap_oid_is(k, SGX_EXT_OID ".4"))
				x->have_fmspc = dcap_octets(v, x->fmspc, 6);
			else if (dcap_oid_is(k, SGX_EXT_OID ".3"))
				x->have_pceid = dcap_octets(v, x->pce_id, 2);
			else if (dcap_oid_is(k, SGX_EXT_OID ".2"))
				dcap_parse_tcb(v, x);
		}
		sk_ASN1_TYPE_pop_free(kv, ASN1_TYPE_free);
	}
	if (!x->have_fmspc || !x->have_pceid || !x->have_tcb) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "pck extensions: FMSPC, PCE-ID or TCB missing or malformed");
		goto out;
	}
	err = CORE_OK;
out:
	ERR_clear_error();
	sk_ASN1_TYPE_pop_free(top, ASN1_TYPE_free);
	ASN1_OBJECT_free(obj);
	return err;
}

/*
 * Reads the PEM chain, drops copies of the pinned root and rejects any
 * other self-signed certificate. *leaf and *rest are owned by the caller.
 */
static enum core_err
dcap_load_chain(const uint8_t *pem, size_t len, X509 *root, X509 **leaf,
    STACK_OF(X509) **rest, const char *step, struct core_errbuf *eb)
{
	BIO *bio = NULL;
	X509 *c;
	enum core_err err;
	int count = 0;

	*leaf = NULL;
	*rest = sk_X509_new_null();
	if (*rest == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "sk_X509_new_null");
	while (len > 0 && pem[len - 1] == '\0')
		len--;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "BIO_new_mem_buf");
		goto out;
	}
	while ((c = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (++count > DCAP_CHAIN_CERTS_MAX) {
			X509_free(c);
			err = core_errf(eb, CORE_ERR_INVALID,
			    "%s: more than %d certificates", step,
			    DCAP_CHAIN_CERTS_MAX);
			goto out;
		}
		/*
		 * Leaf, intermediate, then at most the root, which must be
		 * byte-identical to the pinned one (and is then dropped).
		 */
		if (count == 3) {
			bool same = X509_cmp(c, root) == 0;

			X509_free(c);
			if (!same) {
				err = core_errf(eb, CORE_ERR_AUTH,
				    "%s: embedded root is not the pinned Intel "
				    "SGX Root CA", step);
				goto out;
			}
			continue;
		}
		if (count > 3) {
			X509_free(c);
			err = core_errf(eb, CORE_ERR_INVALID,
			    "%s: more than leaf, intermediate and root", step);
			goto out;
		}
		if (*leaf == NULL)
			*leaf = c;
		else if (sk_X509_push(*rest, c) <= 0) {
			X509_free(c);
			err = core_errf(eb, CORE_ERR_NOMEM, "sk_X509_push");
			goto out;
		}
	}
	ERR_clear_error();
	/* Every PEM block must have parsed: no truncated or junk certificate. */
	{
		static const char begin[] = "-----BEGIN";
		const uint8_t *s = pem, *end = pem + len;
		int blocks = 0;

		while ((s = memmem(s, (size_t)(end - s), begin,
		    sizeof(begin) - 1)) != NULL) {
			blocks++;
			s += sizeof(begin) - 1;
		}
		if (blocks != count) {
			err = core_errf(eb, CORE_ERR_INVALID,
			    "%s: %d of %d PEM blocks are not certificates",
			    step, blocks - count, blocks);
			goto out;
		}
	}
	if (*leaf == NULL || sk_X509_num(*rest) < 1) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "%s: chain must hold a leaf and an intermediate", step);
		goto out;
	}
	err = CORE_OK;
out:
	BIO_free(bio);
	if (err != CORE_OK) {
		X509_free(*leaf);
		*leaf = NULL;
		sk_X509_pop_free(*rest, X509_free);
		*rest = NULL;
	}
	return err;
}

static bool
dcap_is_p256(X509 *c)
{
	EVP_PKEY *k = X509_get0_pubkey(c);
	char group[32];
	size_t glen = 0;

	if (k == NULL || EVP_PKEY_get_base_id(k) != EVP_PKEY_EC)
		return false;
	if (EVP_PKEY_get_utf8_string_param(k, "group", group, sizeof(group),
	    &glen) != 1)
		return false;
	return strcmp(group, "prime256v1") == 0;
}

/* ---- Claims --------------------------------------------------------- */

static bool
dcap_hex_is(const uint8_t *p, size_t n, const char *hex)
{
	char *h = core_hex_encode(p, n);
	bool eq = h != NULL && strcmp(h, hex) == 0;

	free(h);
	return eq;
}

static bool
dcap_sgx_body_claims(json_t *o, const uint8_t *b)
{
	uint64_t flags = vrf_le64(b + 48);

	return vrf_set_hex(o, "cpu_svn", b, 16) &&
	    vrf_set_int(o, "misc_select", vrf_le32(b + 16)) &&
	    vrf_set_hex(o, "isv_ext_prod_id", b + 32, 16) &&
	    vrf_set_hex(o, "attributes", b + 48, 16) &&
	    vrf_set_hex(o, "attributes_flags", b + 48, 8) &&
	    vrf_set_hex(o, "xfrm", b + 56, 8) &&
	    vrf_set_bool(o, "debug", (flags & 2) != 0) &&
	    vrf_set_bool(o, "mode64bit", (flags & 4) != 0) &&
	    vrf_set_bool(o, "provision_key", (flags & 16) != 0) &&
	    vrf_set_bool(o, "kss", (flags & 128) != 0) &&
	    vrf_set_hex(o, "mr_enclave", b + 64, 32) &&
	    vrf_set_hex(o, "mr_signer", b + 128, 32) &&
	    vrf_set_hex(o, "config_id", b + 192, 64) &&
	    vrf_set_int(o, "isv_prod_id", vrf_le16(b + 256)) &&
	    vrf_set_int(o, "isv_svn", vrf_le16(b + 258)) &&
	    vrf_set_int(o, "config_svn", vrf_le16(b + 260)) &&
	    vrf_set_hex(o, "isv_family_id", b + 304, 16) &&
	    vrf_set_hex(o, "report_data", b + 320, 64);
}

static bool
dcap_tdx_body_claims(json_t *o, const struct dcap_quote *q)
{
	const uint8_t *b = q->body;
	uint64_t a = vrf_le64(b + 0x78);
	json_t *attr = json_object();
	bool ok;

	if (attr == NULL)
		return false;
	ok = vrf_set_bool(attr, "debug", (a & 1) != 0) &&
	    vrf_set_bool(attr, "sept_ve_disable", (a & (1ULL << 28)) != 0) &&
	    vrf_set_bool(attr, "pks", (a & (1ULL << 30)) != 0) &&
	    vrf_set_bool(attr, "kl", (a & (1ULL << 31)) != 0) &&
	    vrf_set_bool(attr, "perfmon", (a & (1ULL << 63)) != 0);
	if (!ok || json_object_set_new(o, "td_attributes_decoded", attr) != 0)
		return false;
	ok = vrf_set_hex(o, "tee_tcb_svn", b, 16) &&
	    vrf_set_hex(o, "mr_seam", b + 0x10, 48) &&
	    vrf_set_hex(o, "mr_signer_seam", b + 0x40, 48) &&
	    vrf_set_hex(o, "seam_attributes", b + 0x70, 8) &&
	    vrf_set_hex(o, "td_attributes", b + 0x78, 8) &&
	    vrf_set_hex(o, "xfam", b + 0x80, 8) &&
	    vrf_set_hex(o, "mr_td", b + 0x88, 48) &&
	    vrf_set_hex(o, "mr_config_id", b + 0xB8, 48) &&
	    vrf_set_hex(o, "mr_owner", b + 0xE8, 48) &&
	    vrf_set_hex(o, "mr_owner_config", b + 0x118, 48) &&
	    vrf_set_hex(o, "rtmr0", b + 0x148, 48) &&
	    vrf_set_hex(o, "rtmr1", b + 0x178, 48) &&
	    vrf_set_hex(o, "rtmr2", b + 0x1A8, 48) &&
	    vrf_set_hex(o, "rtmr3", b + 0x1D8, 48) &&
	    vrf_set_hex(o, "report_data", b + 0x208, 64) &&
	    vrf_set_bool(o, "debug", (a & 1) != 0);
	if (ok && q->body_type == 3)
		ok = vrf_set_hex(o, "tee_tcb_svn2", b + 584, 16) &&
		    vrf_set_hex(o, "mr_servicetd", b + 600, 48);
	return ok;
}

static enum core_err
dcap_claims(enum tee_kind kind, const struct dcap_quote *q, json_t **out,
    struct core_errbuf *eb)
{
	json_t *o = json_object(), *qe = json_object();
	bool ok;

	*out = NULL;
	if (o == NULL || qe == NULL)
		goto oom;
	ok = vrf_set_str(o, "tee", tee_kind_name(kind)) &&
	    vrf_set_int(o, "quote_version", q->version) &&
	    vrf_set_int(o, "body_type", q->body_type) &&
	    vrf_set_hex(o, "qe_vendor_id", q->hdr + 0x0C, 16) &&
	    vrf_set_hex(o, "user_data", q->hdr + 0x1C, 20);
	if (ok && q->version == 3)
		ok = vrf_set_int(o, "qe_svn", vrf_le16(q->hdr + 8)) &&
		    vrf_set_int(o, "pce_svn", vrf_le16(q->hdr + 10));
	if (ok)
		ok = kind == TEE_TDX ? dcap_tdx_body_claims(o, q) :
		    dcap_sgx_body_claims(o, q->body);
	if (ok)
		ok = vrf_set_hex(qe, "mr_enclave", q->qe_report + 64, 32) &&
		    vrf_set_hex(qe, "mr_signer", q->qe_report + 128, 32) &&
		    vrf_set_int(qe, "isv_prod_id", vrf_le16(q->qe_report + 256)) &&
		    vrf_set_int(qe, "isv_svn", vrf_le16(q->qe_report + 258)) &&
		    vrf_set_hex(qe, "attributes", q->qe_report + 48, 16) &&
		    vrf_set_int(qe, "misc_select", vrf_le32(q->qe_report + 16)) &&
		    vrf_set_hex(qe, "cpu_svn", q->qe_report, 16);
	if (!ok || json_object_set_new(o, "qe", qe) != 0) {
		qe = NULL;
		goto oom;
	}
	*out = o;
	return CORE_OK;
oom:
	json_decref(qe);
	json_decref(o);
	return core_errf(eb, CORE_ERR_NOMEM, "claims");
}

enum core_err
vrf_dcap_parse(enum tee_kind kind, const uint8_t *p, size_t n,
    json_t **claims, struct core_errbuf *eb)
{
	struct dcap_quote q;
	enum core_err err;

	*claims = NULL;
	err = dcap_parse(kind, p, n, &q, eb);
	if (err != CORE_OK)
		return err;
	return dcap_claims(kind, &q, claims, eb);
}

/* ---- Collateral ----------------------------------------------------- */

/* Skips one JSON value starting at s[i] (already validated by jansson). */
static size_t
dcap_json_skip(const char *s, size_t n, size_t i)
{
	int depth = 0;
	bool in_str = false;

	for (; i < n; i++) {
		char ch = s[i];

		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"') {
				in_str = false;
				if (depth == 0)
					return i + 1;
			}
			continue;
		}
		if (ch == '"')
			in_str = true;
		else if (ch == '{' || ch == '[')
			depth++;
		else if (ch == '}' || ch == ']') {
			if (depth == 0)
				return i;
			if (--depth == 0)
				return i + 1;
		} else if (ch == ',' && depth == 0)
			return i;
	}
	return n;
}

/*
 * Finds the exact bytes of top-level member `key` (an object) in the
 * received document: the signature covers them, never a re-serialization.
 */
STATIC bool
dcap_json_member_span(const char *s, size_t n, const char *key,
    size_t *start, size_t *len)
{
	size_t i = 0, klen = strlen(key);

	while (i < n && s[i] != '{')
		i++;
	i++;
	while (i < n) {
		size_t ks, ke, vs;

		while (i < n && s[i] != '"' && s[i] != '}')
			i++;
		if (i >= n || s[i] == '}')
			return false;
		ks = i + 1;
		ke = dcap_json_skip(s, n, i) - 1; /* closing quote */
		i = ke + 1;
		while (i < n && s[i] != ':')
			i++;
		i++;
		while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
		    s[i] == '\r'))
			i++;
		vs = i;
		i = dcap_json_skip(s, n, i);
		if (ke - ks == klen && memcmp(s + ks, key, klen) == 0 &&
		    vs < n && s[vs] == '{') {
			*start = vs;
			*len = i - vs;
			return true;
		}
		while (i < n && s[i] != ',' && s[i] != '}')
			i++;
		if (i < n && s[i] == ',')
			i++;
	}
	return false;
}

/* Reads the first existing file of `names` in dir; *data NULL if none. */
static enum core_err
dcap_read_first(const char *dir, const char *const *names, uint8_t **data,
    size_t *len, const char **found, struct core_errbuf *eb)
{
	*data = NULL;
	*len = 0;
	*found = NULL;
	for (; *names != NULL; names++) {
		char *path = core_path_join(dir, *names);
		enum core_err err;

		if (path == NULL)
			return core_errf(eb, CORE_ERR_NOMEM, "path");
		if (!core_fs_exists(path)) {
			free(path);
			continue;
		}
		err = core_fs_read(path, DCAP_COLLATERAL_MAX, data, len, eb);
		free(path);
		if (err != CORE_OK) {
			core_errbuf_prefix(eb, "collateral %s", *names);
			return err;
		}
		*found = *names;
		return CORE_OK;
	}
	return CORE_OK;
}

static X509_CRL *
dcap_crl_parse(const uint8_t *p, size_t n)
{
	const unsigned char *q = p;
	X509_CRL *crl;

	if (n >= 10 && memcmp(p, "-----BEGIN", 10) == 0) {
		BIO *bio = BIO_new_mem_buf(p, (int)n);

		crl = bio ? PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
	} else {
		crl = d2i_X509_CRL(NULL, &q, (long)n);
	}
	ERR_clear_error();
	return crl;
}

static enum core_err
dcap_time_window(const json_t *obj, int64_t t, const char *what,
    struct core_errbuf *eb)
{
	const char *issue = NULL, *next = NULL;
	int64_t issue_ns, next_ns;
	enum core_err err;

	if ((err = core_json_get_str(obj, "issueDate", true, &issue, eb)) ||
	    (err = core_json_get_str(obj, "nextUpdate", true, &next, eb)) ||
	    (err = core_rfc3339_parse(issue, &issue_ns, eb)) ||
	    (err = core_rfc3339_parse(next, &next_ns, eb))) {
		core_errbuf_prefix(eb, "%s", what);
		return CORE_ERR_INVALID;
	}
	if (t < issue_ns / 1000000000 || t >= next_ns / 1000000000)
		return core_errf(eb, CORE_ERR_AUTH,
		    "%s: not valid at the check time (issued %s, next update "
		    "%s)", what, issue, next);
	return CORE_OK;
}

/*
 * Verifies {"<key>":{...},"signature":"<hex r||s>"} with the TCB signing
 * key over the exact received bytes and returns the inner object (borrowed
 * from *doc, which the caller frees).
 */
static enum core_err
dcap_signed_json(const uint8_t *raw, size_t n, const char *key,
    EVP_PKEY *signer, int64_t t, json_t **doc, const json_t **inner,
    struct core_errbuf *eb)
{
	const char *sig_hex = NULL;
	uint8_t sig[64];
	size_t start, len;
	enum core_err err;

	*doc = NULL;
	err = core_json_parse_object(raw, n, DCAP_COLLATERAL_MAX, doc, eb);
	if (err != CORE_OK)
		goto fail;
	*inner = json_object_get(*doc, key);
	if (!json_is_object(*inner)) {
		err = core_errf(eb, CORE_ERR_INVALID, "member %s missing", key);
		goto fail;
	}
	if ((err = core_json_get_str(*doc, "signature", true, &sig_hex, eb)) ||
	    (err = core_hex_decode_fixed(sig_hex, sig, sizeof(sig), eb)))
		goto fail;
	if (!dcap_json_member_span((const char *)raw, n, key, &start, &len)) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "cannot locate the signed bytes of %s", key);
		goto fail;
	}
	err = vrf_ecdsa_verify(signer, EVP_sha256(), raw + start, len, sig,
	    sig + 32, 32, "signature", eb);
	if (err != CORE_OK)
		goto fail;
	err = dcap_time_window(*inner, t, "validity", eb);
	if (err != CORE_OK)
		goto fail;
	return CORE_OK;
fail:
	core_errbuf_prefix(eb, "%s", key);
	json_decref(*doc);
	*doc = NULL;
	return err;
}

static bool
dcap_hex_eq(const char *hex, const uint8_t *p, size_t n)
{
	char *h = core_hex_encode(p, n);
	bool eq = h != NULL && strlen(hex) == strlen(h) &&
	    strcasecmp(hex, h) == 0;

	free(h);
	return eq;
}

static int
dcap_svn_at(const json_t *arr, size_t i)
{
	json_t *e = json_array_get(arr, i);
	json_t *s = json_object_get(e, "svn");

	return json_is_integer(s) ? (int)json_integer_value(s) : -1;
}

/*
 * TDX module identity for modules with a major version (tee_tcb_svn[1] >
 * 0): the entry "TDX_<version>" of tdxModuleIdentities gives the expected
 * mrsigner and attributes, and its first level with isvsvn <= the module's
 * SVN (tee_tcb_svn[0]) the module's status.
 */
static enum core_err
dcap_tdx_module_identity(const struct dcap_quote *q, const json_t *ids,
    json_t *tcb, struct core_errbuf *eb)
{
	char want[16];
	size_t i, j;
	const json_t *id, *lv;
	enum core_err err;

	snprintf(want, sizeof(want), "TDX_%02X", q->body[1]);
	json_array_foreach(ids, i, id) {
		const char *name = json_string_value(json_object_get(id, "id"));
		const char *mrs = NULL, *attr = NULL, *mask = NULL;
		uint8_t a[8], m[8];

		if (name == NULL || strcasecmp(name, want) != 0)
			continue;
		if ((err = core_json_get_str(id, "mrsigner", true, &mrs, eb)) ||
		    (err = core_json_get_str(id, "attributes", true, &attr,
		    eb)) ||
		    (err = core_json_get_str(id, "attributesMask", true, &mask,
		    eb)) ||
		    (err = core_hex_decode_fixed(attr, a, 8, eb)) ||
		    (err = core_hex_decode_fixed(mask, m, 8, eb)))
			return err;
		if (!dcap_hex_eq(mrs, q->body + 0x40, 48))
			return core_errf(eb, CORE_ERR_AUTH,
			    "tcbInfo: %s mrsigner does not match mr_signer_seam",
			    want);
		for (j = 0; j < 8; j++)
			if ((q->body[0x70 + j] & m[j]) != a[j])
				return core_errf(eb, CORE_ERR_AUTH,
				    "tcbInfo: seam_attributes do not match %s",
				    want);
		json_array_foreach(json_object_get(id, "tcbLevels"), j, lv) {
			json_t *svn = json_object_get(json_object_get(lv,
			    "tcb"), "isvsvn");
			const char *st = NULL;

			if (!json_is_integer(svn) ||
			    json_integer_value(svn) > q->body[0])
				continue;
			if ((err = core_json_get_str(lv, "tcbStatus", true, &st,
			    eb)))
				return err;
			vrf_set_str(tcb, "tdx_module_status", st);
			if (strcmp(st, "Revoked") == 0)
				return core_errf(eb, CORE_ERR_PERM,
				    "tcb: TDX module %s status Revoked", want);
			return CORE_OK;
		}
		break;
	}
	vrf_set_str(tcb, "tdx_module_status", "unsupported");
	return core_errf(eb, CORE_ERR_PERM,
	    "tcb: TDX module %s SVN %u matches no module identity level",
	    want, q->body[0]);
}

/* TCB level matching (spec 3.6 steps 4-6). */
STATIC enum core_err
dcap_tcb_info(enum tee_kind kind, const struct dcap_quote *q,
    const struct dcap_pck_ext *x, const json_t *info, json_t *tcb,
    struct core_errbuf *eb)
{
	const char *fmspc = NULL, *pceid = NULL, *id = NULL;
	const json_t *levels, *lv;
	enum core_err err;
	size_t i;

	if ((err = core_json_get_str(info, "fmspc", true, &fmspc, eb)) ||
	    (err = core_json_get_str(info, "pceId", true, &pceid, eb)) ||
	    (err = core_json_get_str(info, "id", false, &id, eb)))
		return err;
	if (kind == TEE_TDX && (id == NULL || strcmp(id, "TDX") != 0))
		return core_errf(eb, CORE_ERR_INVALID,
		    "tcbInfo: id is not TDX");
	if (kind == TEE_SGX && id != NULL && strcmp(id, "SGX") != 0)
		return core_errf(eb, CORE_ERR_INVALID,
		    "tcbInfo: id is not SGX");
	if (!dcap_hex_eq(fmspc, x->fmspc, 6))
		return core_errf(eb, CORE_ERR_AUTH,
		    "tcbInfo: fmspc %s does not match the PCK certificate",
		    fmspc);
	if (!dcap_hex_eq(pceid, x->pce_id, 2))
		return core_errf(eb, CORE_ERR_AUTH,
		    "tcbInfo: pceId %s does not match the PCK certificate",
		    pceid);
	if (kind == TEE_TDX && q->body[1] > 0 &&
	    json_is_array(json_object_get(info, "tdxModuleIdentities"))) {
		err = dcap_tdx_module_identity(q, json_object_get(info,
		    "tdxModuleIdentities"), tcb, eb);
		if (err != CORE_OK)
			return err;
	} else if (kind == TEE_TDX) {
		const json_t *mod = json_object_get(info, "tdxModule");
		const char *mrs = NULL, *attr = NULL, *mask = NULL;
		uint8_t a[8], m[8], s[8];

		if (!json_is_object(mod))
			return core_errf(eb, CORE_ERR_INVALID,
			    "tcbInfo: tdxModule missing");
		if ((err = core_json_get_str(mod, "mrsigner", true, &mrs, eb)) ||
		    (err = core_json_get_str(mod, "attributes", true, &attr,
		    eb)) ||
		    (err = core_json_get_str(mod, "attributesMask", true, &mask,
		    eb)) ||
		    (err = core_hex_decode_fixed(attr, a, 8, eb)) ||
		    (err = core_hex_decode_fixed(mask, m, 8, eb)))
			return err;
		if (!dcap_hex_eq(mrs, q->body + 0x40, 48))
			return core_errf(eb, CORE_ERR_AUTH,
			    "tcbInfo: tdxModule mrsigner does not match "
			    "mr_signer_seam");
		memcpy(s, q->body + 0x70, 8);
		for (i = 0; i < 8; i++)
			if ((s[i] & m[i]) != a[i])
				return core_errf(eb, CORE_ERR_AUTH,
				    "tcbInfo: seam_attributes do not match "
				    "tdxModule attributes");
	}
	levels = json_object_get(info, "tcbLevels");
	if (!json_is_array(levels))
		return core_errf(eb, CORE_ERR_INVALID,
		    "tcbInfo: tcbLevels missing");
	json_array_foreach(levels, i, lv) {
		const json_t *t = json_object_get(lv, "tcb");
		const json_t *sgx = json_object_get(t, "sgxtcbcomponents");
		const json_t *tdx = json_object_get(t, "tdxtcbcomponents");
		json_t *pce = json_object_get(t, "pcesvn");
		bool match = json_is_array(sgx) && json_is_integer(pce);
		const char *status = NULL;

		for (size_t k = 0; match && k < 16; k++) {
			int want = dcap_svn_at(sgx, k);

			match = want >= 0 && x->comp_svn[k] >= want;
		}
		if (match)
			match = x->pcesvn >= json_integer_value(pce);
		if (match && kind == TEE_TDX) {
			match = json_is_array(tdx);
			for (size_t k = 0; match && k < 16; k++) {
				int want = dcap_svn_at(tdx, k);

				match = want >= 0 && q->body[k] >= want;
			}
			if (match && q->body[1] != dcap_svn_at(tdx, 1))
				match = false;
		}
		if (!match)
			continue;
		if ((err = core_json_get_str(lv, "tcbStatus", true, &status,
		    eb)))
			return err;
		if (!vrf_set_str(tcb, "status", status))
			return core_errf(eb, CORE_ERR_NOMEM, "claims");
		if (json_object_get(lv, "advisoryIDs") != NULL)
			json_object_set(tcb, "advisory_ids",
			    json_object_get(lv, "advisoryIDs"));
		if (json_object_get(lv, "tcbDate") != NULL)
			json_object_set(tcb, "tcb_date",
			    json_object_get(lv, "tcbDate"));
		if (strcmp(status, "Revoked") == 0)
			return core_errf(eb, CORE_ERR_PERM,
			    "tcb: status Revoked");
		return CORE_OK;
	}
	vrf_set_str(tcb, "status", "unsupported");
	return core_errf(eb, CORE_ERR_PERM,
	    "tcb: no TCB level of tcbInfo matches the platform (unsupported)");
}

STATIC enum core_err
dcap_qe_identity(enum tee_kind kind, const struct dcap_quote *q,
    const json_t *idn, json_t *tcb, struct core_errbuf *eb)
{
	const char *id = NULL, *mrs = NULL, *misc = NULL, *miscm = NULL,
	    *attr = NULL, *attrm = NULL, *status = NULL;
	int64_t prodid = -1;
	uint8_t a[16], am[16], ms[4], mm[4];
	const uint8_t *r = q->qe_report;
	const json_t *levels, *lv;
	enum core_err err;
	size_t i;

	if ((err = core_json_get_str(idn, "id", true, &id, eb)) ||
	    (err = core_json_get_str(idn, "mrsigner", true, &mrs, eb)) ||
	    (err = core_json_get_int(idn, "isvprodid", true, &prodid, eb)) ||
	    (err = core_json_get_str(idn, "miscselect", true, &misc, eb)) ||
	    (err = core_json_get_str(idn, "miscselectMask", true, &miscm,
	    eb)) ||
	    (err = core_json_get_str(idn, "attributes", true, &attr, eb)) ||
	    (err = core_json_get_str(idn, "attributesMask", true, &attrm, eb)) ||
	    (err = core_hex_decode_fixed(attr, a, 16, eb)) ||
	    (err = core_hex_decode_fixed(attrm, am, 16, eb)) ||
	    (err = core_hex_decode_fixed(misc, ms, 4, eb)) ||
	    (err = core_hex_decode_fixed(miscm, mm, 4, eb)))
		return err;
	if (strcmp(id, kind == TEE_TDX ? "TD_QE" : "QE") != 0)
		return core_errf(eb, CORE_ERR_INVALID,
		    "qeIdentity: id %s does not fit a %s quote", id,
		    tee_kind_name(kind));
	if (!dcap_hex_eq(mrs, r + 128, 32) || prodid != vrf_le16(r + 256))
		return core_errf(eb, CORE_ERR_AUTH,
		    "qeIdentity: mrsigner or isvprodid differ from the QE "
		    "report");
	{
		/* miscselect is a big-endian hex of the little-endian u32. */
		uint32_t want = ((uint32_t)ms[0] << 24) | ((uint32_t)ms[1] << 16) |
		    ((uint32_t)ms[2] << 8) | ms[3];
		uint32_t mask = ((uint32_t)mm[0] << 24) | ((uint32_t)mm[1] << 16) |
		    ((uint32_t)mm[2] << 8) | mm[3];

		if ((vrf_le32(r + 16) & mask) != want)
			return core_errf(eb, CORE_ERR_AUTH,
			    "qeIdentity: miscselect does not match");
	}
	for (i = 0; i < 16; i++)
		if ((r[48 + i] & am[i]) != a[i])
			return core_errf(eb, CORE_ERR_AUTH,
			    "qeIdentity: attributes do not match");
	levels = json_object_get(idn, "tcbLevels");
	json_array_foreach(levels, i, lv) {
		json_t *svn = json_object_get(json_object_get(lv, "tcb"),
		    "isvsvn");

		if (!json_is_integer(svn) ||
		    json_integer_value(svn) > vrf_le16(r + 258))
			continue;
		if ((err = core_json_get_str(lv, "tcbStatus", true, &status,
		    eb)))
			return err;
		vrf_set_str(tcb, "qe_status", status);
		if (strcmp(status, "Revoked") == 0)
			return core_errf(eb, CORE_ERR_PERM,
			    "qeIdentity: QE status Revoked");
		return CORE_OK;
	}
	vrf_set_str(tcb, "qe_status", "unsupported");
	return core_errf(eb, CORE_ERR_PERM,
	    "qeIdentity: QE isvsvn %u matches no TCB level", vrf_le16(r + 258));
}

/*
 * Checks the collateral in opts->collateral_dir. Returns CORE_ERR_AUTH for
 * bad signatures/times, CORE_ERR_PERM for TCB results to reject.
 */
static enum core_err
dcap_collateral(enum tee_kind kind, const struct dcap_quote *q,
    X509 *root, X509 *leaf, STACK_OF(X509) *inter,
    const struct dcap_pck_ext *x, const char *dir, int64_t t,
    json_t *verification, json_t *tcb, struct core_errbuf *eb)
{
	static const char *const n_tcb[] = { "tcbInfo.json",
		"tcbInfo_response.json", "tcb_info.json", NULL };
	static const char *const n_qe[] = { "qeIdentity.json",
		"qeIdentity_response.json", "qe_identity.json", NULL };
	static const char *const n_pck[] = { "pckcrl", "pckcrl.der",
		"pckcrl.pem", NULL };
	static const char *const n_root[] = { "rootcrl.der", "rootcrl",
		"rootcrl.pem", NULL };
	static const char *const n_chain[] = { "tcb_signing_chain.pem",
		NULL };
	uint8_t *d_tcb = NULL, *d_qe = NULL, *d_pck = NULL, *d_root = NULL,
	    *d_chain = NULL;
	size_t l_tcb, l_qe, l_pck, l_root, l_chain;
	const char *f;
	STACK_OF(X509_CRL) *crls = NULL;
	X509 *signer = NULL;
	STACK_OF(X509) *signer_rest = NULL;
	json_t *doc = NULL;
	const json_t *inner;
	enum core_err err;

	if ((err = dcap_read_first(dir, n_tcb, &d_tcb, &l_tcb, &f, eb)) ||
	    (err = dcap_read_first(dir, n_qe, &d_qe, &l_qe, &f, eb)) ||
	    (err = dcap_read_first(dir, n_pck, &d_pck, &l_pck, &f, eb)) ||
	    (err = dcap_read_first(dir, n_root, &d_root, &l_root, &f, eb)) ||
	    (err = dcap_read_first(dir, n_chain, &d_chain, &l_chain, &f, eb)))
		goto out;
	if (d_tcb == NULL && d_qe == NULL && d_pck == NULL && d_root == NULL) {
		err = core_errf(eb, CORE_ERR_NOT_FOUND,
		    "collateral: no collateral files in %s", dir);
		goto out;
	}
	/* CRLs: both or neither, checked over the whole PCK chain. */
	if ((d_pck == NULL) != (d_root == NULL)) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "collateral: pckcrl and rootcrl must be supplied together");
		goto out;
	}
	if (d_pck != NULL) {
		X509_CRL *c1 = dcap_crl_parse(d_pck, l_pck);
		X509_CRL *c2 = dcap_crl_parse(d_root, l_root);

		crls = sk_X509_CRL_new_null();
		if (c1 == NULL || c2 == NULL || crls == NULL ||
		    sk_X509_CRL_push(crls, c1) <= 0) {
			X509_CRL_free(c1);
			X509_CRL_free(c2);
			err = core_errf(eb, CORE_ERR_INVALID,
			    "collateral: pckcrl or rootcrl is not a CRL");
			goto out;
		}
		if (sk_X509_CRL_push(crls, c2) <= 0) {
			X509_CRL_free(c2);
			err = core_errf(eb, CORE_ERR_NOMEM, "CRL stack");
			goto out;
		}
		err = vrf_chain_verify(root, leaf, inter, crls, t,
		    "collateral: pck revocation", eb);
		if (err != CORE_OK)
			goto out;
		vrf_set_str(verification, "pck_revocation", "ok");
	}
	if (d_tcb == NULL && d_qe == NULL)
		goto done;
	if (d_chain == NULL) {
		err = core_errf(eb, CORE_ERR_NOT_FOUND,
		    "collateral: tcb_signing_chain.pem is needed to check "
		    "tcbInfo/qeIdentity");
		goto out;
	}
	/* The signing chain is leaf + root: load without requiring an intermediate. */
	{
		BIO *bio = BIO_new_mem_buf(d_chain, (int)l_chain);

		signer = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
		ERR_clear_error();
		if (signer == NULL) {
			err = core_errf(eb, CORE_ERR_INVALID,
			    "collateral: tcb_signing_chain.pem holds no "
			    "certificate");
			goto out;
		}
		signer_rest = sk_X509_new_null();
		if (signer_rest == NULL) {
			err = core_errf(eb, CORE_ERR_NOMEM, "stack");
			goto out;
		}
		err = vrf_chain_verify(root, signer, signer_rest, NULL, t,
		    "collateral: tcb signing certificate", eb);
		if (err != CORE_OK)
			goto out;
	}
	if (d_qe != NULL) {
		err = dcap_signed_json(d_qe, l_qe, "enclaveIdentity",
		    X509_get0_pubkey(signer), t, &doc, &inner, eb);
		if (err == CORE_OK)
			err = dcap_qe_identity(kind, q, inner, tcb, eb);
		json_decref(doc);
		doc = NULL;
		if (err != CORE_OK)
			goto out;
		vrf_set_str(verification, "qe_identity_collateral", "ok");
	}
	if (d_tcb != NULL) {
		err = dcap_signed_json(d_tcb, l_tcb, "tcbInfo",
		    X509_get0_pubkey(signer), t, &doc, &inner, eb);
		if (err == CORE_OK) {
			json_t *n = json_object_get(inner,
			    "tcbEvaluationDataNumber");

			if (json_is_integer(n))
				json_object_set(tcb, "evaluation_data_number", n);
			err = dcap_tcb_info(kind, q, x, inner, tcb, eb);
		}
		json_decref(doc);
		doc = NULL;
		if (err != CORE_OK)
			goto out;
	}
done:
	err = CORE_OK;
out:
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	X509_free(signer);
	sk_X509_pop_free(signer_rest, X509_free);
	free(d_tcb);
	free(d_qe);
	free(d_pck);
	free(d_root);
	free(d_chain);
	return err;
}

/* ---- Verification --------------------------------------------------- */

static bool
dcap_pck_claims(json_t *o, const struct dcap_pck_ext *x)
{
	json_t *pck = json_object(), *comps = json_array();
	bool ok = pck != NULL && comps != NULL;

	for (int i = 0; ok && i < 16; i++)
		ok = json_array_append_new(comps,
		    json_integer(x->comp_svn[i])) == 0;
	ok = ok && vrf_set_hex(pck, "fmspc", x->fmspc, 6) &&
	    vrf_set_hex(pck, "pce_id", x->pce_id, 2) &&
	    vrf_set_int(pck, "pcesvn", x->pcesvn) &&
	    vrf_set_hex(pck, "cpusvn", x->cpusvn, 16) &&
	    json_object_set_new(pck, "sgx_tcb_components", comps) == 0;
	if (!ok) {
		if (json_object_get(pck, "sgx_tcb_components") == NULL)
			json_decref(comps);
		json_decref(pck);
		return false;
	}
	return json_object_set_new(o, "pck", pck) == 0;
}

enum core_err
vrf_dcap_verify(enum tee_kind kind, const uint8_t *p, size_t n,
    const uint8_t *ccel, size_t ccel_len,
    const uint8_t *expected_rd, size_t expected_len,
    const struct verifier_opts *opts, json_t **claims,
    struct core_errbuf *eb)
{
	struct dcap_quote q;
	struct dcap_pck_ext x;
	EVP_PKEY *att = NULL;
	X509 *root = NULL, *leaf = NULL;
	STACK_OF(X509) *inter = NULL;
	json_t *c = NULL, *ver = NULL, *tcb = NULL;
	uint8_t md[SHA256_DIGEST_LENGTH];
	const uint8_t *rd;
	char cn[128];
	int64_t t = vrf_check_time(opts);
	enum core_err err;

	*claims = NULL;
	err = dcap_parse(kind, p, n, &q, eb);
	if (err != CORE_OK)
		goto out;
	err = dcap_claims(kind, &q, &c, eb);
	if (err != CORE_OK)
		goto out;
	ver = json_object();
	tcb = json_object();
	if (ver == NULL || tcb == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "claims");
		goto out;
	}

	/* 2. Quote signature by the attestation key. */
	err = vrf_p256_key(q.att_key, &att, eb);
	if (err == CORE_OK)
		err = vrf_ecdsa_verify(att, EVP_sha256(), p, q.signed_len,
		    q.sig, q.sig + 32, 32, "quote signature", eb);
	if (err != CORE_OK)
		goto out;
	vrf_set_str(ver, "quote_signature", "ok");

	/* 3. QE report binds the attestation key and auth data. */
	{
		EVP_MD_CTX *h = EVP_MD_CTX_new();
		bool ok = h != NULL &&
		    EVP_DigestInit_ex(h, EVP_sha256(), NULL) == 1 &&
		    EVP_DigestUpdate(h, q.att_key, 64) == 1 &&
		    EVP_DigestUpdate(h, q.qe_auth, q.qe_auth_len) == 1 &&
		    EVP_DigestFinal_ex(h, md, NULL) == 1;

		EVP_MD_CTX_free(h);
		if (!ok) {
			err = core_errf(eb, CORE_ERR_CRYPTO, "sha256");
			goto out;
		}
	}
	if (CRYPTO_memcmp(md, q.qe_report + 320, 32) != 0 ||
	    !vrf_all_zero(q.qe_report + 352, 32)) {
		err = core_errf(eb, CORE_ERR_AUTH,
		    "qe report binding: QE report_data is not SHA-256(key || "
		    "auth data)");
		goto out;
	}
	vrf_set_str(ver, "qe_report_binding", "ok");

	/* 4. PCK chain to the pinned root. */
	err = vrf_anchor_load("intel-sgx-root", &root, eb);
	if (err != CORE_OK)
		goto out;
	err = dcap_load_chain(q.chain, q.chain_len, root, &leaf, &inter,
	    "pck chain", eb);
	if (err != CORE_OK)
		goto out;
	vrf_cert_cn(leaf, cn, sizeof(cn));
	if (strcmp(cn, "Intel SGX PCK Certificate") != 0 ||
	    !dcap_is_p256(leaf)) {
		err = core_errf(eb, CORE_ERR_AUTH,
		    "pck chain: leaf \"%s\" is not a P-256 Intel SGX PCK "
		    "Certificate", cn);
		goto out;
	}
	vrf_cert_cn(sk_X509_value(inter, 0), cn, sizeof(cn));
	if (strcmp(cn, "Intel SGX PCK Platform CA") != 0 &&
	    strcmp(cn, "Intel SGX PCK Processor CA") != 0) {
		err = core_errf(eb, CORE_ERR_AUTH,
		    "pck chain: unexpected intermediate \"%s\"", cn);
		goto out;
	}
	err = vrf_chain_verify(root, leaf, inter, NULL, t, "pck chain", eb);
	if (err != CORE_OK)
		goto out;
	vrf_set_str(ver, "pck_chain", "ok");
	vrf_set_str(c, "pck_issuer", cn);

	/* 5. QE report signed by the PCK key. */
	err = vrf_ecdsa_verify(X509_get0_pubkey(leaf), EVP_sha256(),
	    q.qe_report, DCAP_QE_REPORT_LEN, q.qe_sig, q.qe_sig + 32, 32,
	    "qe report signature", eb);
	if (err != CORE_OK)
		goto out;
	vrf_set_str(ver, "qe_report_signature", "ok");

	/* 6. The QE is Intel's. */
	if (kind == TEE_TDX ?
	    !(dcap_hex_is(q.qe_report + 128, 32, dcap_td_qe_mrsigner) &&
	    vrf_le16(q.qe_report + 256) == 2) :
	    !(dcap_hex_is(q.qe_report + 128, 32, dcap_qe3_mrsigner) &&
	    vrf_le16(q.qe_report + 256) == 1)) {
		err = core_errf(eb, CORE_ERR_AUTH,
		    "qe identity: QE mrsigner/isvprodid is not Intel's %s",
		    kind == TEE_TDX ? "TD QE" : "QE3");
		goto out;
	}
	vrf_set_str(ver, "qe_identity", "ok");

	err = dcap_pck_ext_parse(leaf, &x, eb);
	if (err != CORE_OK)
		goto out;
	if (!dcap_pck_claims(c, &x)) {
		err = core_errf(eb, CORE_ERR_NOMEM, "claims");
		goto out;
	}

	/* The CC event log, when the evidence carries one. */
	if (kind == TEE_TDX && ccel != NULL && ccel_len > 0) {
		uint8_t rt[4][48];
		size_t nev = 0;
		json_t *ev;

		err = vrf_ccel_replay(ccel, ccel_len, rt, &nev, eb);
		if (err != CORE_OK)
			goto out;
		for (int i = 0; i < 3; i++) {
			if (CRYPTO_memcmp(rt[i], q.body + 0x148 + 48 * i,
			    48) != 0) {
				err = core_errf(eb, CORE_ERR_AUTH,
				    "cc_eventlog: replaying the log does not "
				    "reproduce RTMR%d", i);
				goto out;
			}
		}
		ev = json_pack("{s:I,s:b}", "events", (json_int_t)nev,
		    "rtmr3_matches",
		    CRYPTO_memcmp(rt[3], q.body + 0x1D8, 48) == 0);
		if (ev == NULL || json_object_set_new(c, "cc_eventlog", ev)) {
			err = core_errf(eb, CORE_ERR_NOMEM, "claims");
			goto out;
		}
		vrf_set_str(ver, "cc_eventlog", "ok");
	} else if (kind == TEE_TDX) {
		vrf_set_str(ver, "cc_eventlog", "not provided");
	}

	/* Collateral (optional). */
	if (opts != NULL && opts->collateral_dir != NULL) {
		err = dcap_collateral(kind, &q, root, leaf, inter, &x,
		    opts->collateral_dir, t, ver, tcb, eb);
		if (err != CORE_OK)
			goto out;
		if (json_object_get(tcb, "status") == NULL)
			vrf_set_str(tcb, "status", "not evaluated");
	} else {
		vrf_set_str(tcb, "status", "not evaluated");
	}

	/* 7. Policy: report_data, debug, init data. */
	rd = kind == TEE_TDX ? q.body + 0x208 : q.body + 320;
	if (expected_rd != NULL) {
		err = vrf_compare_padded(rd, 64, expected_rd, expected_len,
		    "report_data", eb);
		if (err != CORE_OK)
			goto out;
		vrf_set_str(ver, "report_data", "ok");
	} else {
		vrf_set_str(ver, "report_data", "not checked");
	}
	if (opts != NULL && opts->init_data_digest != NULL) {
		if (kind != TEE_TDX) {
			err = core_errf(eb, CORE_ERR_UNSUPPORTED,
			    "init data: SGX has no init-data field");
			goto out;
		}
		err = vrf_compare_padded(q.body + 0xB8, 48,
		    opts->init_data_digest, opts->init_data_digest_len,
		    "init data (mr_config_id)", eb);
		if (err != CORE_OK)
			goto out;
		vrf_set_str(ver, "init_data", "ok");
	}
	if (json_is_true(json_object_get(c, "debug")) &&
	    (opts == NULL || !opts->allow_debug)) {
		err = core_errf(eb, CORE_ERR_PERM,
		    "policy: debug attribute is set");
		goto out;
	}
	err = CORE_OK;
out:
	if (c != NULL && ver != NULL) {
		json_object_set_new(c, "tcb", tcb);
		json_object_set_new(c, "verification", ver);
		tcb = ver = NULL;
	}
	json_decref(tcb);
	json_decref(ver);
	if (err == CORE_OK || err == CORE_ERR_PERM) {
		*claims = c;
	} else {
		json_decref(c);
	}
	if (err != CORE_OK)
		core_errbuf_prefix(eb, "%s", tee_kind_name(kind));
	EVP_PKEY_free(att);
	X509_free(root);
	X509_free(leaf);
	sk_X509_pop_free(inter, X509_free);
	return err;
}
