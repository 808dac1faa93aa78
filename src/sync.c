/* sync: push, pull and status behind sync.h. The remote's layout under
 * its prefix: cast/SLUG.json, the manifest of one element, and
 * objects/xx/<30 hex>, its blobs under their XXH3-128 as in a store.
 * Invariants: a manifest is written only after every blob it names is on
 * the remote; nothing downloaded reaches the catalog before merge has
 * checked its size, XXH3-128 and SHA-256; the sync state of an element
 * changes only after its push or pull has completed. Over 800 lines
 * because push, pull and status share the one comparison of local,
 * remote and last-synced manifests that decides every element's state. */
#define _GNU_SOURCE
#include "config.h"

#include "sync.h"
#include "catalog.h"
#include "character.h"
#include "fault.h"
#include "http.h"
#include "manifest.h"
#include "remote.h"
#include "s3.h"
#include "sha256.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { SYNC_DEFAULT_JOBS = 8, SYNC_MAX_JOBS = 64 };
/* One listing page holds 1,000 keys: listing the remote's blobs costs
 * (blobs there / 1000) requests, asking for each blob one; the cheaper
 * wins, as DVC decides. */
enum { LIST_PAGE = 1000, FANOUT = 256 };

const char *sync_state_name(enum sync_state s)
{
	static const char *const names[] = {"same",	    "pushed",	"pulled",    "local-ahead",
					    "remote-ahead", "conflict", "only-here", "only-there"};
	return names[s];
}

/* ---- running transfers several at a time ---- */

typedef int job_fn(size_t i, void *ctx);

struct pool {
	pthread_mutex_t lock;
	size_t next, n, done;
	job_fn *fn;
	void *ctx;
	bool failed;
	int code;
	char *message;
	/* After each finished job, under the lock: a transfer's fault
	 * point and its progress. A pool with one is a transfer. */
	void (*after)(size_t done, void *ctx);
};

static void *worker(void *arg)
{
	struct pool *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->lock);
		size_t i = p->next;
		bool stop = p->failed || i >= p->n;
		if (!stop)
			p->next++;
		pthread_mutex_unlock(&p->lock);
		if (stop)
			break;
		int rc = p->fn(i, p->ctx);
		pthread_mutex_lock(&p->lock);
		if (rc < 0 && !p->failed) {
			p->failed = true;
			p->code = error_code();
			p->message = xstrdup(error_message());
		} else if (rc >= 0) {
			p->done++;
			/* Under the lock: fault points count hits, and the
			 * progress callback need not be thread-safe. */
			if (p->after)
				p->after(p->done, p->ctx);
		}
		pthread_mutex_unlock(&p->lock);
	}
	error_release();
	return NULL;
}

/* Runs fn for 0..n-1 on up to jobs threads; the first failure stops the
 * handing out of work and is the error returned. */
static int run_jobs(size_t n, int jobs, job_fn *fn, void *ctx, void (*after)(size_t, void *))
{
	if (!n)
		return 0;
	if (http_load() < 0)
		return -1;
	if (after)
		fault_point("sync-start"); /* reads TROUPE_FAULT before any thread runs */
	struct pool p = {.n = n, .fn = fn, .ctx = ctx, .after = after};
	pthread_mutex_init(&p.lock, NULL);
	size_t nthreads = (size_t)(jobs > 0 ? jobs : SYNC_DEFAULT_JOBS);
	if (nthreads > SYNC_MAX_JOBS)
		nthreads = SYNC_MAX_JOBS;
	if (nthreads > n)
		nthreads = n;
	pthread_t *threads = xcalloc(nthreads, sizeof(*threads));
	size_t started = 0;
	for (; started < nthreads; started++)
		if (pthread_create(&threads[started], NULL, worker, &p) != 0)
			break;
	if (!started)
		worker(&p);
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	pthread_mutex_destroy(&p.lock);
	if (p.failed) {
		error_set(p.code, "%s", p.message);
		free(p.message);
		return -1;
	}
	return 0;
}

/* ---- the remote ---- */

struct session {
	struct catalog *cat;
	const struct remote *remote;
	struct s3_client *client;
	const struct sync_options *o;
	struct sync_counts *counts;
};

static int session_open(struct session *s, struct catalog *cat, const struct remote *r,
			const struct sync_options *o, struct sync_counts *counts)
{
	memset(s, 0, sizeof(*s));
	memset(counts, 0, sizeof(*counts));
	s->cat = cat;
	s->remote = r;
	s->o = o;
	s->counts = counts;
	struct s3_credentials creds;
	if (s3_credentials_load(&creds) < 0)
		return error_prefix("remote %s", r->name);
	s->client = s3_client_new(&r->loc, &creds);
	s3_credentials_clear(&creds);
	return 0;
}

static void session_close(struct session *s)
{
	s3_client_free(s->client);
	s->client = NULL;
}

static int fail(const struct session *s)
{
	return error_prefix("remote %s", s->remote->name);
}

static char *blob_key(const struct session *s, const char *hash)
{
	char *name = xasprintf("objects/%.2s/%s", hash, hash + 2);
	char *key = s3_key(&s->remote->loc, name);
	free(name);
	return key;
}

static char *manifest_key(const struct session *s, const char *slug)
{
	char *name = xasprintf("cast/%s.json", slug);
	char *key = s3_key(&s->remote->loc, name);
	free(name);
	return key;
}

static void text_sha256(const void *data, size_t len, char out[65])
{
	uint8_t d[32];
	sha256(data, len, d);
	sha256_hex(d, out);
}

/* A slug as this store writes them; anything else under cast/ is not
 * one of ours and is left alone. */
static bool slug_valid(const char *s, size_t n)
{
	char *slug = xstrndup(s, n);
	bool ok = catalog_slug_check(slug) == 0;
	free(slug);
	if (!ok)
		error_clear();
	return ok;
}

/* Every element of this store, by slug. */
static int local_slugs(struct catalog *cat, struct strlist *out)
{
	struct character **list;
	size_t n;
	if (catalog_character_list(cat, NULL, &list, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		strlist_push(out, list[i]->slug);
		character_free(list[i]);
	}
	free(list);
	return 0;
}

struct slug_list {
	const char *prefix;
	struct strlist slugs;
};

static int each_manifest_key(const char *key, uint64_t bytes, void *ctx)
{
	(void)bytes;
	struct slug_list *l = ctx;
	size_t plen = strlen(l->prefix), klen = strlen(key);
	if (klen <= plen + 5 || strncmp(key, l->prefix, plen) != 0 ||
	    strcmp(key + klen - 5, ".json") != 0)
		return 0;
	if (slug_valid(key + plen, klen - plen - 5)) {
		char *slug = xstrndup(key + plen, klen - plen - 5);
		strlist_push(&l->slugs, slug);
		free(slug);
	}
	return 0;
}

/* Every element the remote holds. */
static int remote_slugs(struct session *s, struct strlist *out)
{
	char *prefix = s3_key(&s->remote->loc, "cast/");
	struct slug_list l = {prefix, {NULL, 0}};
	int rc = s3_list(s->client, prefix, each_manifest_key, &l);
	free(prefix);
	if (rc < 0) {
		strlist_clear(&l.slugs);
		return fail(s);
	}
	*out = l.slugs;
	return 0;
}

/* The remote's manifest of slug: 0 with its text and SHA-256, 1 when the
 * remote has none. */
static int fetch_manifest(struct session *s, const char *slug, struct strbuf *text, char sha[65])
{
	char *key = manifest_key(s, slug);
	int rc = s3_get_buffer(s->client, key, MANIFEST_MAX_BYTES, text);
	free(key);
	if (rc < 0)
		return fail(s);
	if (rc == 0)
		text_sha256(text->buf ? text->buf : "", text->len, sha);
	return rc;
}

/* This store's manifest of slug, written: 0, or 1 when there is no such
 * element here. */
static int local_manifest(struct catalog *cat, const char *slug, struct strbuf *text, char sha[65],
			  struct manifest **out)
{
	char *names[] = {(char *)slug};
	struct manifest_selection sel = {names, 1, NULL, NULL, 0};
	struct manifest *m = manifest_build(cat, &sel, NULL, NULL);
	if (!m)
		return error_code() == EX_NOINPUT ? (error_clear(), 1) : -1;
	manifest_write(m, text);
	text_sha256(text->buf ? text->buf : "", text->len, sha);
	if (out)
		*out = m;
	else
		manifest_free(m);
	return 0;
}

static int report(const struct session *s, const char *slug, enum sync_state state,
		  const char *detail)
{
	if (state == SYNC_CONFLICT)
		s->counts->conflicts++;
	if (state == SYNC_PUSHED || state == SYNC_PULLED)
		s->counts->changed++;
	if (!s->o->item)
		return 0;
	struct sync_item it = {slug, state, detail};
	return s->o->item(&it, s->o->ctx);
}

/* What an element's three states say: here (L), there (R) and at the
 * last sync (L0, R0); l or r NULL when that side does not have it. */
static enum sync_state decide(const char *l, const char *r, bool synced, const char *l0,
			      const char *r0)
{
	if (!r)
		return SYNC_ONLY_HERE;
	if (!l)
		return SYNC_ONLY_THERE;
	if (!strcmp(l, r))
		return SYNC_SAME;
	if (!synced)
		return SYNC_CONFLICT;
	bool here = strcmp(l, l0) != 0, there = strcmp(r, r0) != 0;
	if (here && there)
		return SYNC_CONFLICT;
	if (there)
		return SYNC_REMOTE_AHEAD;
	return SYNC_LOCAL_AHEAD;
}

/* ---- push ---- */

struct push_element {
	char *slug;
	struct strbuf text;
	char sha[65];
	struct manifest *m;
};

struct blob_set {
	struct manifest_blob *blobs; /* unique by hash, sorted */
	size_t n;
	bool *present;
};

static int by_hash(const void *a, const void *b)
{
	return strcmp(((const struct manifest_blob *)a)->hash,
		      ((const struct manifest_blob *)b)->hash);
}

static void blob_set_build(struct blob_set *set, struct push_element *els, size_t n)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += els[i].m->nblobs;
	set->blobs = xcalloc(total + 1, sizeof(*set->blobs));
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < els[i].m->nblobs; j++)
			set->blobs[k++] = els[i].m->blobs[j];
	qsort(set->blobs, k, sizeof(*set->blobs), by_hash);
	size_t u = 0;
	for (size_t i = 0; i < k; i++)
		if (!u || strcmp(set->blobs[u - 1].hash, set->blobs[i].hash))
			set->blobs[u++] = set->blobs[i];
	set->n = u;
	set->present = xcalloc(u + 1, sizeof(bool));
}

struct presence {
	struct session *s;
	struct blob_set *set;
	size_t prefix_len; /* of the remote's "objects/" key prefix */
	size_t count;
};

static int mark_listed(const char *key, uint64_t bytes, void *ctx)
{
	struct presence *p = ctx;
	p->count++;
	/* key: PREFIX/objects/xx/<30 hex> */
	size_t klen = strlen(key);
	if (klen != p->prefix_len + 3 + STORE_HASH_HEX - 2)
		return 0;
	char hash[STORE_HASH_HEX + 1];
	memcpy(hash, key + p->prefix_len, 2);
	memcpy(hash + 2, key + p->prefix_len + 3, STORE_HASH_HEX - 2);
	hash[STORE_HASH_HEX] = '\0';
	struct manifest_blob probe = {0};
	memcpy(probe.hash, hash, sizeof(hash));
	struct manifest_blob *hit =
	    bsearch(&probe, p->set->blobs, p->set->n, sizeof(probe), by_hash);
	/* A blob of another size is not the one we have: send it again. */
	if (hit && hit->bytes == bytes)
		p->set->present[hit - p->set->blobs] = true;
	return 0;
}

static int count_only(const char *key, uint64_t bytes, void *ctx)
{
	(void)key;
	(void)bytes;
	((struct presence *)ctx)->count++;
	return 0;
}

static int head_one(size_t i, void *ctx)
{
	struct presence *p = ctx;
	char *key = blob_key(p->s, p->set->blobs[i].hash);
	uint64_t bytes = 0;
	int rc = s3_head(p->s->client, key, &bytes);
	free(key);
	if (rc < 0)
		return fail(p->s);
	p->set->present[i] = rc == 0 && bytes == p->set->blobs[i].bytes;
	return 0;
}

/* Which of the blobs the remote has: by listing objects/ when that takes
 * fewer requests than asking for each, judged from one fan-out
 * directory's share of the remote. */
static int find_present(struct session *s, struct blob_set *set)
{
	char *objects = s3_key(&s->remote->loc, "objects/");
	struct presence p = {s, set, strlen(objects), 0};
	char *sample = xasprintf("%s00/", objects);
	int rc = s3_list(s->client, sample, count_only, &p);
	free(sample);
	if (rc == 0) {
		size_t estimate = p.count * FANOUT;
		if (set->n > estimate / LIST_PAGE + 1) {
			s->counts->listed = true;
			p.count = 0;
			rc = s3_list(s->client, objects, mark_listed, &p);
		} else
			rc = run_jobs(set->n, s->o->jobs, head_one, &p, NULL);
	}
	free(objects);
	return rc < 0 ? fail(s) : 0;
}

struct upload {
	struct session *s;
	struct blob_set *set;
	size_t *todo; /* indexes into set of the blobs to send */
	size_t ntodo;
	uint64_t bytes;
	pthread_mutex_t lock;
};

static int upload_one(size_t i, void *ctx)
{
	struct upload *u = ctx;
	const struct manifest_blob *b = &u->set->blobs[u->todo[i]];
	struct store *st = catalog_store(u->s->cat);
	char *path = store_blob_path(st, b->hash);
	char *key = blob_key(u->s, b->hash);
	int rc = s3_put_file(u->s->client, key, path);
	free(key);
	free(path);
	if (rc < 0)
		return fail(u->s);
	pthread_mutex_lock(&u->lock);
	u->bytes += b->bytes;
	pthread_mutex_unlock(&u->lock);
	return 0;
}

static void upload_progress(size_t done, void *ctx)
{
	struct upload *u = ctx;
	fault_point("push-blob");
	if (u->s->o->progress)
		u->s->o->progress(done, u->ntodo, u->bytes, u->s->o->ctx);
}

static void push_elements_free(struct push_element *els, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(els[i].slug);
		sb_release(&els[i].text);
		manifest_free(els[i].m);
	}
	free(els);
}

int sync_push(struct catalog *cat, const struct remote *r, char *const *slugs, size_t n,
	      const struct sync_options *o, struct sync_counts *counts)
{
	struct session s;
	if (session_open(&s, cat, r, o, counts) < 0)
		return -1;
	struct strlist all = {NULL, 0};
	if (!n) {
		if (local_slugs(cat, &all) < 0) {
			session_close(&s);
			return -1;
		}
		slugs = all.items;
		n = all.n;
	}
	/* Every manifest first: an unknown name refuses the push before
	 * anything is sent. */
	struct push_element *els = xcalloc(n + 1, sizeof(*els));
	size_t nels = 0;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct push_element *e = &els[nels];
		rc = local_manifest(cat, slugs[i], &e->text, e->sha, &e->m);
		if (rc == 1) {
			char *shown = text_escape(slugs[i]);
			rc = error_set(EX_NOINPUT, "%s: no such element", shown);
			free(shown);
		}
		if (rc == 0) {
			e->slug = xstrdup(e->m->nelements ? e->m->elements[0].slug : slugs[i]);
			nels++;
		}
	}
	counts->elements = nels;
	/* Which to send: those the remote lacks or that changed here only. */
	size_t keep = 0;
	for (size_t i = 0; i < nels && rc == 0; i++) {
		struct push_element *e = &els[i];
		struct strbuf there = STRBUF_INIT;
		char rsha[65], l0[65] = "", r0[65] = "";
		int got = fetch_manifest(&s, e->slug, &there, rsha);
		sb_release(&there);
		if (got < 0) {
			rc = -1;
			break;
		}
		int synced = remote_sync_get(cat, r->id, e->slug, l0, r0);
		if (synced < 0) {
			rc = -1;
			break;
		}
		enum sync_state st = decide(e->sha, got == 0 ? rsha : NULL, synced == 0, l0, r0);
		if (st == SYNC_SAME) {
			if (remote_sync_set(cat, r->id, e->slug, e->sha, e->sha) < 0)
				rc = -1;
			else
				rc = report(&s, e->slug, SYNC_SAME, NULL);
			continue;
		}
		if (st == SYNC_CONFLICT || st == SYNC_REMOTE_AHEAD) {
			rc = report(
			    &s, e->slug, SYNC_CONFLICT,
			    st == SYNC_CONFLICT
				? "changed here and on the remote since the last sync"
				: "changed on the remote since the last sync: pull it first");
			continue;
		}
		if (keep != i) {
			struct push_element tmp = els[keep];
			els[keep] = *e;
			*e = tmp;
		}
		keep++;
	}
	struct blob_set set = {NULL, 0, NULL};
	if (rc == 0 && keep) {
		blob_set_build(&set, els, keep);
		rc = find_present(&s, &set);
	}
	if (rc == 0 && keep) {
		struct upload u = {&s, &set, xcalloc(set.n + 1, sizeof(size_t)), 0, 0};
		pthread_mutex_init(&u.lock, NULL);
		for (size_t i = 0; i < set.n; i++) {
			if (set.present[i])
				counts->blobs_present++;
			else
				u.todo[u.ntodo++] = i;
		}
		rc = run_jobs(u.ntodo, o->jobs, upload_one, &u, upload_progress);
		counts->blobs_sent = rc == 0 ? u.ntodo : 0;
		counts->bytes_sent = u.bytes;
		pthread_mutex_destroy(&u.lock);
		free(u.todo);
	}
	/* The manifests last, now that every blob they name is there. */
	for (size_t i = 0; i < keep && rc == 0; i++) {
		fault_point("push-before-manifest");
		char *key = manifest_key(&s, els[i].slug);
		rc = s3_put_buffer(s.client, key, els[i].text.buf, els[i].text.len);
		free(key);
		if (rc < 0) {
			fail(&s);
			break;
		}
		fault_point("push-after-manifest");
		rc = remote_sync_set(cat, r->id, els[i].slug, els[i].sha, els[i].sha);
		if (rc == 0)
			rc = report(&s, els[i].slug, SYNC_PUSHED, NULL);
	}
	free(set.blobs);
	free(set.present);
	push_elements_free(els, nels);
	strlist_clear(&all);
	session_close(&s);
	return rc < 0 ? -1 : 0;
}

/* ---- pull ---- */

struct download {
	struct session *s;
	struct merge_plan *plan;
	const struct manifest_blob *const *missing;
	size_t n;
	uint64_t bytes;
	pthread_mutex_t lock;
};

static ssize_t read_fd(void *ctx, void *buf, size_t len)
{
	int fd = *(int *)ctx;
	ssize_t got;
	do
		got = read(fd, buf, len);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		error_set(EX_IOERR, "reading a downloaded blob: %s", strerror(errno));
	return got;
}

static int download_one(size_t i, void *ctx)
{
	struct download *d = ctx;
	const struct manifest_blob *b = d->missing[i];
	char *path = temp_template("pull");
	int fd = mkstemp(path);
	if (fd < 0) {
		int rc = error_set(EX_CANTCREAT, "%s: %s", path, strerror(errno));
		free(path);
		return rc;
	}
	char *key = blob_key(d->s, b->hash);
	uint64_t got = 0;
	/* One byte more than the manifest says, so a longer blob is seen. */
	int rc = s3_get_file(d->s->client, key, path, b->bytes + 1, &got);
	free(key);
	if (rc == 1)
		rc = error_set(EX_UNAVAILABLE, "blob %s is named by a manifest but not there",
			       b->hash);
	if (rc < 0)
		fail(d->s);
	if (rc == 0 && lseek(fd, 0, SEEK_SET) < 0)
		rc = error_set(EX_IOERR, "%s: %s", path, strerror(errno));
	if (rc == 0)
		rc = merge_stage_blob(d->plan, b->hash, read_fd, &fd);
	close(fd);
	unlink(path);
	free(path);
	if (rc < 0)
		return error_prefix("remote %s: blob %s", d->s->remote->name, b->hash);
	pthread_mutex_lock(&d->lock);
	d->bytes += got;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static void download_progress(size_t done, void *ctx)
{
	struct download *d = ctx;
	fault_point("pull-blob");
	if (d->s->o->progress)
		d->s->o->progress(done, d->n, d->bytes, d->s->o->ctx);
}

/* What differs, for a conflict's report: the fields of the plan's first
 * items in conflict. The caller frees it. */
static char *conflict_detail(const struct merge_plan *plan)
{
	size_t n;
	const struct merge_item *items = merge_plan_items(plan, &n);
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (items[i].state != MERGE_CONFLICT)
			continue;
		for (size_t k = 0; k < items[i].ndiffs; k++)
			sb_addf(&sb, "%s%s %s", sb.len ? ", " : "", items[i].name,
				items[i].diffs[k].field);
		if (!items[i].ndiffs)
			sb_addf(&sb, "%s%s", sb.len ? ", " : "", items[i].name);
	}
	return sb_detach(&sb);
}

static bool plan_changes_nothing(const struct merge_plan *plan)
{
	size_t n;
	const struct merge_item *items = merge_plan_items(plan, &n);
	for (size_t i = 0; i < n; i++)
		if (items[i].state != MERGE_SAME)
			return false;
	return true;
}

static int pull_one(struct session *s, const char *slug)
{
	struct strbuf there = STRBUF_INIT, here = STRBUF_INIT;
	char rsha[65], lsha[65], l0[65] = "", r0[65] = "";
	struct manifest *m = NULL;
	struct merge_plan *plan = NULL;
	int rc = fetch_manifest(s, slug, &there, rsha);
	if (rc == 1) {
		char *shown = text_escape(slug);
		rc = error_set(EX_NOINPUT, "remote %s has no element '%s'", s->remote->name, shown);
		free(shown);
	}
	if (rc < 0)
		goto out;
	m = manifest_parse(there.buf, there.len);
	if (!m) {
		rc = error_prefix("remote %s: cast/%s.json", s->remote->name, slug);
		goto out;
	}
	if (m->nelements != 1 || strcmp(m->elements[0].slug, slug) != 0) {
		rc = error_set(EX_DATAERR, "remote %s: cast/%s.json is not the manifest of '%s'",
			       s->remote->name, slug, slug);
		goto out;
	}
	int local = local_manifest(s->cat, slug, &here, lsha, NULL);
	int synced = local < 0 ? -1 : remote_sync_get(s->cat, s->remote->id, slug, l0, r0);
	if (local < 0 || synced < 0) {
		rc = -1;
		goto out;
	}
	enum sync_state st = decide(local == 0 ? lsha : NULL, rsha, synced == 0, l0, r0);
	if (st == SYNC_SAME || st == SYNC_LOCAL_AHEAD) {
		if (st == SYNC_SAME)
			rc = remote_sync_set(s->cat, s->remote->id, slug, lsha, rsha);
		if (rc == 0)
			rc = report(s, slug, st, NULL);
		goto out;
	}
	plan = merge_plan_new(s->cat, m);
	if (!plan) {
		rc = error_prefix("remote %s: %s", s->remote->name, slug);
		goto out;
	}
	enum merge_side side = s->o->side;
	/* Changed there only: the remote's fields are the news. */
	if (st == SYNC_REMOTE_AHEAD && side == MERGE_REFUSE)
		side = MERGE_THEIRS;
	if (st == SYNC_CONFLICT && plan_changes_nothing(plan)) {
		/* Both differ from the last sync but merging changes nothing:
		 * the state is stale (a pull killed before it was recorded). */
		rc = remote_sync_set(s->cat, s->remote->id, slug, lsha, rsha);
		if (rc == 0)
			rc = report(s, slug, SYNC_SAME, NULL);
		goto out;
	}
	if (st == SYNC_CONFLICT && side == MERGE_REFUSE && merge_plan_conflicts(plan)) {
		char *detail = conflict_detail(plan);
		rc = report(s, slug, SYNC_CONFLICT, detail);
		free(detail);
		goto out;
	}
	struct download d = {s, plan, NULL, 0, 0};
	d.missing = merge_plan_missing(plan, &d.n);
	pthread_mutex_init(&d.lock, NULL);
	rc = run_jobs(d.n, s->o->jobs, download_one, &d, download_progress);
	pthread_mutex_destroy(&d.lock);
	if (rc < 0)
		goto out;
	s->counts->blobs_sent += d.n;
	s->counts->bytes_sent += d.bytes;
	struct merge_options mo = {side, "pull"};
	struct merge_counts mc;
	if (merge_apply(plan, &mo, &mc) < 0) {
		rc = error_prefix("remote %s: %s", s->remote->name, slug);
		goto out;
	}
	s->counts->blobs_present += mc.blobs_present;
	sb_reset(&here);
	if (local_manifest(s->cat, slug, &here, lsha, NULL) != 0 ||
	    remote_sync_set(s->cat, s->remote->id, slug, lsha, rsha) < 0) {
		rc = -1;
		goto out;
	}
	rc = report(s, slug, SYNC_PULLED, NULL);
out:
	merge_plan_free(plan);
	manifest_free(m);
	sb_release(&there);
	sb_release(&here);
	return rc;
}

int sync_pull(struct catalog *cat, const struct remote *r, char *const *slugs, size_t n,
	      const struct sync_options *o, struct sync_counts *counts)
{
	/* A slug becomes part of an object's key: one that is not a slug
	 * (a '/', a '..') is refused before anything is asked of the remote. */
	for (size_t i = 0; i < n; i++)
		if (catalog_slug_check(slugs[i]) < 0)
			return -1;
	struct session s;
	if (session_open(&s, cat, r, o, counts) < 0)
		return -1;
	struct strlist all = {NULL, 0};
	int rc = 0;
	if (!n) {
		rc = remote_slugs(&s, &all);
		slugs = all.items;
		n = all.n;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		counts->elements++;
		rc = pull_one(&s, slugs[i]);
	}
	strlist_clear(&all);
	session_close(&s);
	return rc < 0 ? -1 : 0;
}

/* ---- status ---- */

static int has(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->items[i], s))
			return 1;
	return 0;
}

int sync_status(struct catalog *cat, const struct remote *r, const struct sync_options *o,
		struct sync_counts *counts)
{
	struct session s;
	if (session_open(&s, cat, r, o, counts) < 0)
		return -1;
	struct strlist there = {NULL, 0}, here = {NULL, 0}, every = {NULL, 0};
	int rc = remote_slugs(&s, &there);
	if (rc == 0)
		rc = local_slugs(cat, &here);
	for (size_t i = 0; rc == 0 && i < here.n; i++)
		strlist_push(&every, here.items[i]);
	for (size_t i = 0; rc == 0 && i < there.n; i++)
		if (!has(&here, there.items[i]))
			strlist_push(&every, there.items[i]);
	for (size_t i = 0; rc == 0 && i < every.n; i++) {
		const char *slug = every.items[i];
		struct strbuf t = STRBUF_INIT;
		char lsha[65], rsha[65], l0[65] = "", r0[65] = "";
		int gl = has(&here, slug) ? local_manifest(cat, slug, &t, lsha, NULL) : 1;
		sb_reset(&t);
		int gr = gl < 0 ? -1 : has(&there, slug) ? fetch_manifest(&s, slug, &t, rsha) : 1;
		sb_release(&t);
		int synced = gr < 0 ? -1 : remote_sync_get(cat, r->id, slug, l0, r0);
		if (synced < 0) {
			rc = -1;
			break;
		}
		counts->elements++;
		rc = report(
		    &s, slug,
		    decide(gl == 0 ? lsha : NULL, gr == 0 ? rsha : NULL, synced == 0, l0, r0),
		    NULL);
	}
	strlist_clear(&there);
	strlist_clear(&here);
	strlist_clear(&every);
	session_close(&s);
	return rc < 0 ? -1 : 0;
}

/* ---- restoring a blob ---- */

struct restore {
	struct catalog *cat;
	const char *hash;
	int restored;
};

static int restore_from(const struct remote *r, void *ctx)
{
	struct restore *x = ctx;
	struct session s;
	struct sync_options o = {0};
	struct sync_counts counts;
	if (x->restored || session_open(&s, x->cat, r, &o, &counts) < 0) {
		error_clear();
		return 0;
	}
	char *path = temp_template("restore");
	int fd = mkstemp(path);
	int rc = 0;
	if (fd >= 0) {
		char *key = blob_key(&s, x->hash);
		uint64_t got;
		/* A remote that cannot give it is not an error: another may. */
		if (s3_get_file(s.client, key, path, MANIFEST_MAX_BLOB, &got) == 0) {
			char hex[STORE_HASH_HEX + 1];
			struct store_staged staged = {0};
			struct store *st = catalog_store(x->cat);
			if (store_hash_file(path, hex) == 0 && !strcmp(hex, x->hash) &&
			    store_stage_file(st, path, &staged) == 0) {
				rc = store_publish(st, &staged, 1);
				store_staged_discard(&staged);
				if (rc == 0)
					x->restored = 1;
			}
		}
		free(key);
		close(fd);
		unlink(path);
	}
	free(path);
	session_close(&s);
	if (rc < 0)
		return -1;
	error_clear();
	return 0;
}

int sync_restore_blob(struct catalog *cat, const char *hash)
{
	struct restore x = {cat, hash, 0};
	if (remote_list(cat, restore_from, &x) < 0)
		return -1;
	return x.restored;
}
