/*
 * fuzz_evidence_json.c -- Trustee evidence JSON for every TEE: sample,
 * tdx ({"quote"}), sgx, snp (serde attestation_report + cert_chain).
 */
#include <stdlib.h>
#include <string.h>

#include "verifier/verifier.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum tee_kind kinds[] = { TEE_SAMPLE, TEE_TDX, TEE_SGX,
		TEE_SNP };
	struct verifier_opts o = { .check_time = 1688169600,
		.allow_debug = true };
	static const uint8_t rd[48] = { 0 };

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		json_t *c = NULL;

		if (verifier_parse(kinds[i], data, size, &c, NULL) == CORE_OK)
			json_decref(c);
		c = NULL;
		(void)verifier_verify(kinds[i], data, size, rd, sizeof(rd), &o,
		    &c, NULL);
		json_decref(c);
	}
	return 0;
}
