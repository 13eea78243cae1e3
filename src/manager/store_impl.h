/*
 * store_impl.h -- private to src/manager: the backend table behind
 * struct manager_store. Both backends keep the same schema: one table per
 * kind (id, created, state, doc) and schema_migrations(version); `state`
 * mirrors the task document's state so the sweep and listings can select
 * without parsing every document. task_files has the same shape and holds
 * a task's base64 module (doc is the text itself, not JSON), so the state
 * changes of a task never rewrite or re-parse its module.
 */
#ifndef PROPELLER_MANAGER_STORE_IMPL_H
#define PROPELLER_MANAGER_STORE_IMPL_H

#include "manager/manager.h"

struct manager_store_ops {
	enum core_err (*put)(void *db, const char *table, const char *id,
	    int64_t created_ns, int state, const char *doc,
	    struct core_errbuf *eb);
	/* *doc is malloc'd; CORE_ERR_NOT_FOUND when absent. */
	enum core_err (*get)(void *db, const char *table, const char *id,
	    char **doc, struct core_errbuf *eb);
	enum core_err (*del)(void *db, const char *table, const char *id,
	    struct core_errbuf *eb);
	/* Calls fn for the docs with the given state (-1: any), oldest
	 * first, skipping offset and at most limit (-1: all) of them. */
	enum core_err (*list)(void *db, const char *table, int state,
	    int64_t offset, int64_t limit,
	    enum core_err (*fn)(void *arg, const char *doc), void *arg,
	    struct core_errbuf *eb);
	/* Number of rows with the given state (-1: any). */
	enum core_err (*count)(void *db, const char *table, int state,
	    int64_t *n, struct core_errbuf *eb);
	/* Transactions: sql is "BEGIN", "COMMIT" or "ROLLBACK". */
	enum core_err (*tx)(void *db, const char *sql, struct core_errbuf *eb);
	int (*version)(void *db);
	void (*close)(void *db);
};

/* "task", "proplet" or "module of task" for a table, in messages. */
const char *manager_store_what(const char *table);

/* Wraps an opened backend handle into a store (takes db over). */
enum core_err manager_store_wrap(const struct manager_store_ops *ops,
    void *db, struct manager_store **out, struct core_errbuf *eb);

#endif /* PROPELLER_MANAGER_STORE_IMPL_H */
