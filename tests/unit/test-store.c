/* Unit tests for store: hashing as xxh128sum does, staging, publishing,
 * deduplication, and refusing a hash collision. */
#include "config.h"

#include "store.h"
#include "tap.h"
#include "util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = xcalloc(1, 4096);
	size_t n = fread(buf, 1, 4095, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int count_entries(const char *dir)
{
	char *cmd = xasprintf("find '%s' -type f | wc -l", dir);
	FILE *p = popen(cmd, "r");
	int n = -1;
	if (p && fscanf(p, "%d", &n) != 1)
		n = -1;
	if (p)
		pclose(p);
	free(cmd);
	return n;
}

int main(void)
{
	char hex[STORE_HASH_HEX + 1];
	store_hash_buffer("", 0, hex);
	is_str(hex, "99aa06d3014798d86001c324468d497f", "XXH3-128 of nothing, as xxh128sum");
	store_hash_buffer("troupe\n", 7, hex);
	is_str(hex, "20132a3c32150c31b8978ac2c8d6a4f9", "XXH3-128 of 'troupe\\n', as xxh128sum");

	char root[] = "/tmp/troupe-unit-XXXXXX";
	ok(mkdtemp(root) != NULL, "temporary directory");
	char *dir = xasprintf("%s/.troupe", root);
	bool existed = true;
	ok(store_create(dir, &existed) == 0 && !existed, "store_create makes a new store");
	/* store_open wants an index file; an empty one will do here. */
	char *db = xasprintf("%s/troupe.db", dir);
	close(open(db, O_CREAT | O_WRONLY, 0644));
	struct store *st = store_open(dir);
	ok(st != NULL, "store_open finds it");

	struct store_staged s;
	ok(store_stage_buffer(st, "troupe\n", 7, &s) == 0, "stage a buffer");
	is_str(s.hash, "20132a3c32150c31b8978ac2c8d6a4f9", "staged hash");
	ok(s.tmp_path && !s.present, "staged in tmp/, not yet present");
	ok(!store_has(st, s.hash), "not visible before publish");
	ok(store_publish(st, &s, 1) == 0, "publish");
	ok(s.tmp_path == NULL, "tmp file gone after publish");
	ok(store_has(st, s.hash), "visible after publish");
	char *path = store_blob_path(st, s.hash);
	char *want = xasprintf("%s/objects/20/132a3c32150c31b8978ac2c8d6a4f9", store_root(st));
	is_str(path, want, "fan-out layout objects/xx/rest");
	struct stat sb;
	ok(stat(path, &sb) == 0 && (sb.st_mode & 0222) == 0, "blob is read-only");
	char *content = read_all(path);
	is_str(content, "troupe\n", "blob holds the bytes");
	free(content);

	struct store_staged again;
	ok(store_stage_buffer(st, "troupe\n", 7, &again) == 0 && again.present,
	   "same bytes deduplicated at stage time");
	ok(again.tmp_path == NULL, "nothing left in tmp/ for a duplicate");
	ok(store_publish(st, &again, 1) == 0, "publishing a duplicate is a no-op");

	/* Forge a collision: a stored file whose bytes do not match its name. */
	struct store_staged other;
	ok(store_stage_buffer(st, "other\n", 6, &other) == 0, "stage different bytes");
	ok(store_publish(st, &other, 1) == 0, "publish them");
	char *other_path = store_blob_path(st, other.hash);
	chmod(other_path, 0644);
	FILE *f = fopen(other_path, "wb");
	fputs("OTHER\n", f);
	fclose(f);
	struct store_staged clash;
	ok(store_stage_buffer(st, "other\n", 6, &clash) < 0, "a hash match with different bytes "
							     "is refused");
	ok(error_code() == EX_DATAERR, "collision is a data error: %s", error_message());
	char *tmpdir = xasprintf("%s/tmp", dir);
	ok(count_entries(tmpdir) == 0, "tmp/ is empty after the refusal");

	struct store_staged from_file;
	ok(store_stage_file(st, "/nonexistent/file", &from_file) < 0 && error_code() == EX_NOINPUT,
	   "missing file is EX_NOINPUT");
	ok(count_entries(tmpdir) == 0, "tmp/ is still empty");

	ok(store_open_blob(st, "0123") < 0, "a short hash is refused");
	ok(store_open_blob(st, "00000000000000000000000000000000") < 0, "missing blob is an error");

	char *cache = store_cache_path(st, "x.idx");
	char *cache_dir = xasprintf("%s/cache", dir);
	struct stat cst;
	ok(cache && stat(cache_dir, &cst) == 0 && S_ISDIR(cst.st_mode),
	   "a cache path makes the cache directory");
	free(cache);
	free(cache_dir);
	/* A store whose directory became a file: the domain reports, it never
	 * prints a warning and hands back a path nothing can be made at. */
	char *gone = xasprintf("%s/gone", root);
	ok(store_create(gone, &existed) == 0, "a second store");
	char *gone_db = xasprintf("%s/troupe.db", gone);
	close(open(gone_db, O_CREAT | O_WRONLY, 0644));
	struct store *gone_st = store_open(gone);
	char *rm_gone = xasprintf("rm -rf '%s' && touch '%s'", gone, gone);
	ok(gone_st && system(rm_gone) == 0, "its directory replaced by a file");
	error_clear();
	cache = gone_st ? store_cache_path(gone_st, "x.idx") : NULL;
	ok(!cache && error_code() == EX_CANTCREAT, "no cache directory is an error, not a warning");
	free(cache);
	free(rm_gone);
	free(gone_db);
	free(gone);
	store_free(gone_st);

	char *cmd = xasprintf("rm -rf '%s'", root);
	ok(system(cmd) == 0, "clean up");
	free(cmd);
	free(tmpdir);
	free(other_path);
	free(path);
	free(want);
	free(db);
	free(dir);
	store_free(st);
	return tap_done();
}
