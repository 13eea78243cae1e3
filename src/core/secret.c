/*
 * secret.c -- key material: struct secret, wiping, constant-time compare
 * and random bytes. Every place a key can be holds a struct secret.
 */
#include "core/core.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

struct secret *
secret_new(size_t len)
{
	struct secret *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	/* calloc(1, 0) may return NULL: always keep a valid pointer. */
	if ((s->ptr = calloc(1, len > 0 ? len : 1)) == NULL) {
		free(s);
		return NULL;
	}
	s->len = len;
#ifdef MADV_DONTDUMP
	/* Best effort: only whole pages can be excluded from core dumps. */
	if (len >= 4096) {
		uintptr_t start = ((uintptr_t)s->ptr + 4095) & ~(uintptr_t)4095;
		uintptr_t end = ((uintptr_t)s->ptr + len) & ~(uintptr_t)4095;

		if (end > start)
			(void)madvise((void *)start, end - start,
			    MADV_DONTDUMP);
	}
#endif
	return s;
}

struct secret *
secret_from(const void *p, size_t len)
{
	struct secret *s = secret_new(len);

	if (s != NULL && len > 0)
		memcpy(s->ptr, p, len);
	return s;
}

void
secret_free(struct secret *s)
{
	if (s == NULL)
		return;
	if (s->ptr != NULL) {
		OPENSSL_cleanse(s->ptr, s->len > 0 ? s->len : 1);
		free(s->ptr);
	}
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

void
core_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

bool
core_ct_equal(const void *a, const void *b, size_t n)
{
	if (n == 0)
		return true;
	return CRYPTO_memcmp(a, b, n) == 0;
}

enum core_err
core_random(void *p, size_t n, struct core_errbuf *eb)
{
	if (n == 0)
		return CORE_OK;
	if (n > INT32_MAX)
		return core_errf(eb, CORE_ERR_INVALID, "random: %zu bytes is too many", n);
	if (RAND_bytes(p, (int)n) != 1)
		return core_errf(eb, CORE_ERR_CRYPTO,
		    "random: RAND_bytes failed (%lu)", ERR_get_error());
	return CORE_OK;
}
