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

int catalog_strings(struct catalog *cat, const char *sql, int64_t id, struct strlist *out)
{
	sqlite3_stmt *stmt = catalog_stmt_get(cat, sql);
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	while (sqlite3_step(stmt) == SQLITE_ROW)
		strlist_push(out, (const char *)sqlite3_column_text(stmt, 0));
	catalog_stmt_put(cat, stmt);
	return 0;
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

struct store *catalog_store(struct catalog *cat)
{
	return cat->store;
}

/* Every way a row names a blob, request refs by hash (their trail
 * outlives the asset row), the rest by blob id. */
static const char catalog_sql_blob_refs[] =
    "SELECT b.hash, b.bytes, 0, 0 FROM blobs b "
    "UNION ALL SELECT b.hash, b.bytes, 1, a.id FROM assets a JOIN blobs b ON b.id = a.blob_id "
    "UNION ALL SELECT b.hash, b.bytes, 2, coalesce(a.id, 0) FROM thumbnails t "
    "JOIN blobs b ON b.id = t.thumb_blob_id LEFT JOIN assets a ON a.blob_id = t.blob_id "
    "UNION ALL SELECT b.hash, b.bytes, 3, coalesce(a.id, 0) FROM derivatives d "
    "JOIN blobs b ON b.id = d.blob_id LEFT JOIN assets a ON a.blob_id = d.source_blob_id "
    "UNION ALL SELECT r.source_hash, coalesce(b.bytes, -1), 4, r.request_id FROM request_refs r "
    "LEFT JOIN blobs b ON b.hash = r.source_hash "
    "UNION ALL SELECT r.sent_hash, coalesce(b.bytes, -1), 4, r.request_id FROM request_refs r "
    "LEFT JOIN blobs b ON b.hash = r.sent_hash "
    "UNION ALL SELECT b.hash, b.bytes, 4, o.request_id FROM request_outputs o "
    "JOIN assets a ON a.id = o.asset_id JOIN blobs b ON b.id = a.blob_id "
    "ORDER BY 1, 3, 4";

int catalog_blob_refs(struct catalog *cat, int (*each)(const struct catalog_blob_ref *, void *),
		      void *ctx)
{
	sqlite3_stmt *stmt = db_prepare(cat->db, catalog_sql_blob_refs);
	if (!stmt)
		return -1;
	int step, rc = 0;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		const unsigned char *hash = sqlite3_column_text(stmt, 0);
		struct catalog_blob_ref ref = {hash ? (const char *)hash : "",
					       sqlite3_column_int64(stmt, 1),
					       (enum catalog_ref_kind)sqlite3_column_int(stmt, 2),
					       sqlite3_column_int64(stmt, 3)};
		if ((rc = each(&ref, ctx)) != 0)
			break;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = db_error(cat->db, "listing blob references");
	sqlite3_finalize(stmt);
	return rc;
}

int catalog_check_index(struct catalog *cat, int (*each)(bool foreign_key, const char *, void *),
			void *ctx)
{
	sqlite3_stmt *quick = db_prepare(cat->db, "PRAGMA quick_check");
	if (!quick)
		return -1;
	int step, rc = 0;
	while (rc == 0 && (step = sqlite3_step(quick)) == SQLITE_ROW) {
		const char *msg = (const char *)sqlite3_column_text(quick, 0);
		if (msg && strcmp(msg, "ok") != 0)
			rc = each(false, msg, ctx);
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = each(false, sqlite3_errmsg(cat->db), ctx);
	sqlite3_finalize(quick);
	if (rc != 0)
		return rc;
	/* Rows whose parent is gone: table, rowid, parent table. */
	sqlite3_stmt *fk = db_prepare(cat->db, "PRAGMA foreign_key_check");
	if (!fk)
		return -1;
	while (rc == 0 && (step = sqlite3_step(fk)) == SQLITE_ROW) {
		char *msg = xasprintf("%s row %lld names a missing %s row",
				      (const char *)sqlite3_column_text(fk, 0),
				      (long long)sqlite3_column_int64(fk, 1),
				      (const char *)sqlite3_column_text(fk, 2));
		rc = each(true, msg, ctx);
		free(msg);
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = each(true, sqlite3_errmsg(cat->db), ctx);
	sqlite3_finalize(fk);
	return rc;
}
