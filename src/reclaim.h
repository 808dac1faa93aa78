/* reclaim: the index's side of gc, a catalog room. It lists what names
 * blobs (the roots: assets, the request log's references, uploads; and
 * the rows that hang a blob off another: thumbnails, derivatives), keeps
 * gc_unreferenced (when each unreferenced blob was first seen so, and
 * what named it), and removes blob rows. It never touches a file: the
 * share room's gc decides and unlinks. */
#ifndef TROUPE_RECLAIM_H
#define TROUPE_RECLAIM_H

#include <stdbool.h>
#include <stdint.h>

struct catalog;

/* What a row says about one blob; all borrowed for the call. */
struct reclaim_blob {
	const char *hash;
	int64_t bytes;
};
/* A blob hung off another: the thumbnail or a derivative of from. */
struct reclaim_edge {
	const char *from;
	const char *to;
	const char *what; /* "the thumbnail", "a derivative (RECIPE)" */
};
struct reclaim_note {
	const char *hash;
	int64_t first_seen;
	const char *was; /* NULL when unknown */
};

/* Each calls its function for every row in hash order; a nonzero return
 * stops and is returned; -1 with an error when the index cannot be read.
 * blobs: every blob row. roots: every hash an asset, a request's
 * reference or an upload names (repeats possible, rows or not). edges:
 * every thumbnail and derivative row. notes: gc_unreferenced. */
int catalog_reclaim_blobs(struct catalog *cat, int (*each)(const struct reclaim_blob *, void *),
			  void *ctx);
int catalog_reclaim_roots(struct catalog *cat, int (*each)(const char *hash, void *), void *ctx);
int catalog_reclaim_edges(struct catalog *cat, int (*each)(const struct reclaim_edge *, void *),
			  void *ctx);
int catalog_reclaim_notes(struct catalog *cat, int (*each)(const struct reclaim_note *, void *),
			  void *ctx);

/* Inside catalog_begin/catalog_end, which gc holds around them. note:
 * records hash as first seen unreferenced at first_seen unless a row is
 * there. forget: drops its row. remove: drops the blob's row (and with it
 * the thumbnail and derivative rows made from it) and its note; foreign
 * keys are checked at the commit, so that a blob and the ones hung off
 * it go in any order. */
int catalog_reclaim_note(struct catalog *cat, const char *hash, int64_t first_seen);
int catalog_reclaim_forget(struct catalog *cat, const char *hash);
int catalog_reclaim_remove(struct catalog *cat, const char *hash);

#endif
