/* s3-xml: the strict little reader behind s3-xml.h. S3's answers are
 * flat records of simple elements; this finds an element by its exact
 * name, takes its text between the tags, and decodes that text. It does
 * not build a tree, so nothing here grows with the depth of the input. */
#include "config.h"

#include "s3-xml.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* Where the element named tag starts at or after from: the offsets of its
 * text and of the first byte after its end tag. A self-closing element
 * has empty text. False when there is none, or its end tag is missing. */
static bool find_element(const char *xml, size_t len, size_t from, const char *tag,
			 size_t *text_start, size_t *text_end, size_t *after)
{
	size_t tlen = strlen(tag);
	for (size_t i = from; i + tlen + 2 <= len; i++) {
		if (xml[i] != '<' || memcmp(xml + i + 1, tag, tlen) != 0)
			continue;
		size_t j = i + 1 + tlen;
		if (j >= len)
			return false;
		char c = xml[j];
		if (c != '>' && c != ' ' && c != '/' && c != '\t' && c != '\r' && c != '\n')
			continue;
		const char *gt = memchr(xml + j, '>', len - j);
		if (!gt)
			return false;
		size_t open_end = (size_t)(gt - xml);
		if (xml[open_end - 1] == '/') {
			*text_start = *text_end = open_end + 1;
			*after = open_end + 1;
			return true;
		}
		/* The end tag: "</tag>", the first one after the start tag
		 * (S3's records do not nest an element in one of its name). */
		for (size_t k = open_end + 1; k + tlen + 3 <= len; k++) {
			if (xml[k] == '<' && xml[k + 1] == '/' &&
			    memcmp(xml + k + 2, tag, tlen) == 0 && xml[k + 2 + tlen] == '>') {
				*text_start = open_end + 1;
				*text_end = k;
				*after = k + tlen + 3;
				return true;
			}
		}
		return false;
	}
	return false;
}

static void add_utf8(struct strbuf *sb, unsigned long cp)
{
	char out[4];
	size_t n;
	if (cp < 0x80) {
		out[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		out[0] = (char)(0xf0 | (cp >> 18));
		out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	sb_add(sb, out, n);
}

/* The text between two offsets with its references decoded; NULL when a
 * reference is malformed, names NUL or no character, the text holds
 * markup ('<') or a NUL, or it is not UTF-8. */
static char *decode_text(const char *s, size_t len)
{
	static const struct {
		const char *name;
		char c;
	} named[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
	struct strbuf sb = STRBUF_INIT;
	sb_grow(&sb, len);
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '<' || c == '\0')
			goto bad;
		if (c != '&') {
			sb_addc(&sb, c);
			continue;
		}
		const char *semi = memchr(s + i, ';', len - i);
		if (!semi || semi - (s + i) > 12)
			goto bad;
		size_t rlen = (size_t)(semi - (s + i)) + 1; /* "&...;" */
		bool done = false;
		for (size_t k = 0; k < sizeof(named) / sizeof(named[0]) && !done; k++)
			if (rlen - 1 == strlen(named[k].name) &&
			    memcmp(s + i + 1, named[k].name, rlen - 1) == 0) {
				sb_addc(&sb, named[k].c);
				done = true;
			}
		if (!done) {
			if (rlen < 4 || s[i + 1] != '#')
				goto bad;
			bool hex = s[i + 2] == 'x';
			size_t start = i + 2 + (hex ? 1 : 0);
			if (start >= i + rlen - 1)
				goto bad;
			unsigned long cp = 0;
			for (size_t k = start; k < i + rlen - 1; k++) {
				char d = s[k];
				int v;
				if (d >= '0' && d <= '9')
					v = d - '0';
				else if (hex && d >= 'a' && d <= 'f')
					v = d - 'a' + 10;
				else if (hex && d >= 'A' && d <= 'F')
					v = d - 'A' + 10;
				else
					goto bad;
				cp = cp * (hex ? 16 : 10) + (unsigned long)v;
				if (cp > 0x10ffff)
					goto bad;
			}
			if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
				goto bad;
			add_utf8(&sb, cp);
		}
		i += rlen - 1;
	}
	/* sb_grow leaves a buffer nothing was added to unterminated. */
	if (!sb.len) {
		sb_release(&sb);
		return xstrdup("");
	}
	if (!utf8_valid(sb_str(&sb), sb.len))
		goto bad;
	return sb_detach(&sb);
bad:
	sb_release(&sb);
	return NULL;
}

static char *element_text(const char *xml, size_t len, size_t from, const char *tag)
{
	size_t a, b, after;
	if (!find_element(xml, len, from, tag, &a, &b, &after))
		return NULL;
	return decode_text(xml + a, b - a);
}

char *s3xml_text(const char *xml, size_t len, const char *tag)
{
	return xml ? element_text(xml, len, 0, tag) : NULL;
}

int s3xml_error(const char *xml, size_t len, char **code, char **message)
{
	*code = *message = NULL;
	size_t a, b, after;
	if (!xml || !find_element(xml, len, 0, "Error", &a, &b, &after))
		return -1;
	*code = element_text(xml + a, b - a, 0, "Code");
	*message = element_text(xml + a, b - a, 0, "Message");
	return 0;
}

/* A decimal size that fills the text and fits in 63 bits. */
static bool parse_size(const char *text, uint64_t *out)
{
	if (!text || !*text || strlen(text) > 18)
		return false;
	uint64_t v = 0;
	for (const char *c = text; *c; c++) {
		if (*c < '0' || *c > '9')
			return false;
		v = v * 10 + (uint64_t)(*c - '0');
	}
	*out = v;
	return true;
}

/* Whether a start tag of the element named tag begins at or after from,
 * whether or not it is ever closed. */
static bool has_start_tag(const char *xml, size_t len, size_t from, const char *tag)
{
	size_t tlen = strlen(tag);
	for (size_t i = from; i + tlen + 2 <= len; i++) {
		if (xml[i] != '<' || memcmp(xml + i + 1, tag, tlen) != 0)
			continue;
		char c = xml[i + 1 + tlen];
		if (c == '>' || c == ' ' || c == '/' || c == '\t' || c == '\r' || c == '\n')
			return true;
	}
	return false;
}

int s3xml_list(const char *xml, size_t len, s3xml_object_fn *each, void *ctx, bool *truncated,
	       char **next)
{
	*truncated = false;
	*next = NULL;
	size_t a, b, after;
	if (!xml || !find_element(xml, len, 0, "ListBucketResult", &a, &b, &after))
		return -1;
	const char *body = xml + a;
	size_t blen = b - a;
	char *flag = element_text(body, blen, 0, "IsTruncated");
	if (flag && strcmp(flag, "true") && strcmp(flag, "false")) {
		free(flag);
		return -1;
	}
	*truncated = flag && !strcmp(flag, "true");
	free(flag);
	size_t pos = 0, ca, cb;
	while (find_element(body, blen, pos, "Contents", &ca, &cb, &after)) {
		char *key = element_text(body + ca, cb - ca, 0, "Key");
		char *size = element_text(body + ca, cb - ca, 0, "Size");
		uint64_t bytes;
		int rc = 0;
		if (!key || !*key || !parse_size(size, &bytes))
			rc = -1;
		else
			rc = each(key, bytes, ctx);
		free(key);
		free(size);
		if (rc)
			return rc;
		pos = after;
	}
	/* The walk stops at the first record it cannot close: one left
	 * there is a listing cut short, not a short listing. */
	if (has_start_tag(body, blen, pos, "Contents"))
		return -1;
	if (*truncated) {
		*next = element_text(body, blen, 0, "NextContinuationToken");
		/* A truncated listing without a way on would be read again and
		 * again. */
		if (!*next || !**next) {
			free(*next);
			*next = NULL;
			return -1;
		}
	}
	return 0;
}
