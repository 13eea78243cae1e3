/*
 * toml.c -- the subset of TOML that config.toml files use: [section]
 * headers, `key = "string"` or `key = 'string'` pairs, comments. Enough
 * for the identity fallback of spec propeller-wire.md §2.1, bounded, and
 * strict about what it does not understand.
 */
#include "core/core.h"

#include <ctype.h>
#include <string.h>

#define TOML_VALUE_MAX 4096

/* Skips spaces and tabs. */
static const char *
toml_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* Parses a basic or literal TOML string at p into out. */
static enum core_err
toml_string(const char *p, const char *end, char **out, struct core_errbuf *eb)
{
	struct core_buf b;
	char q = *p++;

	core_buf_init(&b, TOML_VALUE_MAX);
	while (p < end && *p != q && *p != '\n') {
		char c = *p++;

		if (q == '"' && c == '\\' && p < end) {
			char e = *p++;

			switch (e) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case '\\': c = '\\'; break;
			case '"': c = '"'; break;
			default:
				core_buf_cleanup(&b);
				return core_errf(eb, CORE_ERR_INVALID,
				    "toml: unsupported escape \\%c", e);
			}
		}
		if (core_buf_append(&b, &c, 1) != CORE_OK) {
			core_buf_cleanup(&b);
			return core_errf(eb, CORE_ERR_TOO_BIG,
			    "toml: value longer than %d bytes", TOML_VALUE_MAX);
		}
	}
	if (p >= end || *p != q) {
		core_buf_cleanup(&b);
		return core_errf(eb, CORE_ERR_INVALID, "toml: unterminated string");
	}
	*out = (char *)core_buf_steal(&b, NULL);
	return *out != NULL ? CORE_OK : CORE_ERR_NOMEM;
}

enum core_err
core_toml_get(const char *text, size_t len, const char *section,
    const char *key, char **out, struct core_errbuf *eb)
{
	const char *p = text, *end = text + len;
	bool in_section = false;
	int line = 0;

	*out = NULL;
	if (len > CORE_TOML_MAX_BYTES)
		return core_errf(eb, CORE_ERR_TOO_BIG, "toml: file too large");
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol != NULL ? eol : end;
		const char *q = toml_ws(p, le);

		line++;
		if (q < le && *q == '[') {
			const char *r = memchr(q, ']', (size_t)(le - q));
			const char *s = toml_ws(q + 1, le);
			size_t n;

			if (r == NULL)
				return core_errf(eb, CORE_ERR_INVALID,
				    "toml: line %d: unterminated section header",
				    line);
			n = (size_t)(r - s);
			while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
				n--;
			in_section = strlen(section) == n &&
			    strncmp(s, section, n) == 0;
		} else if (in_section && q < le && *q != '#') {
			const char *k = q, *v;
			size_t kn;

			while (q < le && (isalnum((unsigned char)*q) ||
			    *q == '_' || *q == '-'))
				q++;
			kn = (size_t)(q - k);
			q = toml_ws(q, le);
			if (kn == 0 || q >= le || *q != '=')
				return core_errf(eb, CORE_ERR_INVALID,
				    "toml: line %d: expected key = value", line);
			v = toml_ws(q + 1, le);
			if (kn == strlen(key) && strncmp(k, key, kn) == 0) {
				if (v < le && (*v == '"' || *v == '\''))
					return toml_string(v, le, out, eb);
				return core_errf(eb, CORE_ERR_INVALID,
				    "toml: line %d: %s must be a string", line,
				    key);
			}
		}
		p = eol != NULL ? eol + 1 : end;
	}
	return CORE_OK;
}

