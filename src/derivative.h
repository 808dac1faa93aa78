/* derivative: a copy of an asset fitted to a recipe (size, format,
 * quality) for a service, stored as a blob and cached by (source blob,
 * recipe) so that a warm injection does no image work. Nothing here
 * prints. */
#ifndef TROUPE_DERIVATIVE_H
#define TROUPE_DERIVATIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "image.h"
#include "store.h"

struct catalog;

struct derivative {
	char hash[STORE_HASH_HEX + 1];
	char *path;
	int width;
	int height;
	char format[IMAGE_FORMAT_MAX];
	int64_t bytes;
	bool cached; /* found in the cache: no image work was done */
};
/* Frees what d holds and zeroes it. */
void derivative_clear(struct derivative *d);
/* A copy of the asset's image that fits the recipe, from the cache when
 * this source and recipe were asked for before; clear *out with
 * derivative_clear(). */
int catalog_derive(struct catalog *cat, int64_t asset_id, const struct image_recipe *recipe,
		   struct derivative *out);

/* Finds a derivative by its hash or a prefix of it (8 to 32 hex digits,
 * either case), since services given a derivative (a Midjourney URL)
 * name it by hash. 1 with *path set to its blob (the caller frees), 0
 * when prefix is not such a prefix or no derivative has it, -1 with an
 * EX_USAGE error when it matches several. */
int catalog_derivative_find(struct catalog *cat, const char *prefix, char **path);

#endif
