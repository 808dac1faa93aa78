/* bundle: a manifest and its blobs in one file (troupe-bundle(5)): a
 * POSIX ustar archive whose first entry is manifest.json and whose
 * others are objects/xx/HASH, written and read as a stream, never held in
 * memory. The reader accepts nothing but what the writer makes: regular
 * files by those names, without execute bits, each once, within the
 * sizes the manifest and the file allow. Nothing here prints. */
#ifndef TROUPE_BUNDLE_H
#define TROUPE_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "store.h"

struct catalog;
struct manifest;

/* The largest entry ustar's size field holds (eleven octal digits). */
#define BUNDLE_MAX_ENTRY ((uint64_t)077777777777)

/* Writes m and every blob it names from the catalog's store to fd, in
 * order, a block at a time. EX_IOERR for a write that fails (the caller
 * removes what was written), EX_DATAERR for a blob larger than ustar
 * holds or whose size changed since m was built. */
int bundle_write(struct catalog *cat, const struct manifest *m, int fd);

struct bundle_reader;

/* Reads a bundle from read (its ctx) — a file or a pipe. total is the
 * file's size when known (a regular file), or -1: an entry that declares
 * more than is left is then refused before it is read. Free with
 * bundle_reader_free(). */
struct bundle_reader *bundle_reader_new(store_read_fn *read, void *ctx, int64_t total);
void bundle_reader_free(struct bundle_reader *r);

/* The manifest: the first entry, which must be manifest.json and at most
 * MANIFEST_MAX_BYTES. NULL with an EX_DATAERR error. */
struct manifest *bundle_read_manifest(struct bundle_reader *r);
/* Moves to the next blob entry: 1 with its hash and size, 0 at the end
 * of the archive (after which only zero blocks may follow), -1 with an
 * EX_DATAERR error for a truncated archive or an entry that is not a
 * blob of the bundle (named in the message: a link, a device, a
 * directory, an absolute or ".." name, a profile, an executable, a
 * name seen before, a size over the limit or the file). The data of the
 * entry before is skipped if it was not read. */
int bundle_next(struct bundle_reader *r, char hash[STORE_HASH_HEX + 1], uint64_t *bytes);
/* Reads the current entry's data (a store_read_fn: ctx is the reader):
 * 0 at the entry's end. */
ssize_t bundle_read(void *reader, void *buf, size_t len);

/* A store_read_fn over a file descriptor (ctx points to the int). */
ssize_t bundle_fd_read(void *ctx, void *buf, size_t len);

#endif
