/* module: loading troupe's own modules (troupe-image.so, troupe-http.so,
 * troupe-video.so), which keep heavy libraries out of commands that do
 * not need them. A module calls the program only through the table of host functions it
 * is handed when loaded (SQLite's sqlite3_api_routines is the model): the
 * program exports no symbols, and a module must never link against it. */
#ifndef TROUPE_MODULE_H
#define TROUPE_MODULE_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;

/* The host functions a module may call. Entries are only ever appended,
 * so a module finds the ones it was built with where it expects them as
 * long as size covers them; a change to an existing entry bumps
 * MODULE_HOST_VERSION instead. */
#define MODULE_HOST_VERSION 1
struct module_host {
	int version; /* MODULE_HOST_VERSION */
	size_t size; /* sizeof(struct module_host) as the program was built */
	/* util: errors, allocation, strbuf. */
	int (*error_set)(int exit_code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
	void *(*xcalloc)(size_t n, size_t size);
	char *(*xstrdup)(const char *s);
	void (*sb_add)(struct strbuf *sb, const void *data, size_t len);
	void (*sb_reset)(struct strbuf *sb);
	/* The image room's, set in the table image.c hands troupe-image.so
	 * (and image_max_pixels in video.c's, for frames) and NULL in any
	 * other. */
	int64_t (*image_max_pixels)(void);
	uint64_t (*phash_from_gray)(const uint8_t *pixels);
};

/* Designated initialisers for the version, the size and util's entries,
 * which every table has; the file using it includes util.h. */
#define MODULE_HOST_UTIL                                                                           \
	.version = MODULE_HOST_VERSION, .size = sizeof(struct module_host),                        \
	.error_set = error_set, .xcalloc = xcalloc, .xstrdup = xstrdup, .sb_add = sb_add,          \
	.sb_reset = sb_reset

/* The one symbol a module exports, of this type: it checks and keeps the
 * host table (borrowed until exit) and returns the module's table of
 * operations, whose first member is an int version, or NULL when the
 * host table is not one the module was built for. */
#define MODULE_INIT_SYMBOL "troupe_module_init"
typedef const void *module_init_fn(const struct module_host *host);

/* Opens the module named file, found as $TROUPE_MODULE_DIR/file, in .libs/
 * or beside the running program (a build tree), or in the installed
 * module directory; hands its init function host (which must outlive the
 * program's use of the module) and returns the module's table when its
 * version equals version. NULL with an error otherwise. The module stays
 * loaded until exit. */
const void *module_load(const char *file, const struct module_host *host, int version);

#endif
