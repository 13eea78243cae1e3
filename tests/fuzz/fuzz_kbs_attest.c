/*
 * Fuzzes the /kbs/v0/attest request parser and, for bodies that parse, the
 * binding check and sample verifier (a fixed session nonce).
 */
#include <stdint.h>
#include <stdlib.h>

#include "kbs/kbs_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *req = NULL, *claims = NULL;

	if (kbs_parse_attest_request(data, size, &req, NULL) != CORE_OK)
		return 0;
	(void)kbs_evidence_verify("sample", req,
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 1000, 300, &claims,
	    NULL);
	json_decref(claims);
	json_decref(req);
	return 0;
}
