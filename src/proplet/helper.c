/*
 * helper.c -- the daemon's side of the fetch helper (fetch_helper.h):
 * finds `proplet-fetch`, starts it for each fetch with a socketpair and a
 * memfd, sends the request, checks the report like network input and
 * copies the module out of the memfd.
 */
#define LOG_MODULE "proplet"
#include "proplet/fetch_helper.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proplet/internal.h"

extern char **environ;

/* Variables of the daemon's environment the helper inherits. */
static const char *const env_keep[] = { "PATH", "HOME", "TMPDIR",
	"XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "REGISTRY_AUTH_FILE",
	"http_proxy", "https_proxy", "no_proxy", "all_proxy", "HTTP_PROXY",
	"HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "SSL_CERT_FILE",
	"SSL_CERT_DIR", "CURL_CA_BUNDLE", "OPENSSL_CONF", "LANG", "LC_ALL",
	"TZ" };

static struct {
	char *path;                               /* owned */
	char *env[CORE_ARRAY_LEN(env_keep) + 1];  /* owned; NULL-terminated */
} helper;

STATIC enum core_err spawn(int sock, int memfd, pid_t *pid_out,
    struct core_errbuf *eb);
STATIC enum core_err read_report(int sock, uint64_t req_id, size_t *len_out,
    bool *got, bool *timed_out, struct core_errbuf *eb);
STATIC enum core_err describe_exit(pid_t pid, bool timed_out,
    struct core_errbuf *eb);

enum core_err
proplet_fetch_helper_init(const char *path, struct core_errbuf *eb)
{
	char self[PATH_MAX], *slash;
	ssize_t n;
	size_t i, k = 0;

	proplet_fetch_helper_cleanup();
	if (path != NULL) {
		helper.path = strdup(path);
	} else {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n <= 0)
			return core_errf_errno(eb, CORE_ERR_IO,
			    "fetch helper: readlink /proc/self/exe");
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL)
			*slash = '\0';
		helper.path = core_path_join(self, PROPLET_FETCH_HELPER_NAME);
	}
	if (helper.path == NULL)
		return CORE_ERR_NOMEM;
	for (i = 0; i < CORE_ARRAY_LEN(env_keep); i++) {
		const char *v = getenv(env_keep[i]);
		size_t len;

		if (v == NULL)
			continue;
		len = strlen(env_keep[i]) + strlen(v) + 2;
		if ((helper.env[k] = malloc(len)) == NULL) {
			proplet_fetch_helper_cleanup();
			return CORE_ERR_NOMEM;
		}
		snprintf(helper.env[k++], len, "%s=%s", env_keep[i], v);
	}
	return CORE_OK;
}

void
proplet_fetch_helper_cleanup(void)
{
	size_t i;

	free(helper.path);
	helper.path = NULL;
	for (i = 0; helper.env[i] != NULL; i++) {
		free(helper.env[i]);
		helper.env[i] = NULL;
	}
}

const char *
proplet_fetch_helper_path(void)
{
	return helper.path;
}

/*
 * fork+exec with the socket as fd 3 and the memfd as fd 4. Between fork and
 * exec only async-signal-safe calls: the daemon is multithreaded.
 */
STATIC enum core_err
spawn(int sock, int memfd, pid_t *pid_out, struct core_errbuf *eb)
{
	char *const argv[] = { (char *)PROPLET_FETCH_HELPER_NAME, NULL };
	sigset_t all, old;
	int nullfd, a, b;
	pid_t pid;

	if (access(helper.path, X_OK) != 0)
		return core_errf_errno(eb, CORE_ERR_INTERNAL, "fetch helper %s",
		    helper.path);
	if ((nullfd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		return core_errf_errno(eb, CORE_ERR_IO, "open /dev/null");
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0) {
		struct sigaction dfl;
		int s;

		/* Out of the way of 3 and 4 first, then into place. */
		if ((a = fcntl(sock, F_DUPFD, 10)) < 0 ||
		    (b = fcntl(memfd, F_DUPFD, 10)) < 0 ||
		    dup2(nullfd, 0) < 0 || dup2(nullfd, 1) < 0 ||
		    dup2(a, PROPLET_FETCH_FD_SOCK) < 0 ||
		    dup2(b, PROPLET_FETCH_FD_OUT) < 0)
			_exit(127);
		close_range(PROPLET_FETCH_FD_OUT + 1, ~0U, 0);
		/* The helper dies with the thread waiting for it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		for (s = 1; s < NSIG; s++)
			(void)sigaction(s, &dfl, NULL);
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		execve(helper.path, argv, helper.env);
		_exit(127);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(nullfd);
	if (pid < 0)
		return core_errf_errno(eb, CORE_ERR_IO, "fetch helper: fork");
	*pid_out = pid;
	return CORE_OK;
}

/*
 * Reads the helper's one report, checking it like network input. *got is
 * false when no header came (the helper died, or the deadline passed:
 * *timed_out); the caller then says how the helper ended.
 */
STATIC enum core_err
read_report(int sock, uint64_t req_id, size_t *len_out, bool *got,
    bool *timed_out, struct core_errbuf *eb)
{
	struct proplet_fetch_msg msg;
	char text[CORE_ERRBUF_LEN];

	*got = false;
	*timed_out = false;
	if (core_read_exact(sock, &msg, sizeof(msg)) != CORE_OK) {
		*timed_out = errno == EAGAIN || errno == EWOULDBLOCK;
		return CORE_ERR_INTERNAL;
	}
	*got = true;
	if (msg.req_id != req_id)
		return core_errf(eb, CORE_ERR_INTERNAL,
		    "fetch helper: reply for another request");
	if (msg.type == PROPLET_FETCH_MSG_OK && msg.code == 0 && msg.zero == 0 &&
	    msg.len <= PROPLET_MODULE_MAX) {
		*len_out = msg.len;
		return CORE_OK;
	}
	if (msg.type != PROPLET_FETCH_MSG_ERR || msg.len >= sizeof(text) ||
	    msg.code <= CORE_OK || msg.code > CORE_ERR_INTERNAL || msg.zero != 0)
		return core_errf(eb, CORE_ERR_INTERNAL,
		    "fetch helper: malformed report (type %u, length %u, code %d)",
		    msg.type, msg.len, msg.code);
	if (core_read_exact(sock, text, msg.len) != CORE_OK)
		return core_errf(eb, CORE_ERR_INTERNAL,
		    "fetch helper: truncated report");
	text[msg.len] = '\0';
	return core_errf(eb, (enum core_err)msg.code, "%s", text);
}

/* Kills and reaps the helper and says how it ended, for a missing report. */
STATIC enum core_err
describe_exit(pid_t pid, bool timed_out, struct core_errbuf *eb)
{
	int status = 0;

	if (timed_out)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out)
		return core_errf(eb, CORE_ERR_TIMEOUT,
		    "fetch helper: no answer after %d s",
		    PROPLET_FETCH_TIMEOUT_MS / 1000);
	if (WIFSIGNALED(status))
		return core_errf(eb, CORE_ERR_INTERNAL,
		    "fetch helper %s died (signal %d) without a report",
		    helper.path, WTERMSIG(status));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return core_errf(eb, CORE_ERR_INTERNAL,
		    "fetch helper %s could not be executed", helper.path);
	return core_errf(eb, CORE_ERR_INTERNAL,
	    "fetch helper %s exited (status %d) without a report",
	    helper.path, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* Writes everything, without SIGPIPE if the helper has gone. */
static enum core_err
send_all(int sock, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = send(sock, b, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return CORE_ERR_IO;
		b += w;
		n -= (size_t)w;
	}
	return CORE_OK;
}

/*
 * Waits until the helper has written to the socket, has exited, or the
 * deadline has passed. Its exit is watched through a pidfd as well: a task
 * process forked by another thread at the wrong moment may briefly hold
 * the helper's end of the socket, delaying the EOF.
 */
static enum wait_outcome {
	WAIT_REPORT, WAIT_EXITED, WAIT_TIMEOUT
} wait_helper(int sock, pid_t pid)
{
	int64_t deadline = core_mono_ms() + PROPLET_FETCH_TIMEOUT_MS;
	int pidfd = pidfd_open(pid, 0);
	enum wait_outcome w = WAIT_TIMEOUT;

	for (;;) {
		struct pollfd pfd[2] = { { .fd = sock, .events = POLLIN },
			{ .fd = pidfd, .events = POLLIN } };
		int64_t left = deadline - core_mono_ms();
		int n;

		if (left <= 0)
			break;
		n = poll(pfd, pidfd >= 0 ? 2 : 1, left > 60000 ? 60000 : (int)left);
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		if (pfd[0].revents != 0) {
			w = WAIT_REPORT;
			break;
		}
		if (pidfd >= 0 && pfd[1].revents != 0) {
			w = WAIT_EXITED;
			break;
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	return w;
}

static enum core_err
send_request(int sock, const struct proplet_fetch_req *r, uint64_t req_id,
    struct core_errbuf *eb)
{
	struct proplet_fetch_msg msg = { .type = PROPLET_FETCH_MSG_REQUEST,
		.req_id = req_id };
	enum core_err err;
	char *body = NULL;
	size_t len = 0;

	if ((err = proplet_fetch_req_encode(r, &body, &len, eb)) != CORE_OK)
		return err;
	msg.len = (uint32_t)len;
	if (send_all(sock, &msg, sizeof(msg)) != CORE_OK ||
	    send_all(sock, body, len) != CORE_OK)
		err = CORE_ERR_IO; /* the helper is gone: its exit says why */
	core_wipe(body, len);
	free(body);
	return err;
}

static enum core_err
copy_module(int memfd, size_t want, uint8_t **out, struct core_errbuf *eb)
{
	uint8_t *buf;
	size_t off = 0;
	ssize_t n;

	if ((buf = malloc(want > 0 ? want : 1)) == NULL)
		return CORE_ERR_NOMEM;
	while (off < want) {
		n = pread(memfd, buf + off, want - off, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			core_wipe(buf, want);
			free(buf);
			return core_errf(eb, CORE_ERR_INTERNAL,
			    "fetch helper: module shorter than reported");
		}
		off += (size_t)n;
	}
	*out = buf;
	return CORE_OK;
}

enum core_err
proplet_fetch_helper_run(const struct proplet_fetch_req *r, uint8_t **out,
    size_t *len, struct core_errbuf *eb)
{
	struct timeval tv = { .tv_sec = PROPLET_FETCH_TIMEOUT_MS / 1000 };
	int sv[2] = { -1, -1 }, memfd = -1;
	uint64_t req_id;
	size_t want = 0;
	enum core_err err;
	bool got, timed_out;
	pid_t pid = -1;

	*out = NULL;
	*len = 0;
	if (helper.path == NULL)
		return core_errf(eb, CORE_ERR_INTERNAL,
		    "fetch helper: not initialised");
	if (getrandom(&req_id, sizeof(req_id), 0) != sizeof(req_id))
		return core_errf_errno(eb, CORE_ERR_IO, "getrandom");
	if ((memfd = memfd_create("proplet-module", MFD_CLOEXEC)) < 0)
		return core_errf_errno(eb, CORE_ERR_IO, "memfd_create");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		err = core_errf_errno(eb, CORE_ERR_IO, "socketpair");
		goto out;
	}
	(void)setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if ((err = spawn(sv[1], memfd, &pid, eb)) != CORE_OK)
		goto out;
	close(sv[1]);
	sv[1] = -1;
	/*
	 * A helper that died before reading the whole request makes the write
	 * fail; its exit status is the better reason, so read on.
	 */
	err = send_request(sv[0], r, req_id, eb);
	if (err != CORE_OK && err != CORE_ERR_IO)
		goto out;
	switch (wait_helper(sv[0], pid)) {
	case WAIT_REPORT:
		err = read_report(sv[0], req_id, &want, &got, &timed_out, eb);
		break;
	case WAIT_EXITED:
		got = timed_out = false;
		break;
	case WAIT_TIMEOUT:
	default:
		got = false;
		timed_out = true;
		break;
	}
	if (!got) {
		err = describe_exit(pid, timed_out, eb);
		pid = -1;
	}
	if (err != CORE_OK)
		goto out;
	if ((err = copy_module(memfd, want, out, eb)) != CORE_OK)
		goto out;
	*len = want;
out:
	if (pid > 0) {
		kill(pid, SIGKILL); /* it has said all it may say */
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	if (memfd >= 0) {
		/* Drop the (possibly plaintext) pages before closing. */
		(void)ftruncate(memfd, 0);
		close(memfd);
	}
	return err;
}
