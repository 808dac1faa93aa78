/* image-heif: whether a HEVC-coded HEIF file decodes whole, checked inside
 * the image module before libvips decodes it. It never decodes a picture
 * for use. */
#ifndef TROUPE_IMAGE_HEIF_H
#define TROUPE_IMAGE_HEIF_H

#include <stddef.h>

/* 0 when the HEIF file at path decodes whole, or is not HEVC-coded (AVIF
 * is left to libvips); -1 with the reason in why (why_len bytes, a
 * complete sentence fragment) when libde265 reports damage or leaves any
 * pixel unwritten (it would hold stale memory), or when libheif cannot
 * read the file. Decodes the file twice. It reports through why rather
 * than error_set because the host table belongs to image-vips.c. */
int image_heif_check(const char *path, char *why, size_t why_len);

#endif
