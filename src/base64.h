/* base64: RFC 4648 encoding and decoding, of memory and of files, in the
 * standard and the URL-safe alphabet. It knows nothing of JSON, the store
 * or the network, and never prints. */
#ifndef TROUPE_BASE64_H
#define TROUPE_BASE64_H

#include <stddef.h>
#include <stdio.h>

struct strbuf;

/* Standard base64 with padding; the caller frees the result. */
char *base64_encode(const void *data, size_t len);
/* base64url without padding (RFC 4648 section 5, as JWTs use it); the
 * caller frees the result. */
char *base64url_encode(const void *data, size_t len);
/* Appends the bytes text encodes to out. Either alphabet is accepted, and
 * padding and line breaks are skipped; any other character is an
 * EX_DATAERR error (-1, with what was decoded so far left in out). */
int base64_decode(const char *text, struct strbuf *out);

/* The base64 of a file's bytes, read through a memory map; NULL with an
 * error naming the file when it cannot be read. */
char *base64_encode_file(const char *path);
/* Writes the base64 of a file's bytes to out a chunk at a time, between
 * two quote characters when quote is not 0 (a JSON string). Nothing is
 * written when the file cannot be read: -1 with an error naming it. */
int base64_write_file(FILE *out, const char *path, char quote);

#endif
