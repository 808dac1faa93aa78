/* ingest: adding files to the store as assets, as one batch per command:
 * probe and decode (on every CPU at once when asked), stage, then publish
 * the blobs and insert every row in one transaction. Nothing here prints;
 * progress goes through a callback. */
#ifndef TROUPE_INGEST_H
#define TROUPE_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct catalog;

/* Adding files is three steps so that a command is one transaction: a
 * batch validates the character, role and tags; each file is probed and
 * staged; commit publishes the blobs and inserts every row at once. */
struct add_batch;
/* A batch for assets of the character slug names (NULL for none), with
 * this role and these tags (NULL for none); NULL with an error when one
 * of them is not valid. Free with catalog_add_free(). */
struct add_batch *catalog_add_begin(struct catalog *cat, const char *slug, const char *role,
				    const struct strlist *tags);
/* Optional, before catalog_add_file: decodes the pictures of paths (probe,
 * thumbnail and pHash) on every CPU at once, so that adding them one by
 * one finds that work done. tick(done, ctx) is called from this thread
 * as pictures finish. paths are borrowed until the batch is freed. */
void catalog_add_prepare(struct add_batch *b, char *const *paths, size_t n,
			 void (*tick)(size_t done, void *ctx), void *ctx);
/* Probes and stages one file: a picture, or a video (MP4, QuickTime or
 * WebM, told by its first bytes) with its duration, frame rate and codec
 * and a poster frame for its thumbnail and pHash. Returns 0 when staged,
 * -1 with an error when the file is unreadable or not a complete picture
 * or video of an accepted format. */
int catalog_add_file(struct add_batch *b, const char *path);
/* Stages a video as catalog_add_file does, refusing anything else: what
 * video services return. */
int catalog_add_video(struct add_batch *b, const char *path);
/* Stages an encoded frame of the video asset video_id, at t seconds in
 * it, as catalog_add_file stages a picture; name (a file name, no
 * directory) is the source the index records. */
int catalog_add_frame(struct add_batch *b, const void *data, size_t len, const char *name,
		      int64_t video_id, double t);
/* Makes the assets a batch adds outputs of a request (linked in the same
 * transaction as the rows, with the URL each came from). */
void catalog_add_link_request(struct add_batch *b, int64_t request_id, const struct strlist *urls);
/* How many files are staged. */
size_t catalog_add_count(const struct add_batch *b);
/* Publishes and inserts; on success the ids of the assets (new or
 * already there) are in order of the files added. */
int catalog_add_commit(struct add_batch *b);
/* After commit: the i-th file's asset id, hash, path and whether it was
 * new; the strings are borrowed from the batch. */
void catalog_add_result(const struct add_batch *b, size_t i, int64_t *id, const char **hash,
			const char **path, bool *existed);
/* Frees the batch, removing anything staged and not committed. */
void catalog_add_free(struct add_batch *b);

#endif
