/*
 * ocicrypt.h -- ocicrypt-compatible layer encryption for OCI images.
 *
 * Owns: the AES_256_CTR_HMAC_SHA256 layer cipher (streaming, with the HMAC
 * over the whole layer verified before any plaintext is released), the
 * private/public options JSON byte-compatible with containers/ocicrypt, the
 * key wrappers (CoCo keyprovider AnnotationPacket, JWE recipients), listing
 * which key a layer needs, image encrypt/decrypt between oci stores, the
 * ocicrypt keyprovider protocol (request in, response out) and extraction
 * of the wasm module from a decrypted layer.
 *
 * Depends on: core, crypto (JWE, keys), oci (stores, manifests), OpenSSL
 * EVP (AES-CTR, HMAC, AES-GCM), libarchive, zlib.
 * Never: logs, or writes plaintext anywhere but the sink it is given (and
 * memfds, which live in memory). Keys are struct secret and are wiped.
 */
#ifndef PROPELLER_OCICRYPT_H
#define PROPELLER_OCICRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "crypto/crypto.h"
#include "oci/oci.h"

#define OCICRYPT_CIPHER "AES_256_CTR_HMAC_SHA256"
#define OCICRYPT_ENC_SUFFIX "+encrypted"
#define OCICRYPT_ANNOT_PREFIX "org.opencontainers.image.enc"
#define OCICRYPT_ANNOT_KEYS_PREFIX "org.opencontainers.image.enc.keys."
#define OCICRYPT_ANNOT_JWE "org.opencontainers.image.enc.keys.jwe"
#define OCICRYPT_ANNOT_PROVIDER "org.opencontainers.image.enc.keys.provider."
#define OCICRYPT_ANNOT_COCO                                                    \
	"org.opencontainers.image.enc.keys.provider.attestation-agent"
#define OCICRYPT_ANNOT_PUBOPTS "org.opencontainers.image.enc.pubopts"

#define OCICRYPT_SYMKEY_LEN 32
#define OCICRYPT_NONCE_LEN 16
#define OCICRYPT_HMAC_LEN 32
#define OCICRYPT_KEK_LEN 32
/* Bound on options JSON, packets and keyprovider messages. */
#define OCICRYPT_JSON_MAX (1024 * 1024)

/* ------------------------------------------------------------------ */
/* Options JSON                                                        */
/* ------------------------------------------------------------------ */

/* The private options: the secret the key wrappers protect. */
struct ocicrypt_privopts {
	struct secret *symkey; /* secret: wiped by _cleanup */
	uint8_t nonce[OCICRYPT_NONCE_LEN];
	bool has_nonce;
	char *digest; /* owned: advisory, may be "" */
};

struct ocicrypt_pubopts {
	char *cipher; /* owned */
	uint8_t hmac[OCICRYPT_HMAC_LEN];
	size_t hmac_len;                   /* 0 when absent */
	uint8_t nonce[OCICRYPT_NONCE_LEN]; /* from public cipheroptions */
	bool has_nonce;
};

/*
 * Parses private options with the tolerance of the spec: any member order,
 * unknown members ignored, byte fields as base64 or integer arrays, null
 * meaning empty. Lengths are not checked here (see ocicrypt_layer_decrypt).
 */
enum core_err ocicrypt_privopts_parse(const void *p, size_t n,
    struct ocicrypt_privopts *out, struct core_errbuf *eb);
void ocicrypt_privopts_cleanup(struct ocicrypt_privopts *o);
/* Exact Go bytes: {"symkey":..,"digest":..,"cipheroptions":{"nonce":..}}. */
enum core_err ocicrypt_privopts_dump(const struct ocicrypt_privopts *o,
    struct secret **out, struct core_errbuf *eb);

enum core_err ocicrypt_pubopts_parse(const void *p, size_t n,
    struct ocicrypt_pubopts *out, struct core_errbuf *eb);
void ocicrypt_pubopts_cleanup(struct ocicrypt_pubopts *o);
/* {"cipher":..,"hmac":..,"cipheroptions":{}}; malloc'd. */
char *ocicrypt_pubopts_dump(const struct ocicrypt_pubopts *o);

/* ------------------------------------------------------------------ */
/* Layer cipher                                                        */
/* ------------------------------------------------------------------ */

/*
 * Encrypts src (len bytes) with a fresh key and nonce, streaming the
 * ciphertext to sink. src_digest goes into the private options (may be
 * NULL = ""). Fills privopts/pubopts and the ciphertext digest.
 */
enum core_err ocicrypt_layer_encrypt(const struct oci_blob_src *src,
    const char *src_digest, oci_sink_fn sink, void *ctx,
    struct ocicrypt_privopts *priv_out, struct ocicrypt_pubopts *pub_out,
    char ct_digest[OCI_DIGEST_LEN + 1], struct core_errbuf *eb);

/*
 * Decrypts ct in the required order: one pass computes SHA-256 (checked
 * against want_digest unless NULL) and the HMAC (checked in constant time
 * against pub->hmac); only if both match a second pass runs AES-256-CTR and
 * hands plaintext to sink. Rejects cipher != AES_256_CTR_HMAC_SHA256,
 * symkey != 32 bytes, missing or non-16-byte nonce (public cipheroptions
 * first, then private), missing or non-32-byte hmac. HMAC failure is
 * CORE_ERR_AUTH and the sink has received nothing.
 */
enum core_err ocicrypt_layer_decrypt(const struct oci_blob_src *ct,
    const char *want_digest, const struct ocicrypt_privopts *priv,
    const struct ocicrypt_pubopts *pub, oci_sink_fn sink, void *ctx,
    struct core_errbuf *eb);

/* ------------------------------------------------------------------ */
/* CoCo AnnotationPacket and KEKs                                      */
/* ------------------------------------------------------------------ */

struct ocicrypt_packet {
	char *kid;        /* owned */
	uint8_t *wrapped; /* owned: ciphertext || 16-byte tag */
	size_t wrapped_len;
	uint8_t *iv; /* owned */
	size_t iv_len;
	char *wrap_type; /* owned: "A256GCM" */
};

/* Parses packet JSON (v1 or v2 members; unknown members ignored). */
enum core_err ocicrypt_packet_parse(const void *p, size_t n,
    struct ocicrypt_packet *out, struct core_errbuf *eb);
void ocicrypt_packet_cleanup(struct ocicrypt_packet *pk);
/* {"kid":..,"wrapped_data":..,"iv":..,"wrap_type":..}; malloc'd. */
char *ocicrypt_packet_dump(const struct ocicrypt_packet *pk);
/*
 * AES-256-GCM(kek, random iv or the given 12-byte iv, privopts), no AAD.
 * kid must be a kbs:/// resource URI (ocicrypt_kid_resource).
 */
enum core_err ocicrypt_packet_wrap(const char *kid, const struct secret *kek,
    const uint8_t *iv_or_null, const void *privopts, size_t n,
    struct ocicrypt_packet *out, struct core_errbuf *eb);
/* Unwraps; a wrong KEK or tampering is CORE_ERR_AUTH naming the kid. */
enum core_err ocicrypt_packet_unwrap(const struct ocicrypt_packet *pk,
    const struct secret *kek, struct secret **privopts_out,
    struct core_errbuf *eb);

/*
 * KEK rule: exactly 32 bytes are used as is; otherwise trimmed base64 text
 * that must decode to 32 bytes.
 */
enum core_err ocicrypt_kek_from_bytes(
    const void *p, size_t n, struct secret **out, struct core_errbuf *eb);
/* Reads a KEK file (bounded) and applies the KEK rule. */
enum core_err ocicrypt_kek_load(
    const char *path, struct secret **out, struct core_errbuf *eb);

/*
 * Resolves a kid (kbs:///repo/type/tag, kbs://host/repo/type/tag,
 * kbs+plugin:..., or the bare /repo/type/tag and host/repo/type/tag forms)
 * to "repo/type/tag" (malloc'd).
 */
enum core_err ocicrypt_kid_resource(
    const char *kid, char **path_out, struct core_errbuf *eb);

/* ------------------------------------------------------------------ */
/* What key a layer needs; unwrapping                                  */
/* ------------------------------------------------------------------ */

struct ocicrypt_keyreq {
	char *scheme; /* owned: "jwe", "provider.attestation-agent", ... */
	char *kid; /* owned: packet kid (provider), JWE kid if any, or NULL */
	char *alg; /* owned: wrap_type, or JWE alg list "RSA-OAEP,..." */
};

/* Lists one entry per wrapped key on an encrypted layer descriptor. */
enum core_err ocicrypt_layer_keyreqs(const struct oci_desc *d,
    struct ocicrypt_keyreq **out, size_t *n_out, struct core_errbuf *eb);
void ocicrypt_keyreqs_free(struct ocicrypt_keyreq *r, size_t n);

/* Supplies a KEK for a kid (e.g. fetched from a KBS after attestation). */
typedef enum core_err (*ocicrypt_kek_fn)(void *ctx, const char *kid,
    struct secret **kek_out, struct core_errbuf *eb);

struct ocicrypt_kp_client;

struct ocicrypt_keys {
	const struct secret *const *keks; /* borrowed; tried on every packet */
	size_t nkeks;
	ocicrypt_kek_fn kek_for_kid; /* may be NULL */
	void *kek_ctx;
	const struct crypto_key *const *jwe_keys; /* borrowed: private keys */
	size_t njwe_keys;
	/* External keyproviders (OCICRYPT_KEYPROVIDER_CONFIG): a
	 * provider.<name> annotation goes to provider <name> if it is listed
	 * here with its decryption parameter ("Enabled" when empty). */
	const struct ocicrypt_kp_client *providers; /* borrowed; may be NULL */
	const char *provider_name;                  /* borrowed */
	const char *provider_param;                 /* borrowed; may be NULL */
};

/*
 * Unwraps the private options of an encrypted layer and parses its public
 * options. Tries every wrapped key in every enc.keys.* annotation; on
 * failure the error names each kid/recipient that was tried and why.
 */
enum core_err ocicrypt_layer_unwrap(const struct oci_desc *d,
    const struct ocicrypt_keys *keys, struct ocicrypt_privopts *priv,
    struct ocicrypt_pubopts *pub, struct core_errbuf *eb);

/* True if the media type ends in "+encrypted". */
bool ocicrypt_media_encrypted(const char *mt);

/* ------------------------------------------------------------------ */
/* Images                                                              */
/* ------------------------------------------------------------------ */

struct ocicrypt_enc_config {
	const struct crypto_key *const *jwe_pubkeys; /* borrowed */
	size_t njwe;
	const char *coco_kid;          /* borrowed; with coco_kek */
	const struct secret *coco_kek; /* borrowed */
	const int *layers;             /* borrowed; indexes (negative from
	                                  the end); NULL = all */
	size_t nlayers;
	/* An external keyprovider instead of the built-in CoCo wrap. */
	const struct ocicrypt_kp_client *providers; /* borrowed; may be NULL */
	const char *provider_name;                  /* borrowed */
	const char *provider_param; /* borrowed: "keypath=..::keyid=.." */
};

/*
 * Encrypts the selected layers of src's image into dst: blobs are written
 * first, then the OCI manifest (Docker v2s2 is converted). The config is
 * not modified. Already encrypted layers are refused.
 */
enum core_err ocicrypt_image_encrypt(struct oci_store *src,
    struct oci_store *dst, const struct ocicrypt_enc_config *c,
    struct core_errbuf *eb);

/*
 * Decrypts every encrypted layer of src's image into dst (strip
 * "+encrypted", drop enc annotations, new digest/size). A failing layer
 * stops the copy before its plaintext or the manifest is written.
 */
enum core_err ocicrypt_image_decrypt(struct oci_store *src,
    struct oci_store *dst, const struct ocicrypt_keys *keys,
    struct core_errbuf *eb);

/*
 * The proplet path: fetches the image at spec (docker://, oci:, dir:),
 * picks the wasm-bearing layer (raw wasm types or tar/tar+gzip), decrypts
 * it in memory if encrypted (HMAC first), checks the diff_id when the
 * config has one, and returns the module bytes (at most max_len). For tar
 * layers module.wasm (or the only *.wasm member) is extracted.
 */
enum core_err ocicrypt_pull_module(const char *spec,
    const struct oci_opts *opts, const struct ocicrypt_keys *keys,
    size_t max_len, uint8_t **out, size_t *len_out, struct core_errbuf *eb);

/*
 * Extracts the wasm module from decrypted layer bytes of base media type mt
 * (raw wasm types: a copy; tar, tar+gzip: module.wasm via libarchive).
 */
enum core_err ocicrypt_extract_module(const char *mt, const uint8_t *p,
    size_t n, size_t max_len, uint8_t **out, size_t *len_out,
    struct core_errbuf *eb);

/* ------------------------------------------------------------------ */
/* The keyprovider protocol (cmd transport)                            */
/* ------------------------------------------------------------------ */

struct ocicrypt_kp_config {
	/* keyunwrap: KEKs to try, and/or a per-kid lookup */
	const struct secret *const *keks; /* borrowed */
	size_t nkeks;
	ocicrypt_kek_fn kek_for_kid;
	void *kek_ctx;
};

/*
 * Handles one keyprovider request (keywrap with keypath=/keyid= parameters,
 * or keyunwrap) and returns the response JSON (malloc'd, byte fields as
 * integer arrays).
 */
enum core_err ocicrypt_keyprovider_handle(const void *req, size_t n,
    const struct ocicrypt_kp_config *c, char **resp_out,
    struct core_errbuf *eb);

/* ------------------------------------------------------------------ */
/* The keyprovider protocol, client side (cmd transport)               */
/* ------------------------------------------------------------------ */

/*
 * Loads an OCICRYPT_KEYPROVIDER_CONFIG file ({"key-providers":{name:
 * {"cmd":{"path":..,"args":[..]}}|{"grpc":..}|...}}). Only cmd providers
 * can be called; others are listed but refused when used. envp (borrowed,
 * may be NULL) is the environment the provider processes get.
 */
enum core_err ocicrypt_kp_client_load(const char *path, const char *const *envp,
    struct ocicrypt_kp_client **out, struct core_errbuf *eb);
void ocicrypt_kp_client_free(struct ocicrypt_kp_client *c);
/* True if the config names provider `name`. */
bool ocicrypt_kp_client_has(
    const struct ocicrypt_kp_client *c, const char *name);

/*
 * keywrap: sends the private options with Parameters {name: [param]} and
 * returns the annotation bytes the provider answered (malloc'd).
 */
enum core_err ocicrypt_kp_wrap(const struct ocicrypt_kp_client *c,
    const char *name, const char *param, const struct secret *privopts,
    uint8_t **out, size_t *len_out, struct core_errbuf *eb);
/* keyunwrap: sends one annotation item, returns the private options. */
enum core_err ocicrypt_kp_unwrap(const struct ocicrypt_kp_client *c,
    const char *name, const char *param, const uint8_t *ann, size_t n,
    struct secret **privopts_out, struct core_errbuf *eb);

#endif /* PROPELLER_OCICRYPT_H */
