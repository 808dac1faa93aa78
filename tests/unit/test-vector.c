/* Unit tests for vector: normalising, the scan file's header, and top-k
 * search checked against a plain loop over the same rows, across block
 * boundaries, at dimensions the SIMD loop does and does not divide. */
#include "config.h"

#include "tap.h"
#include "util.h"
#include "vector.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static uint64_t rng = 0x9e3779b97f4a7c15u;
static float uniform(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (float)((rng >> 11) * (1.0 / 9007199254740992.0)) * 2 - 1;
}

static void random_rows(float *rows, size_t n, uint32_t dim)
{
	for (size_t i = 0; i < n; i++) {
		for (uint32_t d = 0; d < dim; d++)
			rows[i * dim + d] = uniform();
		vector_normalise(rows + i * dim, dim);
	}
}

static int even_only(int64_t id, void *ctx)
{
	(void)ctx;
	return id % 2 == 0;
}

/* The k best of rows by a plain loop: best score first, then lower id. */
static size_t brute_force(const float *rows, const int64_t *ids, size_t n, uint32_t dim,
			  const float *q, size_t k, int (*allow)(int64_t, void *),
			  struct vector_hit *out)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		if (allow && !allow(ids[i], NULL))
			continue;
		struct vector_hit h = {ids[i], vector_dot(rows + i * dim, q, dim)};
		size_t at = len;
		while (at > 0 && (out[at - 1].score < h.score ||
				  (out[at - 1].score == h.score && out[at - 1].id > h.id)))
			at--;
		if (at >= k)
			continue;
		size_t last = len < k ? len : k - 1;
		for (size_t j = last; j > at; j--)
			out[j] = out[j - 1];
		out[at] = h;
		if (len < k)
			len++;
	}
	return len;
}

/* Whether a search over a file of n random rows finds what the plain
 * loop finds: the same ids in the same order, scores within rounding. */
static bool search_matches(const char *path, size_t n, uint32_t dim, size_t k,
			   int (*allow)(int64_t, void *))
{
	float *rows = xcalloc(n * dim, sizeof(float)), *q = xcalloc(dim, sizeof(float));
	int64_t *ids = xcalloc(n, sizeof(int64_t));
	struct vector_hit *want = xcalloc(k, sizeof(*want)), *got = NULL;
	random_rows(rows, n, dim);
	random_rows(q, 1, dim);
	for (size_t i = 0; i < n; i++)
		ids[i] = (int64_t)(i * 3 + 10);
	size_t nwant = brute_force(rows, ids, n, dim, q, k, allow, want), ngot = 0;
	bool same = vector_file_write(path, 7, 1, dim, ids, rows, n) == 0 &&
		    vector_file_search(path, q, dim, k, allow, NULL, &got, &ngot) == 0 &&
		    ngot == nwant;
	for (size_t i = 0; same && i < ngot; i++)
		same = got[i].id == want[i].id && fabsf(got[i].score - want[i].score) < 1e-4f;
	free(got);
	free(want);
	free(ids);
	free(q);
	free(rows);
	return same;
}

int main(void)
{
	float v[] = {3, 4};
	ok(vector_normalise(v, 2) == 0 && fabsf(v[0] - 0.6f) < 1e-6f && fabsf(v[1] - 0.8f) < 1e-6f,
	   "normalise (3, 4) to (0.6, 0.8)");
	float zero[] = {0, 0, 0};
	ok(vector_normalise(zero, 3) < 0 && strstr(error_message(), "all zeros"),
	   "a zero vector is refused: %s", error_message());
	float nan[] = {1, NAN, 0};
	ok(vector_normalise(nan, 3) < 0 && strstr(error_message(), "element 1"),
	   "NaN is refused, naming the element: %s", error_message());
	float inf[] = {INFINITY, 1};
	ok(vector_normalise(inf, 2) < 0 && strstr(error_message(), "element 0"),
	   "infinity is refused: %s", error_message());
	float a[] = {1, 2, 3}, b[] = {4, -5, 6};
	ok(vector_dot(a, b, 3) == 12.0f, "dot product (%g)", (double)vector_dot(a, b, 3));

	char *dir = temp_template("vector");
	ok(mkdtemp(dir) != NULL, "temporary directory");
	char *path = xasprintf("%s/model.vec", dir);
	uint64_t gen = 0;
	uint32_t dim = 0;
	ok(vector_file_header(path, &gen, &dim) < 0, "no file: no header");

	/* Three rows of dimension 3: an exact order to check by hand. */
	int64_t ids3[] = {7, 8, 9};
	float rows3[] = {1, 0, 0, 0, 1, 0, 0.6f, 0.8f, 0};
	ok(vector_file_write(path, 7, 42, 3, ids3, rows3, 3) == 0, "write a small file");
	ok(vector_file_header(path, &gen, &dim) == 0 && gen == 42 && dim == 3,
	   "its header: generation %llu, dimension %u", (unsigned long long)gen, dim);
	float q3[] = {0, 1, 0};
	struct vector_hit *hits = NULL;
	size_t n = 0;
	ok(vector_file_search(path, q3, 3, 2, NULL, NULL, &hits, &n) == 0 && n == 2 &&
	       hits[0].id == 8 && hits[1].id == 9 && fabsf(hits[0].score - 1) < 1e-6f &&
	       fabsf(hits[1].score - 0.8f) < 1e-6f,
	   "the two nearest, best first, with their cosines");
	free(hits);
	ok(vector_file_search(path, q3, 3, 10, NULL, NULL, &hits, &n) == 0 && n == 3 &&
	       hits[2].id == 7 && fabsf(hits[2].score) < 1e-6f,
	   "k beyond the file gives every row");
	free(hits);
	float qtie[] = {0.6f, 0.8f, 0};
	int64_t idsdup[] = {5, 3, 4};
	float rowsdup[] = {0.6f, 0.8f, 0, 0.6f, 0.8f, 0, 0.6f, 0.8f, 0};
	ok(vector_file_write(path, 7, 43, 3, idsdup, rowsdup, 3) == 0 &&
	       vector_file_search(path, qtie, 3, 3, NULL, NULL, &hits, &n) == 0 && n == 3 &&
	       hits[0].id == 3 && hits[1].id == 4 && hits[2].id == 5,
	   "equal scores come in order of id");
	free(hits);
	ok(vector_file_search(path, q3, 4, 2, NULL, NULL, &hits, &n) < 0 && n == 0 &&
	       strstr(error_message(), "damaged vector file"),
	   "a query of another dimension is refused: %s", error_message());
	ok(truncate(path, 100) == 0 && vector_file_header(path, &gen, &dim) < 0,
	   "a truncated file has no header");
	ok(vector_file_search(path, q3, 3, 2, NULL, NULL, &hits, &n) < 0 &&
	       strstr(error_message(), "damaged"),
	   "and is not searched: %s", error_message());
	char *missing = xasprintf("%s/none.vec", dir);
	ok(vector_file_search(missing, q3, 3, 2, NULL, NULL, &hits, &n) < 0 &&
	       strstr(error_message(), "cannot read"),
	   "a missing file is an error: %s", error_message());

	/* Many rows: several blocks of the scan, a heap that is full early. */
	ok(search_matches(path, 1000, 64, 10, NULL), "top 10 of 1000 rows of 64, as a plain loop");
	ok(search_matches(path, 1000, 37, 25, NULL),
	   "top 25 of 1000 rows of 37 (not a multiple of 16)");
	ok(search_matches(path, 700, 5, 1, NULL), "top 1 of 700 rows of 5");
	ok(search_matches(path, 600, 128, 50, even_only), "top 50 of the even ids only");
	ok(search_matches(path, 300, 16, 400, NULL), "k over n gives all 300, in order");

	unlink(path);
	unlink(missing);
	rmdir(dir);
	free(missing);
	free(path);
	free(dir);
	return tap_done();
}
