/* phash: DCT-based perceptual hashing and the flat scan file. The file is
 * a cache of the index and never the only copy of anything: when its
 * generation differs from the index's, thumbnail.c brings it up to date
 * (cachefile.c: appended changes, or a rebuild). */
#include "config.h"

#include "cachefile.h"
#include "phash.h"
#include "util.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PHASH_LOW 8

static const struct cache_kind phash_kind = {{'T', 'R', 'P', 'H', 'A', 'S', 'H', '2'}, 8, 0};

const struct cache_kind *phash_cache_kind(void)
{
	return &phash_kind;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Filled once, by whichever thread needs it first: add's workers make
 * pHashes side by side. */
static double cosines[PHASH_LOW][PHASH_SIDE];
static pthread_once_t cosines_once = PTHREAD_ONCE_INIT;

static void cosines_fill(void)
{
	for (int u = 0; u < PHASH_LOW; u++)
		for (int x = 0; x < PHASH_SIDE; x++)
			cosines[u][x] = cos((2 * x + 1) * u * M_PI / (2.0 * PHASH_SIDE));
}

uint64_t phash_from_gray(const uint8_t pixels[PHASH_SIDE * PHASH_SIDE])
{
	/* Only the PHASH_LOW lowest frequencies are needed, so the DCT is two
	 * small matrix products against a cosine table, not a full FFT. */
	pthread_once(&cosines_once, cosines_fill);
	double rows[PHASH_SIDE][PHASH_LOW];
	for (int y = 0; y < PHASH_SIDE; y++)
		for (int u = 0; u < PHASH_LOW; u++) {
			double s = 0;
			for (int x = 0; x < PHASH_SIDE; x++)
				s += pixels[y * PHASH_SIDE + x] * cosines[u][x];
			rows[y][u] = s;
		}
	double coeff[PHASH_LOW * PHASH_LOW];
	for (int v = 0; v < PHASH_LOW; v++)
		for (int u = 0; u < PHASH_LOW; u++) {
			double s = 0;
			for (int y = 0; y < PHASH_SIDE; y++)
				s += rows[y][u] * cosines[v][y];
			coeff[v * PHASH_LOW + u] = s;
		}
	double sorted[PHASH_LOW * PHASH_LOW - 1];
	memcpy(sorted, coeff + 1, sizeof(sorted));
	qsort(sorted, PHASH_LOW * PHASH_LOW - 1, sizeof(double), cmp_double);
	double median = sorted[(PHASH_LOW * PHASH_LOW - 1) / 2];
	uint64_t hash = 0;
	for (int i = 1; i < PHASH_LOW * PHASH_LOW; i++)
		if (coeff[i] > median)
			hash |= UINT64_C(1) << i;
	return hash;
}

int phash_distance(uint64_t a, uint64_t b)
{
	return __builtin_popcountll(a ^ b);
}

int phash_file_write(const char *path, uint64_t generation, const int64_t *ids,
		     const uint64_t *hashes, size_t n)
{
	return cachefile_write(path, &phash_kind, generation, ids, hashes, n);
}

int phash_file_generation(const char *path, uint64_t *generation)
{
	struct cachefile f;
	if (cachefile_open(path, &phash_kind, false, &f) != 0)
		return -1;
	*generation = f.generation;
	cachefile_close(&f);
	return 0;
}

static int cmp_match(const void *a, const void *b)
{
	const struct phash_match *x = a, *y = b;
	if (x->distance != y->distance)
		return x->distance - y->distance;
	return (x->id > y->id) - (x->id < y->id);
}

/* Hamming distances of a block of hashes to target; true when any is
 * within max. The popcnt clone uses the CPU's instruction where there is
 * one. */
__attribute__((target_clones("popcnt", "default"))) static bool
block_distances(const uint64_t *hashes, size_t n, uint64_t target, int max, uint8_t *dist)
{
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		int d = __builtin_popcountll(hashes[i] ^ target);
		dist[i] = (uint8_t)d;
		any |= d <= max;
	}
	return any;
}

int phash_file_search(const char *path, uint64_t target, int max_distance, struct phash_match **out,
		      size_t *n)
{
	struct cachefile f;
	*out = NULL;
	*n = 0;
	if (cachefile_open(path, &phash_kind, false, &f) != 0)
		return error_set(EX_IOERR, "%s: unreadable pHash index", path);
	size_t found = 0, cap = 0;
	struct phash_match *matches = NULL;
	/* The hot loop: xor, popcount, compare over a contiguous array; the
	 * rare hits are collected by a second pass over each block, and a
	 * hit on a row a later change removed is dropped there. */
	enum { BLOCK = 4096 };
	uint8_t dist[BLOCK];
	for (size_t seg = 0; seg < f.nsegments; seg++) {
		const struct cache_segment *s = &f.segments[seg];
		const uint64_t *hashes = s->rows;
		for (size_t start = 0; start < s->n; start += BLOCK) {
			size_t len = s->n - start;
			if (len > BLOCK)
				len = BLOCK;
			if (!block_distances(hashes + start, len, target, max_distance, dist))
				continue;
			for (size_t k = 0; k < len; k++) {
				if (dist[k] > max_distance)
					continue;
				size_t i = start + k;
				if (f.dead && !cachefile_alive(&f, s->first + i))
					continue;
				if (found == cap) {
					cap = cap ? cap * 2 : 64;
					matches = xrealloc(matches, cap * sizeof(*matches));
				}
				matches[found].id = s->ids[i];
				matches[found].distance = dist[k];
				found++;
			}
		}
	}
	cachefile_close(&f);
	/* qsort wants a valid array even for no elements. */
	if (found)
		qsort(matches, found, sizeof(*matches), cmp_match);
	*out = matches;
	*n = found;
	return 0;
}
