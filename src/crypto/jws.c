/*
 * jws.c -- compact JWS (RFC 7515) and JWT (RFC 7519) on top of sig.c:
 * EAR tokens (ES256), admin tokens (EdDSA) and role-claim tokens.
 */
#include "crypto/crypto.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/internal.h"

/* Ten years: more leeway than that is a configuration mistake. */
#define JWT_MAX_LEEWAY_S (10LL * 366 * 24 * 3600)

static enum core_err jws_header_dump(const json_t *header, const char *alg,
    char **out, struct core_errbuf *eb);
static enum core_err jws_sign(const struct crypto_key *k, const char *alg,
    struct crypto_signer *signer, const json_t *header, const void *payload,
    size_t payload_len, char **out, struct core_errbuf *eb);
static enum core_err jwt_time_claim(const json_t *claims, const char *name,
    bool required, bool *present, int64_t *out, struct core_errbuf *eb);
static bool jwt_aud_has(const json_t *aud, const char *want);

/* Serializes header (or {"alg":alg}), appending alg when absent. */
static enum core_err
jws_header_dump(const json_t *header, const char *alg, char **out,
    struct core_errbuf *eb)
{
	json_t *h = NULL;
	const json_t *have;
	enum core_err err = CORE_OK;

	*out = NULL;
	if (header != NULL && !json_is_object(header))
		return core_errf(eb, CORE_ERR_INVALID,
		    "JWS header is not an object");
	h = header != NULL ? json_copy((json_t *)header) : json_object();
	if (h == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "JWS header");
	have = json_object_get(h, "alg");
	if (have == NULL) {
		json_object_set_new(h, "alg", json_string(alg));
	} else if (!json_is_string(have) ||
	    strcmp(json_string_value(have), alg) != 0) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "JWS header alg differs from the signing alg %s", alg);
		goto out;
	}
	*out = crypto_json_dumps(h);
	if (*out == NULL)
		err = core_errf(eb, CORE_ERR_NOMEM, "JWS header");
out:
	json_decref(h);
	return err;
}

enum core_err
crypto_jws_sign(const struct crypto_key *k, const char *alg,
    const json_t *header, const void *payload, size_t payload_len,
    char **out, struct core_errbuf *eb)
{
	return jws_sign(k, alg, NULL, header, payload, payload_len, out, eb);
}

enum core_err
crypto_jws_sign_with(struct crypto_signer *s, const json_t *header,
    const void *payload, size_t payload_len, char **out,
    struct core_errbuf *eb)
{
	return jws_sign(NULL, crypto_signer_alg(s), s, header, payload,
	    payload_len, out, eb);
}

/* Signs with the signer when given, else with k and alg. */
static enum core_err
jws_sign(const struct crypto_key *k, const char *alg,
    struct crypto_signer *signer, const json_t *header, const void *payload,
    size_t payload_len, char **out, struct core_errbuf *eb)
{
	char *hjson = NULL, *h64 = NULL, *p64 = NULL, *s64 = NULL;
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	struct core_buf b;
	enum core_err err;

	*out = NULL;
	core_buf_init(&b, 0);
	if (alg == NULL || strcmp(alg, "none") == 0)
		return core_errf(eb, CORE_ERR_INVALID,
		    "JWS: refusing to sign without an algorithm");
	err = jws_header_dump(header, alg, &hjson, eb);
	if (err != CORE_OK)
		goto out;
	h64 = core_b64url_encode(hjson, strlen(hjson));
	p64 = core_b64url_encode(payload, payload_len);
	if (h64 == NULL || p64 == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "JWS");
		goto out;
	}
	if ((err = core_buf_append_str(&b, h64)) ||
	    (err = core_buf_append(&b, ".", 1)) ||
	    (err = core_buf_append_str(&b, p64))) {
		core_errf(eb, err, "JWS");
		goto out;
	}
	err = signer != NULL ? crypto_signer_sign(signer, b.data, b.len, &sig,
	    &sig_len, eb) : crypto_sign(k, alg, b.data, b.len, &sig, &sig_len,
	    eb);
	if (err != CORE_OK)
		goto out;
	s64 = core_b64url_encode(sig, sig_len);
	if (s64 == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "JWS");
		goto out;
	}
	if ((err = core_buf_append(&b, ".", 1)) ||
	    (err = core_buf_append_str(&b, s64))) {
		core_errf(eb, err, "JWS");
		goto out;
	}
	*out = (char *)core_buf_steal(&b, NULL);
out:
	core_buf_cleanup(&b);
	free(hjson);
	free(h64);
	free(p64);
	free(s64);
	free(sig);
	return err;
}

void
crypto_jws_free(struct crypto_jws *j)
{
	if (j == NULL)
		return;
	json_decref(j->header);
	free(j->payload);
	free(j->sig);
	free(j->signing_input);
	free(j);
}

enum core_err
crypto_jws_parse(const char *s, size_t n, size_t max_len,
    struct crypto_jws **out, struct core_errbuf *eb)
{
	struct crypto_jws *j = NULL;
	const char *dot1, *dot2;
	uint8_t *hdr = NULL;
	size_t hdr_len = 0;
	const json_t *alg;
	enum core_err err;

	*out = NULL;
	if (max_len == 0)
		max_len = CRYPTO_JOSE_MAX_DEFAULT;
	if (s == NULL || n == 0)
		return core_errf(eb, CORE_ERR_INVALID, "JWS: empty token");
	if (n > max_len)
		return core_errf(eb, CORE_ERR_TOO_BIG,
		    "JWS: token of %zu bytes exceeds %zu", n, max_len);
	dot1 = memchr(s, '.', n);
	dot2 = dot1 == NULL ? NULL :
	    memchr(dot1 + 1, '.', n - (size_t)(dot1 + 1 - s));
	if (dot1 == NULL || dot2 == NULL ||
	    memchr(dot2 + 1, '.', n - (size_t)(dot2 + 1 - s)) != NULL)
		return core_errf(eb, CORE_ERR_INVALID,
		    "JWS: compact form must have exactly three parts");
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "JWS");
	if (core_b64url_decode(s, (size_t)(dot1 - s), &hdr, &hdr_len,
	    NULL) != CORE_OK) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "JWS: header is not valid base64url");
		goto fail;
	}
	if (core_b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1),
	    &j->payload, &j->payload_len, NULL) != CORE_OK) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "JWS: payload is not valid base64url");
		goto fail;
	}
	if (core_b64url_decode(dot2 + 1, n - (size_t)(dot2 + 1 - s), &j->sig,
	    &j->sig_len, NULL) != CORE_OK) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "JWS: signature is not valid base64url");
		goto fail;
	}
	err = core_json_parse_object(hdr, hdr_len, max_len, &j->header, eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "JWS header");
		goto fail;
	}
	alg = json_object_get(j->header, "alg");
	if (!json_is_string(alg)) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "JWS: header \"alg\" missing or not a string");
		goto fail;
	}
	j->alg = json_string_value(alg);
	if (json_object_get(j->header, "crit") != NULL) {
		err = core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "JWS: \"crit\" header extensions are not supported");
		goto fail;
	}
	j->signing_input_len = (size_t)(dot2 - s);
	j->signing_input = strndup(s, j->signing_input_len);
	if (j->signing_input == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "JWS");
		goto fail;
	}
	free(hdr);
	*out = j;
	return CORE_OK;
fail:
	free(hdr);
	crypto_jws_free(j);
	return err;
}

enum core_err
crypto_jws_verify(const struct crypto_jws *j, const struct crypto_key *k,
    const char *const *allowed_algs, struct core_errbuf *eb)
{
	if (strcmp(j->alg, "none") == 0)
		return core_errf(eb, CORE_ERR_AUTH,
		    "JWS: unsigned (alg \"none\") tokens are refused");
	if (!crypto_str_in(j->alg, allowed_algs))
		return core_errf(eb, CORE_ERR_AUTH,
		    "JWS: algorithm \"%.32s\" is not allowed", j->alg);
	return crypto_verify(k, j->alg, j->signing_input,
	    j->signing_input_len, j->sig, j->sig_len, eb);
}

enum core_err
crypto_jwt_sign(const struct crypto_key *k, const char *alg,
    const json_t *header, const json_t *claims, char **out,
    struct core_errbuf *eb)
{
	json_t *h = NULL;
	char *payload = NULL;
	enum core_err err;

	*out = NULL;
	if (!json_is_object(claims))
		return core_errf(eb, CORE_ERR_INVALID,
		    "JWT claims must be an object");
	if (header == NULL) {
		h = json_pack("{s:s, s:s}", "typ", "JWT", "alg", alg);
		if (h == NULL)
			return core_errf(eb, CORE_ERR_NOMEM, "JWT header");
	}
	payload = crypto_json_dumps(claims);
	if (payload == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "JWT claims");
		goto out;
	}
	err = crypto_jws_sign(k, alg, header != NULL ? header : h, payload,
	    strlen(payload), out, eb);
out:
	free(payload);
	json_decref(h);
	return err;
}

static enum core_err
jwt_time_claim(const json_t *claims, const char *name, bool required,
    bool *present, int64_t *out, struct core_errbuf *eb)
{
	const json_t *v = json_object_get(claims, name);
	double d;

	*present = false;
	if (v == NULL || json_is_null(v)) {
		if (required)
			return core_errf(eb, CORE_ERR_AUTH,
			    "JWT: required claim \"%s\" missing", name);
		return CORE_OK;
	}
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
	} else if (json_is_real(v)) {
		d = json_real_value(v);
		if (!isfinite(d) || d != floor(d) || fabs(d) > 9.2e18)
			return core_errf(eb, CORE_ERR_INVALID,
			    "JWT: claim \"%s\" is not an integer time", name);
		*out = (int64_t)d;
	} else {
		return core_errf(eb, CORE_ERR_INVALID,
		    "JWT: claim \"%s\" is not a number", name);
	}
	*present = true;
	return CORE_OK;
}

static bool
jwt_aud_has(const json_t *aud, const char *want)
{
	if (json_is_string(aud))
		return strcmp(json_string_value(aud), want) == 0;
	if (json_is_array(aud))
		for (size_t i = 0; i < json_array_size(aud); i++) {
			const json_t *a = json_array_get(aud, i);

			if (json_is_string(a) &&
			    strcmp(json_string_value(a), want) == 0)
				return true;
		}
	return false;
}

enum core_err
crypto_jwt_check_claims(const json_t *claims,
    const struct crypto_jwt_opts *o, struct core_errbuf *eb)
{
	int64_t now, leeway, exp = 0, nbf = 0, iat = 0;
	bool has;
	enum core_err err;

	if (!json_is_object(claims))
		return core_errf(eb, CORE_ERR_INVALID,
		    "JWT: claims are not an object");
	if (o == NULL)
		return core_errf(eb, CORE_ERR_INVALID,
		    "JWT: claim-check options required");
	now = o->now_s != 0 ? o->now_s : (int64_t)time(NULL);
	/* Bounded so that now +/- leeway cannot overflow; claim values are
	 * only ever compared, never used in arithmetic. */
	leeway = o->leeway_s > 0 ? (o->leeway_s < JWT_MAX_LEEWAY_S ?
	    o->leeway_s : JWT_MAX_LEEWAY_S) : 0;
	err = jwt_time_claim(claims, "exp", o->require_exp, &has, &exp, eb);
	if (err != CORE_OK)
		return err;
	if (has && exp <= now - leeway)
		return core_errf(eb, CORE_ERR_AUTH,
		    "JWT: token expired at %lld (now %lld, leeway %llds)",
		    (long long)exp, (long long)now, (long long)leeway);
	err = jwt_time_claim(claims, "nbf", false, &has, &nbf, eb);
	if (err != CORE_OK)
		return err;
	if (has && nbf > now + leeway)
		return core_errf(eb, CORE_ERR_AUTH,
		    "JWT: token not valid before %lld (now %lld)",
		    (long long)nbf, (long long)now);
	err = jwt_time_claim(claims, "iat", o->require_iat, &has, &iat, eb);
	if (err != CORE_OK)
		return err;
	if (has && iat > now + leeway)
		return core_errf(eb, CORE_ERR_AUTH,
		    "JWT: token issued in the future (iat %lld, now %lld)",
		    (long long)iat, (long long)now);
	if (o->iss != NULL) {
		const json_t *iss = json_object_get(claims, "iss");

		if (!json_is_string(iss) ||
		    strcmp(json_string_value(iss), o->iss) != 0)
			return core_errf(eb, CORE_ERR_AUTH,
			    "JWT: issuer does not match \"%.64s\"", o->iss);
	}
	if (o->aud != NULL &&
	    !jwt_aud_has(json_object_get(claims, "aud"), o->aud))
		return core_errf(eb, CORE_ERR_AUTH,
		    "JWT: audience does not include \"%.64s\"", o->aud);
	return CORE_OK;
}

enum core_err
crypto_jwt_verify(const char *token, size_t n, const struct crypto_key *k,
    const struct crypto_jwt_opts *o, json_t **claims_out,
    json_t **header_out, struct core_errbuf *eb)
{
	struct crypto_jws *j = NULL;
	json_t *claims = NULL;
	enum core_err err;

	*claims_out = NULL;
	if (header_out != NULL)
		*header_out = NULL;
	if (o == NULL)
		return core_errf(eb, CORE_ERR_INVALID,
		    "JWT: verification options (alg allow-list) required");
	err = crypto_jws_parse(token, n, o->max_len, &j, eb);
	if (err != CORE_OK)
		goto out;
	err = crypto_jws_verify(j, k, o->allowed_algs, eb);
	if (err != CORE_OK)
		goto out;
	err = core_json_parse_object(j->payload, j->payload_len,
	    o->max_len, &claims, eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "JWT claims");
		goto out;
	}
	err = crypto_jwt_check_claims(claims, o, eb);
	if (err != CORE_OK)
		goto out;
	*claims_out = claims;
	claims = NULL;
	if (header_out != NULL)
		*header_out = json_incref(j->header);
out:
	json_decref(claims);
	crypto_jws_free(j);
	return err;
}
