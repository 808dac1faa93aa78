/* vecimport: JSON Lines and .npy readers for embed import. Input is
 * untrusted: every size is checked before it is used, so a hostile
 * header cannot make a read go past the buffer. */
#include "config.h"

#include "util.h"
#include "vecimport.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_DIM = 65536 };

/* One line of JSON Lines: its vector into v (MAX_DIM floats). */
static int jsonl_line(const char *line, const char *name, size_t line_no, float *v,
		      vecimport_fn *each, void *ctx)
{
	cJSON *doc = cJSON_Parse(line);
	cJSON *asset = cJSON_GetObjectItemCaseSensitive(doc, "asset");
	cJSON *vec = cJSON_GetObjectItemCaseSensitive(doc, "vector");
	int dim = cJSON_GetArraySize(vec), rc = 0;
	if (!doc || !cJSON_IsString(asset) || !cJSON_IsArray(vec) || dim < 1 || dim > MAX_DIM) {
		rc = error_set(EX_DATAERR,
			       "%s: line %zu: expected {\"asset\": \"...\", \"vector\": [numbers]}",
			       name, line_no);
		goto out;
	}
	int i = 0;
	cJSON *e;
	/* Finite as a float, not only as a double: 1e39 would become
	 * infinity (and converting it is undefined). */
	cJSON_ArrayForEach(e, vec) {
		if (!cJSON_IsNumber(e) || !(fabs(e->valuedouble) <= FLT_MAX)) {
			rc =
			    error_set(EX_DATAERR, "%s: line %zu: element %d is not a finite number",
				      name, line_no, i);
			goto out;
		}
		v[i++] = (float)e->valuedouble;
	}
	rc = each(asset->valuestring, v, (uint32_t)dim, ctx);
	if (rc == -1)
		error_prefix("%s: line %zu", name, line_no);
out:
	cJSON_Delete(doc);
	return rc;
}

int vecimport_jsonl(const char *text, const char *name, vecimport_fn *each, void *ctx)
{
	char *copy = xstrdup(text);
	float *v = xmalloc(MAX_DIM * sizeof(float));
	int rc = 0;
	size_t line_no = 0;
	/* Every newline counts, blank lines too, so an error names the line
	 * an editor shows (strtok_r would skip the blank ones). */
	for (char *line = copy, *next; line && *line && rc == 0; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		line_no++;
		if (*line && *line != '\r')
			rc = jsonl_line(line, name, line_no, v, each, ctx);
	}
	free(v);
	free(copy);
	return rc;
}

/* One dimension of a shape, a decimal number from 1 to max followed by
 * sep; *p moves past both. Read with strtoull, so a number too large for
 * any integer type is refused rather than wrapped or undefined. */
static bool shape_dim(const char **p, char sep, unsigned long long max, size_t *out)
{
	const char *s = *p;
	while (*s == ' ')
		s++;
	if (*s < '0' || *s > '9')
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || v < 1 || v > max || v > SIZE_MAX)
		return false;
	while (*end == ' ')
		end++;
	if (*end != sep)
		return false;
	*p = end + 1;
	*out = (size_t)v;
	return true;
}

/* The header of a .npy file: where the data starts and its shape. */
static int npy_header(const unsigned char *b, size_t len, const char *name, size_t *start,
		      size_t *rows, size_t *cols)
{
	if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
		return error_set(EX_DATAERR, "%s: not a NumPy .npy file", name);
	if (b[6] < 1 || b[6] > 3)
		return error_set(EX_DATAERR, "%s: .npy format version %u is not known", name,
				 (unsigned)b[6]);
	/* Version 1 has a 2-byte header length, later ones 4 bytes. */
	size_t at = b[6] == 1 ? 10 : 12;
	size_t header_len = b[6] == 1 ? (size_t)(b[8] | b[9] << 8)
			    : len >= 12
				? (size_t)(b[8] | b[9] << 8 | b[10] << 16 | (size_t)b[11] << 24)
				: 0;
	if (!header_len || header_len > len - at)
		return error_set(EX_DATAERR, "%s: damaged .npy header", name);
	char *header = xstrndup((const char *)b + at, header_len);
	bool f4 = strstr(header, "'descr': '<f4'") != NULL;
	bool fortran = strstr(header, "'fortran_order': True") != NULL;
	const char *shape = strstr(header, "'shape': (");
	if (shape)
		shape += strlen("'shape': (");
	bool shaped = shape && shape_dim(&shape, ',', ULLONG_MAX, rows) &&
		      shape_dim(&shape, ')', MAX_DIM, cols);
	free(header);
	if (!f4 || fortran || !shaped)
		return error_set(EX_DATAERR,
				 "%s: expected a float32 ('<f4') C-order matrix of shape (N, D), "
				 "D at most %d",
				 name, MAX_DIM);
	/* header_len <= len - at was checked, so start <= len. */
	*start = at + header_len;
	/* rows * cols * 4 must not wrap: a shape like (2^46 + 512, 65536)
	 * would otherwise pass the size check below, and the rows would be
	 * read past the end of the buffer. The division bounds rows first, so
	 * the product below cannot overflow. */
	size_t data = len - *start;
	if (*rows > data / sizeof(float) / *cols || *rows * *cols * sizeof(float) != data)
		return error_set(EX_DATAERR, "%s: %zu bytes of data for shape (%zu, %zu)", name,
				 data, *rows, *cols);
	return 0;
}

int vecimport_npy(const void *data, size_t len, const char *name, const char *names,
		  const char *names_name, vecimport_fn *each, void *ctx)
{
	size_t start = 0, rows = 0, cols = 0;
	if (npy_header(data, len, name, &start, &rows, &cols) < 0)
		return -1;
	const unsigned char *m = (const unsigned char *)data + start;
	char *copy = xstrdup(names);
	float *v = xmalloc(cols * sizeof(float));
	size_t row = 0, line_no = 0;
	int rc = 0;
	/* As in vecimport_jsonl: blank lines count, so errors name the line. */
	for (char *line = copy, *next; line && *line && rc == 0; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		line_no++;
		size_t n = strlen(line);
		while (n && (line[n - 1] == '\r' || line[n - 1] == ' '))
			line[--n] = '\0';
		if (!n)
			continue;
		if (row >= rows) {
			rc = error_set(EX_DATAERR, "%s: more names than the %zu rows of %s",
				       names_name, rows, name);
			break;
		}
		memcpy(v, m + row * cols * sizeof(float), cols * sizeof(float));
		for (size_t c = 0; c < cols && rc == 0; c++)
			if (!isfinite(v[c]))
				rc = error_set(EX_DATAERR,
					       "%s: row %zu, column %zu is not a finite number",
					       name, row, c);
		if (rc == 0 && (rc = each(line, v, (uint32_t)cols, ctx)) == -1)
			error_prefix("%s: line %zu", names_name, line_no);
		row++;
	}
	if (rc == 0 && row != rows)
		rc = error_set(EX_DATAERR, "%s names %zu assets for the %zu rows of %s", names_name,
			       row, rows, name);
	free(v);
	free(copy);
	return rc;
}
