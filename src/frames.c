/* frames: frames of a video as PNG or JPEG pictures, from the video room's
 * RGB frames through the image room's encoder; the times users write. It
 * never prints: what it makes goes to the caller's callback. */
#include "config.h"

#include "frames.h"
#include "util.h"
#include "video.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A number of seconds or minutes that is a plain decimal ("2", "02.40"). */
static int decimal(const char *s, size_t len, double *out)
{
	if (!len || len > 32 || strspn(s, "0123456789.") < len || s[0] == '.')
		return -1;
	char buf[33];
	memcpy(buf, s, len);
	buf[len] = '\0';
	char *end;
	errno = 0;
	*out = strtod(buf, &end);
	return errno || *end || !isfinite(*out) ? -1 : 0;
}

int frames_parse_time(const char *option, const char *text, double *seconds)
{
	size_t len = strlen(text), colons = 0;
	for (const char *c = text; *c; c++)
		colons += *c == ':';
	/* "2.4s" or [[HH:]MM:]SS[.fff], each part before the seconds a whole
	 * number and each after the first under 60. */
	if (len && text[len - 1] == 's' && !colons)
		len--;
	if (colons > 2)
		goto bad;
	double value = 0;
	const char *p = text, *end = text + len;
	for (size_t i = 0; i <= colons; i++) {
		const char *colon = i < colons ? memchr(p, ':', (size_t)(end - p)) : NULL;
		size_t part = colon ? (size_t)(colon - p) : (size_t)(end - p);
		double v;
		if (decimal(p, part, &v) < 0 || (colon && memchr(p, '.', part)) ||
		    (i > 0 && v >= 60))
			goto bad;
		value = value * 60 + v;
		p = colon ? colon + 1 : end;
	}
	*seconds = value;
	return 0;
bad:
	return error_set(EX_USAGE, "%s %s: not a time (seconds as 2.4 or 2.4s, or 00:00:02.4)",
			 option, text);
}

struct taking {
	const char *format;
	int (*each)(const struct frames_taken *, void *);
	void *ctx;
	int rc;	     /* the first failure or stop */
	bool failed; /* rc is an error, not a stop */
};

static int take_one(const struct video_frame *f, void *arg)
{
	struct taking *k = arg;
	struct image_buffer image;
	if (image_encode_rgb(f->rgb, f->width, f->height, k->format, 92, &image) < 0) {
		k->rc = -1;
		k->failed = true;
		return 1;
	}
	long long ms = llround(f->t * 1000);
	char name[64];
	snprintf(name, sizeof(name), "frame-%06lld.%03lld.%s", ms / 1000, ms % 1000,
		 !strcmp(k->format, "jpeg") ? "jpg" : k->format);
	struct frames_taken taken = {&image, f->t, f->index, name};
	k->rc = k->each(&taken, k->ctx);
	image_buffer_clear(&image);
	return k->rc;
}

int frames_take(const char *path, const struct frames_pick *pick, const char *format,
		int (*each)(const struct frames_taken *, void *), void *ctx)
{
	struct taking k = {format, each, ctx, 0, false};
	int rc = 0;
	if (pick->nat)
		rc = video_frames_at(path, pick->at, pick->nat, 0, take_one, &k);
	if (rc == 0 && !k.rc && pick->every_set)
		rc = video_frames_every(path, pick->every, 0, take_one, &k);
	if (rc == 0 && !k.rc && pick->first)
		rc = video_frame_first(path, 0, take_one, &k);
	if (rc == 0 && !k.rc && pick->last)
		rc = video_frame_last(path, 0, take_one, &k);
	if (rc < 0)
		return error_prefix("%s", path);
	return k.failed ? -1 : k.rc;
}
