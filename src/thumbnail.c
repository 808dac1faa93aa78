/* thumbnail: the small picture and the perceptual hash of every stored
 * picture (both come from one decode), made late for blobs that have
 * none, and the pHash cache file behind similar. A thumbnail is a blob
 * like any other; this room never prints. */
#include "config.h"

#include "asset.h"
#include "cachefile.h"
#include "catalog-int.h"
#include "image.h"
#include "phash.h"
#include "thumbnail.h"
#include "video.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool catalog_file_is_video(const char *path, const char **format)
{
	unsigned char head[12];
	FILE *f = fopen(path, "rb");
	size_t got = f ? fread(head, 1, sizeof(head), f) : 0;
	if (f)
		fclose(f);
	return video_sniff(head, got, format);
}

struct poster_thumb {
	struct image_buffer *thumb;
	uint64_t *phash;
	int rc;
};

static int poster_to_thumb(const struct video_frame *f, void *ctx)
{
	struct poster_thumb *p = ctx;
	p->rc =
	    image_thumbnail_rgb(f->rgb, f->width, f->height, IMAGE_THUMB_SIDE, p->thumb, p->phash);
	return 1;
}

int catalog_picture_thumbnail(const char *path, struct image_buffer *thumb, uint64_t *phash)
{
	const char *format;
	memset(thumb, 0, sizeof(*thumb));
	if (!catalog_file_is_video(path, &format))
		return image_thumbnail(path, IMAGE_THUMB_SIDE, thumb, phash);
	/* A video's picture is its poster frame, decoded at thumbnail size. */
	struct poster_thumb p = {thumb, phash, -1};
	if (video_poster(path, IMAGE_THUMB_SIDE, poster_to_thumb, &p) < 0)
		return -1;
	return p.rc;
}

int catalog_thumbnail_stage(struct store *st, const char *path, struct store_staged *thumb,
			    int *width, int *height, uint64_t *phash)
{
	struct image_buffer buf;
	if (catalog_picture_thumbnail(path, &buf, phash) < 0)
		return -1;
	int rc = store_stage_buffer(st, buf.data, buf.len, thumb);
	*width = buf.width;
	*height = buf.height;
	image_buffer_clear(&buf);
	return rc;
}

int catalog_thumbnail_link(struct catalog *cat, int64_t blob_id, const char *thumb_hash,
			   int64_t thumb_bytes, int width, int height)
{
	int64_t thumb_id = catalog_blob_upsert(cat, thumb_hash, thumb_bytes, NULL);
	if (thumb_id < 0)
		return -1;
	sqlite3_stmt *stmt =
	    db_prepare(cat->db, "INSERT OR IGNORE INTO thumbnails(blob_id, "
				"thumb_blob_id, width, height) VALUES (?1, ?2, ?3, ?4)");
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, blob_id);
	sqlite3_bind_int64(stmt, 2, thumb_id);
	sqlite3_bind_int(stmt, 3, width);
	sqlite3_bind_int(stmt, 4, height);
	int rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : db_error(cat->db, "thumbnail");
	sqlite3_finalize(stmt);
	return rc;
}

static int thumbnail_hash(struct catalog *cat, int64_t blob_id, char hash[STORE_HASH_HEX + 1])
{
	sqlite3_stmt *stmt =
	    catalog_stmt_get(cat, "SELECT tb.hash FROM thumbnails t JOIN blobs tb "
				  "ON tb.id = t.thumb_blob_id WHERE t.blob_id = ?1");
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, blob_id);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		snprintf(hash, STORE_HASH_HEX + 1, "%s",
			 (const char *)sqlite3_column_text(stmt, 0));
	catalog_stmt_put(cat, stmt);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : db_error(cat->db, "thumbnail");
}

/* Makes the thumbnail (and pHash) of a stored blob that has none. */
static int thumbnail_make(struct catalog *cat, int64_t blob_id, const char *hash)
{
	char *path = store_blob_path(cat->store, hash);
	struct store_staged thumb = {0};
	int width, height;
	uint64_t phash;
	int rc = catalog_thumbnail_stage(cat->store, path, &thumb, &width, &height, &phash);
	free(path);
	if (rc < 0)
		return error_prefix("blob %s", hash);
	if (store_publish(cat->store, &thumb, 1) < 0 || db_begin(cat->db) < 0)
		goto fail;
	sqlite3_stmt *stmt = db_prepare(cat->db, "UPDATE blobs SET phash = ?2 WHERE id = ?1 AND "
						 "phash IS NULL");
	if (!stmt)
		goto fail;
	sqlite3_bind_int64(stmt, 1, blob_id);
	sqlite3_bind_int64(stmt, 2, (int64_t)phash);
	rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : db_error(cat->db, "pHash");
	sqlite3_finalize(stmt);
	if (rc < 0 ||
	    catalog_thumbnail_link(cat, blob_id, thumb.hash, (int64_t)thumb.bytes, width, height) <
		0 ||
	    db_commit(cat->db) < 0)
		goto fail;
	return 0;
fail:
	db_rollback(cat->db);
	store_staged_discard(&thumb);
	return -1;
}

char *catalog_thumbnail(struct catalog *cat, int64_t asset_id)
{
	int64_t blob_id;
	char hash[STORE_HASH_HEX + 1], thumb[STORE_HASH_HEX + 1];
	if (catalog_asset_blob(cat, asset_id, &blob_id, hash) < 0)
		return NULL;
	int has = thumbnail_hash(cat, blob_id, thumb);
	if (has == 0 && thumbnail_make(cat, blob_id, hash) == 0)
		has = thumbnail_hash(cat, blob_id, thumb);
	if (has <= 0) {
		if (has == 0)
			error_set(EX_SOFTWARE, "asset %lld: no thumbnail", (long long)asset_id);
		return NULL;
	}
	return store_blob_path(cat->store, thumb);
}

int catalog_thumbnail_open(struct catalog *cat, int64_t asset_id)
{
	char *path = catalog_thumbnail(cat, asset_id);
	if (!path)
		return -1;
	free(path);
	int64_t blob_id;
	char hash[STORE_HASH_HEX + 1], thumb[STORE_HASH_HEX + 1];
	if (catalog_asset_blob(cat, asset_id, &blob_id, hash) < 0 ||
	    thumbnail_hash(cat, blob_id, thumb) <= 0)
		return -1;
	return store_open_blob(cat->store, thumb);
}

int catalog_asset_phash(struct catalog *cat, int64_t asset_id, uint64_t *phash)
{
	int64_t blob_id;
	char hash[STORE_HASH_HEX + 1];
	if (catalog_asset_blob(cat, asset_id, &blob_id, hash) < 0)
		return -1;
	for (int attempt = 0; attempt < 2; attempt++) {
		sqlite3_stmt *stmt = db_prepare(cat->db, "SELECT phash FROM blobs WHERE id = ?1");
		if (!stmt)
			return -1;
		sqlite3_bind_int64(stmt, 1, blob_id);
		int rc = sqlite3_step(stmt);
		bool have = rc == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL;
		if (have)
			*phash = (uint64_t)sqlite3_column_int64(stmt, 0);
		sqlite3_finalize(stmt);
		if (have)
			return 0;
		/* Made before pHashes existed: compute it now, with the thumbnail. */
		if (attempt == 0 && thumbnail_make(cat, blob_id, hash) < 0)
			return -1;
	}
	return error_set(EX_SOFTWARE, "asset %lld: no pHash", (long long)asset_id);
}

int catalog_file_phash(const char *path, uint64_t *phash)
{
	struct image_info info;
	struct video_info video;
	struct image_buffer thumb;
	const char *format;
	bool is_video = catalog_file_is_video(path, &format);
	if ((is_video ? video_probe(path, &video) : image_probe(path, &info)) < 0 ||
	    catalog_picture_thumbnail(path, &thumb, phash) < 0)
		return error_prefix("%s", path);
	image_buffer_clear(&thumb);
	return 0;
}

/* The changes of steps f->generation + 1 to generation, applied to f
 * (held exclusive): 0 when done, 1 when the log does not hold every
 * step, -1 on error. */
static int phash_file_catch_up(struct catalog *cat, struct cachefile *f, const char *path,
			       uint64_t generation)
{
	sqlite3_stmt *count = catalog_stmt_get(
	    cat, "SELECT count(*) FROM phash_changes WHERE generation > ?1 AND generation <= ?2");
	if (!count)
		return -1;
	sqlite3_bind_int64(count, 1, (int64_t)f->generation);
	sqlite3_bind_int64(count, 2, (int64_t)generation);
	int step = sqlite3_step(count);
	uint64_t logged = step == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(count, 0) : 0;
	catalog_stmt_put(cat, count);
	if (step != SQLITE_ROW)
		return db_error(cat->db, "pHash index");
	if (logged != generation - f->generation)
		return 1;
	sqlite3_stmt *changes =
	    db_prepare(cat->db, "SELECT DISTINCT c.blob_id, b.phash FROM phash_changes c LEFT JOIN "
				"blobs b ON b.id = c.blob_id WHERE c.generation > ?1 AND "
				"c.generation <= ?2 ORDER BY 1");
	if (!changes)
		return -1;
	sqlite3_bind_int64(changes, 1, (int64_t)f->generation);
	sqlite3_bind_int64(changes, 2, (int64_t)generation);
	size_t nchanged = 0, n = 0, cap = 0;
	int64_t *changed = NULL, *ids = NULL;
	uint64_t *hashes = NULL;
	while ((step = sqlite3_step(changes)) == SQLITE_ROW) {
		if (nchanged == cap) {
			cap = cap ? cap * 2 : 256;
			changed = xrealloc(changed, cap * sizeof(*changed));
			ids = xrealloc(ids, cap * sizeof(*ids));
			hashes = xrealloc(hashes, cap * sizeof(*hashes));
		}
		int64_t id = sqlite3_column_int64(changes, 0);
		changed[nchanged++] = id;
		if (sqlite3_column_type(changes, 1) == SQLITE_NULL)
			continue;
		ids[n] = id;
		hashes[n] = (uint64_t)sqlite3_column_int64(changes, 1);
		n++;
	}
	sqlite3_finalize(changes);
	int rc = step == SQLITE_DONE ? 0 : db_error(cat->db, "pHash index");
	if (rc == 0)
		rc = cachefile_update(f, path, phash_cache_kind(), generation, changed, nchanged,
				      ids, hashes, n);
	free(changed);
	free(ids);
	free(hashes);
	return rc;
}

/* The whole file, from every pHash in the index. */
static int phash_file_rebuild(struct catalog *cat, const char *path, uint64_t generation)
{
	int rc = -1;
	int64_t *ids = NULL;
	uint64_t *hashes = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *rows =
	    db_prepare(cat->db, "SELECT id, phash FROM blobs WHERE phash IS NOT NULL");
	if (!rows)
		return -1;
	int step;
	while ((step = sqlite3_step(rows)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			ids = xrealloc(ids, cap * sizeof(*ids));
			hashes = xrealloc(hashes, cap * sizeof(*hashes));
		}
		ids[n] = sqlite3_column_int64(rows, 0);
		hashes[n] = (uint64_t)sqlite3_column_int64(rows, 1);
		n++;
	}
	if (step != SQLITE_DONE)
		db_error(cat->db, "pHash index");
	else
		rc = phash_file_write(path, generation, ids, hashes, n);
	sqlite3_finalize(rows);
	free(ids);
	free(hashes);
	return rc;
}

/* Brings cache/phash.idx up to the index's generation: nothing when it is
 * there, the logged changes since the file's generation when the log has
 * them all, else a rebuild. The generation and the rows are read in one
 * transaction so they agree; the file is held exclusive while it
 * changes. */
static int phash_file_refresh(struct catalog *cat, const char *path)
{
	for (int attempt = 0;; attempt++) {
		if (db_exec(cat->db, "BEGIN") < 0)
			return -1;
		int rc = -1;
		struct cachefile f = {.fd = -1};
		sqlite3_stmt *gen =
		    catalog_stmt_get(cat, "SELECT value FROM meta WHERE key = 'phash_generation'");
		if (!gen)
			goto out;
		int step = sqlite3_step(gen);
		uint64_t generation = (uint64_t)sqlite3_column_int64(gen, 0);
		catalog_stmt_put(cat, gen);
		if (step != SQLITE_ROW) {
			db_error(cat->db, "pHash index");
			goto out;
		}
		if (cachefile_open(path, phash_cache_kind(), false, &f) == 0 &&
		    f.generation == generation) {
			rc = 0;
			goto out;
		}
		cachefile_close(&f);
		if (cachefile_open(path, phash_cache_kind(), true, &f) == 0) {
			if (f.generation == generation) {
				rc = 0;
				goto out;
			}
			/* Written from a later state of the index than this
			 * transaction sees: look again, once. */
			if (f.generation > generation && attempt == 0) {
				rc = 1;
				goto out;
			}
			if (f.generation < generation &&
			    (rc = phash_file_catch_up(cat, &f, path, generation)) <= 0)
				goto out;
		}
		rc = phash_file_rebuild(cat, path, generation);
	out:
		cachefile_close(&f);
		db_exec(cat->db, "COMMIT");
		if (rc <= 0)
			return rc;
	}
}

int catalog_similar(struct catalog *cat, uint64_t phash, int max_distance, int64_t limit,
		    int (*each)(const struct asset *, int, void *), void *ctx)
{
	char *path = store_cache_path(cat->store, "phash.idx");
	struct phash_match *matches = NULL;
	size_t n = 0;
	int rc = -1;
	sqlite3_stmt *row = NULL, *tags = NULL;
	if (!path || phash_file_refresh(cat, path) < 0 ||
	    phash_file_search(path, phash, max_distance, &matches, &n) < 0)
		goto out;
	struct strbuf sql = STRBUF_INIT;
	sb_adds(&sql, catalog_sql_asset_select);
	sb_adds(&sql, "WHERE a.blob_id = ?1 ORDER BY a.id");
	row = db_prepare(cat->db, sql.buf);
	sb_release(&sql);
	tags = db_prepare(cat->db, catalog_sql_asset_tags);
	if (!row || !tags)
		goto out;
	int64_t shown = 0;
	for (size_t i = 0; i < n && (!limit || shown < limit); i++) {
		sqlite3_reset(row);
		sqlite3_bind_int64(row, 1, matches[i].id);
		while ((!limit || shown < limit) && sqlite3_step(row) == SQLITE_ROW) {
			struct asset *a = catalog_asset_from_row(cat, row, tags);
			int stop = each(a, matches[i].distance, ctx);
			asset_free(a);
			shown++;
			if (stop) {
				rc = 0;
				goto out;
			}
		}
	}
	rc = 0;
out:
	sqlite3_finalize(row);
	sqlite3_finalize(tags);
	free(matches);
	free(path);
	return rc;
}
