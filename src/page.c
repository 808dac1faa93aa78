/* page: escaping and the files beside a static page. A file beside the
 * page is always whole (written atomically or hard-linked), and a name
 * that is not troupe's is never touched. */
#include "config.h"

#include "asset.h"
#include "page.h"
#include "thumbnail.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void page_escape(struct strbuf *sb, const char *text)
{
	for (const char *p = text ? text : ""; *p; p++) {
		switch (*p) {
		case '&':
			sb_adds(sb, "&amp;");
			break;
		case '<':
			sb_adds(sb, "&lt;");
			break;
		case '>':
			sb_adds(sb, "&gt;");
			break;
		case '"':
			sb_adds(sb, "&quot;");
			break;
		case '\'':
			sb_adds(sb, "&#39;");
			break;
		default:
			sb_addc(sb, *p);
		}
	}
}

/* Whether path holds exactly len bytes of data. */
static bool same_bytes(const char *path, const char *data, size_t len)
{
	struct stat st;
	if (stat(path, &st) < 0 || (size_t)st.st_size != len)
		return false;
	struct strbuf have = STRBUF_INIT;
	bool same =
	    file_read_all(path, &have) == 0 && have.len == len && memcmp(have.buf, data, len) == 0;
	sb_release(&have);
	error_clear();
	return same;
}

int page_copy_thumbnail(struct catalog *cat, const char *dir, const struct asset *a,
			struct strlist *written)
{
	char *dest = xasprintf("%s/thumbs/%s.jpg", dir, a->hash);
	int in = catalog_thumbnail_open(cat, a->id), rc = -1;
	struct strbuf bytes = STRBUF_INIT;
	if (in < 0)
		goto out;
	int got = fd_read_all(in, &bytes);
	close(in);
	if (got < 0) {
		error_set(EX_IOERR, "thumbnail of asset %lld: %s", (long long)a->id,
			  strerror(errno));
		goto out;
	}
	/* A page written again over the last one mostly finds its
	 * thumbnails there already: no write, no sync. */
	rc = same_bytes(dest, bytes.buf, bytes.len) ? 0
						    : file_write_atomic(dest, bytes.buf, bytes.len);
	if (rc == 0) {
		char *name = xasprintf("%s.jpg", a->hash);
		strlist_push(written, name);
		free(name);
	}
out:
	sb_release(&bytes);
	free(dest);
	return rc;
}

int page_place_video(const char *dir, const struct asset *a, struct strlist *written)
{
	char *videos = xasprintf("%s/videos", dir);
	char *dest = xasprintf("%s/%s.%s", videos, a->hash, a->format);
	int rc = file_make_dirs(videos, 0755);
	if (rc == 0) {
		struct stat have, blob;
		if (stat(dest, &have) == 0 && stat(a->path, &blob) == 0 &&
		    have.st_ino == blob.st_ino && have.st_dev == blob.st_dev) {
			rc = 0;
		} else if (unlink(dest) < 0 && errno != ENOENT) {
			rc = error_set(EX_CANTCREAT, "%s: %s", dest, strerror(errno));
		} else if (link(a->path, dest) < 0) {
			struct strbuf bytes = STRBUF_INIT;
			rc = file_read_all(a->path, &bytes);
			if (rc == 0)
				rc = file_write_atomic(dest, bytes.buf, bytes.len);
			sb_release(&bytes);
		}
	}
	if (rc == 0)
		strlist_push(written, dest + strlen(videos) + 1);
	free(videos);
	free(dest);
	return rc;
}

bool page_thumbnail_name(const char *name)
{
	return strlen(name) == 36 && strspn(name, "0123456789abcdef") == 32 &&
	       strcmp(name + 32, ".jpg") == 0;
}

bool page_video_name(const char *name)
{
	return strlen(name) > 33 && strspn(name, "0123456789abcdef") == 32 && name[32] == '.' &&
	       catalog_format_is_video(name + 33);
}

int page_prune(const char *dir, const struct strlist *keep, bool (*named)(const char *))
{
	int failed = 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!named(e->d_name))
			continue;
		bool used = false;
		for (size_t i = 0; i < keep->n && !used; i++)
			used = strcmp(keep->items[i], e->d_name) == 0;
		if (!used) {
			char *path = xasprintf("%s/%s", dir, e->d_name);
			if (unlink(path) < 0 && errno != ENOENT) {
				error_set(EX_CANTCREAT, "%s: %s", path, strerror(errno));
				failed++;
			}
			free(path);
		}
	}
	closedir(d);
	return failed;
}
