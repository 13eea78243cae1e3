/*
 * Fuzzes the resource-policy request body ({"policy": b64url}) and the
 * policy parser, evaluating accepted policies on fixed claims.
 */
#include <stdint.h>
#include <stdlib.h>

#include "kbs/kbs_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kbs_policy *p = NULL;
	uint8_t *text = NULL;
	size_t n = 0;
	const char *why;
	bool allow;
	json_t *claims;

	if (kbs_parse_policy_request(data, size, &text, &n, NULL) == CORE_OK)
		free(text);
	if (kbs_policy_parse(data, size, &p, NULL) != CORE_OK)
		return 0;
	claims = json_pack("{s:{s:{s:s,s:{s:{s:b,s:s}}}}}", "submods", "cpu0",
	    "ear.status", "affirming", "ear.veraison.annotated-evidence", "tdx",
	    "debug", 0, "mr_td", "abc");
	if (claims != NULL) {
		kbs_policy_eval(p, claims, "default/key/k", &allow, &why);
		json_decref(claims);
	}
	kbs_policy_free(p);
	return 0;
}
