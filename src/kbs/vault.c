/*
 * vault.c -- the vault child: the only process that holds the EAR token
 * signing key and reads or writes resources (STYLE.md rule 11).
 *
 * The HTTP process forks it at startup and talks to it over a socketpair
 * with fixed messages: a 16-byte header (type, payload length, request id)
 * and a payload whose length is checked exactly per type. Replies carry the
 * request id. Any malformed message or unknown type ends the child.
 *
 * Layout under the data directory:
 *   token-key.pem                          EC P-256 signing key (0600)
 *   resources/<repo>/<type>/<tag>          raw resource bytes (0600)
 */
#include "kbs/kbs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

struct vault_core {
	char *dir;            /* owned */
	char *res_dir;        /* owned: <dir>/resources */
	struct crypto_key *key; /* owned; secret: the token signing key */
	json_t *token_hdr;    /* owned; {"typ","alg","jwk"} */
	char *token_header;   /* owned; token_hdr serialized */
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
vault_core_free(struct vault_core *v)
{
	if (v == NULL)
		return;
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
	uint8_t *p = NULL;
	size_t n = 0;

	if (f == NULL)
		return err;
	if (!core_fs_exists(f)) {
		err = core_errf(eb, CORE_ERR_NOT_FOUND,
		    "resource %s not found", path);
		goto out;
	}
	err = core_fs_read(f, KBS_VAULT_MAX_RESOURCE, &p, &n, eb);
	if (err == CORE_OK)
		err = core_buf_append(out, p, n);
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
	int dfd;

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

	memset(&h, 0, sizeof(h));
	h.id = id;
	if (err == CORE_OK) {
		h.type = KBS_MSG_OK;
		h.len = (uint32_t)data->len;
		return core_write_all(fd, &h, sizeof(h)) == CORE_OK &&
		    (data->len == 0 ||
			core_write_all(fd, data->data, data->len) == CORE_OK);
	}
	h.type = KBS_MSG_ERR;
	h.len = (uint32_t)(4 + mlen);
	return core_write_all(fd, &h, sizeof(h)) == CORE_OK &&
	    core_write_all(fd, &code, 4) == CORE_OK &&
	    (mlen == 0 || core_write_all(fd, msg, mlen) == CORE_OK);
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
		err = crypto_jws_sign(v->key, "ES256", v->token_hdr, claims,
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

/* The child's main loop; never returns. */
static void
vault_child(int fd, const char *data_dir, int ready_fd)
{
	struct vault_core *v = NULL;
	struct core_errbuf eb;
	struct kbs_msg_hdr h;
	uint8_t *p = NULL;
	char status = 0;
	int keep[2] = { fd, ready_fd };

	core_close_fds_from(3, keep, 2);
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
		if (core_read_exact(fd, &h, sizeof(h)) != CORE_OK)
			break; /* the parent closed the socket */
		if (h.len > KBS_VAULT_MAX_MSG || h.type == KBS_MSG_OK ||
		    h.type == KBS_MSG_ERR)
			break;
		p = malloc(h.len ? h.len : 1);
		if (p == NULL || (h.len && core_read_exact(fd, p, h.len) !=
		    CORE_OK))
			break;
		if (!dispatch(v, fd, &h, p))
			break;
		core_wipe(p, h.len);
		free(p);
		p = NULL;
	}
	free(p);
	vault_core_free(v);
	_exit(0);
}

enum core_err
kbs_vault_spawn(const char *data_dir, int *fd_out, pid_t *pid_out,
    struct core_errbuf *eb)
{
	int sv[2] = { -1, -1 }, rp[2] = { -1, -1 };
	char status = 1, msg[CORE_ERRBUF_LEN];
	ssize_t n;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
	    pipe2(rp, O_CLOEXEC) != 0) {
		core_errf_errno(eb, CORE_ERR_IO, "vault socketpair");
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		core_errf_errno(eb, CORE_ERR_IO, "vault fork");
		goto fail;
	}
	if (pid == 0) {
		close(sv[0]);
		close(rp[0]);
		vault_child(sv[1], data_dir, rp[1]);
	}
	close(sv[1]);
	close(rp[1]);
	sv[1] = rp[1] = -1;
	/* Wait for the child to load the key: report its error if not. */
	if (read(rp[0], &status, 1) != 1 || status != 0) {
		n = read(rp[0], msg, sizeof(msg) - 1);
		msg[n > 0 ? n : 0] = '\0';
		close(rp[0]);
		close(sv[0]);
		(void)waitpid(pid, NULL, 0);
		return core_errf(eb, CORE_ERR_IO, "vault process: %s",
		    msg[0] ? msg : "exited during startup");
	}
	close(rp[0]);
	*fd_out = sv[0];
	*pid_out = pid;
	return CORE_OK;
fail:
	for (int i = 0; i < 2; i++) {
		if (sv[i] >= 0)
			close(sv[i]);
		if (rp[i] >= 0)
			close(rp[i]);
	}
	return CORE_ERR_IO;
}
