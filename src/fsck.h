/* fsck: checks that the index and the blobs agree (the "share" layer's
 * safety net): the database's own checks, every referenced blob present
 * with its size and, on request, its hash, leftovers in tmp/, files in
 * objects/ that no row names, and the cache files. It never prints: each
 * problem goes to a callback. It never deletes a blob (that is gc's). */
#ifndef TROUPE_FSCK_H
#define TROUPE_FSCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct catalog;

enum fsck_kind {
	FSCK_INDEX,	   /* quick_check found damage in troupe.db */
	FSCK_FOREIGN_KEY,  /* a row names a row that is not there */
	FSCK_MISSING,	   /* a referenced blob is not in objects/ */
	FSCK_SIZE,	   /* a blob is not the size its row says */
	FSCK_HASH,	   /* a blob's bytes no longer hash to its name */
	FSCK_TMP,	   /* a leftover of a write in tmp/ */
	FSCK_UNREFERENCED, /* a file in objects/ nothing references (gc's candidates) */
	FSCK_CACHE	   /* a cache file whose header cannot be read */
};

/* One problem, all borrowed for the callback's duration. */
struct fsck_problem {
	enum fsck_kind kind;
	const char *object; /* a blob's hash, a name in tmp/, objects/ or cache/, or "troupe.db" */
	const char *detail; /* what is wrong, for people */
	const int64_t *assets; /* the assets that need the blob, ascending */
	size_t nassets;
	const int64_t *requests; /* the requests that name it, ascending */
	size_t nrequests;
	bool repaired; /* --repair fixed it (a tmp/ leftover or cache file removed) */
	bool note;     /* harmless and expected, not a problem: a blob nothing
			  references any more, which gc reclaims after its grace
			  period (git fsck's "dangling") */
};

struct fsck_options {
	bool full;     /* rehash every blob */
	double sample; /* else rehash this share (0 to 1) of the blobs, least recently
			  verified first; 0: none */
	bool repair;   /* remove tmp/ leftovers (only when no other process holds the
			  store) and unreadable cache files */
	/* With repair: brings back a missing blob (from a remote): 1 when
	 * it did, 0 when it could not, -1 with an error to stop the check.
	 * NULL: missing blobs are only listed. */
	int (*restore)(const char *hash, void *ctx);
	void *restore_ctx;
};

/* What was looked at, for the summary. */
struct fsck_counts {
	size_t problems; /* reports that are not notes */
	size_t notes;	 /* unreferenced blobs (fsck_problem.note) */
	size_t blobs;	 /* distinct referenced blobs checked */
	uint64_t bytes;	 /* their total size */
	size_t rehashed; /* of which rehashed this run */
	uint64_t bytes_rehashed;
	size_t objects;	 /* files found under objects/ */
	size_t tmp;	 /* entries found in tmp/ */
	size_t caches;	 /* cache files whose header was read */
	bool store_busy; /* --repair found another process holding the store */
};

typedef int fsck_report_fn(const struct fsck_problem *p, void *ctx);

/* Checks the store behind cat and calls report for each problem (a
 * nonzero return stops the check and is returned). The rehashing
 * --sample and --full do is remembered in cache/fsck-verified, so runs of
 * --sample go on where the last one stopped. Returns 0 whether or not
 * problems were found (counts->problems says), -1 with an error when the
 * check itself could not be done. */
int fsck_run(struct catalog *cat, const struct fsck_options *o, fsck_report_fn *report, void *ctx,
	     struct fsck_counts *counts);

/* The kind's name in output ("missing", "hash", ...); static. */
const char *fsck_kind_name(enum fsck_kind kind);

#endif
