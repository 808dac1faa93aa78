/* reqlog: the request log: every injection and generation with its
 * characters, the references it sent and the assets it made, so that a
 * shot can be traced back to what made it. It never prints. */
#include "config.h"

#include "catalog-int.h"
#include "character.h"
#include "reqlog.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The start time of process pid: field 22 of /proc/PID/stat, in clock
 * ticks since boot; -1 when it cannot be read (no such process, no /proc). */
static int64_t process_start(int64_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%lld/stat", (long long)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t got = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[got] = '\0';
	/* Field 2, the command name, may hold spaces and parentheses; field 3
	 * starts after the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	p++;
	for (int field = 3; field < 22; field++) {
		p += strspn(p, " ");
		p += strcspn(p, " ");
	}
	char *end;
	errno = 0;
	long long start = strtoll(p, &end, 10);
	return end == p || errno ? -1 : start;
}

/* This machine's name, for telling its processes from another's when a
 * store is shared; "" when it has none. */
static void host_name(char out[256])
{
	if (gethostname(out, 256) != 0)
		out[0] = '\0';
	out[255] = '\0';
}

/* Which process began a request, as the row recorded it. */
struct request_process {
	int64_t pid;   /* 0: not recorded (a row from before) */
	int64_t start; /* -1: not known */
	const char *host;
};

static struct request_process process_from_row(sqlite3_stmt *row, int first)
{
	struct request_process rp = {0, -1, NULL};
	if (sqlite3_column_type(row, first) != SQLITE_NULL)
		rp.pid = sqlite3_column_int64(row, first);
	if (sqlite3_column_type(row, first + 1) != SQLITE_NULL)
		rp.start = sqlite3_column_int64(row, first + 1);
	rp.host = (const char *)sqlite3_column_text(row, first + 2);
	return rp;
}

/* True only when the process is known to be gone: on this host, no such
 * pid, or the pid now names a process that started at another time.
 * Anything that cannot be told (an old row, another host) is not gone. */
static bool process_gone(const struct request_process *rp)
{
	char here[256];
	host_name(here);
	if (rp->pid <= 0 || !rp->host || strcmp(rp->host, here) != 0)
		return false;
	if (kill((pid_t)rp->pid, 0) < 0 && errno == ESRCH)
		return true;
	int64_t start = rp->start >= 0 ? process_start(rp->pid) : -1;
	return start >= 0 && start != rp->start;
}

int64_t catalog_request_begin(struct catalog *cat, const char *kind, const char *profile,
			      const char *prompt, const char *request, const char *status,
			      const struct strlist *slugs, const struct request_ref_row *refs,
			      size_t nrefs)
{
	if (db_begin(cat->db) < 0)
		return -1;
	int64_t id = -1;
	sqlite3_stmt *ins =
	    db_prepare(cat->db, "INSERT INTO requests(kind, profile, prompt, request, "
				"status, started, pid, pid_start, host) VALUES (?1, ?2, ?3, ?4, "
				"?5, ?6, ?7, ?8, ?9)");
	sqlite3_stmt *who = db_prepare(cat->db, "INSERT OR IGNORE INTO request_characters("
						"request_id, character_id) SELECT ?1, id FROM "
						"characters WHERE slug = ?2");
	sqlite3_stmt *ref = db_prepare(
	    cat->db,
	    "INSERT INTO request_refs(request_id, position, asset_id, source_hash, "
	    "sent_hash, tag, upload) SELECT ?1, ?2, a.id, b.hash, ?4, ?5, ?6 FROM assets a "
	    "JOIN blobs b "
	    "ON b.id = a.blob_id WHERE a.id = ?3");
	if (!ins || !who || !ref)
		goto fail;
	sqlite3_bind_text(ins, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 2, profile, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 3, prompt, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 4, request, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 5, status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ins, 6, time_now());
	char host[256];
	host_name(host);
	int64_t start = process_start((int64_t)getpid());
	sqlite3_bind_int64(ins, 7, (int64_t)getpid());
	if (start >= 0)
		sqlite3_bind_int64(ins, 8, start);
	sqlite3_bind_text(ins, 9, host, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(ins) != SQLITE_DONE) {
		db_error(cat->db, "request log");
		goto fail;
	}
	id = sqlite3_last_insert_rowid(cat->db);
	for (size_t i = 0; slugs && i < slugs->n; i++) {
		sqlite3_reset(who);
		sqlite3_bind_int64(who, 1, id);
		sqlite3_bind_text(who, 2, slugs->items[i], -1, SQLITE_STATIC);
		if (sqlite3_step(who) != SQLITE_DONE) {
			db_error(cat->db, "request log");
			goto fail;
		}
	}
	for (size_t i = 0; i < nrefs; i++) {
		sqlite3_reset(ref);
		sqlite3_bind_int64(ref, 1, id);
		sqlite3_bind_int64(ref, 2, (int64_t)i + 1);
		sqlite3_bind_int64(ref, 3, refs[i].asset_id);
		sqlite3_bind_text(ref, 4, refs[i].sent_hash, -1, SQLITE_STATIC);
		sqlite3_bind_text(ref, 5, refs[i].tag, -1, SQLITE_STATIC);
		sqlite3_bind_text(ref, 6, refs[i].upload, -1, SQLITE_STATIC);
		if (sqlite3_step(ref) != SQLITE_DONE) {
			db_error(cat->db, "request log");
			goto fail;
		}
	}
	if (db_commit(cat->db) < 0)
		goto fail;
	goto out;
fail:
	db_rollback(cat->db);
	id = -1;
out:
	sqlite3_finalize(ins);
	sqlite3_finalize(who);
	sqlite3_finalize(ref);
	return id;
}

int catalog_request_finish(struct catalog *cat, int64_t id, const char *status, long http_status,
			   const char *response, const char *error, int64_t duration_ms)
{
	sqlite3_stmt *stmt =
	    db_prepare(cat->db, "UPDATE requests SET status = ?2, http_status = ?3, "
				"response = ?4, error = ?5, duration_ms = ?6 "
				"WHERE id = ?1");
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_text(stmt, 2, status, -1, SQLITE_STATIC);
	if (http_status)
		sqlite3_bind_int64(stmt, 3, http_status);
	sqlite3_bind_text(stmt, 4, response, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 6, duration_ms);
	int rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : db_error(cat->db, "request log");
	sqlite3_finalize(stmt);
	return rc;
}

void log_entry_free(struct log_entry *e)
{
	if (!e)
		return;
	free(e->kind);
	free(e->profile);
	free(e->prompt);
	free(e->request);
	free(e->response);
	free(e->status);
	free(e->error);
	strlist_clear(&e->characters);
	for (size_t i = 0; i < e->nrefs; i++) {
		free(e->refs[i].source_hash);
		free(e->refs[i].sent_hash);
		free(e->refs[i].tag);
		free(e->refs[i].upload);
	}
	free(e->refs);
	for (size_t i = 0; i < e->noutputs; i++) {
		free(e->outputs[i].hash);
		free(e->outputs[i].url);
	}
	free(e->outputs);
	free(e);
}

static const char sql_log_select[] =
    "SELECT r.id, r.kind, r.profile, r.prompt, r.request, r.response, r.status, r.error, "
    "r.http_status, r.started, r.duration_ms, r.pid, r.pid_start, r.host FROM requests r ";

/* A failed read leaves the list short; the entry is still worth showing. */
static void read_refs(struct catalog *cat, struct log_entry *e)
{
	sqlite3_stmt *stmt =
	    db_prepare(cat->db, "SELECT asset_id, source_hash, sent_hash, tag, upload "
				"FROM request_refs WHERE request_id = ?1 "
				"ORDER BY position");
	if (!stmt)
		return;
	sqlite3_bind_int64(stmt, 1, e->id);
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		e->refs = xrealloc(e->refs, (e->nrefs + 1) * sizeof(*e->refs));
		struct log_ref *r = &e->refs[e->nrefs++];
		r->asset_id = sqlite3_column_int64(stmt, 0);
		r->source_hash = catalog_column_text(stmt, 1);
		r->sent_hash = catalog_column_text(stmt, 2);
		r->tag = catalog_column_text(stmt, 3);
		r->upload = catalog_column_text(stmt, 4);
	}
	sqlite3_finalize(stmt);
}

static void read_outputs(struct catalog *cat, struct log_entry *e)
{
	sqlite3_stmt *stmt = db_prepare(
	    cat->db, "SELECT o.asset_id, b.hash, o.url FROM request_outputs o JOIN assets a ON "
		     "a.id = o.asset_id JOIN blobs b ON b.id = a.blob_id WHERE o.request_id = ?1 "
		     "ORDER BY o.asset_id");
	if (!stmt)
		return;
	sqlite3_bind_int64(stmt, 1, e->id);
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		e->outputs = xrealloc(e->outputs, (e->noutputs + 1) * sizeof(*e->outputs));
		struct log_output *o = &e->outputs[e->noutputs++];
		o->asset_id = sqlite3_column_int64(stmt, 0);
		o->hash = catalog_column_text(stmt, 1);
		o->url = catalog_column_text(stmt, 2);
	}
	sqlite3_finalize(stmt);
}

static struct log_entry *log_from_row(struct catalog *cat, sqlite3_stmt *row)
{
	struct log_entry *e = xcalloc(1, sizeof(*e));
	e->id = sqlite3_column_int64(row, 0);
	e->kind = catalog_column_text(row, 1);
	e->profile = catalog_column_text(row, 2);
	e->prompt = catalog_column_text(row, 3);
	e->request = catalog_column_text(row, 4);
	e->response = catalog_column_text(row, 5);
	e->status = catalog_column_text(row, 6);
	e->error = catalog_column_text(row, 7);
	e->http_status = sqlite3_column_int(row, 8);
	e->started = sqlite3_column_int64(row, 9);
	e->duration_ms = sqlite3_column_int64(row, 10);
	/* A request is "running" until its process finishes it; one whose
	 * process is gone never will be. */
	struct request_process rp = process_from_row(row, 11);
	if (e->status && strcmp(e->status, "running") == 0 && process_gone(&rp)) {
		free(e->status);
		e->status = xstrdup("died");
	}
	/* A failed read leaves the list short, as read_refs does. */
	(void)catalog_strings(cat,
			      "SELECT c.slug FROM request_characters rc JOIN characters c ON "
			      "c.id = rc.character_id WHERE rc.request_id = ?1 ORDER BY c.slug",
			      e->id, &e->characters);
	read_refs(cat, e);
	read_outputs(cat, e);
	return e;
}

int catalog_log(struct catalog *cat, const char *character, const char *profile, int64_t limit,
		int (*each)(const struct log_entry *, void *), void *ctx)
{
	return catalog_log_except(cat, character, profile, NULL, limit, each, ctx);
}

int catalog_log_except(struct catalog *cat, const char *character, const char *profile,
		       const char *skip_status, int64_t limit,
		       int (*each)(const struct log_entry *, void *), void *ctx)
{
	struct strbuf sql = STRBUF_INIT;
	sb_adds(&sql, sql_log_select);
	sb_adds(&sql, "WHERE (?1 IS NULL OR r.profile = ?1) AND (?2 IS NULL OR r.id IN (SELECT "
		      "rc.request_id FROM request_characters rc JOIN characters c ON c.id = "
		      "rc.character_id WHERE c.slug = ?2)) AND (?4 IS NULL OR r.status <> ?4) "
		      "ORDER BY r.id DESC LIMIT ?3");
	sqlite3_stmt *row = db_prepare(cat->db, sql.buf);
	sb_release(&sql);
	if (!row)
		return -1;
	if (character) {
		char *slug = catalog_character_slug(cat, character);
		if (!slug) {
			sqlite3_finalize(row);
			return -1;
		}
		sqlite3_bind_text(row, 2, slug, -1, SQLITE_TRANSIENT);
		free(slug);
	}
	if (profile)
		sqlite3_bind_text(row, 1, profile, -1, SQLITE_STATIC);
	sqlite3_bind_int64(row, 3, limit > 0 ? limit : -1);
	if (skip_status)
		sqlite3_bind_text(row, 4, skip_status, -1, SQLITE_STATIC);
	int step;
	while ((step = sqlite3_step(row)) == SQLITE_ROW) {
		struct log_entry *e = log_from_row(cat, row);
		int stop = each(e, ctx);
		log_entry_free(e);
		if (stop)
			break;
	}
	int rc = step == SQLITE_ROW || step == SQLITE_DONE ? 0 : db_error(cat->db, "log");
	sqlite3_finalize(row);
	return rc;
}

int catalog_asset_request(struct catalog *cat, int64_t asset_id, struct log_entry **out)
{
	*out = NULL;
	struct strbuf sql = STRBUF_INIT;
	sb_adds(&sql, sql_log_select);
	sb_adds(&sql, "JOIN request_outputs o ON o.request_id = r.id WHERE o.asset_id = ?1 "
		      "ORDER BY r.id LIMIT 1");
	sqlite3_stmt *row = db_prepare(cat->db, sql.buf);
	sb_release(&sql);
	if (!row)
		return -1;
	sqlite3_bind_int64(row, 1, asset_id);
	int step = sqlite3_step(row);
	if (step == SQLITE_ROW)
		*out = log_from_row(cat, row);
	sqlite3_finalize(row);
	return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : db_error(cat->db, "log");
}

int catalog_log_prune(struct catalog *cat, int64_t before, bool dry_run, int64_t *pruned,
		      int64_t *kept)
{
	int64_t n_pruned = 0, n_kept = 0;
	int64_t *ids = NULL;
	size_t n = 0, cap = 0;
	if (db_begin(cat->db) < 0)
		return -1;
	sqlite3_stmt *old = db_prepare(
	    cat->db, "SELECT r.id, r.status = 'running', EXISTS (SELECT 1 FROM request_outputs o "
		     "WHERE o.request_id = r.id), r.pid, r.pid_start, r.host FROM requests r "
		     "WHERE r.started < ?1 ORDER BY r.id");
	sqlite3_stmt *del = db_prepare(cat->db, "DELETE FROM requests WHERE id = ?1");
	if (!old || !del)
		goto fail;
	sqlite3_bind_int64(old, 1, before);
	int step;
	while ((step = sqlite3_step(old)) == SQLITE_ROW) {
		struct request_process rp = process_from_row(old, 3);
		/* An output's provenance (show walks back to the request that
		 * made it) and a request still under way stay. */
		if (sqlite3_column_int(old, 2) ||
		    (sqlite3_column_int(old, 1) && !process_gone(&rp))) {
			n_kept++;
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			ids = xrealloc(ids, cap * sizeof(*ids));
		}
		ids[n++] = sqlite3_column_int64(old, 0);
	}
	if (step != SQLITE_DONE) {
		db_error(cat->db, "log prune");
		goto fail;
	}
	/* Deleted after the walk: rows removed under a running SELECT of the
	 * same table may be skipped or seen twice. */
	for (size_t i = 0; !dry_run && i < n; i++) {
		sqlite3_reset(del);
		sqlite3_bind_int64(del, 1, ids[i]);
		if (sqlite3_step(del) != SQLITE_DONE) {
			db_error(cat->db, "log prune");
			goto fail;
		}
	}
	n_pruned = (int64_t)n;
	sqlite3_finalize(old);
	sqlite3_finalize(del);
	old = del = NULL;
	if (db_commit(cat->db) < 0)
		goto fail;
	free(ids);
	if (pruned)
		*pruned = n_pruned;
	if (kept)
		*kept = n_kept;
	return 0;
fail:
	sqlite3_finalize(old);
	sqlite3_finalize(del);
	db_rollback(cat->db);
	free(ids);
	return -1;
}
