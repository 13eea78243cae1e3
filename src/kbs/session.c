/*
 * session.c -- the RCAR session table: a bounded hash table of sessions
 * keyed by the 32-hex cookie value, each with a single-use nonce and an
 * expiry (creation + timeout, lowered to the token's exp once attested).
 */
#include "kbs/kbs_int.h"

#include <string.h>
#include <time.h>

#define SESSION_BUCKETS 4096

enum session_state { SESSION_AUTHED, SESSION_ATTESTING, SESSION_ATTESTED };

struct session {
	struct session *next;          /* owned chain */
	char id[KBS_SESSION_ID_LEN + 1];
	char tee[32];
	char nonce[64];                /* b64 of 32 bytes */
	enum session_state state;
	int64_t expires_ms;            /* monotonic */
	json_t *claims;                /* owned reference once attested */
};

struct kbs_sessions {
	pthread_mutex_t lock;
	struct session *buckets[SESSION_BUCKETS]; /* owned */
	size_t count;
	size_t max;
	int64_t timeout_ms;
};

static size_t
bucket_of(const char *id)
{
	uint32_t h = 2166136261u;

	for (; *id; id++)
		h = (h ^ (uint8_t)*id) * 16777619u;
	return h % SESSION_BUCKETS;
}

static void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	json_decref(s->claims);
	free(s);
}

struct kbs_sessions *
kbs_sessions_new(size_t max, int64_t timeout_ms)
{
	struct kbs_sessions *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	s->max = max;
	s->timeout_ms = timeout_ms;
	return s;
}

void
kbs_sessions_free(struct kbs_sessions *s)
{
	struct session *e, *n;
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < SESSION_BUCKETS; i++) {
		for (e = s->buckets[i]; e != NULL; e = n) {
			n = e->next;
			session_free(e);
		}
	}
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Finds a live session, removing it if expired. Lock held. */
static struct session *
find_locked(struct kbs_sessions *s, const char *id, int64_t now)
{
	struct session **pp, *e;

	if (strlen(id) != KBS_SESSION_ID_LEN)
		return NULL;
	for (pp = &s->buckets[bucket_of(id)]; (e = *pp) != NULL;
	    pp = &e->next) {
		if (strcmp(e->id, id) != 0)
			continue;
		if (e->expires_ms <= now) {
			*pp = e->next;
			session_free(e);
			s->count--;
			return NULL;
		}
		return e;
	}
	return NULL;
}

enum core_err
kbs_sessions_create(struct kbs_sessions *s, const char *tee,
    char id[KBS_SESSION_ID_LEN + 1], char nonce[64], int64_t *expires_wall_s,
    struct core_errbuf *eb)
{
	uint8_t rnd[16 + KBS_NONCE_LEN];
	char *hex = NULL, *b64 = NULL;
	struct session *e = NULL;
	enum core_err err;
	size_t b;

	err = core_random(rnd, sizeof(rnd), eb);
	if (err != CORE_OK)
		return err;
	rnd[6] = (uint8_t)((rnd[6] & 0x0f) | 0x40); /* UUIDv4 */
	rnd[8] = (uint8_t)((rnd[8] & 0x3f) | 0x80);
	hex = core_hex_encode(rnd, 16);
	b64 = core_b64_encode(rnd + 16, KBS_NONCE_LEN);
	e = calloc(1, sizeof(*e));
	if (hex == NULL || b64 == NULL || e == NULL ||
	    strlen(tee) >= sizeof(e->tee)) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	memcpy(e->id, hex, KBS_SESSION_ID_LEN + 1);
	memcpy(e->nonce, b64, strlen(b64) + 1);
	memcpy(e->tee, tee, strlen(tee) + 1);
	e->state = SESSION_AUTHED;
	e->expires_ms = core_mono_ms() + s->timeout_ms;
	pthread_mutex_lock(&s->lock);
	if (s->count >= s->max) {
		pthread_mutex_unlock(&s->lock);
		err = core_errf(eb, CORE_ERR_TOO_BIG,
		    "too many open sessions (%zu)", s->max);
		goto out;
	}
	b = bucket_of(e->id);
	e->next = s->buckets[b];
	s->buckets[b] = e;
	s->count++;
	pthread_mutex_unlock(&s->lock);
	memcpy(id, e->id, KBS_SESSION_ID_LEN + 1);
	memcpy(nonce, e->nonce, strlen(e->nonce) + 1);
	*expires_wall_s = time(NULL) + s->timeout_ms / 1000;
	e = NULL;
out:
	core_wipe(rnd, sizeof(rnd));
	free(e);
	free(hex);
	free(b64);
	return err;
}

enum core_err
kbs_sessions_take_nonce(struct kbs_sessions *s, const char *id, char tee[32],
    char nonce[64], struct core_errbuf *eb)
{
	struct session *e;
	enum core_err err = CORE_OK;

	pthread_mutex_lock(&s->lock);
	e = find_locked(s, id, core_mono_ms());
	if (e == NULL)
		err = core_errf(eb, CORE_ERR_NOT_FOUND,
		    "session not found or expired");
	else if (e->state != SESSION_AUTHED)
		err = core_errf(eb, CORE_ERR_STATE,
		    "the session's nonce was already used");
	else {
		e->state = SESSION_ATTESTING;
		memcpy(tee, e->tee, sizeof(e->tee));
		memcpy(nonce, e->nonce, sizeof(e->nonce));
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

void
kbs_sessions_attested(struct kbs_sessions *s, const char *id,
    json_t *claims, int64_t token_exp_wall_s)
{
	struct session *e;
	int64_t now = core_mono_ms();
	int64_t left_ms = (token_exp_wall_s - (int64_t)time(NULL)) * 1000;

	pthread_mutex_lock(&s->lock);
	e = find_locked(s, id, now);
	if (e != NULL && e->state == SESSION_ATTESTING) {
		json_decref(e->claims);
		e->claims = json_incref(claims);
		e->state = SESSION_ATTESTED;
		if (now + left_ms < e->expires_ms)
			e->expires_ms = now + left_ms;
	}
	pthread_mutex_unlock(&s->lock);
}

void
kbs_sessions_drop(struct kbs_sessions *s, const char *id)
{
	struct session *e;

	pthread_mutex_lock(&s->lock);
	e = find_locked(s, id, core_mono_ms());
	if (e != NULL)
		e->expires_ms = 0; /* removed by the next lookup or sweep */
	pthread_mutex_unlock(&s->lock);
}

enum core_err
kbs_sessions_claims(struct kbs_sessions *s, const char *id, json_t **claims)
{
	struct session *e;
	enum core_err err = CORE_ERR_NOT_FOUND;

	*claims = NULL;
	pthread_mutex_lock(&s->lock);
	e = find_locked(s, id, core_mono_ms());
	if (e != NULL && e->state == SESSION_ATTESTED && e->claims != NULL) {
		*claims = json_incref(e->claims);
		err = CORE_OK;
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

size_t
kbs_sessions_sweep(struct kbs_sessions *s)
{
	struct session **pp, *e;
	int64_t now = core_mono_ms();
	size_t i, left;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < SESSION_BUCKETS; i++) {
		pp = &s->buckets[i];
		while ((e = *pp) != NULL) {
			if (e->expires_ms <= now) {
				*pp = e->next;
				session_free(e);
				s->count--;
			} else {
				pp = &e->next;
			}
		}
	}
	left = s->count;
	pthread_mutex_unlock(&s->lock);
	return left;
}
