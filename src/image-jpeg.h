/* image-jpeg: the JPEG thumbnail and pHash straight from libjpeg-turbo's
 * scaled decode, inside the pixel module (troupe-image.so). Only the
 * module's files include it; image-vips.c sends JPEGs here first. */
#ifndef TROUPE_IMAGE_JPEG_H
#define TROUPE_IMAGE_JPEG_H

#include <stdbool.h>
#include <stdint.h>

#include "image.h"

/* The thumbnail (longest side at most side, the size libvips' thumbnail
 * would make, upright, as a Q82 JPEG) and the pHash of the JPEG at path.
 * 0 on success; 1, with nothing recorded, for a JPEG this path leaves to
 * libvips (CMYK, or an embedded colour profile libvips would apply); -1
 * with an error (EX_DATAERR) for a picture over the pixel limit, a
 * truncated file, or any decoder warning. */
int jpeg_thumbnail(const char *path, int side, struct image_buffer *thumb, uint64_t *phash);

struct module_host;
/* Keeps the module's host table for this file's calls into the program
 * (each file of the module has its own copy of module-ext.h's pointer);
 * false when it is not one the module was built for. */
bool jpeg_host_accept(const struct module_host *host);

/* True when $TROUPE_IMAGE_DECODER is "vips": every picture goes through
 * libvips (to compare the paths, or to rule this one out). */
bool jpeg_path_disabled(void);

#endif
