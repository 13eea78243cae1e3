/*
 * internal.h -- helpers shared by the crypto module's .c files only.
 * Not part of the public API: other modules include crypto/crypto.h.
 */
#ifndef PROPELLER_CRYPTO_INTERNAL_H
#define PROPELLER_CRYPTO_INTERNAL_H

#include <openssl/evp.h>

#include "crypto/crypto.h"

/*
 * Like core_errf with CORE_ERR_CRYPTO, appending the newest OpenSSL error
 * reason (if any) and clearing the OpenSSL error queue.
 */
enum core_err crypto_ossl_err(struct core_errbuf *eb, const char *fmt, ...)
    CORE_PRINTF(2, 3);

/*
 * The OpenSSL algorithms, fetched once per process (alg.c): shared,
 * immutable, never freed by the caller. NULL for an unknown hash or a key
 * length other than 16, 24 or 32 bytes.
 */
const EVP_MD *crypto_hash_md(enum crypto_hash h);
const EVP_CIPHER *crypto_alg_aes_gcm(size_t key_len);
const EVP_CIPHER *crypto_alg_aes_ecb(size_t key_len);
const EVP_CIPHER *crypto_alg_aes_cbc(size_t key_len);
const EVP_CIPHER *crypto_alg_aes_256_ctr(void);
/* HMAC, or NULL if the fetch failed (the caller then fetches itself). */
EVP_MAC *crypto_alg_hmac(void);

/* Decodes base64url member `name` of obj into a new buffer. */
enum core_err crypto_json_b64url(const json_t *obj, const char *name,
    bool required, uint8_t **out, size_t *out_len, struct core_errbuf *eb);

/* Sets obj[name] = b64url(p, n). */
enum core_err crypto_json_set_b64url(json_t *obj, const char *name,
    const void *p, size_t n, struct core_errbuf *eb);

/*
 * Appends s (n bytes, valid UTF-8) to b as a JSON string: runs of plain
 * bytes copied, '"' and '\\' and control characters escaped, the latter as
 * \b \f \n \r \t or \u00xx. RFC 8785 wants lower-case hex (upper_hex
 * false), jansson's dump_string writes upper-case (true); neither escapes
 * '/' or non-ASCII.
 */
enum core_err crypto_json_string(struct core_buf *b, const char *s, size_t n,
    bool upper_hex);

/*
 * Parses s[0..n) into *out when it is a JSON object (JSON whitespace
 * around tokens) whose values are only objects of the same kind and
 * strings of printable ASCII without '"' or '\\', with no key twice in an
 * object and at most 8 levels: the same value json_loadb would build.
 * Returns false (and *out NULL) for anything else, including invalid JSON;
 * the caller then parses with core_json_parse_object, which decides and
 * words the error.
 */
bool crypto_json_parse_simple(const char *s, size_t n, json_t **out);

/* Field size in bytes of an EC key type (32, 48, 66), 0 otherwise. */
size_t crypto_ec_field_len(enum crypto_key_type t);

/* True if s is in the NULL-terminated list. */
bool crypto_str_in(const char *s, const char *const *list);

#endif /* PROPELLER_CRYPTO_INTERNAL_H */
