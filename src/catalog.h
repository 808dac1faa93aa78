/* catalog: the store and its index as one handle, shared by the catalog
 * rooms (character, asset, ingest, thumbnail, derivative, reqlog,
 * embedding): open and create, and explicit transactions. Each room's
 * header declares its own part of the domain API; this one declares no
 * feature, and nothing here prints. */
#ifndef TROUPE_CATALOG_H
#define TROUPE_CATALOG_H

#include <stdbool.h>
#include <stdint.h>

struct catalog;
struct store;

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

/* The store under the index; borrowed, for the rooms that check it. */
struct store *catalog_store(struct catalog *cat);

/* What names a blob: its own row (every blob has one), an asset (its
 * picture, its thumbnail or a derivative made from it: id is the
 * asset's), or a request (a reference it was sent, or an output). An
 * embedding needs its asset's blob, so it is covered by the asset. */
enum catalog_ref_kind {
	CATALOG_REF_ROW,
	CATALOG_REF_ASSET,
	CATALOG_REF_THUMBNAIL,
	CATALOG_REF_DERIVATIVE,
	CATALOG_REF_REQUEST
};
struct catalog_blob_ref {
	const char *hash;
	int64_t bytes; /* -1 when no blob row gives the size */
	enum catalog_ref_kind kind;
	int64_t id; /* the asset or request; 0 for a row or a lone thumbnail */
};
/* Calls each for every reference to a blob, ordered by hash, so that all
 * of one blob's come together; a nonzero return stops and is returned.
 * -1 with an error when the index cannot be read. */
int catalog_blob_refs(struct catalog *cat, int (*each)(const struct catalog_blob_ref *, void *),
		      void *ctx);
/* Runs SQLite's quick_check and foreign_key_check on the index, calling
 * each with every message (foreign_key tells which check found it); -1
 * with an error when the checks cannot run. */
int catalog_check_index(struct catalog *cat, int (*each)(bool foreign_key, const char *, void *),
			void *ctx);

/* An explicit transaction around several writes (an import): writes
 * made inside it join it instead of committing on their own. catalog_end
 * commits when commit is true, else rolls back. */
int catalog_begin(struct catalog *cat);
int catalog_end(struct catalog *cat, bool commit);

#endif
