/* troupe check: whether shots still show a character. It parses options,
 * gathers the shots and prints one verdict a shot; the scoring is
 * likeness.c's. Exit 1 says some shot drifted. */
#include "config.h"

#include "catalog.h"
#include "character.h"
#include "cli-embed.h"
#include "commands.h"
#include "embed.h"
#include "embedding.h"
#include "image.h"
#include "likeness.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int push_shot(const char *path, bool named, void *ctx)
{
	(void)named;
	strlist_push(ctx, path);
	return 0;
}

/* Shots must be pictures: one named on the command line that is not is
 * an error; in a directory, other files are skipped. */
static int collect_shots(const struct strlist *words, struct strlist *shots)
{
	for (size_t i = 0; i < words->n; i++) {
		struct strlist found = {0};
		if (files_walk(words->items[i], push_shot, &found) < 0) {
			strlist_clear(&found);
			return -1;
		}
		for (size_t k = 0; k < found.n; k++) {
			struct image_info info;
			bool named = strcmp(found.items[k], words->items[i]) == 0;
			if (image_probe(found.items[k], &info) < 0) {
				if (named || error_code() != EX_DATAERR) {
					error_prefix("%s", found.items[k]);
					strlist_clear(&found);
					return -1;
				}
				warn_user("skipped %s: %s", found.items[k], error_message());
				continue;
			}
			strlist_push(shots, found.items[k]);
		}
		strlist_clear(&found);
	}
	if (!shots->n)
		return error_set(EX_DATAERR, "no pictures to check");
	return 0;
}

static cJSON *verdict_json(const char *shot, const char *slug, const char *model, double threshold,
			   const struct likeness_verdict *v)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "shot", shot);
	cJSON_AddStringToObject(j, "character", slug);
	cJSON_AddStringToObject(j, "model", model);
	cJSON_AddStringToObject(j, "verdict", v->same ? "same" : "drifted");
	cJSON_AddBoolToObject(j, "pass", v->same);
	if (v->embedded) {
		cJSON_AddNumberToObject(j, "similarity", v->similarity);
		cJSON_AddNumberToObject(j, "best_reference", (double)v->similarity_ref);
	}
	cJSON_AddNumberToObject(j, "threshold", threshold);
	if (v->phash_distance >= 0) {
		cJSON_AddNumberToObject(j, "phash_distance", v->phash_distance);
		cJSON_AddNumberToObject(j, "phash_reference", (double)v->phash_ref);
	}
	if (v->palette_distance >= 0) {
		cJSON_AddNumberToObject(j, "palette_distance",
					round(v->palette_distance * 100) / 100);
		cJSON_AddNumberToObject(j, "palette_reference", (double)v->palette_ref);
	}
	if (*v->reason)
		cJSON_AddStringToObject(j, "reason", v->reason);
	return j;
}

static void verdict_row(struct table *t, const char *shot, const struct likeness_verdict *v)
{
	char sim[24] = "-", bref[24] = "-", pd[24] = "-", cd[24] = "-";
	if (v->palette_distance >= 0)
		snprintf(cd, sizeof(cd), "%.1f", v->palette_distance);
	if (v->embedded) {
		snprintf(sim, sizeof(sim), "%.4f", v->similarity);
		snprintf(bref, sizeof(bref), "#%lld", (long long)v->similarity_ref);
	}
	if (v->phash_distance >= 0)
		snprintf(pd, sizeof(pd), "%d", v->phash_distance);
	char *shot_text = *v->reason ? xasprintf("%s (%s)", shot, v->reason) : xstrdup(shot);
	const char *row[] = {v->same ? "same" : "drifted", sim, bref, pd, cd, shot_text};
	table_add(t, row);
	free(shot_text);
}

static int cmd_check(struct cli *cli, int argc, char **argv)
{
	struct cli_embed a = {.model = "face"};
	struct catalog *cat = NULL;
	struct profile *p = NULL;
	struct likeness *l = NULL;
	struct strlist shots = {0};
	char *slug = NULL;
	bool help;
	int rc = -1, drifted = 0;
	cJSON *json = NULL;
	struct table *table = NULL;
	const unsigned takes = CLI_EMBED_TAKES(CLI_EMBED_PROFILE) |
			       CLI_EMBED_TAKES(CLI_EMBED_CHARACTER) |
			       CLI_EMBED_TAKES(CLI_EMBED_THRESHOLD);
	if (cli_embed_parse(cli, &cmd_check_entry, takes, argc, argv, &a, &help) < 0 || help) {
		rc = help ? 0 : -1;
		goto out;
	}
	if (!a.character || !a.words.n) {
		cli_usage_error(&cmd_check_entry, "which shots, and --character SLUG");
		goto out;
	}
	if (collect_shots(&a.words, &shots) < 0)
		goto out;
	cat = catalog_open(cli->store_dir);
	if (!cat || !(slug = catalog_character_slug(cat, a.character)))
		goto out;
	struct model_info m;
	if (catalog_model_get(cat, a.model, &m) < 0 ||
	    !(p = embed_profile_load(a.model, a.profile, catalog_root(cat))))
		goto out;
	double threshold = a.has_threshold ? a.threshold : m.threshold;
	if (!a.has_threshold && !m.has_threshold) {
		error_set(EX_CONFIG,
			  "model %s has no threshold yet: run 'troupe calibrate --model %s' "
			  "or give --threshold",
			  a.model, a.model);
		goto out;
	}
	if (!(l = likeness_new(cat, p, &m, slug)))
		goto out;
	static const char *const headers[] = {"VERDICT", "SIMILARITY", "BEST-REF",
					      "PHASH",	 "PALETTE",    "SHOT"};
	if (cli->json)
		json = cJSON_CreateArray();
	else
		table = table_new(6, headers);
	for (size_t s = 0; s < shots.n; s++) {
		struct likeness_verdict v;
		if (likeness_check(l, shots.items[s], threshold, &v) < 0)
			goto out;
		drifted += !v.same;
		if (json)
			cJSON_AddItemToArray(
			    json, verdict_json(shots.items[s], slug, a.model, threshold, &v));
		else
			verdict_row(table, shots.items[s], &v);
	}
	if (json)
		json_print(json);
	else
		table_print(table, stdout);
	json = NULL;
	rc = 0;
out:
	cJSON_Delete(json);
	table_free(table);
	likeness_free(l);
	profile_free(p);
	catalog_close(cat);
	/* Exit 1 says some shot drifted; any other failure keeps its code. */
	if (rc == 0 && drifted) {
		error_set(1, "%d of %zu shot%s drifted from @%s", drifted, shots.n,
			  shots.n == 1 ? "" : "s", slug);
		rc = -1;
	}
	free(slug);
	strlist_clear(&shots);
	cli_embed_clear(&a);
	return rc;
}

const struct cmd_entry cmd_check_entry = {
    "check",
    NULL,
    "check SHOT... --character SLUG [--model NAME] [--threshold T]",
    "Score shots against a character's references; exit 1 if any drifted.",
    "  -c, --character SLUG    the character the shots should show\n"
    "  -m, --model NAME        the embedding model (default face)\n"
    "  -t, --threshold T       cosine similarity needed (default: the calibrated one)\n",
    cmd_check,
};
