/*
 * tsm.c -- the configfs-tsm report interface (spec tee-evidence.md
 * section 2): one entry per request, the generation counter checked around
 * every write, EBUSY/EINTR retried, every size bounded.
 */
#include "tee/tee.h"
#include "tee/tee_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TSM_OUTBLOB_MAX (32 * 1024)
#define TSM_AUXBLOB_MAX (64 * 1024)
#define TSM_ATTR_MAX 64

/*
 * Fault injection for tests (NULL in production): the read() used for
 * every attribute, and a callback after the entry is created and after
 * each attribute write, which a test uses to play the kernel's part
 * (populate attributes, bump the generation, produce the outblob).
 */
STATIC ssize_t (*tee_tsm_read_fn)(int fd, void *buf, size_t n);
STATIC void (*tee_tsm_event_fn)(const char *entry, const char *event);

static pthread_mutex_t tsm_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned tsm_counter;

static ssize_t
tsm_read(int fd, void *buf, size_t n)
{
	if (tee_tsm_read_fn != NULL)
		return tee_tsm_read_fn(fd, buf, n);
	return read(fd, buf, n);
}

static void
tsm_event(const char *entry, const char *event)
{
	if (tee_tsm_event_fn != NULL)
		tee_tsm_event_fn(entry, event);
}

char *
tee_root_path(const char *root, const char *path)
{
	size_t rl;
	char *out;

	if (root == NULL || root[0] == '\0' || strcmp(root, "/") == 0)
		return strdup(path);
	rl = strlen(root);
	while (rl > 1 && root[rl - 1] == '/')
		rl--;
	out = malloc(rl + strlen(path) + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, root, rl);
	memcpy(out + rl, path, strlen(path) + 1);
	return out;
}

bool
tee_is_real_root(const char *root)
{
	return root == NULL || root[0] == '\0' || strcmp(root, "/") == 0;
}

/*
 * Reads an attribute to EOF into a malloc'd buffer of at most max bytes.
 * EBUSY/EAGAIN come back as CORE_ERR_STATE so the caller can retry;
 * ETIMEDOUT as CORE_ERR_TIMEOUT.
 */
static enum core_err
tsm_read_attr(const char *dir, const char *attr, size_t max, uint8_t **out,
    size_t *len, struct core_errbuf *eb)
{
	char *path = core_path_join(dir, attr);
	uint8_t *buf = NULL;
	size_t used = 0;
	enum core_err err;
	int fd = -1;

	*out = NULL;
	*len = 0;
	if (path == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "path");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = core_errf_errno(eb, errno == ENOENT ? CORE_ERR_NOT_FOUND :
		    CORE_ERR_IO, "configfs-tsm: open %s", attr);
		goto out;
	}
	buf = malloc(max + 1);
	if (buf == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "%s buffer", attr);
		goto out;
	}
	for (;;) {
		ssize_t r;

		if (used == max) {
			/* One more byte tells "exactly max" from "too big". */
			uint8_t extra;

			r = tsm_read(fd, &extra, 1);
			if (r > 0) {
				err = core_errf(eb, CORE_ERR_TOO_BIG,
				    "configfs-tsm: %s exceeds %zu bytes", attr,
				    max);
				goto out;
			}
		} else {
			r = tsm_read(fd, buf + used, max - used);
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			err = core_errf_errno(eb, e == EBUSY || e == EAGAIN ?
			    CORE_ERR_STATE : e == ETIMEDOUT ? CORE_ERR_TIMEOUT :
			    CORE_ERR_IO, "configfs-tsm: read %s", attr);
			goto out;
		}
		if (r == 0)
			break;
		used += (size_t)r;
	}
	buf[used] = '\0';
	*out = buf;
	*len = used;
	buf = NULL;
	err = CORE_OK;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(path);
	return err;
}

static enum core_err
tsm_read_text(const char *dir, const char *attr, char *out, size_t outlen,
    struct core_errbuf *eb)
{
	uint8_t *p = NULL;
	size_t n = 0;
	enum core_err err;

	err = tsm_read_attr(dir, attr, TSM_ATTR_MAX, &p, &n, eb);
	if (err != CORE_OK)
		return err;
	while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == ' '))
		n--;
	if (n == 0 || n >= outlen || memchr(p, '\0', n) != NULL) {
		free(p);
		return core_errf(eb, CORE_ERR_INVALID,
		    "configfs-tsm: %s is empty or malformed", attr);
	}
	memcpy(out, p, n);
	out[n] = '\0';
	free(p);
	return CORE_OK;
}

static enum core_err
tsm_read_generation(const char *dir, uint64_t *gen, struct core_errbuf *eb)
{
	char txt[32];
	int64_t v;
	enum core_err err;

	err = tsm_read_text(dir, "generation", txt, sizeof(txt), eb);
	if (err != CORE_OK)
		return err;
	if (core_parse_int(txt, 0, INT64_MAX, &v) != CORE_OK)
		return core_errf(eb, CORE_ERR_INVALID,
		    "configfs-tsm: generation \"%s\" is not a number", txt);
	*gen = (uint64_t)v;
	return CORE_OK;
}

/* One write() of exactly n bytes; a short write is an error. */
static enum core_err
tsm_write_attr(const char *dir, const char *attr, const void *p, size_t n,
    struct core_errbuf *eb)
{
	char *path = core_path_join(dir, attr);
	enum core_err err = CORE_OK;
	ssize_t w;
	int fd;

	if (path == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "path");
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		err = core_errf_errno(eb, CORE_ERR_IO, "configfs-tsm: open %s",
		    attr);
		free(path);
		return err;
	}
	/* Serialize with other processes, as Intel's tdx_attest does. */
	if (flock(fd, LOCK_EX) != 0) {
		err = core_errf_errno(eb, CORE_ERR_IO,
		    "configfs-tsm: flock %s", attr);
		goto out;
	}
	do {
		w = write(fd, p, n);
	} while (w < 0 && errno == EINTR);
	if (w < 0) {
		err = core_errf_errno(eb, errno == EBUSY ? CORE_ERR_STATE :
		    CORE_ERR_IO, "configfs-tsm: write %s", attr);
		goto out;
	}
	if ((size_t)w != n) {
		err = core_errf(eb, CORE_ERR_IO,
		    "configfs-tsm: short write to %s (%zd of %zu bytes)", attr,
		    w, n);
		goto out;
	}
	tsm_event(dir, attr);
out:
	close(fd);
	free(path);
	return err;
}

/* Creates a uniquely named entry; *entry is malloc'd. */
static enum core_err
tsm_mkdir(const char *root, char **entry, struct core_errbuf *eb)
{
	char *base = tee_root_path(root, "/sys/kernel/config/tsm/report");
	char name[64];
	enum core_err err = CORE_OK;

	*entry = NULL;
	if (base == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "path");
	if (!core_fs_exists(base)) {
		err = core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "configfs-tsm: %s missing (kernel < 6.7 or configfs not "
		    "mounted)", "/sys/kernel/config/tsm/report");
		goto out;
	}
	snprintf(name, sizeof(name), "propeller-%ld-%u-%ld", (long)getpid(),
	    __atomic_add_fetch(&tsm_counter, 1, __ATOMIC_SEQ_CST),
	    (long)(core_mono_ns() % 1000000));
	*entry = core_path_join(base, name);
	if (*entry == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "path");
		goto out;
	}
	if (mkdir(*entry, 0700) != 0) {
		int e = errno;

		err = core_errf_errno(eb, e == ENXIO ? CORE_ERR_UNSUPPORTED :
		    CORE_ERR_IO, "configfs-tsm: mkdir report entry%s",
		    e == ENXIO ? " (no TSM provider)" : "");
		free(*entry);
		*entry = NULL;
		goto out;
	}
	tsm_event(*entry, "mkdir");
out:
	free(base);
	return err;
}

enum core_err
tee_tsm_probe_provider(const char *root, char *provider, size_t len,
    struct core_errbuf *eb)
{
	char *entry = NULL;
	enum core_err err;

	pthread_mutex_lock(&tsm_lock);
	err = tsm_mkdir(root, &entry, eb);
	if (err == CORE_OK) {
		err = tsm_read_text(entry, "provider", provider, len, eb);
		rmdir(entry);
	}
	pthread_mutex_unlock(&tsm_lock);
	free(entry);
	return err;
}

void
tee_tsm_report_cleanup(struct tee_tsm_report *r)
{
	if (r == NULL)
		return;
	free(r->outblob);
	free(r->auxblob);
	memset(r, 0, sizeof(*r));
}

static bool
tsm_has_attr(const char *entry, const char *attr)
{
	char *p = core_path_join(entry, attr);
	bool ok = p != NULL && core_fs_exists(p);

	free(p);
	return ok;
}

/* One attempt of the section 2 procedure inside an existing entry. */
static enum core_err
tsm_attempt(const char *entry, const char *want_provider,
    const uint8_t report_data[TEE_REPORT_DATA_LEN], int vmpl,
    struct tee_tsm_report *out, struct core_errbuf *eb)
{
	uint64_t g0, g1, g2;
	unsigned writes = 0;
	enum core_err err;
	char *aux_path = NULL;

	if ((err = tsm_read_text(entry, "provider", out->provider,
	    sizeof(out->provider), eb)))
		return err;
	if (want_provider != NULL && strcmp(out->provider, want_provider) != 0)
		return core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "configfs-tsm: provider is %s, not %s", out->provider,
		    want_provider);
	if ((err = tsm_read_generation(entry, &g0, eb)))
		return err;
	if (vmpl >= 0 && strcmp(out->provider, "sev_guest") == 0 &&
	    !tsm_has_attr(entry, "privlevel")) {
		/* Kernels before privlevel existed report at VMPL 0 only. */
		if (vmpl > 0)
			return core_errf(eb, CORE_ERR_UNSUPPORTED,
			    "configfs-tsm: no privlevel attribute for VMPL %d",
			    vmpl);
	} else if (vmpl >= 0 && strcmp(out->provider, "sev_guest") == 0) {
		char lvl[16], floor_txt[16];
		int64_t floor = 0;

		if (tsm_has_attr(entry, "privlevel_floor")) {
			if ((err = tsm_read_text(entry, "privlevel_floor",
			    floor_txt, sizeof(floor_txt), eb)))
				return err;
			if (core_parse_int(floor_txt, 0, 3, &floor) != CORE_OK)
				return core_errf(eb, CORE_ERR_INVALID,
				    "configfs-tsm: privlevel_floor \"%s\"",
				    floor_txt);
			if (vmpl < floor)
				return core_errf(eb, CORE_ERR_INVALID,
				    "configfs-tsm: VMPL %d is below "
				    "privlevel_floor %lld", vmpl,
				    (long long)floor);
		}
		snprintf(lvl, sizeof(lvl), "%d", vmpl);
		if ((err = tsm_write_attr(entry, "privlevel", lvl, strlen(lvl),
		    eb)))
			return err;
		writes++;
	}
	if ((err = tsm_write_attr(entry, "inblob", report_data,
	    TEE_REPORT_DATA_LEN, eb)))
		return err;
	writes++;
	if ((err = tsm_read_generation(entry, &g1, eb)))
		return err;
	if (g1 != g0 + writes)
		return core_errf(eb, CORE_ERR_STATE,
		    "configfs-tsm: generation %llu after %u writes from %llu: "
		    "a concurrent writer interfered",
		    (unsigned long long)g1, writes, (unsigned long long)g0);
	if ((err = tsm_read_attr(entry, "outblob", TSM_OUTBLOB_MAX,
	    &out->outblob, &out->outblob_len, eb)))
		return err;
	if (out->outblob_len == 0)
		return core_errf(eb, CORE_ERR_IO, "configfs-tsm: empty outblob");
	aux_path = core_path_join(entry, "auxblob");
	if (aux_path == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "path");
	if (core_fs_exists(aux_path)) {
		err = tsm_read_attr(entry, "auxblob", TSM_AUXBLOB_MAX,
		    &out->auxblob, &out->auxblob_len, eb);
		if (err != CORE_OK) {
			free(aux_path);
			return err;
		}
	}
	free(aux_path);
	if ((err = tsm_read_generation(entry, &g2, eb)))
		return err;
	if (g2 != g1)
		return core_errf(eb, CORE_ERR_STATE,
		    "configfs-tsm: generation moved from %llu to %llu while "
		    "reading: a concurrent writer interfered",
		    (unsigned long long)g1, (unsigned long long)g2);
	return CORE_OK;
}

enum core_err
tee_tsm_get_report(const char *root, const char *want_provider,
    const uint8_t report_data[TEE_REPORT_DATA_LEN], int vmpl,
    const struct tee_attest_opts *opts, struct tee_tsm_report *out,
    struct core_errbuf *eb)
{
	int retries = opts != NULL && opts->retries > 0 ? opts->retries : 3;
	int64_t wait_ms = opts != NULL && opts->busy_wait_ms > 0 ?
	    opts->busy_wait_ms : 100;
	enum core_err err = CORE_ERR_STATE;

	if (out == NULL || report_data == NULL)
		return core_errf(eb, CORE_ERR_INVALID, "configfs-tsm: no output");
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&tsm_lock);
	for (int attempt = 0; attempt <= retries; attempt++) {
		char *entry = NULL;

		if (attempt > 0) {
			struct timespec ts = { wait_ms / 1000,
				(wait_ms % 1000) * 1000000 };

			nanosleep(&ts, NULL);
			core_errbuf_clear(eb);
		}
		err = tsm_mkdir(root, &entry, eb);
		if (err != CORE_OK)
			break;
		err = tsm_attempt(entry, want_provider, report_data, vmpl, out,
		    eb);
		rmdir(entry); /* best effort; configfs frees the entry */
		free(entry);
		if (err == CORE_OK)
			break;
		tee_tsm_report_cleanup(out);
		/* Retry only races and busy devices. */
		if (err != CORE_ERR_STATE)
			break;
	}
	pthread_mutex_unlock(&tsm_lock);
	if (err == CORE_ERR_STATE)
		core_errbuf_prefix(eb, "gave up after %d attempts", retries + 1);
	return err;
}
