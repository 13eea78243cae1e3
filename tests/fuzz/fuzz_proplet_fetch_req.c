/*
 * fuzz_proplet_fetch_req.c -- the fetch helper's request body, as
 * proplet-fetch reads it from the daemon (fetch_helper.h): decoded, and
 * when accepted, re-encoded and decoded again to the same request.
 */
#include <stdlib.h>
#include <string.h>

#include "proplet/fetch_helper.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proplet_fetch_req r, again;
	char *body = NULL;
	size_t len = 0;

	if (proplet_fetch_req_decode(data, size, &r, NULL) != CORE_OK)
		return 0;
	if (proplet_fetch_req_encode(&r, &body, &len, NULL) == CORE_OK) {
		if (proplet_fetch_req_decode(body, len, &again, NULL) != CORE_OK ||
		    again.op != r.op || again.tee_kind != r.tee_kind ||
		    !same(again.url, r.url) ||
		    !same(again.kbs_resource_path, r.kbs_resource_path) ||
		    !same(again.registry_password, r.registry_password))
			abort();
		proplet_fetch_req_cleanup(&again);
		free(body);
	}
	proplet_fetch_req_cleanup(&r);
	return 0;
}
