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

cJSON *jp_get(cJSON *root, const char *pointer)
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

int jp_check(const char *what, const char *pointer)
{
	if (*pointer && *pointer != '/')
		return error_set(EX_DATAERR, "%s: \"%s\" is not a JSON pointer (it must start with /)",
		                 what, pointer);
	return 0;
}

int jp_set(cJSON *root, const char *pointer, cJSON *value)
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
				error_set(EX_DATAERR, "%s: no element %s in the array", pointer, token);
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
			error_set(EX_DATAERR, "%s: runs through a value that is not an object or array",
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

static void collect(cJSON *cur, const char *p, const char ***out, size_t *n)
{
	if (!cur)
		return;
	if (!*p) {
		if (cJSON_IsString(cur)) {
			*out = xrealloc(*out, (*n + 1) * sizeof(char *));
			(*out)[(*n)++] = cur->valuestring;
		} else if (cJSON_IsArray(cur)) {
			cJSON *item;
			cJSON_ArrayForEach(item, cur) collect(item, "", out, n);
		}
		return;
	}
	if (*p != '/')
		return;
	char *token = next_token(&p);
	if (strcmp(token, "*") == 0) {
		cJSON *item;
		cJSON_ArrayForEach(item, cur) collect(item, p, out, n);
	} else {
		int index;
		cJSON *child = cJSON_IsArray(cur) ? (array_index(token, &index)
		                                         ? cJSON_GetArrayItem(cur, index)
		                                         : NULL)
		                                  : cJSON_GetObjectItemCaseSensitive(cur, token);
		collect(child, p, out, n);
	}
	free(token);
}

void jp_collect_strings(cJSON *root, const char *pointer, const char ***out, size_t *n)
{
	collect(root, pointer, out, n);
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
