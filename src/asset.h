/* asset: a stored picture or video as the index knows it, with its
 * character, role and tags: resolving what a user types, reading, tagging
 * and removing assets, and running tag queries over them. Only store
 * knows where a blob lives (the path here comes from it); nothing here
 * prints. */
#ifndef TROUPE_ASSET_H
#define TROUPE_ASSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "query.h"
#include "store.h"
#include "util.h"

struct catalog;

/* Whether an asset format is a video rather than a picture. */
bool catalog_format_is_video(const char *format);

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
	/* A video's, from its probe: 0 and NULL for a picture. */
	double duration; /* seconds */
	double fps;
	char *codec;
	/* A frame stored from a video: that video's asset id (0: none) and
	 * the frame's time in it, seconds. */
	int64_t frame_of;
	double frame_t;
};
/* Frees a and everything it holds; NULL is a no-op. */
void asset_free(struct asset *a);

/* An asset by decimal id (under 8 digits) or by a hash prefix of 8 or
 * more hex digits; EX_NOINPUT when none, EX_USAGE when ambiguous. */
int catalog_asset_resolve(struct catalog *cat, const char *ref, int64_t *id);
/* The asset with this id (free with asset_free()); NULL with EX_NOINPUT
 * when there is none. */
struct asset *catalog_asset_get(struct catalog *cat, int64_t id);
/* Removes the asset rows, all in one transaction; their blobs stay until
 * gc. */
int catalog_asset_rm(struct catalog *cat, const int64_t *ids, size_t n);
/* What catalog_asset_edit() changes; a NULL field and a false flag leave
 * that part as it is. */
struct asset_edit {
	const char *role;      /* a new role (role_valid) */
	const char *character; /* a new character, by slug */
	bool no_character;     /* the assets belong to no character */
};
/* Changes the role and character of each asset in place, all in one
 * transaction, so its id, tags, embeddings, derivatives and log links
 * stay. Validated as adding is: EX_USAGE for a bad role, EX_NOINPUT for
 * an unknown character, EX_DATAERR when an asset would become another
 * one (the same blob with the same character and role, which adding
 * never makes twice); then nothing changes. */
int catalog_asset_edit(struct catalog *cat, const int64_t *ids, size_t n,
		       const struct asset_edit *edit);
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

#endif
