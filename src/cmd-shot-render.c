/* troupe shot render: takes made from a shot's still by an image-to-video
 * service, through render.c; here only what is told as each take is
 * recorded, the warnings before the first is sent, and the JSON. */
#include "config.h"

#include "catalog.h"
#include "cmd-shot.h"
#include "render.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

struct render_view {
	struct cli *cli;
	const char *slug;
	struct progress *line;
	cJSON *takes; /* --json: every take recorded */
};

static void on_render_progress(void *ctx, const char *task, const char *status, double elapsed_s,
			       bool changed)
{
	(void)task;
	(void)changed;
	struct render_view *v = ctx;
	char *text = xasprintf("%s, %d s", status, (int)elapsed_s);
	progress_status(v->line, text);
	free(text);
}

static void on_recorded(const struct render_take *t, void *ctx)
{
	struct render_view *v = ctx;
	if (v->takes) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddNumberToObject(j, "number", t->number);
		cJSON_AddStringToObject(j, "status", t->error ? "failed" : "ok");
		if (t->error)
			cJSON_AddStringToObject(j, "error", t->error);
		if (t->asset_id)
			cJSON_AddNumberToObject(j, "asset", (double)t->asset_id);
		else
			cJSON_AddNullToObject(j, "asset");
		if (t->request_id)
			cJSON_AddNumberToObject(j, "request", (double)t->request_id);
		else
			cJSON_AddNullToObject(j, "request");
		cJSON_AddItemToArray(v->takes, j);
		return;
	}
	if (v->cli->quiet)
		return;
	if (t->error) {
		char *why = text_escape(t->error);
		printf("%s: take %d failed", v->slug, t->number);
		if (t->request_id)
			printf(" (request #%lld)", (long long)t->request_id);
		printf(": %s\n", why);
		free(why);
	} else {
		printf("%s: take %d is asset #%lld (request #%lld)\n", v->slug, t->number,
		       (long long)t->asset_id, (long long)t->request_id);
	}
	fflush(stdout);
}

static void warn_unplaced(const char *profile, const char *slug, int max_refs, void *ctx)
{
	(void)ctx;
	warn_user("profile %s takes %d reference%s: no image of @%s is sent", profile, max_refs,
		  max_refs == 1 ? "" : "s", slug);
}

static void warn_text_only(const char *profile, const char *slug, const char *kind, void *ctx)
{
	(void)ctx;
	warn_user("profile %s carries a %s as text only: @%s is described, no image of it is sent",
		  profile, kind, slug);
}

int shot_render(struct cli *cli, struct catalog *cat, char *const *words, size_t n,
		const struct shot_render_args *a)
{
	if (n != 1)
		return error_set(EX_USAGE, "render: expected one ID (usage: troupe shot render ID "
					   "--video PROFILE [--takes N] [--parallel K])");
	if (!a->video)
		return error_set(EX_USAGE, "render: which service? (--video PROFILE, such as "
					   "kling-video; see 'troupe profile list')");
	struct profile *p = profile_load(a->video, catalog_root(cat));
	if (!p)
		return -1;
	struct render_view v = {cli, words[0], NULL, cli->json ? cJSON_CreateArray() : NULL};
	if (!cli->json && !cli->quiet)
		v.line = progress_new_status("render:");
	struct render_options o = {.takes = a->takes ? (int)a->takes : 1,
				   .parallel = (int)a->parallel,
				   .timeout_s = (int)a->timeout,
				   .unplaced = warn_unplaced,
				   .text_only = warn_text_only,
				   .progress = on_render_progress,
				   .recorded = on_recorded,
				   .ctx = &v};
	int failed;
	int rc = render_shot(cat, v.slug, p, &o, &failed);
	progress_free(v.line);
	if (v.takes && cJSON_GetArraySize(v.takes)) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "shot", v.slug);
		cJSON_AddStringToObject(j, "profile", p->name);
		cJSON_AddItemToObject(j, "takes", v.takes);
		cJSON_AddNumberToObject(j, "failed", failed);
		json_print(j);
	} else {
		cJSON_Delete(v.takes);
	}
	profile_free(p);
	return rc;
}
