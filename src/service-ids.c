/* service-ids: the uploads table. Each write stands alone (autocommit), so
 * an id is remembered as soon as the service has answered the upload: a
 * crash before that loses only the chance to reuse it, never leaves a
 * row naming an id the service did not give. */
#include "config.h"

#include "catalog-int.h"
#include "service-ids.h"

#include <string.h>

static const char sql_find[] = "SELECT service_id, numeric FROM uploads WHERE endpoint = ?1 AND "
			       "account = ?2 AND sent_hash = ?3 AND (expires IS NULL OR "
			       "expires > ?4)";
static const char sql_record[] =
    "INSERT OR REPLACE INTO uploads(endpoint, account, sent_hash, service_id, numeric, "
    "created, expires) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char sql_forget[] =
    "DELETE FROM uploads WHERE endpoint = ?1 AND account = ?2 AND sent_hash = ?3";

static void bind_key(sqlite3_stmt *stmt, const struct service_id_key *key)
{
	sqlite3_bind_text(stmt, 1, key->endpoint, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, key->account, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, key->sent_hash, -1, SQLITE_STATIC);
}

int catalog_upload_salt(struct catalog *cat, uint8_t salt[32])
{
	sqlite3_stmt *stmt = catalog_stmt_get(cat, "SELECT salt FROM upload_salt WHERE id = 1");
	if (!stmt)
		return -1;
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(stmt, 0) == 32) {
		memcpy(salt, sqlite3_column_blob(stmt, 0), 32);
		rc = 0;
	} else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		rc = error_set(EX_DATAERR, "index: the upload salt is missing or damaged");
	} else {
		rc = db_error(cat->db, "index");
	}
	catalog_stmt_put(cat, stmt);
	return rc;
}

int catalog_upload_find(struct catalog *cat, const struct service_id_key *key, int64_t now,
			char **id, bool *numeric)
{
	*id = NULL;
	*numeric = false;
	sqlite3_stmt *stmt = catalog_stmt_get(cat, sql_find);
	if (!stmt)
		return -1;
	bind_key(stmt, key);
	sqlite3_bind_int64(stmt, 4, now);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*id = catalog_column_text(stmt, 0);
		*numeric = sqlite3_column_int(stmt, 1) != 0;
		rc = *id ? 1 : 0;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = db_error(cat->db, "index");
	}
	catalog_stmt_put(cat, stmt);
	return rc;
}

int catalog_upload_record(struct catalog *cat, const struct service_id_key *key, const char *id,
			  bool numeric, int64_t created, int64_t expires)
{
	sqlite3_stmt *stmt = catalog_stmt_get(cat, sql_record);
	if (!stmt)
		return -1;
	bind_key(stmt, key);
	sqlite3_bind_text(stmt, 4, id, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 5, numeric ? 1 : 0);
	sqlite3_bind_int64(stmt, 6, created);
	if (expires)
		sqlite3_bind_int64(stmt, 7, expires);
	int rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : db_error(cat->db, "index");
	catalog_stmt_put(cat, stmt);
	return rc;
}

int catalog_upload_forget(struct catalog *cat, const struct service_id_key *key)
{
	sqlite3_stmt *stmt = catalog_stmt_get(cat, sql_forget);
	if (!stmt)
		return -1;
	bind_key(stmt, key);
	int rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : db_error(cat->db, "index");
	catalog_stmt_put(cat, stmt);
	return rc;
}
