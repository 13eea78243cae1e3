/*
 * verifier.h -- offline verification of TEE evidence.
 *
 * Owns: parsers for Intel TDX quotes (v4, v5), Intel SGX DCAP quotes (v3),
 * AMD SEV-SNP attestation reports (v2..v5) and the Trustee evidence JSON
 * that carries them; signature and certificate-chain verification to
 * pinned, bundled roots (Intel SGX Root CA; AMD ARK for Milan, Genoa and
 * Turin, with their ASK and ASVK); optional Intel PCS collateral (CRLs, TCB
 * info, QE identity); and the claims JSON that policies read.
 *
 * Evidence is hostile input: every length is bounded and checked, report
 * data is compared in constant time, and anchors that arrive with evidence
 * are never trusted (at most compared with the pinned ones).
 *
 * Depends on: core, tee (enum tee_kind), OpenSSL 3, jansson.
 * Never: logs, touches the network, or reads files other than those named
 * in verifier_opts.
 */
#ifndef PROPELLER_VERIFIER_H
#define PROPELLER_VERIFIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/core.h"
#include "tee/tee.h"

/* Largest evidence accepted (JSON or binary). */
#define VERIFIER_MAX_EVIDENCE (1024 * 1024)

struct verifier_opts {
	/*
	 * Time at which certificates, CRLs and collateral must be valid,
	 * seconds since the epoch; 0 = now.
	 */
	int64_t check_time;
	/*
	 * Optional Intel PCS collateral directory (TDX/SGX). Files used when
	 * present: tcbInfo.json (or tcbInfo_response.json), qeIdentity.json
	 * (or qeIdentity_response.json), pckcrl (DER or PEM), rootcrl.der,
	 * tcb_signing_chain.pem (TCB signing cert + root); for SNP the AMD
	 * CRL amd_crl.der (or crl.der, PEM accepted) from KDS. When set, every
	 * collateral check that has its file must pass, and the TCB status
	 * must be a supported level. NULL = offline, "tcb_status":
	 * "not evaluated". Borrowed.
	 */
	const char *collateral_dir;
	/* Optional explicit SNP VCEK or VLEK (DER or PEM); borrowed. */
	const uint8_t *vcek;
	size_t vcek_len;
	/* Accept evidence with the debug bit set (default: reject). */
	bool allow_debug;
	/*
	 * SNP: highest VMPL accepted in the report (default 0, as Trustee;
	 * raise it for guests that request reports from a higher VMPL).
	 */
	unsigned int max_vmpl;
	/*
	 * Optional init-data digest: compared (constant time, zero-padded) with
	 * TDX mr_config_id (<= 48 bytes) or SNP host_data (<= 32 bytes); longer
	 * values are rejected. NULL = not checked. Borrowed.
	 */
	const uint8_t *init_data_digest;
	size_t init_data_digest_len;
};

/*
 * Verifies evidence of `kind`. `evidence` is either the Trustee evidence
 * JSON (first non-blank byte '{') or the raw binary (TDX/SGX quote, SNP
 * report, or for SNP the report followed by its GUID certificate table;
 * a bare SNP report needs opts->vcek). `expected_report_data`
 * (len <= 64; NULL = not checked) is compared in constant time: for
 * hardware TEEs zero-padded to 64 bytes, for sample exactly.
 *
 * On success *claims is a new object (caller json_decref's):
 *   {"tee":"tdx","version":4,"report_data":"<hex>", measurements...,
 *    "debug":false, "tcb":{...}, "verification":{"quote_signature":"ok",
 *    ...,"tcb_status":"not evaluated"}}
 * On failure the error names the failing step first, e.g.
 *   "tdx: quote signature: verification failed",
 *   "snp: vcek chain: certificate has expired",
 *   "tdx: report_data: mismatch". Codes: CORE_ERR_INVALID (malformed),
 * CORE_ERR_AUTH (a signature, chain or binding failed), CORE_ERR_PERM (a
 * policy check failed: debug, report_data, init data, TCB status). For
 * CORE_ERR_PERM the evidence itself was authentic and *claims is still
 * set so the caller can report what it said; otherwise *claims is NULL.
 */
enum core_err verifier_verify(enum tee_kind kind, const uint8_t *evidence,
    size_t evidence_len, const uint8_t *expected_report_data,
    size_t expected_len, const struct verifier_opts *opts, json_t **claims,
    struct core_errbuf *eb);

/*
 * Parses without verifying any signature: returns the fields as claims
 * (no "verification" member). For inspection tools and fuzzing.
 */
enum core_err verifier_parse(enum tee_kind kind, const uint8_t *evidence,
    size_t evidence_len, json_t **claims, struct core_errbuf *eb);

/*
 * The pinned trust anchors, PEM text (for `evidence` CLI output and tests).
 * name: "intel-sgx-root", "amd-ark-milan", "amd-ask-milan",
 * "amd-asvk-milan", and the same for genoa and turin. NULL when unknown.
 */
const char *verifier_anchor_pem(const char *name);

#endif /* PROPELLER_VERIFIER_H */
