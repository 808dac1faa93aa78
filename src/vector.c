/* vector: the scan file and the top-k loop. The file is a cache of the
 * index, brought up to the model's generation by embedding.c (appended
 * changes or a rebuild, cachefile.c); it is never the only copy of a
 * vector. */
#include "config.h"

#include "cachefile.h"
#include "util.h"
#include "vector.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static const char vector_magic[8] = {'T', 'R', 'V', 'E', 'C', 'S', '0', '2'};

struct cache_kind vector_cache_kind(uint64_t owner, uint32_t dim)
{
	struct cache_kind k = {.row_bytes = dim * (uint32_t)sizeof(float), .owner = owner};
	memcpy(k.magic, vector_magic, sizeof(k.magic));
	return k;
}

int vector_normalise(float *v, size_t dim)
{
	double sum = 0;
	for (size_t i = 0; i < dim; i++) {
		if (!isfinite(v[i]))
			return error_set(EX_DATAERR, "element %zu is not a finite number", i);
		sum += (double)v[i] * v[i];
	}
	if (sum <= 0)
		return error_set(EX_DATAERR, "the vector is all zeros");
	float scale = (float)(1.0 / sqrt(sum));
	for (size_t i = 0; i < dim; i++)
		v[i] *= scale;
	return 0;
}

float vector_dot(const float *a, const float *b, size_t dim)
{
	float s = 0;
	for (size_t i = 0; i < dim; i++)
		s += a[i] * b[i];
	return s;
}

int vector_file_write(const char *path, uint64_t owner, uint64_t generation, uint32_t dim,
		      const int64_t *ids, const float *rows, size_t n)
{
	struct cache_kind kind = vector_cache_kind(owner, dim);
	return cachefile_write(path, &kind, generation, ids, rows, n);
}

int vector_file_header(const char *path, uint64_t *generation, uint32_t *dim)
{
	struct cache_kind any = vector_cache_kind(0, 0);
	struct cachefile f;
	if (cachefile_open(path, &any, false, &f) != 0 || f.row_bytes % sizeof(float)) {
		if (f.fd >= 0)
			cachefile_close(&f);
		return -1;
	}
	*generation = f.generation;
	*dim = f.row_bytes / (uint32_t)sizeof(float);
	cachefile_close(&f);
	return 0;
}

/* The order of hits: higher score first, then lower id. It is total, so
 * the k best are the same whatever order the rows are scanned in (a
 * rebuilt file and one grown by appends hold them in different orders). */
static bool worse(struct vector_hit a, struct vector_hit b)
{
	return a.score < b.score || (a.score == b.score && a.id > b.id);
}

/* A min-heap of the best k hits: the root is the worst one kept. */
static void heap_push(struct vector_hit *heap, size_t *len, size_t k, struct vector_hit hit)
{
	if (*len < k) {
		size_t i = (*len)++;
		heap[i] = hit;
		while (i > 0 && worse(heap[i], heap[(i - 1) / 2])) {
			struct vector_hit t = heap[i];
			heap[i] = heap[(i - 1) / 2];
			heap[(i - 1) / 2] = t;
			i = (i - 1) / 2;
		}
		return;
	}
	if (!worse(heap[0], hit))
		return;
	heap[0] = hit;
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < *len && worse(heap[l], heap[m]))
			m = l;
		if (r < *len && worse(heap[r], heap[m]))
			m = r;
		if (m == i)
			break;
		struct vector_hit t = heap[i];
		heap[i] = heap[m];
		heap[m] = t;
		i = m;
	}
}

static int cmp_hit(const void *a, const void *b)
{
	const struct vector_hit *x = a, *y = b;
	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	return (x->id > y->id) - (x->id < y->id);
}

/* Eight floats, as the compiler's vector extension: SSE pairs on any
 * x86-64, one AVX register in the avx2 clone below. */
typedef float v8f __attribute__((vector_size(32)));

/* An unaligned load of eight floats (a macro: a function returning a
 * 32-byte vector would change the ABI between the two clones). */
#define LOAD8(p)                                                                                   \
	__extension__({                                                                            \
		v8f v_;                                                                            \
		memcpy(&v_, (p), sizeof(v_));                                                      \
		v_;                                                                                \
	})

/* Dot products of a block of rows with the query. The accumulators live
 * in registers and the loop has a fixed shape, so it runs at the speed
 * memory delivers the rows. */
__attribute__((target_clones("avx2", "default"))) static void
block_scores(const float *rows, size_t nrows, const float *q, uint32_t dim, float *scores)
{
	for (size_t r = 0; r < nrows; r++) {
		const float *row = rows + r * dim;
		v8f a0 = {0}, a1 = {0};
		uint32_t d = 0;
		for (; d + 16 <= dim; d += 16) {
			a0 += LOAD8(row + d) * LOAD8(q + d);
			a1 += LOAD8(row + d + 8) * LOAD8(q + d + 8);
		}
		v8f acc = a0 + a1;
		float s = 0;
		for (; d < dim; d++)
			s += row[d] * q[d];
		for (int j = 0; j < 8; j++)
			s += acc[j];
		scores[r] = s;
	}
}

int vector_file_search(const char *path, const float *query, uint32_t dim, size_t k,
		       int (*allow)(int64_t, void *), void *ctx, struct vector_hit **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	struct cache_kind kind = vector_cache_kind(0, dim);
	kind.any_owner = true;
	struct cachefile f;
	int opened = cachefile_open(path, &kind, false, &f);
	if (opened != 0)
		return error_set(EX_IOERR, "%s: %s", path,
				 opened > 0 ? "cannot read the vector file"
					    : "damaged vector file");
	madvise(f.base, f.size, MADV_SEQUENTIAL);
	struct vector_hit *heap = xcalloc(k ? k : 1, sizeof(*heap));
	size_t len = 0;
	enum { BLOCK = 256 };
	float scores[BLOCK];
	for (size_t seg = 0; seg < f.nsegments; seg++) {
		const struct cache_segment *s = &f.segments[seg];
		/* The rows are floats at a 64-byte aligned offset (cachefile.c);
		 * no conversion of the bytes is involved. */
		const float *rows = s->rows;
		for (size_t start = 0; start < s->n; start += BLOCK) {
			size_t nrows = s->n - start;
			if (nrows > BLOCK)
				nrows = BLOCK;
			block_scores(rows + start * dim, nrows, query, dim, scores);
			for (size_t r = 0; r < nrows; r++) {
				if (len == k && scores[r] < heap[0].score)
					continue;
				int64_t id = s->ids[start + r];
				if (f.dead && !cachefile_alive(&f, s->first + start + r))
					continue;
				if (allow && !allow(id, ctx))
					continue;
				heap_push(heap, &len, k, (struct vector_hit){id, scores[r]});
			}
		}
	}
	cachefile_close(&f);
	qsort(heap, len, sizeof(*heap), cmp_hit);
	*out = heap;
	*n = len;
	return 0;
}
