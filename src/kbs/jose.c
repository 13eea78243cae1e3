/*
 * jose.c -- the KBS-specific layer over the crypto module: the runtime-data
 * digest of spec §3, the accepted tee-pubkey forms of §4.4 and the public
 * JWKs the KBS emits (member order kty, crv, alg, x, y / kty, alg, n, e),
 * the §4 resource JWE (flattened JSON, A256GCM) and the JWS checks of the
 * EAR and admin tokens. Everything cryptographic is crypto.h; the one
 * exception is RSA1_5 encryption (spec §4, only when enabled), which
 * crypto_jwe_encrypt deliberately never does.
 */
#include "kbs/kbs_int.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#define KBS_JWS_MAX (64 * 1024)
#define KBS_RSA_MAX_BITS 8192
#define KBS_CEK_LEN 32

enum core_err
kbs_runtime_digest(const json_t *tee_pubkey, const char *nonce,
    const char *additional_evidence, uint8_t out[KBS_DIGEST_LEN],
    struct core_errbuf *eb)
{
	json_t *rd;
	enum core_err err;

	rd = json_object();
	if (rd == NULL ||
	    json_object_set(rd, "tee-pubkey", (json_t *)tee_pubkey) != 0 ||
	    json_object_set_new(rd, "nonce", json_string(nonce)) != 0 ||
	    json_object_set_new(rd, "additional-evidence",
		json_string(additional_evidence)) != 0) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	err = crypto_jcs_hash(rd, CRYPTO_HASH_SHA384, out, eb);
out:
	json_decref(rd);
	return err;
}

/* ---- keys and JWKs ---------------------------------------------------- */

enum core_err
kbs_pub_jwk(const struct crypto_key *k, const char *alg, json_t **out,
    struct core_errbuf *eb)
{
	static const char *const order[] = { "kty", "crv", "alg", "x", "y",
		"n", "e", NULL };
	json_t *full = NULL, *j = NULL;
	enum core_err err;
	size_t i;

	*out = NULL;
	err = crypto_key_to_jwk(k, false, &full, eb);
	if (err != CORE_OK)
		return err;
	if (alg != NULL &&
	    json_object_set_new(full, "alg", json_string(alg)) != 0) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	j = json_object();
	if (j == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	for (i = 0; order[i] != NULL; i++) {
		json_t *v = json_object_get(full, order[i]);

		if (v != NULL && json_object_set(j, order[i], v) != 0) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
	}
	*out = j;
	j = NULL;
out:
	json_decref(full);
	json_decref(j);
	return err;
}

enum core_err
kbs_tee_key_from_jwk(const json_t *jwk, struct crypto_key **out,
    struct core_errbuf *eb)
{
	struct crypto_key *k = NULL;
	enum crypto_key_type t;
	enum core_err err;

	*out = NULL;
	if (!json_is_object(jwk))
		return core_errf(eb, CORE_ERR_INVALID, "JWK is not an object");
	err = crypto_key_from_jwk(jwk, &k, eb);
	if (err != CORE_OK)
		return err;
	t = crypto_key_type(k);
	if (t != CRYPTO_KEY_EC_P256 &&
	    t != CRYPTO_KEY_EC_P521 && t != CRYPTO_KEY_RSA) {
		err = core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "JWK key type %s not supported", crypto_key_type_name(t));
		goto out;
	}
	if (t == CRYPTO_KEY_RSA && crypto_key_bits(k) > KBS_RSA_MAX_BITS) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "JWK RSA key size not accepted (%u bits)",
		    crypto_key_bits(k));
		goto out;
	}
	if (crypto_key_is_private(k)) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "JWK holds a private key");
		goto out;
	}
	*out = k;
	k = NULL;
out:
	crypto_key_free(k);
	return err;
}

enum core_err
kbs_jwk_normalize(const json_t *jwk, json_t **out, struct core_errbuf *eb)
{
	static const char *const ec[] = { "kty", "crv", "alg", "x", "y", NULL };
	static const char *const rsa[] = { "kty", "alg", "n", "e", NULL };
	const char *const *members;
	const char *kty = NULL, *alg = NULL;
	enum core_err err;
	json_t *j;
	size_t i;

	if (!json_is_object(jwk))
		return core_errf(eb, CORE_ERR_INVALID,
		    "tee-pubkey: not a JSON object");
	err = core_json_get_str(jwk, "kty", true, &kty, eb);
	if (err == CORE_OK)
		err = core_json_get_str(jwk, "alg", true, &alg, eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "tee-pubkey");
		return err;
	}
	if (strcmp(kty, "EC") == 0)
		members = ec;
	else if (strcmp(kty, "RSA") == 0)
		members = rsa;
	else
		return core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "tee-pubkey: kty %s not supported", kty);
	j = json_object();
	if (j == NULL)
		return CORE_ERR_NOMEM;
	for (i = 0; members[i] != NULL; i++) {
		json_t *v = json_object_get(jwk, members[i]);

		if (!json_is_string(v)) {
			json_decref(j);
			return core_errf(eb, CORE_ERR_INVALID,
			    "tee-pubkey: member %s missing or not a string",
			    members[i]);
		}
		json_object_set(j, members[i], v);
	}
	*out = j;
	return CORE_OK;
}

enum core_err
kbs_key_read(const char *path, bool private_part, struct crypto_key **out,
    struct core_errbuf *eb)
{
	enum core_err err;

	err = crypto_key_load_file(path, out, eb);
	if (err != CORE_OK)
		return err;
	if (crypto_key_is_private(*out) != private_part) {
		crypto_key_free(*out);
		*out = NULL;
		return core_errf(eb, CORE_ERR_INVALID, "%s: not a %s key", path,
		    private_part ? "private" : "public");
	}
	return CORE_OK;
}

/* ---- JWE -------------------------------------------------------------- */

/*
 * RSA1_5 (RSAES-PKCS1-v1_5 of the CEK), which crypto.h never encrypts:
 * the flattened JWE of spec §4 built on crypto_aes_gcm_seal.
 */
static enum core_err
jwe_rsa1_5(const struct crypto_key *peer, const void *pt, size_t pt_len,
    const uint8_t *cek_in, const uint8_t *iv_in, char **out,
    struct core_errbuf *eb)
{
	static const char hdr[] = "{\"alg\":\"RSA1_5\",\"enc\":\"A256GCM\"}";
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t cek[KBS_CEK_LEN], iv[CRYPTO_GCM_IV_LEN], tag[CRYPTO_GCM_TAG_LEN];
	uint8_t ek[KBS_RSA_MAX_BITS / 8], *ct = NULL;
	size_t eklen = sizeof(ek);
	char *prot = NULL, *s_ek = NULL, *s_iv = NULL, *s_ct = NULL,
	     *s_tag = NULL;
	struct core_buf res;
	enum core_err err = CORE_OK;

	core_buf_init(&res, 0);
	if (cek_in != NULL)
		memcpy(cek, cek_in, sizeof(cek));
	else if ((err = core_random(cek, sizeof(cek), eb)) != CORE_OK)
		goto out;
	if (iv_in != NULL)
		memcpy(iv, iv_in, sizeof(iv));
	else if ((err = core_random(iv, sizeof(iv), eb)) != CORE_OK)
		goto out;
	ctx = EVP_PKEY_CTX_new(crypto_key_evp(peer), NULL);
	if (ctx == NULL || EVP_PKEY_encrypt_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_encrypt(ctx, ek, &eklen, cek, sizeof(cek)) != 1) {
		ERR_clear_error();
		err = core_errf(eb, CORE_ERR_CRYPTO, "RSA encryption failed");
		goto out;
	}
	prot = core_b64url_encode(hdr, strlen(hdr));
	ct = malloc(pt_len ? pt_len : 1);
	if (prot == NULL || ct == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	err = crypto_aes_gcm_seal(cek, sizeof(cek), iv, prot, strlen(prot),
	    pt, pt_len, ct, tag, eb);
	if (err != CORE_OK)
		goto out;
	s_ek = core_b64url_encode(ek, eklen);
	s_iv = core_b64url_encode(iv, sizeof(iv));
	s_ct = core_b64url_encode(ct, pt_len);
	s_tag = core_b64url_encode(tag, sizeof(tag));
	if (s_ek == NULL || s_iv == NULL || s_ct == NULL || s_tag == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	err = core_buf_printf(&res,
	    "{\"protected\":\"%s\",\"encrypted_key\":\"%s\",\"iv\":\"%s\","
	    "\"ciphertext\":\"%s\",\"tag\":\"%s\"}",
	    prot, s_ek, s_iv, s_ct, s_tag);
	if (err == CORE_OK)
		*out = (char *)core_buf_steal(&res, NULL);
out:
	core_wipe(cek, sizeof(cek));
	EVP_PKEY_CTX_free(ctx);
	free(prot);
	free(ct);
	free(s_ek);
	free(s_iv);
	free(s_ct);
	free(s_tag);
	core_buf_cleanup(&res);
	return err;
}

enum core_err
kbs_jwe_encrypt(const json_t *tee_pubkey, const void *pt, size_t pt_len,
    bool allow_rsa1_5, const struct crypto_key *eph, const uint8_t *cek_in,
    const uint8_t *iv_in, char **out, struct core_errbuf *eb)
{
	struct crypto_key *peer = NULL;
	struct crypto_jwe_recipient r;
	struct crypto_jwe_enc_opts o;
	struct secret *cek = NULL;
	const char *alg = NULL, *kty = NULL;
	bool ec;
	size_t len = 0;
	enum core_err err;

	*out = NULL;
	err = core_json_get_str(tee_pubkey, "alg", true, &alg, eb);
	if (err == CORE_OK)
		err = core_json_get_str(tee_pubkey, "kty", true, &kty, eb);
	if (err != CORE_OK)
		goto out;
	ec = strcmp(kty, "EC") == 0 && strcmp(alg, "ECDH-ES+A256KW") == 0;
	if (!ec && !(strcmp(kty, "RSA") == 0 &&
	    (strcmp(alg, "RSA-OAEP-256") == 0 ||
		(allow_rsa1_5 && strcmp(alg, "RSA1_5") == 0)))) {
		err = core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "tee-pubkey alg %s with kty %s not supported%s", alg, kty,
		    strcmp(alg, "RSA1_5") == 0 ? " (RSA1_5 is disabled)" : "");
		goto out;
	}
	err = kbs_tee_key_from_jwk(tee_pubkey, &peer, eb);
	if (err != CORE_OK)
		goto out;
	if (strcmp(alg, "RSA1_5") == 0) {
		err = jwe_rsa1_5(peer, pt, pt_len, cek_in, iv_in, out, eb);
		goto out;
	}
	if (cek_in != NULL) {
		cek = secret_from(cek_in, KBS_CEK_LEN);
		if (cek == NULL) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
	}
	memset(&r, 0, sizeof(r));
	r.alg = alg;
	r.key = peer;
	memset(&o, 0, sizeof(o));
	o.format = CRYPTO_JWE_FLATTENED;
	o.enc = "A256GCM";
	o.cek = cek;
	o.iv = iv_in;
	o.epk = ec ? eph : NULL;
	err = crypto_jwe_encrypt(&r, 1, &o, pt, pt_len, out, &len, eb);
out:
	secret_free(cek);
	crypto_key_free(peer);
	return err;
}

enum core_err
kbs_jwe_decrypt(const void *jwe, size_t len, const struct crypto_key *key,
    struct secret **out, struct core_errbuf *eb)
{
	static const char *const algs[] = { "ECDH-ES+A256KW", "RSA-OAEP-256",
		NULL };
	const char *txt = jwe, *enc;
	struct crypto_jwe_dec_opts o;
	json_t *hdr = NULL;
	size_t i = 0;
	enum core_err err;

	*out = NULL;
	/* Spec §4: flattened JSON only. */
	while (i < len && (txt[i] == ' ' || txt[i] == '\t' || txt[i] == '\r' ||
	    txt[i] == '\n'))
		i++;
	if (i == len || txt[i] != '{') {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "not a flattened JSON JWE");
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.keys = &key;
	o.nkeys = 1;
	o.allowed_algs = algs;
	err = crypto_jwe_decrypt(jwe, len, &o, out, &hdr, eb);
	if (err != CORE_OK)
		goto out;
	enc = json_string_value(json_object_get(hdr, "enc"));
	if (enc == NULL || strcmp(enc, "A256GCM") != 0) {
		secret_free(*out);
		*out = NULL;
		err = core_errf(eb, CORE_ERR_UNSUPPORTED, "enc %s",
		    enc ? enc : "(none)");
	}
out:
	json_decref(hdr);
	if (err != CORE_OK && err != CORE_ERR_NOMEM) {
		core_errbuf_prefix(eb, "bad JWE");
		err = CORE_ERR_CRYPTO;
	}
	return err;
}

/* ---- JWS -------------------------------------------------------------- */

enum core_err
kbs_jws_parse(const char *jws, size_t len, json_t **header, json_t **payload,
    struct core_errbuf *eb)
{
	struct crypto_jws *j = NULL;
	enum core_err err;

	*header = *payload = NULL;
	err = crypto_jws_parse(jws, len, KBS_JWS_MAX, &j, eb);
	if (err == CORE_OK)
		err = core_json_parse_object(j->payload, j->payload_len,
		    KBS_JWS_MAX, payload, eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "JWT");
		if (err != CORE_ERR_NOMEM && err != CORE_ERR_TOO_BIG)
			err = CORE_ERR_INVALID;
		goto out;
	}
	*header = json_incref(j->header);
out:
	crypto_jws_free(j);
	return err;
}

enum core_err
kbs_jws_verify(const struct crypto_key *k, const char *jws, size_t len,
    json_t **header, json_t **payload, struct core_errbuf *eb)
{
	const char *alg = crypto_key_type(k) == CRYPTO_KEY_ED25519 ? "EdDSA" :
	    "ES256";
	const char *const allowed[] = { alg, NULL };
	struct crypto_jws *j = NULL;
	enum core_err err;

	*header = *payload = NULL;
	err = crypto_jws_parse(jws, len, KBS_JWS_MAX, &j, eb);
	if (err == CORE_OK)
		err = core_json_parse_object(j->payload, j->payload_len,
		    KBS_JWS_MAX, payload, eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "JWT");
		if (err != CORE_ERR_NOMEM && err != CORE_ERR_TOO_BIG)
			err = CORE_ERR_INVALID;
		goto out;
	}
	if (strcmp(j->alg, alg) != 0) {
		err = core_errf(eb, CORE_ERR_AUTH,
		    "JWT alg %s does not match the key (%s)", j->alg, alg);
		goto out;
	}
	err = crypto_jws_verify(j, k, allowed, eb);
	if (err != CORE_OK) {
		if (err == CORE_ERR_NOMEM)
			goto out;
		core_errbuf_prefix(eb, "JWT signature does not verify");
		err = CORE_ERR_AUTH;
		goto out;
	}
	*header = json_incref(j->header);
out:
	if (err != CORE_OK) {
		json_decref(*payload);
		*payload = NULL;
	}
	crypto_jws_free(j);
	return err;
}
