/*
 * fuzz_snp_report.c -- the SNP report parser, the GUID certificate table
 * parser and the report -> Trustee JSON -> report round trip.
 */
#include <stdlib.h>
#include <string.h>

#include "tee/tee.h"
#include "verifier/verifier.h"
#include "verifier/verifier_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vrf_snp_certs certs = { 0 };
	json_t *c = NULL, *ev = NULL;

	if (verifier_parse(TEE_SNP, data, size, &c, NULL) == CORE_OK) {
		if (!json_is_string(json_object_get(c, "measurement")))
			abort();
		json_decref(c);
	}
	(void)vrf_snp_cert_table(data, size, &certs, NULL);
	if (certs.vcek != NULL &&
	    (certs.vcek < data || certs.vcek + certs.vcek_len > data + size))
		abort();
	if (size >= VRF_SNP_REPORT_LEN &&
	    tee_snp_evidence_json(data, VRF_SNP_REPORT_LEN,
	    data + VRF_SNP_REPORT_LEN, size - VRF_SNP_REPORT_LEN, &ev,
	    NULL) == CORE_OK) {
		uint8_t back[VRF_SNP_REPORT_LEN];

		/* Every signed byte and the signature survive the JSON form
		 * (reserved bytes are not carried). */
		if (vrf_snp_report_from_json(json_object_get(ev,
		    "attestation_report"), back, NULL) == CORE_OK &&
		    (memcmp(back + 0x50, data + 0x50, 0x130) != 0 ||
		    memcmp(back + 0x2A0, data + 0x2A0, 144) != 0))
			abort();
		json_decref(ev);
	}
	return 0;
}
