/*
 * attest.c -- the attesters: 64 bytes of report data in, the Trustee
 * evidence JSON of each TEE out (spec kbs-protocol.md section 11).
 */
#include "tee/tee.h"
#include "tee/tee_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define ATT_QUOTE_MAX (64 * 1024)
#define ATT_CCEL_MAX (1024 * 1024)
#define SNP_REPORT_LEN 0x4A0
#define SNP_CERTS_MAX (16 * 1024)

/* include/uapi/linux/sev-guest.h */
struct att_snp_report_req {
	uint8_t user_data[64];
	uint32_t vmpl;
	uint8_t rsvd[28];
};
struct att_snp_ext_report_req {
	struct att_snp_report_req data;
	uint64_t certs_address;
	uint32_t certs_len;
};
struct att_snp_guest_request_ioctl {
	uint8_t msg_version;
	uint64_t req_data;
	uint64_t resp_data;
	uint64_t exitinfo2; /* fw_error (low 32), vmm_error (high 32) */
};
struct att_snp_report_resp {
	uint8_t data[4000];
};
_Static_assert(sizeof(struct att_snp_report_req) == 96, "snp_report_req");
_Static_assert(sizeof(struct att_snp_ext_report_req) == 112,
    "snp_ext_report_req");
_Static_assert(sizeof(struct att_snp_guest_request_ioctl) == 32,
    "snp_guest_request_ioctl");
#define ATT_SNP_GET_EXT_REPORT \
	_IOWR('S', 2, struct att_snp_guest_request_ioctl)
#define ATT_SNP_VMM_ERR_INVALID_LEN 1

/* ---- SNP evidence JSON (serde form) ----------------------------------- */

static json_t *
bytes_array(const uint8_t *p, size_t n)
{
	json_t *a = json_array();

	if (a == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(a, json_integer(p[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	    ((uint32_t)p[3] << 24);
}

static uint64_t
le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | ((uint64_t)le32(p + 4) << 32);
}

/* Turin (family 0x1A) reports use the FMC-first TCB layout. */
static bool
snp_is_turin(const uint8_t *r)
{
	return le32(r) >= 3 && r[0x188] == 0x1A;
}

static json_t *
tcb_json(const uint8_t *t, bool turin)
{
	if (turin)
		return json_pack("{s:i,s:i,s:i,s:i,s:i}", "fmc", t[0],
		    "bootloader", t[1], "tee", t[2], "snp", t[3], "microcode",
		    t[7]);
	return json_pack("{s:n,s:i,s:i,s:i,s:i}", "fmc", "bootloader", t[0],
	    "tee", t[1], "snp", t[6], "microcode", t[7]);
}

static json_t *
version_json(const uint8_t *v)
{
	return json_pack("{s:i,s:i,s:i}", "major", v[2], "minor", v[1],
	    "build", v[0]);
}

static const struct {
	const char *guid;
	const char *type;
} att_guids[] = {
	{ "63da758d-e664-4564-adc5-f4b93be8accd", "VCEK" },
	{ "a8074bc2-a25a-483e-aae6-39c045a0b8a1", "VLEK" },
	{ "4ab7b379-bbac-4fe4-a02f-05aef327c782", "ASK" },
	{ "c0b406a4-a803-4952-9743-3fb6014cd0ae", "ARK" },
	{ "92f81bc3-5811-4d3d-97ff-d19f88dc67ea", "CRL" },
};

static enum core_err
cert_chain_json(const uint8_t *t, size_t n, json_t **out,
    struct core_errbuf *eb)
{
	json_t *arr;

	*out = NULL;
	if (t == NULL || n == 0 || (n >= 24 && le32(t + 16) == 0 &&
	    le32(t + 20) == 0 && t[0] == 0))
		return CORE_OK; /* no host certificates: null */
	arr = json_array();
	if (arr == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "cert_chain");
	for (size_t off = 0;; off += 24) {
		const uint8_t *e = t + off;
		uint32_t eo, el;
		char guid[37];
		const char *type = NULL;
		json_t *ent, *data;
		bool zero = true;

		if (off + 24 > n) {
			json_decref(arr);
			return core_errf(eb, CORE_ERR_INVALID,
			    "certificate table: no terminating entry");
		}
		for (int i = 0; i < 24; i++)
			zero = zero && e[i] == 0;
		if (zero)
			break;
		eo = le32(e + 16);
		el = le32(e + 20);
		if (eo > n || el > n - eo) {
			json_decref(arr);
			return core_errf(eb, CORE_ERR_INVALID,
			    "certificate table: entry overruns the table");
		}
		snprintf(guid, sizeof(guid),
		    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		    "%02x%02x%02x%02x%02x%02x", e[0], e[1], e[2], e[3], e[4],
		    e[5], e[6], e[7], e[8], e[9], e[10], e[11], e[12], e[13],
		    e[14], e[15]);
		for (size_t i = 0; i < CORE_ARRAY_LEN(att_guids); i++)
			if (strcmp(guid, att_guids[i].guid) == 0)
				type = att_guids[i].type;
		data = bytes_array(t + eo, el);
		ent = type != NULL ?
		    json_pack("{s:s,s:o}", "cert_type", type, "data", data) :
		    json_pack("{s:{s:s},s:o}", "cert_type", "OTHER", guid,
		    "data", data);
		if (ent == NULL || json_array_append_new(arr, ent) != 0) {
			json_decref(arr);
			return core_errf(eb, CORE_ERR_NOMEM, "cert_chain");
		}
	}
	*out = arr;
	return CORE_OK;
}

enum core_err
tee_snp_evidence_json(const uint8_t *r, size_t n, const uint8_t *certs,
    size_t certs_len, json_t **out, struct core_errbuf *eb)
{
	json_t *rep = NULL, *chain = NULL, *o = NULL;
	bool turin;
	uint32_t version;
	enum core_err err;

	*out = NULL;
	if (r == NULL || n != SNP_REPORT_LEN)
		return core_errf(eb, CORE_ERR_INVALID,
		    "snp: report is %zu bytes, want %d (short read?)", n,
		    SNP_REPORT_LEN);
	version = le32(r);
	turin = snp_is_turin(r);
	rep = json_pack("{s:I,s:I,s:I,s:o,s:o,s:I,s:I,s:o,s:I,s:I}",
	    "version", (json_int_t)version,
	    "guest_svn", (json_int_t)le32(r + 4),
	    "policy", (json_int_t)le64(r + 8),
	    "family_id", bytes_array(r + 0x10, 16),
	    "image_id", bytes_array(r + 0x20, 16),
	    "vmpl", (json_int_t)le32(r + 0x30),
	    "sig_algo", (json_int_t)le32(r + 0x34),
	    "current_tcb", tcb_json(r + 0x38, turin),
	    "plat_info", (json_int_t)le64(r + 0x40),
	    "key_info", (json_int_t)le32(r + 0x48));
	if (rep == NULL ||
	    json_object_set_new(rep, "report_data", bytes_array(r + 0x50, 64)) ||
	    json_object_set_new(rep, "measurement", bytes_array(r + 0x90, 48)) ||
	    json_object_set_new(rep, "host_data", bytes_array(r + 0xC0, 32)) ||
	    json_object_set_new(rep, "id_key_digest",
	    bytes_array(r + 0xE0, 48)) ||
	    json_object_set_new(rep, "author_key_digest",
	    bytes_array(r + 0x110, 48)) ||
	    json_object_set_new(rep, "report_id", bytes_array(r + 0x140, 32)) ||
	    json_object_set_new(rep, "report_id_ma",
	    bytes_array(r + 0x160, 32)) ||
	    json_object_set_new(rep, "reported_tcb", tcb_json(r + 0x180,
	    turin)) ||
	    json_object_set_new(rep, "cpuid_fam_id", version >= 3 ?
	    json_integer(r[0x188]) : json_null()) ||
	    json_object_set_new(rep, "cpuid_mod_id", version >= 3 ?
	    json_integer(r[0x189]) : json_null()) ||
	    json_object_set_new(rep, "cpuid_step", version >= 3 ?
	    json_integer(r[0x18A]) : json_null()) ||
	    json_object_set_new(rep, "chip_id", bytes_array(r + 0x1A0, 64)) ||
	    json_object_set_new(rep, "committed_tcb", tcb_json(r + 0x1E0,
	    turin)) ||
	    json_object_set_new(rep, "current", version_json(r + 0x1E8)) ||
	    json_object_set_new(rep, "committed", version_json(r + 0x1EC)) ||
	    json_object_set_new(rep, "launch_tcb", tcb_json(r + 0x1F0,
	    turin)) ||
	    json_object_set_new(rep, "signature", json_pack("{s:o,s:o}", "r",
	    bytes_array(r + 0x2A0, 72), "s", bytes_array(r + 0x2E8, 72)))) {
		err = core_errf(eb, CORE_ERR_NOMEM, "snp evidence");
		goto out;
	}
	if (version >= 5 &&
	    (json_object_set_new(rep, "launch_mit_vector",
	    json_integer((json_int_t)le64(r + 0x1F8))) ||
	    json_object_set_new(rep, "current_mit_vector",
	    json_integer((json_int_t)le64(r + 0x200))))) {
		err = core_errf(eb, CORE_ERR_NOMEM, "snp evidence");
		goto out;
	}
	err = cert_chain_json(certs, certs_len, &chain, eb);
	if (err != CORE_OK)
		goto out;
	o = json_object();
	if (o == NULL || json_object_set_new(o, "attestation_report", rep)) {
		err = core_errf(eb, CORE_ERR_NOMEM, "snp evidence");
		goto out;
	}
	rep = NULL;
	if (json_object_set_new(o, "cert_chain",
	    chain != NULL ? chain : json_null())) {
		chain = NULL;
		err = core_errf(eb, CORE_ERR_NOMEM, "snp evidence");
		goto out;
	}
	chain = NULL;
	*out = o;
	o = NULL;
	err = CORE_OK;
out:
	json_decref(rep);
	json_decref(chain);
	json_decref(o);
	return err;
}

/* ---- per-TEE attesters ------------------------------------------------ */

static enum core_err
dump_json(json_t *o, char **out, struct core_errbuf *eb)
{
	*out = core_json_dumps(o);
	json_decref(o);
	if (*out == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "evidence JSON");
	return CORE_OK;
}

static enum core_err
attest_sample(const uint8_t *rd, size_t len, char **out,
    struct core_errbuf *eb)
{
	char *b64 = core_b64_encode(rd, len);
	json_t *o;

	if (b64 == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "base64");
	o = json_pack("{s:s,s:s}", "svn", "1", "report_data", b64);
	free(b64);
	if (o == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "evidence JSON");
	return dump_json(o, out, eb);
}

/* A TDX quote must at least carry a v4/v5 TDX header. */
static enum core_err
check_quote_header(const uint8_t *q, size_t n, bool tdx,
    struct core_errbuf *eb)
{
	uint16_t v;

	if (n < 48 + 384)
		return core_errf(eb, CORE_ERR_IO,
		    "quote of %zu bytes is truncated (short read?)", n);
	v = (uint16_t)(q[0] | (q[1] << 8));
	if (tdx && ((v != 4 && v != 5) || le32(q + 4) != 0x81))
		return core_errf(eb, CORE_ERR_INVALID,
		    "outblob is not a TDX quote (version %u)", v);
	if (!tdx && v != 3)
		return core_errf(eb, CORE_ERR_INVALID,
		    "quote is not an SGX DCAP v3 quote (version %u)", v);
	return CORE_OK;
}

static enum core_err
attest_tdx(const uint8_t rd[64], const struct tee_attest_opts *o,
    char **out, struct core_errbuf *eb)
{
	struct tee_tsm_report rep;
	char *ccel_path = NULL, *q64 = NULL, *ev64 = NULL;
	uint8_t *ccel = NULL;
	size_t ccel_len = 0;
	json_t *j;
	enum core_err err;

	if (o->no_configfs)
		return core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "tdx: quotes come only from configfs-tsm (the TDREPORT "
		    "ioctl is MACed with a platform-local key)");
	err = tee_tsm_get_report(o->root, "tdx_guest", rd, -1, o, &rep, eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "tdx");
		return err;
	}
	err = check_quote_header(rep.outblob, rep.outblob_len, true, eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "tdx");
		goto out;
	}
	/* The CC event log, when the firmware published one. */
	ccel_path = tee_root_path(o->root,
	    "/sys/firmware/acpi/tables/data/CCEL");
	if (ccel_path != NULL && core_fs_exists(ccel_path)) {
		err = core_fs_read(ccel_path, ATT_CCEL_MAX, &ccel, &ccel_len,
		    eb);
		if (err != CORE_OK) {
			core_errbuf_prefix(eb, "tdx: CCEL");
			goto out;
		}
		ev64 = core_b64_encode(ccel, ccel_len);
	}
	q64 = core_b64_encode(rep.outblob, rep.outblob_len);
	if (q64 == NULL || (ccel != NULL && ev64 == NULL)) {
		err = core_errf(eb, CORE_ERR_NOMEM, "base64");
		goto out;
	}
	j = json_pack("{s:o,s:s}", "cc_eventlog",
	    ev64 != NULL ? json_string(ev64) : json_null(), "quote", q64);
	if (j == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "evidence JSON");
		goto out;
	}
	err = dump_json(j, out, eb);
out:
	tee_tsm_report_cleanup(&rep);
	free(ccel_path);
	free(ccel);
	free(ev64);
	free(q64);
	return err;
}

/* SNP_GET_EXT_REPORT on /dev/sev-guest, growing the certificate buffer. */
STATIC enum core_err
attest_snp_ioctl(const char *root, const uint8_t rd[64], unsigned vmpl,
    uint8_t report[SNP_REPORT_LEN], uint8_t **certs, size_t *certs_len,
    struct core_errbuf *eb)
{
	char *dev = tee_root_path(root, "/dev/sev-guest");
	struct att_snp_ext_report_req req;
	struct att_snp_report_resp *resp = NULL;
	struct att_snp_guest_request_ioctl g;
	uint32_t clen = 4 * 4096;
	enum core_err err;
	int fd = -1;

	*certs = NULL;
	*certs_len = 0;
	if (dev == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "path");
	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		err = core_errf_errno(eb, errno == ENOENT ?
		    CORE_ERR_UNSUPPORTED : CORE_ERR_IO, "open /dev/sev-guest");
		goto out;
	}
	resp = calloc(1, sizeof(*resp));
	if (resp == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "response");
		goto out;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		free(*certs);
		*certs = calloc(1, clen);
		if (*certs == NULL) {
			err = core_errf(eb, CORE_ERR_NOMEM, "certificates");
			goto out;
		}
		memset(&req, 0, sizeof(req));
		memcpy(req.data.user_data, rd, 64);
		req.data.vmpl = vmpl;
		req.certs_address = (uint64_t)(uintptr_t)*certs;
		req.certs_len = clen;
		memset(&g, 0, sizeof(g));
		g.msg_version = 1;
		g.req_data = (uint64_t)(uintptr_t)&req;
		g.resp_data = (uint64_t)(uintptr_t)resp;
		if (ioctl(fd, ATT_SNP_GET_EXT_REPORT, &g) == 0)
			break;
		if (errno == EIO && (g.exitinfo2 >> 32) ==
		    ATT_SNP_VMM_ERR_INVALID_LEN && req.certs_len > clen &&
		    req.certs_len <= SNP_CERTS_MAX && attempt == 0) {
			clen = req.certs_len; /* the host told us the size */
			continue;
		}
		err = core_errf_errno(eb, CORE_ERR_IO,
		    "SNP_GET_EXT_REPORT (fw_error 0x%x, vmm_error 0x%x)",
		    (unsigned)(g.exitinfo2 & 0xffffffff),
		    (unsigned)(g.exitinfo2 >> 32));
		goto out;
	}
	if (le32(resp->data) != 0) {
		err = core_errf(eb, CORE_ERR_IO,
		    "SNP_GET_EXT_REPORT: firmware status 0x%x",
		    le32(resp->data));
		goto out;
	}
	if (le32(resp->data + 4) != SNP_REPORT_LEN) {
		err = core_errf(eb, CORE_ERR_IO,
		    "SNP_GET_EXT_REPORT: report size %u, want %d",
		    le32(resp->data + 4), SNP_REPORT_LEN);
		goto out;
	}
	memcpy(report, resp->data + 0x20, SNP_REPORT_LEN);
	*certs_len = clen;
	err = CORE_OK;
out:
	if (err != CORE_OK) {
		free(*certs);
		*certs = NULL;
	}
	if (fd >= 0)
		close(fd);
	free(resp);
	free(dev);
	return err;
}

static enum core_err
attest_snp(const uint8_t rd[64], const struct tee_attest_opts *o,
    char **out, struct core_errbuf *eb)
{
	struct tee_tsm_report rep;
	uint8_t report[SNP_REPORT_LEN];
	uint8_t *certs = NULL;
	size_t certs_len = 0;
	json_t *j = NULL;
	enum core_err err = CORE_ERR_UNSUPPORTED;

	memset(&rep, 0, sizeof(rep));
	if (o->vmpl > 3)
		return core_errf(eb, CORE_ERR_INVALID,
		    "snp: vmpl %u out of range 0..3", o->vmpl);
	if (!o->no_configfs) {
		err = tee_tsm_get_report(o->root, "sev_guest", rd,
		    (int)o->vmpl, o, &rep, eb);
		if (err == CORE_OK) {
			err = tee_snp_evidence_json(rep.outblob,
			    rep.outblob_len, rep.auxblob, rep.auxblob_len, &j,
			    eb);
			tee_tsm_report_cleanup(&rep);
			if (err != CORE_OK) {
				core_errbuf_prefix(eb, "snp: configfs-tsm");
				return err;
			}
			return dump_json(j, out, eb);
		}
		/* Fall back to the device only when configfs-tsm is absent. */
		if (err != CORE_ERR_UNSUPPORTED) {
			core_errbuf_prefix(eb, "snp");
			return err;
		}
		core_errbuf_clear(eb);
	}
	err = attest_snp_ioctl(o->root, rd, o->vmpl, report, &certs,
	    &certs_len, eb);
	if (err == CORE_OK)
		err = tee_snp_evidence_json(report, sizeof(report), certs,
		    certs_len, &j, eb);
	free(certs);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "snp: /dev/sev-guest");
		return err;
	}
	return dump_json(j, out, eb);
}

/* Gramine: write user_report_data, read quote. */
static enum core_err
attest_sgx(const uint8_t rd[64], const struct tee_attest_opts *o,
    char **out, struct core_errbuf *eb)
{
	char *urd = tee_root_path(o->root, "/dev/attestation/user_report_data");
	char *qp = tee_root_path(o->root, "/dev/attestation/quote");
	uint8_t *quote = NULL;
	size_t qlen = 0;
	char *b64 = NULL;
	json_t *j;
	enum core_err err;
	int fd = -1;
	ssize_t w;

	if (urd == NULL || qp == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "path");
		goto out;
	}
	fd = open(urd, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		err = core_errf_errno(eb, errno == ENOENT ?
		    CORE_ERR_UNSUPPORTED : CORE_ERR_IO,
		    "sgx: open /dev/attestation/user_report_data (not inside "
		    "a Gramine enclave?)");
		goto out;
	}
	do {
		w = write(fd, rd, 64);
	} while (w < 0 && errno == EINTR);
	if (w != 64) {
		err = w < 0 ? core_errf_errno(eb, CORE_ERR_IO,
		    "sgx: write user_report_data") :
		    core_errf(eb, CORE_ERR_IO,
		    "sgx: short write to user_report_data (%zd of 64)", w);
		goto out;
	}
	err = core_fs_read(qp, ATT_QUOTE_MAX, &quote, &qlen, eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "sgx: /dev/attestation/quote");
		goto out;
	}
	err = check_quote_header(quote, qlen, false, eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "sgx");
		goto out;
	}
	b64 = core_b64_encode(quote, qlen);
	j = b64 != NULL ? json_pack("{s:s}", "quote", b64) : NULL;
	if (j == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "evidence JSON");
		goto out;
	}
	err = dump_json(j, out, eb);
out:
	if (fd >= 0)
		close(fd);
	free(urd);
	free(qp);
	free(quote);
	free(b64);
	return err;
}

/* include/uapi/linux/tdx-guest.h */
struct att_tdx_report_req {
	uint8_t reportdata[64];
	uint8_t tdreport[TEE_TDREPORT_LEN];
};
_Static_assert(sizeof(struct att_tdx_report_req) == 1088, "tdx_report_req");
#define ATT_TDX_CMD_GET_REPORT0 _IOWR('T', 1, struct att_tdx_report_req)

enum core_err
tee_tdx_tdreport(const char *root, const uint8_t report_data[64],
    uint8_t out[TEE_TDREPORT_LEN], struct core_errbuf *eb)
{
	char *dev = tee_root_path(root, "/dev/tdx_guest");
	struct att_tdx_report_req *req = NULL;
	enum core_err err;
	int fd = -1;

	if (dev == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "path");
	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		err = core_errf_errno(eb, errno == ENOENT ?
		    CORE_ERR_UNSUPPORTED : CORE_ERR_IO, "tdx: open /dev/tdx_guest");
		goto out;
	}
	req = calloc(1, sizeof(*req));
	if (req == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "tdx: request");
		goto out;
	}
	memcpy(req->reportdata, report_data, 64);
	if (ioctl(fd, ATT_TDX_CMD_GET_REPORT0, req) != 0) {
		err = core_errf_errno(eb, CORE_ERR_IO,
		    "tdx: TDX_CMD_GET_REPORT0");
		goto out;
	}
	memcpy(out, req->tdreport, TEE_TDREPORT_LEN);
	err = CORE_OK;
out:
	if (fd >= 0)
		close(fd);
	free(req);
	free(dev);
	return err;
}

static bool
set_hex(json_t *o, const char *k, const uint8_t *p, size_t n)
{
	char *h = core_hex_encode(p, n);
	bool ok = h != NULL && json_object_set_new(o, k, json_string(h)) == 0;

	free(h);
	return ok;
}

enum core_err
tee_tdreport_claims(const uint8_t *p, size_t n, json_t **out,
    struct core_errbuf *eb)
{
	json_t *o;
	bool ok;

	*out = NULL;
	if (p == NULL || n != TEE_TDREPORT_LEN)
		return core_errf(eb, CORE_ERR_INVALID,
		    "tdreport: %zu bytes, want %d", n, TEE_TDREPORT_LEN);
	if (p[0] != 0x81)
		return core_errf(eb, CORE_ERR_INVALID,
		    "tdreport: report type 0x%02x is not TDX (0x81)", p[0]);
	o = json_object();
	if (o == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "claims");
	ok = set_hex(o, "report_type", p, 4) &&
	    set_hex(o, "cpu_svn", p + 16, 16) &&
	    set_hex(o, "tee_tcb_info_hash", p + 32, 48) &&
	    set_hex(o, "tee_info_hash", p + 80, 48) &&
	    set_hex(o, "report_data", p + 128, 64) &&
	    set_hex(o, "mac", p + 224, 32) &&
	    set_hex(o, "tee_tcb_svn", p + 264, 16) &&
	    set_hex(o, "mr_seam", p + 280, 48) &&
	    set_hex(o, "mr_signer_seam", p + 328, 48) &&
	    set_hex(o, "seam_attributes", p + 376, 8) &&
	    set_hex(o, "tee_tcb_svn2", p + 384, 16) &&
	    set_hex(o, "td_attributes", p + 512, 8) &&
	    set_hex(o, "xfam", p + 520, 8) &&
	    set_hex(o, "mr_td", p + 528, 48) &&
	    set_hex(o, "mr_config_id", p + 576, 48) &&
	    set_hex(o, "mr_owner", p + 624, 48) &&
	    set_hex(o, "mr_owner_config", p + 672, 48) &&
	    set_hex(o, "rtmr0", p + 720, 48) &&
	    set_hex(o, "rtmr1", p + 768, 48) &&
	    set_hex(o, "rtmr2", p + 816, 48) &&
	    set_hex(o, "rtmr3", p + 864, 48) &&
	    set_hex(o, "mr_servicetd", p + 912, 48) &&
	    json_object_set_new(o, "debug", json_boolean(p[512] & 1)) == 0;
	if (!ok) {
		json_decref(o);
		return core_errf(eb, CORE_ERR_NOMEM, "claims");
	}
	*out = o;
	return CORE_OK;
}

enum core_err
tee_attester_evidence(enum tee_kind kind, const uint8_t *report_data,
    size_t report_data_len, const struct tee_attest_opts *opts,
    char **evidence_json, struct core_errbuf *eb)
{
	struct tee_attest_opts def = { 0 };
	uint8_t rd[TEE_REPORT_DATA_LEN];

	if (evidence_json == NULL)
		return core_errf(eb, CORE_ERR_INVALID, "no output pointer");
	*evidence_json = NULL;
	if (report_data == NULL && report_data_len != 0)
		return core_errf(eb, CORE_ERR_INVALID, "report_data is NULL");
	if (report_data_len > TEE_REPORT_DATA_LEN)
		return core_errf(eb, CORE_ERR_INVALID,
		    "report_data is %zu bytes (at most 64)", report_data_len);
	if (opts == NULL)
		opts = &def;
	memset(rd, 0, sizeof(rd));
	if (report_data_len > 0)
		memcpy(rd, report_data, report_data_len);
	switch (kind) {
	case TEE_SAMPLE:
		return attest_sample(report_data, report_data_len,
		    evidence_json, eb);
	case TEE_TDX:
		return attest_tdx(rd, opts, evidence_json, eb);
	case TEE_SNP:
		return attest_snp(rd, opts, evidence_json, eb);
	case TEE_SGX:
		return attest_sgx(rd, opts, evidence_json, eb);
	default:
		return core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "no attester for tee %s", tee_kind_name(kind));
	}
}
