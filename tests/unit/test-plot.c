/* Unit tests for image_plot: a plot of two characters with gaps, a drift
 * span and a strip of real thumbnails is a PNG of the asked width whose
 * lines, gaps, threshold and shading are where the spec puts them; specs
 * it cannot draw are refused with an error. The PNG is decoded here with
 * libvips, as a reader's viewer would; a directory in $TEST_PLOT_OUT
 * keeps a copy of each plot. */
#include "config.h"

#include "image.h"
#include "tap.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>

enum { N = 120 };

static const unsigned char mei_blue[3] = {0, 114, 178};
static const unsigned char kai_orange[3] = {230, 159, 0};
static const unsigned char drift_shade[3] = {250, 218, 214};

struct decoded {
	int w, h;
	unsigned char *px;
};

static bool decode(const struct image_buffer *b, struct decoded *d)
{
	memset(d, 0, sizeof(*d));
	VipsImage *im = vips_image_new_from_buffer(b->data, b->len, "", NULL);
	if (!im)
		return false;
	size_t len = 0;
	if (vips_image_get_bands(im) == 3 && vips_image_get_format(im) == VIPS_FORMAT_UCHAR) {
		d->px = vips_image_write_to_memory(im, &len);
		d->w = vips_image_get_width(im);
		d->h = vips_image_get_height(im);
	}
	g_object_unref(im);
	return d->px && len == (size_t)d->w * d->h * 3;
}

static bool is(const struct decoded *d, int x, int y, const unsigned char rgb[3])
{
	return memcmp(d->px + ((size_t)y * d->w + x) * 3, rgb, 3) == 0;
}

/* How many pixels of a colour column x has between rows y0 and y1. */
static int in_column(const struct decoded *d, int x, int y0, int y1, const unsigned char rgb[3])
{
	int n = 0;
	for (int y = y0; y < y1; y++)
		n += is(d, x, y, rgb);
	return n;
}

/* The box a colour covers in the rows that have at least min_row pixels
 * of it: its first and last column and row. */
static void extent(const struct decoded *d, const unsigned char rgb[3], int y0, int y1, int min_row,
		   int *left, int *right, int *top, int *bottom)
{
	*left = d->w;
	*top = d->h;
	*right = *bottom = -1;
	for (int y = y0; y < y1; y++) {
		int n = 0, first = -1, last = -1;
		for (int x = 0; x < d->w; x++)
			if (is(d, x, y, rgb)) {
				n++;
				first = first < 0 ? x : first;
				last = x;
			}
		if (n == 0 || n < min_row)
			continue;
		*left = first < *left ? first : *left;
		*right = last > *right ? last : *right;
		*top = y < *top ? y : *top;
		*bottom = y;
	}
}

static int columns_with(const struct decoded *d, int y0, int y1, const unsigned char rgb[3])
{
	int n = 0;
	for (int x = 0; x < d->w; x++)
		n += in_column(d, x, y0, y1, rgb) > 0;
	return n;
}

/* Leaves a copy of a plot in $TEST_PLOT_OUT, a directory, to look at. */
static void keep(const struct image_buffer *b, const char *name)
{
	const char *dir = getenv("TEST_PLOT_OUT");
	if (!dir)
		return;
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	ok(f && fwrite(b->data, 1, b->len, f) == b->len && fclose(f) == 0, "kept as %s", path);
	free(path);
}

static void bad_spec(const struct image_plot *spec, const char *what)
{
	struct image_buffer out = {.data = (void *)1};
	error_clear();
	int rc = image_plot(spec, &out);
	ok(rc < 0 && error_message() && *error_message() && !out.data, "refused: %s (%s)", what,
	   error_message() ? error_message() : "no message");
	image_buffer_clear(&out);
}

int main(void)
{
	tap_find_modules();
	ok_or_bail(VIPS_INIT("test-plot") == 0, "libvips starts, to read the plot back");
	const char *srcdir = getenv("TEST_SRCDIR");
	static const char *const names[] = {"astronaut.jpg", "camera.jpg", "chelsea.jpg",
					    "coffee.jpg"};
	struct image_buffer thumb_bufs[4];
	struct image_plot_thumb thumbs[4];
	static const double thumb_t[4] = {5, 22.5, 44, 55};
	for (int i = 0; i < 4; i++) {
		char *path = xasprintf("%s/data/photos/%s", srcdir ? srcdir : "tests", names[i]);
		uint64_t phash;
		ok_or_bail(image_thumbnail(path, IMAGE_THUMB_SIDE, &thumb_bufs[i], &phash) == 0,
			   "thumbnail of %s", names[i]);
		thumbs[i] =
		    (struct image_plot_thumb){thumb_t[i], thumb_bufs[i].data, thumb_bufs[i].len};
		free(path);
	}

	/* A minute at two samples a second: mei steady above the threshold
	 * but not found from 20 to 25 s; kai below it from 40 to 48 s. */
	double t[N], mei[N], kai[N];
	for (int i = 0; i < N; i++) {
		t[i] = i * 0.5;
		mei[i] = t[i] >= 20 && t[i] <= 25 ? NAN : 0.78 + 0.04 * sin(t[i] / 3);
		kai[i] =
		    t[i] >= 40 && t[i] <= 48 ? 0.41 + 0.03 * cos(t[i]) : 0.70 + 0.03 * sin(t[i]);
	}
	kai[10] = NAN;
	kai[11] = NAN;
	kai[100] = NAN; /* a lone gap */
	struct image_plot_series series[2] = {{"@mei", mei}, {"@kai", kai}};
	double drift_from[1] = {39.75}, drift_to[1] = {48.25};
	struct image_plot spec = {
	    .title = "take1.mp4 — similarity to the references",
	    .t = t,
	    .n = N,
	    .series = series,
	    .nseries = 2,
	    .threshold = 0.62,
	    .drift_from = drift_from,
	    .drift_to = drift_to,
	    .ndrift = 1,
	    .thumbs = thumbs,
	    .nthumbs = 4,
	};

	struct image_buffer png;
	ok_or_bail(image_plot(&spec, &png) == 0, "a plot of two characters is drawn (%s)",
		   error_message() ? error_message() : "");
	is_str(png.format, "png", "it is a PNG");
	ok(png.width == 1200, "1200 pixels wide by default (%d)", png.width);
	ok(png.height >= 500 && png.height <= 900, "a readable height (%d)", png.height);
	keep(&png, "plot.png");
	struct decoded d;
	ok_or_bail(decode(&png, &d), "it decodes as 8-bit RGB");
	ok(d.w == png.width && d.h == png.height, "its size is the one reported");

	/* The drift span's shading marks out the plot area's height and the
	 * span's columns (the legend's key has a little of it too, in rows
	 * of its own). */
	int dl, dr, top, bottom;
	extent(&d, drift_shade, 0, d.h, 60, &dl, &dr, &top, &bottom);
	ok(dr > dl && bottom - top > 200, "the drift span is shaded over the plot (%d..%d)", dl,
	   dr);
	int ml, mr, mt, mb, kl, kr, kt, kb;
	extent(&d, mei_blue, top, bottom + 1, 0, &ml, &mr, &mt, &mb);
	extent(&d, kai_orange, top, bottom + 1, 0, &kl, &kr, &kt, &kb);
	ok(mr - ml > 900 && kr - kl > 900, "both lines run across the time axis");
	ok(columns_with(&d, top, bottom, mei_blue) > 700, "mei's line is drawn (%d columns)",
	   columns_with(&d, top, bottom, mei_blue));
	ok(columns_with(&d, top, bottom, kai_orange) > 800, "kai's line is drawn (%d columns)",
	   columns_with(&d, top, bottom, kai_orange));
	ok(mb < kb, "mei is drawn above kai, as her similarity is higher");

	/* The time axis runs from mei's first column to her last. */
	double px_per_s = (mr - ml) / 59.5;
	int gap_from = ml + (int)ceil(20.5 * px_per_s), gap_to = ml + (int)(24.5 * px_per_s);
	int line_in_gap = 0, mark_under = 0;
	for (int x = gap_from; x <= gap_to; x++) {
		line_in_gap += in_column(&d, x, top, bottom - 2, mei_blue);
		mark_under += in_column(&d, x, bottom + 1, bottom + 40, mei_blue) > 0;
	}
	ok(line_in_gap == 0, "no line where mei was not found (%d pixels)", line_in_gap);
	ok(mark_under >= gap_to - gap_from, "a mark under the axis where she was not (%d of %d)",
	   mark_under, gap_to - gap_from + 1);
	int drift_x = ml + (int)(44 * px_per_s);
	ok(in_column(&d, drift_x, top, bottom, kai_orange) > 0 &&
	       in_column(&d, drift_x, top, bottom, drift_shade) > 100,
	   "kai's line crosses the shaded drift span");
	ok(dl >= ml + (int)(39 * px_per_s) && dr <= ml + (int)(49 * px_per_s),
	   "the shading is at the span's times");
	g_free(d.px);

	/* The strip: without thumbnails the picture is shorter. */
	struct image_plot bare = spec;
	bare.nthumbs = 0;
	struct image_buffer short_png;
	ok(image_plot(&bare, &short_png) == 0 && short_png.height + 80 < png.height,
	   "the thumbnail strip adds its height (%d, %d)", short_png.height, png.height);
	image_buffer_clear(&short_png);

	struct image_plot wide = spec;
	wide.width = 2400;
	struct image_buffer wide_png;
	ok(image_plot(&wide, &wide_png) == 0 && wide_png.width == 2400 &&
	       abs(wide_png.height - 2 * png.height) < 40,
	   "a wider plot is the same plot, scaled (%dx%d)", wide_png.width, wide_png.height);
	keep(&wide_png, "wide.png");
	image_buffer_clear(&wide_png);

	/* One sample, sixteen lines, a crowded strip: still drawn. */
	struct image_plot_series many[IMAGE_PLOT_SERIES_MAX];
	for (int i = 0; i < IMAGE_PLOT_SERIES_MAX; i++)
		many[i] = (struct image_plot_series){"@x", i % 2 ? mei : kai};
	struct image_plot_thumb crowd[IMAGE_PLOT_THUMBS_MAX];
	for (int i = 0; i < IMAGE_PLOT_THUMBS_MAX; i++)
		crowd[i] = (struct image_plot_thumb){30, thumbs[i % 4].data, thumbs[i % 4].len};
	struct image_plot busy = spec;
	busy.series = many;
	busy.nseries = IMAGE_PLOT_SERIES_MAX;
	busy.thumbs = crowd;
	busy.nthumbs = IMAGE_PLOT_THUMBS_MAX;
	struct image_buffer busy_png;
	ok(image_plot(&busy, &busy_png) == 0, "sixteen lines and 64 thumbnails at one time");
	keep(&busy_png, "busy.png");
	image_buffer_clear(&busy_png);
	struct image_plot one = bare;
	one.n = 1;
	struct image_buffer one_png;
	ok(image_plot(&one, &one_png) == 0, "a single sample");
	keep(&one_png, "one.png");
	image_buffer_clear(&one_png);

	struct image_plot b = spec;
	b.n = 0;
	bad_spec(&b, "no times");
	b = spec;
	b.nseries = 0;
	bad_spec(&b, "no lines");
	b = spec;
	b.series = many;
	b.nseries = IMAGE_PLOT_SERIES_MAX + 1;
	bad_spec(&b, "seventeen lines");
	b = spec;
	b.nthumbs = IMAGE_PLOT_THUMBS_MAX + 1;
	bad_spec(&b, "65 thumbnails");
	b = spec;
	b.width = 100;
	bad_spec(&b, "too narrow");
	double backwards[N];
	memcpy(backwards, t, sizeof(t));
	backwards[50] = 3;
	b = spec;
	b.t = backwards;
	bad_spec(&b, "times not ascending");
	b = spec;
	b.threshold = NAN;
	bad_spec(&b, "no threshold");
	double from2[1] = {30}, to2[1] = {20};
	b = spec;
	b.drift_from = from2;
	b.drift_to = to2;
	bad_spec(&b, "a drift span backwards");
	struct image_plot_thumb junk[2] = {thumbs[0], {10, "not a picture at all", 20}};
	b = spec;
	b.thumbs = junk;
	b.nthumbs = 2;
	bad_spec(&b, "a thumbnail that is not a picture");
	struct image_plot_thumb cut[1] = {{10, thumbs[1].data, thumbs[1].len / 2}};
	b = spec;
	b.thumbs = cut;
	b.nthumbs = 1;
	bad_spec(&b, "a truncated thumbnail");

	image_buffer_clear(&png);
	for (int i = 0; i < 4; i++)
		image_buffer_clear(&thumb_bufs[i]);
	image_shutdown();
	error_release();
	return tap_done();
}
