/*
 * err.c -- the error convention: codes and the error buffer that carries
 * the reason up to whoever logs it.
 */
#include "core/core.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const core_err_names[] = {
	[CORE_OK] = "ok",
	[CORE_ERR_INVALID] = "invalid",
	[CORE_ERR_NOMEM] = "nomem",
	[CORE_ERR_IO] = "io",
	[CORE_ERR_NOT_FOUND] = "not_found",
	[CORE_ERR_EXISTS] = "exists",
	[CORE_ERR_TOO_BIG] = "too_big",
	[CORE_ERR_PERM] = "perm",
	[CORE_ERR_AUTH] = "auth",
	[CORE_ERR_CRYPTO] = "crypto",
	[CORE_ERR_NET] = "net",
	[CORE_ERR_TIMEOUT] = "timeout",
	[CORE_ERR_UNSUPPORTED] = "unsupported",
	[CORE_ERR_TRAP] = "trap",
	[CORE_ERR_STATE] = "state",
	[CORE_ERR_INTERNAL] = "internal",
};

const char *
core_err_str(enum core_err err)
{
	if ((size_t)err >= CORE_ARRAY_LEN(core_err_names) ||
	    core_err_names[err] == NULL)
		return "unknown";
	return core_err_names[err];
}

void
core_errbuf_clear(struct core_errbuf *eb)
{
	if (eb != NULL)
		eb->msg[0] = '\0';
}

static void errbuf_vset(struct core_errbuf *eb, const char *fmt, va_list ap)
    CORE_PRINTF(2, 0);

static void
errbuf_vset(struct core_errbuf *eb, const char *fmt, va_list ap)
{
	if (eb == NULL || eb->msg[0] != '\0')
		return;
	vsnprintf(eb->msg, sizeof(eb->msg), fmt, ap);
}

enum core_err
core_errf(struct core_errbuf *eb, enum core_err err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errbuf_vset(eb, fmt, ap);
	va_end(ap);
	return err;
}

enum core_err
core_errf_errno(struct core_errbuf *eb, enum core_err err, const char *fmt,
    ...)
{
	int saved = errno;
	va_list ap;
	size_t n;

	if (eb == NULL || eb->msg[0] != '\0')
		return err;
	va_start(ap, fmt);
	vsnprintf(eb->msg, sizeof(eb->msg), fmt, ap);
	va_end(ap);
	n = strlen(eb->msg);
	if (n < sizeof(eb->msg))
		snprintf(eb->msg + n, sizeof(eb->msg) - n, ": %s",
		    strerror(saved));
	return err;
}

void
core_errbuf_prefix(struct core_errbuf *eb, const char *fmt, ...)
{
	char joined[2 * CORE_ERRBUF_LEN + 4];
	va_list ap;
	int n;

	if (eb == NULL)
		return;
	va_start(ap, fmt);
	n = vsnprintf(joined, CORE_ERRBUF_LEN, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= CORE_ERRBUF_LEN)
		n = CORE_ERRBUF_LEN - 1;
	if (eb->msg[0] != '\0') {
		size_t m = strnlen(eb->msg, CORE_ERRBUF_LEN - 1);

		memcpy(joined + n, ": ", 2);
		memcpy(joined + n + 2, eb->msg, m);
		n += 2 + (int)m;
	}
	joined[n] = '\0';
	if ((size_t)n >= CORE_ERRBUF_LEN)
		n = CORE_ERRBUF_LEN - 1;
	memcpy(eb->msg, joined, (size_t)n);
	eb->msg[n] = '\0';
}

const char *
core_errbuf_msg(const struct core_errbuf *eb)
{
	return eb == NULL ? "" : eb->msg;
}
