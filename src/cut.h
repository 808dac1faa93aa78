/* cut: the chosen takes of every shot, in film order, as an editor's
 * timeline (OpenTimelineIO JSON) and as an ffmpeg concat list. It reads
 * through the shot room and builds text; it writes no file and never
 * prints. */
#ifndef TROUPE_CUT_H
#define TROUPE_CUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "store.h"
#include "util.h"

struct catalog;

struct cut_clip {
	char *shot;
	int take;
	int64_t asset_id;
	char hash[STORE_HASH_HEX + 1];
	char *path;	 /* the take's blob, absolute */
	double duration; /* seconds */
	double fps;
};

struct cut {
	struct cut_clip *clips; /* in film order */
	size_t n;
	struct strlist skipped; /* shots left out for having no chosen take */
};

/* The chosen take of every shot in film order. A shot without one is an
 * EX_DATAERR error naming it, or, with partial, is left out and named in
 * skipped. EX_DATAERR too when there is no shot at all, or a take has no
 * duration or frame rate. Clear out with cut_clear, also after a failure. */
int cut_build(struct catalog *cat, bool partial, struct cut *out);
void cut_clear(struct cut *c);

/* The cut as an OpenTimelineIO Timeline.1 named name: one Stack.1 of
 * one video Track.1 of Clip.2, each with an ExternalReference.1 to its
 * take as a file:// URL; the caller deletes it. */
cJSON *cut_otio(const struct cut *c, const char *name);
/* The cut as an ffmpeg concat list ("ffconcat version 1.0", a file and
 * a duration line per clip); the caller frees it. NULL with EX_DATAERR
 * for a path the format cannot hold (a line break). */
char *cut_ffconcat(const struct cut *c);

#endif
