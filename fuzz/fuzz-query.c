/* fuzz-query: query_compile() on any text. A query that compiles must be
 * SQL the index accepts: its where, set and pred are prepared against
 * the real schema (an empty index made once in a temp dir under $TMPDIR
 * at start-up, removed at exit), every parameter binds, none is left
 * unbound, and the statement runs. A refusal is an EX_USAGE error, as
 * query.h says. Nesting too deep for SQLite's parser is the one refusal
 * SQLite may make (catalog_query reports it as a usage error). */
#include "config.h"

#include "db.h"
#include "fuzz.h"
#include "query.h"
#include "util.h"

#include <sqlite3.h>
#include <unistd.h>

static sqlite3 *index_db;
static char *index_dir, *index_path;

static void remove_index(void)
{
	db_close(index_db);
	static const char *const suffixes[] = {"", "-wal", "-shm", NULL};
	for (int i = 0; suffixes[i]; i++) {
		char *file = xasprintf("%s%s", index_path, suffixes[i]);
		unlink(file);
		free(file);
	}
	rmdir(index_dir);
	free(index_path);
	free(index_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *tmp = getenv("TMPDIR");
	index_dir = xasprintf("%s/fuzz-query-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(index_dir)) {
		perror(index_dir);
		abort();
	}
	index_path = xasprintf("%s/index.db", index_dir);
	index_db = db_open(index_path, true);
	if (!index_db) {
		fprintf(stderr, "%s\n", error_message());
		abort();
	}
	atexit(remove_index);
	return 0;
}

static void run(const struct query *q, const char *fmt, const char *part)
{
	char *sql = xasprintf(fmt, part);
	sqlite3_stmt *stmt = NULL;
	int rc = sqlite3_prepare_v2(index_db, sql, -1, &stmt, NULL);
	if (rc != SQLITE_OK) {
		const char *why = sqlite3_errmsg(index_db);
		if (!strstr(why, "parser stack overflow") && !strstr(why, "too many terms") &&
		    !strstr(why, "too deep")) {
			fprintf(stderr, "SQLite refused %s: %s\n", sql, why);
			abort();
		}
		free(sql);
		return;
	}
	FUZZ_CHECK(sqlite3_bind_parameter_count(stmt) <= (int)q->nparams);
	for (size_t i = 0; i < q->nparams; i++) {
		const struct query_param *param = &q->params[i];
		int bound = param->type == QUERY_PARAM_TEXT
				? sqlite3_bind_text(stmt, (int)i + 1, param->text, -1,
						    SQLITE_STATIC)
				: sqlite3_bind_int64(stmt, (int)i + 1, param->number);
		/* A parameter only the other half of where uses is out of range. */
		FUZZ_CHECK(bound == SQLITE_OK || bound == SQLITE_RANGE);
	}
	rc = sqlite3_step(stmt);
	FUZZ_CHECK(rc == SQLITE_ROW || rc == SQLITE_DONE);
	sqlite3_finalize(stmt);
	free(sql);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_string(data, size);
	error_clear();
	struct query *q = query_compile(text);
	free(text);
	if (!q) {
		FUZZ_CHECK(error_code() == EX_USAGE || error_code() == EX_DATAERR);
		return 0;
	}
	FUZZ_CHECK(q->where != NULL);
	for (size_t i = 0; i < q->nparams; i++)
		FUZZ_CHECK(q->params[i].type != QUERY_PARAM_TEXT || q->params[i].text);
	run(q, "SELECT count(*) FROM assets a WHERE %s", q->where);
	if (q->set)
		run(q, "SELECT count(*) FROM (%s)", q->set);
	if (q->pred)
		run(q, "SELECT count(*) FROM assets a WHERE %s", q->pred);
	query_free(q);
	return 0;
}
