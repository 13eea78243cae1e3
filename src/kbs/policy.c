/*
 * policy.c -- the declarative JSON resource policy (docs/kbs.md).
 *
 * A policy is a default effect and an ordered list of rules. A rule applies
 * when all of its conditions hold: the resource path matches one of its
 * glob patterns, the token's tee is listed, every submod's ear.status is
 * listed, and each claim (a '/'-separated path into the tee's claims) equals
 * the given JSON value or is one of {"one_of":[...]}. The first rule that
 * applies decides.
 */
#include "kbs/kbs_int.h"

#include <fnmatch.h>
#include <inttypes.h>
#include <string.h>

#define POLICY_MAX_RULES 256
#define POLICY_MAX_TEXT (256 * 1024)

struct kbs_policy_rule {
	bool allow;
	json_t *resources; /* owned; array of strings or NULL */
	json_t *tee;       /* owned; array of strings or NULL */
	json_t *status;    /* owned; array of strings or NULL */
	json_t *claims;    /* owned; object or NULL */
};

struct kbs_policy {
	bool default_allow;
	struct kbs_policy_rule *rules; /* owned */
	size_t nrules;
};

static const char policy_allow_all[] =
    "{\"version\":1,\"default\":\"allow\",\"rules\":[]}";
static const char policy_deny_all[] =
    "{\"version\":1,\"default\":\"deny\",\"rules\":[]}";
static const char policy_default[] =
    "{\"version\":1,\"default\":\"allow\",\"rules\":["
    "{\"effect\":\"deny\",\"tee\":[\"sample\",\"sampledevice\"]}]}";
static const char policy_affirming[] =
    "{\"version\":1,\"default\":\"deny\",\"rules\":["
    "{\"effect\":\"allow\",\"status\":[\"affirming\"]}]}";

static enum core_err rule_parse(const json_t *r, size_t idx,
    struct kbs_policy_rule *out, struct core_errbuf *eb);
static bool rule_applies(const struct kbs_policy_rule *r, const json_t *claims,
    const char *path);

const char *
kbs_policy_preset_text(enum kbs_policy_preset p)
{
	switch (p) {
	case KBS_POLICY_ALLOW_ALL: return policy_allow_all;
	case KBS_POLICY_DENY_ALL: return policy_deny_all;
	case KBS_POLICY_AFFIRMING: return policy_affirming;
	case KBS_POLICY_DEFAULT: break;
	}
	return policy_default;
}

static enum core_err
str_array(const json_t *r, const char *key, size_t idx, json_t **out,
    struct core_errbuf *eb)
{
	json_t *a = json_object_get(r, key), *v;
	size_t i;

	*out = NULL;
	if (a == NULL)
		return CORE_OK;
	if (!json_is_array(a) || json_array_size(a) == 0)
		return core_errf(eb, CORE_ERR_INVALID,
		    "rules[%zu].%s: must be a non-empty array of strings", idx,
		    key);
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			return core_errf(eb, CORE_ERR_INVALID,
			    "rules[%zu].%s[%zu]: must be a string", idx, key, i);
	}
	*out = json_incref(a);
	return CORE_OK;
}

static enum core_err
rule_parse(const json_t *r, size_t idx, struct kbs_policy_rule *out,
    struct core_errbuf *eb)
{
	static const char *const known[] = { "effect", "resources", "tee",
		"status", "claims", "comment", NULL };
	const char *effect = NULL, *k;
	json_t *v;
	enum core_err err;
	size_t i;

	if (!json_is_object(r))
		return core_errf(eb, CORE_ERR_INVALID,
		    "rules[%zu]: must be an object", idx);
	json_object_foreach((json_t *)r, k, v) {
		for (i = 0; known[i] != NULL && strcmp(known[i], k) != 0; i++)
			;
		if (known[i] == NULL)
			return core_errf(eb, CORE_ERR_INVALID,
			    "rules[%zu]: unknown member \"%s\"", idx, k);
	}
	err = core_json_get_str(r, "effect", true, &effect, eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "rules[%zu]", idx);
		return err;
	}
	if (strcmp(effect, "allow") != 0 && strcmp(effect, "deny") != 0)
		return core_errf(eb, CORE_ERR_INVALID,
		    "rules[%zu].effect: must be \"allow\" or \"deny\"", idx);
	out->allow = strcmp(effect, "allow") == 0;
	if ((err = str_array(r, "resources", idx, &out->resources, eb)) ||
	    (err = str_array(r, "tee", idx, &out->tee, eb)) ||
	    (err = str_array(r, "status", idx, &out->status, eb)))
		return err;
	v = json_object_get(r, "claims");
	if (v != NULL) {
		if (!json_is_object(v))
			return core_errf(eb, CORE_ERR_INVALID,
			    "rules[%zu].claims: must be an object", idx);
		json_t *cv;

		json_object_foreach(v, k, cv) {
			json_t *one = json_is_object(cv) ?
			    json_object_get(cv, "one_of") : NULL;

			if (json_is_object(cv) && (!json_is_array(one) ||
			    json_object_size(cv) != 1))
				return core_errf(eb, CORE_ERR_INVALID,
				    "rules[%zu].claims.%s: an object must be "
				    "{\"one_of\":[...]}", idx, k);
		}
		out->claims = json_incref(v);
	}
	return CORE_OK;
}

enum core_err
kbs_policy_parse(const void *text, size_t len, struct kbs_policy **out,
    struct core_errbuf *eb)
{
	struct kbs_policy *p = NULL;
	json_t *j = NULL, *rules, *r;
	const char *def = NULL, *k;
	int64_t version = 0;
	enum core_err err;
	size_t i;

	*out = NULL;
	err = core_json_parse_object(text, len, POLICY_MAX_TEXT, &j, eb);
	if (err != CORE_OK)
		goto out;
	json_object_foreach(j, k, r) {
		if (strcmp(k, "version") != 0 && strcmp(k, "default") != 0 &&
		    strcmp(k, "rules") != 0 && strcmp(k, "comment") != 0) {
			err = core_errf(eb, CORE_ERR_INVALID,
			    "unknown member \"%s\"", k);
			goto out;
		}
	}
	if ((err = core_json_get_int(j, "version", true, &version, eb)) ||
	    (err = core_json_get_str(j, "default", true, &def, eb)))
		goto out;
	if (version != 1) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "version: must be 1 (got %" PRId64 ")", version);
		goto out;
	}
	if (strcmp(def, "allow") != 0 && strcmp(def, "deny") != 0) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "default: must be \"allow\" or \"deny\"");
		goto out;
	}
	rules = json_object_get(j, "rules");
	if (rules != NULL && !json_is_array(rules)) {
		err = core_errf(eb, CORE_ERR_INVALID, "rules: must be an array");
		goto out;
	}
	if (json_array_size(rules) > POLICY_MAX_RULES) {
		err = core_errf(eb, CORE_ERR_TOO_BIG, "rules: more than %d",
		    POLICY_MAX_RULES);
		goto out;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	p->default_allow = strcmp(def, "allow") == 0;
	p->rules = calloc(json_array_size(rules) + 1, sizeof(*p->rules));
	if (p->rules == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	json_array_foreach(rules, i, r) {
		p->nrules = i + 1;
		err = rule_parse(r, i, &p->rules[i], eb);
		if (err != CORE_OK)
			goto out;
	}
	*out = p;
	p = NULL;
out:
	if (err != CORE_OK)
		core_errbuf_prefix(eb, "policy");
	kbs_policy_free(p);
	json_decref(j);
	return err;
}

void
kbs_policy_free(struct kbs_policy *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nrules; i++) {
		json_decref(p->rules[i].resources);
		json_decref(p->rules[i].tee);
		json_decref(p->rules[i].status);
		json_decref(p->rules[i].claims);
	}
	free(p->rules);
	free(p);
}

static bool
in_list(const json_t *list, const char *s)
{
	json_t *v;
	size_t i;

	json_array_foreach(list, i, v) {
		if (strcmp(json_string_value(v), s) == 0)
			return true;
	}
	return false;
}

/* The annotated evidence of the cpu0 submod, and its tee name. */
static const json_t *
claims_tee(const json_t *claims, const char **tee)
{
	static const char *const not_tee[] = { "report_data",
		"runtime_data_claims", "init_data", "init_data_claims", NULL };
	const json_t *ae;
	const char *k;
	json_t *v;
	size_t i;

	ae = json_object_get(json_object_get(json_object_get(claims, "submods"),
	    "cpu0"), "ear.veraison.annotated-evidence");
	*tee = NULL;
	json_object_foreach((json_t *)ae, k, v) {
		for (i = 0; not_tee[i] != NULL && strcmp(not_tee[i], k) != 0;
		    i++)
			;
		if (not_tee[i] == NULL && json_is_object(v)) {
			*tee = k;
			return v;
		}
	}
	return NULL;
}

/* Looks up "a/b/c" in obj. */
static const json_t *
claim_lookup(const json_t *obj, const char *path)
{
	char seg[128];
	const char *p = path, *slash;
	size_t n;

	while (obj != NULL && *p != '\0') {
		slash = strchr(p, '/');
		n = slash ? (size_t)(slash - p) : strlen(p);
		if (n >= sizeof(seg))
			return NULL;
		memcpy(seg, p, n);
		seg[n] = '\0';
		obj = json_object_get(obj, seg);
		p += n + (slash ? 1 : 0);
	}
	return obj;
}

static bool
rule_applies(const struct kbs_policy_rule *r, const json_t *claims,
    const char *path)
{
	const json_t *tc;
	const char *tee, *k;
	json_t *v, *sub;
	size_t i;
	bool hit;

	if (r->resources != NULL) {
		hit = false;
		json_array_foreach(r->resources, i, v) {
			if (fnmatch(json_string_value(v), path, FNM_PATHNAME) ==
			    0)
				hit = true;
		}
		if (!hit)
			return false;
	}
	tc = claims_tee(claims, &tee);
	if (r->tee != NULL && (tee == NULL || !in_list(r->tee, tee)))
		return false;
	if (r->status != NULL) {
		json_t *subs = json_object_get(claims, "submods");

		if (json_object_size(subs) == 0)
			return false;
		json_object_foreach(subs, k, sub) {
			const char *st = json_string_value(
			    json_object_get(sub, "ear.status"));

			if (st == NULL || !in_list(r->status, st))
				return false;
		}
	}
	if (r->claims != NULL) {
		json_object_foreach(r->claims, k, v) {
			const json_t *have = claim_lookup(tc, k);
			json_t *one = json_object_get(v, "one_of"), *w;

			if (have == NULL)
				return false;
			if (one != NULL) {
				hit = false;
				json_array_foreach(one, i, w) {
					if (json_equal(w, have))
						hit = true;
				}
				if (!hit)
					return false;
			} else if (!json_equal(v, have)) {
				return false;
			}
		}
	}
	return true;
}

void
kbs_policy_eval(const struct kbs_policy *p, const json_t *claims,
    const char *path, bool *allow, const char **reason)
{
	size_t i;

	for (i = 0; i < p->nrules; i++) {
		if (rule_applies(&p->rules[i], claims, path)) {
			*allow = p->rules[i].allow;
			*reason = *allow ? "allowed by a rule" : "denied by a rule";
			return;
		}
	}
	*allow = p->default_allow;
	*reason = *allow ? "allowed by default" : "denied by default";
}
