/* db: the SQLite index file: opening it with the right pragmas, applying
 * the migrations built from the schema/ SQL files, and transactions. It knows
 * nothing of characters or assets. */
#ifndef TROUPE_DB_H
#define TROUPE_DB_H

#include <sqlite3.h>
#include <stdbool.h>

/* "TRUP": marks the file as a troupe index for file(1) and for us. */
#define DB_APPLICATION_ID  0x54525550
#define DB_BUSY_TIMEOUT_MS 30000

struct db_migration {
	int version;
	const char *name;
	const char *sql;
};
/* Generated from schema/ at build time; ends with a zero entry. */
extern const struct db_migration db_migrations[];

/* Opens (creating when create is true) the index at path, sets WAL,
 * foreign keys and the busy timeout, and migrates it to the newest
 * schema. NULL with an error on failure; close with db_close(). */
sqlite3 *db_open(const char *path, bool create);
void db_close(sqlite3 *db);
/* The schema version this binary writes. */
int db_schema_version(void);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK; a writer takes the lock up front
 * so a busy store is waited for rather than failing halfway. */
int db_begin(sqlite3 *db);
int db_commit(sqlite3 *db);
void db_rollback(sqlite3 *db);

/* Prepares sql; NULL with an error naming the SQLite message. */
sqlite3_stmt *db_prepare(sqlite3 *db, const char *sql);
/* Records the connection's last error as "what: sqlite message". */
int db_error(sqlite3 *db, const char *what);
/* Runs a statement with no result rows. */
int db_exec(sqlite3 *db, const char *sql);

#endif
