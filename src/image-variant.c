/* image-variant: identity-preserving changes of a picture (mirror, crop,
 * exposure, grey, a small turn, half size, low JPEG quality), made in the
 * pixel module for calibrate's same-character pairs. Like the rest of
 * the module it reads untrusted files and reports libvips errors as
 * troupe's own. */
#include "config.h"

#include "image-vips-int.h"

#include <stdio.h>
#include <string.h>

/* No host function is called here: the module's host table is
 * image-vips.c's, and errors go through its vips_failure(). */

/* One change of an sRGB 8-bit image; *quality is what to save at. */
static int apply(VipsImage *in, enum image_variant kind, VipsImage **out, int *quality)
{
	int w = vips_image_get_width(in), h = vips_image_get_height(in);
	*quality = 92;
	switch (kind) {
	case IMAGE_VARIANT_MIRROR:
		return vips_flip(in, out, VIPS_DIRECTION_HORIZONTAL, NULL);
	case IMAGE_VARIANT_CROP: {
		int cw = w * 8 / 10, ch = h * 8 / 10;
		if (cw < 1 || ch < 1)
			return vips_copy(in, out, NULL);
		return vips_extract_area(in, out, (w - cw) / 2, (h - ch) / 2, cw, ch, NULL);
	}
	case IMAGE_VARIANT_DARK:
	case IMAGE_VARIANT_BRIGHT: {
		VipsImage *lit = NULL;
		double gain = kind == IMAGE_VARIANT_DARK ? 0.6 : 1.4;
		if (vips_linear1(in, &lit, gain, 0, NULL))
			return -1;
		int rc = vips_cast_uchar(lit, out, NULL);
		g_object_unref(lit);
		return rc;
	}
	case IMAGE_VARIANT_GREY: {
		VipsImage *grey = NULL;
		if (vips_colourspace(in, &grey, VIPS_INTERPRETATION_B_W, NULL))
			return -1;
		int rc = vips_colourspace(grey, out, VIPS_INTERPRETATION_sRGB, NULL);
		g_object_unref(grey);
		return rc;
	}
	case IMAGE_VARIANT_ROTATE: {
		/* A neutral grey where the turned picture leaves corners. */
		VipsArrayDouble *bg = vips_array_double_newv(3, 128.0, 128.0, 128.0);
		int rc = vips_rotate(in, out, 10.0, "background", bg, NULL);
		vips_area_unref(VIPS_AREA(bg));
		return rc;
	}
	case IMAGE_VARIANT_SMALL:
		return vips_resize(in, out, 0.5, NULL);
	case IMAGE_VARIANT_JPEG_LOW:
		*quality = 30;
		return vips_copy(in, out, NULL);
	case IMAGE_VARIANT_COUNT:
		break;
	}
	vips_error("troupe", "no such variant");
	return -1;
}

int vimg_variant(const char *path, enum image_variant kind, int max_side, struct image_buffer *out)
{
	memset(out, 0, sizeof(*out));
	struct image_info info;
	/* The probe holds the file to the pixel limit before any decode. */
	if (vimg_probe(path, &info) < 0)
		return -1;
	int side = max_side > 0 ? max_side : (info.width > info.height ? info.width : info.height);
	VipsImage *t[4] = {NULL};
	int rc = -1, quality;
	t[0] = thumbnail_source(path, side, side, VIPS_SIZE_DOWN, VIPS_INTERESTING_NONE);
	if (!t[0] || to_srgb8(t[0], &t[1]) || apply(t[1], kind, &t[2], &quality) ||
	    vips_cast_uchar(t[2], &t[3], NULL)) {
		vips_failure("cannot make the variant");
		goto out;
	}
	void *data = NULL;
	size_t len = 0;
	if (encode(t[3], "jpeg", quality, &data, &len)) {
		vips_failure("cannot encode the variant");
		goto out;
	}
	out->data = data;
	out->len = len;
	out->width = vips_image_get_width(t[3]);
	out->height = vips_image_get_height(t[3]);
	snprintf(out->format, sizeof(out->format), "jpeg");
	rc = 0;
out:
	unref_all(t, 4);
	return rc;
}
