/* store: the content-addressed blob directory. Invariant: a file under
 * objects/ holds exactly the bytes its name hashes to, was fsynced before
 * it got that name, and is read-only. Nothing here touches the index.
 * Over 800 lines because staging, publishing, the store's lock and the
 * walkers share the fan-out and durability rules (every rename and its
 * directory fsync) that must stay in one place to stay right. */
#define _GNU_SOURCE
#include "config.h"

#include "store.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

struct store {
	char *root;
	char *db_path;
	int lock_fd; /* tmp/, flocked shared by a writer, exclusive by fsck */
	bool exclusive;
};

enum { COPY_CHUNK = 1 << 20, STORE_SYNCFS_BATCH = 4 };

static bool is_store_dir(const char *dir)
{
	char *db = xasprintf("%s/troupe.db", dir);
	struct stat st;
	bool ok = stat(db, &st) == 0 && S_ISREG(st.st_mode);
	free(db);
	return ok;
}

/* Whether dir is not a store but holds one where troupe looks by default,
 * which is what a user naming a project's directory usually meant. */
static bool holds_store(const char *dir)
{
	char *inner = xasprintf("%s/%s", dir, STORE_DEFAULT_NAME);
	bool held = is_store_dir(inner);
	free(inner);
	return held;
}

static int not_a_store(const char *dir)
{
	if (holds_store(dir))
		return error_set(EX_CONFIG, "%s is not a troupe store; did you mean %s/%s?", dir,
				 dir, STORE_DEFAULT_NAME);
	return error_set(EX_CONFIG, "%s: not a troupe store (run 'troupe init')", dir);
}

static struct store *store_at(const char *dir)
{
	struct store *st = xcalloc(1, sizeof(*st));
	char *real = realpath(dir, NULL);
	st->root = real ? real : xstrdup(dir);
	st->db_path = xasprintf("%s/troupe.db", st->root);
	st->lock_fd = -1;
	return st;
}

struct store *store_open(const char *dir)
{
	if (!dir || !*dir)
		dir = getenv("TROUPE_DIR");
	if (dir && *dir) {
		if (!is_store_dir(dir)) {
			not_a_store(dir);
			return NULL;
		}
		return store_at(dir);
	}
	char *cwd = getcwd(NULL, 0);
	if (!cwd) {
		error_set(EX_OSERR, "cannot read the working directory: %s", strerror(errno));
		return NULL;
	}
	struct strbuf candidate = STRBUF_INIT;
	struct store *found = NULL;
	for (;;) {
		sb_reset(&candidate);
		sb_addf(&candidate, "%s/%s", strcmp(cwd, "/") ? cwd : "", STORE_DEFAULT_NAME);
		if (is_store_dir(candidate.buf)) {
			found = store_at(candidate.buf);
			break;
		}
		char *slash = strrchr(cwd, '/');
		if (!slash || slash == cwd) {
			if (strcmp(cwd, "/") == 0)
				break;
			cwd[1] = '\0';
			continue;
		}
		*slash = '\0';
	}
	sb_release(&candidate);
	free(cwd);
	if (!found)
		error_set(EX_CONFIG, "no troupe store here or in any parent directory "
				     "(run 'troupe init', or use --store or $TROUPE_DIR)");
	return found;
}

static int make_dir(const char *path)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return error_set(EX_CANTCREAT, "%s: %s", path, strerror(errno));
	return 0;
}

/* The names a store's own directory holds, so that what a failed init
 * left behind does not count as someone else's files. */
static bool store_own_name(const char *name)
{
	static const char *const own[] = {"objects",   "tmp",		"cache",	 "profiles",
					  "troupe.db", "troupe.db-wal", "troupe.db-shm", NULL};
	for (const char *const *n = own; *n; n++)
		if (strcmp(name, *n) == 0)
			return true;
	return false;
}

/* A store is made only where nothing else is: a directory that does not
 * exist yet, an empty one, or one holding only a store's own names. A
 * store's files loose among a project's would be hard to tell apart and
 * to remove, so a directory holding anything else is refused. */
static int store_place_free(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0
				       : error_set(EX_CANTCREAT, "%s: %s", dir, strerror(errno));
	const char *other = NULL;
	struct dirent *e;
	while (!other && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && !store_own_name(e->d_name))
			other = e->d_name;
	int rc = 0;
	if (other && holds_store(dir))
		rc = error_set(
		    EX_USAGE,
		    "%s is not a troupe store; did you mean %s/%s? (a new store is not made "
		    "among other files)",
		    dir, dir, STORE_DEFAULT_NAME);
	else if (other)
		rc =
		    error_set(EX_USAGE,
			      "%s holds other files (%s) and is not a troupe store; a new store is "
			      "made only in a new or empty directory ('troupe init %s' makes "
			      "%s/%s)",
			      dir, other, dir, dir, STORE_DEFAULT_NAME);
	closedir(d);
	return rc;
}

int store_create(const char *dir, bool *existed)
{
	*existed = is_store_dir(dir);
	if (!*existed && store_place_free(dir) < 0)
		return -1;
	if (file_make_dirs(dir, 0755) < 0)
		return -1;
	char *objects = xasprintf("%s/objects", dir);
	char *tmp = xasprintf("%s/tmp", dir);
	int rc = make_dir(objects) < 0 || make_dir(tmp) < 0 ? -1 : 0;
	free(objects);
	free(tmp);
	return rc;
}

void store_free(struct store *st)
{
	if (!st)
		return;
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	free(st->root);
	free(st->db_path);
	free(st);
}

const char *store_root(const struct store *st)
{
	return st->root;
}

const char *store_db_path(const struct store *st)
{
	return st->db_path;
}

static bool hash_valid(const char *hash)
{
	if (strlen(hash) != STORE_HASH_HEX)
		return false;
	for (const char *p = hash; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

char *store_cache_path(const struct store *st, const char *name)
{
	char *dir = xasprintf("%s/cache", st->root);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		error_set(EX_CANTCREAT, "%s: %s", dir, strerror(errno));
		free(dir);
		return NULL;
	}
	free(dir);
	return xasprintf("%s/cache/%s", st->root, name);
}

char *store_blob_path(const struct store *st, const char *hash)
{
	return xasprintf("%s/objects/%.2s/%s", st->root, hash, hash + 2);
}

bool store_has(const struct store *st, const char *hash)
{
	if (!hash_valid(hash))
		return false;
	char *path = store_blob_path(st, hash);
	bool ok = access(path, F_OK) == 0;
	free(path);
	return ok;
}

int store_open_blob(const struct store *st, const char *hash)
{
	if (!hash_valid(hash))
		return error_set(EX_DATAERR, "%s: not a blob hash", hash);
	char *path = store_blob_path(st, hash);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		error_set(EX_IOERR, "blob %s: %s (run 'troupe fsck')", hash, strerror(errno));
	free(path);
	return fd;
}

static void hash_hex(XXH128_hash_t h, char hex[STORE_HASH_HEX + 1])
{
	XXH128_canonical_t canon;
	XXH128_canonicalFromHash(&canon, h);
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", canon.digest[i]);
}

void store_hash_buffer(const void *data, size_t len, char hex[STORE_HASH_HEX + 1])
{
	hash_hex(XXH3_128bits(data, len), hex);
}

static ssize_t read_full(int fd, unsigned char *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int store_hash_file(const char *path, char hex[STORE_HASH_HEX + 1])
{
	int fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_set(errno == ENOENT ? EX_NOINPUT : EX_IOERR, "%s: %s", path,
				 strerror(errno));
	XXH3_state_t *state = XXH3_createState();
	unsigned char *buf = xmalloc(COPY_CHUNK);
	int rc = -1;
	XXH3_128bits_reset(state);
	for (;;) {
		ssize_t n = read_full(fd, buf, COPY_CHUNK);
		if (n < 0) {
			error_set(EX_IOERR, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		XXH3_128bits_update(state, buf, (size_t)n);
	}
	hash_hex(XXH3_128bits_digest(state), hex);
	rc = 0;
out:
	free(buf);
	XXH3_freeState(state);
	close(fd);
	return rc;
}

/* Compares two open files from their current offsets to the end. */
static int same_bytes(int a, int b, bool *same)
{
	unsigned char *ba = xmalloc(COPY_CHUNK), *bb = xmalloc(COPY_CHUNK);
	int rc = -1;
	*same = false;
	for (;;) {
		ssize_t na = read_full(a, ba, COPY_CHUNK), nb = read_full(b, bb, COPY_CHUNK);
		if (na < 0 || nb < 0)
			goto out;
		if (na != nb || memcmp(ba, bb, (size_t)na) != 0)
			break;
		if (na == 0) {
			*same = true;
			break;
		}
	}
	rc = 0;
out:
	free(ba);
	free(bb);
	return rc;
}

/* The blob is in tmp_fd (and tmp_path); if a blob of that hash is already
 * stored, decide between deduplication and a collision. */
static int settle_existing(struct store *st, int tmp_fd, struct store_staged *out)
{
	char *path = store_blob_path(st, out->hash);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;
	if (fd < 0) {
		if (errno != ENOENT)
			rc = error_set(EX_IOERR, "%s: %s", path, strerror(errno));
		goto out;
	}
	bool same;
	if (lseek(tmp_fd, 0, SEEK_SET) < 0 || same_bytes(tmp_fd, fd, &same) < 0) {
		rc = error_set(EX_IOERR, "comparing with blob %s: %s", out->hash, strerror(errno));
		goto out;
	}
	if (!same) {
		rc =
		    error_set(EX_DATAERR,
			      "blob %s: XXH3-128 collision with different bytes; refusing to store",
			      out->hash);
		goto out;
	}
	unlink(out->tmp_path);
	free(out->tmp_path);
	out->tmp_path = NULL;
	out->present = true;
out:
	if (fd >= 0)
		close(fd);
	free(path);
	return rc;
}

/* The shared lock a writer holds while anything it staged may still be
 * in tmp/, or while it may commit a row naming a blob it found in place;
 * an exclusive holder (fsck --repair, gc) is waited for. A file system
 * without flock leaves the store unlocked: then no process ever gets it
 * exclusively either, so leftovers are only reported. */
void store_lock_shared(struct store *st)
{
	if (st->lock_fd >= 0)
		return;
	char *tmpdir = xasprintf("%s/tmp", st->root);
	st->lock_fd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(tmpdir);
	if (st->lock_fd < 0)
		return;
	while (flock(st->lock_fd, LOCK_SH) < 0 && errno == EINTR)
		;
}

static int stage_open(struct store *st, struct store_staged *out, int *fd)
{
	memset(out, 0, sizeof(*out));
	store_lock_shared(st);
	out->tmp_path = xasprintf("%s/tmp/blob-XXXXXX", st->root);
	*fd = mkostemp(out->tmp_path, O_CLOEXEC);
	if (*fd < 0) {
		error_set(EX_CANTCREAT, "%s: %s", out->tmp_path, strerror(errno));
		free(out->tmp_path);
		out->tmp_path = NULL;
		return -1;
	}
	return 0;
}

static int stage_finish(struct store *st, int fd, struct store_staged *out, int rc)
{
	if (rc == 0 && fchmod(fd, 0444) < 0)
		rc = error_set(EX_IOERR, "%s: %s", out->tmp_path, strerror(errno));
	if (rc == 0)
		rc = settle_existing(st, fd, out);
	/* A write error the file system defers to close is still an error. */
	if (close(fd) < 0 && rc == 0)
		rc = error_set(EX_IOERR, "%s: %s", out->tmp_path ? out->tmp_path : "blob",
			       strerror(errno));
	if (rc < 0)
		store_staged_discard(out);
	return rc;
}

/* A file as store_stage_reader's source; a read error names the file. */
struct file_source {
	int fd;
	const char *path;
};

static ssize_t file_source_read(void *ctx, void *buf, size_t len)
{
	struct file_source *f = ctx;
	ssize_t n = read_full(f->fd, buf, len);
	if (n < 0)
		error_set(EX_IOERR, "%s: %s", f->path, strerror(errno));
	return n;
}

int store_stage_file(struct store *st, const char *path, struct store_staged *out)
{
	int src = open(path, O_RDONLY | O_CLOEXEC);
	if (src < 0)
		return error_set(errno == ENOENT ? EX_NOINPUT : EX_IOERR, "%s: %s", path,
				 strerror(errno));
	posix_fadvise(src, 0, 0, POSIX_FADV_SEQUENTIAL);
	struct file_source f = {src, path};
	int rc = store_stage_reader(st, file_source_read, &f, out);
	close(src);
	return rc;
}

int store_stage_buffer(struct store *st, const void *data, size_t len, struct store_staged *out)
{
	int fd, rc = 0;
	if (stage_open(st, out, &fd) < 0)
		return -1;
	if (write_all(fd, data, len) < 0)
		rc = error_set(EX_IOERR, "%s: %s", out->tmp_path, strerror(errno));
	out->bytes = len;
	store_hash_buffer(data, len, out->hash);
	return stage_finish(st, fd, out, rc);
}

int store_stage_reader(struct store *st, store_read_fn *read, void *ctx, struct store_staged *out)
{
	int fd, rc = -1;
	if (stage_open(st, out, &fd) < 0)
		return -1;
	XXH3_state_t *state = XXH3_createState();
	unsigned char *buf = xmalloc(COPY_CHUNK);
	XXH3_128bits_reset(state);
	for (;;) {
		ssize_t n = read(ctx, buf, COPY_CHUNK);
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		XXH3_128bits_update(state, buf, (size_t)n);
		if (write_all(fd, buf, (size_t)n) < 0) {
			error_set(EX_IOERR, "%s: %s", out->tmp_path, strerror(errno));
			goto out;
		}
		out->bytes += (uint64_t)n;
	}
	hash_hex(XXH3_128bits_digest(state), out->hash);
	rc = 0;
out:
	free(buf);
	XXH3_freeState(state);
	return stage_finish(st, fd, out, rc);
}

static int fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return error_set(EX_IOERR, "fsync %s: %s", path, strerror(e));
	}
	close(fd);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int store_publish(struct store *st, struct store_staged *staged, size_t n)
{
	size_t pending = 0, named = 0;
	for (size_t i = 0; i < n; i++) {
		pending += staged[i].tmp_path != NULL;
		named += staged[i].tmp_path != NULL || staged[i].present;
	}
	if (!named)
		return 0;

	/* A few blobs are fsynced one by one; a batch gets one syncfs, which
	 * makes every staged file durable at once without a journal commit
	 * per file (but also flushes whatever else the file system holds, so
	 * it is not worth it for one derivative). */
	char *tmpdir = xasprintf("%s/tmp", st->root);
	int tfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = -1;
	char **dirs = xcalloc(named, sizeof(char *));
	size_t ndirs = 0;
	if (tfd < 0) {
		error_set(EX_IOERR, "%s: %s", tmpdir, strerror(errno));
		goto out;
	}
	if (!pending) {
		/* Every blob was already there: nothing to write, but the
		 * directory entries are synced below all the same. */
	} else if (pending > STORE_SYNCFS_BATCH) {
		if (syncfs(tfd) < 0) {
			error_set(EX_IOERR, "sync %s: %s", tmpdir, strerror(errno));
			goto out;
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			if (!staged[i].tmp_path)
				continue;
			int fd = open(staged[i].tmp_path, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || fsync(fd) < 0) {
				error_set(EX_IOERR, "fsync %s: %s", staged[i].tmp_path,
					  strerror(errno));
				if (fd >= 0)
					close(fd);
				goto out;
			}
			close(fd);
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct store_staged *s = &staged[i];
		/* A blob found in place may have been linked by a process that
		 * has not synced its directory yet (or died before it did):
		 * its directory is synced here too before a row names it. */
		if (s->present && !s->tmp_path) {
			dirs[ndirs++] = xasprintf("%s/objects/%.2s", st->root, s->hash);
			continue;
		}
		if (!s->tmp_path)
			continue;
		char *dir = xasprintf("%s/objects/%.2s", st->root, s->hash);
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			error_set(EX_CANTCREAT, "%s: %s", dir, strerror(errno));
			free(dir);
			goto out;
		}
		char *final = store_blob_path(st, s->hash);
		/* link() never replaces: a blob placed meanwhile by another
		 * troupe process stays, and ours is compared against it. */
		if (link(s->tmp_path, final) < 0) {
			int e = errno;
			if (e != EEXIST) {
				error_set(EX_IOERR, "%s: %s", final, strerror(e));
				free(final);
				free(dir);
				goto out;
			}
			int fd = open(s->tmp_path, O_RDONLY | O_CLOEXEC);
			int settled =
			    fd < 0 ? error_set(EX_IOERR, "%s: %s", s->tmp_path, strerror(errno))
				   : settle_existing(st, fd, s);
			if (fd >= 0)
				close(fd);
			if (settled < 0) {
				free(final);
				free(dir);
				goto out;
			}
		} else {
			unlink(s->tmp_path);
			free(s->tmp_path);
			s->tmp_path = NULL;
		}
		free(final);
		dirs[ndirs++] = dir;
	}
	qsort(dirs, ndirs, sizeof(char *), cmp_str);
	for (size_t i = 0; i < ndirs; i++) {
		if (i > 0 && strcmp(dirs[i], dirs[i - 1]) == 0)
			continue;
		if (fsync_path(dirs[i]) < 0)
			goto out;
	}
	/* And objects/ itself, whoever made the fan-out directory: the
	 * process whose mkdir did may not have synced it yet. */
	if (ndirs) {
		char *objects = xasprintf("%s/objects", st->root);
		int r = fsync_path(objects);
		free(objects);
		if (r < 0)
			goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < ndirs; i++)
		free(dirs[i]);
	free(dirs);
	if (tfd >= 0)
		close(tfd);
	free(tmpdir);
	return rc;
}

void store_staged_discard(struct store_staged *staged)
{
	if (staged->tmp_path) {
		unlink(staged->tmp_path);
		free(staged->tmp_path);
		staged->tmp_path = NULL;
	}
}

/* The descriptor the locks are taken on: tmp/ itself. */
static int open_lock(struct store *st)
{
	if (st->lock_fd >= 0)
		return 0;
	char *tmpdir = xasprintf("%s/tmp", st->root);
	st->lock_fd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = st->lock_fd < 0 ? error_set(EX_IOERR, "%s: %s", tmpdir, strerror(errno)) : 0;
	free(tmpdir);
	return rc;
}

int store_lock_exclusive(struct store *st)
{
	if (st->exclusive)
		return 0;
	if (open_lock(st) < 0)
		return -1;
	if (flock(st->lock_fd, LOCK_EX | LOCK_NB) < 0)
		return 1;
	st->exclusive = true;
	return 0;
}

int store_tmp_remove(struct store *st, const char *name)
{
	if (!st->exclusive)
		return error_set(EX_TEMPFAIL, "tmp/%s: the store is not locked for repair", name);
	if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return error_set(EX_DATAERR, "tmp/%s: not a name in tmp/", name);
	char *path = xasprintf("%s/tmp/%s", st->root, name);
	int rc = 0;
	if (unlink(path) < 0 && errno != ENOENT)
		rc = error_set(EX_IOERR, "%s: %s", path, strerror(errno));
	free(path);
	return rc;
}

int store_lock_exclusive_wait(struct store *st)
{
	if (st->exclusive)
		return 0;
	if (open_lock(st) < 0)
		return -1;
	int rc;
	while ((rc = flock(st->lock_fd, LOCK_EX)) < 0 && errno == EINTR)
		;
	if (rc < 0)
		return error_set(EX_TEMPFAIL, "%s/tmp: cannot lock the store: %s", st->root,
				 strerror(errno));
	st->exclusive = true;
	return 0;
}

void store_unlock(struct store *st)
{
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	st->lock_fd = -1;
	st->exclusive = false;
}

int store_blob_remove(struct store *st, const char *hash)
{
	if (!st->exclusive)
		return error_set(EX_TEMPFAIL, "blob %s: the store is not locked for gc", hash);
	if (!hash_valid(hash))
		return error_set(EX_DATAERR, "%s: not a blob hash", hash);
	char *path = store_blob_path(st, hash);
	int rc = 0;
	if (unlink(path) < 0 && errno != ENOENT)
		rc = error_set(EX_IOERR, "%s: %s", path, strerror(errno));
	free(path);
	return rc;
}

static int keep_visible(const struct dirent *e)
{
	return strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
}

/* The names in dir, sorted; 0 entries when dir does not exist. */
static int list_dir(const char *dir, struct dirent ***names)
{
	int n = scandir(dir, names, keep_visible, alphasort);
	if (n < 0 && errno == ENOENT) {
		*names = NULL;
		return 0;
	}
	if (n < 0)
		error_set(EX_IOERR, "%s: %s", dir, strerror(errno));
	return n;
}

static void free_names(struct dirent **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int walk_entry(const char *path, const char *name, bool is_blob, store_walk_fn *each,
		      void *ctx)
{
	struct stat sb;
	struct store_entry e = {name, is_blob, false, 0, 0};
	if (lstat(path, &sb) == 0) {
		e.regular = S_ISREG(sb.st_mode);
		e.bytes = (uint64_t)sb.st_size;
		e.mtime = (int64_t)sb.st_mtime;
	} else if (errno == ENOENT) {
		return 0; /* gone since the directory was read */
	}
	e.is_blob = is_blob && e.regular;
	return each(&e, ctx);
}

/* objects/xx/<30 hex>: anything else under objects/ is named by its
 * path there and not taken for a blob. */
static int walk_objects(const char *objects, store_walk_fn *each, void *ctx)
{
	struct dirent **fans;
	int nfans = list_dir(objects, &fans), rc = 0;
	if (nfans < 0)
		return -1;
	for (int i = 0; i < nfans && rc == 0; i++) {
		const char *fan = fans[i]->d_name;
		char *dir = xasprintf("%s/%s", objects, fan);
		struct stat sb;
		if (lstat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
			rc = walk_entry(dir, fan, false, each, ctx);
			free(dir);
			continue;
		}
		struct dirent **files;
		int nfiles = list_dir(dir, &files);
		if (nfiles < 0)
			rc = -1;
		for (int j = 0; j < nfiles && rc == 0; j++) {
			char *hash = xasprintf("%s%s", fan, files[j]->d_name);
			char *rel = xasprintf("%s/%s", fan, files[j]->d_name);
			char *path = xasprintf("%s/%s", dir, files[j]->d_name);
			bool blob = strlen(fan) == 2 && hash_valid(hash);
			rc = walk_entry(path, blob ? hash : rel, blob, each, ctx);
			free(path);
			free(rel);
			free(hash);
		}
		if (nfiles > 0)
			free_names(files, nfiles);
		free(dir);
	}
	free_names(fans, nfans > 0 ? nfans : 0);
	return rc;
}

int store_walk(const struct store *st, enum store_area area, store_walk_fn *each, void *ctx)
{
	static const char *const dirs[] = {"objects", "tmp", "cache"};
	char *dir = xasprintf("%s/%s", st->root, dirs[area]);
	int rc = 0;
	if (area == STORE_AREA_OBJECTS) {
		rc = walk_objects(dir, each, ctx);
		free(dir);
		return rc;
	}
	struct dirent **names;
	int n = list_dir(dir, &names);
	if (n < 0)
		rc = -1;
	for (int i = 0; i < n && rc == 0; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]->d_name);
		rc = walk_entry(path, names[i]->d_name, false, each, ctx);
		free(path);
	}
	free_names(names, n > 0 ? n : 0);
	free(dir);
	return rc;
}

int store_verify_blob(const struct store *st, const char *hash, int64_t bytes, bool rehash,
		      enum store_blob_state *state, uint64_t *actual_bytes,
		      char actual_hex[STORE_HASH_HEX + 1])
{
	*state = STORE_BLOB_MISSING;
	if (actual_bytes)
		*actual_bytes = 0;
	if (actual_hex)
		actual_hex[0] = '\0';
	if (!hash_valid(hash))
		return 0;
	char *path = store_blob_path(st, hash);
	struct stat sb;
	int rc = 0;
	if (stat(path, &sb) < 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			rc = error_set(EX_IOERR, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode))
		goto out; /* a directory or device under a blob's name holds no blob */
	if (actual_bytes)
		*actual_bytes = (uint64_t)sb.st_size;
	*state = STORE_BLOB_OK;
	if (bytes >= 0 && (uint64_t)sb.st_size != (uint64_t)bytes)
		*state = STORE_BLOB_SIZE;
	if (rehash) {
		char hex[STORE_HASH_HEX + 1];
		if (store_hash_file(path, hex) < 0) {
			rc = -1;
			goto out;
		}
		if (actual_hex)
			memcpy(actual_hex, hex, sizeof(hex));
		if (strcmp(hex, hash) != 0 && *state == STORE_BLOB_OK)
			*state = STORE_BLOB_HASH;
	}
out:
	free(path);
	return rc;
}
