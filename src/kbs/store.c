/*
 * store.c -- the vault: the token-signing key, the resources and the
 * resource policy, all kept under the data directory.
 *
 * Layout:
 *   <data>/token-key.pem             EC P-256 signing key (0600), made once
 *   <data>/resource-policy.json      the active policy (0600)
 *   <data>/resources/<repo>/<type>/<tag>   raw resource bytes (0600)
 * Writes are atomic (temp file, fsync, rename, fsync of the directory) and
 * serialized by a mutex. This is the part that should run in its own
 * process (STYLE.md rule 11); its interface is narrow for that reason.
 */
#include "kbs/kbs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VAULT_MAX_RESOURCE (64 * 1024 * 1024)

struct kbs_vault {
	char *dir;             /* owned */
	char *res_dir;         /* owned: <dir>/resources */
	EVP_PKEY *token_key;   /* owned; secret: private signing key */
	char *token_header;    /* owned; JWS header with the public jwk */
	struct kbs_policy *policy; /* owned; guarded by lock */
	pthread_mutex_t lock;  /* serializes writes and policy swaps */
};

static enum core_err vault_token_header(struct kbs_vault *v,
    struct core_errbuf *eb);
static enum core_err vault_token_key(struct kbs_vault *v,
    struct core_errbuf *eb);
static enum core_err vault_load_policy(struct kbs_vault *v,
    struct core_errbuf *eb);
static char *resource_file(const struct kbs_vault *v, const char *path,
    bool mkdirs, struct core_errbuf *eb, enum core_err *err);

enum core_err
kbs_vault_open(const char *data_dir, struct kbs_vault **out,
    struct core_errbuf *eb)
{
	struct kbs_vault *v;
	enum core_err err;

	*out = NULL;
	v = calloc(1, sizeof(*v));
	if (v == NULL)
		return CORE_ERR_NOMEM;
	pthread_mutex_init(&v->lock, NULL);
	v->dir = strdup(data_dir);
	v->res_dir = core_path_join(data_dir, "resources");
	if (v->dir == NULL || v->res_dir == NULL) {
		err = CORE_ERR_NOMEM;
		goto fail;
	}
	err = core_fs_mkdirs(v->res_dir, 0700, eb);
	if (err != CORE_OK)
		goto fail;
	err = vault_token_key(v, eb);
	if (err == CORE_OK)
		err = vault_token_header(v, eb);
	if (err == CORE_OK)
		err = vault_load_policy(v, eb);
	if (err != CORE_OK)
		goto fail;
	*out = v;
	return CORE_OK;
fail:
	kbs_vault_free(v);
	return err;
}

void
kbs_vault_free(struct kbs_vault *v)
{
	if (v == NULL)
		return;
	EVP_PKEY_free(v->token_key);
	free(v->token_header);
	kbs_policy_free(v->policy);
	pthread_mutex_destroy(&v->lock);
	free(v->dir);
	free(v->res_dir);
	free(v);
}

/* Loads <data>/token-key.pem, creating it on first start. */
static enum core_err
vault_token_key(struct kbs_vault *v, struct core_errbuf *eb)
{
	struct secret *pem = NULL;
	char *path = core_path_join(v->dir, "token-key.pem");
	enum core_err err;

	if (path == NULL)
		return CORE_ERR_NOMEM;
	if (core_fs_exists(path)) {
		err = kbs_pem_read_private(path, &v->token_key, eb);
		if (err == CORE_OK && (EVP_PKEY_get_id(v->token_key) !=
		    EVP_PKEY_EC || EVP_PKEY_get_bits(v->token_key) != 256))
			err = core_errf(eb, CORE_ERR_INVALID,
			    "%s: not an EC P-256 key", path);
		goto out;
	}
	err = kbs_ec_generate("P-256", &v->token_key, eb);
	if (err == CORE_OK)
		err = kbs_pem_private_bytes(v->token_key, &pem, eb);
	if (err == CORE_OK)
		err = core_fs_write_atomic(path, pem->ptr, pem->len, 0600, eb);
out:
	secret_free(pem);
	free(path);
	return err;
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

/* The token header {"typ":"JWT","alg":"ES256","jwk":{...}}, made once. */
static enum core_err
vault_token_header(struct kbs_vault *v, struct core_errbuf *eb)
{
	json_t *hdr = NULL, *jwk = NULL;
	enum core_err err;

	err = kbs_ec_pub_jwk(v->token_key, "ES256", &jwk, eb);
	if (err != CORE_OK)
		return err;
	hdr = json_pack("{s:s,s:s,s:o}", "typ", "JWT", "alg", "ES256", "jwk",
	    jwk);
	v->token_header = hdr ? core_json_dumps(hdr) : NULL;
	json_decref(hdr);
	return v->token_header ? CORE_OK : CORE_ERR_NOMEM;
}

enum core_err
kbs_vault_sign(struct kbs_vault *v, const char *claims_json, char **token,
    struct core_errbuf *eb)
{
	return kbs_jws_sign_es256(v->token_key, v->token_header, claims_json,
	    token, eb);
}

EVP_PKEY *
kbs_vault_token_pub(struct kbs_vault *v)
{
	return v->token_key;
}

static char *
resource_file(const struct kbs_vault *v, const char *path, bool mkdirs,
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

enum core_err
kbs_vault_get(struct kbs_vault *v, const char *path, struct secret **out,
    struct core_errbuf *eb)
{
	enum core_err err;
	char *f = resource_file(v, path, false, eb, &err);
	uint8_t *p = NULL;
	size_t n = 0;

	*out = NULL;
	if (f == NULL)
		return err;
	if (!core_fs_exists(f)) {
		err = core_errf(eb, CORE_ERR_NOT_FOUND,
		    "resource %s not found", path);
		goto out;
	}
	err = core_fs_read(f, VAULT_MAX_RESOURCE, &p, &n, eb);
	if (err != CORE_OK)
		goto out;
	*out = n ? secret_from(p, n) : secret_new(1);
	if (*out == NULL)
		err = CORE_ERR_NOMEM;
	else if (n == 0)
		(*out)->len = 0;
out:
	if (p != NULL)
		core_wipe(p, n);
	free(p);
	free(f);
	return err;
}

enum core_err
kbs_vault_put(struct kbs_vault *v, const char *path, const void *p, size_t n,
    struct core_errbuf *eb)
{
	enum core_err err;
	char *f;

	pthread_mutex_lock(&v->lock);
	f = resource_file(v, path, true, eb, &err);
	if (f != NULL)
		err = core_fs_write_atomic(f, p, n, 0600, eb);
	pthread_mutex_unlock(&v->lock);
	free(f);
	return err;
}

enum core_err
kbs_vault_delete(struct kbs_vault *v, const char *path,
    struct core_errbuf *eb)
{
	enum core_err err;
	char *f, *slash;
	int dfd;

	pthread_mutex_lock(&v->lock);
	f = resource_file(v, path, false, eb, &err);
	if (f == NULL)
		goto out;
	if (unlink(f) != 0) {
		err = errno == ENOENT ?
		    core_errf(eb, CORE_ERR_NOT_FOUND, "resource %s not found",
			path) :
		    core_errf_errno(eb, CORE_ERR_IO, "unlink %s", path);
		goto out;
	}
	slash = strrchr(f, '/');
	*slash = '\0';
	dfd = open(f, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
out:
	pthread_mutex_unlock(&v->lock);
	free(f);
	return err;
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
