/*
 * log.c -- structured log lines on stderr:
 *   ts=... level=info proc=proplet mod=oci msg="..." k=v
 * The level check happens in the macros, before any formatting.
 */
#include "core/core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096

static enum log_level log_level_cur = LOG_LEVEL_INFO;
static const char *log_proc = "propeller";
static int log_fd = STDERR_FILENO;

static const char *const log_level_names[] = {
	[LOG_LEVEL_DEBUG] = "debug",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_NONE] = "none",
};

void
log_set_proc(const char *proc)
{
	log_proc = proc != NULL ? proc : "propeller";
}

void
log_set_level(enum log_level level)
{
	log_level_cur = level;
}

enum log_level
log_get_level(void)
{
	return log_level_cur;
}

void
log_set_fd(int fd)
{
	log_fd = fd < 0 ? STDERR_FILENO : fd;
}

enum core_err
log_level_parse(const char *s, enum log_level *out)
{
	size_t i;

	if (s == NULL)
		return CORE_ERR_INVALID;
	if (strcasecmp(s, "warning") == 0) {
		*out = LOG_LEVEL_WARN;
		return CORE_OK;
	}
	for (i = 0; i < CORE_ARRAY_LEN(log_level_names); i++) {
		if (strcasecmp(s, log_level_names[i]) == 0) {
			*out = (enum log_level)i;
			return CORE_OK;
		}
	}
	return CORE_ERR_INVALID;
}

/* Appends msg quoted, escaping quotes, backslashes and control bytes. */
static void
log_quote(struct core_buf *b, const char *msg)
{
	const unsigned char *p;

	core_buf_append(b, "\"", 1);
	for (p = (const unsigned char *)msg; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			char esc[2] = { '\\', (char)*p };

			core_buf_append(b, esc, 2);
		} else if (*p == '\n') {
			core_buf_append(b, "\\n", 2);
		} else if (*p < 0x20 || *p == 0x7f) {
			core_buf_printf(b, "\\x%02x", *p);
		} else {
			core_buf_append(b, p, 1);
		}
	}
	core_buf_append(b, "\"", 1);
}

static void log_vemit(enum log_level level, const char *mod,
    const char *fields, const char *suffix, const char *fmt, va_list ap)
    CORE_PRINTF(5, 0);

static void
log_vemit(enum log_level level, const char *mod, const char *fields,
    const char *suffix, const char *fmt, va_list ap)
{
	char ts[CORE_RFC3339_LEN];
	char msg[LOG_LINE_MAX];
	struct core_buf b;
	int saved = errno;

	if (level < log_level_cur || level >= LOG_LEVEL_NONE)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (suffix != NULL) {
		size_t n = strlen(msg);

		snprintf(msg + n, sizeof(msg) - n, ": %s", suffix);
	}
	core_rfc3339(core_wall_ns(), 3, ts);
	core_buf_init(&b, LOG_LINE_MAX * 2);
	core_buf_printf(&b, "ts=%s level=%s proc=%s mod=%s msg=", ts,
	    log_level_names[level], log_proc, mod != NULL ? mod : "main");
	log_quote(&b, msg);
	if (fields != NULL && *fields != '\0')
		core_buf_printf(&b, " %s", fields);
	core_buf_append(&b, "\n", 1);
	if (b.data != NULL)
		(void)core_write_all(log_fd, b.data, b.len);
	core_buf_cleanup(&b);
	errno = saved;
}

void
log_emit(enum log_level level, const char *mod, const char *fields,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(level, mod, fields, NULL, fmt, ap);
	va_end(ap);
}

void
log_warn_errno(const char *mod, const char *fmt, ...)
{
	const char *e = strerror(errno);
	va_list ap;

	if (log_level_cur > LOG_LEVEL_WARN)
		return;
	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_WARN, mod, NULL, e, fmt, ap);
	va_end(ap);
}

void
core_fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (log_level_cur > LOG_LEVEL_ERROR)
		log_level_cur = LOG_LEVEL_ERROR;
	log_vemit(LOG_LEVEL_ERROR, "main", NULL, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
