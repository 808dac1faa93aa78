/* cachefile: segmented cache files. The invariants, which every open
 * checks before a byte of rows is trusted:
 *   - the 64-byte header (magic, generation, committed length, row and
 *     tombstone counts, row size, owner) carries its own checksum, and is
 *     written last, after the segment it names is synced: it never names
 *     bytes that are not on disk;
 *   - segments follow one another from byte 64 to the committed length,
 *     each with a checksummed header, and each appended one with a
 *     checksum of its payload, so a torn or altered append is caught;
 *   - a tombstone names a row of an earlier segment, once.
 * Anything else is a damaged file, which the caller rebuilds from the
 * index: the file is a cache and never the only copy of anything. */
#define _GNU_SOURCE
#include "config.h"

#include "cachefile.h"
#include "fault.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <xxhash.h>

enum { ALIGN = 64 };

struct file_header {
	char magic[8];
	uint64_t generation;
	uint64_t owner;
	uint64_t committed;
	uint64_t rows;
	uint64_t dead;
	uint32_t row_bytes;
	uint32_t segments;
	uint64_t check; /* XXH3-64 of the bytes above */
};

static const char segment_magic[8] = {'T', 'R', 'C', 'S', 'E', 'G', '0', '1'};

/* Then: ndead tombstones (u64), n ids (i64), padding to 64, n rows,
 * padding to 64. */
struct segment_header {
	char magic[8];
	uint64_t rows;
	uint64_t dead;
	uint64_t first; /* the number of its first row */
	uint64_t generation;
	uint64_t bytes;	  /* the whole segment, header included */
	uint64_t payload; /* XXH3-64 of the rest of the segment; 0 in the first */
	uint64_t check;	  /* XXH3-64 of the bytes above */
};

_Static_assert(sizeof(struct file_header) == ALIGN, "the header is one line");
_Static_assert(sizeof(struct segment_header) == ALIGN, "a segment header is one line");

static uint64_t align_up(uint64_t n)
{
	return (n + ALIGN - 1) & ~(uint64_t)(ALIGN - 1);
}

static uint64_t header_check(const void *h)
{
	return XXH3_64bits(h, ALIGN - sizeof(uint64_t));
}

static uint64_t rows_offset(uint64_t ndead, uint64_t n)
{
	return align_up(sizeof(struct segment_header) + (ndead + n) * 8);
}

static uint64_t segment_bytes(uint64_t ndead, uint64_t n, uint32_t row_bytes)
{
	return align_up(rows_offset(ndead, n) + n * row_bytes);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

void cachefile_close(struct cachefile *f)
{
	if (f->base)
		munmap(f->base, f->size);
	if (f->fd >= 0)
		close(f->fd); /* and with it the lock */
	free(f->segments);
	free(f->tombstones);
	memset(f, 0, sizeof(*f));
	f->fd = -1;
}

/* The segments of the mapped committed bytes, checked against the
 * header's counts; false when they do not hold together. */
static bool walk_segments(struct cachefile *f, const struct file_header *h)
{
	const unsigned char *base = f->base;
	uint64_t at = ALIGN, rows = 0, dead = 0;
	size_t cap = 0;
	for (uint32_t i = 0; i < h->segments; i++) {
		if (at > f->size || f->size - at < sizeof(struct segment_header))
			return false;
		const struct segment_header *s = (const void *)(base + at);
		if (memcmp(s->magic, segment_magic, 8) != 0 || header_check(s) != s->check ||
		    s->first != rows || s->rows > f->size || s->dead > f->size ||
		    s->bytes != segment_bytes(s->dead, s->rows, h->row_bytes) ||
		    s->bytes > f->size - at)
			return false;
		/* The first segment is written whole and renamed into place; an
		 * appended one is checked, as a crash may have torn it. */
		if (i > 0 &&
		    XXH3_64bits(base + at + sizeof(*s), s->bytes - sizeof(*s)) != s->payload)
			return false;
		const uint64_t *tomb = (const void *)(base + at + sizeof(*s));
		if (s->dead) {
			f->tombstones =
			    xrealloc(f->tombstones, (dead + s->dead) * sizeof(uint64_t));
			for (uint64_t k = 0; k < s->dead; k++) {
				if (tomb[k] >= s->first)
					return false;
				f->tombstones[dead + k] = tomb[k];
			}
		}
		if (f->nsegments == cap) {
			cap = cap ? cap * 2 : 4;
			f->segments = xrealloc(f->segments, cap * sizeof(*f->segments));
		}
		f->segments[f->nsegments++] = (struct cache_segment){
		    .ids = (const int64_t *)(const void *)(tomb + s->dead),
		    .rows = base + at + rows_offset(s->dead, s->rows),
		    .n = (size_t)s->rows,
		    .first = s->first,
		};
		rows += s->rows;
		dead += s->dead;
		at += s->bytes;
	}
	if (at != h->committed || rows != h->rows || dead != h->dead)
		return false;
	if (dead) {
		qsort(f->tombstones, dead, sizeof(uint64_t), cmp_u64);
		for (uint64_t k = 1; k < dead; k++)
			if (f->tombstones[k] == f->tombstones[k - 1])
				return false;
	}
	return true;
}

int cachefile_open(const char *path, const struct cache_kind *kind, bool exclusive,
		   struct cachefile *f)
{
	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->exclusive = exclusive;
	struct stat st, named;
	/* A rebuild renames a new file over the old while this one waits
	 * for the lock: then the name is opened again. */
	for (int attempt = 0;; attempt++) {
		f->fd = open(path, (exclusive ? O_RDWR : O_RDONLY) | O_CLOEXEC);
		if (f->fd < 0)
			return errno == ENOENT ? 1 : -1;
		if (flock(f->fd, exclusive ? LOCK_EX : LOCK_SH) < 0 || fstat(f->fd, &st) < 0)
			goto damaged;
		if (stat(path, &named) == 0 && named.st_ino == st.st_ino &&
		    named.st_dev == st.st_dev)
			break;
		close(f->fd);
		f->fd = -1;
		if (attempt == 8)
			return -1;
	}
	struct file_header h;
	if (pread(f->fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    memcmp(h.magic, kind->magic, 8) != 0 || header_check(&h) != h.check ||
	    (kind->row_bytes && h.row_bytes != kind->row_bytes) ||
	    (kind->row_bytes && !kind->any_owner && h.owner != kind->owner) || h.row_bytes == 0 ||
	    h.committed < ALIGN || h.committed > (uint64_t)st.st_size || h.committed % ALIGN)
		goto damaged;
	/* What a crash left past the committed end is no part of the file. */
	if (exclusive && (uint64_t)st.st_size > h.committed && ftruncate(f->fd, (off_t)h.committed))
		goto damaged;
	f->size = (size_t)h.committed;
	f->base = mmap(NULL, f->size, PROT_READ, MAP_SHARED, f->fd, 0);
	if (f->base == MAP_FAILED) {
		f->base = NULL;
		goto damaged;
	}
	f->generation = h.generation;
	f->owner = h.owner;
	f->row_bytes = h.row_bytes;
	f->rows = h.rows;
	f->dead = h.dead;
	if (!walk_segments(f, &h))
		goto damaged;
	return 0;
damaged:
	cachefile_close(f);
	return -1;
}

bool cachefile_alive(const struct cachefile *f, uint64_t row)
{
	size_t lo = 0, hi = (size_t)f->dead;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->tombstones[mid] < row)
			lo = mid + 1;
		else
			hi = mid;
	}
	return !(lo < f->dead && f->tombstones[lo] == row);
}

static int pwrite_all(int fd, const void *data, size_t len, off_t at)
{
	const char *p = data;
	while (len) {
		ssize_t n = pwrite(fd, p, len, at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
		at += n;
	}
	return 0;
}

int cachefile_append(struct cachefile *f, uint64_t generation, const uint64_t *dead, size_t ndead,
		     const int64_t *ids, const void *rows, size_t n)
{
	struct file_header h;
	if (!f->exclusive || pread(f->fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return error_set(EX_SOFTWARE, "cache: append to a file not held");
	uint64_t bytes = segment_bytes(ndead, n, h.row_bytes);
	unsigned char *seg = xcalloc(1, (size_t)bytes);
	struct segment_header *s = (void *)seg;
	memcpy(s->magic, segment_magic, 8);
	s->rows = n;
	s->dead = ndead;
	s->first = h.rows;
	s->generation = generation;
	s->bytes = bytes;
	if (ndead)
		memcpy(seg + sizeof(*s), dead, ndead * sizeof(uint64_t));
	if (n) {
		memcpy(seg + sizeof(*s) + ndead * 8, ids, n * sizeof(int64_t));
		memcpy(seg + rows_offset(ndead, n), rows, n * h.row_bytes);
	}
	s->payload = XXH3_64bits(seg + sizeof(*s), (size_t)bytes - sizeof(*s));
	s->check = header_check(s);
	int rc = -1;
	if (pwrite_all(f->fd, seg, (size_t)bytes, (off_t)h.committed) < 0 || fdatasync(f->fd) < 0) {
		error_set(EX_IOERR, "cache: %s", strerror(errno));
		goto out;
	}
	/* A crash here leaves a segment the header does not name: the next
	 * open ignores it and the next change cuts it off. */
	fault_point("cache-segment-synced");
	h.generation = generation;
	h.committed += bytes;
	h.rows += n;
	h.dead += ndead;
	h.segments++;
	h.check = header_check(&h);
	if (pwrite_all(f->fd, &h, sizeof(h), 0) < 0) {
		error_set(EX_IOERR, "cache: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(seg);
	return rc;
}

/* A run of rows to write: ids and rows side by side. */
struct run {
	const int64_t *ids;
	const unsigned char *rows;
	size_t n;
};

static int write_runs(const char *path, const struct cache_kind *kind, uint64_t generation,
		      const struct run *runs, size_t nruns)
{
	uint64_t n = 0;
	for (size_t i = 0; i < nruns; i++)
		n += runs[i].n;
	static const unsigned char zeros[ALIGN] = {0};
	struct segment_header s = {.rows = n, .generation = generation};
	memcpy(s.magic, segment_magic, 8);
	s.bytes = segment_bytes(0, n, kind->row_bytes);
	s.check = header_check(&s);
	struct file_header h = {
	    .generation = generation,
	    .owner = kind->owner,
	    .committed = ALIGN + s.bytes,
	    .rows = n,
	    .row_bytes = kind->row_bytes,
	    .segments = 1,
	};
	memcpy(h.magic, kind->magic, 8);
	h.check = header_check(&h);
	size_t nparts = 0;
	struct iovec *parts = xcalloc(2 * nruns + 4, sizeof(*parts));
	parts[nparts++] = (struct iovec){&h, sizeof(h)};
	parts[nparts++] = (struct iovec){&s, sizeof(s)};
	for (size_t i = 0; i < nruns; i++)
		if (runs[i].n)
			parts[nparts++] = (struct iovec){(void *)runs[i].ids, runs[i].n * 8};
	uint64_t pad = rows_offset(0, n) - sizeof(s) - n * 8;
	parts[nparts++] = (struct iovec){(void *)zeros, (size_t)pad};
	for (size_t i = 0; i < nruns; i++)
		if (runs[i].n)
			parts[nparts++] =
			    (struct iovec){(void *)runs[i].rows, runs[i].n * kind->row_bytes};
	pad = s.bytes - rows_offset(0, n) - n * kind->row_bytes;
	parts[nparts++] = (struct iovec){(void *)zeros, (size_t)pad};
	int rc = file_write_atomicv(path, parts, nparts);
	free(parts);
	return rc;
}

int cachefile_write(const char *path, const struct cache_kind *kind, uint64_t generation,
		    const int64_t *ids, const void *rows, size_t n)
{
	struct run run = {ids, rows, n};
	return write_runs(path, kind, generation, &run, 1);
}

/* The alive rows of f, less the rows in extra (ascending), and n more,
 * as one new file at path. */
static int compact(const struct cachefile *f, const uint64_t *extra, size_t nextra,
		   const char *path, const struct cache_kind *kind, uint64_t generation,
		   const int64_t *ids, const void *rows, size_t n)
{
	/* Both lists of dead rows, merged in order. */
	size_t ndead = (size_t)f->dead + nextra;
	uint64_t *dead = xcalloc(ndead ? ndead : 1, sizeof(uint64_t));
	for (size_t i = 0, a = 0, b = 0; i < ndead; i++)
		dead[i] = b == nextra || (a < f->dead && f->tombstones[a] < extra[b])
			      ? f->tombstones[a++]
			      : extra[b++];
	/* The alive rows as runs between the dead, in file order. */
	size_t nruns = 0, t = 0;
	struct run *runs = xcalloc(ndead + f->nsegments + 1, sizeof(*runs));
	for (size_t i = 0; i < f->nsegments; i++) {
		const struct cache_segment *s = &f->segments[i];
		const unsigned char *r = s->rows;
		size_t start = 0;
		for (; t < ndead && dead[t] < s->first + s->n; t++) {
			size_t at = (size_t)(dead[t] - s->first);
			if (at > start)
				runs[nruns++] = (struct run){
				    s->ids + start, r + start * kind->row_bytes, at - start};
			start = at + 1;
		}
		if (s->n > start)
			runs[nruns++] =
			    (struct run){s->ids + start, r + start * kind->row_bytes, s->n - start};
	}
	runs[nruns++] = (struct run){ids, rows, n};
	int rc = write_runs(path, kind, generation, runs, nruns);
	free(runs);
	free(dead);
	return rc;
}

static bool id_in(const int64_t *sorted, size_t n, int64_t id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sorted[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && sorted[lo] == id;
}

int cachefile_update(struct cachefile *f, const char *path, const struct cache_kind *kind,
		     uint64_t generation, const int64_t *changed, size_t nchanged,
		     const int64_t *ids, const void *rows, size_t n)
{
	/* The rows the changes remove: every alive row of a changed id. A
	 * scan of the ids only, in file order, so the list comes sorted. */
	uint64_t *dead = NULL;
	size_t ndead = 0, cap = 0;
	int64_t lo = nchanged ? changed[0] : 0, hi = nchanged ? changed[nchanged - 1] : -1;
	for (size_t i = 0; nchanged && i < f->nsegments; i++) {
		const struct cache_segment *s = &f->segments[i];
		for (size_t r = 0; r < s->n; r++) {
			int64_t id = s->ids[r];
			if (id < lo || id > hi || !id_in(changed, nchanged, id) ||
			    (f->dead && !cachefile_alive(f, s->first + r)))
				continue;
			if (ndead == cap) {
				cap = cap ? cap * 2 : 64;
				dead = xrealloc(dead, cap * sizeof(*dead));
			}
			dead[ndead++] = s->first + r;
		}
	}
	/* A quarter of the rows dead costs the scan a quarter more; many
	 * small segments cost a header and a checksum each per open. */
	int rc;
	if ((f->dead + ndead) * 4 > f->rows + n || f->nsegments >= 64)
		rc = compact(f, dead, ndead, path, kind, generation, ids, rows, n);
	else
		rc = cachefile_append(f, generation, dead, ndead, ids, rows, n);
	free(dead);
	return rc;
}
