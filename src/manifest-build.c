/* manifest-build: the manifest of a selection, read from the catalog. A
 * selection is closed before it is written: an element's assets, a
 * shot's still, takes and mentioned elements, and a frame's video all
 * come along, so that the manifest resolves on its own in any store.
 * Each blob is read once for its SHA-256. It reads; it never writes. */
#include "config.h"

#include "asset.h"
#include "catalog-int.h"
#include "character.h"
#include "inject.h"
#include "look.h"
#include "manifest.h"
#include "sha256.h"
#include "shot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The ids and slugs gathered so far, each once, in the order found. */
struct gather {
	int64_t *assets;
	size_t nassets, alloc;
	struct strlist elements;
	struct strlist whole; /* elements taken with all their assets */
};

static bool has_string(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->items[i], s) == 0)
			return true;
	return false;
}

/* Appends; unique_assets() sorts and drops repeats once all are in. */
static void add_asset(struct gather *g, int64_t id)
{
	if (g->nassets == g->alloc) {
		g->alloc = g->alloc ? 2 * g->alloc : 64;
		g->assets = xrealloc(g->assets, g->alloc * sizeof(*g->assets));
	}
	g->assets[g->nassets++] = id;
}

static void add_element(struct gather *g, const char *slug)
{
	if (!has_string(&g->elements, slug))
		strlist_push(&g->elements, slug);
}

static int add_whole_element(struct catalog *cat, struct gather *g, const char *slug_or_alias)
{
	struct character *c = catalog_character_get(cat, slug_or_alias);
	if (!c)
		return -1;
	add_element(g, c->slug);
	int rc = 0;
	if (!has_string(&g->whole, c->slug)) {
		strlist_push(&g->whole, c->slug);
		sqlite3_stmt *stmt = catalog_stmt_get(
		    cat, "SELECT id FROM assets WHERE character_id = ?1 ORDER BY id");
		if (!stmt) {
			character_free(c);
			return -1;
		}
		sqlite3_bind_int64(stmt, 1, c->id);
		int step;
		while ((step = sqlite3_step(stmt)) == SQLITE_ROW)
			add_asset(g, sqlite3_column_int64(stmt, 0));
		if (step != SQLITE_DONE)
			rc = db_error(cat->db, c->slug);
		catalog_stmt_put(cat, stmt);
	}
	character_free(c);
	return rc;
}

static int query_each(const struct asset *a, void *ctx)
{
	struct gather *g = ctx;
	add_asset(g, a->id);
	if (a->character)
		add_element(g, a->character);
	return 0;
}

static int add_shot(struct catalog *cat, struct gather *g, const struct shot *s)
{
	if (s->still_id)
		add_asset(g, s->still_id);
	for (size_t i = 0; i < s->ntakes; i++)
		if (s->takes[i].asset_id)
			add_asset(g, s->takes[i].asset_id);
	struct inject_span *spans;
	size_t n = inject_mention_spans(s->prompt, &spans);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *slug = catalog_character_slug(cat, spans[i].slug);
		/* A mention of nobody stays text: shot checks mentions when it
		 * writes a prompt, and an element removed since is not ours. */
		if (slug)
			rc = add_whole_element(cat, g, slug);
		else
			error_clear();
		free(slug);
	}
	inject_spans_free(spans, n);
	return rc;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void unique_assets(struct gather *g)
{
	if (g->nassets < 2)
		return;
	qsort(g->assets, g->nassets, sizeof(*g->assets), cmp_i64);
	size_t n = 1;
	for (size_t i = 1; i < g->nassets; i++)
		if (g->assets[i] != g->assets[n - 1])
			g->assets[n++] = g->assets[i];
	g->nassets = n;
}

static size_t asset_index(const struct gather *g, int64_t id)
{
	const int64_t *p = bsearch(&id, g->assets, g->nassets, sizeof(*g->assets), cmp_i64);
	return (size_t)(p - g->assets);
}

static bool asset_gathered(const struct gather *g, int64_t id)
{
	return bsearch(&id, g->assets, g->nassets, sizeof(*g->assets), cmp_i64) != NULL;
}

static int fill_element(struct catalog *cat, const char *slug, struct manifest_element *e)
{
	struct character *c = catalog_character_get(cat, slug);
	if (!c)
		return -1;
	e->slug = xstrdup(c->slug);
	e->kind = xstrdup(c->kind ? c->kind : "character");
	e->name = xstrdup(c->name);
	e->description = xstrdup(c->description ? c->description : "");
	e->negative = xstrdup(c->negative ? c->negative : "");
	e->has_seed = c->has_seed;
	e->seed = c->seed;
	for (size_t i = 0; i < c->tags.n; i++)
		strlist_push(&e->tags, c->tags.items[i]);
	for (size_t i = 0; i < c->aliases.n; i++)
		strlist_push(&e->aliases, c->aliases.items[i]);
	e->created = c->created;
	e->updated = c->updated;
	int rc = 0;
	if (strcmp(e->kind, "character") == 0) {
		struct look **looks;
		size_t n;
		rc = catalog_look_list(cat, c->slug, &looks, &n);
		if (rc == 0) {
			e->looks = xcalloc(n ? n : 1, sizeof(*e->looks));
			e->nlooks = n;
			for (size_t i = 0; i < n; i++) {
				e->looks[i].name = xstrdup(looks[i]->name);
				e->looks[i].description = xstrdup(looks[i]->description);
				e->looks[i].negative = xstrdup(looks[i]->negative);
				look_free(looks[i]);
			}
			free(looks);
		}
	}
	character_free(c);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sort_strings(struct strlist *l)
{
	if (l->n > 1)
		qsort(l->items, l->n, sizeof(*l->items), cmp_str);
}

static int cmp_look(const void *a, const void *b)
{
	return strcmp(((const struct manifest_look *)a)->name,
		      ((const struct manifest_look *)b)->name);
}

static const char sql_embeddings[] =
    "SELECT m.name, m.dimension, coalesce(m.network, ''), coalesce(m.version, ''), e.vector, "
    "e.box_x, e.box_y, e.box_w, e.box_h, e.score, e.faces FROM embeddings e "
    "JOIN models m ON m.id = e.model_id WHERE e.asset_id = ?1 ORDER BY m.name";

static size_t model_index(struct manifest *m, const char *name, uint32_t dim, const char *network,
			  const char *version)
{
	for (size_t i = 0; i < m->nmodels; i++)
		if (strcmp(m->models[i].name, name) == 0)
			return i;
	m->models = xrealloc(m->models, (m->nmodels + 1) * sizeof(*m->models));
	struct manifest_model *model = &m->models[m->nmodels];
	model->name = xstrdup(name);
	model->dimension = dim;
	model->network = xstrdup(network);
	model->version = xstrdup(version);
	return m->nmodels++;
}

static int fill_embeddings(struct catalog *cat, struct manifest *m, int64_t asset_id,
			   struct manifest_asset *a)
{
	sqlite3_stmt *stmt = catalog_stmt_get(cat, sql_embeddings);
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, asset_id);
	int step, rc = 0;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		uint32_t dim = (uint32_t)sqlite3_column_int(stmt, 1);
		int bytes = sqlite3_column_bytes(stmt, 4);
		if (dim == 0 || (size_t)bytes != (size_t)dim * sizeof(float)) {
			rc = error_set(EX_SOFTWARE, "asset %lld: a vector of %d bytes for %u-d",
				       (long long)asset_id, bytes, dim);
			break;
		}
		a->embeddings =
		    xrealloc(a->embeddings, (a->nembeddings + 1) * sizeof(*a->embeddings));
		struct manifest_embedding *e = &a->embeddings[a->nembeddings++];
		memset(e, 0, sizeof(*e));
		e->model = model_index(m, (const char *)sqlite3_column_text(stmt, 0), dim,
				       (const char *)sqlite3_column_text(stmt, 2),
				       (const char *)sqlite3_column_text(stmt, 3));
		e->vector = xmalloc((size_t)bytes);
		memcpy(e->vector, sqlite3_column_blob(stmt, 4), (size_t)bytes);
		if (sqlite3_column_type(stmt, 5) != SQLITE_NULL) {
			e->has_box = true;
			for (int k = 0; k < 4; k++)
				e->box[k] = sqlite3_column_double(stmt, 5 + k);
		}
		if (sqlite3_column_type(stmt, 9) != SQLITE_NULL) {
			e->has_score = true;
			e->score = sqlite3_column_double(stmt, 9);
		}
		e->faces = sqlite3_column_int(stmt, 10);
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = db_error(cat->db, "embeddings");
	catalog_stmt_put(cat, stmt);
	return rc;
}

static int fill_asset(struct catalog *cat, struct manifest *m, const struct gather *g, size_t i)
{
	struct asset *a = catalog_asset_get(cat, g->assets[i]);
	if (!a)
		return -1;
	struct manifest_asset *out = &m->assets[i];
	memcpy(out->hash, a->hash, sizeof(out->hash));
	out->element = a->character ? xstrdup(a->character) : NULL;
	out->role = xstrdup(a->role);
	for (size_t k = 0; k < a->tags.n; k++)
		strlist_push(&out->tags, a->tags.items[k]);
	sort_strings(&out->tags);
	out->width = a->width;
	out->height = a->height;
	out->format = xstrdup(a->format);
	out->source = a->source ? xstrdup(a->source) : NULL;
	out->added = a->added;
	if (a->codec) {
		out->duration = a->duration;
		out->fps = a->fps;
		out->codec = xstrdup(a->codec);
	}
	if (a->frame_of && asset_gathered(g, a->frame_of)) {
		out->has_frame = true;
		out->frame_of = asset_index(g, a->frame_of);
		out->frame_t = a->frame_t;
	}
	asset_free(a);
	return fill_embeddings(cat, m, g->assets[i], out);
}

/* A frame's video comes with it (a frame without its video would lose
 * what it was taken from); a video is never itself a frame. */
static int close_frames(struct catalog *cat, struct gather *g)
{
	size_t n = g->nassets;
	for (size_t i = 0; i < n; i++) {
		struct asset *a = catalog_asset_get(cat, g->assets[i]);
		if (!a)
			return -1;
		if (a->frame_of)
			add_asset(g, a->frame_of);
		asset_free(a);
	}
	return 0;
}

static int blob_sha256(struct catalog *cat, const char *hash, char out[SHA256_HEX + 1],
		       uint64_t *bytes)
{
	int fd = store_open_blob(cat->store, hash);
	if (fd < 0)
		return -1;
	struct sha256_ctx ctx;
	sha256_init(&ctx);
	size_t chunk = 1 << 20;
	unsigned char *buf = xmalloc(chunk);
	int rc = 0;
	*bytes = 0;
	for (;;) {
		ssize_t n = read(fd, buf, chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = error_set(EX_IOERR, "blob %s: %s", hash, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		sha256_update(&ctx, buf, (size_t)n);
		*bytes += (uint64_t)n;
	}
	free(buf);
	close(fd);
	uint8_t digest[32];
	sha256_final(&ctx, digest);
	sha256_hex(digest, out);
	return rc;
}

static int cmp_blob(const void *a, const void *b)
{
	return strcmp(((const struct manifest_blob *)a)->hash,
		      ((const struct manifest_blob *)b)->hash);
}

static int fill_blobs(struct catalog *cat, struct manifest *m, manifest_progress_fn *progress,
		      void *ctx)
{
	m->blobs = xcalloc(m->nassets ? m->nassets : 1, sizeof(*m->blobs));
	for (size_t i = 0; i < m->nassets; i++)
		memcpy(m->blobs[i].hash, m->assets[i].hash, STORE_HASH_HEX + 1);
	qsort(m->blobs, m->nassets, sizeof(*m->blobs), cmp_blob);
	for (size_t i = 0; i < m->nassets; i++)
		if (!m->nblobs || strcmp(m->blobs[m->nblobs - 1].hash, m->blobs[i].hash) != 0)
			m->blobs[m->nblobs++] = m->blobs[i];
	for (size_t i = 0; i < m->nblobs; i++) {
		if (progress)
			progress(i, m->nblobs, ctx);
		/* The size read is the one the bundle carries: a blob the
		 * index misremembers is fsck's to report, not ours to copy. */
		if (blob_sha256(cat, m->blobs[i].hash, m->blobs[i].sha256, &m->blobs[i].bytes) < 0)
			return -1;
	}
	if (progress)
		progress(m->nblobs, m->nblobs, ctx);
	return 0;
}

static int fill_shot(struct catalog *cat, const struct gather *g, const char *slug,
		     struct manifest_shot *out)
{
	struct shot *s = catalog_shot_get(cat, slug);
	if (!s)
		return -1;
	out->slug = xstrdup(s->slug);
	out->scene = s->scene;
	out->position = s->position;
	out->after = s->after ? xstrdup(s->after) : NULL;
	out->prompt = xstrdup(s->prompt ? s->prompt : "");
	out->aspect = s->aspect ? xstrdup(s->aspect) : NULL;
	out->duration = s->duration;
	out->chain = s->chain;
	if (s->still_id) {
		out->has_still = true;
		out->still = asset_index(g, s->still_id);
	}
	out->takes = xcalloc(s->ntakes ? s->ntakes : 1, sizeof(*out->takes));
	for (size_t i = 0; i < s->ntakes; i++) {
		struct manifest_take *t = &out->takes[out->ntakes++];
		t->number = s->takes[i].number;
		t->failed = s->takes[i].failed;
		t->error = s->takes[i].error ? xstrdup(s->takes[i].error) : NULL;
		t->added = s->takes[i].added;
		if (s->takes[i].asset_id) {
			t->has_asset = true;
			t->asset = asset_index(g, s->takes[i].asset_id);
		}
	}
	out->chosen = s->chosen;
	out->created = s->created;
	out->updated = s->updated;
	shot_free(s);
	return 0;
}

struct manifest *manifest_build(struct catalog *cat, const struct manifest_selection *sel,
				manifest_progress_fn *progress, void *ctx)
{
	struct gather g = {0};
	struct manifest *m = xcalloc(1, sizeof(*m));
	m->version = MANIFEST_VERSION;
	struct strlist shots = {0};
	int rc = -1;
	for (size_t i = 0; i < sel->nelements; i++)
		if (add_whole_element(cat, &g, sel->elements[i]) < 0)
			goto out;
	struct query_options qo = {0};
	if (sel->query && catalog_query(cat, sel->query, &qo, query_each, &g) < 0)
		goto out;
	for (size_t i = 0; i < sel->nshots; i++) {
		struct shot *s = catalog_shot_get(cat, sel->shots[i]);
		if (!s)
			goto out;
		int added = has_string(&shots, s->slug) ? 0 : add_shot(cat, &g, s);
		if (added == 0 && !has_string(&shots, s->slug))
			strlist_push(&shots, s->slug);
		shot_free(s);
		if (added < 0)
			goto out;
	}
	unique_assets(&g);
	if (close_frames(cat, &g) < 0)
		goto out;
	unique_assets(&g);

	m->assets = xcalloc(g.nassets ? g.nassets : 1, sizeof(*m->assets));
	for (size_t i = 0; i < g.nassets; i++)
		if (m->nassets++, fill_asset(cat, m, &g, i) < 0)
			goto out;
	for (size_t i = 0; i < m->nassets; i++)
		if (m->assets[i].element)
			add_element(&g, m->assets[i].element);
	sort_strings(&g.elements);
	m->elements = xcalloc(g.elements.n ? g.elements.n : 1, sizeof(*m->elements));
	for (size_t i = 0; i < g.elements.n; i++) {
		m->nelements++;
		if (fill_element(cat, g.elements.items[i], &m->elements[i]) < 0)
			goto out;
		sort_strings(&m->elements[i].tags);
		sort_strings(&m->elements[i].aliases);
		if (m->elements[i].nlooks > 1)
			qsort(m->elements[i].looks, m->elements[i].nlooks,
			      sizeof(*m->elements[i].looks), cmp_look);
	}
	if (m->nmodels > 1) {
		/* Sorted by name, so the embeddings' indexes move with them. */
		size_t *to = xmalloc(m->nmodels * sizeof(*to));
		struct manifest_model *sorted = xmalloc(m->nmodels * sizeof(*sorted));
		for (size_t i = 0; i < m->nmodels; i++) {
			size_t rank = 0;
			for (size_t k = 0; k < m->nmodels; k++)
				rank += strcmp(m->models[k].name, m->models[i].name) < 0;
			to[i] = rank;
			sorted[rank] = m->models[i];
		}
		memcpy(m->models, sorted, m->nmodels * sizeof(*sorted));
		for (size_t i = 0; i < m->nassets; i++)
			for (size_t k = 0; k < m->assets[i].nembeddings; k++)
				m->assets[i].embeddings[k].model =
				    to[m->assets[i].embeddings[k].model];
		free(sorted);
		free(to);
	}
	m->shots = xcalloc(shots.n ? shots.n : 1, sizeof(*m->shots));
	for (size_t i = 0; i < shots.n; i++)
		if (m->nshots++, fill_shot(cat, &g, shots.items[i], &m->shots[i]) < 0)
			goto out;
	if (m->nassets == 0 && m->nelements == 0 && m->nshots == 0) {
		error_set(EX_DATAERR, "nothing selected: no element, asset or shot");
		goto out;
	}
	if (fill_blobs(cat, m, progress, ctx) < 0)
		goto out;
	rc = 0;
out:
	free(g.assets);
	strlist_clear(&g.elements);
	strlist_clear(&g.whole);
	strlist_clear(&shots);
	if (rc < 0) {
		manifest_free(m);
		return NULL;
	}
	return m;
}
