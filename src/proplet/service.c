/*
 * service.c -- the proplet's control plane: MQTT messages in, tasks run in
 * isolated child processes through the engine, results out (spec
 * propeller-wire.md §5–§7). Every message is handled without blocking the
 * MQTT thread: each task gets its own thread that waits on its child.
 */
#define LOG_MODULE "proplet"
#include "proplet/internal.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "tee/tee.h"
#include "wasm/wasm.h"

#define CHUNK_SWEEP_MS 60000
#define STOPPED_FMT "Task %s was stopped before completion"
/* Parsed `file` modules kept for repeated starts (see modcache_get). */
#define MODCACHE_MAX_ENTRIES 8
#define MODCACHE_MAX_BYTES (16u * 1024 * 1024)
#define MODCACHE_IDLE_MS 60000

/*
 * A module parsed from a start message's `file`, keyed by the base64 text
 * itself, so a repeated start skips base64, sha256 and parsing. Shared
 * read-only by the tasks holding a reference.
 */
struct modcache_ent {
	char *text;              /* owned: the base64 `file` value */
	size_t len;
	struct wasm_module *mod; /* owned */
	int refs;                /* guarded by p->lock; tasks using mod */
	bool dropped;            /* guarded by p->lock; freed at refs == 0 */
	int64_t used_ms;         /* guarded by p->lock */
	struct modcache_ent *next; /* guarded by p->lock */
};

struct ptask {
	struct mqtt_start msg;   /* owned: the start message */
	struct proplet *p;       /* borrowed */
	struct wasm_task *wt;    /* guarded by p->lock; the running engine task
	                          * (a one-shot child or a worker), NULL when
	                          * none; freed by task_main only after it is
	                          * cleared here */
	bool stop_requested;     /* guarded by p->lock */
	struct ptask *next;      /* guarded by p->lock */
};

/* A module kept for a latent task until it is invoked. */
struct latent {
	char *id;                /* owned */
	struct wasm_module *mod; /* owned */
	bool encrypted;
	struct latent *next;
};

struct proplet {
	const struct proplet_config *cfg; /* borrowed */
	struct mqtt_client *mqtt;         /* owned */
	struct proplet_chunks *chunks;    /* owned */
	struct tee_detection tee;
	enum tee_kind attester;           /* TEE_NONE: no TEE runtime */

	/* Topics, built once. */
	char t_create[MQTT_TOPIC_MAX], t_alive[MQTT_TOPIC_MAX];
	char t_start[MQTT_TOPIC_MAX], t_stop[MQTT_TOPIC_MAX];
	char t_invoke[MQTT_TOPIC_MAX], t_results[MQTT_TOPIC_MAX];
	char t_invoke_results[MQTT_TOPIC_MAX], t_metrics[MQTT_TOPIC_MAX];
	char t_chunk[MQTT_TOPIC_MAX], t_chunk_req[MQTT_TOPIC_MAX];

	pthread_mutex_t lock;
	pthread_cond_t idle;     /* signalled when nthreads drops */
	struct ptask *running;   /* guarded by lock */
	struct latent *latents;  /* guarded by lock */
	int nthreads;            /* guarded by lock */

	char *secure_cache;      /* owned: private memory-backed tier-2 cache
	                          * for encrypted modules, removed on exit */
	struct wasm_pool *pool;  /* owned: persistent workers; NULL when
	                          * PROPLET_WASM_WORKERS=0 */
	struct modcache_ent *modcache; /* guarded by lock; owned */
	size_t modcache_bytes;   /* guarded by lock */
	struct core_waker wake;  /* proplet_stop() wakes the main loop */
	volatile sig_atomic_t stopping;
	int64_t cpu_prev_us, cpu_prev_at_ms;
};

/* ------------------------------------------------------------------ */
/* Publishing                                                          */
/* ------------------------------------------------------------------ */

/* Copies bytes into valid UTF-8, replacing bad sequences with U+FFFD. */
STATIC char *
utf8_lossy(const uint8_t *p, size_t n)
{
	struct core_buf b;
	size_t i = 0;

	core_buf_init(&b, 0);
	while (i < n) {
		uint8_t c = p[i];
		size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 :
		    (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		bool ok = len > 0 && i + len <= n && c != 0;
		size_t k;

		for (k = 1; ok && k < len; k++)
			ok = (p[i + k] & 0xc0) == 0x80;
		if (ok && len == 2)
			ok = c >= 0xc2;
		if (ok && len == 3) {
			uint32_t cp = (uint32_t)(c & 0x0f) << 12 |
			    (uint32_t)(p[i + 1] & 0x3f) << 6 | (p[i + 2] & 0x3f);

			ok = cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff);
		}
		if (ok && len == 4) {
			uint32_t cp = (uint32_t)(c & 0x07) << 18 |
			    (uint32_t)(p[i + 1] & 0x3f) << 12 |
			    (uint32_t)(p[i + 2] & 0x3f) << 6 | (p[i + 3] & 0x3f);

			ok = cp >= 0x10000 && cp <= 0x10ffff;
		}
		if (ok) {
			core_buf_append(&b, p + i, len);
			i += len;
		} else {
			core_buf_append(&b, "\xef\xbf\xbd", 3);
			i++;
		}
	}
	return (char *)core_buf_steal(&b, NULL);
}

/*
 * Publishes a message that must not be lost: while the broker is away the
 * client reconnects on its own, so retry until it is back or we stop.
 */
#define PUBLISH_RETRY_MS 250
#define PUBLISH_RETRY_MAX_MS (10 * 60 * 1000)

static enum core_err
publish_reliably(struct proplet *p, const char *topic, const char *payload,
    struct core_errbuf *eb)
{
	int64_t deadline = core_mono_ms() + PUBLISH_RETRY_MAX_MS;
	enum core_err err;

	for (;;) {
		core_errbuf_clear(eb);
		err = mqtt_client_publish(p->mqtt, topic, payload, strlen(payload),
		    eb);
		if (err != CORE_ERR_NET || p->stopping ||
		    core_mono_ms() >= deadline)
			return err;
		usleep(PUBLISH_RETRY_MS * 1000);
	}
}

static void
publish_result(struct proplet *p, const char *task_id, const char *results,
    const char *error)
{
	struct mqtt_result r;
	struct core_errbuf eb;
	char *payload = NULL;

	memset(&r, 0, sizeof(r));
	core_errbuf_clear(&eb);
	r.task_id = (char *)task_id;
	r.proplet_id = p->cfg->entity_id;
	r.results = json_string(error != NULL ? "" : (results != NULL ? results : ""));
	r.error = (char *)error;
	if (r.results == NULL ||
	    mqtt_result_encode(&r, &payload, &eb) != CORE_OK ||
	    publish_reliably(p, p->t_results, payload, &eb) != CORE_OK) {
		char f[96];

		snprintf(f, sizeof(f), "task=%s", task_id);
		log_kv(LOG_LEVEL_ERROR, f, "publishing the result failed: %s",
		    eb.msg);
	}
	json_decref(r.results);
	free(payload);
}

static void
publish_invoke_result(struct proplet *p, const char *task_id,
    const char *invocation_id, const char *results, const char *error)
{
	struct mqtt_invoke_result r;
	struct core_errbuf eb;
	char *payload = NULL;

	memset(&r, 0, sizeof(r));
	core_errbuf_clear(&eb);
	r.task_id = (char *)task_id;
	r.invocation_id = (char *)invocation_id;
	r.proplet_id = p->cfg->entity_id;
	r.results = (char *)(results != NULL ? results : "");
	r.error = (char *)error;
	if (mqtt_invoke_result_encode(&r, &payload, &eb) != CORE_OK ||
	    publish_reliably(p, p->t_invoke_results, payload, &eb) != CORE_OK)
		log_errorx("task %s: publishing the invoke result failed: %s",
		    task_id, eb.msg);
	free(payload);
}

/* ------------------------------------------------------------------ */
/* Running a module                                                    */
/* ------------------------------------------------------------------ */

/* The export a plain in-process task calls: name, else main, run, _start. */
static const char *
pick_export(const struct wasm_module *m, const char *name)
{
	static const char *const fallbacks[] = { "main", "run", "_start" };
	size_t i;

	if (name != NULL && strcmp(name, "_start") != 0 &&
	    wasm_module_export_functype(m, name) != NULL)
		return name;
	for (i = 0; i < CORE_ARRAY_LEN(fallbacks); i++)
		if (wasm_module_export_functype(m, fallbacks[i]) != NULL)
			return fallbacks[i];
	return NULL;
}

/* Builds "K=V" entries: task env, cli --env, then PROPLET_ID if absent. */
static char **
build_env(const struct proplet *p, const struct mqtt_env *env,
    const struct proplet_invocation *inv, size_t *n_out)
{
	size_t n = env->n + inv->nenv + 1, k = 0, i;
	char **v = calloc(n, sizeof(*v));
	bool have_id = false;

	if (v == NULL)
		return NULL;
	for (i = 0; i < env->n; i++) {
		size_t len = strlen(env->keys[i]) + strlen(env->values[i]) + 2;

		if ((v[k] = malloc(len)) == NULL)
			goto fail;
		snprintf(v[k++], len, "%s=%s", env->keys[i], env->values[i]);
		have_id = have_id || strcmp(env->keys[i], "PROPLET_ID") == 0;
	}
	for (i = 0; i < inv->nenv; i++) {
		if ((v[k++] = strdup(inv->env[i])) == NULL)
			goto fail;
		have_id = have_id || strncmp(inv->env[i], "PROPLET_ID=", 11) == 0;
	}
	if (!have_id) {
		size_t len = strlen(p->cfg->entity_id) + 12;

		if ((v[k] = malloc(len)) == NULL)
			goto fail;
		snprintf(v[k++], len, "PROPLET_ID=%s", p->cfg->entity_id);
	}
	*n_out = k;
	return v;
fail:
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return NULL;
}

static void
free_env(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * Turns an engine result into the result string or error of spec §6.3–6.4.
 * *results / *error are malloc'd (one of them is set).
 */
STATIC void
render_outcome(const char *task_id, const struct wasm_result *r,
    bool cli_style, char **results, char **error)
{
	char msg[1024];

	*results = NULL;
	*error = NULL;
	switch (r->outcome) {
	case WASM_OUT_EXITED:
		if (r->exit_code != 0) {
			char *err_text = utf8_lossy(r->err.data, r->err.len);

			snprintf(msg, sizeof(msg),
			    "Process exited with status: %d, stderr: %s",
			    r->exit_code, err_text != NULL ? err_text : "");
			free(err_text);
			*error = strdup(msg);
			return;
		}
		*results = utf8_lossy(r->out.data, r->out.len);
		return;
	case WASM_OUT_RETURNED:
		if (r->tier_used == WASM_TIER_EXTERNAL) {
			/* The external runtime printed the values itself. */
			*results = utf8_lossy(r->out.data, r->out.len);
		} else if (cli_style) {
			struct core_buf b;

			core_buf_init(&b, 0);
			core_buf_append(&b, r->out.data, r->out.len);
			if (r->results != NULL && *r->results != '\0') {
				core_buf_append_str(&b, r->results);
				if (b.data[b.len - 1] != '\n')
					core_buf_append(&b, "\n", 1);
			}
			*results = utf8_lossy(b.data, b.len);
			core_buf_cleanup(&b);
		} else {
			/* The first return value, as upstream's in-process path. */
			const char *v = r->results != NULL ? r->results : "";

			*results = strndup(v, strcspn(v, "\n"));
		}
		return;
	case WASM_OUT_TRAPPED:
		snprintf(msg, sizeof(msg), "wasm trap: %s", wasm_trap_str(r->trap));
		break;
	case WASM_OUT_TIMEOUT:
		snprintf(msg, sizeof(msg), "task timed out after %lld ms",
		    (long long)r->run_ms);
		break;
	case WASM_OUT_KILLED:
		snprintf(msg, sizeof(msg), STOPPED_FMT, task_id);
		break;
	case WASM_OUT_CRASHED:
		snprintf(msg, sizeof(msg), "task process died (signal %d)",
		    r->term_signal);
		break;
	case WASM_OUT_FAILED:
	default:
		snprintf(msg, sizeof(msg), "%s", r->errmsg[0] != '\0' ?
		    r->errmsg : "the module could not be run");
		break;
	}
	*error = strdup(msg);
}

/* Obtains the module bytes of a start message (spec §6.2 step 4, §7). */
static enum core_err
fetch_module(struct proplet *p, const struct mqtt_start *m, uint8_t **out,
    size_t *len, struct core_errbuf *eb)
{
	if (m->encrypted) {
		struct proplet_encrypted_req req = {
			.cfg = p->cfg,
			.image_url = m->image_url,
			.kbs_resource_path = m->kbs_resource_path,
			.tee_kind = (int)p->attester,
		};

		return proplet_encrypted_fetch(&req, out, len, eb);
	}
	if (m->file != NULL && *m->file != '\0') {
		enum core_err err = core_b64_decode(m->file, strlen(m->file), out,
		    len, eb);

		if (err != CORE_OK)
			core_errbuf_prefix(eb, "file");
		return err;
	}
	if (strncmp(m->image_url, "http://", 7) == 0 ||
	    strncmp(m->image_url, "https://", 8) == 0)
		return proplet_http_get(m->image_url, out, len, eb);
	if (p->cfg->fetch_mode == PROPLET_FETCH_DIRECT)
		return proplet_registry_pull(p->cfg, m->image_url, out, len, eb);
	{
		struct mqtt_chunk_request req = { .app_name = m->image_url };
		char *payload = NULL;
		enum core_err err;

		if ((err = mqtt_chunk_request_encode(&req, &payload, eb)) != CORE_OK)
			return err;
		err = mqtt_client_publish(p->mqtt, p->t_chunk_req, payload,
		    strlen(payload), eb);
		free(payload);
		if (err != CORE_OK)
			return err;
		return proplet_chunks_wait(p->chunks, m->image_url,
		    p->cfg->chunk_wait_ms, out, len, eb);
	}
}

/* ------------------------------------------------------------------ */
/* The start message's `file`: a fast lane and a module cache          */
/* ------------------------------------------------------------------ */

/* Nonzero if a byte of x is zero (exact as a whole, SWAR). */
#define SWAR_ONES 0x0101010101010101ull
#define SWAR_HIGHS 0x8080808080808080ull
#define SWAR_ZERO(x) (((x) - SWAR_ONES) & ~(x) & SWAR_HIGHS)
#define SWAR_HAS(x, c) SWAR_ZERO((x) ^ (SWAR_ONES * (uint64_t)(c)))

/* Skips a JSON string whose opening quote is at p[*i]; *i ends after the
 * closing quote. *plain: no escape and only printable ASCII inside. Plain
 * runs (a whole module as base64) are skipped eight bytes at a time. */
static bool
json_skip_string(const char *p, size_t n, size_t *i, bool *plain)
{
	size_t k = *i + 1;
	unsigned char c;
	uint64_t x;

	*plain = true;
	while (k < n) {
		if (*plain && n - k >= 8) {
			memcpy(&x, p + k, 8);
			if ((((x - SWAR_ONES * 0x20) & ~x & SWAR_HIGHS) |
			    (x & SWAR_HIGHS) | SWAR_HAS(x, '"') |
			    SWAR_HAS(x, '\\') | SWAR_HAS(x, 0x7f)) == 0) {
				k += 8;
				continue;
			}
		}
		c = (unsigned char)p[k];
		if (c == '"') {
			*i = k + 1;
			return true;
		}
		if (c == '\\') {
			*plain = false;
			k += 2;
			continue;
		}
		if (c < 0x20 || c > 0x7e)
			*plain = false;
		k++;
	}
	return false;
}

/*
 * Finds the string value of the top-level member "file" of the JSON object
 * in (p, n): *off and *len bound its contents (between the quotes). False
 * when there is none, or the value is not a plain string (escapes, bytes
 * outside printable ASCII), or the text is not an object this scanner can
 * follow; the caller then decodes the message the ordinary way. A value
 * found here is byte for byte what jansson would return for it.
 */
STATIC bool
start_file_span(const char *p, size_t n, size_t *off, size_t *len)
{
	size_t i = 0, ks, ke;
	int depth = 0;
	bool want_key = false, plain;

	while (i < n) {
		switch (p[i]) {
		case '"':
			ks = i;
			if (!json_skip_string(p, n, &i, &plain))
				return false;
			ke = i;
			if (depth != 1 || !want_key)
				break;
			want_key = false;
			while (i < n && (p[i] == ' ' || p[i] == '\t' ||
			    p[i] == '\n' || p[i] == '\r'))
				i++;
			if (i >= n || p[i] != ':')
				return false;
			if (ke - ks != 6 || memcmp(p + ks, "\"file\"", 6) != 0)
				break;
			i++;
			while (i < n && (p[i] == ' ' || p[i] == '\t' ||
			    p[i] == '\n' || p[i] == '\r'))
				i++;
			if (i >= n || p[i] != '"')
				return false;
			ks = i;
			if (!json_skip_string(p, n, &i, &plain) || !plain)
				return false;
			*off = ks + 1;
			*len = i - 1 - (ks + 1);
			return true;
		case '{':
		case '[':
			if (++depth > 64)
				return false;
			want_key = depth == 1 && p[i] == '{';
			i++;
			break;
		case '}':
		case ']':
			depth--;
			i++;
			break;
		case ',':
			want_key = depth == 1;
			i++;
			break;
		default:
			i++;
		}
	}
	return false;
}

/*
 * mqtt_start_decode, with the fast lane: jansson copies a long string at
 * ~15 ns a byte (~300 us for a 15 KB module as base64, more than running
 * it), so when start_file_span finds a plain `file` value the message is
 * decoded with that value cut out and the value is copied as is. Any
 * failure of the reduced message is reported by decoding the original, so
 * the errors are unchanged.
 */
/* Shorter values are not worth the second pass (tests lower it). */
STATIC size_t start_fast_min = 4096;

STATIC enum core_err
start_decode(const void *payload, size_t n, struct mqtt_start *m,
    struct core_errbuf *eb)
{
	const char *p = payload;
	size_t off = 0, len = 0;
	char *reduced = NULL, *file = NULL;
	enum core_err err;

	if (n > MQTT_MAX_START || !start_file_span(p, n, &off, &len) ||
	    len < start_fast_min || (reduced = malloc(n - len)) == NULL ||
	    (file = strndup(p + off, len)) == NULL) {
		free(reduced);
		return mqtt_start_decode(payload, n, m, eb);
	}
	memcpy(reduced, p, off);
	memcpy(reduced + off, p + off + len, n - off - len);
	err = mqtt_start_decode(reduced, n - len, m, NULL);
	free(reduced);
	if (err != CORE_OK || m->file == NULL || *m->file != '\0') {
		free(file);
		mqtt_start_cleanup(m);
		memset(m, 0, sizeof(*m));
		return mqtt_start_decode(payload, n, m, eb);
	}
	free(m->file);
	m->file = file;
	return CORE_OK;
}

/* Frees an entry no task uses any more. */
static void
modcache_ent_free(struct modcache_ent *e)
{
	free(e->text);
	wasm_module_free(e->mod);
	free(e);
}

/* Unlinks entries (lock held): with idle_ms >= 0 those unused for that
 * long, else the least recently used ones until the bounds hold. Returns
 * the unlinked entries no task holds (to be freed by the caller). */
static struct modcache_ent *
modcache_trim(struct proplet *p, int64_t idle_ms)
{
	struct modcache_ent **pp, **victim, *e, *gone = NULL;
	int64_t now = core_mono_ms();
	size_t n;

	for (;;) {
		victim = NULL;
		n = 0;
		for (pp = &p->modcache; *pp != NULL; pp = &(*pp)->next) {
			n++;
			if (idle_ms >= 0) {
				if (victim == NULL &&
				    now - (*pp)->used_ms >= idle_ms)
					victim = pp;
			} else if (victim == NULL ||
			    (*pp)->used_ms < (*victim)->used_ms) {
				victim = pp;
			}
		}
		if (victim == NULL || (idle_ms < 0 &&
		    n <= MODCACHE_MAX_ENTRIES &&
		    p->modcache_bytes <= MODCACHE_MAX_BYTES))
			break;
		e = *victim;
		*victim = e->next;
		p->modcache_bytes -= e->len + e->mod->len;
		e->dropped = true;
		if (e->refs == 0) {
			e->next = gone;
			gone = e;
		}
	}
	return gone;
}

static void
modcache_free_list(struct modcache_ent *e)
{
	struct modcache_ent *next;

	for (; e != NULL; e = next) {
		next = e->next;
		modcache_ent_free(e);
	}
}

/*
 * The parsed module of a plain start's `file`: from the cache, or decoded,
 * checked and parsed now (then cached). On success *ent holds a reference
 * (modcache_put). Errors are those of the uncached path.
 */
static enum core_err
modcache_get(struct proplet *p, const char *file,
    struct modcache_ent **ent, struct core_errbuf *eb)
{
	struct modcache_ent *e;
	struct wasm_module *mod = NULL;
	size_t flen = strlen(file), len = 0;
	uint8_t *bytes = NULL;
	enum core_err err;

	*ent = NULL;
	pthread_mutex_lock(&p->lock);
	for (e = p->modcache; e != NULL; e = e->next) {
		if (e->len == flen && memcmp(e->text, file, flen) == 0) {
			e->refs++;
			e->used_ms = core_mono_ms();
			*ent = e;
			pthread_mutex_unlock(&p->lock);
			return CORE_OK;
		}
	}
	pthread_mutex_unlock(&p->lock);
	err = core_b64_decode(file, flen, &bytes, &len, eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "file");
		return err;
	}
	if (len < 4 || memcmp(bytes, "\0asm", 4) != 0) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "not a WebAssembly module (no \\0asm magic)");
		goto out;
	}
	if ((err = wasm_module_parse(bytes, len, &mod, eb)) != CORE_OK ||
	    (err = wasm_module_check_imports(mod, eb)) != CORE_OK)
		goto out;
	e = calloc(1, sizeof(*e));
	if (e == NULL || (e->text = strndup(file, flen)) == NULL) {
		free(e);
		err = core_errf(eb, CORE_ERR_NOMEM, "out of memory");
		goto out;
	}
	e->len = flen;
	e->mod = mod;
	mod = NULL;
	e->refs = 1;
	e->used_ms = core_mono_ms();
	pthread_mutex_lock(&p->lock);
	e->next = p->modcache;
	p->modcache = e;
	p->modcache_bytes += e->len + e->mod->len;
	{
		struct modcache_ent *gone = modcache_trim(p, -1);

		pthread_mutex_unlock(&p->lock);
		modcache_free_list(gone);
	}
	*ent = e;
out:
	wasm_module_free(mod);
	free(bytes);
	return err;
}

/* Drops a reference taken by modcache_get. */
static void
modcache_put(struct proplet *p, struct modcache_ent *e)
{
	bool free_it;

	if (e == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	free_it = --e->refs == 0 && e->dropped;
	pthread_mutex_unlock(&p->lock);
	if (free_it)
		modcache_ent_free(e);
}

static void
running_remove(struct proplet *p, struct ptask *t)
{
	struct ptask **pp;

	pthread_mutex_lock(&p->lock);
	for (pp = &p->running; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	pthread_mutex_unlock(&p->lock);
}

static void
thread_done(struct proplet *p)
{
	pthread_mutex_lock(&p->lock);
	p->nthreads--;
	pthread_cond_broadcast(&p->idle);
	pthread_mutex_unlock(&p->lock);
}

static void
fill_run_opts(struct proplet *p, const struct wasm_module *mod,
    const struct mqtt_start *m, const struct proplet_invocation *inv,
    struct wasm_preopen *pre, struct wasm_run_opts *o, bool *cli_style)
{
	size_t i;

	memset(o, 0, sizeof(*o));
	*cli_style = inv->cli_style || m->encrypted;
	if (inv->invoke != NULL)
		o->invoke = inv->invoke;
	else if (!*cli_style)
		o->invoke = pick_export(mod, m->name);
	if (o->invoke != NULL && strcmp(o->invoke, "_start") == 0)
		o->invoke = NULL;
	o->args = (const char *const *)m->inputs.v;
	o->nargs = m->inputs.n;
	o->argv0 = m->name;
	for (i = 0; i < p->cfg->ndirs; i++) {
		pre[i].host_path = p->cfg->dirs[i];
		pre[i].guest_path = p->cfg->dirs[i];
	}
	o->preopens = pre;
	o->npreopens = p->cfg->ndirs;
	o->tier = (enum wasm_tier)p->cfg->wasm_tier;
	o->max_memory_bytes = p->cfg->max_memory_bytes;
	o->timeout_ms = p->cfg->task_timeout_ms;
	o->cache_dir = m->encrypted ? p->secure_cache : p->cfg->wasm_cache_dir;
	o->confidential = m->encrypted;
	/* Encrypted modules never leave memory: no external runtime for them. */
	if (p->cfg->external_runtime != NULL && !m->encrypted) {
		o->tier = WASM_TIER_EXTERNAL;
		o->external_runtime = p->cfg->external_runtime;
		*cli_style = true;
	}
}

static void *
task_main(void *arg)
{
	struct ptask *t = arg;
	struct proplet *p = t->p;
	const struct mqtt_start *m = &t->msg;
	struct proplet_invocation inv;
	struct wasm_module *mod = NULL;
	struct wasm_preopen *pre = NULL;
	struct wasm_run_opts o;
	struct wasm_result r;
	struct wasm_task *wt = NULL;
	struct modcache_ent *ce = NULL;
	struct core_errbuf eb;
	char **env = NULL, *results = NULL, *error = NULL, fields[64];
	uint8_t *bytes = NULL;
	size_t len = 0, nenv = 0;
	bool cli_style, published = false, stopped;
	enum core_err err;

	snprintf(fields, sizeof(fields), "task=%s", m->id);
	core_errbuf_clear(&eb);
	wasm_result_init(&r);
	memset(&inv, 0, sizeof(inv));
	if (proplet_invocation_parse(&m->cli_args, &inv, &eb) != CORE_OK)
		goto fail;
	if (!m->encrypted && !m->latent && m->file != NULL &&
	    *m->file != '\0') {
		/* A plain module sent inline: parsed once per distinct file. */
		if (modcache_get(p, m->file, &ce, &eb) != CORE_OK)
			goto fail;
		mod = ce->mod; /* borrowed from the cache entry */
		goto have_module;
	}
	if (fetch_module(p, m, &bytes, &len, &eb) != CORE_OK)
		goto fail;
	if (len < 4 || memcmp(bytes, "\0asm", 4) != 0) {
		core_errf(&eb, CORE_ERR_INVALID,
		    "not a WebAssembly module (no \\0asm magic)");
		goto fail;
	}
	if (wasm_module_parse(bytes, len, &mod, &eb) != CORE_OK ||
	    wasm_module_check_imports(mod, &eb) != CORE_OK)
		goto fail;
	core_wipe(bytes, len);
	free(bytes);
	bytes = NULL;
	if (m->latent) {
		struct latent *l = calloc(1, sizeof(*l));

		if (l == NULL || (l->id = strdup(m->id)) == NULL) {
			free(l);
			core_errf(&eb, CORE_ERR_NOMEM, "out of memory");
			goto fail;
		}
		l->mod = mod;
		l->encrypted = m->encrypted;
		mod = NULL;
		pthread_mutex_lock(&p->lock);
		l->next = p->latents;
		p->latents = l;
		pthread_mutex_unlock(&p->lock);
		log_kv(LOG_LEVEL_INFO, fields, "precompiled for invoke");
		published = true; /* latent: no result unless it fails */
		goto out;
	}
have_module:
	if ((env = build_env(p, &m->env, &inv, &nenv)) == NULL ||
	    (pre = calloc(p->cfg->ndirs + 1, sizeof(*pre))) == NULL) {
		core_errf(&eb, CORE_ERR_NOMEM, "out of memory");
		goto fail;
	}
	fill_run_opts(p, mod, m, &inv, pre, &o, &cli_style);
	o.env = (const char *const *)env;
	o.nenv = nenv;
	if (wasm_pool_task_start(p->pool, mod, &o, &wt, &eb) != CORE_OK)
		goto fail;
	pthread_mutex_lock(&p->lock);
	t->wt = wt;
	if (t->stop_requested)
		wasm_task_kill(wt);
	pthread_mutex_unlock(&p->lock);
	log_kv(LOG_LEVEL_INFO, fields, "started%s%s", m->daemon ? " (daemon)" : "",
	    m->encrypted ? " (encrypted, in memory)" : "");
	if (m->daemon) {
		/* Spec §6.5: a daemon reports "" at once and keeps running. */
		publish_result(p, m->id, "", NULL);
		published = true;
	}
	/*
	 * Stop requests kill through t->wt under the lock. wasm_task_finish
	 * leaves wt allocated (a kill after the end is a no-op: the worker
	 * may already serve another task), so it is freed only once t->wt
	 * is cleared.
	 */
	err = wasm_task_finish(wt, &r, &eb);
	pthread_mutex_lock(&p->lock);
	t->wt = NULL;
	stopped = t->stop_requested;
	pthread_mutex_unlock(&p->lock);
	wasm_task_free(wt);
	wt = NULL;
	if (err != CORE_OK)
		goto fail;
	if (stopped && r.outcome != WASM_OUT_RETURNED &&
	    r.outcome != WASM_OUT_EXITED)
		r.outcome = WASM_OUT_KILLED;
	render_outcome(m->id, &r, cli_style, &results, &error);
	log_kv(error != NULL ? LOG_LEVEL_WARN : LOG_LEVEL_INFO, fields,
	    "finished tier=%d worker=%d compile_ms=%lld run_ms=%lld%s%s",
	    (int)r.tier_used, (int)r.on_worker,
	    (long long)r.compile_ms, (long long)r.run_ms,
	    error != NULL ? " error=" : "", error != NULL ? error : "");
	if (!published)
		publish_result(p, m->id, results, error);
	published = true;
	goto out;
fail:
	log_kv(LOG_LEVEL_WARN, fields, "failed: %s", eb.msg);
	if (!published)
		publish_result(p, m->id, NULL, eb.msg[0] != '\0' ? eb.msg :
		    "task failed");
out:
	running_remove(p, t);
	if (bytes != NULL)
		core_wipe(bytes, len);
	free(bytes);
	free(results);
	free(error);
	free(pre);
	free_env(env, nenv);
	wasm_result_cleanup(&r);
	if (ce != NULL)
		modcache_put(p, ce);
	else
		wasm_module_free(mod);
	proplet_invocation_cleanup(&inv);
	mqtt_start_cleanup(&t->msg);
	free(t);
	thread_done(p);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Message handlers                                                    */
/* ------------------------------------------------------------------ */

static bool
for_us(const struct proplet *p, bool broadcast, const char *proplet_id)
{
	return broadcast || proplet_id == NULL || *proplet_id == '\0' ||
	    strcmp(proplet_id, p->cfg->entity_id) == 0;
}

static void
handle_start(struct proplet *p, const void *payload, size_t len)
{
	struct ptask *t, *it;
	struct core_errbuf eb;
	pthread_attr_t attr;
	pthread_t th;
	bool dup = false;
	const char *why = NULL;

	core_errbuf_clear(&eb);
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return;
	t->p = p;
	if (start_decode(payload, len, &t->msg, &eb) != CORE_OK) {
		log_warnx("start: malformed message ignored: %s", eb.msg);
		goto drop;
	}
	if (!for_us(p, t->msg.broadcast, t->msg.proplet_id))
		goto drop;
	if (t->msg.encrypted) {
		if (t->msg.image_url == NULL || *t->msg.image_url == '\0')
			why = "an encrypted task needs image_url";
		else if (t->msg.file != NULL && *t->msg.file != '\0')
			why = "an encrypted task must not carry file";
		else if (p->attester == TEE_NONE)
			why = "TEE runtime not available";
	} else if ((t->msg.file == NULL || *t->msg.file == '\0') &&
	    (t->msg.image_url == NULL || *t->msg.image_url == '\0')) {
		why = "the task has neither file nor image_url";
	}
	pthread_mutex_lock(&p->lock);
	for (it = p->running; it != NULL; it = it->next)
		dup = dup || strcmp(it->msg.id, t->msg.id) == 0;
	if (!dup && why == NULL) {
		t->next = p->running;
		p->running = t;
		p->nthreads++;
	}
	pthread_mutex_unlock(&p->lock);
	if (dup) {
		log_info("start: task %s is already running; duplicate ignored",
		    t->msg.id);
		goto drop;
	}
	if (why != NULL) {
		log_warnx("start: task %s refused: %s", t->msg.id, why);
		publish_result(p, t->msg.id, NULL, why);
		goto drop;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, task_main, t) != 0) {
		pthread_attr_destroy(&attr);
		running_remove(p, t);
		thread_done(p);
		publish_result(p, t->msg.id, NULL, "could not start a task thread");
		goto drop;
	}
	pthread_attr_destroy(&attr);
	return;
drop:
	mqtt_start_cleanup(&t->msg);
	free(t);
}

static void
handle_stop(struct proplet *p, const void *payload, size_t len)
{
	struct mqtt_stop m;
	struct core_errbuf eb;
	struct ptask *t;
	bool found = false;

	memset(&m, 0, sizeof(m));
	core_errbuf_clear(&eb);
	if (mqtt_stop_decode(payload, len, &m, &eb) != CORE_OK) {
		log_warnx("stop: malformed message ignored: %s", eb.msg);
		goto out;
	}
	if (!for_us(p, m.has_broadcast && m.broadcast, m.proplet_id))
		goto out;
	pthread_mutex_lock(&p->lock);
	for (t = p->running; t != NULL; t = t->next) {
		if (strcmp(t->msg.id, m.id) != 0)
			continue;
		found = true;
		t->stop_requested = true;
		if (t->wt != NULL)
			wasm_task_kill(t->wt);
	}
	pthread_mutex_unlock(&p->lock);
	log_info("stop: task %s %s", m.id, found ? "stopping" : "not running");
out:
	mqtt_stop_cleanup(&m);
}

struct invoke_job {
	struct proplet *p;
	struct mqtt_invoke msg;   /* owned */
};

static void *
invoke_main(void *arg)
{
	struct invoke_job *j = arg;
	struct proplet *p = j->p;
	struct latent *l;
	struct wasm_module *mod = NULL;
	struct proplet_invocation inv;
	struct mqtt_env none = { 0 };
	struct wasm_preopen *pre = NULL;
	struct wasm_run_opts o;
	struct wasm_result r;
	struct core_errbuf eb;
	struct mqtt_start fake;
	char **env = NULL, *results = NULL, *error = NULL, msg[256];
	size_t nenv = 0;
	bool cli_style;

	memset(&inv, 0, sizeof(inv));
	memset(&fake, 0, sizeof(fake));
	core_errbuf_clear(&eb);
	wasm_result_init(&r);
	pthread_mutex_lock(&p->lock);
	for (l = p->latents; l != NULL; l = l->next)
		if (strcmp(l->id, j->msg.id) == 0)
			break;
	/* The module stays owned by the latent list; copy its bytes. */
	if (l != NULL && wasm_module_parse(l->mod->bytes, l->mod->len, &mod,
	    &eb) != CORE_OK)
		mod = NULL;
	fake.encrypted = l != NULL && l->encrypted;
	pthread_mutex_unlock(&p->lock);
	if (mod == NULL) {
		snprintf(msg, sizeof(msg), "task %s has not been precompiled",
		    j->msg.id);
		publish_invoke_result(p, j->msg.id, j->msg.invocation_id, NULL, msg);
		goto out;
	}
	fake.name = (char *)"main";
	fake.inputs = j->msg.inputs;
	if ((env = build_env(p, j->msg.env.n > 0 ? &j->msg.env : &none, &inv,
	    &nenv)) == NULL || (pre = calloc(p->cfg->ndirs + 1,
	    sizeof(*pre))) == NULL) {
		publish_invoke_result(p, j->msg.id, j->msg.invocation_id, NULL,
		    "out of memory");
		goto out;
	}
	fill_run_opts(p, mod, &fake, &inv, pre, &o, &cli_style);
	o.invoke = pick_export(mod, NULL);
	if (o.invoke != NULL && strcmp(o.invoke, "_start") == 0)
		o.invoke = NULL;
	o.env = (const char *const *)env;
	o.nenv = nenv;
	if (wasm_pool_run(p->pool, mod, &o, &r, &eb) != CORE_OK) {
		publish_invoke_result(p, j->msg.id, j->msg.invocation_id, NULL,
		    eb.msg);
		goto out;
	}
	render_outcome(j->msg.id, &r, cli_style, &results, &error);
	publish_invoke_result(p, j->msg.id, j->msg.invocation_id, results, error);
out:
	free(results);
	free(error);
	free(pre);
	free_env(env, nenv);
	wasm_result_cleanup(&r);
	wasm_module_free(mod);
	mqtt_invoke_cleanup(&j->msg);
	free(j);
	thread_done(p);
	return NULL;
}

static void
handle_invoke(struct proplet *p, const void *payload, size_t len)
{
	struct invoke_job *j = calloc(1, sizeof(*j));
	struct core_errbuf eb;
	pthread_attr_t attr;
	pthread_t th;

	if (j == NULL)
		return;
	core_errbuf_clear(&eb);
	j->p = p;
	if (mqtt_invoke_decode(payload, len, &j->msg, &eb) != CORE_OK) {
		log_warnx("invoke: malformed message ignored: %s", eb.msg);
		goto drop;
	}
	if (!for_us(p, j->msg.broadcast, j->msg.proplet_id))
		goto drop;
	pthread_mutex_lock(&p->lock);
	p->nthreads++;
	pthread_mutex_unlock(&p->lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, invoke_main, j) != 0) {
		pthread_attr_destroy(&attr);
		thread_done(p);
		goto drop;
	}
	pthread_attr_destroy(&attr);
	return;
drop:
	mqtt_invoke_cleanup(&j->msg);
	free(j);
}

static void
handle_chunk(struct proplet *p, const void *payload, size_t len)
{
	struct mqtt_chunk c;
	struct core_errbuf eb;

	memset(&c, 0, sizeof(c));
	core_errbuf_clear(&eb);
	if (mqtt_chunk_decode(payload, len, &c, &eb) != CORE_OK ||
	    proplet_chunks_add(p->chunks, &c, &eb) != CORE_OK)
		log_warnx("chunk: %s", eb.msg);
	mqtt_chunk_cleanup(&c);
}

static void
on_message(void *arg, const char *topic, const void *payload, size_t len)
{
	struct proplet *p = arg;

	if (p->stopping)
		return;
	if (strcmp(topic, p->t_start) == 0)
		handle_start(p, payload, len);
	else if (strcmp(topic, p->t_stop) == 0)
		handle_stop(p, payload, len);
	else if (strcmp(topic, p->t_invoke) == 0)
		handle_invoke(p, payload, len);
	else if (strcmp(topic, p->t_chunk) == 0)
		handle_chunk(p, payload, len);
}

/* ------------------------------------------------------------------ */
/* Discovery, heartbeats, metrics                                      */
/* ------------------------------------------------------------------ */

static void
publish_discovery(struct proplet *p)
{
	struct mqtt_discovery d;
	struct core_errbuf eb;
	struct utsname un;
	struct sysinfo si;
	char host[256] = "", *payload = NULL;

	memset(&d, 0, sizeof(d));
	core_errbuf_clear(&eb);
	d.proplet_id = p->cfg->entity_id;
	d.namespace_ = p->cfg->ns;
	d.metadata.environment = (char *)"binary";
	d.metadata.os = (char *)"linux";
	if (gethostname(host, sizeof(host) - 1) == 0 && host[0] != '\0')
		d.metadata.hostname = host;
	if (uname(&un) == 0)
		d.metadata.cpu_arch = un.machine;
	if (sysinfo(&si) == 0)
		d.metadata.total_memory_bytes = (int64_t)si.totalram * si.mem_unit;
	d.metadata.proplet_version = (char *)PROPELLER_VERSION;
	d.metadata.wasm_runtime = p->cfg->external_runtime != NULL ?
	    p->cfg->external_runtime : (char *)"propeller-wasm";
	d.metadata.description = p->cfg->description;
	d.metadata.location = p->cfg->location;
	d.metadata.tags.v = p->cfg->tags;
	d.metadata.tags.n = p->cfg->ntags;
	if (mqtt_discovery_encode(&d, &payload, &eb) != CORE_OK ||
	    mqtt_client_publish(p->mqtt, p->t_create, payload, strlen(payload),
	    &eb) != CORE_OK)
		log_warnx("discovery: %s", eb.msg);
	else
		log_info("discovery published");
	free(payload);
}

static void
on_connect(void *arg)
{
	struct proplet *p = arg;

	/* Each (re)connection announces us again: a manager that lost its
	 * state learns our metadata back. */
	publish_discovery(p);
}

static void
publish_heartbeat(struct proplet *p)
{
	struct mqtt_heartbeat h;
	struct core_errbuf eb;
	char *payload = NULL;

	memset(&h, 0, sizeof(h));
	core_errbuf_clear(&eb);
	h.proplet_id = p->cfg->entity_id;
	h.status = (char *)"alive";
	h.namespace_ = p->cfg->ns;
	if (mqtt_heartbeat_encode(&h, &payload, &eb) != CORE_OK ||
	    mqtt_client_publish(p->mqtt, p->t_alive, payload, strlen(payload),
	    &eb) != CORE_OK)
		log_debug("heartbeat: %s", eb.msg);
	free(payload);
}

static void
publish_metrics(struct proplet *p)
{
	struct mqtt_proplet_metrics m;
	struct core_errbuf eb;
	struct rusage ru;
	char *payload = NULL, buf[128];
	long pages = 0, rss = 0;
	int64_t now = core_mono_ms(), cpu_us;
	FILE *f;

	memset(&m, 0, sizeof(m));
	core_errbuf_clear(&eb);
	m.proplet_id = p->cfg->entity_id;
	m.namespace_ = p->cfg->ns;
	m.timestamp_ns = core_wall_ns();
	getrusage(RUSAGE_SELF, &ru);
	m.cpu_user_seconds = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	m.cpu_system_seconds = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	cpu_us = (int64_t)((m.cpu_user_seconds + m.cpu_system_seconds) * 1e6);
	if (p->cpu_prev_at_ms > 0 && now > p->cpu_prev_at_ms)
		m.cpu_percent = (double)(cpu_us - p->cpu_prev_us) / 10.0 /
		    (double)(now - p->cpu_prev_at_ms);
	p->cpu_prev_us = cpu_us;
	p->cpu_prev_at_ms = now;
	if ((f = fopen("/proc/self/statm", "r")) != NULL) {
		if (fgets(buf, sizeof(buf), f) != NULL &&
		    sscanf(buf, "%ld %ld", &pages, &rss) == 2)
			m.rss_bytes = (int64_t)rss * sysconf(_SC_PAGESIZE);
		fclose(f);
	}
	m.container_usage_bytes = -1;
	m.container_limit_bytes = -1;
	if (mqtt_proplet_metrics_encode(&m, &payload, &eb) != CORE_OK ||
	    mqtt_client_publish(p->mqtt, p->t_metrics, payload, strlen(payload),
	    &eb) != CORE_OK)
		log_debug("metrics: %s", eb.msg);
	free(payload);
}

/* ------------------------------------------------------------------ */
/* Lifecycle                                                           */
/* ------------------------------------------------------------------ */

static enum core_err
build_topics(struct proplet *p, struct core_errbuf *eb)
{
	const struct {
		char *dst;
		const char *suffix;
	} t[] = {
		{ p->t_create, MQTT_SUFFIX_DISCOVERY },
		{ p->t_alive, MQTT_SUFFIX_ALIVE },
		{ p->t_start, MQTT_SUFFIX_START },
		{ p->t_stop, MQTT_SUFFIX_STOP },
		{ p->t_invoke, MQTT_SUFFIX_INVOKE },
		{ p->t_results, MQTT_SUFFIX_RESULTS },
		{ p->t_invoke_results, MQTT_SUFFIX_INVOKE_RESULTS },
		{ p->t_metrics, MQTT_SUFFIX_METRICS },
		{ p->t_chunk, MQTT_SUFFIX_CHUNK },
		{ p->t_chunk_req, MQTT_SUFFIX_CHUNK_REQUEST },
	};
	enum core_err err;
	size_t i;

	for (i = 0; i < CORE_ARRAY_LEN(t); i++) {
		err = mqtt_topic(t[i].dst, p->cfg->tenant_id, p->cfg->channel_id,
		    t[i].suffix, eb);
		if (err != CORE_OK)
			return err;
	}
	return CORE_OK;
}

static enum core_err
setup_tee(struct proplet *p, struct core_errbuf *eb)
{
	const struct proplet_config *c = p->cfg;
	size_t i;

	p->attester = TEE_NONE;
	if (c->tee_mode == PROPLET_TEE_OFF) {
		log_info("TEE detection disabled (PROPLET_TEE=none)");
		return CORE_OK;
	}
	if (c->tee_mode == PROPLET_TEE_FORCE) {
		p->attester = (enum tee_kind)c->tee_kind;
		log_info("TEE runtime: %s (set by PROPLET_TEE)",
		    tee_kind_name(p->attester));
		return CORE_OK;
	}
	if (tee_detect("/", &p->tee, eb) != CORE_OK)
		return CORE_ERR_INTERNAL;
	for (i = 0; i < p->tee.nsignals; i++)
		log_info("TEE signal: %s", p->tee.signals[i]);
	p->attester = p->tee.kind;
	if (p->attester == TEE_NONE) {
		log_info("no TEE detected: encrypted tasks will be refused");
		return CORE_OK;
	}
	log_info("TEE detected: %s", tee_kind_name(p->attester));
	if (c->kbs_uri == NULL)
		return core_errf(eb, CORE_ERR_INVALID,
		    "PROPLET_KBS_URI: required when a TEE is detected (%s)",
		    tee_kind_name(p->attester));
	return CORE_OK;
}

enum core_err
proplet_new(const struct proplet_config *c, struct proplet **out,
    struct core_errbuf *eb)
{
	struct mqtt_config mc;
	struct proplet *p;
	enum core_err err;

	*out = NULL;
	mqtt_settings_config(&c->mqtt, c->entity_id, c->api_key, &mc);
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return CORE_ERR_NOMEM;
	p->cfg = c;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->idle, NULL);
	if ((err = core_waker_init(&p->wake, eb)) != CORE_OK)
		goto fail;
	if ((p->chunks = proplet_chunks_new()) == NULL) {
		err = CORE_ERR_NOMEM;
		goto fail;
	}
	if ((err = build_topics(p, eb)) != CORE_OK)
		goto fail;
	if ((err = setup_tee(p, eb)) != CORE_OK)
		goto fail;
	/*
	 * Compiled code of decrypted modules is cached only here: memory-backed,
	 * private to this proplet, and removed when it stops. Warm encrypted
	 * runs reuse it.
	 */
	if (p->attester != TEE_NONE &&
	    (err = core_fs_private_tmpdir("proplet-secure-cache",
	    &p->secure_cache, eb)) != CORE_OK)
		goto fail;
	if (p->secure_cache != NULL)
		log_info("compiled encrypted modules are cached in %s "
		    "(memory-backed, removed on exit)", p->secure_cache);
	if (c->wasm_workers > 0) {
		struct wasm_pool_opts po = {
			.max_per_module = c->wasm_workers,
			.idle_timeout_ms = c->wasm_worker_idle_ms,
		};

		if ((err = wasm_pool_new(&po, &p->pool, eb)) != CORE_OK)
			goto fail;
	}
	if ((err = mqtt_client_new(&mc, on_message, on_connect, p, &p->mqtt,
	    eb)) != CORE_OK)
		goto fail;
	*out = p;
	return CORE_OK;
fail:
	proplet_free(p);
	return err;
}

enum core_err
proplet_run(struct proplet *p, struct core_errbuf *eb)
{
	const char *subs[] = { p->t_start, p->t_stop, p->t_invoke, p->t_chunk };
	int64_t next_hb = 0, next_metrics = 0, next_sweep;
	enum core_err err;
	size_t i;

	for (i = 0; i < CORE_ARRAY_LEN(subs); i++)
		if ((err = mqtt_client_subscribe(p->mqtt, subs[i], eb)) != CORE_OK)
			return err;
	if ((err = mqtt_client_start(p->mqtt, eb)) != CORE_OK)
		return err;
	log_info("proplet %s running (tenant %s, channel %s)", p->cfg->entity_id,
	    p->cfg->tenant_id, p->cfg->channel_id);
	next_sweep = core_mono_ms() + CHUNK_SWEEP_MS;
	while (!p->stopping) {
		int64_t now = core_mono_ms(), wait;

		if (now >= next_hb) {
			publish_heartbeat(p);
			next_hb = now + p->cfg->liveliness_interval_ms;
		}
		if (p->cfg->enable_monitoring && now >= next_metrics) {
			if (next_metrics != 0)
				publish_metrics(p);
			next_metrics = now + p->cfg->metrics_interval_ms;
		}
		if (now >= next_sweep) {
			proplet_chunks_sweep(p->chunks);
			pthread_mutex_lock(&p->lock);
			{
				struct modcache_ent *gone = modcache_trim(p,
				    MODCACHE_IDLE_MS);

				pthread_mutex_unlock(&p->lock);
				modcache_free_list(gone);
			}
			next_sweep = now + CHUNK_SWEEP_MS;
		}
		wait = next_hb - now;
		if (p->cfg->enable_monitoring && next_metrics - now < wait)
			wait = next_metrics - now;
		(void)core_waker_wait(&p->wake, wait < 1 ? 1 : wait);
	}
	log_info("stopping");
	return CORE_OK;
}

void
proplet_stop(struct proplet *p)
{
	p->stopping = 1;
	core_waker_wake(&p->wake);
}

void
proplet_free(struct proplet *p)
{
	struct ptask *t;
	struct latent *l, *ln;

	if (p == NULL)
		return;
	p->stopping = 1;
	pthread_mutex_lock(&p->lock);
	for (t = p->running; t != NULL; t = t->next) {
		t->stop_requested = true;
		if (t->wt != NULL)
			wasm_task_kill(t->wt);
	}
	/* Task threads publish their last result and leave. */
	while (p->nthreads > 0)
		pthread_cond_wait(&p->idle, &p->lock);
	for (l = p->latents; l != NULL; l = ln) {
		ln = l->next;
		wasm_module_free(l->mod);
		free(l->id);
		free(l);
	}
	p->latents = NULL;
	{
		struct modcache_ent *e, *en;

		for (e = p->modcache; e != NULL; e = en) {
			en = e->next;
			modcache_ent_free(e); /* no task holds one now */
		}
		p->modcache = NULL;
	}
	pthread_mutex_unlock(&p->lock);
	mqtt_client_free(p->mqtt);
	wasm_pool_free(p->pool);
	proplet_chunks_free(p->chunks);
	if (p->secure_cache != NULL) {
		(void)core_fs_rmtree(p->secure_cache, NULL);
		free(p->secure_cache);
	}
	core_waker_cleanup(&p->wake);
	pthread_cond_destroy(&p->idle);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
