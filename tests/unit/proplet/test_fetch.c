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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invocation),
		cmocka_unit_test(test_invocation_refusals),
		cmocka_unit_test(test_http_get),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
