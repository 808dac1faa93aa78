/* merge-apply: writes a plan into the catalog. The staged blobs are
 * published first, then every row goes in one transaction that commits
 * or leaves nothing: a crash between the two leaves blobs no row names,
 * which gc reclaims, never a row without its blob. The fault points of
 * the caller's room mark each of those moments. */
#include "config.h"

#include "merge-int.h"

#include "embedding.h"
#include "fault.h"
#include "inject.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char sql_element_insert[] =
    "INSERT INTO characters(slug, kind, name, description, negative, seed, created, updated) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
static const char sql_element_update[] =
    "UPDATE characters SET name = ?2, description = ?3, negative = ?4, seed = ?5, updated = ?6 "
    "WHERE id = ?1";
static const char sql_element_tag_add[] =
    "INSERT OR IGNORE INTO character_tags(character_id, tag_id) VALUES (?1, ?2)";
static const char sql_asset_insert[] =
    "INSERT INTO assets(blob_id, character_id, role, width, height, format, source, added, "
    "duration, fps, codec) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
static const char sql_shot_insert[] =
    "INSERT INTO shots(slug, scene, position, prompt, aspect, duration, chain, still_id, chosen, "
    "created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
static const char sql_shot_update[] =
    "UPDATE shots SET scene = ?2, position = ?3, prompt = ?4, aspect = ?5, duration = ?6, "
    "chain = ?7, still_id = ?8, chosen = ?9, updated = ?10 WHERE id = ?1";
static const char sql_take_insert[] =
    "INSERT INTO shot_takes(shot_id, number, asset_id, status, error, added) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/* Steps a statement that returns no rows and hands it back. */
static int run(struct catalog *cat, sqlite3_stmt *stmt, const char *what)
{
	int step = sqlite3_step(stmt);
	catalog_stmt_put(cat, stmt);
	return step == SQLITE_DONE ? 0 : db_error(cat->db, what);
}

static void bind_text(sqlite3_stmt *stmt, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(stmt, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, i);
}

/* Runs sql (?1 the owner id) once, for a DELETE of an owner's rows. */
static int run_for(struct catalog *cat, const char *sql, int64_t id, const char *what)
{
	sqlite3_stmt *stmt = catalog_stmt_get(cat, sql);
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	return run(cat, stmt, what);
}

static int aliases_put(struct catalog *cat, int64_t id, const struct strlist *aliases)
{
	for (size_t i = 0; i < aliases->n; i++) {
		sqlite3_stmt *stmt = catalog_stmt_get(
		    cat, "INSERT INTO character_aliases(character_id, alias) VALUES (?1, ?2)");
		if (!stmt)
			return -1;
		sqlite3_bind_int64(stmt, 1, id);
		sqlite3_bind_text(stmt, 2, aliases->items[i], -1, SQLITE_STATIC);
		if (run(cat, stmt, aliases->items[i]) < 0)
			return -1;
	}
	return 0;
}

static int element_write(struct merge_plan *p, size_t ei, bool theirs, struct merge_counts *c)
{
	const struct manifest_element *e = &p->m->elements[ei];
	const struct merge_item *it = &p->items[p->element_items[ei]];
	struct catalog *cat = p->cat;
	if (it->state == MERGE_NEW) {
		sqlite3_stmt *stmt = catalog_stmt_get(cat, sql_element_insert);
		if (!stmt)
			return -1;
		bind_text(stmt, 1, e->slug);
		bind_text(stmt, 2, e->kind);
		bind_text(stmt, 3, e->name);
		bind_text(stmt, 4, e->description);
		bind_text(stmt, 5, e->negative);
		if (e->has_seed)
			sqlite3_bind_int64(stmt, 6, e->seed);
		else
			sqlite3_bind_null(stmt, 6);
		sqlite3_bind_int64(stmt, 7, e->created);
		sqlite3_bind_int64(stmt, 8, e->updated);
		if (run(cat, stmt, e->slug) < 0)
			return -1;
		p->element_ids[ei] = sqlite3_last_insert_rowid(cat->db);
		c->elements_new++;
	} else if (it->state == MERGE_CONFLICT && theirs) {
		int64_t id = p->element_ids[ei];
		sqlite3_stmt *stmt = catalog_stmt_get(cat, sql_element_update);
		if (!stmt)
			return -1;
		sqlite3_bind_int64(stmt, 1, id);
		bind_text(stmt, 2, e->name);
		bind_text(stmt, 3, e->description);
		bind_text(stmt, 4, e->negative);
		if (e->has_seed)
			sqlite3_bind_int64(stmt, 5, e->seed);
		else
			sqlite3_bind_null(stmt, 5);
		sqlite3_bind_int64(stmt, 6, e->updated);
		if (run(cat, stmt, e->slug) < 0 ||
		    run_for(cat, "DELETE FROM character_tags WHERE character_id = ?1", id,
			    e->slug) < 0 ||
		    run_for(cat, "DELETE FROM character_aliases WHERE character_id = ?1", id,
			    e->slug) < 0)
			return -1;
		c->elements_updated++;
		c->conflicts_replaced++;
	} else {
		if (it->state == MERGE_CONFLICT)
			c->conflicts_kept++;
		else
			c->elements_same++;
		return 0;
	}
	int64_t id = p->element_ids[ei];
	if (catalog_tags_apply(cat, sql_element_tag_add, id, &e->tags, true) < 0 ||
	    aliases_put(cat, id, &e->aliases) < 0)
		return error_prefix("%s", e->slug);
	return 0;
}

static int looks_write(struct merge_plan *p, size_t ei, bool theirs, struct merge_counts *c)
{
	const struct manifest_element *e = &p->m->elements[ei];
	for (size_t i = 0; i < e->nlooks; i++) {
		const struct manifest_look *l = &e->looks[i];
		enum merge_state state = p->looks[ei][i];
		const char *sql;
		if (state == MERGE_NEW)
			sql =
			    "INSERT INTO looks(character_id, name, description, negative, created) "
			    "VALUES (?1, ?2, ?3, ?4, ?5)";
		else if (state == MERGE_CONFLICT && theirs)
			sql =
			    "UPDATE looks SET description = ?3, negative = ?4 WHERE character_id = "
			    "?1 AND name = ?2 AND ?5 IS NOT NULL";
		else {
			if (state == MERGE_CONFLICT)
				c->conflicts_kept++;
			continue;
		}
		sqlite3_stmt *stmt = catalog_stmt_get(p->cat, sql);
		if (!stmt)
			return -1;
		sqlite3_bind_int64(stmt, 1, p->element_ids[ei]);
		bind_text(stmt, 2, l->name);
		bind_text(stmt, 3, l->description);
		bind_text(stmt, 4, l->negative);
		sqlite3_bind_int64(stmt, 5, time_now());
		if (run(p->cat, stmt, l->name) < 0)
			return -1;
		if (state == MERGE_NEW)
			c->looks_new++;
		else
			c->conflicts_replaced++;
	}
	return 0;
}

static int asset_write(struct merge_plan *p, size_t ai, bool theirs, struct merge_counts *c)
{
	const struct manifest_asset *a = &p->m->assets[ai];
	const struct merge_item *it = &p->items[p->asset_items[ai]];
	struct catalog *cat = p->cat;
	int64_t owner = 0;
	if (a->element)
		owner = p->element_ids[manifest_element_find(p->m, a->element) - p->m->elements];
	if (it->state == MERGE_NEW) {
		const struct manifest_blob *b = manifest_blob_find(p->m, a->hash);
		int64_t blob_id = catalog_blob_upsert(cat, a->hash, (int64_t)b->bytes, NULL);
		if (blob_id < 0)
			return -1;
		sqlite3_stmt *stmt = catalog_stmt_get(cat, sql_asset_insert);
		if (!stmt)
			return -1;
		sqlite3_bind_int64(stmt, 1, blob_id);
		if (owner)
			sqlite3_bind_int64(stmt, 2, owner);
		else
			sqlite3_bind_null(stmt, 2);
		bind_text(stmt, 3, a->role);
		sqlite3_bind_int(stmt, 4, a->width);
		sqlite3_bind_int(stmt, 5, a->height);
		bind_text(stmt, 6, a->format);
		bind_text(stmt, 7, a->source);
		sqlite3_bind_int64(stmt, 8, a->added);
		if (a->codec) {
			sqlite3_bind_double(stmt, 9, a->duration);
			sqlite3_bind_double(stmt, 10, a->fps);
			bind_text(stmt, 11, a->codec);
		}
		if (run(cat, stmt, "asset") < 0)
			return -1;
		p->asset_ids[ai] = sqlite3_last_insert_rowid(cat->db);
		c->assets_new++;
	} else if (it->state == MERGE_CONFLICT && theirs) {
		sqlite3_stmt *stmt =
		    catalog_stmt_get(cat, "UPDATE assets SET source = ?2 WHERE id = ?1");
		if (!stmt)
			return -1;
		sqlite3_bind_int64(stmt, 1, p->asset_ids[ai]);
		bind_text(stmt, 2, a->source);
		if (run(cat, stmt, "asset") < 0 ||
		    run_for(cat, "DELETE FROM asset_tags WHERE asset_id = ?1", p->asset_ids[ai],
			    "asset") < 0)
			return -1;
		c->assets_updated++;
		c->conflicts_replaced++;
	} else {
		if (it->state == MERGE_CONFLICT)
			c->conflicts_kept++;
		return 0;
	}
	if (catalog_tags_apply(cat, catalog_sql_asset_tag_add, p->asset_ids[ai], &a->tags, true) <
	    0) {
		char *name = it->name;
		return error_prefix("asset %s", name);
	}
	return 0;
}

/* A new frame's link to its video, once both have their ids. */
static int frame_write(struct merge_plan *p, size_t ai)
{
	const struct manifest_asset *a = &p->m->assets[ai];
	if (!a->has_frame || p->items[p->asset_items[ai]].state != MERGE_NEW)
		return 0;
	sqlite3_stmt *stmt = catalog_stmt_get(
	    p->cat,
	    "INSERT OR IGNORE INTO asset_frames(asset_id, video_id, t) VALUES (?1, ?2, ?3)");
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, p->asset_ids[ai]);
	sqlite3_bind_int64(stmt, 2, p->asset_ids[a->frame_of]);
	sqlite3_bind_double(stmt, 3, a->frame_t);
	return run(p->cat, stmt, "frame");
}

static int embeddings_write(struct merge_plan *p, size_t ai, bool theirs, struct merge_counts *c)
{
	const struct manifest_asset *a = &p->m->assets[ai];
	for (size_t i = 0; i < a->nembeddings; i++) {
		enum merge_state state = p->embeddings[ai][i];
		if (state == MERGE_SAME)
			continue;
		if (state == MERGE_CONFLICT && !theirs) {
			c->conflicts_kept++;
			continue;
		}
		const struct manifest_embedding *e = &a->embeddings[i];
		const struct manifest_model *mm = &p->m->models[e->model];
		struct embedding_meta meta = {
		    .network = *mm->network ? mm->network : NULL,
		    .version = *mm->version ? mm->version : NULL,
		    .has_box = e->has_box,
		    .has_score = e->has_score,
		    .score = e->score,
		    .faces = e->faces,
		};
		memcpy(meta.box, e->box, sizeof(meta.box));
		float *v = xmalloc(mm->dimension * sizeof(float));
		memcpy(v, e->vector, mm->dimension * sizeof(float));
		int rc = catalog_embedding_put(p->cat, p->asset_ids[ai], mm->name, v, mm->dimension,
					       &meta);
		free(v);
		if (rc < 0)
			return -1;
		if (state == MERGE_NEW)
			c->embeddings_new++;
		else {
			c->embeddings_updated++;
			c->conflicts_replaced++;
		}
	}
	return 0;
}

static int takes_write(struct merge_plan *p, const struct manifest_shot *s, int64_t shot_id)
{
	for (size_t i = 0; i < s->ntakes; i++) {
		const struct manifest_take *t = &s->takes[i];
		sqlite3_stmt *del = catalog_stmt_get(
		    p->cat, "DELETE FROM shot_takes WHERE shot_id = ?1 AND number = ?2");
		if (!del)
			return -1;
		sqlite3_bind_int64(del, 1, shot_id);
		sqlite3_bind_int(del, 2, t->number);
		if (run(p->cat, del, s->slug) < 0)
			return -1;
		sqlite3_stmt *stmt = catalog_stmt_get(p->cat, sql_take_insert);
		if (!stmt)
			return -1;
		sqlite3_bind_int64(stmt, 1, shot_id);
		sqlite3_bind_int(stmt, 2, t->number);
		if (t->has_asset)
			sqlite3_bind_int64(stmt, 3, p->asset_ids[t->asset]);
		else
			sqlite3_bind_null(stmt, 3);
		bind_text(stmt, 4, t->failed ? "failed" : "ok");
		bind_text(stmt, 5, t->error);
		sqlite3_bind_int64(stmt, 6, t->added);
		if (run(p->cat, stmt, s->slug) < 0)
			return -1;
	}
	return 0;
}

static void bind_shot(const struct merge_plan *p, sqlite3_stmt *stmt, int first,
		      const struct manifest_shot *s)
{
	sqlite3_bind_int64(stmt, first, s->scene);
	sqlite3_bind_double(stmt, first + 1, s->position);
	bind_text(stmt, first + 2, s->prompt);
	bind_text(stmt, first + 3, s->aspect);
	if (s->duration > 0)
		sqlite3_bind_double(stmt, first + 4, s->duration);
	else
		sqlite3_bind_null(stmt, first + 4);
	sqlite3_bind_int(stmt, first + 5, s->chain);
	if (s->has_still)
		sqlite3_bind_int64(stmt, first + 6, p->asset_ids[s->still]);
	else
		sqlite3_bind_null(stmt, first + 6);
	if (s->chosen)
		sqlite3_bind_int(stmt, first + 7, s->chosen);
	else
		sqlite3_bind_null(stmt, first + 7);
}

static int shot_write(struct merge_plan *p, size_t si, bool theirs, bool *written,
		      struct merge_counts *c)
{
	const struct manifest_shot *s = &p->m->shots[si];
	const struct merge_item *it = &p->items[p->shot_items[si]];
	*written = false;
	if (it->state == MERGE_SAME)
		return 0;
	if (it->state == MERGE_CONFLICT && !theirs) {
		c->conflicts_kept++;
		return 0;
	}
	/* The prompt's mentions resolve against the cast as it now is, the
	 * manifest's elements included, as shot new checks them. */
	struct strlist slugs = {0}, looks = {0};
	int rc = inject_mentions(p->cat, s->prompt, &slugs, &looks);
	strlist_clear(&slugs);
	strlist_clear(&looks);
	if (rc < 0)
		return error_prefix("shot %s: prompt", s->slug);
	sqlite3_stmt *stmt;
	if (it->state == MERGE_NEW) {
		stmt = catalog_stmt_get(p->cat, sql_shot_insert);
		if (!stmt)
			return -1;
		bind_text(stmt, 1, s->slug);
		bind_shot(p, stmt, 2, s);
		sqlite3_bind_int64(stmt, 10, s->created);
		sqlite3_bind_int64(stmt, 11, s->updated);
	} else {
		stmt = catalog_stmt_get(p->cat, sql_shot_update);
		if (!stmt)
			return -1;
		sqlite3_bind_int64(stmt, 1, p->shot_ids[si]);
		bind_shot(p, stmt, 2, s);
		sqlite3_bind_int64(stmt, 10, s->updated);
	}
	if (run(p->cat, stmt, s->slug) < 0)
		return -1;
	if (it->state == MERGE_NEW) {
		p->shot_ids[si] = sqlite3_last_insert_rowid(p->cat->db);
		c->shots_new++;
	} else {
		c->shots_updated++;
		c->conflicts_replaced++;
	}
	*written = true;
	return takes_write(p, s, p->shot_ids[si]);
}

/* A written shot follows the shot its manifest names when this store has
 * one of that slug (else none), and the order must stay free of cycles. */
static int shot_after_write(struct merge_plan *p, size_t si)
{
	const struct manifest_shot *s = &p->m->shots[si];
	sqlite3_stmt *stmt = catalog_stmt_get(
	    p->cat,
	    "UPDATE shots SET after_id = (SELECT id FROM shots WHERE slug = ?2 AND id <> ?1) "
	    "WHERE id = ?1");
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, p->shot_ids[si]);
	bind_text(stmt, 2, s->after);
	if (run(p->cat, stmt, s->slug) < 0)
		return -1;
	stmt = catalog_stmt_get(
	    p->cat, "WITH RECURSIVE up(id, n) AS (SELECT after_id, 1 FROM shots WHERE id = ?1 "
		    "UNION ALL SELECT s.after_id, up.n + 1 FROM shots s JOIN up ON s.id = up.id "
		    "WHERE up.n < 1000000) SELECT count(*) FROM up WHERE id = ?1");
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, p->shot_ids[si]);
	int step = sqlite3_step(stmt);
	int64_t loops = step == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
	catalog_stmt_put(p->cat, stmt);
	if (step != SQLITE_ROW)
		return db_error(p->cat->db, s->slug);
	if (loops)
		return error_set(EX_DATAERR, "shot %s: following %s would make the order a cycle",
				 s->slug, s->after);
	return 0;
}

static void fault(const struct merge_options *opts, const char *what)
{
	if (!opts->fault_prefix)
		return;
	char name[96];
	snprintf(name, sizeof(name), "%s-%s", opts->fault_prefix, what);
	fault_point(name);
}

static int publish(struct merge_plan *p, struct merge_counts *c)
{
	size_t n = 0;
	struct store_staged *batch = xcalloc(p->m->nblobs ? p->m->nblobs : 1, sizeof(*batch));
	size_t *index = xcalloc(p->m->nblobs ? p->m->nblobs : 1, sizeof(*index));
	for (size_t i = 0; i < p->m->nblobs; i++) {
		struct merge_blob *b = &p->blobs[i];
		if (!b->staged || b->st.present || !b->st.tmp_path) {
			c->blobs_present++;
			continue;
		}
		index[n] = i;
		batch[n++] = b->st;
	}
	int rc = store_publish(p->cat->store, batch, n);
	for (size_t k = 0; k < n; k++) {
		p->blobs[index[k]].st = batch[k];
		if (rc == 0) {
			c->blobs_stored++;
			c->bytes_stored += batch[k].bytes;
		}
	}
	free(batch);
	free(index);
	return rc;
}

static int write_rows(struct merge_plan *p, bool theirs, struct merge_counts *c)
{
	const struct manifest *m = p->m;
	for (size_t i = 0; i < m->nelements; i++)
		if (element_write(p, i, theirs, c) < 0 || looks_write(p, i, theirs, c) < 0)
			return -1;
	for (size_t i = 0; i < m->nassets; i++)
		if (asset_write(p, i, theirs, c) < 0)
			return -1;
	for (size_t i = 0; i < m->nassets; i++)
		if (frame_write(p, i) < 0 || embeddings_write(p, i, theirs, c) < 0)
			return -1;
	bool *written = xcalloc(m->nshots ? m->nshots : 1, sizeof(*written));
	int rc = 0;
	for (size_t i = 0; i < m->nshots && rc == 0; i++)
		rc = shot_write(p, i, theirs, &written[i], c);
	for (size_t i = 0; i < m->nshots && rc == 0; i++)
		if (written[i])
			rc = shot_after_write(p, i);
	free(written);
	return rc;
}

int merge_apply(struct merge_plan *p, const struct merge_options *opts, struct merge_counts *counts)
{
	struct merge_counts local = {0};
	struct merge_counts *c = counts ? counts : &local;
	memset(c, 0, sizeof(*c));
	if (p->conflicts && opts->side == MERGE_REFUSE)
		return error_set(EX_DATAERR,
				 "%zu conflict%s with this store; nothing imported (--ours keeps "
				 "this store's fields, --theirs takes the bundle's)",
				 p->conflicts, p->conflicts == 1 ? "" : "s");
	if (merge_plan_complete(p) < 0)
		return -1;
	fault(opts, "staged");
	if (publish(p, c) < 0)
		return -1;
	if (catalog_begin(p->cat) < 0)
		return -1;
	if (write_rows(p, opts->side == MERGE_THEIRS, c) < 0) {
		catalog_end(p->cat, false);
		return -1;
	}
	fault(opts, "before-commit");
	if (catalog_end(p->cat, true) < 0) {
		catalog_end(p->cat, false);
		return -1;
	}
	fault(opts, "after-commit");
	return 0;
}
