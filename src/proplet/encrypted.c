/*
 * encrypted.c -- the encrypted-task pipeline (spec propeller-wire.md §7,
 * with the defects of §7.4 fixed): pull the image, read the key id from the
 * layer annotation, attest to the KBS with the proplet's own attester (so
 * key release is bound to this TEE's evidence), fetch the KEK, unwrap the
 * layer key, verify the HMAC over the whole layer, decrypt.
 *
 * All of it runs in a short-lived child process (STYLE.md rule 11): the KBS
 * session key, the KEK and the layer key exist only there. The child writes
 * the plaintext module into a memfd the parent created, reports success or
 * the reason for failure over a socketpair with a fixed header, wipes what
 * it holds and exits. The parent never sees a key.
 */
#define LOG_MODULE "proplet"
#include "proplet/internal.h"

#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kbs/kbs.h"
#include "oci/oci.h"
#include "ocicrypt/ocicrypt.h"
#include "tee/tee.h"

#define ENC_MSG_OK 1
#define ENC_MSG_ERR 2
#define ENC_CHILD_TIMEOUT_MS (5 * 60 * 1000)

/* Every message from the child starts with this header. */
struct enc_msg {
	uint32_t type;    /* ENC_MSG_OK or ENC_MSG_ERR */
	uint32_t len;     /* OK: module length; ERR: length of the text after */
	uint64_t req_id;  /* must echo the parent's request id */
};
static_assert(sizeof(struct enc_msg) == 16, "enc_msg is a wire format");

/* What the KEK callback needs, inside the child. */
struct kek_ctx {
	const struct proplet_encrypted_req *req;
	struct kbs_client *kbs;   /* owned by the child */
	enum core_err kbs_err;    /* the first KBS failure, kept for the report */
	bool used;                /* a KEK was asked for: the layer was encrypted */
};

/* Hardware attesters through tee/: report data → evidence JSON. */
static enum core_err
tee_evidence(void *ctx, const uint8_t *report_data, size_t len, json_t **out,
    struct core_errbuf *eb)
{
	const enum tee_kind *kind = ctx;
	char *text = NULL;
	enum core_err err;

	*out = NULL;
	err = tee_attester_evidence(*kind, report_data, len, NULL, &text, eb);
	if (err != CORE_OK)
		return err;
	err = core_json_parse(text, strlen(text), 0, out, eb);
	free(text);
	return err;
}

/* The resource path a kid names must match the task's, when it says one. */
static enum core_err
check_kid(const struct proplet_encrypted_req *r, const char *path,
    struct core_errbuf *eb)
{
	const char *want = r->kbs_resource_path;
	size_t pl, wl;

	if (want == NULL || *want == '\0')
		return CORE_OK;
	while (*want == '/')
		want++;
	pl = strlen(path);
	wl = strlen(want);
	if (wl <= pl && strcmp(path + pl - wl, want) == 0 &&
	    (wl == pl || path[pl - wl - 1] == '/'))
		return CORE_OK;
	if (!r->cfg->require_kid_match)
		return CORE_OK;
	return core_errf(eb, CORE_ERR_PERM,
	    "the layer's key id names %s, the task's kbs_resource_path is %s",
	    path, want);
}

static enum core_err
kek_for_kid(void *arg, const char *kid, struct secret **kek_out,
    struct core_errbuf *eb)
{
	struct kek_ctx *k = arg;
	struct secret *res = NULL;
	char *path = NULL;
	enum core_err err;

	*kek_out = NULL;
	k->used = true;
	if ((err = ocicrypt_kid_resource(kid, &path, eb)) != CORE_OK)
		goto out;
	if ((err = check_kid(k->req, path, eb)) != CORE_OK)
		goto out;
	if ((err = kbs_client_get_resource(k->kbs, path, &res, eb)) != CORE_OK) {
		k->kbs_err = err;
		core_errbuf_prefix(eb, "KBS %s resource %s",
		    k->req->cfg->kbs_uri, path);
		goto out;
	}
	err = ocicrypt_kek_from_bytes(res->ptr, res->len, kek_out, eb);
	if (err != CORE_OK)
		core_errbuf_prefix(eb, "KBS resource %s", path);
out:
	secret_free(res);
	free(path);
	return err;
}

/* Runs in the child: everything that touches a key. */
static enum core_err
child_work(const struct proplet_encrypted_req *r, int memfd, size_t *len_out,
    struct core_errbuf *eb)
{
	enum tee_kind kind = (enum tee_kind)r->tee_kind;
	struct kbs_attester hw = { tee_kind_name(kind), tee_evidence, &kind };
	struct kbs_client_opts ko = {
		.url = r->cfg->kbs_uri,
		.attester = kind == TEE_SAMPLE ? &kbs_sample_attester : &hw,
	};
	struct oci_opts oo = {
		.username = r->cfg->registry_username,
		.password = r->cfg->registry_password,
		.authfile = r->cfg->registry_authfile,
		.tls_verify_off = r->cfg->registry_insecure,
	};
	struct kek_ctx kc = { .req = r };
	struct ocicrypt_keys keys = { .kek_for_kid = kek_for_kid, .kek_ctx = &kc };
	uint8_t *module = NULL;
	size_t len = 0;
	char *spec = NULL;
	enum core_err err;
	size_t n;

	if (r->cfg->kbs_uri == NULL)
		return core_errf(eb, CORE_ERR_INVALID,
		    "PROPLET_KBS_URI is not set: encrypted tasks need a KBS");
	if ((err = kbs_client_new(&ko, &kc.kbs, eb)) != CORE_OK)
		return err;
	n = strlen(r->image_url) + 10;
	if ((spec = malloc(n)) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	snprintf(spec, n, "docker://%s", r->image_url);
	err = ocicrypt_pull_module(spec, &oo, &keys, PROPLET_MODULE_MAX, &module,
	    &len, eb);
	if (err != CORE_OK)
		goto out;
	if (!kc.used) {
		/* Spec §7.4 defect 4: never run plaintext as an encrypted task. */
		err = core_errf(eb, CORE_ERR_PERM,
		    "%s is not encrypted with a KBS key: refusing to run it as "
		    "an encrypted task", r->image_url);
		goto out;
	}
	if (core_write_all(memfd, module, len) != CORE_OK) {
		err = core_errf_errno(eb, CORE_ERR_IO, "memfd write");
		goto out;
	}
	*len_out = len;
out:
	if (module != NULL)
		core_wipe(module, len);
	free(module);
	free(spec);
	kbs_client_free(kc.kbs);
	return err;
}

static void
child_main(const struct proplet_encrypted_req *r, int memfd, int sock,
    uint64_t req_id)
{
	struct core_errbuf eb;
	struct enc_msg msg = { .req_id = req_id };
	size_t len = 0;
	enum core_err err;

	core_errbuf_clear(&eb);
	err = child_work(r, memfd, &len, &eb);
	if (err == CORE_OK && len <= UINT32_MAX) {
		msg.type = ENC_MSG_OK;
		msg.len = (uint32_t)len;
		(void)core_write_all(sock, &msg, sizeof(msg));
		_exit(0);
	}
	if (err == CORE_OK)
		core_errf(&eb, CORE_ERR_TOO_BIG, "module too large");
	msg.type = ENC_MSG_ERR;
	msg.len = (uint32_t)strlen(eb.msg);
	(void)core_write_all(sock, &msg, sizeof(msg));
	(void)core_write_all(sock, eb.msg, msg.len);
	_exit(1);
}

/* Reads the child's one message, checking it like network input. */
static enum core_err
read_report(int sock, uint64_t req_id, size_t *len_out, struct core_errbuf *eb)
{
	struct enc_msg msg;
	char text[CORE_ERRBUF_LEN];

	if (core_read_exact(sock, &msg, sizeof(msg)) != CORE_OK)
		return core_errf(eb, CORE_ERR_INTERNAL,
		    "the decryption process died without a report");
	if (msg.req_id != req_id)
		return core_errf(eb, CORE_ERR_INTERNAL,
		    "decryption process: reply for another request");
	if (msg.type == ENC_MSG_OK) {
		*len_out = msg.len;
		return CORE_OK;
	}
	if (msg.type != ENC_MSG_ERR || msg.len >= sizeof(text))
		return core_errf(eb, CORE_ERR_INTERNAL,
		    "decryption process: malformed report (type %u, length %u)",
		    msg.type, msg.len);
	if (core_read_exact(sock, text, msg.len) != CORE_OK)
		return core_errf(eb, CORE_ERR_INTERNAL,
		    "decryption process: truncated report");
	text[msg.len] = '\0';
	return core_errf(eb, CORE_ERR_AUTH, "%s", text);
}

enum core_err
proplet_encrypted_fetch(const struct proplet_encrypted_req *r, uint8_t **out,
    size_t *len, struct core_errbuf *eb)
{
	int sv[2] = { -1, -1 }, memfd = -1, status;
	uint64_t req_id;
	size_t want = 0;
	enum core_err err;
	uint8_t *buf = NULL;
	pid_t pid;

	*out = NULL;
	*len = 0;
	if ((err = core_random(&req_id, sizeof(req_id), eb)) != CORE_OK)
		return err;
	if ((memfd = memfd_create("proplet-module", MFD_CLOEXEC)) < 0)
		return core_errf_errno(eb, CORE_ERR_IO, "memfd_create");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		err = core_errf_errno(eb, CORE_ERR_IO, "socketpair");
		goto out;
	}
	if ((pid = fork()) < 0) {
		err = core_errf_errno(eb, CORE_ERR_IO, "fork");
		goto out;
	}
	if (pid == 0) {
		close(sv[0]);
		signal(SIGPIPE, SIG_IGN);
		alarm(ENC_CHILD_TIMEOUT_MS / 1000);
		child_main(r, memfd, sv[1], req_id);
	}
	close(sv[1]);
	sv[1] = -1;
	err = read_report(sv[0], req_id, &want, eb);
	kill(pid, SIGKILL); /* it has said all it may say */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (err != CORE_OK)
		goto out;
	if ((buf = malloc(want > 0 ? want : 1)) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	if (pread(memfd, buf, want, 0) != (ssize_t)want) {
		err = core_errf(eb, CORE_ERR_INTERNAL,
		    "decryption process: module shorter than reported");
		goto out;
	}
	*out = buf;
	*len = want;
	buf = NULL;
out:
	if (buf != NULL) {
		core_wipe(buf, want);
		free(buf);
	}
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	if (memfd >= 0) {
		/* Drop the plaintext pages before closing. */
		(void)ftruncate(memfd, 0);
		close(memfd);
	}
	return err;
}
