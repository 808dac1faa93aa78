/* image-jpeg: thumbnails and pHashes of JPEGs, the common case at add,
 * from libjpeg-turbo's DCT-domain scaled decode and an area-averaging
 * shrink of the rows as they arrive, with no libvips and no lock, so
 * add's workers run on every core. It keeps libvips' rules for untrusted
 * input (the pixel limit from the header, the end-of-image check, every
 * decoder warning an error) and leaves to libvips what it would render
 * differently: CMYK and pictures with a colour profile. */
#include "config.h"

#include "image-jpeg.h"
#include "image-vips-int.h"
#include "image.h"
#include "phash.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "module-ext.h"

/* The thumbnail's encoding, as image-vips.c's thumb_and_phash makes it. */
enum { THUMB_QUALITY = 82 };

bool jpeg_host_accept(const struct module_host *host)
{
	return module_host_accept(host);
}

bool jpeg_path_disabled(void)
{
	const char *env = getenv("TROUPE_IMAGE_DECODER");
	return env && strcmp(env, "vips") == 0;
}

struct jpeg_fail {
	struct jpeg_error_mgr mgr;
	jmp_buf jump;
	char why[JMSG_LENGTH_MAX];
};

static void fail_exit(j_common_ptr c)
{
	struct jpeg_fail *f = (struct jpeg_fail *)c->err;
	(*c->err->format_message)(c, f->why);
	longjmp(f->jump, 1);
}

/* A warning (level -1) is damage libjpeg would paper over with grey:
 * as libvips' fail_on=warning, it ends the decode. */
static void fail_message(j_common_ptr c, int level)
{
	if (level < 0)
		fail_exit(c);
}

static uint32_t exif_u32(const uint8_t *p, bool big)
{
	return big ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
		   : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static unsigned exif_u16(const uint8_t *p, bool big)
{
	return big ? (unsigned)p[0] << 8 | p[1] : (unsigned)p[1] << 8 | p[0];
}

/* The orientation (1 to 8) in an APP1 Exif segment's first directory,
 * 1 when there is none or the segment does not hold together: every
 * offset is checked against the segment before it is read. */
static int exif_orientation(const uint8_t *data, size_t len)
{
	static const uint8_t exif[6] = {'E', 'x', 'i', 'f', 0, 0};
	if (len < 6 + 8 || memcmp(data, exif, 6) != 0)
		return 1;
	const uint8_t *tiff = data + 6;
	size_t n = len - 6;
	bool big;
	if (tiff[0] == 'M' && tiff[1] == 'M')
		big = true;
	else if (tiff[0] == 'I' && tiff[1] == 'I')
		big = false;
	else
		return 1;
	if (exif_u16(tiff + 2, big) != 42)
		return 1;
	uint32_t ifd = exif_u32(tiff + 4, big);
	if (ifd > n || n - ifd < 2)
		return 1;
	unsigned entries = exif_u16(tiff + ifd, big);
	for (unsigned i = 0; i < entries; i++) {
		size_t at = (size_t)ifd + 2 + (size_t)i * 12;
		if (at > n || n - at < 12)
			return 1;
		const uint8_t *e = tiff + at;
		/* Orientation: one SHORT, held in the entry itself. */
		if (exif_u16(e, big) != 0x0112)
			continue;
		if (exif_u16(e + 2, big) != 3 || exif_u32(e + 4, big) != 1)
			return 1;
		unsigned v = exif_u16(e + 8, big);
		return v >= 1 && v <= 8 ? (int)v : 1;
	}
	return 1;
}

/* libvips' JPEG shrink-on-load for a w x h picture in a side x side box:
 * by 8, 4 or 2, keeping at least twice the target for the resize after
 * it. Its picture is then floor(w / pre) x floor(h / pre): libvips drops
 * the partial last column and row of blocks libjpeg rounds up to. */
static int vips_preshrink(int w, int h, int side)
{
	double total = fmax((double)w / side, (double)h / side);
	return total >= 16 ? 8 : total >= 8 ? 4 : total >= 4 ? 2 : 1;
}

/* libvips' thumbnail size for that pre-shrunk picture, pw x ph: the
 * longest side shrunk to the box, never enlarged, each side rounded to
 * the nearest pixel. */
static void vips_thumb_size(int pw, int ph, int side, int *tw, int *th)
{
	double shrink = fmax(1.0, fmax((double)pw / side, (double)ph / side));
	*tw = (int)(pw / shrink + 0.5);
	*th = (int)(ph / shrink + 0.5);
	if (*tw < 1)
		*tw = 1;
	if (*th < 1)
		*th = 1;
}

/* Area averaging from sw x sh to tw x th (either way), fed one source row
 * at a time: each output pixel is the mean of the source area it covers,
 * every overlap in exact integer units (a source column spans tw units of
 * an output column's sw). */
struct shrink {
	int sw, sh, tw, th, bands;
	int *first;   /* per output column: its first source column */
	int *count;   /* and how many it covers */
	float *w;     /* their weights, count[x] from offset[x] */
	int *offset;  /* per output column, into w */
	float *row;   /* the current source row, shrunk across */
	float *acc;   /* two output rows being summed, by y & 1 */
	int rows_in;  /* source rows fed so far */
	int rows_out; /* output rows finished */
	uint8_t *out; /* tw x th x bands */
};

static void shrink_free(struct shrink *s)
{
	free(s->first);
	free(s->count);
	free(s->w);
	free(s->offset);
	free(s->row);
	free(s->acc);
	free(s->out);
	memset(s, 0, sizeof(*s));
}

static void shrink_init(struct shrink *s, int sw, int sh, int tw, int th, int bands)
{
	memset(s, 0, sizeof(*s));
	s->sw = sw, s->sh = sh, s->tw = tw, s->th = th, s->bands = bands;
	s->first = xcalloc((size_t)tw, sizeof(int));
	s->count = xcalloc((size_t)tw, sizeof(int));
	s->offset = xcalloc((size_t)tw, sizeof(int));
	/* Each output column covers at most sw / tw + 2 source columns. */
	size_t most = (size_t)sw / (size_t)tw + 2;
	s->w = xcalloc((size_t)tw * most, sizeof(float));
	int at = 0;
	for (int x = 0; x < tw; x++) {
		int64_t lo = (int64_t)x * sw, hi = lo + sw; /* in units of 1/tw column */
		int c0 = (int)(lo / tw), c1 = (int)((hi + tw - 1) / tw);
		s->first[x] = c0;
		s->offset[x] = at;
		for (int c = c0; c < c1 && c < sw; c++) {
			int64_t a = (int64_t)c * tw, b = a + tw;
			int64_t overlap = (b < hi ? b : hi) - (a > lo ? a : lo);
			s->w[at++] = (float)((double)overlap / sw);
			s->count[x]++;
		}
	}
	s->row = xcalloc((size_t)tw * bands, sizeof(float));
	s->acc = xcalloc((size_t)tw * bands * 2, sizeof(float));
	s->out = xcalloc((size_t)tw * th, (size_t)bands);
}

static void shrink_row(struct shrink *s, const uint8_t *in)
{
	int bands = s->bands;
	for (int x = 0; x < s->tw; x++) {
		const float *w = s->w + s->offset[x];
		const uint8_t *p = in + (size_t)s->first[x] * bands;
		for (int b = 0; b < bands; b++) {
			float sum = 0;
			for (int k = 0; k < s->count[x]; k++)
				sum += w[k] * p[(size_t)k * bands + b];
			s->row[x * bands + b] = sum;
		}
	}
	/* Source row r spans [r * th, (r + 1) * th) in units where output
	 * row y spans [y * sh, (y + 1) * sh). */
	int64_t lo = (int64_t)s->rows_in * s->th, hi = lo + s->th;
	size_t width = (size_t)s->tw * bands;
	for (int y = (int)(lo / s->sh); y < s->th && (int64_t)y * s->sh < hi; y++) {
		int64_t a = (int64_t)y * s->sh, b = a + s->sh;
		float weight = (float)((double)((b < hi ? b : hi) - (a > lo ? a : lo)) / s->sh);
		float *acc = s->acc + (size_t)(y & 1) * width;
		for (size_t i = 0; i < width; i++)
			acc[i] += weight * s->row[i];
	}
	s->rows_in++;
	while (s->rows_out < s->th && (int64_t)(s->rows_out + 1) * s->sh <= hi) {
		float *acc = s->acc + (size_t)(s->rows_out & 1) * width;
		uint8_t *o = s->out + (size_t)s->rows_out * width;
		for (size_t i = 0; i < width; i++) {
			float v = acc[i] + 0.5f;
			o[i] = v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)v;
			acc[i] = 0;
		}
		s->rows_out++;
	}
}

/* A whole picture in memory through the same shrink. */
static uint8_t *shrink_image(const uint8_t *in, int sw, int sh, int tw, int th, int bands)
{
	struct shrink s;
	shrink_init(&s, sw, sh, tw, th, bands);
	for (int y = 0; y < sh; y++)
		shrink_row(&s, in + (size_t)y * sw * bands);
	uint8_t *out = s.out;
	s.out = NULL;
	shrink_free(&s);
	return out;
}

/* libvips' default kernel for thumbnails. */
static double lanczos3(double x)
{
	if (x == 0)
		return 1;
	if (x <= -3 || x >= 3)
		return 0;
	double px = M_PI * x;
	return 3 * sin(px) * sin(px / 3) / (px * px);
}

/* The taps of one output sample of an n_in to n_out reduce along an
 * axis, centred as libvips' reduce centres them, the kernel widened by
 * the shrink and the edges extended by copying; weights sum to 1. */
struct taps {
	int count; /* the same for every sample */
	int *at;   /* count source indices per sample, clamped to the edges */
	float *w;  /* and their weights */
};

static void taps_make(struct taps *t, int n_in, int n_out)
{
	double s = (double)n_in / n_out, scale = s > 1 ? s : 1;
	t->count = 2 * (int)ceil(3 * scale) + 1;
	t->at = xcalloc((size_t)n_out * t->count, sizeof(int));
	t->w = xcalloc((size_t)n_out * t->count, sizeof(float));
	for (int o = 0; o < n_out; o++) {
		double c = (o + 0.5) * s - 0.5, sum = 0;
		int first = (int)floor(c) - t->count / 2;
		float *w = t->w + (size_t)o * t->count;
		int *at = t->at + (size_t)o * t->count;
		for (int k = 0; k < t->count; k++) {
			double v = lanczos3((first + k - c) / scale);
			int i = first + k;
			at[k] = i < 0 ? 0 : i >= n_in ? n_in - 1 : i;
			w[k] = (float)v;
			sum += v;
		}
		for (int k = 0; k < t->count; k++)
			w[k] = (float)(w[k] / sum);
	}
}

static void taps_free(struct taps *t)
{
	free(t->at);
	free(t->w);
}

static uint8_t clamp_byte(float v)
{
	v += 0.5f;
	return v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)v;
}

/* A separable Lanczos3 reduce of RGB24, w x h to tw x th: down the
 * columns first and then across, each pass rounded to bytes, in the
 * order and at the precision libvips' reduce has. The vertical pass sums
 * whole source rows, a loop the compiler vectorises. */
static uint8_t *reduce_image(const uint8_t *in, int w, int h, int tw, int th)
{
	struct taps tx, ty;
	taps_make(&tx, w, tw);
	taps_make(&ty, h, th);
	size_t width = (size_t)w * 3;
	uint8_t *down = xcalloc(width, (size_t)th);
	float *acc = xcalloc(width, sizeof(float));
	for (int y = 0; y < th; y++) {
		const float *wt = ty.w + (size_t)y * ty.count;
		const int *at = ty.at + (size_t)y * ty.count;
		memset(acc, 0, width * sizeof(float));
		for (int k = 0; k < ty.count; k++) {
			const uint8_t *src = in + (size_t)at[k] * width;
			float weight = wt[k];
			for (size_t i = 0; i < width; i++)
				acc[i] += weight * src[i];
		}
		uint8_t *o = down + (size_t)y * width;
		for (size_t i = 0; i < width; i++)
			o[i] = clamp_byte(acc[i]);
	}
	free(acc);
	uint8_t *out = xcalloc((size_t)tw * th, 3);
	for (int y = 0; y < th; y++) {
		const uint8_t *row = down + (size_t)y * width;
		uint8_t *o = out + (size_t)y * tw * 3;
		for (int x = 0; x < tw; x++) {
			const float *wt = tx.w + (size_t)x * tx.count;
			const int *at = tx.at + (size_t)x * tx.count;
			float r = 0, g = 0, b = 0;
			for (int k = 0; k < tx.count; k++) {
				const uint8_t *p = row + (size_t)at[k] * 3;
				r += wt[k] * p[0];
				g += wt[k] * p[1];
				b += wt[k] * p[2];
			}
			o[x * 3] = clamp_byte(r), o[x * 3 + 1] = clamp_byte(g),
			      o[x * 3 + 2] = clamp_byte(b);
		}
	}
	free(down);
	taps_free(&tx);
	taps_free(&ty);
	return out;
}

/* The size a box shrink takes n to before libvips' resize reduces it the
 * rest of the way to target: by the whole factor that leaves at least 2
 * for the reduce (its "gap"), or not at all. */
static int box_size(int n, int target)
{
	int k = (int)floor((double)n / target / 2);
	return k >= 2 ? (int)(n / (double)k + 0.5) : n;
}

/* w x h to tw x th as libvips' resize with Lanczos3 does it: a box shrink
 * by a whole factor, then the reduce. */
static uint8_t *resize_image(const uint8_t *in, int w, int h, int tw, int th)
{
	int bw = box_size(w, tw), bh = box_size(h, th);
	uint8_t *boxed = NULL;
	if (bw != w || bh != h) {
		boxed = shrink_image(in, w, h, bw, bh, 3);
		in = boxed;
	}
	uint8_t *out = reduce_image(in, bw, bh, tw, th);
	free(boxed);
	return out;
}

/* The picture at EXIF orientation turned upright, as libvips' autorot
 * does; *w and *h become the upright size. */
static uint8_t *orient(uint8_t *rgb, int *w, int *h, int orientation)
{
	if (orientation <= 1 || orientation > 8)
		return rgb;
	int sw = *w, sh = *h;
	bool swap = orientation >= 5;
	int dw = swap ? sh : sw, dh = swap ? sw : sh;
	uint8_t *out = xcalloc((size_t)dw * dh, 3);
	for (int y = 0; y < sh; y++)
		for (int x = 0; x < sw; x++) {
			int dx, dy;
			switch (orientation) {
			case 2:
				dx = sw - 1 - x, dy = y;
				break;
			case 3:
				dx = sw - 1 - x, dy = sh - 1 - y;
				break;
			case 4:
				dx = x, dy = sh - 1 - y;
				break;
			case 5:
				dx = y, dy = x;
				break;
			case 6:
				dx = sh - 1 - y, dy = x;
				break;
			case 7:
				dx = sh - 1 - y, dy = sw - 1 - x;
				break;
			default:
				dx = y, dy = sw - 1 - x;
				break; /* 8 */
			}
			memcpy(out + ((size_t)dy * dw + dx) * 3, rgb + ((size_t)y * sw + x) * 3, 3);
		}
	free(rgb);
	*w = dw;
	*h = dh;
	return out;
}

/* The pHash as image-vips.c makes it: the thumbnail forced to 32 x 32,
 * then grey as libvips' sRGB to B_W does it (the luminance of the linear
 * light, encoded back with the sRGB curve). */
static float linear[256];
static pthread_once_t linear_once = PTHREAD_ONCE_INIT;

/* Once, by the first worker that needs it: the workers run side by side. */
static void linear_fill(void)
{
	for (int i = 0; i < 256; i++) {
		double v = i / 255.0;
		linear[i] = (float)(v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4));
	}
}

static uint64_t thumb_phash(const uint8_t *rgb, int w, int h)
{
	pthread_once(&linear_once, linear_fill);
	uint8_t *small = resize_image(rgb, w, h, PHASH_SIDE, PHASH_SIDE);
	uint8_t grey[PHASH_SIDE * PHASH_SIDE];
	for (int i = 0; i < PHASH_SIDE * PHASH_SIDE; i++) {
		const uint8_t *p = small + i * 3;
		double y = 0.2126 * linear[p[0]] + 0.7152 * linear[p[1]] + 0.0722 * linear[p[2]];
		double v = y <= 0.0031308 ? 12.92 * y : 1.055 * pow(y, 1 / 2.4) - 0.055;
		double g = v * 255 + 0.5;
		grey[i] = g <= 0 ? 0 : g >= 255 ? 255 : (uint8_t)g;
	}
	free(small);
	return phash_from_gray(grey);
}

/* Encodes RGB24 as a baseline JPEG with no metadata, as libvips'
 * jpegsave with strip and optimize_coding; the bytes are GLib's, as every
 * image_buffer of the module is. */
struct encode {
	struct jpeg_compress_struct c;
	struct jpeg_fail fail;
	unsigned char *dest; /* libjpeg's, grown as it writes */
	unsigned long size;
};

static int encode_jpeg(const uint8_t *rgb, int w, int h, struct image_buffer *out)
{
	struct encode *e = xcalloc(1, sizeof(*e));
	struct jpeg_compress_struct *c = &e->c;
	int rc = -1;
	c->err = jpeg_std_error(&e->fail.mgr);
	e->fail.mgr.error_exit = fail_exit;
	e->fail.mgr.emit_message = fail_message;
	if (setjmp(e->fail.jump)) {
		error_set(EX_SOFTWARE, "cannot encode the thumbnail (libjpeg: %s)", e->fail.why);
		goto out;
	}
	jpeg_create_compress(c);
	jpeg_mem_dest(c, &e->dest, &e->size);
	c->image_width = (JDIMENSION)w;
	c->image_height = (JDIMENSION)h;
	c->input_components = 3;
	c->in_color_space = JCS_RGB;
	jpeg_set_defaults(c);
	jpeg_set_quality(c, THUMB_QUALITY, TRUE);
	c->optimize_coding = TRUE;
	jpeg_start_compress(c, TRUE);
	while (c->next_scanline < c->image_height) {
		JSAMPROW row = (JSAMPROW)(rgb + (size_t)c->next_scanline * w * 3);
		jpeg_write_scanlines(c, &row, 1);
	}
	jpeg_finish_compress(c);
	out->data = g_malloc(e->size);
	memcpy(out->data, e->dest, e->size);
	out->len = e->size;
	out->width = w;
	out->height = h;
	snprintf(out->format, sizeof(out->format), "jpeg");
	rc = 0;
out:
	jpeg_destroy_compress(c);
	free(e->dest);
	free(e);
	return rc;
}

/* What a decode holds, in one place the error path can free: libjpeg's
 * longjmp leaves locals it changed undefined, this struct's members not. */
struct decode {
	struct jpeg_decompress_struct d;
	struct jpeg_fail fail;
	FILE *file;
	struct shrink s;
	uint8_t *line;
};

static int decode_file(struct decode *dc, int side, uint8_t **rgb, int *ow, int *oh)
{
	struct jpeg_decompress_struct *d = &dc->d;
	jpeg_create_decompress(d);
	jpeg_stdio_src(d, dc->file);
	jpeg_save_markers(d, JPEG_APP0 + 1, 0xFFFF);
	/* Only whether there is a colour profile matters here, not its bytes. */
	jpeg_save_markers(d, JPEG_APP0 + 2, 16);
	jpeg_read_header(d, TRUE);

	int64_t limit = image_max_pixels();
	if (limit < 0)
		return -1;
	int w = (int)d->image_width, h = (int)d->image_height;
	if (w <= 0 || h <= 0)
		return error_set(EX_DATAERR, "image has no pixels");
	if ((int64_t)w * h > limit)
		return error_set(EX_DATAERR,
				 "%dx%d is %.1f megapixels, over the limit of %g "
				 "(TROUPE_MAX_MEGAPIXELS)",
				 w, h, (int64_t)w * h / 1e6, limit / 1e6);
	if (d->jpeg_color_space != JCS_YCbCr && d->jpeg_color_space != JCS_GRAYSCALE &&
	    d->jpeg_color_space != JCS_RGB)
		return 1;
	int orientation = 1;
	for (jpeg_saved_marker_ptr m = d->marker_list; m; m = m->next) {
		static const char icc[12] = "ICC_PROFILE";
		if (m->marker == JPEG_APP0 + 2 && m->data_length >= sizeof(icc) &&
		    memcmp(m->data, icc, sizeof(icc)) == 0)
			return 1;
		/* libvips keeps the last Exif block it meets. */
		if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 &&
		    memcmp(m->data, "Exif", 4) == 0)
			orientation = exif_orientation(m->data, m->data_length);
	}

	/* The size libvips' thumbnail has, from the picture it decodes: at
	 * its shrink-on-load, without the partial last blocks. */
	int pre = vips_preshrink(w, h, side);
	int pw = w / pre > 0 ? w / pre : 1, ph = h / pre > 0 ? h / pre : 1;
	int tw, th;
	vips_thumb_size(pw, ph, side, &tw, &th);
	/* This decode goes further in the DCT domain, to the smallest
	 * scale (1/8, 1/4, 1/2) that still has the thumbnail's pixels, which
	 * is most of the saving: the 1024-pixel photograph of a camera
	 * decodes straight to its 256-pixel thumbnail. What is left to shrink
	 * is less than twice, a Lanczos3 reduce as libvips' resize ends with.
	 * The thumbnail is made as the picture is stored and turned after,
	 * as libvips does (a quarter turn swaps the box, which is square). */
	unsigned denom = (unsigned)pre;
	while (denom < 8 && (int64_t)pw * pre / (denom * 2) >= tw &&
	       (int64_t)ph * pre / (denom * 2) >= th)
		denom *= 2;
	d->scale_num = 1;
	d->scale_denom = denom;
	d->out_color_space = JCS_RGB;
	jpeg_start_decompress(d);
	/* libvips' picture covers pw * pre x ph * pre of the source. */
	int sw = (int)((int64_t)pw * pre / denom), sh = (int)((int64_t)ph * pre / denom);
	if (sw < tw)
		sw = tw;
	if (sh < th)
		sh = th;
	if (d->output_components != 3 || (int)d->output_width < sw || (int)d->output_height < sh)
		return error_set(EX_SOFTWARE, "libjpeg decoded %ux%ux%d, not at least %dx%dx3",
				 d->output_width, d->output_height, d->output_components, sw, sh);
	/* A box shrink by a whole factor, if any is left, runs on the rows
	 * as they come, so a big picture is never held whole. */
	int bw = box_size(sw, tw), bh = box_size(sh, th);
	bool boxed = bw != sw || bh != sh;
	uint8_t *whole = NULL;
	if (boxed)
		shrink_init(&dc->s, sw, sh, bw, bh, 3);
	else
		dc->s.out = whole = xcalloc((size_t)sw * sh, 3);
	dc->line = xcalloc(d->output_width, 3);
	while (d->output_scanline < d->output_height) {
		int y = (int)d->output_scanline;
		JSAMPROW row = boxed || y >= sh ? dc->line : whole + (size_t)y * sw * 3;
		if (!boxed && y < sh && (int)d->output_width != sw)
			row = dc->line;
		if (jpeg_read_scanlines(d, &row, 1) != 1)
			return error_set(EX_DATAERR, "cannot decode the image (libjpeg: no row)");
		if (y >= sh)
			continue;
		if (boxed)
			shrink_row(&dc->s, row);
		else if (row == dc->line)
			memcpy(whole + (size_t)y * sw * 3, row, (size_t)sw * 3);
	}
	jpeg_finish_decompress(d);
	if (bw == tw && bh == th) {
		*rgb = dc->s.out;
		dc->s.out = NULL;
	} else {
		*rgb = reduce_image(dc->s.out, bw, bh, tw, th);
	}
	*rgb = orient(*rgb, &tw, &th, orientation);
	*ow = tw;
	*oh = th;
	return 0;
}

int jpeg_thumbnail(const char *path, int side, struct image_buffer *thumb, uint64_t *phash)
{
	memset(thumb, 0, sizeof(*thumb));
	/* The whole file must be there: libjpeg would stop at the last
	 * complete scan of a progressive file without a word. */
	if (check_complete(path, "jpeg") < 0)
		return -1;
	struct decode *dc = xcalloc(1, sizeof(*dc));
	uint8_t *rgb = NULL;
	int w = 0, h = 0, rc;
	dc->file = fopen(path, "rbe");
	if (!dc->file) {
		rc = error_set(errno == ENOENT ? EX_NOINPUT : EX_IOERR, "%s", strerror(errno));
		goto out;
	}
	dc->d.err = jpeg_std_error(&dc->fail.mgr);
	dc->fail.mgr.error_exit = fail_exit;
	dc->fail.mgr.emit_message = fail_message;
	if (setjmp(dc->fail.jump)) {
		rc = error_set(EX_DATAERR, "cannot decode the image (libjpeg: %s)", dc->fail.why);
		goto out;
	}
	rc = decode_file(dc, side, &rgb, &w, &h);
	if (rc == 0) {
		*phash = thumb_phash(rgb, w, h);
		rc = encode_jpeg(rgb, w, h, thumb);
	}
out:
	jpeg_destroy_decompress(&dc->d);
	if (dc->file)
		fclose(dc->file);
	shrink_free(&dc->s);
	free(dc->line);
	free(dc);
	free(rgb);
	return rc;
}
