/*
 * cipher.c -- AES_256_CTR_HMAC_SHA256: ciphertext-only blobs, HMAC-SHA256
 * keyed with the layer key over the whole ciphertext, verified before any
 * plaintext leaves.
 */
#include "ocicrypt/ocicrypt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#define CIPHER_CHUNK (64 * 1024)

struct layer_mac {
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;
};

static enum core_err
mac_init(struct layer_mac *m, const uint8_t *key, size_t klen,
    struct core_errbuf *eb)
{
	OSSL_PARAM params[2];
	char digest[] = "SHA256";

	memset(m, 0, sizeof(*m));
	params[0] =
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((m->mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (m->ctx = EVP_MAC_CTX_new(m->mac)) == NULL ||
	    EVP_MAC_init(m->ctx, key, klen, params) != 1)
		return core_errf(
		    eb, CORE_ERR_CRYPTO, "HMAC-SHA256 init failed");
	return CORE_OK;
}

static void
mac_cleanup(struct layer_mac *m)
{
	EVP_MAC_CTX_free(m->ctx);
	EVP_MAC_free(m->mac);
	memset(m, 0, sizeof(*m));
}

/*
 * Reads a layer source in windows: memory is used in place; an fd is
 * mapped WIN_BYTES at a time (so bytes are not copied and the mapped pages
 * leave the RSS again at munmap), with pread as the fallback for fds that
 * cannot be mapped.
 */
#define WIN_BYTES (8u * 1024 * 1024)

struct win {
	const struct oci_blob_src *src;
	uint8_t *map; /* current mapping or NULL */
	size_t map_off;
	size_t map_len;
	bool no_mmap;
};

static void
win_close(struct win *w)
{
	if (w->map != NULL)
		munmap(w->map, w->map_len);
	w->map = NULL;
}

/* Points *data at up to want bytes at off (buf is the pread fallback). */
static enum core_err
src_read(struct win *w, size_t off, uint8_t *buf, size_t want,
    const uint8_t **data, size_t *got, struct core_errbuf *eb)
{
	const struct oci_blob_src *src = w->src;
	ssize_t r;

	if (src->fd < 0) {
		*data = src->mem + off;
		*got = want;
		return CORE_OK;
	}
	if (!w->no_mmap) {
		if (w->map == NULL || off < w->map_off ||
		    off >= w->map_off + w->map_len) {
			void *m;

			win_close(w);
			w->map_off = off & ~((size_t)WIN_BYTES - 1);
			w->map_len = src->len - w->map_off < WIN_BYTES
			    ? src->len - w->map_off
			    : WIN_BYTES;
			m = mmap(NULL, w->map_len, PROT_READ,
			    MAP_SHARED | MAP_POPULATE, src->fd,
			    (off_t)w->map_off);
			if (m == MAP_FAILED) {
				w->no_mmap = true;
			} else {
				w->map = m;
				madvise(m, w->map_len, MADV_SEQUENTIAL);
			}
		}
		if (w->map != NULL) {
			size_t left = w->map_off + w->map_len - off;

			*data = w->map + (off - w->map_off);
			*got = want < left ? want : left;
			return CORE_OK;
		}
	}
	do {
		r = pread(src->fd, buf, want, (off_t)off);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return core_errf_errno(eb, CORE_ERR_IO, "read layer");
	if (r == 0)
		return core_errf(eb, CORE_ERR_IO,
		    "layer: unexpected end of data at byte %zu of %zu", off,
		    src->len);
	*data = buf;
	*got = (size_t)r;
	return CORE_OK;
}

enum core_err
ocicrypt_layer_encrypt(const struct oci_blob_src *src, const char *src_digest,
    oci_sink_fn sink, void *ctx, struct ocicrypt_privopts *priv_out,
    struct ocicrypt_pubopts *pub_out, char ct_digest[OCI_DIGEST_LEN + 1],
    struct core_errbuf *eb)
{
	EVP_CIPHER_CTX *cc = NULL;
	struct layer_mac m = {0};
	struct oci_hasher *h = NULL;
	uint8_t *in = NULL, *outb = NULL;
	size_t off = 0, maclen = 0;
	enum core_err err = CORE_OK;
	struct win w = {src, NULL, 0, 0, false};
	int olen;

	memset(priv_out, 0, sizeof(*priv_out));
	memset(pub_out, 0, sizeof(*pub_out));
	if ((priv_out->symkey = secret_new(OCICRYPT_SYMKEY_LEN)) == NULL ||
	    (priv_out->digest = strdup(src_digest != NULL ? src_digest : "")) ==
	        NULL ||
	    (pub_out->cipher = strdup(OCICRYPT_CIPHER)) == NULL ||
	    (in = malloc(CIPHER_CHUNK)) == NULL ||
	    (outb = malloc(CIPHER_CHUNK)) == NULL ||
	    (h = oci_hasher_new()) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	if ((err = core_random(
	         priv_out->symkey->ptr, OCICRYPT_SYMKEY_LEN, eb)) != CORE_OK ||
	    (err = core_random(priv_out->nonce, OCICRYPT_NONCE_LEN, eb)) !=
	        CORE_OK)
		goto out;
	priv_out->has_nonce = true;
	if ((err = mac_init(&m, priv_out->symkey->ptr, OCICRYPT_SYMKEY_LEN,
	         eb)) != CORE_OK)
		goto out;
	if ((cc = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(cc, EVP_aes_256_ctr(), NULL,
	        priv_out->symkey->ptr, priv_out->nonce) != 1) {
		err = core_errf(eb, CORE_ERR_CRYPTO, "AES-256-CTR init failed");
		goto out;
	}
	while (off < src->len) {
		const uint8_t *d;
		size_t want = src->len - off, got;

		if (want > CIPHER_CHUNK)
			want = CIPHER_CHUNK;
		if ((err = src_read(&w, off, in, want, &d, &got, eb)) !=
		    CORE_OK)
			goto out;
		if (EVP_EncryptUpdate(cc, outb, &olen, d, (int)got) != 1 ||
		    (size_t)olen != got) {
			err = core_errf(
			    eb, CORE_ERR_CRYPTO, "AES-256-CTR failed");
			goto out;
		}
		EVP_MAC_update(m.ctx, outb, got);
		oci_hasher_update(h, outb, got);
		if ((err = sink(ctx, outb, got)) != CORE_OK)
			goto out;
		off += got;
	}
	if (EVP_MAC_final(
	        m.ctx, pub_out->hmac, &maclen, sizeof(pub_out->hmac)) != 1 ||
	    maclen != OCICRYPT_HMAC_LEN) {
		err = core_errf(eb, CORE_ERR_CRYPTO, "HMAC-SHA256 failed");
		goto out;
	}
	pub_out->hmac_len = maclen;
	oci_hasher_final(h, ct_digest);
out:
	win_close(&w);
	if (in != NULL)
		core_wipe(in, CIPHER_CHUNK);
	free(in);
	free(outb);
	EVP_CIPHER_CTX_free(cc);
	mac_cleanup(&m);
	oci_hasher_free(h);
	if (err != CORE_OK) {
		ocicrypt_privopts_cleanup(priv_out);
		ocicrypt_pubopts_cleanup(pub_out);
	}
	return err;
}

enum core_err
ocicrypt_layer_decrypt(const struct oci_blob_src *ct, const char *want_digest,
    const struct ocicrypt_privopts *priv, const struct ocicrypt_pubopts *pub,
    oci_sink_fn sink, void *ctx, struct core_errbuf *eb)
{
	EVP_CIPHER_CTX *cc = NULL;
	struct layer_mac m = {0};
	struct oci_hasher *h = NULL;
	uint8_t *in = NULL, *outb = NULL;
	uint8_t mac[EVP_MAX_MD_SIZE];
	const uint8_t *nonce;
	size_t off, maclen = 0;
	enum core_err err = CORE_OK;
	char got_digest[OCI_DIGEST_LEN + 1];
	struct win w = {ct, NULL, 0, 0, false};
	int olen;

	if (pub->cipher == NULL || strcmp(pub->cipher, OCICRYPT_CIPHER) != 0)
		return core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "layer cipher \"%s\" is not supported (want %s)",
		    pub->cipher != NULL ? pub->cipher : "", OCICRYPT_CIPHER);
	if (priv->symkey == NULL || priv->symkey->len != OCICRYPT_SYMKEY_LEN)
		return core_errf(eb, CORE_ERR_INVALID,
		    "layer key is %zu bytes, want %d",
		    priv->symkey != NULL ? priv->symkey->len : 0,
		    OCICRYPT_SYMKEY_LEN);
	if (pub->has_nonce)
		nonce = pub->nonce;
	else if (priv->has_nonce)
		nonce = priv->nonce;
	else
		return core_errf(eb, CORE_ERR_INVALID,
		    "layer options carry no 16-byte nonce");
	if (pub->hmac_len != OCICRYPT_HMAC_LEN)
		return core_errf(eb, CORE_ERR_INVALID,
		    "HMAC is not provided for decryption");
	if (want_digest != NULL && !oci_digest_valid(want_digest))
		return core_errf(eb, CORE_ERR_INVALID,
		    "layer digest \"%s\" is not sha256:<64 hex>", want_digest);
	if ((in = malloc(CIPHER_CHUNK)) == NULL ||
	    (outb = malloc(CIPHER_CHUNK)) == NULL ||
	    (want_digest != NULL && (h = oci_hasher_new()) == NULL)) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	/* Pass 1: digest and HMAC over the whole ciphertext. */
	if ((err = mac_init(&m, priv->symkey->ptr, OCICRYPT_SYMKEY_LEN, eb)) !=
	    CORE_OK)
		goto out;
	for (off = 0; off < ct->len;) {
		const uint8_t *d;
		size_t want = ct->len - off, got;

		if (want > CIPHER_CHUNK)
			want = CIPHER_CHUNK;
		if ((err = src_read(&w, off, in, want, &d, &got, eb)) !=
		    CORE_OK)
			goto out;
		EVP_MAC_update(m.ctx, d, got);
		if (h != NULL)
			oci_hasher_update(h, d, got);
		off += got;
	}
	if (h != NULL) {
		oci_hasher_final(h, got_digest);
		if (strcmp(got_digest, want_digest) != 0) {
			err = core_errf(eb, CORE_ERR_AUTH,
			    "layer %s: digest mismatch: content hashes to %s",
			    want_digest, got_digest);
			goto out;
		}
	}
	if (EVP_MAC_final(m.ctx, mac, &maclen, sizeof(mac)) != 1 ||
	    maclen != OCICRYPT_HMAC_LEN) {
		err = core_errf(eb, CORE_ERR_CRYPTO, "HMAC-SHA256 failed");
		goto out;
	}
	if (!core_ct_equal(mac, pub->hmac, OCICRYPT_HMAC_LEN)) {
		err = core_errf(eb, CORE_ERR_AUTH,
		    "layer HMAC mismatch: the ciphertext or the layer key is "
		    "wrong; no plaintext released");
		goto out;
	}
	/* Pass 2: only verified bytes are decrypted. */
	if ((cc = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_DecryptInit_ex(
	        cc, EVP_aes_256_ctr(), NULL, priv->symkey->ptr, nonce) != 1) {
		err = core_errf(eb, CORE_ERR_CRYPTO, "AES-256-CTR init failed");
		goto out;
	}
	for (off = 0; off < ct->len;) {
		const uint8_t *d;
		size_t want = ct->len - off, got;

		if (want > CIPHER_CHUNK)
			want = CIPHER_CHUNK;
		if ((err = src_read(&w, off, in, want, &d, &got, eb)) !=
		    CORE_OK)
			goto out;
		if (EVP_DecryptUpdate(cc, outb, &olen, d, (int)got) != 1 ||
		    (size_t)olen != got) {
			err = core_errf(
			    eb, CORE_ERR_CRYPTO, "AES-256-CTR failed");
			goto out;
		}
		if ((err = sink(ctx, outb, got)) != CORE_OK)
			goto out;
		off += got;
	}
out:
	win_close(&w);
	if (outb != NULL)
		core_wipe(outb, CIPHER_CHUNK);
	free(in);
	free(outb);
	EVP_CIPHER_CTX_free(cc);
	mac_cleanup(&m);
	oci_hasher_free(h);
	return err;
}
