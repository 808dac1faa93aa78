/* selection: user words to assets. Only lookups through the catalog
 * live here: no SQL, no printing, no options. */
#include "config.h"

#include "asset.h"
#include "character.h"
#include "selection.h"
#include "store.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int selection_of(struct catalog *cat, const char *what, struct selection *out)
{
	memset(out, 0, sizeof(*out));
	if (!what || !*what) {
		out->query = xstrdup("");
		out->title = xstrdup("All assets");
		out->subtitle = xstrdup("");
		return 0;
	}
	if (catalog_slug_check(what) == 0 || !strchr(what, ':')) {
		struct character *c = catalog_character_get(cat, what);
		if (c) {
			out->query = xasprintf("character:%s", c->slug);
			out->title = xstrdup(c->name);
			out->subtitle = xstrdup(c->description);
			character_free(c);
			return 0;
		}
	}
	error_clear();
	out->query = xstrdup(what);
	out->title = xstrdup(what);
	out->subtitle = xstrdup("");
	return 0;
}

void selection_clear(struct selection *s)
{
	free(s->query);
	free(s->title);
	free(s->subtitle);
	memset(s, 0, sizeof(*s));
}

int selection_asset(struct catalog *cat, const char *text, int64_t *id)
{
	struct stat st;
	if (strchr(text, '/') && stat(text, &st) == 0) {
		char hex[STORE_HASH_HEX + 1];
		if (store_hash_file(text, hex) < 0)
			return -1;
		return catalog_asset_resolve(cat, hex, id);
	}
	return catalog_asset_resolve(cat, text, id);
}
