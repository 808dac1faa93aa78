/* image-plot: check's similarity over time as a PNG: a line per
 * character, the threshold, the spans shaded as drift and a strip of frame
 * thumbnails on the same time axis. It draws antialiased strokes into its
 * own RGB buffer and asks libvips only for text masks, the thumbnails'
 * decode and the encoding. The spec was checked by image.c; thumbnails are
 * still untrusted bytes, decoded only as JPEG or PNG. */
#include "config.h"

#include "image-draw.h"
#include "image-vips-int.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* No host function is called here: the module's host table is
 * image-vips.c's, and errors go through its vips_failure(). */

typedef unsigned char rgb_t[3];

/* Okabe-Ito without its yellow, which does not show on white; a line past
 * the seventh takes the same colours again, dashed, then dotted. */
static const rgb_t palette[] = {
    {0, 114, 178},   /* blue */
    {230, 159, 0},   /* orange */
    {0, 158, 115},   /* bluish green */
    {204, 121, 167}, /* reddish purple */
    {86, 180, 233},  /* sky blue */
    {213, 94, 0},    /* vermillion */
    {0, 0, 0},	     /* black */
};
#define PALETTE_N (sizeof(palette) / sizeof(palette[0]))

static const rgb_t white = {255, 255, 255};
static const rgb_t ink = {34, 34, 38};
static const rgb_t muted = {105, 105, 112};
static const rgb_t axis_ink = {90, 90, 96};
static const rgb_t grid = {226, 226, 230};
static const rgb_t threshold_ink = {120, 120, 126};
static const rgb_t drift_shade = {250, 218, 214};
static const rgb_t drift_edge = {196, 48, 43};
static const rgb_t connector = {176, 176, 182};

/* Thumbnails are at most 256 pixels a side; anything far larger is not
 * one, and is refused before it is decoded. */
#define THUMB_PIXELS_MAX (4096 * 4096)

/* Sizes are given for a picture 1200 pixels wide and scaled to the width
 * asked for, so a wider plot is the same plot, sharper. */
struct scale {
	double s;
};

static int px_of(const struct scale *sc, double v)
{
	return (int)lround(v * sc->s);
}

/* ---- the axes ---- */

struct axes {
	int left, right, top, bottom; /* the plot area */
	double t0, t1;		      /* time at left and right */
	double lo, hi;		      /* similarity at bottom and top */
};

static double x_of(const struct axes *ax, double t)
{
	double u = (t - ax->t0) / (ax->t1 - ax->t0);
	u = u < 0 ? 0 : u > 1 ? 1 : u;
	return ax->left + u * (ax->right - ax->left);
}

static double y_of(const struct axes *ax, double v)
{
	double u = (v - ax->lo) / (ax->hi - ax->lo);
	u = u < 0 ? 0 : u > 1 ? 1 : u;
	return ax->bottom - u * (ax->bottom - ax->top);
}

/* The similarity range: every value and the threshold, rounded out to
 * tenths with a little room, at least 0.3 tall, inside -1 to 1. */
static void value_range(const struct image_plot *spec, double *lo, double *hi)
{
	double mn = spec->threshold, mx = spec->threshold;
	for (size_t s = 0; s < spec->nseries; s++)
		for (size_t i = 0; i < spec->n; i++) {
			double v = spec->series[s].value[i];
			if (isfinite(v)) {
				mn = fmin(mn, v);
				mx = fmax(mx, v);
			}
		}
	*lo = fmax(-1, floor((mn - 0.03) * 10) / 10);
	*hi = fmin(1, ceil((mx + 0.03) * 10) / 10);
	while (*hi - *lo < 0.3 - 1e-9) {
		if (*hi < 1)
			*hi = fmin(1, *hi + 0.1);
		if (*hi - *lo < 0.3 - 1e-9 && *lo > -1)
			*lo = fmax(-1, *lo - 0.1);
	}
}

/* The smallest step of 1, 2 or 5 times a power of ten whose ticks are at
 * least min_px apart over span drawn in px pixels. */
static double nice_step(double span, double px, double min_px)
{
	double raw = span * min_px / px, p = pow(10, floor(log10(raw)));
	static const double m[] = {1, 2, 5, 10};
	for (size_t i = 0; i < 4; i++)
		if (m[i] * p >= raw)
			return m[i] * p;
	return 10 * p;
}

static int decimals(double step)
{
	int d = 0;
	while (d < 3 && fabs(step * pow(10, d) - lround(step * pow(10, d))) > 1e-6)
		d++;
	return d;
}

/* ---- the drawing ---- */

struct layout {
	struct scale sc;
	int width, height;
	int margin;
	int title_y, legend_y, legend_rows, row_h;
	struct axes ax;
	int rug_row, rug_rows; /* the not-found marks under the axis */
	int ticks_y;
	int strip_y, thumb_y, thumb_h; /* the thumbnail strip; thumb_h 0 without one */
	int thumb_rows, thumb_pitch;
	char font[4][32]; /* title, label, small, legend */
};

enum { FONT_TITLE, FONT_LABEL, FONT_SMALL, FONT_LEGEND };

static bool has_gap(const struct image_plot *spec, size_t s)
{
	for (size_t i = 0; i < spec->n; i++)
		if (!isfinite(spec->series[s].value[i]))
			return true;
	return false;
}

static struct dash dash_for(const struct layout *l, size_t s)
{
	struct dash d = {0, 0, 0};
	size_t cycle = s / PALETTE_N;
	if (cycle == 1)
		d = (struct dash){px_of(&l->sc, 10), px_of(&l->sc, 5), 0};
	else if (cycle >= 2)
		d = (struct dash){px_of(&l->sc, 2.5), px_of(&l->sc, 4), 0};
	return d;
}

static double line_width(const struct layout *l)
{
	return 2.25 * l->sc.s;
}

/* One entry of the legend: what it shows beside its name. */
enum key { KEY_SERIES, KEY_THRESHOLD, KEY_DRIFT, KEY_GAP };

static void draw_key(struct canvas *c, const struct layout *l, enum key k, size_t s, int x, int cy)
{
	int w = px_of(&l->sc, 26);
	switch (k) {
	case KEY_SERIES: {
		struct dash d = dash_for(l, s);
		canvas_dashed(c, x, cy, x + w, cy, line_width(l), &d);
		canvas_paint(c, palette[s % PALETTE_N]);
		break;
	}
	case KEY_THRESHOLD: {
		struct dash d = {px_of(&l->sc, 6), px_of(&l->sc, 4), 0};
		canvas_dashed(c, x, cy, x + w, cy, 1.5 * l->sc.s, &d);
		canvas_paint(c, threshold_ink);
		break;
	}
	case KEY_DRIFT:
		canvas_fill(c, x, cy - px_of(&l->sc, 7), x + w, cy + px_of(&l->sc, 7), drift_shade,
			    1);
		break;
	case KEY_GAP:
		/* A piece of the axis with a mark under it, as in the plot. */
		canvas_fill(c, x, cy - px_of(&l->sc, 4), x + w, cy - px_of(&l->sc, 4) + 1, axis_ink,
			    1);
		canvas_fill(c, x + w / 2 - px_of(&l->sc, 7), cy, x + w / 2 + px_of(&l->sc, 7),
			    cy + px_of(&l->sc, 4), muted, 1);
		break;
	}
}

/* Lays the legend out in rows across the plot's width, and draws it when
 * c is not NULL; *rows is how many it took. */
static int legend(struct canvas *c, const struct image_plot *spec, struct layout *l, int *rows)
{
	int key_w = px_of(&l->sc, 26), pad = px_of(&l->sc, 7), gap = px_of(&l->sc, 22);
	int avail = l->ax.right - l->ax.left;
	int x = l->ax.left, row = 0;
	bool gaps = false;
	for (size_t s = 0; s < spec->nseries; s++)
		gaps = gaps || has_gap(spec, s);
	size_t n = spec->nseries + 1 + (spec->ndrift > 0) + gaps;
	for (size_t i = 0; i < n; i++) {
		enum key k = i < spec->nseries			      ? KEY_SERIES
			     : i == spec->nseries		      ? KEY_THRESHOLD
			     : i == spec->nseries + 1 && spec->ndrift ? KEY_DRIFT
								      : KEY_GAP;
		char buf[64];
		const char *name = buf;
		if (k == KEY_SERIES)
			name = spec->series[i].name ? spec->series[i].name : "";
		else if (k == KEY_THRESHOLD)
			snprintf(buf, sizeof(buf), "threshold %.2f", spec->threshold);
		else if (k == KEY_DRIFT)
			snprintf(buf, sizeof(buf), "drift");
		else
			snprintf(buf, sizeof(buf), "not found");
		struct text t;
		if (text_fit(name, l->font[FONT_LEGEND], avail - key_w - pad, &t) < 0)
			return -1;
		int w = key_w + pad + t.w;
		if (x > l->ax.left && x + w > l->ax.right) {
			row++;
			x = l->ax.left;
		}
		if (c) {
			int y = l->legend_y + row * l->row_h;
			draw_key(c, l, k, i, x, y + l->row_h / 2);
			text_draw(c, &t, x + key_w + pad, y + (l->row_h - t.h) / 2,
				  k == KEY_SERIES ? ink : muted);
		}
		text_free(&t);
		x += w + gap;
	}
	*rows = row + 1;
	return 0;
}

static int draw_value_axis(struct canvas *c, const struct image_plot *spec, const struct layout *l)
{
	const struct axes *ax = &l->ax;
	double step = nice_step(ax->hi - ax->lo, ax->bottom - ax->top, 34 * l->sc.s);
	int dec = decimals(step);
	char buf[32];
	for (double v = ceil(ax->lo / step - 1e-9) * step; v <= ax->hi + 1e-9; v += step) {
		int y = (int)lround(y_of(ax, v));
		canvas_fill(c, ax->left, y, ax->right, y + 1, grid, 0.85);
		canvas_fill(c, ax->left - px_of(&l->sc, 5), y, ax->left, y + 1, axis_ink, 1);
		snprintf(buf, sizeof(buf), "%.*f", dec, fabs(v) < 1e-9 ? 0.0 : v);
		struct text t;
		if (text_render(buf, l->font[FONT_LABEL], 0, false, &t) < 0)
			return -1;
		text_draw(c, &t, ax->left - px_of(&l->sc, 9) - t.w, y - t.h / 2, muted);
		text_free(&t);
	}
	struct text title;
	if (text_render("similarity", l->font[FONT_LABEL], 0, true, &title) < 0)
		return -1;
	text_draw(c, &title, l->margin, (ax->top + ax->bottom - title.h) / 2, muted);
	text_free(&title);
	/* The threshold's value at the right end of its line, outside the
	 * plot, where no line can run over it. */
	snprintf(buf, sizeof(buf), "%.2f", spec->threshold);
	struct text t;
	if (text_render(buf, l->font[FONT_LABEL], 0, false, &t) < 0)
		return -1;
	text_draw(c, &t, ax->right + px_of(&l->sc, 6),
		  (int)lround(y_of(ax, spec->threshold)) - t.h / 2, threshold_ink);
	text_free(&t);
	return 0;
}

static int draw_time_axis(struct canvas *c, const struct layout *l)
{
	const struct axes *ax = &l->ax;
	double step = nice_step(ax->t1 - ax->t0, ax->right - ax->left, 70 * l->sc.s);
	int dec = decimals(step), last_right = -1000000;
	char buf[48];
	for (double t = ceil(ax->t0 / step - 1e-9) * step; t <= ax->t1 + step * 1e-9; t += step) {
		int x = (int)lround(x_of(ax, t));
		canvas_fill(c, x, ax->top, x + 1, ax->bottom, grid, 0.5);
		canvas_fill(c, x, ax->bottom, x + 1, ax->bottom + px_of(&l->sc, 5), axis_ink, 1);
		snprintf(buf, sizeof(buf), "%.*f s", dec, fabs(t) < 1e-9 ? 0.0 : t);
		struct text tx;
		if (text_render(buf, l->font[FONT_LABEL], 0, false, &tx) < 0)
			return -1;
		/* A label that would touch the one before it is left out. */
		if (x - tx.w / 2 > last_right + px_of(&l->sc, 10)) {
			text_draw(c, &tx, x - tx.w / 2, l->ticks_y, muted);
			last_right = x - tx.w / 2 + tx.w;
		}
		text_free(&tx);
	}
	return 0;
}

static void draw_series(struct canvas *c, const struct image_plot *spec, const struct layout *l,
			size_t s)
{
	const struct axes *ax = &l->ax;
	const double *v = spec->series[s].value;
	struct dash d = dash_for(l, s);
	double w = line_width(l);
	/* Sparse samples get a dot each so a reader sees where they are; a
	 * sample between two gaps always does, as it has no line. */
	bool dots = spec->n > 1 && (ax->right - ax->left) / (double)(spec->n - 1) >= 12 * l->sc.s;
	for (size_t i = 0; i < spec->n; i++) {
		if (!isfinite(v[i]))
			continue;
		double x = x_of(ax, spec->t[i]), y = y_of(ax, v[i]);
		bool prev = i > 0 && isfinite(v[i - 1]),
		     next = i + 1 < spec->n && isfinite(v[i + 1]);
		if (prev)
			canvas_dashed(c, x_of(ax, spec->t[i - 1]), y_of(ax, v[i - 1]), x, y, w, &d);
		else
			d.phase = 0;
		if (dots || (!prev && !next))
			canvas_dot(c, x, y, 2.2 * w / 2 + 0.5);
	}
	canvas_paint(c, palette[s % PALETTE_N]);
}

/* The frames where a character was not found: a bar under the axis, in
 * its colour, on its own row, over the stretch of time those samples
 * stand for. */
static void draw_gaps(struct canvas *c, const struct image_plot *spec, const struct layout *l)
{
	const struct axes *ax = &l->ax;
	int row = 0, bar = px_of(&l->sc, 4), min_w = px_of(&l->sc, 3);
	for (size_t s = 0; s < spec->nseries; s++) {
		if (!has_gap(spec, s))
			continue;
		int y = l->rug_row + row * (bar + px_of(&l->sc, 2));
		for (size_t i = 0; i < spec->n; i++) {
			if (isfinite(spec->series[s].value[i]))
				continue;
			double x = x_of(ax, spec->t[i]);
			double a = i ? (x_of(ax, spec->t[i - 1]) + x) / 2 : x;
			double b = i + 1 < spec->n ? (x + x_of(ax, spec->t[i + 1])) / 2 : x;
			if (b - a < min_w) {
				a = x - min_w / 2.0;
				b = x + min_w / 2.0;
			}
			canvas_fill(c, (int)lround(a), y, (int)lround(b), y + bar,
				    palette[s % PALETTE_N], 1);
		}
		row++;
	}
}

/* ---- the thumbnail strip ---- */

struct thumb {
	const struct image_plot_thumb *src;
	double t;
	int w, h;
	int left, top;
};

/* Checks a thumbnail's bytes are a JPEG or PNG of a sane size and reads
 * its size from the header. */
static int thumb_header(const struct image_plot_thumb *th, size_t i, int *w, int *h)
{
	const char *loader = vips_foreign_find_load_buffer(th->data, th->len);
	if (!loader || (strncmp(loader, "VipsForeignLoadJpeg", 19) != 0 &&
			strncmp(loader, "VipsForeignLoadPng", 18) != 0)) {
		vips_error_clear();
		vips_error("troupe", "thumbnail %zu is not a JPEG or PNG picture", i);
		return -1;
	}
	VipsImage *im = vips_image_new_from_buffer(th->data, th->len, "", "access",
						   VIPS_ACCESS_SEQUENTIAL, NULL);
	if (!im)
		return -1;
	*w = vips_image_get_width(im);
	*h = vips_image_get_height(im);
	g_object_unref(im);
	if (*w <= 0 || *h <= 0 || (int64_t)*w * *h > THUMB_PIXELS_MAX) {
		vips_error("troupe", "thumbnail %zu is %dx%d, not a thumbnail", i, *w, *h);
		return -1;
	}
	return 0;
}

static int by_time(const void *a, const void *b)
{
	double ta = ((const struct thumb *)a)->t, tb = ((const struct thumb *)b)->t;
	return ta < tb ? -1 : ta > tb;
}

/* The height the pictures can have on rows rows (the i-th picture in time
 * on row i % rows) when each row must fit across the plot. */
static double row_fit(const struct thumb *th, size_t n, size_t rows, int gap, int avail)
{
	double fit = INFINITY;
	for (size_t r = 0; r < rows && r < n; r++) {
		double aspect = 0;
		size_t k = 0;
		for (size_t i = r; i < n; i += rows, k++)
			aspect += (double)th[i].w / th[i].h;
		fit = fmin(fit, (avail - gap * (double)(k - 1)) / aspect);
	}
	return fit;
}

/* Sizes the strip's pictures to one height, as tall as the layout allows
 * and small enough that all of them fit side by side under the plot; a
 * crowded strip takes up to four staggered rows before its pictures get
 * smaller than a face can be told apart in. Sorts th by time. */
static int thumbs_measure(const struct image_plot *spec, const struct layout *l, struct thumb *th,
			  int *height, int *rows)
{
	for (size_t i = 0; i < spec->nthumbs; i++) {
		int w, h;
		if (thumb_header(&spec->thumbs[i], i, &w, &h) < 0)
			return -1;
		th[i].src = &spec->thumbs[i];
		th[i].t = spec->thumbs[i].t;
		th[i].w = w; /* the aspect, until the height is known */
		th[i].h = h;
	}
	qsort(th, spec->nthumbs, sizeof(*th), by_time);
	int gap = px_of(&l->sc, 6), avail = l->ax.right - l->ax.left;
	int tallest = px_of(&l->sc, 96), readable = px_of(&l->sc, 56);
	size_t r = 1;
	double fit = row_fit(th, spec->nthumbs, r, gap, avail);
	while (fit < readable && r < 4 && r < spec->nthumbs)
		fit = row_fit(th, spec->nthumbs, ++r, gap, avail);
	int hgt = fit < tallest ? (int)floor(fit) : tallest;
	if (hgt < 8)
		hgt = 8;
	for (size_t i = 0; i < spec->nthumbs; i++) {
		th[i].w = (int)floor(hgt * (double)th[i].w / th[i].h);
		th[i].w = th[i].w < 1 ? 1 : th[i].w;
		th[i].h = hgt;
	}
	*height = hgt;
	*rows = (int)r;
	return 0;
}

/* Each picture as near its time as it can be without touching the next
 * on its row, pushed right past its neighbour on the left, then back left
 * from the plot's right edge. th is sorted by time. */
static void thumbs_place(struct thumb *th, size_t n, const struct layout *l)
{
	int gap = px_of(&l->sc, 6);
	for (int r = 0; r < l->thumb_rows; r++) {
		int edge = l->ax.left;
		for (size_t i = (size_t)r; i < n; i += (size_t)l->thumb_rows) {
			int want = (int)lround(x_of(&l->ax, th[i].t)) - th[i].w / 2;
			th[i].left = want > edge ? want : edge;
			th[i].top = l->thumb_y + r * l->thumb_pitch;
			edge = th[i].left + th[i].w + gap;
		}
		edge = l->ax.right;
		size_t last = (size_t)r;
		while (last + (size_t)l->thumb_rows < n)
			last += (size_t)l->thumb_rows;
		for (size_t i = last; i < n; i -= (size_t)l->thumb_rows) {
			if (th[i].left + th[i].w > edge)
				th[i].left = edge - th[i].w;
			edge = th[i].left - gap;
			if (i < (size_t)l->thumb_rows)
				break;
		}
	}
}

static bool in_drift(const struct image_plot *spec, double t)
{
	for (size_t i = 0; i < spec->ndrift; i++)
		if (t >= spec->drift_from[i] && t <= spec->drift_to[i])
			return true;
	return false;
}

static int draw_thumb(struct canvas *c, const struct image_plot *spec, const struct layout *l,
		      const struct thumb *th)
{
	const struct image_plot_thumb *src = th->src;
	VipsImage *t[2] = {NULL};
	unsigned char *pix = NULL;
	int rc = -1;
	/* The box is wider than any picture: the height decides. */
	if (vips_thumbnail_buffer((void *)src->data, src->len, &t[0], th->w + 2, "height", th->h,
				  "size", VIPS_SIZE_BOTH, "fail_on", VIPS_FAIL_ON_WARNING,
				  "option_string", "fail_on=warning", NULL) ||
	    to_srgb8(t[0], &t[1]))
		goto out;
	size_t len;
	pix = vips_image_write_to_memory(t[1], &len);
	int w = vips_image_get_width(t[1]), h = vips_image_get_height(t[1]);
	if (!pix || len != (size_t)w * h * 3) {
		vips_error("troupe", "unexpected thumbnail pixels");
		goto out;
	}
	int x0 = th->left + (th->w - w) / 2, y0 = th->top + (th->h - h) / 2;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			canvas_blend(c, x0 + x, y0 + y, pix + ((size_t)y * w + x) * 3, 1);
	/* A frame in a drift span is framed in the drift's red. */
	bool drift = in_drift(spec, th->t);
	int b = drift ? px_of(&l->sc, 2) : 1;
	b = b < 1 ? 1 : b;
	const unsigned char *edge = drift ? drift_edge : grid;
	canvas_fill(c, x0 - b, y0 - b, x0 + w + b, y0, edge, 1);
	canvas_fill(c, x0 - b, y0 + h, x0 + w + b, y0 + h + b, edge, 1);
	canvas_fill(c, x0 - b, y0, x0, y0 + h, edge, 1);
	canvas_fill(c, x0 + w, y0, x0 + w + b, y0 + h, edge, 1);
	/* Its time under it, when there is room. */
	char buf[32];
	snprintf(buf, sizeof(buf), "%.1f s", th->t);
	struct text tx;
	if (text_render(buf, l->font[FONT_SMALL], 0, false, &tx) < 0)
		goto out;
	if (tx.w <= th->w + px_of(&l->sc, 4))
		text_draw(c, &tx, th->left + (th->w - tx.w) / 2, th->top + th->h + px_of(&l->sc, 5),
			  drift ? drift_edge : muted);
	text_free(&tx);
	rc = 0;
out:
	g_free(pix);
	unref_all(t, 2);
	return rc;
}

static int draw_strip(struct canvas *c, const struct image_plot *spec, const struct layout *l,
		      struct thumb *th)
{
	/* The connectors first, so a picture is never crossed by the line of
	 * its neighbour. */
	for (size_t i = 0; i < spec->nthumbs; i++) {
		double x = x_of(&l->ax, th[i].t);
		canvas_segment(c, x, l->strip_y, th[i].left + th[i].w / 2.0, th[i].top - 1,
			       fmax(1, l->sc.s));
	}
	canvas_paint(c, connector);
	for (size_t i = 0; i < spec->nthumbs; i++)
		canvas_dot(c, x_of(&l->ax, th[i].t), l->strip_y, 2.5 * l->sc.s);
	canvas_paint(c, axis_ink);
	for (size_t i = 0; i < spec->nthumbs; i++)
		if (draw_thumb(c, spec, l, &th[i]) < 0)
			return -1;
	return 0;
}

/* ---- the whole picture ---- */

static int layout_make(const struct image_plot *spec, struct layout *l, struct text *title)
{
	memset(l, 0, sizeof(*l));
	l->width = spec->width ? spec->width : 1200;
	l->sc.s = l->width / 1200.0;
	const struct scale *sc = &l->sc;
	snprintf(l->font[FONT_TITLE], sizeof(l->font[0]), "sans bold %d", px_of(sc, 19));
	snprintf(l->font[FONT_LABEL], sizeof(l->font[0]), "sans %d", px_of(sc, 13));
	snprintf(l->font[FONT_SMALL], sizeof(l->font[0]), "sans %d", px_of(sc, 11));
	snprintf(l->font[FONT_LEGEND], sizeof(l->font[0]), "sans %d", px_of(sc, 14));
	l->margin = px_of(sc, 28);
	if (text_render(spec->title ? spec->title : "", l->font[FONT_TITLE],
			l->width - 2 * l->margin, false, title) < 0)
		return -1;

	/* Horizontally: the axis title and the widest tick label on the
	 * left, the threshold's value on the right. */
	struct text probe;
	if (text_render("-0.00", l->font[FONT_LABEL], 0, false, &probe) < 0)
		return -1;
	int label_w = probe.w, label_h = probe.h;
	text_free(&probe);
	l->ax.left = l->margin + label_h + px_of(sc, 10) + label_w + px_of(sc, 9);
	l->ax.right = l->width - l->margin - label_w;

	l->title_y = l->margin;
	l->legend_y = l->title_y + title->h + px_of(sc, 12);
	l->row_h = px_of(sc, 24);
	if (legend(NULL, spec, l, &l->legend_rows) < 0)
		return -1;
	l->ax.top = l->legend_y + l->legend_rows * l->row_h + px_of(sc, 16);
	l->ax.bottom = l->ax.top + px_of(sc, 380);

	int gap_rows = 0;
	for (size_t s = 0; s < spec->nseries; s++)
		gap_rows += has_gap(spec, s);
	l->rug_row = l->ax.bottom + px_of(sc, 4);
	l->rug_rows = gap_rows;
	int rug_h = gap_rows ? gap_rows * px_of(sc, 6) + px_of(sc, 2) : 0;
	l->ticks_y = l->ax.bottom + px_of(sc, 7) + rug_h;
	int y = l->ticks_y + label_h;

	l->ax.t0 = spec->t[0];
	l->ax.t1 = spec->t[spec->n - 1];
	/* A single time gets a second around it, not before the film's
	 * start. */
	if (l->ax.t1 - l->ax.t0 < 1e-6) {
		double at = l->ax.t0;
		l->ax.t0 = at >= 0 && at < 0.5 ? 0 : at - 0.5;
		l->ax.t1 = l->ax.t0 + 1;
	}
	value_range(spec, &l->ax.lo, &l->ax.hi);

	if (spec->nthumbs) {
		l->strip_y = y + px_of(sc, 10);
		l->thumb_y = l->strip_y + px_of(sc, 18);
		y = l->thumb_y; /* the strip's height is added once it is measured */
	}
	l->height = y + l->margin;
	return 0;
}

int vimg_plot(const struct image_plot *spec, struct image_buffer *out)
{
	memset(out, 0, sizeof(*out));
	if (image_start() < 0)
		return -1;
	struct layout l;
	struct text title = {0};
	struct canvas c = {0};
	struct thumb *th = NULL;
	VipsImage *im = NULL;
	int rc = -1;
	if (layout_make(spec, &l, &title) < 0)
		goto fail;
	if (spec->nthumbs) {
		th = calloc(spec->nthumbs, sizeof(*th));
		if (!th) {
			vips_error("troupe", "out of memory");
			goto fail;
		}
		struct text probe;
		if (thumbs_measure(spec, &l, th, &l.thumb_h, &l.thumb_rows) < 0 ||
		    text_render("0.0 s", l.font[FONT_SMALL], 0, false, &probe) < 0)
			goto fail;
		l.thumb_pitch = l.thumb_h + px_of(&l.sc, 5) + probe.h + px_of(&l.sc, 8);
		text_free(&probe);
		thumbs_place(th, spec->nthumbs, &l);
		l.height += l.thumb_rows * l.thumb_pitch - px_of(&l.sc, 8);
	}

	c.w = l.width;
	c.h = l.height;
	c.px = malloc((size_t)c.w * c.h * 3);
	c.cover = calloc((size_t)c.w * c.h, sizeof(float));
	if (!c.px || !c.cover) {
		vips_error("troupe", "out of memory for a %dx%d plot", c.w, c.h);
		goto fail;
	}
	memset(c.px, white[0], (size_t)c.w * c.h * 3);
	c.x0 = c.w;
	c.y0 = c.h;

	const struct axes *ax = &l.ax;
	text_draw(&c, &title, l.margin, l.title_y, ink);
	int rows;
	if (legend(&c, spec, &l, &rows) < 0)
		goto fail;
	for (size_t i = 0; i < spec->ndrift; i++) {
		if (spec->drift_to[i] < ax->t0 || spec->drift_from[i] > ax->t1)
			continue;
		double a = x_of(ax, spec->drift_from[i]), b = x_of(ax, spec->drift_to[i]);
		if (b - a < 2 * l.sc.s)
			a -= l.sc.s, b += l.sc.s;
		canvas_fill(&c, (int)lround(a), ax->top, (int)lround(b), ax->bottom, drift_shade,
			    1);
	}
	if (draw_value_axis(&c, spec, &l) < 0 || draw_time_axis(&c, &l) < 0)
		goto fail;
	struct dash d = {px_of(&l.sc, 7), px_of(&l.sc, 5), 0};
	double ty = y_of(ax, spec->threshold);
	canvas_dashed(&c, ax->left, ty, ax->right, ty, 1.5 * l.sc.s, &d);
	canvas_paint(&c, threshold_ink);
	for (size_t s = 0; s < spec->nseries; s++)
		draw_series(&c, spec, &l, s);
	canvas_fill(&c, ax->left - 1, ax->top, ax->left, ax->bottom + 1, axis_ink, 1);
	canvas_fill(&c, ax->left - 1, ax->bottom, ax->right + 1, ax->bottom + 1, axis_ink, 1);
	draw_gaps(&c, spec, &l);
	if (spec->nthumbs && draw_strip(&c, spec, &l, th) < 0)
		goto fail;

	im = vips_image_new_from_memory_copy(c.px, (size_t)c.w * c.h * 3, c.w, c.h, 3,
					     VIPS_FORMAT_UCHAR);
	if (!im)
		goto fail;
	vips_image_set_int(im, "interpretation", VIPS_INTERPRETATION_sRGB);
	if (encode(im, "png", 0, &out->data, &out->len))
		goto fail;
	out->width = c.w;
	out->height = c.h;
	snprintf(out->format, sizeof(out->format), "png");
	rc = 0;
	goto out;
fail:
	vips_failure("cannot draw the plot");
out:
	if (im)
		g_object_unref(im);
	free(th);
	free(c.px);
	free(c.cover);
	text_free(&title);
	return rc;
}
