/* Fuzzes the /kbs/v0/auth request parser and path/tee validation. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kbs/kbs_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char tee[32], r[KBS_SEGMENT_MAX + 1], t[KBS_SEGMENT_MAX + 1],
	    g[KBS_SEGMENT_MAX + 1];
	char *s;

	(void)kbs_parse_auth_request(data, size, tee, NULL);
	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	(void)kbs_path_parse(s, r, t, g, NULL);
	(void)kbs_tee_valid(s);
	free(s);
	return 0;
}
