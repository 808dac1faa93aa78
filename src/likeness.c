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
	struct model_info info; /* the references' network and dimension */
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
	l->info = *m;
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

const char *likeness_state_word(enum likeness_state state)
{
	switch (state) {
	case LIKENESS_SAME:
		return "same";
	case LIKENESS_DRIFTED:
		return "drifted";
	case LIKENESS_NO_FACE:
		return "no face";
	case LIKENESS_MISSING:
		return "missing";
	case LIKENESS_UNREADABLE:
		break;
	}
	return "unreadable";
}

/* The error's words without the shot's name in front. */
static void reason_from_error(const char *shot, char *reason, size_t size)
{
	const char *msg = error_message();
	size_t len = strlen(shot);
	if (!strncmp(msg, shot, len) && !strncmp(msg + len, ": ", 2))
		msg += len + 2;
	snprintf(reason, size, "%s", msg);
}

/* The similarity of a unit vector to the closest of the references. */
static double closest_ref(const struct refs *refs, const float *v, int64_t *ref)
{
	double best = -2;
	for (size_t r = 0; r < refs->n; r++) {
		double sim = vector_dot(v, refs->rows + r * refs->dim, refs->dim);
		if (sim > best) {
			best = sim;
			*ref = refs->ids[r];
		}
	}
	return best > 1 ? 1 : best; /* rounding of unit vectors */
}

void likeness_shot_clear(struct likeness_shot *s)
{
	free(s->sim);
	free(s->ref);
	free(s->boxes);
	memset(s, 0, sizeof(*s));
}

/* Scores every face of an answer against every cast member. */
static int shot_from_result(struct likeness *const *cast, size_t nc, const char *what, int rc,
			    struct embed_result *r, struct likeness_shot *out)
{
	memset(out, 0, sizeof(*out));
	out->ncast = nc;
	struct likeness *l0 = cast[0];
	if (rc == 0 &&
	    catalog_model_accepts(&l0->info, r->network, r->version, r->faces[0].dim) < 0)
		return error_prefix("%s", what);
	if (rc < 0 && rc != EMBED_NOTHING && error_code() != EX_DATAERR)
		return -1;
	if (rc == 0 && r->faces[0].dim != l0->refs.dim)
		/* A model without recorded vectors cannot say this above. */
		return error_set(EX_DATAERR,
				 "%s: a %u-dimensional vector for model %s, which has %u", what,
				 r->faces[0].dim, l0->model, l0->refs.dim);
	if (rc < 0) {
		out->state = rc == EMBED_NOTHING ? LIKENESS_NO_FACE : LIKENESS_UNREADABLE;
		reason_from_error(what, out->reason, sizeof(out->reason));
		return 0;
	}
	out->sim = xcalloc(r->n * nc, sizeof(*out->sim));
	out->ref = xcalloc(r->n * nc, sizeof(*out->ref));
	out->boxes = xcalloc(r->n, sizeof(*out->boxes));
	for (size_t f = 0; f < r->n; f++) {
		struct embed_face *face = &r->faces[f];
		if (vector_normalise(face->vector, face->dim) < 0)
			continue;
		size_t k = out->nfaces++;
		out->boxes[k].has_box = face->has_box;
		memcpy(out->boxes[k].box, face->box, sizeof(face->box));
		for (size_t c = 0; c < nc; c++)
			out->sim[k * nc + c] =
			    closest_ref(&cast[c]->refs, face->vector, &out->ref[k * nc + c]);
	}
	error_clear();
	if (!out->nfaces) {
		out->state = LIKENESS_NO_FACE;
		snprintf(out->reason, sizeof(out->reason), "no usable vector in the answer");
	}
	return 0;
}

int likeness_shot_file(struct likeness *const *cast, size_t nc, const char *path,
		       struct likeness_shot *out)
{
	struct embed_result r;
	int rc = embed_file(cast[0]->profile, path, &r);
	rc = shot_from_result(cast, nc, path, rc, &r, out);
	embed_result_clear(&r);
	return rc;
}

int likeness_shot_buffer(struct likeness *const *cast, size_t nc, const char *what,
			 const struct image_buffer *buf, struct likeness_shot *out)
{
	struct embed_result r;
	int rc = embed_buffer(cast[0]->profile, buf, &r);
	if (rc < 0 && rc != EMBED_NOTHING)
		error_prefix("%s", what);
	rc = shot_from_result(cast, nc, what, rc, &r, out);
	embed_result_clear(&r);
	return rc;
}

/* The best assignment of faces to cast members: each member at most one
 * face, each face at most one member, as many members placed as there
 * are faces, the sum of similarities the highest. Exact, by dynamic
 * programming over the subsets of members, face by face. */
void likeness_assign(const struct likeness_shot *s, int *face_of)
{
	size_t nc = s->ncast, nf = s->nfaces;
	for (size_t c = 0; c < nc; c++)
		face_of[c] = -1;
	if (!nf || !nc || nc > LIKENESS_MAX_CAST)
		return;
	size_t want = nc < nf ? nc : nf, states = (size_t)1 << nc;
	/* best[f][mask]: the highest sum over faces f.. given the members in
	 * mask are placed; a face may also be left out. */
	double *best = xmalloc((nf + 1) * states * sizeof(double));
	for (size_t mask = 0; mask < states; mask++)
		best[nf * states + mask] =
		    (size_t)__builtin_popcountll((unsigned long long)mask) == want ? 0 : -1e300;
	for (size_t f = nf; f-- > 0;)
		for (size_t mask = 0; mask < states; mask++) {
			double b = best[(f + 1) * states + mask];
			for (size_t c = 0; c < nc; c++)
				if (!(mask & ((size_t)1 << c))) {
					double v =
					    s->sim[f * nc + c] +
					    best[(f + 1) * states + (mask | ((size_t)1 << c))];
					if (v > b)
						b = v;
				}
			best[f * states + mask] = b;
		}
	size_t mask = 0;
	for (size_t f = 0; f < nf; f++) {
		double here = best[f * states + mask];
		if (here == best[(f + 1) * states + mask])
			continue;
		for (size_t c = 0; c < nc; c++)
			if (!(mask & ((size_t)1 << c)) &&
			    s->sim[f * nc + c] +
				    best[(f + 1) * states + (mask | ((size_t)1 << c))] ==
				here) {
				face_of[c] = (int)f;
				mask |= (size_t)1 << c;
				break;
			}
	}
	free(best);
}

void likeness_verdict_of(const struct likeness_shot *s, const int *face_of, size_t c,
			 double threshold, struct likeness_verdict *out)
{
	int keep_phash = out->phash_distance;
	int64_t keep_pref = out->phash_ref;
	double keep_pal = out->palette_distance;
	int64_t keep_palref = out->palette_ref;
	memset(out, 0, sizeof(*out));
	out->phash_distance = keep_phash;
	out->phash_ref = keep_pref;
	out->palette_distance = keep_pal;
	out->palette_ref = keep_palref;
	out->faces = s->nfaces;
	out->looks_like = -1;
	if (s->state == LIKENESS_NO_FACE || s->state == LIKENESS_UNREADABLE) {
		out->state = s->state;
		snprintf(out->reason, sizeof(out->reason), "%s", s->reason);
		return;
	}
	int f = face_of[c];
	if (f < 0) {
		out->state = LIKENESS_MISSING;
		snprintf(out->reason, sizeof(out->reason),
			 "%zu face%s, none left for this character", s->nfaces,
			 s->nfaces == 1 ? "" : "s");
		return;
	}
	size_t nc = s->ncast;
	out->embedded = true;
	out->face = (size_t)f;
	out->similarity = s->sim[f * nc + c];
	out->similarity_ref = s->ref[f * nc + c];
	out->has_box = s->boxes[f].has_box;
	memcpy(out->box, s->boxes[f].box, sizeof(out->box));
	out->state = out->similarity >= threshold ? LIKENESS_SAME : LIKENESS_DRIFTED;
	/* The face given to this character is more like another member: the
	 * two are bleeding into each other, or have swapped. */
	for (size_t d = 0; d < nc; d++)
		if (d != c && s->sim[f * nc + d] > out->similarity &&
		    (out->looks_like < 0 ||
		     s->sim[f * nc + d] > s->sim[f * nc + (size_t)out->looks_like]))
			out->looks_like = (int)d;
}

size_t likeness_strangers(const struct likeness_shot *s, const int *face_of, double threshold)
{
	size_t n = 0;
	for (size_t f = 0; f < s->nfaces; f++) {
		bool placed = false, known = false;
		for (size_t c = 0; c < s->ncast; c++) {
			placed |= face_of[c] == (int)f;
			known |= s->sim[f * s->ncast + c] >= threshold;
		}
		n += !placed && !known;
	}
	return n;
}

/* The second opinions: pHash and colour layout against the pictures. */
static void second_opinions(struct likeness *l, const char *shot, struct likeness_verdict *out)
{
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
}

int likeness_check_cast(struct likeness *const *cast, size_t nc, const char *shot, double threshold,
			struct likeness_verdict *out, size_t *strangers)
{
	struct likeness_shot s;
	if (likeness_shot_file(cast, nc, shot, &s) < 0) {
		likeness_shot_clear(&s);
		return -1;
	}
	int face_of[LIKENESS_MAX_CAST];
	likeness_assign(&s, face_of);
	for (size_t c = 0; c < nc; c++) {
		out[c].phash_distance = -1;
		out[c].palette_distance = -1;
		likeness_verdict_of(&s, face_of, c, threshold, &out[c]);
		if (s.state != LIKENESS_UNREADABLE)
			second_opinions(cast[c], shot, &out[c]);
	}
	if (strangers)
		*strangers = likeness_strangers(&s, face_of, threshold);
	likeness_shot_clear(&s);
	return 0;
}

int likeness_check(struct likeness *l, const char *shot, double threshold,
		   struct likeness_verdict *out)
{
	return likeness_check_cast(&l, 1, shot, threshold, out, NULL);
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

struct pairs {
	double *v;
	size_t n;
};

static void pairs_push(struct pairs *p, double sim)
{
	p->v = xrealloc(p->v, (p->n + 1) * sizeof(double));
	p->v[p->n++] = sim;
}

/* Each reference (up to LIKENESS_VARIANT_REFS a character) against
 * variants of its own picture: the face of the variant closest to the
 * reference is the reference's face. */
static int variant_pairs(struct catalog *cat, const struct model_info *m, const struct refs *refs,
			 const struct likeness_calibrate_opts *o, struct pairs *same,
			 struct likeness_calibration *out)
{
	size_t *chosen = xcalloc(refs->n ? refs->n : 1, sizeof(*chosen)), nchosen = 0;
	for (size_t i = 0; i < refs->n; i++) {
		if (!refs->slugs[i])
			continue;
		size_t before = 0;
		for (size_t k = 0; k < nchosen; k++)
			before += !strcmp(refs->slugs[chosen[k]], refs->slugs[i]);
		if (before < LIKENESS_VARIANT_REFS)
			chosen[nchosen++] = i;
	}
	size_t total = nchosen * IMAGE_VARIANT_COUNT, done = 0;
	int rc = 0;
	for (size_t k = 0; rc == 0 && k < nchosen; k++) {
		size_t i = chosen[k];
		struct asset *a = catalog_asset_get(cat, refs->ids[i]);
		if (!a) {
			rc = -1;
			break;
		}
		const float *ref = refs->rows + i * refs->dim;
		for (int kind = 0; rc == 0 && kind < IMAGE_VARIANT_COUNT; kind++, done++) {
			if (o->on_progress)
				o->on_progress(done, total, o->ctx);
			struct image_buffer buf;
			if (image_variant(a->path, (enum image_variant)kind,
					  o->profile->refs.limits.max_side, &buf) < 0) {
				/* A reference that cannot be read gives no variants;
				 * the store's check (fsck) is where it is reported. */
				image_buffer_clear(&buf);
				if (error_code() != EX_DATAERR)
					rc = -1;
				break;
			}
			struct embed_result r;
			int erc = embed_buffer(o->profile, &buf, &r);
			image_buffer_clear(&buf);
			if (erc == 0 &&
			    catalog_model_accepts(m, r.network, r.version, r.faces[0].dim) < 0)
				erc = -1;
			if (erc == 0 && r.faces[0].dim != refs->dim)
				erc =
				    error_set(EX_DATAERR,
					      "a %u-dimensional vector for model %s, which has %u",
					      r.faces[0].dim, m->name, refs->dim);
			if (erc == EMBED_NOTHING) {
				out->variant_misses++;
			} else if (erc < 0) {
				error_prefix("asset %lld, variant %s", (long long)a->id,
					     image_variant_name((enum image_variant)kind));
				rc = -1;
			} else {
				double best = -2;
				for (size_t f = 0; f < r.n; f++) {
					if (vector_normalise(r.faces[f].vector, r.faces[f].dim) < 0)
						continue;
					double sim = vector_dot(r.faces[f].vector, ref, refs->dim);
					if (sim > best)
						best = sim;
				}
				if (best > -2) {
					pairs_push(same, best > 1 ? 1 : best);
					out->variant_pairs++;
				}
			}
			embed_result_clear(&r);
		}
		asset_free(a);
	}
	if (rc == 0 && o->on_progress)
		o->on_progress(total, total, o->ctx);
	free(chosen);
	return rc;
}

static void warn(const struct likeness_calibrate_opts *o, char *msg)
{
	if (o->on_warning)
		o->on_warning(msg, o->ctx);
	free(msg);
}

int likeness_calibrate(struct catalog *cat, const char *model,
		       const struct likeness_calibrate_opts *o, struct likeness_calibration *out)
{
	struct refs refs = {0};
	struct pairs same = {0}, diff = {0};
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
			pairs_push(strcmp(refs.slugs[i], refs.slugs[j]) ? &diff : &same, sim);
		}
	/* Without other characters there is nothing to tell apart: the
	 * variants would be made for nothing. */
	if (diff.n && o->profile && variant_pairs(cat, &m, &refs, o, &same, out) < 0)
		goto out;
	if (!same.n || !diff.n) {
		error_set(EX_DATAERR,
			  "model %s: calibrating needs at least two characters with references "
			  "that have vectors, and one with two references or a reference the "
			  "model finds again in variants of it (%zu same-character and %zu "
			  "other-character pairs now)",
			  model, same.n, diff.n);
		goto out;
	}
	likeness_sweep(same.v, same.n, diff.v, diff.n, &out->threshold, &out->balanced_accuracy);
	out->same_pairs = same.n;
	out->other_pairs = diff.n;
	for (size_t k = 0; k < same.n; k++)
		out->same_mean += same.v[k] / same.n;
	for (size_t k = 0; k < diff.n; k++)
		out->other_mean += diff.v[k] / diff.n;
	out->same_min = same.v[0];
	out->other_max = diff.v[diff.n - 1];
	out->margin = out->same_min - out->other_max;
	/* When nothing overlaps, the sweep's threshold is halfway across the
	 * gap. But a new shot of a character, in another pose and light, is
	 * less like the references than they (and far less than their
	 * variants) are like each other, while another person is as unlike
	 * them as the other characters' references are: the threshold sits a
	 * quarter of the way up from the highest other-character pair. */
	if (out->margin > 0)
		out->threshold = out->other_max + LIKENESS_GAP_FRACTION * out->margin;
	if (out->balanced_accuracy < 0.9)
		warn(o, xasprintf("model %s separates these characters poorly (balanced accuracy "
				  "%.0f%%): add more references, or check them with 'troupe "
				  "nearest'",
				  model, 100 * out->balanced_accuracy));
	else if (out->margin < LIKENESS_THIN_MARGIN)
		warn(o, xasprintf("model %s: the margin is thin (lowest same-character similarity "
				  "%.4f, highest other-character %.4f): a shot a little unlike "
				  "the references may fall on the wrong side",
				  model, out->same_min, out->other_max));
	if (out->variant_misses)
		warn(o, xasprintf("model %s found nothing in %zu of %zu variants of the "
				  "references",
				  model, out->variant_misses,
				  out->variant_misses + out->variant_pairs));
	if (catalog_model_set_threshold(cat, model, out->threshold) < 0)
		goto out;
	rc = 0;
out:
	free(same.v);
	free(diff.v);
	refs_free(&refs);
	return rc;
}
