/* troupe gc: frees the blobs nothing has referenced for longer than the
 * grace period, or with --dry-run lists them and why each is unreferenced.
 * Parses options and prints; the marking and freeing are gc.c's. */
#include "config.h"

#include "catalog.h"
#include "commands.h"
#include "gc.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_DRY_RUN = 1, OPT_GRACE };

static const struct opt_spec gc_specs[] = {
    {"dry-run", 0, false, OPT_DRY_RUN},
    {"grace", 0, true, OPT_GRACE},
    {NULL, 0, false, 0},
};

enum { DAY = 86400, MAX_GRACE_DAYS = 36500 };

/* A whole number of days from 0 (free at once) up to a century. */
static int parse_grace(const char *text, int64_t *days)
{
	int64_t d;
	if (parse_i64(text, &d) < 0 || d < 0 || d > MAX_GRACE_DAYS)
		return error_set(EX_USAGE, "--grace: '%s' is not a number of days from 0 to %d",
				 text, MAX_GRACE_DAYS);
	*days = d;
	return 0;
}

struct output {
	bool dry_run;
	cJSON *candidates; /* --json */
	bool quiet;
};

static int print_candidate(const struct gc_candidate *c, void *ctx)
{
	struct output *out = ctx;
	char since[32], after[32];
	time_iso8601(c->first_seen, since);
	time_iso8601(c->free_after, after);
	if (out->candidates) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "hash", c->hash);
		cJSON_AddNumberToObject(o, "bytes", (double)c->bytes);
		cJSON_AddStringToObject(o, "verdict", gc_verdict_name(c->verdict));
		cJSON_AddStringToObject(o, "why", c->why);
		cJSON_AddStringToObject(o, "unreferenced_since", since);
		cJSON_AddStringToObject(o, "free_after", after);
		cJSON_AddBoolToObject(o, "row", c->row);
		cJSON_AddBoolToObject(o, "file", c->file);
		cJSON_AddItemToArray(out->candidates, o);
		return 0;
	}
	/* Without --dry-run only what went is news. */
	if (out->quiet || (!out->dry_run && c->verdict != GC_FREE))
		return 0;
	char size[32];
	format_bytes(c->bytes, size);
	char *why = text_escape(c->why);
	if (c->verdict == GC_FREE)
		printf("%s %s %s: %s%s\n", out->dry_run ? "would free" : "freed", c->hash, size,
		       why, c->file ? "" : " (its file was already gone)");
	else if (c->verdict == GC_GRACE)
		printf("keep %s %s: %s; unreferenced since %s, free after %s\n", c->hash, size, why,
		       since, after);
	else
		printf("keep %s %s: %s, which is kept\n", c->hash, size, why);
	free(why);
	return 0;
}

static void print_summary(const struct gc_counts *c, const struct output *out, int64_t days)
{
	uint64_t kept_bytes = c->kept_bytes;
	size_t kept = c->unreferenced - c->freed;
	if (out->candidates) {
		cJSON *root = cJSON_CreateObject();
		cJSON_AddBoolToObject(root, "dry_run", out->dry_run);
		cJSON_AddNumberToObject(root, "grace_days", (double)days);
		cJSON_AddItemToObject(root, "candidates", out->candidates);
		cJSON *freed = cJSON_AddObjectToObject(root, "freed");
		cJSON_AddNumberToObject(freed, "blobs", (double)c->freed);
		cJSON_AddNumberToObject(freed, "bytes", (double)c->freed_bytes);
		cJSON *k = cJSON_AddObjectToObject(root, "kept");
		cJSON_AddNumberToObject(k, "blobs", (double)kept);
		cJSON_AddNumberToObject(k, "bytes", (double)kept_bytes);
		cJSON_AddNumberToObject(root, "blobs", (double)c->blobs);
		json_print(root);
		return;
	}
	if (out->quiet)
		return;
	char freed[32], held[32];
	format_bytes(c->freed_bytes, freed);
	format_bytes(kept_bytes, held);
	printf("%s %zu blob%s (%s) of %zu; %zu unreferenced (%s) kept for the grace period of "
	       "%lld day%s\n",
	       out->dry_run ? "would free" : "freed", c->freed, c->freed == 1 ? "" : "s", freed,
	       c->blobs, kept, held, (long long)days, days == 1 ? "" : "s");
}

static int cmd_gc(struct cli *cli, int argc, char **argv)
{
	struct opts o;
	const char *arg;
	struct gc_options go = {false, (int64_t)GC_DEFAULT_GRACE_DAYS * DAY};
	int64_t days = GC_DEFAULT_GRACE_DAYS;
	int id;
	opts_init(&o, cli, argc, argv, gc_specs);
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		switch (id) {
		case OPT_ERROR:
			return -1;
		case OPT_HELP:
			cli_print_help(&cmd_gc_entry);
			return 0;
		case OPT_DRY_RUN:
			go.dry_run = true;
			break;
		case OPT_GRACE:
			if (parse_grace(arg, &days) < 0)
				return -1;
			go.grace = days * DAY;
			break;
		default:
			return cli_usage_error(&cmd_gc_entry, "gc takes no arguments");
		}
	}
	struct catalog *cat = catalog_open(cli->store_dir);
	if (!cat)
		return -1;
	struct output out = {go.dry_run, cli->json ? cJSON_CreateArray() : NULL, cli->quiet};
	struct gc_counts counts;
	int rc = gc_run(cat, &go, print_candidate, &out, &counts);
	catalog_close(cat);
	if (rc < 0) {
		cJSON_Delete(out.candidates);
		return -1;
	}
	print_summary(&counts, &out, days);
	return 0;
}

const struct cmd_entry cmd_gc_entry = {
    "gc",
    NULL,
    "gc [--dry-run] [--grace DAYS]",
    "Free the blobs nothing has referenced for longer than the grace period.",
    "  --dry-run     list every unreferenced blob, why, and whether it would go;\n"
    "                change nothing\n"
    "  --grace DAYS  free only what has been unreferenced this long (default 14;\n"
    "                0 frees every unreferenced blob now)\n"
    "  --json        {\"candidates\": [...], \"freed\": {...}, \"kept\": {...}}\n",
    cmd_gc,
};
