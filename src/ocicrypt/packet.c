/*
 * packet.c -- the CoCo keyprovider AnnotationPacket, KEK forms and kid
 * resource URIs.
 */
#include "ocicrypt/ocicrypt.h"
#include "ocicrypt/ocicrypt_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define PACKET_GCM_IV 12
#define PACKET_CTR_IV 16
#define PACKET_TAG 16
#define KID_MAX 1024

void
ocicrypt_packet_cleanup(struct ocicrypt_packet *pk)
{
	if (pk == NULL)
		return;
	free(pk->kid);
	free(pk->wrapped);
	free(pk->iv);
	free(pk->wrap_type);
	memset(pk, 0, sizeof(*pk));
}

enum core_err
ocicrypt_packet_parse(const void *p, size_t n, struct ocicrypt_packet *out,
    struct core_errbuf *eb)
{
	json_t *root = NULL;
	const char *kid = NULL, *wt = NULL;
	enum core_err err;

	memset(out, 0, sizeof(*out));
	if ((err = core_json_parse_object(
	         p, n, OCICRYPT_JSON_MAX, &root, eb)) != CORE_OK) {
		core_errbuf_prefix(eb, "annotation packet");
		return err;
	}
	if ((err = core_json_get_str(root, "kid", true, &kid, eb)) != CORE_OK ||
	    (err = core_json_get_str(root, "wrap_type", true, &wt, eb)) !=
	        CORE_OK) {
		core_errbuf_prefix(eb, "annotation packet");
		goto out;
	}
	if (strlen(kid) > KID_MAX) {
		err = core_errf(eb, CORE_ERR_TOO_BIG,
		    "annotation packet: kid longer than %d", KID_MAX);
		goto out;
	}
	if ((err = ocicrypt_json_bytes(json_object_get(root, "wrapped_data"),
	         "annotation packet: wrapped_data", OCICRYPT_JSON_MAX,
	         &out->wrapped, &out->wrapped_len, eb)) != CORE_OK ||
	    (err = ocicrypt_json_bytes(json_object_get(root, "iv"),
	         "annotation packet: iv", 64, &out->iv, &out->iv_len, eb)) !=
	        CORE_OK)
		goto out;
	if (out->wrapped_len == 0) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "annotation packet: wrapped_data missing or empty");
		goto out;
	}
	out->kid = strdup(kid);
	out->wrap_type = strdup(wt);
	if (out->kid == NULL || out->wrap_type == NULL)
		err = CORE_ERR_NOMEM;
out:
	json_decref(root);
	if (err != CORE_OK)
		ocicrypt_packet_cleanup(out);
	return err;
}

char *
ocicrypt_packet_dump(const struct ocicrypt_packet *pk)
{
	json_t *o;
	char *wd = core_b64_encode(pk->wrapped, pk->wrapped_len);
	char *iv = core_b64_encode(pk->iv, pk->iv_len);
	char *s = NULL;

	if (wd != NULL && iv != NULL) {
		o = json_pack("{s:s,s:s,s:s,s:s}", "kid", pk->kid,
		    "wrapped_data", wd, "iv", iv, "wrap_type", pk->wrap_type);
		if (o != NULL)
			s = core_json_dumps(o);
		json_decref(o);
	}
	free(wd);
	free(iv);
	return s;
}

static enum core_err
gcm(bool enc, const uint8_t *key, const uint8_t *iv, const uint8_t *in,
    size_t n, uint8_t *out, uint8_t tag[PACKET_TAG])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int ol = 0, fl = 0, ok;

	if (c == NULL)
		return CORE_ERR_NOMEM;
	ok = (enc ? EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL)
	          : EVP_DecryptInit_ex(
	                c, EVP_aes_256_gcm(), NULL, NULL, NULL)) == 1 &&
	    EVP_CIPHER_CTX_ctrl(
	        c, EVP_CTRL_GCM_SET_IVLEN, PACKET_GCM_IV, NULL) == 1 &&
	    (enc ? EVP_EncryptInit_ex(c, NULL, NULL, key, iv)
	         : EVP_DecryptInit_ex(c, NULL, NULL, key, iv)) == 1;
	if (ok && n > 0)
		ok = (enc ? EVP_EncryptUpdate(c, out, &ol, in, (int)n)
		          : EVP_DecryptUpdate(c, out, &ol, in, (int)n)) == 1;
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(
		         c, EVP_CTRL_GCM_SET_TAG, PACKET_TAG, tag) == 1;
	if (ok) {
		if (enc) {
			ok = EVP_EncryptFinal_ex(c, out + ol, &fl) == 1 &&
			    EVP_CIPHER_CTX_ctrl(
			        c, EVP_CTRL_GCM_GET_TAG, PACKET_TAG, tag) == 1;
		} else if (EVP_DecryptFinal_ex(c, out + ol, &fl) != 1) {
			EVP_CIPHER_CTX_free(c);
			core_wipe(out, n);
			return CORE_ERR_AUTH;
		}
	}
	EVP_CIPHER_CTX_free(c);
	return ok ? CORE_OK : CORE_ERR_CRYPTO;
}

enum core_err
ocicrypt_packet_wrap(const char *kid, const struct secret *kek,
    const uint8_t *iv_or_null, const void *privopts, size_t n,
    struct ocicrypt_packet *out, struct core_errbuf *eb)
{
	enum core_err err;
	char *res = NULL;

	memset(out, 0, sizeof(*out));
	if (kek == NULL || kek->len != OCICRYPT_KEK_LEN)
		return core_errf(eb, CORE_ERR_INVALID, "KEK must be 32 bytes");
	if (kid == NULL ||
	    (strncmp(kid, "kbs://", 6) != 0 && strncmp(kid, "kbs+", 4) != 0))
		return core_errf(eb, CORE_ERR_INVALID,
		    "kid \"%s\": want kbs:///repo/type/tag",
		    kid != NULL ? kid : "");
	if ((err = ocicrypt_kid_resource(kid, &res, eb)) != CORE_OK)
		return err;
	free(res);
	if ((out->kid = strdup(kid)) == NULL ||
	    (out->wrap_type = strdup("A256GCM")) == NULL ||
	    (out->iv = malloc(PACKET_GCM_IV)) == NULL ||
	    (out->wrapped = malloc(n + PACKET_TAG)) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	out->iv_len = PACKET_GCM_IV;
	out->wrapped_len = n + PACKET_TAG;
	if (iv_or_null != NULL)
		memcpy(out->iv, iv_or_null, PACKET_GCM_IV);
	else if ((err = core_random(out->iv, PACKET_GCM_IV, eb)) != CORE_OK)
		goto out;
	if ((err = gcm(true, kek->ptr, out->iv, privopts, n, out->wrapped,
	         out->wrapped + n)) != CORE_OK)
		err = core_errf(eb, err, "AES-256-GCM wrap failed");
out:
	if (err != CORE_OK)
		ocicrypt_packet_cleanup(out);
	return err;
}

enum core_err
ocicrypt_packet_unwrap(const struct ocicrypt_packet *pk,
    const struct secret *kek, struct secret **privopts_out,
    struct core_errbuf *eb)
{
	struct secret *pt = NULL;
	enum core_err err = CORE_OK;

	*privopts_out = NULL;
	if (kek == NULL || kek->len != OCICRYPT_KEK_LEN)
		return core_errf(eb, CORE_ERR_INVALID,
		    "kid %s: KEK must be 32 bytes", pk->kid);
	if (strcmp(pk->wrap_type, "A256GCM") == 0) {
		size_t n;

		if (pk->iv_len != PACKET_GCM_IV)
			return core_errf(eb, CORE_ERR_INVALID,
			    "kid %s: A256GCM iv is %zu bytes, want 12", pk->kid,
			    pk->iv_len);
		if (pk->wrapped_len <= PACKET_TAG)
			return core_errf(eb, CORE_ERR_INVALID,
			    "kid %s: wrapped_data shorter than the GCM tag",
			    pk->kid);
		n = pk->wrapped_len - PACKET_TAG;
		if ((pt = secret_new(n)) == NULL)
			return CORE_ERR_NOMEM;
		err = gcm(false, kek->ptr, pk->iv, pk->wrapped, n, pt->ptr,
		    pk->wrapped + n);
		if (err == CORE_ERR_AUTH)
			err = core_errf(eb, CORE_ERR_AUTH,
			    "kid %s: AES-256-GCM authentication failed (wrong "
			    "KEK or tampered packet)",
			    pk->kid);
		else if (err != CORE_OK)
			err = core_errf(
			    eb, err, "kid %s: AES-256-GCM failed", pk->kid);
	} else if (strcmp(pk->wrap_type, "A256CTR") == 0) {
		/* Documented by CoCo, never emitted upstream, and not
		 * authenticated: the options parser is the only check. */
		EVP_CIPHER_CTX *c;
		int ol = 0;

		if (pk->iv_len != PACKET_CTR_IV)
			return core_errf(eb, CORE_ERR_INVALID,
			    "kid %s: A256CTR iv is %zu bytes, want 16", pk->kid,
			    pk->iv_len);
		if ((pt = secret_new(pk->wrapped_len)) == NULL)
			return CORE_ERR_NOMEM;
		c = EVP_CIPHER_CTX_new();
		if (c == NULL ||
		    EVP_DecryptInit_ex(
		        c, EVP_aes_256_ctr(), NULL, kek->ptr, pk->iv) != 1 ||
		    EVP_DecryptUpdate(c, pt->ptr, &ol, pk->wrapped,
		        (int)pk->wrapped_len) != 1)
			err = core_errf(eb, CORE_ERR_CRYPTO,
			    "kid %s: AES-256-CTR failed", pk->kid);
		EVP_CIPHER_CTX_free(c);
	} else {
		return core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "kid %s: unsupported wrap_type \"%s\" (want A256GCM)",
		    pk->kid, pk->wrap_type);
	}
	if (err != CORE_OK) {
		secret_free(pt);
		return err;
	}
	*privopts_out = pt;
	return CORE_OK;
}

enum core_err
ocicrypt_kek_from_bytes(
    const void *p, size_t n, struct secret **out, struct core_errbuf *eb)
{
	const char *s = p;
	uint8_t *dec = NULL;
	size_t declen = 0;
	enum core_err err;

	*out = NULL;
	if (n == OCICRYPT_KEK_LEN) {
		if ((*out = secret_from(p, n)) == NULL)
			return CORE_ERR_NOMEM;
		return CORE_OK;
	}
	while (n > 0 && isspace((unsigned char)s[0])) {
		s++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	if (n == 0 || n > 128)
		return core_errf(eb, CORE_ERR_INVALID,
		    "KEK: want 32 raw bytes or base64 of 32 bytes (got %zu "
		    "bytes)",
		    n);
	if ((err = core_b64_decode(s, n, &dec, &declen, NULL)) != CORE_OK ||
	    declen != OCICRYPT_KEK_LEN) {
		if (dec != NULL)
			core_wipe(dec, declen);
		free(dec);
		return core_errf(eb, CORE_ERR_INVALID,
		    "KEK: want 32 raw bytes or base64 of 32 bytes");
	}
	*out = secret_from(dec, declen);
	core_wipe(dec, declen);
	free(dec);
	return *out != NULL ? CORE_OK : CORE_ERR_NOMEM;
}

enum core_err
ocicrypt_kek_load(const char *path, struct secret **out, struct core_errbuf *eb)
{
	uint8_t *p = NULL;
	size_t n = 0;
	enum core_err err;

	*out = NULL;
	if ((err = core_fs_read(path, 4096, &p, &n, eb)) != CORE_OK)
		return err;
	err = ocicrypt_kek_from_bytes(p, n, out, eb);
	if (err != CORE_OK)
		core_errbuf_prefix(eb, "%s", path);
	core_wipe(p, n);
	free(p);
	return err;
}

static bool
seg_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || (n == 1 && s[0] == '.') ||
	    (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(isalnum(c) || c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

enum core_err
ocicrypt_kid_resource(const char *kid, char **path_out, struct core_errbuf *eb)
{
	const char *p, *segs[4];
	size_t lens[4], nseg = 0, i;
	const char *end;
	char *r;

	*path_out = NULL;
	if (kid == NULL || *kid == '\0' || strlen(kid) > KID_MAX)
		return core_errf(
		    eb, CORE_ERR_INVALID, "kid: empty or too long");
	p = kid;
	if (strncmp(p, "kbs", 3) == 0 &&
	    (strncmp(p + 3, "://", 3) == 0 || p[3] == '+')) {
		p = strstr(p, "://");
		if (p == NULL)
			return core_errf(eb, CORE_ERR_INVALID,
			    "kid \"%s\": want kbs:///repo/type/tag", kid);
		p += 3;
		p += strcspn(p, "/"); /* authority */
		if (*p != '/')
			return core_errf(eb, CORE_ERR_INVALID,
			    "kid \"%s\": no resource path", kid);
	} else if (strstr(p, "://") != NULL) {
		return core_errf(eb, CORE_ERR_INVALID,
		    "kid \"%s\": scheme must be kbs", kid);
	}
	end = p + strcspn(p, "?#");
	/* Bare forms: /repo/type/tag or host/repo/type/tag. */
	if (*p == '/')
		p++;
	while (p < end) {
		size_t n = strcspn(p, "/");

		if (p + n > end)
			n = (size_t)(end - p);
		if (nseg == 4)
			return core_errf(eb, CORE_ERR_INVALID,
			    "kid \"%s\": want exactly /repo/type/tag", kid);
		segs[nseg] = p;
		lens[nseg++] = n;
		p += n;
		if (p < end && *p == '/')
			p++;
	}
	if (nseg == 4 && kid[0] != '/' && strstr(kid, "://") == NULL) {
		/* host/repo/type/tag: drop the host */
		for (i = 0; i < 3; i++) {
			segs[i] = segs[i + 1];
			lens[i] = lens[i + 1];
		}
		nseg = 3;
	}
	if (nseg != 3)
		return core_errf(eb, CORE_ERR_INVALID,
		    "kid \"%s\": want exactly /repo/type/tag", kid);
	for (i = 0; i < 3; i++)
		if (!seg_ok(segs[i], lens[i]))
			return core_errf(eb, CORE_ERR_INVALID,
			    "kid \"%s\": bad path segment", kid);
	if ((r = malloc(lens[0] + lens[1] + lens[2] + 3)) == NULL)
		return CORE_ERR_NOMEM;
	snprintf(r, lens[0] + lens[1] + lens[2] + 3, "%.*s/%.*s/%.*s",
	    (int)lens[0], segs[0], (int)lens[1], segs[1], (int)lens[2],
	    segs[2]);
	*path_out = r;
	return CORE_OK;
}
