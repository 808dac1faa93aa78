/* vector: embeddings as unit-length float32 rows, and the flat file per
 * model that "nearest" scans: ids and rows contiguous, memory-mapped, read
 * with a loop the compiler turns into SIMD. Pure C; the rows come from
 * embedding.c. */
#ifndef TROUPE_VECTOR_H
#define TROUPE_VECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "cachefile.h"

/* Scales v to unit length; -1 with an error for a zero, NaN or infinite
 * vector. */
int vector_normalise(float *v, size_t dim);
float vector_dot(const float *a, const float *b, size_t dim);

struct vector_hit {
	int64_t id;
	float score; /* cosine similarity, -1..1 */
};

/* The kind of a model's scan file (cachefile.h): owner is the model's
 * id, dim its dimension. */
struct cache_kind vector_cache_kind(uint64_t owner, uint32_t dim);
/* Writes the scan file whole (through a temporary name and a rename). */
int vector_file_write(const char *path, uint64_t owner, uint64_t generation, uint32_t dim,
		      const int64_t *ids, const float *rows, size_t n);
/* The generation and dimension in a file's header; -1 (no error) when the
 * file is missing or damaged. */
int vector_file_header(const char *path, uint64_t *generation, uint32_t *dim);
/* The k rows most similar to query (unit length), best first (ties by
 * lower id), rows a later change removed left out. When allow is not
 * NULL only ids for which allow(id, ctx) is true count. */
int vector_file_search(const char *path, const float *query, uint32_t dim, size_t k,
		       int (*allow)(int64_t, void *), void *ctx, struct vector_hit **out,
		       size_t *n);

#endif
