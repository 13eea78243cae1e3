/*
 * kind.c -- the Trustee names of the TEE kinds.
 */
#include "tee/tee.h"

#include <string.h>

static const char *const tee_names[TEE_KIND_COUNT] = {
	[TEE_NONE] = "none",
	[TEE_SAMPLE] = "sample",
	[TEE_TDX] = "tdx",
	[TEE_SNP] = "snp",
	[TEE_SGX] = "sgx",
	[TEE_AZ_SNP_VTPM] = "az-snp-vtpm",
	[TEE_AZ_TDX_VTPM] = "az-tdx-vtpm",
};

const char *
tee_kind_name(enum tee_kind kind)
{
	if ((int)kind < 0 || kind >= TEE_KIND_COUNT)
		return "none";
	return tee_names[kind];
}

enum core_err
tee_kind_parse(const char *s, bool allow_none, enum tee_kind *out,
    struct core_errbuf *eb)
{
	if (s == NULL)
		return core_errf(eb, CORE_ERR_INVALID, "tee name is missing");
	for (int k = 0; k < TEE_KIND_COUNT; k++) {
		if (strcmp(s, tee_names[k]) != 0)
			continue;
		if (k == TEE_NONE && !allow_none)
			break;
		*out = (enum tee_kind)k;
		return CORE_OK;
	}
	return core_errf(eb, CORE_ERR_INVALID,
	    "unknown tee \"%.64s\" (want sample, tdx, snp, sgx, az-snp-vtpm "
	    "or az-tdx-vtpm)", s);
}
