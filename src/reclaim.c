/* reclaim: the SQL gc needs (see reclaim.h). The roots are every column
 * of the schema that names a blob for its own sake; an embedding, a
 * shot's still and takes, a request's outputs and a video's frames name
 * assets, so the asset's blob covers them, and a video's poster is its
 * thumbnail. */
#include "config.h"

#include "reclaim.h"

#include "catalog-int.h"

static const char sql_blobs[] = "SELECT hash, bytes FROM blobs ORDER BY hash";

static const char sql_roots[] = "SELECT b.hash FROM assets a JOIN blobs b ON b.id = a.blob_id "
				"UNION ALL SELECT source_hash FROM request_refs "
				"UNION ALL SELECT sent_hash FROM request_refs "
				"UNION ALL SELECT sent_hash FROM uploads ORDER BY 1";

static const char sql_edges[] =
    "SELECT s.hash, d.hash, 'the thumbnail' FROM thumbnails t "
    "JOIN blobs s ON s.id = t.blob_id JOIN blobs d ON d.id = t.thumb_blob_id "
    "UNION ALL SELECT s.hash, d.hash, 'a derivative (' || v.recipe || ')' FROM derivatives v "
    "JOIN blobs s ON s.id = v.source_blob_id JOIN blobs d ON d.id = v.blob_id ORDER BY 1, 2";

static const char sql_notes[] = "SELECT hash, first_seen, was FROM gc_unreferenced ORDER BY hash";

static const char *column_text(sqlite3_stmt *stmt, int i)
{
	const unsigned char *text = sqlite3_column_text(stmt, i);
	return text ? (const char *)text : "";
}

/* Where the rows of one listing go: one of the four functions. */
struct sink {
	int (*blob)(const struct reclaim_blob *, void *);
	int (*root)(const char *, void *);
	int (*edge)(const struct reclaim_edge *, void *);
	int (*note)(const struct reclaim_note *, void *);
	void *ctx;
};

static int to_sink(sqlite3_stmt *stmt, const struct sink *s)
{
	if (s->blob) {
		struct reclaim_blob b = {column_text(stmt, 0), sqlite3_column_int64(stmt, 1)};
		return s->blob(&b, s->ctx);
	}
	if (s->root)
		return s->root(column_text(stmt, 0), s->ctx);
	if (s->edge) {
		struct reclaim_edge e = {column_text(stmt, 0), column_text(stmt, 1),
					 column_text(stmt, 2)};
		return s->edge(&e, s->ctx);
	}
	struct reclaim_note n = {
	    column_text(stmt, 0), sqlite3_column_int64(stmt, 1),
	    sqlite3_column_type(stmt, 2) == SQLITE_NULL ? NULL : column_text(stmt, 2)};
	return s->note(&n, s->ctx);
}

/* Steps sql and hands each row to the sink; one cleanup path for all. */
static int each_row(struct catalog *cat, const char *sql, const char *what, const struct sink *s)
{
	sqlite3_stmt *stmt = db_prepare(cat->db, sql);
	if (!stmt)
		return -1;
	int step, rc = 0;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW)
		if ((rc = to_sink(stmt, s)) != 0)
			break;
	if (rc == 0 && step != SQLITE_DONE)
		rc = db_error(cat->db, what);
	sqlite3_finalize(stmt);
	return rc;
}

int catalog_reclaim_blobs(struct catalog *cat, int (*each)(const struct reclaim_blob *, void *),
			  void *ctx)
{
	struct sink s = {each, NULL, NULL, NULL, ctx};
	return each_row(cat, sql_blobs, "listing blobs", &s);
}

int catalog_reclaim_roots(struct catalog *cat, int (*each)(const char *hash, void *), void *ctx)
{
	struct sink s = {NULL, each, NULL, NULL, ctx};
	return each_row(cat, sql_roots, "listing blob references", &s);
}

int catalog_reclaim_edges(struct catalog *cat, int (*each)(const struct reclaim_edge *, void *),
			  void *ctx)
{
	struct sink s = {NULL, NULL, each, NULL, ctx};
	return each_row(cat, sql_edges, "listing thumbnails and derivatives", &s);
}

int catalog_reclaim_notes(struct catalog *cat, int (*each)(const struct reclaim_note *, void *),
			  void *ctx)
{
	struct sink s = {NULL, NULL, NULL, each, ctx};
	return each_row(cat, sql_notes, "listing unreferenced blobs", &s);
}

static int exec_hash(struct catalog *cat, const char *sql, const char *hash, int64_t at,
		     const char *what)
{
	sqlite3_stmt *stmt = catalog_stmt_get(cat, sql);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, hash, -1, SQLITE_STATIC);
	if (at)
		sqlite3_bind_int64(stmt, 2, at);
	int rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : db_error(cat->db, what);
	catalog_stmt_put(cat, stmt);
	return rc;
}

int catalog_reclaim_note(struct catalog *cat, const char *hash, int64_t first_seen)
{
	return exec_hash(cat,
			 "INSERT INTO gc_unreferenced(hash, first_seen) VALUES (?1, ?2) "
			 "ON CONFLICT(hash) DO NOTHING",
			 hash, first_seen, "recording an unreferenced blob");
}

int catalog_reclaim_forget(struct catalog *cat, const char *hash)
{
	return exec_hash(cat, "DELETE FROM gc_unreferenced WHERE hash = ?1", hash, 0,
			 "forgetting an unreferenced blob");
}

int catalog_reclaim_remove(struct catalog *cat, const char *hash)
{
	/* A thumbnail's row goes with its source's; the thumbnail's own blob
	 * row may go first, so the check waits for the commit. */
	if (db_exec(cat->db, "PRAGMA defer_foreign_keys = ON") < 0 ||
	    exec_hash(cat, "DELETE FROM blobs WHERE hash = ?1", hash, 0, "removing a blob row") < 0)
		return -1;
	return catalog_reclaim_forget(cat, hash);
}
