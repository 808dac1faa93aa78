/* image-draw: drawing on a plain RGB buffer for the pixel module's
 * pictures made from numbers (image-plot.c). Only the module's own files
 * include it. */
#ifndef TROUPE_IMAGE_DRAW_H
#define TROUPE_IMAGE_DRAW_H

#include <stdbool.h>
#include <vips/vips.h>

/* A canvas's cover starts all 0 with x0 = w, y0 = h, x1 = y1 = 0. */
struct canvas {
	int w, h;
	unsigned char *px;  /* RGB, row by row */
	float *cover;	    /* one stroke's coverage, 0 to 1, before it is painted */
	int x0, y0, x1, y1; /* the part of cover in use */
};

/* Blends rgb over the pixel at x, y with opacity a (0 to 1); outside the
 * canvas is nothing. */
void canvas_blend(struct canvas *c, int x, int y, const unsigned char *rgb, double a);
/* Blends rgb over the pixels from x0, y0 up to, not including, x1, y1. */
void canvas_fill(struct canvas *c, int x0, int y0, int x1, int y1, const unsigned char *rgb,
		 double a);

/* A dash pattern: on, then off, in pixels; on == 0 is a solid line. */
struct dash {
	double on, off;
	double phase; /* how far along the pattern the next piece starts */
};

/* Strokes add to the canvas's coverage; canvas_paint() paints what they
 * gathered in one colour and clears it. */
void canvas_segment(struct canvas *c, double ax, double ay, double bx, double by, double width);
void canvas_dot(struct canvas *c, double cx, double cy, double r);
/* A segment in the pattern d, which it advances, so a polyline drawn a
 * segment at a time keeps its rhythm across the joints. */
void canvas_dashed(struct canvas *c, double ax, double ay, double bx, double by, double width,
		   struct dash *d);
void canvas_paint(struct canvas *c, const unsigned char *rgb);

/* A text mask from Pango: 0 to 255 per pixel. */
struct text {
	int w, h;
	unsigned char *a;
};
void text_free(struct text *t);
/* Renders plain text (escaped here for Pango) in font ("sans 13"),
 * wrapped to width when width > 0, turned to read upwards when vertical;
 * -1 with libvips's error buffer set. */
int text_render(const char *s, const char *font, int width, bool vertical, struct text *out);
/* One line at most width wide: when the text is wider, the longest start
 * of it that fits with an ellipsis after it. */
int text_fit(const char *s, const char *font, int width, struct text *out);
/* Draws the mask in rgb with its top left at x, y. */
void text_draw(struct canvas *c, const struct text *t, int x, int y, const unsigned char *rgb);

#endif
