/* role: the fixed set of roles an asset may have (sheet, face, ...) and
 * of kinds an element may be (character, location, ...), tables low enough that both the catalog
 * rooms and profile can check a role against it. It holds no state, touches no store and never
 * prints. */
#ifndef TROUPE_ROLE_H
#define TROUPE_ROLE_H

#include <stdbool.h>

/* Every role, in the order help text lists them; NULL-terminated. */
extern const char *const role_names[];

/* Whether role (not NULL) is one of role_names, compared exactly. */
bool role_valid(const char *role);

/* Every kind of element, "character" (the default) first; NULL-terminated. */
extern const char *const element_kinds[];

/* The index of kind in element_kinds, or -1 when it is none of them. */
int element_kind_index(const char *kind);

#endif
