/* image-vips-int: what the files of the pixel module (troupe-image.so)
 * share among themselves. Only the module's own files include it; the
 * program reaches them through the table in image.h. */
#ifndef TROUPE_IMAGE_VIPS_INT_H
#define TROUPE_IMAGE_VIPS_INT_H

#include <stddef.h>
#include <vips/vips.h>

#include "image.h"

/* Starts libvips once; -1 with an error when it cannot. */
int image_start(void);
/* Turns libvips's error buffer into troupe's error (EX_DATAERR). */
int vips_failure(const char *what);
/* Unrefs the images of an array that are not NULL. */
void unref_all(VipsImage **images, size_t n);
/* A decoded, upright, sRGB, 8-bit, three-band image with no alpha. */
int to_srgb8(VipsImage *in, VipsImage **out);
/* The file decoded at about width x height (shrink-on-load), upright;
 * corrupt input fails. */
VipsImage *thumbnail_source(const char *path, int width, int height, VipsSize size,
			    VipsInteresting crop);
/* Encodes with no metadata at all. */
int encode(VipsImage *im, const char *format, int quality, void **data, size_t *len);
/* Checks that the file ends as its format says it must (a JPEG's
 * end-of-image marker, a PNG's IEND, ...); -1 with an error if not. */
int check_complete(const char *path, const char *format);
/* The module's probe (a header read and a completeness check). */
int vimg_probe(const char *path, struct image_info *out);
/* The module's variant entry (image.h's image_variant). */
int vimg_variant(const char *path, enum image_variant kind, int max_side, struct image_buffer *out);
/* The module's plot entry (image.h's image_plot), on a checked spec. */
int vimg_plot(const struct image_plot *spec, struct image_buffer *out);

#endif
