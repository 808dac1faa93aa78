/* render: a shot's takes made from its still by an image-to-video
 * service, through generate. Every attempt becomes a take, its output
 * and request or its failure and why (a failed take is never chosen);
 * the still is the clip's first frame, never a character's reference.
 * Nothing here prints. */
#ifndef TROUPE_RENDER_H
#define TROUPE_RENDER_H

#include "generate.h"

/* One take as it was recorded: asset_id 0 and error set when it failed;
 * request_id 0 when it failed before a request was made. Borrowed. */
struct render_take {
	int number;
	int64_t asset_id;
	int64_t request_id;
	const char *error;
};

struct render_options {
	int takes;     /* at least 1 */
	int parallel;  /* at most this many at a time, within the profile's
			* concurrency; 0 or 1: one after another */
	int timeout_s; /* for each take; 0: the profile's */
	/* Told of what is left out or described only, once, before the
	 * first take is sent (see inject_options). */
	void (*unplaced)(const char *profile, const char *slug, int max_refs, void *ctx);
	void (*text_only)(const char *profile, const char *slug, const char *kind, void *ctx);
	/* Both called from the thread that made the take when parallel is
	 * above 1, never two at once. */
	generate_progress_fn *progress;				  /* or NULL */
	void (*recorded)(const struct render_take *t, void *ctx); /* or NULL */
	void *ctx;
};

/* Renders takes of shot slug with the video profile p: its prompt with
 * its mentions injected, its aspect, and its still as the first frame.
 * A chained shot with no still gets the previous shot's chosen take's
 * last frame as its still first. Before anything is sent: EX_DATAERR
 * when the shot has no still (naming 'troupe shot still'), EX_USAGE when
 * p makes no videos or takes no first frame, or parallel is above p's
 * concurrency, and any error the request would have (a mention p cannot
 * carry). In parallel each take is sent by a thread of its own with a
 * connection of its own to the index, and recorded as it finishes; one
 * that fails stops none of the others. 0 when every take succeeded; -1
 * with the first failure's error when one failed (every take is
 * recorded all the same), *failed the number that did. */
int render_shot(struct catalog *cat, const char *slug, const struct profile *p,
		const struct render_options *o, int *failed);

#endif
