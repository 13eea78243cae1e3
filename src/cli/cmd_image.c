/*
 * cmd_image.c -- `propeller image push|pull|copy|encrypt|decrypt|inspect`:
 * OCI images between registries (docker://), oci: and dir: layouts, with
 * ocicrypt layer encryption (JWE recipients, CoCo keyprovider packets).
 */
#define LOG_MODULE "image"
#include "core/core.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "crypto/crypto.h"
#include "oci/oci.h"
#include "ocicrypt/ocicrypt.h"

#define IMAGE_MAX_KEYS 16
#define IMAGE_MAX_LAYERS 64
#define IMAGE_WASM_MAX (256u * 1024 * 1024)

struct image_args {
	struct oci_opts opts;
	char *creds_user; /* owned */
	char *creds_pass; /* owned */
	bool json;
	/* encryption */
	struct crypto_key *jwe[IMAGE_MAX_KEYS]; /* owned */
	size_t njwe;
	char *coco_kid;          /* owned */
	struct secret *coco_kek; /* secret: wiped in cleanup */
	int layers[IMAGE_MAX_LAYERS];
	size_t nlayers;
	/* decryption */
	struct secret *keks[IMAGE_MAX_KEYS]; /* secret: wiped in cleanup */
	size_t nkeks;
	/* external keyprovider (OCICRYPT_KEYPROVIDER_CONFIG) */
	struct ocicrypt_kp_client *kp; /* owned */
	char *prov_name;               /* owned */
	char *prov_param;              /* owned */
};

extern char **environ;

static bool image_tty;

static void
progress(void *ctx, const char *what, int64_t done, int64_t total)
{
	(void)ctx;
	if (!image_tty)
		return;
	if (total > 0)
		fprintf(stderr, "\r%.19s  %lld/%lld bytes%s", what,
		    (long long)done, (long long)total,
		    done >= total ? "\n" : "");
}

static void
args_cleanup(struct image_args *a)
{
	size_t i;

	free(a->creds_user);
	if (a->creds_pass != NULL)
		core_wipe(a->creds_pass, strlen(a->creds_pass));
	free(a->creds_pass);
	for (i = 0; i < a->njwe; i++)
		crypto_key_free(a->jwe[i]);
	free(a->coco_kid);
	secret_free(a->coco_kek);
	for (i = 0; i < a->nkeks; i++)
		secret_free(a->keks[i]);
	ocicrypt_kp_client_free(a->kp);
	free(a->prov_name);
	free(a->prov_param);
}

/* provider:NAME[:REST] handled by a configured external provider. */
static bool
use_external(struct image_args *a, const char *v)
{
	const char *name = v + 9, *colon = strchr(name, ':');
	char *n = colon != NULL ? strndup(name, (size_t)(colon - name))
	                        : strdup(name);

	if (n == NULL || !ocicrypt_kp_client_has(a->kp, n)) {
		free(n);
		return false;
	}
	free(a->prov_name);
	free(a->prov_param);
	a->prov_name = n;
	a->prov_param = colon != NULL ? strdup(colon + 1) : NULL;
	return true;
}

/* Bare references mean docker://. Returns a malloc'd spec. */
static char *
to_spec(const char *s)
{
	size_t n;
	char *r;

	if (strncmp(s, "docker://", 9) == 0 || strncmp(s, "oci:", 4) == 0 ||
	    strncmp(s, "dir:", 4) == 0)
		return strdup(s);
	n = strlen(s) + 10;
	if ((r = malloc(n)) != NULL)
		snprintf(r, n, "docker://%s", s);
	return r;
}

/* The layout directory of an oci:/dir: spec (malloc'd), else NULL. */
static char *
spec_dir(const char *spec)
{
	if (strncmp(spec, "dir:", 4) == 0)
		return strdup(spec + 4);
	if (strncmp(spec, "oci:", 4) == 0)
		return strndup(spec + 4, strcspn(spec + 4, ":"));
	return NULL;
}

/* --key provider:attestation-agent:keypath=F::keyid=K | jwe:PUB.pem */
static enum core_err
parse_enc_key(struct image_args *a, const char *v, struct core_errbuf *eb)
{
	enum core_err err;

	if (strncmp(v, "jwe:", 4) == 0) {
		if (a->njwe == IMAGE_MAX_KEYS)
			return core_errf(eb, CORE_ERR_TOO_BIG, "too many keys");
		err = crypto_key_load_file(v + 4, &a->jwe[a->njwe], eb);
		if (err != CORE_OK) {
			core_errbuf_prefix(eb, "--key %s", v);
			return err;
		}
		a->njwe++;
		return CORE_OK;
	}
	if (strncmp(v, "provider:", 9) == 0 && use_external(a, v))
		return CORE_OK;
	if (strncmp(v, "provider:", 9) == 0) {
		const char *rest = strchr(v + 9, ':');
		const char *p;
		char *keypath = NULL;

		if (rest == NULL)
			return core_errf(eb, CORE_ERR_INVALID,
			    "--key %s: want provider:NAME:keypath=F::keyid=K",
			    v);
		for (p = rest + 1; *p != '\0';) {
			const char *sep = strstr(p, "::");
			size_t il = sep != NULL ? (size_t)(sep - p) : strlen(p);

			if (il > 8 && strncmp(p, "keypath=", 8) == 0) {
				free(keypath);
				keypath = strndup(p + 8, il - 8);
			} else if (il > 6 && strncmp(p, "keyid=", 6) == 0) {
				free(a->coco_kid);
				a->coco_kid = strndup(p + 6, il - 6);
			} else if (il > 10 &&
			    strncmp(p, "algorithm=", 10) == 0) {
				if (il != 17 || strncmp(p + 10, "A256GCM", 7)) {
					free(keypath);
					return core_errf(eb,
					    CORE_ERR_UNSUPPORTED,
					    "--key: only algorithm=A256GCM");
				}
			}
			p += il;
			if (*p == ':')
				p += 2;
		}
		if (keypath == NULL || a->coco_kid == NULL) {
			free(keypath);
			return core_errf(eb, CORE_ERR_INVALID,
			    "--key %s: needs keypath= and keyid=", v);
		}
		secret_free(a->coco_kek);
		err = ocicrypt_kek_load(keypath, &a->coco_kek, eb);
		free(keypath);
		return err;
	}
	return core_errf(eb, CORE_ERR_INVALID,
	    "--key %s: want jwe:FILE or provider:NAME:keypath=F::keyid=K", v);
}

static enum core_err
parse_dec_key(struct image_args *a, const char *v, struct core_errbuf *eb)
{
	enum core_err err;

	if (strncmp(v, "provider:", 9) == 0) {
		if (use_external(a, v))
			return CORE_OK;
		return core_errf(eb, CORE_ERR_NOT_FOUND,
		    "--key %s: key provider not configured (set "
		    "OCICRYPT_KEYPROVIDER_CONFIG), or use --kek FILE",
		    v);
	}
	if (strncmp(v, "jwe:", 4) == 0)
		v += 4;
	if (a->njwe == IMAGE_MAX_KEYS)
		return core_errf(eb, CORE_ERR_TOO_BIG, "too many keys");
	if ((err = crypto_key_load_file(v, &a->jwe[a->njwe], eb)) != CORE_OK) {
		core_errbuf_prefix(eb, "--key %s", v);
		return err;
	}
	if (!crypto_key_is_private(a->jwe[a->njwe])) {
		crypto_key_free(a->jwe[a->njwe]);
		return core_errf(
		    eb, CORE_ERR_INVALID, "--key %s: not a private key", v);
	}
	a->njwe++;
	return CORE_OK;
}

enum {
	OPT_CREDS = 1000,
	OPT_AUTHFILE,
	OPT_TLS,
	OPT_JSON,
	OPT_KEY,
	OPT_KEK,
	OPT_LAYER,
	OPT_CHUNK,
	OPT_CA
};

static const struct option image_longopts[] = {
    {"creds", required_argument, NULL, OPT_CREDS},
    {"authfile", required_argument, NULL, OPT_AUTHFILE},
    {"tls-verify", required_argument, NULL, OPT_TLS},
    {"ca-file", required_argument, NULL, OPT_CA},
    {"json", no_argument, NULL, OPT_JSON},
    {"key", required_argument, NULL, OPT_KEY},
    {"kek", required_argument, NULL, OPT_KEK},
    {"encrypt-layer", required_argument, NULL, OPT_LAYER},
    {"chunk-size", required_argument, NULL, OPT_CHUNK},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static void
image_usage(FILE *f)
{
	fprintf(f,
	    "usage: propeller image push FILE.wasm REF\n"
	    "       propeller image pull [--key jwe:PRIV.pem] [--kek FILE] SRC "
	    "OUT.wasm\n"
	    "       propeller image copy SRC DST\n"
	    "       propeller image encrypt --key provider:attestation-agent:"
	    "keypath=FILE::keyid=kbs:///r/t/n | --key jwe:PUB.pem "
	    "[--encrypt-layer N] SRC DST\n"
	    "       propeller image decrypt --key jwe:PRIV.pem | --kek FILE "
	    "SRC DST\n"
	    "       propeller image inspect [--json] REF\n"
	    "locations: docker://REF (or a bare REF), oci:DIR[:TAG], dir:DIR\n"
	    "common: --creds USER:PASS --authfile FILE --tls-verify=false "
	    "--ca-file FILE --chunk-size BYTES --json\n"
	    "--key provider:NAME[:PARAMS] uses the cmd provider NAME of "
	    "OCICRYPT_KEYPROVIDER_CONFIG when it is configured\n");
}

static int
parse_args(
    int argc, char **argv, struct image_args *a, int *first, bool decrypt)
{
	struct core_errbuf eb;
	int c;
	int64_t v;
	const char *env;

	memset(a, 0, sizeof(*a));
	a->opts.progress = progress;
	a->opts.timeout_ms = 120000;
	env = getenv("REGISTRY_AUTH_FILE");
	if (env != NULL && *env != '\0')
		a->opts.authfile = env;
	env = getenv("OCICRYPT_KEYPROVIDER_CONFIG");
	if (env != NULL && *env != '\0' && core_fs_exists(env)) {
		core_errbuf_clear(&eb);
		if (ocicrypt_kp_client_load(env, (const char *const *)environ,
		        &a->kp, &eb) != CORE_OK) {
			log_errorx("OCICRYPT_KEYPROVIDER_CONFIG: %s",
			    core_errbuf_msg(&eb));
			return CLI_EXIT_USAGE;
		}
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", image_longopts, NULL)) != -1) {
		core_errbuf_clear(&eb);
		switch (c) {
		case OPT_CREDS: {
			const char *colon = strchr(optarg, ':');

			free(a->creds_user);
			free(a->creds_pass);
			a->creds_user = colon != NULL
			    ? strndup(optarg, (size_t)(colon - optarg))
			    : strdup(optarg);
			a->creds_pass = strdup(colon != NULL ? colon + 1 : "");
			a->opts.username = a->creds_user;
			a->opts.password = a->creds_pass;
			break;
		}
		case OPT_AUTHFILE:
			a->opts.authfile = optarg;
			break;
		case OPT_CA:
			a->opts.ca_file = optarg;
			break;
		case OPT_TLS: {
			bool on;

			if (core_parse_bool(optarg, &on) != CORE_OK) {
				log_errorx("--tls-verify: want true or false "
				           "(got \"%s\")",
				    optarg);
				return CLI_EXIT_USAGE;
			}
			a->opts.tls_verify_off = !on;
			break;
		}
		case OPT_JSON:
			a->json = true;
			break;
		case OPT_KEY:
			if ((decrypt ? parse_dec_key(a, optarg, &eb)
			             : parse_enc_key(a, optarg, &eb)) !=
			    CORE_OK) {
				log_errorx("%s", core_errbuf_msg(&eb));
				return CLI_EXIT_USAGE;
			}
			break;
		case OPT_KEK:
			if (a->nkeks == IMAGE_MAX_KEYS ||
			    ocicrypt_kek_load(
			        optarg, &a->keks[a->nkeks], &eb) != CORE_OK) {
				log_errorx("--kek %s: %s", optarg,
				    core_errbuf_msg(&eb));
				return CLI_EXIT_USAGE;
			}
			a->nkeks++;
			break;
		case OPT_LAYER:
			if (a->nlayers == IMAGE_MAX_LAYERS ||
			    core_parse_int(optarg, -4096, 4096, &v) !=
			        CORE_OK) {
				log_errorx("--encrypt-layer: want an index "
				           "(got \"%s\")",
				    optarg);
				return CLI_EXIT_USAGE;
			}
			a->layers[a->nlayers++] = (int)v;
			break;
		case OPT_CHUNK:
			if (core_parse_int(optarg, 1, 1 << 30, &v) != CORE_OK) {
				log_errorx("--chunk-size: want bytes (got "
				           "\"%s\")",
				    optarg);
				return CLI_EXIT_USAGE;
			}
			a->opts.chunk_bytes = (size_t)v;
			break;
		case 'h':
			image_usage(stdout);
			return -1;
		default:
			image_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	*first = optind;
	return 0;
}

static int
fail(const char *what, struct core_errbuf *eb)
{
	log_errorx("%s: %s", what, core_errbuf_msg(eb));
	return CLI_EXIT_FAIL;
}

/* Opens src and dst; remembers whether dst's directory is new. */
static enum core_err
open_pair(const char *s, const char *d, const struct oci_opts *o,
    struct oci_store **src, struct oci_store **dst, char **newdir,
    struct core_errbuf *eb)
{
	char *ss = to_spec(s), *ds = to_spec(d), *dir;
	enum core_err err;

	*src = *dst = NULL;
	*newdir = NULL;
	if (ss == NULL || ds == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	if ((err = oci_store_open(ss, o, false, src, eb)) != CORE_OK)
		goto out;
	dir = spec_dir(ds);
	if (dir != NULL && !core_fs_exists(dir))
		*newdir = dir;
	else
		free(dir);
	err = oci_store_open(ds, o, true, dst, eb);
out:
	free(ss);
	free(ds);
	return err;
}

/* On failure a destination directory we created is removed, so nothing
 * (no partial image, no plaintext) is left behind. */
static void
close_pair(
    struct oci_store *src, struct oci_store *dst, char *newdir, bool failed)
{
	oci_store_free(src);
	oci_store_free(dst);
	if (failed && newdir != NULL)
		core_fs_rmtree(newdir, NULL);
	free(newdir);
}

static void
print_done(const struct image_args *a, const char *op, const char *dst)
{
	if (a->json)
		printf("{\"op\":\"%s\",\"destination\":\"%s\",\"ok\":true}\n",
		    op, dst);
	else
		printf("%s: wrote %s\n", op, dst);
}

static int
do_copy(struct image_args *a, int argc, char **argv, const char *op)
{
	struct oci_store *src = NULL, *dst = NULL;
	char *newdir = NULL;
	struct core_errbuf eb;
	enum core_err err;
	struct ocicrypt_enc_config ec;
	struct ocicrypt_keys keys;

	if (argc != 2) {
		image_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	core_errbuf_clear(&eb);
	err = open_pair(argv[0], argv[1], &a->opts, &src, &dst, &newdir, &eb);
	if (err == CORE_OK && strcmp(op, "copy") == 0) {
		err = oci_copy(src, dst, &eb);
	} else if (err == CORE_OK && strcmp(op, "encrypt") == 0) {
		memset(&ec, 0, sizeof(ec));
		ec.jwe_pubkeys = (const struct crypto_key *const *)a->jwe;
		ec.njwe = a->njwe;
		ec.coco_kid = a->coco_kid;
		ec.coco_kek = a->coco_kek;
		ec.layers = a->nlayers > 0 ? a->layers : NULL;
		ec.nlayers = a->nlayers;
		ec.providers = a->kp;
		ec.provider_name = a->prov_name;
		ec.provider_param = a->prov_param;
		err = ocicrypt_image_encrypt(src, dst, &ec, &eb);
	} else if (err == CORE_OK) {
		memset(&keys, 0, sizeof(keys));
		keys.jwe_keys = (const struct crypto_key *const *)a->jwe;
		keys.njwe_keys = a->njwe;
		keys.keks = (const struct secret *const *)a->keks;
		keys.nkeks = a->nkeks;
		keys.providers = a->kp;
		keys.provider_name = a->prov_name;
		keys.provider_param = a->prov_param;
		if (a->njwe == 0 && a->nkeks == 0 && a->prov_name == NULL) {
			err = core_errf(&eb, CORE_ERR_INVALID,
			    "decrypt: give --key jwe:PRIV.pem or --kek FILE");
		} else {
			err = ocicrypt_image_decrypt(src, dst, &keys, &eb);
		}
	}
	close_pair(src, dst, newdir, err != CORE_OK);
	if (err != CORE_OK)
		return fail(op, &eb);
	print_done(a, op, argv[1]);
	return CLI_EXIT_OK;
}

static int
do_push(struct image_args *a, int argc, char **argv)
{
	uint8_t *wasm = NULL;
	size_t n = 0;
	char cd[OCI_DIGEST_LEN + 1], ld[OCI_DIGEST_LEN + 1];
	struct oci_store *dst = NULL;
	struct oci_blob_src cfg = {-1, (const uint8_t *)"{}", 2}, lay;
	json_t *m = NULL;
	char *text = NULL, *spec = NULL, *dir = NULL;
	struct core_errbuf eb;
	enum core_err err;
	bool created = false;

	if (argc != 2) {
		image_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	core_errbuf_clear(&eb);
	if ((err = core_fs_read(argv[0], IMAGE_WASM_MAX, &wasm, &n, &eb)) !=
	    CORE_OK)
		return fail("push", &eb);
	if (n < 8 || memcmp(wasm, "\0asm", 4) != 0) {
		free(wasm);
		log_errorx("push: %s is not a WebAssembly module", argv[0]);
		return CLI_EXIT_FAIL;
	}
	oci_digest_of("{}", 2, cd);
	oci_digest_of(wasm, n, ld);
	m = json_pack("{s:i,s:s,s:{s:s,s:s,s:i},s:[{s:s,s:s,s:I,s:{s:s}}]}",
	    "schemaVersion", 2, "mediaType", OCI_MT_MANIFEST, "config",
	    "mediaType", OCI_MT_WASM_CONFIG, "digest", cd, "size", 2, "layers",
	    "mediaType", OCI_MT_WASM_LAYER, "digest", ld, "size", (json_int_t)n,
	    "annotations", OCI_ANNOT_TITLE, argv[0]);
	if (m == NULL || (text = core_json_dumps(m)) == NULL ||
	    (spec = to_spec(argv[1])) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	dir = spec_dir(spec);
	created = dir != NULL && !core_fs_exists(dir);
	if ((err = oci_store_open(spec, &a->opts, true, &dst, &eb)) != CORE_OK)
		goto out;
	lay.fd = -1;
	lay.mem = wasm;
	lay.len = n;
	if ((err = oci_store_put_blob(dst, cd, 2, &cfg, &eb)) != CORE_OK ||
	    (err = oci_store_put_blob(dst, ld, (int64_t)n, &lay, &eb)) !=
	        CORE_OK ||
	    (err = oci_store_put_manifest(
	         dst, text, strlen(text), OCI_MT_MANIFEST, &eb)) != CORE_OK ||
	    (err = oci_store_commit(dst, &eb)) != CORE_OK)
		goto out;
	{
		char md[OCI_DIGEST_LEN + 1];

		oci_digest_of(text, strlen(text), md);
		if (a->json)
			printf("{\"digest\":\"%s\",\"layer\":\"%s\",\"size\":"
			       "%zu}\n",
			    md, ld, n);
		else
			printf("pushed %s@%s\n", argv[1], md);
	}
out:
	oci_store_free(dst);
	if (err != CORE_OK && created)
		core_fs_rmtree(dir, NULL);
	free(dir);
	free(spec);
	free(text);
	json_decref(m);
	free(wasm);
	return err != CORE_OK ? fail("push", &eb) : CLI_EXIT_OK;
}

static int
do_pull(struct image_args *a, int argc, char **argv)
{
	struct ocicrypt_keys keys;
	uint8_t *mod = NULL;
	size_t n = 0;
	char *spec;
	struct core_errbuf eb;
	enum core_err err;

	if (argc != 2) {
		image_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	memset(&keys, 0, sizeof(keys));
	keys.jwe_keys = (const struct crypto_key *const *)a->jwe;
	keys.njwe_keys = a->njwe;
	keys.keks = (const struct secret *const *)a->keks;
	keys.nkeks = a->nkeks;
	keys.providers = a->kp;
	keys.provider_name = a->prov_name;
	keys.provider_param = a->prov_param;
	if ((spec = to_spec(argv[0])) == NULL)
		return CLI_EXIT_FAIL;
	core_errbuf_clear(&eb);
	err = ocicrypt_pull_module(
	    spec, &a->opts, &keys, IMAGE_WASM_MAX, &mod, &n, &eb);
	free(spec);
	if (err == CORE_OK)
		err = core_fs_write_atomic(argv[1], mod, n, 0644, &eb);
	if (mod != NULL)
		core_wipe(mod, n);
	free(mod);
	if (err != CORE_OK)
		return fail("pull", &eb);
	if (a->json)
		printf("{\"file\":\"%s\",\"size\":%zu}\n", argv[1], n);
	else
		printf("pulled %zu bytes into %s\n", n, argv[1]);
	return CLI_EXIT_OK;
}

static json_t *
inspect_layer(const struct oci_desc *d)
{
	json_t *o = json_pack("{s:s,s:s,s:I,s:b}", "mediaType", d->media_type,
	    "digest", d->digest, "size", (json_int_t)d->size, "encrypted",
	    ocicrypt_media_encrypted(d->media_type));
	struct ocicrypt_keyreq *r = NULL;
	size_t n = 0, i;
	json_t *keys;

	if (o == NULL)
		return NULL;
	if (d->annotations != NULL)
		json_object_set(o, "annotations", d->annotations);
	if (ocicrypt_media_encrypted(d->media_type) &&
	    ocicrypt_layer_keyreqs(d, &r, &n, NULL) == CORE_OK) {
		keys = json_array();
		for (i = 0; keys != NULL && i < n; i++) {
			json_t *k = json_pack("{s:s}", "scheme", r[i].scheme);

			if (k == NULL)
				continue;
			if (r[i].kid != NULL)
				json_object_set_new(
				    k, "kid", json_string(r[i].kid));
			if (r[i].alg != NULL)
				json_object_set_new(
				    k, "alg", json_string(r[i].alg));
			json_array_append_new(keys, k);
		}
		if (keys != NULL)
			json_object_set_new(o, "keys", keys);
		ocicrypt_keyreqs_free(r, n);
	}
	return o;
}

static int
do_inspect(struct image_args *a, int argc, char **argv)
{
	struct oci_store *st = NULL;
	struct oci_manifest *m = NULL;
	struct core_errbuf eb;
	enum core_err err;
	char *spec;
	json_t *out = NULL, *layers;
	size_t i;

	if (argc != 1) {
		image_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if ((spec = to_spec(argv[0])) == NULL)
		return CLI_EXIT_FAIL;
	core_errbuf_clear(&eb);
	if ((err = oci_store_open(spec, &a->opts, false, &st, &eb)) !=
	        CORE_OK ||
	    (err = oci_store_get_image(st, NULL, NULL, &m, &eb)) != CORE_OK)
		goto out;
	out = json_pack("{s:s,s:s,s:s,s:s,s:s}", "name", argv[0], "digest",
	    m->digest, "mediaType", m->media_type, "configMediaType",
	    m->config.media_type, "configDigest", m->config.digest);
	layers = json_array();
	if (out == NULL || layers == NULL) {
		json_decref(layers);
		err = CORE_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < m->nlayers; i++)
		json_array_append_new(layers, inspect_layer(&m->layers[i]));
	json_object_set_new(out, "layers", layers);
	if (a->json) {
		char *s = json_dumps(out, JSON_INDENT(2));

		if (s != NULL)
			printf("%s\n", s);
		free(s);
	} else {
		printf("Name:      %s\nDigest:    %s\nMediaType: %s\n"
		       "Config:    %s %s\nLayers:\n",
		    argv[0], m->digest, m->media_type, m->config.media_type,
		    m->config.digest);
		for (i = 0; i < m->nlayers; i++) {
			const struct oci_desc *d = &m->layers[i];
			struct ocicrypt_keyreq *r = NULL;
			size_t n = 0, k;

			printf("  [%zu] %s\n      %s %lld bytes\n", i,
			    d->media_type, d->digest, (long long)d->size);
			if (!ocicrypt_media_encrypted(d->media_type) ||
			    ocicrypt_layer_keyreqs(d, &r, &n, NULL) != CORE_OK)
				continue;
			for (k = 0; k < n; k++)
				printf("      key: %s%s%s%s%s\n", r[k].scheme,
				    r[k].kid ? " kid=" : "",
				    r[k].kid ? r[k].kid : "",
				    r[k].alg ? " alg=" : "",
				    r[k].alg ? r[k].alg : "");
			ocicrypt_keyreqs_free(r, n);
		}
	}
out:
	json_decref(out);
	oci_manifest_free(m);
	oci_store_free(st);
	free(spec);
	return err != CORE_OK ? fail("inspect", &eb) : CLI_EXIT_OK;
}

static int
image_main(int argc, char **argv)
{
	struct image_args a;
	const char *sub;
	int first = 0, rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		image_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	sub = argv[1];
	image_tty = isatty(STDERR_FILENO) == 1;
	rc = parse_args(argc - 1, argv + 1, &a, &first,
	    strcmp(sub, "decrypt") == 0 || strcmp(sub, "pull") == 0);
	if (rc != 0) {
		args_cleanup(&a);
		return rc < 0 ? CLI_EXIT_OK : rc;
	}
	if (a.json)
		image_tty = false;
	argc -= first + 1;
	argv += first + 1;
	if (strcmp(sub, "push") == 0)
		rc = do_push(&a, argc, argv);
	else if (strcmp(sub, "pull") == 0)
		rc = do_pull(&a, argc, argv);
	else if (strcmp(sub, "copy") == 0 || strcmp(sub, "decrypt") == 0)
		rc = do_copy(&a, argc, argv, sub);
	else if (strcmp(sub, "encrypt") == 0) {
		if (a.njwe == 0 && a.coco_kid == NULL && a.prov_name == NULL) {
			log_errorx(
			    "encrypt: give --key jwe:PUB.pem or --key "
			    "provider:attestation-agent:keypath=F::keyid=K");
			rc = CLI_EXIT_USAGE;
		} else {
			rc = do_copy(&a, argc, argv, sub);
		}
	} else if (strcmp(sub, "inspect") == 0)
		rc = do_inspect(&a, argc, argv);
	else {
		log_errorx("unknown image command \"%s\"", sub);
		image_usage(stderr);
		rc = CLI_EXIT_USAGE;
	}
	args_cleanup(&a);
	return rc;
}

const struct cli_command cli_cmd_image = {"image",
    "OCI images: push, pull, copy, encrypt, decrypt, inspect", image_main};
