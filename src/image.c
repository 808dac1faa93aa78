/* image: libvips behind a small interface. It must never decode pixels
 * where a header will do, and must turn every libvips error into a troupe
 * error: nothing from libvips reaches the user raw. */
#include "config.h"

#include "image.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vips/vips.h>

static const struct {
	const char *loader; /* prefix of the libvips loader class name */
	const char *format;
} accepted[] = {
	{"VipsForeignLoadJpeg", "jpeg"}, {"VipsForeignLoadPng", "png"},
	{"VipsForeignLoadWebp", "webp"}, {"VipsForeignLoadNsgif", "gif"},
	{"VipsForeignLoadGif", "gif"},   {"VipsForeignLoadTiff", "tiff"},
	{"VipsForeignLoadHeif", "heif"}, {"VipsForeignLoadJxl", "jxl"},
};

int image_init(const char *argv0)
{
	if (VIPS_INIT(argv0 ? argv0 : "troupe"))
		return error_set(EX_SOFTWARE, "libvips: %s", vips_error_buffer());
	vips_block_untrusted_set(TRUE);
	/* Each file is opened once; the operation cache would only keep
	 * file handles and memory alive between unrelated images. */
	vips_cache_set_max(0);
	return 0;
}

void image_shutdown(void)
{
	vips_shutdown();
}

static int vips_failure(const char *what)
{
	char *msg = xstrdup(vips_error_buffer());
	vips_error_clear();
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	for (char *p = msg; *p; p++)
		if (*p == '\n')
			*p = ';';
	int rc = error_set(EX_DATAERR, "%s (libvips: %s)", what, *msg ? msg : "unknown error");
	free(msg);
	return rc;
}

/* The tail check: the parts of the file a header-only load never reads. */
static int check_complete(const char *path, const char *format)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_set(EX_IOERR, "%s", strerror(errno));
	struct stat st;
	unsigned char tail[4096];
	off_t size = fstat(fd, &st) == 0 ? st.st_size : 0;
	size_t want = size < (off_t)sizeof(tail) ? (size_t)size : sizeof(tail);
	ssize_t got = pread(fd, tail, want, size - (off_t)want);
	close(fd);
	if (got != (ssize_t)want)
		return error_set(EX_IOERR, "cannot read the end of the file");

	if (strcmp(format, "jpeg") == 0) {
		/* Some writers pad after the end-of-image marker; look back a
		 * little, but the marker must be there. */
		for (size_t i = want; i >= 2; i--)
			if (tail[i - 2] == 0xFF && tail[i - 1] == 0xD9)
				return 0;
		return error_set(EX_DATAERR, "truncated JPEG (no end-of-image marker)");
	}
	if (strcmp(format, "png") == 0) {
		static const unsigned char iend[] = {0, 0, 0, 0, 'I', 'E', 'N', 'D',
		                                     0xAE, 0x42, 0x60, 0x82};
		if (want >= sizeof(iend) && memcmp(tail + want - sizeof(iend), iend, sizeof(iend)) == 0)
			return 0;
		return error_set(EX_DATAERR, "truncated PNG (no IEND chunk at the end)");
	}
	if (strcmp(format, "gif") == 0) {
		if (want && tail[want - 1] == 0x3B)
			return 0;
		return error_set(EX_DATAERR, "truncated GIF (no trailer byte)");
	}
	if (strcmp(format, "webp") == 0) {
		unsigned char head[12];
		fd = open(path, O_RDONLY | O_CLOEXEC);
		got = fd < 0 ? -1 : pread(fd, head, sizeof(head), 0);
		if (fd >= 0)
			close(fd);
		if (got == (ssize_t)sizeof(head)) {
			uint32_t riff = (uint32_t)head[4] | (uint32_t)head[5] << 8 |
			                (uint32_t)head[6] << 16 | (uint32_t)head[7] << 24;
			if ((off_t)riff + 8 <= size)
				return 0;
		}
		return error_set(EX_DATAERR, "truncated WebP (shorter than its RIFF header says)");
	}
	return 0;
}

int image_probe(const char *path, struct image_info *out)
{
	memset(out, 0, sizeof(*out));
	struct stat st;
	if (stat(path, &st) < 0)
		return error_set(errno == ENOENT ? EX_NOINPUT : EX_IOERR, "%s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return error_set(EX_DATAERR, "not a regular file");
	if (st.st_size == 0)
		return error_set(EX_DATAERR, "not an image (empty file)");

	/* A source from a file name takes no "[options]" from the name, so a
	 * path with brackets in it is read as it is. */
	VipsSource *source = vips_source_new_from_file(path);
	if (!source)
		return vips_failure("cannot open");
	int rc = -1;
	VipsImage *image = NULL;
	const char *loader = vips_foreign_find_load_source(source);
	if (!loader) {
		vips_error_clear();
		error_set(EX_DATAERR, "not an image");
		goto out;
	}
	const char *format = NULL;
	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++)
		if (strncmp(loader, accepted[i].loader, strlen(accepted[i].loader)) == 0)
			format = accepted[i].format;
	if (!format) {
		const char *kind = loader;
		if (strncmp(kind, "VipsForeignLoad", 15) == 0)
			kind += 15;
		error_set(EX_DATAERR, "unsupported image format (%s)", kind);
		goto out;
	}
	image = vips_image_new_from_source(source, "", "access", VIPS_ACCESS_SEQUENTIAL, NULL);
	if (!image) {
		vips_failure("not a readable image");
		goto out;
	}
	out->width = vips_image_get_width(image);
	out->height = vips_image_get_height(image);
	snprintf(out->format, sizeof(out->format), "%s", format);
	if (out->width <= 0 || out->height <= 0) {
		error_set(EX_DATAERR, "image has no pixels");
		goto out;
	}
	rc = check_complete(path, format);
out:
	if (image)
		g_object_unref(image);
	g_object_unref(source);
	return rc;
}
