/*
 * crypto.h -- the cryptographic module: hashes, MACs, AES (GCM, CTR, key
 * wrap), asymmetric keys, RFC 8785 canonical JSON and JOSE (JWK, JWS/JWT,
 * JWE) for the KBS, the KBS client, ocicrypt and the verifier.
 *
 * Owns: struct crypto_key (an OpenSSL EVP_PKEY plus JWK metadata), the
 * streaming hash/HMAC/CTR contexts and the parsed JWS.
 *
 * Depends on: core (errors, secrets, codecs, JSON), OpenSSL 3 EVP, jansson.
 * Never: logs, touches the disk except in the crypto_key_load_file() call
 * it is asked to make, or keeps global state (beyond the EC curve groups
 * and the OpenSSL algorithms it uses, each fetched once per process and
 * then only read, see alg.c). Every function may be called from several
 * threads at once on different objects. Every parser is bounded and every
 * failure leaves a reason in the core_errbuf.
 *
 * Conventions: byte strings are (pointer, length). Results that are keys
 * (CEKs, JWE plaintexts, shared secrets) come back as struct secret and are
 * released with secret_free(). Functions that fill caller buffers state the
 * size the buffer must have.
 */
#ifndef PROPELLER_CRYPTO_H
#define PROPELLER_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/core.h"

/* ------------------------------------------------------------------ */
/* Hashes and HMAC                                                     */
/* ------------------------------------------------------------------ */

enum crypto_hash {
	CRYPTO_HASH_SHA256 = 0,
	CRYPTO_HASH_SHA384,
	CRYPTO_HASH_SHA512
};

#define CRYPTO_SHA256_LEN 32
#define CRYPTO_SHA384_LEN 48
#define CRYPTO_SHA512_LEN 64
#define CRYPTO_HASH_MAX_LEN 64

/* Digest length in bytes of h (0 for an unknown value). */
size_t crypto_hash_len(enum crypto_hash h);
/* Lowercase name: "sha256", "sha384", "sha512". */
const char *crypto_hash_name(enum crypto_hash h);
/*
 * Parses "sha256"/"sha384"/"sha512" (exact lowercase, as init-data TOML
 * and the digest prefixes use). Anything else is CORE_ERR_UNSUPPORTED.
 */
enum core_err crypto_hash_parse(const char *name, enum crypto_hash *out,
    struct core_errbuf *eb);

/* One-shot digest; out must hold crypto_hash_len(h) bytes. */
enum core_err crypto_hash(enum crypto_hash h, const void *p, size_t n,
    uint8_t *out, struct core_errbuf *eb);
enum core_err crypto_sha256(const void *p, size_t n,
    uint8_t out[CRYPTO_SHA256_LEN]);
enum core_err crypto_sha384(const void *p, size_t n,
    uint8_t out[CRYPTO_SHA384_LEN]);
enum core_err crypto_sha512(const void *p, size_t n,
    uint8_t out[CRYPTO_SHA512_LEN]);

/* Streaming digest. */
struct crypto_hash_ctx;

enum core_err crypto_hash_ctx_new(enum crypto_hash h,
    struct crypto_hash_ctx **out, struct core_errbuf *eb);
enum core_err crypto_hash_ctx_update(struct crypto_hash_ctx *c,
    const void *p, size_t n, struct core_errbuf *eb);
/*
 * Writes the digest (crypto_hash_len bytes) to out. The context cannot be
 * updated afterwards; free it.
 */
enum core_err crypto_hash_ctx_final(struct crypto_hash_ctx *c, uint8_t *out,
    struct core_errbuf *eb);
void crypto_hash_ctx_free(struct crypto_hash_ctx *c);

/* One-shot HMAC-SHA256; out holds 32 bytes. */
enum core_err crypto_hmac_sha256(const void *key, size_t key_len,
    const void *p, size_t n, uint8_t out[CRYPTO_SHA256_LEN],
    struct core_errbuf *eb);

/* Streaming HMAC-SHA256 (the ocicrypt layer MAC). The key is copied. */
struct crypto_hmac_ctx;

enum core_err crypto_hmac_ctx_new(const void *key, size_t key_len,
    struct crypto_hmac_ctx **out, struct core_errbuf *eb);
enum core_err crypto_hmac_ctx_update(struct crypto_hmac_ctx *c,
    const void *p, size_t n, struct core_errbuf *eb);
enum core_err crypto_hmac_ctx_final(struct crypto_hmac_ctx *c,
    uint8_t out[CRYPTO_SHA256_LEN], struct core_errbuf *eb);
void crypto_hmac_ctx_free(struct crypto_hmac_ctx *c);

/* ------------------------------------------------------------------ */
/* AES                                                                 */
/* ------------------------------------------------------------------ */

#define CRYPTO_GCM_IV_LEN 12
#define CRYPTO_GCM_TAG_LEN 16
#define CRYPTO_CTR_IV_LEN 16
#define CRYPTO_KW_OVERHEAD 8

/*
 * AES-GCM with a 12-byte IV and a 16-byte tag. key_len is 16, 24 or 32
 * (AES-128/192/256). ct (seal) and pt (open) must hold pt_len / ct_len
 * bytes; in-place operation (ct == pt) is allowed. aad may be NULL when
 * aad_len is 0. open fails with CORE_ERR_AUTH ("GCM tag mismatch") and
 * wipes the output when the tag does not verify.
 */
enum core_err crypto_aes_gcm_seal(const uint8_t *key, size_t key_len,
    const uint8_t iv[CRYPTO_GCM_IV_LEN], const void *aad, size_t aad_len,
    const void *pt, size_t pt_len, uint8_t *ct,
    uint8_t tag[CRYPTO_GCM_TAG_LEN], struct core_errbuf *eb);
enum core_err crypto_aes_gcm_open(const uint8_t *key, size_t key_len,
    const uint8_t iv[CRYPTO_GCM_IV_LEN], const void *aad, size_t aad_len,
    const void *ct, size_t ct_len, const uint8_t tag[CRYPTO_GCM_TAG_LEN],
    uint8_t *pt, struct core_errbuf *eb);

/*
 * AES-256-CTR stream (the ocicrypt layer cipher): the 16-byte IV is the
 * whole initial counter block, incremented as one 128-bit big-endian
 * integer per block (= OpenSSL EVP_aes_256_ctr). Encryption and decryption
 * are the same operation; update may be called with any lengths, and
 * in == out is allowed. The key is copied into the OpenSSL context.
 */
struct crypto_aes_ctr;

enum core_err crypto_aes_ctr_new(const uint8_t key[32],
    const uint8_t iv[CRYPTO_CTR_IV_LEN], struct crypto_aes_ctr **out,
    struct core_errbuf *eb);
enum core_err crypto_aes_ctr_update(struct crypto_aes_ctr *c,
    const uint8_t *in, size_t n, uint8_t *out, struct core_errbuf *eb);
void crypto_aes_ctr_free(struct crypto_aes_ctr *c);

/*
 * AES key wrap, RFC 3394 (A128KW/A192KW/A256KW by kek_len 16/24/32).
 * key_len must be a multiple of 8 and at least 16. wrap writes key_len + 8
 * bytes to out; unwrap writes in_len - 8 bytes to out and fails with
 * CORE_ERR_AUTH ("key unwrap integrity check failed") on a wrong KEK or
 * tampered input, wiping out.
 */
enum core_err crypto_aes_kw_wrap(const uint8_t *kek, size_t kek_len,
    const uint8_t *key, size_t key_len, uint8_t *out,
    struct core_errbuf *eb);
enum core_err crypto_aes_kw_unwrap(const uint8_t *kek, size_t kek_len,
    const uint8_t *in, size_t in_len, uint8_t *out, struct core_errbuf *eb);

/*
 * Concat KDF of RFC 7518 §4.6 (single-step KDF with SHA-256, NIST SP
 * 800-56A): out = first keydatalen_bits/8 bytes of
 *   SHA-256(counter || Z || len32(alg) || alg || len32(apu) || apu ||
 *           len32(apv) || apv || u32be(keydatalen_bits)), counter = 1, 2...
 * keydatalen_bits must be a positive multiple of 8 (at most 1024). apu/apv
 * may be NULL with length 0. alg is the JWE "alg" for key agreement with
 * key wrapping, or the "enc" for direct ECDH-ES.
 */
enum core_err crypto_concat_kdf(const uint8_t *z, size_t z_len,
    const char *alg, const uint8_t *apu, size_t apu_len, const uint8_t *apv,
    size_t apv_len, size_t keydatalen_bits, uint8_t *out,
    struct core_errbuf *eb);

/* ------------------------------------------------------------------ */
/* RFC 8785 canonical JSON (JCS)                                       */
/* ------------------------------------------------------------------ */

/*
 * core_json_dumps (compact, members in insertion order, UTF-8 as is) with
 * the same bytes, written directly without jansson's dumper: strings are
 * escaped as jansson does ('"', '\\' and control characters), reals and
 * trees deeper than 64 go to jansson. For JOSE headers, the flattened JWE
 * and JWT/EAR claims, which are signed over these bytes. The caller frees
 * the result (sized to fit); NULL when out of memory.
 */
char *crypto_json_dumps(const json_t *v);

/*
 * Serializes v canonically: object members sorted by the UTF-16 code units
 * of their names, no whitespace, strings with the minimal RFC 8785
 * escaping, numbers in ECMAScript Number.prototype.toString form (integers
 * are treated as IEEE doubles, so |n| > 2^53 loses precision exactly as in
 * JavaScript). Non-finite reals fail with CORE_ERR_INVALID. Nesting is
 * bounded (CRYPTO_JCS_MAX_DEPTH). *out is malloc'd and NUL-terminated;
 * out_len may be NULL.
 */
#define CRYPTO_JCS_MAX_DEPTH 64
enum core_err crypto_jcs(const json_t *v, char **out, size_t *out_len,
    struct core_errbuf *eb);
/* Hash of the canonical form; out holds crypto_hash_len(h) bytes. */
enum core_err crypto_jcs_hash(const json_t *v, enum crypto_hash h,
    uint8_t *out, struct core_errbuf *eb);
/*
 * ECMAScript Number::toString of a finite double into buf (at least
 * CRYPTO_JCS_NUM_LEN bytes). Exposed for tests and for callers that emit
 * canonical numbers themselves.
 */
#define CRYPTO_JCS_NUM_LEN 32
enum core_err crypto_jcs_number(double d, char buf[CRYPTO_JCS_NUM_LEN],
    struct core_errbuf *eb);

/* ------------------------------------------------------------------ */
/* Keys                                                                */
/* ------------------------------------------------------------------ */

enum crypto_key_type {
	CRYPTO_KEY_EC_P256 = 1,
	CRYPTO_KEY_EC_P384,
	CRYPTO_KEY_EC_P521,
	CRYPTO_KEY_RSA,
	CRYPTO_KEY_ED25519,
	CRYPTO_KEY_X25519
};

/* Bound on key files, PEM/DER blobs and JWK text read from outside. */
#define CRYPTO_KEY_MAX_LEN (64 * 1024)
#define CRYPTO_RSA_MIN_BITS 2048
#define CRYPTO_RSA_MAX_BITS 16384

/*
 * An asymmetric key, public or private. Immutable after creation, so one
 * key may be shared by several threads for sign/verify/encrypt/decrypt.
 */
struct crypto_key;

/* Short name: "EC P-256", "RSA", "Ed25519", ... */
const char *crypto_key_type_name(enum crypto_key_type t);

/*
 * Generates a fresh private key. rsa_bits is used for CRYPTO_KEY_RSA only
 * (0 = 2048; below CRYPTO_RSA_MIN_BITS is refused).
 */
enum core_err crypto_key_generate(enum crypto_key_type t, unsigned rsa_bits,
    struct crypto_key **out, struct core_errbuf *eb);
void crypto_key_free(struct crypto_key *k);

enum crypto_key_type crypto_key_type(const struct crypto_key *k);
bool crypto_key_is_private(const struct crypto_key *k);
/* Modulus / curve size in bits. */
unsigned crypto_key_bits(const struct crypto_key *k);
/*
 * The "alg" / "kid" members of the JWK the key was parsed from (borrowed,
 * NULL if absent or not loaded from a JWK).
 */
const char *crypto_key_jwk_alg(const struct crypto_key *k);
const char *crypto_key_jwk_kid(const struct crypto_key *k);
/* A new key holding only the public half of k. */
enum core_err crypto_key_public(const struct crypto_key *k,
    struct crypto_key **out, struct core_errbuf *eb);
/* True if a and b have the same type and public key. */
bool crypto_key_public_equal(const struct crypto_key *a,
    const struct crypto_key *b);

/*
 * Loads a key from PEM text: private PKCS#8 ("PRIVATE KEY"), PKCS#1
 * ("RSA PRIVATE KEY"), SEC1 ("EC PRIVATE KEY"), public SPKI ("PUBLIC
 * KEY"), PKCS#1 ("RSA PUBLIC KEY") or an X.509 certificate (its public
 * key). Encrypted PEM is refused. The first PEM block is used.
 */
enum core_err crypto_key_from_pem(const void *p, size_t n,
    struct crypto_key **out, struct core_errbuf *eb);
/* The same forms in DER (PKCS#8, PKCS#1, SEC1, SPKI, certificate). */
enum core_err crypto_key_from_der(const void *p, size_t n,
    struct crypto_key **out, struct core_errbuf *eb);
/* Detects PEM, JWK (text starting with '{') or DER and loads it. */
enum core_err crypto_key_load(const void *p, size_t n,
    struct crypto_key **out, struct core_errbuf *eb);
/* crypto_key_load of a file (bounded by CRYPTO_KEY_MAX_LEN). */
enum core_err crypto_key_load_file(const char *path, struct crypto_key **out,
    struct core_errbuf *eb);

/*
 * Serializes: public SPKI, or (private && key is private) PKCS#8.
 * PEM output is a malloc'd NUL-terminated string; DER a malloc'd buffer.
 * A private export is key material: core_wipe() it before free().
 */
enum core_err crypto_key_to_pem(const struct crypto_key *k, bool private_part,
    char **out, struct core_errbuf *eb);
enum core_err crypto_key_to_der(const struct crypto_key *k, bool private_part,
    uint8_t **out, size_t *out_len, struct core_errbuf *eb);

/*
 * Parses a JWK object: kty EC (crv P-256/P-384/P-521, x, y[, d]), RSA (n,
 * e[, d, p, q, dp, dq, qi]) or OKP (crv Ed25519/X25519, x[, d]). Lengths
 * are checked (EC coordinates must be exactly the field size), the public
 * point must be on the curve and a private part must match the public one
 * (RSA private keys need the CRT members p, q, dp, dq, qi; RSA moduli
 * below CRYPTO_RSA_MIN_BITS are refused).
 * "alg" and "kid" are kept (crypto_key_jwk_alg/kid); other members are
 * ignored. Errors name the offending member.
 */
enum core_err crypto_key_from_jwk(const json_t *jwk, struct crypto_key **out,
    struct core_errbuf *eb);
/* Parses JWK text (bounded by CRYPTO_KEY_MAX_LEN). */
enum core_err crypto_key_from_jwk_str(const void *p, size_t n,
    struct crypto_key **out, struct core_errbuf *eb);
/*
 * Builds the JWK: the required members only, in the order kty, crv, x, y
 * (EC), kty, n, e (RSA), kty, crv, x (OKP), then the private members when
 * private_part is set (refused for a public key). EC coordinates are
 * left-padded to the field size. No alg/kid: callers add what they need.
 * jansson does not wipe freed strings, so keep private JWKs short-lived.
 */
enum core_err crypto_key_to_jwk(const struct crypto_key *k, bool private_part,
    json_t **out, struct core_errbuf *eb);
/*
 * RFC 7638 thumbprint: hash of the canonical required public members.
 * out holds crypto_hash_len(h) bytes; the _b64url form returns a malloc'd
 * base64url string.
 */
enum core_err crypto_key_thumbprint(const struct crypto_key *k,
    enum crypto_hash h, uint8_t *out, struct core_errbuf *eb);
enum core_err crypto_key_thumbprint_b64url(const struct crypto_key *k,
    enum crypto_hash h, char **out, struct core_errbuf *eb);

/*
 * Access to the OpenSSL key for modules that need EVP directly (X.509
 * chain checks). Borrowed; valid while k lives. Declared with OpenSSL's
 * struct tag so this header does not pull in OpenSSL. EC keys build it on
 * first use (their arithmetic does not need it), so this may return NULL
 * when out of memory.
 */
struct evp_pkey_st *crypto_key_evp(const struct crypto_key *k);
/*
 * Wraps an EVP_PKEY. Takes a reference (EVP_PKEY_up_ref); the caller keeps
 * its own. Unsupported key types fail with CORE_ERR_UNSUPPORTED.
 */
enum core_err crypto_key_from_evp(struct evp_pkey_st *pkey,
    struct crypto_key **out, struct core_errbuf *eb);

/*
 * ECDH / X25519 shared secret Z between a private key and a peer public
 * key of the same type (for EC, the x-coordinate, field-size bytes).
 */
enum core_err crypto_ecdh(const struct crypto_key *priv,
    const struct crypto_key *peer, struct secret **z_out,
    struct core_errbuf *eb);

/* ------------------------------------------------------------------ */
/* Signatures (JOSE algorithms)                                        */
/* ------------------------------------------------------------------ */

/*
 * alg is a JWS name: "ES256" (P-256/SHA-256), "ES384" (P-384/SHA-384),
 * "ES512" (P-521/SHA-512), "EdDSA" (Ed25519), "RS256", "RS384", "RS512",
 * "PS256", "PS384", "PS512" (RSA >= 2048 bits). ECDSA signatures are the
 * JOSE raw R||S form (2 * field size bytes). The key type must fit alg,
 * else CORE_ERR_INVALID naming both. verify fails with CORE_ERR_AUTH on a
 * bad signature.
 */
enum core_err crypto_sign(const struct crypto_key *k, const char *alg,
    const void *p, size_t n, uint8_t **sig_out, size_t *sig_len,
    struct core_errbuf *eb);
enum core_err crypto_verify(const struct crypto_key *k, const char *alg,
    const void *p, size_t n, const uint8_t *sig, size_t sig_len,
    struct core_errbuf *eb);
/*
 * A signer: one key and alg, with the OpenSSL signing context set up once
 * (for ECDSA that setup is about a quarter of a signature's cost). Not
 * thread-safe: one per thread. The key must outlive the signer.
 */
struct crypto_signer;

enum core_err crypto_signer_new(const struct crypto_key *k, const char *alg,
    struct crypto_signer **out, struct core_errbuf *eb);
void crypto_signer_free(struct crypto_signer *s);
const char *crypto_signer_alg(const struct crypto_signer *s);
/* crypto_sign with the signer's key and alg. */
enum core_err crypto_signer_sign(struct crypto_signer *s, const void *p,
    size_t n, uint8_t **sig_out, size_t *sig_len, struct core_errbuf *eb);

/* The natural JWS alg of a key ("ES256" for P-256, "EdDSA", "RS256"...). */
const char *crypto_key_default_sig_alg(const struct crypto_key *k);

/* ------------------------------------------------------------------ */
/* JWS (compact) and JWT                                               */
/* ------------------------------------------------------------------ */

/* Bound on compact JWS/JWT and JWE inputs unless a caller sets its own. */
#define CRYPTO_JOSE_MAX_DEFAULT (8 * 1024 * 1024)

/*
 * Signs payload as a compact JWS. header may be NULL ({"alg":alg}); when
 * given, its members are kept in their order and "alg" is appended if it
 * is absent (a different "alg" is an error). *out is malloc'd.
 */
enum core_err crypto_jws_sign(const struct crypto_key *k, const char *alg,
    const json_t *header, const void *payload, size_t payload_len,
    char **out, struct core_errbuf *eb);

/* crypto_jws_sign with a signer (its key and alg). */
enum core_err crypto_jws_sign_with(struct crypto_signer *s,
    const json_t *header, const void *payload, size_t payload_len,
    char **out, struct core_errbuf *eb);

/* A parsed, not yet verified, compact JWS. Fields are read-only. */
struct crypto_jws {
	json_t *header;          /* owned: protected header object */
	const char *alg;         /* borrowed from header */
	uint8_t *payload;        /* owned; NUL-terminated beyond payload_len */
	size_t payload_len;
	uint8_t *sig;            /* owned */
	size_t sig_len;
	char *signing_input;     /* owned: "b64(header).b64(payload)" */
	size_t signing_input_len;
};

/*
 * Splits and decodes a compact JWS (three base64url parts; the header must
 * be a JSON object with a string "alg"; "crit" is refused). Does not
 * verify: look at the header (jwk, kid, x5c) to choose a key, then call
 * crypto_jws_verify. max_len 0 = CRYPTO_JOSE_MAX_DEFAULT.
 */
enum core_err crypto_jws_parse(const char *s, size_t n, size_t max_len,
    struct crypto_jws **out, struct core_errbuf *eb);
void crypto_jws_free(struct crypto_jws *j);
/*
 * Verifies the signature with k. The header alg must be in allowed_algs (a
 * NULL-terminated list; NULL or empty refuses everything, "none" is never
 * accepted) and must fit the key type.
 */
enum core_err crypto_jws_verify(const struct crypto_jws *j,
    const struct crypto_key *k, const char *const *allowed_algs,
    struct core_errbuf *eb);

/* Claim checks for JWTs. */
struct crypto_jwt_opts {
	const char *const *allowed_algs; /* borrowed; NULL-terminated; required */
	int64_t now_s;        /* Unix seconds; 0 = current time */
	int64_t leeway_s;     /* tolerance for exp/nbf/iat */
	bool require_exp;     /* absent exp is an error */
	bool require_iat;
	const char *iss;      /* borrowed; when set, "iss" must equal it */
	const char *aud;      /* borrowed; when set, "aud" (string or array)
	                         must contain it */
	size_t max_len;       /* input bound; 0 = CRYPTO_JOSE_MAX_DEFAULT */
};

/*
 * Builds and signs a JWT. header NULL means {"typ":"JWT","alg":alg}; claims
 * are serialized compactly in their insertion order.
 */
enum core_err crypto_jwt_sign(const struct crypto_key *k, const char *alg,
    const json_t *header, const json_t *claims, char **out,
    struct core_errbuf *eb);
/*
 * Checks exp (now < exp + leeway), nbf (now + leeway >= nbf), iat (not in
 * the future beyond leeway), iss and aud per o. exp/nbf/iat must be
 * integers (or reals with an integral value) when present. Fails with
 * CORE_ERR_AUTH naming the claim ("token expired at ..."), or
 * CORE_ERR_INVALID for a malformed claim.
 */
enum core_err crypto_jwt_check_claims(const json_t *claims,
    const struct crypto_jwt_opts *o, struct core_errbuf *eb);
/*
 * Parses, verifies with k, requires a JSON-object payload and checks the
 * claims. On success *claims_out (new reference) holds the payload object;
 * header_out, if non-NULL, receives a new reference to the header.
 */
enum core_err crypto_jwt_verify(const char *token, size_t n,
    const struct crypto_key *k, const struct crypto_jwt_opts *o,
    json_t **claims_out, json_t **header_out, struct core_errbuf *eb);

/* ------------------------------------------------------------------ */
/* JWE                                                                 */
/* ------------------------------------------------------------------ */

enum crypto_jwe_format {
	CRYPTO_JWE_FLATTENED = 0, /* {"protected","encrypted_key","iv",...} */
	CRYPTO_JWE_COMPACT,       /* five dot-separated parts */
	CRYPTO_JWE_GENERAL        /* {"protected","recipients":[...],...} */
};

/*
 * One recipient. alg: "ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A192KW",
 * "ECDH-ES+A256KW" (EC P-256/384/521 or X25519 public key), "RSA-OAEP",
 * "RSA-OAEP-256" (RSA public key), "A128KW", "A192KW", "A256KW" (sym of
 * 16/24/32 bytes), "dir" (sym = the CEK). ECDH-ES and dir allow a single
 * recipient only. alg NULL picks from the key: the JWK "alg" if it is one
 * of the above, else ECDH-ES+A256KW for EC/X25519, RSA-OAEP-256 for RSA
 * (so a JWK saying "RSA1_5" gets RSA-OAEP-256: RSA1_5 never encrypts).
 * Callers that must match a peer's advertised alg pass it explicitly.
 */
struct crypto_jwe_recipient {
	const char *alg;               /* borrowed; may be NULL */
	const struct crypto_key *key;  /* borrowed; for ECDH-ES / RSA */
	const struct secret *sym;      /* borrowed; for AxxxKW / dir */
	const json_t *header;          /* borrowed; extra per-recipient
	                                  header members (JSON forms), NULL ok */
};

struct crypto_jwe_enc_opts {
	enum crypto_jwe_format format;
	const char *enc;               /* "A256GCM" (NULL), "A128GCM",
	                                  "A192GCM", "A128CBC-HS256",
	                                  "A192CBC-HS384", "A256CBC-HS512" */
	const json_t *protected_extra; /* borrowed; extra protected members,
	                                  appended after alg/enc/epk */
	const json_t *unprotected;     /* borrowed; shared unprotected header
	                                  (JSON forms only) */
	const uint8_t *aad;            /* borrowed; JWE AAD (JSON forms only) */
	size_t aad_len;
	const uint8_t *apu;            /* borrowed; ECDH-ES PartyUInfo */
	size_t apu_len;
	const uint8_t *apv;            /* borrowed; ECDH-ES PartyVInfo */
	size_t apv_len;
	/* Deterministic inputs for test vectors; leave NULL in production. */
	const struct secret *cek;      /* borrowed; fixed CEK */
	const uint8_t *iv;             /* borrowed; fixed IV (enc IV length) */
	const struct crypto_key *epk;  /* borrowed; fixed ephemeral private key
	                                  (first ECDH recipient only) */
};

/*
 * Encrypts pt for the recipients. Header layout:
 *  - compact/flattened (one recipient): protected = {"alg","enc"[,"epk"]
 *    [,"apu","apv"]} followed by protected_extra members, e.g.
 *    {"alg":"ECDH-ES+A256KW","enc":"A256GCM","epk":{"crv","kty","x","y"}}
 *    (epk members in alphabetical order, as Trustee emits);
 *  - general: protected = {"enc"} + protected_extra, each recipient's
 *    "header" = {"alg"[,"epk"...]} + its extra members (as go-jose emits).
 * Compact refuses unprotected, aad and per-recipient headers. *out is a
 * malloc'd NUL-terminated string.
 */
enum core_err crypto_jwe_encrypt(const struct crypto_jwe_recipient *rcpts,
    size_t nrcpts, const struct crypto_jwe_enc_opts *o, const void *pt,
    size_t pt_len, char **out, size_t *out_len, struct core_errbuf *eb);

struct crypto_jwe_dec_opts {
	const struct crypto_key *const *keys; /* borrowed; private keys to try */
	size_t nkeys;
	const struct secret *sym;      /* borrowed; AxxxKW KEK or dir CEK */
	const char *const *allowed_algs; /* borrowed; NULL-terminated; NULL =
	                                  every supported alg but RSA1_5 */
	bool allow_rsa1_5;             /* RSA1_5 only when set (and allowed) */
	size_t max_len;                /* input bound; 0 = CRYPTO_JOSE_MAX_DEFAULT */
};

/*
 * Decrypts a JWE in any serialization (JSON if the first non-space byte is
 * '{', compact otherwise). The effective header of a recipient is the union
 * of protected, unprotected and per-recipient headers (a member in two of
 * them is an error); "crit" is refused; "zip" is refused. The GCM/CBC AAD
 * is the received protected string (plus "." aad). For general JSON every
 * recipient whose alg fits a supplied key is tried; on total failure the
 * error lists each recipient and why it failed. Where only the content
 * tag can reveal a wrong key (ECDH-ES direct, RSA1_5) the next key of the
 * same kind is tried. An RSA1_5 padding failure continues with a random
 * CEK (RFC 7516 §11.5), so it surfaces as a tag mismatch. On success
 * *pt_out holds the plaintext (NUL-terminated beyond len) and, if
 * header_out is non-NULL, *header_out the effective header of the
 * recipient that worked (new reference).
 */
enum core_err crypto_jwe_decrypt(const void *jwe, size_t n,
    const struct crypto_jwe_dec_opts *o, struct secret **pt_out,
    json_t **header_out, struct core_errbuf *eb);
/* Convenience: one private key, default algorithms. */
enum core_err crypto_jwe_decrypt_key(const void *jwe, size_t n,
    const struct crypto_key *k, struct secret **pt_out,
    struct core_errbuf *eb);

#endif /* PROPELLER_CRYPTO_H */
