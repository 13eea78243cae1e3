/*
 * env.c -- environment configuration read once at startup. Every bad value
 * is recorded as `NAME: problem (got "value")` so a daemon reports them all
 * and exits once.
 */
#include "core/core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CFG_ERRORS_MAX (64 * 1024)

void
core_cfg_init(struct core_cfg *c)
{
	core_buf_init(&c->errors, CFG_ERRORS_MAX);
	c->nerrors = 0;
}

void
core_cfg_cleanup(struct core_cfg *c)
{
	core_buf_cleanup(&c->errors);
	c->nerrors = 0;
}

void
core_cfg_error(struct core_cfg *c, const char *name, const char *value,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->nerrors++;
	if (c->errors.len > 0)
		core_buf_append(&c->errors, "\n", 1);
	if (value != NULL)
		core_buf_printf(&c->errors, "%s: %s (got \"%.200s\")", name,
		    msg, value);
	else
		core_buf_printf(&c->errors, "%s: %s", name, msg);
}

/* Finds the first set, non-empty variable; *name_out names it. */
static const char *
env_lookup(const char *const *names, const char **name_out)
{
	size_t i;

	for (i = 0; names[i] != NULL; i++) {
		const char *v = getenv(names[i]);

		if (v != NULL && *v != '\0') {
			*name_out = names[i];
			return v;
		}
	}
	*name_out = names[0];
	return NULL;
}

enum core_err
core_parse_bool(const char *s, bool *out)
{
	static const char *const t[] = { "1", "true", "yes", "on" };
	static const char *const f[] = { "0", "false", "no", "off" };
	size_t i;

	if (s == NULL)
		return CORE_ERR_INVALID;
	for (i = 0; i < CORE_ARRAY_LEN(t); i++) {
		if (strcasecmp(s, t[i]) == 0) {
			*out = true;
			return CORE_OK;
		}
		if (strcasecmp(s, f[i]) == 0) {
			*out = false;
			return CORE_OK;
		}
	}
	return CORE_ERR_INVALID;
}

enum core_err
core_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0' || *s == ' ' || *s == '\t')
		return CORE_ERR_INVALID;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return CORE_ERR_INVALID;
	if (v < min || v > max)
		return CORE_ERR_TOO_BIG;
	*out = v;
	return CORE_OK;
}

const char *
core_env_str(struct core_cfg *c, const char *const *names, const char *def)
{
	const char *name;
	const char *v = env_lookup(names, &name);

	(void)c;
	return v != NULL ? v : def;
}

int64_t
core_env_int(struct core_cfg *c, const char *const *names, int64_t def,
    int64_t min, int64_t max)
{
	const char *name;
	const char *v = env_lookup(names, &name);
	enum core_err err;
	int64_t n;

	if (v == NULL)
		return def;
	err = core_parse_int(v, min, max, &n);
	if (err == CORE_ERR_TOO_BIG) {
		core_cfg_error(c, name, v, "must be between %lld and %lld",
		    (long long)min, (long long)max);
		return def;
	}
	if (err != CORE_OK) {
		core_cfg_error(c, name, v, "not an integer");
		return def;
	}
	return n;
}

bool
core_env_bool(struct core_cfg *c, const char *const *names, bool def)
{
	const char *name;
	const char *v = env_lookup(names, &name);
	bool b;

	if (v == NULL)
		return def;
	if (core_parse_bool(v, &b) != CORE_OK) {
		core_cfg_error(c, name, v,
		    "expected true/false, 1/0, yes/no or on/off");
		return def;
	}
	return b;
}

int64_t
core_env_duration_ms(struct core_cfg *c, const char *const *names,
    int64_t def_ms)
{
	const char *name;
	const char *v = env_lookup(names, &name);
	int64_t ms;

	if (v == NULL)
		return def_ms;
	if (core_duration_parse_ms(v, &ms, NULL) != CORE_OK) {
		core_cfg_error(c, name, v,
		    "expected a duration such as 30s, 1m30s or 250ms");
		return def_ms;
	}
	return ms;
}
