/*
 * oci.h -- OCI images: references, manifests and indexes, the registry
 * client and the on-disk layouts (oci:DIR[:TAG] and skopeo's dir:DIR).
 *
 * Owns: parsing of image references (Docker Hub defaults), manifests
 * (OCI manifest/index, Docker v2 schema 2 and manifest list) with platform
 * selection, a libcurl registry client (ping, anonymous/basic/bearer auth,
 * credentials from an auth file or given directly, blob download with digest
 * and size verification, monolithic and chunked upload, manifest put; TLS
 * verification on unless explicitly disabled) and "stores": one interface
 * over docker://, oci: and dir: so images can be copied between them.
 *
 * Depends on: core, libcurl, jansson, OpenSSL (SHA-256).
 * Never: logs, decrypts, or reads the environment (callers pass paths).
 */
#ifndef PROPELLER_OCI_H
#define PROPELLER_OCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* ------------------------------------------------------------------ */
/* Media types and limits                                              */
/* ------------------------------------------------------------------ */

#define OCI_MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_MT_INDEX "application/vnd.oci.image.index.v1+json"
#define OCI_MT_DOCKER_MANIFEST                                                 \
	"application/vnd.docker.distribution.manifest.v2+json"
#define OCI_MT_DOCKER_LIST                                                     \
	"application/vnd.docker.distribution.manifest.list.v2+json"
#define OCI_MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define OCI_MT_LAYER_TAR "application/vnd.oci.image.layer.v1.tar"
#define OCI_MT_LAYER_TAR_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define OCI_MT_WASM_CONFIG "application/vnd.wasm.config.v1+json"
#define OCI_MT_WASM_LAYER "application/vnd.wasm.content.layer.v1+wasm"
#define OCI_ANNOT_TITLE "org.opencontainers.image.title"
#define OCI_ANNOT_REF_NAME "org.opencontainers.image.ref.name"

/* Largest manifest or index accepted from outside. */
#define OCI_MANIFEST_MAX (4 * 1024 * 1024)
/* Largest blob spooled in memory unless oci_opts.max_blob_bytes says. */
#define OCI_BLOB_MAX_DEFAULT ((uint64_t)4 << 30)
/* Digest text "sha256:" + 64 hex. */
#define OCI_DIGEST_LEN 71

/* ------------------------------------------------------------------ */
/* References                                                          */
/* ------------------------------------------------------------------ */

struct oci_ref {
	char *domain;   /* owned: registry as named ("docker.io",
	                   "localhost:5000") */
	char *endpoint; /* owned: host[:port] to contact (registry-1.docker.io
	                   for Hub) */
	char *repo;     /* owned: repository path ("library/alpine") */
	char *tag;      /* owned: tag, or NULL when only a digest was given */
	char *digest;   /* owned: "sha256:<hex>" or NULL */
};

/*
 * Parses [host[:port]/]path[:tag][@digest]. The first component is a host
 * iff it contains '.' or ':' or is "localhost"; otherwise the host is
 * docker.io and one-component names get "library/". Without tag or digest
 * the tag is "latest". Repository and tag syntax are checked.
 */
enum core_err oci_ref_parse(
    const char *s, struct oci_ref **out, struct core_errbuf *eb);
void oci_ref_free(struct oci_ref *r);
/* "domain/repo[:tag][@digest]", malloc'd. */
char *oci_ref_string(const struct oci_ref *r);

/* True if d is "sha256:" followed by 64 lowercase hex digits. */
bool oci_digest_valid(const char *d);
/* Writes "sha256:<hex>" of (p, n) into out (>= OCI_DIGEST_LEN + 1). */
void oci_digest_of(const void *p, size_t n, char out[OCI_DIGEST_LEN + 1]);

/* Incremental SHA-256 digest (streaming verification). */
struct oci_hasher;
struct oci_hasher *oci_hasher_new(void);
void oci_hasher_update(struct oci_hasher *h, const void *p, size_t n);
/* Finishes and writes "sha256:<hex>"; the hasher can then only be freed. */
void oci_hasher_final(struct oci_hasher *h, char out[OCI_DIGEST_LEN + 1]);
void oci_hasher_free(struct oci_hasher *h);

/* ------------------------------------------------------------------ */
/* Manifests                                                           */
/* ------------------------------------------------------------------ */

/* A content descriptor. Strings are borrowed from the owning manifest. */
struct oci_desc {
	const char *media_type;
	const char *digest;
	int64_t size;
	json_t *annotations; /* borrowed: object or NULL */
	const char *os;      /* index entries: platform, or NULL */
	const char *arch;
	const char *variant;
	json_t *json; /* borrowed: the descriptor object itself */
};

enum oci_manifest_kind { OCI_KIND_IMAGE, OCI_KIND_INDEX };

struct oci_manifest {
	enum oci_manifest_kind kind;
	char *media_type; /* owned: effective media type */
	json_t *root;     /* owned: the parsed document */
	uint8_t *raw;     /* owned: the exact bytes parsed */
	size_t raw_len;
	char digest[OCI_DIGEST_LEN + 1]; /* sha256 of raw */
	struct oci_desc config;          /* image only */
	struct oci_desc *layers;         /* owned array (image) */
	size_t nlayers;
	struct oci_desc *manifests; /* owned array (index) */
	size_t nmanifests;
};

/*
 * Parses an OCI manifest or index or a Docker v2s2 manifest or manifest
 * list. content_type (may be NULL; parameters are ignored) is used when the
 * document has no mediaType; without either, the shape decides. Rejects
 * more than OCI_MANIFEST_MAX bytes, schemaVersion != 2, descriptors with a
 * bad digest, negative size or missing media type.
 */
enum core_err oci_manifest_parse(const void *p, size_t n,
    const char *content_type, struct oci_manifest **out,
    struct core_errbuf *eb);
void oci_manifest_free(struct oci_manifest *m);

/*
 * Picks an index entry for os/arch (variant optional, NULL = any). With a
 * single entry that entry is taken whatever its platform. Returns the
 * entry's position in *idx_out.
 */
enum core_err oci_index_select(const struct oci_manifest *m, const char *os,
    const char *arch, const char *variant, size_t *idx_out,
    struct core_errbuf *eb);

/* Compact serialization of m->root in member order; malloc'd. */
char *oci_manifest_dump(const struct oci_manifest *m, size_t *len_out);

/* True if the media type names an image manifest (OCI or Docker). */
bool oci_media_is_manifest(const char *mt);
/* True if the media type names an index or manifest list. */
bool oci_media_is_index(const char *mt);

/* ------------------------------------------------------------------ */
/* Stores: docker://, oci:, dir:                                       */
/* ------------------------------------------------------------------ */

/* Receives blob bytes; return non-OK to abort the transfer. */
typedef enum core_err (*oci_sink_fn)(void *ctx, const void *p, size_t n);
/* Reports transfer progress (done of total bytes; total may be -1). */
typedef void (*oci_progress_fn)(
    void *ctx, const char *what, int64_t done, int64_t total);

struct oci_opts {
	const char *username; /* borrowed; NULL = none or from auth file */
	const char *password; /* borrowed */
	const char *
	    authfile; /* borrowed; containers auth.json or docker config.json */
	bool tls_verify_off; /* explicit opt-out: no verification, http fallback
	                      */
	const char *ca_file; /* borrowed; extra CA bundle, NULL = system */
	int64_t timeout_ms;  /* per request; 0 = 300 s */
	size_t chunk_bytes;  /* > 0: chunked uploads with this chunk size */
	uint64_t max_blob_bytes;  /* spool bound; 0 = OCI_BLOB_MAX_DEFAULT */
	oci_progress_fn progress; /* may be NULL */
	void *progress_ctx;
};

/* Where blob bytes come from for an upload: fd (read with pread from 0)
 * when fd >= 0, else memory. */
struct oci_blob_src {
	int fd;
	const uint8_t *mem; /* borrowed */
	size_t len;
};

struct oci_store;

/*
 * Opens "docker://REF", "oci:DIR[:TAG]" or "dir:DIR". for_write prepares
 * a destination (creates layout files on oci_store_commit). A registry is
 * not contacted until the first operation.
 */
enum core_err oci_store_open(const char *spec, const struct oci_opts *opts,
    bool for_write, struct oci_store **out, struct core_errbuf *eb);
void oci_store_free(struct oci_store *st);
/* "docker", "oci" or "dir". */
const char *oci_store_kind(const struct oci_store *st);

/*
 * Fetches the store's manifest (digest NULL) or the manifest with that
 * digest (index children). Bytes are exact and verified against the digest
 * when one is known. *mt_out is malloc'd (may be NULL if unknown).
 */
enum core_err oci_store_get_manifest(struct oci_store *st, const char *digest,
    uint8_t **out, size_t *len_out, char **mt_out, struct core_errbuf *eb);

/*
 * Streams blob d into sink, checking size and digest; on mismatch returns
 * CORE_ERR_AUTH (digest) or CORE_ERR_INVALID (size) after the last byte,
 * so sinks must treat what they received as untrusted until CORE_OK.
 */
enum core_err oci_store_get_blob(struct oci_store *st, const struct oci_desc *d,
    oci_sink_fn sink, void *ctx, struct core_errbuf *eb);
/* Verified blob into memory, refusing more than max_len bytes. */
enum core_err oci_store_get_blob_mem(struct oci_store *st,
    const struct oci_desc *d, size_t max_len, uint8_t **out, size_t *len_out,
    struct core_errbuf *eb);
/* Verified blob into a memfd (memory-backed, unlinked); *fd_out is at 0. */
enum core_err oci_store_get_blob_memfd(struct oci_store *st,
    const struct oci_desc *d, int *fd_out, struct core_errbuf *eb);

/* Stores a blob (skipped when the destination already has it). */
enum core_err oci_store_put_blob(struct oci_store *st, const char *digest,
    int64_t size, const struct oci_blob_src *src, struct core_errbuf *eb);
/* Stores the manifest bytes verbatim under the store's tag/ref. */
enum core_err oci_store_put_manifest(struct oci_store *st, const void *p,
    size_t n, const char *media_type, struct core_errbuf *eb);
/* Finishes a destination (index.json for oci:). No-op for registries. */
enum core_err oci_store_commit(struct oci_store *st, struct core_errbuf *eb);

/*
 * Resolves the store's image manifest: follows an index to the entry for
 * os/arch (NULL = linux/amd64, any entry if only one). *out is the image
 * manifest.
 */
enum core_err oci_store_get_image(struct oci_store *st, const char *os,
    const char *arch, struct oci_manifest **out, struct core_errbuf *eb);

/*
 * Copies the image from src to dst blob by blob (no recompression) and
 * writes the same manifest bytes. Indexes are copied with all children
 * (dir: stores them as <hex>.manifest.json, as skopeo --all does).
 */
enum core_err oci_copy(
    struct oci_store *src, struct oci_store *dst, struct core_errbuf *eb);

/* Looks up credentials for a registry host in an auth file (containers
 * auth.json or docker config.json: auths.<host>.auth = base64(user:pass)).
 * Absent file or host: CORE_ERR_NOT_FOUND. Strings malloc'd. */
enum core_err oci_auth_lookup(const char *authfile, const char *host,
    char **user_out, char **pass_out, struct core_errbuf *eb);

/* Parses a WWW-Authenticate challenge: scheme ("Bearer"/"Basic") and the
 * realm/service/scope parameters (malloc'd, NULL when absent). Exposed
 * for tests and fuzzing. */
struct oci_challenge {
	char *scheme;
	char *realm;
	char *service;
	char *scope;
};
enum core_err oci_challenge_parse(
    const char *hdr, struct oci_challenge *c, struct core_errbuf *eb);
void oci_challenge_cleanup(struct oci_challenge *c);

#endif /* PROPELLER_OCI_H */
