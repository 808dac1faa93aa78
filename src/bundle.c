/* bundle: the ustar form of a manifest and its blobs. The writer makes
 * the one shape the reader accepts (see troupe-bundle(5)); the reader
 * checks every header before it believes a byte of it: checksum, magic,
 * type, name, mode and size, and that the archive ends with zero blocks
 * rather than the end of the file. */
#include "config.h"

#include "bundle.h"

#include "catalog.h"
#include "manifest.h"
#include "util.h"

#include <errno.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { BLOCK = 512, NAME_LEN = 100 };

_Static_assert(MANIFEST_MAX_BLOB <= BUNDLE_MAX_ENTRY,
	       "a blob a manifest allows must fit in one bundle entry");

#define MANIFEST_NAME "manifest.json"

/* ---- writing ---- */

static void octal(char *field, size_t width, uint64_t v)
{
	/* width - 1 digits and a NUL, zero-padded, as POSIX writes them. */
	field[width - 1] = '\0';
	for (size_t i = width - 1; i-- > 0; v >>= 3)
		field[i] = (char)('0' + (v & 7));
}

static void header(unsigned char block[BLOCK], const char *name, uint64_t size)
{
	memset(block, 0, BLOCK);
	char *b = (char *)block;
	snprintf(b, NAME_LEN, "%s", name);
	octal(b + 100, 8, 0444);
	octal(b + 108, 8, 0);
	octal(b + 116, 8, 0);
	octal(b + 124, 12, size);
	octal(b + 136, 12, 0); /* mtime: the same cast makes the same bytes */
	b[156] = '0';
	memcpy(b + 257, "ustar", 6);
	memcpy(b + 263, "00", 2);
	memset(b + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < BLOCK; i++)
		sum += block[i];
	snprintf(b + 148, 8, "%06o", sum);
	b[155] = ' ';
}

static int write_or_fail(int fd, const void *data, size_t len)
{
	if (write_all(fd, data, len) < 0)
		return error_set(EX_IOERR, "writing the bundle: %s", strerror(errno));
	return 0;
}

static int pad(int fd, uint64_t size)
{
	static const unsigned char zeros[BLOCK];
	size_t rest = (size_t)(size % BLOCK);
	return rest ? write_or_fail(fd, zeros, BLOCK - rest) : 0;
}

static int write_blob(struct catalog *cat, const struct manifest_blob *b, int fd,
		      unsigned char *buf, size_t chunk)
{
	if (b->bytes > BUNDLE_MAX_ENTRY)
		return error_set(EX_DATAERR, "blob %s: %llu bytes, more than a bundle entry holds",
				 b->hash, (unsigned long long)b->bytes);
	int in = store_open_blob(catalog_store(cat), b->hash);
	if (in < 0)
		return -1;
	char name[NAME_LEN];
	snprintf(name, sizeof(name), "objects/%.2s/%s", b->hash, b->hash);
	unsigned char h[BLOCK];
	header(h, name, b->bytes);
	int rc = write_or_fail(fd, h, BLOCK);
	uint64_t left = b->bytes;
	while (rc == 0 && left) {
		ssize_t n = read(in, buf, left < chunk ? (size_t)left : chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = error_set(n < 0 ? EX_IOERR : EX_DATAERR, "blob %s: %s", b->hash,
				       n < 0 ? strerror(errno) : "shorter than when it was hashed");
			break;
		}
		rc = write_or_fail(fd, buf, (size_t)n);
		left -= (uint64_t)n;
	}
	if (rc == 0 && read(in, buf, 1) != 0)
		rc = error_set(EX_DATAERR, "blob %s: longer than when it was hashed", b->hash);
	close(in);
	return rc == 0 ? pad(fd, b->bytes) : rc;
}

int bundle_write(struct catalog *cat, const struct manifest *m, int fd)
{
	struct strbuf text = STRBUF_INIT;
	manifest_write(m, &text);
	unsigned char h[BLOCK];
	header(h, MANIFEST_NAME, text.len);
	int rc = write_or_fail(fd, h, BLOCK);
	if (rc == 0)
		rc = write_or_fail(fd, text.buf, text.len);
	if (rc == 0)
		rc = pad(fd, text.len);
	sb_release(&text);
	size_t chunk = 1 << 20;
	unsigned char *buf = xmalloc(chunk);
	for (size_t i = 0; rc == 0 && i < m->nblobs; i++)
		rc = write_blob(cat, &m->blobs[i], fd, buf, chunk);
	free(buf);
	if (rc == 0) {
		static const unsigned char end[2 * BLOCK];
		rc = write_or_fail(fd, end, sizeof(end));
	}
	return rc;
}

/* ---- reading ---- */

struct bundle_reader {
	store_read_fn *read;
	void *ctx;
	int64_t total; /* -1: unknown */
	uint64_t offset;
	uint64_t left;	  /* data bytes of the current entry not yet read */
	uint64_t padding; /* and the padding after them */
	bool ended;
	/* The names read so far: a balanced tree (tsearch) to find a
	 * duplicate in O(log n) whatever the names, since a manifest may
	 * name a million blobs; the array owns them, for freeing. */
	void *seen_tree;
	char **seen;
	size_t nseen, seen_cap;
};

static int name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Whether name was read before; if not, it is remembered. */
static bool seen_before(struct bundle_reader *r, const char *name)
{
	if (r->nseen == r->seen_cap) {
		r->seen_cap = r->seen_cap ? r->seen_cap * 2 : 64;
		r->seen = xrealloc(r->seen, r->seen_cap * sizeof(*r->seen));
	}
	char *copy = xstrdup(name);
	char **found = tsearch(copy, &r->seen_tree, name_cmp);
	if (!found) {
		fputs("troupe: out of memory\n", stderr);
		abort();
	}
	if (*found != copy) {
		free(copy);
		return true;
	}
	r->seen[r->nseen++] = copy;
	return false;
}

ssize_t bundle_fd_read(void *ctx, void *buf, size_t len)
{
	int fd = *(int *)ctx;
	for (;;) {
		ssize_t n = read(fd, buf, len);
		if (n >= 0 || errno != EINTR) {
			if (n < 0)
				error_set(EX_IOERR, "reading the bundle: %s", strerror(errno));
			return n;
		}
	}
}

struct bundle_reader *bundle_reader_new(store_read_fn *read, void *ctx, int64_t total)
{
	struct bundle_reader *r = xcalloc(1, sizeof(*r));
	r->read = read;
	r->ctx = ctx;
	r->total = total;
	return r;
}

void bundle_reader_free(struct bundle_reader *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nseen; i++) {
		tdelete(r->seen[i], &r->seen_tree, name_cmp);
		free(r->seen[i]);
	}
	free(r->seen);
	free(r);
}

static int truncated(void)
{
	return error_set(EX_DATAERR, "bundle: truncated (the file ends inside the archive)");
}

/* Reads exactly len bytes; a short file is a truncated bundle. */
static int read_exact(struct bundle_reader *r, void *buf, size_t len)
{
	unsigned char *p = buf;
	while (len) {
		ssize_t n = r->read(r->ctx, p, len);
		if (n < 0)
			return -1;
		if (n == 0)
			return truncated();
		p += n;
		len -= (size_t)n;
		r->offset += (uint64_t)n;
	}
	return 0;
}

static int skip(struct bundle_reader *r, uint64_t n)
{
	unsigned char buf[4096];
	while (n) {
		size_t take = n < sizeof(buf) ? (size_t)n : sizeof(buf);
		if (read_exact(r, buf, take) < 0)
			return -1;
		n -= take;
	}
	return 0;
}

static bool all_zero(const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* A header's octal number: digits, then spaces or NULs to the field's
 * end; a base-256 (GNU) or empty field is refused. */
static int parse_octal(const unsigned char *field, size_t width, uint64_t *out)
{
	size_t i = 0;
	uint64_t v = 0;
	while (i < width && field[i] == ' ')
		i++;
	size_t start = i;
	for (; i < width && field[i] >= '0' && field[i] <= '7'; i++) {
		if (v >> 60)
			return -1;
		v = v * 8 + (uint64_t)(field[i] - '0');
	}
	if (i == start)
		return -1;
	for (; i < width; i++)
		if (field[i] != ' ' && field[i] != '\0')
			return -1;
	*out = v;
	return 0;
}

static int bad_entry(const char *name, const char *why)
{
	char *shown = text_escape(name);
	error_set(EX_DATAERR, "bundle: %s: %s", shown, why);
	free(shown);
	return -1;
}

static const char *type_name(unsigned char type)
{
	switch (type) {
	case '1':
		return "a hard link";
	case '2':
		return "a symbolic link";
	case '3':
		return "a character device";
	case '4':
		return "a block device";
	case '5':
		return "a directory";
	case '6':
		return "a FIFO";
	case 'x':
	case 'g':
		return "a pax extended header";
	case 'L':
	case 'K':
		return "a GNU long name";
	default:
		return "an entry of an unknown type";
	}
}

/* Whether name is a relative path without "." or ".." components. */
static const char *path_problem(const char *name)
{
	if (name[0] == '/')
		return "an absolute name; refusing the bundle";
	for (const char *p = name; *p;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if ((len == 2 && p[0] == '.' && p[1] == '.') || (len == 1 && p[0] == '.'))
			return "a '.' or '..' component (path traversal); refusing the bundle";
		if (len == 0)
			return "an empty path component; refusing the bundle";
		p += len + (slash ? 1 : 0);
	}
	return NULL;
}

/* The next header, checked: its name (NUL-terminated) and size. 0 at the
 * end of the archive. */
static int next_header(struct bundle_reader *r, char name[NAME_LEN + 1], uint64_t *size)
{
	if (r->ended)
		return 0;
	if (skip(r, r->left + r->padding) < 0)
		return -1;
	r->left = r->padding = 0;
	unsigned char h[BLOCK];
	if (read_exact(r, h, BLOCK) < 0)
		return -1;
	if (all_zero(h, BLOCK)) {
		/* The end: a second zero block, then nothing but zeros. */
		if (read_exact(r, h, BLOCK) < 0)
			return -1;
		for (;;) {
			if (!all_zero(h, BLOCK))
				return error_set(EX_DATAERR,
						 "bundle: data after the end of the archive");
			ssize_t n = r->read(r->ctx, h, BLOCK);
			if (n < 0)
				return -1;
			if (n == 0)
				break;
			memset(h + n, 0, BLOCK - (size_t)n);
		}
		r->ended = true;
		return 0;
	}
	uint64_t sum, mode;
	if (parse_octal(h + 148, 8, &sum) < 0)
		return error_set(EX_DATAERR,
				 "bundle: a header without a checksum (not a tar file)");
	unsigned expect = 0;
	for (int i = 0; i < BLOCK; i++)
		expect += i >= 148 && i < 156 ? ' ' : h[i];
	if (sum != expect)
		return error_set(EX_DATAERR,
				 "bundle: a header's checksum does not match (damaged)");
	if (memcmp(h + 257, "ustar", 6) != 0 || memcmp(h + 263, "00", 2) != 0)
		return error_set(EX_DATAERR, "bundle: not a POSIX ustar archive");
	memcpy(name, h, NAME_LEN);
	name[NAME_LEN] = '\0';
	if (h[345] != '\0')
		return bad_entry(name, "a name with a prefix; a bundle's names are short");
	if (!name[0])
		return error_set(EX_DATAERR, "bundle: an entry without a name");
	if (h[156] != '0' && h[156] != '\0') {
		char *why = xasprintf("%s inside a bundle; refusing the bundle", type_name(h[156]));
		bad_entry(name, why);
		free(why);
		return -1;
	}
	const char *why = path_problem(name);
	if (why)
		return bad_entry(name, why);
	if (parse_octal(h + 100, 8, &mode) < 0)
		return bad_entry(name, "a mode that is not a number");
	if (mode & 0111)
		return bad_entry(name, "an executable inside a bundle is never installed; refusing "
				       "the bundle");
	if (parse_octal(h + 124, 12, size) < 0)
		return bad_entry(name, "a size that is not an octal number");
	if (r->total >= 0 && *size > (uint64_t)r->total - r->offset) {
		char *size_why = xasprintf("declares %llu bytes, more than is left in the file "
					   "(truncated); refusing the bundle",
					   (unsigned long long)*size);
		bad_entry(name, size_why);
		free(size_why);
		return -1;
	}
	if (seen_before(r, name))
		return bad_entry(name, "a duplicate entry; refusing the bundle");
	r->left = *size;
	r->padding = (BLOCK - *size % BLOCK) % BLOCK;
	return 1;
}

struct manifest *bundle_read_manifest(struct bundle_reader *r)
{
	char name[NAME_LEN + 1];
	uint64_t size;
	int rc = next_header(r, name, &size);
	if (rc == 0)
		error_set(EX_DATAERR, "bundle: an empty archive, without a manifest");
	if (rc <= 0)
		return NULL;
	if (strcmp(name, MANIFEST_NAME) != 0) {
		bad_entry(name, "the first entry is not " MANIFEST_NAME);
		return NULL;
	}
	if (size > MANIFEST_MAX_BYTES) {
		error_set(EX_DATAERR, "bundle: manifest.json: %llu bytes, over the limit of %zu",
			  (unsigned long long)size, MANIFEST_MAX_BYTES);
		return NULL;
	}
	char *text = xmalloc((size_t)size + 1);
	if (read_exact(r, text, (size_t)size) < 0) {
		free(text);
		return NULL;
	}
	r->left = 0;
	struct manifest *m = manifest_parse(text, (size_t)size);
	free(text);
	return m;
}

static bool is_hex(const char *s, size_t n)
{
	return strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

int bundle_next(struct bundle_reader *r, char hash[STORE_HASH_HEX + 1], uint64_t *bytes)
{
	char name[NAME_LEN + 1];
	int rc = next_header(r, name, bytes);
	if (rc <= 0)
		return rc;
	size_t len = strlen(name);
	if ((len > 5 && strcmp(name + len - 5, ".json") == 0) || strstr(name, "profile"))
		return bad_entry(name, "a profile inside a bundle is never installed; refusing "
				       "the bundle");
	const char *h = name + 11;
	if (strncmp(name, "objects/", 8) != 0 || len != 11 + STORE_HASH_HEX || name[10] != '/' ||
	    !is_hex(h, STORE_HASH_HEX) || memcmp(name + 8, h, 2) != 0)
		return bad_entry(name, "not a blob of a bundle (objects/xx/HASH); refusing the "
				       "bundle");
	if (*bytes > MANIFEST_MAX_BLOB)
		return bad_entry(name, "larger than any blob a bundle may carry");
	memcpy(hash, h, STORE_HASH_HEX + 1);
	return 1;
}

ssize_t bundle_read(void *reader, void *buf, size_t len)
{
	struct bundle_reader *r = reader;
	if (!r->left)
		return 0;
	if (len > r->left)
		len = (size_t)r->left;
	ssize_t n = r->read(r->ctx, buf, len);
	if (n < 0)
		return -1;
	if (n == 0) {
		truncated();
		return -1;
	}
	r->left -= (uint64_t)n;
	r->offset += (uint64_t)n;
	return n;
}
