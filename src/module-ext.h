/* module-ext: the module's side of the host table, as sqlite3ext.h is an
 * extension's side of SQLite's. A module's source (image-vips.c,
 * http-curl.c) includes it after every other header: the program's
 * functions named below then become calls through the table handed to
 * troupe_module_init. The program itself must never include it. */
#ifndef TROUPE_MODULE_EXT_H
#define TROUPE_MODULE_EXT_H

#include <stdbool.h>

#include "module.h"
#include "util.h"

/* The table this module was handed; set once, before any other call. */
static const struct module_host *host_table;

/* Keeps host and returns true when it is a table of the version this
 * module was built against with at least the entries it knows of. */
static inline bool module_host_accept(const struct module_host *host)
{
	if (!host || host->version != MODULE_HOST_VERSION ||
	    host->size < sizeof(struct module_host))
		return false;
	host_table = host;
	return true;
}

/* Defined by the module (see MODULE_INIT_SYMBOL in module.h). */
const void *troupe_module_init(const struct module_host *host);

/* Function-like, so the table's members of the same names are left
 * alone, and each member in parentheses, so no preprocessor takes the
 * expansion for a call to expand again (cppcheck's does). */
#define error_set(...)	     ((host_table->error_set)(__VA_ARGS__))
#define xcalloc(...)	     ((host_table->xcalloc)(__VA_ARGS__))
#define xstrdup(...)	     ((host_table->xstrdup)(__VA_ARGS__))
#define sb_add(...)	     ((host_table->sb_add)(__VA_ARGS__))
#define sb_reset(...)	     ((host_table->sb_reset)(__VA_ARGS__))
#define image_max_pixels()   ((host_table->image_max_pixels)())
#define phash_from_gray(...) ((host_table->phash_from_gray)(__VA_ARGS__))

#endif
