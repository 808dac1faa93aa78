/* page: what the static pages (gallery, board) share: HTML escaping and
 * the files beside a page, each under a name troupe gives it (thumbnails
 * in thumbs/, clips in videos/, named by hash), so that a page loads
 * nothing from anywhere else and a later page can tell troupe's files from
 * the user's. Nothing here prints. */
#ifndef TROUPE_PAGE_H
#define TROUPE_PAGE_H

#include <stdbool.h>

#include "util.h"

struct asset;
struct catalog;

/* Appends text (NULL as "") to sb with & < > " ' escaped, so it is safe
 * in element content and in a quoted attribute alike. */
void page_escape(struct strbuf *sb, const char *text);

/* Writes the asset's thumbnail to DIR/thumbs/HASH.jpg (skipped when the
 * file there already holds those bytes) and adds "HASH.jpg" to written. */
int page_copy_thumbnail(struct catalog *cat, const char *dir, const struct asset *a,
			struct strlist *written);
/* The asset's blob beside the page as DIR/videos/HASH.FORMAT: a hard
 * link when the page is on the store's file system (no copy of a long
 * clip), else a copy; adds "HASH.FORMAT" to written. */
int page_place_video(const char *dir, const struct asset *a, struct strlist *written);

/* A name troupe gives a thumbnail: 32 hex digits and ".jpg". */
bool page_thumbnail_name(const char *name);
/* A name troupe gives a clip: 32 hex digits, a dot and a video format. */
bool page_video_name(const char *name);
/* Removes the files of troupe's names (named) an earlier page left in dir
 * that keep does not hold; files of any other name are the user's and
 * stay. Returns how many could not be removed, the last of them as the
 * recorded error, for the command to warn about: an old file left over
 * does not spoil the page. */
int page_prune(const char *dir, const struct strlist *keep, bool (*named)(const char *));

#endif
