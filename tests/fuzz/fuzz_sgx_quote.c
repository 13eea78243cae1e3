/*
 * fuzz_sgx_quote.c -- the SGX DCAP v3 quote parser and verification on
 * hostile bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "verifier/verifier.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct verifier_opts o = { .check_time = 1688169600 };
	json_t *c = NULL;

	if (verifier_parse(TEE_SGX, data, size, &c, NULL) == CORE_OK) {
		if (!json_is_string(json_object_get(c, "mr_enclave")))
			abort();
		json_decref(c);
		c = NULL;
		(void)verifier_verify(TEE_SGX, data, size, NULL, 0, &o, &c,
		    NULL);
		json_decref(c);
	}
	return 0;
}
