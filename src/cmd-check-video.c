/* troupe check, for videos: a clip sampled and judged by drift.c, then
 * its rows, its JSON series and its plot. Printing and the plot's file
 * only; the scoring is likeness.c's and drift.c's. */
#include "config.h"

#include "cmd-check.h"
#include "drift.h"
#include "image.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- videos ---- */

static void show_progress(size_t done, size_t total, void *ctx)
{
	struct progress **bar = ctx;
	if (!*bar && done < total)
		*bar = progress_new("frames", total);
	progress_step(*bar, done < total ? done : total);
}

static cJSON *video_json(const char *shot, int64_t asset, const struct strlist *slugs,
			 const char *model, double threshold, const char *threshold_from,
			 double rate, double sustain, const struct drift_scan *scan,
			 const struct drift_verdict *v, enum likeness_state state)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "shot", shot);
	if (asset)
		cJSON_AddNumberToObject(j, "asset", (double)asset);
	cJSON_AddStringToObject(j, "kind", "video");
	cJSON_AddStringToObject(j, "model", model);
	cJSON_AddStringToObject(j, "verdict", likeness_state_word(state));
	cJSON_AddBoolToObject(j, "pass", state == LIKENESS_SAME);
	cJSON_AddNumberToObject(j, "duration", scan->duration);
	cJSON_AddNumberToObject(j, "rate", rate);
	cJSON_AddNumberToObject(j, "sustain", sustain);
	cJSON_AddNumberToObject(j, "threshold", threshold);
	cJSON_AddStringToObject(j, "threshold_from", threshold_from);
	cJSON_AddNumberToObject(j, "frames", (double)scan->n);
	cJSON *chars = cJSON_AddArrayToObject(j, "characters");
	for (size_t c = 0; c < slugs->n; c++) {
		cJSON *one = cJSON_CreateObject();
		cJSON_AddStringToObject(one, "character", slugs->items[c]);
		cJSON_AddStringToObject(one, "verdict", likeness_state_word(v[c].state));
		cJSON_AddBoolToObject(one, "pass", v[c].state == LIKENESS_SAME);
		if (v[c].first_drift >= 0)
			cJSON_AddNumberToObject(one, "first_drift", v[c].first_drift);
		if (!isnan(v[c].worst)) {
			cJSON_AddNumberToObject(one, "worst", v[c].worst);
			cJSON_AddNumberToObject(one, "worst_at", v[c].worst_at);
			cJSON_AddNumberToObject(one, "worst_reference", (double)v[c].worst_ref);
		}
		cJSON_AddNumberToObject(one, "found", round(v[c].found_share * 1000) / 1000);
		cJSON_AddNumberToObject(one, "frames_below", (double)v[c].below);
		cJSON *spans = cJSON_AddArrayToObject(one, "drift");
		for (size_t k = 0; k < v[c].nspans; k++) {
			cJSON *span = cJSON_CreateObject();
			cJSON_AddNumberToObject(span, "from", v[c].span_from[k]);
			cJSON_AddNumberToObject(span, "to", v[c].span_to[k]);
			cJSON_AddItemToArray(spans, span);
		}
		if (v[c].looks_like >= 0)
			cJSON_AddStringToObject(one, "looks_like", slugs->items[v[c].looks_like]);
		cJSON_AddItemToArray(chars, one);
	}
	/* The series, frame by frame. */
	cJSON *frames = cJSON_AddArrayToObject(j, "series");
	size_t nc = slugs->n;
	for (size_t i = 0; i < scan->n; i++) {
		cJSON *f = cJSON_CreateObject();
		cJSON_AddNumberToObject(f, "t", round(scan->t[i] * 1000) / 1000);
		cJSON_AddNumberToObject(f, "faces", (double)scan->faces[i]);
		cJSON_AddNumberToObject(f, "strangers", (double)scan->strangers[i]);
		cJSON *per = cJSON_AddArrayToObject(f, "characters");
		for (size_t c = 0; c < nc; c++) {
			size_t k = i * nc + c;
			cJSON *one = cJSON_CreateObject();
			cJSON_AddStringToObject(one, "character", slugs->items[c]);
			if (isnan(scan->sim[k])) {
				cJSON_AddNullToObject(one, "similarity");
			} else {
				cJSON_AddNumberToObject(one, "similarity", scan->sim[k]);
				cJSON_AddNumberToObject(one, "face", scan->face[k] + 1);
				if (scan->has_box[k]) {
					cJSON *box = cJSON_AddObjectToObject(one, "box");
					cJSON_AddNumberToObject(
					    box, "x", lround(scan->box[k][0] * scan->width));
					cJSON_AddNumberToObject(
					    box, "y", lround(scan->box[k][1] * scan->height));
					cJSON_AddNumberToObject(
					    box, "width", lround(scan->box[k][2] * scan->width));
					cJSON_AddNumberToObject(
					    box, "height", lround(scan->box[k][3] * scan->height));
				}
			}
			if (scan->looks_like[k] >= 0)
				cJSON_AddStringToObject(one, "looks_like",
							slugs->items[scan->looks_like[k]]);
			cJSON_AddItemToArray(per, one);
		}
		cJSON_AddItemToArray(frames, f);
	}
	return j;
}

static void video_row(struct table *t, const char *shot, const char *slug,
		      const struct drift_verdict *v, const struct strlist *slugs)
{
	char first[24] = "-", worst[24] = "-", at[24] = "-", found[24];
	if (v->first_drift >= 0)
		snprintf(first, sizeof(first), "%.2fs", v->first_drift);
	if (!isnan(v->worst)) {
		snprintf(worst, sizeof(worst), "%.4f", v->worst);
		snprintf(at, sizeof(at), "%.2fs", v->worst_at);
	}
	snprintf(found, sizeof(found), "%.0f%%", 100 * v->found_share);
	char *who = xasprintf("@%s", slug);
	char *text = v->looks_like >= 0
			 ? xasprintf("%s (looks more like @%s)", shot, slugs->items[v->looks_like])
			 : xstrdup(shot);
	const char *row[] = {likeness_state_word(v->state), who, first, worst, at, found, text};
	table_add(t, row);
	free(who);
	free(text);
}

/* Draws the scan as a PNG at path. */
static int video_plot(const char *path, const char *shot, const char *model,
		      const struct strlist *slugs, const struct drift_scan *scan,
		      const struct drift_verdict *v, double threshold)
{
	size_t nc = slugs->n;
	struct image_plot_series series[LIKENESS_MAX_CAST];
	double *values = xmalloc(nc * scan->n * sizeof(double));
	char *names[LIKENESS_MAX_CAST];
	size_t nspans = 0;
	for (size_t c = 0; c < nc; c++)
		nspans += v[c].nspans;
	double *from = xmalloc((nspans + 1) * sizeof(double));
	double *to = xmalloc((nspans + 1) * sizeof(double));
	nspans = 0;
	for (size_t c = 0; c < nc; c++) {
		for (size_t i = 0; i < scan->n; i++)
			values[c * scan->n + i] = scan->sim[i * nc + c];
		names[c] = xasprintf("@%s", slugs->items[c]);
		series[c] = (struct image_plot_series){names[c], values + c * scan->n};
		for (size_t k = 0; k < v[c].nspans; k++, nspans++) {
			from[nspans] = v[c].span_from[k];
			to[nspans] = v[c].span_to[k];
		}
	}
	struct image_plot_thumb thumbs[DRIFT_MAX_THUMBS];
	for (size_t i = 0; i < scan->nthumbs; i++)
		thumbs[i] = (struct image_plot_thumb){scan->thumb_t[i], scan->thumbs[i].data,
						      scan->thumbs[i].len};
	char *title = xasprintf("%s: similarity to the references (model %s)", shot, model);
	struct image_plot spec = {.title = title,
				  .t = scan->t,
				  .n = scan->n,
				  .series = series,
				  .nseries = nc,
				  .threshold = threshold,
				  .drift_from = from,
				  .drift_to = to,
				  .ndrift = nspans,
				  .thumbs = thumbs,
				  .nthumbs = scan->nthumbs,
				  .width = 0};
	struct image_buffer png;
	int rc = image_plot(&spec, &png);
	if (rc == 0)
		rc = file_write_atomic(path, png.data, png.len);
	if (rc < 0)
		error_prefix("--plot %s", path);
	image_buffer_clear(&png);
	for (size_t c = 0; c < nc; c++)
		free(names[c]);
	free(title);
	free(values);
	free(from);
	free(to);
	return rc;
}

/* A clip's verdict over its characters: drifted (or missing) is worst
 * after unreadable, then no face. */
static enum likeness_state shot_state_of_clip(const struct drift_verdict *v, size_t n)
{
	enum likeness_state worst = LIKENESS_SAME;
	for (size_t c = 0; c < n; c++) {
		enum likeness_state st =
		    v[c].state == LIKENESS_MISSING ? LIKENESS_DRIFTED : v[c].state;
		if (st == LIKENESS_DRIFTED || (st == LIKENESS_NO_FACE && worst == LIKENESS_SAME))
			worst = st;
	}
	return worst;
}

/* Checks clip s frame by frame: its row or object, its plot; returns the
 * clip's verdict (a likeness_state), or -1. */
int check_video(struct cli *cli, const struct shots *shots, size_t s, struct likeness *const *cast,
		const struct strlist *slugs, const char *model, double threshold,
		const char *threshold_from, double rate, double sustain, const char *plot,
		cJSON *json, struct table *table)
{
	size_t nc = slugs->n;
	const char *label = shots->labels.items[s];
	struct drift_verdict v[LIKENESS_MAX_CAST];
	memset(v, 0, sizeof(v));
	struct drift_scan scan;
	memset(&scan, 0, sizeof(scan));
	struct progress *bar = NULL;
	int rc = -1;
	enum likeness_state state = LIKENESS_UNREADABLE;
	if (*shots->unreadable.items[s]) {
		for (size_t c = 0; c < nc; c++) {
			v[c].state = LIKENESS_UNREADABLE;
			v[c].first_drift = -1;
			v[c].worst = NAN;
			v[c].looks_like = -1;
		}
	} else {
		if (drift_scan_video(cast, nc, shots->paths.items[s], rate, threshold,
				     cli->quiet ? NULL : show_progress, &bar, &scan) < 0) {
			if (shots->assets[s])
				error_prefix("%s", label);
			goto out;
		}
		progress_free(bar);
		bar = NULL;
		for (size_t c = 0; c < nc; c++)
			drift_judge(&scan, c, threshold, sustain, &v[c]);
		state = shot_state_of_clip(v, nc);
	}
	if (json)
		cJSON_AddItemToArray(json,
				     video_json(label, shots->assets[s], slugs, model, threshold,
						threshold_from, rate, sustain, &scan, v, state));
	else
		for (size_t c = 0; c < nc; c++)
			video_row(table, label, slugs->items[c], &v[c], slugs);
	if (plot && state != LIKENESS_UNREADABLE &&
	    video_plot(plot, label, model, slugs, &scan, v, threshold) < 0)
		goto out;
	rc = (int)state;
out:
	progress_free(bar);
	for (size_t c = 0; c < nc; c++)
		drift_verdict_clear(&v[c]);
	drift_scan_clear(&scan);
	return rc;
}
