/*
 * fuzz_tdx_quote.c -- the TDX quote parser (v4, v5) and the verification
 * pipeline behind it (signatures, PCK chain) on hostile bytes, and the
 * CC event log (CCEL) replay that checks the quote's RTMRs.
 */
#include <stdlib.h>
#include <string.h>

#include "verifier/verifier.h"
#include "verifier/verifier_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct verifier_opts o = { .check_time = 1688169600 };
	json_t *c = NULL;
	uint8_t rtmr[4][48];
	size_t nev = 0;

	if (vrf_ccel_replay(data, size, rtmr, &nev, NULL) == CORE_OK &&
	    nev > size / 12)
		abort(); /* every event takes at least 12 bytes */
	if (verifier_parse(TEE_TDX, data, size, &c, NULL) == CORE_OK) {
		if (!json_is_string(json_object_get(c, "mr_td")))
			abort();
		json_decref(c);
		c = NULL;
		(void)verifier_verify(TEE_TDX, data, size, NULL, 0, &o, &c,
		    NULL);
		json_decref(c);
	}
	return 0;
}
