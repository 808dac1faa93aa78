/* role: the table of asset roles and its check. Kept apart from asset so
 * that profile, which sits below the catalog rooms, can validate the
 * roles a profile names without reaching up; it must never grow state. */
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
