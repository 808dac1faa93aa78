/* Unit tests for profile: every built-in profile loads; a good profile
 * gets its defaults; each kind of bad field is refused with an error that
 * names the file and the field; the search path and the name check. */
#include "config.h"

#include "json.h"
#include "profile.h"
#include "tap.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char good_profile[] =
    "{\"name\": \"good\", \"service\": \"Example\", \"doc\": \"https://example.com/docs\","
    " \"base_url\": \"https://api.example.com\", \"base_url_env\": \"EXAMPLE_URL\","
    " \"request\": {\"path\": \"/v1/make\", \"template\": {\"model\": \"m1\"}},"
    " \"prompt\": \"/prompt\", \"negative\": \"/negative\", \"seed\": \"/seed\","
    " \"references\": {\"roles\": [\"face\", \"sheet\"], \"per_character\": 2, \"max\": 3,"
    "   \"pointer\": \"/images\", \"array\": true, \"item\": {\"url\": \"{ref}\"},"
    "   \"limits\": {\"max_side\": 1024, \"format\": \"png\"}},"
    " \"auth\": {\"scheme\": \"bearer\", \"env\": \"EXAMPLE_KEY\"},"
    " \"task\": {\"id\": \"/id\", \"poll\": \"/v1/tasks/{id}\", \"status\": \"/status\","
    "   \"done\": [\"ok\"], \"failed\": [\"bad\"]},"
    " \"outputs\": {\"urls\": \"/output/*\"}}";

static char *tmpdir;

static char *write_profile(const char *name, const char *text)
{
	char *path = xasprintf("%s/%s.json", tmpdir, name);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

/* The good profile with one change: the JSON value at pointer, or the
 * member removed when value is NULL. */
static char *variant(const char *pointer, const char *value)
{
	cJSON *doc = cJSON_Parse(good_profile);
	if (value) {
		jp_set(doc, pointer, cJSON_Parse(value));
	} else {
		char *parent = xstrdup(pointer);
		char *slash = strrchr(parent, '/');
		*slash = '\0';
		cJSON_DeleteItemFromObjectCaseSensitive(jp_get(doc, parent), slash + 1);
		free(parent);
	}
	char *text = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	return text;
}

/* The profile at path is refused with EX_DATAERR and an error that starts
 * with "profile PATH: " and holds want. */
static void refused_file(const char *path, const char *want, const char *why)
{
	error_clear();
	struct profile *p = profile_load_file(path);
	char *head = xasprintf("profile %s: ", path);
	ok(!p && error_code() == EX_DATAERR && strncmp(error_message(), head, strlen(head)) == 0 &&
	       strstr(error_message(), want),
	   "%s: %s", why, error_message());
	if (!(!p && strstr(error_message(), want)))
		printf("#   want '%s'\n", want);
	free(head);
	profile_free(p);
}

static void refused(const char *pointer, const char *value, const char *want, const char *why)
{
	char *text = variant(pointer, value);
	char *path = write_profile("variant", text);
	refused_file(path, want, why);
	unlink(path);
	free(path);
	free(text);
}

static void refused_text(const char *text, const char *want, const char *why)
{
	char *path = write_profile("text", text);
	refused_file(path, want, why);
	unlink(path);
	free(path);
}

static void loads(const char *pointer, const char *value, const char *why)
{
	char *text = variant(pointer, value);
	char *path = write_profile("variant", text);
	struct profile *p = profile_load_file(path);
	ok(p != NULL, "%s%s%s", why, p ? "" : ": ", p ? "" : error_message());
	profile_free(p);
	unlink(path);
	free(path);
	free(text);
}

/* One base URL for every request a profile makes: the environment
 * override when set and not empty, trailing slashes dropped. */
static void test_base_url(void)
{
	struct profile p = {.request = {.base_url = "https://api.example.com//",
					.base_url_env = "TROUPE_TEST_BASE_URL"}};
	unsetenv("TROUPE_TEST_BASE_URL");
	char *u = profile_base_url(&p);
	is_str(u, "https://api.example.com", "base_url without its trailing slashes");
	free(u);
	setenv("TROUPE_TEST_BASE_URL", "", 1);
	u = profile_base_url(&p);
	is_str(u, "https://api.example.com", "an empty override is ignored");
	free(u);
	setenv("TROUPE_TEST_BASE_URL", "http://127.0.0.1:9/x/", 1);
	u = profile_base_url(&p);
	is_str(u, "http://127.0.0.1:9/x", "the environment overrides base_url");
	free(u);
	p.request.base_url_env = NULL;
	u = profile_base_url(&p);
	is_str(u, "https://api.example.com", "no base_url_env: base_url");
	free(u);
	unsetenv("TROUPE_TEST_BASE_URL");
}

int main(void)
{
	test_base_url();
	tmpdir = temp_template("profile");
	ok(mkdtemp(tmpdir) != NULL, "temporary directory");
	const char *srcdir = getenv("TEST_SRCDIR") ? getenv("TEST_SRCDIR") : "tests";
	char *builtin = xasprintf("%s/../profiles", srcdir);
	setenv("TROUPE_PROFILE_PATH", builtin, 1);

	/* Every profile troupe ships. */
	struct strlist names = {0}, files = {0};
	profile_list(NULL, &names, &files);
	ok(names.n >= 15, "the built-in profiles are listed (%zu)", names.n);
	size_t loaded = 0;
	for (size_t i = 0; i < names.n; i++) {
		struct profile *p = profile_load(names.items[i], NULL);
		if (p && strcmp(p->name, names.items[i]) == 0)
			loaded++;
		else
			printf("# %s: %s\n", names.items[i], error_message());
		profile_free(p);
	}
	ok(loaded == names.n, "every built-in profile loads (%zu of %zu)", loaded, names.n);
	bool sorted = true;
	for (size_t i = 1; i < names.n; i++)
		sorted &= strcmp(names.items[i - 1], names.items[i]) < 0;
	ok(sorted, "the list is sorted by name");
	strlist_clear(&names);
	strlist_clear(&files);

	/* A good profile, and the defaults it did not spell out. */
	char *path = write_profile("good", good_profile);
	struct profile *p = profile_load_file(path);
	ok(p != NULL, "a good profile loads");
	if (p) {
		is_str(p->name, "good", "its name");
		is_str(p->file, path, "the file it came from");
		ok(p->output == PROFILE_JSON && !p->request.multipart, "a JSON request by default");
		is_str(p->request.method, "POST", "the method defaults to POST");
		ok(p->send.concurrency == 1, "one request at a time unless the profile says");
		ok(p->refs.per_character == 2 && p->refs.max == 3 && p->refs.min == 1,
		   "per_character, max and min (default 1)");
		ok(p->refs.roles.n == 2 && !strcmp(p->refs.roles.items[0], "face"),
		   "the roles, in order");
		ok(p->refs.encoding == ENC_DATA_URI, "references are data URIs by default");
		ok(p->refs.array && !p->refs.spread, "array");
		ok(p->refs.limits.max_side == 1024 && !strcmp(p->refs.limits.format, "png"),
		   "the limits as written");
		ok(p->auth.scheme == AUTH_BEARER && !strcmp(p->auth.header, "Authorization") &&
		       !strcmp(p->auth.prefix, "Bearer "),
		   "bearer auth in Authorization");
		ok(p->task.interval_ms == 2000 && p->task.timeout_s == 900,
		   "polling every 2 s for 15 minutes by default");
		ok(p->task.done.n == 1 && p->task.failed.n == 1, "the task's statuses");
		ok(p->refs.tag_style == TAG_SLUG, "mentions are tagged by slug");
	}
	profile_free(p);
	unlink(path);
	free(path);

	char *text = variant("/references/roles", NULL);
	path = write_profile("variant", text);
	p = profile_load_file(path);
	bool generated = false;
	for (size_t i = 0; p && i < p->refs.roles.n; i++)
		generated |= strcmp(p->refs.roles.items[i], "generated") == 0;
	ok(p && p->refs.roles.n > 2 && !strcmp(p->refs.roles.items[0], "sheet") && !generated,
	   "no roles: every role but generated, troupe's order (%zu)", p ? p->refs.roles.n : 0);
	profile_free(p);
	unlink(path);
	free(path);
	free(text);
	text = variant("/references/limits", NULL);
	path = write_profile("variant", text);
	p = profile_load_file(path);
	ok(p && !strcmp(p->refs.limits.format, "jpeg") && p->refs.limits.quality == 90,
	   "no limits: JPEG at quality 90");
	profile_free(p);
	unlink(path);
	free(path);
	free(text);

	/* The fixtures tests/inject.sh uses too. */
	char *bad = xasprintf("%s/data/bad-profiles", srcdir);
	path = xasprintf("%s/broken.json", bad);
	refused_file(path, "references.encoding: \"carrier-pigeon\" is not one of url, base64",
		     "an unknown encoding, with the words it may be");
	free(path);
	path = xasprintf("%s/truncated.json", bad);
	refused_file(path, "not valid JSON (near byte", "a file that is not JSON");
	free(path);
	path = xasprintf("%s/noprompt.json", bad);
	refused_file(path, "prompt: missing", "no prompt pointer");
	free(path);
	setenv("TROUPE_PROFILE_PATH", bad, 1);
	error_clear();
	p = profile_load("renamed", NULL);
	ok(!p && error_code() == EX_DATAERR &&
	       strstr(error_message(),
		      "renamed.json: name: \"other\" does not match the file name"),
	   "a name that is not its file's: %s", error_message());
	profile_free(p);
	setenv("TROUPE_PROFILE_PATH", builtin, 1);

	/* Each kind of field, each way it can be wrong. */
	refused_text("[1, 2]", "(top): must be a JSON object", "a document that is not an object");
	refused("/concurrency", "0", ": concurrency: must be a whole number from 1 to 16",
		"a concurrency of 0");
	refused("/concurrency", "2.5", ": concurrency: must be a whole number from 1 to 16",
		"a concurrency that is not whole");
	loads("/concurrency", "16", "a concurrency of 16");
	refused("/duration", "{\"pointer\": \"/duration\", \"values\": []}",
		": duration.values: must be a list of the lengths", "no duration offered");
	refused("/duration", "{\"pointer\": \"/duration\", \"values\": [\"five\"]}",
		": duration.values: each must be a number of seconds",
		"a duration that is no number");
	refused("/duration", "{\"values\": [5]}", ": duration.pointer: missing",
		"a duration with nowhere to go");
	{
		char *dtext =
		    variant("/duration", "{\"pointer\": \"/len\", \"values\": [\"5\", 10]}");
		char *dpath = write_profile("duration", dtext);
		struct profile *d = profile_load_file(dpath);
		cJSON *five = d ? profile_duration_value(d, 5) : NULL;
		cJSON *ten = d ? profile_duration_value(d, 10) : NULL;
		ok(cJSON_IsString(five) && !strcmp(five->valuestring, "5") && cJSON_IsNumber(ten) &&
		       ten->valueint == 10,
		   "a duration offered is written as the profile writes it");
		error_clear();
		ok(d && !profile_duration_value(d, 7) && error_code() == EX_DATAERR &&
		       strstr(error_message(), "makes clips of 5 or 10 seconds, not 7"),
		   "one not offered is refused, naming those offered: %s", error_message());
		cJSON_Delete(five);
		cJSON_Delete(ten);
		profile_free(d);
		unlink(dpath);
		free(dpath);
		free(dtext);
	}
	refused("/service", NULL, ": service: missing", "a required string left out");
	refused("/service", "5", ": service: must be a string", "a number for a string");
	refused("/doc", "null", ": doc: must be a string", "null for a string");
	refused("/prompt", "\"prompt\"", ": prompt: a JSON pointer must start with '/'",
		"a pointer without its '/'");
	refused("/negative", "\"negative\"", ": negative: a JSON pointer must start with '/'",
		"the negative pointer too");
	refused("/outputs/urls", "\"output\"", ": outputs.urls: a JSON pointer must start with",
		"a nested pointer, named with its path");
	refused("/describe", "\"yes\"", ": describe: must be true or false", "a string for a bool");
	refused("/references/array", "1", ": references.array: must be true or false",
		"a number for a bool");
	refused("/mention", "\"shout\"",
		": mention: \"shout\" is not one of tag, name, description", "an unknown word");
	refused("/request", "\"x\"", ": request: must be an object", "a string for an object");
	refused("/request", NULL, ": request: missing", "a required object left out");
	refused("/references/roles", "\"face\"", ": references.roles: must be an array of strings",
		"a string for a list");
	refused("/references/roles", "[\"face\", 1]",
		": references.roles: must be an array of strings", "a number in a list");
	refused("/references/roles", "[\"hat\"]",
		": references.roles: names a role troupe does not have", "an unknown role");
	refused("/headers", "{\"X-A\": 1}", ": headers: values must be strings",
		"a header value that is not a string");
	refused("/base_url", "\"ftp://example.com\"", ": base_url: must be an http(s) URL",
		"a base URL that is not http(s)");

	/* Numbers: whole, and within their range, both ends. */
	refused("/references/per_character", "0",
		": references.per_character: must be a whole number from 1 to 100", "below 1");
	refused("/references/per_character", "101",
		": references.per_character: must be a whole number from 1 to 100", "above 100");
	refused("/references/per_character", "1.5",
		": references.per_character: must be a whole number", "not whole");
	refused("/references/per_character", "\"2\"",
		": references.per_character: must be a whole number", "a string for a number");
	refused("/references/per_character", "1e12",
		": references.per_character: must be a whole number", "far beyond an int");
	loads("/references/per_character", "100", "100 is in range");
	loads("/references/min", "0", "min may be 0");
	refused("/references/min", "-1", ": references.min: must be a whole number from 0 to 100",
		"min below 0");
	refused("/task/interval_ms", "5", ": task.interval_ms: must be a whole number from 10 to",
		"a poll interval under 10 ms");
	refused("/task/timeout_s", "86401",
		": task.timeout_s: must be a whole number from 1 to 86400", "a timeout over a day");
	refused("/references/limits/max_side", "65536",
		": references.limits.max_side: must be a whole number from 0 to 65535",
		"a side over 65535");
	refused("/references/limits/quality", "101",
		": references.limits.quality: must be a whole number from 0 to 100",
		"a quality over 100");
	refused("/references/limits/max_bytes", "0", ": references.limits.max_bytes: must be a",
		"max_bytes of 0");
	refused("/references/limits/aspect", "[2, 1]",
		": references.limits.aspect: must be [smallest, largest]",
		"an aspect range the wrong way round");
	refused("/references/limits/aspect", "[0, 1]", ": references.limits.aspect: must be",
		"an aspect of 0");
	refused("/references/limits/aspect", "[1]", ": references.limits.aspect: must be",
		"an aspect range of one number");
	refused("/references/limits/fit", "\"stretch\"",
		": references.limits.fit: \"stretch\" is not one of pad, crop", "an unknown fit");
	refused("/references/limits/format", "\"gif\"",
		": references.limits: ", "a format troupe cannot write");
	refused("/references/tag", "\"number\"", ": references.tag: must be",
		"an unknown tag style");

	/* Fields that only make sense together. */
	refused("/references/spread", "true", ": references.spread: cannot go with array",
		"spread with array");
	refused("/references/item", NULL, ": references.item: missing", "no item template");
	refused("/references/encoding", "\"upload\"", ": references.upload: missing",
		"upload without its endpoint");
	refused("/references/encoding", "\"multipart\"", ": references.field: missing",
		"multipart references without a field name");
	refused("/task/done", NULL, ": task.done: missing", "a task without its done statuses");
	refused("/task/result", "{\"path\": \"/r/{value}\"}", ": task.result.value: missing",
		"{value} in a result path without a value pointer");
	/* A kind's own place, frames beside it, and the rules for frames. */
	loads("/references/kinds",
	      "{\"character\": {}, \"location\": {\"pointer\": \"/scene\", \"item\": "
	      "\"{ref}\"}, \"style\": {\"pointer\": \"/styles\", \"array\": true, "
	      "\"max\": 2, \"item\": \"{ref}\"}}",
	      "kinds with pointers of their own load");
	refused("/references/kinds", "{\"location\": {\"pointer\": \"/scene\"}}",
		": references.kinds: a kind with its own pointer needs an item",
		"a kind's pointer without an item");
	refused("/references/kinds", "{\"location\": {\"array\": true}}",
		": references.kinds: array goes with a kind's own pointer",
		"a kind's array without its pointer");
	refused("/references/kinds",
		"{\"location\": {\"pointer\": \"/scene\", \"item\": \"{ref}\", \"max\": 2}}",
		": references.kinds: a pointer that is not an array takes one reference",
		"a kind's max over 1 at a single pointer");
	refused("/references/kinds", "{\"location\": {\"pointer\": \"scene\", \"item\": 1}}",
		": references.kinds.pointer: a JSON pointer must start with '/'",
		"a kind's pointer that is not one");
	refused_text("{\"name\": \"f\", \"service\": \"X\", \"doc\": \"https://x\", "
		     "\"base_url\": \"https://x\", \"request\": {\"path\": \"/v\"}, \"prompt\": "
		     "\"/prompt\", \"references\": {\"kinds\": {\"location\": {\"pointer\": "
		     "\"/image\", \"item\": \"{ref}\"}}}, \"frames\": {\"first\": {\"pointer\": "
		     "\"/image\"}}, \"outputs\": {\"urls\": \"/u\"}}",
		     ": frames: a frame cannot go where the references go",
		     "a frame at a kind's pointer");
	refused("/references/tag_space", "1", ": references.tag_space: must be true or false",
		"tag_space that is not a boolean");
	refused("/models", "{\"pointer\": \"/model\", \"rules\": {\"m1\": {\"with_end\": {}}}}",
		": models.rules: a model's rules are with_references, with_first_frame",
		"a model rule of an unknown kind");
	loads("/models",
	      "{\"pointer\": \"/model\", \"rules\": {\"m1\": {\"with_last_frame\": "
	      "{\"/mode\": \"pro\"}}}}",
	      "a with_last_frame rule loads");
	refused("/task/failed_if", "\"error\"", ": task.failed_if: a JSON pointer must start",
		"failed_if that is not a pointer");
	refused("/outputs/auth", "\"yes\"", ": outputs.auth: must be true or false",
		"outputs.auth that is not a boolean");
	refused("/outputs", "{}", ": outputs: needs urls, base64, or items and url",
		"outputs with nothing in them");
	refused("/outputs", NULL, ": outputs: missing", "no outputs");
	refused("/outputs", "{\"items\": \"/items\"}", ": outputs.url: missing",
		"output items without the URL template");
	refused("/request", "{\"path\": \"/x\", \"wrap\": \"/prompt\"}",
		": request.wrap: needs request.template", "a wrap with no template to wrap in");
	refused("/auth/scheme", "\"kling_jwt\"", ": auth.secret_env: missing",
		"a JWT without its secret's variable");
	refused("/auth/env", NULL, ": auth.env: missing", "a key scheme without its variable");
	refused_text("{\"name\": \"t\", \"service\": \"X\", \"doc\": \"https://x\", \"output\": "
		     "\"text\", \"text\": {\"refs_prefix\": \" \"}, \"references\": "
		     "{\"encoding\": \"base64\"}}",
		     ": references.encoding: a text profile can only give URLs",
		     "a text profile with base64 references");
	refused_text("{\"name\": \"e\", \"service\": \"X\", \"doc\": \"https://x\", \"output\": "
		     "\"embedding\", \"base_url\": \"https://x\", \"request\": {\"path\": \"/e\"},"
		     " \"model\": \"Bad Model\", \"vector\": \"/v\", \"references\": {\"pointer\": "
		     "\"/i\", \"item\": \"{ref}\"}}",
		     ": model: a model name is lower-case letters",
		     "an embedding model name with capitals and a space");

	/* Finding a profile by name. */
	error_clear();
	ok(profile_load("../etc/passwd", NULL) == NULL && error_code() == EX_USAGE &&
	       strstr(error_message(), "a profile name is"),
	   "a name with a slash is refused: %s", error_message());
	ok(profile_load(".hidden", NULL) == NULL && error_code() == EX_USAGE,
	   "and one that starts with a dot");
	ok(profile_load("no-such-profile", NULL) == NULL && error_code() == EX_NOINPUT &&
	       strstr(error_message(), "no-such-profile: unknown profile"),
	   "an unknown name: %s", error_message());
	path = xasprintf("%s/missing.json", tmpdir);
	ok(profile_load_file(path) == NULL && error_code() == EX_NOINPUT,
	   "a file that is not there: EX_NOINPUT");
	free(path);
	/* The path is searched in order, then the store's profiles/. */
	char *store = xasprintf("%s/store", tmpdir),
	     *store_profiles = xasprintf("%s/profiles", store);
	mkdir(store, 0755);
	mkdir(store_profiles, 0755);
	/* Keyless: this checks where profiles are found, not which may send keys. */
	char *keyless = variant("/auth", NULL);
	cJSON *doc = cJSON_Parse(keyless);
	cJSON_ReplaceItemInObject(doc, "name", cJSON_CreateString("mine"));
	text = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	free(keyless);
	char *mine = xasprintf("%s/mine.json", store_profiles);
	FILE *f = fopen(mine, "w");
	fputs(text, f);
	fclose(f);
	free(text);
	p = profile_load("mine", store);
	ok(p && !strcmp(p->file, mine), "a profile in the store's profiles/ is found");
	profile_free(p);
	ok(profile_load("mine", NULL) == NULL, "and only with the store");
	text = variant("/name", "\"runway-gen4-image\"");
	char *override = write_profile("runway-gen4-image", text);
	free(text);
	char *both = xasprintf("%s:%s", tmpdir, builtin);
	setenv("TROUPE_PROFILE_PATH", both, 1);
	p = profile_load("runway-gen4-image", store);
	ok(p && !strcmp(p->file, override), "the first directory in TROUPE_PROFILE_PATH wins");
	profile_free(p);

	unlink(override);
	unlink(mine);
	rmdir(store_profiles);
	rmdir(store);
	rmdir(tmpdir);
	free(both);
	free(override);
	free(mine);
	free(store_profiles);
	free(store);
	free(bad);
	free(builtin);
	free(tmpdir);
	return tap_done();
}
