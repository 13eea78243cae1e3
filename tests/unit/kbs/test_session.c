/*
 * test_session.c -- the session table's eviction policy (session.c) with a
 * small table and times given explicitly: /auth is never refused, expired
 * pending sessions go first, then the least recently used attested
 * session, then (with no attested session left) the oldest pending one;
 * attested sessions end at the token's exp; the counters add up.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kbs/kbs_int.h"

#define TIMEOUT_MS 1000

struct sid {
	char id[KBS_SESSION_ID_LEN + 1];
	char nonce[64];
};

static void
create(struct kbs_sessions *s, int64_t now, struct sid *out)
{
	assert_int_equal(kbs_sessions_create(s, "sample", now, out->id,
	    out->nonce, NULL), CORE_OK);
	assert_int_equal(strlen(out->id), KBS_SESSION_ID_LEN);
}

/* Runs /attest's part: takes the nonce, stores claims naming the id. */
static void
attest(struct kbs_sessions *s, const struct sid *x, int64_t now,
    int64_t token_exp)
{
	char tee[32], nonce[64], *claims = malloc(128);
	json_t *tree;

	assert_int_equal(kbs_sessions_take_nonce(s, x->id, now, tee, nonce,
	    NULL), CORE_OK);
	assert_string_equal(tee, "sample");
	assert_string_equal(nonce, x->nonce);
	snprintf(claims, 128, "{\"id\":\"%s\",\"exp\":%lld}", x->id,
	    (long long)token_exp);
	tree = json_loads(claims, 0, NULL);
	assert_non_null(tree);
	kbs_sessions_attested(s, x->id, claims, tree, token_exp, now);
	json_decref(tree); /* the table took its own reference */
}

/* Whether x is attested and live; checks its claims when it is. */
static bool
has_claims(struct kbs_sessions *s, const struct sid *x, int64_t now)
{
	json_t *c = NULL;

	if (kbs_sessions_claims(s, x->id, now, &c, NULL) != CORE_OK) {
		assert_null(c);
		return false;
	}
	assert_string_equal(json_string_value(json_object_get(c, "id")),
	    x->id);
	json_decref(c);
	return true;
}

/* Whether x is pending and live (its nonce is consumed by asking). */
static bool
pending(struct kbs_sessions *s, const struct sid *x, int64_t now)
{
	char tee[32], nonce[64];

	return kbs_sessions_take_nonce(s, x->id, now, tee, nonce, NULL) ==
	    CORE_OK;
}

static void
expect_stats(struct kbs_sessions *s, size_t npend, size_t natt,
    uint64_t evicted, uint64_t expired)
{
	struct kbs_sessions_stats st;

	kbs_sessions_stats(s, &st);
	assert_int_equal(st.pending, npend);
	assert_int_equal(st.attested, natt);
	assert_int_equal(st.evicted, evicted);
	assert_int_equal(st.expired, expired);
}

/* The least recently used attested session goes before pending ones. */
static void
test_evict_lru_attested(void **state)
{
	struct kbs_sessions *s = kbs_sessions_new(4, 4, TIMEOUT_MS);
	struct sid p1, p2, a1, a2, n1, n2, n3;

	(void)state;
	assert_null(kbs_sessions_new(0, 0, TIMEOUT_MS));
	assert_non_null(s);
	create(s, 0, &p1);
	create(s, 0, &p2);
	create(s, 0, &a1);
	create(s, 0, &a2);
	attest(s, &a1, 1, 500);
	attest(s, &a2, 2, 500);
	expect_stats(s, 2, 2, 0, 0);
	/* a1 used after a2 was attested: a2 is now the least recent. */
	assert_true(has_claims(s, &a1, 10));
	create(s, 20, &n1);
	expect_stats(s, 3, 1, 1, 0);
	assert_false(has_claims(s, &a2, 21));
	assert_true(has_claims(s, &a1, 21));
	/* Then a1, the last attested one. */
	create(s, 30, &n2);
	expect_stats(s, 4, 0, 2, 0);
	assert_false(has_claims(s, &a1, 31));
	/* With none attested left, the oldest pending session goes (p1). */
	create(s, 40, &n3);
	expect_stats(s, 4, 0, 3, 0);
	assert_false(pending(s, &p1, 41));
	assert_true(pending(s, &p2, 41));
	assert_true(pending(s, &n1, 41));
	kbs_sessions_free(s);
}

/* Pending sessions past their timeout go before any live session. */
static void
test_expired_first(void **state)
{
	struct kbs_sessions *s = kbs_sessions_new(3, 3, TIMEOUT_MS);
	struct sid p1, a1, a2, n1, n2;

	(void)state;
	create(s, 0, &p1);
	create(s, 600, &a1);
	create(s, 600, &a2);
	attest(s, &a1, 700, 100000);
	attest(s, &a2, 700, 100000);
	/* Full; p1 expired at 1000: it goes, both attested stay. */
	create(s, 1000, &n1);
	expect_stats(s, 1, 2, 0, 1);
	assert_true(has_claims(s, &a1, 1001));
	assert_true(has_claims(s, &a2, 1001));
	/*
	 * n1 is live and pending: the least recently used attested session
	 * (a1, used before a2) makes room, not n1.
	 */
	create(s, 1100, &n2);
	expect_stats(s, 2, 1, 1, 1);
	assert_false(has_claims(s, &a1, 1101));
	assert_true(has_claims(s, &a2, 1101));
	assert_true(pending(s, &n1, 1101));
	kbs_sessions_free(s);
}

/*
 * An attested session ends at min(timeout, token exp); a dropped session
 * is gone at once; a session evicted while its /attest runs simply does
 * not become attested (and its claims are freed, ASan checks that).
 */
static void
test_lifetimes(void **state)
{
	struct kbs_sessions *s = kbs_sessions_new(2, 2, TIMEOUT_MS);
	struct sid a, b, c, d;
	char tee[32], nonce[64];
	json_t *tree;

	(void)state;
	create(s, 0, &a);
	attest(s, &a, 10, 300);
	assert_true(has_claims(s, &a, 299));
	assert_false(has_claims(s, &a, 300));
	expect_stats(s, 0, 0, 0, 1);
	create(s, 400, &b);
	attest(s, &b, 410, 5000);
	assert_true(has_claims(s, &b, 1399));
	assert_false(has_claims(s, &b, 1400)); /* the session timeout */
	/* A session's nonce is single use. */
	create(s, 2000, &c);
	assert_true(pending(s, &c, 2001));
	assert_int_equal(kbs_sessions_take_nonce(s, c.id, 2002, tee, nonce,
	    NULL), CORE_ERR_STATE);
	kbs_sessions_drop(s, c.id);
	assert_int_equal(kbs_sessions_take_nonce(s, c.id, 2003, tee, nonce,
	    NULL), CORE_ERR_NOT_FOUND);
	/* c's /attest is in flight while two /auth calls evict it. */
	create(s, 2010, &c);
	assert_true(pending(s, &c, 2011));
	create(s, 2020, &d);
	create(s, 2030, &d);
	tree = json_pack("{s:b}", "late", 1);
	kbs_sessions_attested(s, c.id, strdup("{\"late\":true}"), tree, 9000,
	    2040);
	json_decref(tree);
	assert_false(has_claims(s, &c, 2041));
	/* Unknown and malformed ids. */
	assert_false(has_claims(s, &(struct sid){ .id = "nope" }, 2050));
	assert_false(pending(s, &(struct sid){
	    .id = "00000000000000000000000000000000" }, 2050));
	kbs_sessions_free(s);
}

/*
 * Only the max_hot most recently attested sessions keep a parsed tree; the
 * others answer from their text, with the same claims.
 */
static void
test_hot(void **state)
{
	struct kbs_sessions *s = kbs_sessions_new(10, 2, TIMEOUT_MS);
	struct kbs_sessions_stats st;
	struct sid x[4];

	(void)state;
	for (int i = 0; i < 4; i++) {
		create(s, i, &x[i]);
		attest(s, &x[i], i, 5000);
	}
	kbs_sessions_stats(s, &st);
	assert_int_equal(st.attested, 4);
	assert_int_equal(st.hot, 2);
	for (int i = 0; i < 4; i++)
		assert_true(has_claims(s, &x[i], 10));
	/* A hot session's removal frees its tree and its place. */
	kbs_sessions_drop(s, x[3].id);
	kbs_sessions_stats(s, &st);
	assert_int_equal(st.hot, 1);
	create(s, 20, &x[3]);
	attest(s, &x[3], 20, 5000);
	kbs_sessions_stats(s, &st);
	assert_int_equal(st.hot, 2);
	/* No tree given: the session keeps only its text. */
	create(s, 30, &x[0]);
	assert_true(pending(s, &x[0], 31));
	kbs_sessions_attested(s, x[0].id, strdup("{\"id\":\"t\"}"), NULL, 5000,
	    31);
	kbs_sessions_stats(s, &st);
	assert_int_equal(st.hot, 2);
	kbs_sessions_free(s);
}

/* Sweeping removes every expired session, attested or not. */
static void
test_sweep(void **state)
{
	struct kbs_sessions *s = kbs_sessions_new(100, 100, TIMEOUT_MS);
	struct sid x[10];

	(void)state;
	for (int i = 0; i < 10; i++) {
		create(s, i * 100, &x[i]);
		if (i % 2 == 0)
			attest(s, &x[i], i * 100, i * 100 + 200);
	}
	/* At 999: attested 0..8 end at i*100+200 (all but 8 are gone);
	 * pending 1,3,5,7,9 end at i*100+1000 (all live). */
	assert_int_equal(kbs_sessions_sweep(s, 999), 6);
	expect_stats(s, 5, 1, 0, 4);
	assert_int_equal(kbs_sessions_sweep(s, 5000), 0);
	kbs_sessions_free(s);
}

/*
 * A long run of /auth + /attest over a table of 8: never refused, the
 * table never holds more than 8, and the newest sessions always work.
 */
static void
test_sustained(void **state)
{
	struct kbs_sessions *s = kbs_sessions_new(8, 8, TIMEOUT_MS);
	struct kbs_sessions_stats st;
	struct sid x;

	(void)state;
	for (int64_t t = 0; t < 20000; t++) {
		create(s, t, &x);
		if (t % 5 != 0) /* some clients never attest */
			attest(s, &x, t, t + 300000);
		if (t % 5 == 1)
			assert_true(has_claims(s, &x, t));
		kbs_sessions_stats(s, &st);
		assert_true(st.pending + st.attested <= 8);
	}
	kbs_sessions_stats(s, &st);
	assert_int_equal(st.evicted + st.expired + st.pending + st.attested,
	    20000);
	kbs_sessions_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_evict_lru_attested),
		cmocka_unit_test(test_expired_first),
		cmocka_unit_test(test_lifetimes),
		cmocka_unit_test(test_hot),
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_sustained),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
