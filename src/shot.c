/* shot: the film's shots, their order, stills and takes. Invariants kept
 * here: a shot's prompt mentions only registered elements; following
 * (after_id) never forms a cycle, so every shot has a place in the film;
 * a chosen take exists, succeeded and still has its asset. Every write is
 * one transaction, and nothing here prints. Over 800 lines: those
 * invariants span shots, stills and takes, which share the ordering and
 * the checks; the cut (cut.c) and the rendering (render.c) live apart. */
#include "config.h"

#include "asset.h"
#include "catalog-int.h"
#include "character.h"
#include "frames.h"
#include "ingest.h"
#include "inject.h"
#include "shot.h"
#include "take-check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void shot_free(struct shot *s)
{
	if (!s)
		return;
	free(s->slug);
	free(s->after);
	free(s->prompt);
	free(s->aspect);
	for (size_t i = 0; i < s->ntakes; i++) {
		free(s->takes[i].error);
		take_check_free(s->takes[i].check);
	}
	free(s->takes);
	free(s);
}

void shot_list_free(struct shot **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		shot_free(list[i]);
	free(list);
}

int shot_aspect_check(const char *aspect)
{
	unsigned w, h;
	int used = 0;
	if (sscanf(aspect, "%3u:%3u%n", &w, &h, &used) != 2 || (size_t)used != strlen(aspect) ||
	    aspect[0] < '1' || aspect[0] > '9' || w < 1 || w > 100 || h < 1 || h > 100 ||
	    strspn(aspect, "0123456789:") != strlen(aspect))
		return error_set(EX_DATAERR,
				 "aspect '%s': write it as W:H, two whole numbers from 1 to 100 "
				 "(16:9, 9:16, 1:1)",
				 aspect);
	return 0;
}

static int spec_check(struct catalog *cat, const struct shot_spec *s)
{
	if (s->slug && catalog_slug_check(s->slug) < 0)
		return -1;
	if (s->aspect && shot_aspect_check(s->aspect) < 0)
		return -1;
	if (s->has_duration && !(s->duration > 0 && s->duration <= 3600))
		return error_set(EX_DATAERR,
				 "duration %g: a shot lasts more than 0 and at most "
				 "3600 seconds",
				 s->duration);
	if (s->has_position && !isfinite(s->position))
		return error_set(EX_DATAERR, "position: not a finite number");
	if (s->prompt) {
		if (text_check("prompt", s->prompt) < 0)
			return -1;
		struct strlist slugs = {0}, looks = {0};
		int rc = inject_mentions(cat, s->prompt, &slugs, &looks);
		strlist_clear(&slugs);
		strlist_clear(&looks);
		if (rc < 0)
			return error_prefix("prompt");
	}
	return 0;
}

/* The id of the shot slug names; 0 with EX_NOINPUT when none. */
static int64_t shot_id(struct catalog *cat, const char *slug)
{
	sqlite3_stmt *stmt = catalog_stmt_get(cat, "SELECT id FROM shots WHERE slug = ?1");
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, slug, -1, SQLITE_STATIC);
	int step = sqlite3_step(stmt);
	int64_t id = step == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
	catalog_stmt_put(cat, stmt);
	if (step == SQLITE_DONE)
		return error_set(EX_NOINPUT, "%s: no such shot (see 'troupe shot list')", slug);
	if (step != SQLITE_ROW)
		return db_error(cat->db, slug);
	return id;
}

static int exec_ids(struct catalog *cat, const char *sql, int64_t a, int64_t b)
{
	sqlite3_stmt *stmt = db_prepare(cat->db, sql);
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, a);
	if (sqlite3_bind_parameter_count(stmt) > 1)
		sqlite3_bind_int64(stmt, 2, b);
	int rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : db_error(cat->db, "shot");
	sqlite3_finalize(stmt);
	return rc;
}

/* Whether making shot follow after would close a loop: it would when
 * shot is after itself or is among the shots after follows. */
static int would_cycle(struct catalog *cat, int64_t shot, int64_t after)
{
	sqlite3_stmt *stmt = db_prepare(
	    cat->db, "WITH RECURSIVE up(id, slug, next) AS (SELECT id, slug, after_id FROM shots "
		     "WHERE id = ?2 UNION SELECT s.id, s.slug, s.after_id FROM shots s JOIN up "
		     "ON s.id = up.next) SELECT 1 FROM up WHERE id = ?1");
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, shot);
	sqlite3_bind_int64(stmt, 2, after);
	int step = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return db_error(cat->db, "shot order");
	return step == SQLITE_ROW;
}

static int64_t scene_of(struct catalog *cat, int64_t id)
{
	sqlite3_stmt *stmt = db_prepare(cat->db, "SELECT scene FROM shots WHERE id = ?1");
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	int64_t scene = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 1;
	sqlite3_finalize(stmt);
	return scene;
}

static double next_position(struct catalog *cat)
{
	sqlite3_stmt *stmt = db_prepare(cat->db, "SELECT coalesce(max(position), 0) FROM shots");
	double pos = 1;
	if (stmt && sqlite3_step(stmt) == SQLITE_ROW)
		pos = floor(sqlite3_column_double(stmt, 0)) + 1;
	sqlite3_finalize(stmt);
	return pos;
}

int catalog_shot_new(struct catalog *cat, const struct shot_spec *spec)
{
	if (!spec->slug)
		return error_set(EX_USAGE, "a shot needs an id");
	if (spec_check(cat, spec) < 0)
		return -1;
	if (spec->after && !*spec->after)
		return error_set(EX_USAGE, "--after: name the shot this one follows");
	if (db_begin(cat->db) < 0)
		return -1;
	sqlite3_stmt *stmt = NULL;
	int64_t after = 0;
	if (spec->after) {
		if (strcmp(spec->after, spec->slug) == 0) {
			error_set(EX_DATAERR, "%s --after %s: a shot cannot follow itself",
				  spec->slug, spec->after);
			goto fail;
		}
		if ((after = shot_id(cat, spec->after)) <= 0)
			goto fail;
	}
	int64_t scene = spec->has_scene ? spec->scene : after ? scene_of(cat, after) : 1;
	double position = spec->has_position ? spec->position : next_position(cat);
	int64_t now = time_now();
	stmt = db_prepare(cat->db,
			  "INSERT INTO shots(slug, scene, position, after_id, prompt, aspect, "
			  "duration, chain, created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
			  "?8, ?9, ?9)");
	if (!stmt)
		goto fail;
	sqlite3_bind_text(stmt, 1, spec->slug, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, scene);
	sqlite3_bind_double(stmt, 3, position);
	if (after)
		sqlite3_bind_int64(stmt, 4, after);
	sqlite3_bind_text(stmt, 5, spec->prompt ? spec->prompt : "", -1, SQLITE_STATIC);
	if (spec->aspect)
		sqlite3_bind_text(stmt, 6, spec->aspect, -1, SQLITE_STATIC);
	if (spec->has_duration)
		sqlite3_bind_double(stmt, 7, spec->duration);
	sqlite3_bind_int(stmt, 8, spec->set_chain && spec->chain);
	sqlite3_bind_int64(stmt, 9, now);
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		if (sqlite3_errcode(cat->db) == SQLITE_CONSTRAINT)
			error_set(EX_DATAERR, "%s: a shot with this id already exists", spec->slug);
		else
			db_error(cat->db, spec->slug);
		goto fail;
	}
	sqlite3_finalize(stmt);
	if (db_commit(cat->db) < 0)
		goto fail_done;
	return 0;
fail:
	sqlite3_finalize(stmt);
fail_done:
	db_rollback(cat->db);
	return -1;
}

static int update_field(struct catalog *cat, int64_t id, const char *sql, int type,
			const void *value)
{
	sqlite3_stmt *stmt = db_prepare(cat->db, sql);
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	if (type == SQLITE_TEXT)
		sqlite3_bind_text(stmt, 2, value, -1, SQLITE_STATIC);
	else if (type == SQLITE_FLOAT)
		sqlite3_bind_double(stmt, 2, *(const double *)value);
	else if (type == SQLITE_INTEGER)
		sqlite3_bind_int64(stmt, 2, *(const int64_t *)value);
	int rc = 0;
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		if (sqlite3_errcode(cat->db) == SQLITE_CONSTRAINT)
			rc = error_set(EX_DATAERR, "%s: a shot with this id already exists",
				       type == SQLITE_TEXT ? (const char *)value : "");
		else
			rc = db_error(cat->db, "shot");
	}
	sqlite3_finalize(stmt);
	return rc;
}

int catalog_shot_edit(struct catalog *cat, const char *slug, const struct shot_spec *e)
{
	if (spec_check(cat, e) < 0)
		return -1;
	if (db_begin(cat->db) < 0)
		return -1;
	int64_t id = shot_id(cat, slug);
	if (id <= 0)
		goto fail;
	if (e->after && *e->after) {
		int64_t after = shot_id(cat, e->after);
		if (after <= 0)
			goto fail;
		int cycle = would_cycle(cat, id, after);
		if (cycle < 0)
			goto fail;
		if (cycle) {
			if (strcmp(slug, e->after) == 0)
				error_set(EX_DATAERR, "%s --after %s: a shot cannot follow itself",
					  slug, e->after);
			else
				error_set(EX_DATAERR,
					  "%s --after %s: a cycle (%s already comes after %s)",
					  slug, e->after, e->after, slug);
			goto fail;
		}
		if (update_field(cat, id, "UPDATE shots SET after_id = ?2 WHERE id = ?1",
				 SQLITE_INTEGER, &after) < 0)
			goto fail;
	} else if (e->after &&
		   update_field(cat, id, "UPDATE shots SET after_id = NULL WHERE id = ?1",
				SQLITE_NULL, NULL) < 0) {
		goto fail;
	}
	int64_t chain = e->chain;
	int64_t now = time_now();
	if ((e->slug && update_field(cat, id, "UPDATE shots SET slug = ?2 WHERE id = ?1",
				     SQLITE_TEXT, e->slug) < 0) ||
	    (e->has_scene && update_field(cat, id, "UPDATE shots SET scene = ?2 WHERE id = ?1",
					  SQLITE_INTEGER, &e->scene) < 0) ||
	    (e->has_position &&
	     update_field(cat, id, "UPDATE shots SET position = ?2 WHERE id = ?1", SQLITE_FLOAT,
			  &e->position) < 0) ||
	    (e->prompt && update_field(cat, id, "UPDATE shots SET prompt = ?2 WHERE id = ?1",
				       SQLITE_TEXT, e->prompt) < 0) ||
	    (e->aspect && update_field(cat, id, "UPDATE shots SET aspect = ?2 WHERE id = ?1",
				       SQLITE_TEXT, e->aspect) < 0) ||
	    (e->has_duration &&
	     update_field(cat, id, "UPDATE shots SET duration = ?2 WHERE id = ?1", SQLITE_FLOAT,
			  &e->duration) < 0) ||
	    (e->set_chain && update_field(cat, id, "UPDATE shots SET chain = ?2 WHERE id = ?1",
					  SQLITE_INTEGER, &chain) < 0) ||
	    update_field(cat, id, "UPDATE shots SET updated = ?2 WHERE id = ?1", SQLITE_INTEGER,
			 &now) < 0 ||
	    db_commit(cat->db) < 0)
		goto fail;
	return 0;
fail:
	db_rollback(cat->db);
	return -1;
}

/* ---- reading ---- */

static const char sql_shot_select[] =
    "SELECT s.id, s.slug, s.scene, s.position, p.slug, s.prompt, s.aspect, s.duration, "
    "s.chain, s.still_id, s.chosen, s.created, s.updated, s.after_id FROM shots s "
    "LEFT JOIN shots p ON p.id = s.after_id ";

static struct shot *shot_from_row(sqlite3_stmt *row, int64_t *after_id)
{
	struct shot *s = xcalloc(1, sizeof(*s));
	s->id = sqlite3_column_int64(row, 0);
	s->slug = catalog_column_text(row, 1);
	s->scene = sqlite3_column_int64(row, 2);
	s->position = sqlite3_column_double(row, 3);
	s->after = catalog_column_text(row, 4);
	s->prompt = catalog_column_text(row, 5);
	s->aspect = catalog_column_text(row, 6);
	s->duration = sqlite3_column_double(row, 7);
	s->chain = sqlite3_column_int(row, 8) != 0;
	s->still_id = sqlite3_column_int64(row, 9);
	s->chosen = sqlite3_column_int(row, 10);
	s->created = sqlite3_column_int64(row, 11);
	s->updated = sqlite3_column_int64(row, 12);
	if (after_id)
		*after_id = sqlite3_column_int64(row, 13);
	return s;
}

static int shot_fill_takes(struct catalog *cat, struct shot *s)
{
	sqlite3_stmt *stmt = catalog_stmt_get(
	    cat, "SELECT number, asset_id, request_id, status = 'failed', error, added "
		 "FROM shot_takes WHERE shot_id = ?1 ORDER BY number");
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, s->id);
	int step;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		s->takes = xrealloc(s->takes, (s->ntakes + 1) * sizeof(*s->takes));
		struct shot_take *t = &s->takes[s->ntakes++];
		t->number = sqlite3_column_int(stmt, 0);
		t->asset_id = sqlite3_column_int64(stmt, 1);
		t->request_id = sqlite3_column_int64(stmt, 2);
		t->failed = sqlite3_column_int(stmt, 3) != 0;
		t->error = catalog_column_text(stmt, 4);
		t->added = sqlite3_column_int64(stmt, 5);
		t->check = NULL;
	}
	catalog_stmt_put(cat, stmt);
	if (step != SQLITE_DONE)
		return db_error(cat->db, s->slug);
	return take_check_fill(cat, s);
}

struct shot *catalog_shot_get(struct catalog *cat, const char *slug)
{
	struct strbuf sql = STRBUF_INIT;
	sb_adds(&sql, sql_shot_select);
	sb_adds(&sql, "WHERE s.slug = ?1");
	sqlite3_stmt *stmt = catalog_stmt_get(cat, sql.buf);
	sb_release(&sql);
	if (!stmt)
		return NULL;
	sqlite3_bind_text(stmt, 1, slug, -1, SQLITE_STATIC);
	struct shot *s = NULL;
	int step = sqlite3_step(stmt);
	if (step == SQLITE_ROW)
		s = shot_from_row(stmt, NULL);
	else if (step == SQLITE_DONE)
		error_set(EX_NOINPUT, "%s: no such shot (see 'troupe shot list')", slug);
	else
		db_error(cat->db, slug);
	catalog_stmt_put(cat, stmt);
	if (s && shot_fill_takes(cat, s) < 0) {
		shot_free(s);
		return NULL;
	}
	return s;
}

/* Film order is a walk: the rows come sorted by scene, position and id;
 * each shot that follows no other starts a run, and every shot is placed
 * right after the one it follows. No cycle exists (edit refuses one), so
 * every shot is reached. */
struct order_walk {
	struct shot **rows;
	int64_t *after;
	bool *placed;
	size_t n;
	struct shot **out;
	size_t nout;
};

static void place(struct order_walk *w, size_t i)
{
	w->placed[i] = true;
	w->out[w->nout++] = w->rows[i];
	for (size_t k = 0; k < w->n; k++)
		if (!w->placed[k] && w->after[k] == w->rows[i]->id)
			place(w, k);
}

int catalog_shot_list(struct catalog *cat, struct shot ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	struct strbuf sql = STRBUF_INIT;
	sb_adds(&sql, sql_shot_select);
	sb_adds(&sql, "ORDER BY s.scene, s.position, s.id");
	sqlite3_stmt *stmt = db_prepare(cat->db, sql.buf);
	sb_release(&sql);
	if (!stmt)
		return -1;
	struct order_walk w = {0};
	int step;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		w.rows = xrealloc(w.rows, (w.n + 1) * sizeof(*w.rows));
		w.after = xrealloc(w.after, (w.n + 1) * sizeof(*w.after));
		w.rows[w.n] = shot_from_row(stmt, &w.after[w.n]);
		w.n++;
	}
	sqlite3_finalize(stmt);
	int rc = 0;
	if (step != SQLITE_DONE) {
		rc = db_error(cat->db, "shots");
		goto out;
	}
	w.placed = xcalloc(w.n ? w.n : 1, sizeof(*w.placed));
	w.out = xcalloc(w.n ? w.n : 1, sizeof(*w.out));
	for (size_t i = 0; i < w.n; i++)
		if (!w.placed[i] && !w.after[i])
			place(&w, i);
	/* Unreachable only if the index was edited by hand into a loop:
	 * those shots still come, last, rather than vanish. */
	for (size_t i = 0; i < w.n; i++)
		if (!w.placed[i])
			place(&w, i);
	for (size_t i = 0; i < w.nout && rc == 0; i++)
		rc = shot_fill_takes(cat, w.out[i]);
	if (rc == 0) {
		*out = w.out;
		*n = w.nout;
		w.out = NULL;
	} else {
		shot_list_free(w.out, w.nout);
		w.out = NULL;
	}
	w.n = 0;
out:
	for (size_t i = 0; i < w.n; i++)
		shot_free(w.rows[i]);
	free(w.rows);
	free(w.after);
	free(w.placed);
	free(w.out);
	return rc;
}

char *catalog_shot_previous(struct catalog *cat, const char *slug)
{
	struct shot *s = catalog_shot_get(cat, slug);
	if (!s)
		return NULL;
	char *prev = s->after ? xstrdup(s->after) : NULL;
	shot_free(s);
	if (prev)
		return prev;
	struct shot **list;
	size_t n;
	if (catalog_shot_list(cat, &list, &n) < 0)
		return NULL;
	for (size_t i = 1; i < n && !prev; i++)
		if (strcmp(list[i]->slug, slug) == 0)
			prev = xstrdup(list[i - 1]->slug);
	if (!prev && n && strcmp(list[0]->slug, slug) == 0)
		error_set(EX_DATAERR, "%s: the first shot; no shot comes before it", slug);
	shot_list_free(list, n);
	return prev;
}

int catalog_shot_rm(struct catalog *cat, const char *slug)
{
	if (db_begin(cat->db) < 0)
		return -1;
	int64_t id = shot_id(cat, slug);
	if (id <= 0 ||
	    exec_ids(cat,
		     "UPDATE shots SET after_id = (SELECT after_id FROM shots WHERE id = ?1) "
		     "WHERE after_id = ?1",
		     id, 0) < 0 ||
	    exec_ids(cat, "DELETE FROM shots WHERE id = ?1", id, 0) < 0 || db_commit(cat->db) < 0) {
		db_rollback(cat->db);
		return -1;
	}
	return 0;
}

/* ---- stills and takes ---- */

/* The asset a word names when it is not a file: an id or hash prefix. */
static int resolve_input(struct catalog *cat, const char *input, int64_t *asset_id, bool *is_file)
{
	*asset_id = 0;
	*is_file = access(input, F_OK) == 0;
	if (*is_file)
		return 0;
	if (catalog_asset_resolve(cat, input, asset_id) < 0)
		return error_set(EX_NOINPUT, "%s: neither a file nor an asset", input);
	return 0;
}

static int asset_kind_check(struct catalog *cat, int64_t id, const char *input, bool video)
{
	struct asset *a = catalog_asset_get(cat, id);
	if (!a)
		return -1;
	bool is_video = catalog_format_is_video(a->format);
	asset_free(a);
	if (is_video != video)
		return error_set(EX_DATAERR, "%s: asset #%lld is %s, not %s", input, (long long)id,
				 is_video ? "a video" : "a picture",
				 video ? "a video" : "a picture");
	return 0;
}

static int take_insert(struct catalog *cat, int64_t shot, int64_t asset_id, int64_t request_id,
		       const char *error, int *number)
{
	sqlite3_stmt *next = db_prepare(
	    cat->db, "SELECT coalesce(max(number), 0) + 1 FROM shot_takes WHERE shot_id = ?1");
	sqlite3_stmt *ins = db_prepare(
	    cat->db, "INSERT INTO shot_takes(shot_id, number, asset_id, request_id, status, "
		     "error, added) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
	int rc = -1;
	if (!next || !ins)
		goto out;
	sqlite3_bind_int64(next, 1, shot);
	if (sqlite3_step(next) != SQLITE_ROW) {
		db_error(cat->db, "takes");
		goto out;
	}
	*number = sqlite3_column_int(next, 0);
	sqlite3_bind_int64(ins, 1, shot);
	sqlite3_bind_int(ins, 2, *number);
	if (asset_id)
		sqlite3_bind_int64(ins, 3, asset_id);
	if (request_id)
		sqlite3_bind_int64(ins, 4, request_id);
	sqlite3_bind_text(ins, 5, error ? "failed" : "ok", -1, SQLITE_STATIC);
	if (error)
		sqlite3_bind_text(ins, 6, error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ins, 7, time_now());
	if (sqlite3_step(ins) != SQLITE_DONE) {
		if (sqlite3_errcode(cat->db) == SQLITE_CONSTRAINT)
			error_set(EX_DATAERR, "asset #%lld is already a take of this shot",
				  (long long)asset_id);
		else
			db_error(cat->db, "take");
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(next);
	sqlite3_finalize(ins);
	return rc;
}

/* Stores the files among inputs (each checked to be a video or a
 * picture) and resolves the rest, then calls record with every asset id
 * in order inside the transaction the rows are added in. */
typedef int record_fn(struct catalog *cat, int64_t shot, const int64_t *ids, size_t n, void *ctx);

static int attach(struct catalog *cat, const char *slug, char *const *inputs, size_t n, bool video,
		  record_fn *record, void *ctx)
{
	int64_t shot = shot_id(cat, slug);
	if (shot <= 0)
		return -1;
	int64_t *ids = xcalloc(n ? n : 1, sizeof(*ids));
	bool *from_file = xcalloc(n ? n : 1, sizeof(*from_file));
	struct add_batch *b = catalog_add_begin(cat, NULL, "generated", NULL);
	int rc = -1;
	bool begun = false;
	if (!b)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (resolve_input(cat, inputs[i], &ids[i], &from_file[i]) < 0)
			goto out;
		if (!from_file[i]) {
			if (asset_kind_check(cat, ids[i], inputs[i], video) < 0)
				goto out;
			continue;
		}
		const char *format;
		if (video && catalog_add_video(b, inputs[i]) < 0)
			goto out;
		if (!video) {
			if (catalog_file_is_video(inputs[i], &format)) {
				error_set(EX_DATAERR, "%s: a video (%s), not a picture", inputs[i],
					  format);
				goto out;
			}
			if (catalog_add_file(b, inputs[i]) < 0)
				goto out;
		}
	}
	if (catalog_begin(cat) < 0)
		goto out;
	begun = true;
	if (catalog_add_count(b) && catalog_add_commit(b) < 0)
		goto out;
	for (size_t i = 0, k = 0; i < n; i++) {
		if (!from_file[i])
			continue;
		const char *hash, *path;
		bool existed;
		catalog_add_result(b, k++, &ids[i], &hash, &path, &existed);
	}
	if (record(cat, shot, ids, n, ctx) < 0)
		goto out;
	rc = catalog_end(cat, true);
	begun = rc < 0;
out:
	if (begun)
		catalog_end(cat, false);
	catalog_add_free(b);
	free(ids);
	free(from_file);
	return rc;
}

static int record_takes(struct catalog *cat, int64_t shot, const int64_t *ids, size_t n, void *ctx)
{
	int *first = ctx;
	for (size_t i = 0; i < n; i++) {
		int number;
		if (take_insert(cat, shot, ids[i], 0, NULL, &number) < 0)
			return -1;
		if (i == 0)
			*first = number;
	}
	return exec_ids(cat, "UPDATE shots SET updated = ?2 WHERE id = ?1", shot, time_now());
}

int catalog_shot_take_add(struct catalog *cat, const char *slug, char *const *inputs, size_t n,
			  int *first)
{
	int number = 0;
	if (n == 0)
		return error_set(EX_USAGE, "take: name at least one video");
	int rc = attach(cat, slug, inputs, n, true, record_takes, &number);
	if (first)
		*first = number;
	return rc;
}

int catalog_shot_take_record(struct catalog *cat, const char *slug, int64_t asset_id,
			     int64_t request_id, const char *error, int *number)
{
	if (db_begin(cat->db) < 0)
		return -1;
	int64_t shot = shot_id(cat, slug);
	if (shot <= 0 || take_insert(cat, shot, asset_id, request_id, error, number) < 0 ||
	    db_commit(cat->db) < 0) {
		db_rollback(cat->db);
		return -1;
	}
	return 0;
}

static int record_still(struct catalog *cat, int64_t shot, const int64_t *ids, size_t n, void *ctx)
{
	(void)n;
	*(int64_t *)ctx = ids[0];
	return exec_ids(cat, "UPDATE shots SET still_id = ?2 WHERE id = ?1", shot, ids[0]);
}

int catalog_shot_still_set(struct catalog *cat, const char *slug, const char *input,
			   int64_t *asset_id)
{
	char *inputs[] = {(char *)input};
	return attach(cat, slug, inputs, 1, false, record_still, asset_id);
}

/* The chosen take's asset of a shot; EX_DATAERR naming it when none. */
static int chosen_asset(struct catalog *cat, const char *slug, const char *for_whom,
			int64_t *asset_id)
{
	struct shot *s = catalog_shot_get(cat, slug);
	if (!s)
		return -1;
	*asset_id = 0;
	for (size_t i = 0; i < s->ntakes; i++)
		if (s->takes[i].number == s->chosen)
			*asset_id = s->takes[i].asset_id;
	shot_free(s);
	if (!*asset_id)
		return error_set(EX_DATAERR,
				 "%s follows %s, which has no chosen take (troupe shot pick %s N)",
				 for_whom, slug, slug);
	return 0;
}

struct last_frame {
	struct add_batch *batch;
	int64_t video_id;
	int rc;
};

static int keep_last(const struct frames_taken *f, void *ctx)
{
	struct last_frame *l = ctx;
	l->rc =
	    catalog_add_frame(l->batch, f->image->data, f->image->len, f->name, l->video_id, f->t);
	return l->rc;
}

int catalog_shot_still_chain(struct catalog *cat, const char *slug, int64_t *asset_id)
{
	struct shot *s = catalog_shot_get(cat, slug);
	if (!s)
		return -1;
	bool chain = s->chain;
	shot_free(s);
	if (!chain)
		return error_set(EX_DATAERR,
				 "%s is not chained (shot edit %s --chain); name a "
				 "picture for its still",
				 slug, slug);
	char *prev = catalog_shot_previous(cat, slug);
	if (!prev)
		return -1;
	int64_t take = 0;
	int rc = chosen_asset(cat, prev, slug, &take);
	free(prev);
	if (rc < 0)
		return -1;
	struct asset *video = catalog_asset_get(cat, take);
	if (!video)
		return -1;
	struct last_frame l = {catalog_add_begin(cat, NULL, "generated", NULL), take, 0};
	struct frames_pick pick = {.last = true};
	rc = -1;
	if (!l.batch)
		goto out;
	if (frames_take(video->path, &pick, "png", keep_last, &l) != 0 || l.rc < 0)
		goto out;
	if (catalog_add_count(l.batch) != 1) {
		error_set(EX_DATAERR, "asset #%lld: no last frame could be read", (long long)take);
		goto out;
	}
	bool begun = catalog_begin(cat) == 0;
	if (!begun)
		goto out;
	const char *hash, *path;
	bool existed;
	int64_t shot = shot_id(cat, slug);
	if (shot <= 0 || catalog_add_commit(l.batch) < 0) {
		catalog_end(cat, false);
		goto out;
	}
	catalog_add_result(l.batch, 0, asset_id, &hash, &path, &existed);
	if (exec_ids(cat, "UPDATE shots SET still_id = ?2 WHERE id = ?1", shot, *asset_id) < 0 ||
	    catalog_end(cat, true) < 0) {
		catalog_end(cat, false);
		goto out;
	}
	rc = 0;
out:
	catalog_add_free(l.batch);
	asset_free(video);
	return rc;
}

int catalog_shot_pick(struct catalog *cat, const char *slug, int number)
{
	if (db_begin(cat->db) < 0)
		return -1;
	struct shot *s = catalog_shot_get(cat, slug);
	const struct shot_take *t = NULL;
	for (size_t i = 0; s && i < s->ntakes; i++)
		if (s->takes[i].number == number)
			t = &s->takes[i];
	int rc = -1;
	if (!s)
		goto out;
	if (!t) {
		if (s->ntakes)
			error_set(EX_DATAERR, "%s has no take %d (takes 1 to %d)", slug, number,
				  s->takes[s->ntakes - 1].number);
		else
			error_set(EX_DATAERR, "%s has no take %d (it has no takes yet)", slug,
				  number);
		goto out;
	}
	if (t->failed) {
		error_set(EX_DATAERR, "%s take %d failed (%s); a failed take is never chosen", slug,
			  number, t->error ? t->error : "no output");
		goto out;
	}
	if (!t->asset_id) {
		error_set(EX_DATAERR, "%s take %d: its asset was removed", slug, number);
		goto out;
	}
	int64_t chosen = number;
	rc = exec_ids(cat, "UPDATE shots SET chosen = ?2 WHERE id = ?1", s->id, chosen);
	if (rc == 0)
		rc =
		    exec_ids(cat, "UPDATE shots SET updated = ?2 WHERE id = ?1", s->id, time_now());
	if (rc == 0)
		rc = db_commit(cat->db);
out:
	if (rc < 0)
		db_rollback(cat->db);
	shot_free(s);
	return rc;
}

int catalog_shot_of_asset(struct catalog *cat, int64_t asset_id, char **slug, int *take)
{
	*slug = NULL;
	*take = 0;
	sqlite3_stmt *stmt = db_prepare(
	    cat->db,
	    "SELECT s.slug, t.number FROM shot_takes t JOIN shots s ON s.id = t.shot_id "
	    "WHERE t.asset_id = ?1 UNION ALL SELECT slug, 0 FROM shots WHERE still_id = ?1 "
	    "LIMIT 1");
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, asset_id);
	int step = sqlite3_step(stmt);
	if (step == SQLITE_ROW) {
		*slug = catalog_column_text(stmt, 0);
		*take = sqlite3_column_int(stmt, 1);
	}
	sqlite3_finalize(stmt);
	return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : db_error(cat->db, "shot");
}
