/* Unit tests for cachefile: segments appended and read back, tombstones,
 * compaction, and every way a file can be cut short or damaged refused
 * or cut off, never trusted. */
#include "config.h"

#include "cachefile.h"
#include "tap.h"
#include "util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct cache_kind kind = {{'T', 'E', 'S', 'T', 'C', 'A', 'C', 'H'}, 8, 3};

/* The alive (id, row) pairs of path as "id=row " text, in file order. */
static char *contents(const char *path)
{
	struct cachefile f;
	if (cachefile_open(path, &kind, false, &f) != 0)
		return xstrdup("unreadable");
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < f.nsegments; i++) {
		const uint64_t *rows = f.segments[i].rows;
		for (size_t r = 0; r < f.segments[i].n; r++)
			if (cachefile_alive(&f, f.segments[i].first + r))
				sb_addf(&sb, "%lld=%llu ", (long long)f.segments[i].ids[r],
					(unsigned long long)rows[r]);
	}
	cachefile_close(&f);
	return sb_detach(&sb);
}

static off_t size_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : -1;
}

int main(void)
{
	char *dir = temp_template("cachefile");
	ok_or_bail(mkdtemp(dir) != NULL, "temporary directory");
	char *path = xasprintf("%s/test.idx", dir);
	struct cachefile f;
	ok(cachefile_open(path, &kind, false, &f) == 1, "a missing file is missing");

	int64_t ids[4] = {1, 2, 3, 4};
	uint64_t rows[4] = {10, 20, 30, 40};
	ok(cachefile_write(path, &kind, 5, ids, rows, 4) == 0, "write four rows");
	char *got = contents(path);
	is_str(got, "1=10 2=20 3=30 4=40 ", "read back in order");
	free(got);
	struct cache_kind other = kind;
	other.owner = 4;
	ok(cachefile_open(path, &other, false, &f) < 0, "another owner's file is not this cache");
	other = kind;
	other.any_owner = true;
	ok(cachefile_open(path, &other, false, &f) == 0 && f.generation == 5,
	   "any owner opens it to read");
	cachefile_close(&f);

	/* 2 changes and 5 is new: 2's row is a tombstone, its new row and 5's
	 * are appended. */
	int64_t changed[2] = {2, 5}, newids[2] = {2, 5};
	uint64_t newrows[2] = {21, 50};
	ok(cachefile_open(path, &kind, true, &f) == 0, "open to change");
	ok(cachefile_update(&f, path, &kind, 6, changed, 2, newids, newrows, 2) == 0, "update");
	cachefile_close(&f);
	got = contents(path);
	is_str(got, "1=10 3=30 4=40 2=21 5=50 ", "the old row of 2 is dead, the new rows follow");
	free(got);
	ok(cachefile_open(path, &kind, false, &f) == 0 && f.generation == 6 && f.nsegments == 2 &&
	       f.rows == 6 && f.dead == 1,
	   "generation 6, two segments, one tombstone");
	cachefile_close(&f);

	/* A changed byte in an appended segment fails its checksum. */
	char *copy = xasprintf("%s/copy.idx", dir);
	struct strbuf bytes = STRBUF_INIT;
	ok(file_read_all(path, &bytes) == 0, "read the file");
	ok(file_write_atomic(copy, bytes.buf, bytes.len) == 0, "copy it");
	int fd = open(copy, O_WRONLY);
	ok(fd >= 0 && pwrite(fd, "X", 1, (off_t)bytes.len - 70) == 1, "damage the last segment");
	close(fd);
	got = contents(copy);
	is_str(got, "unreadable", "a damaged segment is not trusted");
	free(got);
	ok(file_write_atomic(copy, bytes.buf, bytes.len) == 0, "copy it again");
	fd = open(copy, O_WRONLY);
	ok(fd >= 0 && pwrite(fd, "X", 1, 20) == 1, "damage the header");
	close(fd);
	got = contents(copy);
	is_str(got, "unreadable", "a damaged header is not trusted");
	free(got);
	ok(truncate(copy, 100) == 0 && cachefile_open(copy, &kind, false, &f) < 0,
	   "a file shorter than its header says is not trusted");
	sb_release(&bytes);

	/* A crash after the segment, before the header: the tail is not
	 * read, and the next change cuts it off. */
	off_t committed = size_of(path);
	fd = open(path, O_WRONLY | O_APPEND);
	ok(fd >= 0 && write(fd, "torn segment bytes", 18) == 18, "a torn tail");
	close(fd);
	got = contents(path);
	is_str(got, "1=10 3=30 4=40 2=21 5=50 ", "bytes past the committed end are not read");
	free(got);
	int64_t gone[1] = {1};
	ok(cachefile_open(path, &kind, true, &f) == 0 && size_of(path) == committed,
	   "an exclusive open cuts the tail off");
	ok(cachefile_update(&f, path, &kind, 7, gone, 1, NULL, NULL, 0) == 0, "remove 1");
	cachefile_close(&f);
	got = contents(path);
	is_str(got, "3=30 4=40 2=21 5=50 ", "a removal leaves the other rows");
	free(got);

	/* Past a quarter of tombstones the update compacts instead. */
	int64_t many[3] = {3, 4, 5};
	ok(cachefile_open(path, &kind, true, &f) == 0, "open to change");
	ok(cachefile_update(&f, path, &kind, 8, many, 3, NULL, NULL, 0) == 0, "remove three more");
	cachefile_close(&f);
	ok(cachefile_open(path, &kind, false, &f) == 0 && f.nsegments == 1 && f.dead == 0 &&
	       f.rows == 1 && f.generation == 8,
	   "compacted to one segment of the one alive row");
	cachefile_close(&f);
	got = contents(path);
	is_str(got, "2=21 ", "and it is the right one");
	free(got);

	unlink(copy);
	unlink(path);
	rmdir(dir);
	free(copy);
	free(path);
	free(dir);
	return tap_done();
}
