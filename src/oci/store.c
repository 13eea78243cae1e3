/*
 * store.c -- one interface over docker://, oci:DIR[:TAG] and dir:DIR, blob
 * verification, and image copy.
 */
#include "oci/oci.h"
#include "oci/oci_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define STORE_IO_CHUNK (1024 * 1024)
#define STORE_INDEX_MAX (4 * 1024 * 1024)
#define DIR_VERSION "Directory Transport Version: 1.1\n"
#define OCI_LAYOUT "{\"imageLayoutVersion\":\"1.0.0\"}"

enum store_kind { STORE_DOCKER, STORE_OCI, STORE_DIR };

struct oci_store {
	enum store_kind kind;
	struct oci_opts opts; /* copy; strings borrowed from the caller */
	bool for_write;
	char *path;               /* owned: layout directory */
	char *tag;                /* owned: oci: ref name, or NULL */
	struct oci_ref *ref;      /* owned: docker:// */
	struct oci_registry *reg; /* owned: docker:// */
	/* oci: destination: the top manifest to record in index.json */
	char *top_digest; /* owned */
	char *top_mt;     /* owned */
	int64_t top_size;
};

static char *blob_path(const struct oci_store *st, const char *digest);

const char *
oci_store_kind(const struct oci_store *st)
{
	switch (st->kind) {
	case STORE_DOCKER:
		return "docker";
	case STORE_OCI:
		return "oci";
	default:
		return "dir";
	}
}

void
oci_store_free(struct oci_store *st)
{
	if (st == NULL)
		return;
	free(st->path);
	free(st->tag);
	oci_reg_free(st->reg);
	oci_ref_free(st->ref);
	free(st->top_digest);
	free(st->top_mt);
	free(st);
}

static enum core_err
dir_prepare(struct oci_store *st, struct core_errbuf *eb)
{
	char *vp = NULL;
	uint8_t *cur = NULL;
	size_t curlen = 0;
	enum core_err err;

	if ((err = core_fs_mkdirs(st->path, 0755, eb)) != CORE_OK)
		return err;
	if ((vp = core_path_join(st->path, "version")) == NULL)
		return CORE_ERR_NOMEM;
	if (core_fs_read(vp, 256, &cur, &curlen, NULL) == CORE_OK) {
		if (curlen != strlen(DIR_VERSION) ||
		    memcmp(cur, DIR_VERSION, curlen) != 0)
			err = core_errf(eb, CORE_ERR_INVALID,
			    "dir:%s: existing version file is not a "
			    "directory transport v1.1 layout",
			    st->path);
	}
	if (err == CORE_OK)
		err = core_fs_write_atomic(
		    vp, DIR_VERSION, strlen(DIR_VERSION), 0644, eb);
	free(cur);
	free(vp);
	return err;
}

enum core_err
oci_store_open(const char *spec, const struct oci_opts *opts, bool for_write,
    struct oci_store **out, struct core_errbuf *eb)
{
	enum core_err err = CORE_OK;
	struct oci_store *st = NULL;
	static const struct oci_opts defaults;

	*out = NULL;
	if (spec == NULL)
		return core_errf(eb, CORE_ERR_INVALID, "image location: empty");
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return CORE_ERR_NOMEM;
	st->opts = opts != NULL ? *opts : defaults;
	st->for_write = for_write;
	if (strncmp(spec, "docker://", 9) == 0) {
		st->kind = STORE_DOCKER;
		if ((err = oci_ref_parse(spec + 9, &st->ref, eb)) != CORE_OK)
			goto out;
		if (for_write && st->ref->tag == NULL) {
			err = core_errf(eb, CORE_ERR_INVALID,
			    "%s: a destination needs a tag", spec);
			goto out;
		}
		if ((err = oci_reg_new(st->ref, &st->opts, &st->reg, eb)) !=
		    CORE_OK)
			goto out;
	} else if (strncmp(spec, "oci:", 4) == 0) {
		const char *p = spec + 4;
		const char *colon = strchr(p, ':');

		st->kind = STORE_OCI;
		st->path =
		    colon != NULL ? strndup(p, (size_t)(colon - p)) : strdup(p);
		if (colon != NULL && colon[1] != '\0')
			st->tag = strdup(colon + 1);
		if (st->path == NULL ||
		    (colon != NULL && colon[1] != '\0' && st->tag == NULL)) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
		if (*st->path == '\0') {
			err = core_errf(
			    eb, CORE_ERR_INVALID, "%s: empty directory", spec);
			goto out;
		}
		if (for_write) {
			char *b = core_path_join(st->path, "blobs/sha256");

			if (b == NULL) {
				err = CORE_ERR_NOMEM;
				goto out;
			}
			err = core_fs_mkdirs(b, 0755, eb);
			free(b);
			if (err != CORE_OK)
				goto out;
		}
	} else if (strncmp(spec, "dir:", 4) == 0) {
		st->kind = STORE_DIR;
		if ((st->path = strdup(spec + 4)) == NULL) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
		if (*st->path == '\0') {
			err = core_errf(
			    eb, CORE_ERR_INVALID, "%s: empty directory", spec);
			goto out;
		}
		if (for_write && (err = dir_prepare(st, eb)) != CORE_OK)
			goto out;
	} else {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "image location \"%s\": want docker://REF, oci:DIR[:TAG] "
		    "or dir:DIR",
		    spec);
		goto out;
	}
	*out = st;
	st = NULL;
out:
	oci_store_free(st);
	return err;
}

static char *
blob_path(const struct oci_store *st, const char *digest)
{
	char rel[128];

	if (st->kind == STORE_OCI)
		snprintf(rel, sizeof(rel), "blobs/sha256/%s", digest + 7);
	else
		snprintf(rel, sizeof(rel), "%s", digest + 7);
	return core_path_join(st->path, rel);
}

/* Reads a whole layout file bounded by max; names the file on error. */
static enum core_err
layout_read(const struct oci_store *st, const char *rel, size_t max,
    uint8_t **out, size_t *len, struct core_errbuf *eb)
{
	char *p = core_path_join(st->path, rel);
	enum core_err err;

	if (p == NULL)
		return CORE_ERR_NOMEM;
	err = core_fs_read(p, max, out, len, eb);
	free(p);
	if (err != CORE_OK)
		core_errbuf_prefix(eb, "%s:%s", oci_store_kind(st), st->path);
	return err;
}

/* Finds the index.json entry of an oci: layout for st->tag. */
static enum core_err
oci_layout_entry(const struct oci_store *st, char **digest_out, char **mt_out,
    struct core_errbuf *eb)
{
	uint8_t *raw = NULL;
	size_t len = 0;
	struct oci_manifest *idx = NULL;
	const struct oci_desc *found = NULL;
	enum core_err err;
	size_t i;

	if ((err = layout_read(
	         st, "index.json", STORE_INDEX_MAX, &raw, &len, eb)) != CORE_OK)
		return err;
	if ((err = oci_manifest_parse(raw, len, OCI_MT_INDEX, &idx, eb)) !=
	    CORE_OK) {
		core_errbuf_prefix(eb, "oci:%s: index.json", st->path);
		goto out;
	}
	if (idx->kind != OCI_KIND_INDEX) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "oci:%s: index.json is not an index", st->path);
		goto out;
	}
	for (i = 0; i < idx->nmanifests; i++) {
		const struct oci_desc *d = &idx->manifests[i];
		json_t *rn = d->annotations != NULL
		    ? json_object_get(d->annotations, OCI_ANNOT_REF_NAME)
		    : NULL;

		if (st->tag != NULL) {
			if (json_is_string(rn) &&
			    strcmp(json_string_value(rn), st->tag) == 0) {
				found = d;
				break;
			}
		} else if (idx->nmanifests == 1) {
			found = d;
		}
	}
	if (found == NULL) {
		if (st->tag != NULL)
			err = core_errf(eb, CORE_ERR_NOT_FOUND,
			    "oci:%s: no image with ref name \"%s\"", st->path,
			    st->tag);
		else
			err = core_errf(eb, CORE_ERR_NOT_FOUND,
			    "oci:%s: %zu images in index.json; name one with "
			    "oci:DIR:TAG",
			    st->path, idx->nmanifests);
		goto out;
	}
	*digest_out = strdup(found->digest);
	*mt_out = strdup(found->media_type);
	if (*digest_out == NULL || *mt_out == NULL)
		err = CORE_ERR_NOMEM;
out:
	free(raw);
	oci_manifest_free(idx);
	return err;
}

enum core_err
oci_store_get_manifest(struct oci_store *st, const char *digest, uint8_t **out,
    size_t *len_out, char **mt_out, struct core_errbuf *eb)
{
	enum core_err err = CORE_OK;
	char *want = NULL, *mt = NULL, *p = NULL;
	char got[OCI_DIGEST_LEN + 1];

	*out = NULL;
	*len_out = 0;
	if (mt_out != NULL)
		*mt_out = NULL;
	if (digest != NULL && !oci_digest_valid(digest))
		return core_errf(eb, CORE_ERR_INVALID,
		    "manifest digest \"%s\" is not sha256:<64 hex>", digest);
	switch (st->kind) {
	case STORE_DOCKER:
		return oci_reg_get_manifest(st->reg,
		    digest != NULL ? digest
		                   : (st->ref->digest != NULL ? st->ref->digest
		                                              : st->ref->tag),
		    out, len_out, mt_out, eb);
	case STORE_DIR:
		if (digest == NULL) {
			err = layout_read(st, "manifest.json", OCI_MANIFEST_MAX,
			    out, len_out, eb);
			goto out;
		}
		{
			char rel[128];

			snprintf(
			    rel, sizeof(rel), "%s.manifest.json", digest + 7);
			if ((p = core_path_join(st->path, rel)) == NULL) {
				err = CORE_ERR_NOMEM;
				goto out;
			}
			if (!core_fs_exists(p)) {
				free(p);
				p = blob_path(st, digest);
			}
		}
		break;
	case STORE_OCI:
		if (digest == NULL) {
			if ((err = oci_layout_entry(st, &want, &mt, eb)) !=
			    CORE_OK)
				goto out;
			digest = want;
		}
		p = blob_path(st, digest);
		break;
	}
	if (p == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	if ((err = core_fs_read(p, OCI_MANIFEST_MAX, out, len_out, eb)) !=
	    CORE_OK) {
		core_errbuf_prefix(eb, "manifest %s", digest);
		goto out;
	}
	oci_digest_of(*out, *len_out, got);
	if (strcmp(got, digest) != 0) {
		err = core_errf(eb, CORE_ERR_AUTH,
		    "manifest %s: content hashes to %s", digest, got);
		goto out;
	}
out:
	if (err != CORE_OK) {
		free(*out);
		*out = NULL;
		*len_out = 0;
	} else if (mt_out != NULL) {
		*mt_out = mt;
		mt = NULL;
	}
	free(want);
	free(mt);
	free(p);
	return err;
}

/* Wraps a sink with size and digest verification. */
struct verify {
	oci_sink_fn sink;
	void *ctx;
	struct oci_hasher *h;
	int64_t got;
	int64_t want;
	const char *digest;
	const struct oci_opts *opts;
	struct core_errbuf *eb;
};

static enum core_err
verify_sink(void *ctx, const void *p, size_t n)
{
	struct verify *v = ctx;

	if ((int64_t)n > v->want - v->got)
		return core_errf(v->eb, CORE_ERR_INVALID,
		    "blob %s: more than the %lld bytes the descriptor gives",
		    v->digest, (long long)v->want);
	v->got += (int64_t)n;
	oci_hasher_update(v->h, p, n);
	if (v->opts->progress != NULL)
		v->opts->progress(
		    v->opts->progress_ctx, v->digest, v->got, v->want);
	return v->sink != NULL ? v->sink(v->ctx, p, n) : CORE_OK;
}

static enum core_err
file_stream(
    const char *path, oci_sink_fn sink, void *ctx, struct core_errbuf *eb)
{
	int fd;
	uint8_t *buf = NULL;
	enum core_err err = CORE_OK;
	ssize_t r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return core_errf(
			    eb, CORE_ERR_NOT_FOUND, "%s: no such blob", path);
		return core_errf_errno(eb, CORE_ERR_IO, "open %s", path);
	}
	if ((buf = malloc(STORE_IO_CHUNK)) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	for (;;) {
		r = read(fd, buf, STORE_IO_CHUNK);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = core_errf_errno(eb, CORE_ERR_IO, "read %s", path);
			goto out;
		}
		if (r == 0)
			break;
		if ((err = sink(ctx, buf, (size_t)r)) != CORE_OK)
			goto out;
	}
out:
	free(buf);
	close(fd);
	return err;
}

enum core_err
oci_store_get_blob(struct oci_store *st, const struct oci_desc *d,
    oci_sink_fn sink, void *ctx, struct core_errbuf *eb)
{
	struct verify v = {
	    sink, ctx, NULL, 0, d->size, d->digest, &st->opts, eb};
	char got[OCI_DIGEST_LEN + 1];
	enum core_err err;
	char *p = NULL;

	if (!oci_digest_valid(d->digest))
		return core_errf(eb, CORE_ERR_INVALID,
		    "blob digest \"%s\" is not sha256:<64 hex>",
		    d->digest != NULL ? d->digest : "");
	if (d->size < 0)
		return core_errf(
		    eb, CORE_ERR_INVALID, "blob %s: negative size", d->digest);
	if ((v.h = oci_hasher_new()) == NULL)
		return CORE_ERR_NOMEM;
	if (st->kind == STORE_DOCKER) {
		err = oci_reg_get_blob(st->reg, d->digest, verify_sink, &v, eb);
	} else {
		if ((p = blob_path(st, d->digest)) == NULL) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
		err = file_stream(p, verify_sink, &v, eb);
	}
	if (err != CORE_OK)
		goto out;
	if (v.got != d->size) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "blob %s: truncated: got %lld of %lld bytes", d->digest,
		    (long long)v.got, (long long)d->size);
		goto out;
	}
	oci_hasher_final(v.h, got);
	if (strcmp(got, d->digest) != 0) {
		err = core_errf(eb, CORE_ERR_AUTH,
		    "blob %s: digest mismatch: content hashes to %s", d->digest,
		    got);
		goto out;
	}
out:
	free(p);
	oci_hasher_free(v.h);
	return err;
}

struct membuf {
	struct core_buf b;
};

static enum core_err
mem_sink(void *ctx, const void *p, size_t n)
{
	return core_buf_append(ctx, p, n);
}

enum core_err
oci_store_get_blob_mem(struct oci_store *st, const struct oci_desc *d,
    size_t max_len, uint8_t **out, size_t *len_out, struct core_errbuf *eb)
{
	struct core_buf b;
	enum core_err err;

	*out = NULL;
	*len_out = 0;
	if (d->size < 0 || (uint64_t)d->size > max_len)
		return core_errf(eb, CORE_ERR_TOO_BIG,
		    "blob %s: %lld bytes exceeds the %zu byte limit",
		    d->digest != NULL ? d->digest : "?", (long long)d->size,
		    max_len);
	core_buf_init(&b, max_len);
	if ((err = core_buf_reserve(&b, (size_t)d->size)) != CORE_OK ||
	    (err = oci_store_get_blob(st, d, mem_sink, &b, eb)) != CORE_OK) {
		core_buf_cleanup_secure(&b);
		return err;
	}
	*out = core_buf_steal(&b, len_out);
	if (*out == NULL) {
		/* An empty blob: hand back an allocated empty string. */
		if ((*out = calloc(1, 1)) == NULL)
			return CORE_ERR_NOMEM;
	}
	return CORE_OK;
}

static enum core_err
fd_sink(void *ctx, const void *p, size_t n)
{
	return core_write_all(*(int *)ctx, p, n);
}

enum core_err
oci_store_get_blob_memfd(struct oci_store *st, const struct oci_desc *d,
    int *fd_out, struct core_errbuf *eb)
{
	int fd;
	enum core_err err;

	*fd_out = -1;
	if (d->size < 0 ||
	    (uint64_t)d->size > (st->opts.max_blob_bytes > 0
	                                ? st->opts.max_blob_bytes
	                                : OCI_BLOB_MAX_DEFAULT))
		return core_errf(eb, CORE_ERR_TOO_BIG,
		    "blob %s: %lld bytes exceeds the blob size limit",
		    d->digest != NULL ? d->digest : "?", (long long)d->size);
	if ((fd = memfd_create("oci-blob", MFD_CLOEXEC)) < 0)
		return core_errf_errno(eb, CORE_ERR_IO, "memfd_create");
	if ((err = oci_store_get_blob(st, d, fd_sink, &fd, eb)) != CORE_OK) {
		close(fd);
		return err;
	}
	if (lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		return core_errf_errno(eb, CORE_ERR_IO, "lseek memfd");
	}
	*fd_out = fd;
	return CORE_OK;
}

/* Writes a blob file through a temp name and renames it into place. */
static enum core_err
file_put(
    const char *path, const struct oci_blob_src *src, struct core_errbuf *eb)
{
	char *tmp = NULL;
	size_t tl = strlen(path) + 16;
	int fd = -1;
	enum core_err err = CORE_OK;
	uint8_t *buf = NULL;
	size_t off = 0;

	if ((tmp = malloc(tl)) == NULL)
		return CORE_ERR_NOMEM;
	snprintf(tmp, tl, "%s.tmp%ld", path, (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) <
	    0) {
		err = core_errf_errno(eb, CORE_ERR_IO, "create %s", tmp);
		goto out;
	}
	if (src->fd < 0) {
		err = core_write_all(fd, src->mem, src->len);
	} else {
		if ((buf = malloc(STORE_IO_CHUNK)) == NULL) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
		while (off < src->len) {
			size_t want = src->len - off;
			ssize_t r;

			if (want > STORE_IO_CHUNK)
				want = STORE_IO_CHUNK;
			r = pread(src->fd, buf, want, (off_t)off);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				err = core_errf_errno(
				    eb, CORE_ERR_IO, "read blob source");
				goto out;
			}
			if ((err = core_write_all(fd, buf, (size_t)r)) !=
			    CORE_OK)
				break;
			off += (size_t)r;
		}
	}
	if (err != CORE_OK) {
		err = core_errf_errno(eb, CORE_ERR_IO, "write %s", tmp);
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		err = core_errf_errno(eb, CORE_ERR_IO, "close %s", tmp);
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		err = core_errf_errno(eb, CORE_ERR_IO, "rename %s", tmp);
		goto out;
	}
out:
	if (fd >= 0)
		close(fd);
	if (err != CORE_OK)
		unlink(tmp);
	free(buf);
	free(tmp);
	return err;
}

enum core_err
oci_store_put_blob(struct oci_store *st, const char *digest, int64_t size,
    const struct oci_blob_src *src, struct core_errbuf *eb)
{
	char *p;
	enum core_err err;
	bool exists = false;

	if (!oci_digest_valid(digest))
		return core_errf(eb, CORE_ERR_INVALID,
		    "blob digest \"%s\" is not sha256:<64 hex>", digest);
	if (size < 0 || (uint64_t)size != src->len)
		return core_errf(eb, CORE_ERR_INVALID,
		    "blob %s: size %lld does not match the source (%zu)",
		    digest, (long long)size, src->len);
	if (!st->for_write)
		return core_errf(
		    eb, CORE_ERR_STATE, "store not opened for writing");
	if (st->kind == STORE_DOCKER) {
		if ((err = oci_reg_blob_exists(st->reg, digest, &exists, eb)) !=
		    CORE_OK)
			return err;
		if (exists)
			return CORE_OK;
		return oci_reg_put_blob(
		    st->reg, digest, size, src, st->opts.chunk_bytes, eb);
	}
	if ((p = blob_path(st, digest)) == NULL)
		return CORE_ERR_NOMEM;
	err = core_fs_exists(p) ? CORE_OK : file_put(p, src, eb);
	free(p);
	return err;
}

static enum core_err
put_manifest_any(struct oci_store *st, const void *p, size_t n,
    const char *media_type, bool child, struct core_errbuf *eb)
{
	char dg[OCI_DIGEST_LEN + 1];
	struct oci_blob_src src = {-1, p, n};
	enum core_err err;

	if (!st->for_write)
		return core_errf(
		    eb, CORE_ERR_STATE, "store not opened for writing");
	if (n > OCI_MANIFEST_MAX)
		return core_errf(eb, CORE_ERR_TOO_BIG,
		    "manifest: %zu bytes exceeds the limit", n);
	oci_digest_of(p, n, dg);
	switch (st->kind) {
	case STORE_DOCKER:
		return oci_reg_put_manifest(
		    st->reg, child ? dg : st->ref->tag, p, n, media_type, eb);
	case STORE_DIR: {
		char rel[128];
		char *path;

		if (child)
			snprintf(rel, sizeof(rel), "%s.manifest.json", dg + 7);
		else
			snprintf(rel, sizeof(rel), "manifest.json");
		if ((path = core_path_join(st->path, rel)) == NULL)
			return CORE_ERR_NOMEM;
		err = core_fs_write_atomic(path, p, n, 0644, eb);
		free(path);
		return err;
	}
	case STORE_OCI:
		if ((err = oci_store_put_blob(st, dg, (int64_t)n, &src, eb)) !=
		    CORE_OK)
			return err;
		if (child)
			return CORE_OK;
		free(st->top_digest);
		free(st->top_mt);
		st->top_digest = strdup(dg);
		st->top_mt =
		    strdup(media_type != NULL ? media_type : OCI_MT_MANIFEST);
		st->top_size = (int64_t)n;
		if (st->top_digest == NULL || st->top_mt == NULL)
			return CORE_ERR_NOMEM;
		return CORE_OK;
	}
	return CORE_ERR_INTERNAL;
}

enum core_err
oci_store_put_manifest(struct oci_store *st, const void *p, size_t n,
    const char *media_type, struct core_errbuf *eb)
{
	return put_manifest_any(st, p, n, media_type, false, eb);
}

static enum core_err
oci_commit_index(struct oci_store *st, struct core_errbuf *eb)
{
	uint8_t *raw = NULL;
	size_t len = 0;
	json_t *idx = NULL, *arr, *ent = NULL, *ann;
	char *text = NULL, *ip = NULL, *lp = NULL;
	enum core_err err = CORE_OK;
	size_t i;

	if (layout_read(st, "index.json", STORE_INDEX_MAX, &raw, &len, NULL) ==
	    CORE_OK) {
		if ((err = core_json_parse_object(
		         raw, len, STORE_INDEX_MAX, &idx, eb)) != CORE_OK) {
			core_errbuf_prefix(eb, "oci:%s: index.json", st->path);
			goto out;
		}
	} else {
		idx = json_pack("{s:i}", "schemaVersion", 2);
	}
	if (idx == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	arr = json_object_get(idx, "manifests");
	if (!json_is_array(arr)) {
		arr = json_array();
		if (arr == NULL || json_object_set_new(idx, "manifests", arr)) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
	}
	/* Replace an entry with the same ref name (or the same digest when
	 * no name is given). */
	for (i = json_array_size(arr); i-- > 0;) {
		json_t *e = json_array_get(arr, i);
		json_t *a = json_object_get(e, "annotations");
		json_t *rn = json_object_get(a, OCI_ANNOT_REF_NAME);
		json_t *dg = json_object_get(e, "digest");
		bool same = st->tag != NULL
		    ? (json_is_string(rn) &&
		          strcmp(json_string_value(rn), st->tag) == 0)
		    : (!json_is_string(rn) && json_is_string(dg) &&
		          strcmp(json_string_value(dg), st->top_digest) == 0);

		if (same)
			json_array_remove(arr, i);
	}
	ent = json_pack("{s:s,s:s,s:I}", "mediaType", st->top_mt, "digest",
	    st->top_digest, "size", (json_int_t)st->top_size);
	if (ent == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	if (st->tag != NULL) {
		ann = json_pack("{s:s}", OCI_ANNOT_REF_NAME, st->tag);
		if (ann == NULL ||
		    json_object_set_new(ent, "annotations", ann)) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
	}
	if (json_array_append(arr, ent) != 0 ||
	    (text = core_json_dumps(idx)) == NULL ||
	    (ip = core_path_join(st->path, "index.json")) == NULL ||
	    (lp = core_path_join(st->path, "oci-layout")) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	if ((err = core_fs_write_atomic(
	         lp, OCI_LAYOUT, strlen(OCI_LAYOUT), 0644, eb)) != CORE_OK)
		goto out;
	err = core_fs_write_atomic(ip, text, strlen(text), 0644, eb);
out:
	json_decref(ent);
	json_decref(idx);
	free(raw);
	free(text);
	free(ip);
	free(lp);
	return err;
}

enum core_err
oci_store_commit(struct oci_store *st, struct core_errbuf *eb)
{
	if (!st->for_write)
		return CORE_OK;
	if (st->kind == STORE_OCI) {
		if (st->top_digest == NULL)
			return core_errf(eb, CORE_ERR_STATE,
			    "oci:%s: no manifest written", st->path);
		return oci_commit_index(st, eb);
	}
	return CORE_OK;
}

enum core_err
oci_store_get_image(struct oci_store *st, const char *os, const char *arch,
    struct oci_manifest **out, struct core_errbuf *eb)
{
	uint8_t *raw = NULL;
	size_t len = 0;
	char *mt = NULL;
	struct oci_manifest *m = NULL;
	enum core_err err;
	size_t idx;
	char *child = NULL;

	*out = NULL;
	if ((err = oci_store_get_manifest(st, NULL, &raw, &len, &mt, eb)) !=
	    CORE_OK)
		goto out;
	if ((err = oci_manifest_parse(raw, len, mt, &m, eb)) != CORE_OK)
		goto out;
	if (m->kind == OCI_KIND_INDEX) {
		if ((err = oci_index_select(m, os, arch, NULL, &idx, eb)) !=
		    CORE_OK)
			goto out;
		if ((child = strdup(m->manifests[idx].digest)) == NULL) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
		free(raw);
		free(mt);
		raw = NULL;
		mt = NULL;
		oci_manifest_free(m);
		m = NULL;
		if ((err = oci_store_get_manifest(
		         st, child, &raw, &len, &mt, eb)) != CORE_OK)
			goto out;
		if ((err = oci_manifest_parse(raw, len, mt, &m, eb)) != CORE_OK)
			goto out;
		if (m->kind != OCI_KIND_IMAGE) {
			err = core_errf(eb, CORE_ERR_UNSUPPORTED,
			    "manifest %s: nested index", child);
			goto out;
		}
	}
	*out = m;
	m = NULL;
out:
	free(child);
	free(raw);
	free(mt);
	oci_manifest_free(m);
	return err;
}

static enum core_err
copy_blob(struct oci_store *src, struct oci_store *dst,
    const struct oci_desc *d, struct core_errbuf *eb)
{
	int fd = -1;
	enum core_err err;
	struct oci_blob_src bs;

	if ((err = oci_store_get_blob_memfd(src, d, &fd, eb)) != CORE_OK)
		return err;
	bs.fd = fd;
	bs.mem = NULL;
	bs.len = (size_t)d->size;
	err = oci_store_put_blob(dst, d->digest, d->size, &bs, eb);
	close(fd);
	return err;
}

static enum core_err
copy_image(struct oci_store *src, struct oci_store *dst,
    const struct oci_manifest *m, bool child, struct core_errbuf *eb)
{
	enum core_err err;
	size_t i;

	if ((err = copy_blob(src, dst, &m->config, eb)) != CORE_OK)
		return err;
	for (i = 0; i < m->nlayers; i++)
		if ((err = copy_blob(src, dst, &m->layers[i], eb)) != CORE_OK)
			return err;
	return put_manifest_any(
	    dst, m->raw, m->raw_len, m->media_type, child, eb);
}

enum core_err
oci_copy(struct oci_store *src, struct oci_store *dst, struct core_errbuf *eb)
{
	uint8_t *raw = NULL, *craw = NULL;
	size_t len = 0, clen = 0, i;
	char *mt = NULL, *cmt = NULL;
	struct oci_manifest *m = NULL, *c = NULL;
	enum core_err err;

	if ((err = oci_store_get_manifest(src, NULL, &raw, &len, &mt, eb)) !=
	    CORE_OK)
		goto out;
	if ((err = oci_manifest_parse(raw, len, mt, &m, eb)) != CORE_OK)
		goto out;
	if (m->kind == OCI_KIND_IMAGE) {
		err = copy_image(src, dst, m, false, eb);
		goto commit;
	}
	for (i = 0; i < m->nmanifests; i++) {
		free(craw);
		free(cmt);
		craw = NULL;
		cmt = NULL;
		oci_manifest_free(c);
		c = NULL;
		if ((err = oci_store_get_manifest(src, m->manifests[i].digest,
		         &craw, &clen, &cmt, eb)) != CORE_OK)
			goto out;
		if ((err = oci_manifest_parse(craw, clen,
		         m->manifests[i].media_type, &c, eb)) != CORE_OK)
			goto out;
		if (c->kind != OCI_KIND_IMAGE) {
			err = core_errf(eb, CORE_ERR_UNSUPPORTED,
			    "manifest %s: nested index", c->digest);
			goto out;
		}
		if ((err = copy_image(src, dst, c, true, eb)) != CORE_OK)
			goto out;
	}
	err =
	    put_manifest_any(dst, m->raw, m->raw_len, m->media_type, false, eb);
commit:
	if (err == CORE_OK)
		err = oci_store_commit(dst, eb);
out:
	free(raw);
	free(mt);
	free(craw);
	free(cmt);
	oci_manifest_free(m);
	oci_manifest_free(c);
	return err;
}
