/* derivative: copies of an asset fitted to a recipe (size, format,
 * quality) for a service, cached by (source blob, recipe) so that a warm
 * injection does no image work. A derivative is a blob; this room never
 * prints. */
#include "config.h"

#include "catalog-int.h"
#include "derivative.h"
#include "image.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void derivative_clear(struct derivative *d)
{
	free(d->path);
	memset(d, 0, sizeof(*d));
}

static int derivative_lookup(struct catalog *cat, int64_t source, const char *key,
			     struct derivative *out)
{
	sqlite3_stmt *stmt = catalog_stmt_get(
	    cat, "SELECT b.hash, d.width, d.height, d.format, b.bytes FROM derivatives d "
		 "JOIN blobs b ON b.id = d.blob_id WHERE d.source_blob_id = ?1 AND d.recipe = ?2");
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, source);
	sqlite3_bind_text(stmt, 2, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		snprintf(out->hash, sizeof(out->hash), "%s",
			 (const char *)sqlite3_column_text(stmt, 0));
		out->width = sqlite3_column_int(stmt, 1);
		out->height = sqlite3_column_int(stmt, 2);
		snprintf(out->format, sizeof(out->format), "%s",
			 (const char *)sqlite3_column_text(stmt, 3));
		out->bytes = sqlite3_column_int64(stmt, 4);
	}
	catalog_stmt_put(cat, stmt);
	/* A row whose blob went missing is a miss: the work is redone. */
	if (rc == SQLITE_ROW)
		return store_has(cat->store, out->hash) ? 1 : 0;
	return rc == SQLITE_DONE ? 0 : db_error(cat->db, "derivative");
}

int catalog_derive(struct catalog *cat, int64_t asset_id, const struct image_recipe *recipe,
		   struct derivative *out)
{
	memset(out, 0, sizeof(*out));
	int64_t source;
	char hash[STORE_HASH_HEX + 1];
	if (catalog_asset_blob(cat, asset_id, &source, hash) < 0)
		return -1;
	char *key = image_recipe_key(recipe);
	struct image_buffer buf = {0};
	struct store_staged staged = {0};
	sqlite3_stmt *stmt = NULL;
	int rc = derivative_lookup(cat, source, key, out);
	if (rc != 0) {
		out->cached = rc > 0;
		rc = rc > 0 ? 0 : -1;
		goto done;
	}
	char *path = store_blob_path(cat->store, hash);
	rc = image_derive(path, recipe, &buf);
	free(path);
	if (rc < 0) {
		error_prefix("asset %lld", (long long)asset_id);
		goto done;
	}
	rc = -1;
	if (store_stage_buffer(cat->store, buf.data, buf.len, &staged) < 0 ||
	    store_publish(cat->store, &staged, 1) < 0 || db_begin(cat->db) < 0)
		goto done;
	int64_t blob_id = catalog_blob_upsert(cat, staged.hash, (int64_t)staged.bytes, NULL);
	stmt = db_prepare(cat->db, "INSERT OR REPLACE INTO derivatives(source_blob_id, recipe, "
				   "blob_id, width, height, format, created) VALUES "
				   "(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
	if (blob_id < 0 || !stmt)
		goto done;
	sqlite3_bind_int64(stmt, 1, source);
	sqlite3_bind_text(stmt, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, blob_id);
	sqlite3_bind_int(stmt, 4, buf.width);
	sqlite3_bind_int(stmt, 5, buf.height);
	sqlite3_bind_text(stmt, 6, buf.format, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 7, time_now());
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		db_error(cat->db, "derivative");
		goto done;
	}
	if (db_commit(cat->db) < 0)
		goto done;
	snprintf(out->hash, sizeof(out->hash), "%s", staged.hash);
	out->width = buf.width;
	out->height = buf.height;
	snprintf(out->format, sizeof(out->format), "%s", buf.format);
	out->bytes = (int64_t)staged.bytes;
	rc = 0;
done:
	if (rc < 0)
		db_rollback(cat->db);
	if (rc == 0)
		out->path = store_blob_path(cat->store, out->hash);
	sqlite3_finalize(stmt);
	store_staged_discard(&staged);
	image_buffer_clear(&buf);
	free(key);
	return rc;
}

int catalog_derivative_find(struct catalog *cat, const char *prefix, char **path)
{
	*path = NULL;
	size_t len = strlen(prefix);
	if (len < 8 || len > STORE_HASH_HEX || strspn(prefix, "0123456789abcdefABCDEF") != len)
		return 0;
	char lower[STORE_HASH_HEX + 1];
	for (size_t i = 0; i <= len; i++)
		lower[i] = (char)tolower((unsigned char)prefix[i]);
	/* One blob may be the derivative of several recipes: DISTINCT. */
	sqlite3_stmt *stmt =
	    catalog_stmt_get(cat, "SELECT DISTINCT b.hash FROM derivatives d JOIN blobs b ON "
				  "b.id = d.blob_id WHERE substr(b.hash, 1, ?2) = ?1 LIMIT 2");
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, lower, (int)len, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 2, (int)len);
	char found[STORE_HASH_HEX + 1] = "";
	int matches = 0, step;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (!matches)
			snprintf(found, sizeof(found), "%s",
				 (const char *)sqlite3_column_text(stmt, 0));
		matches++;
	}
	catalog_stmt_put(cat, stmt);
	if (step != SQLITE_DONE)
		return db_error(cat->db, "derivative");
	if (matches > 1)
		return error_set(EX_USAGE, "%s: the start of the hashes of several derivatives",
				 prefix);
	if (!matches)
		return 0;
	*path = store_blob_path(cat->store, found);
	return 1;
}
