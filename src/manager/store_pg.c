/*
 * store_pg.c -- the PostgreSQL backend of the manager store (libpq).
 * Same schema as SQLite; migrations run under an advisory lock so several
 * managers may start against one database.
 */
#include "manager/manager.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "manager/store_impl.h"

#define PG_MIGRATION_LOCK 7070707

/* Migration i brings the schema to version i + 1 (same as SQLite's). */
static const char *const pg_migrations[MANAGER_SCHEMA_VERSION] = {
	"CREATE TABLE tasks (id TEXT PRIMARY KEY, created BIGINT NOT NULL, "
	"doc TEXT NOT NULL);"
	"CREATE TABLE proplets (id TEXT PRIMARY KEY, created BIGINT NOT NULL, "
	"doc TEXT NOT NULL);",
	"CREATE INDEX tasks_created ON tasks (created, id);"
	"CREATE INDEX proplets_created ON proplets (created, id);",
	"ALTER TABLE tasks ADD COLUMN state INTEGER NOT NULL DEFAULT 0;"
	"UPDATE tasks SET state = COALESCE((doc::jsonb->>'state')::int, 0);"
	"CREATE INDEX tasks_state ON tasks (state);"
	"ALTER TABLE proplets ADD COLUMN state INTEGER NOT NULL DEFAULT 0;",
	"CREATE TABLE task_files (id TEXT PRIMARY KEY, created BIGINT NOT NULL, "
	"state INTEGER NOT NULL DEFAULT 0, doc TEXT NOT NULL);",
};

/* Notices (e.g. "relation exists, skipping") are not ours to print. */
static void
pg_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static enum core_err
pg_result_err(PGconn *db, PGresult *r, struct core_errbuf *eb,
    const char *what)
{
	const char *msg = r != NULL ? PQresultErrorMessage(r) : "";

	if (msg == NULL || *msg == '\0')
		msg = PQerrorMessage(db);
	return core_errf(eb, CORE_ERR_IO, "postgres %s: %.*s", what,
	    (int)strcspn(msg, "\n"), msg);
}

static enum core_err
pg_cmd(PGconn *db, const char *sql, struct core_errbuf *eb)
{
	PGresult *r = PQexec(db, sql);
	enum core_err err = CORE_OK;

	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)
		err = pg_result_err(db, r, eb, "exec");
	PQclear(r);
	return err;
}

static enum core_err
pg_put(void *h, const char *table, const char *id, int64_t created_ns,
    int state, const char *doc, struct core_errbuf *eb)
{
	char sql[256], created[32], st[16];
	const char *params[4];
	enum core_err err = CORE_OK;
	PGresult *r;

	snprintf(sql, sizeof(sql), "INSERT INTO %s (id, created, state, doc) "
	    "VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET "
	    "doc = EXCLUDED.doc, state = EXCLUDED.state", table);
	snprintf(created, sizeof(created), "%lld", (long long)created_ns);
	snprintf(st, sizeof(st), "%d", state);
	params[0] = id;
	params[1] = created;
	params[2] = st;
	params[3] = doc;
	r = PQexecParams(h, sql, 4, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		err = pg_result_err(h, r, eb, "write");
	PQclear(r);
	return err;
}

static enum core_err
pg_get(void *h, const char *table, const char *id, char **doc,
    struct core_errbuf *eb)
{
	char sql[128];
	const char *params[1] = { id };
	enum core_err err = CORE_OK;
	PGresult *r;

	*doc = NULL;
	snprintf(sql, sizeof(sql), "SELECT doc FROM %s WHERE id = $1", table);
	r = PQexecParams(h, sql, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		err = pg_result_err(h, r, eb, "read");
	} else if (PQntuples(r) == 0) {
		err = core_errf(eb, CORE_ERR_NOT_FOUND, "%s %s not found",
		    manager_store_what(table), id);
	} else {
		*doc = strdup(PQgetvalue(r, 0, 0));
		if (*doc == NULL)
			err = core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	}
	PQclear(r);
	return err;
}

static enum core_err
pg_del(void *h, const char *table, const char *id, struct core_errbuf *eb)
{
	char sql[128];
	const char *params[1] = { id };
	enum core_err err = CORE_OK;
	PGresult *r;

	snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE id = $1", table);
	r = PQexecParams(h, sql, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		err = pg_result_err(h, r, eb, "delete");
	else if (strcmp(PQcmdTuples(r), "0") == 0)
		err = core_errf(eb, CORE_ERR_NOT_FOUND, "%s %s not found",
		    manager_store_what(table), id);
	PQclear(r);
	return err;
}

static enum core_err
pg_list(void *h, const char *table, int state, int64_t offset, int64_t limit,
    enum core_err (*fn)(void *, const char *), void *arg,
    struct core_errbuf *eb)
{
	char sql[192], st[16], off[32], lim[32];
	const char *params[3];
	enum core_err err = CORE_OK;
	PGresult *r;
	int i, n;

	snprintf(sql, sizeof(sql), "SELECT doc FROM %s WHERE ($1::int < 0 OR "
	    "state = $1::int) ORDER BY created, id LIMIT $3::bigint OFFSET "
	    "$2::bigint", table);
	snprintf(st, sizeof(st), "%d", state);
	snprintf(off, sizeof(off), "%lld", (long long)offset);
	snprintf(lim, sizeof(lim), "%lld", (long long)limit);
	params[0] = st;
	params[1] = off;
	params[2] = limit < 0 ? NULL : lim;  /* LIMIT NULL: no limit */
	r = PQexecParams(h, sql, 3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		err = pg_result_err(h, r, eb, "list");
		goto out;
	}
	n = PQntuples(r);
	for (i = 0; i < n && err == CORE_OK; i++)
		err = fn(arg, PQgetvalue(r, i, 0));
out:
	PQclear(r);
	return err;
}

static enum core_err
pg_count(void *h, const char *table, int state, int64_t *n,
    struct core_errbuf *eb)
{
	char sql[128], st[16];
	const char *params[1] = { st };
	enum core_err err = CORE_OK;
	PGresult *r;

	*n = 0;
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s WHERE ($1::int < 0 "
	    "OR state = $1::int)", table);
	snprintf(st, sizeof(st), "%d", state);
	r = PQexecParams(h, sql, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		err = pg_result_err(h, r, eb, "count");
	else
		*n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return err;
}

static enum core_err
pg_tx(void *h, const char *sql, struct core_errbuf *eb)
{
	return pg_cmd(h, sql, eb);
}

static int
pg_version(void *h)
{
	PGresult *r = PQexec(h, "SELECT COALESCE(MAX(version), 0) FROM "
	    "schema_migrations");
	int v = 0;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return v;
}

static void
pg_close(void *h)
{
	PQfinish(h);
}

static const struct manager_store_ops pg_ops = {
	pg_put, pg_get, pg_del, pg_list, pg_count, pg_tx, pg_version, pg_close,
};

enum core_err
manager_store_open_pg(const char *conninfo, struct manager_store **out,
    struct core_errbuf *eb)
{
	PGconn *db;
	enum core_err err;
	char sql[160];
	int v, i;

	*out = NULL;
	db = PQconnectdb(conninfo);
	if (db == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	if (PQstatus(db) != CONNECTION_OK) {
		const char *msg = PQerrorMessage(db);

		err = core_errf(eb, CORE_ERR_NET, "postgres connect: %.*s",
		    (int)strcspn(msg, "\n"), msg);
		goto fail;
	}
	PQsetNoticeProcessor(db, pg_notice, NULL);
	if ((err = pg_cmd(db, "SET client_min_messages = warning", eb)) ||
	    (err = pg_cmd(db, "BEGIN", eb)))
		goto fail;
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%d)",
	    PG_MIGRATION_LOCK);
	if ((err = pg_cmd(db, sql, eb)) ||
	    (err = pg_cmd(db, "CREATE TABLE IF NOT EXISTS schema_migrations "
	        "(version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
	        eb)))
		goto rollback;
	v = pg_version(db);
	if (v > MANAGER_SCHEMA_VERSION) {
		err = core_errf(eb, CORE_ERR_UNSUPPORTED, "database has schema "
		    "version %d, newer than this manager's %d", v,
		    MANAGER_SCHEMA_VERSION);
		goto rollback;
	}
	for (i = v; i < MANAGER_SCHEMA_VERSION; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO schema_migrations "
		    "VALUES (%d, %lld)", i + 1, (long long)core_wall_ns());
		if ((err = pg_cmd(db, pg_migrations[i], eb)) ||
		    (err = pg_cmd(db, sql, eb))) {
			core_errbuf_prefix(eb, "migration to schema %d", i + 1);
			goto rollback;
		}
	}
	if ((err = pg_cmd(db, "COMMIT", eb)))
		goto fail;
	return manager_store_wrap(&pg_ops, db, out, eb);
rollback:
	pg_cmd(db, "ROLLBACK", NULL);
fail:
	PQfinish(db);
	return err;
}
