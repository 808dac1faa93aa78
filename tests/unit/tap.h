/* A few lines of TAP for the C unit tests, read by automake's driver. */
#ifndef TROUPE_TAP_H
#define TROUPE_TAP_H

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_count, tap_failed;

#define ok(cond, ...)                                                                              \
	do {                                                                                       \
		int ok_ = (cond) ? 1 : 0;                                                          \
		tap_count++;                                                                       \
		if (!ok_)                                                                          \
			tap_failed++;                                                              \
		printf("%s %d - ", ok_ ? "ok" : "not ok", tap_count);                              \
		printf(__VA_ARGS__);                                                               \
		printf("\n");                                                                      \
		if (!ok_)                                                                          \
			printf("#   failed at %s:%d\n", __FILE__, __LINE__);                       \
	} while (0)

#define is_str(got, want, ...)                                                                     \
	do {                                                                                       \
		const char *g_ = (got), *w_ = (want);                                              \
		ok(g_ &&w_ &&strcmp(g_, w_) == 0, __VA_ARGS__);                                    \
		if (!(g_ && w_ && strcmp(g_, w_) == 0))                                            \
			printf("#   got '%s'\n#   want '%s'\n", g_ ? g_ : "(null)",                \
			       w_ ? w_ : "(null)");                                                \
	} while (0)

/* An ok() whose failure leaves nothing the later tests could use: the
 * run stops there, saying so, instead of crashing on what is missing. */
#define ok_or_bail(cond, ...)                                                                      \
	do {                                                                                       \
		int bail_ = (cond) ? 0 : 1;                                                        \
		ok(!bail_, __VA_ARGS__);                                                           \
		if (bail_) {                                                                       \
			printf("Bail out! %s:%d\n", __FILE__, __LINE__);                           \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

/* Unit tests that reach pixels load the image module from the build
 * tree, where libtool leaves it, unless TROUPE_MODULE_DIR says otherwise. */
static inline void tap_find_modules(void)
{
#ifdef TEST_MODULE_DIR
	setenv("TROUPE_MODULE_DIR", TEST_MODULE_DIR, 0);
#endif
}

static inline int tap_done(void)
{
	error_release();
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

#endif
