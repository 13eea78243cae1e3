/*
 * verifier.c -- the public entry points: unwraps Trustee evidence JSON (or
 * takes raw binary), dispatches per TEE, and verifies sample evidence.
 */
#include "verifier/verifier.h"
#include "verifier/verifier_int.h"

#include <string.h>

#include <openssl/crypto.h>

/* Largest decoded quote (TDX quotes fit in the kernel's 8 KiB buffer). */
#define VRF_QUOTE_MAX (64 * 1024)

static bool
vrf_is_json(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r')
			continue;
		return p[i] == '{';
	}
	return false;
}

/* Decoded evidence: the binary to verify plus SNP certificates. */
struct vrf_input {
	json_t *doc;          /* owned; NULL for raw input */
	uint8_t *bin;         /* owned copy when decoded from JSON */
	const uint8_t *p;     /* borrowed: bin or the caller's bytes */
	size_t n;
	uint8_t snp[VRF_SNP_REPORT_LEN];
	struct vrf_snp_certs certs;
	uint8_t *ccel;        /* owned: decoded TDX cc_eventlog, or NULL */
	size_t ccel_len;
	uint8_t *cert_bufs[8]; /* owned DER buffers from cert_chain */
	size_t ncert_bufs;
};

static void
vrf_input_cleanup(struct vrf_input *in)
{
	json_decref(in->doc);
	free(in->bin);
	free(in->ccel);
	for (size_t i = 0; i < in->ncert_bufs; i++)
		free(in->cert_bufs[i]);
}

/* Reads a cert_chain entry's "data" (array of byte ints) into a buffer. */
static enum core_err
vrf_cert_data(const json_t *e, uint8_t **out, size_t *len,
    struct core_errbuf *eb)
{
	const json_t *d = json_object_get(e, "data");
	size_t i, n;
	const json_t *v;

	if (!json_is_array(d))
		return core_errf(eb, CORE_ERR_INVALID,
		    "cert_chain entry data must be an array of bytes");
	n = json_array_size(d);
	if (n == 0 || n > 16 * 1024)
		return core_errf(eb, CORE_ERR_INVALID,
		    "cert_chain entry of %zu bytes out of range", n);
	*out = malloc(n);
	if (*out == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "cert");
	json_array_foreach(d, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 255) {
			free(*out);
			*out = NULL;
			return core_errf(eb, CORE_ERR_INVALID,
			    "cert_chain data[%zu] is not a byte", i);
		}
		(*out)[i] = (uint8_t)json_integer_value(v);
	}
	*len = n;
	return CORE_OK;
}

static enum core_err
vrf_snp_cert_chain(const json_t *chain, struct vrf_input *in,
    struct core_errbuf *eb)
{
	size_t i;
	const json_t *e;

	if (chain == NULL || json_is_null(chain))
		return CORE_OK;
	if (!json_is_array(chain))
		return core_errf(eb, CORE_ERR_INVALID,
		    "cert_chain must be an array or null");
	json_array_foreach(chain, i, e) {
		const json_t *ty = json_object_get(e, "cert_type");
		const char *t = json_string_value(ty);
		uint8_t *buf = NULL;
		size_t len = 0;
		enum core_err err;

		if (!json_is_object(e))
			return core_errf(eb, CORE_ERR_INVALID,
			    "cert_chain[%zu] must be an object", i);
		if (t == NULL || strcmp(t, "CRL") == 0 ||
		    strcmp(t, "Empty") == 0)
			continue; /* {"OTHER": uuid}, CRLs: ignored */
		if (strcmp(t, "VCEK") != 0 && strcmp(t, "VLEK") != 0 &&
		    strcmp(t, "ASK") != 0 && strcmp(t, "ARK") != 0)
			continue;
		if (in->ncert_bufs >= CORE_ARRAY_LEN(in->cert_bufs))
			return core_errf(eb, CORE_ERR_INVALID,
			    "cert_chain has too many certificates");
		err = vrf_cert_data(e, &buf, &len, eb);
		if (err != CORE_OK)
			return err;
		in->cert_bufs[in->ncert_bufs++] = buf;
		if (strcmp(t, "VCEK") == 0 || strcmp(t, "VLEK") == 0) {
			in->certs.vcek = buf;
			in->certs.vcek_len = len;
			in->certs.is_vlek = t[1] == 'L';
		} else if (strcmp(t, "ASK") == 0) {
			in->certs.ask = buf;
			in->certs.ask_len = len;
		} else {
			in->certs.ark = buf;
			in->certs.ark_len = len;
		}
	}
	return CORE_OK;
}

/* Turns evidence (JSON or raw) into the binary for `kind`. */
static enum core_err
vrf_input_load(enum tee_kind kind, const uint8_t *ev, size_t n,
    struct vrf_input *in, struct core_errbuf *eb)
{
	enum core_err err;

	memset(in, 0, sizeof(*in));
	if (ev == NULL || n == 0)
		return core_errf(eb, CORE_ERR_INVALID, "evidence is empty");
	if (n > VERIFIER_MAX_EVIDENCE)
		return core_errf(eb, CORE_ERR_TOO_BIG,
		    "evidence of %zu bytes exceeds %d", n,
		    VERIFIER_MAX_EVIDENCE);
	if (!vrf_is_json(ev, n)) {
		if (kind == TEE_SAMPLE)
			return core_errf(eb, CORE_ERR_INVALID,
			    "sample evidence must be JSON");
		in->p = ev;
		in->n = n;
		/*
		 * A raw SNP extended report: the 0x4A0-byte report followed
		 * by the host's GUID certificate table.
		 */
		if (kind == TEE_SNP && n > VRF_SNP_REPORT_LEN) {
			in->n = VRF_SNP_REPORT_LEN;
			err = vrf_snp_cert_table(ev + VRF_SNP_REPORT_LEN,
			    n - VRF_SNP_REPORT_LEN, &in->certs, eb);
			if (err != CORE_OK)
				core_errbuf_prefix(eb, "bytes after the "
				    "%d-byte report", VRF_SNP_REPORT_LEN);
			return err;
		}
		return CORE_OK;
	}
	err = core_json_parse_object(ev, n, VERIFIER_MAX_EVIDENCE, &in->doc,
	    eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "evidence JSON");
		return err;
	}
	switch (kind) {
	case TEE_TDX:
	case TEE_SGX: {
		const char *b64 = NULL;

		err = core_json_get_str(in->doc, "quote", true, &b64, eb);
		if (err != CORE_OK)
			break;
		if (strlen(b64) > VRF_QUOTE_MAX * 4 / 3 + 4) {
			err = core_errf(eb, CORE_ERR_TOO_BIG,
			    "quote is too large");
			break;
		}
		err = core_b64_decode(b64, strlen(b64), &in->bin, &in->n, eb);
		if (err != CORE_OK) {
			core_errbuf_prefix(eb, "quote");
			break;
		}
		in->p = in->bin;
		if (kind == TEE_TDX) {
			const json_t *el = json_object_get(in->doc,
			    "cc_eventlog");

			if (el != NULL && !json_is_null(el) &&
			    !json_is_string(el)) {
				err = core_errf(eb, CORE_ERR_INVALID,
				    "cc_eventlog must be a base64 string or "
				    "null");
				break;
			}
			if (json_is_string(el) &&
			    (err = core_b64_decode(json_string_value(el),
			    json_string_length(el), &in->ccel, &in->ccel_len,
			    eb)) != CORE_OK) {
				core_errbuf_prefix(eb, "cc_eventlog");
				break;
			}
		}
		break;
	}
	case TEE_SNP: {
		const json_t *rep = json_object_get(in->doc,
		    "attestation_report");

		if (rep == NULL) {
			err = core_errf(eb, CORE_ERR_INVALID,
			    "attestation_report missing");
			break;
		}
		err = vrf_snp_report_from_json(rep, in->snp, eb);
		if (err == CORE_OK)
			err = vrf_snp_cert_chain(json_object_get(in->doc,
			    "cert_chain"), in, eb);
		in->p = in->snp;
		in->n = sizeof(in->snp);
		break;
	}
	case TEE_SAMPLE:
		in->p = ev;
		in->n = n;
		break;
	default:
		err = core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "no verifier for tee %s", tee_kind_name(kind));
		break;
	}
	if (err != CORE_OK)
		core_errbuf_prefix(eb, "evidence JSON");
	return err;
}

/* Sample evidence: {"svn":"1","report_data":"<b64>"}; no signature. */
static enum core_err
vrf_sample(const json_t *doc, const uint8_t *expected, size_t expected_len,
    bool verify, json_t **claims, struct core_errbuf *eb)
{
	const char *svn = NULL, *rd = NULL;
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	json_t *c = NULL, *pv = NULL;
	enum core_err err;

	*claims = NULL;
	if ((err = core_json_get_str(doc, "svn", true, &svn, eb)) ||
	    (err = core_json_get_str(doc, "report_data", true, &rd, eb)))
		goto out;
	err = core_b64_decode(rd, strlen(rd), &raw, &raw_len, eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "report_data");
		goto out;
	}
	c = json_object();
	pv = json_object();
	if (c == NULL || pv == NULL || !vrf_set_str(c, "tee", "sample") ||
	    !vrf_set_str(c, "svn", svn) || !vrf_set_str(c, "report_data", rd) ||
	    !vrf_set_str(c, "launch_digest", "abcde") ||
	    !vrf_set_int(pv, "major", 1) || !vrf_set_int(pv, "minor", 4) ||
	    json_object_set_new(c, "platform_version", pv) != 0) {
		json_decref(pv);
		err = core_errf(eb, CORE_ERR_NOMEM, "claims");
		goto out;
	}
	if (!vrf_set_bool(c, "debug", false)) {
		err = core_errf(eb, CORE_ERR_NOMEM, "claims");
		goto out;
	}
	if (verify && expected != NULL &&
	    (raw_len != expected_len ||
	    CRYPTO_memcmp(raw, expected, raw_len) != 0)) {
		err = core_errf(eb, CORE_ERR_PERM,
		    "report_data: mismatch with the expected value");
		goto out;
	}
	err = CORE_OK;
out:
	free(raw);
	if (err == CORE_OK || err == CORE_ERR_PERM)
		*claims = c;
	else
		json_decref(c);
	if (err != CORE_OK)
		core_errbuf_prefix(eb, "sample");
	return err;
}

enum core_err
verifier_verify(enum tee_kind kind, const uint8_t *evidence,
    size_t evidence_len, const uint8_t *expected_report_data,
    size_t expected_len, const struct verifier_opts *opts, json_t **claims,
    struct core_errbuf *eb)
{
	struct vrf_input in;
	enum core_err err;

	if (claims == NULL)
		return core_errf(eb, CORE_ERR_INVALID, "claims is NULL");
	*claims = NULL;
	if (expected_report_data != NULL && expected_len > 64)
		return core_errf(eb, CORE_ERR_INVALID,
		    "expected report_data is %zu bytes (at most 64)",
		    expected_len);
	err = vrf_input_load(kind, evidence, evidence_len, &in, eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "%s", tee_kind_name(kind));
		goto out;
	}
	switch (kind) {
	case TEE_SAMPLE:
		err = vrf_sample(in.doc, expected_report_data, expected_len,
		    true, claims, eb);
		break;
	case TEE_TDX:
	case TEE_SGX:
		err = vrf_dcap_verify(kind, in.p, in.n, in.ccel, in.ccel_len,
		    expected_report_data,
		    expected_len, opts, claims, eb);
		break;
	case TEE_SNP:
		err = vrf_snp_verify(in.p, in.n, &in.certs,
		    expected_report_data, expected_len, opts, claims, eb);
		break;
	default:
		err = core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "no verifier for tee %s", tee_kind_name(kind));
		break;
	}
out:
	vrf_input_cleanup(&in);
	return err;
}

enum core_err
verifier_parse(enum tee_kind kind, const uint8_t *evidence,
    size_t evidence_len, json_t **claims, struct core_errbuf *eb)
{
	struct vrf_input in;
	enum core_err err;

	if (claims == NULL)
		return core_errf(eb, CORE_ERR_INVALID, "claims is NULL");
	*claims = NULL;
	err = vrf_input_load(kind, evidence, evidence_len, &in, eb);
	if (err != CORE_OK)
		goto out;
	switch (kind) {
	case TEE_SAMPLE:
		err = vrf_sample(in.doc, NULL, 0, false, claims, eb);
		break;
	case TEE_TDX:
	case TEE_SGX:
		err = vrf_dcap_parse(kind, in.p, in.n, claims, eb);
		break;
	case TEE_SNP:
		err = vrf_snp_parse(in.p, in.n, claims, eb);
		break;
	default:
		err = core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "no parser for tee %s", tee_kind_name(kind));
		break;
	}
out:
	vrf_input_cleanup(&in);
	if (err != CORE_OK) {
		json_decref(*claims);
		*claims = NULL;
	}
	return err;
}
