/* take-check: a shot's takes checked as troupe check checks a video,
 * against the characters the shot's prompt mentions, and the verdict
 * kept against each take (the model and threshold it was reached with,
 * each character's figures, when). A new check of a take replaces the
 * old one in one transaction. Nothing here prints. */
#ifndef TROUPE_TAKE_CHECK_H
#define TROUPE_TAKE_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drift.h"

struct catalog;
struct shot;

/* One character's figures in a take's check. */
struct take_figure {
	char *character;
	char *look;	    /* the look it was mentioned with; "" for none */
	char *verdict;	    /* "same", "drifted", "missing", "no face", "unreadable" */
	double worst;	    /* the lowest similarity where found; NAN: never found */
	double worst_at;    /* seconds */
	double first_drift; /* when its first sustained stretch began; -1: none */
	double found;	    /* the share of frames it had a face in, 0 to 1 */
	int frames_below;   /* frames found under the threshold */
	char *looks_like;   /* the member its face looked more like, or NULL */
};

/* A take's recorded check. */
struct take_check {
	char *verdict; /* "same", "drifted", "no face", "unreadable" */
	char *model;
	double threshold;
	char *threshold_from; /* "given", "calibrated", "default" */
	double rate, sustain;
	int frames;   /* sampled */
	char *reason; /* why it could not be read, or NULL */
	int64_t checked;
	struct take_figure *cast;
	size_t ncast;
};
void take_check_free(struct take_check *c);

/* Reads every take's recorded check into s (shot_take.check; NULL for a
 * take never checked). */
int take_check_fill(struct catalog *cat, struct shot *s);

/* How to check: the embedding model (NULL: "face") and its profile
 * (NULL: the model's own), the threshold (has_threshold false: the
 * calibrated one, else the profile's default), frames a second and the
 * stretch that is drift (0: drift.h's defaults). */
struct take_check_options {
	const char *model;
	const char *profile;
	bool has_threshold;
	double threshold;
	double rate;
	bool has_sustain;
	double sustain;
	/* Told of each take as its check is recorded, or passed over:
	 * check is NULL then, and why says why (it failed to generate, its
	 * video was removed). Borrowed. */
	void (*checked)(const char *shot, int number, int64_t asset, const struct take_check *check,
			const char *why, void *ctx);
	drift_progress_fn *progress; /* frames of the take being scanned, or NULL */
	void *ctx;
};

/* What a run found, over every take it checked. */
struct take_check_tally {
	int checked, drifted, faceless, unreadable, passed_over;
};

/* Checks takes numbers[0..n) of shot slug (n 0: every take with a video)
 * against the characters its prompt mentions, and records each verdict
 * as it is reached. EX_DATAERR, before anything is checked, when the
 * prompt mentions no character (or more than LIKENESS_MAX_CAST), a take
 * named does not exist, failed or lost its video; a character without
 * vectors for the model, or a model without a threshold, as troupe
 * check. A take whose video cannot be read is the verdict "unreadable".
 * A service that fails stops the run with its error: the takes checked
 * before keep their new verdicts, the one it stopped at its old one. */
int take_check_shot(struct catalog *cat, const char *slug, const int *numbers, size_t n,
		    const struct take_check_options *o, struct take_check_tally *tally);

/* Whether shot slug's prompt mentions a character (so --all checks it). */
int take_check_has_cast(struct catalog *cat, const char *slug, bool *has);

#endif
