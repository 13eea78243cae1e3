/*
 * vault.c -- the vault child: the only process that holds the EAR token
 * signing key and reads or writes resources (STYLE.md rule 11).
 *
 * The HTTP process forks it at startup and talks to it over a socketpair
 * with fixed messages: a 16-byte header (type, payload length, request id)
 * and a payload whose length is checked exactly per type. Replies carry the
 * request id. Any malformed message or unknown type ends the child. There
 * is one socketpair (channel) per HTTP worker thread, each with at most one
 * request in flight; the child stays one single-threaded process and serves
 * whichever channels poll() finds ready.
 *
 * Layout under the data directory:
 *   token-key.pem                          EC P-256 signing key (0600)
 *   resources/<repo>/<type>/<tag>          raw resource bytes (0600)
 */
#include "kbs/kbs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * Resources recently read, so a GET costs one stat() instead of opening
 * and reading the file. An entry is used only while the file's identity,
 * size and times are what they were when it was read, so replacing or
 * editing a file on disk (even behind the KBS's back) is seen at once.
 */
#define VAULT_CACHE_SLOTS 64
#define VAULT_CACHE_MAX_BYTES (1024 * 1024) /* larger ones are not kept */

struct vault_cached {
	char *path;           /* owned; the resource path, NULL if free */
	struct secret *data;  /* owned; secret */
	struct stat st;       /* of the file when data was read */
};

struct vault_core {
	char *dir;            /* owned */
	char *res_dir;        /* owned: <dir>/resources */
	struct crypto_key *key; /* owned; secret: the token signing key */
	struct crypto_signer *signer; /* owned; ES256 with key */
	json_t *token_hdr;    /* owned; {"typ","alg","jwk"} */
	char *token_header;   /* owned; token_hdr serialized */
	struct vault_cached cache[VAULT_CACHE_SLOTS]; /* owned */
	size_t cache_next;    /* next slot to reuse */
};

static enum core_err
core_token_key(struct vault_core *v, struct core_errbuf *eb)
{
	char *pem = NULL;
	char *path = core_path_join(v->dir, "token-key.pem");
	json_t *jwk = NULL, *hdr = NULL;
	enum core_err err;

	if (path == NULL)
		return CORE_ERR_NOMEM;
	if (core_fs_exists(path)) {
		err = kbs_key_read(path, true, &v->key, eb);
		if (err == CORE_OK && crypto_key_type(v->key) !=
		    CRYPTO_KEY_EC_P256)
			err = core_errf(eb, CORE_ERR_INVALID,
			    "%s: not an EC P-256 key", path);
	} else {
		err = crypto_key_generate(CRYPTO_KEY_EC_P256, 0, &v->key, eb);
		if (err == CORE_OK)
			err = crypto_key_to_pem(v->key, true, &pem, eb);
		if (err == CORE_OK)
			err = core_fs_write_atomic(path, pem, strlen(pem),
			    0600, eb);
	}
	if (err == CORE_OK)
		err = crypto_signer_new(v->key, "ES256", &v->signer, eb);
	if (err == CORE_OK)
		err = kbs_pub_jwk(v->key, "ES256", &jwk, eb);
	if (err == CORE_OK) {
		hdr = json_pack("{s:s,s:s,s:O}", "typ", "JWT", "alg", "ES256",
		    "jwk", jwk);
		v->token_header = hdr ? core_json_dumps(hdr) : NULL;
		if (v->token_header == NULL)
			err = CORE_ERR_NOMEM;
		v->token_hdr = hdr;
		hdr = NULL;
	}
	json_decref(jwk);
	json_decref(hdr);
	if (pem != NULL) {
		core_wipe(pem, strlen(pem));
		free(pem);
	}
	free(path);
	return err;
}

static void
cache_drop(struct vault_cached *c)
{
	free(c->path);
	secret_free(c->data);
	memset(c, 0, sizeof(*c));
}

static struct vault_cached *
cache_find(struct vault_core *v, const char *path)
{
	for (size_t i = 0; i < VAULT_CACHE_SLOTS; i++) {
		if (v->cache[i].path != NULL &&
		    strcmp(v->cache[i].path, path) == 0)
			return &v->cache[i];
	}
	return NULL;
}

static bool
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Keeps a copy of what was read (best effort: no error if not). */
static void
cache_put(struct vault_core *v, const char *path, const struct stat *st,
    const uint8_t *p, size_t n)
{
	struct vault_cached *c = cache_find(v, path);

	if (n > VAULT_CACHE_MAX_BYTES)
		return;
	if (c == NULL) {
		c = &v->cache[v->cache_next];
		v->cache_next = (v->cache_next + 1) % VAULT_CACHE_SLOTS;
	}
	cache_drop(c);
	c->path = strdup(path);
	c->data = n ? secret_from(p, n) : secret_new(1);
	if (c->path == NULL || c->data == NULL) {
		cache_drop(c);
		return;
	}
	c->data->len = n;
	c->st = *st;
}

static void
vault_core_free(struct vault_core *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < VAULT_CACHE_SLOTS; i++)
		cache_drop(&v->cache[i]);
	crypto_signer_free(v->signer);
	crypto_key_free(v->key);
	json_decref(v->token_hdr);
	free(v->token_header);
	free(v->dir);
	free(v->res_dir);
	free(v);
}

static enum core_err
vault_core_open(const char *dir, struct vault_core **out,
    struct core_errbuf *eb)
{
	struct vault_core *v = calloc(1, sizeof(*v));
	enum core_err err;

	*out = NULL;
	if (v == NULL)
		return CORE_ERR_NOMEM;
	v->dir = strdup(dir);
	v->res_dir = core_path_join(dir, "resources");
	if (v->dir == NULL || v->res_dir == NULL) {
		err = CORE_ERR_NOMEM;
		goto fail;
	}
	err = core_fs_mkdirs(v->res_dir, 0700, eb);
	if (err == CORE_OK)
		err = core_token_key(v, eb);
	if (err != CORE_OK)
		goto fail;
	*out = v;
	return CORE_OK;
fail:
	vault_core_free(v);
	return err;
}

/* <res_dir>/<repo>/<type>/<tag> for a validated path. */
static char *
resource_file(const struct vault_core *v, const char *path, bool mkdirs,
    struct core_errbuf *eb, enum core_err *err)
{
	char repo[KBS_SEGMENT_MAX + 1], type[KBS_SEGMENT_MAX + 1],
	    tag[KBS_SEGMENT_MAX + 1];
	char *d1 = NULL, *d2 = NULL, *f = NULL;

	*err = kbs_path_parse(path, repo, type, tag, eb);
	if (*err != CORE_OK)
		return NULL;
	d1 = core_path_join(v->res_dir, repo);
	d2 = d1 ? core_path_join(d1, type) : NULL;
	f = d2 ? core_path_join(d2, tag) : NULL;
	if (f == NULL)
		*err = CORE_ERR_NOMEM;
	else if (mkdirs)
		*err = core_fs_mkdirs(d2, 0700, eb);
	free(d1);
	free(d2);
	if (*err != CORE_OK) {
		free(f);
		return NULL;
	}
	return f;
}

static enum core_err
core_get(struct vault_core *v, const char *path, struct core_buf *out,
    struct core_errbuf *eb)
{
	enum core_err err;
	char *f = resource_file(v, path, false, eb, &err);
	struct vault_cached *c;
	struct stat st;
	uint8_t *p = NULL;
	size_t n = 0;

	if (f == NULL)
		return err;
	if (stat(f, &st) != 0 || !S_ISREG(st.st_mode)) {
		err = core_errf(eb, CORE_ERR_NOT_FOUND,
		    "resource %s not found", path);
		goto out;
	}
	c = cache_find(v, path);
	if (c != NULL && same_file(&c->st, &st)) {
		err = core_buf_append(out, c->data->ptr, c->data->len);
		goto out;
	}
	err = core_fs_read(f, KBS_VAULT_MAX_RESOURCE, &p, &n, eb);
	if (err == CORE_OK)
		err = core_buf_append(out, p, n);
	if (err == CORE_OK)
		cache_put(v, path, &st, p, n);
out:
	if (p != NULL)
		core_wipe(p, n);
	free(p);
	free(f);
	return err;
}

static enum core_err
core_put(struct vault_core *v, const char *path, const void *p, size_t n,
    struct core_errbuf *eb)
{
	enum core_err err;
	char *f = resource_file(v, path, true, eb, &err);

	struct vault_cached *c = cache_find(v, path);

	if (c != NULL)
		cache_drop(c);
	if (f != NULL)
		err = core_fs_write_atomic(f, p, n, 0600, eb);
	free(f);
	return err;
}

static enum core_err
core_delete(struct vault_core *v, const char *path, struct core_errbuf *eb)
{
	enum core_err err;
	char *f = resource_file(v, path, false, eb, &err), *slash;
	struct vault_cached *c = cache_find(v, path);
	int dfd;

	if (c != NULL)
		cache_drop(c);
	if (f == NULL)
		return err;
	if (unlink(f) != 0) {
		err = errno == ENOENT ?
		    core_errf(eb, CORE_ERR_NOT_FOUND, "resource %s not found",
			path) :
		    core_errf_errno(eb, CORE_ERR_IO, "unlink %s", path);
		free(f);
		return err;
	}
	slash = strrchr(f, '/');
	*slash = '\0';
	dfd = open(f, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	free(f);
	return CORE_OK;
}

/* ---- the message loop ------------------------------------------------ */

#define IPC_READ_CHUNK 4096

enum core_err
kbs_ipc_send(int fd, const struct kbs_msg_hdr *h, const void *p1, size_t n1,
    const void *p2, size_t n2)
{
	struct iovec iov[3] = { { (void *)h, sizeof(*h) }, { (void *)p1, n1 },
		{ (void *)p2, n2 } };
	size_t left = sizeof(*h) + n1 + n2, i = 0;
	struct msghdr m;
	ssize_t w;

	while (left > 0) {
		/* sendmsg rather than writev: no SIGPIPE if the peer is gone. */
		memset(&m, 0, sizeof(m));
		m.msg_iov = iov + i;
		m.msg_iovlen = 3 - i;
		w = sendmsg(fd, &m, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return CORE_ERR_IO;
		}
		left -= (size_t)w;
		/* Skip what was written: whole parts, then part of one. */
		while (i < 3 && (size_t)w >= iov[i].iov_len) {
			w -= (ssize_t)iov[i].iov_len;
			iov[i].iov_len = 0;
			i++;
		}
		if (i < 3) {
			iov[i].iov_base = (uint8_t *)iov[i].iov_base + w;
			iov[i].iov_len -= (size_t)w;
		}
	}
	return CORE_OK;
}

enum core_err
kbs_ipc_recv(int fd, struct kbs_msg_hdr *h, uint8_t **p, size_t max)
{
	uint8_t buf[IPC_READ_CHUNK];
	size_t got = 0, first;
	ssize_t r;

	*p = NULL;
	while (got < sizeof(*h)) {
		r = read(fd, buf + got, sizeof(buf) - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return CORE_ERR_IO;
		got += (size_t)r;
	}
	memcpy(h, buf, sizeof(*h));
	if (h->len > max || got - sizeof(*h) > h->len)
		return CORE_ERR_IO;
	*p = malloc((size_t)h->len + 1);
	if (*p == NULL)
		return CORE_ERR_IO;
	first = got - sizeof(*h);
	memcpy(*p, buf + sizeof(*h), first);
	core_wipe(buf, got);
	(*p)[h->len] = '\0';
	if (first < h->len &&
	    core_read_exact(fd, *p + first, h->len - first) != CORE_OK) {
		core_wipe(*p, h->len);
		free(*p);
		*p = NULL;
		return CORE_ERR_IO;
	}
	return CORE_OK;
}

/* Splits a PUT payload: u32 path length, path, data. */
static bool
split_put(const uint8_t *p, size_t n, char *path, size_t pathcap,
    const uint8_t **data, size_t *dlen)
{
	uint32_t pl;

	if (n < 4)
		return false;
	memcpy(&pl, p, 4);
	if (pl == 0 || pl >= pathcap || pl > n - 4)
		return false;
	memcpy(path, p + 4, pl);
	path[pl] = '\0';
	if (strlen(path) != pl)
		return false;
	*data = p + 4 + pl;
	*dlen = n - 4 - pl;
	return true;
}

static bool
payload_str(const uint8_t *p, size_t n, char *out, size_t cap)
{
	if (n == 0 || n >= cap || memchr(p, '\0', n) != NULL)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

/* Sends a reply: OK with data, or ERR with u32 code + message. */
static bool
reply(int fd, uint64_t id, enum core_err err, const struct core_buf *data,
    const struct core_errbuf *eb)
{
	struct kbs_msg_hdr h;
	uint32_t code = (uint32_t)err;
	const char *msg = core_errbuf_msg(eb);
	size_t mlen = strlen(msg);

	uint8_t ebody[4 + CORE_ERRBUF_LEN];

	memset(&h, 0, sizeof(h));
	h.id = id;
	if (err == CORE_OK) {
		h.type = KBS_MSG_OK;
		h.len = (uint32_t)data->len;
		return kbs_ipc_send(fd, &h, data->data, data->len, NULL, 0) ==
		    CORE_OK;
	}
	if (mlen > sizeof(ebody) - 4)
		mlen = sizeof(ebody) - 4;
	memcpy(ebody, &code, 4);
	memcpy(ebody + 4, msg, mlen);
	h.type = KBS_MSG_ERR;
	h.len = (uint32_t)(4 + mlen);
	return kbs_ipc_send(fd, &h, ebody, 4 + mlen, NULL, 0) == CORE_OK;
}

/* Handles one request; false ends the child (malformed or unknown). */
static bool
dispatch(struct vault_core *v, int fd, const struct kbs_msg_hdr *h,
    const uint8_t *p)
{
	char path[3 * (KBS_SEGMENT_MAX + 1) + 1];
	struct core_errbuf eb;
	struct core_buf out;
	const uint8_t *data;
	size_t dlen;
	char *claims = NULL, *token = NULL;
	enum core_err err;
	bool ok;

	core_errbuf_clear(&eb);
	core_buf_init(&out, 0);
	switch (h->type) {
	case KBS_MSG_PUBKEY:
		if (h->len != 0)
			return false;
		err = core_buf_append_str(&out, v->token_header);
		break;
	case KBS_MSG_SIGN:
		if (h->len == 0 || h->len > KBS_VAULT_MAX_CLAIMS ||
		    memchr(p, '\0', h->len) != NULL)
			return false;
		claims = strndup((const char *)p, h->len);
		if (claims == NULL)
			return false;
		err = crypto_jws_sign_with(v->signer, v->token_hdr, claims,
		    h->len, &token, &eb);
		if (err == CORE_OK)
			err = core_buf_append_str(&out, token);
		break;
	case KBS_MSG_GET:
		if (!payload_str(p, h->len, path, sizeof(path)))
			return false;
		err = core_get(v, path, &out, &eb);
		break;
	case KBS_MSG_DELETE:
		if (!payload_str(p, h->len, path, sizeof(path)))
			return false;
		err = core_delete(v, path, &eb);
		break;
	case KBS_MSG_PUT:
		if (!split_put(p, h->len, path, sizeof(path), &data, &dlen))
			return false;
		err = core_put(v, path, data, dlen, &eb);
		break;
	default:
		return false;
	}
	ok = reply(fd, h->id, err, &out, &eb);
	core_buf_cleanup_secure(&out);
	free(claims);
	free(token);
	return ok;
}

/*
 * Serves one request waiting on fd; false ends the child (EOF: the parent
 * closed its end, or a malformed message).
 */
static bool
serve_one(struct vault_core *v, int fd)
{
	struct kbs_msg_hdr h;
	uint8_t *p = NULL;
	bool ok;

	if (kbs_ipc_recv(fd, &h, &p, KBS_VAULT_MAX_MSG) != CORE_OK) {
		free(p);
		return false;
	}
	ok = h.type != KBS_MSG_OK && h.type != KBS_MSG_ERR &&
	    dispatch(v, fd, &h, p);
	core_wipe(p, h.len);
	free(p);
	return ok;
}

/*
 * The child's main loop over its nfd channels (one per HTTP thread, each
 * with at most one request in flight); never returns. Every channel that
 * poll() finds ready is served in turn, so no HTTP thread waits behind
 * another one's request for longer than that request takes.
 */
static void
vault_child(const int *fds, size_t nfd, const char *data_dir, int ready_fd)
{
	struct pollfd pfd[KBS_VAULT_MAX_CHANNELS];
	int keep[KBS_VAULT_MAX_CHANNELS + 1];
	struct vault_core *v = NULL;
	struct core_errbuf eb;
	char status = 0;
	size_t i;
	int n;

	for (i = 0; i < nfd; i++) {
		keep[i] = fds[i];
		pfd[i].fd = fds[i];
		pfd[i].events = POLLIN;
	}
	keep[nfd] = ready_fd;
	core_close_fds_from(3, keep, nfd + 1);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	core_errbuf_clear(&eb);
	if (vault_core_open(data_dir, &v, &eb) != CORE_OK) {
		status = 1;
		(void)core_write_all(ready_fd, &status, 1);
		(void)core_write_all(ready_fd, core_errbuf_msg(&eb),
		    strlen(core_errbuf_msg(&eb)));
		_exit(1);
	}
	(void)core_write_all(ready_fd, &status, 1);
	close(ready_fd);
	for (;;) {
		n = poll(pfd, (nfds_t)nfd, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (i = 0; i < nfd; i++) {
			if (pfd[i].revents == 0)
				continue;
			/* POLLHUP/POLLERR: the read sees EOF and we end. */
			if (!serve_one(v, pfd[i].fd))
				goto out;
		}
	}
out:
	vault_core_free(v);
	_exit(0);
}

enum core_err
kbs_vault_spawn(const char *data_dir, size_t nfd, int *fds_out,
    pid_t *pid_out, struct core_errbuf *eb)
{
	int parent[KBS_VAULT_MAX_CHANNELS], child[KBS_VAULT_MAX_CHANNELS];
	int rp[2] = { -1, -1 }, sv[2];
	char status = 1, msg[CORE_ERRBUF_LEN];
	enum core_err err = CORE_ERR_IO;
	size_t i, made = 0;
	ssize_t n;
	pid_t pid;

	if (nfd == 0 || nfd > KBS_VAULT_MAX_CHANNELS)
		return core_errf(eb, CORE_ERR_INVALID,
		    "vault channels: %zu (1..%d)", nfd, KBS_VAULT_MAX_CHANNELS);
	for (; made < nfd; made++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) !=
		    0) {
			core_errf_errno(eb, CORE_ERR_IO, "vault socketpair");
			goto fail;
		}
		parent[made] = sv[0];
		child[made] = sv[1];
	}
	if (pipe2(rp, O_CLOEXEC) != 0) {
		core_errf_errno(eb, CORE_ERR_IO, "vault pipe");
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		core_errf_errno(eb, CORE_ERR_IO, "vault fork");
		goto fail;
	}
	if (pid == 0) {
		for (i = 0; i < nfd; i++)
			close(parent[i]);
		close(rp[0]);
		vault_child(child, nfd, data_dir, rp[1]);
	}
	for (i = 0; i < nfd; i++)
		close(child[i]);
	close(rp[1]);
	rp[1] = -1;
	/* Wait for the child to load the key: report its error if not. */
	if (read(rp[0], &status, 1) != 1 || status != 0) {
		n = read(rp[0], msg, sizeof(msg) - 1);
		msg[n > 0 ? n : 0] = '\0';
		close(rp[0]);
		for (i = 0; i < nfd; i++)
			close(parent[i]);
		(void)waitpid(pid, NULL, 0);
		return core_errf(eb, CORE_ERR_IO, "vault process: %s",
		    msg[0] ? msg : "exited during startup");
	}
	close(rp[0]);
	memcpy(fds_out, parent, nfd * sizeof(*fds_out));
	*pid_out = pid;
	return CORE_OK;
fail:
	for (i = 0; i < made; i++) {
		close(parent[i]);
		close(child[i]);
	}
	if (rp[0] >= 0)
		close(rp[0]);
	if (rp[1] >= 0)
		close(rp[1]);
	return err;
}
