/* fuzz: what every libFuzzer harness in this directory shares: the entry
 * point's prototype, a check that turns a broken promise of a header into
 * a crash libFuzzer records, and copies of the input that end where it
 * does, so AddressSanitizer catches a read one byte past it. */
#ifndef TROUPE_FUZZ_H
#define TROUPE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond)                                                                   \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: broken promise: %s\n", __FILE__, __LINE__, \
				#cond);                                                    \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* len bytes of data as a string of its own allocation (a NUL inside ends
 * it early, as it would for any C caller). */
static inline char *fuzz_string(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1);
	if (!s)
		abort();
	if (len)
		memcpy(s, data, len);
	s[len] = '\0';
	return s;
}

#endif
