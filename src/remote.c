/* remote: the remotes table and the per-element sync state, behind
 * remote.h. */
#include "config.h"

#include "remote.h"
#include "catalog-int.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char sql_add[] = "INSERT INTO remotes(name, bucket, prefix, endpoint, region, "
			      "path_style, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char sql_columns[] =
    "SELECT id, name, bucket, prefix, endpoint, region, path_style, created FROM remotes";
static const char sql_sync_get[] =
    "SELECT local_sha256, remote_sha256 FROM remote_sync WHERE remote = ?1 AND slug = ?2";
static const char sql_sync_set[] =
    "INSERT INTO remote_sync(remote, slug, local_sha256, remote_sha256, synced) "
    "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(remote, slug) DO UPDATE SET "
    "local_sha256 = excluded.local_sha256, remote_sha256 = excluded.remote_sha256, "
    "synced = excluded.synced WHERE local_sha256 != excluded.local_sha256 OR "
    "remote_sha256 != excluded.remote_sha256";

void remote_clear(struct remote *r)
{
	free(r->name);
	s3_location_clear(&r->loc);
	memset(r, 0, sizeof(*r));
}

int remote_name_check(const char *name)
{
	size_t n = strlen(name);
	bool ok = n >= 1 && n <= 64 && name[0] != '-' && name[0] != '_';
	for (size_t i = 0; ok && i < n; i++) {
		char c = name[i];
		ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
	}
	if (ok)
		return 0;
	char *shown = text_escape(name);
	error_set(EX_USAGE, "remote name '%s': 1 to 64 of a-z, 0-9, '-' and '_'", shown);
	free(shown);
	return -1;
}

int remote_add(struct catalog *cat, const char *name, const struct s3_location *loc)
{
	if (remote_name_check(name) < 0)
		return -1;
	sqlite3_stmt *stmt = catalog_stmt_get(cat, sql_add);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, loc->bucket, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, loc->prefix ? loc->prefix : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, loc->endpoint, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, loc->region ? loc->region : "us-east-1", -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 6, loc->path_style ? 1 : 0);
	sqlite3_bind_int64(stmt, 7, time_now());
	int step = sqlite3_step(stmt);
	int rc = 0;
	if ((step & 0xff) == SQLITE_CONSTRAINT)
		rc = error_set(EX_USAGE, "remote '%s' exists already (troupe remote rm %s first)",
			       name, name);
	else if (step != SQLITE_DONE)
		rc = db_error(cat->db, "index");
	catalog_stmt_put(cat, stmt);
	return rc;
}

static void from_row(sqlite3_stmt *stmt, struct remote *r)
{
	r->id = sqlite3_column_int64(stmt, 0);
	r->name = catalog_column_text(stmt, 1);
	r->loc.bucket = catalog_column_text(stmt, 2);
	r->loc.prefix = catalog_column_text(stmt, 3);
	r->loc.endpoint = catalog_column_text(stmt, 4);
	r->loc.region = catalog_column_text(stmt, 5);
	r->loc.path_style = sqlite3_column_int(stmt, 6) != 0;
	r->created = sqlite3_column_int64(stmt, 7);
}

int remote_find(struct catalog *cat, const char *name, struct remote *out)
{
	memset(out, 0, sizeof(*out));
	char *sql = xasprintf("%s WHERE name = ?1", sql_columns);
	sqlite3_stmt *stmt = catalog_stmt_get(cat, sql);
	free(sql);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	int step = sqlite3_step(stmt), rc = 0;
	if (step == SQLITE_ROW)
		from_row(stmt, out);
	else if (step == SQLITE_DONE) {
		char *shown = text_escape(name);
		rc = error_set(EX_USAGE,
			       "no remote '%s' (troupe remote add %s s3://BUCKET/PREFIX "
			       "--endpoint URL)",
			       shown, shown);
		free(shown);
	} else
		rc = db_error(cat->db, "index");
	catalog_stmt_put(cat, stmt);
	return rc;
}

int remote_remove(struct catalog *cat, const char *name)
{
	struct remote r;
	if (remote_find(cat, name, &r) < 0)
		return -1;
	sqlite3_stmt *stmt = catalog_stmt_get(cat, "DELETE FROM remotes WHERE id = ?1");
	int rc = -1;
	if (stmt) {
		sqlite3_bind_int64(stmt, 1, r.id);
		rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : db_error(cat->db, "index");
		catalog_stmt_put(cat, stmt);
	}
	remote_clear(&r);
	return rc;
}

int remote_list(struct catalog *cat, remote_each_fn *each, void *ctx)
{
	char *sql = xasprintf("%s ORDER BY name", sql_columns);
	sqlite3_stmt *stmt = catalog_stmt_get(cat, sql);
	free(sql);
	if (!stmt)
		return -1;
	int rc = 0, step;
	while (!rc && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct remote r = {0};
		from_row(stmt, &r);
		rc = each(&r, ctx);
		remote_clear(&r);
	}
	if (!rc && step != SQLITE_DONE)
		rc = db_error(cat->db, "index");
	catalog_stmt_put(cat, stmt);
	return rc;
}

int remote_sync_get(struct catalog *cat, int64_t remote, const char *slug, char local[65],
		    char there[65])
{
	sqlite3_stmt *stmt = catalog_stmt_get(cat, sql_sync_get);
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, remote);
	sqlite3_bind_text(stmt, 2, slug, -1, SQLITE_STATIC);
	int step = sqlite3_step(stmt), rc = 1;
	if (step == SQLITE_ROW) {
		const char *l = (const char *)sqlite3_column_text(stmt, 0);
		const char *t = (const char *)sqlite3_column_text(stmt, 1);
		snprintf(local, 65, "%s", l ? l : "");
		snprintf(there, 65, "%s", t ? t : "");
		rc = 0;
	} else if (step != SQLITE_DONE)
		rc = db_error(cat->db, "index");
	catalog_stmt_put(cat, stmt);
	return rc;
}

int remote_sync_set(struct catalog *cat, int64_t remote, const char *slug, const char *local,
		    const char *there)
{
	sqlite3_stmt *stmt = catalog_stmt_get(cat, sql_sync_set);
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, remote);
	sqlite3_bind_text(stmt, 2, slug, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, local, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, there, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, time_now());
	int rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : db_error(cat->db, "index");
	catalog_stmt_put(cat, stmt);
	return rc;
}
