/* Unit tests for vecimport: .npy headers made to lie about their size
 * (the shape whose rows * cols * 4 wraps round to the bytes there are),
 * numbers too large for any integer, damaged and unknown headers, and
 * JSON Lines, each refused with an error and no read past the input. */
#include "config.h"

#include "tap.h"
#include "util.h"
#include "vecimport.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct seen {
	size_t rows;
	uint32_t dim;
	float first, last;
	char names[256];
};

static int collect(const char *asset, const float *vector, uint32_t dim, void *ctx)
{
	struct seen *s = ctx;
	if (s->rows == 0)
		s->first = vector[0];
	s->last = vector[dim - 1];
	s->dim = dim;
	s->rows++;
	strncat(s->names, asset, sizeof(s->names) - strlen(s->names) - 2);
	strcat(s->names, " ");
	return 0;
}

/* A version-1 .npy: the magic, the header dict padded with spaces and
 * ended by a newline, then data bytes of float data (as given, which may
 * be less than the shape says). The caller frees the buffer. */
static unsigned char *npy(const char *dict, const float *data, size_t data_bytes, size_t *len)
{
	size_t dict_len = strlen(dict);
	size_t header_len = (10 + dict_len + 1 + 63) / 64 * 64 - 10;
	*len = 10 + header_len + data_bytes;
	unsigned char *b = xcalloc(1, *len);
	memcpy(b, "\x93NUMPY\x01\x00", 8);
	b[8] = (unsigned char)(header_len & 0xff);
	b[9] = (unsigned char)(header_len >> 8);
	memset(b + 10, ' ', header_len);
	memcpy(b + 10, dict, dict_len);
	b[10 + header_len - 1] = '\n';
	if (data_bytes)
		memcpy(b + 10 + header_len, data, data_bytes);
	return b;
}

/* Reads a .npy with shape text and data_bytes of zeros, and whether it
 * was refused with an EX_DATAERR error whose message holds want. */
static int refused(const char *shape, size_t data_bytes, const char *names, const char *want)
{
	char dict[256];
	snprintf(dict, sizeof(dict), "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }",
		 shape);
	float *zeros = xcalloc(1, data_bytes ? data_bytes : 1);
	size_t len;
	unsigned char *b = npy(dict, zeros, data_bytes, &len);
	struct seen s = {0};
	error_clear();
	int rc = vecimport_npy(b, len, "m.npy", names, "m.hashes", collect, &s);
	int ok_ = rc == -1 && error_code() == EX_DATAERR && s.rows == 0 &&
		  strstr(error_message(), want) != NULL;
	if (!ok_)
		printf("#   rc %d, %zu rows, error '%s'\n", rc, s.rows, error_message());
	free(b);
	free(zeros);
	return ok_;
}

static void test_npy_good(void)
{
	const float m[] = {1, 2, 3, 4, 5, 6};
	size_t len;
	unsigned char *b =
	    npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", m, sizeof(m), &len);
	struct seen s = {0};
	ok(vecimport_npy(b, len, "m.npy", "a\n\nb\r\n", "m.hashes", collect, &s) == 0,
	   "a (2, 3) matrix reads");
	ok(s.rows == 2 && s.dim == 3 && s.first == 1 && s.last == 6, "row by row, in order");
	is_str(s.names, "a b ", "each named by its line, blank lines skipped");
	struct seen t = {0};
	ok(vecimport_npy(b, len, "m.npy", "a\n", "m.hashes", collect, &t) == -1 &&
	       strstr(error_message(), "names 1 assets for the 2 rows") != NULL,
	   "fewer names than rows is refused");
	ok(vecimport_npy(b, len, "m.npy", "a\nb\nc\n", "m.hashes", collect, &t) == -1 &&
	       strstr(error_message(), "more names than the 2 rows") != NULL,
	   "more names than rows is refused");
	free(b);

	const float nan_row[] = {1, 0.0f / 0.0f};
	b = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", nan_row,
		sizeof(nan_row), &len);
	struct seen u = {0};
	ok(vecimport_npy(b, len, "m.npy", "a\n", "m.hashes", collect, &u) == -1 &&
	       strstr(error_message(), "row 0, column 1 is not a finite number") != NULL,
	   "a NaN is refused");
	free(b);
}

static void test_npy_hostile(void)
{
	/* (2^46 + 1) * 65536 * 4 = 2^64 + 2^18: with a wrapping product the
	 * size check would see 262144 bytes, exactly what is there, and the
	 * rows would be read far past the buffer. */
	ok(refused("(70368744177665, 65536)", 262144, "a\n", "262144 bytes of data for shape"),
	   "a shape whose size wraps round to the data there is refused");
	/* The reproducer: (2^46 + 512, 65536) wraps to 2^27 bytes. */
	ok(refused("(70368744178176, 65536)", 4096, "a\n", "bytes of data for shape"),
	   "the shape (2^46 + 512, 65536) is refused");
	ok(refused("(18446744073709551615, 1)", 64, "a\n", "bytes of data for shape"),
	   "rows of SIZE_MAX are refused");
	ok(refused("(99999999999999999999999, 4)", 64, "a\n", "matrix of shape (N, D)"),
	   "rows too large for any integer are refused");
	ok(refused("(2, 99999999999999999999999)", 64, "a\n", "matrix of shape (N, D)"),
	   "columns too large for any integer are refused");
	ok(refused("(1, 65537)", 65537 * 4, "a\n", "D at most 65536"),
	   "more than 65536 columns are refused");
	ok(refused("(-1, 4)", 16, "a\n", "matrix of shape (N, D)"), "negative rows are refused");
	ok(refused("(0, 4)", 0, "", "matrix of shape (N, D)"), "zero rows are refused");
	ok(refused("(2, 0)", 0, "a\nb\n", "matrix of shape (N, D)"), "zero columns are refused");
	ok(refused("(2,)", 8, "a\nb\n", "matrix of shape (N, D)"), "a vector is not a matrix");
	ok(refused("(2, 2, 2)", 32, "a\nb\n", "matrix of shape (N, D)"),
	   "nor is a three-dimensional array");
	ok(refused("(3, 2)", 16, "a\nb\nc\n", "16 bytes of data for shape (3, 2)"),
	   "fewer bytes than the shape says are refused");
	ok(refused("(1, 2)", 16, "a\n", "16 bytes of data for shape (1, 2)"), "and so are more");
}

static void test_npy_damaged(void)
{
	struct seen s = {0};
	ok(vecimport_npy("\x93NUMP", 5, "m.npy", "", "h", collect, &s) == -1 &&
	       strstr(error_message(), "not a NumPy .npy file"),
	   "a truncated magic is refused");
	unsigned char v2[11] = "\x93NUMPY\x02\x00\x10\x00";
	ok(vecimport_npy(v2, sizeof(v2), "m.npy", "", "h", collect, &s) == -1 &&
	       strstr(error_message(), "damaged .npy header"),
	   "a version-2 file too short for its header length is refused");
	unsigned char v9[16] = "\x93NUMPY\x09\x00\x04\x00{}  ";
	ok(vecimport_npy(v9, sizeof(v9), "m.npy", "", "h", collect, &s) == -1 &&
	       strstr(error_message(), "version 9 is not known"),
	   "an unknown version is refused");
	unsigned char past[16] = "\x93NUMPY\x01\x00\xff\xff{}  ";
	ok(vecimport_npy(past, sizeof(past), "m.npy", "", "h", collect, &s) == -1 &&
	       strstr(error_message(), "damaged .npy header"),
	   "a header length past the end is refused");
	unsigned char v3[16] = "\x93NUMPY\x03\x00\xff\xff\xff\xff";
	ok(vecimport_npy(v3, sizeof(v3), "m.npy", "", "h", collect, &s) == -1 &&
	       strstr(error_message(), "damaged .npy header"),
	   "a 4-byte header length of 2^32 - 1 is refused");
	float one[4] = {0};
	size_t len;
	unsigned char *b =
	    npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2), }", one, 16, &len);
	ok(vecimport_npy(b, len, "m.npy", "a\n", "h", collect, &s) == -1, "float64 is refused");
	free(b);
	b = npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", one, 16, &len);
	ok(vecimport_npy(b, len, "m.npy", "a\nb\n", "h", collect, &s) == -1,
	   "Fortran order is refused");
	free(b);
	ok(s.rows == 0, "no row of a refused file reached the callback");
}

static int collect_quiet(const char *asset, const float *vector, uint32_t dim, void *ctx)
{
	(void)asset, (void)vector, (void)dim, (void)ctx;
	return 0;
}

/* Refuses the asset named "bad", as the import's lookup would. */
static int refuse_bad(const char *asset, const float *vector, uint32_t dim, void *ctx)
{
	(void)vector, (void)dim, (void)ctx;
	if (!strcmp(asset, "bad"))
		return error_set(EX_DATAERR, "bad: no such asset");
	return 0;
}

/* Blank lines count: an error names the line an editor shows. */
static void test_line_numbers(void)
{
	error_clear();
	ok(vecimport_jsonl("{\"asset\": \"1\", \"vector\": [1]}\n\n\n"
			   "{\"asset\": \"1\", \"vector\": []}\n",
			   "v.jsonl", collect_quiet, NULL) == -1 &&
	       strstr(error_message(), "v.jsonl: line 4: expected"),
	   "a JSON Lines error after blank lines names its own line");
	if (!strstr(error_message(), "line 4"))
		printf("#   error '%s'\n", error_message());
	error_clear();
	ok(vecimport_jsonl("\n\n{\"asset\": \"bad\", \"vector\": [1]}\n", "v.jsonl", refuse_bad,
			   NULL) == -1 &&
	       strstr(error_message(), "v.jsonl: line 3: bad"),
	   "a refused asset after blank lines names its own line");
	if (!strstr(error_message(), "line 3"))
		printf("#   error '%s'\n", error_message());

	const float m[] = {1, 2};
	size_t len;
	unsigned char *b =
	    npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1), }", m, sizeof(m), &len);
	error_clear();
	ok(vecimport_npy(b, len, "m.npy", "a\n\n\nbad\n", "m.hashes", refuse_bad, NULL) == -1 &&
	       strstr(error_message(), "m.hashes: line 4: bad"),
	   "a refused name after blank lines names its own line");
	if (!strstr(error_message(), "line 4"))
		printf("#   error '%s'\n", error_message());
	free(b);
}

static void test_jsonl(void)
{
	struct seen s = {0};
	ok(vecimport_jsonl("{\"asset\": \"1\", \"vector\": [1, 2]}\n\n"
			   "{\"asset\": \"2\", \"vector\": [3, 4]}\n",
			   "v.jsonl", collect, &s) == 0 &&
	       s.rows == 2 && s.last == 4,
	   "JSON Lines read line by line");
	struct seen t = {0};
	ok(vecimport_jsonl("{\"asset\": \"1\", \"vector\": []}\n", "v.jsonl", collect, &t) == -1 &&
	       strstr(error_message(), "v.jsonl: line 1: expected"),
	   "an empty vector is refused");
	ok(vecimport_jsonl("{\"asset\": \"1\", \"vector\": [1, 1e999]}\n", "v.jsonl", collect,
			   &t) == -1,
	   "an infinite number is refused");
	ok(vecimport_jsonl("{\"asset\": \"1\", \"vector\": [1e39, 1]}\n", "v.jsonl", collect, &t) ==
		   -1 &&
	       strstr(error_message(), "line 1: element 0 is not a finite number"),
	   "a number finite as a double but not as a float is refused");
	struct seen u = {0};
	ok(vecimport_jsonl("{\"asset\": \"1\", \"vector\": [-3.4e38, 3.4e38]}\n", "v.jsonl",
			   collect, &u) == 0 &&
	       u.rows == 1 && u.last == 3.4e38f,
	   "the largest floats are read");
	struct strbuf big = STRBUF_INIT;
	sb_adds(&big, "{\"asset\": \"1\", \"vector\": [0");
	for (int i = 0; i < 65536; i++)
		sb_adds(&big, ",0");
	sb_adds(&big, "]}\n");
	ok(vecimport_jsonl(big.buf, "v.jsonl", collect, &t) == -1 &&
	       strstr(error_message(), "line 1: expected"),
	   "65537 numbers are refused, not written past the row buffer");
	sb_release(&big);
	ok(t.rows == 0, "no refused line reached the callback");
}

int main(void)
{
	test_npy_good();
	test_npy_hostile();
	test_npy_damaged();
	test_jsonl();
	test_line_numbers();
	return tap_done();
}
