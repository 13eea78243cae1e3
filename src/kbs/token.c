/*
 * token.c -- evidence verification for /attest and the EAR token claims
 * (spec §3, §5). The sample verifier is built in; TDX, SNP and SGX
 * evidence goes to the verifier module (offline, pinned roots).
 */
#include "kbs/kbs_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "verifier/verifier.h"

#define EAR_PROFILE "tag:github.com,2024:confidential-containers/Trustee"
#define TOKEN_LEEWAY_S 60

static const char *ear_tier(int64_t v);

#define INIT_DATA_MAX (256 * 1024)

/*
 * The init-data digest (spec §3): H_alg(raw TOML bytes), alg being the
 * top-level `algorithm = "..."` of the TOML: sha256, sha384, sha512 or sm3
 * exactly (IANA spellings such as sha-384 are refused).
 */
enum core_err
kbs_init_data_digest(const char *toml, uint8_t out[64], size_t *len,
    struct core_errbuf *eb)
{
	static const char *const algs[][2] = { { "sha256", "SHA2-256" },
		{ "sha384", "SHA2-384" }, { "sha512", "SHA2-512" },
		{ "sm3", "SM3" } };
	const char *p = toml, *q, *e;
	char alg[16];
	unsigned int n = 0;
	EVP_MD *md = NULL;
	size_t i, al;

	if (strlen(toml) > INIT_DATA_MAX)
		return core_errf(eb, CORE_ERR_TOO_BIG, "init-data: too large");
	alg[0] = '\0';
	while (p != NULL && *p != '\0') {
		q = p + strspn(p, " \t");
		if (*q == '[')
			break; /* only top-level keys count */
		if (strncmp(q, "algorithm", 9) == 0) {
			q += 9 + strspn(q + 9, " \t");
			if (*q == '=') {
				q++;
				q += strspn(q, " \t");
				if (*q == '"' && (e = strchr(q + 1, '"')) != NULL &&
				    (size_t)(e - q - 1) < sizeof(alg)) {
					al = (size_t)(e - q - 1);
					memcpy(alg, q + 1, al);
					alg[al] = '\0';
				}
				break;
			}
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	for (i = 0; i < CORE_ARRAY_LEN(algs); i++) {
		if (strcmp(alg, algs[i][0]) == 0)
			break;
	}
	if (i == CORE_ARRAY_LEN(algs))
		return core_errf(eb, CORE_ERR_INVALID,
		    "init-data: algorithm \"%s\" not supported (sha256, "
		    "sha384, sha512, sm3)", alg);
	md = EVP_MD_fetch(NULL, algs[i][1], NULL);
	if (md == NULL || EVP_Digest(toml, strlen(toml), out, &n, md, NULL) !=
	    1) {
		EVP_MD_free(md);
		return core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "init-data: %s not available", alg);
	}
	EVP_MD_free(md);
	*len = n;
	return CORE_OK;
}

/* Sample evidence: report_data must decode to exactly the digest. */
static enum core_err
verify_sample(const json_t *ev, const uint8_t digest[KBS_DIGEST_LEN],
    json_t **claims, struct core_errbuf *eb)
{
	const char *rd = NULL, *svn = NULL;
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	enum core_err err;

	if (!json_is_object(ev))
		return core_errf(eb, CORE_ERR_INVALID,
		    "sample evidence: primary_evidence is not an object");
	err = core_json_get_str(ev, "report_data", true, &rd, eb);
	if (err == CORE_OK)
		err = core_json_get_str(ev, "svn", true, &svn, eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "sample evidence");
		return err;
	}
	if (strlen(rd) > 256 || strlen(svn) > 64)
		return core_errf(eb, CORE_ERR_INVALID,
		    "sample evidence: member too long");
	err = core_b64_decode(rd, strlen(rd), &raw, &rawlen, eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "sample evidence: report_data");
		return CORE_ERR_INVALID;
	}
	if (rawlen != KBS_DIGEST_LEN ||
	    !core_ct_equal(raw, digest, KBS_DIGEST_LEN)) {
		free(raw);
		return core_errf(eb, CORE_ERR_AUTH,
		    "sample evidence: report_data does not bind the tee-pubkey "
		    "and nonce");
	}
	free(raw);
	*claims = json_pack("{s:s,s:s,s:s,s:{s:i,s:i},s:b}", "svn", svn,
	    "report_data", rd, "launch_digest", "abcde", "platform_version",
	    "major", 1, "minor", 4, "debug", 0);
	return *claims ? CORE_OK : CORE_ERR_NOMEM;
}

/*
 * TDX, SNP, SGX: the verifier checks signatures and chains to the pinned
 * roots and report_data = digest || 0^16. Debug evidence is accepted here
 * and marked contraindicated in the trust vector, so policies decide.
 */
static enum core_err
verify_hardware(const char *tee, const json_t *ev,
    const uint8_t digest[KBS_DIGEST_LEN], const uint8_t *idd, size_t idd_len,
    json_t **claims, json_t **vec, struct core_errbuf *eb)
{
	struct verifier_opts vo;
	enum tee_kind kind;
	char *text = NULL;
	enum core_err err;
	bool debug;

	*claims = *vec = NULL;
	if (tee_kind_parse(tee, false, &kind, NULL) != CORE_OK ||
	    (kind != TEE_TDX && kind != TEE_SNP && kind != TEE_SGX))
		return core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "no verifier for tee \"%s\" in this KBS", tee);
	if (!json_is_object(ev))
		return core_errf(eb, CORE_ERR_INVALID,
		    "%s evidence: primary_evidence is not an object", tee);
	text = core_json_dumps(ev);
	if (text == NULL)
		return CORE_ERR_NOMEM;
	memset(&vo, 0, sizeof(vo));
	vo.allow_debug = true;
	vo.init_data_digest = idd; /* MRCONFIGID (TDX) or HOST_DATA (SNP) */
	vo.init_data_digest_len = idd_len;
	err = verifier_verify(kind, (const uint8_t *)text, strlen(text), digest,
	    KBS_DIGEST_LEN, &vo, claims, eb);
	free(text);
	if (err != CORE_OK) {
		json_decref(*claims);
		*claims = NULL;
		return err;
	}
	debug = json_is_true(json_object_get(*claims, "debug"));
	/* No reference values: executables stay at "warning" (33). */
	*vec = json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i}",
	    "instance-identity", 0, "configuration", debug ? 97 : 2,
	    "executables", 33, "file-system", 0, "hardware", 2,
	    "runtime-opaque", 0, "storage-opaque", 0, "sourced-data", 0);
	return *vec ? CORE_OK : CORE_ERR_NOMEM;
}

static const char *
ear_tier(int64_t v)
{
	if (v < 0)
		v = -v;
	if (v <= 1)
		return "none";
	if (v <= 31)
		return "affirming";
	if (v <= 95)
		return "warning";
	return "contraindicated";
}

static int
tier_rank(const char *t)
{
	if (strcmp(t, "contraindicated") == 0)
		return 3;
	if (strcmp(t, "warning") == 0)
		return 2;
	if (strcmp(t, "affirming") == 0)
		return 1;
	return 0;
}

enum core_err
kbs_evidence_verify(const char *tee, const json_t *req, const char *nonce,
    int64_t now_s, int64_t lifetime_s, json_t **claims_out,
    struct core_errbuf *eb)
{
	const json_t *rt, *te, *pe, *idata;
	uint8_t idd[64];
	size_t idd_len = 0;
	char *idd_b64 = NULL;
	const char *rnonce = NULL, *ae = NULL;
	json_t *jwk = NULL, *tclaims = NULL, *vec = NULL, *claims = NULL;
	uint8_t digest[KBS_DIGEST_LEN];
	const char *status = "none", *k;
	json_t *v;
	enum core_err err;

	*claims_out = NULL;
	rt = json_object_get(req, "runtime-data");
	te = json_object_get(req, "tee-evidence");
	err = core_json_get_str(rt, "nonce", true, &rnonce, eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "runtime-data");
		goto out;
	}
	if (strlen(rnonce) != strlen(nonce) ||
	    !core_ct_equal(rnonce, nonce, strlen(nonce))) {
		err = core_errf(eb, CORE_ERR_AUTH,
		    "runtime-data.nonce does not match the session's nonce");
		goto out;
	}
	err = kbs_jwk_normalize(json_object_get(rt, "tee-pubkey"), &jwk, eb);
	if (err != CORE_OK)
		goto out;
	err = core_json_get_str(te, "additional_evidence", true, &ae, eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "tee-evidence");
		goto out;
	}
	pe = json_object_get(te, "primary_evidence");
	err = kbs_runtime_digest(jwk, rnonce, ae, digest, eb);
	if (err != CORE_OK)
		goto out;
	idata = json_object_get(req, "init-data");
	if (json_is_object(idata)) {
		const char *body = NULL;

		err = core_json_get_str(idata, "body", true, &body, eb);
		if (err == CORE_OK)
			err = kbs_init_data_digest(body, idd, &idd_len, eb);
		if (err != CORE_OK)
			goto out;
		idd_b64 = core_b64_encode(idd, idd_len);
		if (idd_b64 == NULL) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
	}
	if (strcmp(tee, "sample") == 0) {
		err = verify_sample(pe, digest, &tclaims, eb);
		/* No reference values are configured: executables stay at
		 * "warning" (33) as Trustee's default_cpu policy does. */
		vec = json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i}",
		    "instance-identity", 0, "configuration", 2, "executables",
		    33, "file-system", 0, "hardware", 2, "runtime-opaque", 0,
		    "storage-opaque", 0, "sourced-data", 0);
	} else {
		err = verify_hardware(tee, pe, digest, idd_len ? idd : NULL,
		    idd_len, &tclaims, &vec, eb);
	}
	if (err != CORE_OK)
		goto out;
	if (vec == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	json_object_foreach(vec, k, v) {
		const char *t = ear_tier(json_integer_value(v));

		if (tier_rank(t) > tier_rank(status))
			status = t;
	}
	claims = json_pack("{s:s,s:I,s:I,s:s,s:{s:s,s:s},s:{s:{s:s,s:O,s:s,"
	    "s:{s:O,s:s?,s:{s:O,s:s,s:s}}}}}",
	    "eat_profile", EAR_PROFILE, "iat", (json_int_t)now_s, "exp",
	    (json_int_t)(now_s + lifetime_s), "iss", "propeller-kbs",
	    "ear.verifier-id", "build", "propeller-kbs " PROPELLER_VERSION,
	    "developer", "https://github.com/absmach/propeller",
	    "submods", "cpu0", "ear.status", status,
	    "ear.trustworthiness-vector", vec,
	    "ear.appraisal-policy-id", "default",
	    "ear.veraison.annotated-evidence", tee, tclaims, "report_data",
	    json_string_value(json_object_get(tclaims, "report_data")),
	    "runtime_data_claims", "tee-pubkey", jwk, "nonce", rnonce,
	    "additional-evidence", ae);
	if (claims == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	if (idd_b64 != NULL)
		json_object_set_new(json_object_get(json_object_get(
		    json_object_get(claims, "submods"), "cpu0"),
		    "ear.veraison.annotated-evidence"), "init_data",
		    json_string(idd_b64));
	*claims_out = claims;
	claims = NULL;
out:
	free(idd_b64);
	json_decref(jwk);
	json_decref(tclaims);
	json_decref(vec);
	json_decref(claims);
	return err;
}

enum core_err
kbs_token_verify(const struct crypto_key *pub, const char *token, int64_t now_s,
    json_t **claims, struct core_errbuf *eb)
{
	json_t *hdr = NULL, *pl = NULL;
	int64_t exp = 0, nbf = 0;
	enum core_err err;

	*claims = NULL;
	err = kbs_jws_verify(pub, token, strlen(token), &hdr, &pl, eb);
	if (err != CORE_OK)
		goto out;
	err = core_json_get_int(pl, "exp", true, &exp, eb);
	if (err == CORE_OK)
		err = core_json_get_int(pl, "nbf", false, &nbf, eb);
	if (err != CORE_OK)
		goto out;
	if (now_s > exp + TOKEN_LEEWAY_S) {
		err = core_errf(eb, CORE_ERR_AUTH, "token expired");
		goto out;
	}
	if (nbf != 0 && now_s + TOKEN_LEEWAY_S < nbf) {
		err = core_errf(eb, CORE_ERR_AUTH, "token not yet valid");
		goto out;
	}
	if (kbs_token_tee_pubkey(pl) == NULL) {
		err = core_errf(eb, CORE_ERR_AUTH, "token carries no tee-pubkey");
		goto out;
	}
	*claims = pl;
	pl = NULL;
out:
	if (err != CORE_OK && err != CORE_ERR_NOMEM)
		err = CORE_ERR_AUTH;
	json_decref(hdr);
	json_decref(pl);
	return err;
}

const json_t *
kbs_token_tee_pubkey(const json_t *c)
{
	const json_t *k;

	k = json_object_get(json_object_get(json_object_get(c, "tdx"),
	    "attester_runtime_data"), "tee-pubkey");
	if (k == NULL)
		k = json_object_get(json_object_get(json_object_get(c, "tdx"),
		    "attester_user_data"), "tee-pubkey");
	if (k == NULL)
		k = json_object_get(json_object_get(json_object_get(c,
		    "customized_claims"), "runtime_data"), "tee-pubkey");
	if (k == NULL)
		k = json_object_get(json_object_get(json_object_get(
		    json_object_get(json_object_get(c, "submods"), "cpu0"),
		    "ear.veraison.annotated-evidence"), "runtime_data_claims"),
		    "tee-pubkey");
	if (k == NULL)
		k = json_object_get(c, "tee-pubkey");
	return json_is_object(k) ? k : NULL;
}
