/* character: the elements of the store (characters, locations, props and
 * styles, each with its kind), their aliases and their tags. Slugs and
 * every text field are checked here before they reach the index; a slug
 * names one element whatever its kind; nothing here prints. */
#ifndef TROUPE_CHARACTER_H
#define TROUPE_CHARACTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct catalog;

/* Slugs are lower-case ASCII letters, digits and '-', 1 to 64 of them,
 * not starting with '-'; -1 with an EX_DATAERR error otherwise. */
int catalog_slug_check(const char *slug);

struct character {
	int64_t id;
	char *slug;
	char *kind; /* one of element_kinds (role.h); NULL in a new one: "character" */
	char *name;
	char *description;
	char *negative;
	bool has_seed;
	int64_t seed;
	struct strlist tags; /* "ns:value" or "value" */
	struct strlist aliases;
	int64_t created;
	int64_t updated;
	int64_t assets; /* how many assets belong to it */
};
/* Frees c and everything it holds; NULL is a no-op. */
void character_free(struct character *c);

/* Fields of a new element; name defaults to the slug, kind to
 * "character". A slug any element of any kind has is refused, naming
 * that element's kind. */
int catalog_character_new(struct catalog *cat, const struct character *c);
/* By slug, or by alias when no slug matches. NULL with EX_NOINPUT for an
 * unknown character; free with character_free(). */
struct character *catalog_character_get(struct catalog *cat, const char *slug);
/* As catalog_character_get, of one kind: NULL with EX_NOINPUT ("unknown
 * location") when nothing has the slug, with EX_DATAERR when an element
 * of another kind has it. */
struct character *catalog_element_get(struct catalog *cat, const char *slug, const char *kind);
/* Every element of kind (NULL: of every kind), ordered by slug; *out is
 * the caller's to free with character_free on each and free on the array. */
int catalog_character_list(struct catalog *cat, const char *kind, struct character ***out,
			   size_t *n);

struct character_edit {
	const char *slug; /* rename to this; NULL keeps */
	const char *name;
	const char *description;
	const char *negative;
	bool set_seed;
	bool clear_seed;
	int64_t seed;
	struct strlist add_tags, remove_tags, add_aliases, remove_aliases;
};
/* Applies every change of e to the character slug names, in one
 * transaction: all of them or none. */
int catalog_character_edit(struct catalog *cat, const char *slug, const struct character_edit *e);
/* Refuses while assets belong to the character unless force, which
 * removes those asset rows too (their blobs stay until gc). *removed is
 * the number of asset rows removed. */
int catalog_character_rm(struct catalog *cat, const char *slug, bool force, int64_t *removed);
/* The slug a slug-or-alias names; the caller frees it. */
char *catalog_character_slug(struct catalog *cat, const char *slug_or_alias);

#endif
