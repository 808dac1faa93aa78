/* fsck: gathers what the index says about blobs (catalog), asks the store
 * what is on disk (store), and reports where the two disagree. It never
 * prints, never knows a blob's path, and never removes anything but what
 * --repair may: a leftover in tmp/ while it holds the store alone, and a
 * cache file that is rebuilt from the index anyway. */
#include "config.h"

#include "fsck.h"

#include "catalog.h"
#include "fault.h"
#include "gc.h"
#include "phash.h"
#include "posting.h"
#include "store.h"
#include "util.h"
#include "vector.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STATE_NAME   "fsck-verified"
#define STATE_HEADER "troupe fsck-verified 1\n"

/* One referenced blob and everything that needs it. */
struct blob {
	char hash[STORE_HASH_HEX + 1];
	int64_t bytes;
	int64_t *assets;
	size_t nassets;
	int64_t *requests;
	size_t nrequests;
	int64_t verified; /* when its hash last matched, 0 never */
	bool rehash;
};

struct blobs {
	struct blob *items;
	size_t n;
};

struct run {
	struct store *st;
	const struct fsck_options *o;
	fsck_report_fn *report;
	void *ctx;
	struct fsck_counts *counts;
	bool index_damaged;
};

const char *fsck_kind_name(enum fsck_kind kind)
{
	static const char *const names[] = {"index", "foreign-key", "missing",	    "size",
					    "hash",  "tmp",	    "unreferenced", "cache"};
	return names[kind];
}

static int problem(struct run *r, const struct fsck_problem *p)
{
	if (p->note)
		r->counts->notes++;
	else
		r->counts->problems++;
	return r->report(p, r->ctx);
}

static int simple_problem(struct run *r, enum fsck_kind kind, const char *object,
			  const char *detail, bool repaired)
{
	struct fsck_problem p = {kind, object, detail, NULL, 0, NULL, 0, repaired, false};
	return problem(r, &p);
}

/* A blob nothing references: reported so that fsck and gc --dry-run
 * list the same blobs, but not a problem (a removal or a killed add
 * leaves one; gc frees it after the grace period). */
static int unreferenced_note(struct run *r, const char *object, const char *detail)
{
	struct fsck_problem p = {FSCK_UNREFERENCED, object, detail, NULL, 0, NULL, 0, false, true};
	return problem(r, &p);
}

/* quick_check may put several findings in one message, one a line,
 * under a "*** in database main ***" heading: a problem each. */
static int index_message(bool foreign_key, const char *msg, void *ctx)
{
	struct run *r = ctx;
	if (!foreign_key)
		r->index_damaged = true;
	int rc = 0;
	for (const char *line = msg; rc == 0 && *line;) {
		size_t len = strcspn(line, "\n");
		char *text = xstrndup(line, len);
		if (len && strncmp(text, "*** in database ", 16) != 0)
			rc = simple_problem(r, foreign_key ? FSCK_FOREIGN_KEY : FSCK_INDEX,
					    "troupe.db", text, false);
		free(text);
		line += len + (line[len] == '\n');
	}
	return rc;
}

static void push_id(int64_t **ids, size_t *n, int64_t id)
{
	/* Rows come ordered by kind then id, but an asset appears under
	 * several kinds: keep the list sorted and without repeats. */
	size_t at = 0;
	while (at < *n && (*ids)[at] < id)
		at++;
	if (at < *n && (*ids)[at] == id)
		return;
	*ids = xrealloc(*ids, (*n + 1) * sizeof(**ids));
	memmove(*ids + at + 1, *ids + at, (*n - at) * sizeof(**ids));
	(*ids)[at] = id;
	(*n)++;
}

static int collect_ref(const struct catalog_blob_ref *ref, void *ctx)
{
	struct blobs *b = ctx;
	struct blob *last = b->n ? &b->items[b->n - 1] : NULL;
	if (!last || strcmp(last->hash, ref->hash) != 0) {
		b->items = xrealloc(b->items, (b->n + 1) * sizeof(*b->items));
		last = &b->items[b->n++];
		memset(last, 0, sizeof(*last));
		snprintf(last->hash, sizeof(last->hash), "%s", ref->hash);
		last->bytes = -1;
	}
	if (ref->bytes >= 0)
		last->bytes = ref->bytes;
	if (ref->kind == CATALOG_REF_REQUEST)
		push_id(&last->requests, &last->nrequests, ref->id);
	else if (ref->kind != CATALOG_REF_ROW && ref->id > 0)
		push_id(&last->assets, &last->nassets, ref->id);
	return 0;
}

static void blobs_free(struct blobs *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->items[i].assets);
		free(b->items[i].requests);
	}
	free(b->items);
}

static int cmp_hash(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static struct blob *find_blob(struct blobs *b, const char *hash)
{
	return bsearch(hash, b->items, b->n, sizeof(*b->items), cmp_hash);
}

/* The state file: a header line, then "HASH SECONDS" per verified blob.
 * A file that cannot be read is as if nothing had been verified: it only
 * decides the order of the sample. */
static void state_load(const char *path, struct blobs *b)
{
	struct strbuf sb = STRBUF_INIT;
	if (file_read_all(path, &sb) < 0) {
		error_clear();
		return;
	}
	if (strncmp(sb_str(&sb), STATE_HEADER, strlen(STATE_HEADER)) == 0) {
		char *line = sb.buf + strlen(STATE_HEADER);
		while (*line) {
			char *end = strchr(line, '\n');
			if (!end)
				break;
			*end = '\0';
			char hash[STORE_HASH_HEX + 1];
			long long at;
			if (sscanf(line, "%32s %lld", hash, &at) == 2) {
				struct blob *blob = find_blob(b, hash);
				if (blob)
					blob->verified = at;
			}
			line = end + 1;
		}
	}
	sb_release(&sb);
}

static int state_save(const char *path, const struct blobs *b)
{
	struct strbuf sb = STRBUF_INIT;
	sb_adds(&sb, STATE_HEADER);
	for (size_t i = 0; i < b->n; i++)
		if (b->items[i].verified)
			sb_addf(&sb, "%s %lld\n", b->items[i].hash,
				(long long)b->items[i].verified);
	int rc = file_write_atomic(path, sb.buf, sb.len);
	sb_release(&sb);
	return rc;
}

/* Least recently verified first (never verified before all), then by
 * hash, so that repeated samples sweep the whole store. */
static int cmp_stalest(const void *a, const void *b)
{
	const struct blob *x = *(struct blob *const *)a, *y = *(struct blob *const *)b;
	if (x->verified != y->verified)
		return x->verified < y->verified ? -1 : 1;
	return strcmp(x->hash, y->hash);
}

static void choose_rehash(struct blobs *b, const struct fsck_options *o)
{
	if (o->full) {
		for (size_t i = 0; i < b->n; i++)
			b->items[i].rehash = true;
		return;
	}
	if (o->sample <= 0 || !b->n)
		return;
	size_t want = (size_t)ceil(o->sample * (double)b->n);
	if (want > b->n)
		want = b->n;
	struct blob **order = xcalloc(b->n, sizeof(*order));
	for (size_t i = 0; i < b->n; i++)
		order[i] = &b->items[i];
	qsort(order, b->n, sizeof(*order), cmp_stalest);
	for (size_t i = 0; i < want; i++)
		order[i]->rehash = true;
	free(order);
}

static int check_blob(struct run *r, struct blob *blob, int64_t now)
{
	enum store_blob_state state;
	uint64_t actual = 0;
	char hex[STORE_HASH_HEX + 1];
	if (store_verify_blob(r->st, blob->hash, blob->bytes, blob->rehash, &state, &actual, hex) <
	    0)
		return -1;
	r->counts->blobs++;
	r->counts->bytes += actual;
	if (blob->rehash && state != STORE_BLOB_MISSING) {
		r->counts->rehashed++;
		r->counts->bytes_rehashed += actual;
	}
	if (state == STORE_BLOB_OK) {
		if (blob->rehash)
			blob->verified = now;
		return 0;
	}
	blob->verified = 0;
	char *detail;
	enum fsck_kind kind;
	bool repaired = false;
	if (state == STORE_BLOB_MISSING && r->o->repair && r->o->restore) {
		int got = r->o->restore(blob->hash, r->o->restore_ctx);
		if (got < 0)
			return -1;
		repaired = got == 1;
	}
	if (state == STORE_BLOB_MISSING) {
		kind = FSCK_MISSING;
		detail = xstrdup(repaired ? "not in objects/; restored from a remote"
					  : "not in objects/");
	} else if (state == STORE_BLOB_SIZE) {
		kind = FSCK_SIZE;
		detail = xasprintf("%llu bytes, the index says %lld", (unsigned long long)actual,
				   (long long)blob->bytes);
	} else {
		kind = FSCK_HASH;
		detail = xasprintf("its bytes hash to %s", hex);
	}
	struct fsck_problem p = {kind,		blob->hash,	detail,		 blob->assets,
				 blob->nassets, blob->requests, blob->nrequests, repaired,
				 false};
	int rc = problem(r, &p);
	free(detail);
	return rc;
}

/* The blobs gc would reclaim, as its dry run lists them, so that the two
 * commands never disagree about what is unreferenced. */
struct unreferenced {
	char (*hash)[STORE_HASH_HEX + 1];
	char **why;
	size_t n;
};

static int collect_unreferenced(const struct gc_candidate *c, void *ctx)
{
	struct unreferenced *u = ctx;
	if (!c->file)
		return 0; /* a row whose blob is gone: reported as missing */
	u->hash = xrealloc(u->hash, (u->n + 1) * sizeof(*u->hash));
	u->why = xrealloc(u->why, (u->n + 1) * sizeof(*u->why));
	snprintf(u->hash[u->n], sizeof(u->hash[0]), "%s", c->hash);
	u->why[u->n] = c->row ? xasprintf("%s; kept: gc reclaims it", c->why)
			      : xstrdup("no row names this blob (kept: gc reclaims it)");
	u->n++;
	return 0;
}

static void unreferenced_free(struct unreferenced *u)
{
	for (size_t i = 0; i < u->n; i++)
		free(u->why[i]);
	free(u->why);
	free(u->hash);
}

struct object_walk {
	struct run *r;
	struct blobs *blobs;
	struct unreferenced *unreferenced;
};

static int check_object(const struct store_entry *e, void *ctx)
{
	struct object_walk *w = ctx;
	w->r->counts->objects++;
	if (!e->is_blob)
		return simple_problem(w->r, FSCK_UNREFERENCED, e->name, "not a blob's name (kept)",
				      false);
	char(*found)[STORE_HASH_HEX + 1] =
	    w->unreferenced->n ? bsearch(e->name, w->unreferenced->hash, w->unreferenced->n,
					 sizeof(*w->unreferenced->hash), cmp_hash)
			       : NULL;
	if (found)
		return unreferenced_note(w->r, e->name,
					 w->unreferenced->why[found - w->unreferenced->hash]);
	if (find_blob(w->blobs, e->name))
		return 0;
	return unreferenced_note(w->r, e->name, "no row names this blob (kept: gc reclaims it)");
}

static int check_tmp(const struct store_entry *e, void *ctx)
{
	struct run *r = ctx;
	r->counts->tmp++;
	bool repaired = false;
	const char *detail = "left by a write that did not finish";
	if (r->o->repair && !r->counts->store_busy) {
		if (store_tmp_remove(r->st, e->name) < 0)
			return -1;
		fault_point("fsck-repair-removed");
		repaired = true;
		detail = "left by a write that did not finish; removed";
	} else if (r->o->repair) {
		detail = "left by a write that did not finish; kept: another troupe process "
			 "holds the store";
	}
	return simple_problem(r, FSCK_TMP, e->name, detail, repaired);
}

/* The caches troupe rebuilds from the index when their generation is
 * stale; only a header that cannot be read is worth reporting. */
static int check_cache(const struct store_entry *e, void *ctx)
{
	struct run *r = ctx;
	size_t len = strlen(e->name);
	bool phash = strcmp(e->name, "phash.idx") == 0;
	bool vectors = strncmp(e->name, "vectors-", 8) == 0 && len > 12 &&
		       strcmp(e->name + len - 4, ".f32") == 0;
	bool postings = strcmp(e->name, "postings.idx") == 0;
	if (!phash && !vectors && !postings)
		return 0;
	r->counts->caches++;
	char *path = store_cache_path(r->st, e->name);
	if (!path)
		return -1;
	uint64_t generation;
	uint32_t dim;
	int readable;
	if (postings) {
		/* The header and directory; each list is checked when a query
		 * reads it. */
		struct posting_file *f = posting_file_open(path);
		readable = f ? 0 : -1;
		posting_file_close(f);
	} else {
		readable = phash ? phash_file_generation(path, &generation)
				 : vector_file_header(path, &generation, &dim);
	}
	error_clear();
	int rc = 0;
	if (readable < 0) {
		bool repaired = r->o->repair && unlink(path) == 0;
		rc = simple_problem(r, FSCK_CACHE, e->name,
				    repaired ? "not a readable cache file; removed (rebuilt on use)"
					     : "not a readable cache file (rebuilt on use)",
				    repaired);
	}
	free(path);
	return rc;
}

int fsck_run(struct catalog *cat, const struct fsck_options *o, fsck_report_fn *report, void *ctx,
	     struct fsck_counts *counts)
{
	memset(counts, 0, sizeof(*counts));
	struct run r = {catalog_store(cat), o, report, ctx, counts, false};
	struct blobs blobs = {0};
	struct unreferenced unreferenced = {0};
	char *state = NULL;
	int rc = catalog_check_index(cat, index_message, &r);
	if (rc != 0)
		goto out;
	if ((rc = catalog_blob_refs(cat, collect_ref, &blobs)) != 0) {
		/* A damaged index may not list its blobs; that is the
		 * problem already reported, not a failure to check. */
		if (!r.index_damaged)
			goto out;
		char *why = xasprintf("cannot list the blobs it names: %s", error_message());
		error_clear();
		rc = simple_problem(&r, FSCK_INDEX, "troupe.db", why, false);
		free(why);
		if (rc != 0)
			goto out;
	}
	bool rehashing = o->full || o->sample > 0;
	if (rehashing) {
		state = store_cache_path(r.st, STATE_NAME);
		if (!state) {
			rc = -1;
			goto out;
		}
		state_load(state, &blobs);
	}
	choose_rehash(&blobs, o);
	int64_t now = time_now();
	for (size_t i = 0; i < blobs.n; i++)
		if ((rc = check_blob(&r, &blobs.items[i], now)) != 0)
			goto out;
	if (rehashing && (rc = state_save(state, &blobs)) != 0)
		goto out;
	struct gc_options go = {true, 0};
	struct gc_counts gcounts;
	if (!r.index_damaged &&
	    (rc = gc_run(cat, &go, collect_unreferenced, &unreferenced, &gcounts)) != 0)
		goto out;
	struct object_walk ow = {&r, &blobs, &unreferenced};
	if ((rc = store_walk(r.st, STORE_AREA_OBJECTS, check_object, &ow)) != 0)
		goto out;
	if (o->repair) {
		int lock = store_lock_exclusive(r.st);
		if (lock < 0) {
			rc = -1;
			goto out;
		}
		counts->store_busy = lock == 1;
	}
	if ((rc = store_walk(r.st, STORE_AREA_TMP, check_tmp, &r)) != 0)
		goto out;
	rc = store_walk(r.st, STORE_AREA_CACHE, check_cache, &r);
out:
	free(state);
	unreferenced_free(&unreferenced);
	blobs_free(&blobs);
	return rc;
}
