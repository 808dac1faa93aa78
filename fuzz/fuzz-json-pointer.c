/* fuzz-json-pointer: the pointer walkers of json.h on a document and a
 * pointer both from the input: its first line is the pointer (wildcards
 * "*" and selectors "[key=value]" included), the rest the JSON text. Runs
 * jp_check, jp_get, jp_count, jp_resolve, both collectors and jp_set on
 * the parsed document. Checks what the header promises: a selector-free
 * pointer that jp_set accepts (with no "-" token) then gets the value
 * set, a resolved pointer is a plain one that starts with "/" or is "",
 * and every collected string is a string of the document. */
#include "config.h"

#include "fuzz.h"
#include "json.h"
#include "util.h"

static bool has_token(const char *pointer, const char *token)
{
	size_t len = strlen(token);
	for (const char *p = strchr(pointer, '/'); p; p = strchr(p + 1, '/'))
		if (!strncmp(p + 1, token, len) && (p[1 + len] == '/' || !p[1 + len]))
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	if (!nl)
		return 0;
	char *pointer = fuzz_string(data, (size_t)(nl - data));
	size_t text_len = size - (size_t)(nl - data) - 1;
	char *text = fuzz_string(nl + 1, text_len);
	cJSON *root = cJSON_ParseWithLength(text, text_len);
	if (!root)
		goto out;
	bool plain = strstr(pointer, "/[") == NULL;
	jp_check("fuzz", pointer);
	jp_get(root, pointer);
	int count = jp_count(root, pointer);
	FUZZ_CHECK(count >= 0);
	for (int n = 0; n < 3 && n <= count; n++) {
		char *resolved = jp_resolve(root, pointer, n);
		if (resolved)
			FUZZ_CHECK(!*resolved || *resolved == '/');
		free(resolved);
	}
	const char **strings = NULL;
	size_t nstrings = 0;
	jp_collect_strings(root, pointer, &strings, &nstrings);
	for (size_t i = 0; i < nstrings; i++)
		FUZZ_CHECK(strings[i] != NULL);
	free(strings);
	cJSON **items = NULL;
	size_t nitems = 0;
	jp_collect_items(root, pointer, &items, &nitems);
	for (size_t i = 0; i < nitems; i++)
		FUZZ_CHECK(items[i] != NULL);
	free(items);
	cJSON *value = cJSON_CreateString("fuzz-set");
	if (jp_set(root, pointer, value) == 0 && plain && !has_token(pointer, "-"))
		FUZZ_CHECK(jp_get(root, pointer) == value);
	cJSON_Delete(root);
out:
	free(text);
	free(pointer);
	return 0;
}
