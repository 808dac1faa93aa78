/* troupe import: reads a bundle (troupe-bundle(5)) into the store: the
 * manifest is checked and compared with the store, every blob verified
 * as it is staged, and everything committed in one transaction, or
 * nothing. Parses options and prints; the reading is bundle.c's, the
 * merging merge.c's. */
#include "config.h"

#include "bundle.h"
#include "catalog.h"
#include "commands.h"
#include "manifest.h"
#include "merge.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { OPT_OURS = 1, OPT_THEIRS, OPT_DRY_RUN };

static const struct opt_spec import_specs[] = {
    {"ours", 0, false, OPT_OURS},
    {"theirs", 0, false, OPT_THEIRS},
    {"dry-run", 'n', false, OPT_DRY_RUN},
    {NULL, 0, false, 0},
};

static cJSON *plan_json(const struct merge_item *items, size_t n)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "what", merge_what_name(items[i].what));
		cJSON_AddStringToObject(o, "name", items[i].name);
		cJSON_AddStringToObject(o, "state", merge_state_name(items[i].state));
		if (items[i].ndiffs) {
			cJSON *diffs = cJSON_AddArrayToObject(o, "fields");
			for (size_t k = 0; k < items[i].ndiffs; k++) {
				cJSON *d = cJSON_CreateObject();
				cJSON_AddStringToObject(d, "field", items[i].diffs[k].field);
				cJSON_AddStringToObject(d, "ours", items[i].diffs[k].ours);
				cJSON_AddStringToObject(d, "theirs", items[i].diffs[k].theirs);
				cJSON_AddItemToArray(diffs, d);
			}
		}
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

/* Each item (or, unless all, only the conflicts) with its fields. */
static void print_plan(const struct merge_item *items, size_t n, bool all)
{
	for (size_t i = 0; i < n; i++) {
		const struct merge_item *it = &items[i];
		if (!all && it->state != MERGE_CONFLICT)
			continue;
		char *name = text_escape(it->name);
		printf("%-8s %-9s %s\n", merge_state_name(it->state), merge_what_name(it->what),
		       name);
		free(name);
		for (size_t k = 0; k < it->ndiffs; k++) {
			char *ours = text_escape(it->diffs[k].ours);
			char *theirs = text_escape(it->diffs[k].theirs);
			printf("    %s: ours \"%s\", theirs \"%s\"\n", it->diffs[k].field, ours,
			       theirs);
			free(ours);
			free(theirs);
		}
	}
}

static int stage_blobs(struct bundle_reader *r, const struct manifest *m, struct merge_plan *p)
{
	char hash[STORE_HASH_HEX + 1];
	uint64_t bytes;
	int rc;
	while ((rc = bundle_next(r, hash, &bytes)) == 1) {
		const struct manifest_blob *b = manifest_blob_find(m, hash);
		if (!b)
			return error_set(EX_DATAERR, "bundle: blob %s is not named by the manifest",
					 hash);
		if (b->bytes != bytes)
			return error_set(EX_DATAERR,
					 "bundle: blob %s: the archive says %llu bytes, the "
					 "manifest %llu",
					 hash, (unsigned long long)bytes,
					 (unsigned long long)b->bytes);
		if (merge_stage_blob(p, hash, bundle_read, r) < 0)
			return -1;
	}
	return rc;
}

static void print_counts(const struct merge_counts *c, bool json)
{
	if (json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "elements_new", (double)c->elements_new);
		cJSON_AddNumberToObject(o, "elements_updated", (double)c->elements_updated);
		cJSON_AddNumberToObject(o, "elements_same", (double)c->elements_same);
		cJSON_AddNumberToObject(o, "looks_new", (double)c->looks_new);
		cJSON_AddNumberToObject(o, "assets_new", (double)c->assets_new);
		cJSON_AddNumberToObject(o, "assets_updated", (double)c->assets_updated);
		cJSON_AddNumberToObject(o, "embeddings_new", (double)c->embeddings_new);
		cJSON_AddNumberToObject(o, "embeddings_updated", (double)c->embeddings_updated);
		cJSON_AddNumberToObject(o, "shots_new", (double)c->shots_new);
		cJSON_AddNumberToObject(o, "shots_updated", (double)c->shots_updated);
		cJSON_AddNumberToObject(o, "blobs_stored", (double)c->blobs_stored);
		cJSON_AddNumberToObject(o, "blobs_present", (double)c->blobs_present);
		cJSON_AddNumberToObject(o, "bytes_stored", (double)c->bytes_stored);
		cJSON_AddNumberToObject(o, "conflicts_kept", (double)c->conflicts_kept);
		cJSON_AddNumberToObject(o, "conflicts_replaced", (double)c->conflicts_replaced);
		json_print(o);
		return;
	}
	char size[32];
	format_bytes(c->bytes_stored, size);
	printf("imported %zu new element%s (%zu updated, %zu unchanged), %zu look%s, %zu "
	       "asset%s, %zu embedding%s, %zu shot%s; %zu blob%s stored (%s), %zu already "
	       "here\n",
	       c->elements_new, c->elements_new == 1 ? "" : "s", c->elements_updated,
	       c->elements_same, c->looks_new, c->looks_new == 1 ? "" : "s", c->assets_new,
	       c->assets_new == 1 ? "" : "s", c->embeddings_new, c->embeddings_new == 1 ? "" : "s",
	       c->shots_new, c->shots_new == 1 ? "" : "s", c->blobs_stored,
	       c->blobs_stored == 1 ? "" : "s", size, c->blobs_present);
	if (c->conflicts_kept || c->conflicts_replaced)
		printf("conflicts: %zu kept as this store had them, %zu replaced by the bundle's\n",
		       c->conflicts_kept, c->conflicts_replaced);
}

static int cmd_import(struct cli *cli, int argc, char **argv)
{
	struct opts o;
	const char *arg, *file = NULL;
	struct merge_options mo = {MERGE_REFUSE, "import"};
	bool dry_run = false;
	int id, fd = -1, rc = -1;
	struct bundle_reader *r = NULL;
	struct manifest *m = NULL;
	struct catalog *cat = NULL;
	struct merge_plan *plan = NULL;
	opts_init(&o, cli, argc, argv, import_specs);
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		switch (id) {
		case OPT_ERROR:
			return -1;
		case OPT_HELP:
			cli_print_help(&cmd_import_entry);
			return 0;
		case OPT_OURS:
		case OPT_THEIRS:
			if (mo.side != MERGE_REFUSE)
				return cli_usage_error(&cmd_import_entry,
						       "--ours and --theirs exclude each other");
			mo.side = id == OPT_OURS ? MERGE_OURS : MERGE_THEIRS;
			break;
		case OPT_DRY_RUN:
			dry_run = true;
			break;
		default:
			if (file)
				return cli_usage_error(&cmd_import_entry, "one bundle at a time");
			file = arg;
		}
	}
	if (!file)
		return cli_usage_error(&cmd_import_entry, "name a bundle (- for standard input)");
	bool from_stdin = strcmp(file, "-") == 0;
	fd = from_stdin ? STDIN_FILENO : open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_set(errno == ENOENT ? EX_NOINPUT : EX_IOERR, "%s: %s", file,
				 strerror(errno));
	struct stat sb;
	int64_t total = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) ? (int64_t)sb.st_size : -1;
	r = bundle_reader_new(bundle_fd_read, &fd, total);
	m = bundle_read_manifest(r);
	if (!m)
		goto fail;
	cat = catalog_open(cli->store_dir);
	if (!cat)
		goto out;
	plan = merge_plan_new(cat, m);
	if (!plan)
		goto fail;
	size_t nitems;
	const struct merge_item *items = merge_plan_items(plan, &nitems);
	size_t conflicts = merge_plan_conflicts(plan);
	if (dry_run) {
		if (cli->json)
			json_print(plan_json(items, nitems));
		else
			print_plan(items, nitems, true);
		rc = 0;
		goto out;
	}
	if (conflicts && mo.side == MERGE_REFUSE) {
		if (cli->json)
			json_print(plan_json(items, nitems));
		else
			print_plan(items, nitems, false);
		/* Refused before a blob is read: the refusal is merge_apply's. */
		merge_apply(plan, &mo, NULL);
		goto fail;
	}
	struct merge_counts counts;
	if (stage_blobs(r, m, plan) < 0 || merge_apply(plan, &mo, &counts) < 0)
		goto fail;
	if (!cli->quiet || cli->json)
		print_counts(&counts, cli->json);
	rc = 0;
	goto out;
fail:
	error_prefix("%s", from_stdin ? "standard input" : file);
out:
	merge_plan_free(plan);
	catalog_close(cat);
	manifest_free(m);
	bundle_reader_free(r);
	if (fd >= 0 && !from_stdin)
		close(fd);
	return rc;
}

const struct cmd_entry cmd_import_entry = {
    "import",
    NULL,
    "import [--ours | --theirs] [-n] FILE",
    "Read a bundle into the store: verified, deduplicated, merged by slug.",
    "  FILE        the bundle; - reads it from standard input\n"
    "  --ours      resolve each conflict by keeping this store's fields\n"
    "  --theirs    resolve each conflict by taking the bundle's fields\n"
    "  -n, --dry-run\n"
    "              list what the bundle would add, leave unchanged or conflict\n"
    "              with, without reading its blobs or writing anything\n"
    "  --json      the counts (or with -n or a conflict, the plan) as JSON\n",
    cmd_import,
};
