/* Unit tests for json: JSON pointers (RFC 6901) with wildcards and
 * selectors, and base64 (RFC 4648) of memory and of files. */
#include "config.h"

#include "base64.h"
#include "json.h"
#include "tap.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

static void check_b64(const char *in, size_t len, const char *want)
{
	char *got = base64_encode(in, len);
	is_str(got, want, "base64 of %zu bytes", len);
	free(got);
}

/* Decodes standard base64 (no checks beyond the alphabet), for the
 * round trip over every byte value and every length mod 3. */
static size_t b64_decode(const char *s, unsigned char *out)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (; *s && *s != '='; s++) {
		acc = acc << 6 | (uint32_t)(strchr(alphabet, *s) - alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	return n;
}

#define like_msg(text)                                                                             \
	ok(strstr(error_message(), text) != NULL, "the error says '%s': %s", text, error_message())

static const char *str_at(cJSON *root, const char *pointer)
{
	cJSON *item = jp_get(root, pointer);
	return cJSON_IsString(item) ? item->valuestring : NULL;
}

int main(void)
{
	/* RFC 4648, section 10. */
	check_b64("", 0, "");
	check_b64("f", 1, "Zg==");
	check_b64("fo", 2, "Zm8=");
	check_b64("foo", 3, "Zm9v");
	check_b64("foob", 4, "Zm9vYg==");
	check_b64("fooba", 5, "Zm9vYmE=");
	check_b64("foobar", 6, "Zm9vYmFy");
	check_b64("\xff\xfe\xfd\x00\x01", 5, "//79AAE=");

	unsigned char bytes[770], back[770];
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (unsigned char)(i * 7 + (i >> 8));
	int round_trips = 0;
	for (size_t len = 760; len <= sizeof(bytes); len++) {
		char *s = base64_encode(bytes, len);
		round_trips += strlen(s) == 4 * ((len + 2) / 3) && b64_decode(s, back) == len &&
			       memcmp(back, bytes, len) == 0;
		free(s);
	}
	ok(round_trips == 11, "every byte value round-trips, at every length mod 3");

	/* A file's base64, mapped whole or streamed by json_write in chunks:
	 * the same text as from memory, at sizes around the chunk of 48 KiB. */
	char *dir = temp_template("json");
	ok(mkdtemp(dir) != NULL, "temporary directory");
	char *path = xasprintf("%s/bytes", dir);
	static const size_t sizes[] = {0, 1, 2, 3, 49151, 49152, 49153, 100001};
	int same_mapped = 0, same_streamed = 0;
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t len = sizes[k];
		unsigned char *data = xmalloc(len + 1);
		for (size_t i = 0; i < len; i++)
			data[i] = (unsigned char)(i * 131 + (i >> 9));
		FILE *f = fopen(path, "wb");
		fwrite(data, 1, len, f);
		fclose(f);
		char *want = base64_encode(data, len);
		char *mapped = base64_encode_file(path);
		same_mapped += mapped && strcmp(mapped, want) == 0;
		cJSON *raw = cJSON_CreateRaw("");
		free(raw->valuestring);
		raw->valuestring = json_base64_file(path);
		char *buf = NULL;
		size_t buflen = 0;
		FILE *mem = open_memstream(&buf, &buflen);
		int rc = json_write(mem, raw);
		fclose(mem);
		same_streamed += rc == 0 && buflen == strlen(want) + 2 && buf[0] == '"' &&
				 memcmp(buf + 1, want, strlen(want)) == 0 && buf[buflen - 1] == '"';
		free(buf);
		cJSON_Delete(raw);
		free(mapped);
		free(want);
		free(data);
	}
	ok(same_mapped == 8, "base64_encode_file is base64_encode of the bytes (%d of 8 sizes)",
	   same_mapped);
	ok(same_streamed == 8, "json_write streams the same text, quoted (%d of 8 sizes)",
	   same_streamed);
	char *marker = json_base64_file(path);
	ok(json_is_base64_file(marker) && !json_is_base64_file(path) &&
	       !json_is_base64_file(NULL) && !json_is_base64_file(""),
	   "a marker is told from a path and from nothing");
	free(marker);
	unlink(path);
	error_clear();
	ok(base64_encode_file(path) == NULL && strstr(error_message(), path) &&
	       strstr(error_message(), "cannot read"),
	   "a missing file is an error naming it: %s", error_message());
	cJSON *gone = cJSON_CreateRaw("");
	free(gone->valuestring);
	gone->valuestring = json_base64_file(path);
	FILE *devnull = fopen("/dev/null", "w");
	ok(json_write(devnull, gone) < 0 && strstr(error_message(), path),
	   "and json_write of it fails, naming it");
	fclose(devnull);
	cJSON_Delete(gone);
	rmdir(dir);
	free(path);
	free(dir);

	cJSON *doc = cJSON_Parse(
	    "{\"a\": {\"b\": [\"x\", \"y\"]}, \"m~n\": \"tilde\", \"p/q\": \"slash\","
	    " \"\": \"empty key\","
	    " \"nodes\": {\"3\": {\"class_type\": \"LoadImage\", \"inputs\": {\"image\": "
	    "\"a.png\"}},"
	    "             \"7\": {\"class_type\": \"KSampler\", \"inputs\": {\"seed\": 1}},"
	    "             \"9\": {\"class_type\": \"LoadImage\", \"inputs\": {\"image\": "
	    "\"b.png\"}}},"
	    " \"list\": [{\"type\": \"text\", \"v\": 1}, {\"type\": \"image\", \"v\": 2}]}");
	ok(doc != NULL, "the test document parses");
	ok(jp_get(doc, "") == doc, "\"\" is the whole document");
	is_str(str_at(doc, "/a/b/1"), "y", "an array index");
	ok(jp_get(doc, "/a/b/2") == NULL, "past the end of an array");
	ok(jp_get(doc, "/a/b/01") == NULL, "a leading zero is not an index");
	ok(jp_get(doc, "/a/b/-") == NULL, "\"-\" reads nothing");
	is_str(str_at(doc, "/m~0n"), "tilde", "~0 is a tilde");
	is_str(str_at(doc, "/p~1q"), "slash", "~1 is a slash");
	is_str(str_at(doc, "/"), "empty key", "\"/\" is the empty key");
	ok(jp_get(doc, "/a/c") == NULL, "a missing member");
	ok(jp_get(doc, "/a/b/0/z") == NULL, "through a string");

	ok(jp_check("--x", "") == 0 && jp_check("--x", "/a") == 0, "pointers that check");
	ok(jp_check("--x", "a/b") < 0, "a pointer must start with '/'");
	like_msg("--x");

	ok(jp_set(doc, "/a/b/-", cJSON_CreateString("z")) == 0, "append with \"-\"");
	is_str(str_at(doc, "/a/b/2"), "z", "appended at the end");
	ok(jp_set(doc, "/new/deep/key", cJSON_CreateNumber(5)) == 0, "objects made on the way");
	ok(cJSON_GetNumberValue(jp_get(doc, "/new/deep/key")) == 5, "the value is there");
	ok(jp_set(doc, "/m~0n/x", cJSON_CreateNumber(1)) < 0, "set through a string fails");
	like_msg("runs through a value that is not an object or array");
	is_str(str_at(doc, "/m~0n"), "tilde", "and leaves the string alone");
	cJSON_AddNullToObject(doc, "nothing");
	ok(jp_set(doc, "/nothing/x", cJSON_CreateNumber(2)) == 0,
	   "set through a null makes an object");

	const char **strings = NULL;
	size_t n = 0;
	jp_collect_strings(doc, "/nodes/*/inputs/image", &strings, &n);
	ok(n == 2 && !strcmp(strings[0], "a.png") && !strcmp(strings[1], "b.png"),
	   "a wildcard over an object's members (%zu)", n);
	free(strings);

	ok(jp_count(doc, "/nodes/[class_type=LoadImage]/inputs/image") == 2,
	   "a selector counts its matches");
	char *p = jp_resolve(doc, "/nodes/[class_type=LoadImage]/inputs/image", 1);
	is_str(p, "/nodes/9/inputs/image", "the second match of a selector");
	free(p);
	p = jp_resolve(doc, "/list/[type=image]/v", 0);
	is_str(p, "/list/1/v", "a selector over an array");
	free(p);
	ok(jp_resolve(doc, "/nodes/[class_type=VAEDecode]", 0) == NULL, "no match is NULL");
	ok(jp_count(doc, "/nodes/[class_type=VAEDecode]") == 0, "and counts 0");
	ok(jp_count(doc, "/a/b") == 1, "no selector counts 1");

	/* A member whose name starts with '[' (a ComfyUI node id) is reached
	 * through a selector and never read as a selector again. */
	cJSON *nodes = cJSON_Parse("{\"[7\": {\"class_type\": \"CLIPTextEncode\","
				   " \"inputs\": {\"text\": \"hi\"}}}");
	is_str(str_at(nodes, "/[class_type=CLIPTextEncode]/inputs/text"), "hi",
	       "a selector reaches a member named '[7'");
	ok(jp_set(nodes, "/[class_type=CLIPTextEncode]/inputs/text", cJSON_CreateString("yo")) == 0,
	   "and sets it");
	is_str(str_at(nodes, "/[7/inputs/text"), "yo", "the member named '[7' is set");
	cJSON_Delete(nodes);

	cJSON_Delete(doc);

	/* json_write, which skips plain runs eight bytes at a time: every
	 * special byte at every offset, and the text must parse back whole. */
	const char specials[] = {'"', '\\', '\n', '\t', '\r', 1, 0x1f, '\b'};
	int round_ok = 0, rounds = 0;
	for (size_t k = 0; k < sizeof(specials); k++) {
		for (size_t at = 0; at < 20; at++) {
			char text[32];
			for (size_t i = 0; i < 21; i++)
				text[i] = (char)('a' + i);
			text[at] = specials[k];
			text[21] = '\0';
			cJSON *item = cJSON_CreateString(text);
			char *buf = NULL;
			size_t len = 0;
			FILE *mem = open_memstream(&buf, &len);
			json_write(mem, item);
			fclose(mem);
			cJSON *parsed = cJSON_Parse(buf);
			round_ok +=
			    cJSON_IsString(parsed) && strcmp(parsed->valuestring, text) == 0;
			rounds++;
			cJSON_Delete(parsed);
			cJSON_Delete(item);
			free(buf);
		}
	}
	ok(round_ok == rounds, "json_write escapes every special byte at every offset (%d/%d)",
	   round_ok, rounds);
	return tap_done();
}
