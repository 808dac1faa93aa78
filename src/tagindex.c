/* tagindex: keeps cache/postings.idx, the posting lists of every tag,
 * character and role, in step with the index, and answers from it the
 * queries made only of those terms. The invariant: the file is used only
 * when the generation in its header is meta's tag_generation, read in the
 * same read transaction as everything the answer takes from the index, and
 * when it lags it is rebuilt from rows read in that transaction. Whatever
 * keeps the file from answering (turned off, unwritable, damaged, ids too
 * large) makes the caller answer by SQL, so it is never the only way to an
 * answer, and never printed about. */
#include "config.h"

#include "catalog-int.h"
#include "posting.h"
#include "query.h"
#include "role.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char sql_generation[] = "SELECT value FROM meta WHERE key = 'tag_generation'";
static const char sql_limits[] = "SELECT (SELECT max(id) FROM assets), (SELECT max(id) FROM tags), "
				 "(SELECT max(id) FROM characters)";
static const char sql_assets[] = "SELECT id, character_id, role FROM assets ORDER BY id";
static const char sql_character_tags[] =
    "SELECT tag_id, character_id FROM character_tags ORDER BY tag_id, character_id";
static const char sql_asset_tags[] =
    "SELECT tag_id, asset_id FROM asset_tags ORDER BY tag_id, asset_id";

/* The leaves' lookups, exact (=) or GLOB as the SQL path binds them. */
static const char *const sql_tag_ids[2][2] = {
    {"SELECT id FROM tags WHERE ns = ?1 AND value = ?2",
     "SELECT id FROM tags WHERE ns = ?1 AND value GLOB ?2"},
    {"SELECT id FROM tags WHERE ns GLOB ?1 AND value = ?2",
     "SELECT id FROM tags WHERE ns GLOB ?1 AND value GLOB ?2"},
};
static const char *const sql_slug_ids[2] = {"SELECT id FROM characters WHERE slug = ?1",
					    "SELECT id FROM characters WHERE slug GLOB ?1"};
static const char *const sql_kind_ids[2] = {"SELECT id FROM characters WHERE kind = ?1",
					    "SELECT id FROM characters WHERE kind GLOB ?1"};

/* Tag and character ids past this are left to SQL: the file's directory
 * has an entry for every id up to the largest. */
#define TAGINDEX_MAX_KEY (UINT64_C(1) << 24)

int catalog_tagindex_enabled(void)
{
	const char *env = getenv("TROUPE_POSTINGS");
	if (!env || !*env || !strcmp(env, "on") || !strcmp(env, "1"))
		return 1;
	if (!strcmp(env, "off") || !strcmp(env, "0"))
		return 0;
	return error_set(EX_CONFIG, "TROUPE_POSTINGS=%s: expected on or off", env);
}

struct ids {
	uint32_t *v;
	size_t n, cap;
};

static void ids_push(struct ids *a, uint32_t id)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 16;
		a->v = xrealloc(a->v, a->cap * sizeof(*a->v));
	}
	a->v[a->n++] = id;
}

/* a ∪ b into out, all ascending. */
static void ids_union(const struct ids *a, const struct ids *b, struct ids *out)
{
	out->n = 0;
	size_t i = 0, j = 0;
	while (i < a->n || j < b->n) {
		uint32_t x;
		if (j == b->n || (i < a->n && a->v[i] < b->v[j]))
			x = a->v[i++];
		else if (i == a->n || b->v[j] < a->v[i])
			x = b->v[j++];
		else
			x = a->v[i++], j++;
		ids_push(out, x);
	}
}

struct build {
	struct posting_builder *b;
	struct ids *characters; /* by character id */
	uint64_t ncharacters;
	int64_t *ct_tag, *ct_character; /* character_tags, by tag */
	size_t nct, next_ct;
	struct ids merged, scratch;
};

/* A row id as a list index or id below limit; false for one out of range
 * (only a damaged index has one). */
static bool in_range(int64_t v, uint64_t limit)
{
	return v >= 0 && (uint64_t)v < limit;
}

/* Sets tag's list: its own assets and those of the characters it tags. */
static int flush_tag(struct build *x, int64_t tag, const struct ids *own)
{
	struct ids none = {0}, *have = &x->merged;
	x->merged.n = 0;
	ids_union(own ? own : &none, &none, &x->merged);
	for (; x->next_ct < x->nct && x->ct_tag[x->next_ct] == tag; x->next_ct++) {
		int64_t c = x->ct_character[x->next_ct];
		if (!in_range(c, x->ncharacters))
			return error_set(EX_DATAERR, "character tag of no character");
		ids_union(have, &x->characters[c], &x->scratch);
		struct ids t = x->merged;
		x->merged = x->scratch;
		x->scratch = t;
	}
	return posting_builder_set(x->b, POSTING_TAGS, (uint32_t)tag, x->merged.v, x->merged.n);
}

/* The tags carried only by characters, up to (not including) tag. */
static int flush_character_tags_before(struct build *x, int64_t tag)
{
	while (x->next_ct < x->nct && x->ct_tag[x->next_ct] < tag)
		if (flush_tag(x, x->ct_tag[x->next_ct], NULL) < 0)
			return -1;
	return 0;
}

static int read_limits(struct catalog *cat, int64_t limits[3])
{
	sqlite3_stmt *stmt = db_prepare(cat->db, sql_limits);
	if (!stmt)
		return -1;
	int rc = -1;
	if (sqlite3_step(stmt) == SQLITE_ROW) {
		for (int i = 0; i < 3; i++)
			limits[i] = sqlite3_column_int64(stmt, i);
		rc = 0;
	} else {
		db_error(cat->db, "posting lists");
	}
	sqlite3_finalize(stmt);
	return rc;
}

/* Writes path from the rows, for generation; 0 when the ids are past what
 * a file holds (SQL answers then). */
static int build_file(struct catalog *cat, const char *path, uint64_t generation)
{
	int64_t limits[3];
	if (read_limits(cat, limits) < 0)
		return -1;
	if (limits[0] < 0 || (uint64_t)limits[0] >= POSTING_MAX_ID - 64 || limits[1] < 0 ||
	    (uint64_t)limits[1] >= TAGINDEX_MAX_KEY || limits[2] < 0 ||
	    (uint64_t)limits[2] >= TAGINDEX_MAX_KEY)
		return 0;
	size_t nroles = 0;
	while (role_names[nroles])
		nroles++;
	uint64_t id_limit = (uint64_t)limits[0] + 1;
	uint32_t counts[POSTING_SECTIONS] = {(uint32_t)limits[1] + 1, (uint32_t)limits[2] + 1,
					     (uint32_t)nroles, 1};
	struct build x = {0};
	struct ids all = {0}, own = {0};
	struct ids *roles = xcalloc(nroles, sizeof(*roles));
	sqlite3_stmt *stmt = NULL;
	int rc = -1, step;
	x.ncharacters = counts[POSTING_CHARACTERS];
	x.characters = xcalloc(x.ncharacters, sizeof(*x.characters));
	x.b = posting_builder_new(generation, id_limit, counts);
	if (!x.b)
		goto out;

	if (!(stmt = db_prepare(cat->db, sql_assets)))
		goto out;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(stmt, 0);
		const char *role = (const char *)sqlite3_column_text(stmt, 2);
		if (!in_range(id, id_limit))
			goto damaged;
		ids_push(&all, (uint32_t)id);
		if (sqlite3_column_type(stmt, 1) != SQLITE_NULL) {
			int64_t c = sqlite3_column_int64(stmt, 1);
			if (!in_range(c, x.ncharacters))
				goto damaged;
			ids_push(&x.characters[c], (uint32_t)id);
		}
		for (size_t r = 0; r < nroles && role; r++)
			if (!strcmp(role, role_names[r]))
				ids_push(&roles[r], (uint32_t)id);
	}
	if (step != SQLITE_DONE)
		goto sql_failed;
	sqlite3_finalize(stmt);
	stmt = NULL;
	if (posting_builder_set(x.b, POSTING_ALL, 0, all.v, all.n) < 0)
		goto out;
	for (size_t r = 0; r < nroles; r++)
		if (posting_builder_set(x.b, POSTING_ROLES, (uint32_t)r, roles[r].v, roles[r].n) <
		    0)
			goto out;
	for (uint64_t c = 0; c < x.ncharacters; c++)
		if (posting_builder_set(x.b, POSTING_CHARACTERS, (uint32_t)c, x.characters[c].v,
					x.characters[c].n) < 0)
			goto out;

	size_t cap = 0;
	if (!(stmt = db_prepare(cat->db, sql_character_tags)))
		goto out;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		int64_t tag = sqlite3_column_int64(stmt, 0);
		if (!in_range(tag, counts[POSTING_TAGS]))
			goto damaged;
		if (x.nct == cap) {
			cap = cap ? cap * 2 : 64;
			x.ct_tag = xrealloc(x.ct_tag, cap * sizeof(*x.ct_tag));
			x.ct_character = xrealloc(x.ct_character, cap * sizeof(*x.ct_character));
		}
		x.ct_tag[x.nct] = tag;
		x.ct_character[x.nct++] = sqlite3_column_int64(stmt, 1);
	}
	if (step != SQLITE_DONE)
		goto sql_failed;
	sqlite3_finalize(stmt);
	stmt = NULL;

	/* asset_tags_by_tag gives the rows tag by tag, each tag's assets in
	 * order, so each list is made once, straight from the index. */
	if (!(stmt = db_prepare(cat->db, sql_asset_tags)))
		goto out;
	int64_t tag = -1;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		int64_t t = sqlite3_column_int64(stmt, 0), a = sqlite3_column_int64(stmt, 1);
		if (!in_range(t, counts[POSTING_TAGS]) || !in_range(a, id_limit))
			goto damaged;
		if (t != tag) {
			if (tag >= 0 && flush_tag(&x, tag, &own) < 0)
				goto out;
			if (flush_character_tags_before(&x, t) < 0)
				goto out;
			tag = t;
			own.n = 0;
		}
		ids_push(&own, (uint32_t)a);
	}
	if (step != SQLITE_DONE)
		goto sql_failed;
	if (tag >= 0 && flush_tag(&x, tag, &own) < 0)
		goto out;
	if (flush_character_tags_before(&x, INT64_MAX) < 0)
		goto out;
	rc = posting_builder_write(x.b, path);
	x.b = NULL;
	if (rc == 0)
		rc = 1;
	goto out;
damaged:
	error_set(EX_DATAERR, "posting lists: an id out of range in the index");
	goto out;
sql_failed:
	db_error(cat->db, "posting lists");
out:
	sqlite3_finalize(stmt);
	posting_builder_free(x.b);
	for (uint64_t c = 0; c < x.ncharacters; c++)
		free(x.characters[c].v);
	free(x.characters);
	for (size_t r = 0; r < nroles; r++)
		free(roles[r].v);
	free(roles);
	free(all.v);
	free(own.v);
	free(x.merged.v);
	free(x.scratch.v);
	free(x.ct_tag);
	free(x.ct_character);
	return rc;
}

/* The file at the index's generation, rebuilt first when it lags or does
 * not check; NULL (with no error) when none can serve. Inside the caller's
 * read transaction. */
static struct posting_file *fresh_file(struct catalog *cat, const char *path)
{
	sqlite3_stmt *gen = db_prepare(cat->db, sql_generation);
	if (!gen)
		return NULL;
	uint64_t generation = 0;
	bool known = sqlite3_step(gen) == SQLITE_ROW;
	if (known)
		generation = (uint64_t)sqlite3_column_int64(gen, 0);
	sqlite3_finalize(gen);
	if (!known)
		return NULL;
	struct posting_file *f = posting_file_open(path);
	if (f && posting_file_generation(f) == generation)
		return f;
	posting_file_close(f);
	if (build_file(cat, path, generation) <= 0)
		return NULL;
	f = posting_file_open(path);
	if (f && posting_file_generation(f) != generation) {
		/* Another process wrote a file of another generation between
		 * the two; this one's snapshot cannot use it. */
		posting_file_close(f);
		return NULL;
	}
	return f;
}

struct eval {
	struct catalog *cat;
	const struct posting_file *f;
	size_t words;
	uint64_t *all;
};

/* ORs into out the lists of every row id that sql, with the leaf's
 * patterns bound, gives. */
static int or_rows(struct eval *x, const char *sql, const struct query_plan *leaf,
		   enum posting_section section, uint64_t *out)
{
	sqlite3_stmt *stmt = catalog_stmt_get(x->cat, sql);
	if (!stmt)
		return -1;
	int n = 1, rc = 0, step;
	if (leaf->kind == QUERY_PLAN_TAG)
		sqlite3_bind_text(stmt, n++, leaf->ns, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, n, leaf->value, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(stmt, 0);
		/* An id the file has no list for was made after it, and
		 * no asset has it yet: the generation would have moved. */
		if (id >= 0 && posting_file_or(x->f, section, (uint64_t)id, out) < 0) {
			rc = -1;
			break;
		}
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = db_error(x->cat->db, "posting lists");
	catalog_stmt_put(x->cat, stmt);
	return rc;
}

static int eval_plan(struct eval *x, const struct query_plan *plan, uint64_t *out)
{
	switch (plan->kind) {
	case QUERY_PLAN_TAG:
		return or_rows(x, sql_tag_ids[plan->ns_glob][plan->value_glob], plan, POSTING_TAGS,
			       out);
	case QUERY_PLAN_CHARACTER:
		return or_rows(x, sql_slug_ids[plan->value_glob], plan, POSTING_CHARACTERS, out);
	case QUERY_PLAN_KIND:
		return or_rows(x, sql_kind_ids[plan->value_glob], plan, POSTING_CHARACTERS, out);
	case QUERY_PLAN_ROLE:
		/* sqlite3_strglob is the GLOB operator's own matcher. */
		for (size_t r = 0; role_names[r]; r++) {
			bool match = plan->value_glob
					 ? sqlite3_strglob(plan->value, role_names[r]) == 0
					 : strcmp(plan->value, role_names[r]) == 0;
			if (match && posting_file_or(x->f, POSTING_ROLES, r, out) < 0)
				return -1;
		}
		return 0;
	case QUERY_PLAN_ALL_OF:
	case QUERY_PLAN_ANY_OF:
		break;
	}
	bool all_of = plan->kind == QUERY_PLAN_ALL_OF;
	if (all_of)
		memcpy(out, x->all, x->words * sizeof(*out));
	uint64_t *operand = xcalloc(x->words, sizeof(*operand));
	int rc = 0;
	for (size_t i = 0; i < plan->nchildren && rc == 0; i++) {
		const struct query_plan *c = plan->children[i];
		memset(operand, 0, x->words * sizeof(*operand));
		if ((rc = eval_plan(x, c, operand)) < 0)
			break;
		for (size_t w = 0; w < x->words; w++) {
			uint64_t v = c->negated ? x->all[w] & ~operand[w] : operand[w];
			out[w] = all_of ? out[w] & v : out[w] | v;
		}
	}
	free(operand);
	return rc;
}

/* The bitmap of plan's matches: 1 with *bits (the caller frees) and
 * *words, 0 when the lists cannot answer, -1 with an error. */
static int tagindex_eval(struct catalog *cat, const struct query_plan *plan, uint64_t **bits,
			 size_t *words)
{
	*bits = NULL;
	*words = 0;
	int enabled = catalog_tagindex_enabled();
	/* Inside a caller's transaction the generation may count rows that
	 * are not committed yet, and a file made from them could outlive a
	 * rollback. */
	if (enabled <= 0 || !sqlite3_get_autocommit(cat->db))
		return enabled;
	char *path = store_cache_path(cat->store, "postings.idx");
	if (!path || db_exec(cat->db, "BEGIN") < 0) {
		free(path);
		return -1;
	}
	struct eval x = {cat, NULL, 0, NULL};
	struct posting_file *f = fresh_file(cat, path);
	int rc = 0;
	if (f) {
		x.f = f;
		x.words = posting_file_words(f);
		x.all = xcalloc(x.words ? x.words : 1, sizeof(*x.all));
		uint64_t *out = xcalloc(x.words ? x.words : 1, sizeof(*out));
		if (posting_file_or(f, POSTING_ALL, 0, x.all) == 0 &&
		    eval_plan(&x, plan, out) == 0) {
			for (size_t w = 0; w < x.words; w++)
				out[w] &= x.all[w];
			*bits = out;
			*words = x.words;
			rc = 1;
		} else {
			free(out);
			/* A damaged list: the file goes, to be made again by
			 * the next query, and this one is answered by SQL. */
			if (error_code() == EX_DATAERR)
				unlink(path);
		}
		free(x.all);
	}
	posting_file_close(f);
	db_exec(cat->db, "COMMIT");
	free(path);
	if (rc == 0)
		error_clear();
	return rc;
}

int catalog_tagindex_count(struct catalog *cat, const struct query_plan *plan, int64_t *count)
{
	uint64_t *bits;
	size_t words;
	int rc = tagindex_eval(cat, plan, &bits, &words);
	if (rc == 1)
		*count = (int64_t)posting_bits_count(bits, words);
	free(bits);
	return rc;
}

int catalog_tagindex_ids(struct catalog *cat, const struct query_plan *plan, bool from_top,
			 int64_t limit, int64_t **ids, size_t *n)
{
	uint64_t *bits;
	size_t words;
	*ids = NULL;
	*n = 0;
	int rc = tagindex_eval(cat, plan, &bits, &words);
	if (rc == 1) {
		uint64_t total = posting_bits_count(bits, words);
		size_t max = limit > 0 && (uint64_t)limit < total ? (size_t)limit : (size_t)total;
		*ids = xcalloc(max ? max : 1, sizeof(**ids));
		*n = posting_bits_ids(bits, words, from_top, *ids, max);
	}
	free(bits);
	return rc;
}
