/*
 * fuzz_wasi_calls.c -- WASI calls never crash on hostile guest memory.
 *
 * Input: one byte giving the memory size in 16-byte units, that many bytes
 * of guest memory, then 21-byte records (selector byte + five u32
 * arguments) naming read-only calls to make against a context with a
 * temporary preopen (fd 3), /dev/null as stdio and the fuzzed memory.
 * Every pointer and length comes from the input; the host must answer
 * with an errno (< 77) and never touch memory outside the array, which
 * ASan checks because the array is exactly the memory size.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "wasm/wasi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct wasi_ctx *fc_ctx;
static char *fc_dir; /* owned: the preopened temp dir */

static void
fc_cleanup(void)
{
	wasi_ctx_free(fc_ctx);
	if (fc_dir != NULL)
		core_fs_rmtree(fc_dir, NULL);
	free(fc_dir);
}

static int
fc_setup(void)
{
	char tmpl[] = "/tmp/wasi_fuzzc.XXXXXX";
	const char *args[] = { "prog", "x", NULL };
	const char *env[] = { "A=1", NULL };
	struct wasi_preopen pre;
	struct wasi_config cfg;
	int devnull, d;

	if (mkdtemp(tmpl) == NULL)
		return -1;
	fc_dir = strdup(tmpl);
	atexit(fc_cleanup);
	d = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0 || mkdirat(d, "sub", 0700) != 0 ||
	    symlinkat("..", d, "up") != 0 || symlinkat("sub", d, "s") != 0)
		return -1;
	close(openat(d, "sub/f", O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	close(d);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		return -1;
	memset(&pre, 0, sizeof(pre));
	pre.host_path = tmpl;
	pre.guest_path = "/sandbox";
	memset(&cfg, 0, sizeof(cfg));
	cfg.args = args;
	cfg.env = env;
	cfg.preopens = &pre;
	cfg.npreopens = 1;
	cfg.stdin_fd = cfg.stdout_fd = cfg.stderr_fd = devnull;
	if (wasi_ctx_new(&cfg, &fc_ctx, NULL) != CORE_OK)
		return -1;
	close(devnull);
	return 0;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint32_t
call(uint8_t sel, const uint32_t a[5])
{
	struct wasi_ctx *c = fc_ctx;
	uint32_t fd = a[0] % 6; /* 0..2 stdio, 3 preopen, 4..5 unused */

	switch (sel % 12) {
	case 0: return WASI_FN(fd_write)(c, fd, a[1], a[2] % 64, a[3]);
	case 1: return WASI_FN(args_get)(c, a[0], a[1]);
	case 2: return WASI_FN(fd_fdstat_get)(c, fd, a[1]);
	case 3: return WASI_FN(fd_filestat_get)(c, fd, a[1]);
	case 4: return WASI_FN(fd_prestat_get)(c, fd, a[1]);
	case 5: return WASI_FN(fd_readdir)(c, fd, a[1], a[2], a[3], a[4]);
	case 6: return WASI_FN(path_filestat_get)(c, fd, a[1], a[2], a[3],
	    a[4]);
	case 7: return WASI_FN(clock_time_get)(c, a[0] % 5, 0, a[1]);
	case 8: return WASI_FN(random_get)(c, a[0], a[1] % 512);
	case 9: return WASI_FN(fd_prestat_dir_name)(c, fd, a[1], a[2]);
	case 10: return WASI_FN(fd_read)(c, fd, a[1], a[2] % 64, a[3]);
	default: return WASI_FN(path_readlink)(c, fd, a[0], a[1], a[2],
	    a[3], a[4]);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	wasm_rt_memory_t m;
	uint8_t *mem;
	size_t msize, off;

	if (fc_ctx == NULL && fc_setup() != 0)
		abort();
	if (size < 1)
		return 0;
	msize = (size_t)data[0] * 16;
	if (msize > size - 1)
		msize = size - 1;
	/* Exactly msize bytes (at least one) so ASan sees any overrun. */
	mem = malloc(msize ? msize : 1);
	if (mem == NULL)
		return 0;
	memcpy(mem, data + 1, msize);
	memset(&m, 0, sizeof(m));
	m.data = mem;
	m.size = (uint32_t)msize;
	m.pages = 1;
	m.max_pages = 1;
	wasi_ctx_set_memory(fc_ctx, &m);
	for (off = 1 + msize; off + 21 <= size; off += 21) {
		uint32_t a[5];

		for (int i = 0; i < 5; i++)
			a[i] = get32(data + off + 1 + 4 * i);
		if (call(data[off], a) > WASI_ENOTCAPABLE)
			abort();
	}
	wasi_ctx_set_memory(fc_ctx, NULL);
	free(mem);
	return 0;
}
