/* module: dlopen of troupe's modules. A module resolves troupe's own
 * functions (errors, allocation) from the program, which exports them. */
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

const void *module_load(const char *file, const char *symbol, int version)
{
	struct strbuf tried = STRBUF_INIT;
	const char *env = getenv("TROUPE_MODULE_DIR");
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *candidates[3] = {NULL, NULL, NULL};
	if (env && *env)
		candidates[0] = xasprintf("%s/%s", env, file);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			candidates[1] = xasprintf("%s/%s", self, file);
		}
	}
	candidates[2] = xasprintf("%s/%s", MODULE_DIR, file);
	void *handle = NULL;
	for (size_t i = 0; i < 3 && !handle; i++) {
		if (!candidates[i] || access(candidates[i], R_OK) != 0)
			continue;
		handle = dlopen(candidates[i], RTLD_NOW | RTLD_LOCAL);
		if (!handle) {
			const char *why = dlerror();
			sb_addf(&tried, "%s%s", tried.len ? "; " : "", why ? why : candidates[i]);
		}
	}
	for (size_t i = 0; i < 3; i++)
		free(candidates[i]);
	if (!handle) {
		error_set(EX_SOFTWARE, "cannot load the module %s (%s)", file,
			  tried.len ? tried.buf : "not found");
		sb_release(&tried);
		return NULL;
	}
	sb_release(&tried);
	const int *table = dlsym(handle, symbol);
	if (!table || *table != version) {
		dlclose(handle);
		error_set(EX_SOFTWARE, "the module %s does not match this troupe", file);
		return NULL;
	}
	return table;
}
