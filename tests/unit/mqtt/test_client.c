/*
 * test_client.c -- the libmosquitto wrapper against a real mosquitto this
 * test starts on a free 127.0.0.1 port with a password file (stopped in
 * the group teardown): authentication failures, connect timeout, publish
 * from several threads at once, reconnect with re-subscription after a
 * broker restart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "mqtt/mqtt.h"

#define USER "d0e7f1a2-3b4c-4d5e-8f60-718293a4b5c6"
#define PASS "secret-key"

static char *tmpdir;
static char conf_path[512];
static char address[64];
static pid_t broker = -1;
static int port;

struct counter {
	pthread_mutex_t mu;
	int n;
	char last_topic[MQTT_TOPIC_MAX];
};

static void
count_msg(void *arg, const char *topic, const void *p, size_t n)
{
	struct counter *c = arg;

	(void)p;
	(void)n;
	pthread_mutex_lock(&c->mu);
	c->n++;
	snprintf(c->last_topic, sizeof(c->last_topic), "%s", topic);
	pthread_mutex_unlock(&c->mu);
}

static int
count_get(struct counter *c)
{
	int n;

	pthread_mutex_lock(&c->mu);
	n = c->n;
	pthread_mutex_unlock(&c->mu);
	return n;
}

/* Waits up to ms for the counter to reach want. */
static bool
count_wait(struct counter *c, int want, int ms)
{
	for (; ms > 0; ms -= 20) {
		if (count_get(c) >= want)
			return true;
		usleep(20 * 1000);
	}
	return count_get(c) >= want;
}

static int
free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), p;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		return -1;
	p = ntohs(a.sin_port);
	close(fd);
	return p;
}

static bool
port_open(void)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static int
broker_start(void)
{
	int i;

	broker = fork();
	if (broker < 0)
		return -1;
	if (broker == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		if (devnull >= 0) {
			dup2(devnull, 1);
			dup2(devnull, 2);
		}
		execlp("mosquitto", "mosquitto", "-c", conf_path, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 200; i++) {
		if (port_open())
			return 0;
		usleep(25 * 1000);
	}
	return -1;
}

static void
broker_stop(void)
{
	if (broker > 0) {
		kill(broker, SIGTERM);
		waitpid(broker, NULL, 0);
		broker = -1;
	}
}

static int
setup(void **state)
{
	struct core_proc_opts o;
	struct core_proc_result r;
	struct passwd *pw = getpwuid(getuid());
	char pwfile[512], text[1024];
	const char *argv[] = { "mosquitto_passwd", "-c", "-b", pwfile, USER,
		PASS, NULL };
	static const char *const envp[] = { "PATH=/usr/bin:/bin:/usr/sbin",
		NULL };

	(void)state;
	if (core_fs_tmpdir("mqtt-client", &tmpdir, NULL) != CORE_OK)
		return -1;
	port = free_port();
	snprintf(pwfile, sizeof(pwfile), "%s/passwd", tmpdir);
	memset(&o, 0, sizeof(o));
	memset(&r, 0, sizeof(r));
	o.argv = argv;
	o.envp = envp;
	o.timeout_ms = 10000;
	if (core_proc_run(&o, &r, NULL) != CORE_OK || r.exit_code != 0) {
		core_proc_result_cleanup(&r);
		return -1;
	}
	core_proc_result_cleanup(&r);
	snprintf(text, sizeof(text), "listener %d 127.0.0.1\n"
	    "allow_anonymous false\npassword_file %s\npersistence false\n"
	    "user %s\n", port, pwfile, pw != NULL ? pw->pw_name : "root");
	snprintf(conf_path, sizeof(conf_path), "%s/mosquitto.conf", tmpdir);
	if (core_fs_write_atomic(conf_path, text, strlen(text), 0644, NULL) !=
	    CORE_OK)
		return -1;
	snprintf(address, sizeof(address), "tcp://127.0.0.1:%d", port);
	return broker_start();
}

static int
teardown(void **state)
{
	(void)state;
	broker_stop();
	core_fs_rmtree(tmpdir, NULL);
	free(tmpdir);
	return 0;
}

static void
config(struct mqtt_config *cfg, const char *id, const char *pass)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->address = address;
	cfg->client_id = id;
	cfg->password = pass;
	cfg->qos = 1;
	cfg->connect_timeout_ms = 5000;
}

static void
test_bad_password_and_no_broker(void **state)
{
	struct mqtt_config cfg;
	struct mqtt_client *c = NULL;
	struct core_errbuf eb;

	(void)state;
	config(&cfg, USER, "wrong");
	core_errbuf_clear(&eb);
	assert_int_equal(mqtt_client_new(&cfg, NULL, NULL, NULL, &c, &eb),
	    CORE_OK);
	assert_int_equal(mqtt_client_start(c, &eb), CORE_ERR_AUTH);
	assert_non_null(strstr(core_errbuf_msg(&eb), "refused"));
	assert_false(mqtt_client_connected(c));
	assert_int_equal(mqtt_client_publish(c, "a/b", "x", 1, NULL),
	    CORE_ERR_NET);
	mqtt_client_free(c);

	cfg.address = "tcp://127.0.0.1:1";
	cfg.password = PASS;
	cfg.connect_timeout_ms = 800;
	core_errbuf_clear(&eb);
	assert_int_equal(mqtt_client_new(&cfg, NULL, NULL, NULL, &c, &eb),
	    CORE_OK);
	assert_int_not_equal(mqtt_client_start(c, &eb), CORE_OK);
	mqtt_client_free(c);

	cfg.qos = 3;
	assert_int_equal(mqtt_client_new(&cfg, NULL, NULL, NULL, &c, &eb),
	    CORE_ERR_INVALID);
	cfg.qos = 1;
	cfg.address = "ftp://x";
	assert_int_equal(mqtt_client_new(&cfg, NULL, NULL, NULL, &c, &eb),
	    CORE_ERR_INVALID);
}

struct pub_arg {
	struct mqtt_client *c;
	int fails;
};

static void *
publisher(void *p)
{
	struct pub_arg *a = p;
	char msg[32];
	int i;

	for (i = 0; i < 50; i++) {
		snprintf(msg, sizeof(msg), "{\"i\":%d}", i);
		if (mqtt_client_publish(a->c, "m/t/c/ch/control/proplet/alive",
		    msg, strlen(msg), NULL) != CORE_OK)
			a->fails++;
	}
	return NULL;
}

static void
test_threaded_publish_and_reconnect(void **state)
{
	struct mqtt_config cfg;
	struct mqtt_client *sub = NULL, *pub = NULL;
	struct counter cnt = { PTHREAD_MUTEX_INITIALIZER, 0, "" };
	struct pub_arg args[4];
	pthread_t th[4];
	struct core_errbuf eb;
	char topic[MQTT_TOPIC_MAX];
	int i;

	(void)state;
	config(&cfg, USER, PASS);
	core_errbuf_clear(&eb);
	assert_int_equal(mqtt_client_new(&cfg, count_msg, NULL, &cnt, &sub,
	    &eb), CORE_OK);
	assert_int_equal(mqtt_topic(topic, "t", "ch", MQTT_SUFFIX_ALL, &eb),
	    CORE_OK);
	assert_int_equal(mqtt_client_subscribe(sub, topic, &eb), CORE_OK);
	assert_int_equal(mqtt_client_start(sub, &eb), CORE_OK);
	assert_int_equal(mqtt_client_connections(sub), 1);
	/* A second session needs its own client id. */
	config(&cfg, USER "-pub", PASS);
	cfg.password = PASS;
	assert_int_equal(mqtt_client_new(&cfg, NULL, NULL, NULL, &pub, &eb),
	    CORE_OK);
	/* The password file knows USER only: the username is the client id. */
	assert_int_equal(mqtt_client_start(pub, &eb), CORE_ERR_AUTH);
	mqtt_client_free(pub);
	pub = sub;  /* publish on the subscribing client, from 4 threads */
	usleep(200 * 1000);  /* let SUBACK arrive */
	for (i = 0; i < 4; i++) {
		args[i].c = pub;
		args[i].fails = 0;
		assert_int_equal(pthread_create(&th[i], NULL, publisher,
		    &args[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(args[i].fails, 0);
	}
	assert_true(count_wait(&cnt, 200, 10000));
	assert_string_equal(cnt.last_topic, "m/t/c/ch/control/proplet/alive");

	/* Broker restart: reconnect with backoff, subscriptions restored. */
	broker_stop();
	assert_int_equal(broker_start(), 0);
	for (i = 0; i < 300 && mqtt_client_connections(sub) < 2; i++)
		usleep(20 * 1000);
	assert_int_equal(mqtt_client_connections(sub), 2);
	usleep(200 * 1000);
	assert_int_equal(mqtt_client_publish(sub, "m/t/c/ch/x", "{}", 2, &eb),
	    CORE_OK);
	assert_true(count_wait(&cnt, 201, 5000));
	assert_string_equal(cnt.last_topic, "m/t/c/ch/x");
	mqtt_client_free(sub);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_password_and_no_broker),
		cmocka_unit_test(test_threaded_publish_and_reconnect),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
