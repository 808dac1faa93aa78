/* catalog: the store and its index as one handle, shared by the catalog
 * rooms (character, asset, ingest, thumbnail, derivative, reqlog,
 * embedding): open and create, and explicit transactions. Each room's
 * header declares its own part of the domain API; this one declares no
 * feature, and nothing here prints. */
#ifndef TROUPE_CATALOG_H
#define TROUPE_CATALOG_H

#include <stdbool.h>

struct catalog;

/* Opens the store found from dir (see store_open) and its index; NULL
 * with an error when there is none. Close with catalog_close(). */
struct catalog *catalog_open(const char *dir);
/* Creates a store at dir (the .troupe directory) with an empty index;
 * *existed tells whether one was already there. */
int catalog_create(const char *dir, bool *existed);
/* Finalizes the cached statements and closes the index; NULL is a no-op. */
void catalog_close(struct catalog *cat);
/* The store's directory (the .troupe directory); borrowed. */
const char *catalog_root(const struct catalog *cat);

/* An explicit transaction around several writes (an import): writes
 * made inside it join it instead of committing on their own. catalog_end
 * commits when commit is true, else rolls back. */
int catalog_begin(struct catalog *cat);
int catalog_end(struct catalog *cat, bool commit);

#endif
