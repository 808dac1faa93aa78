/* embed: a picture to a vector through an embedding profile: the same
 * profile engine and file format as generation, over HTTP, whether the
 * model runs on this machine (contrib/face-service) or far away. */
#ifndef TROUPE_EMBED_H
#define TROUPE_EMBED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "embedding.h"
#include "image.h"
#include "profile.h"

/* One thing (a face) the model found, with its vector. */
struct embed_face {
	float *vector;
	uint32_t dim;
	bool has_box;
	double box[4]; /* x, y, width, height as fractions of the picture */
	bool has_score;
	double score;
};

/* Everything an answer holds: every face, largest first as the service
 * orders them (the one it chose is faces[0]), and the model's identity
 * ("" when the service does not say). At most EMBED_MAX_FACES. */
#define EMBED_MAX_FACES 64
struct embed_result {
	struct embed_face *faces;
	size_t n;
	char network[MODEL_NETWORK_MAX];
	char version[MODEL_VERSION_MAX];
};
void embed_result_clear(struct embed_result *r);
/* The meta the catalog stores beside face f of r. */
struct embedding_meta embed_result_meta(const struct embed_result *r, size_t f);

/* Sends the image file at path (of the given format: jpeg, png, webp)
 * and fills *out with what the answer holds (clear it with
 * embed_result_clear, also after a failure); width and height are the
 * picture's as sent, for the boxes' fractions. An answer the profile
 * marks as "nothing to embed" (no face), or one with no faces, returns
 * EMBED_NOTHING with an EX_DATAERR error naming it, e.g. "no face in the
 * image"; any other failure returns -1. */
enum { EMBED_NOTHING = -2 };
int embed_image(const struct profile *p, const char *path, const char *format, int width,
		int height, struct embed_result *out);

/* Reads an answer of the service (len bytes of text, untrusted) as
 * embed_image does once the status is 200: the pieces the profile points
 * at, each checked. Clear *out with embed_result_clear. */
int embed_answer_read(const struct profile *p, const char *text, size_t len, int width, int height,
		      struct embed_result *out);

/* The embedding profile for a model: the profile called name, or, when
 * name is NULL, the one called like the model; it must be an embedding
 * profile that computes that model. NULL with an error otherwise; the
 * caller frees it with profile_free. */
struct profile *embed_profile_load(const char *model, const char *name, const char *store_root);

/* What the model finds in an image file that need not be in the store,
 * sent as the profile's recipe makes it (clear *out with
 * embed_result_clear). -1 with an error naming path; EX_DATAERR when the
 * file is not a picture, EMBED_NOTHING when the model found nothing to
 * embed in it. */
int embed_file(const struct profile *p, const char *path, struct embed_result *out);

/* The same for image bytes already made (a variant of a reference). */
int embed_buffer(const struct profile *p, const struct image_buffer *buf, struct embed_result *out);

#endif
