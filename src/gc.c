/* gc: loads the reference graph (reclaim, the catalog's side) and what is
 * in objects/ (store), marks, decides, then commits the rows it removes
 * before it unlinks a file. Invariant: a file is unlinked only by a
 * process that holds the store's exclusive lock and has committed the
 * removal of every row naming it, so no row ever names a missing blob
 * because of gc, and no writer (which holds the lock shared from its
 * first staged blob, or an import or pull from before it looks for the
 * bundle's blobs, until it ends) can be between finding a blob in place
 * and committing the row that names it. */
#include "config.h"

#include "gc.h"

#include "catalog.h"
#include "fault.h"
#include "reclaim.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *gc_verdict_name(enum gc_verdict v)
{
	static const char *const names[] = {"free", "grace", "held"};
	return names[v];
}

void gc_mark(struct gc_node *nodes, size_t n, const struct gc_link *links, size_t nlinks)
{
	for (size_t i = 0; i < n; i++)
		nodes[i].live = nodes[i].root;
	/* Chains are short (a thumbnail of a derivative at most), so a pass
	 * over the links until nothing changes costs a few passes. */
	for (bool changed = true; changed;) {
		changed = false;
		for (size_t i = 0; i < nlinks; i++)
			if (nodes[links[i].from].live && !nodes[links[i].to].live) {
				nodes[links[i].to].live = true;
				changed = true;
			}
	}
}

void gc_decide(struct gc_node *nodes, size_t n, const struct gc_link *links, size_t nlinks,
	       int64_t now, int64_t grace)
{
	for (size_t i = 0; i < n; i++) {
		struct gc_node *g = &nodes[i];
		g->hung = NULL;
		if (g->live || (!g->row && !g->file))
			continue;
		g->first_seen = g->noted ? g->noted : !g->row ? g->mtime : now;
		g->verdict = grace == 0 || g->first_seen + grace <= now ? GC_FREE : GC_GRACE;
	}
	for (size_t i = 0; i < nlinks; i++)
		if (!nodes[links[i].to].live) {
			nodes[links[i].to].hung = links[i].what;
			nodes[links[i].to].hung_from = links[i].from;
		}
	/* The row that hangs a blob off another goes only with that other's
	 * row: a blob whose source stays is held, and so on down a chain. */
	for (bool changed = true; changed;) {
		changed = false;
		for (size_t i = 0; i < nlinks; i++) {
			struct gc_node *from = &nodes[links[i].from], *to = &nodes[links[i].to];
			if (to->live || to->verdict != GC_FREE ||
			    (!from->live && from->verdict == GC_FREE))
				continue;
			to->verdict = GC_HELD;
			changed = true;
		}
	}
}

/* ---- loading ---- */

struct graph {
	struct gc_node *nodes;
	size_t n, cap;
	struct {
		char *from, *to, *what;
	} * edges;
	size_t nedges, edges_cap;
	struct gc_link *links;
	size_t nlinks;
};

static struct gc_node *push_node(struct graph *g, const char *hash)
{
	if (g->n == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 256;
		g->nodes = xrealloc(g->nodes, g->cap * sizeof(*g->nodes));
	}
	struct gc_node *node = &g->nodes[g->n++];
	memset(node, 0, sizeof(*node));
	snprintf(node->hash, sizeof(node->hash), "%s", hash);
	node->bytes = -1;
	return node;
}

static int on_blob(const struct reclaim_blob *b, void *ctx)
{
	struct gc_node *node = push_node(ctx, b->hash);
	node->row = true;
	node->bytes = b->bytes;
	return 0;
}

static int on_root(const char *hash, void *ctx)
{
	push_node(ctx, hash)->root = true;
	return 0;
}

static int on_note(const struct reclaim_note *note, void *ctx)
{
	struct gc_node *node = push_node(ctx, note->hash);
	node->noted = note->first_seen > 0 ? note->first_seen : 1;
	node->was = note->was ? xstrdup(note->was) : NULL;
	return 0;
}

static int on_edge(const struct reclaim_edge *e, void *ctx)
{
	struct graph *g = ctx;
	if (g->nedges == g->edges_cap) {
		g->edges_cap = g->edges_cap ? 2 * g->edges_cap : 256;
		g->edges = xrealloc(g->edges, g->edges_cap * sizeof(*g->edges));
	}
	g->edges[g->nedges].from = xstrdup(e->from);
	g->edges[g->nedges].to = xstrdup(e->to);
	g->edges[g->nedges].what = xstrdup(e->what);
	g->nedges++;
	return 0;
}

static int on_object(const struct store_entry *e, void *ctx)
{
	/* Only a file where a blob of its name lives can be one; anything
	 * else under objects/ is not gc's to judge (fsck lists it). */
	if (!e->is_blob)
		return 0;
	struct gc_node *node = push_node(ctx, e->name);
	node->file = true;
	node->bytes = (int64_t)e->bytes;
	node->mtime = e->mtime;
	return 0;
}

static int cmp_node(const void *a, const void *b)
{
	return strcmp(((const struct gc_node *)a)->hash, ((const struct gc_node *)b)->hash);
}

/* One node per hash, the facts of its duplicates joined. */
static void merge_nodes(struct graph *g)
{
	if (!g->n)
		return;
	qsort(g->nodes, g->n, sizeof(*g->nodes), cmp_node);
	size_t out = 0;
	for (size_t i = 1; i < g->n; i++) {
		struct gc_node *keep = &g->nodes[out], *dup = &g->nodes[i];
		if (strcmp(keep->hash, dup->hash) != 0) {
			g->nodes[++out] = *dup;
			continue;
		}
		keep->root |= dup->root;
		if (dup->file) {
			keep->file = true;
			keep->bytes = dup->bytes;
			keep->mtime = dup->mtime;
		} else if (dup->row && !keep->file) {
			keep->bytes = dup->bytes;
		}
		keep->row |= dup->row;
		if (dup->noted) {
			keep->noted = dup->noted;
			free(keep->was);
			keep->was = dup->was;
		}
	}
	g->n = out + 1;
}

static struct gc_node *find_node(struct graph *g, const char *hash)
{
	struct gc_node key = {0};
	snprintf(key.hash, sizeof(key.hash), "%s", hash);
	return bsearch(&key, g->nodes, g->n, sizeof(*g->nodes), cmp_node);
}

static void resolve_links(struct graph *g)
{
	g->links = xcalloc(g->nedges ? g->nedges : 1, sizeof(*g->links));
	for (size_t i = 0; i < g->nedges; i++) {
		struct gc_node *from = find_node(g, g->edges[i].from),
			       *to = find_node(g, g->edges[i].to);
		if (!from || !to)
			continue;
		g->links[g->nlinks].from = (size_t)(from - g->nodes);
		g->links[g->nlinks].to = (size_t)(to - g->nodes);
		g->links[g->nlinks].what = g->edges[i].what;
		g->nlinks++;
	}
}

static void graph_free(struct graph *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->nodes[i].was);
	for (size_t i = 0; i < g->nedges; i++) {
		free(g->edges[i].from);
		free(g->edges[i].to);
		free(g->edges[i].what);
	}
	free(g->nodes);
	free(g->edges);
	free(g->links);
}

static int load(struct catalog *cat, struct graph *g)
{
	if (catalog_reclaim_blobs(cat, on_blob, g) < 0 ||
	    catalog_reclaim_roots(cat, on_root, g) < 0 ||
	    catalog_reclaim_notes(cat, on_note, g) < 0 ||
	    catalog_reclaim_edges(cat, on_edge, g) < 0 ||
	    store_walk(catalog_store(cat), STORE_AREA_OBJECTS, on_object, g) < 0)
		return -1;
	merge_nodes(g);
	resolve_links(g);
	return 0;
}

/* What used to name it, as well as is known. */
static char *why_of(const struct graph *g, const struct gc_node *node)
{
	if (node->was)
		return xasprintf("was %s", node->was);
	if (node->hung)
		return xasprintf("was %s of %s", node->hung, g->nodes[node->hung_from].hash);
	if (!node->row)
		return xstrdup("no row names it: left by an add or gc that was interrupted");
	return xstrdup("nothing names it (what did is not known)");
}

/* ---- the run ---- */

static int write_rows(struct catalog *cat, struct graph *g, int64_t now, struct gc_counts *c)
{
	for (size_t i = 0; i < g->n; i++) {
		struct gc_node *node = &g->nodes[i];
		bool candidate = !node->live && (node->row || node->file);
		int rc = 0;
		if (!candidate && node->noted)
			rc = catalog_reclaim_forget(cat, node->hash);
		else if (candidate && node->verdict == GC_FREE && node->row) {
			rc = catalog_reclaim_remove(cat, node->hash);
			c->rows_removed++;
		} else if (candidate && node->verdict == GC_FREE && node->noted)
			rc = catalog_reclaim_forget(cat, node->hash);
		else if (candidate && node->row && !node->noted)
			rc = catalog_reclaim_note(cat, node->hash, now);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int gc_run(struct catalog *cat, const struct gc_options *o, gc_report_fn *report, void *ctx,
	   struct gc_counts *counts)
{
	memset(counts, 0, sizeof(*counts));
	struct store *st = catalog_store(cat);
	struct graph g = {0};
	struct gc_candidate *found = NULL;
	char **whys = NULL; /* found[i].why, owned */
	size_t nfound = 0;
	bool begun = false;
	int rc = -1;
	/* The lock first, the index's write lock second: a writer holds the
	 * store's lock before it asks for the index's, never the other way,
	 * so neither waits on the other forever. */
	if (!o->dry_run) {
		if (store_lock_exclusive_wait(st) < 0 || catalog_begin(cat) < 0)
			goto out;
		begun = true;
	}
	if (load(cat, &g) < 0)
		goto out;
	int64_t now = time_now();
	gc_mark(g.nodes, g.n, g.links, g.nlinks);
	gc_decide(g.nodes, g.n, g.links, g.nlinks, now, o->grace);
	/* Reported only once the rows are committed, the files unlinked and
	 * the locks let go: a reader slow to take the report (a pager) must
	 * not stall every writer, and a failed commit must not leave lines
	 * saying something was freed. */
	found = xcalloc(g.n ? g.n : 1, sizeof(*found));
	whys = xcalloc(g.n ? g.n : 1, sizeof(*whys));
	for (size_t i = 0; i < g.n; i++) {
		struct gc_node *node = &g.nodes[i];
		if (!node->row && !node->file)
			continue;
		counts->blobs++;
		if (node->live)
			continue;
		uint64_t bytes = node->bytes > 0 ? (uint64_t)node->bytes : 0;
		counts->unreferenced++;
		counts->unreferenced_bytes += bytes;
		/* A freed row whose file was already gone frees no bytes, but
		 * its bytes are not kept either. */
		if (node->verdict == GC_FREE) {
			counts->freed++;
			counts->freed_bytes += node->file ? bytes : 0;
		} else
			counts->kept_bytes += bytes;
		whys[nfound] = why_of(&g, node);
		found[nfound] = (struct gc_candidate){
		    .hash = node->hash,
		    .bytes = bytes,
		    .row = node->row,
		    .file = node->file,
		    .first_seen = node->first_seen,
		    .free_after = node->first_seen + o->grace,
		    .why = whys[nfound],
		    .verdict = node->verdict,
		};
		nfound++;
	}
	if (!o->dry_run) {
		if (write_rows(cat, &g, now, counts) < 0)
			goto out;
		fault_point("gc-before-commit");
		begun = false;
		if (catalog_end(cat, true) < 0)
			goto out;
		fault_point("gc-committed");
		for (size_t i = 0; i < g.n; i++) {
			struct gc_node *node = &g.nodes[i];
			if (node->live || !node->file || node->verdict != GC_FREE)
				continue;
			if (store_blob_remove(st, node->hash) < 0)
				goto out;
			fault_point("gc-unlinked");
		}
		store_unlock(st);
	}
	rc = 0;
	for (size_t i = 0; i < nfound && rc == 0; i++)
		rc = report(&found[i], ctx);
out:
	if (begun)
		catalog_end(cat, false);
	for (size_t i = 0; i < nfound; i++)
		free(whys[i]);
	free(whys);
	free(found);
	graph_free(&g);
	return rc;
}
