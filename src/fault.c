/* fault: named crash points (see fault.h). The variable is read once;
 * a point costs one string comparison when it is set and one pointer
 * test when it is not. */
#include "fault.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	if (!armed || strlen(name) != armed_len || memcmp(name, armed, armed_len) != 0)
		return;
	if (++hits == armed_nth)
		_exit(FAULT_EXIT);
}
