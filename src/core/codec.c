/*
 * codec.c -- base64 (RFC 4648 §4), base64url (§5, unpadded on output) and
 * hex. Decoders are strict: any byte outside the alphabet is an error.
 */
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

static const char b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
core_b64_enc_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

size_t
core_b64url_enc_len(size_t n)
{
	return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

static char *
b64_encode(const uint8_t *p, size_t n, const char *alpha, bool pad)
{
	size_t olen = pad ? core_b64_enc_len(n) : core_b64url_enc_len(n);
	size_t i, o = 0;
	char *out;

	if (n > (SIZE_MAX / 4) * 3 - 3)
		return NULL;
	if ((out = malloc(olen + 1)) == NULL)
		return NULL;
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		out[o++] = alpha[v >> 18 & 63];
		out[o++] = alpha[v >> 12 & 63];
		out[o++] = alpha[v >> 6 & 63];
		out[o++] = alpha[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;

		out[o++] = alpha[v >> 18 & 63];
		out[o++] = alpha[v >> 12 & 63];
		if (pad) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;

		out[o++] = alpha[v >> 18 & 63];
		out[o++] = alpha[v >> 12 & 63];
		out[o++] = alpha[v >> 6 & 63];
		if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
	return out;
}

char *
core_b64_encode(const void *p, size_t n)
{
	return b64_encode(p, n, b64_std, true);
}

char *
core_b64url_encode(const void *p, size_t n)
{
	return b64_encode(p, n, b64_url, false);
}

static int
b64_val(char c, bool url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (!url && c == '+')
		return 62;
	if (!url && c == '/')
		return 63;
	if (url && c == '-')
		return 62;
	if (url && c == '_')
		return 63;
	return -1;
}

static enum core_err
b64_decode(const char *s, size_t slen, bool url, uint8_t **out,
    size_t *out_len, struct core_errbuf *eb)
{
	const char *what = url ? "base64url" : "base64";
	size_t n = slen, i, o = 0, pad = 0;
	uint32_t acc = 0;
	int bits = 0;
	uint8_t *d;

	*out = NULL;
	*out_len = 0;
	/* Strip up to two '=' of padding; then the length must fit. */
	while (n > 0 && s[n - 1] == '=' && pad < 2) {
		n--;
		pad++;
	}
	if (pad > 0 && (n + pad) % 4 != 0)
		return core_errf(eb, CORE_ERR_INVALID,
		    "%s: bad padding at offset %zu", what, n);
	if (n % 4 == 1)
		return core_errf(eb, CORE_ERR_INVALID,
		    "%s: impossible length %zu", what, slen);
	if ((d = malloc(n / 4 * 3 + 3)) == NULL)
		return CORE_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		int v = b64_val(s[i], url);

		if (v < 0) {
			free(d);
			return core_errf(eb, CORE_ERR_INVALID,
			    "%s: invalid character 0x%02x at offset %zu", what,
			    (unsigned char)s[i], i);
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			d[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* Leftover bits must be zero (canonical encoding). */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
		free(d);
		return core_errf(eb, CORE_ERR_INVALID,
		    "%s: non-canonical trailing bits", what);
	}
	d[o] = '\0';
	*out = d;
	*out_len = o;
	return CORE_OK;
}

enum core_err
core_b64_decode(const char *s, size_t slen, uint8_t **out, size_t *out_len,
    struct core_errbuf *eb)
{
	return b64_decode(s, slen, false, out, out_len, eb);
}

enum core_err
core_b64url_decode(const char *s, size_t slen, uint8_t **out,
    size_t *out_len, struct core_errbuf *eb)
{
	return b64_decode(s, slen, true, out, out_len, eb);
}

char *
core_hex_encode(const void *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *b = p;
	char *out;
	size_t i;

	if (n > SIZE_MAX / 2 - 1)
		return NULL;
	if ((out = malloc(n * 2 + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
	return out;
}

static int
hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static enum core_err
hex_decode_into(const char *s, size_t slen, uint8_t *d, struct core_errbuf *eb)
{
	size_t i;

	for (i = 0; i < slen; i += 2) {
		int hi = hex_val(s[i]), lo = hex_val(s[i + 1]);

		if (hi < 0 || lo < 0)
			return core_errf(eb, CORE_ERR_INVALID,
			    "hex: invalid character at offset %zu",
			    hi < 0 ? i : i + 1);
		d[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return CORE_OK;
}

enum core_err
core_hex_decode(const char *s, size_t slen, uint8_t **out, size_t *out_len,
    struct core_errbuf *eb)
{
	enum core_err err;
	uint8_t *d;

	*out = NULL;
	*out_len = 0;
	if (slen % 2 != 0)
		return core_errf(eb, CORE_ERR_INVALID,
		    "hex: odd length %zu", slen);
	if ((d = malloc(slen / 2 + 1)) == NULL)
		return CORE_ERR_NOMEM;
	if ((err = hex_decode_into(s, slen, d, eb)) != CORE_OK) {
		free(d);
		return err;
	}
	d[slen / 2] = '\0';
	*out = d;
	*out_len = slen / 2;
	return CORE_OK;
}

enum core_err
core_hex_decode_fixed(const char *s, void *out, size_t n,
    struct core_errbuf *eb)
{
	size_t slen = strlen(s);

	if (slen != n * 2)
		return core_errf(eb, CORE_ERR_INVALID,
		    "hex: expected %zu characters, got %zu", n * 2, slen);
	return hex_decode_into(s, slen, out, eb);
}
