/*
 * session.c -- the RCAR session table: a bounded hash table of sessions
 * keyed by the 32-hex cookie value, each with a single-use nonce and an
 * expiry (creation + timeout, lowered to the token's exp once attested).
 *
 * The table never refuses a new session. Sessions sit on one of two
 * queues: `pending` (no token yet, in creation order, which is also expiry
 * order) and `attested` (least recently used first). When the table is
 * full, /auth makes room by dropping, in this order:
 *   1. pending sessions past their timeout (oldest first);
 *   2. the least recently used attested session, expired or not: its
 *      holder keeps its token and can present it as `Authorization:
 *      Bearer` (our client always sends it; Trustee's re-attests on 401);
 *   3. the oldest live pending session (only when no attested session is
 *      left, i.e. when /auth alone fills the table: its client gets "session
 *      not found" at /attest and starts again).
 * Memory stays bounded: every attested session keeps the claims text it
 * was issued (about 1.3 KB), and only the `hot` most recently attested ones
 * also keep the parsed tree (about 7.5 KB with jansson), which the cookie
 * path then uses as it is; an older session's text is parsed again when it
 * is used (a jansson parse costs about as much as the rest of a GET's
 * request handling outside the JWE). Expired sessions are also dropped when
 * looked up and by kbs_sessions_sweep.
 */
#include "kbs/kbs_int.h"

#include <string.h>
#include <sys/queue.h>

#define SESSION_BUCKETS_MIN 64
#define SESSION_BUCKETS_MAX (1u << 20)

enum session_state { SESSION_AUTHED, SESSION_ATTESTING, SESSION_ATTESTED };

struct session {
	LIST_ENTRY(session) chain;     /* in its hash bucket */
	TAILQ_ENTRY(session) queue;    /* in pending or attested */
	char id[KBS_SESSION_ID_LEN + 1];
	char tee[32];
	char nonce[64];                /* b64 of 32 bytes */
	enum session_state state;
	int64_t expires_ms;            /* monotonic */
	char *claims;                  /* owned once attested: JSON text */
	size_t claims_len;
	json_t *tree;                  /* owned reference or NULL: parsed */
	TAILQ_ENTRY(session) hot;      /* in hot while tree != NULL */
};

LIST_HEAD(session_chain, session);
TAILQ_HEAD(session_queue, session);

struct kbs_sessions {
	pthread_mutex_t lock;          /* everything below */
	struct session_chain *buckets; /* owned; nbuckets chains (own them) */
	size_t nbuckets;               /* a power of two */
	struct session_queue pending;  /* AUTHED/ATTESTING, oldest first */
	struct session_queue attested; /* ATTESTED, least recently used first */
	struct session_queue hot;      /* those with a tree, oldest first */
	size_t npending, nattested, nhot;
	size_t max;
	size_t max_hot;
	int64_t timeout_ms;
	uint64_t evicted;              /* live sessions dropped for room */
	uint64_t expired;              /* expired sessions removed */
};

static size_t
bucket_of(const struct kbs_sessions *s, const char *id)
{
	uint32_t h = 2166136261u;

	for (; *id; id++)
		h = (h ^ (uint8_t)*id) * 16777619u;
	return h & (s->nbuckets - 1);
}

static struct session_queue *
queue_of(struct kbs_sessions *s, const struct session *e)
{
	return e->state == SESSION_ATTESTED ? &s->attested : &s->pending;
}

/* Unlinks and frees e. Lock held. */
static void
session_remove(struct kbs_sessions *s, struct session *e)
{
	LIST_REMOVE(e, chain);
	TAILQ_REMOVE(queue_of(s, e), e, queue);
	if (e->state == SESSION_ATTESTED)
		s->nattested--;
	else
		s->npending--;
	if (e->tree != NULL) {
		TAILQ_REMOVE(&s->hot, e, hot);
		s->nhot--;
		json_decref(e->tree);
	}
	free(e->claims);
	free(e);
}

struct kbs_sessions *
kbs_sessions_new(size_t max, size_t max_hot, int64_t timeout_ms)
{
	struct kbs_sessions *s;
	size_t nb = SESSION_BUCKETS_MIN;

	if (max == 0)
		return NULL;
	while (nb < max && nb < SESSION_BUCKETS_MAX)
		nb *= 2;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->buckets = calloc(nb, sizeof(*s->buckets));
	if (s->buckets == NULL) {
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->nbuckets = nb;
	TAILQ_INIT(&s->pending);
	TAILQ_INIT(&s->attested);
	TAILQ_INIT(&s->hot);
	s->max = max;
	s->max_hot = max_hot;
	s->timeout_ms = timeout_ms;
	return s;
}

void
kbs_sessions_free(struct kbs_sessions *s)
{
	struct session *e;

	if (s == NULL)
		return;
	while ((e = TAILQ_FIRST(&s->pending)) != NULL)
		session_remove(s, e);
	while ((e = TAILQ_FIRST(&s->attested)) != NULL)
		session_remove(s, e);
	pthread_mutex_destroy(&s->lock);
	free(s->buckets);
	free(s);
}

/* Finds a live session, removing it if expired. Lock held. */
static struct session *
find_locked(struct kbs_sessions *s, const char *id, int64_t now_ms)
{
	struct session *e;

	if (strlen(id) != KBS_SESSION_ID_LEN)
		return NULL;
	LIST_FOREACH(e, &s->buckets[bucket_of(s, id)], chain) {
		if (strcmp(e->id, id) != 0)
			continue;
		if (e->expires_ms <= now_ms) {
			session_remove(s, e);
			s->expired++;
			return NULL;
		}
		return e;
	}
	return NULL;
}

/* Drops expired pending sessions from the head of the queue. Lock held. */
static void
purge_pending(struct kbs_sessions *s, int64_t now_ms, size_t limit)
{
	struct session *e;

	while (limit-- > 0 && (e = TAILQ_FIRST(&s->pending)) != NULL &&
	    e->expires_ms <= now_ms) {
		session_remove(s, e);
		s->expired++;
	}
}

/* Makes room for one more session (the order is in the header). */
static void
make_room(struct kbs_sessions *s, int64_t now_ms)
{
	struct session *e;

	purge_pending(s, now_ms, 2); /* a little at every /auth */
	while (s->npending + s->nattested >= s->max) {
		purge_pending(s, now_ms, SIZE_MAX);
		if (s->npending + s->nattested < s->max)
			break;
		e = TAILQ_FIRST(&s->attested);
		if (e == NULL)
			e = TAILQ_FIRST(&s->pending);
		if (e->expires_ms <= now_ms)
			s->expired++;
		else
			s->evicted++;
		session_remove(s, e);
	}
}

enum core_err
kbs_sessions_create(struct kbs_sessions *s, const char *tee, int64_t now_ms,
    char id[KBS_SESSION_ID_LEN + 1], char nonce[64], struct core_errbuf *eb)
{
	uint8_t rnd[16 + KBS_NONCE_LEN];
	struct session *e = NULL;
	char *b64 = NULL;
	enum core_err err;

	if (strlen(tee) >= sizeof(e->tee))
		return core_errf(eb, CORE_ERR_INVALID, "tee name too long");
	err = core_random(rnd, sizeof(rnd), eb);
	if (err != CORE_OK)
		return err;
	e = calloc(1, sizeof(*e));
	b64 = core_b64_encode(rnd + 16, KBS_NONCE_LEN);
	if (e == NULL || b64 == NULL || strlen(b64) >= sizeof(e->nonce)) {
		err = CORE_ERR_NOMEM;
		goto out;
	}
	rnd[6] = (uint8_t)((rnd[6] & 0x0f) | 0x40); /* UUIDv4 */
	rnd[8] = (uint8_t)((rnd[8] & 0x3f) | 0x80);
	for (size_t i = 0; i < 16; i++) {
		e->id[2 * i] = "0123456789abcdef"[rnd[i] >> 4];
		e->id[2 * i + 1] = "0123456789abcdef"[rnd[i] & 15];
	}
	e->id[KBS_SESSION_ID_LEN] = '\0';
	memcpy(e->nonce, b64, strlen(b64) + 1);
	memcpy(e->tee, tee, strlen(tee) + 1);
	e->state = SESSION_AUTHED;
	e->expires_ms = now_ms + s->timeout_ms;
	memcpy(id, e->id, KBS_SESSION_ID_LEN + 1);
	memcpy(nonce, e->nonce, strlen(e->nonce) + 1);
	pthread_mutex_lock(&s->lock);
	make_room(s, now_ms);
	LIST_INSERT_HEAD(&s->buckets[bucket_of(s, e->id)], e, chain);
	TAILQ_INSERT_TAIL(&s->pending, e, queue);
	s->npending++;
	pthread_mutex_unlock(&s->lock);
	e = NULL;
out:
	core_wipe(rnd, sizeof(rnd));
	free(e);
	free(b64);
	return err;
}

enum core_err
kbs_sessions_take_nonce(struct kbs_sessions *s, const char *id,
    int64_t now_ms, char tee[32], char nonce[64], struct core_errbuf *eb)
{
	struct session *e;
	enum core_err err = CORE_OK;

	pthread_mutex_lock(&s->lock);
	e = find_locked(s, id, now_ms);
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
kbs_sessions_attested(struct kbs_sessions *s, const char *id, char *claims,
    json_t *tree, int64_t token_exp_ms, int64_t now_ms)
{
	json_t *cold = NULL;
	struct session *e, *h;

	json_incref(tree);
	pthread_mutex_lock(&s->lock);
	e = find_locked(s, id, now_ms);
	if (e != NULL && e->state == SESSION_ATTESTING) {
		TAILQ_REMOVE(&s->pending, e, queue);
		s->npending--;
		e->state = SESSION_ATTESTED;
		e->claims = claims;
		e->claims_len = strlen(claims);
		claims = NULL;
		if (token_exp_ms < e->expires_ms)
			e->expires_ms = token_exp_ms;
		TAILQ_INSERT_TAIL(&s->attested, e, queue);
		s->nattested++;
		if (tree != NULL && s->max_hot > 0) {
			if (s->nhot >= s->max_hot) {
				/* The oldest hot session keeps only its text. */
				h = TAILQ_FIRST(&s->hot);
				TAILQ_REMOVE(&s->hot, h, hot);
				cold = h->tree;
				h->tree = NULL;
				s->nhot--;
			}
			e->tree = tree;
			tree = NULL;
			TAILQ_INSERT_TAIL(&s->hot, e, hot);
			s->nhot++;
		}
	}
	pthread_mutex_unlock(&s->lock);
	/* Freed outside the lock: a tree is ~50 allocations. */
	json_decref(cold);
	json_decref(tree);
	free(claims); /* evicted or expired meanwhile */
}

void
kbs_sessions_drop(struct kbs_sessions *s, const char *id)
{
	struct session *e;

	pthread_mutex_lock(&s->lock);
	e = find_locked(s, id, INT64_MIN);
	if (e != NULL)
		session_remove(s, e);
	pthread_mutex_unlock(&s->lock);
}

enum core_err
kbs_sessions_claims(struct kbs_sessions *s, const char *id, int64_t now_ms,
    json_t **claims, struct core_errbuf *eb)
{
	struct session *e;
	char *text = NULL;
	size_t n = 0;
	bool found = false;
	enum core_err err;

	*claims = NULL;
	pthread_mutex_lock(&s->lock);
	e = find_locked(s, id, now_ms);
	if (e != NULL && e->state == SESSION_ATTESTED) {
		found = true;
		/* Used: it becomes the most recently used. */
		TAILQ_REMOVE(&s->attested, e, queue);
		TAILQ_INSERT_TAIL(&s->attested, e, queue);
		if (e->tree != NULL) {
			*claims = json_incref(e->tree);
		} else {
			n = e->claims_len;
			text = malloc(n + 1);
			if (text != NULL)
				memcpy(text, e->claims, n + 1);
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (!found)
		return core_errf(eb, CORE_ERR_NOT_FOUND,
		    "no attested session %s", id);
	if (*claims != NULL)
		return CORE_OK;
	if (text == NULL)
		return CORE_ERR_NOMEM;
	/* Parsed outside the lock: other threads need not wait for it. */
	err = core_json_parse_object(text, n, 0, claims, eb);
	free(text);
	return err;
}

size_t
kbs_sessions_sweep(struct kbs_sessions *s, int64_t now_ms)
{
	struct session *e, *next;
	size_t left;

	pthread_mutex_lock(&s->lock);
	purge_pending(s, now_ms, SIZE_MAX);
	for (e = TAILQ_FIRST(&s->attested); e != NULL; e = next) {
		next = TAILQ_NEXT(e, queue);
		if (e->expires_ms <= now_ms) {
			session_remove(s, e);
			s->expired++;
		}
	}
	left = s->npending + s->nattested;
	pthread_mutex_unlock(&s->lock);
	return left;
}

void
kbs_sessions_stats(struct kbs_sessions *s, struct kbs_sessions_stats *st)
{
	pthread_mutex_lock(&s->lock);
	st->pending = s->npending;
	st->attested = s->nattested;
	st->hot = s->nhot;
	st->evicted = s->evicted;
	st->expired = s->expired;
	pthread_mutex_unlock(&s->lock);
}
