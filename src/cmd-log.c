/* troupe log: the recorded requests, newest first. It parses options and
 * prints; the rows are the catalog's and the JSON shape of an entry is
 * the CLI layer's (json_log_entry), shared with show. */
#include "config.h"

#include "catalog.h"
#include "commands.h"
#include "reqlog.h"
#include "util.h"

#include <stdlib.h>

enum { OPT_CHARACTER = 1, OPT_PROFILE, OPT_LIMIT };

static const struct opt_spec log_specs[] = {
    {"character", 'c', true, OPT_CHARACTER},
    {"profile", 'p', true, OPT_PROFILE},
    {"limit", 'n', true, OPT_LIMIT},
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
	char id[24], when[32], refs[16], outs[16];
	snprintf(id, sizeof(id), "%lld", (long long)e->id);
	time_iso8601(e->started, when);
	snprintf(refs, sizeof(refs), "%zu", e->nrefs);
	snprintf(outs, sizeof(outs), "%zu", e->noutputs);
	char *chars = tags_joined(&e->characters);
	const char *row[] = {
	    id, when, e->kind, e->profile, e->status, chars, refs, outs, e->error ? e->error : ""};
	table_add(o->table, row);
	free(chars);
	return 0;
}

static int cmd_log(struct cli *cli, int argc, char **argv)
{
	struct opts o;
	const char *arg, *character = NULL, *profile = NULL;
	int64_t limit = 0;
	int id;
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
	int rc = catalog_log(cat, character, profile, limit, log_row, &out);
	cli_print_rows(rc, out.json, out.table, true);
	catalog_close(cat);
	return rc;
}

const struct cmd_entry cmd_log_entry = {
    "log",
    NULL,
    "log [--character SLUG] [--profile NAME] [--limit N]",
    "List recorded requests, newest first: profile, characters, references, outputs.",
    "  -c, --character SLUG    only requests that mentioned this character\n"
    "  -p, --profile NAME      only requests to this profile\n"
    "  -n, --limit N           at most N requests\n",
    cmd_log,
};
