/* vector: the scan file and the top-k loop. The file is a cache rebuilt
 * from the index whenever the model's generation moves; it is never the
 * only copy of a vector. */
#include "config.h"

#include "util.h"
#include "vector.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static const char vector_magic[8] = {'T', 'R', 'V', 'E', 'C', 'S', '0', '1'};

/* Rows start on a 64-byte boundary so the scan loop reads aligned lines. */
struct vector_header {
	char magic[8];
	uint64_t generation;
	uint64_t count;
	uint32_t dim;
	uint32_t reserved;
	uint64_t rows_offset;
	char pad[24];
};

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

static uint64_t rows_offset(uint64_t count)
{
	uint64_t end = sizeof(struct vector_header) + count * sizeof(int64_t);
	return (end + 63) & ~(uint64_t)63;
}

int vector_file_write(const char *path, uint64_t generation, uint32_t dim, const int64_t *ids,
		      const float *rows, size_t n)
{
	struct vector_header h = {
	    .generation = generation, .count = n, .dim = dim, .rows_offset = rows_offset(n)};
	memcpy(h.magic, vector_magic, sizeof(h.magic));
	/* The rows start on a 64-byte boundary, for the scan's loads. */
	static char zeros[64] = {0};
	size_t pad = (size_t)(h.rows_offset - sizeof(h) - n * sizeof(int64_t));
	struct iovec parts[] = {{&h, sizeof(h)},
				{(void *)ids, n * sizeof(int64_t)},
				{zeros, pad},
				{(void *)rows, n * dim * sizeof(float)}};
	return file_write_atomicv(path, parts, 4);
}

static bool header_ok(const struct vector_header *h, uint64_t size)
{
	return memcmp(h->magic, vector_magic, sizeof(vector_magic)) == 0 && h->dim > 0 &&
	       h->rows_offset == rows_offset(h->count) &&
	       size == h->rows_offset + h->count * h->dim * sizeof(float);
}

int vector_file_header(const char *path, uint64_t *generation, uint32_t *dim)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct vector_header h;
	struct stat st;
	bool ok = read(fd, &h, sizeof(h)) == (ssize_t)sizeof(h) && fstat(fd, &st) == 0 &&
		  header_ok(&h, (uint64_t)st.st_size);
	close(fd);
	if (!ok)
		return -1;
	*generation = h.generation;
	*dim = h.dim;
	return 0;
}

/* A min-heap of the best k hits: the root is the worst one kept. */
static void heap_push(struct vector_hit *heap, size_t *len, size_t k, struct vector_hit hit)
{
	if (*len < k) {
		size_t i = (*len)++;
		heap[i] = hit;
		while (i > 0 && heap[(i - 1) / 2].score > heap[i].score) {
			struct vector_hit t = heap[i];
			heap[i] = heap[(i - 1) / 2];
			heap[(i - 1) / 2] = t;
			i = (i - 1) / 2;
		}
		return;
	}
	if (hit.score <= heap[0].score)
		return;
	heap[0] = hit;
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < *len && heap[l].score < heap[m].score)
			m = l;
		if (r < *len && heap[r].score < heap[m].score)
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
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return error_set(EX_IOERR, "%s: cannot read the vector file", path);
	}
	void *base =
	    st.st_size ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
	close(fd);
	if (base == MAP_FAILED)
		return error_set(EX_IOERR, "%s: cannot map the vector file", path);
	const struct vector_header *h = base;
	if ((size_t)st.st_size < sizeof(*h) || !header_ok(h, (uint64_t)st.st_size) ||
	    h->dim != dim) {
		munmap(base, (size_t)st.st_size);
		return error_set(EX_IOERR, "%s: damaged vector file", path);
	}
	madvise(base, (size_t)st.st_size, MADV_SEQUENTIAL);
	const int64_t *ids = (const int64_t *)(h + 1);
	/* The rows are floats at their 64-byte aligned offset (see
	 * vector_file_write); no conversion of the bytes is involved. */
	const unsigned char *bytes = base;
	const float *rows = (const void *)(bytes + h->rows_offset);
	struct vector_hit *heap = xcalloc(k ? k : 1, sizeof(*heap));
	size_t len = 0;
	enum { BLOCK = 256 };
	float scores[BLOCK];
	for (size_t start = 0; start < h->count; start += BLOCK) {
		size_t nrows = h->count - start;
		if (nrows > BLOCK)
			nrows = BLOCK;
		block_scores(rows + start * dim, nrows, query, dim, scores);
		for (size_t r = 0; r < nrows; r++) {
			if (len == k && scores[r] <= heap[0].score)
				continue;
			if (allow && !allow(ids[start + r], ctx))
				continue;
			heap_push(heap, &len, k, (struct vector_hit){ids[start + r], scores[r]});
		}
	}
	munmap(base, (size_t)st.st_size);
	qsort(heap, len, sizeof(*heap), cmp_hit);
	*out = heap;
	*n = len;
	return 0;
}
