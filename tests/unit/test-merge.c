/* Unit tests for merge between two real temporary stores with real
 * pictures: a plan of an empty store is all new and names every blob as
 * missing; staging verifies size, XXH3-128 and SHA-256 and refuses each
 * mismatch; applying writes everything once; the same manifest again is
 * all the same and changes nothing; a changed field is a conflict that
 * only a side resolves; vectors of another dimension are refused; and
 * two threads may stage at once. */
#include "config.h"

#include "bundle.h"
#include "catalog.h"
#include "character.h"
#include "embedding.h"
#include "ingest.h"
#include "manifest.h"
#include "merge.h"
#include "tap.h"
#include "util.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct catalog *new_store(const char *root, const char *name)
{
	char *dir = xasprintf("%s/%s/.troupe", root, name);
	bool existed;
	struct catalog *cat = catalog_create(dir, &existed) == 0 ? catalog_open(dir) : NULL;
	free(dir);
	return cat;
}

struct buffer {
	const unsigned char *data;
	size_t len, at;
};

static ssize_t read_buffer(void *ctx, void *buf, size_t len)
{
	struct buffer *b = ctx;
	if (len > b->len - b->at)
		len = b->len - b->at;
	memcpy(buf, b->data + b->at, len);
	b->at += len;
	return (ssize_t)len;
}

/* Stages the blob from the source store's file. */
static int stage_from(struct catalog *src, struct merge_plan *p, const char *hash)
{
	int fd = store_open_blob(catalog_store(src), hash);
	if (fd < 0)
		return -1;
	int rc = merge_stage_blob(p, hash, bundle_fd_read, &fd);
	close(fd);
	return rc;
}

static size_t count_state(const struct merge_plan *p, enum merge_state state)
{
	size_t n, count = 0;
	const struct merge_item *items = merge_plan_items(p, &n);
	for (size_t i = 0; i < n; i++)
		count += items[i].state == state;
	return count;
}

struct stage_job {
	struct catalog *src;
	struct merge_plan *plan;
	const char *hash;
	int rc;
};

static void *stage_thread(void *arg)
{
	struct stage_job *j = arg;
	j->rc = stage_from(j->src, j->plan, j->hash);
	error_release();
	return NULL;
}

int main(void)
{
	tap_find_modules();
	const char *srcdir = getenv("TEST_SRCDIR");
	char *astronaut = xasprintf("%s/data/photos/astronaut.jpg", srcdir ? srcdir : "tests");
	char *camera = xasprintf("%s/data/photos/camera.jpg", srcdir ? srcdir : "tests");
	char *root = temp_template("merge");
	ok_or_bail(mkdtemp(root) != NULL, "temporary directory");
	struct catalog *a = new_store(root, "a"), *b = new_store(root, "b");
	ok_or_bail(a && b, "two stores");
	struct character c = {0};
	c.slug = "mei";
	c.name = "Mei";
	c.description = "a pilot";
	ok_or_bail(catalog_character_new(a, &c) == 0, "a character in the first");
	struct add_batch *batch = catalog_add_begin(a, "mei", "face", NULL);
	ok_or_bail(batch && catalog_add_file(batch, astronaut) == 0 &&
		       catalog_add_file(batch, camera) == 0 && catalog_add_commit(batch) == 0,
		   "two real pictures");
	catalog_add_free(batch);
	float v[2] = {1, 0};
	ok(catalog_embedding_put(a, 1, "toy", v, 2, NULL) == 0, "a vector");
	char *slugs[] = {"mei"};
	struct manifest_selection sel = {slugs, 1, NULL, NULL, 0};
	struct manifest *m = manifest_build(a, &sel, NULL, NULL);
	ok_or_bail(m && m->nblobs == 2, "its manifest");

	struct merge_plan *p = merge_plan_new(b, m);
	ok_or_bail(p != NULL, "a plan for the empty store");
	ok(merge_plan_conflicts(p) == 0 && count_state(p, MERGE_SAME) == 0 &&
	       count_state(p, MERGE_NEW) == 4,
	   "an element, two assets and an embedding, all new");
	size_t nmissing;
	const struct manifest_blob *const *missing = merge_plan_missing(p, &nmissing);
	ok(nmissing == 2 && strcmp(missing[0]->hash, missing[1]->hash) < 0,
	   "both blobs are missing, sorted");
	struct merge_options mo = {MERGE_REFUSE, NULL};
	ok(merge_apply(p, &mo, NULL) < 0 && strstr(error_message(), "but absent"),
	   "applying without the blobs is refused");

	/* Each kind of bad bytes, for the first blob. */
	const struct manifest_blob *first = &m->blobs[0];
	struct strbuf bytes = STRBUF_INIT;
	int fd = store_open_blob(catalog_store(a), first->hash);
	fd_read_all(fd, &bytes);
	close(fd);
	struct buffer buf = {(unsigned char *)bytes.buf, bytes.len - 1, 0};
	ok(merge_stage_blob(p, first->hash, read_buffer, &buf) < 0 &&
	       strstr(error_message(), "the manifest says"),
	   "a byte short is refused");
	bytes.buf[10] ^= 1;
	buf = (struct buffer){(unsigned char *)bytes.buf, bytes.len, 0};
	ok(merge_stage_blob(p, first->hash, read_buffer, &buf) < 0 &&
	       strstr(error_message(), "XXH3-128 mismatch"),
	   "other bytes are an XXH3 mismatch");
	bytes.buf[10] ^= 1;
	sb_addc(&bytes, 'x');
	buf = (struct buffer){(unsigned char *)bytes.buf, bytes.len, 0};
	ok(merge_stage_blob(p, first->hash, read_buffer, &buf) < 0 &&
	       strstr(error_message(), "more than the"),
	   "a byte more is refused");
	ok(merge_stage_blob(p, "ffffffffffffffffffffffffffffffff", read_buffer, &buf) < 0 &&
	       strstr(error_message(), "not named by the manifest"),
	   "a blob the manifest does not name is refused");
	struct manifest_blob *writable = (struct manifest_blob *)first;
	char sha[SHA256_HEX + 1];
	memcpy(sha, first->sha256, sizeof(sha));
	writable->sha256[0] = writable->sha256[0] == '0' ? '1' : '0';
	ok(stage_from(a, p, first->hash) < 0 && strstr(error_message(), "SHA-256 mismatch"),
	   "the right XXH3 with another SHA-256 is refused");
	memcpy(writable->sha256, sha, sizeof(sha));
	sb_release(&bytes);

	/* Two threads stage the two blobs at once. */
	struct stage_job jobs[2] = {{a, p, m->blobs[0].hash, -1}, {a, p, m->blobs[1].hash, -1}};
	pthread_t threads[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&threads[i], NULL, stage_thread, &jobs[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(threads[i], NULL);
	ok(jobs[0].rc == 0 && jobs[1].rc == 0, "two threads stage the two blobs at once");
	ok(stage_from(a, p, m->blobs[0].hash) < 0 && strstr(error_message(), "comes twice"),
	   "a blob staged twice is refused");
	ok(merge_plan_complete(p) == 0, "the plan is complete");
	struct merge_counts counts;
	ok(merge_apply(p, &mo, &counts) == 0, "it applies");
	ok(counts.elements_new == 1 && counts.assets_new == 2 && counts.embeddings_new == 1 &&
	       counts.blobs_stored == 2,
	   "one element, two assets, one embedding, two blobs");
	merge_plan_free(p);
	float *got;
	uint32_t dim;
	ok(catalog_embedding_get(b, 1, "toy", &got, &dim) == 0 && dim == 2 && got[0] == 1.0f,
	   "the vector is in the second store");
	free(got);

	/* The same manifest again: all the same, nothing missing. */
	p = merge_plan_new(b, m);
	ok_or_bail(p != NULL, "a second plan");
	merge_plan_missing(p, &nmissing);
	ok(count_state(p, MERGE_NEW) == 0 && merge_plan_conflicts(p) == 0 && nmissing == 0,
	   "everything is the same and nothing is missing");
	ok(merge_apply(p, &mo, &counts) == 0 && counts.elements_same == 1 &&
	       counts.assets_new == 0 && counts.blobs_stored == 0,
	   "applying it changes nothing");
	merge_plan_free(p);

	/* A field changed here is a conflict. */
	struct character_edit e = {0};
	e.description = "a retired pilot";
	ok(catalog_character_edit(b, "mei", &e) == 0, "edit the description in the second store");
	p = merge_plan_new(b, m);
	ok_or_bail(p != NULL, "a plan with a conflict");
	size_t n;
	const struct merge_item *items = merge_plan_items(p, &n);
	ok(merge_plan_conflicts(p) == 1 && items[0].state == MERGE_CONFLICT &&
	       items[0].ndiffs == 1 && strcmp(items[0].diffs[0].field, "description") == 0 &&
	       strcmp(items[0].diffs[0].ours, "a retired pilot") == 0 &&
	       strcmp(items[0].diffs[0].theirs, "a pilot") == 0,
	   "the conflict names the field, ours and theirs");
	ok(merge_apply(p, &mo, NULL) < 0 && error_code() == EX_DATAERR &&
	       strstr(error_message(), "1 conflict"),
	   "unresolved, it is refused");
	mo.side = MERGE_OURS;
	ok(merge_apply(p, &mo, &counts) == 0 && counts.conflicts_kept == 1, "--ours keeps ours");
	struct character *now = catalog_character_get(b, "mei");
	ok(now && strcmp(now->description, "a retired pilot") == 0, "the description stays");
	character_free(now);
	mo.side = MERGE_THEIRS;
	ok(merge_apply(p, &mo, &counts) == 0 && counts.conflicts_replaced == 1,
	   "--theirs replaces it");
	now = catalog_character_get(b, "mei");
	ok(now && strcmp(now->description, "a pilot") == 0, "the manifest's description");
	character_free(now);
	merge_plan_free(p);

	/* A model of another dimension here refuses the plan. */
	struct catalog *d = new_store(root, "d");
	ok_or_bail(d != NULL, "a third store");
	c.slug = "kai";
	c.name = "Kai";
	batch = NULL;
	ok(catalog_character_new(d, &c) == 0, "kai");
	batch = catalog_add_begin(d, "kai", "face", NULL);
	ok(batch && catalog_add_file(batch, camera) == 0 && catalog_add_commit(batch) == 0,
	   "a picture of kai");
	catalog_add_free(batch);
	float three[3] = {1, 0, 0};
	ok(catalog_embedding_put(d, 1, "toy", three, 3, NULL) == 0, "a 3-d vector for toy");
	error_clear();
	ok(merge_plan_new(d, m) == NULL && error_code() == EX_DATAERR &&
	       strstr(error_message(), "2 dimensions, this store's 3"),
	   "a manifest of 2-d vectors is refused");

	manifest_free(m);
	catalog_close(a);
	catalog_close(b);
	catalog_close(d);
	char *cmd = xasprintf("rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", root);
	free(cmd);
	free(root);
	free(astronaut);
	free(camera);
	return tap_done();
}
