/* look: a character's named looks (wardrobe, age, battle damage), each
 * with its own description and negative prompt. A look's assets are the
 * character's assets tagged look:NAME: the tag namespace and the look are
 * one thing, so a query and a mention find the same assets. Nothing here
 * prints. */
#ifndef TROUPE_LOOK_H
#define TROUPE_LOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct catalog;

struct look {
	int64_t id;
	char *character; /* the character's slug */
	char *name;	 /* slug characters, as a mention writes it */
	char *description;
	char *negative;
	int64_t created;
	int64_t assets; /* the character's assets tagged look:NAME */
};
/* Frees l and everything it holds; NULL is a no-op. */
void look_free(struct look *l);

/* A new look of a character (slug or alias; it must be of kind
 * character) from l's name, description and negative (NULL: none). */
int catalog_look_new(struct catalog *cat, const char *character, const struct look *l);
/* The look name of character; NULL with EX_NOINPUT naming both when the
 * character has no such look. Free with look_free(). */
struct look *catalog_look_get(struct catalog *cat, const char *character, const char *name);
/* Every look of character (NULL: of every character), by character and
 * name; *out is the caller's, freed with look_free on each and free. */
int catalog_look_list(struct catalog *cat, const char *character, struct look ***out, size_t *n);
/* Removes the look; its assets stay, and keep their look:NAME tag. */
int catalog_look_rm(struct catalog *cat, const char *character, const char *name);
/* 1 when character (an id) has assets tagged look:name, or the tag
 * itself: a look written as a tag before looks were registered; 0 when
 * not, -1 with an error. */
int catalog_look_tagged(struct catalog *cat, int64_t character_id, const char *name);

#endif
