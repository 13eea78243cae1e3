/*
 * ref.c -- image references and digests.
 */
#include "oci/oci.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#define REF_MAX_LEN 1024

STATIC bool ref_repo_valid(const char *s);
STATIC bool ref_tag_valid(const char *s);

static bool
is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/*
 * [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* per component, components joined by '/'.
 */
STATIC bool
ref_repo_valid(const char *s)
{
	const char *p = s;

	if (*p == '\0')
		return false;
	for (;;) {
		/* one component */
		if (!is_lower_alnum(*p))
			return false;
		while (is_lower_alnum(*p))
			p++;
		while (*p == '.' || *p == '_' || *p == '-') {
			if (*p == '.') {
				p++;
			} else if (*p == '_') {
				p++;
				if (*p == '_')
					p++;
			} else {
				while (*p == '-')
					p++;
			}
			if (!is_lower_alnum(*p))
				return false;
			while (is_lower_alnum(*p))
				p++;
		}
		if (*p == '\0')
			return true;
		if (*p != '/')
			return false;
		p++;
	}
}

/* [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127} */
STATIC bool
ref_tag_valid(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 128)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' ||
		    (i > 0 && (c == '.' || c == '-'));

		if (!ok)
			return false;
	}
	return true;
}

bool
oci_digest_valid(const char *d)
{
	size_t i;

	if (d == NULL || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71)
		return false;
	for (i = 7; i < 71; i++) {
		char c = d[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

static void
digest_format(const uint8_t md[32], char out[OCI_DIGEST_LEN + 1])
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	memcpy(out, "sha256:", 7);
	for (i = 0; i < 32; i++) {
		out[7 + 2 * i] = hx[md[i] >> 4];
		out[8 + 2 * i] = hx[md[i] & 15];
	}
	out[OCI_DIGEST_LEN] = '\0';
}

void
oci_digest_of(const void *p, size_t n, char out[OCI_DIGEST_LEN + 1])
{
	uint8_t md[32];

	SHA256(p, n, md);
	digest_format(md, out);
}

struct oci_hasher {
	EVP_MD_CTX *ctx;
};

struct oci_hasher *
oci_hasher_new(void)
{
	struct oci_hasher *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	if ((h->ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(h->ctx);
		free(h);
		return NULL;
	}
	return h;
}

void
oci_hasher_update(struct oci_hasher *h, const void *p, size_t n)
{
	if (n > 0)
		EVP_DigestUpdate(h->ctx, p, n);
}

void
oci_hasher_final(struct oci_hasher *h, char out[OCI_DIGEST_LEN + 1])
{
	uint8_t md[32];
	unsigned int mdlen = 0;

	EVP_DigestFinal_ex(h->ctx, md, &mdlen);
	digest_format(md, out);
}

void
oci_hasher_free(struct oci_hasher *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void
oci_ref_free(struct oci_ref *r)
{
	if (r == NULL)
		return;
	free(r->domain);
	free(r->endpoint);
	free(r->repo);
	free(r->tag);
	free(r->digest);
	free(r);
}

enum core_err
oci_ref_parse(const char *s, struct oci_ref **out, struct core_errbuf *eb)
{
	enum core_err err = CORE_OK;
	struct oci_ref *r = NULL;
	char *work = NULL, *name, *slash, *at, *colon;
	size_t n;

	*out = NULL;
	if (s == NULL || *s == '\0')
		return core_errf(
		    eb, CORE_ERR_INVALID, "image reference: empty");
	n = strlen(s);
	if (n > REF_MAX_LEN)
		return core_errf(eb, CORE_ERR_TOO_BIG,
		    "image reference: longer than %d bytes", REF_MAX_LEN);
	if ((r = calloc(1, sizeof(*r))) == NULL || (work = strdup(s)) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	name = work;
	if ((at = strchr(name, '@')) != NULL) {
		*at = '\0';
		if (!oci_digest_valid(at + 1)) {
			err = core_errf(eb, CORE_ERR_INVALID,
			    "image reference \"%s\": bad digest \"%s\" "
			    "(want sha256:<64 hex>)",
			    s, at + 1);
			goto out;
		}
		if ((r->digest = strdup(at + 1)) == NULL) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
	}
	slash = strchr(name, '/');
	if (slash != NULL) {
		size_t hl = (size_t)(slash - name);

		if (memchr(name, '.', hl) != NULL ||
		    memchr(name, ':', hl) != NULL ||
		    (hl == 9 && strncmp(name, "localhost", 9) == 0)) {
			*slash = '\0';
			if (hl == 0) {
				err = core_errf(eb, CORE_ERR_INVALID,
				    "image reference \"%s\": empty host", s);
				goto out;
			}
			r->domain = strdup(name);
			name = slash + 1;
		}
	}
	if (r->domain == NULL && (r->domain = strdup("docker.io")) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	/* The tag is after the last ':' of the path part. */
	colon = strrchr(name, ':');
	if (colon != NULL) {
		*colon = '\0';
		if (!ref_tag_valid(colon + 1)) {
			err = core_errf(eb, CORE_ERR_INVALID,
			    "image reference \"%s\": bad tag \"%s\"", s,
			    colon + 1);
			goto out;
		}
		if ((r->tag = strdup(colon + 1)) == NULL) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
	}
	if (!ref_repo_valid(name)) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "image reference \"%s\": bad repository name \"%s\"", s,
		    name);
		goto out;
	}
	if (strcmp(r->domain, "index.docker.io") == 0) {
		free(r->domain);
		if ((r->domain = strdup("docker.io")) == NULL) {
			err = CORE_ERR_NOMEM;
			goto out;
		}
	}
	if (strcmp(r->domain, "docker.io") == 0) {
		r->endpoint = strdup("registry-1.docker.io");
		if (strchr(name, '/') == NULL) {
			size_t rl = strlen(name) + 9;

			if ((r->repo = malloc(rl)) != NULL)
				snprintf(r->repo, rl, "library/%s", name);
		} else {
			r->repo = strdup(name);
		}
	} else {
		r->endpoint = strdup(r->domain);
		r->repo = strdup(name);
	}
	if (r->tag == NULL && r->digest == NULL)
		r->tag = strdup("latest");
	if (r->endpoint == NULL || r->repo == NULL ||
	    (r->tag == NULL && r->digest == NULL)) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	*out = r;
	r = NULL;
out:
	free(work);
	oci_ref_free(r);
	return err;
}

char *
oci_ref_string(const struct oci_ref *r)
{
	struct core_buf b;

	core_buf_init(&b, 0);
	if (core_buf_printf(&b, "%s/%s", r->domain, r->repo) != CORE_OK ||
	    (r->tag != NULL && core_buf_printf(&b, ":%s", r->tag) != CORE_OK) ||
	    (r->digest != NULL &&
	        core_buf_printf(&b, "@%s", r->digest) != CORE_OK)) {
		core_buf_cleanup(&b);
		return NULL;
	}
	return (char *)core_buf_steal(&b, NULL);
}
