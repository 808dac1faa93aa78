/* video: the front of the video room. What needs no decoder (telling a
 * container by its first bytes) is here; the FFmpeg parts are in a module
 * loaded on the first call that needs them, so a command that never
 * touches a video never loads libavformat. */
#include "config.h"

#include "image.h"
#include "module.h"
#include "util.h"
#include "video.h"

#include <pthread.h>
#include <string.h>

/* What troupe-video.so may call in the program: util's entries and the
 * pixel limit it holds frames to. */
static const struct module_host video_host = {
    MODULE_HOST_UTIL,
    .image_max_pixels = image_max_pixels,
};

static const struct video_ops *ops;
/* add's workers may be the first to need a decoder, several at once. */
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

static int load(void)
{
	pthread_mutex_lock(&load_lock);
	if (!ops)
		ops = module_load("troupe-video.so", &video_host, VIDEO_OPS_VERSION);
	const struct video_ops *loaded = ops;
	pthread_mutex_unlock(&load_lock);
	return loaded ? 0 : -1;
}

int video_probe(const char *path, struct video_info *out)
{
	memset(out, 0, sizeof(*out));
	return load() < 0 ? -1 : ops->probe(path, out);
}

int video_frames_at(const char *path, const double *times, size_t n, int max_side,
		    video_frame_fn *each, void *ctx)
{
	return load() < 0 ? -1 : ops->frames_at(path, times, n, max_side, each, ctx);
}

int video_frames_every(const char *path, double interval, int max_side, video_frame_fn *each,
		       void *ctx)
{
	if (!(interval >= 0))
		return error_set(EX_USAGE, "the interval between frames must be 0 or more seconds");
	return load() < 0 ? -1 : ops->frames_every(path, interval, max_side, each, ctx);
}

int video_frame_first(const char *path, int max_side, video_frame_fn *each, void *ctx)
{
	return load() < 0 ? -1 : ops->frame_first(path, max_side, each, ctx);
}

int video_frame_last(const char *path, int max_side, video_frame_fn *each, void *ctx)
{
	return load() < 0 ? -1 : ops->frame_last(path, max_side, each, ctx);
}

int video_poster(const char *path, int max_side, video_frame_fn *each, void *ctx)
{
	return load() < 0 ? -1 : ops->poster(path, max_side, each, ctx);
}

void video_shutdown(void)
{
	if (ops)
		ops->shutdown();
}
