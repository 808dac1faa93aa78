/* base64: the one encoder and decoder of the program. Encoding runs over
 * megabytes of reference images per request, so it goes a pair of
 * characters per lookup; it must never print or touch the store. */
#include "config.h"

#include "base64.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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

char *base64url_encode(const void *data, size_t len)
{
	char *s = base64_encode(data, len);
	size_t j = 0;
	for (size_t i = 0; s[i]; i++) {
		if (s[i] == '=')
			continue;
		s[j++] = s[i] == '+' ? '-' : s[i] == '/' ? '_' : s[i];
	}
	s[j] = '\0';
	return s;
}

/* Both alphabets' values; filled once, as takes render side by side. */
static int8_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_fill(void)
{
	memset(table, -1, sizeof(table));
	for (int i = 0; i < 64; i++)
		table[(unsigned char)b64_alphabet[i]] = (int8_t)i;
	table['-'] = 62;
	table['_'] = 63;
}

int base64_decode(const char *text, struct strbuf *out)
{
	pthread_once(&table_once, table_fill);
	uint32_t acc = 0;
	int bits = 0;
	for (const char *s = text; *s; s++) {
		if (*s == '=' || *s == '\n' || *s == '\r')
			continue;
		int v = table[(unsigned char)*s];
		if (v < 0)
			return error_set(EX_DATAERR, "not base64");
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			sb_addc(out, (char)((acc >> bits) & 0xFF));
		}
	}
	return 0;
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

int base64_write_file(FILE *out, const char *path, char quote)
{
	const unsigned char *map;
	size_t size;
	if (map_file(path, &map, &size) < 0)
		return -1;
	/* 48 KiB of bytes make 64 KiB of text: whole groups of three, so
	 * only the last chunk pads. */
	enum { CHUNK = 3 * 16384 };
	char text[4 * (CHUNK / 3)];
	if (quote)
		fputc(quote, out);
	for (size_t at = 0; at < size; at += CHUNK) {
		size_t n = size - at < CHUNK ? size - at : CHUNK;
		size_t len = base64_into(text, map + at, n);
		fwrite(text, 1, len, out);
	}
	if (quote)
		fputc(quote, out);
	if (map)
		munmap((void *)map, size);
	return 0;
}
