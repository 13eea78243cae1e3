/*
 * bench_ocicrypt.c -- decrypt + verify of one large ocicrypt layer, against
 * an HMAC-SHA256 pass and an AES-256-CTR pass over the same bytes.
 *
 * usage: bench_ocicrypt [MiB] [runs]   (default 256 MiB, 3 runs)
 * The ciphertext sits in a memfd (memory-backed, like the proplet's spool);
 * ocicrypt_layer_decrypt reads it twice (HMAC, then CTR) through 8 MiB
 * mmap windows in 64 KiB steps and writes plaintext to /dev/null; the
 * reference passes read the same way. Prints medians in MB/s
 * (10^6 bytes) and the peak RSS.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "ocicrypt/ocicrypt.h"

#define CHUNK (64 * 1024)

static int devnull = -1;

/*
 * Process CPU time (user + system), as `openssl speed` measures by default:
 * the machine is shared, and wall time would mostly measure the neighbours.
 */
static int64_t
cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static enum core_err
null_sink(void *ctx, const void *p, size_t n)
{
	(void)ctx;
	return core_write_all(devnull, p, n);
}

static enum core_err
fd_sink(void *ctx, const void *p, size_t n)
{
	return core_write_all(*(int *)ctx, p, n);
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return v[n / 2];
}

#define WIN (8u << 20)

/* Maps the memfd window holding off (8 MiB windows, as the decryptor). */
static const uint8_t *
win_at(
    int fd, size_t len, size_t off, uint8_t **map, size_t *moff, size_t *mlen)
{
	if (*map == NULL || off < *moff || off >= *moff + *mlen) {
		if (*map != NULL)
			munmap(*map, *mlen);
		*moff = off & ~((size_t)WIN - 1);
		*mlen = len - *moff < WIN ? len - *moff : WIN;
		*map = mmap(NULL, *mlen, PROT_READ, MAP_SHARED | MAP_POPULATE,
		    fd, (off_t)*moff);
		if (*map == MAP_FAILED)
			abort();
	}
	return *map + (off - *moff);
}

/* One HMAC-SHA256 pass over the memfd, same windows and chunks as the
 * decryptor (no copies). */
static double
hmac_pass(int fd, size_t len, const uint8_t *key)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *c = EVP_MAC_CTX_new(mac);
	OSSL_PARAM params[2];
	char dg[] = "SHA256";
	uint8_t out[32], *map = NULL;
	size_t off, ol, moff = 0, mlen = 0;
	int64_t t0;

	params[0] =
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, dg, 0);
	params[1] = OSSL_PARAM_construct_end();
	t0 = cpu_ns();
	EVP_MAC_init(c, key, 32, params);
	for (off = 0; off < len; off += CHUNK) {
		size_t n = len - off < CHUNK ? len - off : CHUNK;

		EVP_MAC_update(c, win_at(fd, len, off, &map, &moff, &mlen), n);
	}
	EVP_MAC_final(c, out, &ol, sizeof(out));
	t0 = cpu_ns() - t0;
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(mac);
	munmap(map, mlen);
	return (double)len / ((double)t0 / 1e9) / 1e6;
}

/* One AES-256-CTR pass over the memfd to /dev/null. */
static double
ctr_pass(int fd, size_t len, const uint8_t *key, const uint8_t *iv)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t *out = malloc(CHUNK), *map = NULL;
	size_t off, moff = 0, mlen = 0;
	int ol;
	int64_t t0 = cpu_ns();

	EVP_DecryptInit_ex(c, EVP_aes_256_ctr(), NULL, key, iv);
	for (off = 0; off < len; off += CHUNK) {
		size_t n = len - off < CHUNK ? len - off : CHUNK;

		EVP_DecryptUpdate(c, out, &ol,
		    win_at(fd, len, off, &map, &moff, &mlen), (int)n);
		if (core_write_all(devnull, out, n) != CORE_OK)
			abort();
	}
	t0 = cpu_ns() - t0;
	EVP_CIPHER_CTX_free(c);
	munmap(map, mlen);
	free(out);
	return (double)len / ((double)t0 / 1e9) / 1e6;
}

int
main(int argc, char **argv)
{
	size_t mib = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 256;
	int runs = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 3, i;
	size_t len = mib << 20, off;
	int pfd, cfd;
	uint8_t *buf;
	struct ocicrypt_privopts priv;
	struct ocicrypt_pubopts pub;
	struct oci_blob_src src;
	char dg[OCI_DIGEST_LEN + 1];
	double dec[16], decd[16], hm[16], ct[16];
	struct rusage ru;
	struct core_errbuf eb;

	if (runs < 1 || runs > 16 || mib == 0)
		return 2;
	devnull = open("/dev/null", O_WRONLY);
	pfd = memfd_create("plain", 0);
	cfd = memfd_create("cipher", 0);
	buf = malloc(CHUNK);
	for (off = 0; off < len; off += CHUNK) {
		core_random(buf, CHUNK, NULL);
		core_write_all(pfd, buf, CHUNK);
	}
	free(buf);
	src.fd = pfd;
	src.mem = NULL;
	src.len = len;
	if (ocicrypt_layer_encrypt(
	        &src, "", fd_sink, &cfd, &priv, &pub, dg, NULL) != CORE_OK)
		return 1;
	close(pfd); /* free the plaintext memfd */
	src.fd = cfd;
	for (i = 0; i < runs; i++) {
		int64_t t0 = cpu_ns();

		core_errbuf_clear(&eb);
		if (ocicrypt_layer_decrypt(&src, NULL, &priv, &pub, null_sink,
		        NULL, &eb) != CORE_OK) {
			fprintf(stderr, "decrypt: %s\n", core_errbuf_msg(&eb));
			return 1;
		}
		dec[i] = (double)len / ((double)(cpu_ns() - t0) / 1e9) / 1e6;
		t0 = cpu_ns();
		if (ocicrypt_layer_decrypt(
		        &src, dg, &priv, &pub, null_sink, NULL, &eb) != CORE_OK)
			return 1;
		decd[i] = (double)len / ((double)(cpu_ns() - t0) / 1e9) / 1e6;
		hm[i] = hmac_pass(cfd, len, priv.symkey->ptr);
		ct[i] = ctr_pass(cfd, len, priv.symkey->ptr, priv.nonce);
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("layer_mib=%zu runs=%d\n", mib, runs);
	printf("decrypt_verify_mbps=%.0f\n", median(dec, runs));
	printf("decrypt_verify_with_sha256_mbps=%.0f\n", median(decd, runs));
	printf("hmac_sha256_pass_mbps=%.0f\n", median(hm, runs));
	printf("aes256ctr_pass_mbps=%.0f\n", median(ct, runs));
	printf("peak_rss_kib=%ld\n", ru.ru_maxrss);
	ocicrypt_privopts_cleanup(&priv);
	ocicrypt_pubopts_cleanup(&pub);
	close(cfd);
	return 0;
}
