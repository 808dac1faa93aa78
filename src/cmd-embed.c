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
	bool retry, again; /* again: embed those with vectors too */
	struct {
		int64_t id;
		int width, height;
	} * assets;
	size_t n, skipped, missed_before;
};

static int collect_todo(const struct asset *a, void *ctx)
{
	struct todo *t = ctx;
	if (catalog_format_is_video(a->format))
		return 0;
	enum embedding_state has = EMBEDDING_NONE;
	if (!t->again && catalog_embedding_has(t->cat, a->id, t->model, &has) < 0)
		return 1;
	if (has == EMBEDDING_VECTOR) {
		t->skipped++;
		return 0;
	}
	if (has == EMBEDDING_MISSED && !t->retry) {
		t->missed_before++;
		return 0;
	}
	t->assets = xrealloc(t->assets, (t->n + 1) * sizeof(*t->assets));
	t->assets[t->n].id = a->id;
	t->assets[t->n].width = a->width;
	t->assets[t->n].height = a->height;
	t->n++;
	return 0;
}

/* Which face of a picture to keep: the one --face names, else the
 * largest, saying so when there were others. */
static int pick_face(const struct cli_embed *a, int64_t id, int width, int height,
		     const struct embed_result *r, size_t *face)
{
	if (a->face > 0 && (size_t)a->face > r->n)
		return error_set(EX_DATAERR, "asset %lld: --face %lld, but the model found %zu",
				 (long long)id, (long long)a->face, r->n);
	*face = a->face > 0 ? (size_t)a->face - 1 : 0;
	if (r->n > 1 && a->face == 0) {
		const struct embed_face *f = &r->faces[0];
		if (f->has_box && width > 0 && height > 0)
			warn_user(
			    "asset %lld: %zu faces; took the largest (%.0fx%.0f at %.0f,%.0f); "
			    "--face N takes the Nth largest",
			    (long long)id, r->n, f->box[2] * width, f->box[3] * height,
			    f->box[0] * width, f->box[1] * height);
		else
			warn_user("asset %lld: %zu faces; took the largest; --face N takes the Nth "
				  "largest",
				  (long long)id, r->n);
	}
	return 0;
}

/* With --reembed every vector is made first and stored at the end in one
 * transaction, so a service that fails half way leaves the old ones. */
struct made {
	int64_t id;
	bool missed;
	char *reason;
	float *v;
	uint32_t dim;
	struct embedding_meta meta;
};

static int store_made(struct catalog *cat, const char *model, struct made *m, size_t n,
		      const char *network, const char *version)
{
	uint32_t dim = 0;
	for (size_t i = 0; i < n && !dim; i++)
		dim = m[i].missed ? 0 : m[i].dim;
	if (catalog_begin(cat) < 0)
		return -1;
	int rc = dim ? catalog_model_reset(cat, model, dim, network, version) : 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		m[i].meta.network = network;
		m[i].meta.version = version;
		rc = m[i].missed
			 ? catalog_embedding_missed(cat, m[i].id, model, m[i].reason)
			 : catalog_embedding_put(cat, m[i].id, model, m[i].v, m[i].dim, &m[i].meta);
	}
	return catalog_end(cat, rc == 0) < 0 ? -1 : rc;
}

static int embed_import(struct cli *cli, struct catalog *cat, struct cli_embed *a);

static int cmd_embed(struct cli *cli, int argc, char **argv)
{
	struct cli_embed a = {0};
	struct catalog *cat = NULL;
	struct profile *p = NULL;
	struct todo t = {0};
	struct progress *bar = NULL;
	struct made *made = NULL;
	char network[MODEL_NETWORK_MAX] = "", version[MODEL_VERSION_MAX] = "";
	size_t nmade = 0;
	bool help;
	int rc = -1;
	const unsigned takes = CLI_EMBED_TAKES(CLI_EMBED_PROFILE) |
			       CLI_EMBED_TAKES(CLI_EMBED_HASHES) |
			       CLI_EMBED_TAKES(CLI_EMBED_RETRY) | CLI_EMBED_TAKES(CLI_EMBED_FACE) |
			       CLI_EMBED_TAKES(CLI_EMBED_REEMBED);
	if (cli_embed_parse(cli, &cmd_embed_entry, takes, argc, argv, &a, &help) < 0 || help) {
		rc = help ? 0 : -1;
		goto out;
	}
	bool importing = a.words.n && !strcmp(a.words.items[0], "import");
	if (a.reembed && (a.words.n || a.face)) {
		cli_usage_error(
		    &cmd_embed_entry,
		    "--reembed replaces every vector of the model: no QUERY, no --face");
		goto out;
	}
	if (a.face && !a.words.n) {
		cli_usage_error(&cmd_embed_entry, "--face N needs the ASSET... whose face to keep");
		goto out;
	}
	if (importing && (a.face || a.retry)) {
		cli_usage_error(&cmd_embed_entry, "import takes neither --face nor --retry");
		goto out;
	}
	cat = catalog_open(cli->store_dir);
	if (!cat)
		goto out;
	if (importing) {
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
	t.retry = a.retry || a.reembed;
	t.again = a.face > 0 || a.reembed;
	int qrc = 0;
	if (a.face) {
		/* --face is about one picture's faces: the words name assets. */
		for (size_t i = 0; qrc == 0 && i < a.words.n; i++) {
			int64_t id;
			struct asset *asset = NULL;
			qrc = catalog_asset_resolve(cat, a.words.items[i], &id);
			if (qrc == 0 && !(asset = catalog_asset_get(cat, id)))
				qrc = -1;
			if (qrc == 0 && collect_todo(asset, &t))
				qrc = -1;
			asset_free(asset);
		}
	} else {
		struct query_options qo = {SORT_ID, false, 0};
		qrc = catalog_query(cat, sb_str(&query), &qo, collect_todo, &t);
	}
	sb_release(&query);
	if (qrc < 0)
		goto out;
	/* Each vector commits on its own, so an interrupted run resumes
	 * where it stopped: done assets are skipped next time. */
	size_t done = 0, nothing = 0;
	bar = cli->quiet ? NULL : progress_new("embedding", t.n);
	for (size_t i = 0; i < t.n; i++) {
		progress_step(bar, i);
		int64_t id = t.assets[i].id;
		struct derivative d;
		struct embed_result r;
		if (catalog_derive(cat, id, &p->refs.limits, &d) < 0)
			goto out;
		int erc = embed_image(p, d.path, d.format, d.width, d.height, &r);
		derivative_clear(&d);
		if (erc == EMBED_NOTHING) {
			embed_result_clear(&r);
			warn_user("asset %lld: %s", (long long)id, error_message());
			nothing++;
			if (a.reembed) {
				made = xrealloc(made, (nmade + 1) * sizeof(*made));
				made[nmade++] = (struct made){
				    .id = id, .missed = true, .reason = xstrdup(error_message())};
				continue;
			}
			/* Remembered, so the next run does not send it again. */
			if (catalog_embedding_missed(cat, id, a.model, error_message()) < 0)
				goto out;
			continue;
		}
		size_t f = 0;
		if (erc < 0 ||
		    pick_face(&a, id, t.assets[i].width, t.assets[i].height, &r, &f) < 0) {
			embed_result_clear(&r);
			goto out;
		}
		struct embedding_meta meta = embed_result_meta(&r, f);
		if (a.reembed) {
			/* One network for the whole run: a service changed under
			 * it would mix them. */
			if (!nmade || !*network) {
				snprintf(network, sizeof(network), "%s", r.network);
				snprintf(version, sizeof(version), "%s", r.version);
			} else if (strcmp(network, r.network) || strcmp(version, r.version)) {
				error_set(EX_DATAERR,
					  "asset %lld: the service answered with %s %s after %s "
					  "%s; nothing was changed",
					  (long long)id, r.network, r.version, network, version);
				embed_result_clear(&r);
				goto out;
			}
			made = xrealloc(made, (nmade + 1) * sizeof(*made));
			made[nmade++] = (struct made){
			    .id = id, .v = r.faces[f].vector, .dim = r.faces[f].dim, .meta = meta};
			r.faces[f].vector = NULL;
			embed_result_clear(&r);
			done++;
			continue;
		}
		erc = catalog_embedding_put(cat, id, a.model, r.faces[f].vector, r.faces[f].dim,
					    &meta);
		embed_result_clear(&r);
		if (erc < 0)
			goto out;
		done++;
	}
	progress_step(bar, t.n);
	progress_free(bar);
	bar = NULL;
	if (a.reembed && store_made(cat, a.model, made, nmade, network, version) < 0)
		goto out;
	if (cli->json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "model", a.model);
		if (*network)
			cJSON_AddStringToObject(j, "network", network);
		cJSON_AddNumberToObject(j, "embedded", (double)done);
		cJSON_AddNumberToObject(j, "already", (double)t.skipped);
		cJSON_AddNumberToObject(j, "nothing_to_embed", (double)nothing);
		cJSON_AddNumberToObject(j, "nothing_before", (double)t.missed_before);
		cJSON_AddBoolToObject(j, "reembedded", a.reembed);
		json_print(j);
	} else if (!cli->quiet) {
		printf("model %s: %zu %sembedded, %zu already had a vector, %zu with %s", a.model,
		       done, a.reembed ? "re-" : "", t.skipped, nothing,
		       p->embedding.nothing_error);
		if (t.missed_before)
			printf(", %zu skipped as %s before (--retry asks again)", t.missed_before,
			       p->embedding.nothing_error);
		putchar('\n');
		if (a.reembed && *network)
			printf("model %s is now %s %s; its threshold was cleared: run 'troupe "
			       "calibrate --model %s'\n",
			       a.model, network, version, a.model);
	}
	rc = 0;
out:
	for (size_t i = 0; i < nmade; i++) {
		free(made[i].v);
		free(made[i].reason);
	}
	free(made);
	progress_free(bar);
	free(t.assets);
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
		rc = catalog_embedding_put(cat, rows[i].asset, a->model, rows[i].v, rows[i].dim,
					   NULL);
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
    "embed --model NAME [--retry] [--reembed] [QUERY] | embed --model NAME --face N ASSET... | "
    "embed import --model NAME FILE",
    "Compute embeddings for matching assets, or import vectors computed elsewhere.",
    "  -m, --model NAME        the model (its embedding profile has the same name)\n"
    "  -p, --profile NAME      use this embedding profile instead\n"
    "  --retry                 ask again about assets the model found nothing in\n"
    "  --face N ASSET...       keep the Nth largest face of these assets (embeds again)\n"
    "  --reembed               embed every picture again and replace all the model's\n"
    "                          vectors at once (after the service changed network)\n"
    "  QUERY                   which assets (a tag query; default: all)\n"
    "  import FILE.jsonl       lines of {\"asset\": HASH|ID|PATH, \"vector\": [...]}\n"
    "  import FILE.npy         a float32 (N, D) matrix, with --hashes FILE naming the\n"
    "                          asset of each row, one per line\n",
    cmd_embed,
};
