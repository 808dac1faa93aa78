/* thumbnail: the small picture and the perceptual hash of a stored
 * picture, made from one decode (at add, or late for a blob that has
 * none), and the search for similar pictures by pHash. Nothing here
 * prints. */
#ifndef TROUPE_THUMBNAIL_H
#define TROUPE_THUMBNAIL_H

#include <stdint.h>

struct asset;
struct catalog;

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
 * phash, nearest first, at most limit (0: no limit); each(asset,
 * distance, ctx) as catalog_query. */
int catalog_similar(struct catalog *cat, uint64_t phash, int max_distance, int64_t limit,
		    int (*each)(const struct asset *, int, void *), void *ctx);

#endif
