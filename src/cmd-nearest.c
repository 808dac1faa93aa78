/* troupe nearest: the stored assets most like a picture or an asset, by
 * embedding. It parses options and prints; the search is the catalog's
 * and vector.c's, a file's vector embed.c's. */
#include "config.h"

#include "asset.h"
#include "catalog.h"
#include "cli-embed.h"
#include "commands.h"
#include "embed.h"
#include "embedding.h"
#include "util.h"
#include "vector.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

struct nearest_out {
	cJSON *json;
	struct table *table;
	int64_t skip;
	size_t shown;
	size_t k;
};

static int nearest_row(const struct asset *a, float score, void *ctx)
{
	struct nearest_out *o = ctx;
	if (a->id == o->skip || o->shown >= o->k)
		return 0;
	o->shown++;
	if (score > 1)
		score = 1;
	if (o->json) {
		cJSON *j = json_asset(a);
		cJSON_AddNumberToObject(j, "similarity", score);
		cJSON_AddItemToArray(o->json, j);
		return 0;
	}
	char s[16], id[24], hash[17];
	snprintf(s, sizeof(s), "%.4f", score);
	snprintf(id, sizeof(id), "%lld", (long long)a->id);
	snprintf(hash, sizeof(hash), "%.16s", a->hash);
	char *tags = tags_joined(&a->tags);
	const char *row[] = {s, id, hash, a->character ? a->character : "-", a->role, tags};
	table_add(o->table, row);
	free(tags);
	return 0;
}

static int cmd_nearest(struct cli *cli, int argc, char **argv)
{
	struct cli_embed a = {0};
	struct catalog *cat = NULL;
	struct profile *p = NULL;
	float *q = NULL;
	uint32_t dim = 0;
	bool help;
	int rc = -1;
	struct nearest_out out = {0};
	const unsigned takes = CLI_EMBED_TAKES(CLI_EMBED_PROFILE) | CLI_EMBED_TAKES(CLI_EMBED_K) |
			       CLI_EMBED_TAKES(CLI_EMBED_WHERE);
	if (cli_embed_parse(cli, &cmd_nearest_entry, takes, argc, argv, &a, &help) < 0 || help) {
		rc = help ? 0 : -1;
		goto out;
	}
	if (a.words.n != 1) {
		cli_usage_error(&cmd_nearest_entry, "one image or asset");
		goto out;
	}
	cat = catalog_open(cli->store_dir);
	if (!cat)
		goto out;
	struct model_info m;
	if (catalog_model_get(cat, a.model, &m) < 0)
		goto out;
	struct stat st;
	const char *target = a.words.items[0];
	if (stat(target, &st) == 0) {
		/* The file's largest face, from the network the stored vectors
		 * came from. */
		struct embed_result r;
		if (!(p = embed_profile_load(a.model, a.profile, catalog_root(cat))))
			goto out;
		int erc = embed_file(p, target, &r);
		if (erc == 0 && catalog_model_accepts(&m, r.network, r.version, r.faces[0].dim) < 0)
			erc = error_prefix("%s", target);
		if (erc == 0) {
			q = r.faces[0].vector;
			dim = r.faces[0].dim;
			r.faces[0].vector = NULL;
		}
		embed_result_clear(&r);
		if (erc < 0 || vector_normalise(q, dim) < 0)
			goto out;
	} else {
		if (catalog_asset_resolve(cat, target, &out.skip) < 0 ||
		    catalog_embedding_get(cat, out.skip, a.model, &q, &dim) < 0)
			goto out;
	}
	out.k = (size_t)a.k;
	static const char *const headers[] = {"SIMILARITY", "ID",   "HASH",
					      "CHARACTER",  "ROLE", "TAGS"};
	if (cli->json)
		out.json = cJSON_CreateArray();
	else
		out.table = table_new(6, headers);
	rc = catalog_nearest(cat, a.model, q, dim, (size_t)a.k + (out.skip != 0), a.where,
			     nearest_row, &out);
	cli_print_rows(rc, out.json, out.table, out.shown);
out:
	free(q);
	profile_free(p);
	catalog_close(cat);
	cli_embed_clear(&a);
	return rc;
}

const struct cmd_entry cmd_nearest_entry = {
    "nearest",
    NULL,
    "nearest FILE|ASSET --model NAME [-k N] [--where QUERY]",
    "The stored assets most like an image or an asset, by embedding (cosine similarity).",
    "  -m, --model NAME        the model whose vectors to compare\n"
    "  -k N                    how many (default 5)\n"
    "  -w, --where QUERY       only among the assets a tag query selects\n",
    cmd_nearest,
};
