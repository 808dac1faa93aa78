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

#define MODEL_NETWORK_MAX 65
#define MODEL_VERSION_MAX 33

struct model_info {
	int64_t id;
	char name[65];
	uint32_t dimension;
	bool has_threshold;
	double threshold;
	int64_t vectors;
	/* The network that made the vectors and its version, as the service
	 * named them; "" when not recorded (vectors from before troupe kept
	 * it, or imported). */
	char network[MODEL_NETWORK_MAX];
	char version[MODEL_VERSION_MAX];
};
/* A model by name; EX_NOINPUT when it has no vectors yet. */
int catalog_model_get(struct catalog *cat, const char *name, struct model_info *out);
/* Every model, ordered by name; *out is the caller's to free. */
int catalog_model_list(struct catalog *cat, struct model_info **out, size_t *n);
/* Records the model's calibrated threshold (what check compares with). */
int catalog_model_set_threshold(struct catalog *cat, const char *name, double threshold);
/* What the service said about the face (or other thing) a vector
 * describes. */
struct embedding_meta {
	const char *network, *version; /* the model's identity, NULL when unsaid */
	bool has_box;
	double box[4]; /* x, y, width, height as fractions of the picture */
	bool has_score;
	double score; /* the detector's confidence */
	int faces;    /* how many the picture held, 0 when unsaid */
};

/* Whether vectors from the network and version named (NULL when the
 * service does not say) and of dimension dim may join model m's: -1
 * with an EX_DATAERR error naming both networks and the way out ('troupe
 * embed --reembed') when m's vectors came from another network, another
 * version of it, or are of another dimension. A model without vectors
 * takes any. */
int catalog_model_accepts(const struct model_info *m, const char *network, const char *version,
			  uint32_t dim);

/* Stores the asset's vector for a model (replacing one there), after
 * checking it is finite and that the model accepts it (its dimension is
 * fixed by its first vector, its network by the first that names one);
 * the vector is normalised to unit length in place. meta may be NULL (an
 * import: no identity, no box). Inside catalog_begin() the write joins
 * that transaction. */
int catalog_embedding_put(struct catalog *cat, int64_t asset_id, const char *model, float *vector,
			  uint32_t dim, const struct embedding_meta *meta);

/* Empties the model for vectors of another network: its vectors, the
 * assets it found nothing in and its threshold go, and its dimension and
 * identity become these. Call it inside catalog_begin() with the new
 * vectors put in the same transaction, so that nothing is lost when they
 * cannot all be made. The model's row (and its generation counter, which
 * the vector cache follows) is kept. */
int catalog_model_reset(struct catalog *cat, const char *model, uint32_t dim, const char *network,
			const char *version);

/* The box (fractions of the picture) of the face an asset's vector
 * describes; EX_NOINPUT when there is no vector or it has no box. */
int catalog_embedding_box(struct catalog *cat, int64_t asset_id, const char *model, double box[4],
			  int *faces);
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

/* Every vector of every model of the element's assets (generated ones
 * left out), ordered by model name then asset id, in one statement for
 * choosing references; calls each(asset_id, model, vector, dim, ctx), the
 * vector borrowed for the call; a non-zero return stops. */
int catalog_element_vectors(struct catalog *cat, const char *slug,
			    int (*each)(int64_t, const char *, const float *, uint32_t, void *),
			    void *ctx);

#endif
