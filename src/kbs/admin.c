/*
 * admin.c -- admin authentication (spec §7.3, §7.4): a Bearer JWT signed by
 * the configured admin key (Ed25519 -> EdDSA, EC P-256 -> ES256) with exp
 * required and iat/nbf checked against a leeway. A token carrying a `role`
 * claim is the v0.21 role-claim variant: iss/aud are compared when
 * configured and the role needs an ACL regex matching the full request URI.
 * With no ACL configured, role "admin" may use every /kbs/v0 endpoint.
 */
#include "kbs/kbs_int.h"

#include <inttypes.h>
#include <regex.h>
#include <string.h>

struct admin_acl {
	char *role;    /* owned */
	regex_t re;    /* compiled allowed_endpoints */
};

struct kbs_admin {
	struct crypto_key *key; /* owned; public */
	int64_t leeway_s;
	int64_t max_lifetime_s; /* 0 = no cap */
	char *issuer;           /* owned or NULL */
	char *audience;         /* owned or NULL */
	struct admin_acl *acls; /* owned */
	size_t nacls;
};

enum core_err
kbs_admin_new(const struct kbs_config *c, struct kbs_admin **out,
    struct core_errbuf *eb)
{
	struct kbs_admin *a;
	enum core_err err;
	size_t i, n = c->nacls ? c->nacls : 1;

	*out = NULL;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return CORE_ERR_NOMEM;
	a->leeway_s = c->admin_leeway_s;
	a->max_lifetime_s = c->admin_max_lifetime_s;
	a->acls = calloc(n, sizeof(*a->acls));
	if (a->acls == NULL) {
		err = CORE_ERR_NOMEM;
		goto fail;
	}
	err = kbs_key_read(c->admin_public_key, false, &a->key, eb);
	if (err != CORE_OK)
		goto fail;
	if (crypto_key_type(a->key) != CRYPTO_KEY_ED25519 &&
	    crypto_key_type(a->key) != CRYPTO_KEY_EC_P256) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "%s: admin key must be Ed25519 or EC P-256",
		    c->admin_public_key);
		goto fail;
	}
	if ((c->admin_issuer && !(a->issuer = strdup(c->admin_issuer))) ||
	    (c->admin_audience && !(a->audience = strdup(c->admin_audience)))) {
		err = CORE_ERR_NOMEM;
		goto fail;
	}
	for (i = 0; i < n; i++) {
		const char *role = c->nacls ? c->acls[i].role : "admin";
		const char *re = c->nacls ? c->acls[i].allowed_endpoints :
		    "^/kbs/v0/.+$";

		a->acls[i].role = strdup(role);
		if (a->acls[i].role == NULL) {
			err = CORE_ERR_NOMEM;
			goto fail;
		}
		if (regcomp(&a->acls[i].re, re, REG_EXTENDED) != 0) {
			free(a->acls[i].role);
			err = core_errf(eb, CORE_ERR_INVALID,
			    "admin ACL for role %s: bad regex %s", role, re);
			goto fail;
		}
		a->nacls = i + 1;
	}
	*out = a;
	return CORE_OK;
fail:
	kbs_admin_free(a);
	return err;
}

void
kbs_admin_free(struct kbs_admin *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->nacls; i++) {
		free(a->acls[i].role);
		regfree(&a->acls[i].re);
	}
	free(a->acls);
	free(a->issuer);
	free(a->audience);
	crypto_key_free(a->key);
	free(a);
}

static bool
aud_matches(const json_t *aud, const char *want)
{
	json_t *v;
	size_t i;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), want) == 0;
	json_array_foreach(aud, i, v) {
		if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
			return true;
	}
	return false;
}

static enum core_err
check_role(const struct kbs_admin *a, const json_t *pl, const char *role,
    const char *uri, struct core_errbuf *eb)
{
	const char *iss = json_string_value(json_object_get(pl, "iss"));
	regmatch_t m;
	size_t i;

	if (a->issuer != NULL && (iss == NULL || strcmp(iss, a->issuer) != 0))
		return core_errf(eb, CORE_ERR_AUTH, "token issuer not accepted");
	if (a->audience != NULL &&
	    !aud_matches(json_object_get(pl, "aud"), a->audience))
		return core_errf(eb, CORE_ERR_AUTH,
		    "token audience not accepted");
	for (i = 0; i < a->nacls; i++) {
		if (strcmp(a->acls[i].role, role) != 0)
			continue;
		if (regexec(&a->acls[i].re, uri, 1, &m, 0) == 0 &&
		    m.rm_so == 0 && (size_t)m.rm_eo == strlen(uri))
			return CORE_OK;
	}
	return core_errf(eb, CORE_ERR_AUTH,
	    "admin access denied for endpoint %s (role %s)", uri, role);
}

enum core_err
kbs_admin_check(const struct kbs_admin *a, const char *authz, const char *uri,
    int64_t now_s, struct core_errbuf *eb)
{
	json_t *hdr = NULL, *pl = NULL, *role;
	int64_t exp = 0, iat = 0, nbf = 0;
	const char *tok;
	enum core_err err;

	if (authz == NULL || strncmp(authz, "Bearer ", 7) != 0)
		return core_errf(eb, CORE_ERR_AUTH,
		    "no Authorization: Bearer admin token");
	tok = authz + 7;
	err = kbs_jws_verify(a->key, tok, strlen(tok), &hdr, &pl, eb);
	if (err != CORE_OK)
		goto out;
	if ((err = core_json_get_int(pl, "exp", true, &exp, eb)) ||
	    (err = core_json_get_int(pl, "iat", false, &iat, eb)) ||
	    (err = core_json_get_int(pl, "nbf", false, &nbf, eb)))
		goto out;
	if (now_s > exp + a->leeway_s) {
		err = core_errf(eb, CORE_ERR_AUTH, "admin token expired");
		goto out;
	}
	if (json_object_get(pl, "iat") != NULL && iat > now_s + a->leeway_s) {
		err = core_errf(eb, CORE_ERR_AUTH,
		    "admin token issued in the future");
		goto out;
	}
	if (json_object_get(pl, "nbf") != NULL && nbf > now_s + a->leeway_s) {
		err = core_errf(eb, CORE_ERR_AUTH,
		    "admin token not yet valid");
		goto out;
	}
	if (a->max_lifetime_s > 0 && exp - (iat ? iat : now_s) >
	    a->max_lifetime_s) {
		err = core_errf(eb, CORE_ERR_AUTH,
		    "admin token lifetime exceeds %" PRId64 " s",
		    a->max_lifetime_s);
		goto out;
	}
	role = json_object_get(pl, "role");
	if (role != NULL) {
		if (!json_is_string(role)) {
			err = core_errf(eb, CORE_ERR_AUTH,
			    "role claim is not a string");
			goto out;
		}
		err = check_role(a, pl, json_string_value(role), uri, eb);
	}
out:
	if (err != CORE_OK && err != CORE_ERR_NOMEM)
		err = CORE_ERR_AUTH;
	json_decref(hdr);
	json_decref(pl);
	return err;
}
