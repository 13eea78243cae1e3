/*
 * helpers.h -- small shared helpers for the crypto unit tests: hex and
 * vector-file loading, and comparisons against expected hex.
 */
#ifndef PROPELLER_TEST_CRYPTO_HELPERS_H
#define PROPELLER_TEST_CRYPTO_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/core.h"
#include "crypto/crypto.h"

/* Decodes hex (the test aborts on bad hex). */
static inline uint8_t *
th_hex(const char *hex, size_t *len)
{
	uint8_t *p = NULL;
	size_t n = 0;

	assert_int_equal(core_hex_decode(hex, strlen(hex), &p, &n, NULL),
	    CORE_OK);
	if (len != NULL)
		*len = n;
	return p;
}

static inline void
th_assert_hex(const uint8_t *p, size_t n, const char *hex)
{
	char *h = core_hex_encode(p, n);

	assert_non_null(h);
	assert_string_equal(h, hex);
	free(h);
}

/* Reads a file of tests/unit/crypto/vectors/ (NUL-terminated). */
static inline char *
th_vec(const char *name, size_t *len)
{
	const char *src = getenv("PROPELLER_SOURCE_DIR");
	char path[1024];
	uint8_t *p = NULL;
	size_t n = 0;

	assert_non_null(src);
	snprintf(path, sizeof(path), "%s/tests/unit/crypto/vectors/%s", src,
	    name);
	assert_int_equal(core_fs_read(path, 0, &p, &n, NULL), CORE_OK);
	if (len != NULL)
		*len = n;
	return (char *)p;
}

/* Reads a file under $PROPELLER_TESTDATA (NUL-terminated). */
static inline char *
th_testdata(const char *rel, size_t *len)
{
	const char *td = getenv("PROPELLER_TESTDATA");
	char path[1024];
	uint8_t *p = NULL;
	size_t n = 0;

	assert_non_null(td);
	snprintf(path, sizeof(path), "%s/%s", td, rel);
	assert_int_equal(core_fs_read(path, 0, &p, &n, NULL), CORE_OK);
	if (len != NULL)
		*len = n;
	return (char *)p;
}

/* Loads a key from a vector file. */
static inline struct crypto_key *
th_vec_key(const char *name)
{
	struct crypto_key *k = NULL;
	struct core_errbuf eb;
	size_t n = 0;
	char *s = th_vec(name, &n);

	core_errbuf_clear(&eb);
	if (crypto_key_load(s, n, &k, &eb) != CORE_OK)
		fail_msg("%s: %s", name, core_errbuf_msg(&eb));
	free(s);
	return k;
}

/* A secret from base64url text. */
static inline struct secret *
th_b64url_secret(const char *s)
{
	uint8_t *p = NULL;
	size_t n = 0;
	struct secret *sec;

	assert_int_equal(core_b64url_decode(s, strlen(s), &p, &n, NULL),
	    CORE_OK);
	sec = secret_from(p, n);
	free(p);
	assert_non_null(sec);
	return sec;
}

#define TH_ASSERT_ERR_CONTAINS(eb, needle) do { \
	if (strstr(core_errbuf_msg(eb), (needle)) == NULL) \
		fail_msg("error \"%s\" lacks \"%s\"", core_errbuf_msg(eb), \
		    (needle)); \
} while (0)

#endif
