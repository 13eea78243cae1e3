/*
 * chunks.c -- reassembly of the proxy's MQTT chunks (spec §9): keyed by
 * app_name, stored by index, duplicates ignored, complete when every index
 * is held; unrequested chunks are accepted; idle assemblies expire.
 */
#include "proplet/internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct assembly {
	char *app_name;           /* owned */
	int64_t total;
	int64_t have;
	size_t bytes;
	uint8_t **data;           /* owned; total entries, NULL = missing */
	size_t *lens;             /* owned */
	int64_t touched_ms;
	struct assembly *next;
};

struct proplet_chunks {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct assembly *list;    /* owned */
	size_t count;
};

static void
assembly_free(struct assembly *a)
{
	int64_t i;

	if (a == NULL)
		return;
	for (i = 0; a->data != NULL && i < a->total; i++)
		free(a->data[i]);
	free(a->data);
	free(a->lens);
	free(a->app_name);
	free(a);
}

/* Unlinks and frees the assembly for app_name (lock held). */
static void
assembly_drop(struct proplet_chunks *cs, struct assembly *victim)
{
	struct assembly **pp;

	for (pp = &cs->list; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == victim) {
			*pp = victim->next;
			cs->count--;
			assembly_free(victim);
			return;
		}
	}
}

static struct assembly *
assembly_find(struct proplet_chunks *cs, const char *app_name)
{
	struct assembly *a;

	for (a = cs->list; a != NULL; a = a->next)
		if (strcmp(a->app_name, app_name) == 0)
			return a;
	return NULL;
}

struct proplet_chunks *
proplet_chunks_new(void)
{
	struct proplet_chunks *cs = calloc(1, sizeof(*cs));
	pthread_condattr_t ca;

	if (cs == NULL)
		return NULL;
	pthread_mutex_init(&cs->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cs->changed, &ca);
	pthread_condattr_destroy(&ca);
	return cs;
}

void
proplet_chunks_free(struct proplet_chunks *cs)
{
	struct assembly *a, *n;

	if (cs == NULL)
		return;
	for (a = cs->list; a != NULL; a = n) {
		n = a->next;
		assembly_free(a);
	}
	pthread_cond_destroy(&cs->changed);
	pthread_mutex_destroy(&cs->lock);
	free(cs);
}

enum core_err
proplet_chunks_add(struct proplet_chunks *cs, const struct mqtt_chunk *c,
    struct core_errbuf *eb)
{
	struct assembly *a;
	enum core_err err = CORE_OK;

	if (c->total_chunks <= 0 || c->total_chunks > 100000 ||
	    c->chunk_idx < 0 || c->chunk_idx >= c->total_chunks)
		return core_errf(eb, CORE_ERR_INVALID,
		    "chunk %lld of %lld for %s: index out of range",
		    (long long)c->chunk_idx, (long long)c->total_chunks,
		    c->app_name);
	pthread_mutex_lock(&cs->lock);
	a = assembly_find(cs, c->app_name);
	if (a != NULL && a->total != c->total_chunks) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "chunk for %s: total_chunks %lld differs from earlier %lld",
		    c->app_name, (long long)c->total_chunks,
		    (long long)a->total);
		assembly_drop(cs, a);
		goto out;
	}
	if (a == NULL) {
		if (cs->count >= PROPLET_CHUNK_MAX_ASSEMBLIES) {
			err = core_errf(eb, CORE_ERR_TOO_BIG,
			    "too many chunk assemblies in flight (%d)",
			    PROPLET_CHUNK_MAX_ASSEMBLIES);
			goto out;
		}
		if ((a = calloc(1, sizeof(*a))) == NULL ||
		    (a->app_name = strdup(c->app_name)) == NULL ||
		    (a->data = calloc((size_t)c->total_chunks, sizeof(*a->data))) == NULL ||
		    (a->lens = calloc((size_t)c->total_chunks, sizeof(*a->lens))) == NULL) {
			assembly_free(a);
			err = CORE_ERR_NOMEM;
			goto out;
		}
		a->total = c->total_chunks;
		a->next = cs->list;
		cs->list = a;
		cs->count++;
	}
	a->touched_ms = core_mono_ms();
	if (a->data[c->chunk_idx] != NULL)
		goto out; /* duplicate */
	if (a->bytes + c->data_len > PROPLET_MODULE_MAX) {
		err = core_errf(eb, CORE_ERR_TOO_BIG,
		    "chunks for %s exceed %u bytes", c->app_name,
		    PROPLET_MODULE_MAX);
		assembly_drop(cs, a);
		goto out;
	}
	if ((a->data[c->chunk_idx] = malloc(c->data_len > 0 ? c->data_len : 1)) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	memcpy(a->data[c->chunk_idx], c->data, c->data_len);
	a->lens[c->chunk_idx] = c->data_len;
	a->bytes += c->data_len;
	a->have++;
	if (a->have == a->total)
		pthread_cond_broadcast(&cs->changed);
out:
	pthread_mutex_unlock(&cs->lock);
	return err;
}

enum core_err
proplet_chunks_wait(struct proplet_chunks *cs, const char *app_name,
    int64_t timeout_ms, uint8_t **out, size_t *len, struct core_errbuf *eb)
{
	int64_t deadline = core_mono_ms() + timeout_ms;
	enum core_err err = CORE_OK;
	struct assembly *a;
	uint8_t *buf;
	size_t off = 0;
	int64_t i;

	*out = NULL;
	*len = 0;
	pthread_mutex_lock(&cs->lock);
	for (;;) {
		struct timespec ts;
		int64_t now = core_mono_ms();

		a = assembly_find(cs, app_name);
		if (a != NULL && a->have == a->total)
			break;
		if (now >= deadline) {
			err = core_errf(eb, CORE_ERR_TIMEOUT,
			    "Timeout waiting for binary chunks of %s "
			    "(%lld of %lld after %lld ms)", app_name,
			    (long long)(a != NULL ? a->have : 0),
			    (long long)(a != NULL ? a->total : 0),
			    (long long)timeout_ms);
			goto out;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (deadline - now) / 1000;
		ts.tv_nsec += ((deadline - now) % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&cs->changed, &cs->lock, &ts);
	}
	if ((buf = malloc(a->bytes > 0 ? a->bytes : 1)) == NULL) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < a->total; i++) {
		memcpy(buf + off, a->data[i], a->lens[i]);
		off += a->lens[i];
	}
	*out = buf;
	*len = off;
	assembly_drop(cs, a);
out:
	pthread_mutex_unlock(&cs->lock);
	return err;
}

void
proplet_chunks_sweep(struct proplet_chunks *cs)
{
	struct assembly *a, *n;
	int64_t now = core_mono_ms();

	pthread_mutex_lock(&cs->lock);
	for (a = cs->list; a != NULL; a = n) {
		n = a->next;
		if (now - a->touched_ms > PROPLET_CHUNK_EXPIRY_MS)
			assembly_drop(cs, a);
	}
	pthread_mutex_unlock(&cs->lock);
}
