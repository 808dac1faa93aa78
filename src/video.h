/* video: what troupe asks of FFmpeg's libraries. The decoding lives in a
 * module (video-ffmpeg.c, built as troupe-video.so) loaded on first use,
 * so commands that touch no video never load libavformat. Every file is
 * untrusted: local files only, a whitelist of demuxers and decoders,
 * limits checked before decoding, a deadline on every call. */
#ifndef TROUPE_VIDEO_H
#define TROUPE_VIDEO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct video_info {
	double duration;    /* seconds */
	double fps;	    /* average frame rate of the video stream */
	int width, height;  /* as displayed (rotation metadata applied) */
	char codec[16];	    /* "h264", "hevc", "vp8", "vp9", "av1" */
	char container[16]; /* "mp4" (MP4/MOV), "webm", "mkv" */
	int64_t frames;	    /* frame count when the container says, else estimate */
	bool has_audio;
};
/* Header and stream parameters only: no frame decoded. -1 with an
 * EX_DATAERR error for anything that is not a complete video troupe
 * accepts (truncated, no moov, text named .mp4, zero bytes, a codec or
 * container off the list, over the limits). */
int video_probe(const char *path, struct video_info *out);

/* One decoded frame, packed RGB24 (stride = width * 3), upright, scaled so
 * its longest side is at most the max_side asked for (0: as decoded). */
struct video_frame {
	const uint8_t *rgb;
	int width, height;
	double t;      /* its presentation time, seconds from the start */
	int64_t index; /* its number among the decoded frames, from 0 */
};
/* Called once per frame; a non-zero return stops the walk (not an error). */
typedef int video_frame_fn(const struct video_frame *f, void *ctx);

/* The frames nearest to each of times[0..n) (seconds, any order; sorted
 * inside), decoded exactly (seek to the keyframe before, decode forward). */
int video_frames_at(const char *path, const double *times, size_t n, int max_side,
		    video_frame_fn *each, void *ctx);
/* One frame every interval seconds from the start (interval 0: every frame),
 * in one sequential decode. */
int video_frames_every(const char *path, double interval, int max_side, video_frame_fn *each,
		       void *ctx);
/* The first and the exact last decoded frame (not the last keyframe). */
int video_frame_first(const char *path, int max_side, video_frame_fn *each, void *ctx);
int video_frame_last(const char *path, int max_side, video_frame_fn *each, void *ctx);

/* A representative frame for a poster: not a black or flat first frame
 * (e.g. the frame of highest luma variance among a few candidates spread
 * over the clip). */
int video_poster(const char *path, int max_side, video_frame_fn *each, void *ctx);

void video_shutdown(void);

/* The limits every file is held to before a frame is decoded: at most
 * VIDEO_MAX_SECONDS long, VIDEO_MAX_SIDE pixels a side and
 * image_max_pixels() a frame; a call decodes at most VIDEO_MAX_DECODED
 * frames and gives up after VIDEO_DEADLINE_SECONDS of wall time. */
#define VIDEO_MAX_SECONDS      600
#define VIDEO_MAX_SIDE	       8192
#define VIDEO_MAX_DECODED      100000
#define VIDEO_DEADLINE_SECONDS 120

/* Whether the first bytes of a file (at least 12 of them) are those of
 * a container the video room reads (MP4/QuickTime, Matroska/WebM); sets
 * *format to "mp4", "mov" or "webm" (the asset's format) when they are. Inline: the
 * program and the module both need it, and a module calls no function of
 * the program but through its host table. */
static inline bool video_sniff(const unsigned char *head, size_t len, const char **format)
{
	static const unsigned char ebml[4] = {0x1A, 0x45, 0xDF, 0xA3};
	/* HEIF and AVIF pictures are ISO boxes too; their brands say so. */
	static const char still_brands[][5] = {"heic", "heix", "heim", "heis", "hevc",
					       "hevx", "mif1", "msf1", "avif", "avis"};
	for (size_t i = 0; len >= 12 && i < sizeof(still_brands) / sizeof(*still_brands); i++)
		if (memcmp(head + 8, still_brands[i], 4) == 0)
			return false;
	if (len >= 12 && memcmp(head + 4, "ftyp", 4) == 0) {
		*format = memcmp(head + 8, "qt  ", 4) == 0 ? "mov" : "mp4";
		return true;
	}
	if (len >= 4 && memcmp(head, ebml, 4) == 0) {
		*format = "webm";
		return true;
	}
	return false;
}

/* The module's interface: one table, checked by version. */
#define VIDEO_OPS_VERSION 1
struct video_ops {
	int version;
	int (*probe)(const char *path, struct video_info *out);
	int (*frames_at)(const char *path, const double *times, size_t n, int max_side,
			 video_frame_fn *each, void *ctx);
	int (*frames_every)(const char *path, double interval, int max_side, video_frame_fn *each,
			    void *ctx);
	int (*frame_first)(const char *path, int max_side, video_frame_fn *each, void *ctx);
	int (*frame_last)(const char *path, int max_side, video_frame_fn *each, void *ctx);
	int (*poster)(const char *path, int max_side, video_frame_fn *each, void *ctx);
	void (*shutdown)(void);
};

#endif
