/*
 * oci_test_util.h -- helpers shared by the oci and ocicrypt unit tests:
 * test vector paths, whole-file reads, temp dirs and flat directory copies.
 */
#ifndef OCI_TEST_UTIL_H
#define OCI_TEST_UTIL_H

#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/core.h"

/* Path under $PROPELLER_TESTDATA/ocicrypt (malloc'd). */
static inline char *
tu_td(const char *rel)
{
	const char *base = getenv("PROPELLER_TESTDATA");
	char *p;
	size_t n;

	assert_non_null(base);
	n = strlen(base) + strlen(rel) + 16;
	p = malloc(n);
	assert_non_null(p);
	snprintf(p, n, "%s/ocicrypt/%s", base, rel);
	return p;
}

__attribute__((noinline, unused)) static uint8_t *
tu_read(const char *path, size_t *len)
{
	uint8_t *p = NULL;
	size_t n = 0;
	struct core_errbuf eb;

	core_errbuf_clear(&eb);
	if (core_fs_read(path, 64 << 20, &p, &n, &eb) != CORE_OK)
		fail_msg("read %s: %s", path, core_errbuf_msg(&eb));
	if (len != NULL)
		*len = n;
	return p;
}

static inline uint8_t *
tu_read_td(const char *rel, size_t *len)
{
	char *p = tu_td(rel);
	uint8_t *d = tu_read(p, len);

	free(p);
	return d;
}

static inline char *
tu_tmpdir(void)
{
	char *d = NULL;

	assert_int_equal(core_fs_tmpdir("oci-test", &d, NULL), CORE_OK);
	return d;
}

static inline char *
tu_join(const char *a, const char *b)
{
	char *p = core_path_join(a, b);

	assert_non_null(p);
	return p;
}

static inline void
tu_write(const char *path, const void *p, size_t n)
{
	assert_int_equal(core_fs_write_atomic(path, p, n, 0644, NULL), CORE_OK);
}

/* Copies the regular files of a flat directory. */
static inline void
tu_copy_dir(const char *src, const char *dst)
{
	DIR *d = opendir(src);
	struct dirent *de;

	assert_non_null(d);
	assert_int_equal(core_fs_mkdirs(dst, 0755, NULL), CORE_OK);
	while ((de = readdir(d)) != NULL) {
		char *s, *t;
		uint8_t *data;
		size_t n;

		if (de->d_name[0] == '.')
			continue;
		s = tu_join(src, de->d_name);
		t = tu_join(dst, de->d_name);
		data = tu_read(s, &n);
		tu_write(t, data, n);
		free(data);
		free(s);
		free(t);
	}
	closedir(d);
}

/* Counts directory entries (no dot files). */
static inline size_t
tu_count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	size_t n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

#endif /* OCI_TEST_UTIL_H */
