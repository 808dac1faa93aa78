/* image: everything troupe asks of libvips. Every image is untrusted
 * input: loaders libvips marks untrusted are blocked and only the formats
 * listed in image.c are accepted. */
#ifndef TROUPE_IMAGE_H
#define TROUPE_IMAGE_H

#include <stdint.h>

#define IMAGE_FORMAT_MAX 16

struct image_info {
	int width;
	int height;
	char format[IMAGE_FORMAT_MAX]; /* "jpeg", "png", "webp", ... */
};

/* Starts libvips once per process; -1 with an error if it cannot. */
int image_init(const char *argv0);
void image_shutdown(void);

/* Reads width, height and format from the header only (no pixel decode)
 * and checks the file's structure ends where its format says it must, so
 * a truncated JPEG or PNG is refused. -1 with an error (EX_DATAERR) for
 * anything that is not a complete image of an accepted format. */
int image_probe(const char *path, struct image_info *out);

#endif
