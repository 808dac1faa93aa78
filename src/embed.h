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

/* The embedding profile for a model: the profile called name, or, when
 * name is NULL, the one called like the model; it must be an embedding
 * profile that computes that model. NULL with an error otherwise; the
 * caller frees it with profile_free. */
struct profile *embed_profile_load(const char *model, const char *name, const char *store_root);

/* The vector of an image file that need not be in the store, sent as the
 * profile's recipe makes it (the caller frees *vector). -1 with an error
 * naming path; EX_DATAERR when the file is not a picture or the model
 * found nothing to embed in it. */
int embed_file(const struct profile *p, const char *path, float **vector, uint32_t *dim);

#endif
