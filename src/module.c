/* module: dlopen of troupe's modules. A module reaches the program only
 * through the host table handed to its one exported init function; the
 * program is not linked to export anything to it. */
#define _GNU_SOURCE
#include "config.h"

#include "module.h"
#include "util.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef MODULE_DIR
#define MODULE_DIR "/usr/local/lib/troupe"
#endif

/* The places a module is looked for, first found wins: $TROUPE_MODULE_DIR,
 * libtool's .libs/ beside the running program and the program's own
 * directory (a build tree, used without make install), then the installed
 * module directory. The caller frees each entry. */
enum { MODULE_CANDIDATES = 4 };
static void candidates_for(const char *file, char *candidates[MODULE_CANDIDATES])
{
	const char *env = getenv("TROUPE_MODULE_DIR");
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	memset(candidates, 0, MODULE_CANDIDATES * sizeof(*candidates));
	if (env && *env)
		candidates[0] = xasprintf("%s/%s", env, file);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			candidates[1] = xasprintf("%s/.libs/%s", self, file);
			candidates[2] = xasprintf("%s/%s", self, file);
		}
	}
	candidates[3] = xasprintf("%s/%s", MODULE_DIR, file);
}

const void *module_load(const char *file, const struct module_host *host, int version)
{
	struct strbuf tried = STRBUF_INIT;
	char *candidates[MODULE_CANDIDATES];
	candidates_for(file, candidates);
	void *handle = NULL;
	for (size_t i = 0; i < MODULE_CANDIDATES && !handle; i++) {
		if (!candidates[i] || access(candidates[i], R_OK) != 0)
			continue;
		handle = dlopen(candidates[i], RTLD_NOW | RTLD_LOCAL);
		if (!handle) {
			const char *why = dlerror();
			sb_addf(&tried, "%s%s", tried.len ? "; " : "", why ? why : candidates[i]);
		}
	}
	for (size_t i = 0; i < MODULE_CANDIDATES; i++)
		free(candidates[i]);
	if (!handle) {
		error_set(EX_SOFTWARE, "cannot load the module %s (%s)", file,
			  tried.len ? tried.buf : "not found");
		sb_release(&tried);
		return NULL;
	}
	sb_release(&tried);
	/* POSIX (not ISO C) lets dlsym's pointer be converted to a function. */
	module_init_fn *init = (module_init_fn *)dlsym(handle, MODULE_INIT_SYMBOL);
	const int *table = init ? init(host) : NULL;
	if (!table || *table != version) {
		dlclose(handle);
		error_set(EX_SOFTWARE, "the module %s does not match this troupe", file);
		return NULL;
	}
	return table;
}
