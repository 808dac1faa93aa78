/* troupe check: whether shots still show a character. It parses options,
 * gathers the shots and prints one verdict a shot; the scoring is
 * likeness.c's. Exit 1 says some shot drifted, 2 that some had no face. */
#include "config.h"

#include "asset.h"
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
#include <strings.h>
#include <sys/stat.h>

static int push_shot(const char *path, bool named, void *ctx)
{
	(void)named;
	strlist_push(ctx, path);
	return 0;
}

/* The shots to check, in order: where each one's bytes are, what the
 * output calls it, and why it cannot be read ("" when it can). */
struct shots {
	struct strlist paths;
	struct strlist labels;
	struct strlist unreadable;
	int64_t *assets; /* the stored asset each is, or 0 for a file */
	size_t cap;
};

static void shots_push(struct shots *s, const char *path, const char *label, const char *why,
		       int64_t asset)
{
	if (s->paths.n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->assets = xrealloc(s->assets, s->cap * sizeof(*s->assets));
	}
	s->assets[s->paths.n] = asset;
	strlist_push(&s->paths, path);
	strlist_push(&s->labels, label);
	strlist_push(&s->unreadable, why);
}

static void shots_clear(struct shots *s)
{
	strlist_clear(&s->paths);
	strlist_clear(&s->labels);
	strlist_clear(&s->unreadable);
	free(s->assets);
}

/* Whether a file's name says it is a picture, so that one found in a
 * directory that cannot be read is a shot that failed, not another file
 * (notes, a shot list) to pass over. */
static bool named_as_picture(const char *path)
{
	static const char *const exts[] = {"jpg",  "jpeg", "png",  "webp", "gif", "tif", "tiff",
					   "heic", "heif", "avif", "jxl",  "bmp", NULL};
	const char *dot = strrchr(path, '.');
	if (!dot || strchr(dot, '/'))
		return false;
	for (const char *const *e = exts; *e; e++)
		if (strcasecmp(dot + 1, *e) == 0)
			return true;
	return false;
}

/* A word that names no file but is written as an asset is (an id, '#id'
 * or a hash prefix) is taken as a stored asset. */
static bool written_as_asset(const char *word)
{
	size_t len = strlen(word);
	if (word[0] == '#' || (len && strspn(word, "0123456789") == len))
		return true;
	return len >= 8 && strspn(word, "0123456789abcdefABCDEF") == len;
}

/* Shots are files, directories of them, or stored assets. A file named
 * on the command line that is not a picture is an error. In a directory,
 * a file named as a picture that cannot be read is a shot that fails;
 * other files are skipped with a warning. */
static int collect_shots(struct catalog *cat, const struct strlist *words, struct shots *shots)
{
	for (size_t i = 0; i < words->n; i++) {
		const char *word = words->items[i];
		struct stat st;
		if (stat(word, &st) < 0 && written_as_asset(word)) {
			int64_t id;
			if (catalog_asset_resolve(cat, word, &id) < 0)
				return -1;
			struct asset *a = catalog_asset_get(cat, id);
			if (!a)
				return -1;
			char *label = xasprintf("#%lld", (long long)id);
			shots_push(shots, a->path, label, "", id);
			free(label);
			asset_free(a);
			continue;
		}
		struct strlist found = {0};
		if (files_walk(word, push_shot, &found) < 0) {
			strlist_clear(&found);
			return -1;
		}
		for (size_t k = 0; k < found.n; k++) {
			struct image_info info;
			const char *path = found.items[k];
			bool named = strcmp(path, word) == 0;
			if (image_probe(path, &info) == 0) {
				shots_push(shots, path, path, "", 0);
				continue;
			}
			if (named || error_code() != EX_DATAERR) {
				error_prefix("%s", path);
				strlist_clear(&found);
				return -1;
			}
			if (named_as_picture(path))
				shots_push(shots, path, path, error_message(), 0);
			else
				warn_user("skipped %s: %s", path, error_message());
		}
		strlist_clear(&found);
	}
	if (!shots->paths.n)
		return error_set(EX_DATAERR, "no pictures to check");
	return 0;
}

/* The box of the scored face in pixels of the shot, when known. */
static bool box_pixels(const char *path, const struct likeness_verdict *v, int px[4])
{
	struct image_info info;
	if (!v->has_box || image_probe(path, &info) < 0) {
		error_clear();
		return false;
	}
	px[0] = (int)lround(v->box[0] * info.width);
	px[1] = (int)lround(v->box[1] * info.height);
	px[2] = (int)lround(v->box[2] * info.width);
	px[3] = (int)lround(v->box[3] * info.height);
	return true;
}

static cJSON *verdict_json(const char *shot, const char *path, int64_t asset, const char *slug,
			   const char *model, double threshold, const char *threshold_from,
			   const struct likeness_verdict *v)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "shot", shot);
	if (asset)
		cJSON_AddNumberToObject(j, "asset", (double)asset);
	cJSON_AddStringToObject(j, "character", slug);
	cJSON_AddStringToObject(j, "model", model);
	cJSON_AddStringToObject(j, "verdict", likeness_state_word(v->state));
	cJSON_AddBoolToObject(j, "pass", v->state == LIKENESS_SAME);
	if (v->embedded) {
		cJSON_AddNumberToObject(j, "similarity", v->similarity);
		cJSON_AddNumberToObject(j, "best_reference", (double)v->similarity_ref);
	}
	cJSON_AddNumberToObject(j, "threshold", threshold);
	cJSON_AddStringToObject(j, "threshold_from", threshold_from);
	if (v->state != LIKENESS_UNREADABLE)
		cJSON_AddNumberToObject(j, "faces", (double)v->faces);
	int px[4];
	if (v->embedded && box_pixels(path, v, px)) {
		cJSON_AddNumberToObject(j, "face", (double)v->face + 1);
		cJSON *box = cJSON_AddObjectToObject(j, "box");
		cJSON_AddNumberToObject(box, "x", px[0]);
		cJSON_AddNumberToObject(box, "y", px[1]);
		cJSON_AddNumberToObject(box, "width", px[2]);
		cJSON_AddNumberToObject(box, "height", px[3]);
	}
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
	char sim[24] = "-", bref[24] = "-", faces[24] = "-", pd[24] = "-", cd[24] = "-";
	if (v->palette_distance >= 0)
		snprintf(cd, sizeof(cd), "%.1f", v->palette_distance);
	if (v->embedded) {
		snprintf(sim, sizeof(sim), "%.4f", v->similarity);
		snprintf(bref, sizeof(bref), "#%lld", (long long)v->similarity_ref);
	}
	/* "2/3": the second largest of three faces was the closest. */
	if (v->embedded && v->faces > 1)
		snprintf(faces, sizeof(faces), "%zu/%zu", v->face + 1, v->faces);
	else if (v->state != LIKENESS_UNREADABLE)
		snprintf(faces, sizeof(faces), "%zu", v->faces);
	if (v->phash_distance >= 0)
		snprintf(pd, sizeof(pd), "%d", v->phash_distance);
	char *shot_text = *v->reason ? xasprintf("%s (%s)", shot, v->reason) : xstrdup(shot);
	const char *row[] = {likeness_state_word(v->state), sim, bref, faces, pd, cd, shot_text};
	table_add(t, row);
	free(shot_text);
}

static int cmd_check(struct cli *cli, int argc, char **argv)
{
	struct cli_embed a = {.model = "face"};
	struct catalog *cat = NULL;
	struct profile *p = NULL;
	struct likeness *l = NULL;
	struct shots shots = {0};
	char *slug = NULL;
	bool help;
	int rc = -1, drifted = 0, unreadable = 0, faceless = 0;
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
	cat = catalog_open(cli->store_dir);
	if (!cat || collect_shots(cat, &a.words, &shots) < 0 ||
	    !(slug = catalog_character_slug(cat, a.character)))
		goto out;
	struct model_info m;
	if (catalog_model_get(cat, a.model, &m) < 0 ||
	    !(p = embed_profile_load(a.model, a.profile, catalog_root(cat))))
		goto out;
	/* Given, else calibrated on this store, else the one the model's
	 * profile ships (measured by its makers on other people). */
	double threshold = a.threshold;
	const char *threshold_from = "given";
	if (!a.has_threshold && m.has_threshold) {
		threshold = m.threshold;
		threshold_from = "calibrated";
	} else if (!a.has_threshold && p->embedding.has_threshold) {
		threshold = p->embedding.threshold;
		threshold_from = "default";
	} else if (!a.has_threshold) {
		error_set(EX_CONFIG,
			  "model %s has no threshold yet: run 'troupe calibrate --model %s' "
			  "or give --threshold",
			  a.model, a.model);
		goto out;
	}
	if (!(l = likeness_new(cat, p, &m, slug)))
		goto out;
	static const char *const headers[] = {"VERDICT", "SIMILARITY", "BEST-REF", "FACES",
					      "PHASH",	 "PALETTE",    "SHOT"};
	if (cli->json)
		json = cJSON_CreateArray();
	else
		table = table_new(7, headers);
	for (size_t s = 0; s < shots.paths.n; s++) {
		struct likeness_verdict v;
		const char *why = shots.unreadable.items[s];
		if (*why) {
			memset(&v, 0, sizeof(v));
			v.state = LIKENESS_UNREADABLE;
			v.phash_distance = -1;
			v.palette_distance = -1;
			snprintf(v.reason, sizeof(v.reason), "cannot be read: %s", why);
		} else if (likeness_check(l, shots.paths.items[s], threshold, &v) < 0) {
			goto out;
		}
		drifted += v.state == LIKENESS_DRIFTED;
		unreadable += v.state == LIKENESS_UNREADABLE;
		faceless += v.state == LIKENESS_NO_FACE;
		const char *label = shots.labels.items[s];
		if (json)
			cJSON_AddItemToArray(json, verdict_json(label, shots.paths.items[s],
								shots.assets[s], slug, a.model,
								threshold, threshold_from, &v));
		else
			verdict_row(table, label, &v);
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
	/* Exit 1 says some shot drifted or could not be read, 2 that the
	 * only failures are shots without a face; any other failure keeps
	 * its code. */
	size_t nshots = shots.paths.n;
	if (rc == 0 && (drifted || unreadable || faceless)) {
		/* "2 of 5 shots drifted from @mei, 1 had no face, and 1 could
		 * not be read" */
		struct strbuf why = STRBUF_INIT;
		const char *parts[3];
		int counts[3], n = 0;
		char *from = xasprintf("drifted from @%s", slug);
		if (drifted)
			parts[n] = from, counts[n++] = drifted;
		if (faceless)
			parts[n] = "had no face", counts[n++] = faceless;
		if (unreadable)
			parts[n] = "could not be read", counts[n++] = unreadable;
		for (int k = 0; k < n; k++) {
			if (k == 0)
				sb_addf(&why, "%d of %zu shot%s %s", counts[k], nshots,
					nshots == 1 ? "" : "s", parts[k]);
			else
				sb_addf(&why, "%s%s%d %s", n > 2 ? "," : "", k == n - 1 ? " and " : " ",
					counts[k], parts[k]);
		}
		error_set(drifted || unreadable ? 1 : 2, "%s", sb_str(&why));
		free(from);
		sb_release(&why);
		rc = -1;
	}
	free(slug);
	shots_clear(&shots);
	cli_embed_clear(&a);
	return rc;
}

const struct cmd_entry cmd_check_entry = {
    "check",
    NULL,
    "check SHOT|ASSET... --character SLUG [--model NAME] [--threshold T]",
    "Score shots or assets against a character's references (exit 1: drifted, 2: no face).",
    "  -c, --character SLUG    the character the shots should show\n"
    "  -m, --model NAME        the embedding model (default face)\n"
    "  -t, --threshold T       cosine similarity needed (default: the calibrated one)\n",
    cmd_check,
};
