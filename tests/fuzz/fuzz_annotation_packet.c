/*
 * fuzz_annotation_packet.c -- CoCo AnnotationPacket JSON (parse, unwrap
 * with a fixed KEK, re-emit), kid URIs and KEK text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ocicrypt/ocicrypt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t kb[32] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
	    13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29,
	    30, 31};
	struct ocicrypt_packet pk;
	struct secret *kek = secret_from(kb, sizeof(kb)), *po = NULL, *k2;
	char *s, *res = NULL;

	if (kek == NULL)
		return 0;
	if (ocicrypt_packet_parse(data, size, &pk, NULL) == CORE_OK) {
		free(ocicrypt_packet_dump(&pk));
		if (ocicrypt_packet_unwrap(&pk, kek, &po, NULL) == CORE_OK)
			secret_free(po);
		if (ocicrypt_kid_resource(pk.kid, &res, NULL) == CORE_OK)
			free(res);
		ocicrypt_packet_cleanup(&pk);
	}
	if (ocicrypt_kek_from_bytes(data, size, &k2, NULL) == CORE_OK)
		secret_free(k2);
	if (size < 2048 && (s = malloc(size + 1)) != NULL) {
		memcpy(s, data, size);
		s[size] = '\0';
		if (ocicrypt_kid_resource(s, &res, NULL) == CORE_OK)
			free(res);
		free(s);
	}
	secret_free(kek);
	return 0;
}
