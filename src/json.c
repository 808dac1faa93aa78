/* json: pointer walking and base64. No I/O, no store. */
#include "config.h"

#include "json.h"
#include "util.h"

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
	if (!*token || strspn(token, "0123456789") != strlen(token) ||
	    (token[0] == '0' && token[1]))
		return false;
	*index = atoi(token);
	return true;
}

static bool has_selector(const char *pointer)
{
	return strstr(pointer, "/[") != NULL;
}

cJSON *jp_get(cJSON *root, const char *pointer)
{
	if (has_selector(pointer)) {
		char *plain = jp_resolve(root, pointer, 0);
		cJSON *item = plain ? jp_get(root, plain) : NULL;
		free(plain);
		return item;
	}
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

int jp_check(const char *what, const char *pointer)
{
	if (*pointer && *pointer != '/')
		return error_set(EX_DATAERR,
				 "%s: \"%s\" is not a JSON pointer (it must start with /)", what,
				 pointer);
	return 0;
}

int jp_set(cJSON *root, const char *pointer, cJSON *value)
{
	if (has_selector(pointer)) {
		char *plain = jp_resolve(root, pointer, 0);
		if (!plain) {
			cJSON_Delete(value);
			return error_set(EX_DATAERR, "%s: nothing in the request matches", pointer);
		}
		int rc = jp_set(root, plain, value);
		free(plain);
		return rc;
	}
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
			if (!child || !(cJSON_IsObject(child) || cJSON_IsArray(child))) {
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

/* The strings of an item: itself, or those of an array, at any depth. */
static void push_strings(cJSON *cur, const char ***out, size_t *n)
{
	if (cJSON_IsString(cur)) {
		*out = xrealloc(*out, (*n + 1) * sizeof(char *));
		(*out)[(*n)++] = cur->valuestring;
	} else if (cJSON_IsArray(cur)) {
		cJSON *item;
		cJSON_ArrayForEach(item, cur) push_strings(item, out, n);
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
		cJSON_ArrayForEach(item, cur) collect_items(item, p, out, n);
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
			cJSON_ArrayForEach(child, cur)
			{
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

char *base64_encode(const void *data, size_t len)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *in = data;
	char *out = xmalloc(4 * ((len + 2) / 3) + 1), *o = out;
	size_t i = 0;
	for (; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*o++ = alphabet[v >> 18];
		*o++ = alphabet[(v >> 12) & 63];
		*o++ = alphabet[(v >> 6) & 63];
		*o++ = alphabet[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
		*o++ = alphabet[v >> 18];
		*o++ = alphabet[(v >> 12) & 63];
		*o++ = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}
