/* store: blobs named by the XXH3-128 of their bytes, under
 * objects/xx/<30 hex>. It is the only room that knows where a blob lives
 * on disk. A blob is staged in tmp/, then published by fsync and link()
 * (never over an existing file); nothing in objects/ is ever written in
 * place. */
#ifndef TROUPE_STORE_H
#define TROUPE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define STORE_DEFAULT_NAME ".troupe"
#define STORE_HASH_HEX	   32

struct store;

/* Locates the store: dir if given, else $TROUPE_DIR, else the nearest
 * .troupe/ from the working directory upwards. NULL with an error
 * (EX_CONFIG) when there is none; the message suggests DIR/.troupe when
 * a named directory is not a store but holds one. Free with store_free(). */
struct store *store_open(const char *dir);
/* Makes the layout of a new store at dir (the .troupe directory itself).
 * *existed is set when a store was already there; that is not an error.
 * A new store is made only in a directory that does not exist or holds
 * nothing but a store's own files: anything else is EX_USAGE, with the
 * DIR/.troupe suggestion when it holds a store. */
int store_create(const char *dir, bool *existed);
void store_free(struct store *st);

/* Borrowed: the store's directory, and its index file. */
const char *store_root(const struct store *st);
const char *store_db_path(const struct store *st);

/* The path of a cache file beside the index (cache/NAME), made from the
 * index and rebuilt from it when stale; the caller frees it. The cache
 * directory is created on demand; NULL, with the error set, when it
 * cannot be. */
char *store_cache_path(const struct store *st, const char *name);

/* The path a blob with this hash has (whether or not it is there); the
 * caller frees it. */
char *store_blob_path(const struct store *st, const char *hash);
bool store_has(const struct store *st, const char *hash);
/* Opens a stored blob read-only; -1 with an error when it is missing. */
int store_open_blob(const struct store *st, const char *hash);

/* The lower-case hex XXH3-128 of a file ("-": standard input), as
 * xxh128sum prints it. */
int store_hash_file(const char *path, char hex[STORE_HASH_HEX + 1]);
void store_hash_buffer(const void *data, size_t len, char hex[STORE_HASH_HEX + 1]);

/* A blob written to tmp/ but not yet in objects/. */
struct store_staged {
	char hash[STORE_HASH_HEX + 1];
	uint64_t bytes;
	char *tmp_path; /* NULL once published or when already stored */
	bool present;	/* the same bytes were already in the store */
};

/* Copies a file (or a buffer) into tmp/, hashing as it goes. When a blob
 * with the same hash is stored, the two are compared byte for byte: equal
 * bytes are deduplicated (present = true, nothing staged), different ones
 * are refused as a hash collision. */
int store_stage_file(struct store *st, const char *path, struct store_staged *out);
int store_stage_buffer(struct store *st, const void *data, size_t len, struct store_staged *out);
/* Reads up to len bytes into buf: the count read, 0 at the end, -1 with
 * an error set. */
typedef ssize_t store_read_fn(void *ctx, void *buf, size_t len);
/* As store_stage_file, for bytes that arrive from a reader (a bundle on
 * a pipe, a download) until it returns 0; a reader's -1 discards what
 * was staged and is returned. */
int store_stage_reader(struct store *st, store_read_fn *read, void *ctx, struct store_staged *out);
/* Makes staged blobs durable and visible: one sync of the file system,
 * then a no-clobber link into objects/ and an fsync of each directory
 * touched. After it returns 0 every blob may be referenced by a row. */
int store_publish(struct store *st, struct store_staged *staged, size_t n);
/* Removes what a staged blob left in tmp/ (safe after publish). */
void store_staged_discard(struct store_staged *staged);

/* ---- checking the store (fsck) ---- */

/* The parts of a store a walk can cover. */
enum store_area { STORE_AREA_OBJECTS, STORE_AREA_TMP, STORE_AREA_CACHE };

/* One entry found by store_walk. For objects/, name is the blob's hash
 * when the file is where a blob of that hash lives (is_blob), else its
 * path under objects/; elsewhere it is the name inside the area. */
struct store_entry {
	const char *name;
	bool is_blob;
	bool regular; /* a regular file (anything else is reported as such) */
	uint64_t bytes;
	int64_t mtime; /* when it was last written, in seconds since the epoch */
};
/* Called for each entry; a nonzero return stops the walk and is returned. */
typedef int store_walk_fn(const struct store_entry *e, void *ctx);
/* Every entry of an area, in name order (hidden names included: a killed
 * writer's leftovers may start with a dot). An area that does not exist
 * has no entries. -1 with an error when a directory cannot be read. */
int store_walk(const struct store *st, enum store_area area, store_walk_fn *each, void *ctx);

enum store_blob_state {
	STORE_BLOB_OK,
	STORE_BLOB_MISSING,
	STORE_BLOB_SIZE, /* present, but not the size its row says */
	STORE_BLOB_HASH	 /* present, but its bytes hash to something else */
};
/* Checks the blob named hash: present, bytes long (unless bytes < 0), and
 * with rehash, that its bytes still hash to its name (*actual_hex gets
 * what they hash to; it may be NULL). *actual_bytes (may be NULL) is the
 * file's size. -1 with an error only when it cannot be read at all. */
int store_verify_blob(const struct store *st, const char *hash, int64_t bytes, bool rehash,
		      enum store_blob_state *state, uint64_t *actual_bytes,
		      char actual_hex[STORE_HASH_HEX + 1]);

/* Every process that stages a blob holds a shared advisory lock (flock)
 * on tmp/ from its first staged blob until store_free(), so that a
 * process holding it exclusively knows no writer is between staging and
 * publishing. Takes it exclusively without waiting: 0 when taken (held
 * until store_free), 1 when another process holds the store, -1 with an
 * error. */
int store_lock_exclusive(struct store *st);
/* Takes that lock shared, as staging a blob does, waiting for an
 * exclusive holder; idempotent, held until store_free(). A process that
 * will commit a row naming a blob it finds already in objects/ takes it
 * before it looks, so gc cannot free the blob in between. */
void store_lock_shared(struct store *st);
/* Removes a leftover in tmp/ by its name there; refused (EX_TEMPFAIL)
 * unless this process holds the exclusive lock. */
int store_tmp_remove(struct store *st, const char *name);

/* ---- reclaiming blobs (gc) ---- */

/* Takes the lock store_lock_exclusive takes, waiting for the writers
 * that hold it shared to finish: 0 when held (until store_free), -1 with
 * an error (EX_TEMPFAIL when the file system has no flock, for then no
 * writer can be told apart from a dead one). */
int store_lock_exclusive_wait(struct store *st);
/* Unlinks the blob named hash from objects/ (gone already is not an
 * error); refused (EX_TEMPFAIL) unless this process holds the exclusive
 * lock, which is what proves no writer is about to name it. */
int store_blob_remove(struct store *st, const char *hash);
/* Lets go of whichever lock this process holds on the store, for one
 * that is done with it before it ends (gc, before it reports); a writer
 * with anything staged or a row still to commit must not call it. */
void store_unlock(struct store *st);

#endif
