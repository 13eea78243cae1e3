/*
 * fuzz_manifest.c -- manifests and indexes (with platform selection),
 * image references and WWW-Authenticate challenges.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oci/oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const cts[] = {
	    NULL, OCI_MT_MANIFEST, OCI_MT_INDEX, OCI_MT_DOCKER_LIST};
	struct oci_manifest *m = NULL;
	struct oci_ref *r = NULL;
	struct oci_challenge c;
	char *s, *dump;
	size_t idx;

	if (oci_manifest_parse(data, size, cts[size % 4], &m, NULL) ==
	    CORE_OK) {
		if (m->kind == OCI_KIND_INDEX)
			oci_index_select(m, NULL, NULL, NULL, &idx, NULL);
		dump = oci_manifest_dump(m, NULL);
		free(dump);
		oci_manifest_free(m);
	}
	if (size > 4096)
		return 0;
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (oci_ref_parse(s, &r, NULL) == CORE_OK) {
		free(oci_ref_string(r));
		oci_ref_free(r);
	}
	if (oci_challenge_parse(s, &c, NULL) == CORE_OK)
		oci_challenge_cleanup(&c);
	free(s);
	return 0;
}
