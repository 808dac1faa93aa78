/* ingest: the add batch. Files are probed and decoded (on every CPU when
 * asked), staged in the store, then published and inserted as one
 * transaction, so a row never names a blob that is not already durable.
 * It never prints: progress goes through the caller's callback. */
#include "config.h"

#include "asset.h"
#include "catalog-int.h"
#include "character.h"
#include "fault.h"
#include "image.h"
#include "ingest.h"
#include "role.h"
#include "thumbnail.h"
#include "video.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct add_item {
	char *path;
	struct image_info info;
	bool is_video;
	struct video_info video; /* when is_video */
	struct store_staged staged;
	struct store_staged thumb; /* staged only when the blob had none */
	int thumb_width;
	int thumb_height;
	bool has_thumb;
	uint64_t phash;
	int64_t asset_id;
	bool existed;
	int64_t frame_of; /* a frame of this video asset (0: none) */
	double frame_t;	  /* at this time in it */
};

/* The image work for one file, done ahead by catalog_add_prepare. */
struct prepared {
	const char *path; /* borrowed from the caller */
	bool known;	  /* its bytes are stored with a thumbnail: no decode */
	int rc;
	int code;
	char *error;
	struct image_info info;
	bool is_video;
	struct video_info video;
	struct image_buffer thumb;
	uint64_t phash;
};

struct add_batch {
	struct prepared *prep;
	size_t nprep, cursor;
	int64_t request_id;  /* outputs of this request, or 0 */
	struct strlist urls; /* where each output came from */
	struct catalog *cat;
	int64_t character_id; /* 0: none */
	char *role;
	struct strlist tags;
	struct add_item *items;
	size_t n;
};

struct add_batch *catalog_add_begin(struct catalog *cat, const char *slug, const char *role,
				    const struct strlist *tags)
{
	if (!role_valid(role)) {
		error_set(EX_USAGE,
			  "--role %s: not a role (sheet, face, turnaround, expression, "
			  "costume, pose, prop, location, reference, generated)",
			  role);
		return NULL;
	}
	int64_t character_id = 0;
	if (slug) {
		struct character *c = catalog_character_get(cat, slug);
		if (!c)
			return NULL;
		character_id = c->id;
		character_free(c);
	}
	for (size_t i = 0; tags && i < tags->n; i++) {
		char *ns, *value;
		if (catalog_tag_normalise(tags->items[i], &ns, &value) < 0)
			return NULL;
		free(ns);
		free(value);
	}
	struct add_batch *b = xcalloc(1, sizeof(*b));
	b->cat = cat;
	b->character_id = character_id;
	b->role = xstrdup(role);
	for (size_t i = 0; tags && i < tags->n; i++)
		strlist_push(&b->tags, tags->items[i]);
	return b;
}

/* 1 when the blob with this hash already has a thumbnail row. */
static int blob_has_thumbnail(struct catalog *cat, const char *hash)
{
	sqlite3_stmt *stmt = catalog_stmt_get(cat, "SELECT 1 FROM blobs b JOIN thumbnails t ON "
						   "t.blob_id = b.id WHERE b.hash = ?1");
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, hash, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	catalog_stmt_put(cat, stmt);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : db_error(cat->db, "thumbnail");
}

/* 0 when path is a regular file; -1 with an error otherwise. Nothing is
 * read: the open does not wait for a FIFO's writer (O_NONBLOCK), and the
 * type comes from the opened file, so a FIFO or /dev/zero never reaches
 * the hash or the decoder, which would wait on it or read it forever. */
static int regular_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return error_set(errno == ENOENT ? EX_NOINPUT : EX_IOERR, "%s", strerror(errno));
	struct stat st;
	int rc = fstat(fd, &st);
	int saved = errno;
	close(fd);
	if (rc < 0)
		return error_set(EX_IOERR, "%s", strerror(saved));
	if (!S_ISREG(st.st_mode))
		return error_set(EX_DATAERR, "not a regular file");
	return 0;
}

static bool named_as_video(const char *path)
{
	static const char *const suffixes[] = {".mp4", ".m4v", ".mov", ".webm", ".mkv"};
	size_t len = strlen(path);
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++) {
		size_t n = strlen(suffixes[i]);
		if (len > n && !strcasecmp(path + len - n, suffixes[i]))
			return true;
	}
	return false;
}

/* Reads a picture's header, or a video's (told by its first bytes):
 * its size and format, and for a video what the probe found. */
static int probe_file(const char *path, struct image_info *info, bool *is_video,
		      struct video_info *video)
{
	const char *format;
	if (regular_file(path) < 0)
		return -1;
	*is_video = catalog_file_is_video(path, &format);
	/* A file named as a video that is none is told so, not that it is no
	 * picture. */
	if (!*is_video && !named_as_video(path))
		return image_probe(path, info);
	if (video_probe(path, video) < 0)
		return -1;
	memset(info, 0, sizeof(*info));
	info->width = video->width;
	info->height = video->height;
	snprintf(info->format, sizeof(info->format), "%s", format);
	return 0;
}

static void prepare_one(struct prepared *p)
{
	p->rc = probe_file(p->path, &p->info, &p->is_video, &p->video);
	if (p->rc == 0 && !p->known)
		p->rc = catalog_picture_thumbnail(p->path, &p->thumb, &p->phash);
	if (p->rc < 0) {
		p->code = error_code();
		p->error = xstrdup(error_message());
	}
}

struct prepare_pool {
	struct prepared *items;
	size_t n;
	atomic_size_t next;
	atomic_size_t done;
};

static void *prepare_worker(void *arg)
{
	struct prepare_pool *pool = arg;
	for (;;) {
		size_t i = atomic_fetch_add(&pool->next, 1);
		if (i >= pool->n)
			break;
		prepare_one(&pool->items[i]);
		atomic_fetch_add(&pool->done, 1);
	}
	error_release();
	return NULL;
}

void catalog_add_prepare(struct add_batch *b, char *const *paths, size_t n,
			 void (*tick)(size_t done, void *ctx), void *ctx)
{
	if (!n)
		return;
	b->prep = xcalloc(n, sizeof(*b->prep));
	b->nprep = n;
	b->cursor = 0;
	for (size_t i = 0; i < n; i++)
		b->prep[i].path = paths[i];
	/* Bytes already stored with a thumbnail are not decoded again (adding
	 * a folder anew after a few files joined it); hashing is a small part
	 * of a decode, and a store with no thumbnail yet skips even that. */
	sqlite3_stmt *any = catalog_stmt_get(b->cat, "SELECT 1 FROM thumbnails LIMIT 1");
	bool some = any && sqlite3_step(any) == SQLITE_ROW;
	catalog_stmt_put(b->cat, any);
	for (size_t i = 0; some && i < n; i++) {
		char hex[STORE_HASH_HEX + 1];
		b->prep[i].known = regular_file(paths[i]) == 0 &&
				   store_hash_file(paths[i], hex) == 0 &&
				   blob_has_thumbnail(b->cat, hex) == 1;
	}
	/* The first file on this thread: it loads the image module and starts
	 * libvips, which must happen once, before any worker runs. */
	prepare_one(&b->prep[0]);
	struct prepare_pool pool = {b->prep, n, 1, 1};
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t workers = cpus > 1 ? (size_t)(cpus < 8 ? cpus : 8) - 1 : 0;
	pthread_t *threads = xcalloc(workers ? workers : 1, sizeof(pthread_t));
	size_t started = 0;
	for (size_t i = 0; i < workers && n > 1; i++)
		if (pthread_create(&threads[started], NULL, prepare_worker, &pool) == 0)
			started++;
	/* This thread works too, and reports progress between pictures. */
	for (;;) {
		size_t i = atomic_fetch_add(&pool.next, 1);
		if (i >= n)
			break;
		prepare_one(&b->prep[i]);
		atomic_fetch_add(&pool.done, 1);
		if (tick)
			tick(atomic_load(&pool.done), ctx);
	}
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	if (tick)
		tick(n, ctx);
}

int catalog_add_file(struct add_batch *b, const char *path)
{
	struct add_item item = {0};
	struct prepared *ready = NULL;
	if (b->cursor < b->nprep && strcmp(b->prep[b->cursor].path, path) == 0)
		ready = &b->prep[b->cursor++];
	if (ready && ready->rc < 0) {
		error_set(ready->code, "%s", ready->error);
		return error_prefix("%s", path);
	}
	if (ready) {
		item.info = ready->info;
		item.is_video = ready->is_video;
		item.video = ready->video;
	} else if (probe_file(path, &item.info, &item.is_video, &item.video) < 0) {
		return error_prefix("%s", path);
	}
	if (store_stage_file(b->cat->store, path, &item.staged) < 0)
		return -1;
	fault_point("add-staged");
	int has = item.staged.present ? blob_has_thumbnail(b->cat, item.staged.hash) : 0;
	if (has < 0) {
		store_staged_discard(&item.staged);
		return -1;
	}
	if (!has && ready && !ready->known) {
		if (store_stage_buffer(b->cat->store, ready->thumb.data, ready->thumb.len,
				       &item.thumb) < 0) {
			store_staged_discard(&item.staged);
			return -1;
		}
		item.thumb_width = ready->thumb.width;
		item.thumb_height = ready->thumb.height;
		item.phash = ready->phash;
		item.has_thumb = true;
	} else if (!has) {
		if (catalog_thumbnail_stage(b->cat->store, path, &item.thumb, &item.thumb_width,
					    &item.thumb_height, &item.phash) < 0) {
			store_staged_discard(&item.staged);
			return error_prefix("%s", path);
		}
		item.has_thumb = true;
	}
	if (ready)
		image_buffer_clear(&ready->thumb);
	item.path = xstrdup(path);
	b->items = xrealloc(b->items, (b->n + 1) * sizeof(*b->items));
	b->items[b->n++] = item;
	return 0;
}

int catalog_add_video(struct add_batch *b, const char *path)
{
	const char *format;
	if (regular_file(path) < 0)
		return error_prefix("%s", path);
	if (!catalog_file_is_video(path, &format))
		return error_set(EX_DATAERR, "%s: not a video (MP4, QuickTime or WebM)", path);
	/* The same path as a video given to add: probed, with a poster. */
	return catalog_add_file(b, path);
}

int catalog_add_frame(struct add_batch *b, const void *data, size_t len, const char *name,
		      int64_t video_id, double t)
{
	if (strchr(name, '/'))
		return error_set(EX_SOFTWARE, "%s: a frame's name is a file name", name);
	/* A file of its own, named as the frame (the source the index keeps),
	 * read whole by the staging below and removed after. */
	char *dir = temp_template("frame");
	if (!mkdtemp(dir)) {
		error_set(EX_CANTCREAT, "%s: %s", dir, strerror(errno));
		free(dir);
		return -1;
	}
	char *path = xasprintf("%s/%s", dir, name);
	int rc = -1;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, data, len) < 0 || close(fd) < 0) {
		error_set(EX_IOERR, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	size_t before = b->n;
	rc = catalog_add_file(b, path);
	if (rc == 0 && b->n == before + 1) {
		b->items[before].frame_of = video_id;
		b->items[before].frame_t = t;
	}
out:
	unlink(path);
	rmdir(dir);
	free(path);
	free(dir);
	return rc;
}

void catalog_add_link_request(struct add_batch *b, int64_t request_id, const struct strlist *urls)
{
	b->request_id = request_id;
	for (size_t i = 0; urls && i < urls->n; i++)
		strlist_push(&b->urls, urls->items[i]);
}

size_t catalog_add_count(const struct add_batch *b)
{
	return b->n;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static const char sql_asset_insert[] =
    "INSERT INTO assets(blob_id, character_id, role, width, height, format, source, added, "
    "duration, fps, codec) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

/* Where a frame came from; a frame stored before keeps its first. */
static int frame_link(sqlite3 *db, const struct add_item *it)
{
	sqlite3_stmt *link = db_prepare(db, "INSERT OR IGNORE INTO asset_frames(asset_id, "
					    "video_id, t) VALUES (?1, ?2, ?3)");
	if (!link)
		return -1;
	sqlite3_bind_int64(link, 1, it->asset_id);
	sqlite3_bind_int64(link, 2, it->frame_of);
	sqlite3_bind_double(link, 3, it->frame_t);
	int rc = sqlite3_step(link) == SQLITE_DONE ? 0 : db_error(db, "frame provenance");
	sqlite3_finalize(link);
	return rc;
}

static int add_rows(struct add_batch *b)
{
	sqlite3 *db = b->cat->db;
	int rc = -1;
	int64_t now = time_now();
	sqlite3_stmt *existing = db_prepare(
	    db, "SELECT id FROM assets WHERE blob_id = ?1 AND character_id IS ?2 AND role = ?3");
	sqlite3_stmt *asset_ins = db_prepare(db, sql_asset_insert);
	if (!existing || !asset_ins)
		goto out;
	for (size_t i = 0; i < b->n; i++) {
		struct add_item *it = &b->items[i];
		int64_t bid =
		    catalog_blob_upsert(b->cat, it->staged.hash, (int64_t)it->staged.bytes,
					it->has_thumb ? &it->phash : NULL);
		if (bid < 0 ||
		    (it->has_thumb &&
		     catalog_thumbnail_link(b->cat, bid, it->thumb.hash, (int64_t)it->thumb.bytes,
					    it->thumb_width, it->thumb_height) < 0))
			goto out;

		sqlite3_reset(existing);
		sqlite3_bind_int64(existing, 1, bid);
		if (b->character_id)
			sqlite3_bind_int64(existing, 2, b->character_id);
		else
			sqlite3_bind_null(existing, 2);
		sqlite3_bind_text(existing, 3, b->role, -1, SQLITE_STATIC);
		int step = sqlite3_step(existing);
		if (step == SQLITE_ROW) {
			it->asset_id = sqlite3_column_int64(existing, 0);
			it->existed = true;
		} else if (step == SQLITE_DONE) {
			/* Only text that is valid UTF-8 goes in the index. */
			const char *source = base_name(it->path);
			sqlite3_reset(asset_ins);
			sqlite3_clear_bindings(asset_ins);
			sqlite3_bind_int64(asset_ins, 1, bid);
			if (b->character_id)
				sqlite3_bind_int64(asset_ins, 2, b->character_id);
			sqlite3_bind_text(asset_ins, 3, b->role, -1, SQLITE_STATIC);
			sqlite3_bind_int(asset_ins, 4, it->info.width);
			sqlite3_bind_int(asset_ins, 5, it->info.height);
			sqlite3_bind_text(asset_ins, 6, it->info.format, -1, SQLITE_STATIC);
			if (utf8_valid(source, strlen(source)))
				sqlite3_bind_text(asset_ins, 7, source, -1, SQLITE_STATIC);
			sqlite3_bind_int64(asset_ins, 8, now);
			if (it->is_video) {
				sqlite3_bind_double(asset_ins, 9, it->video.duration);
				sqlite3_bind_double(asset_ins, 10, it->video.fps);
				sqlite3_bind_text(asset_ins, 11, it->video.codec, -1,
						  SQLITE_STATIC);
			}
			if (sqlite3_step(asset_ins) != SQLITE_DONE) {
				db_error(db, it->path);
				goto out;
			}
			it->asset_id = sqlite3_last_insert_rowid(db);
		} else {
			db_error(db, it->path);
			goto out;
		}
		if (catalog_tags_apply(b->cat, catalog_sql_asset_tag_add, it->asset_id, &b->tags,
				       true) < 0)
			goto out;
		if (it->frame_of && frame_link(db, it) < 0)
			goto out;
		if (b->request_id) {
			sqlite3_stmt *link =
			    db_prepare(db, "INSERT OR IGNORE INTO request_outputs("
					   "request_id, asset_id, url) VALUES (?1, ?2, ?3)");
			if (!link)
				goto out;
			sqlite3_bind_int64(link, 1, b->request_id);
			sqlite3_bind_int64(link, 2, it->asset_id);
			if (i < b->urls.n && *b->urls.items[i])
				sqlite3_bind_text(link, 3, b->urls.items[i], -1, SQLITE_STATIC);
			int linked = sqlite3_step(link);
			sqlite3_finalize(link);
			if (linked != SQLITE_DONE) {
				db_error(db, "request outputs");
				goto out;
			}
		}
	}
	rc = 0;
out:
	sqlite3_finalize(existing);
	sqlite3_finalize(asset_ins);
	return rc;
}

int catalog_add_commit(struct add_batch *b)
{
	/* Originals and thumbnails are published together: one sync. */
	struct store_staged *staged = xcalloc(2 * b->n, sizeof(*staged));
	for (size_t i = 0; i < b->n; i++) {
		staged[2 * i] = b->items[i].staged;
		staged[2 * i + 1] = b->items[i].thumb;
	}
	int rc = store_publish(b->cat->store, staged, 2 * b->n);
	for (size_t i = 0; i < b->n; i++) {
		b->items[i].staged = staged[2 * i];
		b->items[i].thumb = staged[2 * i + 1];
	}
	free(staged);
	if (rc < 0)
		return -1;
	fault_point("add-linked");
	/* Inside a caller's transaction (catalog_begin) the rows join it, so
	 * that what the caller records about them lands with them or not at
	 * all. */
	bool own = sqlite3_get_autocommit(b->cat->db);
	if (own && db_begin(b->cat->db) < 0)
		return -1;
	if (add_rows(b) < 0) {
		if (own)
			db_rollback(b->cat->db);
		return -1;
	}
	fault_point("add-before-commit");
	if (own && db_commit(b->cat->db) < 0) {
		db_rollback(b->cat->db);
		return -1;
	}
	fault_point("add-committed");
	return 0;
}

void catalog_add_result(const struct add_batch *b, size_t i, int64_t *id, const char **hash,
			const char **path, bool *existed)
{
	*id = b->items[i].asset_id;
	*hash = b->items[i].staged.hash;
	*path = b->items[i].path;
	*existed = b->items[i].existed;
}

void catalog_add_free(struct add_batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++) {
		store_staged_discard(&b->items[i].staged);
		store_staged_discard(&b->items[i].thumb);
		free(b->items[i].path);
	}
	for (size_t i = 0; i < b->nprep; i++) {
		image_buffer_clear(&b->prep[i].thumb);
		free(b->prep[i].error);
	}
	free(b->prep);
	free(b->items);
	free(b->role);
	strlist_clear(&b->tags);
	strlist_clear(&b->urls);
	free(b);
}
