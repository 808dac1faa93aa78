/* Unit tests for the video room against clips made here with Debian's
 * ffmpeg (the whole file is skipped without it): probe figures, frames
 * at times and at a rate, the exact last frame, rotation, and the files
 * and limits the room must refuse. Each check names the rule it would
 * catch breaking. */
#include "config.h"

#include "image.h"
#include "phash.h"
#include "tap.h"
#include "util.h"
#include "video.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *dir;

/* Runs an ffmpeg command line (arguments after "ffmpeg") in dir. */
static int ffmpeg(const char *args)
{
	char *cmd =
	    xasprintf("cd '%s' && ffmpeg -nostdin -hide_banner -loglevel error -y %s", dir, args);
	int rc = system(cmd);
	free(cmd);
	return rc;
}

static char *clip(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

struct seen {
	size_t n;
	double t[64];
	int64_t index[64];
	int width, height;
	double red[64], blue[64]; /* mean channel values */
	int left_red, right_red;  /* the last frame's red at a quarter and at three */
};

static int record(const struct video_frame *f, void *ctx)
{
	struct seen *s = ctx;
	if (s->n >= 64)
		return 1;
	double r = 0, b = 0;
	size_t px = (size_t)f->width * f->height;
	for (size_t i = 0; i < px; i++) {
		r += f->rgb[3 * i];
		b += f->rgb[3 * i + 2];
	}
	s->t[s->n] = f->t;
	s->index[s->n] = f->index;
	s->red[s->n] = r / (double)px;
	s->blue[s->n] = b / (double)px;
	s->width = f->width;
	s->height = f->height;
	size_t mid = (size_t)f->height / 2 * f->width;
	s->left_red = f->rgb[3 * (mid + (size_t)f->width / 4)];
	s->right_red = f->rgb[3 * (mid + (size_t)f->width * 3 / 4)];
	s->n++;
	return 0;
}

static void write_file(const char *name, const void *data, size_t len)
{
	char *path = clip(name);
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(data, 1, len, f);
		fclose(f);
	}
	free(path);
}

/* The first n bytes of a clip as another file. */
static void truncate_copy(const char *from, const char *to, long keep)
{
	char *cmd = xasprintf("cd '%s' && head -c %ld %s > %s", dir, keep, from, to);
	if (system(cmd) != 0)
		printf("# %s failed\n", cmd);
	free(cmd);
}

static void refused(const char *name, const char *why_part, const char *rule)
{
	struct video_info info;
	char *path = clip(name);
	int rc = video_probe(path, &info);
	ok(rc < 0 && error_code() == EX_DATAERR && strstr(error_message(), why_part), "%s: %s",
	   rule, rc < 0 ? error_message() : "accepted");
	free(path);
}

int main(void)
{
	tap_find_modules();
	if (system("ffmpeg -version >/dev/null 2>&1") != 0) {
		printf("1..0 # SKIP ffmpeg is not installed\n");
		return 0;
	}
	/* In $TMPDIR, as the other unit tests' scratch directories are. */
	char *tmpl = temp_template("video");
	dir = mkdtemp(tmpl);
	ok_or_bail(dir, "a scratch directory");
	/* 2 s of red then 2 s of blue at 25 fps, one keyframe: frames past
	 * the first can only be reached by decoding forward from it. */
	ok_or_bail(ffmpeg("-f lavfi -i color=c=red:s=320x240:r=25:d=2 -f lavfi -i "
			  "color=c=blue:s=320x240:r=25:d=2 -filter_complex concat=n=2:v=1 "
			  "-c:v libx264 -g 1000 -pix_fmt yuv420p rb.mp4") == 0,
		   "ffmpeg makes a red-then-blue clip");
	/* 2 s of red and one blue frame at the very end. */
	ok_or_bail(ffmpeg("-f lavfi -i color=c=red:s=320x240:r=25:d=2 -f lavfi -i "
			  "color=c=blue:s=320x240:r=25:d=0.04 -filter_complex concat=n=2:v=1 "
			  "-c:v libx264 -g 1000 -pix_fmt yuv420p tail.mp4") == 0,
		   "ffmpeg makes a clip whose last frame alone is blue");
	ok_or_bail(ffmpeg("-f lavfi -i color=c=red:s=320x240:r=30:d=1 -c:v libvpx-vp9 -b:v 100k "
			  "vp9.webm") == 0,
		   "ffmpeg makes a VP9 WebM");
	/* Red above blue, stored with a display matrix that asks for a turn
	 * a quarter anticlockwise: upright, red is on the left. */
	ok_or_bail(ffmpeg("-f lavfi -i color=c=red:s=320x240:r=25:d=1 -f lavfi -i "
			  "color=c=blue:s=320x120:r=25:d=1 -filter_complex '[0][1]overlay=0:120' "
			  "-c:v libx264 -pix_fmt yuv420p halves.mp4 && ffmpeg -nostdin -loglevel "
			  "error -y -i halves.mp4 -c copy -metadata:s:v:0 rotate=90 turned.mov") ==
		       0,
		   "ffmpeg makes a MOV with a display matrix");

	struct video_info info;
	char *rb = clip("rb.mp4");
	ok(video_probe(rb, &info) == 0, "probe reads an H.264 MP4 (%s)",
	   info.codec[0] ? info.codec : error_message());
	ok(fabs(info.duration - 4.0) < 0.05, "probe: duration 4 s (%.3f)", info.duration);
	ok(fabs(info.fps - 25) < 0.01, "probe: 25 fps (%.3f)", info.fps);
	ok(info.width == 320 && info.height == 240, "probe: 320 x 240 (%d x %d)", info.width,
	   info.height);
	is_str(info.codec, "h264", "probe: codec h264");
	is_str(info.container, "mp4", "probe: container mp4");
	ok(info.frames == 100, "probe: 100 frames (%lld)", (long long)info.frames);
	ok(!info.has_audio, "probe: no audio");

	struct seen s = {0};
	double times[] = {3.0, 1.0, 0.0};
	ok(video_frames_at(rb, times, 3, 0, record, &s) == 0 && s.n == 3,
	   "frames_at gives one frame per time asked (%zu)", s.n);
	ok(s.n == 3 && s.t[0] == 0 && fabs(s.t[1] - 1.0) < 1e-6 && fabs(s.t[2] - 3.0) < 1e-6,
	   "frames_at sorts the times and finds each exactly (%g %g %g)", s.t[0], s.t[1], s.t[2]);
	ok(s.n == 3 && s.red[1] > 200 && s.blue[2] > 200 && s.red[2] < 50,
	   "frames_at: red at 1 s, blue at 3 s");
	ok(s.n == 3 && s.index[2] == 75, "frames_at: the frame at 3 s is number 75 (%lld)",
	   (long long)s.index[2]);
	memset(&s, 0, sizeof(s));
	double between[] = {1.01, 1.03};
	ok(video_frames_at(rb, between, 2, 0, record, &s) == 0 && s.n == 2 &&
	       fabs(s.t[0] - 1.0) < 1e-6 && fabs(s.t[1] - 1.04) < 1e-6,
	   "frames_at takes the nearest frame on either side (%g, %g)", s.t[0], s.t[1]);
	memset(&s, 0, sizeof(s));
	double late[] = {99};
	ok(video_frames_at(rb, late, 1, 0, record, &s) == 0 && s.n == 1 &&
	       fabs(s.t[0] - 3.96) < 1e-6,
	   "a time past the end gives the last frame (%g)", s.t[0]);
	double negative[] = {-1};
	ok(video_frames_at(rb, negative, 1, 0, record, &s) < 0 && error_code() == EX_USAGE,
	   "a negative time is a usage error");

	memset(&s, 0, sizeof(s));
	ok(video_frames_every(rb, 0.5, 100, record, &s) == 0 && s.n == 8,
	   "frames_every 0.5 s over 4 s gives 8 frames (%zu)", s.n);
	/* 3.5 s falls between frames 87 and 88; the walk takes the first
	 * within half a frame of it. */
	ok(s.n == 8 && fabs(s.t[7] - 3.48) < 1e-6 && s.index[7] == 87,
	   "frames_every: the eighth at 3.48 s, frame 87 (%g, %lld)", s.t[7],
	   (long long)s.index[7]);
	ok(s.width == 100 && s.height == 75, "max_side scales the longest side (%d x %d)", s.width,
	   s.height);

	char *tail = clip("tail.mp4");
	memset(&s, 0, sizeof(s));
	ok(video_frame_last(tail, 0, record, &s) == 0 && s.n == 1, "frame_last gives one frame");
	ok(s.n == 1 && s.blue[0] > 200 && fabs(s.t[0] - 2.0) < 1e-6 && s.index[0] == 50,
	   "frame_last is the exact last frame, not the last keyframe (t %g, #%lld)", s.t[0],
	   (long long)s.index[0]);
	memset(&s, 0, sizeof(s));
	ok(video_frame_first(tail, 0, record, &s) == 0 && s.n == 1 && s.red[0] > 200 &&
	       s.t[0] == 0 && s.index[0] == 0,
	   "frame_first is frame 0");

	char *vp9 = clip("vp9.webm");
	ok(video_probe(vp9, &info) == 0 && !strcmp(info.codec, "vp9") &&
	       !strcmp(info.container, "webm") && fabs(info.fps - 30) < 0.01,
	   "probe reads a VP9 WebM (%s, %s, %.2f fps)", info.codec, info.container, info.fps);
	char *turned = clip("turned.mov");
	ok(video_probe(turned, &info) == 0 && info.width == 240 && info.height == 320,
	   "a display matrix turns the size (%d x %d)", info.width, info.height);
	memset(&s, 0, sizeof(s));
	ok(video_frame_first(turned, 0, record, &s) == 0 && s.width == 240 && s.height == 320 &&
	       s.left_red > 200 && s.right_red < 50,
	   "frames come out upright, as ffmpeg shows them (%d x %d, red %d left, %d right)",
	   s.width, s.height, s.left_red, s.right_red);

	/* Files the room must refuse, each before anything is decoded. */
	write_file("empty.mp4", "", 0);
	refused("empty.mp4", "empty", "a zero-byte file");
	write_file("text.mp4", "this is not a video at all\n", 27);
	refused("text.mp4", "not a video", "a text file named .mp4");
	truncate_copy("rb.mp4", "cut.mp4", 3000);
	refused("cut.mp4", "truncated", "a truncated MP4");
	ok(ffmpeg("-f lavfi -i color=c=red:s=64x64:r=25:d=1 -c:v libx264 -movflags +faststart "
		  "fast.mp4") == 0,
	   "ffmpeg makes a faststart MP4");
	/* The moov box comes before mdat here: cut at the mdat's start. */
	char *fast = clip("fast.mp4");
	FILE *f = fopen(fast, "rb");
	free(fast);
	unsigned char buf[1 << 16];
	size_t got = f ? fread(buf, 1, sizeof(buf), f) : 0;
	if (f)
		fclose(f);
	size_t off = 0, mdat = 0;
	while (off + 8 <= got) {
		size_t len =
		    (size_t)buf[off] << 24 | buf[off + 1] << 16 | buf[off + 2] << 8 | buf[off + 3];
		if (!memcmp(buf + off + 4, "mdat", 4)) {
			mdat = off;
			break;
		}
		if (len < 8)
			break;
		off += len;
	}
	ok(mdat > 0, "the faststart MP4 has an mdat box");
	/* Without moov: ftyp, then mdat as it was. */
	unsigned char *nomoov = xmalloc(got);
	size_t ftyp = (size_t)buf[0] << 24 | buf[1] << 16 | buf[2] << 8 | buf[3];
	memcpy(nomoov, buf, ftyp);
	memcpy(nomoov + ftyp, buf + mdat, got - mdat);
	write_file("nomoov.mp4", nomoov, ftyp + got - mdat);
	free(nomoov);
	refused("nomoov.mp4", "no moov", "an MP4 without its moov box");
	/* The mdat box says it is 1 GB. */
	unsigned char *lying = xmalloc(got);
	memcpy(lying, buf, got);
	lying[mdat] = 0x40;
	write_file("lying.mp4", lying, got);
	free(lying);
	refused("lying.mp4", "past the end", "an MP4 lying about its size");
	truncate_copy("vp9.webm", "cut.webm", 800);
	refused("cut.webm", "truncated", "a truncated WebM");

	ok(ffmpeg("-f lavfi -i color=c=red:s=8200x16:r=1:d=1 -c:v libx264 -pix_fmt yuv420p "
		  "wide.mp4") == 0,
	   "ffmpeg makes a clip 8200 pixels wide");
	refused("wide.mp4", "8192", "a frame over 8192 pixels a side");
	setenv("TROUPE_MAX_MEGAPIXELS", "0.05", 1);
	refused("rb.mp4", "megapixels", "frames over image_max_pixels()");
	unsetenv("TROUPE_MAX_MEGAPIXELS");
	ok(ffmpeg("-f lavfi -i color=c=red:s=32x32:r=1:d=601 -c:v libx264 -pix_fmt yuv420p "
		  "long.mp4") == 0,
	   "ffmpeg makes a clip of 601 s");
	refused("long.mp4", "up to 600", "a clip over 10 minutes");
	ok(ffmpeg("-f lavfi -i color=c=red:s=64x64:r=25:d=1 -c:v mpeg4 mp4v.mp4") == 0,
	   "ffmpeg makes an MPEG-4 part 2 clip");
	refused("mp4v.mp4", "not one troupe decodes", "a codec off the list");
	ok(ffmpeg("-f lavfi -i color=c=red:s=64x64:r=25:d=1 -c:v libx264 clip.avi") == 0,
	   "ffmpeg makes an AVI");
	refused("clip.avi", "not a video", "a container off the list");

	/* A frame's pixels go to the image room as a file's do. */
	enum { W = 300, H = 200 };
	uint8_t *px = xmalloc((size_t)W * H * 3);
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			uint8_t *p = px + ((size_t)y * W + x) * 3;
			p[0] = (uint8_t)(x * 255 / W);
			p[1] = (uint8_t)(y * 255 / H);
			p[2] = (uint8_t)((x / 30 + y / 30) % 2 ? 220 : 30);
		}
	struct image_buffer png, thumb, file_thumb;
	uint64_t hash = 0, file_hash = 1;
	ok(image_encode_rgb(px, W, H, "png", 0, &png) == 0 && png.width == W &&
	       !strcmp(png.format, "png") && png.len > 8 && !memcmp(png.data, "\x89PNG", 4),
	   "image_encode_rgb makes a PNG of RGB24 pixels");
	write_file("frame.png", png.data, png.len);
	char *frame_png = clip("frame.png");
	struct image_info pinfo;
	ok(image_probe(frame_png, &pinfo) == 0 && pinfo.width == W && pinfo.height == H,
	   "the PNG reads back as %d x %d", W, H);
	ok(image_thumbnail_rgb(px, W, H, 64, &thumb, &hash) == 0 && thumb.width == 64 &&
	       thumb.height == 43 && !strcmp(thumb.format, "jpeg"),
	   "image_thumbnail_rgb: a JPEG at most 64 a side (%d x %d)", thumb.width, thumb.height);
	ok(image_thumbnail(frame_png, 64, &file_thumb, &file_hash) == 0 &&
	       phash_distance(hash, file_hash) <= 2,
	   "its pHash is the file's (distance %d)", phash_distance(hash, file_hash));
	image_buffer_clear(&png);
	ok(image_encode_rgb(px, W, H, "gif", 0, &png) < 0 && error_code() == EX_USAGE,
	   "image_encode_rgb takes jpeg or png only");
	image_buffer_clear(&thumb);
	image_buffer_clear(&file_thumb);
	free(frame_png);
	free(px);

	free(rb);
	free(tail);
	free(vp9);
	free(turned);
	video_shutdown();
	image_shutdown();
	char *rm = xasprintf("rm -rf '%s'", dir);
	if (system(rm) != 0)
		printf("# cannot remove %s\n", dir);
	free(rm);
	free(tmpl);
	return tap_done();
}
