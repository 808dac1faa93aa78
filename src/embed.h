/* embed: a picture to a vector through an embedding profile: the same
 * profile engine and file format as generation, over HTTP, whether the
 * model runs on this machine (contrib/face-service) or far away. */
#ifndef TROUPE_EMBED_H
#define TROUPE_EMBED_H

#include <stdint.h>

#include "profile.h"

/* Sends the image file at path (of the given format: jpeg, png, webp) and
 * returns the vector the answer holds (the caller frees it). An answer the
 * profile marks as "nothing to embed" (no face) returns EMBED_NOTHING with
 * an EX_DATAERR error naming it, e.g. "no face in the image"; any other
 * failure returns -1. */
enum { EMBED_NOTHING = -2 };
int embed_image(const struct profile *p, const char *path, const char *format, float **vector,
		uint32_t *dim);

#endif
