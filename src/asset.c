/* asset: one stored picture or video as the index knows it: resolving
 * what a user types (#id, a hash prefix), reading, tagging and removing
 * assets, and running tag queries over them. User text reaches SQLite only
 * as bound parameters; it never prints. */
#include "config.h"

#include "asset.h"
#include "catalog-int.h"
#include "character.h"
#include "query.h"
#include "role.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool catalog_format_is_video(const char *format)
{
	return format && (!strcmp(format, "mp4") || !strcmp(format, "mov") ||
			  !strcmp(format, "webm") || !strcmp(format, "mkv"));
}

const char catalog_sql_asset_tag_add[] =
    "INSERT OR IGNORE INTO asset_tags(asset_id, tag_id) VALUES (?1, ?2)";
static const char sql_asset_tag_remove[] =
    "DELETE FROM asset_tags WHERE asset_id = ?1 AND tag_id = ?2";

/* The asset whose blob hash starts with hex (8 to 32 digits): 1 with *id,
 * 0 for none, -1 with an error when several assets share it. */
static int resolve_prefix(struct catalog *cat, const char *ref, const char *hex, int64_t *id)
{
	size_t len = strlen(hex);
	char lower[STORE_HASH_HEX + 2];
	for (size_t i = 0; i <= len; i++)
		lower[i] = (char)(hex[i] >= 'A' && hex[i] <= 'F' ? hex[i] - 'A' + 'a' : hex[i]);
	char upper[STORE_HASH_HEX + 3];
	snprintf(upper, sizeof(upper), "%s~", lower);
	sqlite3_stmt *stmt =
	    db_prepare(cat->db, "SELECT a.id FROM assets a JOIN blobs b ON b.id = a.blob_id "
				"WHERE b.hash >= ?1 AND b.hash < ?2 ORDER BY a.id LIMIT 6");
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, lower, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(stmt, 2, upper, -1, SQLITE_TRANSIENT);
	int rc = 0, step = sqlite3_step(stmt);
	if (step == SQLITE_ROW) {
		*id = sqlite3_column_int64(stmt, 0);
		rc = 1;
		if (sqlite3_step(stmt) == SQLITE_ROW) {
			/* The same bytes may be several assets (one per character
			 * and role); name them so the user can pick by id. */
			struct strbuf ids = STRBUF_INIT;
			sb_addf(&ids, "#%lld", (long long)*id);
			do
				sb_addf(&ids, ", #%lld", (long long)sqlite3_column_int64(stmt, 0));
			while (sqlite3_step(stmt) == SQLITE_ROW);
			rc = error_set(EX_USAGE,
				       "%s: ambiguous; it matches assets %s (name one by id)", ref,
				       ids.buf);
			sb_release(&ids);
		}
	} else if (step != SQLITE_DONE) {
		rc = db_error(cat->db, ref);
	}
	sqlite3_finalize(stmt);
	return rc;
}

/* 1 with *id when an asset has that id, 0 when none does. */
static int resolve_id(struct catalog *cat, const char *ref, const char *digits, int64_t *id)
{
	int64_t n;
	if (parse_i64(digits, &n) < 0 || n <= 0)
		return 0;
	sqlite3_stmt *stmt = db_prepare(cat->db, "SELECT id FROM assets WHERE id = ?1");
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, n);
	int step = sqlite3_step(stmt), rc = 0;
	if (step == SQLITE_ROW) {
		*id = n;
		rc = 1;
	} else if (step != SQLITE_DONE) {
		rc = db_error(cat->db, ref);
	}
	sqlite3_finalize(stmt);
	return rc;
}

int catalog_asset_resolve(struct catalog *cat, const char *ref, int64_t *id)
{
	size_t len = strlen(ref);
	size_t digits = strspn(ref, "0123456789");
	size_t hex = strspn(ref, "0123456789abcdefABCDEF");
	int by_id = 0, by_hash = 0;
	int64_t id_match = 0, hash_match = 0;
	if (ref[0] == '#') {
		/* "#12": an id and nothing else, as the error messages write it. */
		if (len < 2 || strspn(ref + 1, "0123456789") != len - 1)
			return error_set(EX_USAGE, "%s: '#' must be followed by an asset id", ref);
		by_id = resolve_id(cat, ref, ref + 1, &id_match);
	} else if (len > 0 && digits == len && len < 8) {
		by_id = resolve_id(cat, ref, ref, &id_match);
	} else if (len >= 8 && len <= STORE_HASH_HEX && hex == len) {
		/* Eight or more decimal digits may be either: an id as large as
		 * that and a hash prefix of only decimal digits are both rare,
		 * and when both match the user is asked to say which. */
		/* A leading zero is no way to write an id; "#0012" still is. */
		if (digits == len && len <= 18 && ref[0] != '0')
			by_id = resolve_id(cat, ref, ref, &id_match);
		/* by_id is negative when looking the id up failed. */
		// cppcheck-suppress knownConditionTrueFalse
		if (by_id >= 0)
			by_hash = resolve_prefix(cat, ref, ref, &hash_match);
	} else {
		return error_set(EX_USAGE,
				 "%s: not an asset id or a hash prefix of 8 to 32 hex digits", ref);
	}
	if (by_id < 0 || by_hash < 0)
		return -1;
	if (by_id && by_hash && id_match != hash_match)
		return error_set(EX_USAGE,
				 "%s: ambiguous; it is asset #%lld's id and the start of asset "
				 "#%lld's hash (write '#%s' for the id, or more hex digits)",
				 ref, (long long)id_match, (long long)hash_match, ref);
	if (!by_id && !by_hash)
		return error_set(EX_NOINPUT, "%s: no such asset", ref);
	*id = by_id ? id_match : hash_match;
	return 0;
}

const char catalog_sql_asset_select[] =
    "SELECT a.id, b.hash, c.slug, a.role, a.width, a.height, a.format, b.bytes, a.added, "
    "a.source, a.duration, a.fps, a.codec, f.video_id, f.t FROM assets a "
    "JOIN blobs b ON b.id = a.blob_id LEFT JOIN asset_frames f ON f.asset_id = a.id "
    "LEFT JOIN characters c ON c.id = a.character_id ";

const char catalog_sql_asset_tags[] =
    "SELECT CASE g.ns WHEN '' THEN g.value ELSE g.ns || ':' || g.value END "
    "FROM asset_tags t JOIN tags g ON g.id = t.tag_id WHERE t.asset_id = ?1 "
    "ORDER BY g.ns, g.value";

struct asset *catalog_asset_from_row(struct catalog *cat, sqlite3_stmt *row, sqlite3_stmt *tags)
{
	struct asset *a = xcalloc(1, sizeof(*a));
	a->id = sqlite3_column_int64(row, 0);
	snprintf(a->hash, sizeof(a->hash), "%s", (const char *)sqlite3_column_text(row, 1));
	a->character = catalog_column_text(row, 2);
	a->role = catalog_column_text(row, 3);
	a->width = sqlite3_column_int(row, 4);
	a->height = sqlite3_column_int(row, 5);
	a->format = catalog_column_text(row, 6);
	a->bytes = sqlite3_column_int64(row, 7);
	a->added = sqlite3_column_int64(row, 8);
	a->source = catalog_column_text(row, 9);
	a->duration = sqlite3_column_double(row, 10);
	a->fps = sqlite3_column_double(row, 11);
	a->codec = catalog_column_text(row, 12);
	a->frame_of = sqlite3_column_int64(row, 13);
	a->frame_t = sqlite3_column_double(row, 14);
	a->path = store_blob_path(cat->store, a->hash);
	sqlite3_reset(tags);
	sqlite3_bind_int64(tags, 1, a->id);
	while (sqlite3_step(tags) == SQLITE_ROW)
		strlist_push(&a->tags, (const char *)sqlite3_column_text(tags, 0));
	return a;
}

void asset_free(struct asset *a)
{
	if (!a)
		return;
	free(a->character);
	free(a->role);
	strlist_clear(&a->tags);
	free(a->format);
	free(a->source);
	free(a->codec);
	free(a->path);
	free(a);
}

struct asset *catalog_asset_get(struct catalog *cat, int64_t id)
{
	struct strbuf sql = STRBUF_INIT;
	sb_adds(&sql, catalog_sql_asset_select);
	sb_adds(&sql, "WHERE a.id = ?1");
	sqlite3_stmt *row = catalog_stmt_get(cat, sql.buf);
	sqlite3_stmt *tags = catalog_stmt_get(cat, catalog_sql_asset_tags);
	sb_release(&sql);
	struct asset *a = NULL;
	if (row && tags) {
		sqlite3_bind_int64(row, 1, id);
		int rc = sqlite3_step(row);
		if (rc == SQLITE_ROW)
			a = catalog_asset_from_row(cat, row, tags);
		else if (rc == SQLITE_DONE)
			error_set(EX_NOINPUT, "%lld: no such asset", (long long)id);
		else
			db_error(cat->db, "asset");
	}
	catalog_stmt_put(cat, row);
	catalog_stmt_put(cat, tags);
	return a;
}

int catalog_asset_rm(struct catalog *cat, const int64_t *ids, size_t n)
{
	if (db_begin(cat->db) < 0)
		return -1;
	sqlite3_stmt *stmt = db_prepare(cat->db, "DELETE FROM assets WHERE id = ?1");
	if (!stmt)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(stmt);
		sqlite3_bind_int64(stmt, 1, ids[i]);
		if (sqlite3_step(stmt) != SQLITE_DONE) {
			db_error(cat->db, "rm");
			goto fail;
		}
	}
	sqlite3_finalize(stmt);
	stmt = NULL;
	if (db_commit(cat->db) < 0)
		goto fail;
	return 0;
fail:
	sqlite3_finalize(stmt);
	db_rollback(cat->db);
	return -1;
}

static const char sql_asset_edit[] =
    "UPDATE assets SET role = coalesce(?2, role), "
    "character_id = CASE WHEN ?3 THEN NULL WHEN ?4 IS NOT NULL THEN ?4 ELSE character_id END "
    "WHERE id = ?1";
/* Another asset of the same blob, character and role as asset ?1. */
static const char sql_asset_twin[] =
    "SELECT t.id FROM assets a JOIN assets t ON t.blob_id = a.blob_id AND "
    "t.character_id IS a.character_id AND t.role = a.role AND t.id <> a.id WHERE a.id = ?1 "
    "LIMIT 1";

int catalog_asset_edit(struct catalog *cat, const int64_t *ids, size_t n,
		       const struct asset_edit *edit)
{
	if (edit->role && !role_valid(edit->role))
		return error_set(EX_USAGE,
				 "--role %s: not a role (sheet, face, turnaround, expression, "
				 "costume, pose, prop, location, reference, generated)",
				 edit->role);
	int64_t character_id = 0;
	if (edit->character && !edit->no_character) {
		struct character *c = catalog_character_get(cat, edit->character);
		if (!c)
			return -1;
		character_id = c->id;
		character_free(c);
	}
	if (db_begin(cat->db) < 0)
		return -1;
	sqlite3_stmt *update = db_prepare(cat->db, sql_asset_edit);
	sqlite3_stmt *twin = db_prepare(cat->db, sql_asset_twin);
	if (!update || !twin)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(update);
		sqlite3_clear_bindings(update);
		sqlite3_bind_int64(update, 1, ids[i]);
		if (edit->role)
			sqlite3_bind_text(update, 2, edit->role, -1, SQLITE_STATIC);
		sqlite3_bind_int(update, 3, edit->no_character);
		if (character_id)
			sqlite3_bind_int64(update, 4, character_id);
		if (sqlite3_step(update) != SQLITE_DONE) {
			db_error(cat->db, "edit");
			goto fail;
		}
		/* Adding finds the asset already there for the same blob,
		 * character and role; an edit must not make a second one. */
		sqlite3_reset(twin);
		sqlite3_bind_int64(twin, 1, ids[i]);
		int rc = sqlite3_step(twin);
		if (rc == SQLITE_ROW) {
			error_set(EX_DATAERR,
				  "#%lld: asset #%lld is already this picture with that character "
				  "and role",
				  (long long)ids[i], (long long)sqlite3_column_int64(twin, 0));
			goto fail;
		}
		if (rc != SQLITE_DONE) {
			db_error(cat->db, "edit");
			goto fail;
		}
	}
	sqlite3_finalize(update);
	sqlite3_finalize(twin);
	update = twin = NULL;
	if (db_commit(cat->db) < 0)
		goto fail;
	return 0;
fail:
	sqlite3_finalize(update);
	sqlite3_finalize(twin);
	db_rollback(cat->db);
	return -1;
}

int catalog_asset_tag(struct catalog *cat, const int64_t *ids, size_t n, const struct strlist *add,
		      const struct strlist *remove)
{
	if (db_begin(cat->db) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (catalog_tags_apply(cat, catalog_sql_asset_tag_add, ids[i], add, true) < 0 ||
		    catalog_tags_apply(cat, sql_asset_tag_remove, ids[i], remove, false) < 0) {
			db_rollback(cat->db);
			return -1;
		}
	}
	if (db_commit(cat->db) < 0) {
		db_rollback(cat->db);
		return -1;
	}
	return 0;
}

int catalog_asset_open(struct catalog *cat, int64_t id)
{
	struct asset *a = catalog_asset_get(cat, id);
	if (!a)
		return -1;
	int fd = store_open_blob(cat->store, a->hash);
	asset_free(a);
	return fd;
}

static void bind_query(sqlite3_stmt *stmt, const struct query *q)
{
	for (size_t i = 0; i < q->nparams; i++) {
		if (q->params[i].type == QUERY_PARAM_TEXT)
			sqlite3_bind_text(stmt, (int)i + 1, q->params[i].text, -1, SQLITE_STATIC);
		else if (q->params[i].type == QUERY_PARAM_REAL)
			sqlite3_bind_double(stmt, (int)i + 1, q->params[i].real);
		else
			sqlite3_bind_int64(stmt, (int)i + 1, q->params[i].number);
	}
}

/* The matches' ids as a JSON array, for json_each(): SQLite has no
 * array parameter of its own without an extension. */
static char *ids_json(const int64_t *ids, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	sb_grow(&sb, n * 8 + 2);
	sb_addc(&sb, '[');
	for (size_t i = 0; i < n; i++)
		sb_addf(&sb, "%s%lld", i ? "," : "", (long long)ids[i]);
	sb_addc(&sb, ']');
	return sb_detach(&sb);
}

int catalog_query(struct catalog *cat, const char *text, const struct query_options *opts,
		  int (*each)(const struct asset *, void *), void *ctx)
{
	struct query *q = query_compile(text);
	if (!q)
		return -1;
	const char *order = query_sort_sql(opts->sort);
	const char *dir = opts->descending ? "DESC" : "ASC";
	struct strbuf sql = STRBUF_INIT;
	int64_t *ids = NULL;
	size_t nids = 0;
	char *json = NULL;
	sqlite3_stmt *row = NULL, *tags = NULL;
	int rc = -1, served = 0;
	/* In id order only the first rows are wanted from the lists; any
	 * other order needs every match, sorted by SQL. Without a limit the
	 * rows are the cost and the SQL reads them straight from its index
	 * ranges, where the lists would hand it every id through JSON (a
	 * tenth slower for a third of a million rows). */
	if (q->plan && opts->limit > 0 &&
	    (served = catalog_tagindex_ids(cat, q->plan, opts->descending,
					   opts->sort == SORT_ID ? opts->limit : 0, &ids, &nids)) <
		0)
		goto out;
	sb_adds(&sql, catalog_sql_asset_select);
	if (served)
		sb_adds(&sql, "WHERE a.id IN (SELECT value FROM json_each(?1))");
	else if (opts->sort == SORT_ID && opts->limit > 0 && q->set && !q->pred)
		/* The first rows in id order: the set's sorted index ranges
		 * are merged only until that many distinct ids come out,
		 * where "a.id IN (set)" would finish the whole set first. */
		sb_addf(&sql,
			"WHERE a.id IN (SELECT DISTINCT id FROM (%s ORDER BY 1 %s) LIMIT %lld)",
			q->set, dir, (long long)opts->limit);
	else
		sb_addf(&sql, "WHERE %s", q->where);
	sb_addf(&sql, " ORDER BY %s %s, a.id", order, dir);
	if (opts->limit > 0)
		sb_addf(&sql, " LIMIT %lld", (long long)opts->limit);
	row = db_prepare(cat->db, sql.buf);
	tags = db_prepare(cat->db, catalog_sql_asset_tags);
	if (!row && strstr(sqlite3_errmsg(cat->db), "parser stack overflow"))
		error_set(EX_USAGE, "the query is nested too deeply for SQLite; use fewer groups");
	if (!row || !tags)
		goto out;
	if (served) {
		json = ids_json(ids, nids);
		sqlite3_bind_text(row, 1, json, -1, SQLITE_STATIC);
	} else {
		bind_query(row, q);
	}
	int step;
	while ((step = sqlite3_step(row)) == SQLITE_ROW) {
		struct asset *a = catalog_asset_from_row(cat, row, tags);
		int stop = each(a, ctx);
		asset_free(a);
		if (stop)
			break;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE) {
		db_error(cat->db, "query");
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(row);
	sqlite3_finalize(tags);
	sb_release(&sql);
	free(json);
	free(ids);
	query_free(q);
	return rc;
}

int catalog_query_count(struct catalog *cat, const char *text, int64_t *count)
{
	struct query *q = query_compile(text);
	if (!q)
		return -1;
	int rc = q->plan ? catalog_tagindex_count(cat, q->plan, count) : 0;
	if (rc != 0) {
		query_free(q);
		return rc < 0 ? -1 : 0;
	}
	char *sql = xasprintf("SELECT count(*) FROM assets a WHERE %s", q->where);
	sqlite3_stmt *stmt = db_prepare(cat->db, sql);
	free(sql);
	rc = -1;
	if (stmt) {
		bind_query(stmt, q);
		if (sqlite3_step(stmt) == SQLITE_ROW) {
			*count = sqlite3_column_int64(stmt, 0);
			rc = 0;
		} else {
			db_error(cat->db, "query");
		}
	}
	sqlite3_finalize(stmt);
	query_free(q);
	return rc;
}

int catalog_asset_blob(struct catalog *cat, int64_t asset_id, int64_t *blob_id,
		       char hash[STORE_HASH_HEX + 1])
{
	sqlite3_stmt *stmt = catalog_stmt_get(cat, "SELECT b.id, b.hash FROM assets a JOIN blobs b "
						   "ON b.id = a.blob_id WHERE a.id = ?1");
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, asset_id);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*blob_id = sqlite3_column_int64(stmt, 0);
		snprintf(hash, STORE_HASH_HEX + 1, "%s",
			 (const char *)sqlite3_column_text(stmt, 1));
	}
	catalog_stmt_put(cat, stmt);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return error_set(EX_NOINPUT, "%lld: no such asset", (long long)asset_id);
	return db_error(cat->db, "asset");
}
