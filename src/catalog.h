/* catalog: the domain API over the store and the index: characters,
 * assets, tags and queries. It validates everything a user can type, holds
 * the SQL, and never prints. */
#ifndef TROUPE_CATALOG_H
#define TROUPE_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"
#include "query.h"
#include "store.h"
#include "util.h"

struct catalog;

/* Opens the store found from dir (see store_open) and its index. */
struct catalog *catalog_open(const char *dir);
/* Creates a store at dir (the .troupe directory) with an empty index;
 * *existed tells whether one was already there. */
int catalog_create(const char *dir, bool *existed);
void catalog_close(struct catalog *cat);
const char *catalog_root(const struct catalog *cat);

/* Roles an asset may have; NULL-terminated. */
extern const char *const catalog_roles[];
bool catalog_role_valid(const char *role);
/* Slugs are lower-case ASCII letters, digits and '-', 1 to 64 of them. */
int catalog_slug_check(const char *slug);

struct character {
	int64_t id;
	char *slug;
	char *name;
	char *description;
	char *negative;
	bool has_seed;
	int64_t seed;
	struct strlist tags; /* "ns:value" or "value" */
	struct strlist aliases;
	int64_t created;
	int64_t updated;
	int64_t assets; /* how many assets belong to it */
};
void character_free(struct character *c);

/* Fields of a new character; name defaults to the slug. */
int catalog_character_new(struct catalog *cat, const struct character *c);
/* By slug, or by alias when no slug matches. NULL with EX_NOINPUT for an
 * unknown character. */
struct character *catalog_character_get(struct catalog *cat, const char *slug);
/* Every character, ordered by slug; *out is the caller's to free with
 * character_free on each and free on the array. */
int catalog_character_list(struct catalog *cat, struct character ***out, size_t *n);

struct character_edit {
	const char *slug; /* rename to this; NULL keeps */
	const char *name;
	const char *description;
	const char *negative;
	bool set_seed;
	bool clear_seed;
	int64_t seed;
	struct strlist add_tags, remove_tags, add_aliases, remove_aliases;
};
int catalog_character_edit(struct catalog *cat, const char *slug, const struct character_edit *e);
/* Refuses while assets belong to the character unless force, which
 * removes those asset rows too (their blobs stay until gc). *removed is
 * the number of asset rows removed. */
int catalog_character_rm(struct catalog *cat, const char *slug, bool force, int64_t *removed);
/* The slug a slug-or-alias names; the caller frees it. */
char *catalog_character_slug(struct catalog *cat, const char *slug_or_alias);

struct asset {
	int64_t id;
	char hash[STORE_HASH_HEX + 1];
	char *character; /* slug, or NULL */
	char *role;
	struct strlist tags;
	int width;
	int height;
	char *format;
	int64_t bytes;
	int64_t added;
	char *source; /* the file name it was added from, or NULL */
	char *path;   /* where its blob lives */
};
void asset_free(struct asset *a);

/* Adding files is three steps so that a command is one transaction: a
 * batch validates the character, role and tags; each file is probed and
 * staged; commit publishes the blobs and inserts every row at once. */
struct add_batch;
struct add_batch *catalog_add_begin(struct catalog *cat, const char *slug, const char *role,
				    const struct strlist *tags);
/* Optional, before catalog_add_file: decodes the pictures of paths (probe,
 * thumbnail and pHash) on every CPU at once, so that adding them one by
 * one finds that work done. tick(done, ctx) is called from this thread
 * as pictures finish. */
void catalog_add_prepare(struct add_batch *b, char *const *paths, size_t n,
			 void (*tick)(size_t done, void *ctx), void *ctx);
/* Probes and stages one file. Returns 0 when staged, -1 with an error when
 * the file is unreadable or not a complete image of an accepted format. */
int catalog_add_file(struct add_batch *b, const char *path);
/* Stages a video (MP4, QuickTime or WebM, told by its first bytes) as an
 * asset with no thumbnail and no pHash: what video services return. */
int catalog_add_video(struct add_batch *b, const char *path);
/* Whether an asset format is a video rather than a picture. */
bool catalog_format_is_video(const char *format);
size_t catalog_add_count(const struct add_batch *b);
/* Publishes and inserts; on success the ids of the assets (new or
 * already there) are in order of the files added. */
int catalog_add_commit(struct add_batch *b);
/* After commit: the i-th file's asset id, hash, and whether it was new. */
void catalog_add_result(const struct add_batch *b, size_t i, int64_t *id, const char **hash,
			const char **path, bool *existed);
/* Frees the batch, removing anything staged and not committed. */
void catalog_add_free(struct add_batch *b);

/* An asset by decimal id (under 8 digits) or by a hash prefix of 8 or
 * more hex digits; EX_NOINPUT when none, EX_USAGE when ambiguous. */
int catalog_asset_resolve(struct catalog *cat, const char *ref, int64_t *id);
struct asset *catalog_asset_get(struct catalog *cat, int64_t id);
int catalog_asset_rm(struct catalog *cat, const int64_t *ids, size_t n);
/* Adds and removes tags on each asset, all in one transaction. */
int catalog_asset_tag(struct catalog *cat, const int64_t *ids, size_t n, const struct strlist *add,
		      const struct strlist *remove);
/* A read-only descriptor on the asset's blob. */
int catalog_asset_open(struct catalog *cat, int64_t id);

/* Runs a tag query; calls each(asset, ctx) for every match in order and
 * frees the asset after. A non-zero return from each stops the walk. */
int catalog_query(struct catalog *cat, const char *query, const struct query_options *opts,
		  int (*each)(const struct asset *, void *), void *ctx);
/* The number of assets that match. */
int catalog_query_count(struct catalog *cat, const char *query, int64_t *count);

/* The path of the asset's thumbnail blob, made (and stored) now if the
 * asset has none yet; the caller frees it. */
char *catalog_thumbnail(struct catalog *cat, int64_t asset_id);
/* A read-only descriptor on the asset's thumbnail. */
int catalog_thumbnail_open(struct catalog *cat, int64_t asset_id);

/* The perceptual hash of a stored asset, or of an image file that need
 * not be in the store. */
int catalog_asset_phash(struct catalog *cat, int64_t asset_id, uint64_t *phash);
int catalog_file_phash(const char *path, uint64_t *phash);
/* Every asset whose picture is within max_distance (Hamming, 0..64) of
 * phash, nearest first; each(asset, distance, ctx) as catalog_query. */
int catalog_similar(struct catalog *cat, uint64_t phash, int max_distance, int64_t limit,
		    int (*each)(const struct asset *, int, void *), void *ctx);

struct derivative {
	char hash[STORE_HASH_HEX + 1];
	char *path;
	int width;
	int height;
	char format[IMAGE_FORMAT_MAX];
	int64_t bytes;
	bool cached; /* found in the cache: no image work was done */
};
void derivative_clear(struct derivative *d);
/* A copy of the asset's image that fits the recipe, from the cache when
 * this source and recipe were asked for before. */
int catalog_derive(struct catalog *cat, int64_t asset_id, const struct image_recipe *recipe,
		   struct derivative *out);

/* An explicit transaction around several writes (an import): writes
 * made inside it join it instead of committing on their own. catalog_end
 * commits when commit is true, else rolls back. */
int catalog_begin(struct catalog *cat);
int catalog_end(struct catalog *cat, bool commit);

/* ---- embeddings ---- */

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
int catalog_model_list(struct catalog *cat, struct model_info **out, size_t *n);
int catalog_model_set_threshold(struct catalog *cat, const char *name, double threshold);
/* Stores the asset's vector for a model (replacing one there), after
 * checking it is finite and of the model's dimension, which the first
 * vector fixes; the vector is normalised to unit length. */
int catalog_embedding_put(struct catalog *cat, int64_t asset_id, const char *model, float *vector,
			  uint32_t dim);
/* 1 when the asset has a vector for the model, 2 when the model found
 * nothing to embed in it before (catalog_embedding_missed), 0 when
 * neither. */
int catalog_embedding_has(struct catalog *cat, int64_t asset_id, const char *model);
/* Records that the model found nothing in the asset (reason: the
 * service's words), so that embed does not ask again unless told to. */
int catalog_embedding_missed(struct catalog *cat, int64_t asset_id, const char *model,
			     const char *reason);
/* The asset's unit vector (the caller frees it); EX_NOINPUT when none. */
int catalog_embedding_get(struct catalog *cat, int64_t asset_id, const char *model, float **vector,
			  uint32_t *dim);
/* The k assets nearest to query (unit length) by cosine similarity,
 * optionally only among those a tag query selects. */
int catalog_nearest(struct catalog *cat, const char *model, const float *query, uint32_t dim,
		    size_t k, const char *where, int (*each)(const struct asset *, float, void *),
		    void *ctx);
/* Every vector of a model with its asset and character (NULL for none);
 * calls each(asset_id, slug, vector, ctx). */
int catalog_embeddings(struct catalog *cat, const char *model, const char *character,
		       int (*each)(int64_t, const char *, const float *, void *), void *ctx);

/* ---- the request log ---- */

struct request_ref_row {
	int64_t asset_id;
	const char *sent_hash; /* the derivative that was sent */
	const char *tag;
};

/* Records a request (kind "inject" or "generate") with its characters
 * and references; returns its id, or -1. */
int64_t catalog_request_begin(struct catalog *cat, const char *kind, const char *profile,
			      const char *prompt, const char *request, const char *status,
			      const struct strlist *slugs, const struct request_ref_row *refs,
			      size_t nrefs);
/* Sets the outcome; error and response may be NULL. */
int catalog_request_finish(struct catalog *cat, int64_t id, const char *status, long http_status,
			   const char *response, const char *error, int64_t duration_ms);
/* Makes the assets a batch adds outputs of a request (linked in the same
 * transaction as the rows, with the URL each came from). */
void catalog_add_link_request(struct add_batch *b, int64_t request_id, const struct strlist *urls);

struct log_entry {
	int64_t id;
	char *kind;
	char *profile;
	char *prompt;
	char *request;
	char *response;
	char *status;
	char *error;
	long http_status;
	int64_t started;
	int64_t duration_ms;
	struct strlist characters;
	struct strlist refs;	/* "#ID HASH tag" of each reference, in order */
	struct strlist outputs; /* "#ID HASH" of each output */
};
void log_entry_free(struct log_entry *e);
/* Requests, newest first, optionally only those with a character or a
 * profile; each(entry, ctx) as catalog_query. */
int catalog_log(struct catalog *cat, const char *character, const char *profile, int64_t limit,
		int (*each)(const struct log_entry *, void *), void *ctx);
/* The request that made an asset, or NULL (and no error) when it was not
 * generated. */
int catalog_asset_request(struct catalog *cat, int64_t asset_id, struct log_entry **out);

#endif
