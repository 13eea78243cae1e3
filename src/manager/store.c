/*
 * store.c -- the document store interface and its SQLite backend (also the
 * `memory` storage type, over ":memory:").
 */
#include "manager/manager.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "manager/store_impl.h"

struct manager_store {
	const struct manager_store_ops *ops;
	void *db;     /* owned: backend handle */
	bool in_tx;   /* a transaction is open */
};

/* Migration i brings the schema to version i + 1. */
static const char *const sqlite_migrations[MANAGER_SCHEMA_VERSION] = {
	/* 1: documents */
	"CREATE TABLE tasks (id TEXT PRIMARY KEY, created BIGINT NOT NULL, "
	"doc TEXT NOT NULL);"
	"CREATE TABLE proplets (id TEXT PRIMARY KEY, created BIGINT NOT NULL, "
	"doc TEXT NOT NULL);",
	/* 2: listing order */
	"CREATE INDEX tasks_created ON tasks (created, id);"
	"CREATE INDEX proplets_created ON proplets (created, id);",
	/* 3: indexed state, back-filled from the documents */
	"ALTER TABLE tasks ADD COLUMN state INTEGER NOT NULL DEFAULT 0;"
	"UPDATE tasks SET state = COALESCE(json_extract(doc, '$.state'), 0);"
	"CREATE INDEX tasks_state ON tasks (state);"
	"ALTER TABLE proplets ADD COLUMN state INTEGER NOT NULL DEFAULT 0;",
	/* 4: task modules apart from the documents (same shape, doc = the
	 * base64 text) */
	"CREATE TABLE task_files (id TEXT PRIMARY KEY, created BIGINT NOT NULL, "
	"state INTEGER NOT NULL DEFAULT 0, doc TEXT NOT NULL);",
};

static const char *const kind_table[] = { "tasks", "proplets" };
#define FILES_TABLE "task_files"

static const char *
store_table(enum manager_kind kind)
{
	return kind == MANAGER_KIND_PROPLET ? kind_table[1] : kind_table[0];
}

const char *
manager_store_what(const char *table)
{
	if (strcmp(table, "tasks") == 0)
		return "task";
	if (strcmp(table, FILES_TABLE) == 0)
		return "module of task";
	return "proplet";
}

enum core_err
manager_store_wrap(const struct manager_store_ops *ops, void *db,
    struct manager_store **out, struct core_errbuf *eb)
{
	struct manager_store *st;

	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		ops->close(db);
		return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	}
	st->ops = ops;
	st->db = db;
	*out = st;
	return CORE_OK;
}

void
manager_store_free(struct manager_store *st)
{
	if (st == NULL)
		return;
	st->ops->close(st->db);
	free(st);
}

int
manager_store_schema_version(struct manager_store *st)
{
	return st->ops->version(st->db);
}

enum core_err
manager_store_put(struct manager_store *st, enum manager_kind kind,
    const char *id, int64_t created_ns, const json_t *doc,
    struct core_errbuf *eb)
{
	enum core_err err;
	char *text;

	text = core_json_dumps(doc);
	if (text == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	err = st->ops->put(st->db, store_table(kind), id, created_ns,
	    (int)json_integer_value(json_object_get(doc, "state")), text, eb);
	free(text);
	return err;
}

enum core_err
manager_store_get(struct manager_store *st, enum manager_kind kind,
    const char *id, json_t **doc, struct core_errbuf *eb)
{
	enum core_err err;
	char *text = NULL;

	*doc = NULL;
	err = st->ops->get(st->db, store_table(kind), id, &text, eb);
	if (err == CORE_OK) {
		err = core_json_parse_object(text, strlen(text), 512u << 20, doc,
		    eb);
		if (err != CORE_OK)
			core_errbuf_prefix(eb, "stored %s %s is corrupt",
			    store_table(kind), id);
	}
	free(text);
	return err;
}

enum core_err
manager_store_delete(struct manager_store *st, enum manager_kind kind,
    const char *id, struct core_errbuf *eb)
{
	enum core_err err;

	err = st->ops->del(st->db, store_table(kind), id, eb);
	if (err == CORE_OK && kind == MANAGER_KIND_TASK)
		err = manager_store_put_file(st, id, NULL, eb);
	return err;
}

enum core_err
manager_store_put_file(struct manager_store *st, const char *id,
    const char *file, struct core_errbuf *eb)
{
	enum core_err err;

	if (file != NULL)
		return st->ops->put(st->db, FILES_TABLE, id, 0, 0, file, eb);
	err = st->ops->del(st->db, FILES_TABLE, id, eb);
	if (err == CORE_ERR_NOT_FOUND) {
		core_errbuf_clear(eb);
		err = CORE_OK;
	}
	return err;
}

enum core_err
manager_store_get_file(struct manager_store *st, const char *id,
    char **file, struct core_errbuf *eb)
{
	return st->ops->get(st->db, FILES_TABLE, id, file, eb);
}

struct list_ctx {
	json_t *arr;
	struct core_errbuf *eb;
};

static enum core_err
list_one(void *arg, const char *doc)
{
	struct list_ctx *lc = arg;
	json_t *o = NULL;
	enum core_err err;

	err = core_json_parse_object(doc, strlen(doc), 512u << 20, &o, lc->eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(lc->eb, "stored document is corrupt");
		return err;
	}
	json_array_append_new(lc->arr, o);
	return CORE_OK;
}

enum core_err
manager_store_query(struct manager_store *st, enum manager_kind kind,
    int state, int64_t offset, int64_t limit, json_t **docs, int64_t *total,
    struct core_errbuf *eb)
{
	struct list_ctx lc;
	enum core_err err;

	*docs = NULL;
	if (total != NULL) {
		err = st->ops->count(st->db, store_table(kind), state, total, eb);
		if (err != CORE_OK)
			return err;
	}
	lc.arr = json_array();
	lc.eb = eb;
	if (lc.arr == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	err = st->ops->list(st->db, store_table(kind), state, offset, limit,
	    list_one, &lc, eb);
	if (err != CORE_OK) {
		json_decref(lc.arr);
		return err;
	}
	*docs = lc.arr;
	return CORE_OK;
}

enum core_err
manager_store_list(struct manager_store *st, enum manager_kind kind,
    json_t **docs, struct core_errbuf *eb)
{
	return manager_store_query(st, kind, -1, 0, -1, docs, NULL, eb);
}

enum core_err
manager_store_begin(struct manager_store *st, struct core_errbuf *eb)
{
	enum core_err err;

	if (st->in_tx)
		return core_errf(eb, CORE_ERR_STATE,
		    "store transaction already open");
	err = st->ops->tx(st->db, "BEGIN", eb);
	st->in_tx = err == CORE_OK;
	return err;
}

enum core_err
manager_store_end(struct manager_store *st, bool commit,
    struct core_errbuf *eb)
{
	enum core_err err;

	if (!st->in_tx)
		return core_errf(eb, CORE_ERR_STATE, "no store transaction open");
	st->in_tx = false;
	if (!commit)
		return st->ops->tx(st->db, "ROLLBACK", eb);
	err = st->ops->tx(st->db, "COMMIT", eb);
	if (err != CORE_OK)
		st->ops->tx(st->db, "ROLLBACK", NULL);
	return err;
}

enum core_err
manager_store_count(struct manager_store *st, enum manager_kind kind,
    int state, int64_t *n, struct core_errbuf *eb)
{
	return st->ops->count(st->db, store_table(kind), state, n, eb);
}

enum core_err
manager_store_open(const struct manager_config *cfg,
    struct manager_store **out, struct core_errbuf *eb)
{
	struct core_buf ci;
	enum core_err err;
	const char *keys[] = { "host", "port", "user", "password", "dbname",
		"sslmode" };
	const char *vals[6];
	size_t i, j;

	switch (cfg->storage) {
	case MANAGER_STORAGE_MEMORY:
		return manager_store_open_sqlite(":memory:", out, eb);
	case MANAGER_STORAGE_SQLITE:
		return manager_store_open_sqlite(cfg->sqlite_path, out, eb);
	case MANAGER_STORAGE_POSTGRES:
		break;
	}
	vals[0] = cfg->pg_host;
	vals[1] = cfg->pg_port;
	vals[2] = cfg->pg_user;
	vals[3] = cfg->pg_pass;
	vals[4] = cfg->pg_db;
	vals[5] = cfg->pg_sslmode;
	core_buf_init(&ci, 64 * 1024);
	err = CORE_OK;
	for (i = 0; i < CORE_ARRAY_LEN(keys) && err == CORE_OK; i++) {
		if (vals[i] == NULL)
			continue;
		/* libpq conninfo quoting: 'value' with \ and ' escaped. */
		err = core_buf_printf(&ci, "%s%s='", i > 0 ? " " : "", keys[i]);
		for (j = 0; err == CORE_OK && vals[i][j] != '\0'; j++) {
			if (vals[i][j] == '\\' || vals[i][j] == '\'')
				err = core_buf_append(&ci, "\\", 1);
			if (err == CORE_OK)
				err = core_buf_append(&ci, &vals[i][j], 1);
		}
		if (err == CORE_OK)
			err = core_buf_append(&ci, "'", 1);
	}
	if (err == CORE_OK)
		err = manager_store_open_pg((const char *)ci.data, out, eb);
	else
		core_errf(eb, err, "PostgreSQL connection settings too long");
	core_buf_cleanup_secure(&ci);
	return err;
}

/* ------------------------------------------------------------------ */
/* SQLite backend                                                      */
/* ------------------------------------------------------------------ */

static enum core_err
sq_err(sqlite3 *db, struct core_errbuf *eb, const char *what)
{
	return core_errf(eb, CORE_ERR_IO, "sqlite %s: %s", what,
	    sqlite3_errmsg(db));
}

static enum core_err
sq_exec(sqlite3 *db, const char *sql, struct core_errbuf *eb)
{
	char *msg = NULL;
	enum core_err err = CORE_OK;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		err = core_errf(eb, CORE_ERR_IO, "sqlite: %s",
		    msg != NULL ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
	}
	return err;
}

/* The backend handle: the connection and its prepared statements, one per
 * operation and table, prepared on first use and reset after each. */
enum sq_op { SQ_PUT, SQ_GET, SQ_DEL, SQ_LIST, SQ_COUNT, SQ_NOPS };

static const char *const sq_tx_sql[] = { "BEGIN", "COMMIT", "ROLLBACK" };

struct sq_db {
	sqlite3 *db;                        /* owned */
	sqlite3_stmt *stmt[3][SQ_NOPS];     /* owned: tasks, proplets, files */
	sqlite3_stmt *tx[3];                /* owned: sq_tx_sql, same order */
};

static const char *const sq_sql[SQ_NOPS][2] = {
	[SQ_PUT] = { "INSERT INTO ", " (id, created, state, doc) VALUES "
	    "(?1, ?2, ?3, ?4) ON CONFLICT (id) DO UPDATE SET "
	    "doc = excluded.doc, state = excluded.state" },
	[SQ_GET] = { "SELECT doc FROM ", " WHERE id = ?1" },
	[SQ_DEL] = { "DELETE FROM ", " WHERE id = ?1" },
	[SQ_LIST] = { "SELECT doc FROM ", " WHERE (?1 < 0 OR state = ?1) "
	    "ORDER BY created, id LIMIT ?2 OFFSET ?3" },
	[SQ_COUNT] = { "SELECT COUNT(*) FROM ", " WHERE (?1 < 0 OR "
	    "state = ?1)" },
};

/* The cached statement of op on table (one of ours), ready to bind. */
static enum core_err
sq_stmt(struct sq_db *h, enum sq_op op, const char *table,
    sqlite3_stmt **stmt, struct core_errbuf *eb)
{
	int t = strcmp(table, "tasks") == 0 ? 0 :
	    strcmp(table, FILES_TABLE) == 0 ? 2 : 1;
	char sql[320];

	if (h->stmt[t][op] == NULL) {
		snprintf(sql, sizeof(sql), "%s%s%s", sq_sql[op][0], table,
		    sq_sql[op][1]);
		if (sqlite3_prepare_v2(h->db, sql, -1, &h->stmt[t][op], NULL) !=
		    SQLITE_OK)
			return sq_err(h->db, eb, "prepare");
	}
	*stmt = h->stmt[t][op];
	return CORE_OK;
}

static void
sq_done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

static enum core_err
sq_put(void *hv, const char *table, const char *id, int64_t created_ns,
    int state, const char *doc, struct core_errbuf *eb)
{
	struct sq_db *h = hv;
	sqlite3_stmt *s = NULL;
	enum core_err err;

	err = sq_stmt(h, SQ_PUT, table, &s, eb);
	if (err != CORE_OK)
		return err;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, created_ns);
	sqlite3_bind_int(s, 3, state);
	sqlite3_bind_text(s, 4, doc, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE)
		err = sq_err(h->db, eb, "write");
	sq_done(s);
	return err;
}

static enum core_err
sq_get(void *hv, const char *table, const char *id, char **doc,
    struct core_errbuf *eb)
{
	struct sq_db *h = hv;
	sqlite3_stmt *s = NULL;
	enum core_err err;
	int rc;

	*doc = NULL;
	err = sq_stmt(h, SQ_GET, table, &s, eb);
	if (err != CORE_OK)
		return err;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*doc = strdup((const char *)sqlite3_column_text(s, 0));
		if (*doc == NULL)
			err = core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	} else if (rc == SQLITE_DONE) {
		err = core_errf(eb, CORE_ERR_NOT_FOUND, "%s %s not found",
		    manager_store_what(table), id);
	} else {
		err = sq_err(h->db, eb, "read");
	}
	sq_done(s);
	return err;
}

static enum core_err
sq_del(void *hv, const char *table, const char *id, struct core_errbuf *eb)
{
	struct sq_db *h = hv;
	sqlite3_stmt *s = NULL;
	enum core_err err;

	err = sq_stmt(h, SQ_DEL, table, &s, eb);
	if (err != CORE_OK)
		return err;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE)
		err = sq_err(h->db, eb, "delete");
	else if (sqlite3_changes(h->db) == 0)
		err = core_errf(eb, CORE_ERR_NOT_FOUND, "%s %s not found",
		    manager_store_what(table), id);
	sq_done(s);
	return err;
}

static enum core_err
sq_list(void *hv, const char *table, int state, int64_t offset,
    int64_t limit, enum core_err (*fn)(void *, const char *), void *arg,
    struct core_errbuf *eb)
{
	struct sq_db *h = hv;
	sqlite3_stmt *s = NULL;
	enum core_err err;
	int rc;

	err = sq_stmt(h, SQ_LIST, table, &s, eb);
	if (err != CORE_OK)
		return err;
	sqlite3_bind_int(s, 1, state);
	sqlite3_bind_int64(s, 2, limit);
	sqlite3_bind_int64(s, 3, offset);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		err = fn(arg, (const char *)sqlite3_column_text(s, 0));
		if (err != CORE_OK)
			break;
	}
	if (err == CORE_OK && rc != SQLITE_DONE)
		err = sq_err(h->db, eb, "list");
	sq_done(s);
	return err;
}

static enum core_err
sq_count(void *hv, const char *table, int state, int64_t *n,
    struct core_errbuf *eb)
{
	struct sq_db *h = hv;
	sqlite3_stmt *s = NULL;
	enum core_err err;

	*n = 0;
	err = sq_stmt(h, SQ_COUNT, table, &s, eb);
	if (err != CORE_OK)
		return err;
	sqlite3_bind_int(s, 1, state);
	if (sqlite3_step(s) == SQLITE_ROW)
		*n = sqlite3_column_int64(s, 0);
	else
		err = sq_err(h->db, eb, "count");
	sq_done(s);
	return err;
}

static int
sq_version_db(sqlite3 *h)
{
	sqlite3_stmt *s = NULL;
	int v = 0;

	if (sqlite3_prepare_v2(h, "SELECT COALESCE(MAX(version), 0) FROM "
	    "schema_migrations", -1, &s, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* Transaction statements are prepared once, like the others. */
static enum core_err
sq_tx(void *hv, const char *sql, struct core_errbuf *eb)
{
	struct sq_db *h = hv;
	enum core_err err = CORE_OK;
	size_t i;

	for (i = 0; i < CORE_ARRAY_LEN(sq_tx_sql); i++)
		if (strcmp(sql, sq_tx_sql[i]) == 0)
			break;
	if (i == CORE_ARRAY_LEN(sq_tx_sql))
		return sq_exec(h->db, sql, eb);
	if (h->tx[i] == NULL && sqlite3_prepare_v2(h->db, sql, -1, &h->tx[i],
	    NULL) != SQLITE_OK)
		return sq_err(h->db, eb, "prepare");
	if (sqlite3_step(h->tx[i]) != SQLITE_DONE)
		err = sq_err(h->db, eb, sql);
	sqlite3_reset(h->tx[i]);
	return err;
}

static int
sq_version(void *hv)
{
	return sq_version_db(((struct sq_db *)hv)->db);
}

static void
sq_close(void *hv)
{
	struct sq_db *h = hv;
	int t, op;

	for (t = 0; t < 3; t++)
		for (op = 0; op < SQ_NOPS; op++)
			sqlite3_finalize(h->stmt[t][op]);
	for (t = 0; t < 3; t++)
		sqlite3_finalize(h->tx[t]);
	sqlite3_close(h->db);
	free(h);
}

static const struct manager_store_ops sqlite_ops = {
	sq_put, sq_get, sq_del, sq_list, sq_count, sq_tx, sq_version, sq_close,
};

enum core_err
manager_store_open_sqlite(const char *path, struct manager_store **out,
    struct core_errbuf *eb)
{
	sqlite3 *db = NULL;
	struct sq_db *h;
	enum core_err err;
	char sql[128];
	int v, i;

	*out = NULL;
	if (path == NULL || *path == '\0')
		return core_errf(eb, CORE_ERR_INVALID, "empty SQLite path");
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		err = core_errf(eb, CORE_ERR_IO, "sqlite open %s: %s", path,
		    db != NULL ? sqlite3_errmsg(db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(db, 5000);
	if (strcmp(path, ":memory:") != 0 &&
	    (err = sq_exec(db, "PRAGMA journal_mode=WAL;"
	        "PRAGMA synchronous=NORMAL;", eb)) != CORE_OK)
		goto fail;
	if ((err = sq_exec(db, "CREATE TABLE IF NOT EXISTS schema_migrations "
	    "(version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)", eb)))
		goto fail;
	v = sq_version_db(db);
	if (v > MANAGER_SCHEMA_VERSION) {
		err = core_errf(eb, CORE_ERR_UNSUPPORTED, "database %s has "
		    "schema version %d, newer than this manager's %d", path, v,
		    MANAGER_SCHEMA_VERSION);
		goto fail;
	}
	for (i = v; i < MANAGER_SCHEMA_VERSION; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO schema_migrations "
		    "VALUES (%d, %lld)", i + 1, (long long)core_wall_ns());
		if ((err = sq_exec(db, "BEGIN IMMEDIATE", eb)) ||
		    (err = sq_exec(db, sqlite_migrations[i], eb)) ||
		    (err = sq_exec(db, sql, eb)) ||
		    (err = sq_exec(db, "COMMIT", eb))) {
			sq_exec(db, "ROLLBACK", NULL);
			core_errbuf_prefix(eb, "migration to schema %d", i + 1);
			goto fail;
		}
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "out of memory");
		goto fail;
	}
	h->db = db;
	return manager_store_wrap(&sqlite_ops, h, out, eb);
fail:
	sqlite3_close(db);
	return err;
}
