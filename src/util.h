/* util: growable strings, the error record, whole-file reads, atomic
 * writes, the directory walker, UTF-8 and tag normalisation, time
 * formatting and the stderr progress bar. Nothing here knows about
 * the store, the index or the command line. */
#ifndef TROUPE_UTIL_H
#define TROUPE_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sysexits.h>
#include <time.h>

/* A growable, always NUL-terminated string (git's strbuf). */
struct strbuf {
	char *buf;
	size_t len;
	size_t alloc;
};
#define STRBUF_INIT                                                                                \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

void sb_grow(struct strbuf *sb, size_t extra);
void sb_add(struct strbuf *sb, const void *data, size_t len);
void sb_adds(struct strbuf *sb, const char *s);
void sb_addc(struct strbuf *sb, char c);
void sb_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vaddf(struct strbuf *sb, const char *fmt, va_list ap);
void sb_reset(struct strbuf *sb);
/* Returns the buffer ("" if empty), which the caller frees; sb is reset. */
char *sb_detach(struct strbuf *sb);
void sb_release(struct strbuf *sb);
/* Borrowed C string of sb, "" when nothing was added yet. */
const char *sb_str(const struct strbuf *sb);

/* Allocation that cannot fail: out of memory aborts with a message. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A list of strings; each entry and the array are owned by the list. */
struct strlist {
	char **items;
	size_t n;
};
void strlist_push(struct strlist *l, const char *s);
void strlist_clear(struct strlist *l);

/* The error record. Library functions call error_set() and return -1 (or
 * NULL); only main.c prints the message and exits with error_code(). */
int error_set(int exit_code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Puts "what: " in front of the recorded message; returns -1. */
int error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *error_message(void);
int error_code(void);
void error_clear(void);
/* Frees this thread's error record (a worker thread calls it on exit). */
void error_release(void);

/* Writes all of data to fd, retrying short writes and EINTR; -1 with
 * errno set on failure (no error recorded: the caller names the file). */
int write_all(int fd, const void *data, size_t len);

/* Reads fd to its end onto out, retrying EINTR; -1 with errno set on
 * failure (no error recorded: the caller names the input). */
int fd_read_all(int fd, struct strbuf *out);
/* Reads the whole file at path onto out; -1 with an error naming it
 * (EX_NOINPUT when it does not exist, EX_IOERR otherwise). */
int file_read_all(const char *path, struct strbuf *out);
/* mkdir -p: the directory and any parents it lacks, each made with mode;
 * -1 with an error naming the one that could not be made. */
int file_make_dirs(const char *path, mode_t mode);

/* Writes a file whole or not at all: the parts go into a temporary file
 * beside path (mode 0644), which is fsynced and renamed over path, so a
 * reader sees the old file or the new one, never half of one. -1 with
 * an error naming path, and nothing left behind. */
struct iovec;
int file_write_atomicv(const char *path, const struct iovec *parts, size_t nparts);
/* The same for one buffer. */
int file_write_atomic(const char *path, const void *data, size_t len);

/* Called by files_walk for each file found: named is true for a path
 * given to files_walk itself, false for one found in a directory under
 * it. A nonzero return stops the walk, which returns it. */
typedef int files_walk_fn(const char *path, bool named, void *ctx);
/* Every file a path names: the path itself when it is not a directory
 * (whatever it is), else every regular file under it, in name order,
 * hidden entries skipped and symbolic links to directories not followed
 * (so no loop can form). -1 with an error when the path or a directory
 * under it cannot be read. */
int files_walk(const char *path, files_walk_fn *each, void *ctx);

/* A mkstemp/mkdtemp template "DIR/troupe-WHAT-XXXXXX" in $TMPDIR, or
 * /tmp when it is unset; the caller frees it. */
char *temp_template(const char *what);

/* Prints "troupe: warning: ..." on stderr, on a line of its own: a
 * progress bar being drawn is cleared first and drawn again after. For
 * command files only: the domain reports through error_set(). (Not
 * "warn": that would interpose libc's warn(3) and be exported.) */
void warn_user(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

bool utf8_valid(const char *s, size_t len);
/* Checks s is valid UTF-8 without control characters other than tab and
 * newline; on failure records "what: invalid UTF-8" and returns -1. */
int text_check(const char *what, const char *s);

/* Normalises a tag in place: trims, lower-cases ASCII, keeps inner spaces.
 * Splits "ns:value" at the first colon; *ns is "" for a plain tag. Returns
 * -1 with an error for an empty tag or value or invalid UTF-8. Both outputs
 * are the caller's to free. */
int tag_parse(const char *text, char **ns, char **value);

/* Seconds since the epoch as "YYYY-MM-DDTHH:MM:SSZ" in out (21 bytes). */
void time_iso8601(int64_t t, char out[32]);
int64_t time_now(void);

/* Parses a decimal integer that must fill the whole string. */
int parse_i64(const char *s, int64_t *out);

/* Human size: "1.2 MB". */
void format_bytes(uint64_t n, char out[32]);

/* A progress bar on stderr, shown only when stderr is a terminal (not
 * TERM=dumb) and the work has more than a handful of items; all calls
 * accept NULL. progress_free() erases it. */
struct progress;
struct progress *progress_new(const char *label, size_t total);
void progress_step(struct progress *p, size_t done);
void progress_free(struct progress *p);
/* A line on stderr for a wait with nothing to count ("label text"), shown
 * under the same conditions as the bar, whatever the count; cleared the
 * same way by warn() and progress_free(). */
struct progress *progress_new_status(const char *label);
/* Replaces the status line's text (copied) and draws it. */
void progress_status(struct progress *p, const char *text);

#endif
