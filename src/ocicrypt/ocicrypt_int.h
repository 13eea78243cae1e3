/*
 * ocicrypt_int.h -- helpers shared by the files of src/ocicrypt only.
 */
#ifndef PROPELLER_OCICRYPT_INT_H
#define PROPELLER_OCICRYPT_INT_H

#include "ocicrypt/ocicrypt.h"

/*
 * Decodes a JSON byte field as Go's encoding/json does for []byte: a
 * base64 string (padding optional), an array of integers 0..255, or null /
 * absent (empty). *out is malloc'd (never NULL on success) and wiped by the
 * caller when it holds secrets. max bounds the decoded length.
 */
enum core_err ocicrypt_json_bytes(const json_t *v, const char *name, size_t max,
    uint8_t **out, size_t *len_out, struct core_errbuf *eb);

/* A JSON array of integers for bytes (what Rust providers emit). */
json_t *ocicrypt_json_int_array(const uint8_t *p, size_t n);

#endif /* PROPELLER_OCICRYPT_INT_H */
