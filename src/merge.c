/* merge: a parsed manifest into the catalog (import and pull). The plan
 * compares before anything is written; blobs arrive through
 * merge_stage_blob, which verifies size, XXH3-128 and SHA-256 as the
 * bytes pass; merge_apply publishes the blobs and writes every row in one
 * transaction. Invariants: no row is written while a conflict is
 * unresolved or a blob unverified; a blob is published before a row
 * names it; nothing the store had is removed (a take, a look or an asset
 * the manifest does not name stays). The comparison is planning's, the
 * writing merge-apply.c's. */
#include "config.h"

#include "merge-int.h"

#include "asset.h"
#include "character.h"
#include "embedding.h"
#include "sha256.h"
#include "shot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *merge_what_name(enum merge_what what)
{
	static const char *const names[] = {"element", "look", "asset", "embedding", "shot"};
	return names[what];
}

const char *merge_state_name(enum merge_state state)
{
	static const char *const names[] = {"new", "same", "conflict"};
	return names[state];
}

static struct merge_item *item_add(struct merge_plan *p, enum merge_what what, char *name)
{
	if (p->nitems == p->alloc) {
		p->alloc = p->alloc ? 2 * p->alloc : 32;
		p->items = xrealloc(p->items, p->alloc * sizeof(*p->items));
	}
	struct merge_item *it = &p->items[p->nitems++];
	memset(it, 0, sizeof(*it));
	it->what = what;
	it->name = name;
	it->state = MERGE_SAME;
	return it;
}

/* Records a differing field (ours and theirs copied) and makes the item
 * a conflict. */
static void diff_add(struct merge_plan *p, struct merge_item *it, const char *field,
		     const char *ours, const char *theirs)
{
	if (it->state != MERGE_CONFLICT)
		p->conflicts++;
	it->state = MERGE_CONFLICT;
	it->diffs = xrealloc(it->diffs, (it->ndiffs + 1) * sizeof(*it->diffs));
	struct merge_diff *d = &it->diffs[it->ndiffs++];
	d->field = field;
	d->ours = xstrdup(ours ? ours : "");
	d->theirs = xstrdup(theirs ? theirs : "");
}

static void diff_text(struct merge_plan *p, struct merge_item *it, const char *field,
		      const char *ours, const char *theirs)
{
	if (strcmp(ours ? ours : "", theirs ? theirs : "") != 0)
		diff_add(p, it, field, ours, theirs);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A set of strings as one line ("a, b, c"), sorted. */
static char *set_text(const struct strlist *l)
{
	char **sorted = xmalloc((l->n ? l->n : 1) * sizeof(*sorted));
	memcpy(sorted, l->items, l->n * sizeof(*sorted));
	qsort(sorted, l->n, sizeof(*sorted), cmp_str);
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < l->n; i++) {
		if (i)
			sb_adds(&sb, ", ");
		sb_adds(&sb, sorted[i]);
	}
	free(sorted);
	return sb_detach(&sb);
}

static void diff_set(struct merge_plan *p, struct merge_item *it, const char *field,
		     const struct strlist *ours, const struct strlist *theirs)
{
	char *a = set_text(ours), *b = set_text(theirs);
	diff_text(p, it, field, a, b);
	free(a);
	free(b);
}

static char *seed_text(bool has, int64_t seed)
{
	return has ? xasprintf("%lld", (long long)seed) : xstrdup("(none)");
}

/* The local id of the element with exactly this slug: 0 when none; -1
 * with an error when the index cannot be read. */
static int64_t element_id(struct catalog *cat, const char *slug, char **kind)
{
	sqlite3_stmt *stmt =
	    catalog_stmt_get(cat, "SELECT id, kind FROM characters WHERE slug = ?1");
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, slug, -1, SQLITE_STATIC);
	int step = sqlite3_step(stmt);
	int64_t id = 0;
	if (step == SQLITE_ROW) {
		id = sqlite3_column_int64(stmt, 0);
		if (kind)
			*kind = catalog_column_text(stmt, 1);
	}
	catalog_stmt_put(cat, stmt);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return db_error(cat->db, slug);
	return id;
}

/* The slug of the element an alias belongs to here (caller frees), or
 * NULL (no error) when none. */
static char *alias_owner(struct catalog *cat, const char *alias)
{
	sqlite3_stmt *stmt = catalog_stmt_get(
	    cat, "SELECT c.slug FROM character_aliases a JOIN characters c ON c.id = "
		 "a.character_id WHERE a.alias = ?1");
	if (!stmt)
		return NULL;
	sqlite3_bind_text(stmt, 1, alias, -1, SQLITE_STATIC);
	char *slug = sqlite3_step(stmt) == SQLITE_ROW ? catalog_column_text(stmt, 0) : NULL;
	catalog_stmt_put(cat, stmt);
	return slug;
}

static int plan_looks(struct merge_plan *p, const struct manifest_element *e, size_t ei)
{
	for (size_t i = 0; i < e->nlooks; i++) {
		const struct manifest_look *l = &e->looks[i];
		struct merge_item *it =
		    item_add(p, MERGE_LOOK, xasprintf("%s/%s", e->slug, l->name));
		p->looks[ei][i] = MERGE_NEW;
		it->state = MERGE_NEW;
		if (!p->element_ids[ei])
			continue;
		struct look *ours = catalog_look_get(p->cat, e->slug, l->name);
		if (!ours) {
			if (error_code() != EX_NOINPUT)
				return -1;
			error_clear();
			continue;
		}
		it->state = MERGE_SAME;
		diff_text(p, it, "description", ours->description, l->description);
		diff_text(p, it, "negative", ours->negative, l->negative);
		p->looks[ei][i] = it->state;
		look_free(ours);
	}
	return 0;
}

static int plan_element(struct merge_plan *p, size_t ei)
{
	const struct manifest_element *e = &p->m->elements[ei];
	char *kind = NULL;
	int64_t id = element_id(p->cat, e->slug, &kind);
	if (id < 0)
		return -1;
	if (id && strcmp(kind, e->kind) != 0) {
		error_set(EX_DATAERR, "%s: the bundle's %s is a %s here", e->slug, e->kind, kind);
		free(kind);
		return -1;
	}
	free(kind);
	if (!id) {
		char *owner = alias_owner(p->cat, e->slug);
		if (owner) {
			error_set(EX_DATAERR, "%s: an alias of %s here", e->slug, owner);
			free(owner);
			return -1;
		}
	}
	for (size_t i = 0; i < e->aliases.n; i++) {
		const char *alias = e->aliases.items[i];
		char *owner = alias_owner(p->cat, alias);
		int64_t other = element_id(p->cat, alias, NULL);
		bool clash = (owner && strcmp(owner, e->slug) != 0) || other > 0;
		if (clash) {
			error_set(EX_DATAERR, "%s: its alias %s names %s here", e->slug, alias,
				  owner ? owner : alias);
			free(owner);
			return -1;
		}
		free(owner);
		if (other < 0)
			return -1;
	}
	p->element_ids[ei] = id;
	struct merge_item *it = item_add(p, MERGE_ELEMENT, xstrdup(e->slug));
	p->element_items[ei] = p->nitems - 1;
	if (!id) {
		it->state = MERGE_NEW;
		return plan_looks(p, e, ei);
	}
	struct character *c = catalog_character_get(p->cat, e->slug);
	if (!c)
		return -1;
	diff_text(p, it, "name", c->name, e->name);
	diff_text(p, it, "description", c->description, e->description);
	diff_text(p, it, "negative", c->negative, e->negative);
	char *a = seed_text(c->has_seed, c->seed), *b = seed_text(e->has_seed, e->seed);
	diff_text(p, it, "seed", a, b);
	free(a);
	free(b);
	diff_set(p, it, "tags", &c->tags, &e->tags);
	diff_set(p, it, "aliases", &c->aliases, &e->aliases);
	character_free(c);
	return plan_looks(p, e, ei);
}

/* The local element id an asset of the manifest belongs to: 0 when it
 * belongs to none, -1 when its element is new here. */
static int64_t asset_owner(const struct merge_plan *p, const struct manifest_asset *a)
{
	if (!a->element)
		return 0;
	const struct manifest_element *e = manifest_element_find(p->m, a->element);
	int64_t id = p->element_ids[e - p->m->elements];
	return id ? id : -1;
}

static char *asset_name(const struct manifest_asset *a)
{
	return xasprintf("%s %s %.8s", a->element ? a->element : "-", a->role, a->hash);
}

/* The local asset with the manifest asset's blob, element and role; 0
 * when none. */
static int64_t asset_id(struct merge_plan *p, const struct manifest_asset *a)
{
	int64_t owner = asset_owner(p, a);
	if (owner < 0)
		return 0;
	sqlite3_stmt *stmt = catalog_stmt_get(
	    p->cat, "SELECT a.id FROM assets a JOIN blobs b ON b.id = a.blob_id WHERE b.hash = ?1 "
		    "AND a.role = ?2 AND a.character_id IS ?3 ORDER BY a.id LIMIT 1");
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, a->hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, a->role, -1, SQLITE_STATIC);
	if (owner)
		sqlite3_bind_int64(stmt, 3, owner);
	else
		sqlite3_bind_null(stmt, 3);
	int step = sqlite3_step(stmt);
	int64_t id = step == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
	catalog_stmt_put(p->cat, stmt);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return db_error(p->cat->db, "assets");
	return id;
}

/* Whether the model of that name here can take the manifest's vectors:
 * -1 with the EX_DATAERR error catalog_model_accepts gives when not. */
static int plan_model(struct merge_plan *p, const struct manifest_model *mm)
{
	struct model_info info;
	if (catalog_model_get(p->cat, mm->name, &info) < 0) {
		if (error_code() != EX_NOINPUT)
			return -1;
		error_clear();
		return 0;
	}
	if (info.vectors > 0 && info.dimension != mm->dimension)
		return error_set(EX_DATAERR,
				 "model %s: the bundle's vectors have %u dimensions, this store's "
				 "%u; vectors of two dimensions never mix",
				 mm->name, mm->dimension, info.dimension);
	if (catalog_model_accepts(&info, *mm->network ? mm->network : NULL,
				  *mm->version ? mm->version : NULL, mm->dimension) < 0)
		return error_prefix("bundle");
	return 0;
}

static int plan_embeddings(struct merge_plan *p, size_t ai)
{
	const struct manifest_asset *a = &p->m->assets[ai];
	for (size_t i = 0; i < a->nembeddings; i++) {
		const struct manifest_embedding *e = &a->embeddings[i];
		const struct manifest_model *mm = &p->m->models[e->model];
		char *name = asset_name(a);
		struct merge_item *it =
		    item_add(p, MERGE_EMBEDDING, xasprintf("%s %s", name, mm->name));
		free(name);
		it->state = MERGE_NEW;
		p->embeddings[ai][i] = MERGE_NEW;
		if (!p->asset_ids[ai])
			continue;
		float *ours;
		uint32_t dim;
		if (catalog_embedding_get(p->cat, p->asset_ids[ai], mm->name, &ours, &dim) < 0) {
			if (error_code() != EX_NOINPUT)
				return -1;
			error_clear();
			continue;
		}
		/* Stored vectors are normalised again on the way in, which may
		 * move the last bit; the same vector is the same within that. */
		bool same = dim == mm->dimension;
		for (uint32_t k = 0; same && k < dim; k++)
			same = fabsf(ours[k] - e->vector[k]) <= 1e-6f;
		free(ours);
		it->state = MERGE_SAME;
		if (!same)
			diff_add(p, it, "vector", "this store's", "the bundle's");
		p->embeddings[ai][i] = it->state;
	}
	return 0;
}

static int plan_asset(struct merge_plan *p, size_t ai)
{
	const struct manifest_asset *a = &p->m->assets[ai];
	int64_t id = asset_id(p, a);
	if (id < 0)
		return -1;
	p->asset_ids[ai] = id;
	struct merge_item *it = item_add(p, MERGE_ASSET, asset_name(a));
	p->asset_items[ai] = p->nitems - 1;
	if (!id) {
		it->state = MERGE_NEW;
		return plan_embeddings(p, ai);
	}
	struct asset *ours = catalog_asset_get(p->cat, id);
	if (!ours)
		return -1;
	diff_set(p, it, "tags", &ours->tags, &a->tags);
	diff_text(p, it, "source", ours->source, a->source);
	asset_free(ours);
	return plan_embeddings(p, ai);
}

/* A shot's still or a take's asset as people read it: the asset's name. */
static char *local_asset_text(struct catalog *cat, int64_t id)
{
	if (!id)
		return xstrdup("(none)");
	struct asset *a = catalog_asset_get(cat, id);
	if (!a) {
		error_clear();
		return xstrdup("(gone)");
	}
	char *t = xasprintf("%s %s %.8s", a->character ? a->character : "-", a->role, a->hash);
	asset_free(a);
	return t;
}

static char *takes_text(struct catalog *cat, const struct shot *s)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < s->ntakes; i++) {
		char *a = local_asset_text(cat, s->takes[i].asset_id);
		sb_addf(&sb, "%s%d:%s%s", i ? ", " : "", s->takes[i].number, a,
			s->takes[i].failed ? " failed" : "");
		free(a);
	}
	return sb_detach(&sb);
}

static char *manifest_takes_text(const struct manifest *m, const struct manifest_shot *s)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < s->ntakes; i++) {
		char *a = s->takes[i].has_asset ? asset_name(&m->assets[s->takes[i].asset])
						: xstrdup("(none)");
		sb_addf(&sb, "%s%d:%s%s", i ? ", " : "", s->takes[i].number, a,
			s->takes[i].failed ? " failed" : "");
		free(a);
	}
	return sb_detach(&sb);
}

static int plan_shot(struct merge_plan *p, size_t si)
{
	const struct manifest_shot *ms = &p->m->shots[si];
	struct merge_item *it = item_add(p, MERGE_SHOT, xstrdup(ms->slug));
	p->shot_items[si] = p->nitems - 1;
	struct shot *s = catalog_shot_get(p->cat, ms->slug);
	if (!s) {
		if (error_code() != EX_NOINPUT)
			return -1;
		error_clear();
		it->state = MERGE_NEW;
		return 0;
	}
	p->shot_ids[si] = s->id;
	char a[64], b[64];
	snprintf(a, sizeof(a), "%lld", (long long)s->scene);
	snprintf(b, sizeof(b), "%lld", (long long)ms->scene);
	diff_text(p, it, "scene", a, b);
	snprintf(a, sizeof(a), "%.17g", s->position);
	snprintf(b, sizeof(b), "%.17g", ms->position);
	diff_text(p, it, "position", a, b);
	diff_text(p, it, "after", s->after, ms->after);
	diff_text(p, it, "prompt", s->prompt, ms->prompt);
	diff_text(p, it, "aspect", s->aspect, ms->aspect);
	snprintf(a, sizeof(a), "%.17g", s->duration);
	snprintf(b, sizeof(b), "%.17g", ms->duration);
	diff_text(p, it, "duration", a, b);
	diff_text(p, it, "chain", s->chain ? "yes" : "no", ms->chain ? "yes" : "no");
	char *ours = local_asset_text(p->cat, s->still_id);
	char *theirs = ms->has_still ? asset_name(&p->m->assets[ms->still]) : xstrdup("(none)");
	diff_text(p, it, "still", ours, theirs);
	free(ours);
	free(theirs);
	ours = takes_text(p->cat, s);
	theirs = manifest_takes_text(p->m, ms);
	/* Takes the store has beyond the manifest's are no conflict. */
	if (strncmp(ours, theirs, strlen(theirs)) != 0 ||
	    (ours[strlen(theirs)] != '\0' && ours[strlen(theirs)] != ','))
		diff_add(p, it, "takes", ours, theirs);
	free(ours);
	free(theirs);
	snprintf(a, sizeof(a), "%d", s->chosen);
	snprintf(b, sizeof(b), "%d", ms->chosen);
	diff_text(p, it, "chosen", a, b);
	shot_free(s);
	return 0;
}

static int cmp_blob_ptr(const void *a, const void *b)
{
	return strcmp((*(const struct manifest_blob *const *)a)->hash,
		      (*(const struct manifest_blob *const *)b)->hash);
}

struct merge_plan *merge_plan_new(struct catalog *cat, const struct manifest *m)
{
	struct merge_plan *p = xcalloc(1, sizeof(*p));
	p->cat = cat;
	p->m = m;
	pthread_mutex_init(&p->lock, NULL);
	size_t ne = m->nelements ? m->nelements : 1, na = m->nassets ? m->nassets : 1;
	size_t ns = m->nshots ? m->nshots : 1, nb = m->nblobs ? m->nblobs : 1;
	p->element_ids = xcalloc(ne, sizeof(*p->element_ids));
	p->element_items = xcalloc(ne, sizeof(*p->element_items));
	p->looks = xcalloc(ne, sizeof(*p->looks));
	for (size_t i = 0; i < m->nelements; i++)
		p->looks[i] = xcalloc(m->elements[i].nlooks + 1, sizeof(**p->looks));
	p->asset_ids = xcalloc(na, sizeof(*p->asset_ids));
	p->asset_items = xcalloc(na, sizeof(*p->asset_items));
	p->embeddings = xcalloc(na, sizeof(*p->embeddings));
	for (size_t i = 0; i < m->nassets; i++)
		p->embeddings[i] = xcalloc(m->assets[i].nembeddings + 1, sizeof(**p->embeddings));
	p->shot_ids = xcalloc(ns, sizeof(*p->shot_ids));
	p->shot_items = xcalloc(ns, sizeof(*p->shot_items));
	p->blobs = xcalloc(nb, sizeof(*p->blobs));
	p->missing = xcalloc(nb, sizeof(*p->missing));
	for (size_t i = 0; i < m->nmodels; i++)
		if (plan_model(p, &m->models[i]) < 0)
			goto fail;
	for (size_t i = 0; i < m->nelements; i++)
		if (plan_element(p, i) < 0)
			goto fail;
	for (size_t i = 0; i < m->nassets; i++)
		if (plan_asset(p, i) < 0)
			goto fail;
	for (size_t i = 0; i < m->nshots; i++)
		if (plan_shot(p, i) < 0)
			goto fail;
	/* Held from here through the commit: a blob found present is
	 * not staged, so nothing else would keep gc from freeing it before
	 * the rows naming it are committed. */
	store_lock_shared(cat->store);
	for (size_t i = 0; i < m->nblobs; i++)
		if (!store_has(cat->store, m->blobs[i].hash))
			p->missing[p->nmissing++] = &m->blobs[i];
	qsort(p->missing, p->nmissing, sizeof(*p->missing), cmp_blob_ptr);
	return p;
fail:
	merge_plan_free(p);
	return NULL;
}

void merge_plan_free(struct merge_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nitems; i++) {
		free(p->items[i].name);
		for (size_t k = 0; k < p->items[i].ndiffs; k++) {
			free(p->items[i].diffs[k].ours);
			free(p->items[i].diffs[k].theirs);
		}
		free(p->items[i].diffs);
	}
	free(p->items);
	for (size_t i = 0; i < p->m->nblobs; i++)
		if (p->blobs[i].staged)
			store_staged_discard(&p->blobs[i].st);
	for (size_t i = 0; i < p->m->nelements; i++)
		free(p->looks[i]);
	for (size_t i = 0; i < p->m->nassets; i++)
		free(p->embeddings[i]);
	free(p->looks);
	free(p->embeddings);
	free(p->element_ids);
	free(p->element_items);
	free(p->asset_ids);
	free(p->asset_items);
	free(p->shot_ids);
	free(p->shot_items);
	free(p->blobs);
	free(p->missing);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

const struct merge_item *merge_plan_items(const struct merge_plan *p, size_t *n)
{
	*n = p->nitems;
	return p->items;
}

size_t merge_plan_conflicts(const struct merge_plan *p)
{
	return p->conflicts;
}

const struct manifest_blob *const *merge_plan_missing(const struct merge_plan *p, size_t *n)
{
	*n = p->nmissing;
	return p->missing;
}

/* Counts and hashes the bytes as they pass to the store. */
struct verify_reader {
	merge_read_fn *read;
	void *ctx;
	const struct manifest_blob *blob;
	uint64_t seen;
	struct sha256_ctx sha;
};

static ssize_t verify_read(void *ctx, void *buf, size_t len)
{
	struct verify_reader *v = ctx;
	ssize_t n = v->read(v->ctx, buf, len);
	if (n <= 0)
		return n;
	v->seen += (uint64_t)n;
	if (v->seen > v->blob->bytes) {
		error_set(EX_DATAERR, "blob %s: more than the %llu bytes the manifest says",
			  v->blob->hash, (unsigned long long)v->blob->bytes);
		return -1;
	}
	sha256_update(&v->sha, buf, (size_t)n);
	return n;
}

int merge_stage_blob(struct merge_plan *p, const char *hash, merge_read_fn *read, void *ctx)
{
	const struct manifest_blob *b = manifest_blob_find(p->m, hash);
	if (!b)
		return error_set(EX_DATAERR, "blob %.64s: not named by the manifest", hash);
	struct merge_blob *mb = &p->blobs[b - p->m->blobs];
	pthread_mutex_lock(&p->lock);
	bool taken = mb->taken;
	mb->taken = true;
	/* The store takes its shared lock on the first blob staged: the
	 * first stage runs alone so that two threads never race for it. */
	bool first = !p->staged_once;
	if (!first)
		pthread_mutex_unlock(&p->lock);
	if (taken) {
		if (first)
			pthread_mutex_unlock(&p->lock);
		return error_set(EX_DATAERR, "blob %s: comes twice", hash);
	}
	struct verify_reader v = {read, ctx, b, 0, {{0}, 0, {0}, 0}};
	sha256_init(&v.sha);
	struct store_staged st;
	int rc = store_stage_reader(p->cat->store, verify_read, &v, &st);
	if (first) {
		p->staged_once = true;
		pthread_mutex_unlock(&p->lock);
	}
	if (rc == 0 && st.bytes != b->bytes)
		rc = error_set(EX_DATAERR, "blob %s: %llu bytes, the manifest says %llu", hash,
			       (unsigned long long)st.bytes, (unsigned long long)b->bytes);
	if (rc == 0 && strcmp(st.hash, b->hash) != 0)
		rc = error_set(EX_DATAERR,
			       "blob %s: XXH3-128 mismatch: its bytes hash to %s; refusing it",
			       hash, st.hash);
	if (rc == 0) {
		uint8_t digest[32];
		char hex[SHA256_HEX + 1];
		sha256_final(&v.sha, digest);
		sha256_hex(digest, hex);
		if (strcmp(hex, b->sha256) != 0)
			rc = error_set(EX_DATAERR,
				       "blob %s: SHA-256 mismatch: its bytes hash to %s, the "
				       "manifest says %s; refusing it",
				       hash, hex, b->sha256);
	}
	if (rc < 0) {
		if (st.tmp_path)
			store_staged_discard(&st);
		pthread_mutex_lock(&p->lock);
		mb->taken = false;
		pthread_mutex_unlock(&p->lock);
		return -1;
	}
	pthread_mutex_lock(&p->lock);
	mb->st = st;
	mb->staged = true;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

int merge_plan_complete(const struct merge_plan *p)
{
	for (size_t i = 0; i < p->m->nblobs; i++)
		if (!p->blobs[i].staged && !store_has(p->cat->store, p->m->blobs[i].hash))
			return error_set(EX_DATAERR, "blob %s: named by the manifest, but absent",
					 p->m->blobs[i].hash);
	return 0;
}
