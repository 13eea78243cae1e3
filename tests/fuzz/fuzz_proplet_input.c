/*
 * fuzz_proplet_input.c -- what a start message and the proxy hand the
 * proplet beyond the MQTT codecs: cli_args (split at NUL bytes) through
 * the invocation parser, and chunk messages through the reassembly store.
 */
#include <stdlib.h>
#include <string.h>

#include "proplet/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proplet_invocation inv;
	struct proplet_chunks *cs;
	struct mqtt_strv sv = { 0 };
	struct mqtt_chunk c;
	char *copy = malloc(size + 1), *p;
	uint8_t *out;
	size_t len;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (p = copy; p < copy + size && sv.n < 64; p += strlen(p) + 1) {
		char **nv = realloc(sv.v, (sv.n + 1) * sizeof(*nv));

		if (nv == NULL)
			break;
		sv.v = nv;
		sv.v[sv.n++] = p;
	}
	if (proplet_invocation_parse(&sv, &inv, NULL) == CORE_OK &&
	    inv.invoke != NULL && *inv.invoke == '\0')
		abort(); /* an empty export name must be refused */
	proplet_invocation_cleanup(&inv);
	free(sv.v);

	/* The same bytes as a chunk message, twice (duplicates, conflicts). */
	cs = proplet_chunks_new();
	memset(&c, 0, sizeof(c));
	if (cs != NULL && mqtt_chunk_decode(data, size, &c, NULL) == CORE_OK) {
		(void)proplet_chunks_add(cs, &c, NULL);
		(void)proplet_chunks_add(cs, &c, NULL);
		if (proplet_chunks_wait(cs, c.app_name, 0, &out, &len, NULL) ==
		    CORE_OK)
			free(out);
	}
	mqtt_chunk_cleanup(&c);
	proplet_chunks_free(cs);
	free(copy);
	return 0;
}
