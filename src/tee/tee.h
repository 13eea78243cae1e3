/*
 * tee.h -- which TEE are we in, and hardware evidence from it.
 *
 * Owns: the TEE kind names shared with Trustee ("sample", "tdx", "snp",
 * "sgx", "az-snp-vtpm", "az-tdx-vtpm"), detection from reliable kernel
 * signals only (configfs-tsm provider, guest devices, CPUID leaf 0x21,
 * SEV_STATUS MSR, the `tdx_guest` cpuinfo token; never host capability
 * flags), and the attesters that turn 64 bytes of report data into the
 * Trustee evidence JSON of each TEE (spec/kbs-protocol.md section 11).
 *
 * Every path is resolved under an injectable root directory, so tests run
 * against fake /sys, /dev and /proc trees. Detection is only a hint for
 * choosing the attester; nothing here is a security decision (that is the
 * verifier module's job).
 *
 * Depends on: core (errors, codecs, files), jansson.
 * Never: logs, keeps global state (except an in-process mutex serializing
 * configfs-tsm requests), or writes anywhere but the configfs-tsm entry and
 * guest devices it is asked to use.
 */
#ifndef PROPELLER_TEE_H
#define PROPELLER_TEE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/core.h"

/* ------------------------------------------------------------------ */
/* Kinds                                                               */
/* ------------------------------------------------------------------ */

enum tee_kind {
	TEE_NONE = 0,    /* "none": no TEE detected (never sent on the wire) */
	TEE_SAMPLE,      /* "sample": software test TEE, no hardware */
	TEE_TDX,         /* "tdx" */
	TEE_SNP,         /* "snp" */
	TEE_SGX,         /* "sgx" */
	TEE_AZ_SNP_VTPM, /* "az-snp-vtpm": Hyper-V paravisor SNP CVM */
	TEE_AZ_TDX_VTPM, /* "az-tdx-vtpm": Hyper-V paravisor TDX CVM */
	TEE_KIND_COUNT
};

/* The Trustee name of a kind ("tdx"); "none" for TEE_NONE or junk. */
const char *tee_kind_name(enum tee_kind kind);

/*
 * Parses an exact lowercase Trustee name. "none" is accepted only when
 * allow_none is set. Unknown names fail with CORE_ERR_INVALID naming them.
 */
enum core_err tee_kind_parse(const char *s, bool allow_none,
    enum tee_kind *out, struct core_errbuf *eb);

/* Report data is always 64 bytes in hardware evidence. */
#define TEE_REPORT_DATA_LEN 64

/* ------------------------------------------------------------------ */
/* Detection                                                           */
/* ------------------------------------------------------------------ */

#define TEE_MAX_SIGNALS 24
#define TEE_SIGNAL_LEN 128

/*
 * The detection result. `kind` is the TEE the evidence should come from
 * (TEE_NONE when no reliable signal was seen); `signals` lists every signal
 * observed, reliable or not, in the order probed, e.g.
 *   "configfs-tsm provider tdx_guest", "device /dev/sev-guest",
 *   "cpuid 0x21 IntelTDX", "msr SEV_STATUS=0x7 (snp)",
 *   "cpuinfo flag tdx_guest", "hint: /dev/sev is the host PSP (ignored)".
 * Signals starting with "hint:" never influenced `kind`.
 */
struct tee_detection {
	enum tee_kind kind;
	bool sgx_enclave;      /* /dev/sgx_enclave + /dev/sgx_provision present */
	bool sgx_quoting;      /* Gramine-style /dev/attestation/quote present */
	bool paravisor;        /* Hyper-V paravisor CVM (vTPM evidence only) */
	bool configfs_tsm;     /* a configfs-tsm provider answered */
	size_t nsignals;
	char signals[TEE_MAX_SIGNALS][TEE_SIGNAL_LEN];
};

/*
 * Raw CPUID access, injectable for tests. Returns false when the leaf
 * cannot be read (non-x86, or a fake that does not know the leaf).
 */
typedef bool (*tee_cpuid_fn)(uint32_t leaf, uint32_t subleaf,
    uint32_t regs[4] /* eax, ebx, ecx, edx */, void *arg);

struct tee_probe {
	const char *root;     /* borrowed; "" or "/" = the real system */
	tee_cpuid_fn cpuid;   /* NULL = the CPUID instruction when root is
	                       * the real system, no CPUID otherwise */
	void *cpuid_arg;
	bool try_configfs;    /* mkdir a configfs-tsm entry to read its
	                       * provider (default true via tee_detect) */
};

/*
 * Detects the TEE under `root` ("" or "/" in production). Never fails for
 * a missing file; CORE_ERR_INVALID only for bad arguments. On an ordinary
 * host the result is TEE_NONE with hints explaining what was ignored.
 */
enum core_err tee_detect(const char *root, struct tee_detection *out,
    struct core_errbuf *eb);
/* Same with full control (tests inject CPUID). */
enum core_err tee_detect_probe(const struct tee_probe *probe,
    struct tee_detection *out, struct core_errbuf *eb);

/* {"tee":"tdx","signals":[...],"sgx_enclave":false,...}; NULL on OOM. */
json_t *tee_detection_to_json(const struct tee_detection *d);

/* ------------------------------------------------------------------ */
/* Attesters                                                           */
/* ------------------------------------------------------------------ */

struct tee_attest_opts {
	const char *root;       /* borrowed; "" or "/" = the real system */
	unsigned int vmpl;      /* SNP: VMPL/privlevel requested (0..3) */
	int retries;            /* configfs-tsm generation races / EBUSY
	                         * retries; 0 = default (3) */
	int64_t busy_wait_ms;   /* sleep between retries; 0 = 100 ms */
	bool no_configfs;       /* SNP/TDX: skip configfs-tsm, use ioctls */
};

/*
 * Produces the Trustee evidence JSON (malloc'd, compact) for `kind`:
 *   sample: {"svn":"1","report_data":"<b64 of report_data as given>"}
 *   tdx:    {"cc_eventlog":<b64 CCEL or null>,"quote":"<b64 quote>"}
 *   snp:    {"attestation_report":{...serde form...},"cert_chain":[...]|null}
 *   sgx:    {"quote":"<b64 quote>"}
 * report_data_len must be <= 64; hardware TEEs zero-pad it to 64 bytes,
 * sample encodes exactly the bytes given (the KBS expects the bare 48-byte
 * digest there). opts may be NULL (real system, defaults).
 * Errors name the interface and the step: e.g. "configfs-tsm: outblob:
 * Device or resource busy" (CORE_ERR_IO/CORE_ERR_TIMEOUT/CORE_ERR_STATE),
 * CORE_ERR_UNSUPPORTED when the TEE's interface is absent.
 */
enum core_err tee_attester_evidence(enum tee_kind kind,
    const uint8_t *report_data, size_t report_data_len,
    const struct tee_attest_opts *opts, char **evidence_json,
    struct core_errbuf *eb);

/*
 * Low level: one configfs-tsm report (spec tee-evidence.md section 2).
 * Creates an entry under <root>/sys/kernel/config/tsm/report, checks the
 * provider equals `want_provider` (e.g. "tdx_guest"; NULL = any), writes
 * privlevel (SNP, when vmpl >= 0) and the 64-byte inblob, reads outblob
 * and auxblob (may be empty), and verifies the generation counter.
 * *outblob and *auxblob are malloc'd (caller frees); auxblob may be NULL.
 */
struct tee_tsm_report {
	char provider[32];
	uint8_t *outblob;   /* owned */
	size_t outblob_len;
	uint8_t *auxblob;   /* owned; NULL when the provider has none */
	size_t auxblob_len;
};
enum core_err tee_tsm_get_report(const char *root, const char *want_provider,
    const uint8_t report_data[TEE_REPORT_DATA_LEN], int vmpl,
    const struct tee_attest_opts *opts, struct tee_tsm_report *out,
    struct core_errbuf *eb);
void tee_tsm_report_cleanup(struct tee_tsm_report *r);

/*
 * Converts a raw SNP attestation report (0x4A0 bytes) and an optional
 * certificate table (GUID table, spec section 4.2) into the Trustee
 * evidence JSON object. Used by the SNP attester; exposed for tests and
 * for the verifier's round trip.
 */
enum core_err tee_snp_evidence_json(const uint8_t *report, size_t report_len,
    const uint8_t *cert_table, size_t cert_table_len, json_t **out,
    struct core_errbuf *eb);

/*
 * TDX TDREPORT through /dev/tdx_guest (TDX_CMD_GET_REPORT0). The report is
 * MACed with a platform-local key: use it for local checks only (reading
 * mr_td, RTMRs), never as remote evidence. CORE_ERR_UNSUPPORTED without
 * the device, CORE_ERR_IO when the ioctl fails (errno in the message).
 */
#define TEE_TDREPORT_LEN 1024
enum core_err tee_tdx_tdreport(const char *root,
    const uint8_t report_data[TEE_REPORT_DATA_LEN],
    uint8_t out[TEE_TDREPORT_LEN], struct core_errbuf *eb);

/*
 * Decodes a TDREPORT (spec section 3.1) into {"report_type", "cpu_svn",
 * "report_data", "tee_tcb_svn", "mr_seam", "mr_td", "rtmr0".."rtmr3",
 * "td_attributes", "xfam", "mr_config_id", ...}. Rejects report types
 * other than 0x81 (TDX). *out is a new object.
 */
enum core_err tee_tdreport_claims(const uint8_t *p, size_t n, json_t **out,
    struct core_errbuf *eb);

#endif /* PROPELLER_TEE_H */
