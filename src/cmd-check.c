/* troupe check: whether shots still show a character, or each of a cast.
 * It parses options, gathers the shots (pictures, clips, stored assets)
 * and prints one verdict a shot and character; clips are
 * cmd-check-video.c's, the scoring likeness.c's. Exit 1 says some shot
 * drifted, 2 that the only failures had no face. */
#include "config.h"

#include "asset.h"
#include "catalog.h"
#include "character.h"
#include "cli-embed.h"
#include "cmd-check.h"
#include "commands.h"
#include "drift.h"
#include "embed.h"
#include "embedding.h"
#include "image.h"
#include "likeness.h"
#include "util.h"
#include "video.h"

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

static void shots_push(struct shots *s, const char *path, const char *label, const char *why,
		       int64_t asset, bool video)
{
	if (s->paths.n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->assets = xrealloc(s->assets, s->cap * sizeof(*s->assets));
		s->video = xrealloc(s->video, s->cap * sizeof(*s->video));
	}
	s->assets[s->paths.n] = asset;
	s->video[s->paths.n] = video;
	s->videos += video;
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
	free(s->video);
}

/* Whether a file's name says it is a picture, so that one found in a
 * directory that cannot be read is a shot that failed, not another file
 * (notes, a shot list) to pass over. */
static bool named_as(const char *path, const char *const *exts)
{
	const char *dot = strrchr(path, '.');
	if (!dot || strchr(dot, '/'))
		return false;
	for (const char *const *e = exts; *e; e++)
		if (strcasecmp(dot + 1, *e) == 0)
			return true;
	return false;
}

static bool named_as_picture(const char *path)
{
	static const char *const exts[] = {"jpg",  "jpeg", "png",  "webp", "gif", "tif", "tiff",
					   "heic", "heif", "avif", "jxl",  "bmp", NULL};
	return named_as(path, exts);
}

static bool named_as_video(const char *path)
{
	static const char *const exts[] = {"mp4", "m4v", "mov", "webm", "mkv", NULL};
	return named_as(path, exts);
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
			shots_push(shots, a->path, label, "", id,
				   catalog_format_is_video(a->format));
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
				shots_push(shots, path, path, "", 0, false);
				continue;
			}
			/* Not a picture: a clip, or else the picture's error,
			 * but the clip's for a file named as one. */
			if (error_code() == EX_DATAERR) {
				int code = error_code();
				char *why = xstrdup(error_message());
				struct video_info vi;
				int vrc = video_probe(path, &vi);
				if (vrc == 0) {
					free(why);
					shots_push(shots, path, path, "", 0, true);
					continue;
				}
				if (!named_as_video(path) || error_code() != EX_DATAERR)
					error_set(code, "%s", why);
				free(why);
			}
			if (named || error_code() != EX_DATAERR) {
				error_prefix("%s", path);
				strlist_clear(&found);
				return -1;
			}
			if (named_as_picture(path) || named_as_video(path))
				shots_push(shots, path, path, error_message(), 0,
					   named_as_video(path));
			else
				warn_user("skipped %s: %s", path, error_message());
		}
		strlist_clear(&found);
	}
	if (!shots->paths.n)
		return error_set(EX_DATAERR, "no pictures or videos to check");
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

/* The slugs of --character or --cast "a,b,c", each known, none twice. */
static int cast_slugs(struct catalog *cat, const struct cli_embed *a, struct strlist *slugs)
{
	struct strlist words = {0};
	if (a->character)
		strlist_push(&words, a->character);
	for (const char *c = a->cast; c && *c;) {
		size_t len = strcspn(c, ",");
		char *w = xstrndup(c, len);
		if (*w)
			strlist_push(&words, w);
		free(w);
		c += len + (c[len] == ',');
	}
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < words.n; i++) {
		char *slug = catalog_character_slug(cat, words.items[i]);
		if (!slug) {
			rc = -1;
			break;
		}
		for (size_t k = 0; k < slugs->n; k++)
			if (!strcmp(slugs->items[k], slug))
				rc = error_set(EX_USAGE, "--cast: @%s is named twice", slug);
		if (rc == 0)
			strlist_push(slugs, slug);
		free(slug);
	}
	if (rc == 0 && slugs->n > LIKENESS_MAX_CAST)
		rc = error_set(EX_USAGE, "--cast: at most %d characters", LIKENESS_MAX_CAST);
	if (rc == 0 && !slugs->n)
		rc = error_set(EX_USAGE, "--cast: no character named");
	strlist_clear(&words);
	return rc;
}

/* How a shot went, over its characters: the worst of their verdicts. */
static enum likeness_state shot_state(const struct likeness_verdict *v, size_t n)
{
	static const int rank[] = {[LIKENESS_SAME] = 0,
				   [LIKENESS_NO_FACE] = 1,
				   [LIKENESS_MISSING] = 2,
				   [LIKENESS_DRIFTED] = 3,
				   [LIKENESS_UNREADABLE] = 4};
	enum likeness_state worst = LIKENESS_SAME;
	for (size_t c = 0; c < n; c++)
		if (rank[v[c].state] > rank[worst])
			worst = v[c].state;
	return worst;
}

static cJSON *cast_json(const char *shot, const char *path, int64_t asset,
			const struct strlist *slugs, const char *model, double threshold,
			const char *threshold_from, const struct likeness_verdict *v,
			size_t strangers)
{
	enum likeness_state state = shot_state(v, slugs->n);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "shot", shot);
	if (asset)
		cJSON_AddNumberToObject(j, "asset", (double)asset);
	cJSON_AddStringToObject(j, "model", model);
	cJSON_AddStringToObject(j, "verdict", likeness_state_word(state));
	cJSON_AddBoolToObject(j, "pass", state == LIKENESS_SAME);
	cJSON_AddNumberToObject(j, "threshold", threshold);
	cJSON_AddStringToObject(j, "threshold_from", threshold_from);
	if (state != LIKENESS_UNREADABLE) {
		cJSON_AddNumberToObject(j, "faces", (double)v[0].faces);
		cJSON_AddNumberToObject(j, "strangers", (double)strangers);
	}
	cJSON *list = cJSON_AddArrayToObject(j, "characters");
	for (size_t c = 0; c < slugs->n; c++) {
		cJSON *one = verdict_json(shot, path, 0, slugs->items[c], model, threshold,
					  threshold_from, &v[c]);
		/* The shot's members are the shot's, not each character's. */
		static const char *const shared[] = {"shot", "model", "threshold", "threshold_from",
						     "faces"};
		for (size_t k = 0; k < sizeof(shared) / sizeof(*shared); k++)
			cJSON_DeleteItemFromObjectCaseSensitive(one, shared[k]);
		if (v[c].looks_like >= 0)
			cJSON_AddStringToObject(one, "looks_like", slugs->items[v[c].looks_like]);
		cJSON_AddItemToArray(list, one);
	}
	return j;
}

static void cast_row(struct table *t, const char *shot, const char *slug,
		     const struct likeness_verdict *v, const struct strlist *slugs)
{
	struct likeness_verdict shown = *v;
	if (v->looks_like >= 0) {
		char note[160];
		snprintf(note, sizeof(note), "%s%slooks more like @%s", v->reason,
			 *v->reason ? "; " : "", slugs->items[v->looks_like]);
		snprintf(shown.reason, sizeof(shown.reason), "%s", note);
	}
	char sim[24] = "-", bref[24] = "-", face[24] = "-";
	if (v->embedded) {
		snprintf(sim, sizeof(sim), "%.4f", v->similarity);
		snprintf(bref, sizeof(bref), "#%lld", (long long)v->similarity_ref);
		snprintf(face, sizeof(face), "%zu/%zu", v->face + 1, v->faces);
	} else if (v->state != LIKENESS_UNREADABLE) {
		snprintf(face, sizeof(face), "0/%zu", v->faces);
	}
	char *at = xasprintf("@%s", slug);
	char *shot_text = *shown.reason ? xasprintf("%s (%s)", shot, shown.reason) : xstrdup(shot);
	const char *row[] = {likeness_state_word(v->state), at, sim, bref, face, shot_text};
	table_add(t, row);
	free(at);
	free(shot_text);
}

static int cmd_check(struct cli *cli, int argc, char **argv)
{
	struct cli_embed a = {.model = "face"};
	struct catalog *cat = NULL;
	struct profile *p = NULL;
	struct likeness *cast[LIKENESS_MAX_CAST] = {NULL};
	struct strlist slugs = {0};
	struct shots shots = {0};
	bool help;
	int rc = -1, drifted = 0, unreadable = 0, faceless = 0;
	cJSON *json = NULL;
	struct table *table = NULL, *video_table = NULL;
	const unsigned takes =
	    CLI_EMBED_TAKES(CLI_EMBED_PROFILE) | CLI_EMBED_TAKES(CLI_EMBED_CHARACTER) |
	    CLI_EMBED_TAKES(CLI_EMBED_CAST) | CLI_EMBED_TAKES(CLI_EMBED_THRESHOLD) |
	    CLI_EMBED_TAKES(CLI_EMBED_RATE) | CLI_EMBED_TAKES(CLI_EMBED_SUSTAIN) |
	    CLI_EMBED_TAKES(CLI_EMBED_PLOT);
	if (cli_embed_parse(cli, &cmd_check_entry, takes, argc, argv, &a, &help) < 0 || help) {
		rc = help ? 0 : -1;
		goto out;
	}
	if ((!a.character && !a.cast) || !a.words.n) {
		cli_usage_error(&cmd_check_entry,
				"which shots, and --character SLUG or --cast A,B");
		goto out;
	}
	if (a.character && a.cast) {
		cli_usage_error(&cmd_check_entry, "--character or --cast, not both");
		goto out;
	}
	cat = catalog_open(cli->store_dir);
	if (!cat || collect_shots(cat, &a.words, &shots) < 0 || cast_slugs(cat, &a, &slugs) < 0)
		goto out;
	if (a.plot && shots.videos != 1) {
		cli_usage_error(&cmd_check_entry, "--plot draws one video: give exactly one");
		goto out;
	}
	bool is_cast = a.cast != NULL;
	double rate = a.rate > 0 ? a.rate : DRIFT_DEFAULT_RATE;
	double sustain = a.has_sustain ? a.sustain : DRIFT_DEFAULT_SUSTAIN;
	size_t nc = slugs.n;
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
	for (size_t c = 0; c < nc; c++)
		if (!(cast[c] = likeness_new(cat, p, &m, slugs.items[c])))
			goto out;
	static const char *const headers[] = {"VERDICT", "SIMILARITY", "BEST-REF", "FACES",
					      "PHASH",	 "PALETTE",    "SHOT"};
	static const char *const cast_headers[] = {"VERDICT",  "CHARACTER", "SIMILARITY",
						   "BEST-REF", "FACE",	    "SHOT"};
	static const char *const video_headers[] = {"VERDICT", "CHARACTER", "FIRST-DRIFT", "WORST",
						    "AT",      "FOUND",	    "VIDEO"};
	if (cli->json)
		json = cJSON_CreateArray();
	else if (shots.videos < shots.paths.n)
		table = is_cast ? table_new(6, cast_headers) : table_new(7, headers);
	if (!cli->json && shots.videos)
		video_table = table_new(7, video_headers);
	for (size_t s = 0; s < shots.paths.n; s++) {
		if (shots.video[s]) {
			int vrc =
			    check_video(cli, &shots, s, cast, &slugs, a.model, threshold,
					threshold_from, rate, sustain, a.plot, json, video_table);
			if (vrc < 0)
				goto out;
			drifted += vrc == LIKENESS_DRIFTED;
			unreadable += vrc == LIKENESS_UNREADABLE;
			faceless += vrc == LIKENESS_NO_FACE;
			continue;
		}
		struct likeness_verdict v[LIKENESS_MAX_CAST];
		size_t strangers = 0;
		const char *why = shots.unreadable.items[s];
		if (*why) {
			for (size_t c = 0; c < nc; c++) {
				memset(&v[c], 0, sizeof(v[c]));
				v[c].state = LIKENESS_UNREADABLE;
				v[c].phash_distance = -1;
				v[c].palette_distance = -1;
				v[c].looks_like = -1;
				snprintf(v[c].reason, sizeof(v[c].reason), "cannot be read: %s",
					 why);
			}
		} else if (likeness_check_cast(cast, nc, shots.paths.items[s], threshold, v,
					       &strangers) < 0) {
			goto out;
		}
		enum likeness_state state = shot_state(v, nc);
		drifted += state == LIKENESS_DRIFTED || state == LIKENESS_MISSING;
		unreadable += state == LIKENESS_UNREADABLE;
		faceless += state == LIKENESS_NO_FACE;
		const char *label = shots.labels.items[s];
		if (json && is_cast)
			cJSON_AddItemToArray(
			    json, cast_json(label, shots.paths.items[s], shots.assets[s], &slugs,
					    a.model, threshold, threshold_from, v, strangers));
		else if (json)
			cJSON_AddItemToArray(json,
					     verdict_json(label, shots.paths.items[s],
							  shots.assets[s], slugs.items[0], a.model,
							  threshold, threshold_from, &v[0]));
		else if (is_cast)
			for (size_t c = 0; c < nc; c++)
				cast_row(table, label, slugs.items[c], &v[c], &slugs);
		else
			verdict_row(table, label, &v[0]);
	}
	if (json) {
		json_print(json);
	} else {
		if (table)
			table_print(table, stdout);
		if (table && video_table)
			putchar('\n');
		if (video_table)
			table_print(video_table, stdout);
	}
	json = NULL;
	rc = 0;
out:
	cJSON_Delete(json);
	table_free(table);
	table_free(video_table);
	for (size_t c = 0; c < LIKENESS_MAX_CAST; c++)
		likeness_free(cast[c]);
	profile_free(p);
	catalog_close(cat);
	/* Exit 1 says some shot drifted or could not be read, 2 that the
	 * only failures are shots without a face; any other failure keeps
	 * its code. */
	size_t nshots = shots.paths.n;
	if (rc == 0 && (drifted || unreadable || faceless)) {
		/* "2 of 5 shots drifted from @mei, 1 had no face, and 1 could
		 * not be read" */
		struct strbuf why = STRBUF_INIT, who = STRBUF_INIT;
		for (size_t c = 0; c < slugs.n; c++)
			sb_addf(&who, "%s@%s", c ? ", " : "", slugs.items[c]);
		const char *parts[3];
		int counts[3], n = 0;
		char *from = xasprintf("drifted from %s", sb_str(&who));
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
				sb_addf(&why, "%s%s%d %s", n > 2 ? "," : "",
					k == n - 1 ? " and " : " ", counts[k], parts[k]);
		}
		error_set(drifted || unreadable ? 1 : 2, "%s", sb_str(&why));
		free(from);
		sb_release(&why);
		sb_release(&who);
		rc = -1;
	}
	strlist_clear(&slugs);
	shots_clear(&shots);
	cli_embed_clear(&a);
	return rc;
}

const struct cmd_entry cmd_check_entry = {
    "check",
    NULL,
    "check SHOT|VIDEO|ASSET... --character SLUG|--cast A,B... [--model NAME] [--threshold T]\n"
    "       [--rate R] [--sustain S] [--plot FILE]",
    "Score shots or assets against a character's references (exit 1: drifted, 2: no face).",
    "  -c, --character SLUG    the character the shots should show\n"
    "  --cast A,B...           the characters they should show, each given a face\n"
    "  --rate R                frames of a video checked each second (default 4)\n"
    "  --sustain S             seconds under the threshold that make drift (default 0.5)\n"
    "  --plot FILE             draw a video's similarity over time as a PNG\n"
    "  -m, --model NAME        the embedding model (default face)\n"
    "  -t, --threshold T       cosine similarity needed (default: the calibrated one)\n",
    cmd_check,
};
