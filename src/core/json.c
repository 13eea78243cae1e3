/*
 * json.c -- bounded parsing and typed getters over jansson.
 */
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

enum core_err
core_json_parse(const void *p, size_t n, size_t max_len, json_t **out,
    struct core_errbuf *eb)
{
	json_error_t jerr;
	json_t *v;

	*out = NULL;
	if (max_len == 0)
		max_len = CORE_JSON_MAX_DEFAULT;
	if (n > max_len)
		return core_errf(eb, CORE_ERR_TOO_BIG,
		    "json: document of %zu bytes exceeds the limit of %zu", n,
		    max_len);
	if (p == NULL || n == 0)
		return core_errf(eb, CORE_ERR_INVALID, "json: empty document");
	v = json_loadb(p, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (v == NULL)
		return core_errf(eb, CORE_ERR_INVALID,
		    "json: %s at line %d column %d", jerr.text, jerr.line,
		    jerr.column);
	*out = v;
	return CORE_OK;
}

enum core_err
core_json_parse_object(const void *p, size_t n, size_t max_len, json_t **out,
    struct core_errbuf *eb)
{
	enum core_err err;

	if ((err = core_json_parse(p, n, max_len, out, eb)) != CORE_OK)
		return err;
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return core_errf(eb, CORE_ERR_INVALID,
		    "json: expected an object at the top level");
	}
	return CORE_OK;
}

/* Returns the member, or NULL when absent or null. */
static json_t *
member(const json_t *obj, const char *key)
{
	json_t *v;

	if (!json_is_object(obj))
		return NULL;
	v = json_object_get(obj, key);
	return json_is_null(v) ? NULL : v;
}

static enum core_err
missing(struct core_errbuf *eb, const char *key)
{
	return core_errf(eb, CORE_ERR_INVALID, "missing required field \"%s\"",
	    key);
}

enum core_err
core_json_get_str(const json_t *obj, const char *key, bool required,
    const char **out, struct core_errbuf *eb)
{
	json_t *v = member(obj, key);

	if (v == NULL)
		return required ? missing(eb, key) : CORE_OK;
	if (!json_is_string(v))
		return core_errf(eb, CORE_ERR_INVALID,
		    "field \"%s\" must be a string", key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return core_errf(eb, CORE_ERR_INVALID,
		    "field \"%s\" contains a NUL character", key);
	*out = json_string_value(v);
	return CORE_OK;
}

enum core_err
core_json_get_int(const json_t *obj, const char *key, bool required,
    int64_t *out, struct core_errbuf *eb)
{
	json_t *v = member(obj, key);

	if (v == NULL)
		return required ? missing(eb, key) : CORE_OK;
	if (!json_is_integer(v))
		return core_errf(eb, CORE_ERR_INVALID,
		    "field \"%s\" must be an integer", key);
	*out = (int64_t)json_integer_value(v);
	return CORE_OK;
}

enum core_err
core_json_get_bool(const json_t *obj, const char *key, bool required,
    bool *out, struct core_errbuf *eb)
{
	json_t *v = member(obj, key);

	if (v == NULL)
		return required ? missing(eb, key) : CORE_OK;
	if (!json_is_boolean(v))
		return core_errf(eb, CORE_ERR_INVALID,
		    "field \"%s\" must be a boolean", key);
	*out = json_is_true(v);
	return CORE_OK;
}

enum core_err
core_json_get_b64(const json_t *obj, const char *key, bool required,
    uint8_t **out, size_t *out_len, struct core_errbuf *eb)
{
	const char *s = NULL;
	enum core_err err;

	if ((err = core_json_get_str(obj, key, required, &s, eb)) != CORE_OK)
		return err;
	if (s == NULL)
		return CORE_OK;
	err = core_b64_decode(s, strlen(s), out, out_len, eb);
	if (err != CORE_OK)
		core_errbuf_prefix(eb, "field \"%s\"", key);
	return err;
}

char *
core_json_dumps(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}
