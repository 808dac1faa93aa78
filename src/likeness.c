/* likeness: the scoring behind check and the sweep behind calibrate.
 * Vectors and hashes come through the catalog and the embedding service
 * through embed.c; this room must never print or parse options. */
#include "config.h"

#include "asset.h"
#include "embed.h"
#include "embedding.h"
#include "image.h"
#include "likeness.h"
#include "phash.h"
#include "query.h"
#include "thumbnail.h"
#include "util.h"
#include "vector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Vectors of references, one row of dim floats each, with their assets
 * and characters. */
struct refs {
	int64_t *ids;
	float *rows;
	char **slugs;
	size_t n;
	uint32_t dim;
};

static int collect_ref(int64_t id, const char *slug, const float *v, void *ctx)
{
	struct refs *r = ctx;
	r->ids = xrealloc(r->ids, (r->n + 1) * sizeof(*r->ids));
	r->slugs = xrealloc(r->slugs, (r->n + 1) * sizeof(*r->slugs));
	r->rows = xrealloc(r->rows, (r->n + 1) * r->dim * sizeof(float));
	r->ids[r->n] = id;
	r->slugs[r->n] = slug ? xstrdup(slug) : NULL;
	memcpy(r->rows + r->n * r->dim, v, r->dim * sizeof(float));
	r->n++;
	return 0;
}

static void refs_free(struct refs *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->slugs[i]);
	free(r->slugs);
	free(r->ids);
	free(r->rows);
}

/* ---- check ---- */

struct likeness {
	const struct profile *profile;
	char *model;
	struct refs refs;
	/* The pHashes and colour layouts of the character's pictures, for
	 * the second opinions. */
	struct catalog *cat;
	uint64_t *phashes;
	int64_t *picture_ids;
	float *palettes; /* IMAGE_PALETTE_CELLS * 3 per picture */
	size_t npictures;
};

static int collect_picture(const struct asset *a, void *ctx)
{
	struct likeness *l = ctx;
	uint64_t h;
	if (catalog_format_is_video(a->format) || !strcmp(a->role, "generated") ||
	    catalog_asset_phash(l->cat, a->id, &h) < 0)
		return 0;
	/* The colours are read from the stored thumbnail: no full decode. */
	float lab[IMAGE_PALETTE_CELLS * 3];
	char *thumb = catalog_thumbnail(l->cat, a->id);
	int got = thumb ? image_palette(thumb, lab) : -1;
	free(thumb);
	if (got < 0)
		return 0;
	size_t n = l->npictures;
	l->phashes = xrealloc(l->phashes, (n + 1) * sizeof(*l->phashes));
	l->picture_ids = xrealloc(l->picture_ids, (n + 1) * sizeof(*l->picture_ids));
	l->palettes = xrealloc(l->palettes, (n + 1) * sizeof(lab));
	l->phashes[n] = h;
	memcpy(l->palettes + n * IMAGE_PALETTE_CELLS * 3, lab, sizeof(lab));
	l->picture_ids[n] = a->id;
	l->npictures++;
	return 0;
}

struct likeness *likeness_new(struct catalog *cat, const struct profile *p,
			      const struct model_info *m, const char *slug)
{
	struct likeness *l = xcalloc(1, sizeof(*l));
	l->profile = p;
	l->model = xstrdup(m->name);
	l->cat = cat;
	l->refs.dim = m->dimension;
	if (catalog_embeddings(cat, m->name, slug, collect_ref, &l->refs) < 0)
		goto fail;
	if (!l->refs.n) {
		error_set(EX_DATAERR,
			  "@%s has no references with %s vectors (run 'troupe embed "
			  "--model %s character:%s')",
			  slug, m->name, m->name, slug);
		goto fail;
	}
	char *q = xasprintf("character:%s", slug);
	struct query_options qo = {SORT_ID, false, 0};
	int qrc = catalog_query(cat, q, &qo, collect_picture, l);
	free(q);
	if (qrc < 0)
		goto fail;
	return l;
fail:
	likeness_free(l);
	return NULL;
}

void likeness_free(struct likeness *l)
{
	if (!l)
		return;
	refs_free(&l->refs);
	free(l->phashes);
	free(l->picture_ids);
	free(l->palettes);
	free(l->model);
	free(l);
}

/* The similarity of the shot's vector to the closest reference. */
static int score_embedding(struct likeness *l, const char *shot, double threshold,
			   struct likeness_verdict *out)
{
	float *v = NULL;
	uint32_t dim = 0;
	int rc = embed_file(l->profile, shot, &v, &dim);
	if (rc == 0 && dim != l->refs.dim) {
		error_set(EX_DATAERR, "%s: a %u-dimensional vector for model %s, which has %u",
			  shot, dim, l->model, l->refs.dim);
		free(v);
		return -1;
	}
	if (rc < 0 && error_code() != EX_DATAERR)
		return -1;
	if (rc == 0 && vector_normalise(v, dim) == 0) {
		double best = -2;
		for (size_t r = 0; r < l->refs.n; r++) {
			double sim = vector_dot(v, l->refs.rows + r * l->refs.dim, dim);
			if (sim > best) {
				best = sim;
				out->similarity_ref = l->refs.ids[r];
			}
		}
		if (best > 1)
			best = 1; /* rounding of unit vectors */
		out->embedded = true;
		out->similarity = best;
		out->same = best >= threshold;
	} else {
		/* No face (or nothing the model can embed): the character is not
		 * recognisably there. The message without the shot's name: */
		const char *msg = error_message();
		size_t len = strlen(shot);
		if (!strncmp(msg, shot, len) && !strncmp(msg + len, ": ", 2))
			msg += len + 2;
		snprintf(out->reason, sizeof(out->reason), "%s", msg);
	}
	free(v);
	return 0;
}

int likeness_check(struct likeness *l, const char *shot, double threshold,
		   struct likeness_verdict *out)
{
	memset(out, 0, sizeof(*out));
	out->phash_distance = -1;
	out->palette_distance = -1;
	if (score_embedding(l, shot, threshold, out) < 0)
		return -1;
	uint64_t h;
	error_clear();
	if (l->npictures && catalog_file_phash(shot, &h) == 0)
		for (size_t i = 0; i < l->npictures; i++) {
			int d = phash_distance(h, l->phashes[i]);
			if (out->phash_distance < 0 || d < out->phash_distance) {
				out->phash_distance = d;
				out->phash_ref = l->picture_ids[i];
			}
		}
	/* The colour layout: how far the shot's colours are from the
	 * nearest of the character's pictures (mean delta E). */
	float lab[IMAGE_PALETTE_CELLS * 3];
	if (l->npictures && image_palette(shot, lab) == 0)
		for (size_t i = 0; i < l->npictures; i++) {
			double d =
			    image_palette_distance(lab, l->palettes + i * IMAGE_PALETTE_CELLS * 3);
			if (out->palette_distance < 0 || d < out->palette_distance) {
				out->palette_distance = d;
				out->palette_ref = l->picture_ids[i];
			}
		}
	error_clear();
	return 0;
}

/* ---- calibrate ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

void likeness_sweep(double *same, size_t ns, double *diff, size_t nd, double *threshold,
		    double *accuracy)
{
	qsort(same, ns, sizeof(double), cmp_double);
	qsort(diff, nd, sizeof(double), cmp_double);
	/* Both lists are sorted, so one sweep counts what lies below each
	 * candidate. */
	double best_t = same[0] - 0.01, best_acc = -1;
	size_t is = 0, id = 0;
	for (;;) {
		double t;
		if (is == 0 && id == 0)
			t = (same[0] < diff[0] ? same[0] : diff[0]) - 0.01;
		else {
			double lo = is && (!id || same[is - 1] >= diff[id - 1]) ? same[is - 1]
										: diff[id - 1];
			double hi = is < ns && (id >= nd || same[is] <= diff[id]) ? same[is]
				    : id < nd					  ? diff[id]
										  : lo + 0.02;
			t = (lo + hi) / 2;
		}
		/* pairs below t: is same ones fail, id other ones are rejected */
		double acc = ((double)(ns - is) / ns + (double)id / nd) / 2;
		if (acc > best_acc + 1e-12) {
			best_acc = acc;
			best_t = t;
		}
		if (is == ns && id == nd)
			break;
		if (id == nd || (is < ns && same[is] <= diff[id]))
			is++;
		else
			id++;
	}
	*threshold = best_t;
	*accuracy = best_acc;
}

int likeness_calibrate(struct catalog *cat, const char *model, likeness_warn_fn *on_warning,
		       void *ctx, struct likeness_calibration *out)
{
	struct refs refs = {0};
	double *same = NULL, *diff = NULL;
	size_t ns = 0, nd = 0;
	int rc = -1;
	memset(out, 0, sizeof(*out));
	struct model_info m;
	if (catalog_model_get(cat, model, &m) < 0)
		goto out;
	refs.dim = m.dimension;
	if (catalog_embeddings(cat, model, NULL, collect_ref, &refs) < 0)
		goto out;
	for (size_t i = 0; i < refs.n; i++)
		for (size_t j = i + 1; j < refs.n; j++) {
			if (!refs.slugs[i] || !refs.slugs[j])
				continue;
			double sim = vector_dot(refs.rows + i * refs.dim, refs.rows + j * refs.dim,
						refs.dim);
			if (!strcmp(refs.slugs[i], refs.slugs[j])) {
				same = xrealloc(same, (ns + 1) * sizeof(double));
				same[ns++] = sim;
			} else {
				diff = xrealloc(diff, (nd + 1) * sizeof(double));
				diff[nd++] = sim;
			}
		}
	if (!ns || !nd) {
		error_set(EX_DATAERR,
			  "model %s: calibrating needs at least two characters, one of them "
			  "with two references that have vectors (%zu same-character and "
			  "%zu other-character pairs now)",
			  model, ns, nd);
		goto out;
	}
	likeness_sweep(same, ns, diff, nd, &out->threshold, &out->balanced_accuracy);
	if (out->balanced_accuracy < 0.9 && on_warning) {
		char *msg = xasprintf("model %s separates these characters poorly (balanced "
				      "accuracy %.0f%%): add more references, or check them "
				      "with 'troupe nearest'",
				      model, 100 * out->balanced_accuracy);
		on_warning(msg, ctx);
		free(msg);
	}
	if (catalog_model_set_threshold(cat, model, out->threshold) < 0)
		goto out;
	out->same_pairs = ns;
	out->other_pairs = nd;
	for (size_t k = 0; k < ns; k++)
		out->same_mean += same[k] / ns;
	for (size_t k = 0; k < nd; k++)
		out->other_mean += diff[k] / nd;
	out->same_min = same[0];
	out->other_max = diff[nd - 1];
	rc = 0;
out:
	free(same);
	free(diff);
	refs_free(&refs);
	return rc;
}
