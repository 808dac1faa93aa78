/* troupe shot check: each take of a shot checked like a video by troupe
 * check, against the characters the shot mentions, its verdict recorded
 * by take-check.c; here only the options' meaning, the rows, the JSON and
 * the exit status (1: some take drifted or could not be read, 2: the only
 * failures had no face). */
#include "config.h"

#include "catalog.h"
#include "cmd-shot.h"
#include "shot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cJSON *shot_check_json(const struct take_check *c)
{
	if (!c)
		return cJSON_CreateNull();
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "verdict", c->verdict);
	cJSON_AddBoolToObject(j, "pass", !strcmp(c->verdict, "same"));
	cJSON_AddStringToObject(j, "model", c->model);
	cJSON_AddNumberToObject(j, "threshold", c->threshold);
	cJSON_AddStringToObject(j, "threshold_from", c->threshold_from);
	cJSON_AddNumberToObject(j, "rate", c->rate);
	cJSON_AddNumberToObject(j, "sustain", c->sustain);
	cJSON_AddNumberToObject(j, "frames", c->frames);
	if (c->reason)
		cJSON_AddStringToObject(j, "reason", c->reason);
	char when[32];
	time_iso8601(c->checked, when);
	cJSON_AddStringToObject(j, "checked", when);
	cJSON *cast = cJSON_AddArrayToObject(j, "characters");
	for (size_t i = 0; i < c->ncast; i++) {
		const struct take_figure *f = &c->cast[i];
		cJSON *one = cJSON_CreateObject();
		cJSON_AddStringToObject(one, "character", f->character);
		if (*f->look)
			cJSON_AddStringToObject(one, "look", f->look);
		else
			cJSON_AddNullToObject(one, "look");
		cJSON_AddStringToObject(one, "verdict", f->verdict);
		cJSON_AddBoolToObject(one, "pass", !strcmp(f->verdict, "same"));
		if (!isnan(f->worst)) {
			cJSON_AddNumberToObject(one, "worst", f->worst);
			cJSON_AddNumberToObject(one, "worst_at", f->worst_at);
		}
		if (f->first_drift >= 0)
			cJSON_AddNumberToObject(one, "first_drift", f->first_drift);
		cJSON_AddNumberToObject(one, "found", f->found);
		cJSON_AddNumberToObject(one, "frames_below", f->frames_below);
		if (f->looks_like)
			cJSON_AddStringToObject(one, "looks_like", f->looks_like);
		cJSON_AddItemToArray(cast, one);
	}
	return j;
}

char *shot_check_line(const struct take_check *c)
{
	if (!c)
		return xstrdup("-");
	struct strbuf sb = STRBUF_INIT;
	sb_adds(&sb, c->verdict);
	for (size_t i = 0; i < c->ncast; i++) {
		const struct take_figure *f = &c->cast[i];
		sb_addf(&sb, "%s @%s", i ? "," : ";", f->character);
		if (*f->look)
			sb_addf(&sb, ".%s", f->look);
		if (strcmp(f->verdict, c->verdict))
			sb_addf(&sb, " %s", f->verdict);
		if (!isnan(f->worst))
			sb_addf(&sb, " worst %.4f", f->worst);
		if (f->first_drift >= 0)
			sb_addf(&sb, " from %.2fs", f->first_drift);
	}
	sb_addf(&sb, " (%s, threshold %.4g)", c->model, c->threshold);
	return sb_detach(&sb);
}

struct check_view {
	cJSON *json;
	struct table *table;
	struct progress *bar;
	size_t rows;
};

static void show_progress(size_t done, size_t total, void *ctx)
{
	struct check_view *v = ctx;
	if (!v->bar && done < total)
		v->bar = progress_new("frames", total);
	progress_step(v->bar, done < total ? done : total);
}

static void add_row(struct table *t, const char *shot, int number, const char *verdict,
		    const struct take_figure *f, const char *note)
{
	char take[16], first[24] = "-", worst[24] = "-", at[24] = "-", found[24] = "-";
	snprintf(take, sizeof(take), "%d", number);
	char *who = f ? (*f->look ? xasprintf("@%s.%s", f->character, f->look)
				  : xasprintf("@%s", f->character))
		      : xstrdup("-");
	if (f && f->first_drift >= 0)
		snprintf(first, sizeof(first), "%.2fs", f->first_drift);
	if (f && !isnan(f->worst)) {
		snprintf(worst, sizeof(worst), "%.4f", f->worst);
		snprintf(at, sizeof(at), "%.2fs", f->worst_at);
	}
	if (f)
		snprintf(found, sizeof(found), "%.0f%%", 100 * f->found);
	const char *row[] = {shot, take, verdict, who, first, worst, at, found, note};
	table_add(t, row);
	free(who);
}

static void on_checked(const char *shot, int number, int64_t asset, const struct take_check *c,
		       const char *why, void *ctx)
{
	struct check_view *v = ctx;
	progress_free(v->bar);
	v->bar = NULL;
	v->rows++;
	if (v->json) {
		cJSON *j = c ? shot_check_json(c) : cJSON_CreateObject();
		cJSON_AddStringToObject(j, "shot", shot);
		cJSON_AddNumberToObject(j, "take", number);
		if (asset)
			cJSON_AddNumberToObject(j, "asset", (double)asset);
		cJSON_AddBoolToObject(j, "checked", c != NULL);
		if (why)
			cJSON_AddStringToObject(j, "why", why);
		cJSON_AddItemToArray(v->json, j);
		return;
	}
	if (!c) {
		char *note = xasprintf("not checked: %s", why);
		add_row(v->table, shot, number, "failed", NULL, note);
		free(note);
		return;
	}
	for (size_t i = 0; i < c->ncast; i++) {
		const struct take_figure *f = &c->cast[i];
		char *note = f->looks_like ? xasprintf("looks more like @%s", f->looks_like)
			     : c->reason   ? xstrdup(c->reason)
					   : NULL;
		add_row(v->table, shot, number, f->verdict, f, note);
		free(note);
	}
}

/* The take numbers among words; EX_USAGE for one that is not. */
static int take_numbers(char *const *words, size_t n, int **out)
{
	*out = xcalloc(n ? n : 1, sizeof(**out));
	for (size_t i = 0; i < n; i++) {
		int64_t v;
		if (cli_parse_int("check: a take", words[i], 1, 1000000, &v) < 0)
			return -1;
		(*out)[i] = (int)v;
	}
	return 0;
}

int shot_check(struct cli *cli, struct catalog *cat, char *const *words, size_t n,
	       const struct shot_check_args *a)
{
	if (a->all && n)
		return error_set(EX_USAGE, "check: --all checks every shot; name no shot with it");
	if (!a->all && !n)
		return error_set(EX_USAGE, "check: expected ID [TAKE...] or --all");
	struct check_view v = {cli->json ? cJSON_CreateArray() : NULL, NULL, NULL, 0};
	static const char *const headers[] = {
	    "SHOT", "TAKE", "VERDICT", "CHARACTER", "FIRST-DRIFT", "WORST", "AT", "FOUND", "NOTE"};
	if (!v.json)
		v.table = table_new(9, headers);
	struct take_check_options o = {.model = a->model,
				       .profile = a->profile,
				       .has_threshold = a->has_threshold,
				       .threshold = a->threshold,
				       .rate = a->rate,
				       .has_sustain = a->has_sustain,
				       .sustain = a->sustain,
				       .checked = on_checked,
				       .progress = cli->quiet ? NULL : show_progress,
				       .ctx = &v};
	struct take_check_tally tally = {0};
	struct shot **list = NULL;
	size_t nlist = 0;
	int *numbers = NULL;
	int rc = -1;
	if (a->all) {
		if (catalog_shot_list(cat, &list, &nlist) < 0)
			goto out;
		for (size_t i = 0; i < nlist; i++) {
			bool has = false;
			if (!list[i]->ntakes)
				continue;
			if (take_check_has_cast(cat, list[i]->slug, &has) < 0)
				goto out;
			if (!has) {
				warn_user("%s mentions no character: its takes are not checked",
					  list[i]->slug);
				continue;
			}
			if (take_check_shot(cat, list[i]->slug, NULL, 0, &o, &tally) < 0)
				goto out;
		}
	} else if (take_numbers(words + 1, n - 1, &numbers) < 0 ||
		   take_check_shot(cat, words[0], numbers, n - 1, &o, &tally) < 0) {
		goto out;
	}
	if (!tally.checked && !tally.passed_over) {
		error_set(EX_DATAERR, "no shot has takes to check (troupe shot render or take)");
		goto out;
	}
	rc = 0;
out:
	progress_free(v.bar);
	if (v.json && (rc == 0 || cJSON_GetArraySize(v.json)))
		json_print(v.json);
	else
		cJSON_Delete(v.json);
	if (v.table && v.rows && !cli->quiet)
		table_print(v.table, stdout);
	table_free(v.table);
	shot_list_free(list, nlist);
	free(numbers);
	if (rc == 0 && (tally.drifted || tally.unreadable || tally.faceless)) {
		struct strbuf why = STRBUF_INIT;
		sb_addf(&why, "%d of %d take%s checked",
			tally.drifted + tally.unreadable + tally.faceless, tally.checked,
			tally.checked == 1 ? "" : "s");
		const char *sep = ": ";
		if (tally.drifted)
			sb_addf(&why, "%s%d drifted", sep, tally.drifted), sep = ", ";
		if (tally.faceless)
			sb_addf(&why, "%s%d had no face", sep, tally.faceless), sep = ", ";
		if (tally.unreadable)
			sb_addf(&why, "%s%d could not be read", sep, tally.unreadable);
		error_set(tally.drifted || tally.unreadable ? 1 : 2, "%s", why.buf);
		sb_release(&why);
		rc = -1;
	}
	return rc;
}
