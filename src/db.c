/* db: opening and migrating the index. The invariant kept here: a store's
 * PRAGMA user_version equals the number of the last migration applied,
 * and every migration runs inside the same transaction as that bump. */
#include "config.h"

#include "db.h"
#include "util.h"

#include <stdlib.h>
#include <sys/stat.h>

int db_error(sqlite3 *db, const char *what)
{
	int code = sqlite3_errcode(db);
	int exit_code = EX_SOFTWARE;
	if (code == SQLITE_CONSTRAINT)
		exit_code = EX_DATAERR;
	else if (code == SQLITE_IOERR || code == SQLITE_FULL || code == SQLITE_CANTOPEN)
		exit_code = EX_IOERR;
	else if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
		exit_code = EX_TEMPFAIL;
	else if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
		exit_code = EX_DATAERR;
	return error_set(exit_code, "%s: %s", what, sqlite3_errmsg(db));
}

sqlite3_stmt *db_prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *stmt = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		db_error(db, "index");
		return NULL;
	}
	return stmt;
}

int db_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int rc = db_error(db, "index");
		sqlite3_free(msg);
		return rc;
	}
	return 0;
}

int db_begin(sqlite3 *db)
{
	return db_exec(db, "BEGIN IMMEDIATE");
}

int db_commit(sqlite3 *db)
{
	return db_exec(db, "COMMIT");
}

void db_rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int db_schema_version(void)
{
	int v = 0;
	for (const struct db_migration *m = db_migrations; m->name; m++)
		v = m->version;
	return v;
}

static int pragma_int(sqlite3 *db, const char *sql, int *out)
{
	sqlite3_stmt *stmt = db_prepare(db, sql);
	if (!stmt)
		return -1;
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW ? 0 : db_error(db, "index");
}

/* 0 when no row breaks a foreign key, else an EX_DATAERR error naming the
 * first. */
static int foreign_keys_hold(sqlite3 *db)
{
	sqlite3_stmt *stmt = db_prepare(db, "PRAGMA foreign_key_check");
	if (!stmt)
		return -1;
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		rc = error_set(EX_DATAERR, "index: row %lld of %s refers to a missing %s row",
			       (long long)sqlite3_column_int64(stmt, 1),
			       (const char *)sqlite3_column_text(stmt, 0),
			       (const char *)sqlite3_column_text(stmt, 2));
	else if (rc == SQLITE_DONE)
		rc = 0;
	else
		rc = db_error(db, "index");
	sqlite3_finalize(stmt);
	return rc;
}

static int migrate_locked(sqlite3 *db)
{
	int current;
	if (db_begin(db) < 0)
		return -1;
	/* Read again under the write lock: another process may have migrated. */
	if (pragma_int(db, "PRAGMA user_version", &current) < 0)
		goto fail;
	for (const struct db_migration *m = db_migrations; m->name; m++) {
		if (m->version <= current)
			continue;
		if (db_exec(db, m->sql) < 0) {
			error_prefix("migration %s", m->name);
			goto fail;
		}
		char *bump = xasprintf("PRAGMA user_version = %d", m->version);
		int rc = db_exec(db, bump);
		free(bump);
		if (rc < 0)
			goto fail;
	}
	char *app = xasprintf("PRAGMA application_id = %d", DB_APPLICATION_ID);
	int rc = db_exec(db, app);
	free(app);
	if (rc < 0 || foreign_keys_hold(db) < 0 || db_commit(db) < 0)
		goto fail;
	return 0;
fail:
	db_rollback(db);
	return -1;
}

static int migrate(sqlite3 *db)
{
	int current, app_id;
	if (pragma_int(db, "PRAGMA user_version", &current) < 0 ||
	    pragma_int(db, "PRAGMA application_id", &app_id) < 0)
		return -1;
	if (app_id != 0 && app_id != DB_APPLICATION_ID)
		return error_set(EX_DATAERR, "index: not a troupe index (application_id %#x)",
				 (unsigned)app_id);
	int newest = db_schema_version();
	if (current > newest)
		return error_set(EX_CONFIG,
				 "index: schema version %d is newer than this troupe knows (%d); "
				 "upgrade troupe",
				 current, newest);
	if (current == newest)
		return 0;
	/* A migration may rebuild a table (SQLite's twelve-step ALTER): with
	 * foreign keys on, dropping the old table would cascade into every
	 * row that references it. They are off for the migration, which must
	 * leave no dangling reference behind (checked before commit), and on
	 * again after, whatever happened. The pragma is a no-op inside a
	 * transaction, so it is set before BEGIN. */
	if (db_exec(db, "PRAGMA foreign_keys = OFF") < 0)
		return -1;
	int rc = migrate_locked(db);
	if (db_exec(db, "PRAGMA foreign_keys = ON") < 0)
		rc = -1;
	return rc;
}

sqlite3 *db_open(const char *path, bool create)
{
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		error_set(EX_IOERR, "index %s: %s", path,
			  db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, DB_BUSY_TIMEOUT_MS);
	/* The last connection to close would checkpoint the WAL into the
	 * index and sync both, four fsyncs at the end of every command; the
	 * WAL is folded in when it reaches 1000 pages by SQLite's
	 * auto-checkpoint instead, and by db_close() when it has grown past
	 * that anyway (a large import). Durability comes from synchronous =
	 * FULL below: each write transaction syncs the WAL once at commit, so
	 * a command that said "added" keeps its rows through a power cut, and
	 * a command that only reads syncs nothing. */
	sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
	sqlite3_extended_result_codes(db, 0);
	if (db_exec(db, "PRAGMA journal_mode = WAL") < 0 ||
	    db_exec(db, "PRAGMA foreign_keys = ON") < 0 ||
	    db_exec(db, "PRAGMA synchronous = FULL") < 0 ||
	    db_exec(db, "PRAGMA journal_size_limit = 67108864") < 0 || migrate(db) < 0) {
		error_prefix("%s", path);
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

/* A WAL past this size was not folded in and reset by the auto-checkpoint
 * (a transaction larger than it, or readers in the way). The next process
 * to open the index would recover it whole, and every page read searches
 * its index, so it is checkpointed and truncated before closing; with
 * other readers about, that waits for nobody and is tried again at the
 * next close. */
#define DB_WAL_FOLD_BYTES (8u << 20)

void db_close(sqlite3 *db)
{
	if (!db)
		return;
	const char *path = sqlite3_db_filename(db, "main");
	if (path && *path) {
		char *wal = xasprintf("%s-wal", path);
		struct stat st;
		if (stat(wal, &st) == 0 && st.st_size > (off_t)DB_WAL_FOLD_BYTES) {
			sqlite3_busy_timeout(db, 0);
			sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
		}
		free(wal);
	}
	sqlite3_close(db);
}
