/*
 * fuzz_core_toml.c -- the config.toml reader (identity fallback).
 */
#include <stdlib.h>

#include "core/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "entity_id", "client_key",
		"channel_id", "tenant_id" };
	size_t i;

	for (i = 0; i < 4; i++) {
		char *v = NULL;

		if (core_toml_get((const char *)data, size, "proplet", keys[i],
		    &v, NULL) == CORE_OK)
			free(v);
	}
	return 0;
}
