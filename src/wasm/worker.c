/*
 * worker.c -- persistent per-module workers and their pool.
 *
 * A worker is this very executable, re-executed through /proc/self/exe
 * with argv[0] "propeller-wasm-worker" and PROPELLER_WASM_WORKER=3 in an
 * otherwise clean environment; a constructor (worker_ctor) sees that
 * before main() runs and turns the process into a worker serving the
 * socket on fd 3. posix_spawn (vfork + exec) is used rather than fork():
 * the callers are multithreaded daemons, and an exec'd worker inherits
 * none of their memory (MQTT credentials, other tasks' modules), locks or
 * threads.
 *
 * The worker loads the module's code once (tier 1: wasm2c + libtcc; tier
 * 2: the cached object) and then, per request, builds a fresh WASI context
 * and a fresh instance (globals, tables, memory reset from the module),
 * runs _start or an export, frees the instance and answers. proc_exit
 * longjmps out of the guest and ends the request; a trap longjmps through
 * the wasm2c runtime. Linear-memory reservations are wiped (memset or
 * MADV_DONTNEED) and protected again on free, then reused by the next
 * instantiation, so a request costs no mmap of a fresh 8 GiB reservation.
 * A trap during instantiation, or code without a Z_m_free symbol, makes
 * the worker answer and exit (it cannot prove the instance was reset).
 *
 * The parent side (struct wasm_pool) keeps up to max_per_module workers per
 * (module sha256, tier) and max_total overall, hands idle ones to new
 * runs, spawns on demand, and lets a sweeper thread kill workers idle for
 * longer than idle_timeout_ms. A timeout or a kill request SIGKILLs the
 * worker's process group; the worker is then reaped and forgotten, and the
 * next run of that module spawns a new one. A worker that dies during a
 * request reports CRASHED for that request only.
 */
#include "wasm/worker.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libtcc.h>
#include <wasm-rt.h>
#include <wasm-rt-impl.h>

#include "wasm/engine.h"
#include "wasm/wasi.h"

#if defined(__SANITIZE_ADDRESS__)
#define WK_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WK_UNDER_ASAN 1
#endif
#endif
#ifndef WK_UNDER_ASAN
#define WK_UNDER_ASAN 0
#endif

#define WK_ARGV0 "propeller-wasm-worker"
#define WK_ENV "PROPELLER_WASM_WORKER"
#define WK_FD 3
#define WK_MAX_FDS 3
#define WK_PATH "PATH=/usr/local/bin:/usr/bin:/bin"
#define DEFAULT_STDOUT_MAX (16u * 1024 * 1024)
#define DEFAULT_STDERR_MAX (1024u * 1024)
#define DEFAULT_MAX_MEMORY (1024ull * 1024 * 1024)
#define HOST_MEMORY_MARGIN (512ull * 1024 * 1024)
#define DEFAULT_IDLE_MS 30000
#define DEFAULT_WAIT_MS 100
/* wabt's reservation per linear memory (wasm-rt-impl.c). */
#define RT_RESERVATION 0x200000000ull
#define RT_PAGE 65536u
/* Memory up to this size is wiped with memset, beyond with DONTNEED. */
#define RT_MEMSET_MAX (1024u * 1024)
#define RT_CACHE_SLOTS 4

/* ------------------------------------------------------------------ */
/* Linear memory: whole-reservation free, reuse in workers             */
/* ------------------------------------------------------------------ */

void wabt_rt_allocate_memory(wasm_rt_memory_t *memory, uint32_t initial_pages,
    uint32_t max_pages);
void wabt_rt_free_memory(wasm_rt_memory_t *memory);

static bool rt_reuse;                        /* workers only */
static uint8_t *rt_cache[RT_CACHE_SLOTS];    /* wiped, PROT_NONE */
static int rt_ncache;

void
wasm_rt_mem_reuse(bool on)
{
	rt_reuse = on;
}

void
wasm_rt_allocate_memory(wasm_rt_memory_t *memory, uint32_t initial_pages,
    uint32_t max_pages)
{
	uint8_t *data;
	size_t len = (size_t)initial_pages * RT_PAGE;

	while (rt_reuse && rt_ncache > 0) {
		data = rt_cache[--rt_ncache];
		if (len > 0 && mprotect(data, len, PROT_READ | PROT_WRITE) != 0) {
			(void)munmap(data, RT_RESERVATION);
			continue;
		}
		memory->data = data;
		memory->size = (uint32_t)len;
		memory->pages = initial_pages;
		memory->max_pages = max_pages;
		return;
	}
	wabt_rt_allocate_memory(memory, initial_pages, max_pages);
}

void
wasm_rt_free_memory(wasm_rt_memory_t *memory)
{
	uint8_t *data = memory->data;
	size_t used = memory->size;

	if (data == NULL)
		return;
	memory->data = NULL;
	if (rt_reuse && rt_ncache < RT_CACHE_SLOTS) {
		/* Every byte the guest could have written is zero again and
		 * inaccessible until the next instantiation opens it. */
		if (used <= RT_MEMSET_MAX) {
			memset(data, 0, used);
		} else {
			memset(data, 0, RT_MEMSET_MAX);
			if (madvise(data + RT_MEMSET_MAX, used - RT_MEMSET_MAX,
			    MADV_DONTNEED) != 0)
				goto unmap;
		}
		if (used == 0 || mprotect(data, used, PROT_NONE) == 0) {
			rt_cache[rt_ncache++] = data;
			return;
		}
	}
unmap:
	(void)munmap(data, RT_RESERVATION);
}

/* ------------------------------------------------------------------ */
/* Messages                                                            */
/* ------------------------------------------------------------------ */

/* Sends one message (header + up to 3 payload parts) with fds. */
static int
wk_send(int sock, uint32_t type, uint64_t id, const void *a, size_t alen,
    const void *b, size_t blen, const int *fds, int nfds)
{
	struct wk_hdr h;
	struct iovec iov[3];
	struct msghdr mh;
	union {
		struct cmsghdr c;
		char buf[CMSG_SPACE(sizeof(int) * WK_MAX_FDS)];
	} cm;
	ssize_t n;

	if (alen + blen > WK_MSG_MAX || nfds > WK_MAX_FDS) {
		errno = EMSGSIZE;
		return -1;
	}
	h.type = type;
	h.len = (uint32_t)(alen + blen);
	h.id = id;
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = (void *)a;
	iov[1].iov_len = alen;
	iov[2].iov_base = (void *)b;
	iov[2].iov_len = blen;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = 3;
	if (nfds > 0) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		cm.c.cmsg_level = SOL_SOCKET;
		cm.c.cmsg_type = SCM_RIGHTS;
		cm.c.cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(&cm.c), fds, sizeof(int) * (size_t)nfds);
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if ((size_t)n != sizeof(h) + alen + blen) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

/*
 * Receives one message into buf (WK_MSG_MAX + header bytes). Returns the
 * payload length, 0 < ... ; -1 on EOF or error (errno 0 on EOF). fds get
 * any descriptors received (CLOEXEC), *nfds their number.
 */
static ssize_t
wk_recv(int sock, struct wk_hdr *h, uint8_t *buf, size_t cap, int *fds,
    int *nfds)
{
	struct iovec iov[2];
	struct msghdr mh;
	union {
		struct cmsghdr c;
		char buf[CMSG_SPACE(sizeof(int) * WK_MAX_FDS)];
	} cm;
	struct cmsghdr *c;
	ssize_t n;
	int k = 0, i;
	size_t got;

	*nfds = 0;
	iov[0].iov_base = h;
	iov[0].iov_len = sizeof(*h);
	iov[1].iov_base = buf;
	iov[1].iov_len = cap;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		errno = 0;
	if (n <= 0)
		return -1;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		got = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < (int)got; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + sizeof(int) * (size_t)i,
			    sizeof(int));
			if (k < WK_MAX_FDS)
				fds[k++] = fd;
			else
				close(fd);
		}
	}
	*nfds = k;
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 ||
	    (size_t)n < sizeof(*h) || h->len != (size_t)n - sizeof(*h)) {
		for (i = 0; i < k; i++)
			close(fds[i]);
		*nfds = 0;
		errno = EPROTO;
		return -1;
	}
	return (ssize_t)h->len;
}

static int64_t
cpu_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ------------------------------------------------------------------ */
/* The worker process                                                  */
/* ------------------------------------------------------------------ */

struct wk_state {
	int sock;
	struct wasm_module *m;         /* owned */
	struct wasm_code code;         /* owned */
	void (*free_inst)(void *);     /* the module's Z_m_free, or NULL */
	int empty_stdin;               /* owned: sealed empty memfd */
	uint64_t data_limit;           /* RLIMIT_DATA last set */
	uint8_t buf[WK_MSG_MAX];
};

static sigjmp_buf wk_exit_jb;
static volatile int wk_exit_code;

static void worker_main(int sock) __attribute__((noreturn));

static void
wk_exit_hook(void *arg, int code)
{
	(void)arg;
	wk_exit_code = code;
	siglongjmp(wk_exit_jb, 1);
}

static void
wk_fail(int sock, uint64_t id, const char *msg)
{
	(void)wk_send(sock, WK_FAILED, id, msg, strlen(msg), NULL, 0, NULL, 0);
	_exit(125);
}

/* Loads the module and its code as WK_INIT describes; replies READY. */
static void
worker_init(struct wk_state *s)
{
	struct wk_hdr h;
	struct wk_init in;
	struct core_errbuf eb;
	struct rusage ru;
	struct wk_ready rd;
	uint8_t *mod = NULL;
	char *cache_dir = NULL, *c = NULL;
	size_t clen = 0;
	int fds[WK_MAX_FDS], nfds = 0;
	ssize_t n;
	int64_t t0 = mono_us(), c0 = cpu_now_us();
	enum core_err err;

	core_errbuf_clear(&eb);
	n = wk_recv(s->sock, &h, s->buf, sizeof(s->buf), fds, &nfds);
	if (n < 0 || h.type != WK_INIT || (size_t)n < sizeof(in) ||
	    nfds != 1)
		_exit(126);
	memcpy(&in, s->buf, sizeof(in));
	if (in.cache_dir_len != (size_t)n - sizeof(in) ||
	    in.module_len == 0 || in.module_len > WASM_MODULE_MAX_BYTES ||
	    (in.tier != WASM_TIER_1 && in.tier != WASM_TIER_2))
		_exit(126);
	cache_dir = strndup((const char *)s->buf + sizeof(in),
	    in.cache_dir_len);
	mod = mmap(NULL, in.module_len, PROT_READ, MAP_PRIVATE, fds[0], 0);
	close(fds[0]);
	if (cache_dir == NULL || mod == MAP_FAILED)
		wk_fail(s->sock, h.id, "wasm: worker: cannot map the module");
	err = wasm_module_parse(mod, in.module_len, &s->m, &eb);
	(void)munmap(mod, in.module_len);
	if (err != CORE_OK)
		wk_fail(s->sock, h.id, core_errbuf_msg(&eb));
	if (memcmp(s->m->sha256, in.sha256, 32) != 0)
		wk_fail(s->sock, h.id, "wasm: worker: module digest mismatch");
	if (in.nofold)
		(void)setenv("PROPELLER_WASM_NOFOLD", "1", 1);
	wasm_tier1_read_env();
	if (in.tier == WASM_TIER_2) {
		err = wasm_tier2_load(cache_dir, s->m, &s->code, &eb);
		if (err == CORE_OK)
			*(void **)&s->free_inst = dlsym(s->code.dl, "Z_m_free");
	} else {
		err = wasm_codegen(s->m, &c, &clen, &eb);
		if (err == CORE_OK)
			err = wasm_tier1_load(c, &s->code, &eb);
		free(c);
		if (err == CORE_OK)
			*(void **)&s->free_inst = tcc_get_symbol(s->code.tcc,
			    "Z_m_free");
	}
	free(cache_dir);
	if (err != CORE_OK)
		wk_fail(s->sock, h.id, core_errbuf_msg(&eb));
	s->empty_stdin = memfd_create("propeller-wasm-stdin",
	    MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (s->empty_stdin < 0 || fcntl(s->empty_stdin, F_ADD_SEALS,
	    F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) != 0)
		wk_fail(s->sock, h.id, "wasm: worker: memfd for stdin");
	wasm_rt_init();
	wasm_rt_mem_reuse(true);
	(void)getrusage(RUSAGE_CHILDREN, &ru);
	rd.compile_us = mono_us() - t0;
	rd.compile_cpu_us = cpu_now_us() - c0 +
	    (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
	    ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
	if (wk_send(s->sock, WK_READY, h.id, &rd, sizeof(rd), NULL, 0, NULL,
	    0) != 0)
		_exit(0);
}

/* Per-request limits: CPU seconds from now, the data segment. */
static void
worker_limits(struct wk_state *s, const struct wk_run *rq)
{
	struct rlimit rl;
	uint64_t maxmem = rq->max_memory_bytes ? rq->max_memory_bytes :
	    DEFAULT_MAX_MEMORY;

	if (getrlimit(RLIMIT_CPU, &rl) == 0) {
		if (rq->timeout_ms > 0)
			rl.rlim_cur = (rlim_t)(cpu_now_us() / 1000000 +
			    rq->timeout_ms / 1000 + 2);
		else
			rl.rlim_cur = rl.rlim_max;
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur > rl.rlim_max)
			rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_CPU, &rl);
	}
	if (!WK_UNDER_ASAN && s->data_limit != maxmem &&
	    getrlimit(RLIMIT_DATA, &rl) == 0) {
		rl.rlim_cur = (rlim_t)(maxmem + HOST_MEMORY_MARGIN);
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur > rl.rlim_max)
			rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_DATA, &rl) == 0)
			s->data_limit = maxmem;
	}
}

/* Points v[0..n) at n NUL-terminated strings from *p (bounded by end). */
static bool
take_strings(const char **p, const char *end, const char **v, size_t n)
{
	size_t i;
	const char *z;

	for (i = 0; i < n; i++) {
		z = memchr(*p, '\0', (size_t)(end - *p));
		if (z == NULL)
			return false;
		v[i] = *p;
		*p = z + 1;
	}
	return true;
}

/*
 * Instantiates and runs in ctx (fresh), fills d and res. The only function
 * with a setjmp: proc_exit and traps come back here.
 */
static void __attribute__((noinline))
worker_call(struct wk_state *s, const struct wk_run *rq,
    const uint64_t *args, uint64_t maxmem, struct wasi_ctx *ctx,
    struct wk_done *d, struct core_buf *res, char *msg, size_t msglen)
{
	const struct wasm_export *ex = &s->m->exports[rq->export_idx], *init;
	const struct wasm_functype *ft = wasm_module_export_functype(s->m,
	    ex->name);
	void *volatile inst = NULL;
	volatile bool instantiating = false;
	uint64_t results[1] = { 0 };
	wasm_rt_memory_t *mem;
	wasm_rt_trap_t trap;
	uint32_t i;
	char val[64];

	if (sigsetjmp(wk_exit_jb, 0) != 0) {
		d->outcome = WASM_OUT_EXITED;
		d->exit_code = wk_exit_code & 0xff;
		core_buf_reset(res);
		goto end;
	}
	trap = wasm_rt_impl_try();
	if (trap != WASM_RT_TRAP_NONE) {
		d->outcome = WASM_OUT_TRAPPED;
		d->trap = wasm_trap_from_rt(trap);
		core_buf_reset(res);
		if (instantiating)
			d->retire = 1;
		goto end;
	}
	instantiating = true;
	inst = s->code.entry.instantiate(ctx);
	instantiating = false;
	mem = s->code.entry.memory();
	if (mem != NULL) {
		uint32_t cap = (uint32_t)(maxmem / 65536 > 65536 ? 65536 :
		    maxmem / 65536);

		if (mem->max_pages > cap)
			mem->max_pages = cap;
		wasi_ctx_set_memory(ctx, mem);
	}
	if (rq->flags & WK_RUN_INVOKE) {
		init = wasm_module_export(s->m, "_initialize");
		if (init != NULL && init != ex && init->kind == WASM_EXTERN_FUNC)
			(void)s->code.entry.call((uint32_t)(init -
			    s->m->exports), NULL, results);
		if (s->code.entry.call(rq->export_idx, args, results) != 0) {
			d->outcome = WASM_OUT_FAILED;
			snprintf(msg, msglen, "wasm: export \"%s\" cannot be "
			    "called", ex->name);
			goto end;
		}
		for (i = 0; i < ft->nresults; i++) {
			wasm_value_format(ft->results[i], results[i], val,
			    sizeof(val));
			if (core_buf_append_str(res, val) != CORE_OK ||
			    core_buf_append(res, "\n", 1) != CORE_OK)
				_exit(125);
		}
		d->outcome = WASM_OUT_RETURNED;
	} else {
		if (s->code.entry.call(rq->export_idx, NULL, results) != 0) {
			d->outcome = WASM_OUT_FAILED;
			snprintf(msg, msglen, "wasm: _start cannot be called");
			goto end;
		}
		d->outcome = WASM_OUT_EXITED;
		d->exit_code = 0;
	}
end:
	if (inst != NULL && s->free_inst != NULL && !d->retire)
		s->free_inst(inst);
	if (s->free_inst == NULL)
		d->retire = 1;
}

/* Runs one WK_RUN request (payload in s->buf, fds received); replies
 * DONE. Malformed requests end the worker. */
static void
worker_serve(struct wk_state *s, const struct wk_hdr *h, size_t n, int *fds,
    int nfds)
{
	struct wk_run rq;
	struct wk_done d;
	struct core_buf res, tail;
	struct core_errbuf eb;
	struct wasi_config cfg;
	struct wasi_ctx *ctx = NULL;
	const struct wasm_export *ex;
	const struct wasm_functype *ft;
	const char *p, *end, **argv = NULL, **envp = NULL;
	uint64_t args[65], maxmem;
	int64_t t0 = mono_us(), c0 = cpu_now_us();
	int fi = 0, i;
	char msg[CORE_ERRBUF_LEN];

	memset(&d, 0, sizeof(d));
	msg[0] = '\0';
	core_buf_init(&res, 0);
	core_errbuf_clear(&eb);
	if (n < sizeof(rq))
		_exit(126);
	memcpy(&rq, s->buf, sizeof(rq));
	if (rq.export_idx >= s->m->nexports || rq.nargs > 4096 ||
	    rq.nenv > 4096)
		_exit(126);
	ex = &s->m->exports[rq.export_idx];
	ft = ex->kind == WASM_EXTERN_FUNC ?
	    wasm_module_export_functype(s->m, ex->name) : NULL;
	if (ft == NULL || !wasm_functype_callable(ft))
		_exit(126);
	p = (const char *)s->buf + sizeof(rq);
	end = (const char *)s->buf + n;
	if (rq.flags & WK_RUN_INVOKE) {
		if (rq.nargs != ft->nparams || rq.nargs > 64 ||
		    (size_t)(end - p) < rq.nargs * sizeof(uint64_t))
			_exit(126);
		memcpy(args, p, rq.nargs * sizeof(uint64_t));
		p += rq.nargs * sizeof(uint64_t);
	}
	argv = calloc(rq.nargs + 2, sizeof(*argv));
	envp = calloc(rq.nenv + 1, sizeof(*envp));
	if (argv == NULL || envp == NULL)
		_exit(125);
	if (!take_strings(&p, end, argv, 1) ||
	    (!(rq.flags & WK_RUN_INVOKE) && !take_strings(&p, end, argv + 1,
	    rq.nargs)) || !take_strings(&p, end, envp, rq.nenv) || p != end)
		_exit(126);
	if (nfds != ((rq.flags & WK_RUN_STDIN) ? 3 : 2))
		_exit(126);
	memset(&cfg, 0, sizeof(cfg));
	if (rq.flags & WK_RUN_STDIN) {
		cfg.stdin_fd = fds[fi++];
	} else {
		cfg.stdin_fd = s->empty_stdin;
		(void)lseek(s->empty_stdin, 0, SEEK_SET);
	}
	cfg.stdout_fd = fds[fi++];
	cfg.stderr_fd = fds[fi++];
	cfg.args = argv;
	cfg.env = envp;
	cfg.exit_hook = wk_exit_hook;
	worker_limits(s, &rq);
	maxmem = rq.max_memory_bytes ? rq.max_memory_bytes : DEFAULT_MAX_MEMORY;
	if (s->m->has_memory &&
	    (uint64_t)s->m->mem_initial_pages * 65536 > maxmem) {
		d.outcome = WASM_OUT_TRAPPED;
		d.trap = WASM_TRAP_OOM;
	} else if (wasi_ctx_new(&cfg, &ctx, &eb) != CORE_OK) {
		d.outcome = WASM_OUT_FAILED;
		snprintf(msg, sizeof(msg), "%s", core_errbuf_msg(&eb));
	}
	/* The guest's stdio lives in ctx (dups): the parent sees EOF when
	 * the context is freed. */
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	if (ctx != NULL) {
		worker_call(s, &rq, args, maxmem, ctx, &d, &res, msg,
		    sizeof(msg));
		wasi_ctx_free(ctx);
	}
	free(argv);
	free(envp);
	d.run_us = mono_us() - t0;
	d.cpu_us = cpu_now_us() - c0;
	d.results_len = (uint32_t)res.len;
	d.errmsg_len = (uint32_t)strlen(msg);
	core_buf_init(&tail, 0);
	if (core_buf_append(&tail, res.data, res.len) != CORE_OK ||
	    core_buf_append(&tail, msg, d.errmsg_len) != CORE_OK)
		_exit(125);
	if (wk_send(s->sock, WK_DONE, h->id, &d, sizeof(d), tail.data,
	    tail.len, NULL, 0) != 0)
		_exit(0);
	core_buf_cleanup(&tail);
	core_buf_cleanup(&res);
	if (d.retire)
		_exit(0);
}

/*
 * The worker's only other thread: when the pool's end of the socket goes
 * away (the caller exited or was killed), end the worker even if a guest
 * is spinning in the main thread.
 */
static void *
worker_watchdog(void *arg)
{
	struct pollfd pfd = { *(int *)arg, POLLRDHUP, 0 };

	for (;;) {
		if (poll(&pfd, 1, -1) < 0 && errno == EINTR)
			continue;
		if (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))
			_exit(0);
	}
	return NULL;
}

static void
worker_main(int sock)
{
	static int wsock;
	pthread_t wd;
	struct wk_state *s;
	struct wk_hdr h;
	struct rlimit rl;
	int fds[WK_MAX_FDS], nfds, i;
	ssize_t n;

	rl.rlim_cur = rl.rlim_max = 0;
	(void)setrlimit(RLIMIT_CORE, &rl);
	signal(SIGPIPE, SIG_IGN);
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		_exit(125);
	s->sock = sock;
	s->empty_stdin = -1;
	s->code.memfd = -1;
	wsock = sock;
	if (pthread_create(&wd, NULL, worker_watchdog, &wsock) != 0)
		_exit(125);
	worker_init(s);
	for (;;) {
		n = wk_recv(sock, &h, s->buf, sizeof(s->buf), fds, &nfds);
		if (n < 0) {
			if (errno == 0)
				_exit(0); /* the pool closed the socket */
			_exit(126);
		}
		if (h.type != WK_RUN) {
			for (i = 0; i < nfds; i++)
				close(fds[i]);
			_exit(126);
		}
		worker_serve(s, &h, (size_t)n, fds, nfds);
	}
}

/*
 * Runs before main() in any program linking this file: when started as a
 * worker (argv[0], the marker variable and a socket on fd 3), serve and
 * never return to the program's own main.
 */
__attribute__((constructor)) static void
worker_ctor(int argc, char **argv)
{
	const char *v = getenv(WK_ENV);
	struct stat st;

	if (v == NULL || strcmp(v, "3") != 0 || argc < 1 || argv == NULL ||
	    argv[0] == NULL || strcmp(argv[0], WK_ARGV0) != 0)
		return;
	if (fstat(WK_FD, &st) != 0 || !S_ISSOCK(st.st_mode))
		_exit(127);
	(void)unsetenv(WK_ENV);
	worker_main(WK_FD);
}

/* ------------------------------------------------------------------ */
/* The pool (parent side)                                              */
/* ------------------------------------------------------------------ */

struct wasm_worker {
	pid_t pid;                 /* its own process group */
	int sock;                  /* owned */
	uint8_t sha256[32];
	enum wasm_tier tier;
	bool busy;                 /* guarded by pool lock */
	bool fresh;                /* READY not read yet */
	int64_t idle_since_ms;     /* guarded by pool lock */
	uint64_t next_id;
	struct wasm_worker *next;  /* guarded by pool lock */
};

struct wasm_pool {
	pthread_mutex_t lock;
	pthread_cond_t changed;    /* a worker became idle or a slot free */
	pthread_cond_t sweep_cv;   /* wakes the sweeper on free() */
	pthread_t sweeper;
	bool stopping;             /* guarded by lock */
	struct wasm_worker *workers; /* guarded by lock; owned */
	unsigned nworkers;         /* guarded by lock */
	unsigned max_per_module, max_total;
	int64_t idle_ms, wait_ms;
	struct wasm_pool_stats st; /* guarded by lock */
};

struct wasm_wrun {
	struct wasm_pool *pool;    /* borrowed */
	struct wasm_worker *w;     /* owned while the run lasts */
	pthread_mutex_t klock;     /* orders kill against reaping/release */
	bool live;                 /* guarded by klock: kill may signal */
	volatile sig_atomic_t killed;
	uint64_t id;
	int out_fd, err_fd;        /* parent ends; -1 closed */
	bool inherit_out, inherit_err;
	size_t out_max, err_max;
	int64_t t_start_ms, timeout_ms;
	bool dead;                 /* the worker is gone or must go */
	int wstatus;
	bool reaped;
	bool finished;             /* DONE read and the pipes drained */
	struct core_buf out, err;
};

static void worker_kill_reap(struct wasm_worker *w, int *wstatus);

static void
cond_init_mono(pthread_cond_t *c)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
}

static void
abstime_in(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* Unlinks idle workers past the idle timeout (lock held); returns them. */
static struct wasm_worker *
pool_take_expired(struct wasm_pool *p, int64_t now)
{
	struct wasm_worker **pp = &p->workers, *w, *out = NULL;

	while ((w = *pp) != NULL) {
		if (!w->busy && (p->stopping ||
		    now - w->idle_since_ms >= p->idle_ms)) {
			*pp = w->next;
			w->next = out;
			out = w;
			p->nworkers--;
			p->st.expired++;
			continue;
		}
		pp = &w->next;
	}
	return out;
}

static void
free_list(struct wasm_worker *w)
{
	struct wasm_worker *next;

	for (; w != NULL; w = next) {
		next = w->next;
		worker_kill_reap(w, NULL);
	}
}

static void *
sweeper_main(void *arg)
{
	struct wasm_pool *p = arg;
	struct wasm_worker *gone;
	struct timespec ts;
	int64_t period = p->idle_ms / 2 > 0 ? p->idle_ms / 2 : 1;

	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		abstime_in(&ts, period > 1000 ? 1000 : period);
		(void)pthread_cond_timedwait(&p->sweep_cv, &p->lock, &ts);
		gone = pool_take_expired(p, core_mono_ms());
		if (gone != NULL) {
			pthread_mutex_unlock(&p->lock);
			free_list(gone);
			pthread_mutex_lock(&p->lock);
		}
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

enum core_err
wasm_pool_new(const struct wasm_pool_opts *o, struct wasm_pool **out,
    struct core_errbuf *eb)
{
	struct wasm_pool *p;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "wasm: out of memory");
	p->max_per_module = o != NULL && o->max_per_module > 0 ?
	    o->max_per_module : (unsigned)(ncpu > 0 ? ncpu : 1);
	p->max_total = o != NULL && o->max_total > 0 ? o->max_total :
	    4 * p->max_per_module;
	if (p->max_total < p->max_per_module)
		p->max_total = p->max_per_module;
	p->idle_ms = o != NULL && o->idle_timeout_ms > 0 ?
	    o->idle_timeout_ms : DEFAULT_IDLE_MS;
	p->wait_ms = o != NULL && o->wait_ms != 0 ? o->wait_ms :
	    DEFAULT_WAIT_MS;
	if (p->wait_ms < 0)
		p->wait_ms = 0;
	pthread_mutex_init(&p->lock, NULL);
	cond_init_mono(&p->changed);
	cond_init_mono(&p->sweep_cv);
	if (pthread_create(&p->sweeper, NULL, sweeper_main, p) != 0) {
		pthread_cond_destroy(&p->changed);
		pthread_cond_destroy(&p->sweep_cv);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return core_errf(eb, CORE_ERR_INTERNAL,
		    "wasm: cannot start the pool's sweeper thread");
	}
	*out = p;
	return CORE_OK;
}

void
wasm_pool_free(struct wasm_pool *p)
{
	struct wasm_worker *gone;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->changed);
	pthread_cond_broadcast(&p->sweep_cv);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->sweeper, NULL);
	pthread_mutex_lock(&p->lock);
	gone = pool_take_expired(p, core_mono_ms());
	pthread_mutex_unlock(&p->lock);
	free_list(gone);
	/* Busy workers belong to runs still in progress: the caller must
	 * have waited for them (documented in wasm.h). */
	pthread_cond_destroy(&p->changed);
	pthread_cond_destroy(&p->sweep_cv);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

void
wasm_pool_get_stats(struct wasm_pool *p, struct wasm_pool_stats *s)
{
	struct wasm_worker *w;

	pthread_mutex_lock(&p->lock);
	*s = p->st;
	s->workers = p->nworkers;
	s->idle = 0;
	for (w = p->workers; w != NULL; w = w->next)
		s->idle += !w->busy;
	pthread_mutex_unlock(&p->lock);
}

/* Kills (the whole process group) and reaps; frees w. */
static void
worker_kill_reap(struct wasm_worker *w, int *wstatus)
{
	int st = 0;

	if (w->sock >= 0)
		close(w->sock);
	if (w->pid > 0) {
		(void)kill(-w->pid, SIGKILL);
		while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	if (wstatus != NULL)
		*wstatus = st;
	free(w);
}

/* Starts the process of the reserved worker w (m at tier) and sends it
 * WK_INIT. On failure w keeps no process or socket. */
static enum core_err
worker_spawn(const struct wasm_module *m, enum wasm_tier tier,
    const char *cache_dir, struct wasm_worker *w, struct core_errbuf *eb)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t sa;
	sigset_t none, dfl;
	struct wk_init in;
	char *argv[] = { (char *)WK_ARGV0, NULL };
	char *envp[6];
	int sv[2] = { -1, -1 }, child = -1, memfd = -1, ne = 0, rc;
	enum core_err err = CORE_OK;
	pid_t pid;
	const char *keep[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS" };
	char *kv[3] = { NULL, NULL, NULL };
	size_t i;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		err = core_errf_errno(eb, CORE_ERR_IO, "wasm: socketpair");
		goto fail;
	}
	/* Keep the child's end away from fd 3 so dup2 always clears
	 * FD_CLOEXEC on the copy. */
	child = fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
	close(sv[1]);
	sv[1] = -1;
	memfd = memfd_create("propeller-wasm-module", MFD_CLOEXEC);
	if (child < 0 || memfd < 0 ||
	    core_write_all(memfd, m->bytes, m->len) != CORE_OK) {
		err = core_errf_errno(eb, CORE_ERR_IO, "wasm: worker setup");
		goto fail;
	}
	envp[ne++] = (char *)WK_PATH;
	envp[ne++] = (char *)WK_ENV "=3";
	if (WK_UNDER_ASAN) {
		for (i = 0; i < CORE_ARRAY_LEN(keep); i++) {
			const char *v = getenv(keep[i]);

			if (v != NULL && asprintf(&kv[i], "%s=%s", keep[i],
			    v) >= 0)
				envp[ne++] = kv[i];
		}
	}
	envp[ne] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&sa);
	/* stdin/stdout of the caller are not the worker's business; stderr
	 * stays for the runtime's own diagnostics (the guest never sees it:
	 * its stdio comes with each request). */
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, child, WK_FD);
	posix_spawn_file_actions_addclosefrom_np(&fa, WK_FD + 1);
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGHUP);
	sigaddset(&dfl, SIGCHLD);
	sigaddset(&dfl, SIGXCPU);
	posix_spawnattr_setsigmask(&sa, &none);
	posix_spawnattr_setsigdefault(&sa, &dfl);
	posix_spawnattr_setpgroup(&sa, 0);
	posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(&pid, "/proc/self/exe", &fa, &sa, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&sa);
	for (i = 0; i < CORE_ARRAY_LEN(kv); i++)
		free(kv[i]);
	if (rc != 0) {
		errno = rc;
		err = core_errf_errno(eb, CORE_ERR_IO, "wasm: spawning a worker");
		goto fail;
	}
	close(child);
	child = -1;
	w->pid = pid;
	w->sock = sv[0];
	sv[0] = -1;
	w->fresh = true;
	memset(&in, 0, sizeof(in));
	memcpy(in.sha256, m->sha256, 32);
	in.module_len = m->len;
	in.tier = (uint32_t)tier;
	in.nofold = getenv("PROPELLER_WASM_NOFOLD") != NULL;
	in.cache_dir_len = cache_dir != NULL ? (uint32_t)strlen(cache_dir) : 0;
	if (wk_send(w->sock, WK_INIT, w->next_id++, &in, sizeof(in),
	    cache_dir, in.cache_dir_len, &memfd, 1) != 0) {
		err = core_errf_errno(eb, CORE_ERR_IO, "wasm: worker init");
		goto fail;
	}
	close(memfd);
	return CORE_OK;
fail:
	if (memfd >= 0)
		close(memfd);
	if (child >= 0)
		close(child);
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	if (w->sock >= 0)
		close(w->sock);
	w->sock = -1;
	if (w->pid > 0) {
		(void)kill(-w->pid, SIGKILL);
		while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	w->pid = -1;
	return err;
}

/*
 * Finds an idle worker for (sha, tier) or reserves a new one (*spawn =
 * true: *out is a busy placeholder without a process yet). Waits up to wait_ms for an idle worker when
 * the module's workers are all busy. Returns false when the run should
 * fall back to a one-shot child. want_any: AUTO looking for an existing
 * tier-2 worker only (never reserves).
 */
static bool
pool_acquire(struct wasm_pool *p, const uint8_t *sha, enum wasm_tier tier,
    bool existing_only, struct wasm_worker **out, bool *spawn)
{
	struct wasm_worker *w, *victim = NULL, **pp;
	struct timespec ts;
	unsigned nkey;
	bool waited = false, ok = false;

	*out = NULL;
	*spawn = false;
	abstime_in(&ts, p->wait_ms);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		nkey = 0;
		for (w = p->workers; w != NULL; w = w->next) {
			if (w->tier != tier || memcmp(w->sha256, sha, 32) != 0)
				continue;
			nkey++;
			if (!w->busy) {
				w->busy = true;
				*out = w;
				ok = true;
				goto out;
			}
		}
		if (existing_only && nkey == 0)
			goto out;
		if (nkey < p->max_per_module && !existing_only) {
			if (p->nworkers >= p->max_total) {
				/* Make room: the idle worker unused longest. */
				for (w = p->workers; w != NULL; w = w->next)
					if (!w->busy && (victim == NULL ||
					    w->idle_since_ms <
					    victim->idle_since_ms))
						victim = w;
				if (victim != NULL) {
					for (pp = &p->workers; *pp != victim;
					    pp = &(*pp)->next)
						;
					*pp = victim->next;
					p->nworkers--;
					p->st.evicted++;
				}
			}
			if (p->nworkers < p->max_total &&
			    (w = calloc(1, sizeof(*w))) != NULL) {
				w->pid = -1;
				w->sock = -1;
				w->busy = true;
				w->tier = tier;
				memcpy(w->sha256, sha, 32);
				w->next = p->workers;
				p->workers = w;
				p->nworkers++;
				p->st.spawned++;
				*out = w;
				*spawn = true;
				ok = true;
				goto out;
			}
		}
		if (p->stopping || waited || p->wait_ms == 0)
			goto out;
		if (pthread_cond_timedwait(&p->changed, &p->lock, &ts) ==
		    ETIMEDOUT)
			waited = true;
	}
out:
	pthread_mutex_unlock(&p->lock);
	if (victim != NULL)
		worker_kill_reap(victim, NULL);
	return ok;
}

/* Returns w to the pool (healthy) or removes and reaps it. */
static void
pool_release(struct wasm_pool *p, struct wasm_worker *w, bool healthy,
    bool reaped)
{
	struct wasm_worker **pp;

	pthread_mutex_lock(&p->lock);
	if (healthy && !p->stopping) {
		w->busy = false;
		w->idle_since_ms = core_mono_ms();
		p->st.served++;
		pthread_cond_broadcast(&p->changed);
		pthread_mutex_unlock(&p->lock);
		return;
	}
	for (pp = &p->workers; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			p->nworkers--;
			break;
		}
	}
	p->st.served += healthy;
	pthread_cond_broadcast(&p->changed);
	pthread_mutex_unlock(&p->lock);
	if (reaped)
		w->pid = -1;
	worker_kill_reap(w, NULL);
}

/* ------------------------------------------------------------------ */
/* A run on a worker                                                   */
/* ------------------------------------------------------------------ */

/* Serializes the WK_RUN payload into b. */
static enum core_err
run_payload(const struct wasm_run_opts *o, uint32_t export_idx,
    const uint64_t *args, bool with_stdin, struct core_buf *b)
{
	struct wk_run rq;
	enum core_err err;
	size_t i;

	memset(&rq, 0, sizeof(rq));
	rq.flags = (o->invoke != NULL ? WK_RUN_INVOKE : 0) |
	    (with_stdin ? WK_RUN_STDIN : 0);
	rq.export_idx = export_idx;
	rq.nargs = (uint32_t)o->nargs;
	rq.nenv = (uint32_t)o->nenv;
	rq.max_memory_bytes = o->max_memory_bytes;
	rq.timeout_ms = o->timeout_ms;
	if (o->nargs > 4096 || o->nenv > 4096)
		return CORE_ERR_TOO_BIG;
	err = core_buf_append(b, &rq, sizeof(rq));
	if (err == CORE_OK && o->invoke != NULL)
		err = core_buf_append(b, args, o->nargs * sizeof(uint64_t));
	if (err == CORE_OK)
		err = core_buf_append(b, o->argv0 ? o->argv0 : "main",
		    strlen(o->argv0 ? o->argv0 : "main") + 1);
	for (i = 0; err == CORE_OK && o->invoke == NULL && i < o->nargs; i++)
		err = core_buf_append(b, o->args[i], strlen(o->args[i]) + 1);
	for (i = 0; err == CORE_OK && i < o->nenv; i++) {
		if (strchr(o->env[i], '=') == NULL)
			return CORE_ERR_INVALID; /* wasi_ctx_new's message */
		err = core_buf_append(b, o->env[i], strlen(o->env[i]) + 1);
	}
	return err;
}

/* The stdin fd a run gets: a memfd with the bytes, the caller's fd, or
 * -1 for the worker's own empty one. */
static int
run_stdin(const struct wasm_run_opts *o)
{
	int fd;

	if (o->stdin_fd >= 0 && o->stdin_data == NULL)
		return fcntl(o->stdin_fd, F_DUPFD_CLOEXEC, 0);
	if (o->stdin_data == NULL || o->stdin_len == 0)
		return -1;
	fd = memfd_create("propeller-wasm-stdin", MFD_CLOEXEC);
	if (fd < 0)
		return -2;
	if (core_write_all(fd, o->stdin_data, o->stdin_len) != CORE_OK) {
		close(fd);
		return -2;
	}
	(void)lseek(fd, 0, SEEK_SET);
	return fd;
}

/* Whether a worker may serve this run at all (before tier policy). */
static bool
run_eligible(const struct wasm_run_opts *o)
{
	return o->tier != WASM_TIER_EXTERNAL && o->npreopens == 0;
}

/*
 * The fd a worker writes one output stream to: stdfd itself when the
 * caller inherits it, else the write end of a new pipe, whose read end goes
 * to *keep and whose write end is also left in *wend for the caller to
 * close once it is sent. -1 if the pipe cannot be made.
 */
static int
output_end(bool inherit, int stdfd, int *keep, int *wend)
{
	int pfd[2];

	if (inherit)
		return stdfd;
	if (pipe2(pfd, O_CLOEXEC) != 0)
		return -1;
	*keep = pfd[0];
	*wend = pfd[1];
	return pfd[1];
}

enum core_err
wasm_wrun_start(struct wasm_pool *p, const struct wasm_module *m,
    const struct wasm_run_opts *o, uint32_t export_idx, const uint64_t *args,
    struct wasm_wrun **out, bool *fallback, struct core_errbuf *eb)
{
	struct wasm_wrun *r = NULL;
	struct wasm_worker *w = NULL;
	struct core_buf pl;
	enum wasm_tier tier = o->tier;
	char *cache_dir = NULL;
	int wend[2] = { -1, -1 }, in = -1, fd, fds[3], nfds = 0;
	bool spawn = false;
	int attempts = 0;
	enum core_err err = CORE_OK;

	*out = NULL;
	*fallback = true;
	core_buf_init(&pl, WK_MSG_MAX);
	if (p == NULL || !run_eligible(o))
		return CORE_OK;
	/* Encode first: a request that does not fit goes one-shot. */
	if (run_payload(o, export_idx, args, o->stdin_data != NULL ||
	    o->stdin_fd >= 0, &pl) != CORE_OK)
		goto out;
again:
	if (tier == WASM_TIER_AUTO) {
		/* A tier-2 worker already loaded the cached object: use it. */
		if (pool_acquire(p, m->sha256, WASM_TIER_2, true, &w, &spawn)) {
			tier = WASM_TIER_2;
		} else {
			if (wasm_cache_dir(o->cache_dir, o->confidential,
			    &cache_dir, NULL) != CORE_OK ||
			    !wasm_cache_valid(cache_dir, m))
				goto out; /* tier 1 + background build */
			tier = WASM_TIER_2;
		}
	}
	if (w == NULL) {
		if (!pool_acquire(p, m->sha256, tier, false, &w, &spawn))
			goto out;
	}
	if (spawn) {
		if (tier == WASM_TIER_2 && cache_dir == NULL) {
			err = wasm_cache_dir(o->cache_dir, o->confidential,
			    &cache_dir, eb);
			if (err == CORE_OK && !wasm_cache_valid(cache_dir, m))
				err = wasm_cache_build(cache_dir, m, NULL, eb);
			if (err != CORE_OK)
				goto out;
		}
		if (worker_spawn(m, tier, cache_dir, w, NULL) != CORE_OK) {
			pool_release(p, w, false, false);
			w = NULL;
			goto out; /* one-shot instead */
		}
	}
	if (r == NULL && (r = calloc(1, sizeof(*r))) == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "wasm: out of memory");
		goto out;
	}
	if (attempts > 0)
		goto send;
	pthread_mutex_init(&r->klock, NULL);
	r->pool = p;
	r->w = w;
	r->out_fd = r->err_fd = -1;
	r->inherit_out = o->inherit_stdout;
	r->inherit_err = o->inherit_stderr;
	r->out_max = o->stdout_max ? o->stdout_max : DEFAULT_STDOUT_MAX;
	r->err_max = o->stderr_max ? o->stderr_max : DEFAULT_STDERR_MAX;
	r->t_start_ms = core_mono_ms();
	r->timeout_ms = o->timeout_ms;
	core_buf_init(&r->out, 0);
	core_buf_init(&r->err, 0);
	in = run_stdin(o);
	if (in == -2) {
		err = core_errf_errno(eb, CORE_ERR_IO, "wasm: stdin memfd");
		goto out;
	}
	if (in >= 0)
		fds[nfds++] = in;
	if ((fd = output_end(o->inherit_stdout, 1, &r->out_fd, &wend[0])) < 0) {
		err = core_errf_errno(eb, CORE_ERR_IO, "wasm: stdout pipe");
		goto out;
	}
	fds[nfds++] = fd;
	if ((fd = output_end(o->inherit_stderr, 2, &r->err_fd, &wend[1])) < 0) {
		err = core_errf_errno(eb, CORE_ERR_IO, "wasm: stderr pipe");
		goto out;
	}
	fds[nfds++] = fd;
send:
	r->w = w;
	r->id = w->next_id++;
	if (wk_send(w->sock, WK_RUN, r->id, pl.data, pl.len, NULL, 0, fds,
	    nfds) != 0) {
		if (!spawn && attempts++ < 2) {
			/* An idle worker died (killed from outside): drop
			 * it and take another. */
			pool_release(p, w, false, false);
			w = NULL;
			spawn = false;
			goto again;
		}
		/* A new worker that cannot take a request: it crashed. */
		r->dead = true;
	}
	r->live = true;
	w = NULL;
	*fallback = false;
	*out = r;
	r = NULL;
out:
	if (in >= 0)
		close(in);
	if (wend[0] >= 0)
		close(wend[0]);
	if (wend[1] >= 0)
		close(wend[1]);
	if (r != NULL) {
		if (r->out_fd >= 0)
			close(r->out_fd);
		if (r->err_fd >= 0)
			close(r->err_fd);
		core_buf_cleanup(&r->out);
		core_buf_cleanup(&r->err);
		pthread_mutex_destroy(&r->klock);
		free(r);
	}
	if (w != NULL)
		pool_release(p, w, err == CORE_OK && !w->fresh, false);
	free(cache_dir);
	core_buf_cleanup(&pl);
	if (err != CORE_OK)
		*fallback = false;
	if (*fallback) {
		pthread_mutex_lock(&p->lock);
		p->st.fallbacks++;
		pthread_mutex_unlock(&p->lock);
	}
	return err;
}

pid_t
wasm_wrun_pid(struct wasm_wrun *r)
{
	return r->w != NULL ? r->w->pid : -1;
}

void
wasm_wrun_kill(struct wasm_wrun *r)
{
	pthread_mutex_lock(&r->klock);
	r->killed = 1;
	if (r->live && r->w != NULL && r->w->pid > 0)
		(void)kill(-r->w->pid, SIGKILL);
	pthread_mutex_unlock(&r->klock);
}

/* The worker is gone or must go: kill it, reap it, keep its status. */
static void
wrun_reap(struct wasm_wrun *r)
{
	int st = 0;

	if (r->reaped)
		return;
	pthread_mutex_lock(&r->klock);
	r->live = false;
	pthread_mutex_unlock(&r->klock);
	(void)kill(-r->w->pid, SIGKILL);
	while (waitpid(r->w->pid, &st, 0) < 0 && errno == EINTR)
		;
	r->wstatus = st;
	r->reaped = true;
}

/* Reads one pipe chunk into dst (bounded) or forwards it. */
static void
wrun_read_pipe(struct wasm_wrun *r, int *fdp, struct core_buf *dst,
    size_t max)
{
	uint8_t chunk[65536];
	ssize_t n;

	n = read(*fdp, chunk, sizeof(chunk));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(*fdp);
		*fdp = -1;
		return;
	}
	(void)r;
	if (dst->len + (size_t)n <= max)
		(void)core_buf_append(dst, chunk, (size_t)n);
}

/* Reads the worker's next message; false when the worker is unusable. */
static bool
wrun_read_msg(struct wasm_wrun *r, struct wasm_result *res, bool *done)
{
	/* Replies are small: one value at most, a message of at most
	 * CORE_ERRBUF_LEN; anything longer is truncated, i.e. refused. */
	uint8_t buf[4096];
	struct wk_hdr h;
	struct wk_done d;
	struct wk_ready rd;
	int fds[WK_MAX_FDS], nfds = 0, i;
	ssize_t n;
	bool ok = false;

	n = wk_recv(r->w->sock, &h, buf, sizeof(buf), fds, &nfds);
	for (i = 0; i < nfds; i++)
		close(fds[i]); /* a worker never sends fds */
	if (n < 0 || nfds != 0)
		goto out;
	if (r->w->fresh) {
		if (h.type == WK_READY && (size_t)n == sizeof(rd)) {
			memcpy(&rd, buf, sizeof(rd));
			res->compile_ms = rd.compile_us / 1000;
			res->cpu_ms += rd.compile_cpu_us / 1000;
			res->worker_cpu_us += rd.compile_cpu_us;
			r->w->fresh = false;
			ok = true;
		} else if (h.type == WK_FAILED) {
			res->outcome = WASM_OUT_FAILED;
			snprintf(res->errmsg, sizeof(res->errmsg), "%.*s",
			    (int)(n < 1000 ? n : 1000), (const char *)buf);
			*done = true;
			r->dead = true; /* it exits after FAILED */
			ok = true;
		}
		goto out;
	}
	if (h.type != WK_DONE || h.id != r->id || (size_t)n < sizeof(d))
		goto out;
	memcpy(&d, buf, sizeof(d));
	if ((size_t)n != sizeof(d) + (size_t)d.results_len + d.errmsg_len ||
	    d.outcome > WASM_OUT_FAILED || d.trap > WASM_TRAP_OTHER)
		goto out;
	res->outcome = (enum wasm_outcome)d.outcome;
	res->exit_code = d.exit_code;
	res->trap = (enum wasm_trap)d.trap;
	res->run_cpu_ms = d.cpu_us / 1000;
	res->cpu_ms += d.cpu_us / 1000;
	res->worker_cpu_us += d.cpu_us;
	if (res->outcome == WASM_OUT_RETURNED) {
		res->results = strndup((const char *)buf + sizeof(d),
		    d.results_len);
		if (res->results == NULL)
			goto out;
	}
	if (res->outcome == WASM_OUT_FAILED)
		snprintf(res->errmsg, sizeof(res->errmsg), "%.*s",
		    (int)d.errmsg_len, (const char *)buf + sizeof(d) +
		    d.results_len);
	if (d.retire)
		r->dead = true;
	*done = true;
	ok = true;
out:
	return ok;
}

enum core_err
wasm_wrun_wait(struct wasm_wrun *r, struct wasm_result *res)
{
	struct pollfd pfd[3];
	bool done = false, timed_out = false, lost = r->dead;
	int64_t now, wait_ms;
	int nfds, i;

	res->tier_used = r->w->tier;
	res->on_worker = true;
	while (!lost && (!done || r->out_fd >= 0 || r->err_fd >= 0)) {
		now = core_mono_ms();
		wait_ms = -1;
		if (r->timeout_ms > 0) {
			wait_ms = r->t_start_ms + r->timeout_ms - now;
			if (wait_ms <= 0) {
				timed_out = true;
				break;
			}
		}
		if (r->killed)
			break;
		nfds = 0;
		if (r->out_fd >= 0)
			pfd[nfds++] = (struct pollfd){ r->out_fd, POLLIN, 0 };
		if (r->err_fd >= 0)
			pfd[nfds++] = (struct pollfd){ r->err_fd, POLLIN, 0 };
		if (!done)
			pfd[nfds++] = (struct pollfd){ r->w->sock, POLLIN, 0 };
		if (poll(pfd, (nfds_t)nfds, (int)(wait_ms > INT32_MAX ?
		    INT32_MAX : wait_ms)) < 0) {
			if (errno == EINTR)
				continue;
			lost = true;
			break;
		}
		for (i = 0; i < nfds; i++) {
			if (pfd[i].revents == 0)
				continue;
			if (pfd[i].fd == r->out_fd)
				wrun_read_pipe(r, &r->out_fd, &r->out,
				    r->out_max);
			else if (pfd[i].fd == r->err_fd)
				wrun_read_pipe(r, &r->err_fd, &r->err,
				    r->err_max);
			else if (!wrun_read_msg(r, res, &done))
				lost = true;
		}
	}
	if (r->killed || timed_out || lost || r->dead)
		wrun_reap(r);
	if (lost) {
		/* The worker is dead: keep what it wrote before. */
		while (r->out_fd >= 0)
			wrun_read_pipe(r, &r->out_fd, &r->out, r->out_max);
		while (r->err_fd >= 0)
			wrun_read_pipe(r, &r->err_fd, &r->err, r->err_max);
	}
	r->finished = done && !lost && !timed_out && !r->killed;
	if (r->killed) {
		res->outcome = WASM_OUT_KILLED;
	} else if (timed_out || (r->reaped && WIFSIGNALED(r->wstatus) &&
	    WTERMSIG(r->wstatus) == SIGXCPU && !done)) {
		res->outcome = WASM_OUT_TIMEOUT;
	} else if (!done) {
		res->outcome = WASM_OUT_CRASHED;
		res->term_signal = WIFSIGNALED(r->wstatus) ?
		    WTERMSIG(r->wstatus) : 0;
		res->exit_code = WIFEXITED(r->wstatus) ?
		    WEXITSTATUS(r->wstatus) : -1;
		free(res->results);
		res->results = NULL;
	}
	if (r->out_fd >= 0)
		close(r->out_fd);
	if (r->err_fd >= 0)
		close(r->err_fd);
	r->out_fd = r->err_fd = -1;
	if (res->outcome == WASM_OUT_RETURNED && res->results == NULL)
		res->results = strdup("");
	core_buf_cleanup(&res->out);
	core_buf_cleanup(&res->err);
	res->out = r->out;
	res->err = r->err;
	core_buf_init(&r->out, 0);
	core_buf_init(&r->err, 0);
	res->run_ms = core_mono_ms() - r->t_start_ms;
	return CORE_OK;
}

void
wasm_wrun_free(struct wasm_wrun *r)
{
	bool healthy;

	if (r == NULL)
		return;
	pthread_mutex_lock(&r->klock);
	r->live = false; /* from here a kill must not reach the worker */
	healthy = r->finished && !r->dead && !r->reaped && !r->killed;
	pthread_mutex_unlock(&r->klock);
	pool_release(r->pool, r->w, healthy, r->reaped);
	if (r->out_fd >= 0)
		close(r->out_fd);
	if (r->err_fd >= 0)
		close(r->err_fd);
	core_buf_cleanup(&r->out);
	core_buf_cleanup(&r->err);
	pthread_mutex_destroy(&r->klock);
	free(r);
}
