/* Unit tests for fsck against a real temporary store with real pictures:
 * a sound store has no problem; a missing blob, bytes written into one,
 * a leftover in tmp/ and a file no row names are each reported with what
 * needs them; --repair removes only the leftover; samples sweep the
 * store across runs. Each check names the rule it would catch breaking. */
#include "config.h"

#include "catalog.h"
#include "fsck.h"
#include "image.h"
#include "ingest.h"
#include "store.h"
#include "tap.h"
#include "util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { MAX_SEEN = 32 };

struct seen {
	size_t n;
	enum fsck_kind kind[MAX_SEEN];
	char object[MAX_SEEN][64];
	int64_t first_asset[MAX_SEEN];
	size_t nassets[MAX_SEEN];
	bool repaired[MAX_SEEN];
	int stop_after; /* return nonzero after this many, 0 never */
};

static int record(const struct fsck_problem *p, void *ctx)
{
	struct seen *s = ctx;
	if (s->n < MAX_SEEN) {
		s->kind[s->n] = p->kind;
		snprintf(s->object[s->n], sizeof(s->object[0]), "%s", p->object);
		s->first_asset[s->n] = p->nassets ? p->assets[0] : 0;
		s->nassets[s->n] = p->nassets;
		s->repaired[s->n] = p->repaired;
	}
	s->n++;
	return s->stop_after && (int)s->n >= s->stop_after ? 7 : 0;
}

static struct seen run(struct catalog *cat, bool full, double sample, bool repair,
		       struct fsck_counts *counts)
{
	struct seen s;
	memset(&s, 0, sizeof(s));
	struct fsck_options o = {full, sample, repair};
	if (fsck_run(cat, &o, record, &s, counts) < 0)
		s.n = (size_t)-1;
	return s;
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write_all(fd, text, strlen(text)) < 0)
			fprintf(stderr, "%s: short write\n", path);
		close(fd);
	}
}

/* Writes over bytes inside a blob, keeping its size. */
static void overwrite(const char *path, off_t at, const char *bytes)
{
	chmod(path, 0644);
	int fd = open(path, O_WRONLY);
	if (fd >= 0) {
		if (pwrite(fd, bytes, strlen(bytes), at) < 0)
			fprintf(stderr, "%s: pwrite failed\n", path);
		close(fd);
	}
	chmod(path, 0444);
}

static size_t state_lines(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	size_t lines = 0;
	if (file_read_all(path, &sb) == 0)
		for (size_t i = 0; i < sb.len; i++)
			lines += sb.buf[i] == '\n';
	sb_release(&sb);
	return lines;
}

int main(void)
{
	tap_find_modules();
	const char *srcdir = getenv("TEST_SRCDIR");
	char *chelsea = xasprintf("%s/data/photos/chelsea.jpg", srcdir ? srcdir : "tests");
	char *coffee = xasprintf("%s/data/photos/coffee.jpg", srcdir ? srcdir : "tests");
	char *root = temp_template("fsck");
	ok_or_bail(mkdtemp(root) != NULL, "temporary directory");
	char *dir = xasprintf("%s/.troupe", root);
	bool existed;
	ok_or_bail(catalog_create(dir, &existed) == 0, "create a store");
	struct catalog *cat = catalog_open(dir);
	ok_or_bail(cat != NULL, "open it");
	struct add_batch *b = catalog_add_begin(cat, NULL, "reference", NULL);
	ok_or_bail(b && catalog_add_file(b, chelsea) == 0 && catalog_add_file(b, coffee) == 0 &&
		       catalog_add_commit(b) == 0,
		   "add two real pictures");
	int64_t coffee_id;
	const char *hash, *path;
	bool was;
	catalog_add_result(b, 1, &coffee_id, &hash, &path, &was);
	char coffee_hash[STORE_HASH_HEX + 1];
	snprintf(coffee_hash, sizeof(coffee_hash), "%s", hash);
	catalog_add_free(b);
	struct store *st = store_open(dir);
	char *coffee_blob = store_blob_path(st, coffee_hash);

	struct fsck_counts c;
	struct seen s = run(cat, false, 0, false, &c);
	ok(s.n == 0 && c.problems == 0, "a sound store has no problem");
	/* Two pictures and their two thumbnails. */
	ok(c.blobs == 4 && c.objects == 4 && c.rehashed == 0,
	   "every blob is checked, none rehashed");
	s = run(cat, true, 0, false, &c);
	ok(s.n == 0 && c.rehashed == 4, "--full rehashes every blob of a sound store");

	/* A missing blob names the asset that needs it. */
	char *moved = xasprintf("%s/coffee.blob", root);
	ok(rename(coffee_blob, moved) == 0, "move a blob away");
	s = run(cat, false, 0, false, &c);
	ok(s.n == 1 && s.kind[0] == FSCK_MISSING && strcmp(s.object[0], coffee_hash) == 0,
	   "a missing blob is reported by its hash");
	ok(s.nassets[0] == 1 && s.first_asset[0] == coffee_id, "with the asset that needs it");
	ok(c.problems == 1, "the counts say one problem");
	ok(rename(moved, coffee_blob) == 0, "put it back");

	/* The same size with other bytes: only a rehash sees it. */
	overwrite(coffee_blob, 200, "troupe");
	s = run(cat, false, 0, false, &c);
	ok(s.n == 0, "without a rehash, a blob of the right size passes");
	s = run(cat, true, 0, false, &c);
	ok(s.n == 1 && s.kind[0] == FSCK_HASH && s.first_asset[0] == coffee_id,
	   "--full finds bytes written into a blob, and names its asset");

	/* A blob longer than its row says: seen without a rehash. */
	chmod(coffee_blob, 0644);
	int fd = open(coffee_blob, O_WRONLY | O_APPEND);
	ok(fd >= 0 && write_all(fd, "tail", 4) == 0, "append to a blob");
	if (fd >= 0)
		close(fd);
	s = run(cat, false, 0, false, &c);
	ok(s.n == 1 && s.kind[0] == FSCK_SIZE && s.first_asset[0] == coffee_id,
	   "a blob of the wrong size is reported with its asset");
	struct stat info;
	ok(stat(coffee_blob, &info) == 0 && truncate(coffee_blob, info.st_size - 4) == 0,
	   "cut the tail off again");
	chmod(coffee_blob, 0444);

	/* A leftover in tmp/ is reported; --repair removes it. */
	char *leftover = xasprintf("%s/tmp/blob-abc123", dir);
	write_file(leftover, "partial");
	s = run(cat, false, 0, false, &c);
	ok(s.n == 1 && s.kind[0] == FSCK_TMP && strcmp(s.object[0], "blob-abc123") == 0 &&
	       !s.repaired[0],
	   "a leftover in tmp/ is reported by its name");
	ok(access(leftover, F_OK) == 0, "and kept without --repair");
	/* A process staging a blob holds the store: the leftover stays. */
	struct store *writer = store_open(dir);
	struct store_staged staged;
	ok(store_stage_buffer(writer, "in flight", 9, &staged) == 0,
	   "another handle stages a blob");
	s = run(cat, false, 0, true, &c);
	ok(s.n == 2 && c.store_busy && !s.repaired[0] && !s.repaired[1],
	   "--repair leaves tmp/ alone while a writer holds the store");
	ok(access(leftover, F_OK) == 0, "the leftover is still there");
	store_staged_discard(&staged);
	store_free(writer);
	s = run(cat, false, 0, true, &c);
	ok(s.n == 1 && s.kind[0] == FSCK_TMP && s.repaired[0] && !c.store_busy,
	   "--repair removes it and says so");
	ok(access(leftover, F_OK) < 0, "the leftover is gone");

	/* A file in objects/ no row names: reported, never removed. */
	char *stray = store_blob_path(st, "00000000000000000000000000000001");
	char *fan = xasprintf("%s/objects/00", dir);
	mkdir(fan, 0755);
	write_file(stray, "stray");
	s = run(cat, false, 0, true, &c);
	ok(s.n == 1 && s.kind[0] == FSCK_UNREFERENCED &&
	       strcmp(s.object[0], "00000000000000000000000000000001") == 0,
	   "an unreferenced blob is reported");
	ok(access(stray, F_OK) == 0, "and kept, even with --repair");
	unlink(stray);

	/* The callback can stop the check; its value comes back. */
	write_file(leftover, "one");
	char *leftover2 = xasprintf("%s/tmp/blob-def456", dir);
	write_file(leftover2, "two");
	struct seen stop;
	memset(&stop, 0, sizeof(stop));
	stop.stop_after = 1;
	struct fsck_options plain = {false, 0, false};
	ok(fsck_run(cat, &plain, record, &stop, &c) == 7 && stop.n == 1,
	   "a nonzero return from the callback stops the check");
	unlink(leftover);
	unlink(leftover2);

	/* Samples: half, then the other half, of a sound store. */
	struct strbuf sb = STRBUF_INIT;
	ok(file_read_all(coffee, &sb) == 0, "read the picture again");
	chmod(coffee_blob, 0644);
	ok(file_write_atomic(coffee_blob, sb.buf, sb.len) == 0, "put the blob's bytes back");
	chmod(coffee_blob, 0444);
	sb_release(&sb);
	char *state = store_cache_path(st, "fsck-verified");
	unlink(state);
	s = run(cat, false, 0.5, false, &c);
	ok(s.n == 0 && c.rehashed == 2, "a sample of a half rehashes two of the four blobs");
	s = run(cat, false, 0.5, false, &c);
	ok(s.n == 0 && c.rehashed == 2, "a second sample rehashes two more");
	ok(state_lines(state) == 1 + 4, "between them every blob was verified");
	/* A damaged blob is forgotten by the state file. */
	overwrite(coffee_blob, 200, "troupe");
	s = run(cat, true, 0, false, &c);
	ok(s.n == 1 && s.kind[0] == FSCK_HASH, "--full finds the damage again");
	ok(state_lines(state) == 1 + 3, "the state file names the three sound blobs only");

	free(state);
	free(leftover2);
	free(fan);
	free(stray);
	free(leftover);
	free(moved);
	free(coffee_blob);
	store_free(st);
	catalog_close(cat);
	image_shutdown();
	char *cmd = xasprintf("rm -rf '%s'", root);
	ok(system(cmd) == 0, "clean up");
	free(cmd);
	free(dir);
	free(root);
	free(chelsea);
	free(coffee);
	error_release();
	return tap_done();
}
