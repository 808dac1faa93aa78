/* embedding: models, the unit vectors of assets under each, the assets a
 * model found nothing in, and the flat vector cache file that nearest
 * searches. A model's dimension is fixed by its first vector; this room
 * never prints. */
#include "config.h"

#include "asset.h"
#include "catalog-int.h"
#include "cachefile.h"
#include "embedding.h"
#include "query.h"
#include "vector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool model_name_ok(const char *name)
{
	size_t len = strlen(name);
	return len > 0 && len <= 64 &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-") == len;
}

static int model_fill(sqlite3_stmt *stmt, struct model_info *m)
{
	m->id = sqlite3_column_int64(stmt, 0);
	snprintf(m->name, sizeof(m->name), "%s", (const char *)sqlite3_column_text(stmt, 1));
	m->dimension = (uint32_t)sqlite3_column_int(stmt, 2);
	m->has_threshold = sqlite3_column_type(stmt, 3) != SQLITE_NULL;
	m->threshold = sqlite3_column_double(stmt, 3);
	m->vectors = sqlite3_column_int64(stmt, 4);
	const char *network = (const char *)sqlite3_column_text(stmt, 5);
	const char *version = (const char *)sqlite3_column_text(stmt, 6);
	snprintf(m->network, sizeof(m->network), "%s", network ? network : "");
	snprintf(m->version, sizeof(m->version), "%s", version ? version : "");
	return 0;
}

static const char sql_model_select[] =
    "SELECT m.id, m.name, m.dimension, m.threshold, m.vectors, m.network, m.version "
    "FROM models m ";

int catalog_model_get(struct catalog *cat, const char *name, struct model_info *out)
{
	memset(out, 0, sizeof(*out));
	if (!model_name_ok(name))
		return error_set(EX_USAGE,
				 "--model %s: a model name is lower-case letters, digits, "
				 "'.', '_' and '-'",
				 name);
	char *sql = xasprintf("%sWHERE m.name = ?1", sql_model_select);
	sqlite3_stmt *stmt = db_prepare(cat->db, sql);
	free(sql);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		model_fill(stmt, out);
	sqlite3_finalize(stmt);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return error_set(EX_NOINPUT, "model %s: no vectors yet (see 'troupe embed')", name);
	return db_error(cat->db, "model");
}

int catalog_model_list(struct catalog *cat, struct model_info **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	char *sql = xasprintf("%sORDER BY m.name", sql_model_select);
	sqlite3_stmt *stmt = db_prepare(cat->db, sql);
	free(sql);
	if (!stmt)
		return -1;
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		*out = xrealloc(*out, (*n + 1) * sizeof(**out));
		model_fill(stmt, &(*out)[(*n)++]);
	}
	sqlite3_finalize(stmt);
	return 0;
}

int catalog_model_set_threshold(struct catalog *cat, const char *name, double threshold)
{
	sqlite3_stmt *stmt =
	    db_prepare(cat->db, "UPDATE models SET threshold = ?2 WHERE name = ?1");
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_double(stmt, 2, threshold);
	int rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : db_error(cat->db, "model");
	sqlite3_finalize(stmt);
	return rc;
}

/* "human-faceres 3.3.6", or what is known of it. */
static char *identity_text(const char *network, const char *version, uint32_t dim)
{
	if (network && *network)
		return xasprintf("%s%s%s (%u-d)", network, version && *version ? " " : "",
				 version && *version ? version : "", dim);
	return xasprintf("an unrecorded network (%u-d)", dim);
}

int catalog_model_accepts(const struct model_info *m, const char *network, const char *version,
			  uint32_t dim)
{
	if (m->vectors == 0)
		return 0;
	bool other_network = *m->network && network && strcmp(m->network, network) != 0;
	bool other_version = *m->network && network && !other_network && *m->version && version &&
			     strcmp(m->version, version) != 0;
	if (!other_network && !other_version && dim == m->dimension)
		return 0;
	if (!*m->network && !(network && *network))
		return error_set(EX_DATAERR, "a %u-dimensional vector for model %s, which has %u",
				 dim, m->name, m->dimension);
	char *had = identity_text(m->network, m->version, m->dimension);
	char *now = identity_text(network, version, dim);
	error_set(EX_DATAERR,
		  "model %s: its %lld vector%s came from %s, and the service now answers with "
		  "%s; vectors of two networks never mix: 'troupe embed --model %s --reembed' "
		  "replaces them",
		  m->name, (long long)m->vectors, m->vectors == 1 ? "" : "s", had, now, m->name);
	free(had);
	free(now);
	return -1;
}

static const char sql_model_row[] =
    "SELECT id, name, dimension, threshold, vectors, network, version FROM models "
    "WHERE name = ?1";

int catalog_embedding_put(struct catalog *cat, int64_t asset_id, const char *model, float *vector,
			  uint32_t dim, const struct embedding_meta *meta)
{
	if (!model_name_ok(model))
		return error_set(EX_USAGE,
				 "--model %s: a model name is lower-case letters, digits, "
				 "'.', '_' and '-'",
				 model);
	if (vector_normalise(vector, dim) < 0)
		return error_prefix("asset %lld", (long long)asset_id);
	const char *network = meta && meta->network && *meta->network ? meta->network : NULL;
	const char *version = network && meta->version && *meta->version ? meta->version : NULL;
	/* Inside a caller's transaction (an import) the write joins it. */
	bool own = sqlite3_get_autocommit(cat->db);
	if (own && db_begin(cat->db) < 0)
		return -1;
	sqlite3_stmt *put = NULL;
	struct model_info m;
	int rc = -1;
	sqlite3_stmt *ins = catalog_stmt_get(
	    cat, "INSERT INTO models(name, dimension, network, version, created) VALUES (?1, ?2, "
		 "?3, ?4, ?5) ON CONFLICT(name) DO NOTHING");
	if (!ins)
		goto out;
	sqlite3_bind_text(ins, 1, model, -1, SQLITE_STATIC);
	sqlite3_bind_int(ins, 2, (int)dim);
	sqlite3_bind_text(ins, 3, network, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 4, version, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ins, 5, time_now());
	int step = sqlite3_step(ins);
	catalog_stmt_put(cat, ins);
	if (step != SQLITE_DONE) {
		db_error(cat->db, "model");
		goto out;
	}
	/* The count is the triggers' column, not a count of rows: a large
	 * import stays linear. */
	sqlite3_stmt *sel = catalog_stmt_get(cat, sql_model_row);
	if (!sel)
		goto out;
	sqlite3_bind_text(sel, 1, model, -1, SQLITE_STATIC);
	int found = sqlite3_step(sel);
	if (found == SQLITE_ROW)
		model_fill(sel, &m);
	catalog_stmt_put(cat, sel);
	if (found != SQLITE_ROW) {
		db_error(cat->db, "model");
		goto out;
	}
	if (catalog_model_accepts(&m, network, version, dim) < 0) {
		error_prefix("asset %lld", (long long)asset_id);
		goto out;
	}
	/* The first vector fixes the dimension, the first that names its
	 * network the identity. */
	if (m.vectors == 0 || (network && !*m.network)) {
		sqlite3_stmt *fix = catalog_stmt_get(
		    cat, "UPDATE models SET dimension = ?2, network = coalesce(?3, network), "
			 "version = CASE WHEN ?3 IS NULL THEN version ELSE ?4 END WHERE id = ?1");
		if (!fix)
			goto out;
		sqlite3_bind_int64(fix, 1, m.id);
		sqlite3_bind_int(fix, 2, (int)dim);
		sqlite3_bind_text(fix, 3, network, -1, SQLITE_STATIC);
		sqlite3_bind_text(fix, 4, version, -1, SQLITE_STATIC);
		step = sqlite3_step(fix);
		catalog_stmt_put(cat, fix);
		if (step != SQLITE_DONE) {
			db_error(cat->db, "model");
			goto out;
		}
	}
	/* An upsert, not REPLACE: the triggers that keep the model's count
	 * and generation must see an update as an update. */
	put = catalog_stmt_get(
	    cat, "INSERT INTO embeddings(asset_id, model_id, vector, added, box_x, box_y, box_w, "
		 "box_h, score, faces) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON "
		 "CONFLICT(model_id, asset_id) DO UPDATE SET vector = excluded.vector, added = "
		 "excluded.added, box_x = excluded.box_x, box_y = excluded.box_y, box_w = "
		 "excluded.box_w, box_h = excluded.box_h, score = excluded.score, faces = "
		 "excluded.faces");
	if (!put)
		goto out;
	sqlite3_bind_int64(put, 1, asset_id);
	sqlite3_bind_int64(put, 2, m.id);
	sqlite3_bind_blob(put, 3, vector, (int)(dim * sizeof(float)), SQLITE_STATIC);
	sqlite3_bind_int64(put, 4, time_now());
	for (int k = 0; k < 4; k++)
		if (meta && meta->has_box)
			sqlite3_bind_double(put, 5 + k, meta->box[k]);
		else
			sqlite3_bind_null(put, 5 + k);
	if (meta && meta->has_score)
		sqlite3_bind_double(put, 9, meta->score);
	else
		sqlite3_bind_null(put, 9);
	if (meta && meta->faces > 0)
		sqlite3_bind_int(put, 10, meta->faces);
	else
		sqlite3_bind_null(put, 10);
	step = sqlite3_step(put);
	bool constraint = step != SQLITE_DONE && sqlite3_errcode(cat->db) == SQLITE_CONSTRAINT;
	if (step != SQLITE_DONE) {
		if (constraint)
			error_set(EX_NOINPUT, "%lld: no such asset", (long long)asset_id);
		else
			db_error(cat->db, "embedding");
		goto out;
	}
	/* A vector for an asset the model once found nothing in. */
	sqlite3_stmt *unmiss = catalog_stmt_get(
	    cat, "DELETE FROM embedding_misses WHERE model = ?1 AND asset_id = ?2");
	if (!unmiss)
		goto out;
	sqlite3_bind_text(unmiss, 1, model, -1, SQLITE_STATIC);
	sqlite3_bind_int64(unmiss, 2, asset_id);
	step = sqlite3_step(unmiss);
	catalog_stmt_put(cat, unmiss);
	if (step != SQLITE_DONE) {
		db_error(cat->db, "embedding");
		goto out;
	}
	rc = own ? db_commit(cat->db) : 0;
out:
	if (put)
		catalog_stmt_put(cat, put);
	if (rc < 0 && own)
		db_rollback(cat->db);
	return rc;
}

int catalog_model_reset(struct catalog *cat, const char *model, uint32_t dim, const char *network,
			const char *version)
{
	if (!model_name_ok(model))
		return error_set(EX_USAGE,
				 "--model %s: a model name is lower-case letters, digits, "
				 "'.', '_' and '-'",
				 model);
	/* The vectors go first (their trigger bumps the generation), then
	 * the row is made new but for its id, name and generation. */
	sqlite3_stmt *drop = db_prepare(cat->db, "DELETE FROM embeddings WHERE model_id = (SELECT "
						 "id FROM models WHERE name = ?1)");
	sqlite3_stmt *unmiss = db_prepare(cat->db, "DELETE FROM embedding_misses WHERE model = ?1");
	sqlite3_stmt *fix = db_prepare(
	    cat->db, "UPDATE models SET dimension = ?2, network = ?3, version = ?4, threshold = "
		     "NULL, generation = generation + 1 WHERE name = ?1");
	int rc = -1;
	if (drop && unmiss && fix) {
		sqlite3_bind_text(drop, 1, model, -1, SQLITE_STATIC);
		sqlite3_bind_text(unmiss, 1, model, -1, SQLITE_STATIC);
		sqlite3_bind_text(fix, 1, model, -1, SQLITE_STATIC);
		sqlite3_bind_int(fix, 2, (int)dim);
		sqlite3_bind_text(fix, 3, network && *network ? network : NULL, -1, SQLITE_STATIC);
		sqlite3_bind_text(fix, 4,
				  network && *network && version && *version ? version : NULL, -1,
				  SQLITE_STATIC);
		if (sqlite3_step(drop) == SQLITE_DONE && sqlite3_step(unmiss) == SQLITE_DONE &&
		    sqlite3_step(fix) == SQLITE_DONE)
			rc = 0;
		else
			db_error(cat->db, "model");
	}
	sqlite3_finalize(drop);
	sqlite3_finalize(unmiss);
	sqlite3_finalize(fix);
	return rc;
}

int catalog_embedding_box(struct catalog *cat, int64_t asset_id, const char *model, double box[4],
			  int *faces)
{
	sqlite3_stmt *stmt = catalog_stmt_get(
	    cat, "SELECT e.box_x, e.box_y, e.box_w, e.box_h, e.faces FROM embeddings e JOIN "
		 "models m ON m.id = e.model_id WHERE m.name = ?1 AND e.asset_id = ?2 AND "
		 "e.box_x IS NOT NULL");
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, model, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, asset_id);
	int step = sqlite3_step(stmt);
	if (step == SQLITE_ROW) {
		for (int k = 0; k < 4; k++)
			box[k] = sqlite3_column_double(stmt, k);
		*faces = sqlite3_column_int(stmt, 4);
	}
	catalog_stmt_put(cat, stmt);
	if (step == SQLITE_ROW)
		return 0;
	if (step == SQLITE_DONE)
		return error_set(EX_NOINPUT, "asset %lld has no face box for model %s",
				 (long long)asset_id, model);
	return db_error(cat->db, "embedding");
}

int catalog_embedding_has(struct catalog *cat, int64_t asset_id, const char *model,
			  enum embedding_state *state)
{
	*state = EMBEDDING_NONE;
	sqlite3_stmt *stmt =
	    catalog_stmt_get(cat, "SELECT ?3 FROM embeddings e JOIN models m ON "
				  "m.id = e.model_id WHERE m.name = ?1 AND "
				  "e.asset_id = ?2 UNION ALL SELECT ?4 FROM embedding_misses "
				  "WHERE model = ?1 AND asset_id = ?2");
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, model, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, asset_id);
	sqlite3_bind_int(stmt, 3, EMBEDDING_VECTOR);
	sqlite3_bind_int(stmt, 4, EMBEDDING_MISSED);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*state = sqlite3_column_int(stmt, 0) == EMBEDDING_VECTOR ? EMBEDDING_VECTOR
									 : EMBEDDING_MISSED;
	catalog_stmt_put(cat, stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_error(cat->db, "embedding");
}

int catalog_embedding_missed(struct catalog *cat, int64_t asset_id, const char *model,
			     const char *reason)
{
	sqlite3_stmt *stmt = db_prepare(
	    cat->db, "INSERT INTO embedding_misses(model, asset_id, reason, at) VALUES (?1, ?2, "
		     "?3, ?4) ON CONFLICT(model, asset_id) DO UPDATE SET reason = excluded.reason, "
		     "at = excluded.at");
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, model, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, asset_id);
	sqlite3_bind_text(stmt, 3, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, time_now());
	int rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : db_error(cat->db, "embedding");
	sqlite3_finalize(stmt);
	return rc;
}

int catalog_embedding_get(struct catalog *cat, int64_t asset_id, const char *model, float **vector,
			  uint32_t *dim)
{
	*vector = NULL;
	sqlite3_stmt *stmt = db_prepare(cat->db, "SELECT e.vector, m.dimension FROM embeddings e "
						 "JOIN models m ON m.id = e.model_id WHERE "
						 "m.name = ?1 AND e.asset_id = ?2");
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, model, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, asset_id);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*dim = (uint32_t)sqlite3_column_int(stmt, 1);
		size_t bytes = (size_t)sqlite3_column_bytes(stmt, 0);
		if (bytes == *dim * sizeof(float)) {
			*vector = xmalloc(bytes);
			memcpy(*vector, sqlite3_column_blob(stmt, 0), bytes);
		}
	}
	sqlite3_finalize(stmt);
	if (*vector)
		return 0;
	if (rc == SQLITE_ROW)
		return error_set(EX_DATAERR, "asset %lld: damaged vector", (long long)asset_id);
	if (rc == SQLITE_DONE)
		return error_set(EX_NOINPUT,
				 "asset %lld has no vector for model %s (run 'troupe "
				 "embed --model %s')",
				 (long long)asset_id, model, model);
	return db_error(cat->db, "embedding");
}

/* The changes of steps have + 1 to generation of the model, applied to
 * f (held exclusive): 0 when done, 1 when the log does not hold every
 * step (too far behind, or a step that logs nothing), -1 on error. */
static int vector_file_catch_up(struct catalog *cat, const struct model_info *m,
				struct cachefile *f, const char *path, uint64_t generation)
{
	sqlite3_stmt *count = catalog_stmt_get(
	    cat, "SELECT count(*) FROM embedding_changes WHERE model_id = ?1 AND generation > ?2 "
		 "AND generation <= ?3");
	if (!count)
		return -1;
	sqlite3_bind_int64(count, 1, m->id);
	sqlite3_bind_int64(count, 2, (int64_t)f->generation);
	sqlite3_bind_int64(count, 3, (int64_t)generation);
	int step = sqlite3_step(count);
	uint64_t logged = step == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(count, 0) : 0;
	catalog_stmt_put(cat, count);
	if (step != SQLITE_ROW)
		return db_error(cat->db, "vector cache");
	if (logged != generation - f->generation)
		return 1;
	sqlite3_stmt *changes = db_prepare(
	    cat->db, "SELECT DISTINCT c.asset_id, e.vector FROM embedding_changes c LEFT JOIN "
		     "embeddings e ON e.model_id = c.model_id AND e.asset_id = c.asset_id WHERE "
		     "c.model_id = ?1 AND c.generation > ?2 AND c.generation <= ?3 ORDER BY 1");
	if (!changes)
		return -1;
	sqlite3_bind_int64(changes, 1, m->id);
	sqlite3_bind_int64(changes, 2, (int64_t)f->generation);
	sqlite3_bind_int64(changes, 3, (int64_t)generation);
	size_t row_bytes = m->dimension * sizeof(float), nchanged = 0, n = 0, cap = 0;
	int64_t *changed = NULL, *ids = NULL;
	unsigned char *rows = NULL;
	while ((step = sqlite3_step(changes)) == SQLITE_ROW) {
		if (nchanged == cap) {
			cap = cap ? cap * 2 : 256;
			changed = xrealloc(changed, cap * sizeof(*changed));
			ids = xrealloc(ids, cap * sizeof(*ids));
			rows = xrealloc(rows, cap * row_bytes);
		}
		int64_t id = sqlite3_column_int64(changes, 0);
		changed[nchanged++] = id;
		/* Gone, or not of the model's size (as the rebuild skips it). */
		if ((size_t)sqlite3_column_bytes(changes, 1) != row_bytes)
			continue;
		ids[n] = id;
		memcpy(rows + n * row_bytes, sqlite3_column_blob(changes, 1), row_bytes);
		n++;
	}
	sqlite3_finalize(changes);
	int rc = step == SQLITE_DONE ? 0 : db_error(cat->db, "vector cache");
	if (rc == 0) {
		struct cache_kind kind = vector_cache_kind((uint64_t)m->id, m->dimension);
		rc = cachefile_update(f, path, &kind, generation, changed, nchanged, ids, rows, n);
	}
	free(changed);
	free(ids);
	free(rows);
	return rc;
}

/* The whole file, from every vector of the model. */
static int vector_file_rebuild(struct catalog *cat, const struct model_info *m, const char *path,
			       uint64_t generation)
{
	/* Reading every vector through SQLite's pread of each page is most
	 * of a rebuild's time; a memory map of the index (up to SQLite's
	 * limit) reads the same pages without a system call each. */
	db_exec(cat->db, "PRAGMA mmap_size = 2147418112");
	int rc = -1;
	int64_t *ids = NULL;
	float *data = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *rows =
	    db_prepare(cat->db, "SELECT asset_id, vector FROM embeddings WHERE model_id = ?1 "
				"ORDER BY asset_id");
	if (!rows)
		goto out;
	sqlite3_bind_int64(rows, 1, m->id);
	size_t row_bytes = m->dimension * sizeof(float);
	/* The triggers keep the count: one allocation, not a doubling copy
	 * of gigabytes. */
	if (m->vectors > 0) {
		cap = (size_t)m->vectors;
		ids = xmalloc(cap * sizeof(*ids));
		data = xmalloc(cap * row_bytes);
	}
	while (sqlite3_step(rows) == SQLITE_ROW) {
		if ((size_t)sqlite3_column_bytes(rows, 1) != row_bytes)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			ids = xrealloc(ids, cap * sizeof(*ids));
			data = xrealloc(data, cap * row_bytes);
		}
		ids[n] = sqlite3_column_int64(rows, 0);
		memcpy((char *)data + n * row_bytes, sqlite3_column_blob(rows, 1), row_bytes);
		n++;
	}
	rc = vector_file_write(path, (uint64_t)m->id, generation, m->dimension, ids, data, n);
out:
	sqlite3_finalize(rows);
	db_exec(cat->db, "PRAGMA mmap_size = 0");
	free(ids);
	free(data);
	return rc;
}

/* Brings cache/vectors-MODEL.f32 up to the model's generation: nothing
 * when it is there, the logged changes since the file's generation when
 * the log has them all, else a rebuild. The generation and the rows are
 * read in one transaction so they agree; the file is held exclusive
 * while it changes, so two commands never write it at once. */
static int vector_file_refresh(struct catalog *cat, const struct model_info *m, const char *path)
{
	struct cache_kind kind = vector_cache_kind((uint64_t)m->id, m->dimension);
	for (int attempt = 0;; attempt++) {
		if (db_exec(cat->db, "BEGIN") < 0)
			return -1;
		int rc = -1;
		struct cachefile f = {.fd = -1};
		sqlite3_stmt *gen =
		    catalog_stmt_get(cat, "SELECT generation FROM models WHERE id = ?1");
		if (!gen)
			goto out;
		sqlite3_bind_int64(gen, 1, m->id);
		int step = sqlite3_step(gen);
		uint64_t generation = (uint64_t)sqlite3_column_int64(gen, 0);
		catalog_stmt_put(cat, gen);
		if (step != SQLITE_ROW) {
			db_error(cat->db, "model");
			goto out;
		}
		if (cachefile_open(path, &kind, false, &f) == 0 && f.generation == generation) {
			rc = 0;
			goto out;
		}
		cachefile_close(&f);
		if (cachefile_open(path, &kind, true, &f) == 0) {
			if (f.generation == generation) {
				rc = 0;
				goto out;
			}
			/* Written from a later state of the index than this
			 * transaction sees: look again, once. */
			if (f.generation > generation && attempt == 0) {
				rc = 1;
				goto out;
			}
			if (f.generation < generation &&
			    (rc = vector_file_catch_up(cat, m, &f, path, generation)) <= 0)
				goto out;
		}
		rc = vector_file_rebuild(cat, m, path, generation);
	out:
		cachefile_close(&f);
		db_exec(cat->db, "COMMIT");
		if (rc <= 0)
			return rc;
	}
}

struct id_set {
	int64_t *ids;
	size_t n;
};

static int collect_id(const struct asset *a, void *ctx)
{
	struct id_set *s = ctx;
	s->ids = xrealloc(s->ids, (s->n + 1) * sizeof(*s->ids));
	s->ids[s->n++] = a->id;
	return 0;
}

static int id_allowed(int64_t id, void *ctx)
{
	const struct id_set *s = ctx;
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n && s->ids[lo] == id;
}

int catalog_nearest(struct catalog *cat, const char *model, const float *query, uint32_t dim,
		    size_t k, const char *where, int (*each)(const struct asset *, float, void *),
		    void *ctx)
{
	struct model_info m;
	if (catalog_model_get(cat, model, &m) < 0)
		return -1;
	if (m.dimension != dim)
		return error_set(EX_DATAERR, "a %u-dimensional query for model %s, which has %u",
				 dim, model, m.dimension);
	char *name = xasprintf("vectors-%s.f32", model);
	char *path = store_cache_path(cat->store, name);
	free(name);
	struct id_set allowed = {0};
	struct vector_hit *hits = NULL;
	size_t n = 0;
	int rc = -1;
	if (where) {
		struct query_options qo = {SORT_ID, false, 0};
		if (catalog_query(cat, where, &qo, collect_id, &allowed) < 0)
			goto out;
	}
	if (!path || vector_file_refresh(cat, &m, path) < 0 ||
	    vector_file_search(path, query, dim, k, where ? id_allowed : NULL, &allowed, &hits,
			       &n) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct asset *a = catalog_asset_get(cat, hits[i].id);
		if (!a)
			goto out;
		int stop = each(a, hits[i].score, ctx);
		asset_free(a);
		if (stop)
			break;
	}
	rc = 0;
out:
	free(allowed.ids);
	free(hits);
	free(path);
	return rc;
}

int catalog_embeddings(struct catalog *cat, const char *model, const char *character,
		       int (*each)(int64_t, const char *, const float *, void *), void *ctx)
{
	sqlite3_stmt *stmt = db_prepare(
	    cat->db, "SELECT e.asset_id, c.slug, e.vector, m.dimension FROM embeddings e JOIN "
		     "models m ON m.id = e.model_id JOIN assets a ON a.id = e.asset_id LEFT JOIN "
		     "characters c ON c.id = a.character_id WHERE m.name = ?1 AND (?2 IS NULL OR "
		     "c.slug = ?2) AND a.role <> 'generated' ORDER BY e.asset_id");
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, model, -1, SQLITE_STATIC);
	if (character)
		sqlite3_bind_text(stmt, 2, character, -1, SQLITE_STATIC);
	int step;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		uint32_t dim = (uint32_t)sqlite3_column_int(stmt, 3);
		if ((size_t)sqlite3_column_bytes(stmt, 2) != dim * sizeof(float))
			continue;
		if (each(sqlite3_column_int64(stmt, 0), (const char *)sqlite3_column_text(stmt, 1),
			 sqlite3_column_blob(stmt, 2), ctx))
			break;
	}
	int rc = step == SQLITE_ROW || step == SQLITE_DONE ? 0 : db_error(cat->db, "embeddings");
	sqlite3_finalize(stmt);
	return rc;
}

static const char sql_element_vectors[] =
    "SELECT e.asset_id, m.name, m.dimension, e.vector FROM characters c JOIN assets a ON "
    "a.character_id = c.id JOIN embeddings e ON e.asset_id = a.id JOIN models m ON m.id = "
    "e.model_id WHERE c.slug = ?1 AND a.role <> 'generated' ORDER BY m.name, e.asset_id";

int catalog_element_vectors(struct catalog *cat, const char *slug,
			    int (*each)(int64_t, const char *, const float *, uint32_t, void *),
			    void *ctx)
{
	sqlite3_stmt *stmt = catalog_stmt_get(cat, sql_element_vectors);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, slug, -1, SQLITE_STATIC);
	int step;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		uint32_t dim = (uint32_t)sqlite3_column_int(stmt, 2);
		if (!dim || (size_t)sqlite3_column_bytes(stmt, 3) != dim * sizeof(float))
			continue;
		if (each(sqlite3_column_int64(stmt, 0), (const char *)sqlite3_column_text(stmt, 1),
			 sqlite3_column_blob(stmt, 3), dim, ctx))
			break;
	}
	int rc = step == SQLITE_ROW || step == SQLITE_DONE ? 0 : db_error(cat->db, "embeddings");
	catalog_stmt_put(cat, stmt);
	return rc;
}
