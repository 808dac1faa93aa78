/* Unit tests for the shot room against a real temporary store: film
 * order (scene, position, and shots placed right after the one they
 * follow), cycles refused, the previous shot, removal keeping the order,
 * mentions checked, and picking only takes that exist. */
#include "config.h"

#include "catalog.h"
#include "character.h"
#include "image.h"
#include "shot.h"
#include "tap.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The film's order as "a b c", for comparing. */
static char *order(struct catalog *cat)
{
	struct shot **list;
	size_t n;
	if (catalog_shot_list(cat, &list, &n) < 0)
		return xstrdup("(error)");
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (i)
			sb_addc(&sb, ' ');
		sb_adds(&sb, list[i]->slug);
	}
	shot_list_free(list, n);
	return sb_detach(&sb);
}

static int make(struct catalog *cat, const char *slug, int64_t scene, const char *after)
{
	struct shot_spec s = {.slug = slug, .has_scene = scene > 0, .scene = scene, .after = after};
	return catalog_shot_new(cat, &s);
}

static void is_order(struct catalog *cat, const char *want, const char *why)
{
	char *got = order(cat);
	is_str(got, want, "%s", why);
	free(got);
}

static void test_aspect(void)
{
	ok(shot_aspect_check("16:9") == 0, "16:9 is an aspect");
	ok(shot_aspect_check("1:1") == 0, "1:1 is an aspect");
	ok(shot_aspect_check("16x9") < 0, "16x9 is not");
	ok(shot_aspect_check("0:9") < 0, "0:9 is not");
	ok(shot_aspect_check("16:9 ") < 0, "trailing text is not");
	ok(shot_aspect_check("-16:9") < 0, "a sign is not");
	ok(shot_aspect_check("16:") < 0, "a missing height is not");
}

static void test_order(struct catalog *cat)
{
	ok(make(cat, "s01", 0, NULL) == 0, "a first shot");
	ok(make(cat, "s03", 2, NULL) == 0, "a shot in scene 2");
	ok(make(cat, "s02", 1, NULL) == 0, "another in scene 1, made later");
	is_order(cat, "s01 s02 s03", "scene before position before creation");

	ok(make(cat, "s01b", 0, "s01") == 0, "a shot after s01, made last");
	is_order(cat, "s01 s01b s02 s03", "it comes right after s01");
	struct shot *s = catalog_shot_get(cat, "s01b");
	ok(s && s->scene == 1 && s->after && strcmp(s->after, "s01") == 0,
	   "it takes s01's scene and records what it follows");
	shot_free(s);

	ok(make(cat, "s01c", 0, "s01b") == 0, "one after that");
	is_order(cat, "s01 s01b s01c s02 s03", "a run of followers stays together");

	struct shot_spec move = {.has_scene = true, .scene = 3};
	ok(catalog_shot_edit(cat, "s01", &move) == 0, "move s01 to scene 3");
	is_order(cat, "s02 s03 s01 s01b s01c", "its followers move with it");

	char *prev = catalog_shot_previous(cat, "s01b");
	is_str(prev, "s01", "the previous shot of a follower is the one it follows");
	free(prev);
	prev = catalog_shot_previous(cat, "s03");
	is_str(prev, "s02", "else the one before it in the film");
	free(prev);
	prev = catalog_shot_previous(cat, "s02");
	ok(!prev && error_code() == EX_DATAERR, "the first shot has none");
	free(prev);

	ok(make(cat, "s01", 0, NULL) < 0 && error_code() == EX_DATAERR, "an id is taken once");
	ok(make(cat, "s09", 0, "nope") < 0 && error_code() == EX_NOINPUT,
	   "following an unknown shot is refused");
	ok(make(cat, "s09", 0, "s09") < 0, "following itself is refused");
	ok(make(cat, "S09", 0, NULL) < 0 && error_code() == EX_DATAERR, "an id is a slug");
}

static void test_cycles(struct catalog *cat)
{
	struct shot_spec loop = {.after = "s01c"};
	ok(catalog_shot_edit(cat, "s01", &loop) < 0 && error_code() == EX_DATAERR,
	   "s01 after s01c, which comes after s01, is a cycle");
	ok(strstr(error_message(), "cycle") != NULL, "the error says cycle: %s", error_message());
	struct shot_spec self = {.after = "s02"};
	ok(catalog_shot_edit(cat, "s02", &self) < 0, "a shot after itself is refused");
	is_order(cat, "s02 s03 s01 s01b s01c", "a refused edit changes nothing");

	struct shot_spec ok_move = {.after = "s02"};
	ok(catalog_shot_edit(cat, "s01c", &ok_move) == 0, "s01c after s02 is no cycle");
	is_order(cat, "s02 s01c s03 s01 s01b", "s01c now follows s02");
	struct shot_spec free_it = {.after = ""};
	ok(catalog_shot_edit(cat, "s01c", &free_it) == 0, "s01c follows nothing");
	is_order(cat, "s02 s01c s03 s01 s01b", "placed by its own scene and position again");
}

static void test_rm(struct catalog *cat)
{
	struct shot_spec link = {.after = "s01b"};
	ok(catalog_shot_edit(cat, "s01c", &link) == 0, "s01c after s01b, which follows s01");
	is_order(cat, "s02 s03 s01 s01b s01c", "a run of three");
	ok(catalog_shot_rm(cat, "s01b") == 0, "remove the middle one");
	is_order(cat, "s02 s03 s01 s01c", "the one after it follows the one before it");
	struct shot *c = catalog_shot_get(cat, "s01c");
	ok(c && c->after && strcmp(c->after, "s01") == 0, "s01c now follows s01");
	shot_free(c);
	ok(catalog_shot_rm(cat, "s01b") < 0 && error_code() == EX_NOINPUT, "removed is gone");
}

static void test_mentions_and_takes(struct catalog *cat)
{
	struct character mei = {.slug = "mei"};
	ok(catalog_character_new(cat, &mei) == 0, "a character to mention");
	struct shot_spec good = {.slug = "m1", .prompt = "@mei walks"};
	ok(catalog_shot_new(cat, &good) == 0, "a prompt that mentions her");
	struct shot_spec bad = {.slug = "m2", .prompt = "@mei meets @nobody"};
	ok(catalog_shot_new(cat, &bad) < 0 && error_code() == EX_DATAERR,
	   "a prompt that mentions an unknown element is refused");
	ok(strstr(error_message(), "nobody") != NULL, "naming it: %s", error_message());
	struct shot *m2 = catalog_shot_get(cat, "m2");
	ok(!m2, "and no shot was made");
	shot_free(m2);
	struct shot_spec aspect = {.slug = "m3", .aspect = "wide"};
	ok(catalog_shot_new(cat, &aspect) < 0, "a bad aspect is refused");

	ok(catalog_shot_pick(cat, "m1", 1) < 0 && error_code() == EX_DATAERR,
	   "picking a take of a shot without takes is refused");
	int number = 0;
	ok(catalog_shot_take_record(cat, "m1", 0, 0, "the service said no", &number) == 0 &&
	       number == 1,
	   "a failed take is recorded as take 1");
	ok(catalog_shot_pick(cat, "m1", 1) < 0 && strstr(error_message(), "failed"),
	   "a failed take is never picked");
	ok(catalog_shot_pick(cat, "m1", 2) < 0 && strstr(error_message(), "no take 2"),
	   "a take that does not exist is refused");
	struct shot *m1 = catalog_shot_get(cat, "m1");
	ok(m1 && m1->ntakes == 1 && m1->takes[0].failed && m1->chosen == 0,
	   "the shot has its failed take and nothing chosen");
	shot_free(m1);
}

int main(void)
{
	tap_find_modules();
	char *root = temp_template("shot");
	ok_or_bail(mkdtemp(root) != NULL, "temporary directory");
	char *dir = xasprintf("%s/.troupe", root);
	bool existed;
	ok_or_bail(catalog_create(dir, &existed) == 0, "create a store");
	struct catalog *cat = catalog_open(dir);
	ok_or_bail(cat != NULL, "open it");

	test_aspect();
	test_order(cat);
	test_cycles(cat);
	test_rm(cat);
	test_mentions_and_takes(cat);

	catalog_close(cat);
	image_shutdown();
	char *cmd = xasprintf("rm -rf '%s'", root);
	ok(system(cmd) == 0, "clean up");
	free(cmd);
	free(dir);
	free(root);
	error_release();
	return tap_done();
}
