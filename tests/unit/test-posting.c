/* Unit tests for the posting lists: the file format (round trip through
 * both kinds of chunk, every single-byte damage and every truncation
 * caught), the bitmaps, and the rule that matters most: every form of
 * query gives the same answer from the posting lists as from SQL, on a
 * store filled at random, before and after its tags change under the file
 * and after the file is damaged. */
#include "config.h"

#include "asset.h"
#include "catalog.h"
#include "posting.h"
#include "query.h"
#include "tap.h"
#include "util.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

/* ---- the file ---- */

/* Lists that use both kinds of chunk: a dense run past 4,096 ids in one
 * chunk (a bitmap), sparse ids across chunks (arrays), and an empty one. */
static void sample_lists(uint32_t **lists, size_t *lens)
{
	lens[0] = 5000;
	lists[0] = xcalloc(lens[0], sizeof(uint32_t));
	for (size_t i = 0; i < lens[0]; i++)
		lists[0][i] = (uint32_t)(70000 + i * 3);
	lens[1] = 4;
	lists[1] = xcalloc(4, sizeof(uint32_t));
	lists[1][0] = 0, lists[1][1] = 65535, lists[1][2] = 65536, lists[1][3] = 199999;
	lens[2] = 0;
	lists[2] = NULL;
}

static bool list_equals(const struct posting_file *f, enum posting_section s, uint32_t i,
			const uint32_t *ids, size_t n)
{
	size_t words = posting_file_words(f);
	uint64_t *bits = xcalloc(words, sizeof(*bits));
	bool same = posting_file_or(f, s, i, bits) == 0 && posting_bits_count(bits, words) == n;
	for (size_t k = 0; k < n && same; k++)
		same = bits[ids[k] / 64] >> (ids[k] % 64) & 1;
	free(bits);
	return same;
}

/* Whether reading every list of the file at data gives an error. */
static bool damage_found(const uint8_t *data, size_t size)
{
	struct posting_file *f = posting_file_from_buffer(data, size);
	if (!f)
		return true;
	bool found = false;
	uint64_t *bits = xcalloc(posting_file_words(f) + 1, sizeof(*bits));
	for (int s = 0; s < POSTING_SECTIONS && !found; s++)
		for (uint32_t i = 0; i < posting_file_count(f, s) && !found; i++)
			found = posting_file_or(f, s, i, bits) < 0;
	free(bits);
	posting_file_close(f);
	return found;
}

static void test_file(const char *dir)
{
	uint32_t *lists[3];
	size_t lens[3];
	sample_lists(lists, lens);
	uint32_t counts[POSTING_SECTIONS] = {3, 1, 0, 1};
	struct posting_builder *b = posting_builder_new(42, 200000, counts);
	ok(b != NULL, "a builder");
	for (uint32_t i = 0; i < 3; i++)
		posting_builder_set(b, POSTING_TAGS, i, lists[i], lens[i]);
	ok(posting_builder_set(b, POSTING_TAGS, 0, lists[0], lens[0]) < 0, "a list is set once");
	uint32_t backwards[] = {5, 3};
	ok(posting_builder_set(b, POSTING_CHARACTERS, 0, backwards, 2) < 0,
	   "ids out of order are refused");
	uint32_t too_big[] = {200064};
	ok(posting_builder_set(b, POSTING_CHARACTERS, 0, too_big, 1) < 0,
	   "an id past the limit is refused");
	ok(posting_builder_set(b, POSTING_ALL, 0, lists[1], lens[1]) == 0, "the universe");
	char *path = xasprintf("%s/postings.idx", dir);
	ok(posting_builder_write(b, path) == 0, "written");

	struct posting_file *f = posting_file_open(path);
	ok_or_bail(f != NULL, "read back");
	ok(posting_file_generation(f) == 42, "its generation");
	ok(posting_file_words(f) == (200000 + 63) / 64, "bitmaps cover the id limit");
	for (uint32_t i = 0; i < 3; i++)
		ok(list_equals(f, POSTING_TAGS, i, lists[i], lens[i]), "tag list %u round trip", i);
	ok(list_equals(f, POSTING_CHARACTERS, 0, NULL, 0), "an unset list is empty");
	ok(list_equals(f, POSTING_TAGS, 99, NULL, 0), "a list past the section is empty");
	ok(list_equals(f, POSTING_ALL, 0, lists[1], lens[1]), "the universe round trip");
	posting_file_close(f);

	struct strbuf bytes = STRBUF_INIT;
	ok_or_bail(file_read_all(path, &bytes) == 0, "the file's bytes");
	uint8_t *data = (uint8_t *)bytes.buf;
	size_t size = bytes.len;
	ok(!damage_found(data, size), "the whole file reads clean");
	size_t missed = 0, cut = 0;
	for (size_t i = 0; i < size; i++) {
		data[i] ^= 0x10;
		missed += !damage_found(data, size);
		data[i] ^= 0x10;
	}
	ok(missed == 0, "every one of %zu flipped bytes is caught (%zu missed)", size, missed);
	for (size_t len = 0; len < size; len += len < 200 ? 1 : 97)
		cut += !damage_found(data, len);
	ok(cut == 0, "every truncation is caught");
	ok(posting_file_open("/nonexistent/postings.idx") == NULL, "a missing file is an error");
	sb_release(&bytes);
	free(path);
	for (int i = 0; i < 3; i++)
		free(lists[i]);
}

static void test_bits(void)
{
	uint64_t bits[3] = {UINT64_C(1) << 5 | 1, 0, UINT64_C(1) << 63};
	ok(posting_bits_count(bits, 3) == 3, "count");
	int64_t ids[4];
	size_t n = posting_bits_ids(bits, 3, false, ids, 4);
	ok(n == 3 && ids[0] == 0 && ids[1] == 5 && ids[2] == 191, "ids ascending");
	n = posting_bits_ids(bits, 3, true, ids, 2);
	ok(n == 2 && ids[0] == 191 && ids[1] == 5, "the top two, descending");
}

/* ---- the same answers both ways ---- */

static const char *const namespaces[] = {"", "look", "mood", "set"};
static const char *const kinds[] = {"character", "location", "prop", "style"};
static const char *const roles[] = {"sheet", "face", "pose", "prop", "generated"};
enum { CHARACTERS = 12, VALUES = 24, ASSETS = 1000 };

static void sql(sqlite3 *db, const char *text)
{
	char *err = NULL;
	if (sqlite3_exec(db, text, NULL, NULL, &err) != SQLITE_OK) {
		printf("# %s: %s\n", text, err);
		sqlite3_free(err);
		exit(1);
	}
}

/* Tags drawn so that a few are common and most rare, with values that
 * hold GLOB's own metacharacters. */
static void fill(sqlite3 *db)
{
	struct strbuf sb = STRBUF_INIT;
	sql(db, "BEGIN");
	for (int i = 0; i < VALUES * 4; i++) {
		const char *extra = i % 11 == 0 ? "?x" : i % 13 == 0 ? "[1]" : "";
		sb_reset(&sb);
		sb_addf(&sb, "INSERT INTO tags(id, ns, value) VALUES (%d, '%s', 'v%d%s')", i + 1,
			namespaces[i % 4], i / 4, extra);
		sql(db, sb.buf);
	}
	for (int c = 1; c <= CHARACTERS; c++) {
		sb_reset(&sb);
		sb_addf(&sb,
			"INSERT INTO characters(id, slug, name, kind, created, updated) "
			"VALUES (%d, 'c%d', 'C', '%s', 0, 0)",
			c, c, kinds[c % 4]);
		sql(db, sb.buf);
		for (int t = 0; t < 2; t++) {
			sb_reset(&sb);
			sb_addf(&sb, "INSERT OR IGNORE INTO character_tags VALUES (%d, %u)", c,
				1 + rnd(VALUES * 4));
			sql(db, sb.buf);
		}
	}
	for (int a = 1; a <= ASSETS; a++) {
		sb_reset(&sb);
		sb_addf(&sb,
			"INSERT INTO blobs(id, hash, bytes, added) VALUES (%d, '%032x', %u, 0)", a,
			a, rnd(1000));
		sql(db, sb.buf);
		sb_reset(&sb);
		/* One asset in five belongs to no character. */
		uint32_t c = rnd(CHARACTERS + 3);
		char character[16] = "NULL";
		if (c >= 1 && c <= CHARACTERS)
			snprintf(character, sizeof(character), "%u", c);
		sb_addf(&sb,
			"INSERT INTO assets(id, blob_id, character_id, role, width, height, "
			"format, added) VALUES (%d, %d, %s, '%s', %u, 10, 'png', %u)",
			a, a, character, roles[rnd(5)], rnd(50), rnd(20));
		sql(db, sb.buf);
		for (uint32_t t = rnd(6); t > 0; t--) {
			/* Squared, so the low tag ids are the common ones. */
			uint32_t r = rnd(VALUES * 4);
			sb_reset(&sb);
			sb_addf(&sb, "INSERT OR IGNORE INTO asset_tags VALUES (%d, %u)", a,
				1 + r * r / (VALUES * 4));
			sql(db, sb.buf);
		}
	}
	/* Gaps in the ids, as removal leaves them. */
	sql(db, "DELETE FROM assets WHERE id % 97 = 0");
	sql(db, "COMMIT");
	sb_release(&sb);
}

static const char *word(void)
{
	static char buf[64];
	const char *ns = namespaces[rnd(4)];
	switch (rnd(12)) {
	case 0:
		snprintf(buf, sizeof(buf), "character:c%u", 1 + rnd(CHARACTERS + 1));
		break;
	case 1:
		snprintf(buf, sizeof(buf), "role:%s", roles[rnd(5)]);
		break;
	case 2:
		snprintf(buf, sizeof(buf), "kind:%s", kinds[rnd(4)]);
		break;
	case 3:
		snprintf(buf, sizeof(buf), "%s%sv%u*", ns, *ns ? ":" : "", rnd(VALUES));
		break;
	case 4:
		snprintf(buf, sizeof(buf), "format:png");
		break;
	case 5:
		snprintf(buf, sizeof(buf), "width>%u", rnd(50));
		break;
	default:
		snprintf(buf, sizeof(buf), "%s%sv%u", ns, *ns ? ":" : "", rnd(VALUES / 3));
	}
	return buf;
}

/* A random query of the language's forms: juxtaposition, '-', OR and
 * groups, nested a few levels. */
static void random_query(struct strbuf *sb, int depth)
{
	int terms = 1 + (int)rnd(3);
	for (int t = 0; t < terms; t++) {
		if (t)
			sb_adds(sb, rnd(3) ? " " : " OR ");
		if (!rnd(3))
			sb_addc(sb, '-');
		if (depth < 3 && !rnd(4)) {
			sb_addc(sb, '(');
			random_query(sb, depth + 1);
			sb_addc(sb, ')');
		} else {
			sb_adds(sb, word());
		}
	}
}

static int collect(const struct asset *a, void *ctx)
{
	sb_addf(ctx, "%lld ", (long long)a->id);
	return 0;
}

/* Every answer to text, both ways: the count and five listings. */
static char *answers(struct catalog *cat, const char *text)
{
	static const struct query_options forms[] = {
	    {SORT_ID, false, 0},   {SORT_ID, false, 7},		{SORT_ID, true, 7},
	    {SORT_ADDED, true, 5}, {SORT_CHARACTER, false, 20},
	};
	struct strbuf sb = STRBUF_INIT;
	int64_t n = -1;
	if (catalog_query_count(cat, text, &n) < 0)
		sb_addf(&sb, "error %s", error_message());
	sb_addf(&sb, "count %lld;", (long long)n);
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		if (catalog_query(cat, text, &forms[i], collect, &sb) < 0)
			sb_addf(&sb, "error %s", error_message());
		sb_addc(&sb, ';');
	}
	return sb_detach(&sb);
}

/* How many of queries give different answers with the lists on and off;
 * served counts those the lists could answer. */
static size_t compare_all(struct catalog *cat, const struct strlist *queries, size_t *served)
{
	size_t differ = 0;
	*served = 0;
	for (size_t i = 0; i < queries->n; i++) {
		struct query *q = query_compile(queries->items[i]);
		*served += q && q->plan;
		query_free(q);
		setenv("TROUPE_POSTINGS", "off", 1);
		char *by_sql = answers(cat, queries->items[i]);
		setenv("TROUPE_POSTINGS", "on", 1);
		char *by_lists = answers(cat, queries->items[i]);
		if (strcmp(by_sql, by_lists)) {
			/* Where they part, not the whole of two long answers. */
			size_t at = 0;
			while (by_sql[at] == by_lists[at])
				at++;
			at = at > 40 ? at - 40 : 0;
			if (differ++ < 3)
				printf("# '%s'\n#   sql:   ...%.120s\n#   lists: ...%.120s\n",
				       queries->items[i], by_sql + at, by_lists + at);
		}
		free(by_sql);
		free(by_lists);
	}
	return differ;
}

static void test_both_ways(const char *dir)
{
	char *store = xasprintf("%s/.troupe", dir);
	bool existed;
	ok_or_bail(catalog_create(store, &existed) == 0, "a store");
	char *db_path = xasprintf("%s/troupe.db", store);
	sqlite3 *db;
	ok_or_bail(sqlite3_open(db_path, &db) == SQLITE_OK, "its index");
	/* As troupe's own connection has them: removing an asset takes its
	 * tags with it. */
	sql(db, "PRAGMA foreign_keys = ON");
	fill(db);
	struct catalog *cat = catalog_open(store);
	ok_or_bail(cat != NULL, "open it");

	static const char *const forms[] = {
	    "",
	    "v1",
	    "-v1",
	    "look:v2",
	    "look:*",
	    "*:v3",
	    "*",
	    "v1 v2",
	    "v1 -v2",
	    "v1 OR v2",
	    "-(v1 OR look:v2)",
	    "(v1 OR v2) (v3 OR -mood:v4)",
	    "character:c1",
	    "character:c*",
	    "-character:*",
	    "character:c1*",
	    "kind:prop",
	    "kind:*",
	    "-kind:character",
	    "role:face",
	    "role:f*",
	    "-role:face v1",
	    "role:face OR character:c2",
	    "v0?x",
	    "v0?*",
	    "v0[1]",
	    "v*[1]",
	    "- -v1",
	    "-(-(v1 OR -v2) role:pose)",
	    "((v1 OR (v2 -look:v3)) OR (kind:style -(role:sheet OR mood:*)))",
	    "nosuchtag",
	    "-nosuchtag",
	    "v1 OR nosuchtag",
	    "character:nobody",
	    "set:v5 OR -set:v5",
	    "format:png v1",
	    "width>10 v1",
	    "v1 OR width>5",
	    "-format:png",
	};
	struct strlist queries = {0};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		strlist_push(&queries, forms[i]);
	struct strbuf sb = STRBUF_INIT;
	for (int i = 0; i < 200; i++) {
		sb_reset(&sb);
		random_query(&sb, 0);
		strlist_push(&queries, sb.buf);
	}
	size_t served;
	size_t differ = compare_all(cat, &queries, &served);
	ok(differ == 0, "%zu queries, %zu of them for the lists: %zu answers differ", queries.n,
	   served, differ);
	ok(served > queries.n / 4, "most queries are ones the lists answer");
	char *path = xasprintf("%s/cache/postings.idx", store);
	struct stat st;
	ok(stat(path, &st) == 0, "the lists were made, beside the index");
	/* The rounds after this one: every fixed form and some random ones. */
	while (queries.n > sizeof(forms) / sizeof(forms[0]) + 60)
		free(queries.items[--queries.n]);

	/* Every kind of change to what a list holds, one at a time behind
	 * the file's back (another process's write, as far as this one can
	 * tell), each followed by the queries it changes the answer to. */
	static const char *const changes[] = {
	    "INSERT INTO asset_tags VALUES (5, 2), (6, 2), (7, 40)",
	    "DELETE FROM asset_tags WHERE tag_id = 3",
	    "UPDATE asset_tags SET tag_id = 40 WHERE tag_id = 2 AND asset_id < 300",
	    "INSERT OR IGNORE INTO character_tags VALUES (3, 5)",
	    "UPDATE character_tags SET tag_id = 3 WHERE tag_id = 5",
	    "DELETE FROM character_tags WHERE tag_id = 3",
	    "UPDATE assets SET character_id = 4 WHERE id % 10 = 1",
	    "UPDATE assets SET role = 'face' WHERE id % 10 = 2",
	    "DELETE FROM assets WHERE id % 10 = 3",
	    "INSERT INTO blobs(id, hash, bytes, added) VALUES (9001, printf('%032x', 9001), 1, 0);"
	    "INSERT INTO assets(id, blob_id, role, width, height, format, added) "
	    "VALUES (9001, 9001, 'face', 1, 1, 'png', 0)",
	};
	static const char *const touched[] = {
	    "",
	    "look:v0",
	    "set:v9",
	    "mood:v0",
	    "v1",
	    "v0?x",
	    "character:c4",
	    "kind:*",
	    "role:face",
	    "-role:face",
	    "-character:*",
	    "look:v0 OR -set:v9",
	    "-(mood:v0 OR v1) character:c3",
	};
	struct strlist few = {0};
	for (size_t i = 0; i < sizeof(touched) / sizeof(touched[0]); i++)
		strlist_push(&few, touched[i]);
	for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
		sql(db, changes[i]);
		differ = compare_all(cat, &few, &served);
		ok(differ == 0, "after %.50s: %zu answers differ", changes[i], differ);
	}
	strlist_clear(&few);
	differ = compare_all(cat, &queries, &served);
	ok(differ == 0, "after them all, every form: %zu answers differ", differ);

	/* A list damaged in place, its header intact: the answer still comes
	 * out right (by SQL), and the next query makes the file again. */
	FILE *fp = fopen(path, "r+b");
	ok_or_bail(fp != NULL, "open the file to damage it");
	fseek(fp, 0, SEEK_END);
	long size = ftell(fp);
	for (long at = size / 2; at < size; at += 64) {
		fseek(fp, at, SEEK_SET);
		fputc(0xa5, fp);
	}
	fclose(fp);
	differ = compare_all(cat, &queries, &served);
	ok(differ == 0, "with the file damaged: %zu answers differ", differ);
	ok(stat(path, &st) == 0, "and the file was made again");

	setenv("TROUPE_POSTINGS", "sometimes", 1);
	int64_t n;
	ok(catalog_query_count(cat, "v1", &n) < 0 && error_code() == EX_CONFIG,
	   "TROUPE_POSTINGS must be on or off");
	unsetenv("TROUPE_POSTINGS");

	strlist_clear(&queries);
	sb_release(&sb);
	free(path);
	catalog_close(cat);
	sqlite3_close(db);
	free(db_path);
	free(store);
}

int main(void)
{
	char *dir = temp_template("posting");
	ok_or_bail(mkdtemp(dir) != NULL, "temporary directory");
	test_file(dir);
	test_bits();
	test_both_ways(dir);
	char *cmd = xasprintf("rm -rf '%s'", dir);
	ok(system(cmd) == 0, "clean up");
	free(cmd);
	free(dir);
	return tap_done();
}
