/* fuzz-jpeg-thumbnail: image_thumbnail() on any bytes that start as a JPEG
 * does, written to a file of their own, so that they reach the JPEG path
 * of the image module (image-jpeg.c: the header, the EXIF orientation, the
 * scaled decode, the shrink and the encode). A made thumbnail must keep
 * image.h's promises: a JPEG no larger than the box, at least a pixel; a
 * refusal is EX_DATAERR. The pixel limit is lowered so that a header
 * claiming a big picture is refused, as a bomb would be, rather than
 * decoded for seconds. The module is loaded from the build tree before
 * the first input, so its coverage counts. */
#include "config.h"

#include "fuzz.h"
#include "image.h"
#include "util.h"

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
	setenv("TROUPE_MAX_MEGAPIXELS", "4", 1);
	const char *tmp = getenv("TMPDIR");
	input_path = xasprintf("%s/troupe-fuzz-jpeg-%ld.jpg", tmp && *tmp ? tmp : "/tmp",
			       (long)getpid());
	atexit(remove_input);
	struct image_buffer thumb;
	uint64_t phash;
	/* Loads the module now: a missing file is refused after loading. */
	image_thumbnail(input_path, IMAGE_THUMB_SIDE, &thumb, &phash);
	error_clear();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Only what libvips would also call a JPEG: the rest is its path. */
	if (size < 2 || data[0] != 0xFF || data[1] != 0xD8)
		return 0;
	int fd = open(input_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, data, size) < 0 || close(fd) < 0)
		abort();
	struct image_buffer thumb;
	uint64_t phash = 0;
	if (image_thumbnail(input_path, IMAGE_THUMB_SIDE, &thumb, &phash) < 0) {
		FUZZ_CHECK(error_code() == EX_DATAERR);
		FUZZ_CHECK(thumb.data == NULL);
		error_clear();
		return 0;
	}
	FUZZ_CHECK(thumb.data && thumb.len > 0);
	FUZZ_CHECK(thumb.width >= 1 && thumb.width <= IMAGE_THUMB_SIDE);
	FUZZ_CHECK(thumb.height >= 1 && thumb.height <= IMAGE_THUMB_SIDE);
	FUZZ_CHECK(!strcmp(thumb.format, "jpeg"));
	const uint8_t *bytes = thumb.data;
	FUZZ_CHECK(thumb.len > 4 && bytes[0] == 0xFF && bytes[1] == 0xD8);
	image_buffer_clear(&thumb);
	return 0;
}
