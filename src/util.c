/* util: the small helpers every room uses. It owns the one error record
 * of the process and must never print anything but warnings and the
 * progress bar. */
#include "config.h"

#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fputs("troupe: out of memory\n", stderr);
		abort();
	}
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p) {
		fputs("troupe: out of memory\n", stderr);
		abort();
	}
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q) {
		fputs("troupe: out of memory\n", stderr);
		abort();
	}
	return q;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	return sb_detach(&sb);
}

void strlist_push(struct strlist *l, const char *s)
{
	l->items = xrealloc(l->items, (l->n + 1) * sizeof(char *));
	l->items[l->n++] = xstrdup(s);
}

void strlist_clear(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

void sb_grow(struct strbuf *sb, size_t extra)
{
	if (sb->len + extra + 1 <= sb->alloc)
		return;
	size_t want = sb->alloc ? sb->alloc : 64;
	while (want < sb->len + extra + 1)
		want *= 2;
	sb->buf = xrealloc(sb->buf, want);
	sb->alloc = want;
}

void sb_add(struct strbuf *sb, const void *data, size_t len)
{
	sb_grow(sb, len);
	memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
}

void sb_adds(struct strbuf *sb, const char *s)
{
	sb_add(sb, s, strlen(s));
}

void sb_addc(struct strbuf *sb, char c)
{
	sb_add(sb, &c, 1);
}

void sb_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list copy;
	va_copy(copy, ap);
	int n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		return;
	sb_grow(sb, (size_t)n);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
}

void sb_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sb_vaddf(sb, fmt, ap);
	va_end(ap);
}

void sb_reset(struct strbuf *sb)
{
	sb->len = 0;
	if (sb->buf)
		sb->buf[0] = '\0';
}

char *sb_detach(struct strbuf *sb)
{
	char *s = sb->buf ? sb->buf : xstrdup("");
	sb->buf = NULL;
	sb->len = sb->alloc = 0;
	return s;
}

void sb_release(struct strbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
	sb->len = sb->alloc = 0;
}

const char *sb_str(const struct strbuf *sb)
{
	return sb->buf ? sb->buf : "";
}

/* One record per thread: add decodes pictures on every CPU at once. */
static _Thread_local struct strbuf error_text = STRBUF_INIT;
static _Thread_local int error_exit = EX_SOFTWARE;

int error_set(int exit_code, const char *fmt, ...)
{
	va_list ap;
	sb_reset(&error_text);
	va_start(ap, fmt);
	sb_vaddf(&error_text, fmt, ap);
	va_end(ap);
	error_exit = exit_code;
	return -1;
}

int error_prefix(const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	sb_adds(&sb, ": ");
	sb_adds(&sb, sb_str(&error_text));
	sb_release(&error_text);
	error_text = sb;
	return -1;
}

const char *error_message(void)
{
	return error_text.len ? error_text.buf : "unknown error";
}

int error_code(void)
{
	return error_exit;
}

void error_clear(void)
{
	sb_reset(&error_text);
	error_exit = EX_SOFTWARE;
}

int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void error_release(void)
{
	sb_release(&error_text);
}

int fd_read_all(int fd, struct strbuf *out)
{
	char buf[1 << 16];
	for (;;) {
		ssize_t got = read(fd, buf, sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -1;
		if (got == 0)
			return 0;
		sb_add(out, buf, (size_t)got);
	}
}

int file_make_dirs(const char *path, mode_t mode)
{
	char *p = xstrdup(path);
	int rc = 0;
	for (char *slash = strchr(p + 1, '/');; slash = strchr(slash + 1, '/')) {
		if (slash)
			*slash = '\0';
		if (*p && mkdir(p, mode) < 0 && errno != EEXIST) {
			rc = error_set(EX_CANTCREAT, "%s: %s", p, strerror(errno));
			break;
		}
		if (!slash)
			break;
		*slash = '/';
	}
	free(p);
	return rc;
}

int file_read_all(const char *path, struct strbuf *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_set(errno == ENOENT ? EX_NOINPUT : EX_IOERR, "%s: %s", path,
				 strerror(errno));
	int rc = fd_read_all(fd, out);
	if (rc < 0)
		error_set(EX_IOERR, "%s: %s", path, strerror(errno));
	close(fd);
	return rc;
}

int file_write_atomicv(const char *path, const struct iovec *parts, size_t nparts)
{
	char *tmp = xasprintf("%s.tmp-XXXXXX", path);
	int fd = mkstemp(tmp), rc = -1;
	if (fd < 0) {
		error_set(EX_CANTCREAT, "%s: %s", path, strerror(errno));
		free(tmp);
		return -1;
	}
	if (fchmod(fd, 0644) < 0)
		goto fail;
	for (size_t i = 0; i < nparts; i++)
		if (write_all(fd, parts[i].iov_base, parts[i].iov_len) < 0)
			goto fail;
	/* Synced before the rename, so a crash cannot put an empty or torn
	 * file where a whole one was; the directory is not synced, which
	 * only risks the old file coming back, whole. */
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		error_set(EX_CANTCREAT, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
	goto out;
fail:
	error_set(EX_IOERR, "%s: %s", path, strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

int file_write_atomic(const char *path, const void *data, size_t len)
{
	struct iovec part = {(void *)data, len};
	return file_write_atomicv(path, &part, 1);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk_dir(const char *dir, files_walk_fn *each, void *ctx, int depth)
{
	if (depth > 64)
		return error_set(EX_DATAERR, "%s: directories nested too deep", dir);
	DIR *d = opendir(dir);
	if (!d)
		return error_set(EX_NOINPUT, "%s: %s", dir, strerror(errno));
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		names = xrealloc(names, (n + 1) * sizeof(char *));
		names[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(char *), cmp_names);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]);
		struct stat lst, st;
		if (rc == 0 && lstat(path, &lst) == 0) {
			if (S_ISDIR(lst.st_mode))
				rc = walk_dir(path, each, ctx, depth + 1);
			else if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
				rc = each(path, false, ctx);
		}
		free(path);
		free(names[i]);
	}
	free(names);
	return rc;
}

int files_walk(const char *path, files_walk_fn *each, void *ctx)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return error_set(errno == ENOENT ? EX_NOINPUT : EX_IOERR, "%s: %s", path,
				 strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return each(path, true, ctx);
	/* Without trailing slashes the paths found read naturally. */
	char *dir = xstrdup(path);
	size_t len = strlen(dir);
	while (len > 1 && dir[len - 1] == '/')
		dir[--len] = '\0';
	int rc = walk_dir(dir, each, ctx, 0);
	free(dir);
	return rc;
}

char *temp_template(const char *what)
{
	const char *dir = getenv("TMPDIR");
	return xasprintf("%s/troupe-%s-XXXXXX", dir && *dir ? dir : "/tmp", what);
}

/* The bar on the terminal now, if any: a warning must not be glued to its
 * end, so warn_user() clears it first and draws it again after. One lock for
 * both, since warnings may come from worker threads. */
static pthread_mutex_t progress_lock = PTHREAD_MUTEX_INITIALIZER;
static struct progress *progress_shown;
static void progress_draw(const struct progress *p);

void warn_user(const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	sb_adds(&sb, "troupe: warning: ");
	va_start(ap, fmt);
	struct strbuf text = STRBUF_INIT;
	sb_vaddf(&text, fmt, ap);
	va_end(ap);
	/* A warning names files and quotes services: text for a terminal. */
	char *safe = text_escape(sb_str(&text));
	sb_adds(&sb, safe);
	free(safe);
	sb_release(&text);
	sb_addc(&sb, '\n');
	pthread_mutex_lock(&progress_lock);
	if (progress_shown)
		fputs("\r\033[K", stderr);
	fputs(sb.buf, stderr);
	if (progress_shown)
		progress_draw(progress_shown);
	fflush(stderr);
	pthread_mutex_unlock(&progress_lock);
	sb_release(&sb);
}

/* The length of the valid UTF-8 sequence at s (1 to 4), or 0 when the
 * bytes there are not one (overlong forms, surrogates and code points
 * past U+10FFFF included). */
static size_t utf8_sequence(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	size_t len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
	if (!len || s[0] > 0xF4)
		return 0;
	uint32_t cp = s[0] & (0x7F >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
	if (cp < least[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

char *text_escape(const char *text)
{
	if (!text)
		return NULL;
	struct strbuf out = {0};
	const unsigned char *s = (const unsigned char *)text;
	while (*s) {
		size_t len = utf8_sequence(s);
		if (len == 0 || *s < 0x20 || *s == 0x7F) {
			sb_addf(&out, "\\x%02x", *s);
			s++;
		} else if (len == 2 && s[0] == 0xC2 && s[1] < 0xA0) {
			sb_addf(&out, "\\u%04x", (unsigned)s[1]);
			s += 2;
		} else {
			sb_add(&out, (const char *)s, len);
			s += len;
		}
	}
	return sb_detach(&out);
}

bool utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < len) {
		unsigned char c = s[i];
		size_t need;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			need = 1;
			cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			need = 2;
			cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			need = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		for (size_t k = 1; k <= need; k++) {
			if (i + k >= len || (s[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		/* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
		if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) ||
		    (need == 3 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += need + 1;
	}
	return true;
}

int text_check(const char *what, const char *s)
{
	size_t len = strlen(s);
	if (!utf8_valid(s, len))
		return error_set(EX_DATAERR, "%s: invalid UTF-8", what);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7F)
			return error_set(EX_DATAERR, "%s: control character not allowed", what);
	}
	return 0;
}

static char *trim_lower(const char *start, const char *end)
{
	while (start < end && isspace((unsigned char)*start))
		start++;
	while (end > start && isspace((unsigned char)end[-1]))
		end--;
	char *out = xstrndup(start, (size_t)(end - start));
	for (char *p = out; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return out;
}

int tag_parse(const char *text, char **ns, char **value)
{
	*ns = *value = NULL;
	if (text_check("tag", text) < 0)
		return -1;
	if (strchr(text, '\n') || strchr(text, '\t'))
		return error_set(EX_DATAERR, "tag '%s': tabs and newlines are not allowed", text);
	const char *colon = strchr(text, ':');
	const char *end = text + strlen(text);
	char *n = colon ? trim_lower(text, colon) : xstrdup("");
	char *v = trim_lower(colon ? colon + 1 : text, end);
	if (!*v || (colon && !*n)) {
		error_set(EX_DATAERR, "tag '%s': %s is empty", text, *v ? "namespace" : "value");
		free(n);
		free(v);
		return -1;
	}
	*ns = n;
	*value = v;
	return 0;
}

void time_iso8601(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t time_now(void)
{
	return (int64_t)time(NULL);
}

int parse_i64(const char *s, int64_t *out)
{
	char *end;
	if (!*s)
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || isspace((unsigned char)*s))
		return -1;
	*out = v;
	return 0;
}

void format_bytes(uint64_t n, char out[32])
{
	double v = (double)n;
	int u = 0;
	while (v >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	if (u == 0) {
		snprintf(out, 32, "%llu B", (unsigned long long)n);
	} else {
		static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
		snprintf(out, 32, "%.1f %s", v, units[u]);
	}
}

struct progress {
	const char *label;
	size_t total;
	size_t done;
	int last_percent;
	char *status; /* a status line's text; NULL for a bar */
};

enum { PROGRESS_MIN_ITEMS = 8, PROGRESS_WIDTH = 30 };

struct progress *progress_new(const char *label, size_t total)
{
	const char *term = getenv("TERM");
	if (total <= PROGRESS_MIN_ITEMS || !isatty(STDERR_FILENO) ||
	    (term && strcmp(term, "dumb") == 0))
		return NULL;
	struct progress *p = xcalloc(1, sizeof(*p));
	p->label = label;
	p->total = total;
	p->last_percent = -1;
	return p;
}

static bool progress_wanted(void)
{
	const char *term = getenv("TERM");
	return isatty(STDERR_FILENO) && !(term && strcmp(term, "dumb") == 0);
}

struct progress *progress_new_status(const char *label)
{
	if (!progress_wanted())
		return NULL;
	struct progress *p = xcalloc(1, sizeof(*p));
	p->label = label;
	p->last_percent = -1;
	p->status = xstrdup("");
	return p;
}

void progress_status(struct progress *p, const char *text)
{
	if (!p)
		return;
	pthread_mutex_lock(&progress_lock);
	free(p->status);
	/* The text quotes a service's words: escaped, and one short line. */
	char *safe = text_escape(text);
	if (strlen(safe) > 80)
		strcpy(safe + 77, "...");
	p->status = safe;
	p->last_percent = 0;
	progress_draw(p);
	progress_shown = p;
	fflush(stderr);
	pthread_mutex_unlock(&progress_lock);
}

static void progress_draw(const struct progress *p)
{
	if (p->status) {
		fprintf(stderr, "\r\033[K%s %s", p->label, p->status);
		return;
	}
	int fill = p->last_percent * PROGRESS_WIDTH / 100;
	fprintf(stderr, "\r%s [%.*s%*s] %3d%% %zu/%zu", p->label, fill,
		"##############################", PROGRESS_WIDTH - fill, "", p->last_percent,
		p->done, p->total);
}

void progress_step(struct progress *p, size_t done)
{
	if (!p)
		return;
	int percent = (int)(done * 100 / p->total);
	if (percent == p->last_percent)
		return;
	pthread_mutex_lock(&progress_lock);
	p->last_percent = percent;
	p->done = done;
	progress_draw(p);
	progress_shown = p;
	fflush(stderr);
	pthread_mutex_unlock(&progress_lock);
}

void progress_free(struct progress *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&progress_lock);
	if (p->last_percent >= 0) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	if (progress_shown == p)
		progress_shown = NULL;
	pthread_mutex_unlock(&progress_lock);
	free(p->status);
	free(p);
}
