/* troupe export: writes elements, the assets of a query, or shots, with
 * everything they need, as one bundle file (troupe-bundle(5)). Parses
 * options and prints; the manifest is manifest-build.c's, the archive
 * bundle.c's. A bundle written to a file appears whole or not at all. */
#include "config.h"

#include "bundle.h"
#include "catalog.h"
#include "commands.h"
#include "manifest.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { OPT_OUTPUT = 1, OPT_QUERY, OPT_SHOT };

static const struct opt_spec export_specs[] = {
    {"output", 'o', true, OPT_OUTPUT},
    {"query", 0, true, OPT_QUERY},
    {"shot", 0, true, OPT_SHOT},
    {NULL, 0, false, 0},
};

static void show_progress(size_t done, size_t total, void *ctx)
{
	struct progress **p = ctx;
	if (!*p)
		*p = progress_new("hashing", total);
	progress_step(*p, done);
}

/* Writes to a temporary file beside path, fsynced and renamed into place. */
static int write_file(struct catalog *cat, const struct manifest *m, const char *path)
{
	char *tmp = xasprintf("%s.tmp-XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		error_set(EX_CANTCREAT, "%s: %s", path, strerror(errno));
		free(tmp);
		return -1;
	}
	int rc = fchmod(fd, 0644) < 0 ? error_set(EX_IOERR, "%s: %s", path, strerror(errno)) : 0;
	if (rc == 0)
		rc = bundle_write(cat, m, fd);
	if (rc == 0 && fsync(fd) < 0)
		rc = error_set(EX_IOERR, "%s: %s", path, strerror(errno));
	if (close(fd) < 0 && rc == 0)
		rc = error_set(EX_IOERR, "%s: %s", path, strerror(errno));
	if (rc == 0 && rename(tmp, path) < 0)
		rc = error_set(EX_CANTCREAT, "%s: %s", path, strerror(errno));
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

static int cmd_export(struct cli *cli, int argc, char **argv)
{
	struct opts o;
	const char *arg, *output = NULL, *query = NULL;
	struct strlist elements = {0}, shots = {0};
	struct catalog *cat = NULL;
	struct manifest *m = NULL;
	struct progress *progress = NULL;
	int id, rc = -1;
	opts_init(&o, cli, argc, argv, export_specs);
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		switch (id) {
		case OPT_ERROR:
			goto out;
		case OPT_HELP:
			cli_print_help(&cmd_export_entry);
			rc = 0;
			goto out;
		case OPT_OUTPUT:
			output = arg;
			break;
		case OPT_QUERY:
			query = arg;
			break;
		case OPT_SHOT:
			strlist_push(&shots, arg);
			break;
		default:
			strlist_push(&elements, arg);
		}
	}
	if (!output) {
		cli_usage_error(&cmd_export_entry,
				"-o FILE (or -o - for standard output) is needed");
		goto out;
	}
	if (!elements.n && !query && !shots.n) {
		cli_usage_error(&cmd_export_entry, "name elements, a --query or a --shot");
		goto out;
	}
	bool to_stdout = strcmp(output, "-") == 0;
	if (to_stdout && isatty(STDOUT_FILENO)) {
		error_set(EX_USAGE, "a bundle is binary; redirect standard output");
		goto out;
	}
	cat = catalog_open(cli->store_dir);
	if (!cat)
		goto out;
	struct manifest_selection sel = {elements.items, elements.n, query, shots.items, shots.n};
	m = manifest_build(cat, &sel, show_progress, &progress);
	progress_free(progress);
	if (!m)
		goto out;
	if (to_stdout) {
		fflush(stdout);
		rc = bundle_write(cat, m, STDOUT_FILENO);
	} else {
		rc = write_file(cat, m, output);
	}
	if (rc < 0)
		goto out;
	if (cli->json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "output", output);
		cJSON_AddNumberToObject(j, "elements", (double)m->nelements);
		cJSON_AddNumberToObject(j, "assets", (double)m->nassets);
		cJSON_AddNumberToObject(j, "shots", (double)m->nshots);
		cJSON_AddNumberToObject(j, "blobs", (double)m->nblobs);
		cJSON_AddNumberToObject(j, "bytes", (double)manifest_bytes(m));
		if (to_stdout) {
			char *text = cJSON_PrintUnformatted(j);
			fprintf(stderr, "%s\n", text);
			cJSON_free(text);
			cJSON_Delete(j);
		} else {
			json_print(j);
		}
	} else if (!cli->quiet) {
		char size[32];
		format_bytes(manifest_bytes(m), size);
		fprintf(to_stdout ? stderr : stdout,
			"exported %zu element%s, %zu asset%s, %zu shot%s (%zu blobs, %s)%s%s\n",
			m->nelements, m->nelements == 1 ? "" : "s", m->nassets,
			m->nassets == 1 ? "" : "s", m->nshots, m->nshots == 1 ? "" : "s", m->nblobs,
			size, to_stdout ? "" : " to ", to_stdout ? "" : output);
	}
	rc = 0;
out:
	manifest_free(m);
	catalog_close(cat);
	strlist_clear(&elements);
	strlist_clear(&shots);
	return rc;
}

const struct cmd_entry cmd_export_entry = {
    "export",
    NULL,
    "export [SLUG...] [--query Q] [--shot SHOT...] -o FILE",
    "Write elements, a query's assets or shots as one bundle file.",
    "  SLUG          an element (character, location, prop, style) with all its\n"
    "                assets, looks and embeddings\n"
    "  --query Q     the assets a tag query selects, with their elements\n"
    "  --shot SHOT   a shot, its still and takes, and the elements its prompt\n"
    "                mentions (may be repeated)\n"
    "  -o, --output FILE\n"
    "                the bundle to write; - writes it to standard output\n"
    "  --json        what was written, as JSON\n",
    cmd_export,
};
