/* json: pointer walking, and writing a request with its base64 payloads
 * streamed from files (base64.c encodes them). No store, no network. */
#include "config.h"

#include "base64.h"
#include "json.h"
#include "util.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The next reference token of a pointer, unescaped (~1 is '/', ~0 '~'). */
static char *next_token(const char **p)
{
	const char *start = *p + 1, *end = strchr(start, '/');
	if (!end)
		end = start + strlen(start);
	struct strbuf sb = STRBUF_INIT;
	for (const char *c = start; c < end; c++) {
		if (*c == '~' && c + 1 < end && (c[1] == '0' || c[1] == '1')) {
			sb_addc(&sb, c[1] == '0' ? '~' : '/');
			c++;
		} else {
			sb_addc(&sb, *c);
		}
	}
	*p = end;
	return sb_detach(&sb);
}

static bool array_index(const char *token, int *index)
{
	/* Nine digits at most: no array cJSON parsed is that long, and atoi
	 * of more could overflow. */
	size_t len = strlen(token);
	if (!*token || len > 9 || strspn(token, "0123456789") != len ||
	    (token[0] == '0' && token[1]))
		return false;
	*index = atoi(token);
	return true;
}

static bool has_selector(const char *pointer)
{
	return strstr(pointer, "/[") != NULL;
}

/* A resolved pointer is walked by the plain walkers below and never
 * resolved again: a member name of the request may itself start with '['
 * (a ComfyUI node id, a service's answer), and resolving it again would
 * never end. */
static cJSON *get_plain(cJSON *root, const char *pointer)
{
	cJSON *cur = root;
	const char *p = pointer;
	while (cur && *p == '/') {
		char *token = next_token(&p);
		int index;
		if (cJSON_IsArray(cur))
			cur = array_index(token, &index) ? cJSON_GetArrayItem(cur, index) : NULL;
		else if (cJSON_IsObject(cur))
			cur = cJSON_GetObjectItemCaseSensitive(cur, token);
		else
			cur = NULL;
		free(token);
	}
	return *p ? NULL : cur;
}

cJSON *jp_get(cJSON *root, const char *pointer)
{
	if (!has_selector(pointer))
		return get_plain(root, pointer);
	char *plain = jp_resolve(root, pointer, 0);
	cJSON *item = plain ? get_plain(root, plain) : NULL;
	free(plain);
	return item;
}

int jp_check(const char *what, const char *pointer)
{
	if (*pointer && *pointer != '/')
		return error_set(EX_DATAERR,
				 "%s: \"%s\" is not a JSON pointer (it must start with /)", what,
				 pointer);
	return 0;
}

static int set_plain(cJSON *root, const char *pointer, cJSON *value)
{
	if (jp_check("pointer", pointer) < 0 || !*pointer) {
		cJSON_Delete(value);
		return *pointer ? -1 : error_set(EX_DATAERR, "cannot replace the whole request");
	}
	cJSON *cur = root;
	const char *p = pointer;
	while (*p == '/') {
		char *token = next_token(&p);
		bool last = *p == '\0';
		int index;
		cJSON *child = NULL;
		if (cJSON_IsArray(cur)) {
			if (strcmp(token, "-") == 0) {
				child = NULL;
				index = cJSON_GetArraySize(cur);
			} else if (!array_index(token, &index) || index > cJSON_GetArraySize(cur)) {
				error_set(EX_DATAERR, "%s: no element %s in the array", pointer,
					  token);
				free(token);
				cJSON_Delete(value);
				return -1;
			} else {
				child = cJSON_GetArrayItem(cur, index);
			}
			if (last) {
				if (child)
					cJSON_ReplaceItemInArray(cur, index, value);
				else
					cJSON_AddItemToArray(cur, value);
				free(token);
				return 0;
			}
			if (!child) {
				child = cJSON_CreateObject();
				cJSON_AddItemToArray(cur, child);
			}
		} else if (cJSON_IsObject(cur)) {
			child = cJSON_GetObjectItemCaseSensitive(cur, token);
			if (last) {
				if (child)
					cJSON_ReplaceItemInObjectCaseSensitive(cur, token, value);
				else
					cJSON_AddItemToObject(cur, token, value);
				free(token);
				return 0;
			}
			/* A missing or null member is made an object; any other
			 * value is the request's own and is never overwritten. */
			if (!child || cJSON_IsNull(child)) {
				if (child)
					cJSON_DeleteItemFromObjectCaseSensitive(cur, token);
				child = cJSON_CreateObject();
				cJSON_AddItemToObject(cur, token, child);
			}
		} else {
			error_set(EX_DATAERR,
				  "%s: runs through a value that is not an object or array",
				  pointer);
			free(token);
			cJSON_Delete(value);
			return -1;
		}
		free(token);
		cur = child;
	}
	cJSON_Delete(value);
	return error_set(EX_DATAERR, "%s: not a JSON pointer", pointer);
}

int jp_set(cJSON *root, const char *pointer, cJSON *value)
{
	if (!has_selector(pointer))
		return set_plain(root, pointer, value);
	char *plain = jp_resolve(root, pointer, 0);
	if (!plain) {
		cJSON_Delete(value);
		return error_set(EX_DATAERR, "%s: nothing in the request matches", pointer);
	}
	int rc = set_plain(root, plain, value);
	free(plain);
	return rc;
}

/* The strings of an item: itself, or those of an array, at any depth. */
static void push_strings(cJSON *cur, const char ***out, size_t *n)
{
	if (cJSON_IsString(cur)) {
		*out = xrealloc(*out, (*n + 1) * sizeof(char *));
		(*out)[(*n)++] = cur->valuestring;
	} else if (cJSON_IsArray(cur)) {
		cJSON *item;
		cJSON_ArrayForEach(item, cur)
			push_strings(item, out, n);
	}
}

static void collect_items(cJSON *cur, const char *p, cJSON ***out, size_t *n)
{
	if (!cur)
		return;
	if (!*p) {
		*out = xrealloc(*out, (*n + 1) * sizeof(cJSON *));
		(*out)[(*n)++] = cur;
		return;
	}
	if (*p != '/')
		return;
	char *token = next_token(&p);
	if (strcmp(token, "*") == 0) {
		cJSON *item;
		cJSON_ArrayForEach(item, cur)
			collect_items(item, p, out, n);
	} else {
		int index;
		cJSON *child =
		    cJSON_IsArray(cur)
			? (array_index(token, &index) ? cJSON_GetArrayItem(cur, index) : NULL)
			: cJSON_GetObjectItemCaseSensitive(cur, token);
		collect_items(child, p, out, n);
	}
	free(token);
}

void jp_collect_items(cJSON *root, const char *pointer, cJSON ***out, size_t *n)
{
	collect_items(root, pointer, out, n);
}

static void add_escaped(struct strbuf *sb, const char *name)
{
	sb_addc(sb, '/');
	for (const char *c = name; *c; c++) {
		if (*c == '~')
			sb_adds(sb, "~0");
		else if (*c == '/')
			sb_adds(sb, "~1");
		else
			sb_addc(sb, *c);
	}
}

/* Is token a selector "[key=value]"? Fills key and value (freed by the
 * caller) when it is. */
static bool selector(const char *token, char **key, char **value)
{
	size_t len = strlen(token);
	const char *eq = strchr(token, '=');
	if (len < 4 || token[0] != '[' || token[len - 1] != ']' || !eq)
		return false;
	*key = xstrndup(token + 1, (size_t)(eq - token - 1));
	*value = xstrndup(eq + 1, (size_t)(token + len - 1 - eq - 1));
	return true;
}

/* Walks pointer; *matches counts the first selector's matches; when
 * want >= 0 the want-th one is followed and the plain pointer built. */
static bool resolve(cJSON *root, const char *pointer, int want, struct strbuf *out, int *matches)
{
	cJSON *cur = root;
	const char *p = pointer;
	bool first_selector = true;
	*matches = 0;
	while (cur && *p == '/') {
		char *token = next_token(&p), *key, *value;
		if (selector(token, &key, &value)) {
			cJSON *child, *chosen = NULL;
			int index = 0, seen = 0;
			cJSON_ArrayForEach(child, cur) {
				cJSON *field = cJSON_GetObjectItemCaseSensitive(child, key);
				if (cJSON_IsString(field) &&
				    strcmp(field->valuestring, value) == 0) {
					if (!chosen &&
					    (!first_selector || seen == want || want < 0)) {
						chosen = child;
						if (cJSON_IsArray(cur))
							sb_addf(out, "/%d", index);
						else
							add_escaped(out, child->string);
					}
					seen++;
				}
				index++;
			}
			if (first_selector)
				*matches = seen;
			first_selector = false;
			free(key);
			free(value);
			cur = chosen;
		} else {
			int index;
			if (cJSON_IsArray(cur))
				cur = array_index(token, &index) ? cJSON_GetArrayItem(cur, index)
								 : NULL;
			else if (cJSON_IsObject(cur))
				cur = cJSON_GetObjectItemCaseSensitive(cur, token);
			else
				cur = NULL;
			add_escaped(out, token);
			/* The last token may name something not there yet: it is
			 * what jp_set will create. */
			if (!cur && !*p) {
				free(token);
				if (first_selector)
					*matches = 1;
				return true;
			}
		}
		free(token);
	}
	if (first_selector && cur)
		*matches = 1;
	return cur != NULL && !*p;
}

char *jp_resolve(cJSON *root, const char *pointer, int n)
{
	struct strbuf out = STRBUF_INIT;
	int matches;
	if (!resolve(root, pointer, n, &out, &matches)) {
		sb_release(&out);
		return NULL;
	}
	return sb_detach(&out);
}

int jp_count(cJSON *root, const char *pointer)
{
	struct strbuf out = STRBUF_INIT;
	int matches;
	resolve(root, pointer, -1, &out, &matches);
	sb_release(&out);
	return matches;
}

void jp_collect_strings(cJSON *root, const char *pointer, const char ***out, size_t *n)
{
	cJSON **items = NULL;
	size_t nitems = 0;
	collect_items(root, pointer, &items, &nitems);
	for (size_t i = 0; i < nitems; i++)
		push_strings(items[i], out, n);
	free(items);
}

/* Markers start with a control character, which no JSON text and no
 * string troupe builds can hold unescaped. */
static const char b64_file_marker[] = "\001troupe-base64-file:";

char *json_base64_file(const char *path)
{
	return xasprintf("%s%s", b64_file_marker, path);
}

bool json_is_base64_file(const char *s)
{
	return s && strncmp(s, b64_file_marker, sizeof(b64_file_marker) - 1) == 0;
}

/* Bytes a JSON string must escape: controls, '"' and '\\'; the NUL ends
 * the string. */
static const unsigned char json_special[256] = {
    [0 ... 0x1f] = 1,
    ['"'] = 1,
    ['\\'] = 1,
};

/* Whether any of the eight bytes of w is below 0x20, '"' or '\\' (the
 * classic "has a byte less than n" and "has a zero byte" word tricks). */
static inline bool word_special(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	uint64_t quote = w ^ (ones * '"'), backslash = w ^ (ones * '\\');
	uint64_t below_space = (w - ones * 0x20) & ~w;
	uint64_t is_quote = (quote - ones) & ~quote;
	uint64_t is_backslash = (backslash - ones) & ~backslash;
	return ((below_space | is_quote | is_backslash) & highs) != 0;
}

static void write_string(FILE *out, const char *s)
{
	fputc('"', out);
	const char *run = s;
	const char *end = s + strlen(s);
	for (;; s++) {
		/* The common case, megabytes of base64 and plain text, runs
		 * through here eight bytes at a time. */
		uint64_t w;
		while (end - s >= 8 && (memcpy(&w, s, 8), !word_special(w)))
			s += 8;
		while (!json_special[(unsigned char)*s])
			s++;
		unsigned char c = (unsigned char)*s;
		if (!c)
			break;
		fwrite(run, 1, (size_t)(s - run), out);
		switch (c) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		default:
			fprintf(out, "\\u%04x", c);
		}
		run = s + 1;
	}
	fwrite(run, 1, (size_t)(s - run), out);
	fputc('"', out);
}

int json_write(FILE *out, const cJSON *item)
{
	if (cJSON_IsRaw(item) && json_is_base64_file(item->valuestring))
		return base64_write_file(out, item->valuestring + sizeof(b64_file_marker) - 1, '"');
	if (cJSON_IsString(item)) {
		write_string(out, item->valuestring);
	} else if (cJSON_IsArray(item) || cJSON_IsObject(item)) {
		bool object = cJSON_IsObject(item);
		fputc(object ? '{' : '[', out);
		const cJSON *child;
		bool first = true;
		cJSON_ArrayForEach(child, item) {
			if (!first)
				fputc(',', out);
			first = false;
			if (object) {
				write_string(out, child->string);
				fputc(':', out);
			}
			if (json_write(out, child) < 0)
				return -1;
		}
		fputc(object ? '}' : ']', out);
	} else {
		char *text = cJSON_PrintUnformatted(item);
		fputs(text ? text : "null", out);
		free(text);
	}
	return 0;
}
