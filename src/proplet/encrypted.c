/*
 * encrypted.c -- the encrypted-task pipeline (spec propeller-wire.md §7,
 * with the defects of §7.4 fixed): pull the image, read the key id from the
 * layer annotation, attest to the KBS with the proplet's own attester (so
 * key release is bound to this TEE's evidence), fetch the KEK, unwrap the
 * layer key, verify the HMAC over the whole layer, decrypt.
 *
 * It runs only in the fetch helper, proplet-fetch (fetch_helper.h), a
 * single-threaded program the daemon fork+execs per fetch (STYLE.md rule
 * 11): the KBS session key, the KEK and the layer key exist only there. The
 * plaintext module goes into the memfd the daemon passed; the daemon never
 * sees a key.
 */
#define LOG_MODULE "proplet"
#include "proplet/fetch_helper.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kbs/kbs.h"
#include "oci/oci.h"
#include "ocicrypt/ocicrypt.h"
#include "proplet/internal.h"
#include "tee/tee.h"

/* What the KEK callback needs, inside the child. */
struct kek_ctx {
	const struct proplet_fetch_req *req;  /* borrowed */
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
check_kid(const struct proplet_fetch_req *r, const char *path,
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
	if (!r->require_kid_match)
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
		    k->req->kbs_uri, path);
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

enum core_err
proplet_fetch_work_encrypted(const struct proplet_fetch_req *r, int memfd,
    size_t *len_out, struct core_errbuf *eb)
{
	enum tee_kind kind = (enum tee_kind)r->tee_kind;
	struct kbs_attester hw = { tee_kind_name(kind), tee_evidence, &kind };
	struct kbs_client_opts ko = {
		.url = r->kbs_uri,
		.attester = kind == TEE_SAMPLE ? &kbs_sample_attester : &hw,
	};
	struct oci_opts oo = {
		.username = r->registry_username,
		.password = r->registry_password,
		.authfile = r->registry_authfile,
		.tls_verify_off = r->registry_insecure,
	};
	struct kek_ctx kc = { .req = r };
	struct ocicrypt_keys keys = { .kek_for_kid = kek_for_kid, .kek_ctx = &kc };
	uint8_t *module = NULL;
	size_t len = 0;
	char *spec = NULL;
	enum core_err err;
	size_t n;

	if (r->kbs_uri == NULL)
		return core_errf(eb, CORE_ERR_INVALID,
		    "PROPLET_KBS_URI is not set: encrypted tasks need a KBS");
	if ((err = kbs_client_new(&ko, &kc.kbs, eb)) != CORE_OK)
		return err;
	n = strlen(r->url) + 10;
	if ((spec = malloc(n)) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	snprintf(spec, n, "docker://%s", r->url);
	err = ocicrypt_pull_module(spec, &oo, &keys, PROPLET_MODULE_MAX, &module,
	    &len, eb);
	if (err != CORE_OK)
		goto out;
	if (!kc.used) {
		/* Spec §7.4 defect 4: never run plaintext as an encrypted task. */
		err = core_errf(eb, CORE_ERR_PERM,
		    "%s is not encrypted with a KBS key: refusing to run it as "
		    "an encrypted task", r->url);
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
