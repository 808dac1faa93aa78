/* Unit tests for inject against a real temporary store: mentions found
 * and resolved, references chosen by the profile's roles and looks,
 * derived, encoded, and placed at the profile's pointers (one, an array,
 * spread over selector matches, or text) with the prompt, negative prompt
 * and seed; nothing else in the request changes. */
#define _GNU_SOURCE
#include "config.h"

#include "base64.h"
#include "catalog.h"
#include "character.h"
#include "ingest.h"
#include "image.h"
#include "inject.h"
#include "json.h"
#include "look.h"
#include "profile.h"
#include "tap.h"
#include "util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmpdir;
static const char *photos;

static struct profile *profile_from(const char *name, const char *text)
{
	char *path = xasprintf("%s/%s.json", tmpdir, name);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	struct profile *p = profile_load_file(path);
	if (!p)
		printf("# %s\n", error_message());
	free(path);
	return p;
}

static int64_t add_photo(struct catalog *cat, const char *slug, const char *role, const char *tag,
			 const char *file)
{
	struct strlist tags = {0};
	if (tag)
		strlist_push(&tags, tag);
	char *path = xasprintf("%s/%s", photos, file);
	int64_t id = -1;
	const char *hash, *blob;
	bool existed;
	struct add_batch *b = catalog_add_begin(cat, slug, role, &tags);
	if (b && catalog_add_file(b, path) == 0 && catalog_add_commit(b) == 0)
		catalog_add_result(b, 0, &id, &hash, &blob, &existed);
	else
		printf("# %s: %s\n", file, error_message());
	catalog_add_free(b);
	strlist_clear(&tags);
	free(path);
	return id;
}

/* The strings of l with a space between them; the caller frees it. */
static char *joined(const struct strlist *l)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t k = 0; k < l->n; k++)
		sb_addf(&sb, "%s%s", k ? " " : "", l->items[k]);
	return sb_detach(&sb);
}

static const char *str_at(cJSON *root, const char *pointer)
{
	cJSON *item = jp_get(root, pointer);
	return cJSON_IsString(item) ? item->valuestring : NULL;
}

static const char array_profile[] =
    "{\"name\": \"array\", \"service\": \"X\", \"doc\": \"https://x\", \"base_url\": \"https://x\","
    " \"request\": {\"path\": \"/x\", \"template\": {\"model\": \"m1\", \"steps\": 20}},"
    " \"prompt\": \"/prompt\", \"negative\": \"/negative\", \"seed\": \"/seed\","
    " \"aspect_ratio\": \"/ratio\","
    " \"references\": {\"roles\": [\"face\", \"sheet\"], \"per_character\": 2, \"max\": 3,"
    "   \"pointer\": \"/images\", \"array\": true, \"encoding\": \"path\","
    "   \"item\": {\"image\": \"{ref}\", \"tag\": \"{tag}\", \"name\": \"{name}\","
    "     \"n\": \"{index}\", \"mime\": \"{mime}\", \"label\": \"{name} as {tag}\"},"
    "   \"limits\": {\"max_side\": 96, \"format\": \"png\"}},"
    " \"outputs\": {\"urls\": \"/u\"}}";

static const char single_profile[] =
    "{\"name\": \"single\", \"service\": \"X\", \"doc\": \"https://x\", \"base_url\": "
    "\"https://x\","
    " \"request\": {\"path\": \"/x\"}, \"prompt\": \"/prompt\", \"mention\": \"tag\","
    " \"seed\": \"/seed\","
    " \"references\": {\"pointer\": \"/image\", \"item\": \"{ref}\", \"encoding\": \"base64\","
    "   \"tag\": \"ref-n\", \"limits\": {\"max_side\": 64}},"
    " \"outputs\": {\"urls\": \"/u\"}}";

static const char spread_profile[] =
    "{\"name\": \"spread\", \"service\": \"X\", \"doc\": \"https://x\", \"base_url\": "
    "\"https://x\","
    " \"request\": {\"path\": \"/x\"}, \"prompt\": \"/prompt\", \"mention\": \"description\","
    " \"references\": {\"roles\": [\"face\"], \"max\": 4, \"encoding\": \"path\","
    "   \"pointer\": \"/nodes/[class_type=LoadImage]/inputs/image\", \"spread\": true,"
    "   \"item\": \"{ref}\", \"limits\": {\"max_side\": 64}},"
    " \"outputs\": {\"urls\": \"/u\"}}";

/* Costume and face references, two an element, for the looks. */
static const char looks_profile[] =
    "{\"name\": \"looks\", \"service\": \"X\", \"doc\": \"https://x\", \"base_url\": "
    "\"https://x\", \"request\": {\"path\": \"/x\"}, \"prompt\": \"/prompt\","
    " \"mention\": \"description\", \"negative\": \"/negative\","
    " \"references\": {\"roles\": [\"sheet\", \"face\", \"costume\"], \"per_character\": 2,"
    "   \"max\": 4, \"kinds\": {\"character\": {}, \"location\": {}, \"style\": \"text\"},"
    "   \"pointer\": \"/images\", \"array\": true, \"encoding\": \"path\","
    "   \"item\": \"{ref}\", \"limits\": {\"max_side\": 64}},"
    " \"outputs\": {\"urls\": \"/u\"}}";

static const char text_profile[] =
    "{\"name\": \"text\", \"service\": \"X\", \"doc\": \"https://x\", \"output\": \"text\","
    " \"describe\": true,"
    " \"text\": {\"refs_prefix\": \" --cref \", \"refs_separator\": \" \","
    "   \"seed\": \" --seed {seed}\", \"negative\": \" --no {negative}\"},"
    " \"references\": {\"roles\": [\"face\"], \"encoding\": \"url\", \"limits\": "
    "{\"max_side\": 64}}}";

int main(void)
{
	tap_find_modules();
	const char *srcdir = getenv("TEST_SRCDIR") ? getenv("TEST_SRCDIR") : "tests";
	char *photo_dir = xasprintf("%s/data/photos", srcdir);
	photos = photo_dir;
	tmpdir = temp_template("inject");
	ok(mkdtemp(tmpdir) != NULL, "temporary directory");
	char *dir = xasprintf("%s/.troupe", tmpdir);
	bool existed = true;
	ok(catalog_create(dir, &existed) == 0 && !existed, "a new store");
	struct catalog *cat = catalog_open(dir);
	ok(cat != NULL, "opened");
	if (!cat)
		return tap_done();

	struct character mei = {.slug = "mei",
				.name = "Mei",
				.description = "a cat in a study",
				.negative = "blurry, extra limbs",
				.has_seed = true,
				.seed = 42};
	struct character kai = {.slug = "kai", .name = "Kai", .description = "a tall sailor"};
	struct character ghost = {.slug = "ghost", .name = "Ghost"};
	ok(catalog_character_new(cat, &mei) == 0 && catalog_character_new(cat, &kai) == 0 &&
	       catalog_character_new(cat, &ghost) == 0,
	   "three characters");
	int64_t mei_face = add_photo(cat, "mei", "face", NULL, "astronaut.jpg");
	int64_t mei_sheet = add_photo(cat, "mei", "sheet", NULL, "camera.jpg");
	int64_t mei_winter = add_photo(cat, "mei", "sheet", "look:winter", "coffee.jpg");
	int64_t kai_face = add_photo(cat, "kai", "face", NULL, "chelsea.jpg");
	int64_t ghost_place = add_photo(cat, "ghost", "location", NULL, "rocket.jpg");
	ok(mei_face > 0 && mei_sheet > 0 && mei_winter > 0 && kai_face > 0 && ghost_place > 0,
	   "five pictures added");

	/* Mentions: once each, in order; e-mail addresses and a trailing '-'
	 * are text. */
	struct strlist slugs = {0}, looks = {0};
	ok(inject_mentions(cat, "mail kai@mei.com: @mei, then @kai- and @mei:winter", &slugs,
			   &looks) == 0 &&
	       slugs.n == 2 && !strcmp(slugs.items[0], "mei") && !strcmp(slugs.items[1], "kai") &&
	       !strcmp(looks.items[0], "") && !strcmp(looks.items[1], ""),
	   "mentions: mei, kai; the address and the dash are not mentions");
	strlist_clear(&slugs);
	strlist_clear(&looks);
	ok(inject_mentions(cat, "@mei reads v2.@kai and a_@kai", &slugs, &looks) == 0 &&
	       slugs.n == 1,
	   "after '.' or '_', '@' starts no mention");
	strlist_clear(&slugs);
	strlist_clear(&looks);
	ok(inject_mentions(cat, "@mei:winter walks", &slugs, &looks) == 0 && slugs.n == 1 &&
	       !strcmp(looks.items[0], "winter"),
	   "a look after a colon");
	strlist_clear(&slugs);
	strlist_clear(&looks);
	ok(inject_mentions(cat, "@mei meets @nobody", &slugs, &looks) < 0 &&
	       error_code() == EX_DATAERR && strstr(error_message(), "@nobody: unknown character"),
	   "an unknown character: %s", error_message());
	strlist_clear(&slugs);
	strlist_clear(&looks);

	/* An array of references, filled from the item template. */
	struct profile *arr = profile_from("array", array_profile);
	struct inject_options o = {.aspect = "9:16"};
	struct injection in;
	ok(arr && inject_run(cat, arr, "@mei and @kai at sea", false, &o, &in) == 0,
	   "inject into an array profile");
	if (arr && in.request) {
		is_str(str_at(in.request, "/prompt"), "Mei and Kai at sea",
		       "the prompt names the characters");
		ok(in.characters.n == 2 && !strcmp(in.characters.items[0], "mei"),
		   "the characters, in order");
		ok(in.nrefs == 3 && in.refs[0].asset_id == mei_face &&
		       in.refs[1].asset_id == mei_sheet && in.refs[2].asset_id == kai_face,
		   "two of Mei's (face before sheet), one of Kai's, up to max 3");
		cJSON *images = jp_get(in.request, "/images");
		ok(cJSON_GetArraySize(images) == 3, "three items in the array");
		bool placed = in.nrefs == 3;
		for (size_t i = 0; placed && i < in.nrefs; i++) {
			char n[24], at[48];
			snprintf(n, sizeof(n), "%zu", i + 1);
			snprintf(at, sizeof(at), "/images/%zu/image", i);
			struct stat st;
			placed = str_at(in.request, at) &&
				 !strcmp(str_at(in.request, at), in.refs[i].derived.path) &&
				 stat(in.refs[i].derived.path, &st) == 0;
			snprintf(at, sizeof(at), "/images/%zu/n", i);
			placed = placed && !strcmp(str_at(in.request, at), n);
		}
		ok(placed, "each item has its derivative's path and its index");
		is_str(str_at(in.request, "/images/0/tag"), "mei", "{tag} is the slug");
		is_str(str_at(in.request, "/images/2/name"), "Kai",
		       "{name} is the character's name");
		is_str(str_at(in.request, "/images/1/label"), "Mei as mei",
		       "placeholders inside a longer string");
		is_str(str_at(in.request, "/images/0/mime"), "image/png",
		       "{mime} of the derivative");
		ok(in.refs[0].derived.width <= 96 && in.refs[0].derived.height <= 96 &&
		       !strcmp(in.refs[0].derived.format, "png"),
		   "derived to the profile's limits (%dx%d %s)", in.refs[0].derived.width,
		   in.refs[0].derived.height, in.refs[0].derived.format);
		is_str(str_at(in.request, "/negative"), "blurry, extra limbs",
		       "Mei's negative prompt");
		ok(cJSON_GetNumberValue(jp_get(in.request, "/seed")) == 42, "Mei's seed");
		is_str(str_at(in.request, "/ratio"), "9:16",
		       "the aspect where the profile puts it");
		ok(cJSON_GetNumberValue(jp_get(in.request, "/steps")) == 20 &&
		       !strcmp(str_at(in.request, "/model"), "m1") &&
		       cJSON_GetArraySize(in.request) == 7,
		   "the template's own fields, and nothing more");
	}
	char first_hash[STORE_HASH_HEX + 1] = "";
	if (in.nrefs)
		snprintf(first_hash, sizeof(first_hash), "%s", in.refs[0].derived.hash);
	injection_clear(&in);
	ok(arr && inject_run(cat, arr, "@mei", false, &o, &in) == 0 && in.nrefs == 2 &&
	       in.refs[0].derived.cached && !strcmp(in.refs[0].derived.hash, first_hash),
	   "the same reference again comes from the derivative cache");
	injection_clear(&in);
	ok(arr && inject_run(cat, arr, "@mei:winter in the snow", false, &o, &in) == 0 &&
	       in.nrefs == 1 && in.refs[0].asset_id == mei_winter &&
	       !strcmp(str_at(in.request, "/prompt"), "Mei in the snow"),
	   "a look picks the asset tagged with it, and leaves the prompt");
	injection_clear(&in);
	ok(arr && inject_run(cat, arr, "@mei:summer", false, &o, &in) < 0 &&
	       strstr(error_message(), "@mei:summer: no references"),
	   "a look nothing has: %s", error_message());
	ok(arr && inject_run(cat, arr, "@ghost haunts", false, &o, &in) < 0 &&
	       error_code() == EX_DATAERR &&
	       strstr(error_message(), "@ghost: no references this profile can use (it takes "
				       "roles face, sheet)"),
	   "a character with no picture in the roles: %s", error_message());
	struct inject_options by_query = {.ref_query = "character:ghost"};
	ok(arr && inject_run(cat, arr, "a haunted house", false, &by_query, &in) == 0 &&
	       in.nrefs == 1 && in.refs[0].asset_id == ghost_place && !in.refs[0].slug &&
	       !strcmp(in.refs[0].tag, "ref1") &&
	       !strcmp(str_at(in.request, "/images/0/tag"), "ref1"),
	   "--ref: the query's assets, tagged ref1, for no one mention");
	injection_clear(&in);
	by_query.ref_query = "role:prop";
	ok(arr && inject_run(cat, arr, "x", false, &by_query, &in) < 0 &&
	       strstr(error_message(), "--ref role:prop: no assets match"),
	   "--ref that matches nothing: %s", error_message());
	ok(arr && inject_run(cat, arr, "[\"@mei\"]", true, &o, &in) < 0 &&
	       strstr(error_message(), "not a JSON object"),
	   "a JSON request that is not an object");
	ok(arr && inject_run(cat, arr, "{\"text\": \"@mei\"}", true, &o, &in) < 0 &&
	       strstr(error_message(), "no prompt text at /prompt"),
	   "a JSON request without the prompt: %s", error_message());
	profile_free(arr);

	/* One reference, as base64, into a request of the user's own. */
	struct profile *one = profile_from("single", single_profile);
	struct inject_options plain = {0};
	const char *request = "{\"prompt\": \"@mei sleeps\", \"seed\": 7, \"extra\": {\"keep\": "
			      "[1, \"@kai\", null]}}";
	ok(one && inject_run(cat, one, request, true, &plain, &in) == 0,
	   "inject into a request of one's own");
	if (one && in.request) {
		is_str(str_at(in.request, "/prompt"), "@mei sleeps", "mention tag: @slug stays");
		ok(in.nrefs == 1 && in.refs[0].asset_id == mei_sheet,
		   "without roles, troupe's first role (sheet) wins, oldest first");
		char *b64 = base64_encode_file(in.refs[0].derived.path);
		is_str(str_at(in.request, "/image"), b64, "the derivative's bytes in base64");
		free(b64);
		is_str(in.refs[0].tag, "ref1", "tag ref-n");
		ok(cJSON_GetNumberValue(jp_get(in.request, "/seed")) == 7,
		   "the request's seed wins");
		cJSON *want = cJSON_Parse(request), *got = cJSON_Duplicate(in.request, 1);
		cJSON_DeleteItemFromObject(got, "image");
		ok(cJSON_Compare(want, got, true), "nothing else changes, not even @kai elsewhere");
		cJSON_Delete(want);
		cJSON_Delete(got);
		char *redacted = inject_redacted(&in);
		char *blob = xasprintf("\"image\":\"blob:%s\"", in.refs[0].derived.hash);
		ok(redacted && strstr(redacted, blob) && strlen(redacted) < 300,
		   "redacted for the log: blob:HASH instead of the payload");
		free(blob);
		free(redacted);
		b64 = base64_encode_file(in.refs[0].derived.path);
		is_str(str_at(in.request, "/image"), b64, "and the request itself is as it was");
		free(b64);
	}
	injection_clear(&in);
	ok(one && inject_run(cat, one, "@mei and @kai", false, &plain, &in) == 0 && in.nrefs == 1 &&
	       in.refs[0].asset_id == mei_sheet,
	   "max 1: the first character mentioned gets the one reference");
	injection_clear(&in);
	struct inject_options streamed = {.stream_base64 = true};
	ok(one && inject_run(cat, one, "@kai", false, &streamed, &in) == 0 && in.nrefs == 1 &&
	       in.refs[0].streamed,
	   "streamed base64: the payload is not held");
	if (in.request) {
		cJSON *image = jp_get(in.request, "/image");
		ok(cJSON_IsRaw(image) && json_is_base64_file(image->valuestring),
		   "the request holds a marker for json_write");
		char *text = NULL;
		size_t len = 0;
		FILE *mem = open_memstream(&text, &len);
		json_write(mem, in.request);
		fclose(mem);
		cJSON *written = cJSON_Parse(text);
		char *b64 = base64_encode_file(in.refs[0].derived.path);
		is_str(str_at(written, "/image"), b64, "which writes it as the file's base64");
		free(b64);
		cJSON_Delete(written);
		free(text);
	}
	injection_clear(&in);
	profile_free(one);

	/* Spread: one reference to each node a selector matches. */
	struct profile *spread = profile_from("spread", spread_profile);
	const char *workflow =
	    "{\"prompt\": \"@mei and @kai on deck\", \"nodes\": {"
	    "\"3\": {\"class_type\": \"KSampler\", \"inputs\": {\"seed\": 1}},"
	    "\"10\": {\"class_type\": \"LoadImage\", \"inputs\": {\"image\": \"first.png\"}},"
	    "\"11\": {\"class_type\": \"LoadImage\", \"inputs\": {\"image\": \"second.png\"}}}}";
	ok(spread && inject_run(cat, spread, workflow, true, &plain, &in) == 0 && in.nrefs == 2,
	   "spread: as many references as nodes");
	if (in.request && in.nrefs == 2) {
		is_str(str_at(in.request, "/nodes/10/inputs/image"), in.refs[0].derived.path,
		       "the first node gets Mei's face");
		is_str(str_at(in.request, "/nodes/11/inputs/image"), in.refs[1].derived.path,
		       "the second gets Kai's");
		ok(in.refs[0].asset_id == mei_face && in.refs[1].asset_id == kai_face,
		   "one face each");
		is_str(str_at(in.request, "/prompt"),
		       "Mei (a cat in a study) and Kai (a tall sailor) on deck",
		       "mention description: name and description");
		ok(cJSON_GetNumberValue(jp_get(in.request, "/nodes/3/inputs/seed")) == 1,
		   "a node with no pointer is left alone");
	}
	injection_clear(&in);
	const char *one_node =
	    "{\"prompt\": \"@mei and @kai\", \"nodes\": {"
	    "\"10\": {\"class_type\": \"LoadImage\", \"inputs\": {\"image\": \"first.png\"}}}}";
	ok(spread && inject_run(cat, spread, one_node, true, &plain, &in) == 0 && in.nrefs == 1 &&
	       in.refs[0].asset_id == mei_face &&
	       !strcmp(str_at(in.request, "/nodes/10/inputs/image"), in.refs[0].derived.path),
	   "more people than nodes: no more references than nodes");
	injection_clear(&in);
	ok(spread &&
	       inject_run(cat, spread, "{\"prompt\": \"@mei\", \"nodes\": {}}", true, &plain, &in) <
		   0 &&
	       strstr(error_message(), "nothing matching /nodes/[class_type=LoadImage]"),
	   "spread with nothing to spread over: %s", error_message());
	profile_free(spread);

	/* Text: URLs after the prompt, then the seed and the negative. */
	struct profile *text = profile_from("text", text_profile);
	unsetenv("TROUPE_REF_BASE_URL");
	ok(text && inject_run(cat, text, "@mei walks", false, &plain, &in) < 0 &&
	       error_code() == EX_CONFIG && strstr(error_message(), "$TROUPE_REF_BASE_URL"),
	   "URLs need the published base: %s", error_message());
	setenv("TROUPE_REF_BASE_URL", "https://cdn.example.com/refs//", 1);
	ok(text && inject_run(cat, text, "@mei walks", false, &plain, &in) == 0 && in.nrefs == 1,
	   "inject into a text profile");
	if (in.text && in.nrefs == 1) {
		char *want = xasprintf("Mei walks Mei: a cat in a study. --cref "
				       "https://cdn.example.com/refs/%s.jpg --seed 42 --no blurry, "
				       "extra limbs",
				       in.refs[0].derived.hash);
		is_str(in.text, want, "prompt, description, reference URL, seed and negative");
		free(want);
	}
	injection_clear(&in);
	ok(text && inject_run(cat, text, "@kai rows", false, &plain, &in) == 0 && in.text &&
	       !strstr(in.text, "--seed") && !strstr(in.text, "--no"),
	   "no seed and no negative for a character without them");
	injection_clear(&in);
	profile_free(text);

	/* The look form: '.' or ':' then a slug character names a look; a
	 * '.' before anything else ends the sentence. */
	struct look dress = {
	    .name = "dress", .description = "a green silk dress", .negative = "torn"};
	ok(catalog_look_new(cat, "mei", &dress) == 0, "a registered look");
	int64_t mei_dress = add_photo(cat, "mei", "costume", "look:dress", "rocket.jpg");
	const struct {
		const char *prompt, *slugs, *looks, *why;
	} forms[] = {
	    {"@mei.dress walks", "mei", "dress", "@mei.dress is the look"},
	    {"It is @mei.", "mei", "", "a period at the end is the sentence's"},
	    {"It is @mei. She waits", "mei", "", "a period and a space end the sentence"},
	    {"@mei.dress.", "mei", "dress", "a look, then the sentence's period"},
	    {"@mei.Dress", "mei", "", "an upper-case letter after '.' is text"},
	    {"@mei.-x", "mei", "", "'-' after '.' is text"},
	    {"@mei..dress", "mei", "", "two periods: no look"},
	    {"@mei.dress-, then @kai.", "mei kai", "dress ", "a trailing '-' is text"},
	    {"@kai:x @mei.winter", "", "", NULL},
	};
	for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
		struct strlist sl = {0}, lk = {0};
		int r = inject_mentions(cat, forms[f].prompt, &sl, &lk);
		if (!forms[f].why) {
			ok(r < 0 &&
			       strstr(error_message(), "@kai:x: no references: kai has no look "
						       "'x' (an unknown look"),
			   "an unknown look is an error naming it: %s", error_message());
		} else {
			char *got_slugs = joined(&sl), *got_looks = joined(&lk);
			ok(r == 0 && !strcmp(got_slugs, forms[f].slugs) &&
			       !strcmp(got_looks, forms[f].looks),
			   "%s (mentions '%s', looks '%s')", forms[f].why, got_slugs, got_looks);
			free(got_slugs);
			free(got_looks);
		}
		strlist_clear(&sl);
		strlist_clear(&lk);
	}

	/* A registered look: its costume first, then the character's face
	 * that belongs to no look; its description after the character's. */
	struct profile *lp = profile_from("looks", looks_profile);
	ok(lp && inject_run(cat, lp, "@mei.dress waits.", false, &o, &in) == 0 && in.nrefs == 2 &&
	       in.refs[0].asset_id == mei_dress && in.refs[1].asset_id == mei_face,
	   "the look's costume, then Mei's face");
	if (in.request) {
		is_str(str_at(in.request, "/prompt"),
		       "Mei (a cat in a study, a green silk dress) waits.",
		       "the look's description after the character's");
		is_str(str_at(in.request, "/negative"), "blurry, extra limbs, torn",
		       "the look's negative after the character's");
	}
	injection_clear(&in);
	ok(lp && inject_run(cat, lp, "@mei:winter", false, &o, &in) == 0 && in.nrefs == 1 &&
	       in.refs[0].asset_id == mei_winter,
	   "a look only tagged, never registered, keeps to its tagged assets");
	injection_clear(&in);
	struct character shore = {.slug = "shore", .kind = "location", .description = "grey sand"};
	struct character ink = {.slug = "ink", .kind = "style", .description = "ink wash"};
	struct character cup = {.slug = "cup", .kind = "prop"};
	ok(catalog_character_new(cat, &shore) == 0 && catalog_character_new(cat, &ink) == 0 &&
	       catalog_character_new(cat, &cup) == 0,
	   "a location, a style and a prop");
	int64_t shore_pic = add_photo(cat, "shore", "location", NULL, "chelsea.jpg");
	ok(lp && inject_run(cat, lp, "@kai on @shore in @ink", false, &o, &in) == 0 &&
	       in.nrefs == 2 && in.refs[1].asset_id == shore_pic &&
	       !strcmp(in.refs[1].tag, "shore"),
	   "a location's reference, by the kind's default roles");
	if (in.request)
		is_str(str_at(in.request, "/prompt"),
		       "Kai (a tall sailor) on shore (grey sand) in ink (ink wash)",
		       "the style is carried as text");
	injection_clear(&in);
	ok(lp && inject_run(cat, lp, "@kai and @cup", false, &o, &in) < 0 &&
	       strstr(
		   error_message(),
		   "@cup: profile looks cannot carry a prop (it takes character, location, style)"),
	   "a kind the profile does not take: %s", error_message());
	ok(lp && inject_run(cat, lp, "@shore.dusk", false, &o, &in) < 0 &&
	       strstr(error_message(), "@shore.dusk: a location has no looks"),
	   "a look of a location: %s", error_message());
	profile_free(lp);

	catalog_close(cat);
	/* As troupe does before it exits: libvips's threads stopped, so that
	 * the leak check at exit sees a quiet process. */
	image_shutdown();
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	ok(system(cmd) == 0, "the temporary store is removed");
	free(cmd);
	free(dir);
	free(tmpdir);
	free(photo_dir);
	return tap_done();
}
