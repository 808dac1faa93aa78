/* vecimport: vectors computed elsewhere, read from JSON Lines or from a
 * NumPy .npy matrix with the asset of each row named in a text file.
 * Parsers only: they check every size and number and hand each row to a
 * callback; they never open the store, read files or print. */
#ifndef TROUPE_VECIMPORT_H
#define TROUPE_VECIMPORT_H

#include <stddef.h>
#include <stdint.h>

/* Called for each row read, in order: asset as the input names it (an
 * id, a hash or hash prefix, or a path), the vector of dim finite floats
 * (both borrowed for the call). A nonzero return stops the reading,
 * which returns it; on -1 the reader puts where the row is in front of
 * the error. */
typedef int vecimport_fn(const char *asset, const float *vector, uint32_t dim, void *ctx);

/* Lines of {"asset": "...", "vector": [numbers]}, 1 to 65536 numbers;
 * empty lines are skipped. name is what errors call the input ("FILE:
 * line N: ..."). -1 with an EX_DATAERR error on the first bad line. */
int vecimport_jsonl(const char *text, const char *name, vecimport_fn *each, void *ctx);

/* The len bytes of a .npy file of little-endian float32 in C order,
 * shape (N, D) with D at most 65536, and names, one asset a line for
 * each of its N rows (blank lines skipped). name and names_name are what
 * errors call the two inputs. -1 with an EX_DATAERR error when the
 * header, the size or a number is wrong, or the names do not match the
 * rows one for one. */
int vecimport_npy(const void *data, size_t len, const char *name, const char *names,
		  const char *names_name, vecimport_fn *each, void *ctx);

#endif
