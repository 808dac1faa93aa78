/* json: pointer walking and base64. No I/O, no store. */
#include "config.h"

#include "json.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Every 12-bit value as its two base64 characters, built by the
 * compiler: three bytes become two lookups instead of four, which matters
 * for the megabytes of references a request may carry. */
#define B64C(c)                                                                                    \
	((c) < 26    ? 'A' + (c)                                                                   \
	 : (c) < 52  ? 'a' + (c)-26                                                                \
	 : (c) < 62  ? '0' + (c)-52                                                                \
	 : (c) == 62 ? '+'                                                                         \
		     : '/')
#define B64P(h, l)                                                                                 \
	{                                                                                          \
		B64C(h), B64C(l)                                                                   \
	}
#define B64P8(h, l)                                                                                \
	B64P(h, l), B64P(h, l + 1), B64P(h, l + 2), B64P(h, l + 3), B64P(h, l + 4),                \
	    B64P(h, l + 5), B64P(h, l + 6), B64P(h, l + 7)
#define B64ROW(h)                                                                                  \
	B64P8(h, 0), B64P8(h, 8), B64P8(h, 16), B64P8(h, 24), B64P8(h, 32), B64P8(h, 40),          \
	    B64P8(h, 48), B64P8(h, 56)
#define B64ROW8(h)                                                                                 \
	B64ROW(h), B64ROW(h + 1), B64ROW(h + 2), B64ROW(h + 3), B64ROW(h + 4), B64ROW(h + 5),      \
	    B64ROW(h + 6), B64ROW(h + 7)
static const char b64_pairs[4096][2] = {B64ROW8(0),  B64ROW8(8),  B64ROW8(16), B64ROW8(24),
					B64ROW8(32), B64ROW8(40), B64ROW8(48), B64ROW8(56)};

/* Encodes len bytes into out (4 * ((len + 2) / 3) characters, no NUL);
 * returns the number of characters written. */
static size_t base64_into(char *out, const unsigned char *in, size_t len)
{
	char *o = out;
	size_t i = 0;
	for (; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		memcpy(o, b64_pairs[v >> 12], 2);
		memcpy(o + 2, b64_pairs[v & 4095], 2);
		o += 4;
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
		*o++ = b64_alphabet[v >> 18];
		*o++ = b64_alphabet[(v >> 12) & 63];
		*o++ = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	return (size_t)(o - out);
}

char *base64_encode(const void *data, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);
	out[base64_into(out, data, len)] = '\0';
	return out;
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

/* Maps the whole file read-only (*map NULL for an empty one); unmap
 * with munmap(*map, *size) when *map is not NULL. */
static int map_file(const char *path, const unsigned char **map, size_t *size)
{
	*map = NULL;
	*size = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return error_set(EX_IOERR, "%s: cannot read: %s", path, strerror(e));
	}
	*size = (size_t)st.st_size;
	if (*size) {
		void *m = mmap(NULL, *size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
		if (m == MAP_FAILED) {
			int e = errno;
			close(fd);
			return error_set(EX_IOERR, "%s: cannot read: %s", path, strerror(e));
		}
		*map = m;
	}
	close(fd);
	return 0;
}

char *base64_encode_file(const char *path)
{
	const unsigned char *map;
	size_t size;
	if (map_file(path, &map, &size) < 0)
		return NULL;
	char *b64 = base64_encode(map, size);
	if (map)
		munmap((void *)map, size);
	return b64;
}

/* Writes the quoted base64 of the file's bytes, a chunk at a time. */
static int write_base64_file(FILE *out, const char *path)
{
	const unsigned char *map;
	size_t size;
	if (map_file(path, &map, &size) < 0)
		return -1;
	/* 48 KiB of bytes make 64 KiB of text: whole groups of three, so
	 * only the last chunk pads. */
	enum { CHUNK = 3 * 16384 };
	char text[4 * (CHUNK / 3)];
	fputc('"', out);
	for (size_t at = 0; at < size; at += CHUNK) {
		size_t n = size - at < CHUNK ? size - at : CHUNK;
		size_t len = base64_into(text, map + at, n);
		fwrite(text, 1, len, out);
	}
	fputc('"', out);
	if (map)
		munmap((void *)map, size);
	return 0;
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
		return write_base64_file(out, item->valuestring + sizeof(b64_file_marker) - 1);
	if (cJSON_IsString(item)) {
		write_string(out, item->valuestring);
	} else if (cJSON_IsArray(item) || cJSON_IsObject(item)) {
		bool object = cJSON_IsObject(item);
		fputc(object ? '{' : '[', out);
		const cJSON *child;
		bool first = true;
		cJSON_ArrayForEach(child, item)
		{
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
