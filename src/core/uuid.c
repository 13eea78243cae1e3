/*
 * uuid.c -- random (version 4) UUIDs and their validation.
 */
#include "core/core.h"

#include <stdio.h>
#include <string.h>

enum core_err
core_uuid_v4(char out[CORE_UUID_STR_LEN + 1])
{
	uint8_t b[16];
	enum core_err err;

	if ((err = core_random(b, sizeof(b), NULL)) != CORE_OK)
		return err;
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, CORE_UUID_STR_LEN + 1,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
	    b[11], b[12], b[13], b[14], b[15]);
	return CORE_OK;
}

bool
core_uuid_valid(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != CORE_UUID_STR_LEN)
		return false;
	for (i = 0; i < CORE_UUID_STR_LEN; i++) {
		char c = s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return false;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F'))) {
			return false;
		}
	}
	return true;
}
