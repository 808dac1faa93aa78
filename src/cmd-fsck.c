/* troupe fsck: checks that the index and the blobs agree and lists every
 * problem, with the assets and requests a damaged blob is needed by.
 * Parses options and prints; the checking is fsck.c's. */
#include "config.h"

#include "catalog.h"
#include "commands.h"
#include "fsck.h"
#include "sync.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_FULL = 1, OPT_SAMPLE, OPT_REPAIR };

static const struct opt_spec fsck_specs[] = {
    {"full", 0, false, OPT_FULL},
    {"sample", 0, true, OPT_SAMPLE},
    {"repair", 0, false, OPT_REPAIR},
    {NULL, 0, false, 0},
};

/* "5%" or "5": a percentage above 0 and at most 100. */
static int parse_sample(const char *text, double *share)
{
	char *end;
	double p = strtod(text, &end);
	if (end != text && *end == '%')
		end++;
	if (end == text || *end || !(p > 0 && p <= 100))
		return error_set(EX_USAGE, "--sample: '%s' is not a percentage above 0 up to 100",
				 text);
	*share = p / 100;
	return 0;
}

struct output {
	cJSON *problems; /* --json */
	cJSON *notes;	 /* --json: unreferenced blobs, which are not problems */
};

static void print_ids(const char *what, const int64_t *ids, size_t n)
{
	if (!n)
		return;
	printf("; needed by %s", what);
	for (size_t i = 0; i < n; i++)
		printf("%s%lld", i ? ", " : " ", (long long)ids[i]);
}

static int print_problem(const struct fsck_problem *p, void *ctx)
{
	struct output *out = ctx;
	if (out->problems) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "kind", fsck_kind_name(p->kind));
		cJSON_AddStringToObject(o, "object", p->object);
		cJSON_AddStringToObject(o, "detail", p->detail);
		cJSON *assets = cJSON_AddArrayToObject(o, "assets");
		for (size_t i = 0; i < p->nassets; i++)
			cJSON_AddItemToArray(assets, cJSON_CreateNumber((double)p->assets[i]));
		cJSON *requests = cJSON_AddArrayToObject(o, "requests");
		for (size_t i = 0; i < p->nrequests; i++)
			cJSON_AddItemToArray(requests, cJSON_CreateNumber((double)p->requests[i]));
		cJSON_AddBoolToObject(o, "repaired", p->repaired);
		cJSON_AddItemToArray(p->note ? out->notes : out->problems, o);
		return 0;
	}
	char *object = text_escape(p->object), *detail = text_escape(p->detail);
	printf("%s %s: %s", fsck_kind_name(p->kind), object, detail);
	print_ids(p->nassets > 1 ? "assets" : "asset", p->assets, p->nassets);
	print_ids(p->nrequests > 1 ? "requests" : "request", p->requests, p->nrequests);
	putchar('\n');
	free(object);
	free(detail);
	return 0;
}

static void print_summary(const struct fsck_counts *c, bool json, struct output *out)
{
	if (json) {
		cJSON *root = cJSON_CreateObject();
		cJSON_AddItemToObject(root, "problems", out->problems);
		cJSON_AddItemToObject(root, "notes", out->notes);
		out->problems = out->notes = NULL;
		cJSON *checked = cJSON_AddObjectToObject(root, "checked");
		cJSON_AddNumberToObject(checked, "blobs", (double)c->blobs);
		cJSON_AddNumberToObject(checked, "bytes", (double)c->bytes);
		cJSON_AddNumberToObject(checked, "rehashed", (double)c->rehashed);
		cJSON_AddNumberToObject(checked, "rehashed_bytes", (double)c->bytes_rehashed);
		cJSON_AddNumberToObject(checked, "objects", (double)c->objects);
		cJSON_AddNumberToObject(checked, "tmp", (double)c->tmp);
		cJSON_AddNumberToObject(checked, "caches", (double)c->caches);
		cJSON_AddBoolToObject(checked, "store_busy", c->store_busy);
		json_print(root);
		return;
	}
	char size[32];
	format_bytes(c->bytes, size);
	printf("%zu problem%s; ", c->problems, c->problems == 1 ? "" : "s");
	if (c->notes)
		printf("%zu unreferenced blob%s (gc reclaims them); ", c->notes,
		       c->notes == 1 ? "" : "s");
	printf("%zu blobs (%s) checked, %zu rehashed, %zu files in objects/, %zu in tmp/\n",
	       c->blobs, size, c->rehashed, c->objects, c->tmp);
}

static int restore_blob(const char *hash, void *ctx)
{
	return sync_restore_blob(ctx, hash);
}

static int cmd_fsck(struct cli *cli, int argc, char **argv)
{
	struct opts o;
	const char *arg;
	struct fsck_options fo = {false, 0, false, NULL, NULL};
	int id;
	opts_init(&o, cli, argc, argv, fsck_specs);
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		switch (id) {
		case OPT_ERROR:
			return -1;
		case OPT_HELP:
			cli_print_help(&cmd_fsck_entry);
			return 0;
		case OPT_FULL:
			fo.full = true;
			break;
		case OPT_SAMPLE:
			if (parse_sample(arg, &fo.sample) < 0)
				return -1;
			break;
		case OPT_REPAIR:
			fo.repair = true;
			break;
		default:
			return cli_usage_error(&cmd_fsck_entry, "fsck takes no arguments");
		}
	}
	if (fo.full && fo.sample > 0)
		return cli_usage_error(&cmd_fsck_entry, "--full and --sample exclude each other");
	struct catalog *cat = catalog_open(cli->store_dir);
	if (!cat)
		return -1;
	/* A missing blob comes back from a remote that has it. */
	fo.restore = restore_blob;
	fo.restore_ctx = cat;
	struct output out = {cli->json ? cJSON_CreateArray() : NULL,
			     cli->json ? cJSON_CreateArray() : NULL};
	struct fsck_counts counts;
	int rc = fsck_run(cat, &fo, print_problem, &out, &counts);
	catalog_close(cat);
	if (!rc && (!cli->quiet || cli->json))
		print_summary(&counts, cli->json, &out);
	cJSON_Delete(out.problems);
	cJSON_Delete(out.notes);
	if (rc < 0)
		return -1;
	/* Problems found are the answer, not a failure of the command:
	 * exit 1, as git fsck does; sysexits are for a check not done. */
	if (counts.problems)
		return error_set(1, "%zu problem%s found", counts.problems,
				 counts.problems == 1 ? "" : "s");
	return 0;
}

const struct cmd_entry cmd_fsck_entry = {
    "fsck",
    NULL,
    "fsck [--full | --sample P] [--repair]",
    "Check that the index and the blobs agree; list every problem.",
    "  --full       rehash every blob and compare it with its name\n"
    "  --sample P   rehash P percent of the blobs, least recently verified first\n"
    "  --repair     remove leftovers in tmp/ (when no other troupe process holds the\n"
    "               store) and unreadable cache files; bring missing blobs back\n"
    "               from a remote that has them\n"
    "  --json       {\"problems\": [...], \"checked\": {...}}\n",
    cmd_fsck,
};
