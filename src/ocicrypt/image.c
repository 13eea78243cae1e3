/*
 * image.c -- encrypting and decrypting whole images between stores, and
 * the proplet's pull-decrypt-extract path.
 */
#include "ocicrypt/ocicrypt.h"
#include "ocicrypt/ocicrypt_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#define DOCKER_MT_CONFIG "application/vnd.docker.container.image.v1+json"
#define DOCKER_MT_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define DOCKER_MT_LAYER_TAR "application/vnd.docker.image.rootfs.diff.tar"

/* A memfd that collects plaintext or ciphertext and hashes it. */
struct spool {
	int fd;
	size_t len;
	struct oci_hasher *h;
};

static enum core_err
spool_open(struct spool *s, struct core_errbuf *eb)
{
	s->len = 0;
	s->h = NULL;
	if ((s->fd = memfd_create("ocicrypt-layer", MFD_CLOEXEC)) < 0)
		return core_errf_errno(eb, CORE_ERR_IO, "memfd_create");
	if ((s->h = oci_hasher_new()) == NULL) {
		close(s->fd);
		s->fd = -1;
		return CORE_ERR_NOMEM;
	}
	return CORE_OK;
}

static void
spool_close(struct spool *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	oci_hasher_free(s->h);
	s->h = NULL;
}

static enum core_err
spool_sink(void *ctx, const void *p, size_t n)
{
	struct spool *s = ctx;
	enum core_err err = core_write_all(s->fd, p, n);

	if (err == CORE_OK) {
		oci_hasher_update(s->h, p, n);
		s->len += n;
	}
	return err;
}

static enum core_err
buf_sink(void *ctx, const void *p, size_t n)
{
	return core_buf_append(ctx, p, n);
}

/* Strips "+encrypted" in place of a malloc'd copy. */
static char *
base_media_type(const char *mt)
{
	char *b = strdup(mt);

	if (b != NULL && ocicrypt_media_encrypted(b))
		b[strlen(b) - strlen(OCICRYPT_ENC_SUFFIX)] = '\0';
	return b;
}

static bool
select_layer(const struct ocicrypt_enc_config *c, size_t i, size_t n)
{
	size_t k;

	if (c->layers == NULL || c->nlayers == 0)
		return true;
	for (k = 0; k < c->nlayers; k++) {
		long v = c->layers[k];

		if (v < 0)
			v += (long)n;
		if (v == (long)i)
			return true;
	}
	return false;
}

static enum core_err
put_spool(struct oci_store *dst, const char *digest, struct spool *s,
    struct core_errbuf *eb)
{
	struct oci_blob_src src = {s->fd, NULL, s->len};

	return oci_store_put_blob(dst, digest, (int64_t)s->len, &src, eb);
}

static enum core_err
copy_desc(struct oci_store *src, struct oci_store *dst,
    const struct oci_desc *d, struct core_errbuf *eb)
{
	int fd = -1;
	struct oci_blob_src bs;
	enum core_err err;

	if ((err = oci_store_get_blob_memfd(src, d, &fd, eb)) != CORE_OK)
		return err;
	bs.fd = fd;
	bs.mem = NULL;
	bs.len = (size_t)d->size;
	err = oci_store_put_blob(dst, d->digest, d->size, &bs, eb);
	close(fd);
	return err;
}

static const char *
jwe_alg_for(const struct crypto_key *k)
{
	static const char *const ok[] = {"RSA-OAEP", "RSA-OAEP-256",
	    "ECDH-ES+A128KW", "ECDH-ES+A192KW", "ECDH-ES+A256KW", NULL};
	const char *ja = crypto_key_jwk_alg(k);
	size_t i;

	for (i = 0; ja != NULL && ok[i] != NULL; i++)
		if (strcmp(ja, ok[i]) == 0)
			return ja;
	return crypto_key_type(k) == CRYPTO_KEY_RSA ? "RSA-OAEP"
	                                            : "ECDH-ES+A256KW";
}

/* Wraps privopts for every configured scheme into the annotations. */
static enum core_err
wrap_keys(const struct ocicrypt_enc_config *c, const struct secret *po,
    json_t *ann, struct core_errbuf *eb)
{
	enum core_err err = CORE_OK;
	char *b64 = NULL, *pj = NULL;
	struct crypto_jwe_recipient *rc = NULL;
	size_t i;

	if (c->njwe > 0) {
		struct crypto_jwe_enc_opts o;
		char *jwe = NULL;
		size_t jl = 0;

		if ((rc = calloc(c->njwe, sizeof(*rc))) == NULL)
			return CORE_ERR_NOMEM;
		for (i = 0; i < c->njwe; i++) {
			rc[i].key = c->jwe_pubkeys[i];
			rc[i].alg = jwe_alg_for(c->jwe_pubkeys[i]);
		}
		memset(&o, 0, sizeof(o));
		o.format =
		    c->njwe == 1 ? CRYPTO_JWE_FLATTENED : CRYPTO_JWE_GENERAL;
		o.enc = "A256GCM";
		if ((err = crypto_jwe_encrypt(rc, c->njwe, &o, po->ptr, po->len,
		         &jwe, &jl, eb)) != CORE_OK)
			goto out;
		b64 = core_b64_encode(jwe, jl);
		free(jwe);
		if (b64 == NULL ||
		    json_object_set_new(
		        ann, OCICRYPT_ANNOT_JWE, json_string(b64)) != 0) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
		free(b64);
		b64 = NULL;
	}
	if (c->providers != NULL && c->provider_name != NULL) {
		uint8_t *ab = NULL;
		size_t al = 0;
		char key[256];

		if ((err = ocicrypt_kp_wrap(c->providers, c->provider_name,
		         c->provider_param, po, &ab, &al, eb)) != CORE_OK)
			goto out;
		snprintf(key, sizeof(key), "%s%s", OCICRYPT_ANNOT_PROVIDER,
		    c->provider_name);
		b64 = core_b64_encode(ab, al);
		free(ab);
		if (b64 == NULL ||
		    json_object_set_new(ann, key, json_string(b64)) != 0) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
		free(b64);
		b64 = NULL;
	} else if (c->coco_kid != NULL) {
		struct ocicrypt_packet pk;

		if ((err = ocicrypt_packet_wrap(c->coco_kid, c->coco_kek, NULL,
		         po->ptr, po->len, &pk, eb)) != CORE_OK)
			goto out;
		pj = ocicrypt_packet_dump(&pk);
		ocicrypt_packet_cleanup(&pk);
		if (pj == NULL ||
		    (b64 = core_b64_encode(pj, strlen(pj))) == NULL ||
		    json_object_set_new(
		        ann, OCICRYPT_ANNOT_COCO, json_string(b64)) != 0) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
	}
out:
	free(rc);
	free(b64);
	free(pj);
	return err;
}

static enum core_err
encrypt_layer(struct oci_store *src, struct oci_store *dst,
    const struct ocicrypt_enc_config *c, const struct oci_desc *d, json_t *lj,
    struct core_errbuf *eb)
{
	int fd = -1;
	struct spool out = {-1, 0, NULL};
	struct ocicrypt_privopts priv;
	struct ocicrypt_pubopts pub;
	struct secret *po = NULL;
	struct oci_blob_src bs;
	char dg[OCI_DIGEST_LEN + 1], *pubj = NULL, *pubb = NULL, *mt = NULL;
	json_t *ann;
	enum core_err err;
	size_t ml;

	memset(&priv, 0, sizeof(priv));
	memset(&pub, 0, sizeof(pub));
	if ((err = oci_store_get_blob_memfd(src, d, &fd, eb)) != CORE_OK)
		goto out;
	if ((err = spool_open(&out, eb)) != CORE_OK)
		goto out;
	bs.fd = fd;
	bs.mem = NULL;
	bs.len = (size_t)d->size;
	if ((err = ocicrypt_layer_encrypt(&bs, d->digest, spool_sink, &out,
	         &priv, &pub, dg, eb)) != CORE_OK)
		goto out;
	if ((err = ocicrypt_privopts_dump(&priv, &po, eb)) != CORE_OK)
		goto out;
	ann = json_object_get(lj, "annotations");
	if (!json_is_object(ann)) {
		ann = json_object();
		if (ann == NULL ||
		    json_object_set_new(lj, "annotations", ann)) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
	}
	if ((err = wrap_keys(c, po, ann, eb)) != CORE_OK)
		goto out;
	if ((pubj = ocicrypt_pubopts_dump(&pub)) == NULL ||
	    (pubb = core_b64_encode(pubj, strlen(pubj))) == NULL ||
	    json_object_set_new(
	        ann, OCICRYPT_ANNOT_PUBOPTS, json_string(pubb)) != 0) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	ml = strlen(d->media_type) + strlen(OCICRYPT_ENC_SUFFIX) + 1;
	if ((mt = malloc(ml)) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	snprintf(mt, ml, "%s%s", d->media_type, OCICRYPT_ENC_SUFFIX);
	if ((err = put_spool(dst, dg, &out, eb)) != CORE_OK)
		goto out;
	if (json_object_set_new(lj, "mediaType", json_string(mt)) != 0 ||
	    json_object_set_new(lj, "digest", json_string(dg)) != 0 ||
	    json_object_set_new(
	        lj, "size", json_integer((json_int_t)out.len)) != 0) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	/* Keep member order: annotations after mediaType/digest/size. */
	if (json_object_get(lj, "annotations") != NULL) {
		json_t *a = json_incref(json_object_get(lj, "annotations"));

		json_object_del(lj, "annotations");
		json_object_set_new(lj, "annotations", a);
	}
out:
	if (fd >= 0)
		close(fd);
	spool_close(&out);
	ocicrypt_privopts_cleanup(&priv);
	ocicrypt_pubopts_cleanup(&pub);
	secret_free(po);
	free(pubj);
	free(pubb);
	free(mt);
	return err;
}

static void
docker_to_oci(json_t *root)
{
	json_t *layers = json_object_get(root, "layers"), *l, *cfg;
	const char *mt;
	size_t i;

	mt = json_string_value(json_object_get(root, "mediaType"));
	if (mt == NULL || strcmp(mt, OCI_MT_DOCKER_MANIFEST) != 0)
		return;
	json_object_set_new(root, "mediaType", json_string(OCI_MT_MANIFEST));
	cfg = json_object_get(root, "config");
	mt = json_string_value(json_object_get(cfg, "mediaType"));
	if (mt != NULL && strcmp(mt, DOCKER_MT_CONFIG) == 0)
		json_object_set_new(
		    cfg, "mediaType", json_string(OCI_MT_CONFIG));
	json_array_foreach(layers, i, l)
	{
		mt = json_string_value(json_object_get(l, "mediaType"));
		if (mt != NULL && strcmp(mt, DOCKER_MT_LAYER_GZIP) == 0)
			json_object_set_new(
			    l, "mediaType", json_string(OCI_MT_LAYER_TAR_GZIP));
		else if (mt != NULL && strcmp(mt, DOCKER_MT_LAYER_TAR) == 0)
			json_object_set_new(
			    l, "mediaType", json_string(OCI_MT_LAYER_TAR));
	}
}

static enum core_err
put_root(struct oci_store *dst, json_t *root, struct core_errbuf *eb)
{
	char *text = core_json_dumps(root);
	const char *mt = json_string_value(json_object_get(root, "mediaType"));
	enum core_err err;

	if (text == NULL)
		return CORE_ERR_NOMEM;
	err = oci_store_put_manifest(
	    dst, text, strlen(text), mt != NULL ? mt : OCI_MT_MANIFEST, eb);
	free(text);
	if (err == CORE_OK)
		err = oci_store_commit(dst, eb);
	return err;
}

enum core_err
ocicrypt_image_encrypt(struct oci_store *src, struct oci_store *dst,
    const struct ocicrypt_enc_config *c, struct core_errbuf *eb)
{
	struct oci_manifest *m = NULL;
	json_t *root = NULL, *layers;
	enum core_err err;
	size_t i, nenc = 0;

	if (c->njwe == 0 && c->coco_kid == NULL && c->provider_name == NULL)
		return core_errf(eb, CORE_ERR_INVALID,
		    "encrypt: no recipient (give a JWE key or a CoCo kid+KEK)");
	if (c->provider_name != NULL &&
	    !ocicrypt_kp_client_has(c->providers, c->provider_name))
		return core_errf(eb, CORE_ERR_NOT_FOUND,
		    "encrypt: key provider %s is not configured",
		    c->provider_name);
	if (c->provider_name == NULL && c->coco_kid != NULL &&
	    c->coco_kek == NULL)
		return core_errf(eb, CORE_ERR_INVALID,
		    "encrypt: CoCo kid %s without a KEK", c->coco_kid);
	if ((err = oci_store_get_image(src, NULL, NULL, &m, eb)) != CORE_OK)
		goto out;
	if ((root = json_deep_copy(m->root)) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	docker_to_oci(root);
	if ((err = copy_desc(src, dst, &m->config, eb)) != CORE_OK)
		goto out;
	layers = json_object_get(root, "layers");
	for (i = 0; i < m->nlayers; i++) {
		const struct oci_desc *d = &m->layers[i];

		if (!select_layer(c, i, m->nlayers)) {
			err = copy_desc(src, dst, d, eb);
		} else if (ocicrypt_media_encrypted(d->media_type)) {
			err = core_errf(eb, CORE_ERR_INVALID,
			    "layer %zu (%s) is already encrypted", i,
			    d->digest);
		} else {
			struct oci_desc dd = *d;

			dd.media_type = json_string_value(json_object_get(
			    json_array_get(layers, i), "mediaType"));
			err = encrypt_layer(
			    src, dst, c, &dd, json_array_get(layers, i), eb);
			if (err != CORE_OK)
				core_errbuf_prefix(eb, "layer %zu", i);
			nenc++;
		}
		if (err != CORE_OK)
			goto out;
	}
	if (nenc == 0) {
		err = core_errf(
		    eb, CORE_ERR_INVALID, "encrypt: no layer selected");
		goto out;
	}
	err = put_root(dst, root, eb);
out:
	json_decref(root);
	oci_manifest_free(m);
	return err;
}

/* Decrypts one layer into a spool; d's digest was verified on fetch. */
static enum core_err
decrypt_layer_spool(struct oci_store *src, const struct oci_desc *d,
    const struct ocicrypt_keys *keys, struct spool *out, struct core_errbuf *eb)
{
	int fd = -1;
	struct ocicrypt_privopts priv;
	struct ocicrypt_pubopts pub;
	struct oci_blob_src bs;
	enum core_err err;

	if ((err = ocicrypt_layer_unwrap(d, keys, &priv, &pub, eb)) != CORE_OK)
		return err;
	if ((err = oci_store_get_blob_memfd(src, d, &fd, eb)) != CORE_OK)
		goto out;
	if ((err = spool_open(out, eb)) != CORE_OK)
		goto out;
	bs.fd = fd;
	bs.mem = NULL;
	bs.len = (size_t)d->size;
	if ((err = ocicrypt_layer_decrypt(
	         &bs, NULL, &priv, &pub, spool_sink, out, eb)) != CORE_OK) {
		core_errbuf_prefix(eb, "layer %s", d->digest);
		spool_close(out);
		goto out;
	}
out:
	if (fd >= 0)
		close(fd);
	ocicrypt_privopts_cleanup(&priv);
	ocicrypt_pubopts_cleanup(&pub);
	return err;
}

static enum core_err
strip_layer_json(json_t *lj, const char *digest, size_t size)
{
	json_t *ann = json_object_get(lj, "annotations");
	const char *mt = json_string_value(json_object_get(lj, "mediaType"));
	char *base = mt != NULL ? base_media_type(mt) : NULL;
	const char *k;
	json_t *v;
	void *tmp;

	if (base == NULL)
		return CORE_ERR_NOMEM;
	json_object_set_new(lj, "mediaType", json_string(base));
	free(base);
	json_object_set_new(lj, "digest", json_string(digest));
	json_object_set_new(lj, "size", json_integer((json_int_t)size));
	if (json_is_object(ann)) {
		json_object_foreach_safe(ann, tmp, k, v)
		{
			if (strncmp(k, OCICRYPT_ANNOT_PREFIX,
			        strlen(OCICRYPT_ANNOT_PREFIX)) == 0)
				json_object_del(ann, k);
		}
		if (json_object_size(ann) == 0)
			json_object_del(lj, "annotations");
	}
	return CORE_OK;
}

enum core_err
ocicrypt_image_decrypt(struct oci_store *src, struct oci_store *dst,
    const struct ocicrypt_keys *keys, struct core_errbuf *eb)
{
	struct oci_manifest *m = NULL;
	json_t *root = NULL, *layers;
	enum core_err err;
	size_t i;
	struct spool sp = {-1, 0, NULL};

	if ((err = oci_store_get_image(src, NULL, NULL, &m, eb)) != CORE_OK)
		goto out;
	if ((root = json_deep_copy(m->root)) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	layers = json_object_get(root, "layers");
	/* Decrypt everything first, so a bad layer writes nothing. */
	for (i = 0; i < m->nlayers; i++) {
		const struct oci_desc *d = &m->layers[i];
		char dg[OCI_DIGEST_LEN + 1];

		if (!ocicrypt_media_encrypted(d->media_type))
			continue;
		if ((err = decrypt_layer_spool(src, d, keys, &sp, eb)) !=
		    CORE_OK)
			goto out;
		oci_hasher_final(sp.h, dg);
		if ((err = strip_layer_json(
		         json_array_get(layers, i), dg, sp.len)) != CORE_OK)
			goto out;
		spool_close(&sp);
	}
	if ((err = copy_desc(src, dst, &m->config, eb)) != CORE_OK)
		goto out;
	for (i = 0; i < m->nlayers; i++) {
		const struct oci_desc *d = &m->layers[i];
		char dg[OCI_DIGEST_LEN + 1];

		if (!ocicrypt_media_encrypted(d->media_type)) {
			if ((err = copy_desc(src, dst, d, eb)) != CORE_OK)
				goto out;
			continue;
		}
		/* Second decryption: keeps at most one layer in memory. */
		if ((err = decrypt_layer_spool(src, d, keys, &sp, eb)) !=
		    CORE_OK)
			goto out;
		oci_hasher_final(sp.h, dg);
		if ((err = put_spool(dst, dg, &sp, eb)) != CORE_OK)
			goto out;
		spool_close(&sp);
	}
	err = put_root(dst, root, eb);
out:
	spool_close(&sp);
	json_decref(root);
	oci_manifest_free(m);
	return err;
}

/* ---------------- modules ---------------- */

static bool
mt_is_raw_wasm(const char *mt)
{
	return strcmp(mt, OCI_MT_WASM_LAYER) == 0 ||
	    strcmp(mt, "application/wasm") == 0 ||
	    strcmp(mt,
	        "application/"
	        "vnd.bytecodealliance.wasm.component.layer.v0+wasm") == 0;
}

enum layer_comp { COMP_NONE, COMP_GZIP, COMP_ZSTD };

static bool
mt_is_tar(const char *mt, enum layer_comp *comp)
{
	static const struct {
		const char *mt;
		enum layer_comp comp;
	} tars[] = {
	    {OCI_MT_LAYER_TAR, COMP_NONE},
	    {"application/vnd.oci.image.layer.nondistributable.v1.tar",
	        COMP_NONE},
	    {DOCKER_MT_LAYER_TAR, COMP_NONE},
	    {OCI_MT_LAYER_TAR_GZIP, COMP_GZIP},
	    {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
	        COMP_GZIP},
	    {DOCKER_MT_LAYER_GZIP, COMP_GZIP},
	    {"application/vnd.oci.image.layer.v1.tar+zstd", COMP_ZSTD},
	    {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
	        COMP_ZSTD},
	};
	size_t i;

	for (i = 0; i < CORE_ARRAY_LEN(tars); i++)
		if (strcmp(mt, tars[i].mt) == 0) {
			*comp = tars[i].comp;
			return true;
		}
	return false;
}

STATIC enum core_err ocicrypt_gunzip(const uint8_t *p, size_t n, size_t max,
    uint8_t **out, size_t *len_out, struct core_errbuf *eb);

/* Bounded zstd decompression into memory (libarchive, raw format). */
STATIC enum core_err
ocicrypt_unzstd(const uint8_t *p, size_t n, size_t max, uint8_t **out,
    size_t *len_out, struct core_errbuf *eb)
{
	struct archive *a;
	struct archive_entry *ent;
	struct core_buf b;
	uint8_t chunk[65536];
	la_ssize_t got;
	enum core_err err = CORE_OK;

	*out = NULL;
	*len_out = 0;
	if ((a = archive_read_new()) == NULL)
		return CORE_ERR_NOMEM;
	core_buf_init(&b, max);
	if (archive_read_support_filter_zstd(a) != ARCHIVE_OK ||
	    archive_read_support_format_raw(a) != ARCHIVE_OK) {
		err = core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "zstd: not supported by libarchive");
		goto out;
	}
	if (archive_read_open_memory(a, p, n) != ARCHIVE_OK ||
	    archive_read_next_header(a, &ent) != ARCHIVE_OK ||
	    archive_filter_code(a, 0) != ARCHIVE_FILTER_ZSTD) {
		err =
		    core_errf(eb, CORE_ERR_INVALID, "zstd: not a zstd stream");
		goto out;
	}
	while ((got = archive_read_data(a, chunk, sizeof(chunk))) > 0) {
		if (core_buf_append(&b, chunk, (size_t)got) != CORE_OK) {
			err = core_errf(eb, CORE_ERR_TOO_BIG,
			    "zstd: expands beyond %zu bytes", max);
			goto out;
		}
	}
	if (got < 0) {
		err = core_errf(
		    eb, CORE_ERR_INVALID, "zstd: %s", archive_error_string(a));
		goto out;
	}
	*out = core_buf_steal(&b, len_out);
	if (*out == NULL && (*out = calloc(1, 1)) == NULL)
		err = CORE_ERR_NOMEM;
out:
	archive_read_free(a);
	core_buf_cleanup_secure(&b);
	return err;
}

static enum core_err
decompress(enum layer_comp comp, const uint8_t *p, size_t n, size_t max,
    uint8_t **out, size_t *len_out, struct core_errbuf *eb)
{
	if (comp == COMP_ZSTD)
		return ocicrypt_unzstd(p, n, max, out, len_out, eb);
	return ocicrypt_gunzip(p, n, max, out, len_out, eb);
}

/* Bounded gunzip into memory. */
STATIC enum core_err
ocicrypt_gunzip(const uint8_t *p, size_t n, size_t max, uint8_t **out,
    size_t *len_out, struct core_errbuf *eb)
{
	z_stream z;
	struct core_buf b;
	uint8_t chunk[65536];
	int r = Z_OK;
	enum core_err err = CORE_OK;

	*out = NULL;
	*len_out = 0;
	memset(&z, 0, sizeof(z));
	core_buf_init(&b, max);
	if (inflateInit2(&z, 15 + 16) != Z_OK)
		return core_errf(eb, CORE_ERR_INTERNAL, "inflateInit failed");
	z.next_in = (Bytef *)p;
	z.avail_in = (uInt)n;
	while (r != Z_STREAM_END) {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		r = inflate(&z, Z_NO_FLUSH);
		if (r != Z_OK && r != Z_STREAM_END) {
			err = core_errf(eb, CORE_ERR_INVALID, "gzip: %s",
			    r == Z_BUF_ERROR
			        ? "truncated stream"
			        : (z.msg != NULL ? z.msg : "corrupt stream"));
			goto out;
		}
		if ((err = core_buf_append(
		         &b, chunk, sizeof(chunk) - z.avail_out)) != CORE_OK) {
			err = core_errf(eb, CORE_ERR_TOO_BIG,
			    "gzip: expands beyond %zu bytes", max);
			goto out;
		}
	}
	*out = core_buf_steal(&b, len_out);
	if (*out == NULL && (*out = calloc(1, 1)) == NULL)
		err = CORE_ERR_NOMEM;
out:
	inflateEnd(&z);
	core_buf_cleanup_secure(&b);
	return err;
}

static bool
is_module_name(const char *name, bool exact)
{
	const char *base = strrchr(name, '/');
	size_t n;

	base = base != NULL ? base + 1 : name;
	if (exact)
		return strcmp(base, "module.wasm") == 0;
	n = strlen(base);
	return n > 5 && strcmp(base + n - 5, ".wasm") == 0;
}

STATIC enum core_err
ocicrypt_untar_module(const uint8_t *tar, size_t n, size_t max, uint8_t **out,
    size_t *len_out, struct core_errbuf *eb)
{
	struct archive *a = NULL;
	struct archive_entry *ent;
	enum core_err err = CORE_OK;
	int pass, r;
	bool found = false;

	*out = NULL;
	*len_out = 0;
	/* Pass 0 looks for module.wasm, pass 1 for any single *.wasm. */
	for (pass = 0; pass < 2 && !found && err == CORE_OK; pass++) {
		size_t nwasm = 0;

		if ((a = archive_read_new()) == NULL)
			return CORE_ERR_NOMEM;
		archive_read_support_format_tar(a);
		archive_read_support_filter_none(a);
		if (archive_read_open_memory(a, tar, n) != ARCHIVE_OK) {
			err = core_errf(eb, CORE_ERR_INVALID, "tar: %s",
			    archive_error_string(a));
			break;
		}
		while ((r = archive_read_next_header(a, &ent)) == ARCHIVE_OK) {
			const char *name = archive_entry_pathname(ent);
			int64_t sz = archive_entry_size(ent);
			struct core_buf b;
			uint8_t chunk[65536];
			la_ssize_t got;

			if (name == NULL ||
			    archive_entry_filetype(ent) != AE_IFREG ||
			    !is_module_name(name, pass == 0))
				continue;
			nwasm++;
			if (pass == 1 && nwasm > 1) {
				err = core_errf(eb, CORE_ERR_INVALID,
				    "tar: several .wasm files and no "
				    "module.wasm");
				break;
			}
			if (sz < 0 || (uint64_t)sz > max) {
				err = core_errf(eb, CORE_ERR_TOO_BIG,
				    "tar: %s is larger than %zu bytes", name,
				    max);
				break;
			}
			free(*out);
			*out = NULL;
			core_buf_init(&b, max);
			while ((got = archive_read_data(
			            a, chunk, sizeof(chunk))) > 0) {
				if (core_buf_append(&b, chunk, (size_t)got) !=
				    CORE_OK) {
					err = core_errf(eb, CORE_ERR_TOO_BIG,
					    "tar: %s exceeds %zu bytes", name,
					    max);
					break;
				}
			}
			if (err == CORE_OK && got < 0)
				err = core_errf(eb, CORE_ERR_INVALID,
				    "tar: %s: %s", name,
				    archive_error_string(a));
			if (err != CORE_OK) {
				core_buf_cleanup_secure(&b);
				break;
			}
			*out = core_buf_steal(&b, len_out);
			if (*out == NULL && (*out = calloc(1, 1)) == NULL)
				err = CORE_ERR_NOMEM;
			found = true;
			if (pass == 0)
				break;
		}
		if (err == CORE_OK && r != ARCHIVE_OK && r != ARCHIVE_EOF &&
		    !found)
			err = core_errf(eb, CORE_ERR_INVALID, "tar: %s",
			    archive_error_string(a));
		archive_read_free(a);
		a = NULL;
	}
	if (a != NULL)
		archive_read_free(a);
	if (err == CORE_OK && !found)
		err = core_errf(
		    eb, CORE_ERR_NOT_FOUND, "tar: no module.wasm in the layer");
	if (err != CORE_OK) {
		free(*out);
		*out = NULL;
		*len_out = 0;
	}
	return err;
}

enum core_err
ocicrypt_extract_module(const char *mt, const uint8_t *p, size_t n,
    size_t max_len, uint8_t **out, size_t *len_out, struct core_errbuf *eb)
{
	uint8_t *tar = NULL;
	size_t tlen = 0;
	enum core_err err;
	enum layer_comp comp = COMP_NONE;

	*out = NULL;
	*len_out = 0;
	if (mt_is_raw_wasm(mt)) {
		if (n > max_len)
			return core_errf(eb, CORE_ERR_TOO_BIG,
			    "module: %zu bytes exceeds %zu", n, max_len);
		if ((*out = malloc(n + 1)) == NULL)
			return CORE_ERR_NOMEM;
		memcpy(*out, p, n);
		*len_out = n;
		return CORE_OK;
	}
	if (!mt_is_tar(mt, &comp))
		return core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "layer media type \"%s\" carries no wasm module", mt);
	if (comp != COMP_NONE) {
		/* A tar holds the module plus headers: allow slack. */
		if ((err = decompress(comp, p, n, max_len + (1 << 20), &tar,
		         &tlen, eb)) != CORE_OK)
			return err;
		err =
		    ocicrypt_untar_module(tar, tlen, max_len, out, len_out, eb);
		free(tar);
		return err;
	}
	return ocicrypt_untar_module(p, n, max_len, out, len_out, eb);
}

/* Checks rootfs.diff_ids[i] of an image config against the tar bytes. */
static enum core_err
check_diff_id(const uint8_t *cfg, size_t cfglen, size_t idx, const char *mt,
    const uint8_t *plain, size_t n, struct core_errbuf *eb)
{
	json_t *root = NULL, *ids;
	const char *want;
	uint8_t *tar = NULL;
	size_t tlen = 0;
	char got[OCI_DIGEST_LEN + 1];
	enum core_err err = CORE_OK;
	enum layer_comp comp = COMP_NONE;

	if (!mt_is_tar(mt, &comp) ||
	    core_json_parse_object(
	        cfg, cfglen, OCI_MANIFEST_MAX, &root, NULL) != CORE_OK)
		return CORE_OK; /* minimal wasm configs have no rootfs */
	ids = json_object_get(json_object_get(root, "rootfs"), "diff_ids");
	want = json_string_value(json_array_get(ids, idx));
	if (want == NULL)
		goto out;
	if (comp != COMP_NONE) {
		if ((err = decompress(comp, plain, n, (size_t)1 << 30, &tar,
		         &tlen, eb)) != CORE_OK)
			goto out;
		oci_digest_of(tar, tlen, got);
	} else {
		oci_digest_of(plain, n, got);
	}
	if (strcmp(got, want) != 0)
		err = core_errf(eb, CORE_ERR_AUTH,
		    "layer %zu: uncompressed content %s does not match "
		    "diff_id %s",
		    idx, got, want);
out:
	free(tar);
	json_decref(root);
	return err;
}

enum core_err
ocicrypt_pull_module(const char *spec, const struct oci_opts *opts,
    const struct ocicrypt_keys *keys, size_t max_len, uint8_t **out,
    size_t *len_out, struct core_errbuf *eb)
{
	struct oci_store *st = NULL;
	struct oci_manifest *m = NULL;
	const struct oci_desc *d = NULL;
	uint8_t *blob = NULL, *cfg = NULL;
	size_t blen = 0, cfglen = 0, i, idx = 0;
	char *base = NULL;
	struct core_buf plain;
	enum core_err err;
	enum layer_comp comp;

	*out = NULL;
	*len_out = 0;
	core_buf_init(&plain, max_len);
	if ((err = oci_store_open(spec, opts, false, &st, eb)) != CORE_OK)
		goto out;
	if ((err = oci_store_get_image(st, NULL, NULL, &m, eb)) != CORE_OK)
		goto out;
	for (i = 0; i < m->nlayers && d == NULL; i++) {
		free(base);
		if ((base = base_media_type(m->layers[i].media_type)) == NULL) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
		if (mt_is_raw_wasm(base) || mt_is_tar(base, &comp)) {
			d = &m->layers[i];
			idx = i;
		}
	}
	if (d == NULL) {
		err = core_errf(eb, CORE_ERR_NOT_FOUND,
		    "%s: no wasm or tar layer among %zu layers", spec,
		    m->nlayers);
		goto out;
	}
	if ((err = oci_store_get_blob_mem(
	         st, d, max_len + (64u << 20), &blob, &blen, eb)) != CORE_OK)
		goto out;
	if (ocicrypt_media_encrypted(d->media_type)) {
		struct ocicrypt_privopts priv;
		struct ocicrypt_pubopts pub;
		struct oci_blob_src bs = {-1, blob, blen};

		if ((err = ocicrypt_layer_unwrap(d, keys, &priv, &pub, eb)) !=
		    CORE_OK)
			goto out;
		plain.max_len = blen + 1;
		err = core_buf_reserve(&plain, blen);
		if (err == CORE_OK)
			err = ocicrypt_layer_decrypt(
			    &bs, d->digest, &priv, &pub, buf_sink, &plain, eb);
		ocicrypt_privopts_cleanup(&priv);
		ocicrypt_pubopts_cleanup(&pub);
		if (err != CORE_OK)
			goto out;
	} else if ((err = core_buf_append(&plain, blob, blen)) != CORE_OK) {
		goto out;
	}
	if (oci_store_get_blob_mem(st, &m->config, OCI_MANIFEST_MAX, &cfg,
	        &cfglen, NULL) == CORE_OK &&
	    (err = check_diff_id(cfg, cfglen, idx, base,
	         plain.data != NULL ? plain.data : (const uint8_t *)"",
	         plain.len, eb)) != CORE_OK)
		goto out;
	err = ocicrypt_extract_module(base,
	    plain.data != NULL ? plain.data : (const uint8_t *)"", plain.len,
	    max_len, out, len_out, eb);
out:
	core_buf_cleanup_secure(&plain);
	free(blob);
	free(cfg);
	free(base);
	oci_manifest_free(m);
	oci_store_free(st);
	return err;
}
