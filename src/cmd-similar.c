/* troupe similar: stored pictures that look like a file or an asset, by
 * perceptual hash. It parses options and prints; hashing and the search
 * are the catalog's and phash's, never done here. */
#include "config.h"

#include "asset.h"
#include "catalog.h"
#include "commands.h"
#include "thumbnail.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { OPT_MAX_DISTANCE = 1, OPT_LIMIT };

static const struct opt_spec similar_specs[] = {
    {"max-distance", 'd', true, OPT_MAX_DISTANCE},
    {"limit", 'n', true, OPT_LIMIT},
    {NULL, 0, false, 0},
};

struct similar_out {
	int64_t limit;
	int64_t shown;
	int64_t skip_id;
	struct table *table;
	cJSON *json;
};

static int similar_row(const struct asset *a, int distance, void *ctx)
{
	struct similar_out *o = ctx;
	if (a->id == o->skip_id)
		return 0;
	o->shown++;
	if (o->json) {
		cJSON *item = json_asset(a);
		cJSON_AddNumberToObject(item, "distance", distance);
		cJSON_AddItemToArray(o->json, item);
		return o->limit && o->shown >= o->limit;
	}
	char dist[8], id[24], size[24], hash[17];
	snprintf(dist, sizeof(dist), "%d", distance);
	snprintf(id, sizeof(id), "%lld", (long long)a->id);
	snprintf(size, sizeof(size), "%dx%d", a->width, a->height);
	snprintf(hash, sizeof(hash), "%.16s", a->hash);
	char *tags = tags_joined(&a->tags);
	const char *row[] = {dist,    id,   hash, a->character ? a->character : "-",
			     a->role, size, tags};
	table_add(o->table, row);
	free(tags);
	return o->limit && o->shown >= o->limit;
}

static int cmd_similar(struct cli *cli, int argc, char **argv)
{
	struct opts o;
	const char *arg, *target = NULL;
	int64_t max_distance = 10, limit = 0;
	int id, rc = -1;
	struct catalog *cat = NULL;
	opts_init(&o, cli, argc, argv, similar_specs);
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		switch (id) {
		case OPT_ERROR:
			return -1;
		case OPT_HELP:
			cli_print_help(&cmd_similar_entry);
			return 0;
		case OPT_MAX_DISTANCE:
			if (cli_parse_int("--max-distance", arg, 0, 64, &max_distance) < 0)
				return -1;
			break;
		case OPT_LIMIT:
			if (cli_parse_int("--limit", arg, 1, INT64_MAX, &limit) < 0)
				return -1;
			break;
		case OPT_POSITIONAL:
			if (target)
				return cli_usage_error(&cmd_similar_entry,
						       "one image or asset at a time");
			target = arg;
			break;
		}
	}
	if (!target)
		return cli_usage_error(&cmd_similar_entry, "no image or asset given");
	cat = catalog_open(cli->store_dir);
	if (!cat)
		return -1;
	uint64_t phash;
	struct similar_out out = {limit, 0, 0, NULL, NULL};
	/* A path that exists is a file to compare; anything else names an
	 * asset already in the store, which is left out of its own answer. */
	struct stat st;
	if (stat(target, &st) == 0) {
		if (catalog_file_phash(target, &phash) < 0)
			goto out;
	} else if (catalog_asset_resolve(cat, target, &out.skip_id) < 0) {
		if (strstr(error_message(), "not an asset id"))
			error_set(EX_NOINPUT,
				  "%s: no such file, and not an asset id or hash prefix", target);
		goto out;
	} else if (catalog_asset_phash(cat, out.skip_id, &phash) < 0) {
		goto out;
	}
	static const char *const headers[] = {"DIST", "ID",   "HASH", "CHARACTER",
					      "ROLE", "SIZE", "TAGS"};
	if (cli->json)
		out.json = cJSON_CreateArray();
	else
		out.table = table_new(7, headers);
	rc = catalog_similar(cat, phash, (int)max_distance, 0, similar_row, &out);
	cli_print_rows(rc, out.json, out.table, out.shown);
out:
	catalog_close(cat);
	return rc;
}

const struct cmd_entry cmd_similar_entry = {
    "similar",
    NULL,
    "similar FILE|ASSET [--max-distance N] [--limit N]",
    "Find stored images that look like an image file or a stored asset.",
    "  -d, --max-distance N    Hamming distance between 64-bit pHashes, 0 to 64\n"
    "                          (default 10; 0 is the same picture)\n"
    "  -n, --limit N           at most N assets\n",
    cmd_similar,
};
