/* fuzz-profile: profile_load_file() on any bytes (it has no in-memory
 * entry point, so the input is written to one temp file under $TMPDIR,
 * made at start-up and removed at exit). A profile that loads is then
 * used as a request would use it (its headers, its base URL) and freed;
 * one that does not must say why with an error. */
#include "config.h"

#include "fuzz.h"
#include "profile.h"
#include "util.h"

#include <unistd.h>

static char *profile_path;

static void remove_profile(void)
{
	unlink(profile_path);
	free(profile_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *tmp = getenv("TMPDIR");
	size_t len = strlen(tmp && *tmp ? tmp : "/tmp") + sizeof("/fuzz-profile-XXXXXX.json");
	profile_path = malloc(len);
	if (!profile_path)
		abort();
	snprintf(profile_path, len, "%s/fuzz-profile-XXXXXX.json", tmp && *tmp ? tmp : "/tmp");
	int fd = mkstemps(profile_path, 5);
	if (fd < 0) {
		perror(profile_path);
		abort();
	}
	close(fd);
	atexit(remove_profile);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fopen(profile_path, "wb");
	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
		abort();
	error_clear();
	struct profile *p = profile_load_file(profile_path);
	if (!p) {
		FUZZ_CHECK(strcmp(error_message(), "unknown error") != 0);
		return 0;
	}
	FUZZ_CHECK(p->name && p->raw && strlen(p->sha256) == 64);
	struct strlist headers = {0};
	profile_headers(p, &headers);
	strlist_clear(&headers);
	if (p->output != PROFILE_TEXT)
		free(profile_base_url(p));
	profile_free(p);
	return 0;
}
