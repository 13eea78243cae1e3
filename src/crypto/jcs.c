/*
 * jcs.c -- RFC 8785 JSON Canonicalization Scheme over jansson values: the
 * form the KBS hashes to bind a TEE key and nonce into evidence.
 */
#include "crypto/crypto.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/internal.h"

#define JCS_MAX_OUT (64 * 1024 * 1024)

struct jcs_member {
	const char *key;      /* borrowed from the object */
	size_t key_len;
	uint16_t *u16;        /* owned: key as UTF-16 code units */
	size_t u16_len;
	json_t *value;        /* borrowed */
};

STATIC enum core_err jcs_utf16(const char *s, size_t n, uint16_t **out,
    size_t *out_len);
static int jcs_member_cmp(const void *a, const void *b);
static enum core_err jcs_value(struct core_buf *b, const json_t *v, int depth,
    struct core_errbuf *eb);
static enum core_err jcs_object(struct core_buf *b, const json_t *v,
    int depth, struct core_errbuf *eb);

/*
 * Converts UTF-8 (already validated by jansson) to UTF-16 code units so
 * member names sort as RFC 8785 §3.2.3 requires.
 */
STATIC enum core_err
jcs_utf16(const char *s, size_t n, uint16_t **out, size_t *out_len)
{
	const uint8_t *p = (const uint8_t *)s;
	uint16_t *u;
	size_t i = 0, k = 0;

	u = malloc((n + 1) * sizeof(*u));
	if (u == NULL)
		return CORE_ERR_NOMEM;
	while (i < n) {
		uint32_t cp;
		size_t extra;

		if (p[i] < 0x80) {
			cp = p[i];
			extra = 0;
		} else if ((p[i] & 0xe0) == 0xc0) {
			cp = p[i] & 0x1f;
			extra = 1;
		} else if ((p[i] & 0xf0) == 0xe0) {
			cp = p[i] & 0x0f;
			extra = 2;
		} else if ((p[i] & 0xf8) == 0xf0) {
			cp = p[i] & 0x07;
			extra = 3;
		} else {
			free(u);
			return CORE_ERR_INVALID;
		}
		if (extra > 0 && i + extra >= n) {
			free(u);
			return CORE_ERR_INVALID;
		}
		for (size_t j = 1; j <= extra; j++) {
			if ((p[i + j] & 0xc0) != 0x80) {
				free(u);
				return CORE_ERR_INVALID;
			}
			cp = (cp << 6) | (p[i + j] & 0x3f);
		}
		i += extra + 1;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			u[k++] = (uint16_t)(0xd800 | (cp >> 10));
			u[k++] = (uint16_t)(0xdc00 | (cp & 0x3ff));
		} else {
			u[k++] = (uint16_t)cp;
		}
	}
	*out = u;
	*out_len = k;
	return CORE_OK;
}

static int
jcs_member_cmp(const void *a, const void *b)
{
	const struct jcs_member *x = a, *y = b;
	size_t n = x->u16_len < y->u16_len ? x->u16_len : y->u16_len;

	for (size_t i = 0; i < n; i++)
		if (x->u16[i] != y->u16[i])
			return x->u16[i] < y->u16[i] ? -1 : 1;
	if (x->u16_len == y->u16_len)
		return 0;
	return x->u16_len < y->u16_len ? -1 : 1;
}

enum core_err
crypto_json_string(struct core_buf *b, const char *s, size_t n,
    bool upper_hex)
{
	const char *hex = upper_hex ? "0123456789ABCDEF" : "0123456789abcdef";
	enum core_err err;
	size_t run = 0;

	err = core_buf_append(b, "\"", 1);
	for (size_t i = 0; i < n && err == CORE_OK; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7];
		size_t elen = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		/* Flush the plain run before this character. */
		err = core_buf_append(b, s + run, i - run);
		if (err != CORE_OK)
			break;
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			elen = 6;
			break;
		}
		err = core_buf_append(b, esc, elen);
	}
	if (err == CORE_OK)
		err = core_buf_append(b, s + run, n - run);
	if (err == CORE_OK)
		err = core_buf_append(b, "\"", 1);
	return err;
}

enum core_err
crypto_jcs_number(double d, char buf[CRYPTO_JCS_NUM_LEN],
    struct core_errbuf *eb)
{
	char sci[40], digits[20];
	char *p = buf;
	int prec, exp10, k = 0, n;

	if (!isfinite(d))
		return core_errf(eb, CORE_ERR_INVALID,
		    "JCS: number is not finite (NaN or Infinity)");
	if (d == 0) {
		memcpy(buf, "0", 2);
		return CORE_OK;
	}
	if (d < 0) {
		*p++ = '-';
		d = -d;
	}
	/* Shortest decimal that round-trips (printf rounds correctly). */
	for (prec = 1; prec <= 17; prec++) {
		snprintf(sci, sizeof(sci), "%.*e", prec - 1, d);
		if (strtod(sci, NULL) == d)
			break;
	}
	/* sci is "D[.DDD]e[+-]XX". */
	for (const char *q = sci; *q != 'e'; q++)
		if (*q != '.')
			digits[k++] = *q;
	while (k > 1 && digits[k - 1] == '0')
		k--;
	digits[k] = '\0';
	exp10 = (int)strtol(strchr(sci, 'e') + 1, NULL, 10);
	n = exp10 + 1;
	if (k <= n && n <= 21) {
		memcpy(p, digits, (size_t)k);
		p += k;
		for (int i = 0; i < n - k; i++)
			*p++ = '0';
	} else if (0 < n && n <= 21) {
		memcpy(p, digits, (size_t)n);
		p += n;
		*p++ = '.';
		memcpy(p, digits + n, (size_t)(k - n));
		p += k - n;
	} else if (-6 < n && n <= 0) {
		*p++ = '0';
		*p++ = '.';
		for (int i = 0; i < -n; i++)
			*p++ = '0';
		memcpy(p, digits, (size_t)k);
		p += k;
	} else {
		*p++ = digits[0];
		if (k > 1) {
			*p++ = '.';
			memcpy(p, digits + 1, (size_t)(k - 1));
			p += k - 1;
		}
		p += snprintf(p, 8, "e%c%d", n - 1 < 0 ? '-' : '+',
		    n - 1 < 0 ? 1 - n : n - 1);
	}
	*p = '\0';
	return CORE_OK;
}

static enum core_err
jcs_object(struct core_buf *b, const json_t *v, int depth,
    struct core_errbuf *eb)
{
	struct jcs_member *m = NULL;
	size_t count = json_object_size(v), i = 0;
	enum core_err err = CORE_OK;
	void *it;

	if (count > 0) {
		m = calloc(count, sizeof(*m));
		if (m == NULL)
			return core_errf(eb, CORE_ERR_NOMEM, "JCS members");
	}
	for (it = json_object_iter((json_t *)v); it != NULL && i < count;
	    it = json_object_iter_next((json_t *)v, it), i++) {
		m[i].key = json_object_iter_key(it);
		m[i].key_len = json_object_iter_key_len(it);
		m[i].value = json_object_iter_value(it);
		if (jcs_utf16(m[i].key, m[i].key_len, &m[i].u16,
		    &m[i].u16_len) != CORE_OK) {
			err = core_errf(eb, CORE_ERR_INVALID,
			    "JCS: member name is not valid UTF-8");
			goto out;
		}
	}
	count = i;
	if (count > 1)
		qsort(m, count, sizeof(*m), jcs_member_cmp);
	err = core_buf_append(b, "{", 1);
	for (i = 0; i < count && err == CORE_OK; i++) {
		if (i > 0)
			err = core_buf_append(b, ",", 1);
		if (err == CORE_OK)
			err = crypto_json_string(b, m[i].key, m[i].key_len,
			    false);
		if (err == CORE_OK)
			err = core_buf_append(b, ":", 1);
		if (err == CORE_OK)
			err = jcs_value(b, m[i].value, depth + 1, eb);
	}
	if (err == CORE_OK)
		err = core_buf_append(b, "}", 1);
out:
	for (i = 0; m != NULL && i < json_object_size(v); i++)
		free(m[i].u16);
	free(m);
	return err;
}

static enum core_err
jcs_value(struct core_buf *b, const json_t *v, int depth,
    struct core_errbuf *eb)
{
	char num[CRYPTO_JCS_NUM_LEN];
	enum core_err err = CORE_OK;

	if (depth > CRYPTO_JCS_MAX_DEPTH)
		return core_errf(eb, CORE_ERR_TOO_BIG,
		    "JCS: nesting deeper than %d", CRYPTO_JCS_MAX_DEPTH);
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return jcs_object(b, v, depth, eb);
	case JSON_ARRAY:
		err = core_buf_append(b, "[", 1);
		for (size_t i = 0; i < json_array_size(v) && err == CORE_OK;
		    i++) {
			if (i > 0)
				err = core_buf_append(b, ",", 1);
			if (err == CORE_OK)
				err = jcs_value(b, json_array_get(v, i),
				    depth + 1, eb);
		}
		if (err == CORE_OK)
			err = core_buf_append(b, "]", 1);
		return err;
	case JSON_STRING:
		return crypto_json_string(b, json_string_value(v),
		    json_string_length(v), false);
	case JSON_INTEGER:
		err = crypto_jcs_number((double)json_integer_value(v), num,
		    eb);
		if (err == CORE_OK)
			err = core_buf_append_str(b, num);
		return err;
	case JSON_REAL:
		err = crypto_jcs_number(json_real_value(v), num, eb);
		if (err == CORE_OK)
			err = core_buf_append_str(b, num);
		return err;
	case JSON_TRUE:
		return core_buf_append_str(b, "true");
	case JSON_FALSE:
		return core_buf_append_str(b, "false");
	case JSON_NULL:
		return core_buf_append_str(b, "null");
	}
	return core_errf(eb, CORE_ERR_INVALID, "JCS: unknown JSON type");
}

enum core_err
crypto_jcs(const json_t *v, char **out, size_t *out_len,
    struct core_errbuf *eb)
{
	struct core_buf b;
	enum core_err err;
	size_t len = 0;

	*out = NULL;
	if (v == NULL)
		return core_errf(eb, CORE_ERR_INVALID, "JCS: no value");
	core_buf_init(&b, JCS_MAX_OUT);
	err = jcs_value(&b, v, 0, eb);
	if (err == CORE_ERR_TOO_BIG)
		core_errf(eb, err, "JCS: output beyond %d bytes", JCS_MAX_OUT);
	else if (err == CORE_ERR_NOMEM)
		core_errf(eb, err, "JCS: out of memory");
	if (err != CORE_OK)
		goto out;
	if (b.data == NULL)
		err = core_buf_append(&b, "", 0);
	if (err != CORE_OK)
		goto out;
	*out = (char *)core_buf_steal(&b, &len);
	if (*out == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "JCS: out of memory");
		goto out;
	}
	if (out_len != NULL)
		*out_len = len;
out:
	core_buf_cleanup(&b);
	return err;
}

enum core_err
crypto_jcs_hash(const json_t *v, enum crypto_hash h, uint8_t *out,
    struct core_errbuf *eb)
{
	char *s = NULL;
	size_t n = 0;
	enum core_err err;

	err = crypto_jcs(v, &s, &n, eb);
	if (err != CORE_OK)
		return err;
	err = crypto_hash(h, s, n, out, eb);
	free(s);
	return err;
}
