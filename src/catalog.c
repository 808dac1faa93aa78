/* catalog: the connection to the store and its index that every catalog
 * room shares: open and create, explicit transactions, the prepared
 * statement cache, and the helpers for tags and blob rows that several
 * rooms need. It holds no feature of its own and never prints. */
#include "config.h"

#include "catalog-int.h"
#include "query.h"

#include <stdlib.h>
#include <string.h>

sqlite3_stmt *catalog_stmt_get(struct catalog *cat, const char *sql)
{
	struct cached_stmt *slot = NULL;
	for (size_t i = 0; i < STMT_CACHE; i++) {
		struct cached_stmt *c = &cat->cache[i];
		if (c->sql && !c->in_use && strcmp(c->sql, sql) == 0) {
			c->in_use = true;
			return c->stmt;
		}
		if (!c->sql && !slot)
			slot = c;
	}
	sqlite3_stmt *stmt = db_prepare(cat->db, sql);
	if (stmt && slot) {
		slot->sql = xstrdup(sql);
		slot->stmt = stmt;
		slot->in_use = true;
	}
	return stmt;
}

void catalog_stmt_put(struct catalog *cat, sqlite3_stmt *stmt)
{
	if (!stmt)
		return;
	for (size_t i = 0; i < STMT_CACHE; i++) {
		if (cat->cache[i].stmt == stmt) {
			sqlite3_reset(stmt);
			sqlite3_clear_bindings(stmt);
			cat->cache[i].in_use = false;
			return;
		}
	}
	sqlite3_finalize(stmt);
}

char *catalog_column_text(sqlite3_stmt *stmt, int i)
{
	const unsigned char *t = sqlite3_column_text(stmt, i);
	return t ? xstrdup((const char *)t) : NULL;
}

struct catalog *catalog_open(const char *dir)
{
	struct store *st = store_open(dir);
	if (!st)
		return NULL;
	sqlite3 *db = db_open(store_db_path(st), false);
	if (!db) {
		store_free(st);
		return NULL;
	}
	struct catalog *cat = xcalloc(1, sizeof(*cat));
	cat->store = st;
	cat->db = db;
	return cat;
}

int catalog_create(const char *dir, bool *existed)
{
	if (store_create(dir, existed) < 0)
		return -1;
	char *path = xasprintf("%s/troupe.db", dir);
	sqlite3 *db = db_open(path, true);
	free(path);
	if (!db)
		return -1;
	db_close(db);
	return 0;
}

void catalog_close(struct catalog *cat)
{
	if (!cat)
		return;
	for (size_t i = 0; i < STMT_CACHE; i++) {
		sqlite3_finalize(cat->cache[i].stmt);
		free(cat->cache[i].sql);
	}
	db_close(cat->db);
	store_free(cat->store);
	free(cat);
}

const char *catalog_root(const struct catalog *cat)
{
	return store_root(cat->store);
}

int catalog_begin(struct catalog *cat)
{
	return db_begin(cat->db);
}

int catalog_end(struct catalog *cat, bool commit)
{
	if (commit)
		return db_commit(cat->db);
	db_rollback(cat->db);
	return 0;
}

int catalog_tag_normalise(const char *in, char **ns, char **value)
{
	if (tag_parse(in, ns, value) < 0)
		return -1;
	for (const char *const *r = query_fields; *r; r++) {
		if (strcmp(*ns, *r) == 0) {
			error_set(EX_DATAERR, "tag '%s': the namespace '%s' is a query field", in,
				  *r);
			free(*ns);
			free(*value);
			return -1;
		}
	}
	return 0;
}

static int64_t tag_id(struct catalog *cat, const char *text, bool create)
{
	char *ns, *value;
	if (catalog_tag_normalise(text, &ns, &value) < 0)
		return -1;
	int64_t id = 0;
	sqlite3_stmt *stmt = NULL;
	if (create) {
		stmt = db_prepare(cat->db, "INSERT INTO tags(ns, value) VALUES (?1, ?2) "
					   "ON CONFLICT DO NOTHING");
		if (!stmt)
			goto fail;
		sqlite3_bind_text(stmt, 1, ns, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 2, value, -1, SQLITE_STATIC);
		if (sqlite3_step(stmt) != SQLITE_DONE) {
			db_error(cat->db, "tag");
			goto fail;
		}
		sqlite3_finalize(stmt);
	}
	stmt = db_prepare(cat->db, "SELECT id FROM tags WHERE ns = ?1 AND value = ?2");
	if (!stmt)
		goto fail;
	sqlite3_bind_text(stmt, 1, ns, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, value, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		id = sqlite3_column_int64(stmt, 0);
	else if (rc != SQLITE_DONE) {
		db_error(cat->db, "tag");
		goto fail;
	}
	sqlite3_finalize(stmt);
	free(ns);
	free(value);
	return id;
fail:
	sqlite3_finalize(stmt);
	free(ns);
	free(value);
	return -1;
}

int catalog_tags_apply(struct catalog *cat, const char *sql, int64_t owner,
		       const struct strlist *tags, bool create)
{
	if (!tags || !tags->n)
		return 0;
	sqlite3_stmt *stmt = db_prepare(cat->db, sql);
	if (!stmt)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < tags->n && rc == 0; i++) {
		int64_t id = tag_id(cat, tags->items[i], create);
		if (id < 0) {
			rc = -1;
			break;
		}
		if (id == 0)
			continue; /* removing a tag nobody has */
		sqlite3_reset(stmt);
		sqlite3_bind_int64(stmt, 1, owner);
		sqlite3_bind_int64(stmt, 2, id);
		if (sqlite3_step(stmt) != SQLITE_DONE)
			rc = db_error(cat->db, "tag");
	}
	sqlite3_finalize(stmt);
	return rc;
}

int64_t catalog_blob_upsert(struct catalog *cat, const char *hash, int64_t bytes,
			    const uint64_t *phash)
{
	sqlite3_stmt *ins = db_prepare(
	    cat->db, "INSERT INTO blobs(hash, bytes, added, phash) VALUES (?1, ?2, ?3, ?4) "
		     "ON CONFLICT(hash) DO UPDATE SET phash = excluded.phash "
		     "WHERE blobs.phash IS NULL AND excluded.phash IS NOT NULL");
	sqlite3_stmt *sel = db_prepare(cat->db, "SELECT id FROM blobs WHERE hash = ?1");
	int64_t id = -1;
	if (!ins || !sel)
		goto out;
	sqlite3_bind_text(ins, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ins, 2, bytes);
	sqlite3_bind_int64(ins, 3, time_now());
	if (phash)
		sqlite3_bind_int64(ins, 4, (int64_t)*phash);
	sqlite3_bind_text(sel, 1, hash, -1, SQLITE_STATIC);
	if (sqlite3_step(ins) != SQLITE_DONE || sqlite3_step(sel) != SQLITE_ROW) {
		db_error(cat->db, "blob");
		goto out;
	}
	id = sqlite3_column_int64(sel, 0);
out:
	sqlite3_finalize(ins);
	sqlite3_finalize(sel);
	return id;
}
