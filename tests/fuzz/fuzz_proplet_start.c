/*
 * fuzz_proplet_start.c -- the proplet's fast lane for start messages
 * (service.c: start_file_span, start_decode) against the ordinary decoder:
 * both must accept the same messages and give the same fields, and a
 * `file` value the scanner finds must be the one jansson decodes.
 */
#include <stdlib.h>
#include <string.h>

#include "mqtt/mqtt.h"

/* File-local in service.c, reached through STATIC in test builds. */
bool start_file_span(const char *p, size_t n, size_t *off, size_t *len);
enum core_err start_decode(const void *payload, size_t n,
    struct mqtt_start *m, struct core_errbuf *eb);
extern size_t start_fast_min;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mqtt_start a, b;
	enum core_err ea, eb;
	size_t off = 0, len = 0;
	bool found;

	start_fast_min = 0;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	ea = mqtt_start_decode(data, size, &a, NULL);
	eb = start_decode(data, size, &b, NULL);
	if (ea != eb)
		abort();
	found = start_file_span((const char *)data, size, &off, &len);
	if (ea == CORE_OK) {
		if (!same_str(a.id, b.id) || !same_str(a.name, b.name) ||
		    !same_str(a.file, b.file) ||
		    !same_str(a.image_url, b.image_url) ||
		    a.inputs.n != b.inputs.n || a.env.n != b.env.n ||
		    a.encrypted != b.encrypted || a.daemon != b.daemon)
			abort();
		if (found && (a.file == NULL || strlen(a.file) != len ||
		    memcmp(a.file, data + off, len) != 0))
			abort();
	}
	mqtt_start_cleanup(&a);
	mqtt_start_cleanup(&b);
	return 0;
}
