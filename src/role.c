/* role: the tables of asset roles and element kinds, and their checks.
 * Kept apart from asset so that profile, which sits below the catalog
 * rooms, can validate the roles and kinds a profile names without
 * reaching up; it must never grow state. */
#include "config.h"

#include "role.h"

#include <string.h>

const char *const role_names[] = {"sheet",     "face",	    "turnaround", "expression",
				  "costume",   "pose",	    "prop",	  "location",
				  "reference", "generated", NULL};

bool role_valid(const char *role)
{
	for (const char *const *r = role_names; *r; r++)
		if (strcmp(*r, role) == 0)
			return true;
	return false;
}

const char *const element_kinds[] = {"character", "location", "prop", "style", NULL};

int element_kind_index(const char *kind)
{
	for (int i = 0; element_kinds[i]; i++)
		if (strcmp(element_kinds[i], kind) == 0)
			return i;
	return -1;
}
