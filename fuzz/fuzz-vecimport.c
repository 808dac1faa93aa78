/* fuzz-vecimport: both readers of vecimport.h on one input. The whole
 * input is read as JSON Lines; it is also split at the first "\0NAMES\0"
 * into a .npy file (before) and its names text (after; none when the
 * marker is missing) for vecimport_npy. Checks that every row handed to
 * the callback has a name and 1 to 65536 finite floats, that a refusal
 * carries an EX_DATAERR error, and that nothing is read past the input. */
/* memmem */
#define _GNU_SOURCE
#include "config.h"

#include "fuzz.h"
#include "util.h"
#include "vecimport.h"

#include <math.h>

static const char names_marker[] = "\0NAMES\0";
#define NAMES_MARKER_LEN (sizeof(names_marker) - 1)

static int each_row(const char *asset, const float *vector, uint32_t dim, void *ctx)
{
	size_t *rows = ctx;
	FUZZ_CHECK(asset != NULL);
	FUZZ_CHECK(dim >= 1 && dim <= 65536);
	for (uint32_t i = 0; i < dim; i++)
		FUZZ_CHECK(isfinite(vector[i]));
	(*rows)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t rows = 0;
	char *text = fuzz_string(data, size);
	int rc = vecimport_jsonl(text, "fuzz.jsonl", each_row, &rows);
	FUZZ_CHECK(rc == 0 || (rc == -1 && error_code() == EX_DATAERR));
	free(text);

	const uint8_t *marker = memmem(data, size, names_marker, NAMES_MARKER_LEN);
	size_t npy_len = marker ? (size_t)(marker - data) : size;
	/* An exact-size copy, so a read past the matrix is caught. */
	uint8_t *npy = malloc(npy_len ? npy_len : 1);
	if (!npy)
		abort();
	memcpy(npy, data, npy_len);
	char *names = marker ? fuzz_string(marker + NAMES_MARKER_LEN,
					   size - npy_len - NAMES_MARKER_LEN)
			     : fuzz_string(data, 0);
	rows = 0;
	rc = vecimport_npy(npy, npy_len, "fuzz.npy", names, "fuzz.names", each_row, &rows);
	FUZZ_CHECK(rc == 0 || (rc == -1 && error_code() == EX_DATAERR));
	free(names);
	free(npy);
	return 0;
}
