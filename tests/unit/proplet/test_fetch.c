#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proplet/fetch_helper.h"
#include "proplet/internal.h"

static struct mqtt_strv
strv(const char **v, size_t n)
{
	struct mqtt_strv s = { .v = (char **)v, .n = n };

	return s;
}

static void
test_invocation(void **state)
{
	const char *a[] = { "--invoke", "add", "--env", "K=V", "--env=X=1" };
	const char *b[] = { "--invoke=mul" };
	struct proplet_invocation inv;
	struct mqtt_strv s;

	(void)state;
	s = strv(a, 5);
	assert_int_equal(proplet_invocation_parse(&s, &inv, NULL), CORE_OK);
	assert_true(inv.cli_style);
	assert_string_equal(inv.invoke, "add");
	assert_int_equal(inv.nenv, 2);
	assert_string_equal(inv.env[0], "K=V");
	assert_string_equal(inv.env[1], "X=1");
	proplet_invocation_cleanup(&inv);
	s = strv(b, 1);
	assert_int_equal(proplet_invocation_parse(&s, &inv, NULL), CORE_OK);
	assert_string_equal(inv.invoke, "mul");
	proplet_invocation_cleanup(&inv);
	s = strv(NULL, 0);
	assert_int_equal(proplet_invocation_parse(&s, &inv, NULL), CORE_OK);
	assert_false(inv.cli_style);
	assert_null(inv.invoke);
	proplet_invocation_cleanup(&inv);
}

static void
test_invocation_refusals(void **state)
{
	const char *dir[] = { "--dir", "/" };
	const char *dangling[] = { "--invoke" };
	const char *badenv[] = { "--env", "NOEQUALS" };
	const char *component[] = { "--invoke", "add(1, 2)" };
	struct proplet_invocation inv;
	struct core_errbuf eb;
	struct mqtt_strv s;

	(void)state;
	core_errbuf_clear(&eb);
	s = strv(dir, 2);
	assert_int_equal(proplet_invocation_parse(&s, &inv, &eb), CORE_ERR_INVALID);
	assert_non_null(strstr(eb.msg, "--dir"));
	proplet_invocation_cleanup(&inv);
	s = strv(dangling, 1);
	assert_int_equal(proplet_invocation_parse(&s, &inv, NULL), CORE_ERR_INVALID);
	proplet_invocation_cleanup(&inv);
	s = strv(badenv, 2);
	assert_int_equal(proplet_invocation_parse(&s, &inv, NULL), CORE_ERR_INVALID);
	proplet_invocation_cleanup(&inv);
	s = strv(component, 2);
	assert_int_equal(proplet_invocation_parse(&s, &inv, NULL), CORE_ERR_INVALID);
	proplet_invocation_cleanup(&inv);
}

/* A real HTTP server (python3 http.server) on a free loopback port. */
static int
free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static void
test_http_get(void **state)
{
	char *dir = NULL, *f, url[128], portstr[16];
	const uint8_t mod[] = { 0, 'a', 's', 'm', 1, 0, 0, 0 };
	struct core_errbuf eb;
	uint8_t *out;
	size_t len;
	int port = free_port(), i;
	pid_t pid;

	(void)state;
	assert_int_equal(core_fs_tmpdir("proplet-http", &dir, NULL), CORE_OK);
	f = core_path_join(dir, "m.wasm");
	assert_int_equal(core_fs_write_atomic(f, mod, sizeof(mod), 0644, NULL), CORE_OK);
	free(f);
	f = core_path_join(dir, "page.html");
	assert_int_equal(core_fs_write_atomic(f, "<p>", 3, 0644, NULL), CORE_OK);
	free(f);
	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((pid = fork()) == 0) {
		execlp("python3", "python3", "-m", "http.server", "--bind",
		    "127.0.0.1", "--directory", dir, portstr, (char *)NULL);
		_exit(127);
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/m.wasm", port);
	for (i = 0; i < 100; i++) {
		if (proplet_http_get(url, &out, &len, NULL) == CORE_OK)
			break;
		usleep(50000);
	}
	assert_true(i < 100);
	assert_int_equal(len, sizeof(mod));
	assert_memory_equal(out, mod, sizeof(mod));
	free(out);
	core_errbuf_clear(&eb);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/missing.wasm", port);
	assert_int_equal(proplet_http_get(url, &out, &len, &eb), CORE_ERR_NET);
	assert_non_null(strstr(eb.msg, "404"));
	core_errbuf_clear(&eb);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/page.html", port);
	assert_int_equal(proplet_http_get(url, &out, &len, &eb), CORE_ERR_INVALID);
	assert_non_null(strstr(eb.msg, "Content-Type"));
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	core_errbuf_clear(&eb);
	assert_int_equal(proplet_http_get(url, &out, &len, &eb), CORE_ERR_NET);
	core_fs_rmtree(dir, NULL);
	free(dir);
}

/* Writes an executable shell script standing in for the helper. */
static char *
fake_helper(const char *dir, const char *name, const char *body)
{
	char *path = core_path_join(dir, name), text[1024];

	snprintf(text, sizeof(text), "#!/bin/sh\n%s\n", body);
	assert_int_equal(core_fs_write_atomic(path, text, strlen(text), 0755,
	    NULL), CORE_OK);
	return path;
}

static void
use_real_helper(void)
{
	const char *bin = getenv("PROPELLER_BINARY_DIR");
	char path[1024];

	assert_non_null(bin);
	snprintf(path, sizeof(path), "%s/src/proplet/%s", bin,
	    PROPLET_FETCH_HELPER_NAME);
	assert_int_equal(proplet_fetch_helper_init(path, NULL), CORE_OK);
}

static enum core_err
decode(const char *text, struct proplet_fetch_req *r, struct core_errbuf *eb)
{
	return proplet_fetch_req_decode(text, strlen(text), r, eb);
}

/* A request survives the codec; hostile bodies are refused. */
static void
test_req_codec(void **state)
{
	struct proplet_fetch_req in = { .op = PROPLET_FETCH_OP_ENCRYPTED,
		.url = (char *)"127.0.0.1:5000/app:enc",
		.kbs_resource_path = (char *)"default/key/app",
		.kbs_uri = (char *)"http://127.0.0.1:8080", .tee_kind = 3,
		.require_kid_match = true, .registry_password = (char *)"pw",
		.registry_insecure = true };
	struct proplet_fetch_req out;
	struct core_errbuf eb;
	char *body;
	size_t len;

	(void)state;
	assert_int_equal(proplet_fetch_req_encode(&in, &body, &len, NULL),
	    CORE_OK);
	assert_int_equal(proplet_fetch_req_decode(body, len, &out, NULL),
	    CORE_OK);
	free(body);
	assert_int_equal(out.op, PROPLET_FETCH_OP_ENCRYPTED);
	assert_string_equal(out.url, in.url);
	assert_string_equal(out.kbs_resource_path, in.kbs_resource_path);
	assert_string_equal(out.kbs_uri, in.kbs_uri);
	assert_string_equal(out.registry_password, "pw");
	assert_null(out.registry_username);
	assert_int_equal(out.tee_kind, 3);
	assert_true(out.require_kid_match);
	assert_true(out.registry_insecure);
	proplet_fetch_req_cleanup(&out);
	core_errbuf_clear(&eb);
	assert_int_equal(decode("{\"op\":\"rm\",\"url\":\"x\"}", &out, &eb),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(eb.msg, "unknown op"));
	core_errbuf_clear(&eb);
	assert_int_equal(decode("{\"op\":\"http\",\"url\":\"x\",\"evil\":1}",
	    &out, &eb), CORE_ERR_INVALID);
	assert_non_null(strstr(eb.msg, "evil"));
	assert_int_equal(decode("{\"op\":\"http\"}", &out, NULL),
	    CORE_ERR_INVALID);
	assert_int_equal(decode("[1]", &out, NULL), CORE_ERR_INVALID);
	assert_int_equal(decode("{\"op\":\"http\",\"url\":\"x\",\"tee_kind\":-1}",
	    &out, NULL), CORE_ERR_INVALID);
}

/* A registry that is not there: the helper's reason comes back. */
static void
test_pull_bad_image(void **state)
{
	struct proplet_config cfg = { .registry_insecure = true };
	struct proplet_encrypted_req er = { .cfg = &cfg,
		.kbs_resource_path = "default/key/x", .tee_kind = 1 };
	struct core_errbuf eb;
	char ref[128];
	uint8_t *out;
	size_t len;

	(void)state;
	use_real_helper();
	snprintf(ref, sizeof(ref), "127.0.0.1:%d/nothing/here:latest",
	    free_port());
	core_errbuf_clear(&eb);
	assert_int_not_equal(proplet_registry_pull(&cfg, ref, &out, &len, &eb),
	    CORE_OK);
	assert_null(out);
	assert_non_null(strstr(eb.msg, ref));
	assert_null(strstr(eb.msg, "fetch helper"));
	/* Encrypted without a KBS: refused by the helper, with the reason. */
	er.image_url = ref;
	core_errbuf_clear(&eb);
	assert_int_equal(proplet_encrypted_fetch(&er, &out, &len, &eb),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(eb.msg, "PROPLET_KBS_URI"));
	/* A malformed reference. */
	core_errbuf_clear(&eb);
	assert_int_not_equal(proplet_registry_pull(&cfg, "::not a ref::", &out,
	    &len, &eb), CORE_OK);
	assert_true(eb.msg[0] != '\0');
}

/* Missing, crashing and lying helpers become clear task errors. */
static void
test_helper_failures(void **state)
{
	char *dir = NULL, *h, *real, cmd[512];
	struct core_errbuf eb;
	uint8_t *out, *pidtext;
	size_t len;

	(void)state;
	assert_int_equal(core_fs_tmpdir("proplet-helper", &dir, NULL), CORE_OK);
	real = core_path_join(dir, "absent");
	assert_int_equal(proplet_fetch_helper_init(real, NULL), CORE_OK);
	core_errbuf_clear(&eb);
	assert_int_equal(proplet_http_get("http://127.0.0.1:1/m.wasm", &out,
	    &len, &eb), CORE_ERR_INTERNAL);
	assert_non_null(strstr(eb.msg, "fetch helper"));
	assert_non_null(strstr(eb.msg, "No such file"));
	free(real);

	h = fake_helper(dir, "crash", "kill -SEGV $$");
	assert_int_equal(proplet_fetch_helper_init(h, NULL), CORE_OK);
	core_errbuf_clear(&eb);
	assert_int_equal(proplet_http_get("http://127.0.0.1:1/m.wasm", &out,
	    &len, &eb), CORE_ERR_INTERNAL);
	assert_non_null(strstr(eb.msg, "died (signal 11) without a report"));
	free(h);

	h = fake_helper(dir, "quit", "exit 3");
	assert_int_equal(proplet_fetch_helper_init(h, NULL), CORE_OK);
	core_errbuf_clear(&eb);
	assert_int_equal(proplet_http_get("http://127.0.0.1:1/m.wasm", &out,
	    &len, &eb), CORE_ERR_INTERNAL);
	assert_non_null(strstr(eb.msg, "exited (status 3) without a report"));
	free(h);

	/*
	 * Dies while a process of its own still holds the socket: the exit
	 * is seen anyway (without it, this test would wait for the sleep).
	 */
	snprintf(cmd, sizeof(cmd), "sleep 300 2>/dev/null & echo $! >%s/held; "
	    "exit 4", dir);
	h = fake_helper(dir, "holder", cmd);
	assert_int_equal(proplet_fetch_helper_init(h, NULL), CORE_OK);
	core_errbuf_clear(&eb);
	assert_int_equal(proplet_http_get("http://127.0.0.1:1/m.wasm", &out,
	    &len, &eb), CORE_ERR_INTERNAL);
	assert_non_null(strstr(eb.msg, "exited (status 4) without a report"));
	free(h);
	h = core_path_join(dir, "held");
	assert_int_equal(core_fs_read(h, 64, &pidtext, &len, NULL), CORE_OK);
	kill((pid_t)strtol((char *)pidtext, NULL, 10), SIGKILL);
	free(pidtext);
	free(h);

	/* 24 bytes of header with a request id it was never given. */
	h = fake_helper(dir, "liar",
	    "cat <&3 >/dev/null & printf 'AAAAAAAAAAAAAAAAAAAAAAAA' >&3; wait");
	assert_int_equal(proplet_fetch_helper_init(h, NULL), CORE_OK);
	core_errbuf_clear(&eb);
	assert_int_equal(proplet_http_get("http://127.0.0.1:1/m.wasm", &out,
	    &len, &eb), CORE_ERR_INTERNAL);
	assert_non_null(strstr(eb.msg, "another request"));
	assert_null(out);
	free(h);
	proplet_fetch_helper_cleanup();
	core_fs_rmtree(dir, NULL);
	free(dir);
}

/* The helper run by hand refuses and says what it is. */
static void
test_helper_by_hand(void **state)
{
	char cmd[1200];

	(void)state;
	use_real_helper();
	snprintf(cmd, sizeof(cmd), "%s </dev/null 2>/dev/null 3>&- 4>&-",
	    proplet_fetch_helper_path());
	assert_int_equal(WEXITSTATUS(system(cmd)), 2);
}

static int
setup(void **state)
{
	(void)state;
	use_real_helper();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	proplet_fetch_helper_cleanup();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invocation),
		cmocka_unit_test(test_invocation_refusals),
		cmocka_unit_test(test_req_codec),
		cmocka_unit_test(test_http_get),
		cmocka_unit_test(test_pull_bad_image),
		cmocka_unit_test(test_helper_failures),
		cmocka_unit_test(test_helper_by_hand),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
