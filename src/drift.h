/* drift: whether characters stay themselves through a clip. Frames are
 * sampled at a rate, every face of each is scored against the cast (as
 * likeness does for a still), and a character drifts only when its score
 * stays under the threshold for a sustained stretch, so one blurred frame
 * does not fail a take. Never prints. */
#ifndef TROUPE_DRIFT_H
#define TROUPE_DRIFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"
#include "likeness.h"

/* Frames sampled each second unless told, and the stretch (seconds) a
 * score must stay under the threshold to be drift. */
#define DRIFT_DEFAULT_RATE    4.0
#define DRIFT_DEFAULT_SUSTAIN 0.5
/* The most thumbnails kept for a plot's strip. */
#define DRIFT_MAX_THUMBS 12

/* Every sampled frame's scores, frame by frame. */
struct drift_scan {
	size_t n, ncast;
	double interval;   /* seconds between samples */
	double duration;   /* of the clip */
	int width, height; /* of its frames as displayed */
	double *t;	   /* n times, seconds */
	size_t *faces;	   /* n: faces found in each frame */
	size_t *strangers; /* n */
	/* n x ncast, frame-major: a member's similarity in a frame (NAN
	 * where it was given no face), the reference, the face (-1), the
	 * member its face looks more like (-1), and the face's box. */
	double *sim;
	int64_t *ref;
	int *face;
	int *looks_like;
	double (*box)[4];
	bool *has_box;
	/* Small pictures of frames spread over the clip, for a plot. */
	struct image_buffer thumbs[DRIFT_MAX_THUMBS];
	double thumb_t[DRIFT_MAX_THUMBS];
	size_t nthumbs;
};
void drift_scan_clear(struct drift_scan *s);

/* Told how far the scan has come, in frames of an estimated total. */
typedef void drift_progress_fn(size_t done, size_t total, void *ctx);

/* Samples the video at path at rate frames a second (one decode), and
 * scores each frame against the nc members of cast (faces like none of
 * them at threshold are strangers). -1 with an error
 * when the clip cannot be read or the check cannot go on (as
 * likeness_check); clear *out also after a failure. */
int drift_scan_video(struct likeness *const *cast, size_t nc, const char *path, double rate,
		     double threshold, drift_progress_fn *progress, void *ctx,
		     struct drift_scan *out);

/* A member's verdict over the clip. */
struct drift_verdict {
	/* same; drifted (a sustained stretch under the threshold); missing
	 * (found in no frame, though faces were); no face (no frame had
	 * one). */
	enum likeness_state state;
	double first_drift; /* when the first sustained stretch starts, or -1 */
	double worst;	    /* the lowest score where found, NAN if never */
	double worst_at;
	int64_t worst_ref;
	double found_share; /* of the frames, those where it had a face */
	size_t below;	    /* frames found under the threshold */
	/* Every sustained stretch, start and end times. */
	double *span_from, *span_to;
	size_t nspans;
	int looks_like; /* the member its face looked more like most often in the stretches, -1 */
};
void drift_verdict_clear(struct drift_verdict *v);

/* Judges member c of the scan: under threshold for at least sustain
 * seconds of found frames in a row is drift. */
void drift_judge(const struct drift_scan *s, size_t c, double threshold, double sustain,
		 struct drift_verdict *out);

#endif
