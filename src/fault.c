/* fault: named crash points (see fault.h). The variable is read once;
 * a point costs one string comparison when it is set and one pointer
 * test when it is not. */
#include "fault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

/* Every point there is, as literal names, sorted: tests/crash.sh reads
 * this table (and the literal fault_point() calls, which must be in it)
 * against troupe(1). Some names are composed at run time (merge's
 * "<prefix>-staged"); so that none escapes the table, a point reached
 * while TROUPE_FAULT is set whose name is not here ends troupe. */
static const char *const fault_names[] = {
    "add-before-commit",   "add-committed",	   "add-linked",
    "add-staged",	   "cache-segment-synced", "fsck-repair-removed",
    "gc-before-commit",	   "gc-committed",	   "gc-unlinked",
    "import-after-commit", "import-before-commit", "import-staged",
    "pull-after-commit",   "pull-before-commit",   "pull-blob",
    "pull-staged",	   "push-after-manifest",  "push-before-manifest",
    "push-blob",	   "sync-start",
};

static const char *armed;
static size_t armed_len;
static unsigned long armed_nth = 1;
static unsigned long hits;
static int read_env;

static void fault_read_env(void)
{
	read_env = 1;
	const char *env = getenv("TROUPE_FAULT");
	if (!env || !*env)
		return;
	const char *at = strchr(env, '@');
	armed_len = at ? (size_t)(at - env) : strlen(env);
	if (at) {
		char *end;
		unsigned long n = strtoul(at + 1, &end, 10);
		if (*end || n == 0)
			return;
		armed_nth = n;
	}
	armed = env;
}

void fault_point(const char *name)
{
	if (!read_env)
		fault_read_env();
	if (!armed)
		return;
	size_t i = 0;
	while (i < sizeof(fault_names) / sizeof(*fault_names) && strcmp(fault_names[i], name) != 0)
		i++;
	if (i == sizeof(fault_names) / sizeof(*fault_names)) {
		fprintf(stderr, "troupe: fault point %s is not in src/fault.c's table\n", name);
		_exit(EX_SOFTWARE);
	}
	if (strlen(name) != armed_len || memcmp(name, armed, armed_len) != 0)
		return;
	if (++hits == armed_nth)
		_exit(FAULT_EXIT);
}
