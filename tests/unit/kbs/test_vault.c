/*
 * test_vault.c -- the vault child's channels (vault.c) and the HTTP
 * process's pool of them (store.c): several channels served independently
 * by the one child, a malformed message on any channel ending the child,
 * many threads signing and reading at once over fewer channels, and calls
 * failing (not hanging) once the child is gone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "kbs/kbs_int.h"

#define THREADS 12
#define CALLS 40

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "%s", "/tmp/kbs-vault-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	core_fs_rmtree(dir, NULL);
	return 0;
}

static void
send_req(int fd, uint32_t type, const void *p, uint32_t len, uint64_t id)
{
	struct kbs_msg_hdr h = { type, len, id };

	assert_int_equal(kbs_ipc_send(fd, &h, p, len, NULL, 0), CORE_OK);
}

/* Reads one reply, checks its type and id, and drops its payload. */
static void
expect_reply(int fd, uint32_t type, uint64_t id)
{
	struct kbs_msg_hdr r;
	uint8_t *p = NULL;

	assert_int_equal(kbs_ipc_recv(fd, &r, &p, KBS_VAULT_MAX_MSG), CORE_OK);
	assert_int_equal(r.type, type);
	assert_int_equal(r.id, id);
	free(p);
}

static void
expect_eof(int fd)
{
	char c;

	assert_int_equal(read(fd, &c, 1), 0);
}

/*
 * Requests on different channels are in flight at once and each answer
 * comes back on its own channel with its own id; a malformed message on
 * one channel ends the child, which every channel then sees as EOF.
 */
static void
test_channels(void **state)
{
	static const char claims[] = "{\"a\":1}";
	int fds[3];
	pid_t pid;
	int st = 0;

	(void)state;
	assert_int_equal(kbs_vault_spawn(dir, 0, fds, &pid, NULL),
	    CORE_ERR_INVALID);
	assert_int_equal(kbs_vault_spawn(dir, KBS_VAULT_MAX_CHANNELS + 1, fds,
	    &pid, NULL), CORE_ERR_INVALID);
	assert_int_equal(kbs_vault_spawn(dir, 3, fds, &pid, NULL), CORE_OK);
	/* Three requests sent before any reply is read. */
	send_req(fds[2], KBS_MSG_SIGN, claims, sizeof(claims) - 1, 21);
	send_req(fds[0], KBS_MSG_PUBKEY, NULL, 0, 7);
	send_req(fds[1], KBS_MSG_GET, "no/such/thing", 13, 5);
	expect_reply(fds[0], KBS_MSG_OK, 7);
	expect_reply(fds[1], KBS_MSG_ERR, 5);
	expect_reply(fds[2], KBS_MSG_OK, 21);
	/* Each channel keeps working after the others were used. */
	send_req(fds[1], KBS_MSG_PUBKEY, NULL, 0, 6);
	expect_reply(fds[1], KBS_MSG_OK, 6);
	/* An unknown type on channel 1 ends the child for all of them. */
	send_req(fds[1], 99, NULL, 0, 8);
	expect_eof(fds[0]);
	expect_eof(fds[1]);
	expect_eof(fds[2]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	/* So does a second request on a channel before its reply. */
	assert_int_equal(kbs_vault_spawn(dir, 2, fds, &pid, NULL), CORE_OK);
	{
		struct kbs_msg_hdr h = { KBS_MSG_PUBKEY, 0, 1 };
		uint8_t two[2 * sizeof(h)];

		memcpy(two, &h, sizeof(h));
		memcpy(two + sizeof(h), &h, sizeof(h));
		assert_int_equal(core_write_all(fds[1], two, sizeof(two)),
		    CORE_OK);
	}
	expect_eof(fds[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	close(fds[0]);
	close(fds[1]);
}

struct worker {
	struct kbs_vault *v;
	int n;        /* which worker */
	int ok;       /* calls that returned what they should */
	int failed;   /* calls that failed (after the child was killed) */
};

/*
 * Signs claims naming this worker and call and checks the token with the
 * vault's public key; stores a resource of its own and reads it back.
 */
static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	char claims[64], path[64], data[32];
	json_t *hdr = NULL, *payload = NULL;
	struct secret *res = NULL;
	char *token = NULL;

	for (int i = 0; i < CALLS; i++) {
		snprintf(claims, sizeof(claims), "{\"w\":%d,\"i\":%d}", w->n, i);
		if (kbs_vault_sign(w->v, claims, &token, NULL) != CORE_OK) {
			w->failed++;
			continue;
		}
		if (kbs_jws_verify(kbs_vault_token_pub(w->v), token,
		    strlen(token), &hdr, &payload, NULL) == CORE_OK &&
		    json_integer_value(json_object_get(payload, "w")) == w->n &&
		    json_integer_value(json_object_get(payload, "i")) == i)
			w->ok++;
		json_decref(hdr);
		json_decref(payload);
		free(token);
		hdr = payload = NULL;
		token = NULL;
		if (i % 8 != 0)
			continue;
		snprintf(path, sizeof(path), "t%d/key/k%d", w->n, i);
		snprintf(data, sizeof(data), "worker %d call %d", w->n, i);
		if (kbs_vault_put(w->v, path, data, strlen(data), NULL) !=
		    CORE_OK ||
		    kbs_vault_get(w->v, path, &res, NULL) != CORE_OK) {
			w->failed++;
			continue;
		}
		if (res->len == strlen(data) &&
		    memcmp(res->ptr, data, res->len) == 0)
			w->ok++;
		secret_free(res);
		res = NULL;
	}
	return NULL;
}

/* Many threads at once over fewer channels: every answer is its own. */
static void
test_concurrent(void **state)
{
	struct kbs_vault *v = NULL;
	struct worker w[THREADS];
	pthread_t t[THREADS];

	(void)state;
	assert_int_equal(kbs_vault_open(dir, 0, &v, NULL), CORE_ERR_INVALID);
	assert_null(v);
	assert_int_equal(kbs_vault_open(dir, 4, &v, NULL), CORE_OK);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .v = v, .n = i };
		assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]),
		    0);
	}
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].failed, 0);
		assert_int_equal(w[i].ok, CALLS + CALLS / 8);
	}
	kbs_vault_free(v);
}

/* The pid of this process's only live child (the vault), from /proc. */
static pid_t
only_child(void)
{
	char buf[256];
	FILE *f;
	long a = 0, b = 0;
	int n;

	snprintf(buf, sizeof(buf), "/proc/self/task/%d/children",
	    (int)getpid());
	f = fopen(buf, "r");
	assert_non_null(f);
	n = fscanf(f, "%ld %ld", &a, &b);
	fclose(f);
	assert_int_equal(n, 1);
	return (pid_t)a;
}

/* Once the child is gone every call fails, none waits forever. */
static void
test_child_gone(void **state)
{
	struct kbs_vault *v = NULL;
	struct worker w[THREADS];
	pthread_t t[THREADS];
	char *token = NULL;
	pid_t pid;

	(void)state;
	assert_int_equal(kbs_vault_open(dir, 2, &v, NULL), CORE_OK);
	pid = only_child();
	assert_int_equal(kill(pid, SIGKILL), 0);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .v = v, .n = i };
		assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]),
		    0);
	}
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].ok, 0);
		assert_int_equal(w[i].failed, CALLS);
	}
	assert_int_equal(kbs_vault_sign(v, "{}", &token, NULL), CORE_ERR_IO);
	assert_null(token);
	kbs_vault_free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_channels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_child_gone, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
