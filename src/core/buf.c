/*
 * buf.c -- bounded growable byte buffers (after curl's dynbuf): every
 * buffer has a ceiling, and a failed append leaves it unchanged.
 */
#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_MIN_CAP 64

void
core_buf_init(struct core_buf *b, size_t max_len)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max_len = max_len == 0 ? SIZE_MAX - 1 : max_len;
}

void
core_buf_cleanup(struct core_buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
core_buf_cleanup_secure(struct core_buf *b)
{
	if (b == NULL)
		return;
	if (b->data != NULL)
		core_wipe(b->data, b->cap);
	core_buf_cleanup(b);
}

void
core_buf_reset(struct core_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

enum core_err
core_buf_reserve(struct core_buf *b, size_t extra)
{
	size_t need, ncap;
	uint8_t *nd;

	if (extra > b->max_len || b->len > b->max_len - extra)
		return CORE_ERR_TOO_BIG;
	need = b->len + extra + 1; /* room for the NUL */
	if (need <= b->cap)
		return CORE_OK;
	ncap = b->cap < BUF_MIN_CAP ? BUF_MIN_CAP : b->cap;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2) {
			ncap = need;
			break;
		}
		ncap *= 2;
	}
	if ((nd = realloc(b->data, ncap)) == NULL)
		return CORE_ERR_NOMEM;
	b->data = nd;
	b->cap = ncap;
	return CORE_OK;
}

enum core_err
core_buf_append(struct core_buf *b, const void *p, size_t n)
{
	enum core_err err;

	if ((err = core_buf_reserve(b, n)) != CORE_OK)
		return err;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return CORE_OK;
}

enum core_err
core_buf_append_str(struct core_buf *b, const char *s)
{
	return core_buf_append(b, s, strlen(s));
}

enum core_err
core_buf_printf(struct core_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	enum core_err err;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return CORE_ERR_INVALID;
	if ((err = core_buf_reserve(b, (size_t)n)) != CORE_OK)
		return err;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return CORE_OK;
}

uint8_t *
core_buf_steal(struct core_buf *b, size_t *len_out)
{
	uint8_t *d = b->data;

	if (d == NULL) {
		/* An empty buffer still yields a valid, NUL-terminated string. */
		d = calloc(1, 1);
	}
	if (len_out != NULL)
		*len_out = b->len;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return d;
}
