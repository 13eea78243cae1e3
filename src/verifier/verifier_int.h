/*
 * verifier_int.h -- shared internals of the verifier module (not public).
 */
#ifndef PROPELLER_VERIFIER_INT_H
#define PROPELLER_VERIFIER_INT_H

#include "verifier/verifier.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

/* A pinned anchor: PEM text plus the SHA-256 of its DER. */
struct verifier_anchor {
	const char *name;
	const char *sha256_hex;
	const char *pem;
};

extern const struct verifier_anchor verifier_anchors[];

/* Reads little-endian integers from evidence. */
uint16_t vrf_le16(const uint8_t *p);
uint32_t vrf_le32(const uint8_t *p);
uint64_t vrf_le64(const uint8_t *p);

/*
 * Loads the named anchor, checking its pinned fingerprint. The returned
 * certificate is owned by the caller (X509_free).
 */
enum core_err vrf_anchor_load(const char *name, X509 **out,
    struct core_errbuf *eb);

/* Parses one certificate, DER or PEM. */
enum core_err vrf_cert_parse(const uint8_t *p, size_t n, X509 **out,
    struct core_errbuf *eb);

/*
 * Verifies leaf -> untrusted... -> anchor at time t (seconds), with the
 * optional CRLs checked for the whole chain. The anchor is the only trusted
 * certificate. The error names `step` and OpenSSL's reason.
 */
enum core_err vrf_chain_verify(X509 *anchor, X509 *leaf,
    STACK_OF(X509) *untrusted, STACK_OF(X509_CRL) *crls, int64_t t,
    const char *step, struct core_errbuf *eb);

/*
 * ECDSA verification of a raw big-endian r||s (each comp_len bytes) over
 * msg with digest md. CORE_ERR_AUTH when the signature does not verify.
 */
enum core_err vrf_ecdsa_verify(EVP_PKEY *key, const EVP_MD *md,
    const uint8_t *msg, size_t msg_len, const uint8_t *r, const uint8_t *s,
    size_t comp_len, const char *step, struct core_errbuf *eb);

/* Builds a P-256 public key from a raw 64-byte X||Y. */
enum core_err vrf_p256_key(const uint8_t xy[64], EVP_PKEY **out,
    struct core_errbuf *eb);

/* The subject CN of a certificate into buf ("" if none). */
void vrf_cert_cn(X509 *c, char *buf, size_t len);

/* Claims helpers: set lowercase hex of bytes; return false on OOM. */
bool vrf_set_hex(json_t *obj, const char *key, const uint8_t *p, size_t n);
bool vrf_set_int(json_t *obj, const char *key, int64_t v);
bool vrf_set_bool(json_t *obj, const char *key, bool v);
bool vrf_set_str(json_t *obj, const char *key, const char *v);

/* True if all n bytes are zero. */
bool vrf_all_zero(const uint8_t *p, size_t n);

/* The effective check time (opts->check_time or now). */
int64_t vrf_check_time(const struct verifier_opts *opts);

/*
 * Compares expected (len <= field_len, zero-padded) with field in constant
 * time. CORE_ERR_INVALID if expected is longer than the field.
 */
enum core_err vrf_compare_padded(const uint8_t *field, size_t field_len,
    const uint8_t *expected, size_t expected_len, const char *what,
    struct core_errbuf *eb);

/* A parsed quote; every pointer borrows from the input. */
struct dcap_quote {
	uint16_t version;
	uint32_t tee_type;
	uint16_t body_type;        /* 1 SGX, 2 TDX 1.0, 3 TDX 1.5 */
	const uint8_t *hdr;
	const uint8_t *body;
	size_t body_len;
	size_t signed_len;         /* quote signature covers [0, signed_len) */
	const uint8_t *sig;        /* 64: r||s big-endian */
	const uint8_t *att_key;    /* 64: X||Y */
	const uint8_t *qe_report;  /* 384 */
	const uint8_t *qe_sig;     /* 64 */
	const uint8_t *qe_auth;
	size_t qe_auth_len;
	const uint8_t *chain;      /* PEM */
	size_t chain_len;
};

/* PCK certificate SGX extension values. */
struct dcap_pck_ext {
	uint8_t fmspc[6];
	uint8_t pce_id[2];
	uint8_t cpusvn[16];
	int comp_svn[16];
	int pcesvn;
	bool have_fmspc, have_pceid, have_tcb;
};

/* SNP generations and the TCB_VERSION decoded for one of them. */
enum snp_gen { SNP_GEN_UNKNOWN = 0, SNP_GEN_MILAN, SNP_GEN_GENOA,
	SNP_GEN_TURIN };

/* A TCB_VERSION decoded for one generation. */
struct snp_tcb {
	int fmc; /* -1 when the generation has none */
	int bootloader, tee, snp, microcode;
};

#ifdef PROPELLER_UNIT_TEST
/* File-local in snp.c; exposed to tests through STATIC. */
enum snp_gen snp_gen_from_cpuid(const uint8_t *r);
void snp_tcb_decode(uint64_t raw, enum snp_gen gen, struct snp_tcb *t);
#endif

/* Per-format entry points (raw binary). */
enum core_err vrf_dcap_parse(enum tee_kind kind, const uint8_t *p, size_t n,
    json_t **claims, struct core_errbuf *eb);
/* ccel: the TDX CC event log (or NULL), replayed against RTMR0..2. */
enum core_err vrf_dcap_verify(enum tee_kind kind, const uint8_t *p,
    size_t n, const uint8_t *ccel, size_t ccel_len,
    const uint8_t *expected_rd, size_t expected_len,
    const struct verifier_opts *opts, json_t **claims,
    struct core_errbuf *eb);

/*
 * Replays a CCEL (TCG2 crypto-agile log, MR index 1..4 = RTMR0..3) with
 * SHA-384 from zero registers. *nevents counts the event records.
 */
enum core_err vrf_ccel_replay(const uint8_t *p, size_t n,
    uint8_t rtmr[4][48], size_t *nevents, struct core_errbuf *eb);

enum core_err vrf_snp_parse(const uint8_t *report, size_t n, json_t **claims,
    struct core_errbuf *eb);
/*
 * report: the raw 0x4A0 bytes. certs: DER certificates from the evidence
 * (VCEK/VLEK/ASK/ASVK/ARK), any may be NULL.
 */
struct vrf_snp_certs {
	const uint8_t *vcek; size_t vcek_len;   /* VCEK or VLEK */
	bool is_vlek;                           /* certificate table said VLEK */
	const uint8_t *ask; size_t ask_len;     /* ASK or ASVK (compared only) */
	const uint8_t *ark; size_t ark_len;     /* compared with the pinned ARK */
};
enum core_err vrf_snp_verify(const uint8_t *report, size_t n,
    const struct vrf_snp_certs *certs, const uint8_t *expected_rd,
    size_t expected_len, const struct verifier_opts *opts, json_t **claims,
    struct core_errbuf *eb);
/* Parses a GUID certificate table (spec 4.2) into certs (borrowing). */
enum core_err vrf_snp_cert_table(const uint8_t *p, size_t n,
    struct vrf_snp_certs *certs, struct core_errbuf *eb);

/*
 * Rebuilds the raw 0x4A0-byte report from Trustee's serde JSON form
 * (spec kbs-protocol.md section 11).
 */
#define VRF_SNP_REPORT_LEN 0x4A0
enum core_err vrf_snp_report_from_json(const json_t *j,
    uint8_t out[VRF_SNP_REPORT_LEN], struct core_errbuf *eb);

#endif /* PROPELLER_VERIFIER_INT_H */
