/* cmd-check: what the files of troupe check share (cmd-check.c parses,
 * gathers the shots and scores stills; cmd-check-video.c checks clips
 * frame by frame). Only they include it. */
#ifndef TROUPE_CMD_CHECK_H
#define TROUPE_CMD_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "likeness.h"
#include "util.h"

/* The shots to check, in order: where each one's bytes are, what the
 * output calls it, and why it cannot be read ("" when it can). */
struct shots {
	struct strlist paths;
	struct strlist labels;
	struct strlist unreadable;
	int64_t *assets; /* the stored asset each is, or 0 for a file */
	bool *video;	 /* a clip, checked frame by frame */
	size_t cap, videos;
};

/* Checks clip s of shots frame by frame against the cast (slugs names
 * it), adds its rows to table or its object to json, draws its plot when
 * plot names a file; returns the clip's verdict (a likeness_state), or -1
 * with an error. */
int check_video(struct cli *cli, const struct shots *shots, size_t s, struct likeness *const *cast,
		const struct strlist *slugs, const char *model, double threshold,
		const char *threshold_from, double rate, double sustain, const char *plot,
		cJSON *json, struct table *table);

#endif
