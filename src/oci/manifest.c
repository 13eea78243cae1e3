/*
 * manifest.c -- OCI/Docker manifests and indexes, platform selection.
 */
#include "oci/oci.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MANIFEST_MAX_ENTRIES 4096

static enum core_err desc_parse(
    json_t *o, const char *what, struct oci_desc *d, struct core_errbuf *eb);

bool
oci_media_is_manifest(const char *mt)
{
	return mt != NULL &&
	    (strcmp(mt, OCI_MT_MANIFEST) == 0 ||
	        strcmp(mt, OCI_MT_DOCKER_MANIFEST) == 0);
}

bool
oci_media_is_index(const char *mt)
{
	return mt != NULL &&
	    (strcmp(mt, OCI_MT_INDEX) == 0 ||
	        strcmp(mt, OCI_MT_DOCKER_LIST) == 0);
}

static enum core_err
desc_parse(
    json_t *o, const char *what, struct oci_desc *d, struct core_errbuf *eb)
{
	json_t *v, *plat;

	memset(d, 0, sizeof(*d));
	if (!json_is_object(o))
		return core_errf(
		    eb, CORE_ERR_INVALID, "%s: not an object", what);
	d->json = o;
	v = json_object_get(o, "mediaType");
	if (!json_is_string(v) || json_string_length(v) == 0)
		return core_errf(eb, CORE_ERR_INVALID,
		    "%s: missing or non-string mediaType", what);
	d->media_type = json_string_value(v);
	v = json_object_get(o, "digest");
	if (!json_is_string(v) || !oci_digest_valid(json_string_value(v)))
		return core_errf(eb, CORE_ERR_INVALID,
		    "%s: digest missing or not sha256:<64 hex>", what);
	d->digest = json_string_value(v);
	v = json_object_get(o, "size");
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return core_errf(
		    eb, CORE_ERR_INVALID, "%s: size missing or negative", what);
	d->size = json_integer_value(v);
	v = json_object_get(o, "annotations");
	if (v != NULL && !json_is_null(v)) {
		const char *k;
		json_t *av;

		if (!json_is_object(v))
			return core_errf(eb, CORE_ERR_INVALID,
			    "%s: annotations is not an object", what);
		json_object_foreach(v, k, av)
		{
			if (!json_is_string(av))
				return core_errf(eb, CORE_ERR_INVALID,
				    "%s: annotation \"%s\" is not a string",
				    what, k);
		}
		d->annotations = v;
	}
	plat = json_object_get(o, "platform");
	if (plat != NULL && !json_is_null(plat)) {
		if (!json_is_object(plat))
			return core_errf(eb, CORE_ERR_INVALID,
			    "%s: platform is not an object", what);
		v = json_object_get(plat, "os");
		d->os = json_is_string(v) ? json_string_value(v) : NULL;
		v = json_object_get(plat, "architecture");
		d->arch = json_is_string(v) ? json_string_value(v) : NULL;
		v = json_object_get(plat, "variant");
		d->variant = json_is_string(v) ? json_string_value(v) : NULL;
	}
	return CORE_OK;
}

static enum core_err
desc_array(json_t *arr, const char *what, struct oci_desc **out, size_t *nout,
    struct core_errbuf *eb)
{
	struct oci_desc *ds;
	size_t i, n;
	char name[64];
	enum core_err err;

	*out = NULL;
	*nout = 0;
	if (!json_is_array(arr))
		return core_errf(eb, CORE_ERR_INVALID,
		    "manifest: %s missing or not an array", what);
	n = json_array_size(arr);
	if (n > MANIFEST_MAX_ENTRIES)
		return core_errf(eb, CORE_ERR_TOO_BIG,
		    "manifest: more than %d %s", MANIFEST_MAX_ENTRIES, what);
	if (n == 0)
		return CORE_OK;
	if ((ds = calloc(n, sizeof(*ds))) == NULL)
		return CORE_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "manifest: %s[%zu]", what, i);
		if ((err = desc_parse(json_array_get(arr, i), name, &ds[i],
		         eb)) != CORE_OK) {
			free(ds);
			return err;
		}
	}
	*out = ds;
	*nout = n;
	return CORE_OK;
}

void
oci_manifest_free(struct oci_manifest *m)
{
	if (m == NULL)
		return;
	free(m->media_type);
	json_decref(m->root);
	free(m->raw);
	free(m->layers);
	free(m->manifests);
	free(m);
}

enum core_err
oci_manifest_parse(const void *p, size_t n, const char *content_type,
    struct oci_manifest **out, struct core_errbuf *eb)
{
	enum core_err err;
	struct oci_manifest *m = NULL;
	json_t *v;
	const char *mt = NULL;
	char ctbuf[128];
	int64_t sv;

	*out = NULL;
	if (n > OCI_MANIFEST_MAX)
		return core_errf(eb, CORE_ERR_TOO_BIG,
		    "manifest: %zu bytes exceeds the %d byte limit", n,
		    OCI_MANIFEST_MAX);
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return CORE_ERR_NOMEM;
	if ((err = core_json_parse_object(
	         p, n, OCI_MANIFEST_MAX, &m->root, eb)) != CORE_OK) {
		core_errbuf_prefix(eb, "manifest");
		goto out;
	}
	if ((m->raw = malloc(n + 1)) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	memcpy(m->raw, p, n);
	m->raw[n] = '\0';
	m->raw_len = n;
	oci_digest_of(p, n, m->digest);
	v = json_object_get(m->root, "schemaVersion");
	if (!json_is_integer(v)) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "manifest: schemaVersion missing or not an integer");
		goto out;
	}
	sv = json_integer_value(v);
	if (sv != 2) {
		err = core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "manifest: schemaVersion %lld (only 2 is supported)",
		    (long long)sv);
		goto out;
	}
	v = json_object_get(m->root, "mediaType");
	if (v != NULL && !json_is_string(v)) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "manifest: mediaType is not a string");
		goto out;
	}
	if (v != NULL)
		mt = json_string_value(v);
	if (mt == NULL && content_type != NULL && *content_type != '\0') {
		size_t cl = strcspn(content_type, "; \t");

		if (cl >= sizeof(ctbuf))
			cl = sizeof(ctbuf) - 1;
		memcpy(ctbuf, content_type, cl);
		ctbuf[cl] = '\0';
		if (oci_media_is_manifest(ctbuf) || oci_media_is_index(ctbuf))
			mt = ctbuf;
	}
	if (mt == NULL) {
		if (json_object_get(m->root, "manifests") != NULL)
			mt = OCI_MT_INDEX;
		else if (json_object_get(m->root, "config") != NULL)
			mt = OCI_MT_MANIFEST;
		else {
			err = core_errf(eb, CORE_ERR_INVALID,
			    "manifest: no mediaType and neither config nor "
			    "manifests present");
			goto out;
		}
	}
	if (oci_media_is_manifest(mt)) {
		m->kind = OCI_KIND_IMAGE;
		if ((err = desc_parse(json_object_get(m->root, "config"),
		         "manifest: config", &m->config, eb)) != CORE_OK)
			goto out;
		if ((err = desc_array(json_object_get(m->root, "layers"),
		         "layers", &m->layers, &m->nlayers, eb)) != CORE_OK)
			goto out;
	} else if (oci_media_is_index(mt)) {
		m->kind = OCI_KIND_INDEX;
		if ((err = desc_array(json_object_get(m->root, "manifests"),
		         "manifests", &m->manifests, &m->nmanifests, eb)) !=
		    CORE_OK)
			goto out;
	} else {
		err = core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "manifest: unsupported media type \"%s\"", mt);
		goto out;
	}
	if ((m->media_type = strdup(mt)) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	*out = m;
	m = NULL;
out:
	oci_manifest_free(m);
	return err;
}

static bool
str_eq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

enum core_err
oci_index_select(const struct oci_manifest *m, const char *os, const char *arch,
    const char *variant, size_t *idx_out, struct core_errbuf *eb)
{
	size_t i;

	if (m->kind != OCI_KIND_INDEX)
		return core_errf(eb, CORE_ERR_INVALID,
		    "index: not an index (%s)", m->media_type);
	if (m->nmanifests == 0)
		return core_errf(eb, CORE_ERR_NOT_FOUND, "index: no entries");
	if (os == NULL)
		os = "linux";
	if (arch == NULL)
		arch = "amd64";
	for (i = 0; i < m->nmanifests; i++) {
		const struct oci_desc *d = &m->manifests[i];

		if (str_eq(d->os, os) && str_eq(d->arch, arch) &&
		    (variant == NULL || str_eq(d->variant, variant))) {
			*idx_out = i;
			return CORE_OK;
		}
	}
	if (m->nmanifests == 1) {
		*idx_out = 0;
		return CORE_OK;
	}
	return core_errf(eb, CORE_ERR_NOT_FOUND,
	    "index: no entry for platform %s/%s%s%s among %zu", os, arch,
	    variant != NULL ? "/" : "", variant != NULL ? variant : "",
	    m->nmanifests);
}

char *
oci_manifest_dump(const struct oci_manifest *m, size_t *len_out)
{
	char *s = core_json_dumps(m->root);

	if (s != NULL && len_out != NULL)
		*len_out = strlen(s);
	return s;
}
