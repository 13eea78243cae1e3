/*
 * proc.c -- running helper programs: clean environment, bounded capture of
 * stdout/stderr, stdin feeding, a deadline, and a kill of the whole process
 * group when the deadline passes.
 */
#include "core/core.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROC_OUT_MAX_DEFAULT (16u * 1024 * 1024)
#define PROC_ERR_MAX_DEFAULT (1024u * 1024)
#define PROC_TICK_MS 50

enum core_err
core_fd_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
		return CORE_ERR_IO;
	return CORE_OK;
}

void
core_close_fds_from(int lowfd, const int *keep, size_t nkeep)
{
	DIR *d;
	struct dirent *de;
	int self;

	if ((d = opendir("/proc/self/fd")) == NULL) {
		long max = sysconf(_SC_OPEN_MAX);
		int fd;

		for (fd = lowfd; fd < (max > 0 ? max : 1024); fd++) {
			size_t i;
			bool k = false;

			for (i = 0; i < nkeep; i++)
				k = k || keep[i] == fd;
			if (!k)
				close(fd);
		}
		return;
	}
	self = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		int64_t fd;
		size_t i;
		bool k = false;

		if (core_parse_int(de->d_name, 0, INT32_MAX, &fd) != CORE_OK)
			continue;
		if (fd < lowfd || fd == self)
			continue;
		for (i = 0; i < nkeep; i++)
			k = k || keep[i] == fd;
		if (!k)
			close((int)fd);
	}
	closedir(d);
}

void
core_proc_result_cleanup(struct core_proc_result *r)
{
	if (r == NULL)
		return;
	core_buf_cleanup(&r->out);
	core_buf_cleanup(&r->err);
}

static void
child_exec(const struct core_proc_opts *o, int in_fd, int out_fd, int err_fd)
{
	static const char *const empty_env[] = { NULL };
	int nullfd;

	setpgid(0, 0);
	/* Restore default signal dispositions for the program we exec. */
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	if (in_fd < 0 && (nullfd = open("/dev/null", O_RDONLY)) >= 0)
		in_fd = nullfd;
	if (in_fd >= 0 && dup2(in_fd, 0) < 0)
		_exit(127);
	if (out_fd >= 0 && dup2(out_fd, 1) < 0)
		_exit(127);
	if (err_fd >= 0 && dup2(err_fd, 2) < 0)
		_exit(127);
	core_close_fds_from(3, NULL, 0);
	if (o->cwd != NULL && chdir(o->cwd) != 0)
		_exit(127);
	execvpe(o->argv[0], (char *const *)o->argv,
	    (char *const *)(o->envp != NULL ? o->envp : empty_env));
	_exit(127);
}

/* Reads what is available from *fd into b; closes it at EOF. */
static void
drain(int *fd, struct core_buf *b, bool *truncated)
{
	uint8_t chunk[16384];

	for (;;) {
		ssize_t r = read(*fd, chunk, sizeof(chunk));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return; /* EAGAIN: nothing more for now */
		if (r == 0) {
			close(*fd);
			*fd = -1;
			return;
		}
		if (core_buf_append(b, chunk, (size_t)r) != CORE_OK) {
			/* Keep what fits, discard the rest, remember it. */
			size_t room = b->max_len - b->len;

			if (room > 0)
				core_buf_append(b, chunk,
				    (size_t)r < room ? (size_t)r : room);
			*truncated = true;
		}
	}
}

enum core_err
core_proc_run(const struct core_proc_opts *o, struct core_proc_result *r,
    struct core_errbuf *eb)
{
	int inp[2] = { -1, -1 }, outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	sigset_t pipe_set, old_set;
	size_t in_off = 0;
	int64_t deadline = 0;
	enum core_err err = CORE_OK;
	bool exited = false;
	int status = 0;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	core_buf_init(&r->out, o->stdout_max ? o->stdout_max : PROC_OUT_MAX_DEFAULT);
	core_buf_init(&r->err, o->stderr_max ? o->stderr_max : PROC_ERR_MAX_DEFAULT);
	if (o->argv == NULL || o->argv[0] == NULL)
		return core_errf(eb, CORE_ERR_INVALID, "run: empty argv");
	if ((o->stdin_data != NULL && pipe2(inp, O_CLOEXEC) != 0) ||
	    (!o->inherit_stdout && pipe2(outp, O_CLOEXEC) != 0) ||
	    (!o->inherit_stderr && pipe2(errp, O_CLOEXEC) != 0)) {
		err = core_errf_errno(eb, CORE_ERR_IO, "run %s: pipe", o->argv[0]);
		goto out;
	}
	/* Writing to a child that closed its stdin must not kill us. */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
	if ((pid = fork()) < 0) {
		err = core_errf_errno(eb, CORE_ERR_IO, "run %s: fork", o->argv[0]);
		pthread_sigmask(SIG_SETMASK, &old_set, NULL);
		goto out;
	}
	if (pid == 0) {
		pthread_sigmask(SIG_SETMASK, &old_set, NULL);
		child_exec(o, inp[0], outp[1], errp[1]);
	}
	setpgid(pid, pid); /* also in the parent, to win the race */
#define CLOSE_FD(x) do { if ((x) >= 0) { close(x); (x) = -1; } } while (0)
	CLOSE_FD(inp[0]);
	CLOSE_FD(outp[1]);
	CLOSE_FD(errp[1]);
	if (inp[1] >= 0)
		fcntl(inp[1], F_SETFL, O_NONBLOCK);
	if (outp[0] >= 0)
		fcntl(outp[0], F_SETFL, O_NONBLOCK);
	if (errp[0] >= 0)
		fcntl(errp[0], F_SETFL, O_NONBLOCK);
	if (o->timeout_ms > 0)
		deadline = core_mono_ms() + o->timeout_ms;

	while (!exited || outp[0] >= 0 || errp[0] >= 0) {
		struct pollfd pfd[3];
		nfds_t n = 0;
		int tick = PROC_TICK_MS;

		if (inp[1] >= 0) {
			pfd[n].fd = inp[1];
			pfd[n++].events = POLLOUT;
		}
		if (outp[0] >= 0) {
			pfd[n].fd = outp[0];
			pfd[n++].events = POLLIN;
		}
		if (errp[0] >= 0) {
			pfd[n].fd = errp[0];
			pfd[n++].events = POLLIN;
		}
		if (n > 0)
			(void)poll(pfd, n, tick);
		else if (!exited)
			(void)poll(NULL, 0, 5);
		if (inp[1] >= 0) {
			ssize_t w = write(inp[1], (const uint8_t *)o->stdin_data + in_off,
			    o->stdin_len - in_off);

			if (w > 0)
				in_off += (size_t)w;
			if ((w < 0 && errno != EAGAIN && errno != EINTR) ||
			    in_off >= o->stdin_len)
				CLOSE_FD(inp[1]);
		}
		if (outp[0] >= 0)
			drain(&outp[0], &r->out, &r->out_truncated);
		if (errp[0] >= 0)
			drain(&errp[0], &r->err, &r->err_truncated);
		if (!exited && waitpid(pid, &status, WNOHANG) == pid) {
			exited = true;
			/* Grandchildren may hold the pipes: take what is
			 * there now and stop waiting for EOF. */
			if (outp[0] >= 0)
				drain(&outp[0], &r->out, &r->out_truncated);
			if (errp[0] >= 0)
				drain(&errp[0], &r->err, &r->err_truncated);
			CLOSE_FD(outp[0]);
			CLOSE_FD(errp[0]);
		}
		if (!exited && deadline > 0 && core_mono_ms() >= deadline) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			r->timed_out = true;
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			exited = true;
			CLOSE_FD(outp[0]);
			CLOSE_FD(errp[0]);
		}
	}
	CLOSE_FD(inp[1]);
	{
		/* Swallow a SIGPIPE we may have caused, then restore. */
		struct timespec zero = { 0, 0 };

		while (sigtimedwait(&pipe_set, NULL, &zero) > 0)
			;
		pthread_sigmask(SIG_SETMASK, &old_set, NULL);
	}
	if (WIFSIGNALED(status)) {
		r->signaled = true;
		r->term_signal = WTERMSIG(status);
	} else {
		r->exit_code = WEXITSTATUS(status);
	}
	if (r->timed_out)
		err = core_errf(eb, CORE_ERR_TIMEOUT, "%s: timed out after %lld ms",
		    o->argv[0], (long long)o->timeout_ms);
out:
	CLOSE_FD(inp[0]);
	CLOSE_FD(inp[1]);
	CLOSE_FD(outp[0]);
	CLOSE_FD(outp[1]);
	CLOSE_FD(errp[0]);
	CLOSE_FD(errp[1]);
#undef CLOSE_FD
	return err;
}
