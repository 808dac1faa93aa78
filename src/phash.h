/* phash: the 64-bit perceptual hash of a picture and the flat file that
 * lets "similar" scan a million of them in a few milliseconds. Pure C: the
 * pixels come from image.c, the rows from thumbnail.c. */
#ifndef TROUPE_PHASH_H
#define TROUPE_PHASH_H

#include <stddef.h>
#include <stdint.h>

#define PHASH_SIDE 32

/* The pHash of a PHASH_SIDE x PHASH_SIDE grey image (row-major bytes):
 * the 8x8 lowest frequencies of its 2-D DCT-II, each bit set where the
 * coefficient is above their median (the DC term is left out of the median
 * and its bit is always 0). */
uint64_t phash_from_gray(const uint8_t pixels[PHASH_SIDE * PHASH_SIDE]);
int phash_distance(uint64_t a, uint64_t b);

struct phash_match {
	int64_t id;
	int distance;
};

/* The flat file: a cache file (cachefile.h) whose rows are the hashes,
 * with the index generation it reflects. Written whole to a temporary
 * name and renamed, so a reader sees a whole file or the old one; later
 * changes are appended by thumbnail.c. */
struct cache_kind;
/* The kind the pHash file is (cachefile.h). */
const struct cache_kind *phash_cache_kind(void);
int phash_file_write(const char *path, uint64_t generation, const int64_t *ids,
		     const uint64_t *hashes, size_t n);
/* The generation in the file's header; -1 (no error recorded) when the
 * file is missing or not a pHash file. */
int phash_file_generation(const char *path, uint64_t *generation);
/* Every entry within max_distance of target, sorted by distance then id,
 * tombstoned rows left out; *out is the caller's to free. */
int phash_file_search(const char *path, uint64_t target, int max_distance, struct phash_match **out,
		      size_t *n);

#endif
