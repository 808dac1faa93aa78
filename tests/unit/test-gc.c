/* Unit tests for gc: the mark and the decision on graphs built by hand
 * (roots, chains of thumbnails and derivatives, orphans, notes, grace),
 * then gc_run on a real temporary store with real pictures: a removed
 * asset's blob and thumbnail are candidates, kept within the grace
 * period, freed past it, and no blob is unlinked without the lock. Each
 * check names the rule it would catch breaking. */
#include "config.h"

#include "asset.h"
#include "catalog.h"
#include "gc.h"
#include "image.h"
#include "ingest.h"
#include "store.h"
#include "tap.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { DAY = 86400, NOW = 100 * DAY, GRACE = 14 * DAY };

static struct gc_node node(const char *hash, bool row, bool file, bool root)
{
	struct gc_node n;
	memset(&n, 0, sizeof(n));
	snprintf(n.hash, sizeof(n.hash), "%s", hash);
	n.row = row;
	n.file = file;
	n.root = root;
	n.bytes = 10;
	return n;
}

static void test_mark(void)
{
	/* 0 an asset's blob, 1 its thumbnail, 2 a derivative of the
	 * thumbnail, 3 a removed asset's blob, 4 its thumbnail, 5 a blob
	 * hung off both a dead and a live blob. */
	struct gc_node n[6] = {node("a0", true, true, true),  node("a1", true, true, false),
			       node("a2", true, true, false), node("a3", true, true, false),
			       node("a4", true, true, false), node("a5", true, true, false)};
	char thumb[] = "the thumbnail", derivative[] = "a derivative (max-side=512)";
	struct gc_link l[] = {
	    {1, 2, derivative}, {0, 1, thumb}, {3, 4, thumb}, {3, 5, thumb}, {0, 5, derivative}};
	gc_mark(n, 6, l, 5);
	ok(n[0].live, "a root is live");
	ok(n[1].live && n[2].live, "a chain hung off a root is live, whatever the link order");
	ok(!n[3].live && !n[4].live, "a blob nothing names is dead, and what hangs off it");
	ok(n[5].live, "a blob hung off a dead and a live blob is live");

	gc_decide(n, 6, l, 5, NOW, GRACE);
	ok(n[3].verdict == GC_GRACE && n[3].first_seen == NOW,
	   "a dead row without a note is first seen now, and kept");
	ok(n[4].hung && strcmp(n[4].hung, "the thumbnail") == 0 && n[4].hung_from == 3,
	   "a dead thumbnail knows whose it was");

	n[4].noted = NOW - 20 * DAY;
	gc_decide(n, 6, l, 5, NOW, GRACE);
	ok(n[4].first_seen == NOW - 20 * DAY, "a note gives the first-seen time");
	ok(n[4].verdict == GC_HELD, "a thumbnail past its grace is held by a source within it");

	n[3].noted = NOW - 15 * DAY;
	gc_decide(n, 6, l, 5, NOW, GRACE);
	ok(n[3].verdict == GC_FREE && n[4].verdict == GC_FREE,
	   "a source past its grace frees its thumbnail with it");
	n[3].noted = NOW - GRACE;
	gc_decide(n, 6, l, 5, NOW, GRACE);
	ok(n[3].verdict == GC_FREE, "exactly the grace period is enough");
	n[3].noted = NOW - GRACE + 1;
	gc_decide(n, 6, l, 5, NOW, GRACE);
	ok(n[3].verdict == GC_GRACE, "a second short of it is not");
	gc_decide(n, 6, l, 5, NOW, 0);
	ok(n[3].verdict == GC_FREE && n[4].verdict == GC_FREE, "grace 0 frees every dead blob");
}

static void test_orphans(void)
{
	struct gc_node n[3] = {node("b0", false, true, false), node("b1", false, true, false),
			       node("b2", false, true, true)};
	n[0].mtime = NOW - 30 * DAY;
	n[1].mtime = NOW - DAY;
	n[2].mtime = NOW - 30 * DAY;
	gc_mark(n, 3, NULL, 0);
	gc_decide(n, 3, NULL, 0, NOW, GRACE);
	ok(n[0].first_seen == NOW - 30 * DAY && n[0].verdict == GC_FREE,
	   "an orphan file is first seen at its mtime, and goes past the grace");
	ok(n[1].verdict == GC_GRACE, "a fresh orphan is kept");
	ok(n[2].live, "a file no row names but a reference does (by hash) is live");
	struct gc_node ghost = node("b3", false, false, false);
	ghost.noted = 1;
	gc_mark(&ghost, 1, NULL, 0);
	gc_decide(&ghost, 1, NULL, 0, NOW, 0);
	ok(ghost.first_seen == 0, "a note for a blob with neither row nor file decides nothing");
}

struct seen {
	size_t n, free, grace;
	char hash[8][STORE_HASH_HEX + 1];
	char why[8][96];
};

static int record(const struct gc_candidate *c, void *ctx)
{
	struct seen *s = ctx;
	if (s->n < 8) {
		snprintf(s->hash[s->n], sizeof(s->hash[0]), "%s", c->hash);
		snprintf(s->why[s->n], sizeof(s->why[0]), "%s", c->why);
	}
	s->n++;
	s->free += c->verdict == GC_FREE;
	s->grace += c->verdict == GC_GRACE;
	return 0;
}

static struct seen run(struct catalog *cat, bool dry_run, int64_t grace, struct gc_counts *c)
{
	struct seen s;
	memset(&s, 0, sizeof(s));
	struct gc_options o = {dry_run, grace};
	if (gc_run(cat, &o, record, &s, c) < 0)
		s.n = (size_t)-1;
	return s;
}

static void test_store(const char *srcdir)
{
	char *chelsea = xasprintf("%s/data/photos/chelsea.jpg", srcdir);
	char *coffee = xasprintf("%s/data/photos/coffee.jpg", srcdir);
	char *root = temp_template("gc");
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
	struct store *st = catalog_store(cat);

	struct gc_counts c;
	struct seen s = run(cat, true, GRACE, &c);
	ok(s.n == 0 && c.blobs == 4 && c.unreferenced == 0,
	   "in a sound store every blob (two pictures, two thumbnails) is referenced");

	ok(catalog_asset_rm(cat, &coffee_id, 1) == 0, "remove an asset");
	s = run(cat, true, GRACE, &c);
	ok(s.n == 2 && s.grace == 2, "its blob and thumbnail are candidates, kept");
	bool named = false;
	for (size_t i = 0; i < s.n && i < 8; i++)
		named |= strcmp(s.hash[i], coffee_hash) == 0 && strstr(s.why[i], "coffee.jpg");
	ok(named, "the removed asset is what named its blob");
	s = run(cat, true, 0, &c);
	ok(s.free == 2 && c.freed == 2 && c.freed_bytes > 0,
	   "--dry-run with grace 0: both would go");
	ok(store_has(st, coffee_hash), "and a dry run unlinks nothing");

	ok(store_blob_remove(st, coffee_hash) < 0, "no blob is unlinked without the lock");
	error_clear();
	ok(store_has(st, coffee_hash), "the refused unlink left it");

	s = run(cat, false, GRACE, &c);
	ok(s.n == 2 && c.freed == 0 && store_has(st, coffee_hash), "gc keeps it within the grace");
	s = run(cat, false, 0, &c);
	ok(s.n == 2 && c.freed == 2 && c.rows_removed == 2, "grace 0: both rows go");
	ok(!store_has(st, coffee_hash), "and the file");
	s = run(cat, true, 0, &c);
	ok(s.n == 0 && c.blobs == 2, "nothing unreferenced is left");

	catalog_close(cat);
	char *cmd = xasprintf("rm -rf '%s'", root);
	ok(system(cmd) == 0, "clean up");
	free(cmd);
	free(dir);
	free(root);
	free(chelsea);
	free(coffee);
}

int main(void)
{
	tap_find_modules();
	const char *srcdir = getenv("TEST_SRCDIR");
	test_mark();
	test_orphans();
	test_store(srcdir ? srcdir : "tests");
	image_shutdown();
	error_release();
	return tap_done();
}
