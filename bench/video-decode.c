/* bench/video-decode: troupe's frame sampling alone, for bench/video.sh:
 * the frames check would score, decoded and scaled through the video
 * room, and nothing done with them, so that it compares with
 * `ffmpeg -vf fps=R,scale=W:H -f null -` on the same clip.
 *
 *   bench/video-decode CLIP RATE MAX_SIDE   (prints the frames decoded)
 */
#include "config.h"

#include "util.h"
#include "video.h"

#include <stdio.h>
#include <stdlib.h>

static int count(const struct video_frame *f, void *ctx)
{
	(void)f;
	(*(size_t *)ctx)++;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s CLIP RATE MAX_SIDE\n", argv[0]);
		return 64;
	}
	double rate = atof(argv[2]);
	size_t n = 0;
	if (!(rate > 0) || video_frames_every(argv[1], 1 / rate, atoi(argv[3]), count, &n) < 0) {
		fprintf(stderr, "video-decode: %s\n", error_message());
		return 1;
	}
	printf("%zu\n", n);
	video_shutdown();
	return 0;
}
