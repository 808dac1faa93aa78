/* frames: a video's frames as encoded pictures (PNG or JPEG), at times,
 * at a rate, first or last, for files or for the store; and the times a
 * user writes ("2.4", "2.4s", "00:00:02.4"). Nothing here prints. */
#ifndef TROUPE_FRAMES_H
#define TROUPE_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"

/* Seconds from "2.4", "2.4s", "1:02.5" or "00:00:02.4"; -1 with an
 * EX_USAGE error naming option for anything else. */
int frames_parse_time(const char *option, const char *text, double *seconds);

/* Which frames to take; any mix, taken in this order: times, every,
 * first, last. */
struct frames_pick {
	const double *at;
	size_t nat;
	double every; /* seconds between frames; used when every_set */
	bool every_set;
	bool first, last;
};

/* One frame taken, encoded; image and name are borrowed for the call. */
struct frames_taken {
	const struct image_buffer *image;
	double t;	  /* its time in the video, seconds */
	int64_t index;	  /* its frame number */
	const char *name; /* "frame-000002.400.png": its time, for a file name */
};

/* Decodes the frames pick names from the video at path and calls each
 * with every one, encoded as format ("png" or "jpeg"); a non-zero return
 * from each stops the walk and is returned. */
int frames_take(const char *path, const struct frames_pick *pick, const char *format,
		int (*each)(const struct frames_taken *, void *), void *ctx);

#endif
