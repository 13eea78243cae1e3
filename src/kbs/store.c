/*
 * store.c -- the HTTP process's side of the vault: requests to the vault
 * child (token signing, resources) over the socketpair, and the resource
 * policy, which is not secret and stays here.
 *
 *   <data>/resource-policy.json      the active policy (0600)
 *
 * Each HTTP worker thread gets its own channel (a socketpair to the one
 * vault child) for the length of a call, so a thread waiting for the vault
 * never holds up another thread's request; each channel has one request in
 * flight. Every reply is checked like network input: type, exact length
 * bound, and the request id.
 */
#include "kbs/kbs_int.h"

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct vault_chan {
	int fd;                    /* owned; socket to the vault child */
	uint64_t next_id;          /* used by the thread holding the channel */
};

struct kbs_vault {
	char *dir;                 /* owned */
	pid_t pid;                 /* the vault child */
	struct vault_chan *chan;   /* owned; nchan channels */
	size_t nchan;
	size_t *idle;              /* owned; guarded by ipc: free channels */
	size_t nidle;              /* guarded by ipc */
	bool broken;               /* guarded by ipc: the child is gone */
	pthread_mutex_t ipc;       /* the idle list and broken */
	pthread_cond_t idle_cv;    /* a channel was put back */
	struct crypto_key *token_pub; /* owned; public half of the signing key */
	struct kbs_policy *policy; /* owned; guarded by lock */
	pthread_mutex_t lock;      /* policy swaps and writes */
};

static enum core_err vault_load_policy(struct kbs_vault *v,
    struct core_errbuf *eb);
static enum core_err vault_spawn_channels(struct kbs_vault *v, size_t n,
    struct core_errbuf *eb);
static enum core_err vault_call(struct kbs_vault *v, uint32_t type,
    const void *p1, size_t n1, const void *p2, size_t n2,
    struct core_buf *out, struct core_errbuf *eb);

/* Takes a free channel (waiting for one); NULL once the vault is broken. */
static struct vault_chan *
chan_take(struct kbs_vault *v)
{
	struct vault_chan *c = NULL;

	pthread_mutex_lock(&v->ipc);
	while (!v->broken && v->nidle == 0)
		pthread_cond_wait(&v->idle_cv, &v->ipc);
	if (!v->broken)
		c = &v->chan[v->idle[--v->nidle]];
	pthread_mutex_unlock(&v->ipc);
	return c;
}

/* Puts a channel back; broken marks the whole vault unusable. */
static void
chan_put(struct kbs_vault *v, struct vault_chan *c, bool broken)
{
	pthread_mutex_lock(&v->ipc);
	v->idle[v->nidle++] = (size_t)(c - v->chan);
	if (broken) {
		v->broken = true;
		pthread_cond_broadcast(&v->idle_cv);
	} else {
		pthread_cond_signal(&v->idle_cv);
	}
	pthread_mutex_unlock(&v->ipc);
}

/*
 * Sends one request (payload p1 then p2) on a free channel and reads its
 * reply into out. A transport failure marks the vault broken: later calls
 * fail at once.
 */
static enum core_err
vault_call(struct kbs_vault *v, uint32_t type, const void *p1, size_t n1,
    const void *p2, size_t n2, struct core_buf *out, struct core_errbuf *eb)
{
	struct kbs_msg_hdr h, r;
	struct vault_chan *c;
	uint8_t *p = NULL;
	uint32_t code;
	bool broken = false;
	enum core_err err;

	if (n1 + n2 > KBS_VAULT_MAX_MSG)
		return core_errf(eb, CORE_ERR_TOO_BIG,
		    "request for the vault too large (%zu bytes)", n1 + n2);
	memset(&h, 0, sizeof(h));
	memset(&r, 0, sizeof(r));
	h.type = type;
	h.len = (uint32_t)(n1 + n2);
	c = chan_take(v);
	if (c == NULL)
		return core_errf(eb, CORE_ERR_IO, "vault process is gone");
	h.id = ++c->next_id;
	if (kbs_ipc_send(c->fd, &h, p1, n1, p2, n2) != CORE_OK ||
	    kbs_ipc_recv(c->fd, &r, &p, KBS_VAULT_MAX_MSG) != CORE_OK)
		goto broken;
	if (r.id != h.id || (r.type != KBS_MSG_OK && r.type != KBS_MSG_ERR) ||
	    (r.type == KBS_MSG_ERR && r.len < 4))
		goto broken;
	if (r.type == KBS_MSG_ERR) {
		memcpy(&code, p, 4);
		if (code == CORE_OK || code > CORE_ERR_INTERNAL)
			code = CORE_ERR_INTERNAL;
		err = core_errf(eb, (enum core_err)code, "%s",
		    (const char *)p + 4);
	} else {
		err = out ? core_buf_append(out, p, r.len) : CORE_OK;
	}
	goto out;
broken:
	broken = true;
	err = core_errf(eb, CORE_ERR_IO,
	    "vault process: broken exchange (child exited?)");
out:
	chan_put(v, c, broken);
	if (p != NULL)
		core_wipe(p, r.len);
	free(p);
	return err;
}

enum core_err
kbs_vault_open(const char *data_dir, size_t channels, struct kbs_vault **out,
    struct core_errbuf *eb)
{
	struct kbs_vault *v;
	struct core_buf hdr;
	json_t *h = NULL;
	enum core_err err;

	*out = NULL;
	core_buf_init(&hdr, 64 * 1024);
	v = calloc(1, sizeof(*v));
	if (v == NULL)
		return CORE_ERR_NOMEM;
	pthread_mutex_init(&v->ipc, NULL);
	pthread_cond_init(&v->idle_cv, NULL);
	pthread_mutex_init(&v->lock, NULL);
	if (channels == 0 || channels > KBS_VAULT_MAX_CHANNELS) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "vault channels: %zu (1..%d)", channels,
		    KBS_VAULT_MAX_CHANNELS);
		goto fail;
	}
	v->dir = strdup(data_dir);
	v->chan = calloc(channels, sizeof(*v->chan));
	v->idle = calloc(channels, sizeof(*v->idle));
	if (v->dir == NULL || v->chan == NULL || v->idle == NULL) {
		err = CORE_ERR_NOMEM;
		goto fail;
	}
	err = core_fs_mkdirs(data_dir, 0700, eb);
	if (err == CORE_OK)
		err = vault_spawn_channels(v, channels, eb);
	if (err == CORE_OK)
		err = vault_call(v, KBS_MSG_PUBKEY, NULL, 0, NULL, 0, &hdr, eb);
	if (err == CORE_OK)
		err = core_json_parse_object(hdr.data, hdr.len, 0, &h, eb);
	if (err == CORE_OK)
		err = kbs_tee_key_from_jwk(json_object_get(h, "jwk"),
		    &v->token_pub, eb);
	if (err == CORE_OK)
		err = vault_load_policy(v, eb);
	if (err != CORE_OK)
		goto fail;
	json_decref(h);
	core_buf_cleanup(&hdr);
	*out = v;
	return CORE_OK;
fail:
	json_decref(h);
	core_buf_cleanup(&hdr);
	kbs_vault_free(v);
	return err;
}

void
kbs_vault_free(struct kbs_vault *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->nchan; i++)
		close(v->chan[i].fd); /* the child exits on EOF */
	if (v->pid > 0)
		(void)waitpid(v->pid, NULL, 0);
	crypto_key_free(v->token_pub);
	kbs_policy_free(v->policy);
	free(v->chan);
	free(v->idle);
	pthread_cond_destroy(&v->idle_cv);
	pthread_mutex_destroy(&v->ipc);
	pthread_mutex_destroy(&v->lock);
	free(v->dir);
	free(v);
}

/* Forks the child with n channels, all idle. */
static enum core_err
vault_spawn_channels(struct kbs_vault *v, size_t n, struct core_errbuf *eb)
{
	int fds[KBS_VAULT_MAX_CHANNELS];
	enum core_err err;

	err = kbs_vault_spawn(v->dir, n, fds, &v->pid, eb);
	if (err != CORE_OK)
		return err;
	for (v->nchan = 0; v->nchan < n; v->nchan++) {
		v->chan[v->nchan].fd = fds[v->nchan];
		v->idle[v->nidle++] = v->nchan;
	}
	return CORE_OK;
}

static enum core_err
vault_load_policy(struct kbs_vault *v, struct core_errbuf *eb)
{
	char *path = core_path_join(v->dir, "resource-policy.json");
	uint8_t *p = NULL;
	size_t n = 0;
	enum core_err err;

	if (path == NULL)
		return CORE_ERR_NOMEM;
	if (core_fs_exists(path)) {
		err = core_fs_read(path, 1024 * 1024, &p, &n, eb);
		if (err == CORE_OK)
			err = kbs_policy_parse(p, n, &v->policy, eb);
		if (err != CORE_OK)
			core_errbuf_prefix(eb, "%s", path);
	} else {
		const char *t = kbs_policy_preset_text(KBS_POLICY_DEFAULT);

		err = kbs_policy_parse(t, strlen(t), &v->policy, eb);
	}
	free(p);
	free(path);
	return err;
}

enum core_err
kbs_vault_sign(struct kbs_vault *v, const char *claims_json, char **token,
    struct core_errbuf *eb)
{
	struct core_buf out;
	enum core_err err;

	*token = NULL;
	core_buf_init(&out, 64 * 1024 + KBS_VAULT_MAX_CLAIMS);
	err = vault_call(v, KBS_MSG_SIGN, claims_json, strlen(claims_json),
	    NULL, 0, &out, eb);
	if (err == CORE_OK)
		*token = (char *)core_buf_steal(&out, NULL);
	core_buf_cleanup(&out);
	return err;
}

const struct crypto_key *
kbs_vault_token_pub(struct kbs_vault *v)
{
	return v->token_pub;
}

enum core_err
kbs_vault_get(struct kbs_vault *v, const char *path, struct secret **out,
    struct core_errbuf *eb)
{
	struct core_buf b;
	enum core_err err;

	*out = NULL;
	core_buf_init(&b, KBS_VAULT_MAX_RESOURCE);
	err = vault_call(v, KBS_MSG_GET, path, strlen(path), NULL, 0, &b, eb);
	if (err == CORE_OK) {
		*out = b.len ? secret_from(b.data, b.len) : secret_new(1);
		if (*out == NULL)
			err = CORE_ERR_NOMEM;
		else if (b.len == 0)
			(*out)->len = 0;
	}
	core_buf_cleanup_secure(&b);
	return err;
}

enum core_err
kbs_vault_put(struct kbs_vault *v, const char *path, const void *p, size_t n,
    struct core_errbuf *eb)
{
	uint8_t hdr[4 + 3 * (KBS_SEGMENT_MAX + 1)];
	uint32_t pl = (uint32_t)strlen(path);

	if (pl == 0 || pl > sizeof(hdr) - 4)
		return core_errf(eb, CORE_ERR_INVALID, "resource path too long");
	memcpy(hdr, &pl, 4);
	memcpy(hdr + 4, path, pl);
	return vault_call(v, KBS_MSG_PUT, hdr, 4 + pl, p, n, NULL, eb);
}

enum core_err
kbs_vault_delete(struct kbs_vault *v, const char *path,
    struct core_errbuf *eb)
{
	return vault_call(v, KBS_MSG_DELETE, path, strlen(path), NULL, 0, NULL,
	    eb);
}

enum core_err
kbs_vault_set_policy(struct kbs_vault *v, const void *text, size_t n,
    struct core_errbuf *eb)
{
	struct kbs_policy *p = NULL, *old;
	char *path = NULL;
	enum core_err err;

	err = kbs_policy_parse(text, n, &p, eb);
	if (err != CORE_OK)
		return err;
	path = core_path_join(v->dir, "resource-policy.json");
	if (path == NULL) {
		kbs_policy_free(p);
		return CORE_ERR_NOMEM;
	}
	pthread_mutex_lock(&v->lock);
	err = core_fs_write_atomic(path, text, n, 0600, eb);
	if (err == CORE_OK) {
		old = v->policy;
		v->policy = p;
		p = old;
	}
	pthread_mutex_unlock(&v->lock);
	kbs_policy_free(p);
	free(path);
	return err;
}

void
kbs_vault_policy_eval(struct kbs_vault *v, const json_t *claims,
    const char *path, bool *allow, const char **reason)
{
	pthread_mutex_lock(&v->lock);
	kbs_policy_eval(v->policy, claims, path, allow, reason);
	pthread_mutex_unlock(&v->lock);
}
