/* gc: frees the blobs nothing references any more, once they have been
 * unreferenced for longer than a grace period (the "share" layer's
 * reclaimer). It marks from every root the index has, records when each
 * unreferenced blob was first seen so, commits the rows it removes, and
 * only then unlinks files, under the store's exclusive lock, so that a
 * crash leaves orphans and never a row without its blob, and no writer
 * between staging and commit loses a blob. It never prints. */
#ifndef TROUPE_GC_H
#define TROUPE_GC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct catalog;

#define GC_DEFAULT_GRACE_DAYS 14

struct gc_options {
	bool dry_run;  /* list, change nothing, take no lock */
	int64_t grace; /* seconds a blob stays unreferenced before it may go */
};

enum gc_verdict {
	GC_FREE,  /* past its grace period: freed (or, with dry_run, would be) */
	GC_GRACE, /* kept: still in its grace period */
	GC_HELD	  /* kept: the thumbnail or derivative of a blob that is kept */
};

/* One unreferenced blob, all borrowed for the callback's duration. */
struct gc_candidate {
	const char *hash;
	uint64_t bytes;	    /* the file's size, else what its row says */
	bool row;	    /* a blob row names it */
	bool file;	    /* it is in objects/ */
	int64_t first_seen; /* when it was first seen unreferenced */
	int64_t free_after; /* first_seen plus the grace period */
	const char *why;    /* what used to name it, for people */
	enum gc_verdict verdict;
};

struct gc_counts {
	size_t blobs;	     /* blobs looked at: rows and files */
	size_t unreferenced; /* of which nothing references */
	uint64_t unreferenced_bytes;
	size_t freed;	      /* of those, freed (or to be, with dry_run) */
	uint64_t freed_bytes; /* what the freed files held */
	uint64_t kept_bytes;  /* what the unreferenced blobs kept hold */
	size_t rows_removed;  /* blob rows removed (0 with dry_run) */
};

typedef int gc_report_fn(const struct gc_candidate *c, void *ctx);

/* Collects the store behind cat and calls report for every unreferenced
 * blob, in hash order (a nonzero return stops and is returned). Without
 * dry_run it first waits for the store's exclusive lock (see
 * store_lock_exclusive_wait) and holds the index's write lock from the
 * mark to the commit. report is called only after the commit and the
 * unlinks, with both locks let go (and not at all when they fail), so a
 * slow reader of its output holds up no writer. 0, or -1 with an error;
 * a failure after the commit leaves only files no row names, which the
 * next run frees. */
int gc_run(struct catalog *cat, const struct gc_options *o, gc_report_fn *report, void *ctx,
	   struct gc_counts *counts);

/* The verdict's name in output ("free", "grace", "held"); static. */
const char *gc_verdict_name(enum gc_verdict v);

/* ---- the mark, on its own for the unit tests ---- */

/* A blob as the mark sees it. The loader fills the first part; the
 * mark fills live, and gc_decide the rest. */
struct gc_node {
	char hash[STORE_HASH_HEX + 1];
	bool row, file, root;
	int64_t bytes;	    /* the row's, or the file's when there is one */
	int64_t mtime;	    /* the file's */
	int64_t noted;	    /* first seen unreferenced, from gc_unreferenced; 0 none */
	char *was;	    /* what named it, from gc_unreferenced; NULL none */
	bool live;	    /* reached from a root */
	int64_t first_seen; /* gc_decide: when it was first seen unreferenced */
	enum gc_verdict verdict;
	const char *hung; /* gc_decide: "the thumbnail" when it hangs off a dead blob */
	size_t hung_from; /* that blob's index */
};
/* The thumbnail or a derivative (what) of nodes[from] is nodes[to]. */
struct gc_link {
	size_t from, to;
	char *what;
};

/* Marks live every node that is a root or hangs, through any chain of
 * links, off one. */
void gc_mark(struct gc_node *nodes, size_t n, const struct gc_link *links, size_t nlinks);
/* For each node that is not live and has a row or a file: when it was
 * first seen unreferenced (its note, else a file's mtime when no row
 * names it, else now) and whether it goes. A blob hung off one that is
 * kept is held, since the row that hangs it names it. */
void gc_decide(struct gc_node *nodes, size_t n, const struct gc_link *links, size_t nlinks,
	       int64_t now, int64_t grace);

#endif
