/* sync: pushing elements to a remote and pulling them back (the "share"
 * layer): each element is a manifest on the remote (cast/SLUG.json) and
 * its blobs under their hash (objects/xx/...). Push uploads the blobs the
 * remote lacks first and the manifest last, so the remote never names a
 * blob it does not have; pull verifies every blob before one transaction
 * merges it. The sync state (remote.h) tells a change on one side from a
 * change on both: the latter is a conflict, reported and never resolved
 * without being asked. Nothing here prints: items and progress go to
 * callbacks. */
#ifndef TROUPE_SYNC_H
#define TROUPE_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "merge.h"

struct catalog;
struct remote;

/* What happened to one element, or what would (status). */
enum sync_state {
	SYNC_SAME,	   /* the same here and there */
	SYNC_PUSHED,	   /* push sent it */
	SYNC_PULLED,	   /* pull merged it */
	SYNC_LOCAL_AHEAD,  /* changed here since the last sync: push sends it */
	SYNC_REMOTE_AHEAD, /* changed there since the last sync: pull takes it */
	SYNC_CONFLICT,	   /* changed on both sides since the last sync */
	SYNC_ONLY_HERE,	   /* never pushed */
	SYNC_ONLY_THERE	   /* never pulled */
};
const char *sync_state_name(enum sync_state s);

struct sync_item {
	const char *slug;
	enum sync_state state;
	const char *detail; /* for a conflict, what differs; else NULL */
};
typedef int sync_item_fn(const struct sync_item *item, void *ctx);
/* Progress of the transfers: blobs done of total, bytes so far. */
typedef void sync_progress_fn(size_t done, size_t total, uint64_t bytes, void *ctx);

struct sync_options {
	int jobs;		    /* transfers at once; 0: the default (8) */
	enum merge_side side;	    /* pull: how a conflict is resolved (MERGE_REFUSE: not) */
	sync_item_fn *item;	    /* may be NULL */
	sync_progress_fn *progress; /* may be NULL */
	void *ctx;
};

struct sync_counts {
	size_t elements;      /* elements looked at */
	size_t changed;	      /* pushed or pulled */
	size_t conflicts;     /* left in conflict */
	size_t blobs_sent;    /* blobs uploaded (push) or downloaded (pull) */
	size_t blobs_present; /* blobs the other side had already */
	uint64_t bytes_sent;  /* their bytes */
	bool listed;	      /* push: the remote's blobs were listed (else HEAD each) */
};

/* Pushes the elements named (every element when n is 0) to r. Refused
 * before anything is sent when a name is not an element. Elements in
 * conflict are reported and left alone; the rest are pushed. -1 with an
 * error ("remote NAME: ...") when the remote fails; counts->conflicts
 * says how many were left. */
int sync_push(struct catalog *cat, const struct remote *r, char *const *slugs, size_t n,
	      const struct sync_options *o, struct sync_counts *counts);
/* Pulls the elements named (every element the remote holds when n is
 * 0). */
int sync_pull(struct catalog *cat, const struct remote *r, char *const *slugs, size_t n,
	      const struct sync_options *o, struct sync_counts *counts);
/* Reports every element here or there with its state, changing nothing. */
int sync_status(struct catalog *cat, const struct remote *r, const struct sync_options *o,
		struct sync_counts *counts);

/* Restores the blob hash (missing or damaged here) from the first remote
 * that has it with the right bytes: 1 when restored, 0 when no remote
 * has it, -1 with an error when the store cannot be written. */
int sync_restore_blob(struct catalog *cat, const char *hash);

#endif
