/*
 * test_store.c -- the manager store against SQLite (file and :memory:) and,
 * when MANAGER_TEST_PG_CONNINFO is set (tests/integration/
 * manager_store_pg.sh creates a real cluster), against PostgreSQL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "manager/manager.h"

static char *tmpdir;

static const char *
pg_conninfo(void)
{
	const char *s = getenv("MANAGER_TEST_PG_CONNINFO");

	return s != NULL && *s != '\0' ? s : NULL;
}

static struct manager_store *
open_store(const char *name)
{
	struct manager_store *st = NULL;
	struct core_errbuf eb;
	char *path;

	core_errbuf_clear(&eb);
	if (pg_conninfo() != NULL) {
		if (manager_store_open_pg(pg_conninfo(), &st, &eb) != CORE_OK)
			fail_msg("pg open: %s", core_errbuf_msg(&eb));
		return st;
	}
	path = core_path_join(tmpdir, name);
	if (manager_store_open_sqlite(path, &st, &eb) != CORE_OK)
		fail_msg("sqlite open: %s", core_errbuf_msg(&eb));
	free(path);
	return st;
}

/* Removes every document (PostgreSQL databases outlive a test). */
static void
wipe(struct manager_store *st)
{
	json_t *all = NULL, *d;
	size_t i;
	int k;

	for (k = 0; k < 2; k++) {
		assert_int_equal(manager_store_list(st, (enum manager_kind)k, &all,
		    NULL), CORE_OK);
		json_array_foreach(all, i, d)
			manager_store_delete(st, (enum manager_kind)k,
			    json_string_value(json_object_get(d, "id")), NULL);
		json_decref(all);
	}
}

static void
test_crud_and_order(void **state)
{
	struct manager_store *st = open_store("crud.db");
	struct core_errbuf eb;
	json_t *d, *got = NULL, *all = NULL;
	const char *ids[3] = { "30000000-0000-4000-8000-000000000003",
		"10000000-0000-4000-8000-000000000001",
		"20000000-0000-4000-8000-000000000002" };
	int i;

	(void)state;
	wipe(st);
	assert_int_equal(manager_store_schema_version(st),
	    MANAGER_SCHEMA_VERSION);
	for (i = 0; i < 3; i++) {
		d = json_pack("{ss,si,ss}", "id", ids[i], "n", i, "s",
		    "quote ' and \\ and \"x\" and ünïcode");
		assert_int_equal(manager_store_put(st, MANAGER_KIND_TASK, ids[i],
		    100 + i, d, &eb), CORE_OK);
		json_decref(d);
	}
	/* Replace keeps the original creation order. */
	d = json_pack("{ss,si}", "id", ids[0], "n", 42);
	assert_int_equal(manager_store_put(st, MANAGER_KIND_TASK, ids[0], 999, d,
	    &eb), CORE_OK);
	json_decref(d);
	assert_int_equal(manager_store_get(st, MANAGER_KIND_TASK, ids[0], &got,
	    &eb), CORE_OK);
	assert_int_equal(json_integer_value(json_object_get(got, "n")), 42);
	json_decref(got);
	assert_int_equal(manager_store_get(st, MANAGER_KIND_TASK, ids[1], &got,
	    &eb), CORE_OK);
	assert_string_equal(json_string_value(json_object_get(got, "s")),
	    "quote ' and \\ and \"x\" and ünïcode");
	json_decref(got);
	assert_int_equal(manager_store_list(st, MANAGER_KIND_TASK, &all, &eb),
	    CORE_OK);
	assert_int_equal(json_array_size(all), 3);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(all, 0), "id")), ids[0]);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(all, 2), "id")), ids[2]);
	json_decref(all);
	/* Kinds are separate tables. */
	assert_int_equal(manager_store_list(st, MANAGER_KIND_PROPLET, &all, &eb),
	    CORE_OK);
	assert_int_equal(json_array_size(all), 0);
	json_decref(all);
	assert_int_equal(manager_store_get(st, MANAGER_KIND_PROPLET, ids[0], &got,
	    &eb), CORE_ERR_NOT_FOUND);
	assert_null(got);
	assert_int_equal(manager_store_delete(st, MANAGER_KIND_TASK, ids[1], &eb),
	    CORE_OK);
	core_errbuf_clear(&eb);
	assert_int_equal(manager_store_delete(st, MANAGER_KIND_TASK, ids[1], &eb),
	    CORE_ERR_NOT_FOUND);
	assert_non_null(strstr(core_errbuf_msg(&eb), "not found"));
	assert_int_equal(manager_store_get(st, MANAGER_KIND_TASK, ids[1], &got,
	    &eb), CORE_ERR_NOT_FOUND);
	wipe(st);
	manager_store_free(st);
}

static void
test_persists_across_reopen(void **state)
{
	struct manager_store *st = open_store("persist.db");
	struct core_errbuf eb;
	const char *id = "40000000-0000-4000-8000-000000000004";
	json_t *d, *got = NULL;

	(void)state;
	wipe(st);
	d = json_pack("{ss,ss}", "id", id, "results", "30\n");
	assert_int_equal(manager_store_put(st, MANAGER_KIND_PROPLET, id, 1, d,
	    &eb), CORE_OK);
	json_decref(d);
	manager_store_free(st);
	st = open_store("persist.db");  /* migrations are idempotent */
	assert_int_equal(manager_store_schema_version(st),
	    MANAGER_SCHEMA_VERSION);
	assert_int_equal(manager_store_get(st, MANAGER_KIND_PROPLET, id, &got,
	    &eb), CORE_OK);
	assert_string_equal(json_string_value(json_object_get(got, "results")),
	    "30\n");
	json_decref(got);
	wipe(st);
	manager_store_free(st);
}

static void
test_sqlite_wal_and_newer_schema(void **state)
{
	struct manager_store *st = NULL;
	struct core_errbuf eb;
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	char *path;

	(void)state;
	if (pg_conninfo() != NULL)
		skip();
	path = core_path_join(tmpdir, "wal.db");
	assert_int_equal(manager_store_open_sqlite(path, &st, &eb), CORE_OK);
	manager_store_free(st);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO schema_migrations VALUES "
	    "(99, 0)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	core_errbuf_clear(&eb);
	assert_int_equal(manager_store_open_sqlite(path, &st, &eb),
	    CORE_ERR_UNSUPPORTED);
	assert_non_null(strstr(core_errbuf_msg(&eb), "schema version 99"));
	free(path);
}

static void
test_query_and_count(void **state)
{
	struct manager_store *st = open_store("query.db");
	struct core_errbuf eb;
	json_t *d, *docs = NULL;
	char id[CORE_UUID_STR_LEN + 1];
	int64_t total = -1, n = -1;
	int i;

	(void)state;
	wipe(st);
	for (i = 0; i < 10; i++) {
		snprintf(id, sizeof(id), "%08d-0000-4000-8000-000000000000", i);
		d = json_pack("{ss,si}", "id", id, "state", i % 3);
		assert_int_equal(manager_store_put(st, MANAGER_KIND_TASK, id,
		    1000 + i, d, &eb), CORE_OK);
		json_decref(d);
	}
	assert_int_equal(manager_store_query(st, MANAGER_KIND_TASK, -1, 2, 3,
	    &docs, &total, &eb), CORE_OK);
	assert_int_equal(total, 10);
	assert_int_equal(json_array_size(docs), 3);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(docs, 0), "id")), "00000002-0000-4000-8000-000000000000");
	json_decref(docs);
	assert_int_equal(manager_store_query(st, MANAGER_KIND_TASK, 1, 0, -1,
	    &docs, &total, &eb), CORE_OK);
	assert_int_equal(total, 3);  /* 1, 4, 7 */
	assert_int_equal(json_array_size(docs), 3);
	json_decref(docs);
	assert_int_equal(manager_store_query(st, MANAGER_KIND_TASK, -1, 50, 10,
	    &docs, &total, &eb), CORE_OK);
	assert_int_equal(json_array_size(docs), 0);
	json_decref(docs);
	/* A state change moves the document between selections. */
	d = json_pack("{ss,si}", "id", "00000001-0000-4000-8000-000000000000",
	    "state", 2);
	assert_int_equal(manager_store_put(st, MANAGER_KIND_TASK,
	    "00000001-0000-4000-8000-000000000000", 0, d, &eb), CORE_OK);
	json_decref(d);
	assert_int_equal(manager_store_count(st, MANAGER_KIND_TASK, 1, &n, &eb),
	    CORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(manager_store_count(st, MANAGER_KIND_TASK, 2, &n, &eb),
	    CORE_OK);
	assert_int_equal(n, 4);
	assert_int_equal(manager_store_count(st, MANAGER_KIND_PROPLET, -1, &n,
	    &eb), CORE_OK);
	assert_int_equal(n, 0);

	/* Transactions: a rollback leaves nothing, a commit keeps both. */
	assert_int_equal(manager_store_begin(st, &eb), CORE_OK);
	d = json_pack("{ss}", "id", "70000000-0000-4000-8000-000000000007");
	assert_int_equal(manager_store_put(st, MANAGER_KIND_PROPLET,
	    "70000000-0000-4000-8000-000000000007", 1, d, &eb), CORE_OK);
	assert_int_equal(manager_store_end(st, false, &eb), CORE_OK);
	assert_int_equal(manager_store_count(st, MANAGER_KIND_PROPLET, -1, &n,
	    &eb), CORE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(manager_store_begin(st, &eb), CORE_OK);
	assert_int_equal(manager_store_put(st, MANAGER_KIND_PROPLET,
	    "70000000-0000-4000-8000-000000000007", 1, d, &eb), CORE_OK);
	assert_int_equal(manager_store_put(st, MANAGER_KIND_TASK,
	    "70000000-0000-4000-8000-000000000007", 1, d, &eb), CORE_OK);
	assert_int_equal(manager_store_end(st, true, &eb), CORE_OK);
	json_decref(d);
	assert_int_equal(manager_store_count(st, MANAGER_KIND_PROPLET, -1, &n,
	    &eb), CORE_OK);
	assert_int_equal(n, 1);
	/* Not nestable: a second BEGIN is refused and reported. */
	assert_int_equal(manager_store_begin(st, &eb), CORE_OK);
	core_errbuf_clear(&eb);
	assert_int_not_equal(manager_store_begin(st, &eb), CORE_OK);
	assert_true(strlen(core_errbuf_msg(&eb)) > 0);
	assert_int_equal(manager_store_end(st, false, &eb), CORE_OK);
	assert_int_equal(manager_store_end(st, true, &eb), CORE_ERR_STATE);
	wipe(st);
	manager_store_free(st);
}

/* A version-2 database (before the state column) is migrated and its
 * documents' states are back-filled. */
static void
test_sqlite_migrates_v2(void **state)
{
	struct manager_store *st = NULL;
	struct core_errbuf eb;
	json_t *docs = NULL;
	sqlite3 *db = NULL;
	char *path;

	(void)state;
	if (pg_conninfo() != NULL)
		skip();
	path = core_path_join(tmpdir, "v2.db");
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	    "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
	    "applied_at BIGINT NOT NULL);"
	    "INSERT INTO schema_migrations VALUES (1, 0), (2, 0);"
	    "CREATE TABLE tasks (id TEXT PRIMARY KEY, created BIGINT NOT NULL, "
	    "doc TEXT NOT NULL);"
	    "CREATE TABLE proplets (id TEXT PRIMARY KEY, created BIGINT NOT "
	    "NULL, doc TEXT NOT NULL);"
	    "CREATE INDEX tasks_created ON tasks (created, id);"
	    "CREATE INDEX proplets_created ON proplets (created, id);"
	    "INSERT INTO tasks VALUES ('50000000-0000-4000-8000-000000000005', 1,"
	    " '{\"id\":\"50000000-0000-4000-8000-000000000005\",\"state\":2}');"
	    "INSERT INTO tasks VALUES ('60000000-0000-4000-8000-000000000006', 2,"
	    " '{\"id\":\"60000000-0000-4000-8000-000000000006\",\"state\":3}');",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(manager_store_open_sqlite(path, &st, &eb), CORE_OK);
	assert_int_equal(manager_store_schema_version(st),
	    MANAGER_SCHEMA_VERSION);
	assert_int_equal(manager_store_query(st, MANAGER_KIND_TASK, 2, 0, -1,
	    &docs, NULL, &eb), CORE_OK);
	assert_int_equal(json_array_size(docs), 1);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(docs, 0), "id")),
	    "50000000-0000-4000-8000-000000000005");
	json_decref(docs);
	manager_store_free(st);
	free(path);
}

static void
test_open_errors(void **state)
{
	struct manager_store *st = NULL;
	struct core_errbuf eb;

	(void)state;
	core_errbuf_clear(&eb);
	assert_int_equal(manager_store_open_sqlite("/nonexistent/dir/x.db", &st,
	    &eb), CORE_ERR_IO);
	assert_null(st);
	assert_non_null(strstr(core_errbuf_msg(&eb), "/nonexistent/dir/x.db"));
	core_errbuf_clear(&eb);
	assert_int_equal(manager_store_open_sqlite("", &st, &eb),
	    CORE_ERR_INVALID);
	core_errbuf_clear(&eb);
	assert_int_equal(manager_store_open_pg("host=127.0.0.1 port=1 "
	    "connect_timeout=2", &st, &eb), CORE_ERR_NET);
	assert_non_null(strstr(core_errbuf_msg(&eb), "postgres connect"));
	/* The memory store works and starts empty. */
	assert_int_equal(manager_store_open_sqlite(":memory:", &st, &eb),
	    CORE_OK);
	assert_int_equal(manager_store_schema_version(st),
	    MANAGER_SCHEMA_VERSION);
	manager_store_free(st);
}

static int
setup(void **state)
{
	(void)state;
	return core_fs_tmpdir("mgr-store", &tmpdir, NULL) == CORE_OK ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	core_fs_rmtree(tmpdir, NULL);
	free(tmpdir);
	return 0;
}

/* A task's module lives apart: document writes leave it alone, put_file
 * replaces or removes it, and deleting the task removes it. */
static void
test_task_files(void **state)
{
	struct manager_store *st = open_store("files.db");
	const char *id = "70000000-0000-4000-8000-000000000007";
	char *file = NULL;
	json_t *d;

	(void)state;
	wipe(st);
	d = json_pack("{ss,si}", "id", id, "state", 0);
	assert_int_equal(manager_store_put(st, MANAGER_KIND_TASK, id, 1, d,
	    NULL), CORE_OK);
	assert_int_equal(manager_store_get_file(st, id, &file, NULL),
	    CORE_ERR_NOT_FOUND);
	assert_int_equal(manager_store_put_file(st, id, "AAAA", NULL), CORE_OK);
	assert_int_equal(manager_store_put_file(st, id, "QUJD", NULL), CORE_OK);
	json_object_set_new(d, "state", json_integer(2));
	assert_int_equal(manager_store_put(st, MANAGER_KIND_TASK, id, 1, d,
	    NULL), CORE_OK);
	assert_int_equal(manager_store_get_file(st, id, &file, NULL), CORE_OK);
	assert_string_equal(file, "QUJD");
	free(file);
	file = NULL;
	assert_int_equal(manager_store_put_file(st, id, NULL, NULL), CORE_OK);
	assert_int_equal(manager_store_put_file(st, id, NULL, NULL), CORE_OK);
	assert_int_equal(manager_store_get_file(st, id, &file, NULL),
	    CORE_ERR_NOT_FOUND);
	assert_int_equal(manager_store_put_file(st, id, "QUJD", NULL), CORE_OK);
	assert_int_equal(manager_store_delete(st, MANAGER_KIND_TASK, id, NULL),
	    CORE_OK);
	assert_int_equal(manager_store_get_file(st, id, &file, NULL),
	    CORE_ERR_NOT_FOUND);
	assert_null(file);
	json_decref(d);
	manager_store_free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crud_and_order),
		cmocka_unit_test(test_persists_across_reopen),
		cmocka_unit_test(test_sqlite_wal_and_newer_schema),
		cmocka_unit_test(test_query_and_count),
		cmocka_unit_test(test_sqlite_migrates_v2),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_task_files),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
