/*
 * wasi_guest.c -- a wasm32-wasi program that exercises the WASI preview1
 * host call by call. argv[1] names the case; each case checks its own
 * results and exits 0 on success, or prints "FAIL <line>: <expr>" to stderr
 * and exits 1. The host side (test_wasi_guest.c) runs every case in a
 * fresh instance with a temporary directory preopened as "/sandbox" (fd 3).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

#define SANDBOX 3

#define CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "FAIL %d: %s\n", __LINE__, #c); exit(1); } } while (0)
#define ERR(e, want) do { __wasi_errno_t got_ = (e); if (got_ != (want)) { \
	fprintf(stderr, "FAIL %d: %s = %d, want %d\n", __LINE__, #e, got_, \
	    (want)); exit(1); } } while (0)
#define OK(e) ERR(e, __WASI_ERRNO_SUCCESS)

/* Raw imports with explicit lengths, to pass hostile pointers. */
#define IMPORT(n) __attribute__((import_module("wasi_snapshot_preview1"), \
	import_name(n)))
IMPORT("path_open") int32_t raw_path_open(int32_t, int32_t, int32_t, int32_t,
    int32_t, int64_t, int64_t, int32_t, int32_t);
IMPORT("fd_write") int32_t raw_fd_write(int32_t, int32_t, int32_t, int32_t);
IMPORT("fd_read") int32_t raw_fd_read(int32_t, int32_t, int32_t, int32_t);
IMPORT("args_get") int32_t raw_args_get(int32_t, int32_t);
IMPORT("fd_fdstat_get") int32_t raw_fd_fdstat_get(int32_t, int32_t);
IMPORT("random_get") int32_t raw_random_get(int32_t, int32_t);
IMPORT("clock_time_get") int32_t raw_clock_time_get(int32_t, int64_t,
    int32_t);
IMPORT("poll_oneoff") int32_t raw_poll_oneoff(int32_t, int32_t, int32_t,
    int32_t);
IMPORT("fd_readdir") int32_t raw_fd_readdir(int32_t, int32_t, int32_t,
    int64_t, int32_t);
IMPORT("path_create_directory") int32_t raw_path_create_directory(int32_t,
    int32_t, int32_t);
IMPORT("proc_raise") int32_t raw_proc_raise(int32_t);

#define RIGHTS_RW (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE)

static uint32_t
mem_end(void)
{
	return (uint32_t)__builtin_wasm_memory_size(0) * 65536u;
}

static __wasi_fd_t
open_at(__wasi_fd_t dir, const char *p, __wasi_oflags_t of, __wasi_rights_t r,
    __wasi_fdflags_t ff)
{
	__wasi_fd_t fd = 0;

	OK(__wasi_path_open(dir, 0, p, of, r, r, ff, &fd));
	return fd;
}

static void
write_all(__wasi_fd_t fd, const char *s)
{
	__wasi_ciovec_t iov = { (const uint8_t *)s, strlen(s) };
	__wasi_size_t n = 0;

	OK(__wasi_fd_write(fd, &iov, 1, &n));
	CHECK(n == strlen(s));
}

static void
make_file(const char *p, const char *content)
{
	__wasi_fd_t fd = open_at(SANDBOX, p, __WASI_OFLAGS_CREAT |
	    __WASI_OFLAGS_TRUNC, RIGHTS_RW, 0);

	write_all(fd, content);
	OK(__wasi_fd_close(fd));
}

/* ---- args, environ, stdio ------------------------------------------ */

static int
t_args(int argc, char **argv)
{
	__wasi_size_t n = 0, sz = 0;

	CHECK(argc == 4);
	CHECK(strcmp(argv[0], "guest") == 0);
	CHECK(strcmp(argv[2], "two words") == 0);
	CHECK(strcmp(argv[3], "") == 0);
	OK(__wasi_args_sizes_get(&n, &sz));
	CHECK(n == 4);
	CHECK(sz == 6 + 5 + 10 + 1);
	CHECK(getenv("FOO") != NULL && strcmp(getenv("FOO"), "bar=baz") == 0);
	CHECK(getenv("EMPTY") != NULL && getenv("EMPTY")[0] == '\0');
	CHECK(getenv("MISSING") == NULL);
	OK(__wasi_environ_sizes_get(&n, &sz));
	CHECK(n == 2);
	CHECK(sz == sizeof("FOO=bar=baz") + sizeof("EMPTY="));
	return 0;
}

static int
t_stdio(void)
{
	char buf[64];
	__wasi_iovec_t iov = { (uint8_t *)buf, sizeof(buf) };
	__wasi_size_t n = 0;
	__wasi_fdstat_t st;

	OK(__wasi_fd_read(0, &iov, 1, &n));
	CHECK(n == 6 && memcmp(buf, "input\n", 6) == 0);
	OK(__wasi_fd_read(0, &iov, 1, &n));
	CHECK(n == 0); /* EOF */
	write_all(1, "to stdout\n");
	write_all(2, "to stderr\n");
	OK(__wasi_fd_fdstat_get(0, &st));
	CHECK(st.fs_rights_base & __WASI_RIGHTS_FD_READ);
	OK(__wasi_fd_fdstat_get(1, &st));
	CHECK(st.fs_rights_base & __WASI_RIGHTS_FD_WRITE);
	CHECK(!(st.fs_rights_base & __WASI_RIGHTS_FD_READ));
	/* Writing to stdin / reading stdout is refused. */
	ERR(__wasi_fd_write(0, &(__wasi_ciovec_t){ (const uint8_t *)"x", 1 },
	    1, &n), __WASI_ERRNO_BADF);
	ERR(__wasi_fd_read(1, &iov, 1, &n), __WASI_ERRNO_BADF);
	ERR(__wasi_fd_fdstat_set_flags(0, __WASI_FDFLAGS_NONBLOCK),
	    __WASI_ERRNO_BADF);
	/* stdio filestat: type only, everything else zero (as wasmtime). */
	{
		__wasi_filestat_t fs;

		memset(&fs, 0xff, sizeof(fs));
		OK(__wasi_fd_filestat_get(1, &fs));
		CHECK(fs.size == 0 && fs.atim == 0 && fs.mtim == 0 &&
		    fs.ctim == 0 && fs.ino == 0);
		CHECK(fs.filetype == st.fs_filetype);
	}
	printf("printf works %d\n", 42);
	return 0;
}

/* ---- clocks, random, yield ----------------------------------------- */

static int
t_clocks(void)
{
	__wasi_timestamp_t res = 0, a = 0, b = 0, rt = 0;

	OK(__wasi_clock_res_get(__WASI_CLOCKID_REALTIME, &res));
	CHECK(res > 0 && res <= 1000000000ull);
	OK(__wasi_clock_res_get(__WASI_CLOCKID_MONOTONIC, &res));
	CHECK(res > 0);
	OK(__wasi_clock_res_get(__WASI_CLOCKID_PROCESS_CPUTIME_ID, &res));
	OK(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &a));
	OK(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &b));
	CHECK(b >= a);
	OK(__wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &rt));
	CHECK(rt > 1600000000ull * 1000000000ull); /* after 2020 */
	OK(__wasi_clock_time_get(__WASI_CLOCKID_THREAD_CPUTIME_ID, 1, &a));
	ERR(__wasi_clock_res_get(4, &res), __WASI_ERRNO_INVAL);
	ERR(__wasi_clock_time_get(99, 1, &a), __WASI_ERRNO_INVAL);
	ERR(raw_clock_time_get(1, 1, (int32_t)(mem_end() - 4)),
	    __WASI_ERRNO_FAULT);
	OK(__wasi_sched_yield());
	return 0;
}

static int
t_random(void)
{
	uint8_t a[64], b[64];

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	OK(__wasi_random_get(a, sizeof(a)));
	OK(__wasi_random_get(b, sizeof(b)));
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	OK(__wasi_random_get(a, 0));
	ERR(raw_random_get((int32_t)(mem_end() - 8), 9), __WASI_ERRNO_FAULT);
	ERR(raw_random_get(-1, 2), __WASI_ERRNO_FAULT);
	return 0;
}

/* ---- files ---------------------------------------------------------- */

static int
t_files(void)
{
	__wasi_fd_t fd;
	__wasi_filestat_t fs;
	__wasi_fdstat_t st;
	__wasi_filesize_t pos = 0;
	__wasi_size_t n = 0;
	char buf[32];
	__wasi_iovec_t iov[2] = { { (uint8_t *)buf, 3 },
		{ (uint8_t *)buf + 3, 29 } };

	fd = open_at(SANDBOX, "f.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL,
	    RIGHTS_RW | __WASI_RIGHTS_FD_SEEK, 0);
	CHECK(fd > 3);
	write_all(fd, "hello world");
	OK(__wasi_fd_tell(fd, &pos));
	CHECK(pos == 11);
	OK(__wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos));
	CHECK(pos == 0);
	OK(__wasi_fd_read(fd, iov, 2, &n));
	CHECK(n == 11 && memcmp(buf, "hello world", 11) == 0);
	OK(__wasi_fd_seek(fd, -5, __WASI_WHENCE_END, &pos));
	CHECK(pos == 6);
	OK(__wasi_fd_seek(fd, 2, __WASI_WHENCE_CUR, &pos));
	CHECK(pos == 8);
	ERR(__wasi_fd_seek(fd, -100, __WASI_WHENCE_CUR, &pos),
	    __WASI_ERRNO_INVAL);
	ERR(__wasi_fd_seek(fd, 0, 3, &pos), __WASI_ERRNO_INVAL);

	/* pread/pwrite leave the position alone. */
	OK(__wasi_fd_pwrite(fd, &(__wasi_ciovec_t){ (const uint8_t *)"W", 1 },
	    1, 6, &n));
	CHECK(n == 1);
	memset(buf, 0, sizeof(buf));
	OK(__wasi_fd_pread(fd, &(__wasi_iovec_t){ (uint8_t *)buf, 5 }, 1, 6,
	    &n));
	CHECK(n == 5 && memcmp(buf, "World", 5) == 0);
	OK(__wasi_fd_tell(fd, &pos));
	CHECK(pos == 8);
	OK(__wasi_fd_pread(fd, &(__wasi_iovec_t){ (uint8_t *)buf, 5 }, 1, 100,
	    &n));
	CHECK(n == 0);

	/* Sizes and times. */
	OK(__wasi_fd_filestat_get(fd, &fs));
	CHECK(fs.filetype == __WASI_FILETYPE_REGULAR_FILE);
	CHECK(fs.size == 11 && fs.nlink == 1);
	OK(__wasi_fd_filestat_set_size(fd, 5));
	OK(__wasi_fd_filestat_get(fd, &fs));
	CHECK(fs.size == 5);
	OK(__wasi_fd_filestat_set_size(fd, 4096));
	OK(__wasi_fd_filestat_get(fd, &fs));
	CHECK(fs.size == 4096);
	OK(__wasi_fd_filestat_set_times(fd, 1000000000ull * 1000000 + 5,
	    2000000000ull * 1000000 + 7,
	    __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
	OK(__wasi_fd_filestat_get(fd, &fs));
	CHECK(fs.atim == 1000000000ull * 1000000 + 5);
	CHECK(fs.mtim == 2000000000ull * 1000000 + 7);
	ERR(__wasi_fd_filestat_set_times(fd, 0, 0, __WASI_FSTFLAGS_ATIM |
	    __WASI_FSTFLAGS_ATIM_NOW), __WASI_ERRNO_INVAL);
	ERR(__wasi_fd_filestat_set_times(fd, 0, 0, __WASI_FSTFLAGS_MTIM |
	    __WASI_FSTFLAGS_MTIM_NOW), __WASI_ERRNO_INVAL);
	ERR(__wasi_fd_filestat_set_times(fd, 0, 0, 0x10), __WASI_ERRNO_INVAL);
	OK(__wasi_fd_filestat_set_times(fd, 0, 0, __WASI_FSTFLAGS_MTIM_NOW));
	OK(__wasi_fd_filestat_get(fd, &fs));
	CHECK(fs.mtim > 2000000000ull * 1000000);
	OK(__wasi_path_filestat_set_times(SANDBOX, 0, "f.txt", 77, 0,
	    __WASI_FSTFLAGS_ATIM));
	OK(__wasi_path_filestat_get(SANDBOX, 0, "f.txt", &fs));
	CHECK(fs.atim == 77 && fs.size == 4096);

	/* fdstat, advise, allocate, sync. */
	OK(__wasi_fd_fdstat_get(fd, &st));
	CHECK(st.fs_filetype == __WASI_FILETYPE_REGULAR_FILE);
	CHECK(st.fs_flags == 0);
	CHECK((st.fs_rights_base & RIGHTS_RW) == RIGHTS_RW);
	CHECK(st.fs_rights_base & __WASI_RIGHTS_FD_SEEK);
	OK(__wasi_fd_advise(fd, 0, 100, __WASI_ADVICE_SEQUENTIAL));
	ERR(__wasi_fd_advise(fd, 0, 100, 6), __WASI_ERRNO_INVAL);
	OK(__wasi_fd_allocate(fd, 0, 8192));
	OK(__wasi_fd_filestat_get(fd, &fs));
	CHECK(fs.size == 8192);
	OK(__wasi_fd_datasync(fd));
	OK(__wasi_fd_sync(fd));
	OK(__wasi_fd_close(fd));

	/* EXCL on an existing file, missing file, append mode. */
	ERR(__wasi_path_open(SANDBOX, 0, "f.txt", __WASI_OFLAGS_CREAT |
	    __WASI_OFLAGS_EXCL, RIGHTS_RW, 0, 0, &fd), __WASI_ERRNO_EXIST);
	ERR(__wasi_path_open(SANDBOX, 0, "nope.txt", 0, RIGHTS_RW, 0, 0, &fd),
	    __WASI_ERRNO_NOENT);
	ERR(__wasi_path_open(SANDBOX, 0, "f.txt", 0x10, RIGHTS_RW, 0, 0, &fd),
	    __WASI_ERRNO_INVAL);
	make_file("ap.txt", "abc");
	fd = open_at(SANDBOX, "ap.txt", 0, RIGHTS_RW | __WASI_RIGHTS_FD_SEEK,
	    __WASI_FDFLAGS_APPEND);
	OK(__wasi_fd_fdstat_get(fd, &st));
	CHECK(st.fs_flags == __WASI_FDFLAGS_APPEND);
	OK(__wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos));
	write_all(fd, "def");
	OK(__wasi_fd_filestat_get(fd, &fs));
	CHECK(fs.size == 6);
	OK(__wasi_fd_fdstat_set_flags(fd, 0));
	OK(__wasi_fd_fdstat_get(fd, &st));
	CHECK(st.fs_flags == 0);
	OK(__wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos));
	write_all(fd, "X");
	OK(__wasi_fd_pread(fd, &(__wasi_iovec_t){ (uint8_t *)buf, 6 }, 1, 0,
	    &n));
	CHECK(n == 6 && memcmp(buf, "Xbcdef", 6) == 0);
	ERR(__wasi_fd_fdstat_set_flags(fd, 0x40), __WASI_ERRNO_INVAL);
	OK(__wasi_fd_close(fd));

	/* TRUNC empties; read-only fds refuse writes with BADF. */
	fd = open_at(SANDBOX, "ap.txt", __WASI_OFLAGS_TRUNC,
	    __WASI_RIGHTS_FD_READ, 0);
	OK(__wasi_fd_filestat_get(fd, &fs));
	CHECK(fs.size == 0);
	ERR(__wasi_fd_write(fd, &(__wasi_ciovec_t){ (const uint8_t *)"x", 1 },
	    1, &n), __WASI_ERRNO_BADF);
	OK(__wasi_fd_close(fd));
	/* No rights at all: still opens, but cannot read. */
	fd = open_at(SANDBOX, "f.txt", 0, 0, 0);
	OK(__wasi_fd_fdstat_get(fd, &st));
	CHECK(!(st.fs_rights_base & RIGHTS_RW));
	ERR(__wasi_fd_read(fd, iov, 1, &n), __WASI_ERRNO_BADF);
	OK(__wasi_fd_close(fd));
	return 0;
}

/* ---- directories ---------------------------------------------------- */

/* Reads a whole directory with a tiny buffer; returns the entry count. */
static int
list_dir(__wasi_fd_t dir, size_t bufsz, char names[][32], int max)
{
	uint8_t buf[256];
	__wasi_dircookie_t cookie = 0;
	int count = 0;

	CHECK(bufsz <= sizeof(buf));
	for (int rounds = 0; rounds < 1000; rounds++) {
		__wasi_size_t used = 0, off = 0;

		OK(__wasi_fd_readdir(dir, buf, bufsz, cookie, &used));
		CHECK(used <= bufsz);
		while (off + sizeof(__wasi_dirent_t) <= used) {
			__wasi_dirent_t d;

			memcpy(&d, buf + off, sizeof(d));
			if (off + sizeof(d) + d.d_namlen > used)
				break; /* truncated: ask again from cookie */
			CHECK(d.d_namlen < 32 && count < max);
			memcpy(names[count], buf + off + sizeof(d), d.d_namlen);
			names[count][d.d_namlen] = '\0';
			count++;
			cookie = d.d_next;
			off += sizeof(d) + d.d_namlen;
		}
		if (used < bufsz)
			return count;
	}
	CHECK(!"readdir never ended");
	return -1;
}

static int
has_name(char names[][32], int n, const char *want)
{
	int hits = 0;

	for (int i = 0; i < n; i++)
		hits += strcmp(names[i], want) == 0;
	return hits;
}

static int
t_dirs(void)
{
	char names[64][32];
	__wasi_fd_t d, fd;
	__wasi_filestat_t fs;
	__wasi_fdstat_t st;
	__wasi_size_t n = 0;
	__wasi_filesize_t pos;
	char buf[8];
	int cnt;

	OK(__wasi_path_create_directory(SANDBOX, "d"));
	ERR(__wasi_path_create_directory(SANDBOX, "d"), __WASI_ERRNO_EXIST);
	OK(__wasi_path_create_directory(SANDBOX, "d/sub/"));
	make_file("d/a_long_file_name_number_one", "1");
	make_file("d/b", "2");
	make_file("d/c.txt", "3");
	d = open_at(SANDBOX, "d", __WASI_OFLAGS_DIRECTORY, 0, 0);
	OK(__wasi_fd_fdstat_get(d, &st));
	CHECK(st.fs_filetype == __WASI_FILETYPE_DIRECTORY);
	CHECK(st.fs_rights_base & __WASI_RIGHTS_FD_READDIR);
	CHECK(st.fs_rights_base & __WASI_RIGHTS_PATH_OPEN);
	CHECK(!(st.fs_rights_base & __WASI_RIGHTS_FD_FILESTAT_SET_SIZE));
	CHECK(st.fs_rights_inheriting & __WASI_RIGHTS_FD_READ);

	/* Every buffer size from header-sized up finds all six entries. */
	for (size_t bs = sizeof(__wasi_dirent_t) + 28; bs <= 256; bs += 37) {
		cnt = list_dir(d, bs, names, 64);
		CHECK(cnt == 6);
		CHECK(has_name(names, cnt, ".") == 1);
		CHECK(has_name(names, cnt, "..") == 1);
		CHECK(has_name(names, cnt, "a_long_file_name_number_one") == 1);
		CHECK(has_name(names, cnt, "b") == 1);
		CHECK(has_name(names, cnt, "c.txt") == 1);
		CHECK(has_name(names, cnt, "sub") == 1);
	}
	/* "." carries the directory's own inode. */
	{
		uint8_t b3[256];
		__wasi_size_t used = 0, off = 0;
		int seen = 0;

		OK(__wasi_fd_filestat_get(d, &fs));
		OK(__wasi_fd_readdir(d, b3, sizeof(b3), 0, &used));
		while (off + sizeof(__wasi_dirent_t) <= used) {
			__wasi_dirent_t de;

			memcpy(&de, b3 + off, sizeof(de));
			if (de.d_namlen == 1 && b3[off + sizeof(de)] == '.') {
				CHECK(de.d_ino == fs.ino);
				CHECK(de.d_type == __WASI_FILETYPE_DIRECTORY);
				seen = 1;
			}
			off += sizeof(de) + de.d_namlen;
		}
		CHECK(seen);
	}
	/* A buffer smaller than one header is filled and truncated. */
	{
		uint8_t small[10];

		OK(__wasi_fd_readdir(d, small, sizeof(small), 0, &n));
		CHECK(n == sizeof(small));
	}
	/* A cookie past the end gives nothing. */
	{
		uint8_t b2[64];

		OK(__wasi_fd_readdir(d, b2, sizeof(b2), 1000, &n));
		CHECK(n == 0);
	}

	/* Directories refuse byte I/O. */
	ERR(__wasi_fd_read(d, &(__wasi_iovec_t){ (uint8_t *)buf, 8 }, 1, &n),
	    __WASI_ERRNO_BADF);
	ERR(__wasi_fd_write(d, &(__wasi_ciovec_t){ (const uint8_t *)"x", 1 },
	    1, &n), __WASI_ERRNO_BADF);
	ERR(__wasi_fd_seek(d, 0, __WASI_WHENCE_CUR, &pos), __WASI_ERRNO_BADF);
	ERR(__wasi_fd_tell(d, &pos), __WASI_ERRNO_BADF);
	OK(__wasi_fd_filestat_get(d, &fs));
	CHECK(fs.filetype == __WASI_FILETYPE_DIRECTORY);
	/* Files refuse readdir. */
	fd = open_at(SANDBOX, "d/b", 0, __WASI_RIGHTS_FD_READ, 0);
	ERR(__wasi_fd_readdir(fd, (uint8_t *)buf, 8, 0, &n),
	    __WASI_ERRNO_NOTDIR);
	/* A file is not a directory fd for path calls. */
	ERR(__wasi_path_open(fd, 0, "x", 0, 0, 0, 0, &d), __WASI_ERRNO_NOTDIR);
	OK(__wasi_fd_close(fd));

	/* O_DIRECTORY on a file, trailing slashes. */
	ERR(__wasi_path_open(SANDBOX, 0, "d/b", __WASI_OFLAGS_DIRECTORY, 0, 0,
	    0, &fd), __WASI_ERRNO_NOTDIR);
	ERR(__wasi_path_open(SANDBOX, 0, "d/b/", 0, 0, 0, 0, &fd),
	    __WASI_ERRNO_NOTDIR);
	fd = open_at(SANDBOX, "d/sub///", 0, 0, 0);
	OK(__wasi_fd_close(fd));
	fd = open_at(SANDBOX, "d/./sub/../sub", 0, 0, 0);
	OK(__wasi_fd_close(fd));
	/* Opening a directory for writing is EISDIR. */
	ERR(__wasi_path_open(SANDBOX, 0, "d", __WASI_OFLAGS_DIRECTORY,
	    RIGHTS_RW, 0, 0, &fd), __WASI_ERRNO_ISDIR);
	ERR(__wasi_path_open(SANDBOX, 0, "d", __WASI_OFLAGS_DIRECTORY |
	    __WASI_OFLAGS_CREAT, 0, 0, 0, &fd), __WASI_ERRNO_INVAL);

	/* Removal rules. */
	ERR(__wasi_path_remove_directory(SANDBOX, "d"), __WASI_ERRNO_NOTEMPTY);
	ERR(__wasi_path_unlink_file(SANDBOX, "d/sub"), __WASI_ERRNO_ISDIR);
	ERR(__wasi_path_remove_directory(SANDBOX, "d/b"), __WASI_ERRNO_NOTDIR);
	ERR(__wasi_path_unlink_file(SANDBOX, "d/b/"), __WASI_ERRNO_NOTDIR);
	ERR(__wasi_path_remove_directory(SANDBOX, "d/missing"),
	    __WASI_ERRNO_NOENT);
	OK(__wasi_path_remove_directory(SANDBOX, "d/sub/"));
	OK(__wasi_path_unlink_file(SANDBOX, "d/b"));
	ERR(__wasi_path_filestat_get(SANDBOX, 0, "d/b", &fs),
	    __WASI_ERRNO_NOENT);
	cnt = list_dir(SANDBOX + 0, 256, names, 64);
	CHECK(has_name(names, cnt, "d") == 1);
	ERR(__wasi_path_create_directory(SANDBOX, ""), __WASI_ERRNO_NOENT);
	return 0;
}

/* ---- rename, link, symlink ----------------------------------------- */

static int
t_rename_link(void)
{
	__wasi_filestat_t a, b;
	__wasi_fd_t fd;

	make_file("r1", "one");
	OK(__wasi_path_rename(SANDBOX, "r1", SANDBOX, "r2"));
	ERR(__wasi_path_filestat_get(SANDBOX, 0, "r1", &a), __WASI_ERRNO_NOENT);
	OK(__wasi_path_filestat_get(SANDBOX, 0, "r2", &a));
	CHECK(a.size == 3);
	make_file("r3", "three");
	OK(__wasi_path_rename(SANDBOX, "r3", SANDBOX, "r2")); /* replaces */
	OK(__wasi_path_filestat_get(SANDBOX, 0, "r2", &a));
	CHECK(a.size == 5);
	OK(__wasi_path_create_directory(SANDBOX, "src"));
	OK(__wasi_path_create_directory(SANDBOX, "dst"));
	make_file("dst/x", "x");
	ERR(__wasi_path_rename(SANDBOX, "src", SANDBOX, "dst"),
	    __WASI_ERRNO_NOTEMPTY);
	ERR(__wasi_path_rename(SANDBOX, "r2", SANDBOX, "dst"),
	    __WASI_ERRNO_ISDIR);
	ERR(__wasi_path_rename(SANDBOX, "src", SANDBOX, "r2"),
	    __WASI_ERRNO_NOTDIR);
	ERR(__wasi_path_rename(SANDBOX, "r2/", SANDBOX, "r9"),
	    __WASI_ERRNO_NOTDIR);
	OK(__wasi_path_rename(SANDBOX, "src/", SANDBOX, "dst2/"));
	ERR(__wasi_path_rename(SANDBOX, "nothere", SANDBOX, "r5"),
	    __WASI_ERRNO_NOENT);
	/* Across directory fds. */
	fd = open_at(SANDBOX, "dst", __WASI_OFLAGS_DIRECTORY, 0, 0);
	OK(__wasi_path_rename(SANDBOX, "r2", fd, "moved"));
	OK(__wasi_path_filestat_get(SANDBOX, 0, "dst/moved", &a));

	/* Hard links. */
	OK(__wasi_path_link(fd, 0, "moved", SANDBOX, "hard"));
	OK(__wasi_path_filestat_get(SANDBOX, 0, "hard", &b));
	CHECK(a.ino == b.ino && b.nlink == 2);
	ERR(__wasi_path_link(SANDBOX, 0, "hard", SANDBOX, "dst/x"),
	    __WASI_ERRNO_EXIST);
	ERR(__wasi_path_link(SANDBOX, 0, "dst", SANDBOX, "dlink"),
	    __WASI_ERRNO_PERM);
	ERR(__wasi_path_link(SANDBOX, 0, "hard", SANDBOX, "nolink/"),
	    __WASI_ERRNO_NOENT);
	OK(__wasi_fd_close(fd));
	return 0;
}

static int
t_symlinks(void)
{
	__wasi_filestat_t fs;
	__wasi_fd_t fd;
	__wasi_size_t n = 0;
	char buf[16];

	make_file("target", "target-data");
	OK(__wasi_path_create_directory(SANDBOX, "sd"));
	OK(__wasi_path_symlink("target", SANDBOX, "ln"));
	OK(__wasi_path_symlink("../target", SANDBOX, "sd/up"));
	OK(__wasi_path_symlink("sd", SANDBOX, "dirln"));
	OK(__wasi_path_symlink("ln", SANDBOX, "chain"));
	ERR(__wasi_path_symlink("target", SANDBOX, "ln"), __WASI_ERRNO_EXIST);

	memset(buf, 0, sizeof(buf));
	OK(__wasi_path_readlink(SANDBOX, "ln", (uint8_t *)buf, sizeof(buf),
	    &n));
	CHECK(n == 6 && memcmp(buf, "target", 6) == 0 && buf[6] == 0);
	OK(__wasi_path_readlink(SANDBOX, "ln", (uint8_t *)buf, 3, &n));
	CHECK(n == 3 && memcmp(buf, "tar", 3) == 0);
	ERR(__wasi_path_readlink(SANDBOX, "target", (uint8_t *)buf, 16, &n),
	    __WASI_ERRNO_INVAL);

	OK(__wasi_path_filestat_get(SANDBOX, 0, "ln", &fs));
	CHECK(fs.filetype == __WASI_FILETYPE_SYMBOLIC_LINK);
	OK(__wasi_path_filestat_get(SANDBOX, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW,
	    "chain", &fs));
	CHECK(fs.filetype == __WASI_FILETYPE_REGULAR_FILE && fs.size == 11);
	OK(__wasi_path_filestat_get(SANDBOX, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW,
	    "dirln/up", &fs));
	CHECK(fs.size == 11);
	/* Intermediate symlinks are always followed. */
	OK(__wasi_path_filestat_get(SANDBOX, 0, "dirln/up", &fs));
	CHECK(fs.filetype == __WASI_FILETYPE_SYMBOLIC_LINK);

	fd = 0;
	OK(__wasi_path_open(SANDBOX, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "chain",
	    0, __WASI_RIGHTS_FD_READ, 0, 0, &fd));
	OK(__wasi_fd_read(fd, &(__wasi_iovec_t){ (uint8_t *)buf, 6 }, 1, &n));
	CHECK(n == 6 && memcmp(buf, "target", 6) == 0);
	OK(__wasi_fd_close(fd));
	fd = 0;
	OK(__wasi_path_open(SANDBOX, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW,
	    "sd/up", 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd));
	OK(__wasi_fd_close(fd));
	/* Not following a final symlink: ELOOP, as O_NOFOLLOW. */
	ERR(__wasi_path_open(SANDBOX, 0, "ln", 0, __WASI_RIGHTS_FD_READ, 0, 0,
	    &fd), __WASI_ERRNO_LOOP);
	/* Trailing slash on a link to a directory follows it. */
	fd = open_at(SANDBOX, "dirln/", __WASI_OFLAGS_DIRECTORY, 0, 0);
	OK(__wasi_fd_close(fd));

	/* Loops and dangling links. */
	OK(__wasi_path_symlink("loop2", SANDBOX, "loop1"));
	OK(__wasi_path_symlink("loop1", SANDBOX, "loop2"));
	ERR(__wasi_path_open(SANDBOX, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW,
	    "loop1", 0, 0, 0, 0, &fd), __WASI_ERRNO_LOOP);
	ERR(__wasi_path_filestat_get(SANDBOX, 0, "loop1/x", &fs),
	    __WASI_ERRNO_LOOP);
	OK(__wasi_path_symlink("nowhere", SANDBOX, "dangling"));
	ERR(__wasi_path_filestat_get(SANDBOX, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW,
	    "dangling", &fs), __WASI_ERRNO_NOENT);
	OK(__wasi_path_filestat_get(SANDBOX, 0, "dangling", &fs));
	/* Times on the link itself, or through it. */
	{
		__wasi_filestat_t tf, tl;

		OK(__wasi_path_filestat_set_times(SANDBOX, 0, "ln", 0,
		    1000000000ull * 12345, __WASI_FSTFLAGS_MTIM));
		OK(__wasi_path_filestat_get(SANDBOX, 0, "ln", &tl));
		OK(__wasi_path_filestat_get(SANDBOX, 0, "target", &tf));
		CHECK(tl.mtim == 1000000000ull * 12345);
		CHECK(tf.mtim != tl.mtim);
		OK(__wasi_path_filestat_set_times(SANDBOX,
		    __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "ln", 0,
		    1000000000ull * 54321, __WASI_FSTFLAGS_MTIM));
		OK(__wasi_path_filestat_get(SANDBOX, 0, "target", &tf));
		CHECK(tf.mtim == 1000000000ull * 54321);
	}
	/* Unlinking a link removes the link, not the target. */
	OK(__wasi_path_unlink_file(SANDBOX, "chain"));
	OK(__wasi_path_filestat_get(SANDBOX, 0, "ln", &fs));
	OK(__wasi_path_unlink_file(SANDBOX, "dirln"));
	OK(__wasi_path_filestat_get(SANDBOX, 0, "sd", &fs));
	CHECK(fs.filetype == __WASI_FILETYPE_DIRECTORY);
	return 0;
}

/* ---- escapes -------------------------------------------------------- */

static int
t_escape(void)
{
	__wasi_filestat_t fs;
	__wasi_fd_t fd = 0;
	__wasi_size_t n = 0;
	char buf[256];

	/* The host made ../secret.txt, abs -> /<tmp>/secret.txt and
	 * rel -> ../secret.txt next to the sandbox. */
	ERR(__wasi_path_open(SANDBOX, 0, "../secret.txt", 0,
	    __WASI_RIGHTS_FD_READ, 0, 0, &fd), __WASI_ERRNO_PERM);
	ERR(__wasi_path_open(SANDBOX, 0, "/etc/passwd", 0,
	    __WASI_RIGHTS_FD_READ, 0, 0, &fd), __WASI_ERRNO_PERM);
	ERR(__wasi_path_open(SANDBOX, 0, "..", 0, 0, 0, 0, &fd),
	    __WASI_ERRNO_PERM);
	OK(__wasi_path_create_directory(SANDBOX, "in"));
	ERR(__wasi_path_open(SANDBOX, 0, "in/../../secret.txt", 0,
	    __WASI_RIGHTS_FD_READ, 0, 0, &fd), __WASI_ERRNO_PERM);
	ERR(__wasi_path_filestat_get(SANDBOX, 0, "in/../..", &fs),
	    __WASI_ERRNO_PERM);
	OK(__wasi_path_filestat_get(SANDBOX, 0, "in/..", &fs));
	CHECK(fs.filetype == __WASI_FILETYPE_DIRECTORY);
	ERR(__wasi_path_open(SANDBOX, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "abs",
	    0, __WASI_RIGHTS_FD_READ, 0, 0, &fd), __WASI_ERRNO_PERM);
	ERR(__wasi_path_open(SANDBOX, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "rel",
	    0, __WASI_RIGHTS_FD_READ, 0, 0, &fd), __WASI_ERRNO_PERM);
	ERR(__wasi_path_filestat_get(SANDBOX, 0, "absdir/x", &fs),
	    __WASI_ERRNO_PERM);
	/* Chains and links made by the guest itself. */
	OK(__wasi_path_symlink("in/../..", SANDBOX, "up1"));
	OK(__wasi_path_symlink("up1", SANDBOX, "up2"));
	ERR(__wasi_path_open(SANDBOX, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW,
	    "up2/secret.txt", 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd),
	    __WASI_ERRNO_PERM);
	ERR(__wasi_path_open(SANDBOX, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW,
	    "up2", __WASI_OFLAGS_DIRECTORY, 0, 0, 0, &fd), __WASI_ERRNO_PERM);
	OK(__wasi_path_symlink("../in", SANDBOX, "in/self"));
	OK(__wasi_path_filestat_get(SANDBOX, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW,
	    "in/self/self/self", &fs));
	CHECK(fs.filetype == __WASI_FILETYPE_DIRECTORY);
	ERR(__wasi_path_symlink("/etc/passwd", SANDBOX, "mine"),
	    __WASI_ERRNO_PERM);
	/* Creating through an escaping link fails too. */
	ERR(__wasi_path_open(SANDBOX, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW,
	    "up1/new.txt", __WASI_OFLAGS_CREAT, __WASI_RIGHTS_FD_WRITE, 0, 0,
	    &fd), __WASI_ERRNO_PERM);
	ERR(__wasi_path_create_directory(SANDBOX, "../newdir"),
	    __WASI_ERRNO_PERM);
	ERR(__wasi_path_rename(SANDBOX, "in", SANDBOX, "../moved"),
	    __WASI_ERRNO_PERM);
	ERR(__wasi_path_unlink_file(SANDBOX, "rel/../secret.txt"),
	    __WASI_ERRNO_PERM);
	/* Readlink shows the link text but never reads through it. */
	OK(__wasi_path_readlink(SANDBOX, "rel", (uint8_t *)buf, sizeof(buf),
	    &n));
	CHECK(n == 13 && memcmp(buf, "../secret.txt", 13) == 0);
	/* A directory fd opened inside is its own root. */
	fd = open_at(SANDBOX, "in", __WASI_OFLAGS_DIRECTORY, 0, 0);
	ERR(__wasi_path_filestat_get(fd, 0, "..", &fs), __WASI_ERRNO_PERM);
	OK(__wasi_fd_close(fd));
	/* Through libc: the same answers. */
	CHECK(fopen("/sandbox/../secret.txt", "r") == NULL);
	CHECK(fopen("/sandbox/rel", "r") == NULL);
	return 0;
}

/* ---- fd table ------------------------------------------------------- */

static int
t_fdtable(void)
{
	__wasi_prestat_t ps;
	__wasi_fdstat_t st;
	__wasi_fd_t a, b, c;
	__wasi_size_t n = 0;
	__wasi_filesize_t pos;
	char name[16];

	OK(__wasi_fd_prestat_get(SANDBOX, &ps));
	CHECK(ps.tag == __WASI_PREOPENTYPE_DIR);
	CHECK(ps.u.dir.pr_name_len == 8);
	memset(name, 0, sizeof(name));
	OK(__wasi_fd_prestat_dir_name(SANDBOX, (uint8_t *)name, 16));
	CHECK(strcmp(name, "/sandbox") == 0);
	ERR(__wasi_fd_prestat_dir_name(SANDBOX, (uint8_t *)name, 3),
	    __WASI_ERRNO_NAMETOOLONG);
	ERR(__wasi_fd_prestat_get(1, &ps), __WASI_ERRNO_BADF);
	ERR(__wasi_fd_prestat_get(4, &ps), __WASI_ERRNO_BADF);
	OK(__wasi_fd_fdstat_get(SANDBOX, &st));
	CHECK(st.fs_filetype == __WASI_FILETYPE_DIRECTORY);
	CHECK(st.fs_rights_base & __WASI_RIGHTS_PATH_CREATE_FILE);
	CHECK(st.fs_rights_base & __WASI_RIGHTS_PATH_SYMLINK);
	CHECK((st.fs_rights_inheriting & RIGHTS_RW) == RIGHTS_RW);

	make_file("one", "1111");
	make_file("two", "22");
	a = open_at(SANDBOX, "one", 0, RIGHTS_RW | __WASI_RIGHTS_FD_SEEK, 0);
	b = open_at(SANDBOX, "two", 0, RIGHTS_RW | __WASI_RIGHTS_FD_SEEK, 0);
	CHECK(a == 4 && b == 5);
	OK(__wasi_fd_renumber(a, b));
	ERR(__wasi_fd_close(a), __WASI_ERRNO_BADF);
	OK(__wasi_fd_seek(b, 0, __WASI_WHENCE_END, &pos));
	CHECK(pos == 4); /* b is now "one" */
	ERR(__wasi_fd_renumber(b, 99), __WASI_ERRNO_BADF);
	ERR(__wasi_fd_renumber(99, b), __WASI_ERRNO_BADF);
	OK(__wasi_fd_renumber(b, b));
	/* The lowest free number is reused. */
	c = open_at(SANDBOX, "two", 0, RIGHTS_RW, 0);
	CHECK(c == 4);
	OK(__wasi_fd_close(c));
	ERR(__wasi_fd_close(c), __WASI_ERRNO_BADF);
	ERR(__wasi_fd_fdstat_get(1000000, &st), __WASI_ERRNO_BADF);

	/* Rights only shrink, and dropped rights are enforced. */
	OK(__wasi_fd_fdstat_get(b, &st));
	OK(__wasi_fd_fdstat_set_rights(b, st.fs_rights_base &
	    ~(__WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_READ), 0));
	OK(__wasi_fd_fdstat_get(b, &st));
	CHECK(!(st.fs_rights_base & __WASI_RIGHTS_FD_SEEK));
	ERR(__wasi_fd_seek(b, 0, __WASI_WHENCE_SET, &pos),
	    __WASI_ERRNO_NOTCAPABLE);
	ERR(__wasi_fd_read(b, &(__wasi_iovec_t){ (uint8_t *)name, 1 }, 1, &n),
	    __WASI_ERRNO_BADF);
	ERR(__wasi_fd_fdstat_set_rights(b, st.fs_rights_base |
	    __WASI_RIGHTS_FD_SEEK, 0), __WASI_ERRNO_NOTCAPABLE);
	OK(__wasi_fd_close(b));

	/* A directory without PATH_CREATE_FILE cannot create. */
	a = open_at(SANDBOX, ".", __WASI_OFLAGS_DIRECTORY, 0, 0);
	OK(__wasi_fd_fdstat_get(a, &st));
	OK(__wasi_fd_fdstat_set_rights(a, st.fs_rights_base &
	    ~__WASI_RIGHTS_PATH_CREATE_FILE, st.fs_rights_inheriting &
	    ~__WASI_RIGHTS_FD_READ));
	ERR(__wasi_path_open(a, 0, "newfile", __WASI_OFLAGS_CREAT, 0, 0, 0, &b),
	    __WASI_ERRNO_NOTCAPABLE);
	/* Inheriting rights are applied: no FD_READ for the child. */
	b = open_at(a, "one", 0, RIGHTS_RW, 0);
	OK(__wasi_fd_fdstat_get(b, &st));
	CHECK(!(st.fs_rights_base & __WASI_RIGHTS_FD_READ));
	OK(__wasi_fd_close(b));
	OK(__wasi_fd_close(a));

	/* stdio can be renumbered away like any fd. */
	a = open_at(SANDBOX, "one", 0, RIGHTS_RW, 0);
	OK(__wasi_fd_renumber(0, a));
	OK(__wasi_fd_fdstat_get(a, &st));
	ERR(__wasi_fd_fdstat_get(0, &st), __WASI_ERRNO_BADF);
	OK(__wasi_fd_close(a));

	/* Closing a preopen works; it is then gone. */
	c = open_at(SANDBOX, ".", __WASI_OFLAGS_DIRECTORY, 0, 0);
	OK(__wasi_fd_renumber(c, SANDBOX));
	ERR(__wasi_fd_prestat_get(SANDBOX, &ps), __WASI_ERRNO_BADF);
	OK(__wasi_fd_close(SANDBOX));
	ERR(__wasi_fd_close(SANDBOX), __WASI_ERRNO_BADF);
	return 0;
}

/* ---- poll_oneoff ---------------------------------------------------- */

static int
t_poll(void)
{
	__wasi_subscription_t s[4];
	__wasi_event_t ev[4];
	__wasi_size_t n = 0;
	__wasi_timestamp_t t0 = 0, t1 = 0;
	__wasi_fd_t fd;

	memset(s, 0, sizeof(s));
	ERR(__wasi_poll_oneoff(s, ev, 0, &n), __WASI_ERRNO_INVAL);

	/* A 30 ms relative timeout. */
	s[0].userdata = 0x1122334455667788ull;
	s[0].u.tag = __WASI_EVENTTYPE_CLOCK;
	s[0].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
	s[0].u.u.clock.timeout = 30000000;
	OK(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t0));
	OK(__wasi_poll_oneoff(s, ev, 1, &n));
	OK(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t1));
	CHECK(n == 1);
	CHECK(ev[0].userdata == 0x1122334455667788ull);
	CHECK(ev[0].type == __WASI_EVENTTYPE_CLOCK && ev[0].error == 0);
	CHECK(t1 - t0 >= 30000000);

	/* Absolute monotonic deadline 20 ms ahead, and realtime. */
	OK(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t0));
	s[0].u.u.clock.timeout = t0 + 20000000;
	s[0].u.u.clock.flags = __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME;
	OK(__wasi_poll_oneoff(s, ev, 1, &n));
	OK(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t1));
	CHECK(n == 1 && t1 >= t0 + 20000000);
	OK(__wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &t0));
	s[0].u.u.clock.id = __WASI_CLOCKID_REALTIME;
	s[0].u.u.clock.timeout = t0 + 10000000;
	OK(__wasi_poll_oneoff(s, ev, 1, &n));
	CHECK(n == 1 && ev[0].error == 0);
	/* A deadline in the past fires at once. */
	s[0].u.u.clock.timeout = 1;
	OK(__wasi_poll_oneoff(s, ev, 1, &n));
	CHECK(n == 1);

	/* A regular file is always ready, before a long clock. */
	make_file("p.txt", "12345");
	fd = open_at(SANDBOX, "p.txt", 0, RIGHTS_RW, 0);
	memset(s, 0, sizeof(s));
	s[0].userdata = 1;
	s[0].u.tag = __WASI_EVENTTYPE_CLOCK;
	s[0].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
	s[0].u.u.clock.timeout = 10000000000ull;
	s[1].userdata = 2;
	s[1].u.tag = __WASI_EVENTTYPE_FD_READ;
	s[1].u.u.fd_read.file_descriptor = fd;
	s[2].userdata = 3;
	s[2].u.tag = __WASI_EVENTTYPE_FD_WRITE;
	s[2].u.u.fd_write.file_descriptor = 1;
	OK(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t0));
	OK(__wasi_poll_oneoff(s, ev, 3, &n));
	OK(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t1));
	CHECK(t1 - t0 < 2000000000ull);
	CHECK(n == 2);
	for (__wasi_size_t i = 0; i < n; i++) {
		CHECK(ev[i].userdata != 1);
		if (ev[i].userdata == 2) {
			CHECK(ev[i].type == __WASI_EVENTTYPE_FD_READ);
			CHECK(ev[i].error == 0);
			CHECK(ev[i].fd_readwrite.nbytes == 5);
		} else if (ev[i].userdata == 3) {
			CHECK(ev[i].type == __WASI_EVENTTYPE_FD_WRITE);
			CHECK(ev[i].error == 0);
		} else {
			CHECK(!"unexpected event");
		}
	}
	/* An unknown fd fails the whole call (as wasmtime does). */
	s[3].userdata = 4;
	s[3].u.tag = __WASI_EVENTTYPE_FD_READ;
	s[3].u.u.fd_read.file_descriptor = 77;
	ERR(__wasi_poll_oneoff(s, ev, 4, &n), __WASI_ERRNO_BADF);
	OK(__wasi_fd_close(fd));

	/* stdin is an empty pipe at EOF: readable with HANGUP. */
	memset(s, 0, sizeof(s));
	s[0].userdata = 9;
	s[0].u.tag = __WASI_EVENTTYPE_FD_READ;
	s[0].u.u.fd_read.file_descriptor = 0;
	OK(__wasi_poll_oneoff(s, ev, 1, &n));
	CHECK(n == 1 && ev[0].userdata == 9 && ev[0].error == 0);
	CHECK(ev[0].fd_readwrite.flags & __WASI_EVENTRWFLAGS_FD_READWRITE_HANGUP);

	/* Bad clock id and bad tag. */
	memset(s, 0, sizeof(s));
	s[0].u.tag = __WASI_EVENTTYPE_CLOCK;
	s[0].u.u.clock.id = 42;
	ERR(__wasi_poll_oneoff(s, ev, 1, &n), __WASI_ERRNO_INVAL);
	s[0].u.u.clock.id = __WASI_CLOCKID_PROCESS_CPUTIME_ID;
	ERR(__wasi_poll_oneoff(s, ev, 1, &n), __WASI_ERRNO_INVAL);
	s[0].u.tag = 7;
	ERR(__wasi_poll_oneoff(s, ev, 1, &n), __WASI_ERRNO_INVAL);
	/* Out-of-bounds arrays. */
	ERR(raw_poll_oneoff((int32_t)(mem_end() - 40), (int32_t)(uintptr_t)ev,
	    1, (int32_t)(uintptr_t)&n), __WASI_ERRNO_FAULT);
	ERR(raw_poll_oneoff((int32_t)(uintptr_t)s, (int32_t)(mem_end() - 8),
	    1, (int32_t)(uintptr_t)&n), __WASI_ERRNO_FAULT);
	return 0;
}

/* stdin holds "input\n": readable with its byte count. */
static int
t_poll_stdin(void)
{
	__wasi_subscription_t s;
	__wasi_event_t ev;
	__wasi_size_t n = 0;

	memset(&s, 0, sizeof(s));
	s.userdata = 5;
	s.u.tag = __WASI_EVENTTYPE_FD_READ;
	s.u.u.fd_read.file_descriptor = 0;
	OK(__wasi_poll_oneoff(&s, &ev, 1, &n));
	CHECK(n == 1 && ev.userdata == 5 && ev.error == 0);
	CHECK(ev.type == __WASI_EVENTTYPE_FD_READ);
	CHECK(ev.fd_readwrite.nbytes == 6);
	return 0;
}

/* stdin is a socket with nothing to read: only the clock fires. Write
 * readiness on the same socket is immediate. */
static int
t_poll_block(void)
{
	__wasi_subscription_t s[2];
	__wasi_event_t ev[2];
	__wasi_size_t n = 0;
	__wasi_timestamp_t t0 = 0, t1 = 0;

	memset(s, 0, sizeof(s));
	s[0].userdata = 1;
	s[0].u.tag = __WASI_EVENTTYPE_FD_READ;
	s[0].u.u.fd_read.file_descriptor = 0;
	s[1].userdata = 2;
	s[1].u.tag = __WASI_EVENTTYPE_CLOCK;
	s[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
	s[1].u.u.clock.timeout = 40000000;
	OK(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t0));
	OK(__wasi_poll_oneoff(s, ev, 2, &n));
	OK(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t1));
	CHECK(n == 1 && ev[0].userdata == 2);
	CHECK(ev[0].type == __WASI_EVENTTYPE_CLOCK);
	CHECK(t1 - t0 >= 40000000);
	s[0].u.tag = __WASI_EVENTTYPE_FD_WRITE;
	OK(__wasi_poll_oneoff(s, ev, 2, &n));
	CHECK(n == 1 && ev[0].userdata == 1);
	CHECK(ev[0].type == __WASI_EVENTTYPE_FD_WRITE && ev[0].error == 0);
	return 0;
}

/* ---- sockets, faults, exits ----------------------------------------- */

static int
t_sock(void)
{
	__wasi_fd_t fd;
	__wasi_size_t n = 0;
	__wasi_roflags_t ro;
	char b[4];

	ERR(__wasi_sock_shutdown(1, __WASI_SDFLAGS_RD), __WASI_ERRNO_NOTSOCK);
	ERR(__wasi_sock_shutdown(99, __WASI_SDFLAGS_RD), __WASI_ERRNO_BADF);
	ERR(__wasi_sock_accept(SANDBOX, 0, &fd), __WASI_ERRNO_NOTSOCK);
	ERR(__wasi_sock_accept(99, 0, &fd), __WASI_ERRNO_BADF);
	ERR(__wasi_sock_recv(0, &(__wasi_iovec_t){ (uint8_t *)b, 4 }, 1, 0, &n,
	    &ro), __WASI_ERRNO_NOTSOCK);
	ERR(__wasi_sock_send(1, &(__wasi_ciovec_t){ (const uint8_t *)b, 4 }, 1,
	    0, &n), __WASI_ERRNO_NOTSOCK);
	ERR(__wasi_sock_send(99, &(__wasi_ciovec_t){ (const uint8_t *)b, 4 },
	    1, 0, &n), __WASI_ERRNO_BADF);
	return 0;
}

static int
t_sock_io(void)
{
	/* The host gives a socketpair as stdin: echo one message back. */
	__wasi_size_t n = 0, m = 0;
	__wasi_roflags_t ro = 7;
	__wasi_fdstat_t st;
	char b[16];

	OK(__wasi_fd_fdstat_get(0, &st));
	CHECK(st.fs_filetype == __WASI_FILETYPE_SOCKET_STREAM);
	OK(__wasi_sock_recv(0, &(__wasi_iovec_t){ (uint8_t *)b, 16 }, 1,
	    __WASI_RIFLAGS_RECV_PEEK, &n, &ro));
	CHECK(n == 4 && ro == 0 && memcmp(b, "ping", 4) == 0);
	OK(__wasi_sock_recv(0, &(__wasi_iovec_t){ (uint8_t *)b, 16 }, 1, 0, &n,
	    &ro));
	CHECK(n == 4);
	OK(__wasi_sock_send(0, &(__wasi_ciovec_t){ (const uint8_t *)"pong", 4 },
	    1, 0, &m));
	CHECK(m == 4);
	ERR(__wasi_sock_send(0, &(__wasi_ciovec_t){ (const uint8_t *)"x", 1 },
	    1, 1, &m), __WASI_ERRNO_INVAL);
	ERR(__wasi_sock_shutdown(0, 0), __WASI_ERRNO_INVAL);
	OK(__wasi_sock_shutdown(0, __WASI_SDFLAGS_WR));
	return 0;
}

/* stdin is a listening socket with two clients waiting. */
static int
t_sock_accept(void)
{
	__wasi_fd_t c = 0;
	__wasi_size_t m = 0, n = 0;
	__wasi_roflags_t ro;
	__wasi_fdstat_t st;
	char b[8];

	OK(__wasi_sock_accept(0, 0, &c));
	CHECK(c > 3);
	OK(__wasi_fd_fdstat_get(c, &st));
	CHECK(st.fs_filetype == __WASI_FILETYPE_SOCKET_STREAM);
	CHECK(st.fs_rights_base & __WASI_RIGHTS_FD_WRITE);
	OK(__wasi_sock_send(c, &(__wasi_ciovec_t){ (const uint8_t *)"hi", 2 },
	    1, 0, &m));
	CHECK(m == 2);
	OK(__wasi_sock_recv(c, &(__wasi_iovec_t){ (uint8_t *)b, 3 }, 1,
	    __WASI_RIFLAGS_RECV_WAITALL, &n, &ro));
	CHECK(n == 3 && memcmp(b, "yo!", 3) == 0);
	ERR(__wasi_sock_accept(0, __WASI_FDFLAGS_APPEND, &c),
	    __WASI_ERRNO_INVAL);
	/* The second client, accepted as a non-blocking socket. */
	OK(__wasi_sock_accept(0, __WASI_FDFLAGS_NONBLOCK, &c));
	OK(__wasi_fd_fdstat_get(c, &st));
	CHECK(st.fs_flags & __WASI_FDFLAGS_NONBLOCK);
	ERR(__wasi_sock_recv(c, &(__wasi_iovec_t){ (uint8_t *)b, 3 }, 1, 0,
	    &n, &ro), __WASI_ERRNO_AGAIN);
	return 0;
}

static int
t_fault(void)
{
	uint32_t end = mem_end();
	uint32_t iov[2];
	uint32_t nw = 0;
	static const char path[] = "x";

	/* iovec array beyond memory. */
	ERR(raw_fd_write(1, (int32_t)(end - 4), 1, (int32_t)(uintptr_t)&nw),
	    __WASI_ERRNO_FAULT);
	/* Buffer beyond memory, and wrapping around. */
	iov[0] = end - 2;
	iov[1] = 4;
	ERR(raw_fd_write(1, (int32_t)(uintptr_t)iov, 1,
	    (int32_t)(uintptr_t)&nw), __WASI_ERRNO_FAULT);
	iov[0] = 0xfffffff0u;
	iov[1] = 0x20;
	ERR(raw_fd_read(0, (int32_t)(uintptr_t)iov, 1,
	    (int32_t)(uintptr_t)&nw), __WASI_ERRNO_FAULT);
	/* Result pointer beyond memory. */
	iov[0] = (uint32_t)(uintptr_t)path;
	iov[1] = 1;
	ERR(raw_fd_write(1, (int32_t)(uintptr_t)iov, 1, (int32_t)end),
	    __WASI_ERRNO_FAULT);
	ERR(raw_args_get((int32_t)(end - 2), (int32_t)(end - 2)),
	    __WASI_ERRNO_FAULT);
	ERR(raw_fd_fdstat_get(1, (int32_t)(end - 23)), __WASI_ERRNO_FAULT);
	ERR(raw_path_open(SANDBOX, 0, (int32_t)(end - 1), 5, 0, 0, 0, 0,
	    (int32_t)(uintptr_t)&nw), __WASI_ERRNO_FAULT);
	ERR(raw_path_open(SANDBOX, 0, (int32_t)(uintptr_t)path, 1, 0, 0, 0, 0,
	    (int32_t)(end - 3)), __WASI_ERRNO_FAULT);
	ERR(raw_fd_readdir(SANDBOX, (int32_t)(end - 4), 100, 0,
	    (int32_t)(uintptr_t)&nw), __WASI_ERRNO_FAULT);
	/* Embedded NUL and bad UTF-8 in paths. */
	ERR(raw_path_create_directory(SANDBOX, (int32_t)(uintptr_t)"a\0b", 3),
	    __WASI_ERRNO_INVAL);
	ERR(raw_path_create_directory(SANDBOX, (int32_t)(uintptr_t)"\xff\xfe",
	    2), __WASI_ERRNO_ILSEQ);
	/* Nothing above wrote anything. */
	CHECK(nw == 0);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *t = argc > 1 ? argv[1] : "";

	if (strcmp(t, "args") == 0)
		return t_args(argc, argv);
	if (strcmp(t, "stdio") == 0)
		return t_stdio();
	if (strcmp(t, "clocks") == 0)
		return t_clocks();
	if (strcmp(t, "random") == 0)
		return t_random();
	if (strcmp(t, "files") == 0)
		return t_files();
	if (strcmp(t, "dirs") == 0)
		return t_dirs();
	if (strcmp(t, "rename_link") == 0)
		return t_rename_link();
	if (strcmp(t, "symlinks") == 0)
		return t_symlinks();
	if (strcmp(t, "escape") == 0)
		return t_escape();
	if (strcmp(t, "fdtable") == 0)
		return t_fdtable();
	if (strcmp(t, "poll") == 0)
		return t_poll();
	if (strcmp(t, "poll_stdin") == 0)
		return t_poll_stdin();
	if (strcmp(t, "poll_block") == 0)
		return t_poll_block();
	if (strcmp(t, "sock") == 0)
		return t_sock();
	if (strcmp(t, "sock_io") == 0)
		return t_sock_io();
	if (strcmp(t, "sock_accept") == 0)
		return t_sock_accept();
	if (strcmp(t, "fault") == 0)
		return t_fault();
	if (strcmp(t, "exit") == 0)
		exit(argc > 2 ? (int)strtol(argv[2], NULL, 10) : 0);
	if (strcmp(t, "raise") == 0) {
		CHECK(raw_proc_raise(0) == 0);
		CHECK(raw_proc_raise(16) == 0); /* CHLD: ignored */
		CHECK(raw_proc_raise(31) == __WASI_ERRNO_INVAL);
		raw_proc_raise(15); /* TERM */
		return 3; /* not reached */
	}
	if (strcmp(t, "trap") == 0)
		__builtin_trap();
	fprintf(stderr, "unknown case '%s'\n", t);
	return 2;
}
