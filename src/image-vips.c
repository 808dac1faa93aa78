/* image-vips: the pixel room, built as a module (troupe-image.so) that
 * image.c loads on first use, so commands that touch no pixels never load
 * libvips and its hundred libraries. It must never decode pixels where a
 * header will do, and must turn every libvips error into a troupe error:
 * nothing from libvips reaches the user raw. It is over 800 lines because
 * it is the module's whole table (probe, thumbnail, derive, sheet); the
 * HEIF damage check already lives apart, in image-heif.c. */
#include "config.h"

#include "image-heif.h"
#include "image-jpeg.h"
#include "image-vips-int.h"
#include "image.h"
#include "phash.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vips/vips.h>

#include "module-ext.h"

static const struct {
	const char *loader; /* prefix of the libvips loader class name */
	const char *format;
} accepted[] = {
    {"VipsForeignLoadJpeg", "jpeg"}, {"VipsForeignLoadPng", "png"}, {"VipsForeignLoadWebp", "webp"},
    {"VipsForeignLoadNsgif", "gif"}, {"VipsForeignLoadGif", "gif"}, {"VipsForeignLoadTiff", "tiff"},
    {"VipsForeignLoadHeif", "heif"},
};

static void quiet_log(const gchar *domain, GLogLevelFlags level, const gchar *message,
		      gpointer data)
{
	(void)domain;
	(void)level;
	(void)message;
	(void)data;
}

static bool started;

/* add decodes on several threads at once. libvips builds, caches and
 * disposes operations with signal handlers that are not safe against
 * another thread doing the same to the same objects: with the operation
 * cache off, a build on one thread trims (unrefs the outputs of) the
 * operation another thread has just built, and a rare add of a thousand
 * pictures died in vips_object_clear_object. So every libvips call that
 * builds or frees an operation holds this lock; only the long part, the
 * decode of the pixels (vips_image_copy_memory), runs without it. */
static pthread_mutex_t vips_lock = PTHREAD_MUTEX_INITIALIZER;

/* libvips starts on first use, so commands that touch no pixels (a warm
 * derive, a query) do not pay for it. */
int image_start(void)
{
	/* Two threads that each store a rendered take may be the first to
	 * need pixels at once: libvips must be started once, by one. */
	static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&start_lock);
	if (started) {
		pthread_mutex_unlock(&start_lock);
		return 0;
	}
	if (VIPS_INIT("troupe")) {
		pthread_mutex_unlock(&start_lock);
		return error_set(EX_SOFTWARE, "libvips: %s", vips_error_buffer());
	}
	vips_block_untrusted_set(TRUE);
	/* libvips reports recoverable oddities (an ignored colour profile)
	 * as GLib warnings on stderr; troupe turns real failures into its own
	 * errors, so these are dropped. */
	g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING, quiet_log, NULL);
	/* Each file is opened once; the operation cache would only keep
	 * file handles and memory alive between unrelated images. */
	vips_cache_set_max(0);
	started = true;
	pthread_mutex_unlock(&start_lock);
	return 0;
}

static void vimg_shutdown(void)
{
	if (started)
		vips_shutdown();
	started = false;
}

int vips_failure(const char *what)
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
int check_complete(const char *path, const char *format)
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
		static const unsigned char iend[] = {0,	  0,   0,    0,	   'I',	 'E',
						     'N', 'D', 0xAE, 0x42, 0x60, 0x82};
		if (want >= sizeof(iend) &&
		    memcmp(tail + want - sizeof(iend), iend, sizeof(iend)) == 0)
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

static int probe_locked(const char *path, struct image_info *out);

int vimg_probe(const char *path, struct image_info *out)
{
	memset(out, 0, sizeof(*out));
	if (image_start() < 0)
		return -1;
	pthread_mutex_lock(&vips_lock);
	int rc = probe_locked(path, out);
	pthread_mutex_unlock(&vips_lock);
	/* libvips decodes HEIC through libheif, which takes libde265's word
	 * that a damaged picture decoded: so the check decodes it first,
	 * outside the lock, since it is a full decode. */
	if (rc == 0 && strcmp(out->format, "heif") == 0) {
		char why[256];
		if (image_heif_check(path, why, sizeof(why)) < 0)
			rc = error_set(EX_DATAERR, "%s", why);
	}
	return rc;
}

static int probe_locked(const char *path, struct image_info *out)
{
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
	/* The header is all a decompression bomb needs to give itself away. */
	int64_t pixels = (int64_t)out->width * out->height, limit = image_max_pixels();
	if (limit < 0)
		goto out;
	if (pixels > limit) {
		error_set(EX_DATAERR,
			  "%dx%d is %.1f megapixels, over the limit of %g "
			  "(TROUPE_MAX_MEGAPIXELS)",
			  out->width, out->height, pixels / 1e6, limit / 1e6);
		goto out;
	}
	/* Width and height as the picture is shown: EXIF orientations 5 to 8
	 * turn it a quarter, so a query's width>height means landscape. */
	int orientation;
	if (vips_image_get_typeof(image, VIPS_META_ORIENTATION) &&
	    !vips_image_get_int(image, VIPS_META_ORIENTATION, &orientation) && orientation >= 5 &&
	    orientation <= 8) {
		int swap = out->width;
		out->width = out->height;
		out->height = swap;
	}
	rc = check_complete(path, format);
out:
	if (image)
		g_object_unref(image);
	g_object_unref(source);
	return rc;
}

static void vimg_buffer_clear(struct image_buffer *b)
{
	if (!b)
		return;
	g_free(b->data);
	memset(b, 0, sizeof(*b));
}

/* Unrefs every image in a NULL-terminated local array: one cleanup path
 * for functions that build a pipeline of many steps. */
void unref_all(VipsImage **images, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (images[i])
			g_object_unref(images[i]);
}

/* A decoded, upright, sRGB, 8-bit, three-band image with no alpha. The
 * colourspace step comes first: it also brings 16-bit images to 8 bits,
 * so the alpha that flatten sees tops out at 255. */
int to_srgb8(VipsImage *in, VipsImage **out)
{
	VipsImage *t[3] = {NULL, NULL, NULL};
	int rc = -1;
	if (vips_colourspace(in, &t[0], VIPS_INTERPRETATION_sRGB, NULL))
		goto out;
	VipsImage *cur = t[0];
	if (vips_image_hasalpha(cur)) {
		VipsArrayDouble *white = vips_array_double_newv(1, 255.0);
		int failed = vips_flatten(cur, &t[1], "background", white, NULL);
		vips_area_unref(VIPS_AREA(white));
		if (failed)
			goto out;
		cur = t[1];
	}
	if (vips_cast_uchar(cur, &t[2], NULL))
		goto out;
	*out = t[2];
	t[2] = NULL;
	rc = 0;
out:
	unref_all(t, 3);
	return rc;
}

VipsImage *thumbnail_source(const char *path, int width, int height, VipsSize size,
			    VipsInteresting crop)
{
	VipsSource *source = vips_source_new_from_file(path);
	if (!source)
		return NULL;
	VipsImage *out = NULL;
	/* fail_on makes a truncated or corrupt file an error instead of a
	 * grey-filled picture; even a warning from the decoder (libjpeg's
	 * "corrupt data") counts, since every input is untrusted. */
	if (vips_thumbnail_source(source, &out, width, "height", height, "size", size, "crop", crop,
				  "fail_on", VIPS_FAIL_ON_WARNING, "option_string",
				  "fail_on=warning", NULL))
		out = NULL;
	g_object_unref(source);
	return out;
}

/* The JPEG thumbnail and the pHash of an sRGB 8-bit picture already in
 * memory and no larger than the thumbnail; vips_lock is held. */
static int thumb_and_phash(VipsImage *mem, struct image_buffer *thumb, uint64_t *phash)
{
	VipsImage *t[2] = {NULL, NULL};
	int rc = -1;
	if (vips_jpegsave_buffer(mem, &thumb->data, &thumb->len, "Q", 82, "strip", TRUE,
				 "optimize_coding", TRUE, NULL))
		goto fail;
	thumb->width = vips_image_get_width(mem);
	thumb->height = vips_image_get_height(mem);
	snprintf(thumb->format, sizeof(thumb->format), "jpeg");

	if (vips_thumbnail_image(mem, &t[0], PHASH_SIDE, "height", PHASH_SIDE, "size",
				 VIPS_SIZE_FORCE, NULL) ||
	    vips_colourspace(t[0], &t[1], VIPS_INTERPRETATION_B_W, NULL))
		goto fail;
	size_t len;
	uint8_t *grey = vips_image_write_to_memory(t[1], &len);
	if (!grey || len != PHASH_SIDE * PHASH_SIDE) {
		g_free(grey);
		error_set(EX_SOFTWARE, "pHash: unexpected %zu bytes of grey pixels", len);
		goto out;
	}
	*phash = phash_from_gray(grey);
	g_free(grey);
	rc = 0;
	goto out;
fail:
	vips_failure("cannot decode the image");
out:
	if (rc < 0)
		vimg_buffer_clear(thumb);
	unref_all(t, 2);
	return rc;
}

/* JPEG's start-of-image marker, as libvips' loader tells one. */
static bool is_jpeg(const char *path)
{
	unsigned char head[2];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool yes = fd >= 0 && pread(fd, head, 2, 0) == 2 && head[0] == 0xFF && head[1] == 0xD8;
	if (fd >= 0)
		close(fd);
	return yes;
}

static int vimg_thumbnail(const char *path, int side, struct image_buffer *thumb, uint64_t *phash)
{
	memset(thumb, 0, sizeof(*thumb));
	/* JPEGs, the common case, skip libvips and its lock (image-jpeg.c)
	 * unless they need what only libvips does. */
	if (!jpeg_path_disabled() && is_jpeg(path)) {
		int done = jpeg_thumbnail(path, side, thumb, phash);
		if (done <= 0)
			return done;
	}
	if (image_start() < 0)
		return -1;
	VipsImage *t[3] = {NULL};
	int rc = -1;
	pthread_mutex_lock(&vips_lock);
	t[0] = thumbnail_source(path, side, side, VIPS_SIZE_DOWN, VIPS_INTERESTING_NONE);
	if (!t[0] || to_srgb8(t[0], &t[1]))
		goto fail;
	/* Render once into memory: the encoder and the hash both read it.
	 * This is the decode, and the one step other threads may overlap. */
	pthread_mutex_unlock(&vips_lock);
	t[2] = vips_image_copy_memory(t[1]);
	pthread_mutex_lock(&vips_lock);
	if (!t[2])
		goto fail;
	rc = thumb_and_phash(t[2], thumb, phash);
	goto out;
fail:
	vips_failure("cannot decode the image");
out:
	unref_all(t, 3);
	pthread_mutex_unlock(&vips_lock);
	return rc;
}

/* Packed RGB24 pixels as an sRGB image (borrowing rgb), held to the
 * pixel limit as a decoded file is. */
static VipsImage *rgb_image(const uint8_t *rgb, int width, int height)
{
	int64_t limit = image_max_pixels();
	if (limit < 0)
		return NULL;
	if (!rgb || width <= 0 || height <= 0 || (int64_t)width * height > limit) {
		error_set(EX_DATAERR, "pixels of %d x %d: not a picture troupe takes", width,
			  height);
		return NULL;
	}
	VipsImage *im = vips_image_new_from_memory(rgb, (size_t)width * height * 3, width, height,
						   3, VIPS_FORMAT_UCHAR);
	if (!im)
		vips_failure("cannot take the pixels");
	else
		im->Type = VIPS_INTERPRETATION_sRGB;
	return im;
}

static int vimg_encode_rgb(const uint8_t *rgb, int width, int height, const char *format,
			   int quality, struct image_buffer *out)
{
	memset(out, 0, sizeof(*out));
	if (strcmp(format, "jpeg") && strcmp(format, "png"))
		return error_set(EX_USAGE, "--format %s: not jpeg or png", format);
	if (image_start() < 0)
		return -1;
	pthread_mutex_lock(&vips_lock);
	VipsImage *im = rgb_image(rgb, width, height);
	int rc = -1;
	if (im && encode(im, format, quality > 0 && quality <= 100 ? quality : 90, &out->data,
			 &out->len) == 0) {
		out->width = width;
		out->height = height;
		snprintf(out->format, sizeof(out->format), "%s", format);
		rc = 0;
	} else if (im) {
		vips_failure("cannot encode the pixels");
	}
	if (im)
		g_object_unref(im);
	pthread_mutex_unlock(&vips_lock);
	return rc;
}

static int vimg_thumbnail_rgb(const uint8_t *rgb, int width, int height, int side,
			      struct image_buffer *thumb, uint64_t *phash)
{
	memset(thumb, 0, sizeof(*thumb));
	if (image_start() < 0)
		return -1;
	pthread_mutex_lock(&vips_lock);
	VipsImage *t[3] = {NULL};
	int rc = -1;
	t[0] = rgb_image(rgb, width, height);
	if (!t[0])
		goto out;
	if (vips_thumbnail_image(t[0], &t[1], side, "height", side, "size", VIPS_SIZE_DOWN, NULL) ||
	    !(t[2] = vips_image_copy_memory(t[1]))) {
		vips_failure("cannot shrink the pixels");
		goto out;
	}
	rc = thumb_and_phash(t[2], thumb, phash);
out:
	unref_all(t, 3);
	pthread_mutex_unlock(&vips_lock);
	return rc;
}

/* The oriented size of the image: EXIF orientations 5 to 8 swap sides. */
static int oriented_size(const char *path, int *w, int *h)
{
	VipsSource *source = vips_source_new_from_file(path);
	if (!source)
		return vips_failure("cannot open");
	VipsImage *im =
	    vips_image_new_from_source(source, "", "access", VIPS_ACCESS_SEQUENTIAL, NULL);
	g_object_unref(source);
	if (!im)
		return vips_failure("not a readable image");
	*w = vips_image_get_width(im);
	*h = vips_image_get_height(im);
	int orientation;
	if (vips_image_get_typeof(im, VIPS_META_ORIENTATION) &&
	    !vips_image_get_int(im, VIPS_META_ORIENTATION, &orientation) && orientation >= 5 &&
	    orientation <= 8) {
		int swap = *w;
		*w = *h;
		*h = swap;
	}
	g_object_unref(im);
	return 0;
}

/* The size a recipe asks of a w x h picture: the box it must fill (crop)
 * or fit in and be padded to (pad). */
static void recipe_box(const struct image_recipe *r, int w, int h, int *bw, int *bh)
{
	double aspect = (double)w / h, target = aspect;
	if (r->aspect_min && target < r->aspect_min)
		target = r->aspect_min;
	if (r->aspect_max && target > r->aspect_max)
		target = r->aspect_max;
	/* Start from the picture's own size at the target aspect: cropping
	 * keeps the full height or width, padding adds to one of them. */
	double cw = w, ch = h;
	bool crop = r->fit == IMAGE_FIT_CROP;
	if (target > aspect) {
		if (crop)
			ch = cw / target;
		else
			cw = ch * target;
	} else if (target < aspect) {
		if (crop)
			cw = ch * target;
		else
			ch = cw / target;
	}
	double scale = 1.0;
	double longest = cw > ch ? cw : ch, shortest = cw > ch ? ch : cw;
	if (r->min_side && shortest * scale < r->min_side)
		scale = r->min_side / shortest;
	if (r->max_side && longest * scale > r->max_side)
		scale = r->max_side / longest;
	*bw = (int)(cw * scale + 0.5);
	*bh = (int)(ch * scale + 0.5);
	if (*bw < 1)
		*bw = 1;
	if (*bh < 1)
		*bh = 1;
}

/* -1 with an error when a picture troupe is about to make, w x h, has more
 * pixels than the limit on pictures it reads. */
static int made_size_check(const char *what, int w, int h)
{
	int64_t pixels = (int64_t)w * h, limit = image_max_pixels();
	if (limit < 0)
		return -1;
	if (pixels > limit)
		return error_set(EX_DATAERR,
				 "%s would be %dx%d, %.1f megapixels, over the limit of %g "
				 "(TROUPE_MAX_MEGAPIXELS)",
				 what, w, h, pixels / 1e6, limit / 1e6);
	return 0;
}

static int encode_stripped(VipsImage *im, const char *format, int quality, void **data,
			   size_t *len);

/* Saves with no metadata at all: libvips 8.14's webpsave keeps EXIF and
 * ICC even with strip, so the fields are removed from a copy first. */
int encode(VipsImage *im, const char *format, int quality, void **data, size_t *len)
{
	VipsImage *bare = NULL;
	if (vips_copy(im, &bare, NULL))
		return -1;
	static const char *const fields[] = {VIPS_META_EXIF_NAME,      VIPS_META_XMP_NAME,
					     VIPS_META_IPTC_NAME,      VIPS_META_ICC_NAME,
					     VIPS_META_PHOTOSHOP_NAME, VIPS_META_ORIENTATION};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		vips_image_remove(bare, fields[i]);
	int rc = encode_stripped(bare, format, quality, data, len);
	g_object_unref(bare);
	return rc;
}

static int encode_stripped(VipsImage *im, const char *format, int quality, void **data, size_t *len)
{
	if (!strcmp(format, "jpeg"))
		return vips_jpegsave_buffer(im, data, len, "Q", quality, "strip", TRUE,
					    "optimize_coding", TRUE, NULL);
	if (!strcmp(format, "webp"))
		return vips_webpsave_buffer(im, data, len, "Q", quality, "strip", TRUE, NULL);
	return vips_pngsave_buffer(im, data, len, "compression", 6, "strip", TRUE, NULL);
}

/* Makes one attempt at size bw x bh. */
static int derive_at(const char *path, const struct image_recipe *r, int bw, int bh,
		     VipsImage **result)
{
	VipsImage *t[4] = {NULL};
	int rc = -1;
	bool crop = r->fit == IMAGE_FIT_CROP;
	t[0] = thumbnail_source(path, bw, bh, VIPS_SIZE_BOTH,
				crop ? VIPS_INTERESTING_CENTRE : VIPS_INTERESTING_NONE);
	if (!t[0])
		goto out;
	VipsImage *cur = t[0];
	/* Alpha survives only where the format keeps it. */
	if (!strcmp(r->format, "jpeg") || !vips_image_hasalpha(cur)) {
		if (to_srgb8(cur, &t[1]))
			goto out;
	} else if (vips_colourspace(cur, &t[1], VIPS_INTERPRETATION_sRGB, NULL)) {
		goto out;
	}
	cur = t[1];
	if (!crop && (vips_image_get_width(cur) != bw || vips_image_get_height(cur) != bh)) {
		int bands = vips_image_get_bands(cur);
		VipsArrayDouble *bg = bands == 4
					  ? vips_array_double_newv(4, 255.0, 255.0, 255.0, 0.0)
					  : vips_array_double_newv(3, 255.0, 255.0, 255.0);
		int failed = vips_gravity(cur, &t[2], VIPS_COMPASS_DIRECTION_CENTRE, bw, bh,
					  "extend", VIPS_EXTEND_BACKGROUND, "background", bg, NULL);
		vips_area_unref(VIPS_AREA(bg));
		if (failed)
			goto out;
		cur = t[2];
	}
	if (vips_cast_uchar(cur, &t[3], NULL))
		goto out;
	*result = t[3];
	t[3] = NULL;
	rc = 0;
out:
	unref_all(t, 4);
	return rc;
}

static int vimg_derive(const char *path, const struct image_recipe *r, struct image_buffer *out)
{
	memset(out, 0, sizeof(*out));
	struct image_info info;
	if (vimg_probe(path, &info) < 0)
		return -1;
	int w = 0, h = 0;
	if (oriented_size(path, &w, &h) < 0)
		return -1;
	int bw, bh;
	recipe_box(r, w, h, &bw, &bh);
	/* What troupe makes is held to the limit of what it reads: the
	 * recipe's size is known before a pixel of it is made. */
	if (made_size_check("the derivative", bw, bh) < 0)
		return -1;
	int quality = r->quality;
	/* Quality steps down first (it costs least to look at); when the
	 * floor is reached, the size steps down by a fifth and quality starts
	 * again. A PNG has no quality, so only its size steps. */
	for (int attempt = 0; attempt < 40; attempt++) {
		VipsImage *im = NULL;
		if (derive_at(path, r, bw, bh, &im) < 0)
			return vips_failure("cannot derive");
		void *data = NULL;
		size_t len = 0;
		int failed = encode(im, r->format, quality, &data, &len);
		out->width = vips_image_get_width(im);
		out->height = vips_image_get_height(im);
		g_object_unref(im);
		if (failed)
			return vips_failure("cannot encode");
		if (!r->max_bytes || (int64_t)len <= r->max_bytes) {
			out->data = data;
			out->len = len;
			snprintf(out->format, sizeof(out->format), "%s", r->format);
			return 0;
		}
		g_free(data);
		bool lossy = strcmp(r->format, "png") != 0;
		if (lossy && quality > 40) {
			quality = quality > 50 ? quality - 10 : 40;
			continue;
		}
		if (bw <= 16 || bh <= 16)
			break;
		bw = bw * 4 / 5;
		bh = bh * 4 / 5;
		quality = r->quality;
	}
	return error_set(EX_DATAERR, "cannot reach %lld bytes with this recipe",
			 (long long)r->max_bytes);
}

/* Sheet layout, in pixels. */
enum {
	SHEET_MARGIN = 32,
	SHEET_GAP = 20,
	SHEET_CAPTION = 66,
	SHEET_TITLE_GAP = 20,
};

/* The caption lines under a card's picture: where each starts below the
 * square and the most it may take. The boxes do not overlap, and every
 * line is drawn on one line, so no caption runs into the next. */
static const struct {
	const char *font;
	int top;
	int height;
} sheet_lines[3] = {
    {"sans bold 13", 6, 18},
    {"sans 11", 26, 16},
    {"monospace 11", 44, 16},
};

static const double sheet_background[3] = {246, 244, 239};
static const double sheet_card[3] = {255, 255, 255};
static const double sheet_ink[3] = {34, 34, 38};
static const double sheet_muted[3] = {110, 110, 118};

/* A w x h image of one colour. */
static int solid(int w, int h, const double colour[3], VipsImage **out)
{
	VipsImage *black = NULL, *lit = NULL;
	double zero[3] = {0, 0, 0};
	int rc = -1;
	if (vips_black(&black, w, h, "bands", 3, NULL) ||
	    vips_linear(black, &lit, zero, (double *)colour, 3, NULL) ||
	    vips_cast_uchar(lit, out, NULL))
		goto out;
	vips_image_set_int(*out, "interpretation", VIPS_INTERPRETATION_sRGB);
	rc = 0;
out:
	if (black)
		g_object_unref(black);
	if (lit)
		g_object_unref(lit);
	return rc;
}

/* Renders plain text (escaped here for Pango) as a mask; width 0 for one
 * line, or wrapped to width. */
static int render_text(const char *text, const char *font, int width, VipsImage **out)
{
	char *markup = g_markup_escape_text(text, -1);
	int failed = width > 0 ? vips_text(out, markup, "font", font, "width", width, "dpi", 72,
					   "wrap", VIPS_TEXT_WRAP_WORD_CHAR, NULL)
			       : vips_text(out, markup, "font", font, "dpi", 72, NULL);
	g_free(markup);
	return failed ? -1 : 0;
}

/* Puts mask, in colour, onto base at x, y. */
static int paint(VipsImage *base, VipsImage *mask, int x, int y, const double colour[3],
		 VipsImage **out)
{
	VipsImage *t[2] = {NULL};
	int rc = -1;
	if (vips_embed(mask, &t[0], x, y, vips_image_get_width(base), vips_image_get_height(base),
		       NULL) ||
	    solid(vips_image_get_width(base), vips_image_get_height(base), colour, &t[1]) ||
	    vips_ifthenelse(t[0], t[1], base, out, "blend", TRUE, NULL))
		goto out;
	rc = 0;
out:
	unref_all(t, 2);
	return rc;
}

/* Cuts mask to at most width x height, keeping whole lines of font: a
 * line that does not fit is left out, never shown in part. */
static int clip_lines(VipsImage *mask, const char *font, int width, int height, VipsImage **out)
{
	int mw = vips_image_get_width(mask), mh = vips_image_get_height(mask);
	if (mw <= width && mh <= height) {
		*out = mask;
		g_object_ref(mask);
		return 0;
	}
	int keep = mh < height ? mh : height;
	if (mh > height) {
		VipsImage *probe = NULL;
		if (render_text("Ag", font, 0, &probe) < 0)
			return -1;
		int line = vips_image_get_height(probe);
		g_object_unref(probe);
		if (line > 0 && line <= height)
			keep = height / line * line;
	}
	return vips_extract_area(mask, out, 0, 0, mw < width ? mw : width, keep, NULL) ? -1 : 0;
}

/* Draws text in colour onto base at x, y, wrapped to width and cut to
 * the whole lines that fit in max_height. */
static int draw_text(VipsImage *base, const char *text, const char *font, int x, int y, int width,
		     int max_height, const double colour[3], VipsImage **out)
{
	VipsImage *t[2] = {NULL};
	int rc = -1;
	if (!text || !*text) {
		*out = base;
		g_object_ref(base);
		return 0;
	}
	if (render_text(text, font, width, &t[0]) < 0 ||
	    clip_lines(t[0], font, width, max_height, &t[1]) < 0 ||
	    paint(base, t[1], x, y, colour, out) < 0)
		goto out;
	rc = 0;
out:
	unref_all(t, 2);
	return rc;
}

/* The length of the longest start of text, cut at a character boundary,
 * that is at most len bytes. */
static size_t utf8_cut(const char *text, size_t len)
{
	while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
		len--;
	return len;
}

/* Draws text on one line at x, y; when it is wider than width, the
 * longest start of it that fits with an ellipsis after it. */
static int draw_line(VipsImage *base, const char *text, const char *font, int x, int y, int width,
		     int max_height, const double colour[3], VipsImage **out)
{
	VipsImage *mask = NULL, *clipped = NULL;
	char *cut = NULL;
	int rc = -1;
	if (!text || !*text) {
		*out = base;
		g_object_ref(base);
		return 0;
	}
	if (render_text(text, font, 0, &mask) < 0)
		goto out;
	if (vips_image_get_width(mask) > width) {
		/* Binary search on the length: the longest start that fits. */
		size_t len = strlen(text), lo = 0, hi = len;
		while (lo < hi) {
			size_t mid = utf8_cut(text, (lo + hi + 1) / 2);
			if (mid <= lo) {
				hi = lo;
				break;
			}
			g_free(cut);
			cut = g_strdup_printf("%.*s…", (int)mid, text);
			VipsImage *try = NULL;
			if (render_text(cut, font, 0, &try) < 0)
				goto out;
			bool fits = vips_image_get_width(try) <= width;
			g_object_unref(try);
			if (fits)
				lo = mid;
			else
				hi = utf8_cut(text, mid - 1);
		}
		g_free(cut);
		cut = g_strdup_printf("%.*s…", (int)lo, text);
		g_object_unref(mask);
		mask = NULL;
		if (render_text(cut, font, 0, &mask) < 0)
			goto out;
	}
	if (clip_lines(mask, font, width, max_height, &clipped) < 0 ||
	    paint(base, clipped, x, y, colour, out) < 0)
		goto out;
	rc = 0;
out:
	g_free(cut);
	if (mask)
		g_object_unref(mask);
	if (clipped)
		g_object_unref(clipped);
	return rc;
}

/* One cell: a white card with the thumbnail centred and three captions. */
static int sheet_cell(const struct image_sheet_cell *c, int side, VipsImage **out)
{
	VipsImage *t[7] = {NULL};
	int rc = -1;
	int w = side, h = side + SHEET_CAPTION;
	if (solid(w, h, sheet_card, &t[0]))
		goto out;
	VipsImage *card = t[0];
	if (c->thumb_path) {
		/* The stored thumbnail is already small; fit it to the cell. */
		t[1] = thumbnail_source(c->thumb_path, side - 8, side - 8, VIPS_SIZE_BOTH,
					VIPS_INTERESTING_NONE);
		if (!t[1] || to_srgb8(t[1], &t[2]))
			goto out;
		int tw = vips_image_get_width(t[2]), th = vips_image_get_height(t[2]);
		if (vips_insert(card, t[2], &t[3], (w - tw) / 2, (side - th) / 2, NULL))
			goto out;
		card = t[3];
	}
	const char *lines[3] = {c->caption, c->tags, c->detail};
	const double *colours[3] = {sheet_ink, sheet_muted, sheet_muted};
	for (int i = 0; i < 3; i++) {
		if (draw_line(card, lines[i], sheet_lines[i].font, 8, side + sheet_lines[i].top,
			      w - 16, sheet_lines[i].height, colours[i], &t[4 + i]))
			goto out;
		card = t[4 + i];
	}
	*out = t[6];
	t[6] = NULL;
	rc = 0;
out:
	unref_all(t, 7);
	return rc;
}

static int vimg_sheet(const char *title, const char *subtitle, const struct image_sheet_cell *cells,
		      size_t n, int columns, int cell_side, const char *format,
		      struct image_buffer *out)
{
	memset(out, 0, sizeof(*out));
	if (n == 0)
		return error_set(EX_DATAERR, "no images to lay out");
	if (image_start() < 0)
		return -1;
	if ((size_t)columns > n)
		columns = (int)n;
	VipsImage **cell_images = xcalloc(n, sizeof(VipsImage *));
	VipsImage *t[6] = {NULL};
	int rc = -1;
	for (size_t i = 0; i < n; i++)
		if (sheet_cell(&cells[i], cell_side, &cell_images[i]) < 0) {
			vips_failure(cells[i].thumb_path ? cells[i].thumb_path : "cell");
			goto out;
		}
	VipsArrayDouble *bg = vips_array_double_new(sheet_background, 3);
	int failed = vips_arrayjoin(cell_images, &t[0], (int)n, "across", columns, "shim",
				    SHEET_GAP, "background", bg, NULL);
	vips_area_unref(VIPS_AREA(bg));
	if (failed)
		goto fail;
	int grid_w = vips_image_get_width(t[0]), grid_h = vips_image_get_height(t[0]);
	int width = grid_w + 2 * SHEET_MARGIN;
	/* The heading: the name large, the description under it, wrapped to
	 * the width of the grid. */
	int title_h = 40, subtitle_h = subtitle && *subtitle ? 60 : 0;
	int head_h = SHEET_MARGIN + title_h + subtitle_h + SHEET_TITLE_GAP;
	if (made_size_check("the sheet", width, head_h + grid_h + SHEET_MARGIN) < 0)
		goto out;
	if (solid(width, head_h + grid_h + SHEET_MARGIN, sheet_background, &t[1]) ||
	    draw_text(t[1], title, "sans bold 26", SHEET_MARGIN, SHEET_MARGIN,
		      width - 2 * SHEET_MARGIN, title_h, sheet_ink, &t[2]) ||
	    draw_text(t[2], subtitle, "sans 14", SHEET_MARGIN, SHEET_MARGIN + title_h,
		      width - 2 * SHEET_MARGIN, subtitle_h, sheet_muted, &t[3]) ||
	    vips_insert(t[3], t[0], &t[4], SHEET_MARGIN, head_h, NULL) ||
	    vips_cast_uchar(t[4], &t[5], NULL))
		goto fail;
	vips_image_set_int(t[5], "interpretation", VIPS_INTERPRETATION_sRGB);
	if (encode(t[5], format, 90, &out->data, &out->len))
		goto fail;
	out->width = vips_image_get_width(t[5]);
	out->height = vips_image_get_height(t[5]);
	snprintf(out->format, sizeof(out->format), "%s", format);
	rc = 0;
	goto out;
fail:
	vips_failure("cannot draw the sheet");
out:
	for (size_t i = 0; i < n; i++)
		if (cell_images[i])
			g_object_unref(cell_images[i]);
	free(cell_images);
	unref_all(t, 6);
	return rc;
}

static int vimg_palette(const char *path, float lab[IMAGE_PALETTE_CELLS * 3])
{
	if (image_start() < 0)
		return -1;
	VipsImage *t[4] = {NULL};
	int rc = -1;
	/* A small decode is plenty for 16 mean colours. */
	t[0] = thumbnail_source(path, 64, 64, VIPS_SIZE_DOWN, VIPS_INTERESTING_NONE);
	if (!t[0] || to_srgb8(t[0], &t[1]) ||
	    vips_thumbnail_image(t[1], &t[2], 4, "height", 4, "size", VIPS_SIZE_FORCE, NULL) ||
	    vips_colourspace(t[2], &t[3], VIPS_INTERPRETATION_LAB, NULL)) {
		vips_failure("cannot read the colours");
		goto out;
	}
	size_t len;
	float *px = vips_image_write_to_memory(t[3], &len);
	if (!px || len != IMAGE_PALETTE_CELLS * 3 * sizeof(float)) {
		g_free(px);
		error_set(EX_SOFTWARE, "palette: unexpected %zu bytes", len);
		goto out;
	}
	memcpy(lab, px, len);
	g_free(px);
	rc = 0;
out:
	unref_all(t, 4);
	return rc;
}

static const struct image_ops vips_ops = {
    .version = IMAGE_OPS_VERSION,
    .probe = vimg_probe,
    .thumbnail = vimg_thumbnail,
    .derive = vimg_derive,
    .sheet = vimg_sheet,
    .shutdown = vimg_shutdown,
    .buffer_clear = vimg_buffer_clear,
    .palette = vimg_palette,
    .variant = vimg_variant,
    .plot = vimg_plot,
    .encode_rgb = vimg_encode_rgb,
    .thumbnail_rgb = vimg_thumbnail_rgb,
};

/* The module's one exported symbol (see module.h): image.c checks the
 * version and calls through the table. The image room's host entries
 * are this module's to need. */
const void *troupe_module_init(const struct module_host *host)
{
	if (!module_host_accept(host) || !jpeg_host_accept(host) || !host->image_max_pixels ||
	    !host->phash_from_gray)
		return NULL;
	return &vips_ops;
}
