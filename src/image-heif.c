/* image-heif: the damage check for HEVC-coded HEIF (HEIC), part of the
 * image module. libheif decodes HEIC with libde265 and ignores what
 * libde265 reports about damage, and libde265 leaves what it could not
 * decode as the heap left it, so a damaged HEIC would become a thumbnail
 * of stale memory. This room decides whether a file decodes whole; it
 * never hands a picture on. */
#include "config.h"

#include "image-heif.h"

#include <libde265/de265.h>
#include <libheif/heif.h>
#include <libheif/heif_plugin.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* One decode of the file, with every picture plane filled with one byte
 * before libde265 writes it. Two decodes with different fills give the
 * same pixels only when libde265 wrote every pixel. */
struct heif_run {
	/* Read through the thread-local below, which cppcheck does not
	 * follow. */
	/* cppcheck-suppress unusedStructMember */
	unsigned char fill;
	bool damaged; /* libde265 reported an error or a warning */
	bool hevc;    /* at least one HEVC picture was decoded */
	bool other;   /* coded otherwise (AVIF): not libde265's to decode */
	XXH3_state_t *digest;
};

/* libheif's plugin calls carry no context of ours; the run is the
 * calling thread's, since heif_decode_image calls the plugin on it. */
static _Thread_local struct heif_run *current;

struct check_decoder {
	de265_decoder_context *ctx;
	bool bad_input;
};

static const char *check_name(void)
{
	return "troupe damage check";
}

static void check_noop(void)
{
}

static int check_supports_hevc(enum heif_compression_format format)
{
	return format == heif_compression_HEVC ? 1000 : 0;
}

/* Every other coding is claimed too, and refused at once: the check has
 * nothing to say about it, and must not decode an AVIF in full for
 * nothing. */
static int check_supports_other(enum heif_compression_format format)
{
	return format == heif_compression_HEVC ? 0 : 1000;
}

static struct heif_error heif_ok(void)
{
	struct heif_error ok = {heif_error_Ok, heif_suberror_Unspecified, "ok"};
	return ok;
}

static struct heif_error heif_damaged(void)
{
	struct heif_error e = {heif_error_Decoder_plugin_error, heif_suberror_Unspecified,
			       "damaged HEVC data"};
	return e;
}

/* Picture buffers as libde265's own, but filled with the run's byte: what
 * the decoder leaves unwritten is then known, never stale heap. Each
 * plane's start is its user data, for the release. */
static int filled_get_buffer(de265_decoder_context *ctx, struct de265_image_spec *spec,
			     struct de265_image *img, void *userdata)
{
	(void)ctx;
	(void)userdata;
	enum de265_chroma chroma = de265_get_chroma_format(img);
	int sub_w = chroma == de265_chroma_420 || chroma == de265_chroma_422 ? 2 : 1;
	int sub_h = chroma == de265_chroma_420 ? 2 : 1;
	int planes = chroma == de265_chroma_mono ? 1 : 3;
	int align = spec->alignment > 0 ? spec->alignment : 16;
	void *mem[3] = {NULL, NULL, NULL};
	for (int c = 0; c < planes; c++) {
		int w = c ? spec->width / sub_w : spec->width;
		int h = c ? spec->height / sub_h : spec->height;
		int stride = (w + align - 1) / align * align;
		int bytes = (de265_get_bits_per_pixel(img, c) + 7) / 8;
		if (w <= 0 || h <= 0 || bytes <= 0 || bytes > 2)
			goto fail;
		/* Room past the end for the decoder's vector reads. */
		size_t size = (size_t)stride * (size_t)bytes * (size_t)h + 64;
		if (posix_memalign(&mem[c], 64, size) != 0) {
			mem[c] = NULL;
			goto fail;
		}
		memset(mem[c], current ? current->fill : 0, size);
	}
	for (int c = 0; c < planes; c++) {
		int w = c ? spec->width / sub_w : spec->width;
		de265_set_image_plane(img, c, mem[c], (w + align - 1) / align * align, mem[c]);
	}
	return 1;
fail:
	for (int c = 0; c < 3; c++)
		free(mem[c]);
	return 0;
}

static void filled_release_buffer(de265_decoder_context *ctx, struct de265_image *img,
				  void *userdata)
{
	(void)ctx;
	(void)userdata;
	int planes = de265_get_chroma_format(img) == de265_chroma_mono ? 1 : 3;
	for (int c = 0; c < planes; c++)
		free(de265_get_image_plane_user_data(img, c));
}

static struct de265_image_allocation filled_allocation = {filled_get_buffer, filled_release_buffer};

static struct heif_error check_new_decoder(void **out)
{
	struct check_decoder *d = calloc(1, sizeof(*d));
	if (!d)
		return heif_damaged();
	d->ctx = de265_new_decoder();
	if (!d->ctx) {
		free(d);
		return heif_damaged();
	}
	de265_set_image_allocation_functions(d->ctx, &filled_allocation, NULL);
	/* The in-loop filters read every block's coding data, which libde265
	 * leaves unset for blocks it never decoded; without them, a pixel
	 * holds the fill exactly when its block was never decoded. */
	de265_set_parameter_bool(d->ctx, DE265_DECODER_PARAM_DISABLE_DEBLOCKING, 1);
	de265_set_parameter_bool(d->ctx, DE265_DECODER_PARAM_DISABLE_SAO, 1);
	*out = d;
	return heif_ok();
}

static void check_free_decoder(void *decoder)
{
	struct check_decoder *d = decoder;
	if (!d)
		return;
	de265_free_decoder(d->ctx);
	free(d);
}

/* libheif hands over NAL units, each after a four-byte big-endian size. */
static struct heif_error check_push_data(void *decoder, const void *data, size_t size)
{
	struct check_decoder *d = decoder;
	const unsigned char *p = data;
	while (size >= 4) {
		uint32_t n = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
			     (uint32_t)p[3];
		p += 4;
		size -= 4;
		if (n > size || n > INT32_MAX ||
		    de265_push_NAL(d->ctx, p, (int)n, 0, NULL) != DE265_OK) {
			d->bad_input = true;
			return heif_damaged();
		}
		p += n;
		size -= n;
	}
	if (size) {
		d->bad_input = true;
		return heif_damaged();
	}
	return heif_ok();
}

static const enum heif_channel channels[3] = {heif_channel_Y, heif_channel_Cb, heif_channel_Cr};

/* The decoded picture as libheif wants it, so that it can go on to the
 * next tile of a grid; its pixels also go into the run's digest. */
static struct heif_error picture_to_heif(const struct de265_image *pic, struct heif_image **out)
{
	enum de265_chroma chroma = de265_get_chroma_format(pic);
	enum heif_chroma hc = chroma == de265_chroma_mono  ? heif_chroma_monochrome
			      : chroma == de265_chroma_420 ? heif_chroma_420
			      : chroma == de265_chroma_422 ? heif_chroma_422
							   : heif_chroma_444;
	int planes = chroma == de265_chroma_mono ? 1 : 3;
	struct heif_image *img = NULL;
	struct heif_error e = heif_image_create(
	    de265_get_image_width(pic, 0), de265_get_image_height(pic, 0),
	    planes == 1 ? heif_colorspace_monochrome : heif_colorspace_YCbCr, hc, &img);
	if (e.code)
		return e;
	for (int c = 0; c < planes; c++) {
		int w = de265_get_image_width(pic, c), h = de265_get_image_height(pic, c);
		int bits = de265_get_bits_per_pixel(pic, c), src_stride, dst_stride;
		e = heif_image_add_plane(img, channels[c], w, h, bits);
		if (e.code) {
			heif_image_release(img);
			return e;
		}
		const uint8_t *src = de265_get_image_plane(pic, c, &src_stride);
		uint8_t *dst = heif_image_get_plane(img, channels[c], &dst_stride);
		size_t row = (size_t)w * (size_t)((bits + 7) / 8);
		for (int y = 0; src && dst && y < h; y++) {
			memcpy(dst + (size_t)y * dst_stride, src + (size_t)y * src_stride, row);
			XXH3_128bits_update(current->digest, src + (size_t)y * src_stride, row);
		}
	}
	*out = img;
	return heif_ok();
}

static struct heif_error check_decode_image(void *decoder, struct heif_image **out)
{
	struct check_decoder *d = decoder;
	*out = NULL;
	if (d->bad_input || de265_flush_data(d->ctx) != DE265_OK)
		return heif_damaged();
	struct heif_error e = heif_damaged();
	int more = 1;
	while (more) {
		more = 0;
		if (de265_decode(d->ctx, &more) != DE265_OK)
			break;
		const struct de265_image *pic = de265_get_next_picture(d->ctx);
		if (pic) {
			if (*out)
				heif_image_release(*out);
			*out = NULL;
			e = picture_to_heif(pic, out);
			de265_release_next_picture(d->ctx);
			if (e.code)
				break;
			current->hevc = true;
		}
	}
	/* libde265 conceals what it cannot decode and says so only here. */
	if (de265_get_warning(d->ctx) != DE265_OK)
		current->damaged = true;
	if (e.code) {
		current->damaged = true;
		if (*out)
			heif_image_release(*out);
		*out = NULL;
	}
	return e;
}

static struct heif_error other_new_decoder(void **out)
{
	*out = NULL;
	return heif_ok();
}

static void other_free_decoder(void *decoder)
{
	(void)decoder;
}

static struct heif_error other_push_data(void *decoder, const void *data, size_t size)
{
	(void)decoder;
	(void)data;
	(void)size;
	return heif_ok();
}

static struct heif_error other_decode_image(void *decoder, struct heif_image **out)
{
	(void)decoder;
	*out = NULL;
	current->other = true;
	return heif_damaged();
}

static const struct heif_decoder_plugin other_plugin = {
    1,
    check_name,
    check_noop,
    check_noop,
    check_supports_other,
    other_new_decoder,
    other_free_decoder,
    other_push_data,
    other_decode_image,
    NULL,
    "troupe-other",
};

static const struct heif_decoder_plugin check_plugin = {
    1,
    check_name,
    check_noop,
    check_noop,
    check_supports_hevc,
    check_new_decoder,
    check_free_decoder,
    check_push_data,
    check_decode_image,
    NULL,
    "troupe-check",
};

/* Decodes the primary image once with this run's fill: -1 with why filled
 * only for a file libheif cannot read at all. */
static int heif_decode_run(const char *path, struct heif_run *run, char *why, size_t why_len)
{
	struct heif_context *ctx = heif_context_alloc();
	struct heif_image_handle *handle = NULL;
	struct heif_image *img = NULL;
	int rc = 0;
	current = run;
	/* Registered on this context only: libvips's own decodes keep
	 * libheif's plugins. */
	/* The run is found through a thread-local: the tiles of a grid must
	 * be decoded on this thread, not on libheif's workers. */
	heif_context_set_max_decoding_threads(ctx, 0);
	struct heif_error e = heif_register_decoder(ctx, &check_plugin);
	if (!e.code)
		e = heif_register_decoder(ctx, &other_plugin);
	if (!e.code)
		e = heif_context_read_from_file(ctx, path, NULL);
	if (!e.code)
		e = heif_context_get_primary_image_handle(ctx, &handle);
	if (!e.code)
		e = heif_decode_image(handle, &img, heif_colorspace_undefined,
				      heif_chroma_undefined, NULL);
	if (e.code && !run->other && !run->hevc && !run->damaged) {
		snprintf(why, why_len, "not a readable HEIF image (libheif: %s)", e.message);
		rc = -1;
	} else if (e.code && !run->other) {
		run->damaged = true;
	}
	current = NULL;
	if (img)
		heif_image_release(img);
	if (handle)
		heif_image_handle_release(handle);
	heif_context_free(ctx);
	return rc;
}

int image_heif_check(const char *path, char *why, size_t why_len)
{
	struct heif_run runs[2] = {{.fill = 0x00}, {.fill = 0xFF}};
	XXH128_hash_t sums[2] = {{0, 0}, {0, 0}};
	int rc = -1;
	for (int i = 0; i < 2; i++) {
		runs[i].digest = XXH3_createState();
		if (!runs[i].digest) {
			snprintf(why, why_len, "out of memory");
			goto out;
		}
		XXH3_128bits_reset(runs[i].digest);
		if (heif_decode_run(path, &runs[i], why, why_len) < 0)
			goto out;
		if (runs[i].other) {
			rc = 0;
			goto out;
		}
		sums[i] = XXH3_128bits_digest(runs[i].digest);
		if (runs[i].damaged)
			break;
	}
	if (runs[0].damaged || runs[1].damaged)
		snprintf(why, why_len, "damaged HEIF image (the HEVC decoder reports an error)");
	else if (!XXH128_isEqual(sums[0], sums[1]))
		snprintf(why, why_len, "damaged HEIF image (the HEVC decoder leaves pixels unset)");
	else
		rc = 0;
out:
	for (int i = 0; i < 2; i++)
		if (runs[i].digest)
			XXH3_freeState(runs[i].digest);
	return rc;
}
