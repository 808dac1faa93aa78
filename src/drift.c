/* drift: a clip sampled frame by frame through the video room, each
 * frame scored by likeness against the cast, and the sustained-stretch
 * rule that turns a series of scores into a verdict. It never prints;
 * the command draws and says. */
#include "config.h"

#include "drift.h"
#include "util.h"
#include "video.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Frames the face model sees: as embed sends a stored picture. */
#define DRIFT_FRAME_SIDE 1024
#define DRIFT_THUMB_SIDE 160

void drift_scan_clear(struct drift_scan *s)
{
	free(s->t);
	free(s->faces);
	free(s->strangers);
	free(s->sim);
	free(s->ref);
	free(s->face);
	free(s->looks_like);
	free(s->box);
	free(s->has_box);
	for (size_t i = 0; i < s->nthumbs; i++)
		image_buffer_clear(&s->thumbs[i]);
	memset(s, 0, sizeof(*s));
}

void drift_verdict_clear(struct drift_verdict *v)
{
	free(v->span_from);
	free(v->span_to);
	memset(v, 0, sizeof(*v));
}

struct walk {
	struct likeness *const *cast;
	size_t nc;
	const char *path;
	struct drift_scan *out;
	size_t cap, expected;
	double thumb_every, next_thumb;
	double threshold;
	drift_progress_fn *progress;
	void *ctx;
	int rc;
};

static void grow(struct walk *w)
{
	struct drift_scan *s = w->out;
	if (s->n < w->cap)
		return;
	w->cap = w->cap ? w->cap * 2 : 64;
	size_t nc = w->nc;
	s->t = xrealloc(s->t, w->cap * sizeof(*s->t));
	s->faces = xrealloc(s->faces, w->cap * sizeof(*s->faces));
	s->strangers = xrealloc(s->strangers, w->cap * sizeof(*s->strangers));
	s->sim = xrealloc(s->sim, w->cap * nc * sizeof(*s->sim));
	s->ref = xrealloc(s->ref, w->cap * nc * sizeof(*s->ref));
	s->face = xrealloc(s->face, w->cap * nc * sizeof(*s->face));
	s->looks_like = xrealloc(s->looks_like, w->cap * nc * sizeof(*s->looks_like));
	s->box = xrealloc(s->box, w->cap * nc * sizeof(*s->box));
	s->has_box = xrealloc(s->has_box, w->cap * nc * sizeof(*s->has_box));
}

static int on_frame(const struct video_frame *f, void *ctx)
{
	struct walk *w = ctx;
	struct drift_scan *s = w->out;
	if (w->progress)
		w->progress(s->n, w->expected, w->ctx);
	struct image_buffer jpeg;
	if (image_encode_rgb(f->rgb, f->width, f->height, "jpeg", 92, &jpeg) < 0) {
		w->rc = -1;
		return 1;
	}
	char what[64];
	snprintf(what, sizeof(what), "frame at %.3f s", f->t);
	struct likeness_shot shot;
	int rc = likeness_shot_buffer(w->cast, w->nc, what, &jpeg, &shot);
	image_buffer_clear(&jpeg);
	if (rc < 0) {
		likeness_shot_clear(&shot);
		w->rc = error_prefix("%s", w->path);
		return 1;
	}
	grow(w);
	size_t i = s->n++, nc = w->nc;
	s->t[i] = f->t;
	s->faces[i] = shot.nfaces;
	int face_of[LIKENESS_MAX_CAST];
	likeness_assign(&shot, face_of);
	s->strangers[i] = likeness_strangers(&shot, face_of, w->threshold);
	for (size_t c = 0; c < nc; c++) {
		struct likeness_verdict v = {.phash_distance = -1, .palette_distance = -1};
		likeness_verdict_of(&shot, face_of, c, 2, &v);
		size_t k = i * nc + c;
		s->sim[k] = v.embedded ? v.similarity : NAN;
		s->ref[k] = v.embedded ? v.similarity_ref : 0;
		s->face[k] = v.embedded ? (int)v.face : -1;
		s->looks_like[k] = v.looks_like;
		s->has_box[k] = v.embedded && v.has_box;
		memcpy(s->box[k], v.box, sizeof(v.box));
	}
	likeness_shot_clear(&shot);
	/* Thumbnails spread over the clip for the plot's strip. */
	if (s->nthumbs < DRIFT_MAX_THUMBS && f->t >= w->next_thumb) {
		uint64_t phash;
		if (image_thumbnail_rgb(f->rgb, f->width, f->height, DRIFT_THUMB_SIDE,
					&s->thumbs[s->nthumbs], &phash) == 0) {
			s->thumb_t[s->nthumbs++] = f->t;
			w->next_thumb = f->t + w->thumb_every;
		}
		error_clear();
	}
	return 0;
}

int drift_scan_video(struct likeness *const *cast, size_t nc, const char *path, double rate,
		     double threshold, drift_progress_fn *progress, void *ctx,
		     struct drift_scan *out)
{
	memset(out, 0, sizeof(*out));
	out->ncast = nc;
	if (!(rate > 0 && rate <= 120))
		return error_set(EX_USAGE, "--rate %g: from above 0 to 120 frames a second", rate);
	struct video_info info;
	if (video_probe(path, &info) < 0)
		return error_prefix("%s", path);
	out->duration = info.duration;
	out->width = info.width;
	out->height = info.height;
	out->interval = 1 / rate;
	/* A clip slower than the rate asked for is sampled at its own. */
	if (info.fps > 0 && out->interval < 1 / info.fps)
		out->interval = 1 / info.fps;
	struct walk w = {.cast = cast,
			 .nc = nc,
			 .path = path,
			 .out = out,
			 .expected = (size_t)(info.duration / out->interval) + 1,
			 .thumb_every = info.duration / DRIFT_MAX_THUMBS,
			 .threshold = threshold,
			 .progress = progress,
			 .ctx = ctx};
	int rc = video_frames_every(path, out->interval, DRIFT_FRAME_SIDE, on_frame, &w);
	if (rc == 0 && w.rc < 0)
		rc = -1;
	if (rc < 0)
		return -1;
	if (progress)
		progress(w.expected, w.expected, ctx);
	if (!out->n)
		return error_set(EX_DATAERR, "%s: no frame could be decoded", path);
	return 0;
}

void drift_judge(const struct drift_scan *s, size_t c, double threshold, double sustain,
		 struct drift_verdict *out)
{
	memset(out, 0, sizeof(*out));
	out->first_drift = -1;
	out->worst = NAN;
	out->looks_like = -1;
	size_t nc = s->ncast, found = 0, any_face = 0;
	int votes[LIKENESS_MAX_CAST] = {0};
	/* A stretch is frames found under the threshold in a row; frames in
	 * which the character has no face neither end one nor lengthen it:
	 * they say nothing about the face. */
	double from = -1, last = -1;
	size_t run_votes[LIKENESS_MAX_CAST] = {0};
	for (size_t i = 0; i <= s->n; i++) {
		bool end = i == s->n;
		double sim = end ? NAN : s->sim[i * nc + c];
		bool has = !end && !isnan(sim);
		if (!end) {
			any_face += s->faces[i] > 0;
			found += has;
		}
		if (has && (isnan(out->worst) || sim < out->worst)) {
			out->worst = sim;
			out->worst_at = s->t[i];
			out->worst_ref = s->ref[i * nc + c];
		}
		bool bad = has && sim < threshold;
		if (bad) {
			out->below++;
			if (from < 0)
				from = s->t[i];
			last = s->t[i];
			int ll = s->looks_like[i * nc + c];
			if (ll >= 0 && ll < LIKENESS_MAX_CAST)
				run_votes[ll]++;
			continue;
		}
		if (from >= 0 && (has || end)) {
			/* A clip shorter than the stretch drifts if all of it does. */
			double need =
			    s->duration > 0 && s->duration < sustain ? s->duration : sustain;
			if (last - from + s->interval >= need - 1e-9) {
				out->span_from =
				    xrealloc(out->span_from, (out->nspans + 1) * sizeof(double));
				out->span_to =
				    xrealloc(out->span_to, (out->nspans + 1) * sizeof(double));
				out->span_from[out->nspans] = from;
				out->span_to[out->nspans] = last + s->interval;
				out->nspans++;
				if (out->first_drift < 0)
					out->first_drift = from;
				for (size_t d = 0; d < LIKENESS_MAX_CAST; d++)
					votes[d] += (int)run_votes[d];
			}
			from = last = -1;
			memset(run_votes, 0, sizeof(run_votes));
		}
	}
	out->found_share = s->n ? (double)found / (double)s->n : 0;
	for (size_t d = 0; d < LIKENESS_MAX_CAST; d++)
		if (votes[d] > 0 && (out->looks_like < 0 || votes[d] > votes[out->looks_like]))
			out->looks_like = (int)d;
	if (!any_face)
		out->state = LIKENESS_NO_FACE;
	else if (!found)
		out->state = LIKENESS_MISSING;
	else
		out->state = out->nspans ? LIKENESS_DRIFTED : LIKENESS_SAME;
}
