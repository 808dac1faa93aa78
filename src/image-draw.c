/* image-draw: the pixel module's pen: antialiased strokes, dashes and
 * dots gathered as coverage and painted in one colour, and Pango text as
 * masks, on a plain RGB buffer. It knows nothing of what it draws (the
 * plot is image-plot.c's) and calls no host function: libvips errors are
 * left in its error buffer for the caller's vips_failure(). */
#include "config.h"

#include "image-draw.h"
#include "image-vips-int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void canvas_blend(struct canvas *c, int x, int y, const unsigned char *rgb, double a)
{
	if (x < 0 || y < 0 || x >= c->w || y >= c->h || a <= 0)
		return;
	if (a > 1)
		a = 1;
	unsigned char *p = c->px + ((size_t)y * c->w + x) * 3;
	for (int i = 0; i < 3; i++)
		p[i] = (unsigned char)lrint(p[i] * (1 - a) + rgb[i] * a);
}

void canvas_fill(struct canvas *c, int x0, int y0, int x1, int y1, const unsigned char *rgb,
		 double a)
{
	for (int y = y0; y < y1; y++)
		for (int x = x0; x < x1; x++)
			canvas_blend(c, x, y, rgb, a);
}

/* A stroke is gathered as coverage and painted once, so where its pieces
 * meet (a polyline's joints, a dash's ends) the edge is not drawn twice
 * and does not darken. */
static void canvas_cover(struct canvas *c, int x, int y, double a)
{
	if (x < 0 || y < 0 || x >= c->w || y >= c->h || a <= 0)
		return;
	float *p = c->cover + (size_t)y * c->w + x;
	if (a > 1)
		a = 1;
	if (*p < a)
		*p = (float)a;
	if (x < c->x0)
		c->x0 = x;
	if (y < c->y0)
		c->y0 = y;
	if (x >= c->x1)
		c->x1 = x + 1;
	if (y >= c->y1)
		c->y1 = y + 1;
}

void canvas_segment(struct canvas *c, double ax, double ay, double bx, double by, double width)
{
	double r = width / 2, dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
	int minx = (int)floor(fmin(ax, bx) - r - 1), maxx = (int)ceil(fmax(ax, bx) + r + 1);
	int miny = (int)floor(fmin(ay, by) - r - 1), maxy = (int)ceil(fmax(ay, by) + r + 1);
	for (int y = miny; y <= maxy; y++)
		for (int x = minx; x <= maxx; x++) {
			double px = x + 0.5, py = y + 0.5;
			double u = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
			u = u < 0 ? 0 : u > 1 ? 1 : u;
			double d = hypot(ax + u * dx - px, ay + u * dy - py);
			canvas_cover(c, x, y, r + 0.5 - d);
		}
}

void canvas_dot(struct canvas *c, double cx, double cy, double r)
{
	canvas_segment(c, cx, cy, cx, cy, 2 * r);
}

void canvas_dashed(struct canvas *c, double ax, double ay, double bx, double by, double width,
		   struct dash *d)
{
	double len = hypot(bx - ax, by - ay);
	if (d->on <= 0 || len == 0) {
		canvas_segment(c, ax, ay, bx, by, width);
		return;
	}
	double period = d->on + d->off, pos = 0;
	while (pos < len) {
		double p = fmod(d->phase, period);
		double step = fmin((p < d->on ? d->on : period) - p, len - pos);
		if (p < d->on) {
			double u0 = pos / len, u1 = (pos + step) / len;
			canvas_segment(c, ax + u0 * (bx - ax), ay + u0 * (by - ay),
				       ax + u1 * (bx - ax), ay + u1 * (by - ay), width);
		}
		pos += step;
		d->phase += step;
	}
}

/* Paints the gathered coverage in a colour and clears it. */
void canvas_paint(struct canvas *c, const unsigned char *rgb)
{
	for (int y = c->y0; y < c->y1; y++)
		for (int x = c->x0; x < c->x1; x++) {
			float *p = c->cover + (size_t)y * c->w + x;
			canvas_blend(c, x, y, rgb, *p);
			*p = 0;
		}
	c->x0 = c->w;
	c->y0 = c->h;
	c->x1 = c->y1 = 0;
}

void text_free(struct text *t)
{
	g_free(t->a);
	memset(t, 0, sizeof(*t));
}

/* Renders plain text (escaped here for Pango), wrapped to width when
 * width > 0, turned to read upwards when vertical. */
int text_render(const char *s, const char *font, int width, bool vertical, struct text *out)
{
	memset(out, 0, sizeof(*out));
	VipsImage *t[3] = {NULL};
	int rc = -1;
	char *markup = g_markup_escape_text(s && *s ? s : " ", -1);
	int failed = width > 0 ? vips_text(&t[0], markup, "font", font, "width", width, "dpi", 72,
					   "wrap", VIPS_TEXT_WRAP_WORD_CHAR, NULL)
			       : vips_text(&t[0], markup, "font", font, "dpi", 72, NULL);
	g_free(markup);
	if (failed)
		goto out;
	VipsImage *cur = t[0];
	if (vertical) {
		if (vips_rot(cur, &t[1], VIPS_ANGLE_D270, NULL))
			goto out;
		cur = t[1];
	}
	if (vips_cast_uchar(cur, &t[2], NULL))
		goto out;
	size_t len;
	out->a = vips_image_write_to_memory(t[2], &len);
	out->w = vips_image_get_width(t[2]);
	out->h = vips_image_get_height(t[2]);
	if (!out->a || len != (size_t)out->w * out->h) {
		text_free(out);
		vips_error("troupe", "unexpected text mask");
		goto out;
	}
	rc = 0;
out:
	unref_all(t, 3);
	return rc;
}

/* Renders text on one line at most width wide: when it is wider, the
 * longest start of it that fits with an ellipsis after it. */
int text_fit(const char *s, const char *font, int width, struct text *out)
{
	if (text_render(s, font, 0, false, out) < 0)
		return -1;
	size_t len = strlen(s);
	while (out->w > width && len > 0) {
		do
			len--;
		while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80);
		char *cut = g_strdup_printf("%.*s…", (int)len, s);
		text_free(out);
		int rc = text_render(cut, font, 0, false, out);
		g_free(cut);
		if (rc < 0)
			return -1;
	}
	return 0;
}

void text_draw(struct canvas *c, const struct text *t, int x, int y, const unsigned char *rgb)
{
	for (int j = 0; j < t->h; j++)
		for (int i = 0; i < t->w; i++) {
			unsigned char a = t->a[(size_t)j * t->w + i];
			if (a)
				canvas_blend(c, x + i, y + j, rgb, a / 255.0);
		}
}
