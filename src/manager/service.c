/*
 * service.c -- the manager's behaviour: task lifecycle (create, update,
 * start, stop, results), round-robin scheduling over alive proplets,
 * liveness from heartbeats, restart recovery and the Prometheus counters.
 *
 * One mutex serializes the store operations of every request (HTTP
 * threads and the MQTT thread), so each read-modify-write of a document is
 * atomic. Work that needs no store runs outside it: request and payload
 * decoding, and the encoding of a start message (its module is the bulk of
 * it), after which the start checks that the task did not change meanwhile.
 *
 * Round-robin scheduling reads the proplets from a table in memory (id,
 * creation time, last heartbeat), loaded from the store on first use and
 * kept in step by every proplet write, which all go through this file
 * under mu; a start never lists and parses the proplet documents.
 *
 * A task's module (`file`) is kept apart from its document in the store
 * (manager_store_put_file); the document holds the redacted form the API
 * shows and the marker TASK_FILE_APART. Documents written before the
 * module moved out keep it inline and are read as before.
 */
#include "manager/manager.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt/mqtt.h"

#define ZERO_TIME "0001-01-01T00:00:00Z"
#define TASK_FILE_APART "_file_apart"
#define START_ATTEMPTS 3  /* starts of one task racing with its updates */
#define START_SPLICE_MIN 1024  /* modules from this size on are spliced */

/* A proplet as scheduling sees it. */
struct svc_proplet {
	char id[CORE_UUID_STR_LEN + 1];
	int64_t created_ns;
	int64_t last_alive_ns;  /* 0: never */
};

struct manager_service {
	const struct manager_config *cfg;  /* borrowed from the daemon */
	struct manager_store *st;          /* owned */
	manager_publish_fn publish;
	void *publish_arg;                 /* borrowed */
	pthread_mutex_t mu;
	uint64_t rr;                       /* round-robin cursor */

	/* Proplets in listing order (created, id), under mu */
	struct svc_proplet *pl;            /* owned */
	size_t npl, cappl;
	bool pl_loaded;

	/* Counters (under mu) */
	uint64_t n_created, n_started, n_stopped, n_deleted;
	uint64_t n_completed, n_failed, n_results_unknown;
	uint64_t n_msgs, n_msgs_rejected, n_heartbeats, n_offline_ignored;
	uint64_t n_discoveries, n_registered, n_recovered, n_publish_errors;
	uint64_t n_lost;
};

static void svc_now(char out[CORE_RFC3339_LEN]);
static enum core_err svc_load(struct manager_service *svc,
    enum manager_kind kind, const char *id, json_t **doc,
    struct core_errbuf *eb);
static enum core_err svc_save(struct manager_service *svc,
    enum manager_kind kind, json_t *doc, struct core_errbuf *eb);
static int64_t proplet_last_alive(const json_t *p);
static bool proplet_alive(struct manager_service *svc, const json_t *p,
    int64_t now);
static json_t *proplet_view(struct manager_service *svc, const json_t *p,
    int64_t now);
static enum core_err proplet_touch(struct manager_service *svc,
    const char *id, bool heartbeat, json_t *metadata, struct core_errbuf *eb);
static json_t *page_new(const char *items_key, int64_t offset, int64_t limit,
    json_t *items, size_t total);
static enum core_err task_save_with_file(struct manager_service *svc,
    json_t *t, const json_t *file, struct core_errbuf *eb);

static const char *const name_adj[] = { "amber", "brisk", "calm", "daring",
	"eager", "fuzzy", "gentle", "hazy", "icy", "jolly", "keen", "lucid",
	"mellow", "nimble", "opal", "proud", "quiet", "rapid", "sunny", "tidy" };
static const char *const name_noun[] = { "otter", "falcon", "badger",
	"heron", "lynx", "marten", "osprey", "puffin", "quokka", "raven",
	"stoat", "tapir", "urchin", "vole", "walrus", "yak", "zebra", "ibis" };

static void
svc_now(char out[CORE_RFC3339_LEN])
{
	core_rfc3339(core_wall_ns(), 9, out);
}

static enum core_err
svc_load(struct manager_service *svc, enum manager_kind kind, const char *id,
    json_t **doc, struct core_errbuf *eb)
{
	*doc = NULL;
	if (id == NULL || !core_uuid_valid(id))
		return core_errf(eb, CORE_ERR_INVALID, "invalid %s id",
		    kind == MANAGER_KIND_TASK ? "task" : "proplet");
	return manager_store_get(svc->st, kind, id, doc, eb);
}

static enum core_err
svc_save(struct manager_service *svc, enum manager_kind kind, json_t *doc,
    struct core_errbuf *eb)
{
	json_int_t created = json_integer_value(json_object_get(doc,
	    "_created_ns"));

	return manager_store_put(svc->st, kind,
	    json_string_value(json_object_get(doc, "id")), created, doc, eb);
}

enum core_err
manager_service_new(const struct manager_config *cfg,
    struct manager_store *st, manager_publish_fn publish, void *publish_arg,
    struct manager_service **out, struct core_errbuf *eb)
{
	struct manager_service *svc;

	*out = NULL;
	svc = calloc(1, sizeof(*svc));
	if (svc == NULL) {
		manager_store_free(st);
		return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	}
	svc->cfg = cfg;
	svc->st = st;
	svc->publish = publish;
	svc->publish_arg = publish_arg;
	pthread_mutex_init(&svc->mu, NULL);
	*out = svc;
	return CORE_OK;
}

void
manager_service_free(struct manager_service *svc)
{
	if (svc == NULL)
		return;
	free(svc->pl);
	manager_store_free(svc->st);
	pthread_mutex_destroy(&svc->mu);
	free(svc);
}

static enum core_err
svc_publish(struct manager_service *svc, const char *suffix, const char *p,
    struct core_errbuf *eb)
{
	char topic[MQTT_TOPIC_MAX];
	enum core_err err;

	err = mqtt_topic(topic, svc->cfg->tenant_id, svc->cfg->channel_id,
	    suffix, eb);
	if (err == CORE_OK && svc->publish == NULL)
		err = core_errf(eb, CORE_ERR_NET, "no MQTT connection");
	if (err == CORE_OK)
		err = svc->publish(svc->publish_arg, topic, p, strlen(p), eb);
	if (err != CORE_OK) {
		svc->n_publish_errors++;
		if (err != CORE_ERR_INVALID && err != CORE_ERR_NOMEM)
			err = CORE_ERR_NET;
	}
	return err;
}

/* ------------------------------------------------------------------ */
/* Proplets                                                            */
/* ------------------------------------------------------------------ */

static int64_t
proplet_last_alive(const json_t *p)
{
	const json_t *h = json_object_get(p, "alive_history");
	size_t n = json_array_size(h);

	return n > 0 ? json_integer_value(json_array_get(h, n - 1)) : 0;
}

static bool
proplet_alive(struct manager_service *svc, const json_t *p, int64_t now)
{
	int64_t last = proplet_last_alive(p);

	return last > 0 && now - last <= svc->cfg->liveness_timeout_ms * 1000000;
}

static json_t *
proplet_view(struct manager_service *svc, const json_t *p, int64_t now)
{
	char ts[CORE_RFC3339_LEN];
	int64_t last = proplet_last_alive(p);
	json_t *o, *md = json_object_get(p, "metadata");

	o = json_pack("{sO,sO,sO,sb}", "id", json_object_get(p, "id"),
	    "name", json_object_get(p, "name"),
	    "task_count", json_object_get(p, "task_count"),
	    "alive", proplet_alive(svc, p, now));
	if (o == NULL)
		return NULL;
	if (last > 0) {
		core_rfc3339(last, 9, ts);
		json_object_set_new(o, "last_alive_at", json_string(ts));
	}
	json_object_set_new(o, "metadata", md != NULL ? json_incref(md) :
	    json_object());
	return o;
}

/* Index of id in the table, or npl. */
static size_t
pl_find(const struct manager_service *svc, const char *id)
{
	size_t i;

	for (i = 0; i < svc->npl; i++)
		if (strcmp(svc->pl[i].id, id) == 0)
			break;
	return i;
}

/* Records the stored proplet document p in the table (under mu). */
static enum core_err
pl_put(struct manager_service *svc, const json_t *p, struct core_errbuf *eb)
{
	const char *id = json_string_value(json_object_get(p, "id"));
	struct svc_proplet e, *n;
	size_t i;

	if (id == NULL || strlen(id) > CORE_UUID_STR_LEN)
		return CORE_OK;  /* not schedulable: never picked */
	memset(&e, 0, sizeof(e));
	memcpy(e.id, id, strlen(id));
	e.created_ns = json_integer_value(json_object_get(p, "_created_ns"));
	e.last_alive_ns = proplet_last_alive(p);
	i = pl_find(svc, id);
	if (i < svc->npl) {
		svc->pl[i].last_alive_ns = e.last_alive_ns;
		return CORE_OK;
	}
	if (svc->npl == svc->cappl) {
		n = realloc(svc->pl, (svc->cappl * 2 + 8) * sizeof(*n));
		if (n == NULL)
			return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
		svc->pl = n;
		svc->cappl = svc->cappl * 2 + 8;
	}
	/* Keep the store's listing order: created, then id. */
	for (i = svc->npl; i > 0 && (svc->pl[i - 1].created_ns > e.created_ns ||
	    (svc->pl[i - 1].created_ns == e.created_ns &&
	    strcmp(svc->pl[i - 1].id, e.id) > 0)); i--)
		svc->pl[i] = svc->pl[i - 1];
	svc->pl[i] = e;
	svc->npl++;
	return CORE_OK;
}

static void
pl_remove(struct manager_service *svc, const char *id)
{
	size_t i = pl_find(svc, id);

	if (i == svc->npl)
		return;
	memmove(&svc->pl[i], &svc->pl[i + 1],
	    (svc->npl - i - 1) * sizeof(*svc->pl));
	svc->npl--;
}

/* Loads the table from the store once (under mu). */
static enum core_err
pl_load(struct manager_service *svc, struct core_errbuf *eb)
{
	json_t *all = NULL, *p;
	enum core_err err;
	size_t i;

	if (svc->pl_loaded)
		return CORE_OK;
	err = manager_store_list(svc->st, MANAGER_KIND_PROPLET, &all, eb);
	json_array_foreach(all, i, p) {
		if (err == CORE_OK)
			err = pl_put(svc, p, eb);
	}
	json_decref(all);
	if (err != CORE_OK) {
		svc->npl = 0;
		return err;
	}
	svc->pl_loaded = true;
	return CORE_OK;
}

/* Registers or refreshes a proplet. metadata (borrowed) replaces the old. */
static enum core_err
proplet_touch(struct manager_service *svc, const char *id, bool heartbeat,
    json_t *metadata, struct core_errbuf *eb)
{
	json_t *p = NULL, *h;
	enum core_err err;
	uint8_t rnd[2] = { 0, 0 };
	char name[64];

	err = manager_store_get(svc->st, MANAGER_KIND_PROPLET, id, &p, eb);
	if (err == CORE_ERR_NOT_FOUND) {
		core_errbuf_clear(eb);
		core_random(rnd, sizeof(rnd), NULL);
		snprintf(name, sizeof(name), "%s-%s",
		    name_adj[rnd[0] % CORE_ARRAY_LEN(name_adj)],
		    name_noun[rnd[1] % CORE_ARRAY_LEN(name_noun)]);
		p = json_pack("{ss,ss,si,s{},s[],sI}", "id", id, "name", name,
		    "task_count", 0, "metadata", "alive_history", "_created_ns",
		    (json_int_t)core_wall_ns());
		if (p == NULL)
			return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
		svc->n_registered++;
	} else if (err != CORE_OK) {
		return err;
	}
	if (metadata != NULL)
		json_object_set(p, "metadata", metadata);
	if (heartbeat) {
		h = json_object_get(p, "alive_history");
		if (!json_is_array(h)) {
			h = json_array();
			json_object_set_new(p, "alive_history", h);
		}
		json_array_append_new(h, json_integer(core_wall_ns()));
		while (json_array_size(h) > MANAGER_ALIVE_HISTORY)
			json_array_remove(h, 0);
	}
	err = svc_save(svc, MANAGER_KIND_PROPLET, p, eb);
	if (err == CORE_OK && svc->pl_loaded)
		err = pl_put(svc, p, eb);
	json_decref(p);
	return err;
}

static enum core_err
proplet_adjust_count(struct manager_service *svc, const char *id, int delta,
    struct core_errbuf *eb)
{
	json_t *p = NULL;
	json_int_t n;
	enum core_err err;

	err = manager_store_get(svc->st, MANAGER_KIND_PROPLET, id, &p, eb);
	if (err == CORE_ERR_NOT_FOUND) {
		core_errbuf_clear(eb);
		return CORE_OK;  /* deleted meanwhile: nothing to count */
	}
	if (err != CORE_OK)
		return err;
	n = json_integer_value(json_object_get(p, "task_count")) + delta;
	json_object_set_new(p, "task_count", json_integer(n < 0 ? 0 : n));
	err = svc_save(svc, MANAGER_KIND_PROPLET, p, eb);
	json_decref(p);
	return err;
}

static json_t *
page_new(const char *items_key, int64_t offset, int64_t limit, json_t *items,
    size_t total)
{
	return json_pack("{sI,sI,sI,so}", "offset", (json_int_t)offset,
	    "limit", (json_int_t)limit, "total", (json_int_t)total, items_key,
	    items);
}

enum core_err
manager_proplet_list(struct manager_service *svc, int64_t offset,
    int64_t limit, const char *status, json_t **page, struct core_errbuf *eb)
{
	json_t *all = NULL, *items = NULL, *p;
	enum core_err err;
	int64_t now = core_wall_ns();
	size_t i, total = 0;
	bool alive;

	*page = NULL;
	if (status != NULL && strcmp(status, "active") != 0 &&
	    strcmp(status, "inactive") != 0)
		return core_errf(eb, CORE_ERR_INVALID,
		    "status must be active or inactive");
	pthread_mutex_lock(&svc->mu);
	err = manager_store_list(svc->st, MANAGER_KIND_PROPLET, &all, eb);
	if (err != CORE_OK)
		goto out;
	items = json_array();
	json_array_foreach(all, i, p) {
		alive = proplet_alive(svc, p, now);
		if (status != NULL && alive != (strcmp(status, "active") == 0))
			continue;
		if ((int64_t)total >= offset && (int64_t)total < offset + limit)
			json_array_append_new(items, proplet_view(svc, p, now));
		total++;
	}
	*page = page_new("proplets", offset, limit, items, total);
	items = NULL;
out:
	pthread_mutex_unlock(&svc->mu);
	json_decref(items);
	json_decref(all);
	return err;
}

enum core_err
manager_proplet_get(struct manager_service *svc, const char *id,
    json_t **view, struct core_errbuf *eb)
{
	json_t *p = NULL;
	enum core_err err;

	*view = NULL;
	pthread_mutex_lock(&svc->mu);
	err = svc_load(svc, MANAGER_KIND_PROPLET, id, &p, eb);
	if (err == CORE_OK)
		*view = proplet_view(svc, p, core_wall_ns());
	pthread_mutex_unlock(&svc->mu);
	json_decref(p);
	return err;
}

enum core_err
manager_proplet_delete(struct manager_service *svc, const char *id,
    struct core_errbuf *eb)
{
	json_t *p = NULL;
	enum core_err err;
	json_int_t n;

	pthread_mutex_lock(&svc->mu);
	err = svc_load(svc, MANAGER_KIND_PROPLET, id, &p, eb);
	if (err != CORE_OK)
		goto out;
	n = json_integer_value(json_object_get(p, "task_count"));
	if (n > 0) {
		err = core_errf(eb, CORE_ERR_STATE, "proplet %s has %lld "
		    "task(s) assigned; stop them first", id, (long long)n);
		goto out;
	}
	err = manager_store_delete(svc->st, MANAGER_KIND_PROPLET, id, eb);
	if (err == CORE_OK)
		pl_remove(svc, id);
out:
	pthread_mutex_unlock(&svc->mu);
	json_decref(p);
	return err;
}

enum core_err
manager_proplet_alive_history(struct manager_service *svc, const char *id,
    int64_t offset, int64_t limit, json_t **page, struct core_errbuf *eb)
{
	json_t *p = NULL, *h, *items;
	char ts[CORE_RFC3339_LEN];
	enum core_err err;
	size_t n, i;

	*page = NULL;
	pthread_mutex_lock(&svc->mu);
	err = svc_load(svc, MANAGER_KIND_PROPLET, id, &p, eb);
	pthread_mutex_unlock(&svc->mu);
	if (err != CORE_OK)
		return err;
	h = json_object_get(p, "alive_history");
	n = json_array_size(h);
	items = json_array();
	/* Most recent first. */
	for (i = 0; i < n; i++) {
		if ((int64_t)i < offset || (int64_t)i >= offset + limit)
			continue;
		core_rfc3339(json_integer_value(json_array_get(h, n - 1 - i)),
		    9, ts);
		json_array_append_new(items, json_string(ts));
	}
	*page = page_new("history", offset, limit, items, n);
	json_decref(p);
	return CORE_OK;
}

/* ------------------------------------------------------------------ */
/* Tasks                                                               */
/* ------------------------------------------------------------------ */

/* Rules that involve several fields; applied after create and update. */
static enum core_err
task_check(const json_t *t, struct core_errbuf *eb)
{
	const char *name = json_string_value(json_object_get(t, "name"));
	const char *file = json_string_value(json_object_get(t, "file"));
	const char *img = json_string_value(json_object_get(t, "image_url"));
	const char *pid = json_string_value(json_object_get(t, "proplet_id"));

	if (name == NULL || *name == '\0')
		return core_errf(eb, CORE_ERR_INVALID, "missing task name");
	if (json_is_true(json_object_get(t, "broadcast")) && pid != NULL &&
	    *pid != '\0')
		return core_errf(eb, CORE_ERR_INVALID,
		    "proplet_id and broadcast are mutually exclusive");
	if (json_is_true(json_object_get(t, "encrypted"))) {
		if (img == NULL || *img == '\0')
			return core_errf(eb, CORE_ERR_INVALID,
			    "encrypted tasks need image_url");
		if (file != NULL && *file != '\0')
			return core_errf(eb, CORE_ERR_INVALID,
			    "encrypted tasks must not carry file");
	}
	return CORE_OK;
}

/*
 * Saves t (under mu) with its module file (borrowed; NULL: the module is
 * unchanged) stored apart: t gets the redacted form and the marker. An
 * empty file removes the module. Both writes land in one transaction.
 */
static enum core_err
task_save_with_file(struct manager_service *svc, json_t *t,
    const json_t *file, struct core_errbuf *eb)
{
	const char *f = json_string_value(file);
	enum core_err err, end_err;
	char *red = NULL;

	if (f == NULL)
		return svc_save(svc, MANAGER_KIND_TASK, t, eb);
	if (*f != '\0') {
		red = manager_redact(f);
		if (red == NULL)
			return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
		json_object_set_new(t, "file", json_string(red));
		json_object_set_new(t, TASK_FILE_APART, json_true());
		free(red);
	} else {
		json_object_set_new(t, "file", json_string(""));
		json_object_del(t, TASK_FILE_APART);
	}
	err = manager_store_begin(svc->st, eb);
	if (err != CORE_OK)
		return err;
	err = manager_store_put_file(svc->st, json_string_value(
	    json_object_get(t, "id")), *f != '\0' ? f : NULL, eb);
	if (err == CORE_OK)
		err = svc_save(svc, MANAGER_KIND_TASK, t, eb);
	end_err = manager_store_end(svc->st, err == CORE_OK,
	    err == CORE_OK ? eb : NULL);
	return err != CORE_OK ? err : end_err;
}

enum core_err
manager_task_create(struct manager_service *svc, const json_t *req,
    json_t **view, struct core_errbuf *eb)
{
	char id[CORE_UUID_STR_LEN + 1], now[CORE_RFC3339_LEN];
	json_t *t = NULL;
	enum core_err err;
	static const char *const times[] = { "start_time", "finish_time",
		"next_run" };
	size_t i;

	*view = NULL;
	err = task_check(req, eb);
	if (err != CORE_OK)
		return err;
	if (core_uuid_v4(id) != CORE_OK)
		return core_errf(eb, CORE_ERR_INTERNAL, "no randomness");
	t = json_deep_copy(req);
	if (t == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	svc_now(now);
	json_object_set_new(t, "id", json_string(id));
	json_object_set_new(t, "state", json_integer(MANAGER_TASK_PENDING));
	if (json_string_length(json_object_get(t, "kind")) == 0)
		json_object_set_new(t, "kind", json_string("standard"));
	if (json_object_get(t, "priority") == NULL)
		json_object_set_new(t, "priority", json_integer(50));
	if (json_object_get(t, "cli_args") == NULL)
		json_object_set_new(t, "cli_args", json_null());
	for (i = 0; i < CORE_ARRAY_LEN(times); i++)
		json_object_set_new(t, times[i], json_string(ZERO_TIME));
	json_object_set_new(t, "created_at", json_string(now));
	json_object_set_new(t, "updated_at", json_string(now));
	json_object_set_new(t, "_created_ns", json_integer(core_wall_ns()));
	pthread_mutex_lock(&svc->mu);
	err = task_save_with_file(svc, t, json_object_get(req, "file"), eb);
	if (err == CORE_OK)
		svc->n_created++;
	pthread_mutex_unlock(&svc->mu);
	if (err == CORE_OK)
		*view = manager_task_view(t);
	json_decref(t);
	return err;
}

enum core_err
manager_task_get(struct manager_service *svc, const char *id, json_t **view,
    struct core_errbuf *eb)
{
	json_t *t = NULL;
	enum core_err err;

	*view = NULL;
	pthread_mutex_lock(&svc->mu);
	err = svc_load(svc, MANAGER_KIND_TASK, id, &t, eb);
	pthread_mutex_unlock(&svc->mu);
	if (err == CORE_OK)
		*view = manager_task_view(t);
	json_decref(t);
	return err;
}

/* True if every key of filter is in md with an equal value. */
static bool
task_metadata_match(const json_t *md, const json_t *filter)
{
	const char *k;
	json_t *v;

	if (filter == NULL || json_object_size(filter) == 0)
		return true;
	if (!json_is_object(md))
		return false;
	json_object_foreach((json_t *)filter, k, v) {
		if (!json_equal(json_object_get(md, k), v))
			return false;
	}
	return true;
}

enum core_err
manager_task_list(struct manager_service *svc, int64_t offset, int64_t limit,
    const json_t *metadata_filter, json_t **page, struct core_errbuf *eb)
{
	json_t *all = NULL, *items, *t;
	enum core_err err;
	size_t i, total = 0;
	int64_t count = 0;

	*page = NULL;
	if (metadata_filter == NULL || json_object_size(metadata_filter) == 0) {
		/* Unfiltered: the store pages and counts. */
		pthread_mutex_lock(&svc->mu);
		err = manager_store_query(svc->st, MANAGER_KIND_TASK, -1, offset,
		    limit, &all, &count, eb);
		pthread_mutex_unlock(&svc->mu);
		if (err != CORE_OK)
			return err;
		items = json_array();
		json_array_foreach(all, i, t)
			json_array_append_new(items, manager_task_view(t));
		json_decref(all);
		*page = page_new("tasks", offset, limit, items, (size_t)count);
		return *page != NULL ? CORE_OK :
		    core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	}
	pthread_mutex_lock(&svc->mu);
	err = manager_store_list(svc->st, MANAGER_KIND_TASK, &all, eb);
	pthread_mutex_unlock(&svc->mu);
	if (err != CORE_OK)
		return err;
	items = json_array();
	json_array_foreach(all, i, t) {
		if (!task_metadata_match(json_object_get(t, "metadata"),
		    metadata_filter))
			continue;
		if ((int64_t)total >= offset && (int64_t)total < offset + limit)
			json_array_append_new(items, manager_task_view(t));
		total++;
	}
	json_decref(all);
	*page = page_new("tasks", offset, limit, items, total);
	return *page != NULL ? CORE_OK :
	    core_errf(eb, CORE_ERR_NOMEM, "out of memory");
}

enum core_err
manager_task_update(struct manager_service *svc, const char *id,
    const json_t *req, json_t **view, struct core_errbuf *eb)
{
	static const char *const applied[] = { "name", "inputs", "file",
		"priority", "metadata", "schedule", "timezone", "is_recurring" };
	char now[CORE_RFC3339_LEN];
	json_t *t = NULL, *v;
	enum core_err err;
	size_t i;

	*view = NULL;
	pthread_mutex_lock(&svc->mu);
	err = svc_load(svc, MANAGER_KIND_TASK, id, &t, eb);
	if (err != CORE_OK)
		goto out;
	for (i = 0; i < CORE_ARRAY_LEN(applied); i++) {
		v = json_object_get(req, applied[i]);
		if (v != NULL)
			json_object_set(t, applied[i], v);
	}
	err = task_check(t, eb);
	if (err != CORE_OK)
		goto out;
	svc_now(now);
	json_object_set_new(t, "updated_at", json_string(now));
	err = task_save_with_file(svc, t, json_object_get(req, "file"), eb);
	if (err == CORE_OK)
		*view = manager_task_view(t);
out:
	pthread_mutex_unlock(&svc->mu);
	json_decref(t);
	return err;
}

enum core_err
manager_task_delete(struct manager_service *svc, const char *id,
    struct core_errbuf *eb)
{
	enum core_err err;

	if (!core_uuid_valid(id))
		return core_errf(eb, CORE_ERR_INVALID, "invalid task id");
	pthread_mutex_lock(&svc->mu);
	err = manager_store_delete(svc->st, MANAGER_KIND_TASK, id, eb);
	if (err == CORE_OK)
		svc->n_deleted++;
	pthread_mutex_unlock(&svc->mu);
	return err;
}

/* Picks the target proplet (under mu); *target is malloc'd. */
static enum core_err
task_pick(struct manager_service *svc, const json_t *t, char **target,
    struct core_errbuf *eb)
{
	const char *pin = json_string_value(json_object_get(t, "proplet_id"));
	int64_t now = core_wall_ns(), horizon;
	json_t *p = NULL;
	enum core_err err;
	size_t i, nalive = 0, k;

	*target = NULL;
	if (pin != NULL && *pin != '\0') {
		err = manager_store_get(svc->st, MANAGER_KIND_PROPLET, pin, &p,
		    eb);
		if (err == CORE_ERR_NOT_FOUND || (err == CORE_OK &&
		    !proplet_alive(svc, p, now))) {
			core_errbuf_clear(eb);
			err = core_errf(eb, CORE_ERR_NET,
			    "specified proplet %s is not alive", pin);
		}
		if (err == CORE_OK && (*target = strdup(pin)) == NULL)
			err = core_errf(eb, CORE_ERR_NOMEM, "out of memory");
		json_decref(p);
		return err;
	}
	err = pl_load(svc, eb);
	if (err != CORE_OK)
		return err;
	if (svc->npl == 0)
		return core_errf(eb, CORE_ERR_NET, "no proplet was provided");
	/* Same rule as proplet_alive(). */
	horizon = now - svc->cfg->liveness_timeout_ms * 1000000;
	for (i = 0; i < svc->npl; i++)
		if (svc->pl[i].last_alive_ns > 0 &&
		    svc->pl[i].last_alive_ns >= horizon)
			nalive++;
	if (nalive == 0)
		return core_errf(eb, CORE_ERR_NET, "all proplets are dead");
	k = (size_t)(svc->rr++ % nalive);
	for (i = 0; i < svc->npl; i++) {
		if (svc->pl[i].last_alive_ns <= 0 ||
		    svc->pl[i].last_alive_ns < horizon)
			continue;
		if (k-- == 0)
			break;
	}
	*target = strdup(svc->pl[i].id);
	if (*target == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	return CORE_OK;
}

/* Fills a start message from the task document (borrowing nothing). */
static enum core_err
task_start_msg(struct manager_service *svc, const json_t *t,
    const char *target, struct mqtt_start *m, struct core_errbuf *eb)
{
	const json_t *deps = json_object_get(t, "depends_on"), *d;
	json_t *dep = NULL, *pr;
	enum core_err err;
	size_t i;

#define DUP(field, key) do { const char *s_ = json_string_value( \
	json_object_get(t, key)); if (s_ != NULL && *s_ != '\0' && \
	(m->field = strdup(s_)) == NULL) return CORE_ERR_NOMEM; } while (0)
	DUP(id, "id");
	DUP(name, "name");
	DUP(image_url, "image_url");
	DUP(file, "file");
	DUP(kbs_resource_path, "kbs_resource_path");
	DUP(hal_storage_path, "hal_storage_path");
	DUP(mode, "mode");
#undef DUP
	m->state = json_integer_value(json_object_get(t, "state"));
	m->broadcast = json_is_true(json_object_get(t, "broadcast"));
	m->daemon = json_is_true(json_object_get(t, "daemon"));
	m->latent = json_is_true(json_object_get(t, "latent"));
	m->encrypted = json_is_true(json_object_get(t, "encrypted"));
	if (target != NULL && (m->proplet_id = strdup(target)) == NULL)
		return CORE_ERR_NOMEM;
	if ((err = mqtt_json_strv(t, "inputs", true, &m->inputs, eb)) ||
	    (err = mqtt_json_strv(t, "cli_args", false, &m->cli_args, eb)) ||
	    (err = mqtt_json_env(t, "env", &m->env, eb)) ||
	    (err = mqtt_json_monitoring(t, "monitoring_profile",
	        &m->monitoring_profile, eb)))
		return err;
	if (json_array_size(deps) == 0)
		return CORE_OK;
	pr = json_object();
	m->parent_results = pr;
	json_array_foreach(deps, i, d) {
		if (manager_store_get(svc->st, MANAGER_KIND_TASK,
		    json_string_value(d), &dep, NULL) == CORE_OK &&
		    json_object_get(dep, "results") != NULL)
			json_object_set(pr, json_string_value(d),
			    json_object_get(dep, "results"));
		json_decref(dep);
		dep = NULL;
	}
	return CORE_OK;
}

/*
 * First phase of a start (under mu): loads and checks the task, picks its
 * proplet (*target, malloc'd; NULL for broadcast) and fills the start
 * message m, module included. *stamp (malloc'd) is the task's updated_at,
 * for the second phase to see whether the task changed meanwhile.
 */
static enum core_err
task_start_prepare(struct manager_service *svc, const char *id,
    struct mqtt_start *m, char **target, char **stamp,
    struct core_errbuf *eb)
{
	const char *upd;
	char *file = NULL;
	json_t *t = NULL;
	enum core_err err;

	err = svc_load(svc, MANAGER_KIND_TASK, id, &t, eb);
	if (err != CORE_OK)
		goto out;
	if (json_integer_value(json_object_get(t, "state")) ==
	    MANAGER_TASK_RUNNING) {
		err = core_errf(eb, CORE_ERR_STATE, "task %s is already running",
		    id);
		goto out;
	}
	if (json_string_length(json_object_get(t, "file")) == 0 &&
	    json_string_length(json_object_get(t, "image_url")) == 0) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "task %s has neither file nor image_url", id);
		goto out;
	}
	if (!json_is_true(json_object_get(t, "broadcast")) &&
	    (err = task_pick(svc, t, target, eb)) != CORE_OK)
		goto out;
	err = task_start_msg(svc, t, *target, m, eb);
	if (err == CORE_OK && json_is_true(json_object_get(t, TASK_FILE_APART))) {
		err = manager_store_get_file(svc->st, id, &file, eb);
		if (err == CORE_OK) {
			free(m->file);
			m->file = file;
		}
	}
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "start task %s", id);
		goto out;
	}
	upd = json_string_value(json_object_get(t, "updated_at"));
	*stamp = strdup(upd != NULL ? upd : "");
	if (*stamp == NULL)
		err = core_errf(eb, CORE_ERR_NOMEM, "out of memory");
out:
	json_decref(t);
	return err;
}

/*
 * Second phase (under mu): if the task is as the first phase saw it
 * (*changed false), publishes the encoded start message and records the
 * task as Running on target, pin and count in one transaction.
 */
static enum core_err
task_start_commit(struct manager_service *svc, const char *id,
    const char *target, const char *stamp, const char *payload,
    bool *changed, struct core_errbuf *eb)
{
	char now[CORE_RFC3339_LEN];
	const char *upd;
	json_t *t = NULL;
	enum core_err err, end_err;

	*changed = false;
	err = svc_load(svc, MANAGER_KIND_TASK, id, &t, eb);
	if (err != CORE_OK)
		goto out;
	upd = json_string_value(json_object_get(t, "updated_at"));
	if (upd == NULL || strcmp(upd, stamp) != 0) {
		*changed = true;
		goto out;
	}
	err = svc_publish(svc, MQTT_SUFFIX_START, payload, eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "start task %s", id);
		goto out;
	}
	svc_now(now);
	json_object_set_new(t, "state", json_integer(MANAGER_TASK_RUNNING));
	json_object_set_new(t, "start_time", json_string(now));
	json_object_set_new(t, "finish_time", json_string(ZERO_TIME));
	json_object_set_new(t, "updated_at", json_string(now));
	json_object_del(t, "results");
	json_object_del(t, "error");
	json_object_del(t, "_stopped");
	json_object_del(t, "_recovered");
	/* The pin, the count and the state change land together. */
	err = manager_store_begin(svc->st, eb);
	if (err != CORE_OK)
		goto out;
	if (target != NULL) {
		json_object_set_new(t, "proplet_id", json_string(target));
		err = proplet_adjust_count(svc, target, +1, eb);
	}
	if (err == CORE_OK)
		err = svc_save(svc, MANAGER_KIND_TASK, t, eb);
	end_err = manager_store_end(svc->st, err == CORE_OK,
	    err == CORE_OK ? eb : NULL);
	if (err == CORE_OK)
		err = end_err;
	if (err == CORE_OK)
		svc->n_started++;
out:
	json_decref(t);
	return err;
}

/*
 * Encodes a start message into *out (malloc'd). The module is most of the
 * message and is base64, which JSON carries without escapes, so a large
 * one is spliced in as the first member instead of going through the
 * encoder (~13 ns a byte); any other module is encoded with the rest.
 */
static enum core_err
task_start_encode(struct mqtt_start *m, char **out, struct core_errbuf *eb)
{
	static const char head[] = "{\"file\":\"";
	char *file = m->file, *rest = NULL, *p;
	size_t flen = file != NULL ? strlen(file) : 0, rlen, n;
	enum core_err err;

	*out = NULL;
	if (flen < START_SPLICE_MIN || !manager_base64_plain(file, flen))
		return mqtt_start_encode(m, out, eb);
	m->file = NULL;
	err = mqtt_start_encode(m, &rest, eb);
	m->file = file;
	if (err != CORE_OK)
		return err;
	/* rest is {"id":...}: never empty, as the encoder requires an id. */
	rlen = strlen(rest);
	if (rlen < 3 || rest[0] != '{' || rest[1] != '"') {
		free(rest);
		return core_errf(eb, CORE_ERR_INTERNAL, "unexpected start "
		    "message encoding");
	}
	n = sizeof(head) - 1 + flen + 2 + (rlen - 1);
	p = malloc(n + 1);
	if (p == NULL) {
		free(rest);
		return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	}
	memcpy(p, head, sizeof(head) - 1);
	memcpy(p + sizeof(head) - 1, file, flen);
	memcpy(p + sizeof(head) - 1 + flen, "\",", 2);
	memcpy(p + sizeof(head) + 1 + flen, rest + 1, rlen);  /* with NUL */
	free(rest);
	*out = p;
	return CORE_OK;
}

enum core_err
manager_task_start(struct manager_service *svc, const char *id,
    struct core_errbuf *eb)
{
	struct mqtt_start m;
	char *target, *stamp, *payload;
	enum core_err err = CORE_OK;
	bool changed = true;
	int attempt;

	for (attempt = 0; attempt < START_ATTEMPTS && changed; attempt++) {
		memset(&m, 0, sizeof(m));
		target = stamp = payload = NULL;
		changed = false;
		pthread_mutex_lock(&svc->mu);
		err = task_start_prepare(svc, id, &m, &target, &stamp, eb);
		pthread_mutex_unlock(&svc->mu);
		/* The module makes the message large: encode without mu. */
		if (err == CORE_OK &&
		    (err = task_start_encode(&m, &payload, eb)) != CORE_OK)
			core_errbuf_prefix(eb, "start task %s", id);
		if (err == CORE_OK) {
			pthread_mutex_lock(&svc->mu);
			err = task_start_commit(svc, id, target, stamp, payload,
			    &changed, eb);
			pthread_mutex_unlock(&svc->mu);
		}
		mqtt_start_cleanup(&m);
		free(payload);
		free(target);
		free(stamp);
		if (err != CORE_OK)
			break;
	}
	if (err == CORE_OK && changed)
		err = core_errf(eb, CORE_ERR_STATE, "task %s kept changing while "
		    "being started; try again", id);
	return err;
}

enum core_err
manager_task_stop(struct manager_service *svc, const char *id,
    struct core_errbuf *eb)
{
	struct mqtt_stop m;
	char now[CORE_RFC3339_LEN], *payload = NULL;
	const char *pid, *st;
	json_t *t = NULL;
	enum core_err err, end_err;

	memset(&m, 0, sizeof(m));
	pthread_mutex_lock(&svc->mu);
	err = svc_load(svc, MANAGER_KIND_TASK, id, &t, eb);
	if (err != CORE_OK)
		goto out;
	st = json_string_value(json_object_get(t, "start_time"));
	if (st == NULL || strcmp(st, ZERO_TIME) == 0) {
		err = core_errf(eb, CORE_ERR_STATE,
		    "task %s has not been started", id);
		goto out;
	}
	pid = json_string_value(json_object_get(t, "proplet_id"));
	m.id = (char *)id;
	m.has_broadcast = true;
	m.broadcast = json_is_true(json_object_get(t, "broadcast"));
	m.proplet_id = (char *)pid;
	err = mqtt_stop_encode(&m, &payload, eb);
	if (err == CORE_OK)
		err = svc_publish(svc, MQTT_SUFFIX_STOP, payload, eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "stop task %s", id);
		goto out;
	}
	err = manager_store_begin(svc->st, eb);
	if (err != CORE_OK)
		goto out;
	if (pid != NULL && *pid != '\0' && !m.broadcast)
		err = proplet_adjust_count(svc, pid, -1, eb);
	if (err != CORE_OK) {
		manager_store_end(svc->st, false, NULL);
		goto out;
	}
	json_object_del(t, "proplet_id");  /* pid is dead from here on */
	svc_now(now);
	if (json_integer_value(json_object_get(t, "state")) ==
	    MANAGER_TASK_RUNNING) {
		json_object_set_new(t, "state",
		    json_integer(MANAGER_TASK_INTERRUPTED));
		json_object_set_new(t, "finish_time", json_string(now));
		json_object_set_new(t, "error", json_string("stopped by user"));
		json_object_set_new(t, "_stopped", json_true());
	}
	json_object_set_new(t, "updated_at", json_string(now));
	err = svc_save(svc, MANAGER_KIND_TASK, t, eb);
	end_err = manager_store_end(svc->st, err == CORE_OK,
	    err == CORE_OK ? eb : NULL);
	if (err == CORE_OK)
		err = end_err;
	if (err == CORE_OK)
		svc->n_stopped++;
out:
	pthread_mutex_unlock(&svc->mu);
	free(payload);
	json_decref(t);
	return err;
}

enum core_err
manager_task_results(struct manager_service *svc, const char *id,
    json_t **results, struct core_errbuf *eb)
{
	json_t *t = NULL, *r;
	enum core_err err;

	*results = NULL;
	pthread_mutex_lock(&svc->mu);
	err = svc_load(svc, MANAGER_KIND_TASK, id, &t, eb);
	pthread_mutex_unlock(&svc->mu);
	if (err == CORE_OK) {
		r = json_object_get(t, "results");
		if (r != NULL && !json_is_null(r))
			*results = json_incref(r);
	}
	json_decref(t);
	return err;
}

enum core_err
manager_service_recover(struct manager_service *svc, json_t **recovered,
    struct core_errbuf *eb)
{
	char now[CORE_RFC3339_LEN];
	json_t *all = NULL, *t, *out;
	enum core_err err;
	size_t i;

	*recovered = NULL;
	out = json_array();
	if (out == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	pthread_mutex_lock(&svc->mu);
	err = manager_store_query(svc->st, MANAGER_KIND_TASK,
	    MANAGER_TASK_RUNNING, 0, -1, &all, NULL, eb);
	svc_now(now);
	json_array_foreach(all, i, t) {
		if (err != CORE_OK)
			break;
		if (json_integer_value(json_object_get(t, "state")) !=
		    MANAGER_TASK_RUNNING)
			continue;
		json_object_set_new(t, "state",
		    json_integer(MANAGER_TASK_INTERRUPTED));
		json_object_set_new(t, "error", json_string(
		    "manager restarted while the task was running"));
		json_object_set_new(t, "finish_time", json_string(now));
		json_object_set_new(t, "updated_at", json_string(now));
		json_object_set_new(t, "_recovered", json_true());
		err = svc_save(svc, MANAGER_KIND_TASK, t, eb);
		if (err != CORE_OK)
			break;
		svc->n_recovered++;
		json_array_append_new(out, json_pack("{sO,sO,ss}",
		    "id", json_object_get(t, "id"),
		    "name", json_object_get(t, "name"),
		    "proplet_id", json_string_value(json_object_get(t,
		        "proplet_id")) != NULL ? json_string_value(
		        json_object_get(t, "proplet_id")) : ""));
	}
	pthread_mutex_unlock(&svc->mu);
	json_decref(all);
	if (err != CORE_OK) {
		json_decref(out);
		return err;
	}
	*recovered = out;
	return CORE_OK;
}

enum core_err
manager_service_sweep(struct manager_service *svc, json_t **lost,
    struct core_errbuf *eb)
{
	char now[CORE_RFC3339_LEN], msg[128];
	json_t *tasks = NULL, *t, *p = NULL, *out;
	const char *pid;
	int64_t now_ns = core_wall_ns();
	enum core_err err, gerr;
	size_t i;

	*lost = NULL;
	out = json_array();
	if (out == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	pthread_mutex_lock(&svc->mu);
	err = manager_store_query(svc->st, MANAGER_KIND_TASK,
	    MANAGER_TASK_RUNNING, 0, -1, &tasks, NULL, eb);
	svc_now(now);
	json_array_foreach(tasks, i, t) {
		if (err != CORE_OK)
			break;
		pid = json_string_value(json_object_get(t, "proplet_id"));
		if (json_integer_value(json_object_get(t, "state")) !=
		    MANAGER_TASK_RUNNING || pid == NULL || *pid == '\0' ||
		    json_is_true(json_object_get(t, "broadcast")))
			continue;
		gerr = manager_store_get(svc->st, MANAGER_KIND_PROPLET, pid, &p,
		    NULL);
		if (gerr == CORE_OK && proplet_alive(svc, p, now_ns)) {
			json_decref(p);
			p = NULL;
			continue;
		}
		json_decref(p);
		p = NULL;
		if (gerr != CORE_OK && gerr != CORE_ERR_NOT_FOUND)
			continue;  /* try again on the next sweep */
		snprintf(msg, sizeof(msg), "proplet %s is not alive", pid);
		json_object_set_new(t, "state",
		    json_integer(MANAGER_TASK_INTERRUPTED));
		json_object_set_new(t, "error", json_string(msg));
		json_object_set_new(t, "finish_time", json_string(now));
		json_object_set_new(t, "updated_at", json_string(now));
		json_object_set_new(t, "_recovered", json_true());
		err = svc_save(svc, MANAGER_KIND_TASK, t, eb);
		if (err != CORE_OK)
			break;
		svc->n_lost++;
		json_array_append_new(out, json_pack("{sO,sO,ss}",
		    "id", json_object_get(t, "id"),
		    "name", json_object_get(t, "name"), "proplet_id", pid));
	}
	pthread_mutex_unlock(&svc->mu);
	json_decref(tasks);
	if (err != CORE_OK) {
		json_decref(out);
		return err;
	}
	*lost = out;
	return CORE_OK;
}

/* ------------------------------------------------------------------ */
/* MQTT messages                                                       */
/* ------------------------------------------------------------------ */

/* Records a decoded result (under mu). */
static enum core_err
svc_on_result(struct manager_service *svc, const struct mqtt_result *mr,
    struct core_errbuf *eb)
{
	char now[CORE_RFC3339_LEN];
	json_t *t = NULL;
	enum core_err err;

	err = manager_store_get(svc->st, MANAGER_KIND_TASK, mr->task_id, &t, eb);
	if (err != CORE_OK) {
		svc->n_results_unknown++;
		core_errbuf_prefix(eb, "result");
		goto out;
	}
	svc_now(now);
	if (mr->results != NULL)
		json_object_set(t, "results", mr->results);
	else
		json_object_del(t, "results");
	if (mr->error != NULL)
		json_object_set_new(t, "error", json_string(mr->error));
	else
		json_object_del(t, "error");
	if (!json_is_true(json_object_get(t, "_stopped")))
		json_object_set_new(t, "state", json_integer(mr->error != NULL ?
		    MANAGER_TASK_FAILED : MANAGER_TASK_COMPLETED));
	json_object_del(t, "_recovered");
	json_object_set_new(t, "finish_time", json_string(now));
	json_object_set_new(t, "updated_at", json_string(now));
	err = svc_save(svc, MANAGER_KIND_TASK, t, eb);
	if (err == CORE_OK) {
		if (mr->error != NULL)
			svc->n_failed++;
		else
			svc->n_completed++;
	}
out:
	json_decref(t);
	return err;
}

enum core_err
manager_service_handle(struct manager_service *svc, const char *topic,
    const void *payload, size_t len, struct core_errbuf *eb)
{
	struct mqtt_heartbeat hb;
	struct mqtt_discovery d;
	struct mqtt_task_metrics tm;
	struct mqtt_proplet_metrics pm;
	struct mqtt_invoke_result ir;
	struct mqtt_result r;
	enum { H_NONE, H_ALIVE, H_DISCOVERY, H_RESULT } what = H_NONE;
	const char *sfx;
	enum core_err err = CORE_OK;
	json_t *md = NULL;

	sfx = mqtt_topic_suffix(topic, svc->cfg->tenant_id,
	    svc->cfg->channel_id);
	if (sfx == NULL)
		return CORE_OK;
	memset(&hb, 0, sizeof(hb));
	memset(&d, 0, sizeof(d));
	memset(&tm, 0, sizeof(tm));
	memset(&pm, 0, sizeof(pm));
	memset(&ir, 0, sizeof(ir));
	memset(&r, 0, sizeof(r));
	/* Decode without the lock; only the store work below needs it. */
	if (strcmp(sfx, MQTT_SUFFIX_ALIVE) == 0) {
		err = mqtt_heartbeat_decode(payload, len, &hb, eb);
		what = H_ALIVE;
	} else if (strcmp(sfx, MQTT_SUFFIX_DISCOVERY) == 0) {
		err = mqtt_discovery_decode(payload, len, &d, eb);
		if (err == CORE_OK)
			md = mqtt_proplet_meta_to_json(&d.metadata);
		what = H_DISCOVERY;
	} else if (strcmp(sfx, MQTT_SUFFIX_RESULTS) == 0) {
		err = mqtt_result_decode(payload, len, &r, eb);
		what = H_RESULT;
	} else if (strcmp(sfx, MQTT_SUFFIX_TASK_METRICS) == 0) {
		err = mqtt_task_metrics_decode(payload, len, &tm, eb);
	} else if (strcmp(sfx, MQTT_SUFFIX_METRICS) == 0) {
		err = mqtt_proplet_metrics_decode(payload, len, &pm, eb);
	} else if (strcmp(sfx, MQTT_SUFFIX_INVOKE_RESULTS) == 0) {
		err = mqtt_invoke_result_decode(payload, len, &ir, eb);
	}
	/* Anything else (our own control/manager messages, registry
	 * traffic) is ignored. */
	pthread_mutex_lock(&svc->mu);
	svc->n_msgs++;
	if (err == CORE_OK && what == H_ALIVE && hb.offline) {
		svc->n_offline_ignored++;
	} else if (err == CORE_OK && what == H_ALIVE) {
		svc->n_heartbeats++;
		err = proplet_touch(svc, hb.proplet_id, true, NULL, eb);
	} else if (err == CORE_OK && what == H_DISCOVERY) {
		svc->n_discoveries++;
		err = proplet_touch(svc, d.proplet_id, false, md, eb);
	} else if (err == CORE_OK && what == H_RESULT) {
		err = svc_on_result(svc, &r, eb);
	}
	if (err != CORE_OK)
		svc->n_msgs_rejected++;
	pthread_mutex_unlock(&svc->mu);
	json_decref(md);
	mqtt_heartbeat_cleanup(&hb);
	mqtt_discovery_cleanup(&d);
	mqtt_task_metrics_cleanup(&tm);
	mqtt_proplet_metrics_cleanup(&pm);
	mqtt_invoke_result_cleanup(&ir);
	mqtt_result_cleanup(&r);
	return err;
}

/* ------------------------------------------------------------------ */
/* Metrics                                                             */
/* ------------------------------------------------------------------ */

static void
metric(struct core_buf *b, const char *name, const char *type,
    const char *help, uint64_t v)
{
	core_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help,
	    name, type, name, (unsigned long long)v);
}

enum core_err
manager_service_metrics(struct manager_service *svc, struct core_buf *b)
{
	static const char *const states[] = { "pending", "scheduled",
		"running", "completed", "failed", "skipped", "interrupted" };
	uint64_t by_state[7] = { 0 }, alive = 0, nproplets = 0;
	json_t *all = NULL, *x;
	int64_t now = core_wall_ns(), s;
	enum core_err err;
	size_t i;

	pthread_mutex_lock(&svc->mu);
	err = CORE_OK;
	for (i = 0; i < 7 && err == CORE_OK; i++) {
		err = manager_store_count(svc->st, MANAGER_KIND_TASK, (int)i, &s,
		    NULL);
		by_state[i] = (uint64_t)s;
	}
	if (err == CORE_OK)
		err = manager_store_list(svc->st, MANAGER_KIND_PROPLET, &all,
		    NULL);
	json_array_foreach(all, i, x) {
		nproplets++;
		if (proplet_alive(svc, x, now))
			alive++;
	}
	json_decref(all);
	metric(b, "propeller_manager_tasks_created_total", "counter",
	    "Tasks created.", svc->n_created);
	metric(b, "propeller_manager_tasks_started_total", "counter",
	    "Task start messages published.", svc->n_started);
	metric(b, "propeller_manager_tasks_stopped_total", "counter",
	    "Task stop messages published.", svc->n_stopped);
	metric(b, "propeller_manager_tasks_deleted_total", "counter",
	    "Tasks deleted.", svc->n_deleted);
	metric(b, "propeller_manager_results_completed_total", "counter",
	    "Results without error.", svc->n_completed);
	metric(b, "propeller_manager_results_failed_total", "counter",
	    "Results with an error.", svc->n_failed);
	metric(b, "propeller_manager_results_unknown_task_total", "counter",
	    "Results for tasks the manager does not know.",
	    svc->n_results_unknown);
	metric(b, "propeller_manager_mqtt_messages_total", "counter",
	    "MQTT messages received on the channel.", svc->n_msgs);
	metric(b, "propeller_manager_mqtt_messages_rejected_total", "counter",
	    "MQTT messages refused as malformed or unknown.",
	    svc->n_msgs_rejected);
	metric(b, "propeller_manager_heartbeats_total", "counter",
	    "Proplet heartbeats received.", svc->n_heartbeats);
	metric(b, "propeller_manager_offline_notices_ignored_total", "counter",
	    "Offline (LWT) notices ignored.", svc->n_offline_ignored);
	metric(b, "propeller_manager_discoveries_total", "counter",
	    "Proplet discovery messages received.", svc->n_discoveries);
	metric(b, "propeller_manager_proplets_registered_total", "counter",
	    "Proplets registered.", svc->n_registered);
	metric(b, "propeller_manager_tasks_recovered_total", "counter",
	    "Running tasks marked interrupted at startup.", svc->n_recovered);
	metric(b, "propeller_manager_tasks_lost_total", "counter",
	    "Running tasks interrupted because their proplet died.",
	    svc->n_lost);
	metric(b, "propeller_manager_publish_errors_total", "counter",
	    "MQTT publishes that failed.", svc->n_publish_errors);
	metric(b, "propeller_manager_proplets", "gauge", "Known proplets.",
	    nproplets);
	metric(b, "propeller_manager_proplets_alive", "gauge",
	    "Proplets with a heartbeat within the liveness timeout.", alive);
	core_buf_printf(b, "# HELP propeller_manager_tasks Tasks by state.\n"
	    "# TYPE propeller_manager_tasks gauge\n");
	for (i = 0; i < 7; i++)
		core_buf_printf(b, "propeller_manager_tasks{state=\"%s\"} %llu\n",
		    states[i], (unsigned long long)by_state[i]);
	pthread_mutex_unlock(&svc->mu);
	return err;
}
