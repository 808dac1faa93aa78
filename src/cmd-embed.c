/* troupe embed: vectors for stored assets from an embedding profile (a
 * local face service or a remote API), or imported from a file computed
 * elsewhere. It parses options and prints; the requests are embed.c's,
 * the parsers vecimport.c's and the rows the catalog's. */
#include "config.h"

#include "asset.h"
#include "catalog.h"
#include "cli-embed.h"
#include "commands.h"
#include "derivative.h"
#include "embed.h"
#include "embedding.h"
#include "query.h"
#include "selection.h"
#include "util.h"
#include "vecimport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- embed ---- */

struct todo {
	struct catalog *cat;
	const char *model;
	bool retry;
	int64_t *ids;
	size_t n, skipped, missed_before;
};

static int collect_todo(const struct asset *a, void *ctx)
{
	struct todo *t = ctx;
	if (catalog_format_is_video(a->format))
		return 0;
	enum embedding_state has;
	if (catalog_embedding_has(t->cat, a->id, t->model, &has) < 0)
		return 1;
	if (has == EMBEDDING_VECTOR) {
		t->skipped++;
		return 0;
	}
	if (has == EMBEDDING_MISSED && !t->retry) {
		t->missed_before++;
		return 0;
	}
	t->ids = xrealloc(t->ids, (t->n + 1) * sizeof(*t->ids));
	t->ids[t->n++] = a->id;
	return 0;
}

static int embed_import(struct cli *cli, struct catalog *cat, struct cli_embed *a);

static int cmd_embed(struct cli *cli, int argc, char **argv)
{
	struct cli_embed a = {0};
	struct catalog *cat = NULL;
	struct profile *p = NULL;
	struct todo t = {0};
	struct progress *bar = NULL;
	bool help;
	int rc = -1;
	const unsigned takes = CLI_EMBED_TAKES(CLI_EMBED_PROFILE) |
			       CLI_EMBED_TAKES(CLI_EMBED_HASHES) | CLI_EMBED_TAKES(CLI_EMBED_RETRY);
	if (cli_embed_parse(cli, &cmd_embed_entry, takes, argc, argv, &a, &help) < 0 || help) {
		rc = help ? 0 : -1;
		goto out;
	}
	cat = catalog_open(cli->store_dir);
	if (!cat)
		goto out;
	if (a.words.n && !strcmp(a.words.items[0], "import")) {
		rc = embed_import(cli, cat, &a);
		goto out;
	}
	if (!(p = embed_profile_load(a.model, a.profile, catalog_root(cat))))
		goto out;
	struct strbuf query = STRBUF_INIT;
	for (size_t i = 0; i < a.words.n; i++)
		sb_addf(&query, "%s%s", i ? " " : "", a.words.items[i]);
	t.cat = cat;
	t.model = a.model;
	t.retry = a.retry;
	struct query_options qo = {SORT_ID, false, 0};
	int qrc = catalog_query(cat, sb_str(&query), &qo, collect_todo, &t);
	sb_release(&query);
	if (qrc < 0)
		goto out;
	/* Each vector commits on its own, so an interrupted run resumes
	 * where it stopped: done assets are skipped next time. */
	size_t done = 0, nothing = 0;
	bar = cli->quiet ? NULL : progress_new("embedding", t.n);
	for (size_t i = 0; i < t.n; i++) {
		progress_step(bar, i);
		struct derivative d;
		float *v = NULL;
		uint32_t dim;
		if (catalog_derive(cat, t.ids[i], &p->refs.limits, &d) < 0)
			goto out;
		int erc = embed_image(p, d.path, d.format, &v, &dim);
		derivative_clear(&d);
		if (erc == EMBED_NOTHING) {
			warn_user("asset %lld: %s", (long long)t.ids[i], error_message());
			/* Remembered, so the next run does not send it again. */
			if (catalog_embedding_missed(cat, t.ids[i], a.model, error_message()) < 0)
				goto out;
			nothing++;
			continue;
		}
		if (erc < 0)
			goto out;
		erc = catalog_embedding_put(cat, t.ids[i], a.model, v, dim);
		free(v);
		if (erc < 0)
			goto out;
		done++;
	}
	progress_step(bar, t.n);
	progress_free(bar);
	bar = NULL;
	if (cli->json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "model", a.model);
		cJSON_AddNumberToObject(j, "embedded", (double)done);
		cJSON_AddNumberToObject(j, "already", (double)t.skipped);
		cJSON_AddNumberToObject(j, "nothing_to_embed", (double)nothing);
		cJSON_AddNumberToObject(j, "nothing_before", (double)t.missed_before);
		json_print(j);
	} else if (!cli->quiet) {
		printf("model %s: %zu embedded, %zu already had a vector, %zu with %s", a.model,
		       done, t.skipped, nothing, p->embedding.nothing_error);
		if (t.missed_before)
			printf(", %zu skipped as %s before (--retry asks again)", t.missed_before,
			       p->embedding.nothing_error);
		putchar('\n');
	}
	rc = 0;
out:
	progress_free(bar);
	free(t.ids);
	profile_free(p);
	catalog_close(cat);
	cli_embed_clear(&a);
	return rc;
}

/* ---- import: JSON Lines or a NumPy matrix with hashes beside it ---- */

struct pending {
	int64_t asset;
	float *v;
	uint32_t dim;
};

struct import {
	struct catalog *cat;
	struct pending *rows;
	size_t n;
};

static int import_row(const char *asset, const float *vector, uint32_t dim, void *ctx)
{
	struct import *im = ctx;
	int64_t id;
	if (selection_asset(im->cat, asset, &id) < 0)
		return -1;
	float *v = xmalloc(dim * sizeof(float));
	memcpy(v, vector, dim * sizeof(float));
	im->rows = xrealloc(im->rows, (im->n + 1) * sizeof(*im->rows));
	im->rows[im->n++] = (struct pending){id, v, dim};
	return 0;
}

/* Everything is read and checked first, then stored in one transaction. */
static int import_read(struct catalog *cat, const char *path, const char *hashes, struct import *im)
{
	struct strbuf data = STRBUF_INIT, names = STRBUF_INIT;
	size_t len = strlen(path);
	int rc = -1;
	im->cat = cat;
	if (len > 4 && !strcmp(path + len - 4, ".npy")) {
		if (!hashes)
			error_set(EX_USAGE,
				  "%s: a .npy matrix needs --hashes FILE (one asset per row)",
				  path);
		else if (file_read_all(path, &data) == 0 && file_read_all(hashes, &names) == 0)
			rc = vecimport_npy(data.buf, data.len, path, sb_str(&names), hashes,
					   import_row, im);
	} else if (file_read_all(path, &data) == 0) {
		rc = vecimport_jsonl(sb_str(&data), path, import_row, im);
	}
	sb_release(&data);
	sb_release(&names);
	return rc;
}

static int embed_import(struct cli *cli, struct catalog *cat, struct cli_embed *a)
{
	if (a->words.n != 2)
		return cli_usage_error(&cmd_embed_entry,
				       "embed import --model NAME FILE.jsonl|FILE.npy");
	const char *path = a->words.items[1];
	struct import im = {0};
	int rc = import_read(cat, path, a->hashes, &im);
	size_t n = im.n;
	struct pending *rows = im.rows;
	/* A bad row leaves the store as it was. */
	if (rc == 0 && n == 0)
		rc = error_set(EX_DATAERR, "%s: no vectors", path);
	bool begun = rc == 0 && catalog_begin(cat) == 0;
	if (rc == 0 && !begun)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = catalog_embedding_put(cat, rows[i].asset, a->model, rows[i].v, rows[i].dim);
	if (begun && catalog_end(cat, rc == 0) < 0)
		rc = -1;
	for (size_t i = 0; i < n; i++)
		free(rows[i].v);
	free(rows);
	if (rc == 0 && cli->json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "model", a->model);
		cJSON_AddNumberToObject(j, "imported", (double)n);
		json_print(j);
	} else if (rc == 0 && !cli->quiet) {
		printf("model %s: %zu vector%s imported\n", a->model, n, n == 1 ? "" : "s");
	}
	return rc;
}

const struct cmd_entry cmd_embed_entry = {
    "embed",
    NULL,
    "embed --model NAME [--retry] [QUERY] | embed import --model NAME FILE",
    "Compute embeddings for matching assets, or import vectors computed elsewhere.",
    "  -m, --model NAME        the model (its embedding profile has the same name)\n"
    "  -p, --profile NAME      use this embedding profile instead\n"
    "  --retry                 ask again about assets the model found nothing in\n"
    "  QUERY                   which assets (a tag query; default: all)\n"
    "  import FILE.jsonl       lines of {\"asset\": HASH|ID|PATH, \"vector\": [...]}\n"
    "  import FILE.npy         a float32 (N, D) matrix, with --hashes FILE naming the\n"
    "                          asset of each row, one per line\n",
    cmd_embed,
};
