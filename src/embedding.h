/* embedding: models, the unit vectors of assets under each, the assets a
 * model found nothing in, and nearest-neighbour search through a flat
 * vector cache file that follows the index. Nothing here prints. */
#ifndef TROUPE_EMBEDDING_H
#define TROUPE_EMBEDDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct asset;
struct catalog;

struct model_info {
	int64_t id;
	char name[65];
	uint32_t dimension;
	bool has_threshold;
	double threshold;
	int64_t vectors;
};
/* A model by name; EX_NOINPUT when it has no vectors yet. */
int catalog_model_get(struct catalog *cat, const char *name, struct model_info *out);
/* Every model, ordered by name; *out is the caller's to free. */
int catalog_model_list(struct catalog *cat, struct model_info **out, size_t *n);
/* Records the model's calibrated threshold (what check compares with). */
int catalog_model_set_threshold(struct catalog *cat, const char *name, double threshold);
/* Stores the asset's vector for a model (replacing one there), after
 * checking it is finite and of the model's dimension, which the first
 * vector fixes; the vector is normalised to unit length in place. Inside
 * catalog_begin() the write joins that transaction. */
int catalog_embedding_put(struct catalog *cat, int64_t asset_id, const char *model, float *vector,
			  uint32_t dim);
/* What a model has made of an asset so far. */
enum embedding_state {
	EMBEDDING_NONE,	  /* never embedded: embed asks the model */
	EMBEDDING_VECTOR, /* a vector is stored */
	EMBEDDING_MISSED, /* the model found nothing to embed (catalog_embedding_missed) */
};
/* Sets *state to what the model has for the asset; returns 0, or -1 with
 * the error set (and *state EMBEDDING_NONE). */
int catalog_embedding_has(struct catalog *cat, int64_t asset_id, const char *model,
			  enum embedding_state *state);
/* Records that the model found nothing in the asset (reason: the
 * service's words), so that embed does not ask again unless told to. */
int catalog_embedding_missed(struct catalog *cat, int64_t asset_id, const char *model,
			     const char *reason);
/* The asset's unit vector (the caller frees it); EX_NOINPUT when none. */
int catalog_embedding_get(struct catalog *cat, int64_t asset_id, const char *model, float **vector,
			  uint32_t *dim);
/* The k assets nearest to query (unit length) by cosine similarity,
 * optionally only among those a tag query selects; each(asset, score,
 * ctx) as catalog_query. */
int catalog_nearest(struct catalog *cat, const char *model, const float *query, uint32_t dim,
		    size_t k, const char *where, int (*each)(const struct asset *, float, void *),
		    void *ctx);
/* Every vector of a model with its asset and character (NULL for none),
 * generated assets left out; calls each(asset_id, slug, vector, ctx). */
int catalog_embeddings(struct catalog *cat, const char *model, const char *character,
		       int (*each)(int64_t, const char *, const float *, void *), void *ctx);

#endif
