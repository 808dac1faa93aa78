/* image: everything troupe asks of libvips. The pixel work lives in a
 * module (image-vips.c, built as troupe-image.so) loaded on first use, so
 * commands that touch no pixels start without libvips. Every image is
 * untrusted input: loaders libvips marks untrusted are blocked and only the
 * formats listed in image-vips.c are accepted. */
#ifndef TROUPE_IMAGE_H
#define TROUPE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#define IMAGE_FORMAT_MAX 16

struct image_info {
	int width;
	int height;
	char format[IMAGE_FORMAT_MAX]; /* "jpeg", "png", "webp", ... */
};

/* libvips starts on the first call that needs it; this stops it at exit. */
void image_shutdown(void);

/* Reads width, height and format from the header only (no pixel decode)
 * and checks the file's structure ends where its format says it must, so
 * a truncated JPEG or PNG is refused. -1 with an error (EX_DATAERR) for
 * anything that is not a complete image of an accepted format. */
int image_probe(const char *path, struct image_info *out);

/* The pixel limit: width x height above it is refused from the header,
 * before any decoding. $TROUPE_MAX_MEGAPIXELS sets it (default 100). */
int64_t image_max_pixels(void);

/* Encoded image bytes made by libvips; clear with image_buffer_clear(). */
struct image_buffer {
	void *data;
	size_t len;
	int width;
	int height;
	char format[IMAGE_FORMAT_MAX];
};
void image_buffer_clear(struct image_buffer *b);

#define IMAGE_THUMB_SIDE 256

/* Decodes path at reduced size (shrink-on-load, one sequential pass),
 * upright and in sRGB, and returns a JPEG thumbnail whose longest side is
 * at most side, and the 64-bit pHash of the picture. A truncated or
 * corrupt file is an error (EX_DATAERR). */
int image_thumbnail(const char *path, int side, struct image_buffer *thumb, uint64_t *phash);

enum image_fit { IMAGE_FIT_PAD, IMAGE_FIT_CROP };

/* What a derivative must satisfy. Zero means "no constraint". */
struct image_recipe {
	int max_side;	   /* longest side at most this */
	int min_side;	   /* shortest side at least this (scales up) */
	double aspect_min; /* width / height at least this */
	double aspect_max; /* width / height at most this */
	enum image_fit fit;
	char format[IMAGE_FORMAT_MAX]; /* jpeg, png or webp */
	int quality;		       /* 1..100 for jpeg and webp */
	int64_t max_bytes;	       /* reached by stepping quality, then size, down */
};

/* Checks a recipe and fills in defaults (jpeg, quality 90); -1 with an
 * EX_USAGE error for a recipe that cannot be met. */
int image_recipe_check(struct image_recipe *r);
/* The canonical text of a recipe, the key of the derivative cache; the
 * caller frees it. */
char *image_recipe_key(const struct image_recipe *r);
/* Makes the derivative of the image at path. EXIF orientation is applied,
 * colour converted to sRGB, alpha flattened on white for JPEG. */
int image_derive(const char *path, const struct image_recipe *r, struct image_buffer *out);

/* One cell of a contact sheet: a thumbnail file and three caption lines,
 * each drawn on one line and cut short with an ellipsis when too long. */
struct image_sheet_cell {
	const char *thumb_path;
	const char *caption; /* in bold: whose picture, and its role */
	const char *tags;    /* the asset's tags, or "" */
	const char *detail;  /* in small type: hash and size */
};

/* Lays cells out in a grid under a title and a subtitle, on a plain
 * background; format is "png" or "jpeg". */
int image_sheet(const char *title, const char *subtitle, const struct image_sheet_cell *cells,
		size_t n, int columns, int cell_side, const char *format, struct image_buffer *out);

/* A colour layout: the picture shrunk to 4 x 4 cells, each its mean
 * colour in CIELAB (L, a, b), row by row. */
#define IMAGE_PALETTE_CELLS 16
int image_palette(const char *path, float lab[IMAGE_PALETTE_CELLS * 3]);
/* The mean CIE76 colour difference (delta E) between two layouts. */
double image_palette_distance(const float *a, const float *b);

/* Identity-preserving changes of a picture, as a generated shot of the
 * same person differs from a reference: calibrate embeds them to have
 * same-character pairs when a character has one reference. */
enum image_variant {
	IMAGE_VARIANT_MIRROR,	/* flipped left to right */
	IMAGE_VARIANT_CROP,	/* the inner 80 % */
	IMAGE_VARIANT_DARK,	/* exposure x 0.6 */
	IMAGE_VARIANT_BRIGHT,	/* exposure x 1.4 */
	IMAGE_VARIANT_GREY,	/* no colour */
	IMAGE_VARIANT_ROTATE,	/* turned 10 degrees */
	IMAGE_VARIANT_SMALL,	/* half the size */
	IMAGE_VARIANT_JPEG_LOW, /* JPEG quality 30 */
	IMAGE_VARIANT_COUNT,
};
/* The variant's name ("mirror", "crop", ...). */
const char *image_variant_name(enum image_variant kind);
/* Makes the variant of the picture at path, upright and in sRGB, its
 * longest side at most max_side (0: as it is), as a JPEG. */
int image_variant(const char *path, enum image_variant kind, int max_side,
		  struct image_buffer *out);

/* One line of a plot: a name and its values over time, NAN where there
 * is none (the character was not found in that frame: drawn as a gap
 * with a mark on the axis). */
struct image_plot_series {
	const char *name;    /* e.g. "@mei" */
	const double *value; /* n values, similarity from -1 to 1 or NAN */
};
/* A picture under the plot at a time: a frame's thumbnail (encoded JPEG or
 * PNG bytes, as image_thumbnail makes). */
struct image_plot_thumb {
	double t;
	const void *data;
	size_t len;
};
struct image_plot {
	const char *title; /* e.g. "take1.mp4 — similarity to the references" */
	const double *t;   /* n times, seconds, ascending */
	size_t n;
	const struct image_plot_series *series;
	size_t nseries;			     /* 1 to IMAGE_PLOT_SERIES_MAX */
	double threshold;		     /* drawn as a dashed line, labelled */
	const double *drift_from, *drift_to; /* ndrift spans of time shaded as drift, may be 0 */
	size_t ndrift;
	const struct image_plot_thumb *thumbs;
	size_t nthumbs; /* 0 to IMAGE_PLOT_THUMBS_MAX, in a strip under the plot at their times */
	int width;	/* of the whole picture, 0 for 1200 */
};
#define IMAGE_PLOT_SERIES_MAX 16
#define IMAGE_PLOT_THUMBS_MAX 64
#define IMAGE_PLOT_WIDTH_MIN  480
#define IMAGE_PLOT_WIDTH_MAX  4800

/* Draws the plot as a PNG: axes with time ticks (seconds) and similarity
 * ticks, a line per series in distinct colours (Okabe-Ito, then the same
 * colours dashed, then dotted) with a legend above the plot, the
 * threshold, the drift spans, and the thumbnail strip aligned to the time
 * axis (a crowded strip is drawn smaller so no two pictures overlap).
 * The similarity axis spans the values and the threshold, rounded out to
 * tenths. The spec and everything it points to are borrowed; out is the
 * caller's to clear. -1 with an error for a spec it cannot draw (n == 0,
 * times not ascending, nseries or nthumbs out of range, a width out of
 * range, a drift span backwards) or a thumbnail that does not decode. */
int image_plot(const struct image_plot *spec, struct image_buffer *out);
/* Encodes packed RGB24 pixels (stride width * 3, a video frame) as jpeg
 * or png (quality for jpeg); clear out with image_buffer_clear(). */
int image_encode_rgb(const uint8_t *rgb, int width, int height, const char *format, int quality,
		     struct image_buffer *out);
/* A thumbnail (longest side at most side, JPEG) and the pHash of RGB24
 * pixels, as image_thumbnail makes of a file. */
int image_thumbnail_rgb(const uint8_t *rgb, int width, int height, int side,
			struct image_buffer *thumb, uint64_t *phash);

/* The module's interface: one table, checked by version. */
#define IMAGE_OPS_VERSION 6
struct image_ops {
	int version;
	int (*probe)(const char *path, struct image_info *out);
	int (*thumbnail)(const char *path, int side, struct image_buffer *thumb, uint64_t *phash);
	int (*derive)(const char *path, const struct image_recipe *r, struct image_buffer *out);
	int (*sheet)(const char *title, const char *subtitle, const struct image_sheet_cell *cells,
		     size_t n, int columns, int cell_side, const char *format,
		     struct image_buffer *out);
	void (*shutdown)(void);
	void (*buffer_clear)(struct image_buffer *b);
	int (*palette)(const char *path, float lab[IMAGE_PALETTE_CELLS * 3]);
	int (*variant)(const char *path, enum image_variant kind, int max_side,
		       struct image_buffer *out);
	int (*plot)(const struct image_plot *spec, struct image_buffer *out);
	int (*encode_rgb)(const uint8_t *rgb, int width, int height, const char *format,
			  int quality, struct image_buffer *out);
	int (*thumbnail_rgb)(const uint8_t *rgb, int width, int height, int side,
			     struct image_buffer *thumb, uint64_t *phash);
};

#endif
