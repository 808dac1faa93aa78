/* troupe log: the recorded requests, newest first. It parses options and
 * prints; the rows are the catalog's and the JSON shape of an entry is
 * the CLI layer's (json_log_entry), shared with show. */
#include "config.h"

#include "catalog.h"
#include "commands.h"
#include "reqlog.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { OPT_CHARACTER = 1, OPT_PROFILE, OPT_LIMIT, OPT_NO_PREVIEWS };

static const struct opt_spec log_specs[] = {
    {"character", 'c', true, OPT_CHARACTER},
    {"profile", 'p', true, OPT_PROFILE},
    {"limit", 'n', true, OPT_LIMIT},
    {"no-previews", 0, false, OPT_NO_PREVIEWS},
    {NULL, 0, false, 0},
};

struct log_out {
	cJSON *json;
	struct table *table;
};

static int log_row(const struct log_entry *e, void *ctx)
{
	struct log_out *o = ctx;
	if (o->json) {
		cJSON_AddItemToArray(o->json, json_log_entry(e));
		return 0;
	}
	char id[24], when[32], refs[80], outs[16];
	snprintf(id, sizeof(id), "%lld", (long long)e->id);
	time_iso8601(e->started, when);
	/* For an upload profile the count says how many references went up
	 * and how many were named by an id an earlier upload got. */
	size_t uploaded = 0, reused = 0;
	for (size_t i = 0; i < e->nrefs; i++) {
		uploaded += e->refs[i].upload && !strcmp(e->refs[i].upload, "uploaded");
		reused += e->refs[i].upload && !strcmp(e->refs[i].upload, "reused");
	}
	if (uploaded + reused)
		snprintf(refs, sizeof(refs), "%zu (%zu uploaded, %zu reused)", e->nrefs, uploaded,
			 reused);
	else
		snprintf(refs, sizeof(refs), "%zu", e->nrefs);
	snprintf(outs, sizeof(outs), "%zu", e->noutputs);
	char *chars = tags_joined(&e->characters);
	const char *row[] = {
	    id, when, e->kind, e->profile, e->status, chars, refs, outs, e->error ? e->error : ""};
	table_add(o->table, row);
	free(chars);
	return 0;
}

enum { OPT_BEFORE = 1, OPT_OLDER_THAN, OPT_DRY_RUN };

static const struct opt_spec prune_specs[] = {
    {"before", 0, true, OPT_BEFORE},
    {"older-than", 0, true, OPT_OLDER_THAN},
    {"dry-run", 0, false, OPT_DRY_RUN},
    {NULL, 0, false, 0},
};

/* YYYY-MM-DD as the Unix time of that UTC day's start. */
static int parse_day(const char *text, int64_t *out)
{
	int y, m, d;
	char tail;
	struct tm tm = {0};
	time_t t = (time_t)-1;
	if (strlen(text) == 10 && sscanf(text, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3) {
		tm.tm_year = y - 1900;
		tm.tm_mon = m - 1;
		tm.tm_mday = d;
		t = timegm(&tm);
	}
	/* timegm() moves a 30th of February on to March; such a day is refused. */
	if (t == (time_t)-1 || tm.tm_year != y - 1900 || tm.tm_mon != m - 1 || tm.tm_mday != d)
		return error_set(EX_USAGE, "--before %s: not a date (YYYY-MM-DD)", text);
	*out = (int64_t)t;
	return 0;
}

/* An age such as 30d, 12h or 2w, in seconds. */
static int parse_age(const char *text, int64_t *out)
{
	char *end;
	errno = 0;
	long long n = strtoll(text, &end, 10);
	int64_t unit = *end == 'h' ? 3600 : *end == 'd' ? 86400 : *end == 'w' ? 7 * 86400 : 0;
	if (end == text || errno || n < 0 || !unit || end[1] || n > INT64_MAX / unit)
		return error_set(EX_USAGE, "--older-than %s: not an age (as 30d, 12h or 2w)", text);
	*out = n * unit;
	return 0;
}

static int cmd_log_prune(struct cli *cli, int argc, char **argv)
{
	struct opts o;
	const char *arg;
	int64_t before = 0, age = 0;
	int cutoffs = 0;
	bool dry_run = false;
	int id;
	opts_init(&o, cli, argc, argv, prune_specs);
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		switch (id) {
		case OPT_ERROR:
			return -1;
		case OPT_HELP:
			cli_print_help(&cmd_log_entry);
			return 0;
		case OPT_BEFORE:
			if (parse_day(arg, &before) < 0)
				return -1;
			cutoffs++;
			break;
		case OPT_OLDER_THAN:
			if (parse_age(arg, &age) < 0)
				return -1;
			before = time_now() - age;
			cutoffs++;
			break;
		case OPT_DRY_RUN:
			dry_run = true;
			break;
		default:
			return cli_usage_error(&cmd_log_entry, "unexpected argument");
		}
	}
	if (cutoffs != 1)
		return cli_usage_error(&cmd_log_entry,
				       "log prune needs one of --before and --older-than");
	struct catalog *cat = catalog_open(cli->store_dir);
	if (!cat)
		return -1;
	int64_t pruned = 0, kept = 0;
	int rc = catalog_log_prune(cat, before, dry_run, &pruned, &kept);
	if (rc == 0 && cli->json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddNumberToObject(j, "pruned", (double)pruned);
		cJSON_AddNumberToObject(j, "kept", (double)kept);
		cJSON_AddBoolToObject(j, "dry_run", dry_run);
		json_print(j);
	} else if (rc == 0 && !cli->quiet) {
		printf("%s %lld request%s", dry_run ? "would prune" : "pruned", (long long)pruned,
		       pruned == 1 ? "" : "s");
		if (kept)
			printf("; kept %lld older one%s that made assets still in the store or "
			       "are still running",
			       (long long)kept, kept == 1 ? "" : "s");
		putchar('\n');
	}
	catalog_close(cat);
	return rc;
}

static int cmd_log(struct cli *cli, int argc, char **argv)
{
	struct opts o;
	const char *arg, *character = NULL, *profile = NULL;
	int64_t limit = 0;
	bool no_previews = false;
	int id;
	if (argc > 1 && strcmp(argv[1], "prune") == 0)
		return cmd_log_prune(cli, argc - 1, argv + 1);
	opts_init(&o, cli, argc, argv, log_specs);
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		switch (id) {
		case OPT_ERROR:
			return -1;
		case OPT_HELP:
			cli_print_help(&cmd_log_entry);
			return 0;
		case OPT_CHARACTER:
			character = arg;
			break;
		case OPT_PROFILE:
			profile = arg;
			break;
		case OPT_LIMIT:
			if (cli_parse_int("--limit", arg, 1, INT64_MAX, &limit) < 0)
				return -1;
			break;
		case OPT_NO_PREVIEWS:
			no_previews = true;
			break;
		default:
			return cli_usage_error(&cmd_log_entry, "unexpected argument");
		}
	}
	struct catalog *cat = catalog_open(cli->store_dir);
	if (!cat)
		return -1;
	static const char *const headers[] = {"ID",	    "WHEN", "KIND",    "PROFILE", "STATUS",
					      "CHARACTERS", "REFS", "OUTPUTS", "ERROR"};
	struct log_out out = {cli->json ? cJSON_CreateArray() : NULL,
			      cli->json ? NULL : table_new(9, headers)};
	int rc = catalog_log_except(cat, character, profile, no_previews ? "preview" : NULL, limit,
				    log_row, &out);
	cli_print_rows(rc, out.json, out.table, true);
	catalog_close(cat);
	return rc;
}

const struct cmd_entry cmd_log_entry = {
    "log",
    NULL,
    "log [--character SLUG] [--profile NAME] [--limit N] [--no-previews]\n"
    "       troupe log prune (--before DATE | --older-than AGE) [--dry-run]",
    "List recorded requests, newest first: profile, characters, references, outputs.",
    "  -c, --character SLUG    only requests that mentioned this character\n"
    "  -p, --profile NAME      only requests to this profile\n"
    "  -n, --limit N           at most N requests\n"
    "      --no-previews       leave out inject --dry-run previews\n"
    "prune: remove old requests, keeping those that made assets still in the store\n"
    "      --before DATE       requests begun before this UTC day (YYYY-MM-DD)\n"
    "      --older-than AGE    requests older than AGE (30d, 12h, 2w)\n"
    "      --dry-run           count what would go, remove nothing\n",
    cmd_log,
};
