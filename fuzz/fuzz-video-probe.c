/* fuzz-video-probe: video_probe() on any bytes, written to a file of
 * their own (the video room reads only files), then the first frame of
 * whatever the probe accepts. An accepted file must keep video.h's
 * promises: a duration, a frame rate and a size inside the limits and a
 * codec on the list; a refusal is EX_DATAERR. The module is loaded from
 * the build tree before the first input, so its coverage counts. */
#include "config.h"

#include "fuzz.h"
#include "util.h"
#include "video.h"

#include <fcntl.h>
#include <unistd.h>

static char *input_path;

static void remove_input(void)
{
	unlink(input_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("TROUPE_MODULE_DIR", TROUPE_BUILDDIR "/.libs", 0);
	const char *tmp = getenv("TMPDIR");
	input_path = xasprintf("%s/troupe-fuzz-video-%ld.mp4", tmp && *tmp ? tmp : "/tmp",
			       (long)getpid());
	atexit(remove_input);
	struct video_info info;
	/* Loads the module now: a missing file is refused after loading. */
	video_probe(input_path, &info);
	error_clear();
	return 0;
}

static int count_frame(const struct video_frame *f, void *ctx)
{
	FUZZ_CHECK(f->width >= 1 && f->height >= 1 && f->width <= 64 && f->height <= 64);
	FUZZ_CHECK(f->t >= 0);
	(*(int *)ctx)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = open(input_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, data, size) < 0 || close(fd) < 0)
		abort();
	struct video_info info;
	if (video_probe(input_path, &info) < 0) {
		FUZZ_CHECK(error_code() == EX_DATAERR);
		error_clear();
		return 0;
	}
	FUZZ_CHECK(info.duration > 0 && info.duration <= VIDEO_MAX_SECONDS);
	FUZZ_CHECK(info.fps > 0 && info.fps <= 1000);
	FUZZ_CHECK(info.width >= 1 && info.width <= VIDEO_MAX_SIDE);
	FUZZ_CHECK(info.height >= 1 && info.height <= VIDEO_MAX_SIDE);
	FUZZ_CHECK(info.frames >= 0 && info.frames <= VIDEO_MAX_DECODED);
	static const char *const codecs[] = {"h264", "hevc", "vp8", "vp9", "av1"};
	bool listed = false;
	for (size_t i = 0; i < sizeof(codecs) / sizeof(*codecs); i++)
		listed = listed || !strcmp(info.codec, codecs[i]);
	FUZZ_CHECK(listed);
	FUZZ_CHECK(!strcmp(info.container, "mp4") || !strcmp(info.container, "webm") ||
		   !strcmp(info.container, "mkv"));
	int frames = 0;
	if (video_frame_first(input_path, 64, count_frame, &frames) < 0) {
		FUZZ_CHECK(error_code() == EX_DATAERR);
		error_clear();
	} else {
		FUZZ_CHECK(frames == 1);
	}
	return 0;
}
