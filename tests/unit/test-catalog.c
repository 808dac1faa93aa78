/* Unit tests for the catalog rooms against a real temporary store:
 * characters with aliases and tags, adding real pictures, resolving an
 * asset by id and hash prefix, queries, tags, removal, the request log
 * embeddings and the ids services gave uploads. Each check names the
 * rule it would catch breaking. */
#include "config.h"

#include "asset.h"
#include "catalog.h"
#include "character.h"
#include "embedding.h"
#include "image.h"
#include "ingest.h"
#include "query.h"
#include "reqlog.h"
#include "service-ids.h"
#include "store.h"
#include "tap.h"
#include "thumbnail.h"
#include "util.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *photos;

static char *photo(const char *name)
{
	return xasprintf("%s/%s", photos, name);
}

static struct strlist list_of(const char *a, const char *b)
{
	struct strlist l = {0};
	if (a)
		strlist_push(&l, a);
	if (b)
		strlist_push(&l, b);
	return l;
}

static bool has_item(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->items[i], s) == 0)
			return true;
	return false;
}

/* ---- what the callbacks collect ---- */

struct ids {
	int64_t v[16];
	size_t n;
};

static int collect(const struct asset *a, void *ctx)
{
	struct ids *s = ctx;
	if (s->n < 16)
		s->v[s->n++] = a->id;
	return 0;
}

static struct ids run_query(struct catalog *cat, const char *text, enum query_sort sort,
			    bool descending, int64_t limit)
{
	struct ids s = {{0}, 0};
	struct query_options qo = {sort, descending, limit};
	if (catalog_query(cat, text, &qo, collect, &s) < 0)
		s.n = (size_t)-1;
	return s;
}

static int64_t count_of(struct catalog *cat, const char *text)
{
	int64_t n = -1;
	if (catalog_query_count(cat, text, &n) < 0)
		return -1;
	return n;
}

struct hits {
	int64_t id[8];
	float score[8];
	size_t n;
};

static int collect_hit(const struct asset *a, float score, void *ctx)
{
	struct hits *h = ctx;
	if (h->n < 8) {
		h->id[h->n] = a->id;
		h->score[h->n++] = score;
	}
	return 0;
}

/* The model's state for an asset, or -1 when asking failed. */
static int embedding_state(struct catalog *cat, int64_t asset_id, const char *model)
{
	enum embedding_state state;
	return catalog_embedding_has(cat, asset_id, model, &state) < 0 ? -1 : (int)state;
}

struct logs {
	struct log_entry e[4];
	size_t n;
};

static int collect_log(const struct log_entry *e, void *ctx)
{
	struct logs *l = ctx;
	if (l->n >= 4)
		return 1;
	struct log_entry *c = &l->e[l->n++];
	memset(c, 0, sizeof(*c));
	c->id = e->id;
	c->kind = xstrdup(e->kind);
	c->status = xstrdup(e->status);
	c->http_status = e->http_status;
	c->duration_ms = e->duration_ms;
	for (size_t i = 0; i < e->characters.n; i++)
		strlist_push(&c->characters, e->characters.items[i]);
	c->refs = xcalloc(e->nrefs ? e->nrefs : 1, sizeof(*c->refs));
	for (size_t i = 0; i < e->nrefs; i++) {
		c->refs[i].asset_id = e->refs[i].asset_id;
		c->refs[i].source_hash = xstrdup(e->refs[i].source_hash);
		c->refs[i].sent_hash = xstrdup(e->refs[i].sent_hash);
		c->refs[i].tag = e->refs[i].tag ? xstrdup(e->refs[i].tag) : NULL;
	}
	c->nrefs = e->nrefs;
	c->outputs = xcalloc(e->noutputs ? e->noutputs : 1, sizeof(*c->outputs));
	for (size_t i = 0; i < e->noutputs; i++) {
		c->outputs[i].asset_id = e->outputs[i].asset_id;
		c->outputs[i].hash = xstrdup(e->outputs[i].hash);
		c->outputs[i].url = e->outputs[i].url ? xstrdup(e->outputs[i].url) : NULL;
	}
	c->noutputs = e->noutputs;
	return 0;
}

static void logs_clear(struct logs *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->e[i].kind);
		free(l->e[i].status);
		strlist_clear(&l->e[i].characters);
		for (size_t r = 0; r < l->e[i].nrefs; r++) {
			free(l->e[i].refs[r].source_hash);
			free(l->e[i].refs[r].sent_hash);
			free(l->e[i].refs[r].tag);
		}
		free(l->e[i].refs);
		for (size_t o = 0; o < l->e[i].noutputs; o++) {
			free(l->e[i].outputs[o].hash);
			free(l->e[i].outputs[o].url);
		}
		free(l->e[i].outputs);
	}
	l->n = 0;
}

static int count_vectors(int64_t id, const char *slug, const float *v, void *ctx)
{
	(void)id;
	(void)slug;
	(void)v;
	++*(int *)ctx;
	return 0;
}

static void tick(size_t done, void *ctx)
{
	*(size_t *)ctx = done;
}

static int count_similar(const struct asset *a, int distance, void *ctx)
{
	(void)a;
	if (distance == 0)
		++*(int *)ctx;
	return 0;
}

/* ---- the parts ---- */

static void test_slugs(void)
{
	ok(catalog_slug_check("mei") == 0 && catalog_slug_check("mei-2") == 0,
	   "letters, digits and '-' make a slug");
	char longest[66];
	memset(longest, 'a', 64);
	longest[64] = '\0';
	ok(catalog_slug_check(longest) == 0, "64 characters are allowed");
	longest[64] = 'a';
	longest[65] = '\0';
	ok(catalog_slug_check(longest) < 0, "65 are not");
	ok(catalog_slug_check("") < 0 && error_code() == EX_DATAERR, "an empty slug is refused");
	ok(catalog_slug_check("Mei") < 0, "upper case is refused");
	ok(catalog_slug_check("-mei") < 0, "a leading '-' is refused");
	ok(catalog_slug_check("me i") < 0 && catalog_slug_check("mei'") < 0,
	   "spaces and quotes are refused");
}

static void test_characters(struct catalog *cat)
{
	struct character c = {.slug = "mei", .name = "Mei", .description = "a swordswoman"};
	c.has_seed = true;
	c.seed = 42;
	c.tags = list_of("Look:Winter", NULL);
	c.aliases = list_of("Meimei", NULL);
	ok(catalog_character_new(cat, &c) == 0, "character new");
	ok(catalog_character_new(cat, &c) < 0 && error_code() == EX_DATAERR,
	   "a second character with the slug is refused");
	strlist_clear(&c.tags);
	strlist_clear(&c.aliases);

	struct character bad = {.slug = "Nova"};
	ok(catalog_character_new(cat, &bad) < 0, "new checks the slug");
	struct character reserved = {.slug = "rex"};
	reserved.tags = list_of("role:hero", NULL);
	ok(catalog_character_new(cat, &reserved) < 0 && error_code() == EX_DATAERR,
	   "a tag in a query field's namespace is refused");
	strlist_clear(&reserved.tags);
	ok(catalog_character_get(cat, "rex") == NULL, "and the character was not made");

	struct character nova = {.slug = "nova"};
	nova.aliases = list_of("n", NULL);
	ok(catalog_character_new(cat, &nova) == 0, "a second character, with only a slug");
	strlist_clear(&nova.aliases);

	struct character *got = catalog_character_get(cat, "mei");
	ok(got != NULL, "get by slug");
	if (got) {
		is_str(got->name, "Mei", "name stored");
		is_str(got->description, "a swordswoman", "description stored");
		ok(got->has_seed && got->seed == 42, "seed stored");
		ok(got->tags.n == 1 && strcmp(got->tags.items[0], "look:winter") == 0,
		   "tags normalised");
		ok(got->aliases.n == 1 && strcmp(got->aliases.items[0], "Meimei") == 0,
		   "alias kept as typed");
	}
	character_free(got);
	got = catalog_character_get(cat, "nova");
	ok(got && strcmp(got->name, "nova") == 0 && !got->has_seed,
	   "the name defaults to the slug");
	character_free(got);

	got = catalog_character_get(cat, "Meimei");
	ok(got && strcmp(got->slug, "mei") == 0, "get by alias");
	character_free(got);
	char *slug = catalog_character_slug(cat, "n");
	is_str(slug, "nova", "the slug an alias names");
	free(slug);
	ok(catalog_character_get(cat, "nobody") == NULL && error_code() == EX_NOINPUT,
	   "an unknown character is EX_NOINPUT");

	struct character_edit e = {.description = "a retired swordswoman", .clear_seed = true};
	e.add_tags = list_of("hair:black", NULL);
	e.remove_tags = list_of("look:winter", NULL);
	e.add_aliases = list_of("m", NULL);
	e.remove_aliases = list_of("Meimei", NULL);
	ok(catalog_character_edit(cat, "mei", &e) == 0, "edit");
	got = catalog_character_get(cat, "m");
	ok(got != NULL, "found by its new alias");
	if (got) {
		is_str(got->description, "a retired swordswoman", "description edited");
		ok(!got->has_seed, "seed cleared");
		ok(got->tags.n == 1 && strcmp(got->tags.items[0], "hair:black") == 0,
		   "tag added and tag removed");
		ok(got->aliases.n == 1 && strcmp(got->aliases.items[0], "m") == 0,
		   "alias added and alias removed");
	}
	character_free(got);
	ok(catalog_character_get(cat, "Meimei") == NULL, "the removed alias names nobody");
	strlist_clear(&e.add_tags);
	strlist_clear(&e.remove_tags);
	strlist_clear(&e.add_aliases);
	strlist_clear(&e.remove_aliases);

	struct character_edit clash = {0};
	clash.add_aliases = list_of("n", NULL);
	catalog_character_edit(cat, "mei", &clash);
	strlist_clear(&clash.add_aliases);
	slug = catalog_character_slug(cat, "n");
	is_str(slug, "nova", "an alias of another character never moves to this one");
	free(slug);

	struct character_edit empty = {.description = "changed"};
	empty.add_aliases = list_of("", NULL);
	ok(catalog_character_edit(cat, "mei", &empty) < 0 && error_code() == EX_DATAERR,
	   "an empty alias is refused");
	strlist_clear(&empty.add_aliases);
	got = catalog_character_get(cat, "mei");
	ok(got && strcmp(got->description, "a retired swordswoman") == 0,
	   "a refused edit changes nothing (one transaction)");
	character_free(got);

	struct character_edit rename = {.slug = "nova"};
	ok(catalog_character_edit(cat, "mei", &rename) < 0 && error_code() == EX_DATAERR,
	   "renaming onto another slug is refused");

	struct character **all;
	size_t n;
	ok(catalog_character_list(cat, NULL, &all, &n) == 0 && n == 2, "list");
	if (n == 2)
		ok(strcmp(all[0]->slug, "mei") == 0 && strcmp(all[1]->slug, "nova") == 0,
		   "ordered by slug");
	for (size_t i = 0; i < n; i++)
		character_free(all[i]);
	free(all);
}

struct added {
	int64_t mei, nova, camera, chelsea, generated;
	char mei_hash[STORE_HASH_HEX + 1], camera_hash[STORE_HASH_HEX + 1];
};

static int64_t add_one(struct catalog *cat, const char *slug, const char *role,
		       const struct strlist *tags, const char *file, char *hash, bool *existed)
{
	char *path = photo(file);
	int64_t id = -1;
	struct add_batch *b = catalog_add_begin(cat, slug, role, tags);
	if (b && catalog_add_file(b, path) == 0 && catalog_add_commit(b) == 0) {
		const char *h, *p;
		catalog_add_result(b, 0, &id, &h, &p, existed);
		if (hash)
			snprintf(hash, STORE_HASH_HEX + 1, "%s", h);
	}
	catalog_add_free(b);
	free(path);
	return id;
}

static void test_add(struct catalog *cat, struct added *a)
{
	struct strlist red = list_of("Look:Red", NULL);
	ok(catalog_add_begin(cat, "mei", "hero", &red) == NULL && error_code() == EX_USAGE,
	   "an unknown role is refused");
	ok(catalog_add_begin(cat, "nobody", "face", &red) == NULL && error_code() == EX_NOINPUT,
	   "an unknown character is refused");
	struct strlist field = list_of("format:png", NULL);
	ok(catalog_add_begin(cat, "mei", "face", &field) == NULL && error_code() == EX_DATAERR,
	   "a tag in a query field's namespace is refused");
	strlist_clear(&field);

	struct add_batch *b = catalog_add_begin(cat, "mei", "face", &red);
	char *license = photo("LICENSE.md");
	ok(b && catalog_add_file(b, license) < 0, "a file that is not a picture is refused");
	ok(b && catalog_add_count(b) == 0, "and nothing was staged");
	catalog_add_free(b);
	free(license);

	bool existed = true;
	a->mei = add_one(cat, "m", "face", &red, "astronaut.jpg", a->mei_hash, &existed);
	ok(a->mei > 0 && !existed, "add a picture to a character named by alias");
	char *path = photo("astronaut.jpg");
	char want[STORE_HASH_HEX + 1];
	ok(store_hash_file(path, want) == 0 && strcmp(want, a->mei_hash) == 0,
	   "its hash is the file's XXH3-128");
	free(path);
	int64_t again = add_one(cat, "mei", "face", &red, "astronaut.jpg", NULL, &existed);
	ok(again == a->mei && existed, "the same file again is the same asset");
	strlist_clear(&red);

	a->nova = add_one(cat, "nova", "face", NULL, "astronaut.jpg", NULL, &existed);
	ok(a->nova > 0 && a->nova != a->mei && !existed,
	   "the same bytes for another character are another asset");

	/* Two files through the thread pool that decodes ahead. */
	char *paths[2] = {photo("camera.jpg"), photo("chelsea.jpg")};
	b = catalog_add_begin(cat, NULL, "reference", NULL);
	size_t ticked = 0;
	catalog_add_prepare(b, paths, 2, tick, &ticked);
	ok(ticked == 2, "progress reaches every file");
	ok_or_bail(catalog_add_file(b, paths[0]) == 0 && catalog_add_file(b, paths[1]) == 0 &&
		       catalog_add_count(b) == 2 && catalog_add_commit(b) == 0,
		   "add two prepared files in one batch");
	const char *h, *p;
	catalog_add_result(b, 0, &a->camera, &h, &p, &existed);
	snprintf(a->camera_hash, sizeof(a->camera_hash), "%s", h);
	is_str(p, paths[0], "results follow the order of the files");
	catalog_add_result(b, 1, &a->chelsea, &h, &p, &existed);
	ok(a->chelsea > a->camera, "ids in that order too");
	catalog_add_free(b);
	free(paths[0]);
	free(paths[1]);

	struct asset *got = catalog_asset_get(cat, a->mei);
	ok(got != NULL, "asset get");
	if (got) {
		is_str(got->character, "mei", "its character");
		is_str(got->role, "face", "its role");
		is_str(got->format, "jpeg", "its format");
		ok(got->width > 0 && got->height > 0 && got->bytes > 0, "its size");
		ok(got->tags.n == 1 && strcmp(got->tags.items[0], "look:red") == 0, "its tags");
		is_str(got->source, "astronaut.jpg", "the file it came from");
		ok(got->path && access(got->path, R_OK) == 0, "its blob is in the store");
	}
	asset_free(got);
	got = catalog_asset_get(cat, a->camera);
	ok(got && got->character == NULL, "an asset may have no character");
	asset_free(got);
	ok(catalog_asset_get(cat, 9999) == NULL && error_code() == EX_NOINPUT,
	   "an unknown id is EX_NOINPUT");

	char *thumb = catalog_thumbnail(cat, a->mei);
	ok(thumb && access(thumb, R_OK) == 0, "the thumbnail made at add is stored");
	free(thumb);
	uint64_t ph;
	int same = 0;
	ok(catalog_asset_phash(cat, a->mei, &ph) == 0 &&
	       catalog_similar(cat, ph, 0, 0, count_similar, &same) == 0 && same == 2,
	   "similar at distance 0 finds both assets of the same bytes");
}

static void test_resolve(struct catalog *cat, const struct added *a)
{
	int64_t id = 0;
	char ref[40];
	snprintf(ref, sizeof(ref), "#%lld", (long long)a->camera);
	ok(catalog_asset_resolve(cat, ref, &id) == 0 && id == a->camera, "resolve #ID");
	snprintf(ref, sizeof(ref), "%lld", (long long)a->camera);
	id = 0;
	ok(catalog_asset_resolve(cat, ref, &id) == 0 && id == a->camera, "resolve a bare id");
	id = 0;
	ok(catalog_asset_resolve(cat, a->camera_hash, &id) == 0 && id == a->camera,
	   "resolve a whole hash");
	snprintf(ref, sizeof(ref), "%.8s", a->camera_hash);
	for (char *c = ref; *c; c++)
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 'a' + 'A');
	id = 0;
	ok(catalog_asset_resolve(cat, ref, &id) == 0 && id == a->camera,
	   "resolve an 8-digit prefix, in upper case too");

	snprintf(ref, sizeof(ref), "%.10s", a->mei_hash);
	ok(catalog_asset_resolve(cat, ref, &id) < 0 && error_code() == EX_USAGE,
	   "a prefix of bytes two assets share is ambiguous");
	char mei_id[24], nova_id[24];
	snprintf(mei_id, sizeof(mei_id), "#%lld", (long long)a->mei);
	snprintf(nova_id, sizeof(nova_id), "#%lld", (long long)a->nova);
	ok(strstr(error_message(), mei_id) && strstr(error_message(), nova_id),
	   "and the error names both ids");

	ok(catalog_asset_resolve(cat, "#12x", &id) < 0 && error_code() == EX_USAGE,
	   "'#' must be followed by digits only");
	ok(catalog_asset_resolve(cat, "#9999", &id) < 0 && error_code() == EX_NOINPUT,
	   "an unknown id is EX_NOINPUT");
	ok(catalog_asset_resolve(cat, "1234567", &id) < 0 && error_code() == EX_NOINPUT,
	   "seven digits are an id, and an unknown one");
	ok(catalog_asset_resolve(cat, "abc", &id) < 0 && error_code() == EX_USAGE,
	   "three hex digits are neither an id nor a prefix");
	ok(catalog_asset_resolve(cat, "zzzzzzzzz", &id) < 0 && error_code() == EX_USAGE,
	   "a word that is not hex is refused");
	/* The camera's prefix with its eighth digit changed: no stored hash
	 * starts so (the pictures are fixed, and so are their hashes). */
	char none[9];
	snprintf(none, sizeof(none), "%.8s", a->camera_hash);
	none[7] = none[7] == '0' ? '1' : '0';
	ok(catalog_asset_resolve(cat, none, &id) < 0 && error_code() == EX_NOINPUT,
	   "a prefix of no hash is EX_NOINPUT");
}

static void test_query(struct catalog *cat, const struct added *a)
{
	struct ids s = run_query(cat, "character:mei", SORT_ID, false, 0);
	ok(s.n == 1 && s.v[0] == a->mei, "query by character");
	s = run_query(cat, "role:face", SORT_ID, false, 0);
	ok(s.n == 2 && s.v[0] == a->mei && s.v[1] == a->nova, "query by role, in id order");
	s = run_query(cat, "look:red", SORT_ID, false, 0);
	ok(s.n == 1 && s.v[0] == a->mei, "query by an asset's tag");
	s = run_query(cat, "hair:black", SORT_ID, false, 0);
	ok(s.n == 1 && s.v[0] == a->mei, "a character's tag matches its assets");
	s = run_query(cat, "-role:face", SORT_ID, false, 0);
	ok(s.n == 2 && s.v[0] == a->camera, "negation");
	s = run_query(cat, "", SORT_ID, true, 1);
	ok(s.n == 1 && s.v[0] == a->chelsea, "descending with a limit gives the newest");
	s = run_query(cat, "", SORT_CHARACTER, false, 0);
	ok(s.n == 4 && s.v[0] == a->mei && s.v[1] == a->nova && s.v[2] == a->camera,
	   "by character: slugs in order, no character last");
	ok(run_query(cat, "(role:face", SORT_ID, false, 0).n == (size_t)-1 &&
	       error_code() == EX_USAGE,
	   "a syntax error is EX_USAGE");

	ok(count_of(cat, "") == 4, "count of everything");
	ok(count_of(cat, "character:mei OR character:nova") == 2, "count of an OR");
	ok(count_of(cat, "character:*") == 2, "count of any character");
	ok(count_of(cat, "nothing:here") == 0, "count of no match");

	struct query_options qo = {SORT_ID, false, 0};
	ok(query_sort_parse("-width", &qo) == 0 && qo.sort == SORT_WIDTH && qo.descending,
	   "sort keys parse, '-' for descending");
	ok(query_sort_parse("colour", &qo) < 0 && error_code() == EX_USAGE,
	   "an unknown sort key is refused");
}

static void test_tags(struct catalog *cat, const struct added *a)
{
	struct strlist add = list_of("Shot:One", NULL);
	ok(catalog_asset_tag(cat, &a->camera, 1, &add, NULL) == 0, "tag an asset");
	struct asset *got = catalog_asset_get(cat, a->camera);
	ok(got && has_item(&got->tags, "shot:one"), "the tag is normalised and there");
	asset_free(got);
	ok(count_of(cat, "shot:one") == 1, "and a query finds it");
	ok(catalog_asset_tag(cat, &a->camera, 1, NULL, &add) == 0, "untag it");
	got = catalog_asset_get(cat, a->camera);
	ok(got && got->tags.n == 0, "the tag is gone");
	asset_free(got);
	strlist_clear(&add);

	struct strlist mixed = list_of("ok:yes", "hash:abc");
	int64_t both[2] = {a->camera, a->mei};
	ok(catalog_asset_tag(cat, both, 2, &mixed, NULL) < 0 && error_code() == EX_DATAERR,
	   "a reserved namespace among the tags is refused");
	ok(count_of(cat, "ok:yes") == 0, "and no tag was applied (one transaction)");
	strlist_clear(&mixed);
}

static void test_reqlog(struct catalog *cat, struct added *a)
{
	struct strlist slugs = list_of("mei", NULL);
	struct request_ref_row ref = {a->mei, "0123456789abcdef0123456789abcdef", "ref1"};
	int64_t first = catalog_request_begin(cat, "inject", "kling-image", "@mei waves", "{}",
					      "running", &slugs, &ref, 1);
	ok(first > 0, "request begin");
	ok(catalog_request_finish(cat, first, "succeeded", 200, "{\"done\":1}", NULL, 12) == 0,
	   "request finish");
	strlist_clear(&slugs);
	int64_t second = catalog_request_begin(cat, "generate", "runway", "@nova", "{}", "running",
					       NULL, NULL, 0);
	ok(second > first, "a second request");

	/* Its output, linked in the same transaction as the asset row. */
	char *coffee = photo("coffee.jpg");
	struct strlist urls = list_of("https://example.com/out.png", NULL);
	struct add_batch *b = catalog_add_begin(cat, "nova", "generated", NULL);
	catalog_add_link_request(b, second, &urls);
	int64_t out = -1;
	if (b && catalog_add_file(b, coffee) == 0 && catalog_add_commit(b) == 0) {
		const char *h, *p;
		bool existed;
		catalog_add_result(b, 0, &out, &h, &p, &existed);
	}
	a->generated = out;
	catalog_add_free(b);
	strlist_clear(&urls);
	free(coffee);
	ok(out > 0, "add an output of the request");

	struct logs l = {.n = 0};
	ok(catalog_log(cat, NULL, NULL, 0, collect_log, &l) == 0 && l.n == 2, "log lists both");
	if (l.n == 2) {
		ok(l.e[0].id == second && l.e[1].id == first, "newest first");
		is_str(l.e[1].kind, "inject", "kind");
		is_str(l.e[1].status, "succeeded", "status set by finish");
		ok(l.e[1].http_status == 200 && l.e[1].duration_ms == 12,
		   "HTTP status and duration");
		ok(l.e[1].characters.n == 1 && strcmp(l.e[1].characters.items[0], "mei") == 0,
		   "its characters");
		ok(l.e[1].nrefs == 1, "one reference");
		if (l.e[1].nrefs == 1) {
			const struct log_ref *r = &l.e[1].refs[0];
			ok(r->asset_id == a->mei && r->tag && strcmp(r->tag, "ref1") == 0,
			   "the reference's asset and tag");
			is_str(r->source_hash, a->mei_hash, "the reference with its source hash");
			is_str(r->sent_hash, "0123456789abcdef0123456789abcdef",
			       "and the hash of the derivative sent");
		}
		is_str(l.e[0].status, "running", "an unfinished request stays running");
		ok(l.e[0].noutputs == 1, "the output is linked");
	}
	logs_clear(&l);
	ok(catalog_log(cat, NULL, NULL, 1, collect_log, &l) == 0 && l.n == 1 && l.e[0].id == second,
	   "a limit keeps the newest");
	logs_clear(&l);
	ok(catalog_log(cat, "m", NULL, 0, collect_log, &l) == 0 && l.n == 1 && l.e[0].id == first,
	   "only a character's requests, named by alias");
	logs_clear(&l);
	ok(catalog_log(cat, NULL, "runway", 0, collect_log, &l) == 0 && l.n == 1 &&
	       l.e[0].id == second,
	   "only a profile's requests");
	logs_clear(&l);
	ok(catalog_log(cat, "nobody", NULL, 0, collect_log, &l) < 0 && error_code() == EX_NOINPUT,
	   "an unknown character is an error, not an empty log");
	logs_clear(&l);

	struct log_entry *made = NULL;
	ok(catalog_asset_request(cat, out, &made) == 0 && made && made->id == second,
	   "the request that made an asset");
	log_entry_free(made);
	made = NULL;
	ok(catalog_asset_request(cat, a->camera, &made) == 0 && made == NULL,
	   "an asset that was not generated has none");
}

static void test_embeddings(struct catalog *cat, const struct added *a)
{
	const char *model = "test-clip";
	struct model_info m;
	ok(catalog_model_get(cat, model, &m) < 0 && error_code() == EX_NOINPUT,
	   "a model with no vectors yet is EX_NOINPUT");
	float v[3] = {3, 4, 0};
	ok(catalog_embedding_put(cat, a->mei, model, v, 3, NULL) == 0, "put a vector");
	float *back = NULL;
	uint32_t dim = 0;
	ok(catalog_embedding_get(cat, a->mei, model, &back, &dim) == 0 && dim == 3 && back &&
	       fabsf(back[0] - 0.6f) < 1e-6f && fabsf(back[1] - 0.8f) < 1e-6f,
	   "it comes back at unit length");
	free(back);
	float wide[4] = {1, 0, 0, 0};
	ok(catalog_embedding_put(cat, a->camera, model, wide, 4, NULL) < 0 &&
	       error_code() == EX_DATAERR,
	   "the first vector fixes the model's dimension");
	ok(catalog_model_get(cat, model, &m) == 0 && m.dimension == 3 && m.vectors == 1,
	   "the model counts its vectors");
	float nan3[3] = {NAN, 0, 0};
	ok(catalog_embedding_put(cat, a->camera, model, nan3, 3, NULL) < 0, "a non-finite vector");
	float x[3] = {1, 0, 0}, y[3] = {0, 1, 0};
	ok(catalog_embedding_put(cat, a->camera, "Bad Model", x, 3, NULL) < 0 &&
	       error_code() == EX_USAGE,
	   "a model name is checked");
	ok(catalog_embedding_put(cat, 9999, model, x, 3, NULL) < 0 && error_code() == EX_NOINPUT,
	   "a vector for no asset");
	ok(catalog_embedding_get(cat, a->camera, model, &back, &dim) < 0 &&
	       error_code() == EX_NOINPUT,
	   "an asset with no vector is EX_NOINPUT");

	ok(catalog_begin(cat) == 0 &&
	       catalog_embedding_put(cat, a->camera, model, x, 3, NULL) == 0 &&
	       catalog_end(cat, false) == 0,
	   "a put inside a transaction that is rolled back");
	ok(embedding_state(cat, a->camera, model) == EMBEDDING_NONE, "leaves no vector");
	ok(catalog_embedding_put(cat, a->camera, model, x, 3, NULL) == 0 &&
	       catalog_embedding_put(cat, a->nova, model, y, 3, NULL) == 0,
	   "two more vectors");

	struct hits h = {.n = 0};
	float q[3] = {1, 0, 0};
	ok(catalog_nearest(cat, model, q, 3, 2, NULL, collect_hit, &h) == 0 && h.n == 2,
	   "nearest gives k assets");
	if (h.n == 2)
		ok(h.id[0] == a->camera && fabsf(h.score[0] - 1) < 1e-5f && h.id[1] == a->mei &&
		       fabsf(h.score[1] - 0.6f) < 1e-5f,
		   "by cosine similarity, nearest first");
	h.n = 0;
	ok(catalog_nearest(cat, model, q, 3, 3, "character:nova", collect_hit, &h) == 0 &&
	       h.n == 1 && h.id[0] == a->nova,
	   "only among what a query selects");
	float q2[2] = {1, 0};
	ok(catalog_nearest(cat, model, q2, 2, 1, NULL, collect_hit, &h) < 0 &&
	       error_code() == EX_DATAERR,
	   "a query of another dimension is refused");

	int64_t generated = a->generated;
	ok(catalog_embedding_missed(cat, generated, model, "no face") == 0 &&
	       embedding_state(cat, generated, model) == EMBEDDING_MISSED,
	   "a miss is remembered");
	ok(catalog_embedding_put(cat, generated, model, y, 3, NULL) == 0 &&
	       embedding_state(cat, generated, model) == EMBEDDING_VECTOR,
	   "a vector replaces the miss");
	ok(embedding_state(cat, a->mei, model) == EMBEDDING_VECTOR, "has a vector");

	int n = 0;
	ok(catalog_embeddings(cat, model, NULL, count_vectors, &n) == 0 && n == 3,
	   "every vector but those of generated assets");
	n = 0;
	ok(catalog_embeddings(cat, model, "mei", count_vectors, &n) == 0 && n == 1,
	   "a character's vectors");
}

/* The model's generation counter, read on a connection of its own. */
static int64_t generation_of(struct catalog *cat, const char *model)
{
	char *path = xasprintf("%s/troupe.db", catalog_root(cat));
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	int64_t g = -1;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT generation FROM models WHERE name = ?1", -1, &stmt,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_text(stmt, 1, model, -1, SQLITE_STATIC);
		if (sqlite3_step(stmt) == SQLITE_ROW)
			g = sqlite3_column_int64(stmt, 0);
	}
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	free(path);
	return g;
}

/* A model's network: recorded by the first vector that names it, never
 * mixed with another's, replaced whole by a reset. */
static void test_model_identity(struct catalog *cat, const struct added *a)
{
	const char *model = "test-face";
	float v[4] = {1, 0, 0, 0}, w[4] = {0, 1, 0, 0};
	struct embedding_meta human = {.network = "human-faceres",
				       .version = "3.3.6",
				       .has_box = true,
				       .box = {0.25, 0.1, 0.5, 0.4},
				       .has_score = true,
				       .score = 0.97,
				       .faces = 2};
	ok(catalog_embedding_put(cat, a->mei, model, v, 4, &human) == 0,
	   "a vector that names its network");
	struct model_info m;
	ok(catalog_model_get(cat, model, &m) == 0 && !strcmp(m.network, "human-faceres") &&
	       !strcmp(m.version, "3.3.6"),
	   "the model records the network and its version");
	double box[4];
	int faces = 0;
	ok(catalog_embedding_box(cat, a->mei, model, box, &faces) == 0 && box[0] == 0.25 &&
	       box[3] == 0.4 && faces == 2,
	   "the face's box is kept with the vector");
	struct embedding_meta other = {.network = "face-api-resnet34", .version = "1.7.15"};
	ok(catalog_embedding_put(cat, a->camera, model, w, 4, &other) < 0 &&
	       error_code() == EX_DATAERR && strstr(error_message(), "human-faceres 3.3.6") &&
	       strstr(error_message(), "--reembed"),
	   "a vector of another network is refused, naming both and the way out");
	struct embedding_meta newer = {.network = "human-faceres", .version = "3.4.0"};
	ok(catalog_embedding_put(cat, a->camera, model, w, 4, &newer) < 0 &&
	       error_code() == EX_DATAERR,
	   "and one of another version of it");
	ok(catalog_embedding_put(cat, a->camera, model, w, 4, NULL) == 0,
	   "a vector that names no network joins (an import)");
	ok(catalog_embedding_box(cat, a->camera, model, box, &faces) < 0 &&
	       error_code() == EX_NOINPUT,
	   "and has no box");
	ok(catalog_model_get(cat, model, &m) == 0 &&
	       catalog_model_accepts(&m, "human-faceres", "3.3.6", 4) == 0 &&
	       catalog_model_accepts(&m, NULL, NULL, 4) == 0 &&
	       catalog_model_accepts(&m, "human-faceres", "3.3.6", 128) < 0,
	   "accepts: the same network, an unnamed one, not another dimension");
	int64_t generation = generation_of(cat, model);
	ok(generation > 0, "the generation before a reset");
	float u[2] = {1, 1};
	ok(catalog_begin(cat) == 0 &&
	       catalog_model_reset(cat, model, 2, "face-api-resnet34", "1.7.15") == 0 &&
	       catalog_embedding_put(cat, a->mei, model, u, 2, &other) == 0 &&
	       catalog_end(cat, true) == 0,
	   "a reset and the new network's vectors in one transaction");
	ok(catalog_model_get(cat, model, &m) == 0 && m.vectors == 1 && m.dimension == 2 &&
	       !strcmp(m.network, "face-api-resnet34") && !m.has_threshold &&
	       generation_of(cat, model) > generation,
	   "the model is the new network's alone, and its generation moved on");
	ok(catalog_begin(cat) == 0 &&
	       catalog_model_reset(cat, model, 4, "human-faceres", "3.3.6") == 0 &&
	       catalog_end(cat, false) == 0 && catalog_model_get(cat, model, &m) == 0 &&
	       m.vectors == 1 && m.dimension == 2,
	   "a reset rolled back leaves the vectors as they were");
}

static void test_rm(struct catalog *cat, const struct added *a)
{
	int64_t before = count_of(cat, "");
	ok(catalog_asset_rm(cat, &a->camera, 1) == 0, "rm an asset");
	ok(catalog_asset_get(cat, a->camera) == NULL && error_code() == EX_NOINPUT, "it is gone");
	ok(count_of(cat, "") == before - 1, "and no longer counted");
	struct hits h = {.n = 0};
	float q[3] = {1, 0, 0};
	ok(catalog_nearest(cat, "test-clip", q, 3, 8, NULL, collect_hit, &h) == 0 && h.n == 3 &&
	       h.id[0] != a->camera,
	   "its vector went with it");

	int64_t removed = -1;
	ok(catalog_character_rm(cat, "mei", false, &removed) < 0 && error_code() == EX_DATAERR,
	   "rm refuses a character that has assets");
	struct character *c = catalog_character_get(cat, "mei");
	ok(c != NULL, "and keeps it");
	character_free(c);
	ok(catalog_character_rm(cat, "m", true, &removed) == 0 && removed == 1,
	   "rm --force, by alias, removes its assets");
	ok(catalog_character_get(cat, "mei") == NULL, "the character is gone");
	ok(catalog_asset_get(cat, a->mei) == NULL, "its asset is gone");
	ok(count_of(cat, "character:nova") == 2, "another character's assets stay");
	ok(catalog_character_rm(cat, "mei", false, &removed) < 0 && error_code() == EX_NOINPUT,
	   "rm of an unknown character");
}

static void test_uploads(struct catalog *cat)
{
	uint8_t salt[32], again[32], zero[32] = {0};
	ok(catalog_upload_salt(cat, salt) == 0 && catalog_upload_salt(cat, again) == 0 &&
	       memcmp(salt, again, 32) == 0 && memcmp(salt, zero, 32) != 0,
	   "a store has one salt for account fingerprints, and it is not zeros");
	const char *mine = "1111111111111111111111111111111111111111111111111111111111111111";
	const char *theirs = "2222222222222222222222222222222222222222222222222222222222222222";
	struct service_id_key key = {"http://svc/upload", mine, "abc"};
	struct service_id_key other = {"http://svc/upload", theirs, "abc"};
	struct service_id_key elsewhere = {"http://other/upload", mine, "abc"};
	char *id = NULL;
	bool numeric = true;
	ok(catalog_upload_find(cat, &key, 1000, &id, &numeric) == 0 && !id && !numeric,
	   "nothing is remembered at first");
	ok(catalog_upload_record(cat, &key, "42", true, 1000, 1600) == 0, "an upload is recorded");
	ok(catalog_upload_find(cat, &key, 1599, &id, &numeric) == 1 && id && !strcmp(id, "42") &&
	       numeric,
	   "and found, numeric, before it expires");
	free(id);
	ok(catalog_upload_find(cat, &key, 1600, &id, &numeric) == 0 && !id,
	   "not once it has expired");
	ok(catalog_upload_find(cat, &other, 1000, &id, &numeric) == 0 && !id,
	   "another account never finds it");
	ok(catalog_upload_find(cat, &elsewhere, 1000, &id, &numeric) == 0 && !id,
	   "nor another endpoint");
	ok(catalog_upload_record(cat, &key, "name.png", false, 2000, 0) == 0,
	   "a new upload replaces the expired one");
	ok(catalog_upload_find(cat, &key, 1 << 30, &id, &numeric) == 1 && !strcmp(id, "name.png") &&
	       !numeric,
	   "with no lifetime it never expires");
	free(id);
	ok(catalog_upload_forget(cat, &key) == 0 &&
	       catalog_upload_find(cat, &key, 2000, &id, &numeric) == 0 && !id,
	   "a forgotten id is gone");
	ok(catalog_upload_forget(cat, &key) == 0, "forgetting nothing is no error");
}

int main(void)
{
	tap_find_modules();
	const char *srcdir = getenv("TEST_SRCDIR");
	char *data = xasprintf("%s/data/photos", srcdir ? srcdir : "tests");
	photos = data;

	char *root = temp_template("catalog");
	ok(mkdtemp(root) != NULL, "temporary directory");
	char *dir = xasprintf("%s/.troupe", root);
	bool existed = true;
	ok(catalog_create(dir, &existed) == 0 && !existed, "create a store");
	ok(catalog_create(dir, &existed) == 0 && existed, "creating it again finds it");
	struct catalog *cat = catalog_open(dir);
	ok(cat != NULL, "open it");
	if (!cat)
		return tap_done();
	is_str(catalog_root(cat), dir, "its root");

	test_slugs();
	test_characters(cat);
	struct added a;
	memset(&a, 0, sizeof(a));
	test_add(cat, &a);
	test_resolve(cat, &a);
	test_query(cat, &a);
	test_tags(cat, &a);
	test_reqlog(cat, &a);
	test_embeddings(cat, &a);
	test_model_identity(cat, &a);
	test_rm(cat, &a);
	test_uploads(cat);

	catalog_close(cat);
	image_shutdown();
	char *cmd = xasprintf("rm -rf '%s'", root);
	ok(system(cmd) == 0, "clean up");
	free(cmd);
	free(dir);
	free(root);
	free(data);
	error_release();
	return tap_done();
}
