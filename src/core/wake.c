/*
 * wake.c -- a self-pipe that lets a signal handler (or any thread) wake a
 * loop sleeping in core_waker_wait().
 */
#include "core/core.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

enum core_err
core_waker_init(struct core_waker *w, struct core_errbuf *eb)
{
	w->fd[0] = w->fd[1] = -1;
	if (pipe2(w->fd, O_CLOEXEC | O_NONBLOCK) != 0)
		return core_errf_errno(eb, CORE_ERR_IO, "pipe");
	return CORE_OK;
}

void
core_waker_cleanup(struct core_waker *w)
{
	if (w->fd[0] >= 0)
		close(w->fd[0]);
	if (w->fd[1] >= 0)
		close(w->fd[1]);
	w->fd[0] = w->fd[1] = -1;
}

void
core_waker_wake(struct core_waker *w)
{
	int saved = errno;

	if (w->fd[1] >= 0)
		(void)!write(w->fd[1], "x", 1);
	errno = saved;
}

bool
core_waker_wait(struct core_waker *w, int64_t timeout_ms)
{
	struct pollfd pfd = { .fd = w->fd[0], .events = POLLIN };
	char drain[64];
	bool woken;

	if (timeout_ms < 0)
		timeout_ms = 0;
	if (timeout_ms > 60000)
		timeout_ms = 60000;
	woken = poll(&pfd, 1, (int)timeout_ms) > 0;
	if (woken)
		while (read(w->fd[0], drain, sizeof(drain)) > 0)
			;
	return woken;
}
