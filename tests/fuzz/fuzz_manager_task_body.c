/*
 * fuzz_manager_task_body.c -- the manager's task body parser, with its
 * module lift (task.c) checked against a plain parse: whenever
 * task_lift_file takes the "file" string out, parsing the rest must give
 * the same document (file put back) as parsing the whole body, or fail
 * exactly when it fails. And task_b64_valid, the module check, must
 * accept exactly what core_b64_decode accepts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "manager/manager.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* STATIC in task.c, reachable in builds with tests. */
bool task_lift_file(const char *body, size_t len, size_t *off,
    size_t *file_len);
bool task_b64_valid(const char *s, size_t slen);

static void
check_lift(const char *body, size_t len)
{
	json_t *whole = NULL, *part = NULL, *file;
	size_t off = 0, flen = 0;
	enum core_err e1, e2;
	char *rest;

	if (!task_lift_file(body, len, &off, &flen))
		return;
	if (off + flen >= len || body[off - 1] != '"' || body[off + flen] != '"')
		abort();
	rest = malloc(len - flen + 1);
	if (rest == NULL)
		return;
	memcpy(rest, body, off);
	memcpy(rest + off, body + off + flen, len - off - flen);
	e1 = core_json_parse_object(body, len, 0, &whole, NULL);
	e2 = core_json_parse_object(rest, len - flen, 0, &part, NULL);
	if ((e1 == CORE_OK) != (e2 == CORE_OK))
		abort();
	if (e1 == CORE_OK) {
		file = json_stringn(body + off, flen);
		if (file == NULL || json_object_set_new(part, "file", file) != 0 ||
		    !json_equal(whole, part))
			abort();
	}
	json_decref(whole);
	json_decref(part);
	free(rest);
}

static void
check_b64(const char *s, size_t n)
{
	uint8_t *bin = NULL;
	size_t blen = 0;
	bool ok = core_b64_decode(s, n, &bin, &blen, NULL) == CORE_OK;

	free(bin);
	if (ok != task_b64_valid(s, n))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *task = NULL;

	check_lift((const char *)data, size);
	check_b64((const char *)data, size);
	if (manager_task_parse(data, size, &task, NULL) == CORE_OK) {
		if (task == NULL)
			abort();
		json_decref(task);
	}
	return 0;
}
