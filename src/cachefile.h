/* cachefile: the flat files beside the index (the pHash file, a model's
 * vector file) as segments that grow with the change: a rebuild writes
 * one segment, and each later change appends one with its new rows and
 * the numbers of the rows it removes (tombstones), so bringing a cache up
 * to date costs in proportion to what changed. Pure C, no SQL: the rows
 * come from thumbnail.c and embedding.c, the scans from phash.c and
 * vector.c. */
#ifndef TROUPE_CACHEFILE_H
#define TROUPE_CACHEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What kind of cache a file is: its magic, the bytes of one row, and
 * whose rows they are (a model's id; 0 for the pHash file). A file that
 * does not say the same is not that cache. To open a file only to read
 * it, any_owner takes any owner, and row_bytes 0 any row size too. */
struct cache_kind {
	char magic[8];
	uint32_t row_bytes;
	uint64_t owner;
	bool any_owner;
};

/* One run of rows of a file, in file order; rows are row_bytes apart and
 * start on a 64-byte boundary. */
struct cache_segment {
	const int64_t *ids;
	const void *rows;
	size_t n;
	uint64_t first; /* the number of its first row in the whole file */
};

/* An open cache file, locked (shared to read, exclusive to change) and
 * its committed part mapped, from cachefile_open until cachefile_close. */
struct cachefile {
	int fd;
	bool exclusive;
	void *base;
	size_t size; /* mapped: the committed bytes */
	uint64_t generation;
	uint64_t owner;
	uint32_t row_bytes;
	uint64_t rows, dead;
	struct cache_segment *segments;
	size_t nsegments;
	uint64_t *tombstones; /* the dead rows' numbers, sorted */
};

/* Opens path as kind, locked shared or exclusive, and checks all of it
 * that is committed: the header's checksum, every segment's header and
 * every appended segment's checksum, the tombstones. 1 when the file is
 * missing, 0 when it opened, -1 when it is damaged, is another kind, or
 * cannot be read (no error recorded: a cache that cannot be trusted is
 * rebuilt). Bytes past the committed end (an append a crash cut short)
 * are not read; an exclusive open cuts them off. */
int cachefile_open(const char *path, const struct cache_kind *kind, bool exclusive,
		   struct cachefile *f);
void cachefile_close(struct cachefile *f);

/* Whether row number row (0 to f->rows - 1) is not a tombstone. */
bool cachefile_alive(const struct cachefile *f, uint64_t row);

/* Appends a segment to a file opened exclusive: n new rows (ids, rows)
 * and the numbers of ndead rows that no longer count, then makes the
 * file say generation. The segment is synced before the header names it,
 * so a crash leaves the file as it was or as it is now. */
int cachefile_append(struct cachefile *f, uint64_t generation, const uint64_t *dead, size_t ndead,
		     const int64_t *ids, const void *rows, size_t n);

/* Writes path anew as one segment of n rows, through a temporary name
 * and a rename, so a reader sees the old file or the new one. */
int cachefile_write(const char *path, const struct cache_kind *kind, uint64_t generation,
		    const int64_t *ids, const void *rows, size_t n);

/* Brings f, opened exclusive as kind from path, to generation: every
 * alive row whose id is in changed (nchanged ids, ascending) becomes a
 * tombstone and the n rows given (the changed ids' rows now, if they
 * have one) are appended. When the tombstones would pass a quarter of
 * the rows, or the segments 64, the file is compacted instead: its alive
 * rows and the new ones written anew to path. Either way a reader sees
 * the file before or after, never between. */
int cachefile_update(struct cachefile *f, const char *path, const struct cache_kind *kind,
		     uint64_t generation, const int64_t *changed, size_t nchanged,
		     const int64_t *ids, const void *rows, size_t n);

#endif
