/*
 * oci_int.h -- internal to src/oci: the registry client behind docker://.
 * Not included by other modules.
 */
#ifndef PROPELLER_OCI_INT_H
#define PROPELLER_OCI_INT_H

#include "oci/oci.h"

struct oci_registry;

/* Borrows ref and opts for the registry's lifetime. */
enum core_err oci_reg_new(const struct oci_ref *ref, const struct oci_opts *o,
    struct oci_registry **out, struct core_errbuf *eb);
void oci_reg_free(struct oci_registry *r);

/* GET manifest by tag or digest; exact bytes; digest-verified. */
enum core_err oci_reg_get_manifest(struct oci_registry *r, const char *ref,
    uint8_t **out, size_t *len_out, char **ct_out, struct core_errbuf *eb);
/* GET blob, streaming raw bytes to sink (verification by the caller). */
enum core_err oci_reg_get_blob(struct oci_registry *r, const char *digest,
    oci_sink_fn sink, void *ctx, struct core_errbuf *eb);
/* HEAD blob. */
enum core_err oci_reg_blob_exists(struct oci_registry *r, const char *digest,
    bool *exists, struct core_errbuf *eb);
/* Monolithic (chunk_bytes == 0) or chunked upload. */
enum core_err oci_reg_put_blob(struct oci_registry *r, const char *digest,
    int64_t size, const struct oci_blob_src *src, size_t chunk_bytes,
    struct core_errbuf *eb);
enum core_err oci_reg_put_manifest(struct oci_registry *r, const char *ref,
    const void *p, size_t n, const char *mt, struct core_errbuf *eb);

#endif /* PROPELLER_OCI_INT_H */
