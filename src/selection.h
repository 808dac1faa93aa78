/* selection: how the words a user types name assets — a character's
 * slug or a tag query for the commands that show many, an id, a hash
 * prefix or a file with the same bytes for the ones that take one. It
 * resolves through the catalog and never prints. */
#ifndef TROUPE_SELECTION_H
#define TROUPE_SELECTION_H

#include <stdint.h>

#include "catalog.h"

struct selection {
	char *query;	/* the tag query that selects the assets */
	char *title;	/* the character's name, or the query as typed */
	char *subtitle; /* the character's description, or "" */
};

/* "SLUG or QUERY": a slug or alias of a character selects its assets;
 * anything else (including "" or NULL, every asset) is a query, checked
 * only when it runs. Fills out, which selection_clear frees. */
int selection_of(struct catalog *cat, const char *what, struct selection *out);
void selection_clear(struct selection *s);

/* One asset: by id or hash prefix (see catalog_asset_resolve), or, for
 * text with a '/' that names an existing file, the asset whose blob has
 * that file's bytes. -1 with an error naming what did not match. */
int selection_asset(struct catalog *cat, const char *text, int64_t *id);

#endif
