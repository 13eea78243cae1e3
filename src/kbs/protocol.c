/*
 * protocol.c -- request-body parsers and the small validation rules of the
 * KBS protocol (tee names, resource paths). Every function here reads
 * outside input and has a fuzz target (tests/fuzz/fuzz_kbs_*.c).
 */
#include "kbs/kbs_int.h"

#include <string.h>

#define KBS_AUTH_MAX (64 * 1024)

static const char *const kbs_tees[] = { "sample", "sampledevice", "tdx",
	"snp", "sgx", "az-snp-vtpm", "az-tdx-vtpm", "cca", "csv", "se", "tpm",
	"nvidia", "hygondcu", NULL };

bool
kbs_tee_valid(const char *tee)
{
	size_t i;

	for (i = 0; kbs_tees[i] != NULL; i++) {
		if (strcmp(kbs_tees[i], tee) == 0)
			return true;
	}
	return false;
}

static bool
seg_char(char c, bool first)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-' ||
	    (!first && c == '.');
}

bool
kbs_segment_valid(const char *seg, size_t len)
{
	size_t i;

	if (len == 0 || len > KBS_SEGMENT_MAX)
		return false;
	for (i = 0; i < len; i++) {
		if (!seg_char(seg[i], i == 0))
			return false;
	}
	return true;
}

enum core_err
kbs_path_parse(const char *path, char repo[KBS_SEGMENT_MAX + 1],
    char type[KBS_SEGMENT_MAX + 1], char tag[KBS_SEGMENT_MAX + 1],
    struct core_errbuf *eb)
{
	char *outs[3] = { repo, type, tag };
	const char *p = path, *slash;
	size_t i, n;

	for (i = 0; i < 3; i++) {
		slash = strchr(p, '/');
		if (i < 2 && slash == NULL)
			return core_errf(eb, CORE_ERR_INVALID,
			    "resource path must be <repo>/<type>/<tag>");
		if (i == 2 && slash != NULL)
			return core_errf(eb, CORE_ERR_INVALID,
			    "resource path has more than three segments");
		n = slash ? (size_t)(slash - p) : strlen(p);
		if (!kbs_segment_valid(p, n))
			return core_errf(eb, CORE_ERR_INVALID,
			    "resource path segment %zu is invalid (allowed: "
			    "[A-Za-z0-9_-] then [A-Za-z0-9_.-], at most %d)",
			    i + 1, KBS_SEGMENT_MAX);
		memcpy(outs[i], p, n);
		outs[i][n] = '\0';
		p += n + 1;
	}
	return CORE_OK;
}

enum core_err
kbs_parse_auth_request(const void *body, size_t n, char tee[32],
    struct core_errbuf *eb)
{
	const char *version = NULL, *t = NULL;
	json_t *j = NULL;
	enum core_err err;

	err = core_json_parse_object(body, n, KBS_AUTH_MAX, &j, eb);
	if (err != CORE_OK)
		goto out;
	if ((err = core_json_get_str(j, "version", true, &version, eb)) ||
	    (err = core_json_get_str(j, "tee", true, &t, eb)))
		goto out;
	if (strcmp(version, KBS_PROTOCOL_VERSION) != 0) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "KBS Client Protocol Version Mismatch: expect =%s while "
		    "the request is %.32s", KBS_PROTOCOL_VERSION, version);
		goto out;
	}
	if (!kbs_tee_valid(t)) {
		err = core_errf(eb, CORE_ERR_INVALID, "unknown tee \"%.32s\"",
		    t);
		goto out;
	}
	if (json_object_get(j, "extra-params") == NULL) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "missing field `extra-params`");
		goto out;
	}
	memcpy(tee, t, strlen(t) + 1);
out:
	if (err != CORE_OK && err != CORE_ERR_NOMEM)
		err = CORE_ERR_INVALID;
	json_decref(j);
	return err;
}

enum core_err
kbs_parse_attest_request(const void *body, size_t n, json_t **out,
    struct core_errbuf *eb)
{
	json_t *j = NULL, *rt, *te, *id, *pk;
	const char *s = NULL;
	enum core_err err;

	*out = NULL;
	err = core_json_parse_object(body, n, KBS_MAX_BODY_DEFAULT, &j, eb);
	if (err != CORE_OK)
		goto out;
	rt = json_object_get(j, "runtime-data");
	te = json_object_get(j, "tee-evidence");
	id = json_object_get(j, "init-data");
	if (!json_is_object(rt)) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "missing or non-object `runtime-data`");
		goto out;
	}
	if (!json_is_object(te)) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "missing or non-object `tee-evidence`");
		goto out;
	}
	err = core_json_get_str(rt, "nonce", true, &s, eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "runtime-data");
		goto out;
	}
	pk = json_object_get(rt, "tee-pubkey");
	if (!json_is_object(pk)) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "runtime-data: missing or non-object `tee-pubkey`");
		goto out;
	}
	if (json_object_get(te, "primary_evidence") == NULL) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "tee-evidence: missing `primary_evidence`");
		goto out;
	}
	err = core_json_get_str(te, "additional_evidence", true, &s, eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "tee-evidence");
		goto out;
	}
	if (id != NULL && !json_is_null(id)) {
		const char *fmt = NULL;

		if (!json_is_object(id) ||
		    core_json_get_str(id, "format", true, &fmt, eb) != CORE_OK ||
		    strcmp(fmt, "toml") != 0 ||
		    core_json_get_str(id, "body", true, &s, eb) != CORE_OK) {
			err = core_errf(eb, CORE_ERR_INVALID,
			    "init-data: must be {\"format\":\"toml\",\"body\":"
			    "<string>}");
			goto out;
		}
	}
	*out = j;
	j = NULL;
out:
	if (err != CORE_OK && err != CORE_ERR_NOMEM)
		err = CORE_ERR_INVALID;
	json_decref(j);
	return err;
}

enum core_err
kbs_parse_policy_request(const void *body, size_t n, uint8_t **policy,
    size_t *policy_len, struct core_errbuf *eb)
{
	const char *s = NULL;
	json_t *j = NULL;
	enum core_err err;

	*policy = NULL;
	err = core_json_parse_object(body, n, KBS_MAX_BODY_DEFAULT, &j, eb);
	if (err == CORE_OK)
		err = core_json_get_str(j, "policy", true, &s, eb);
	if (err != CORE_OK)
		goto out;
	if (strpbrk(s, "+/=") != NULL) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "policy: must be base64url without padding");
		goto out;
	}
	err = core_b64url_decode(s, strlen(s), policy, policy_len, eb);
	if (err != CORE_OK)
		core_errbuf_prefix(eb, "policy");
out:
	if (err != CORE_OK && err != CORE_ERR_NOMEM)
		err = CORE_ERR_INVALID;
	json_decref(j);
	return err;
}
