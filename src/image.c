/* image: the front of the pixel room. The pure parts (recipes, the pixel
 * limit) are here; the libvips parts are in a module loaded on the first
 * call that needs pixels. A command that never touches pixels never pays
 * for loading libvips. */
#define _GNU_SOURCE
#include "config.h"

#include "image.h"
#include "module.h"
#include "phash.h"
#include "util.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What troupe-image.so may call in the program. */
static const struct module_host image_host = {
    MODULE_HOST_UTIL,
    .image_max_pixels = image_max_pixels,
    .phash_from_gray = phash_from_gray,
};

static const struct image_ops *ops;
/* add's workers may be the first to need pixels, several at once. */
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

static int load(void)
{
	pthread_mutex_lock(&load_lock);
	if (!ops)
		ops = module_load("troupe-image.so", &image_host, IMAGE_OPS_VERSION);
	const struct image_ops *loaded = ops;
	pthread_mutex_unlock(&load_lock);
	return loaded ? 0 : -1;
}

int image_probe(const char *path, struct image_info *out)
{
	memset(out, 0, sizeof(*out));
	return load() < 0 ? -1 : ops->probe(path, out);
}

int image_thumbnail(const char *path, int side, struct image_buffer *thumb, uint64_t *phash)
{
	memset(thumb, 0, sizeof(*thumb));
	return load() < 0 ? -1 : ops->thumbnail(path, side, thumb, phash);
}

int image_encode_rgb(const uint8_t *rgb, int width, int height, const char *format, int quality,
		     struct image_buffer *out)
{
	memset(out, 0, sizeof(*out));
	return load() < 0 ? -1 : ops->encode_rgb(rgb, width, height, format, quality, out);
}

int image_thumbnail_rgb(const uint8_t *rgb, int width, int height, int side,
			struct image_buffer *thumb, uint64_t *phash)
{
	memset(thumb, 0, sizeof(*thumb));
	return load() < 0 ? -1 : ops->thumbnail_rgb(rgb, width, height, side, thumb, phash);
}

int image_derive(const char *path, const struct image_recipe *r, struct image_buffer *out)
{
	memset(out, 0, sizeof(*out));
	return load() < 0 ? -1 : ops->derive(path, r, out);
}

int image_sheet(const char *title, const char *subtitle, const struct image_sheet_cell *cells,
		size_t n, int columns, int cell_side, const char *format, struct image_buffer *out)
{
	memset(out, 0, sizeof(*out));
	return load() < 0 ? -1
			  : ops->sheet(title, subtitle, cells, n, columns, cell_side, format, out);
}

int image_palette(const char *path, float lab[IMAGE_PALETTE_CELLS * 3])
{
	return load() < 0 ? -1 : ops->palette(path, lab);
}

const char *image_variant_name(enum image_variant kind)
{
	static const char *const names[IMAGE_VARIANT_COUNT] = {
	    "mirror", "crop", "dark", "bright", "grey", "rotate", "small", "jpeg-30"};
	return (unsigned)kind < IMAGE_VARIANT_COUNT ? names[kind] : "?";
}

int image_variant(const char *path, enum image_variant kind, int max_side, struct image_buffer *out)
{
	memset(out, 0, sizeof(*out));
	if ((unsigned)kind >= IMAGE_VARIANT_COUNT)
		return error_set(EX_SOFTWARE, "no image variant %d", (int)kind);
	return load() < 0 ? -1 : ops->variant(path, kind, max_side, out);
}

/* What the drawing may take for granted: at least one time, ascending,
 * every number it scales finite, and no more lines or pictures than the
 * palette and the strip have room for. */
static int plot_check(const struct image_plot *spec)
{
	if (spec->n == 0)
		return error_set(EX_DATAERR, "plot: no times to draw");
	if (spec->nseries < 1 || spec->nseries > IMAGE_PLOT_SERIES_MAX)
		return error_set(EX_DATAERR, "plot: %zu lines, not from 1 to %d", spec->nseries,
				 IMAGE_PLOT_SERIES_MAX);
	if (spec->nthumbs > IMAGE_PLOT_THUMBS_MAX)
		return error_set(EX_DATAERR, "plot: %zu thumbnails, more than %d", spec->nthumbs,
				 IMAGE_PLOT_THUMBS_MAX);
	if (spec->width &&
	    (spec->width < IMAGE_PLOT_WIDTH_MIN || spec->width > IMAGE_PLOT_WIDTH_MAX))
		return error_set(EX_DATAERR, "plot: width %d, not from %d to %d", spec->width,
				 IMAGE_PLOT_WIDTH_MIN, IMAGE_PLOT_WIDTH_MAX);
	if (!spec->t || !spec->series || (spec->ndrift && (!spec->drift_from || !spec->drift_to)) ||
	    (spec->nthumbs && !spec->thumbs))
		return error_set(EX_SOFTWARE, "plot: a count without its array");
	for (size_t i = 0; i < spec->n; i++)
		if (!isfinite(spec->t[i]) || (i && spec->t[i] < spec->t[i - 1]))
			return error_set(EX_DATAERR, "plot: the times are not ascending (at %zu)",
					 i);
	for (size_t i = 0; i < spec->nseries; i++)
		if (!spec->series[i].value)
			return error_set(EX_SOFTWARE, "plot: line %zu has no values", i);
	if (!isfinite(spec->threshold) || spec->threshold < -1 || spec->threshold > 1)
		return error_set(EX_DATAERR, "plot: threshold %g, not from -1 to 1",
				 spec->threshold);
	for (size_t i = 0; i < spec->ndrift; i++)
		if (!isfinite(spec->drift_from[i]) || !isfinite(spec->drift_to[i]) ||
		    spec->drift_from[i] > spec->drift_to[i])
			return error_set(EX_DATAERR, "plot: drift span %zu runs backwards", i);
	for (size_t i = 0; i < spec->nthumbs; i++)
		if (!isfinite(spec->thumbs[i].t) || !spec->thumbs[i].data || !spec->thumbs[i].len)
			return error_set(EX_DATAERR, "plot: thumbnail %zu has no time or no bytes",
					 i);
	return 0;
}

int image_plot(const struct image_plot *spec, struct image_buffer *out)
{
	memset(out, 0, sizeof(*out));
	if (plot_check(spec) < 0)
		return -1;
	return load() < 0 ? -1 : ops->plot(spec, out);
}

double image_palette_distance(const float *a, const float *b)
{
	double sum = 0;
	for (int i = 0; i < IMAGE_PALETTE_CELLS; i++) {
		double dl = a[3 * i] - b[3 * i], da = a[3 * i + 1] - b[3 * i + 1],
		       db = a[3 * i + 2] - b[3 * i + 2];
		sum += sqrt(dl * dl + da * da + db * db);
	}
	return sum / IMAGE_PALETTE_CELLS;
}

void image_buffer_clear(struct image_buffer *b)
{
	if (b && b->data && ops)
		ops->buffer_clear(b);
	else if (b)
		memset(b, 0, sizeof(*b));
}

void image_shutdown(void)
{
	if (ops)
		ops->shutdown();
}

int64_t image_max_pixels(void)
{
	const char *env = getenv("TROUPE_MAX_MEGAPIXELS");
	if (!env || !*env)
		return 100 * 1000000LL;
	char *end;
	double mp = strtod(env, &end);
	if (*end || !(mp > 0) || mp > 1e6) {
		error_set(EX_CONFIG,
			  "TROUPE_MAX_MEGAPIXELS=%s: not a positive number of megapixels", env);
		return -1;
	}
	return (int64_t)(mp * 1e6);
}

static bool format_known(const char *f)
{
	return !strcmp(f, "jpeg") || !strcmp(f, "png") || !strcmp(f, "webp");
}

int image_recipe_check(struct image_recipe *r)
{
	if (!r->format[0])
		snprintf(r->format, sizeof(r->format), "jpeg");
	if (!strcmp(r->format, "jpg"))
		snprintf(r->format, sizeof(r->format), "jpeg");
	if (!format_known(r->format))
		return error_set(EX_USAGE, "--format %s: not jpeg, png or webp", r->format);
	if (!r->quality)
		r->quality = 90;
	if (r->quality < 1 || r->quality > 100)
		return error_set(EX_USAGE, "--quality %d: not from 1 to 100", r->quality);
	if (r->max_side < 0 || r->min_side < 0 || r->max_side > 65535 || r->min_side > 65535)
		return error_set(EX_USAGE, "sides must be from 1 to 65535 pixels");
	if (r->max_side && r->min_side > r->max_side)
		return error_set(EX_USAGE, "--min-side %d is larger than --max-side %d",
				 r->min_side, r->max_side);
	if (r->aspect_min < 0 || r->aspect_max < 0 ||
	    (r->aspect_max && r->aspect_min > r->aspect_max))
		return error_set(EX_USAGE, "--aspect: the smallest ratio must come first");
	if (r->max_bytes < 0)
		return error_set(EX_USAGE, "--max-bytes must be positive");
	return 0;
}

char *image_recipe_key(const struct image_recipe *r)
{
	return xasprintf("v1;max=%d;min=%d;aspect=%.6g-%.6g;fit=%s;fmt=%s;q=%d;bytes=%lld",
			 r->max_side, r->min_side, r->aspect_min, r->aspect_max,
			 r->fit == IMAGE_FIT_CROP ? "crop" : "pad", r->format, r->quality,
			 (long long)r->max_bytes);
}
