/* take-check: each take of a shot sampled and judged by drift.c against
 * the characters the shot mentions, and the verdict kept in take_checks.
 * Invariants: a take's recorded check is whole (its row and every
 * character's figures are written in one transaction, the old ones
 * deleted in it); nothing is recorded for a take the check could not
 * finish; everything a take was checked with is decided, and every
 * character's references loaded, before the first take is scanned. */
#include "config.h"

#include "asset.h"
#include "catalog-int.h"
#include "character.h"
#include "embed.h"
#include "embedding.h"
#include "inject.h"
#include "likeness.h"
#include "shot.h"
#include "take-check.h"
#include "video.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void take_check_free(struct take_check *c)
{
	if (!c)
		return;
	free(c->verdict);
	free(c->model);
	free(c->threshold_from);
	free(c->reason);
	for (size_t i = 0; i < c->ncast; i++) {
		free(c->cast[i].character);
		free(c->cast[i].look);
		free(c->cast[i].verdict);
		free(c->cast[i].looks_like);
	}
	free(c->cast);
	free(c);
}

/* ---- reading ---- */

static const char sql_checks[] =
    "SELECT number, verdict, model, threshold, threshold_from, rate, sustain, frames, reason, "
    "checked FROM take_checks WHERE shot_id = ?1 ORDER BY number";
static const char sql_cast[] =
    "SELECT number, character, look, verdict, worst, worst_at, first_drift, found, "
    "frames_below, looks_like FROM take_check_cast WHERE shot_id = ?1 ORDER BY number, place";

static double column_or(sqlite3_stmt *stmt, int i, double none)
{
	return sqlite3_column_type(stmt, i) == SQLITE_NULL ? none : sqlite3_column_double(stmt, i);
}

static struct shot_take *take_numbered(struct shot *s, int number)
{
	for (size_t i = 0; i < s->ntakes; i++)
		if (s->takes[i].number == number)
			return &s->takes[i];
	return NULL;
}

int take_check_fill(struct catalog *cat, struct shot *s)
{
	sqlite3_stmt *stmt = catalog_stmt_get(cat, sql_checks);
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, s->id);
	int step;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct shot_take *t = take_numbered(s, sqlite3_column_int(stmt, 0));
		if (!t)
			continue;
		struct take_check *c = xcalloc(1, sizeof(*c));
		c->verdict = catalog_column_text(stmt, 1);
		c->model = catalog_column_text(stmt, 2);
		c->threshold = sqlite3_column_double(stmt, 3);
		c->threshold_from = catalog_column_text(stmt, 4);
		c->rate = sqlite3_column_double(stmt, 5);
		c->sustain = sqlite3_column_double(stmt, 6);
		c->frames = sqlite3_column_int(stmt, 7);
		c->reason = catalog_column_text(stmt, 8);
		c->checked = sqlite3_column_int64(stmt, 9);
		take_check_free(t->check);
		t->check = c;
	}
	catalog_stmt_put(cat, stmt);
	if (step != SQLITE_DONE)
		return db_error(cat->db, s->slug);
	if (!(stmt = catalog_stmt_get(cat, sql_cast)))
		return -1;
	sqlite3_bind_int64(stmt, 1, s->id);
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct shot_take *t = take_numbered(s, sqlite3_column_int(stmt, 0));
		if (!t || !t->check)
			continue;
		struct take_check *c = t->check;
		c->cast = xrealloc(c->cast, (c->ncast + 1) * sizeof(*c->cast));
		struct take_figure *f = &c->cast[c->ncast++];
		f->character = catalog_column_text(stmt, 1);
		f->look = catalog_column_text(stmt, 2);
		f->verdict = catalog_column_text(stmt, 3);
		f->worst = column_or(stmt, 4, NAN);
		f->worst_at = column_or(stmt, 5, 0);
		f->first_drift = column_or(stmt, 6, -1);
		f->found = sqlite3_column_double(stmt, 7);
		f->frames_below = sqlite3_column_int(stmt, 8);
		f->looks_like = catalog_column_text(stmt, 9);
	}
	catalog_stmt_put(cat, stmt);
	return step == SQLITE_DONE ? 0 : db_error(cat->db, s->slug);
}

/* ---- recording ---- */

static void bind_or_null(sqlite3_stmt *stmt, int i, double v, bool has)
{
	if (has)
		sqlite3_bind_double(stmt, i, v);
	else
		sqlite3_bind_null(stmt, i);
}

static int record(struct catalog *cat, int64_t shot, int number, const struct take_check *c)
{
	sqlite3_stmt *del = NULL, *ins = NULL, *member = NULL;
	int rc = -1;
	if (db_begin(cat->db) < 0)
		return -1;
	del = db_prepare(cat->db, "DELETE FROM take_checks WHERE shot_id = ?1 AND number = ?2");
	ins = db_prepare(cat->db,
			 "INSERT INTO take_checks(shot_id, number, verdict, model, threshold, "
			 "threshold_from, rate, sustain, frames, reason, checked) VALUES "
			 "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
	member = db_prepare(
	    cat->db, "INSERT INTO take_check_cast(shot_id, number, place, character, look, "
		     "verdict, worst, worst_at, first_drift, found, frames_below, "
		     "looks_like) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
	if (!del || !ins || !member)
		goto out;
	sqlite3_bind_int64(del, 1, shot);
	sqlite3_bind_int(del, 2, number);
	if (sqlite3_step(del) != SQLITE_DONE)
		goto db_fail;
	sqlite3_bind_int64(ins, 1, shot);
	sqlite3_bind_int(ins, 2, number);
	sqlite3_bind_text(ins, 3, c->verdict, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 4, c->model, -1, SQLITE_STATIC);
	sqlite3_bind_double(ins, 5, c->threshold);
	sqlite3_bind_text(ins, 6, c->threshold_from, -1, SQLITE_STATIC);
	sqlite3_bind_double(ins, 7, c->rate);
	sqlite3_bind_double(ins, 8, c->sustain);
	sqlite3_bind_int(ins, 9, c->frames);
	if (c->reason)
		sqlite3_bind_text(ins, 10, c->reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ins, 11, c->checked);
	if (sqlite3_step(ins) != SQLITE_DONE)
		goto db_fail;
	for (size_t i = 0; i < c->ncast; i++) {
		const struct take_figure *f = &c->cast[i];
		sqlite3_reset(member);
		sqlite3_bind_int64(member, 1, shot);
		sqlite3_bind_int(member, 2, number);
		sqlite3_bind_int(member, 3, (int)i);
		sqlite3_bind_text(member, 4, f->character, -1, SQLITE_STATIC);
		sqlite3_bind_text(member, 5, f->look, -1, SQLITE_STATIC);
		sqlite3_bind_text(member, 6, f->verdict, -1, SQLITE_STATIC);
		bind_or_null(member, 7, f->worst, !isnan(f->worst));
		bind_or_null(member, 8, f->worst_at, !isnan(f->worst));
		bind_or_null(member, 9, f->first_drift, f->first_drift >= 0);
		sqlite3_bind_double(member, 10, f->found);
		sqlite3_bind_int(member, 11, f->frames_below);
		if (f->looks_like)
			sqlite3_bind_text(member, 12, f->looks_like, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(member, 12);
		if (sqlite3_step(member) != SQLITE_DONE)
			goto db_fail;
	}
	rc = db_commit(cat->db);
	goto out;
db_fail:
	db_error(cat->db, "take check");
out:
	sqlite3_finalize(del);
	sqlite3_finalize(ins);
	sqlite3_finalize(member);
	if (rc < 0)
		db_rollback(cat->db);
	return rc;
}

/* ---- checking ---- */

/* The characters a prompt mentions, each once in the order first
 * written, with the look of that mention. Other kinds have no face. */
static int cast_of(struct catalog *cat, const char *prompt, struct strlist *slugs,
		   struct strlist *looks)
{
	struct strlist all = {0}, all_looks = {0};
	int rc = inject_mentions(cat, prompt, &all, &all_looks);
	for (size_t i = 0; rc == 0 && i < all.n; i++) {
		struct character *c = catalog_character_get(cat, all.items[i]);
		if (!c) {
			rc = -1;
			break;
		}
		bool face = !c->kind || !strcmp(c->kind, "character");
		for (size_t k = 0; face && k < slugs->n; k++)
			face = strcmp(slugs->items[k], c->slug) != 0;
		if (face) {
			strlist_push(slugs, c->slug);
			strlist_push(looks, all_looks.items[i]);
		}
		character_free(c);
	}
	strlist_clear(&all);
	strlist_clear(&all_looks);
	return rc;
}

int take_check_has_cast(struct catalog *cat, const char *slug, bool *has)
{
	struct shot *s = catalog_shot_get(cat, slug);
	if (!s)
		return -1;
	struct strlist slugs = {0}, looks = {0};
	int rc = cast_of(cat, s->prompt, &slugs, &looks);
	*has = slugs.n > 0;
	strlist_clear(&slugs);
	strlist_clear(&looks);
	shot_free(s);
	return rc;
}

/* A clip's verdict over its characters, as troupe check gives it:
 * drifted (or missing) is the worst, then no face. */
static enum likeness_state clip_state(const struct drift_verdict *v, size_t n)
{
	enum likeness_state worst = LIKENESS_SAME;
	for (size_t c = 0; c < n; c++) {
		enum likeness_state st =
		    v[c].state == LIKENESS_MISSING ? LIKENESS_DRIFTED : v[c].state;
		if (st == LIKENESS_DRIFTED || (st == LIKENESS_NO_FACE && worst == LIKENESS_SAME))
			worst = st;
	}
	return worst;
}

struct run {
	const struct take_check_options *o;
	struct likeness *cast[LIKENESS_MAX_CAST];
	struct strlist slugs, looks;
	struct profile *profile;
	struct model_info model;
	double threshold, rate, sustain;
	const char *threshold_from;
};

/* Scans one take's video and fills c; -1 only when the check cannot go
 * on (the service failed). */
static int check_one(struct run *r, const char *path, struct take_check *c)
{
	size_t nc = r->slugs.n;
	struct drift_scan scan;
	memset(&scan, 0, sizeof(scan));
	struct drift_verdict v[LIKENESS_MAX_CAST];
	memset(v, 0, sizeof(v));
	c->model = xstrdup(r->model.name);
	c->threshold = r->threshold;
	c->threshold_from = xstrdup(r->threshold_from);
	c->rate = r->rate;
	c->sustain = r->sustain;
	c->checked = time_now();
	c->cast = xcalloc(nc, sizeof(*c->cast));
	c->ncast = nc;
	struct video_info info;
	enum likeness_state state = LIKENESS_UNREADABLE;
	int rc = -1;
	if (video_probe(path, &info) < 0) {
		/* A take that is no video troupe can read is a verdict. */
		c->reason = xstrdup(error_message());
		error_clear();
		for (size_t k = 0; k < nc; k++)
			v[k] = (struct drift_verdict){
			    .state = LIKENESS_UNREADABLE, .first_drift = -1, .worst = NAN};
	} else {
		if (drift_scan_video(r->cast, nc, path, r->rate, r->threshold, r->o->progress,
				     r->o->ctx, &scan) < 0)
			goto out;
		for (size_t k = 0; k < nc; k++)
			drift_judge(&scan, k, r->threshold, r->sustain, &v[k]);
		state = clip_state(v, nc);
		c->frames = (int)scan.n;
	}
	c->verdict = xstrdup(likeness_state_word(state));
	for (size_t k = 0; k < nc; k++) {
		struct take_figure *f = &c->cast[k];
		f->character = xstrdup(r->slugs.items[k]);
		f->look = xstrdup(r->looks.items[k]);
		f->verdict = xstrdup(likeness_state_word(v[k].state));
		f->worst = v[k].worst;
		f->worst_at = isnan(v[k].worst) ? 0 : v[k].worst_at;
		f->first_drift = v[k].first_drift;
		f->found = round(v[k].found_share * 1000) / 1000;
		f->frames_below = (int)v[k].below;
		f->looks_like = v[k].looks_like >= 0 && (size_t)v[k].looks_like < nc
				    ? xstrdup(r->slugs.items[v[k].looks_like])
				    : NULL;
	}
	rc = 0;
out:
	for (size_t k = 0; k < nc; k++)
		drift_verdict_clear(&v[k]);
	drift_scan_clear(&scan);
	return rc;
}

/* The threshold as troupe check takes it: given, else calibrated on
 * this store, else the one the model's profile ships. */
static int pick_threshold(struct run *r)
{
	const struct take_check_options *o = r->o;
	if (o->has_threshold) {
		r->threshold = o->threshold;
		r->threshold_from = "given";
	} else if (r->model.has_threshold) {
		r->threshold = r->model.threshold;
		r->threshold_from = "calibrated";
	} else if (r->profile->embedding.has_threshold) {
		r->threshold = r->profile->embedding.threshold;
		r->threshold_from = "default";
	} else {
		return error_set(EX_CONFIG,
				 "model %s has no threshold yet: run 'troupe calibrate --model %s' "
				 "or give --threshold",
				 r->model.name, r->model.name);
	}
	return 0;
}

/* Which takes of s are checked: those named (each must have a video), or
 * every take with one; the others are told of as passed over. */
static int choose_takes(const struct shot *s, const int *numbers, size_t n, int **out, size_t *nout)
{
	*out = xcalloc(s->ntakes ? s->ntakes : 1, sizeof(**out));
	*nout = 0;
	if (!n) {
		for (size_t i = 0; i < s->ntakes; i++)
			(*out)[(*nout)++] = s->takes[i].number;
		return 0;
	}
	for (size_t k = 0; k < n; k++) {
		const struct shot_take *t = NULL;
		for (size_t i = 0; i < s->ntakes; i++)
			if (s->takes[i].number == numbers[k])
				t = &s->takes[i];
		if (!t)
			return error_set(EX_DATAERR, "%s has no take %d", s->slug, numbers[k]);
		if (t->failed)
			return error_set(EX_DATAERR,
					 "%s take %d failed (%s): it has no video to check",
					 s->slug, numbers[k], t->error ? t->error : "no output");
		if (!t->asset_id)
			return error_set(EX_DATAERR, "%s take %d: its video was removed", s->slug,
					 numbers[k]);
		bool twice = false;
		for (size_t i = 0; i < *nout; i++)
			twice |= (*out)[i] == numbers[k];
		if (!twice)
			(*out)[(*nout)++] = numbers[k];
	}
	return 0;
}

int take_check_shot(struct catalog *cat, const char *slug, const int *numbers, size_t n,
		    const struct take_check_options *o, struct take_check_tally *tally)
{
	struct run r = {.o = o};
	struct shot *s = catalog_shot_get(cat, slug);
	int *chosen = NULL;
	size_t nchosen = 0;
	int rc = -1;
	if (!s)
		goto out;
	if (cast_of(cat, s->prompt, &r.slugs, &r.looks) < 0) {
		error_prefix("%s", slug);
		goto out;
	}
	if (!r.slugs.n) {
		error_set(EX_DATAERR,
			  "%s mentions no character: no face to check its takes against "
			  "(troupe shot edit %s --prompt \"@someone ...\")",
			  slug, slug);
		goto out;
	}
	if (r.slugs.n > LIKENESS_MAX_CAST) {
		error_set(EX_DATAERR, "%s mentions %zu characters: at most %d are checked at once",
			  slug, r.slugs.n, LIKENESS_MAX_CAST);
		goto out;
	}
	if (!s->ntakes) {
		error_set(EX_DATAERR, "%s has no takes to check (troupe shot render or take)",
			  slug);
		goto out;
	}
	if (choose_takes(s, numbers, n, &chosen, &nchosen) < 0)
		goto out;
	const char *model = o->model ? o->model : "face";
	r.rate = o->rate > 0 ? o->rate : DRIFT_DEFAULT_RATE;
	r.sustain = o->has_sustain ? o->sustain : DRIFT_DEFAULT_SUSTAIN;
	if (!(r.rate > 0 && r.rate <= 120)) {
		error_set(EX_USAGE, "--rate %g: from above 0 to 120 frames a second", r.rate);
		goto out;
	}
	if (catalog_model_get(cat, model, &r.model) < 0 ||
	    !(r.profile = embed_profile_load(model, o->profile, catalog_root(cat))) ||
	    pick_threshold(&r) < 0)
		goto out;
	for (size_t c = 0; c < r.slugs.n; c++)
		if (!(r.cast[c] = likeness_new(cat, r.profile, &r.model, r.slugs.items[c])))
			goto out;
	for (size_t i = 0; i < nchosen; i++) {
		const struct shot_take *t = take_numbered(s, chosen[i]);
		const char *why = t->failed	 ? (t->error ? t->error : "failed, no output")
				  : !t->asset_id ? "its video was removed"
						 : NULL;
		struct asset *a = why ? NULL : catalog_asset_get(cat, t->asset_id);
		if (!why && !a)
			goto out;
		if (why) {
			tally->passed_over++;
			if (o->checked)
				o->checked(slug, t->number, 0, NULL, why, o->ctx);
			continue;
		}
		struct take_check *c = xcalloc(1, sizeof(*c));
		int step = check_one(&r, a->path, c);
		if (step < 0)
			error_prefix("%s take %d", slug, t->number);
		else
			step = record(cat, s->id, t->number, c);
		if (step == 0) {
			tally->checked++;
			tally->drifted += !strcmp(c->verdict, "drifted");
			tally->faceless += !strcmp(c->verdict, "no face");
			tally->unreadable += !strcmp(c->verdict, "unreadable");
			if (o->checked)
				o->checked(slug, t->number, a->id, c, NULL, o->ctx);
		}
		take_check_free(c);
		asset_free(a);
		if (step < 0)
			goto out;
	}
	rc = 0;
out:
	for (size_t c = 0; c < LIKENESS_MAX_CAST; c++)
		likeness_free(r.cast[c]);
	profile_free(r.profile);
	strlist_clear(&r.slugs);
	strlist_clear(&r.looks);
	free(chosen);
	shot_free(s);
	return rc;
}
