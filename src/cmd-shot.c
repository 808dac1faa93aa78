/* troupe shot new|list|show|edit|rm|still|take|render|pick|trace: the film's
 * shots, their stills and takes. Parses options and prints; the shot room
 * does the rest. */
#include "config.h"

#include "asset.h"
#include "catalog.h"
#include "cmd-shot.h"
#include "commands.h"
#include "frames.h"
#include "reqlog.h"
#include "shot.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
	OPT_SCENE = 1,
	OPT_POSITION,
	OPT_PROMPT,
	OPT_ASPECT,
	OPT_DURATION,
	OPT_AFTER,
	OPT_NO_AFTER,
	OPT_CHAIN,
	OPT_NO_CHAIN,
	/* render's own, which are no edit */
	OPT_VIDEO = 100,
	OPT_TAKES,
	OPT_TIMEOUT,
	OPT_PARALLEL,
	/* check's own */
	OPT_MODEL = 200,
	OPT_EMBED_PROFILE,
	OPT_THRESHOLD,
	OPT_RATE,
	OPT_SUSTAIN,
	OPT_ALL,
};

static const struct opt_spec shot_specs[] = {
    {"scene", 's', true, OPT_SCENE},
    {"position", 0, true, OPT_POSITION},
    {"prompt", 'p', true, OPT_PROMPT},
    {"aspect", 'a', true, OPT_ASPECT},
    {"duration", 'd', true, OPT_DURATION},
    {"after", 0, true, OPT_AFTER},
    {"no-after", 0, false, OPT_NO_AFTER},
    {"chain", 0, false, OPT_CHAIN},
    {"no-chain", 0, false, OPT_NO_CHAIN},
    {"video", 0, true, OPT_VIDEO},
    {"takes", 0, true, OPT_TAKES},
    {"timeout", 0, true, OPT_TIMEOUT},
    {"parallel", 0, true, OPT_PARALLEL},
    {"model", 'm', true, OPT_MODEL},
    {"profile", 0, true, OPT_EMBED_PROFILE},
    {"threshold", 't', true, OPT_THRESHOLD},
    {"rate", 0, true, OPT_RATE},
    {"sustain", 0, true, OPT_SUSTAIN},
    {"all", 0, false, OPT_ALL},
    {NULL, 0, false, 0},
};

struct shot_args {
	struct strlist positional;
	struct shot_spec spec;
	bool any_edit;
	bool no_after;
	struct shot_render_args render;
	bool any_render;
	struct shot_check_args check;
	bool any_check;
};

/* A number for --threshold, --rate or --sustain (which may end in "s"),
 * from lo to hi; above lo only when open. */
static int parse_number(const char *option, const char *text, double lo, double hi, bool open,
			double *out)
{
	char *end;
	errno = 0;
	*out = strtod(text, &end);
	if (!strcmp(option, "--sustain") && end != text && *end == 's')
		end++;
	if (errno || end == text || *end || !(open ? *out > lo : *out >= lo) || !(*out <= hi))
		return error_set(EX_USAGE, "%s %s: a number %s %g to %g", option, text,
				 open ? "above" : "from", lo, hi);
	return 0;
}

static int parse_position(const char *text, double *out)
{
	char *end;
	errno = 0;
	*out = strtod(text, &end);
	if (errno || end == text || *end || !isfinite(*out))
		return error_set(EX_USAGE, "--position %s: expected a number", text);
	return 0;
}

static int parse_args(struct cli *cli, int argc, char **argv, struct shot_args *a, bool *help)
{
	struct opts o;
	const char *arg;
	int id;
	*help = false;
	opts_init(&o, cli, argc, argv, shot_specs);
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		struct shot_spec *s = &a->spec;
		a->any_edit |= id > 0 && id < OPT_VIDEO;
		a->any_render |= id >= OPT_VIDEO && id < OPT_MODEL;
		a->any_check |= id >= OPT_MODEL;
		switch (id) {
		case OPT_ERROR:
			return -1;
		case OPT_HELP:
			*help = true;
			return 0;
		case OPT_POSITIONAL:
			strlist_push(&a->positional, arg);
			break;
		case OPT_SCENE:
			if (cli_parse_int("--scene", arg, 0, 1000000, &s->scene) < 0)
				return -1;
			s->has_scene = true;
			break;
		case OPT_POSITION:
			if (parse_position(arg, &s->position) < 0)
				return -1;
			s->has_position = true;
			break;
		case OPT_PROMPT:
			s->prompt = arg;
			break;
		case OPT_ASPECT:
			s->aspect = arg;
			break;
		case OPT_DURATION:
			if (frames_parse_time("--duration", arg, &s->duration) < 0)
				return -1;
			s->has_duration = true;
			break;
		case OPT_AFTER:
			s->after = arg;
			break;
		case OPT_NO_AFTER:
			a->no_after = true;
			break;
		case OPT_CHAIN:
		case OPT_NO_CHAIN:
			s->set_chain = true;
			s->chain = id == OPT_CHAIN;
			break;
		case OPT_VIDEO:
			a->render.video = arg;
			break;
		case OPT_TAKES:
			if (cli_parse_int("--takes", arg, 1, 100, &a->render.takes) < 0)
				return -1;
			break;
		case OPT_TIMEOUT:
			if (cli_parse_int("--timeout", arg, 1, 86400, &a->render.timeout) < 0)
				return -1;
			break;
		case OPT_PARALLEL:
			if (cli_parse_int("--parallel", arg, 1, 16, &a->render.parallel) < 0)
				return -1;
			break;
		case OPT_MODEL:
			a->check.model = arg;
			break;
		case OPT_EMBED_PROFILE:
			a->check.profile = arg;
			break;
		case OPT_THRESHOLD:
			if (parse_number("--threshold", arg, -1, 1, false, &a->check.threshold) < 0)
				return -1;
			a->check.has_threshold = true;
			break;
		case OPT_RATE:
			if (parse_number("--rate", arg, 0, 120, true, &a->check.rate) < 0)
				return -1;
			break;
		case OPT_SUSTAIN:
			if (parse_number("--sustain", arg, 0, 3600, false, &a->check.sustain) < 0)
				return -1;
			a->check.has_sustain = true;
			break;
		case OPT_ALL:
			a->check.all = true;
			break;
		}
	}
	return 0;
}

static char *number_text(double v)
{
	return xasprintf("%g", v);
}

static cJSON *json_shot(struct catalog *cat, const struct shot *s, int64_t place)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", s->slug);
	if (place)
		cJSON_AddNumberToObject(o, "place", (double)place);
	cJSON_AddNumberToObject(o, "scene", (double)s->scene);
	cJSON_AddNumberToObject(o, "position", s->position);
	if (s->after)
		cJSON_AddStringToObject(o, "after", s->after);
	else
		cJSON_AddNullToObject(o, "after");
	cJSON_AddStringToObject(o, "prompt", s->prompt);
	if (s->aspect)
		cJSON_AddStringToObject(o, "aspect", s->aspect);
	else
		cJSON_AddNullToObject(o, "aspect");
	if (s->duration > 0)
		cJSON_AddNumberToObject(o, "duration", s->duration);
	else
		cJSON_AddNullToObject(o, "duration");
	cJSON_AddBoolToObject(o, "chain", s->chain);
	struct asset *still = s->still_id ? catalog_asset_get(cat, s->still_id) : NULL;
	if (still)
		cJSON_AddItemToObject(o, "still", json_asset(still));
	else
		cJSON_AddNullToObject(o, "still");
	asset_free(still);
	cJSON *takes = cJSON_AddArrayToObject(o, "takes");
	for (size_t i = 0; i < s->ntakes; i++) {
		const struct shot_take *t = &s->takes[i];
		cJSON *j = cJSON_CreateObject();
		cJSON_AddNumberToObject(j, "number", t->number);
		cJSON_AddStringToObject(j, "status", t->failed ? "failed" : "ok");
		if (t->error)
			cJSON_AddStringToObject(j, "error", t->error);
		if (t->request_id)
			cJSON_AddNumberToObject(j, "request", (double)t->request_id);
		else
			cJSON_AddNullToObject(j, "request");
		cJSON_AddBoolToObject(j, "chosen", t->number == s->chosen);
		cJSON_AddItemToObject(j, "check", shot_check_json(t->check));
		struct asset *a = t->asset_id ? catalog_asset_get(cat, t->asset_id) : NULL;
		if (a)
			cJSON_AddItemToObject(j, "asset", json_asset(a));
		else
			cJSON_AddNullToObject(j, "asset");
		asset_free(a);
		cJSON_AddItemToArray(takes, j);
	}
	if (s->chosen)
		cJSON_AddNumberToObject(o, "chosen", s->chosen);
	else
		cJSON_AddNullToObject(o, "chosen");
	return o;
}

static void print_field(const char *label, const char *text)
{
	char *shown = text_escape(text);
	printf("  %-10s %s\n", label, shown);
	free(shown);
}

static void print_shot(struct catalog *cat, const struct shot *s)
{
	char *pos = number_text(s->position);
	printf("%s  scene %lld, position %s\n", s->slug, (long long)s->scene, pos);
	free(pos);
	print_field("prompt", s->prompt);
	print_field("after", s->after ? s->after : "-");
	print_field("aspect", s->aspect ? s->aspect : "-");
	if (s->duration > 0)
		printf("  %-10s %g s\n", "duration", s->duration);
	else
		print_field("duration", "-");
	print_field("chain", s->chain ? "yes: the first frame is the previous shot's last" : "no");
	struct asset *still = s->still_id ? catalog_asset_get(cat, s->still_id) : NULL;
	if (still)
		printf("  %-10s #%lld %.12s %dx%d %s\n", "still", (long long)still->id, still->hash,
		       still->width, still->height, still->format);
	else
		print_field("still", "-");
	asset_free(still);
	if (!s->ntakes)
		print_field("takes", "-");
	for (size_t i = 0; i < s->ntakes; i++) {
		const struct shot_take *t = &s->takes[i];
		printf("  %-10s %d%s", i ? "" : "takes", t->number,
		       t->number == s->chosen ? " (chosen)" : "");
		struct asset *a = t->asset_id ? catalog_asset_get(cat, t->asset_id) : NULL;
		if (a)
			printf(" #%lld %.12s %.3f s at %g fps", (long long)a->id, a->hash,
			       a->duration, a->fps);
		asset_free(a);
		if (t->request_id)
			printf(", request #%lld", (long long)t->request_id);
		else if (!t->failed)
			printf(", attached");
		if (t->failed) {
			char *why = text_escape(t->error ? t->error : "no output");
			printf(", failed: %s", why);
			free(why);
		}
		printf("\n");
		if (t->check) {
			char *line = shot_check_line(t->check);
			char *shown = text_escape(line);
			printf("  %-10s   checked: %s\n", "", shown);
			free(shown);
			free(line);
		} else if (!t->failed && t->asset_id) {
			printf("  %-10s   not checked\n", "");
		}
	}
	char created[32];
	time_iso8601(s->created, created);
	printf("  %-10s %s\n", "created", created);
}

static int shot_new(struct cli *cli, struct catalog *cat, struct shot_args *a)
{
	if (a->positional.n != 2)
		return error_set(EX_USAGE, "new: expected one ID (usage: troupe shot new ID "
					   "[--scene N] [--prompt TEXT] ...)");
	if (a->no_after)
		return error_set(EX_USAGE, "new: --no-after is for 'shot edit'");
	a->spec.slug = a->positional.items[1];
	if (catalog_shot_new(cat, &a->spec) < 0)
		return -1;
	struct shot *s = catalog_shot_get(cat, a->spec.slug);
	if (!s)
		return -1;
	if (cli->json)
		json_print(json_shot(cat, s, 0));
	else if (!cli->quiet)
		printf("created shot %s (scene %lld)\n", s->slug, (long long)s->scene);
	shot_free(s);
	return 0;
}

static int shot_list(struct cli *cli, struct catalog *cat)
{
	struct shot **list;
	size_t n;
	if (catalog_shot_list(cat, &list, &n) < 0)
		return -1;
	if (cli->json) {
		cJSON *arr = cJSON_CreateArray();
		for (size_t i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, json_shot(cat, list[i], (int64_t)i + 1));
		json_print(arr);
	} else if (n) {
		static const char *const headers[] = {"#",	"ID",	 "SCENE",  "AFTER", "TAKES",
						      "CHOSEN", "STILL", "CHECKS", "PROMPT"};
		struct table *t = table_new(9, headers);
		for (size_t i = 0; i < n; i++) {
			const struct shot *s = list[i];
			char place[32], scene[32], takes[32], chosen[32], still[32];
			snprintf(place, sizeof(place), "%zu", i + 1);
			snprintf(scene, sizeof(scene), "%lld", (long long)s->scene);
			snprintf(takes, sizeof(takes), "%zu", s->ntakes);
			snprintf(chosen, sizeof(chosen), "%d", s->chosen);
			snprintf(still, sizeof(still), "#%lld", (long long)s->still_id);
			/* Each take's verdict in order: "same/drifted/-". */
			struct strbuf checks = STRBUF_INIT;
			for (size_t k = 0; k < s->ntakes; k++)
				sb_addf(&checks, "%s%s", k ? "/" : "",
					s->takes[k].failed  ? "failed"
					: s->takes[k].check ? s->takes[k].check->verdict
							    : "-");
			const char *row[] = {place,
					     s->slug,
					     scene,
					     s->after ? s->after : "-",
					     takes,
					     s->chosen ? chosen : "-",
					     s->still_id ? still : "-",
					     s->ntakes ? checks.buf : "-",
					     s->prompt};
			table_add(t, row);
			sb_release(&checks);
		}
		table_print(t, stdout);
		table_free(t);
	}
	shot_list_free(list, n);
	return 0;
}

static int shot_show(struct cli *cli, struct catalog *cat, const char *slug)
{
	struct shot *s = catalog_shot_get(cat, slug);
	if (!s)
		return -1;
	if (cli->json)
		json_print(json_shot(cat, s, 0));
	else
		print_shot(cat, s);
	shot_free(s);
	return 0;
}

static int shot_edit(struct cli *cli, struct catalog *cat, struct shot_args *a)
{
	if (a->positional.n != 2)
		return error_set(EX_USAGE, "edit: expected one ID");
	if (!a->any_edit)
		return error_set(EX_USAGE, "edit: nothing to change (see 'troupe shot --help')");
	if (a->no_after && a->spec.after)
		return error_set(EX_USAGE, "edit: --after and --no-after together");
	if (a->no_after)
		a->spec.after = "";
	const char *slug = a->positional.items[1];
	if (catalog_shot_edit(cat, slug, &a->spec) < 0)
		return -1;
	if (cli->quiet && !cli->json)
		return 0;
	return shot_show(cli, cat, slug);
}

static int shot_rm(struct cli *cli, struct catalog *cat, struct shot_args *a)
{
	if (a->positional.n != 2)
		return error_set(EX_USAGE, "rm: expected one ID");
	const char *slug = a->positional.items[1];
	if (catalog_shot_rm(cat, slug) < 0)
		return -1;
	if (cli->json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "removed", slug);
		json_print(o);
	} else if (!cli->quiet) {
		printf("removed shot %s\n", slug);
	}
	return 0;
}

static int shot_still(struct cli *cli, struct catalog *cat, struct shot_args *a)
{
	if (a->positional.n < 2 || a->positional.n > 3)
		return error_set(EX_USAGE, "still: expected ID [FILE|ASSET]");
	const char *slug = a->positional.items[1];
	int64_t id;
	int rc = a->positional.n == 3
		     ? catalog_shot_still_set(cat, slug, a->positional.items[2], &id)
		     : catalog_shot_still_chain(cat, slug, &id);
	if (rc < 0)
		return -1;
	struct asset *still = catalog_asset_get(cat, id);
	if (!still)
		return -1;
	if (cli->json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "shot", slug);
		cJSON_AddItemToObject(o, "still", json_asset(still));
		json_print(o);
	} else if (!cli->quiet) {
		printf("%s: still #%lld %.12s", slug, (long long)still->id, still->hash);
		if (still->frame_of)
			printf(" (the last frame of #%lld, at %.3f s)", (long long)still->frame_of,
			       still->frame_t);
		printf("\n");
	}
	asset_free(still);
	return 0;
}

static int shot_take(struct cli *cli, struct catalog *cat, struct shot_args *a)
{
	if (a->positional.n < 3)
		return error_set(EX_USAGE, "take: expected ID FILE|ASSET...");
	const char *slug = a->positional.items[1];
	size_t n = a->positional.n - 2;
	int first;
	if (catalog_shot_take_add(cat, slug, a->positional.items + 2, n, &first) < 0)
		return -1;
	struct shot *s = catalog_shot_get(cat, slug);
	if (!s)
		return -1;
	if (cli->json) {
		cJSON *full = json_shot(cat, s, 0);
		cJSON *all = cJSON_GetObjectItem(full, "takes");
		cJSON *added = cJSON_CreateArray();
		cJSON *t;
		cJSON_ArrayForEach(t, all) {
			if (cJSON_GetObjectItem(t, "number")->valueint >= first)
				cJSON_AddItemToArray(added, cJSON_Duplicate(t, true));
		}
		cJSON_Delete(full);
		json_print(added);
	} else if (!cli->quiet) {
		for (size_t i = 0; i < s->ntakes; i++)
			if (s->takes[i].number >= first)
				printf("%s: take %d is asset #%lld\n", slug, s->takes[i].number,
				       (long long)s->takes[i].asset_id);
	}
	shot_free(s);
	return 0;
}

static int shot_pick(struct cli *cli, struct catalog *cat, struct shot_args *a)
{
	if (a->positional.n != 3)
		return error_set(EX_USAGE, "pick: expected ID N");
	int64_t number;
	if (cli_parse_int("pick", a->positional.items[2], 1, 1000000, &number) < 0)
		return -1;
	const char *slug = a->positional.items[1];
	if (catalog_shot_pick(cat, slug, (int)number) < 0)
		return -1;
	if (cli->json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "shot", slug);
		cJSON_AddNumberToObject(o, "chosen", (double)number);
		json_print(o);
	} else if (!cli->quiet) {
		printf("%s: take %lld chosen\n", slug, (long long)number);
	}
	return 0;
}

/* ---- trace ---- */

static void print_request(const char *what, const struct log_entry *e)
{
	char *profile = text_escape(e->profile);
	printf("  %-10s #%lld %s %s, %s\n", what, (long long)e->id, e->kind, profile, e->status);
	free(profile);
	for (size_t i = 0; i < e->nrefs; i++) {
		const struct log_ref *r = &e->refs[i];
		char *tag = text_escape(r->tag ? r->tag : "-");
		if (r->asset_id)
			printf("  %-10s #%lld %.12s as %s (sent %.12s)\n", i ? "" : "references",
			       (long long)r->asset_id, r->source_hash, tag, r->sent_hash);
		else
			printf("  %-10s %.12s (removed since) as %s\n", i ? "" : "references",
			       r->source_hash, tag);
		free(tag);
	}
}

static int shot_trace(struct cli *cli, struct catalog *cat, struct shot_args *a)
{
	if (a->positional.n != 2)
		return error_set(EX_USAGE, "trace: expected one ASSET");
	int64_t id;
	if (catalog_asset_resolve(cat, a->positional.items[1], &id) < 0)
		return -1;
	char *slug;
	int take;
	if (catalog_shot_of_asset(cat, id, &slug, &take) < 0)
		return -1;
	if (!slug)
		return error_set(EX_DATAERR, "asset #%lld is neither a take nor a still of a shot",
				 (long long)id);
	int rc = -1;
	struct shot *s = catalog_shot_get(cat, slug);
	struct log_entry *made = NULL, *still_made = NULL;
	struct asset *still = NULL, *from = NULL;
	char *from_shot = NULL;
	int from_take = 0;
	if (!s || catalog_asset_request(cat, id, &made) < 0)
		goto out;
	const struct take_check *check = NULL;
	for (size_t i = 0; i < s->ntakes; i++)
		if (take && s->takes[i].number == take)
			check = s->takes[i].check;
	if (s->still_id && s->still_id != id) {
		if (!(still = catalog_asset_get(cat, s->still_id)) ||
		    catalog_asset_request(cat, still->id, &still_made) < 0)
			goto out;
	} else if (s->still_id == id && !(still = catalog_asset_get(cat, id))) {
		goto out;
	}
	/* A chained still is a frame of the take before: say whose. */
	if (still && still->frame_of &&
	    (!(from = catalog_asset_get(cat, still->frame_of)) ||
	     catalog_shot_of_asset(cat, still->frame_of, &from_shot, &from_take) < 0))
		goto out;
	if (cli->json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "asset", (double)id);
		cJSON_AddStringToObject(o, "role", take ? "take" : "still");
		if (take)
			cJSON_AddNumberToObject(o, "take", take);
		cJSON_AddBoolToObject(o, "chosen", take && take == s->chosen);
		if (take)
			cJSON_AddItemToObject(o, "check", shot_check_json(check));
		cJSON_AddItemToObject(o, "shot", json_shot(cat, s, 0));
		cJSON_AddItemToObject(o, "request",
				      made ? json_log_entry(made) : cJSON_CreateNull());
		cJSON_AddItemToObject(o, "still", still ? json_asset(still) : cJSON_CreateNull());
		if (take)
			cJSON_AddItemToObject(o, "still_request",
					      still_made ? json_log_entry(still_made)
							 : cJSON_CreateNull());
		if (from) {
			cJSON *f = cJSON_AddObjectToObject(o, "still_from");
			cJSON_AddNumberToObject(f, "asset", (double)from->id);
			cJSON_AddNumberToObject(f, "t", still->frame_t);
			if (from_shot) {
				cJSON_AddStringToObject(f, "shot", from_shot);
				cJSON_AddNumberToObject(f, "take", from_take);
			}
		}
		json_print(o);
	} else {
		if (take)
			printf("asset #%lld is take %d of shot %s%s\n", (long long)id, take, slug,
			       take == s->chosen ? " (chosen)" : "");
		else
			printf("asset #%lld is the still of shot %s\n", (long long)id, slug);
		print_field("prompt", s->prompt);
		if (take) {
			char *line = shot_check_line(check);
			print_field("check", check ? line : "not checked (troupe shot check)");
			free(line);
		}
		if (made)
			print_request("request", made);
		else
			print_field("request", "none: made elsewhere and attached");
		if (still) {
			printf("  %-10s #%lld %.12s %dx%d %s\n", "still", (long long)still->id,
			       still->hash, still->width, still->height, still->format);
			if (from)
				printf("  %-10s the last frame of #%lld (%s take %d) at %.3f s\n",
				       "", (long long)from->id, from_shot ? from_shot : "no shot",
				       from_take, still->frame_t);
			if (still_made)
				print_request("made by", still_made);
		} else {
			print_field("still", "-");
		}
	}
	rc = 0;
out:
	free(slug);
	free(from_shot);
	shot_free(s);
	log_entry_free(made);
	log_entry_free(still_made);
	asset_free(still);
	asset_free(from);
	return rc;
}

static const char *const subcommands[] = {"new",  "list",   "ls",   "show",  "edit",  "rm", "still",
					  "take", "render", "pick", "trace", "check", NULL};

static int cmd_shot(struct cli *cli, int argc, char **argv)
{
	struct shot_args a = {0};
	bool help;
	struct catalog *cat = NULL;
	int rc = -1;
	if (parse_args(cli, argc, argv, &a, &help) < 0)
		goto out;
	if (help || a.positional.n == 0) {
		if (!help) {
			rc = cli_usage_error(&cmd_shot_entry, "which subcommand?");
			goto out;
		}
		cli_print_help(&cmd_shot_entry);
		rc = 0;
		goto out;
	}
	const char *sub = a.positional.items[0];
	bool known = false;
	for (const char *const *s = subcommands; *s; s++)
		known |= strcmp(sub, *s) == 0;
	if (!known) {
		rc = error_set(
		    EX_USAGE,
		    "'%s' is not a shot subcommand "
		    "(new, list, show, edit, rm, still, take, render, pick, trace, check)",
		    sub);
		goto out;
	}
	if (strcmp(sub, "new") && strcmp(sub, "edit") && a.any_edit) {
		rc = error_set(EX_USAGE, "%s: takes no options of new or edit", sub);
		goto out;
	}
	if (strcmp(sub, "render") && a.any_render) {
		rc = error_set(EX_USAGE,
			       "%s: --video, --takes, --parallel and --timeout are render's", sub);
		goto out;
	}
	if (strcmp(sub, "check") && a.any_check) {
		rc = error_set(EX_USAGE,
			       "%s: --model, --profile, --threshold, --rate, --sustain and --all "
			       "are check's",
			       sub);
		goto out;
	}
	cat = catalog_open(cli->store_dir);
	if (!cat)
		goto out;
	if (!strcmp(sub, "new"))
		rc = shot_new(cli, cat, &a);
	else if (!strcmp(sub, "list") || !strcmp(sub, "ls"))
		rc = a.positional.n == 1 ? shot_list(cli, cat)
					 : error_set(EX_USAGE, "list: takes no arguments");
	else if (!strcmp(sub, "show"))
		rc = a.positional.n == 2 ? shot_show(cli, cat, a.positional.items[1])
					 : error_set(EX_USAGE, "show: expected one ID");
	else if (!strcmp(sub, "edit"))
		rc = shot_edit(cli, cat, &a);
	else if (!strcmp(sub, "rm"))
		rc = shot_rm(cli, cat, &a);
	else if (!strcmp(sub, "still"))
		rc = shot_still(cli, cat, &a);
	else if (!strcmp(sub, "take"))
		rc = shot_take(cli, cat, &a);
	else if (!strcmp(sub, "render"))
		rc = shot_render(cli, cat, a.positional.items + 1, a.positional.n - 1, &a.render);
	else if (!strcmp(sub, "pick"))
		rc = shot_pick(cli, cat, &a);
	else if (!strcmp(sub, "check"))
		rc = shot_check(cli, cat, a.positional.items + 1, a.positional.n - 1, &a.check);
	else
		rc = shot_trace(cli, cat, &a);
out:
	catalog_close(cat);
	strlist_clear(&a.positional);
	return rc;
}

const struct cmd_entry cmd_shot_entry = {
    "shot",
    NULL,
    "shot new|list|show|edit|rm|still|take|render|pick|trace|check [ID] [ARGS] [OPTIONS]",
    "Plan the film: shots in order, their stills, takes and chosen take.",
    "  new ID            a shot (id: a-z, 0-9 and '-', e.g. s01)\n"
    "  list              every shot in film order\n"
    "  show ID           one shot with its still and takes\n"
    "  edit ID           change its scene, place, prompt, aspect, duration or chain\n"
    "  rm ID             remove it (its takes' assets stay)\n"
    "  still ID [FILE|ASSET]  set its still (a picture); with no picture, a\n"
    "                    chained shot's still is the previous chosen take's last frame\n"
    "  take ID FILE|ASSET...  attach videos as its next takes\n"
    "  render ID --video PROFILE [--takes N] [--parallel K]  make takes from\n"
    "                    its still, the first frame, with an image-to-video service\n"
    "  pick ID N         choose take N for the cut\n"
    "  trace ASSET       a take's or still's shot, request, references and still\n"
    "  check ID [TAKE...] | --all  check takes against the characters the shot\n"
    "                    mentions, as 'troupe check' checks a video; the verdict is kept\n"
    "\n"
    "  -s, --scene N           the scene it belongs to (default 1, or the scene of --after)\n"
    "      --position N        its place among the shots it is ordered with (default: last)\n"
    "  -p, --prompt TEXT       the prompt; every @mention must be registered\n"
    "  -a, --aspect W:H        aspect ratio, e.g. 16:9\n"
    "  -d, --duration S        length in seconds\n"
    "      --after ID          come right after shot ID (edit: a cycle is refused)\n"
    "      --no-after          edit: no longer follow a shot\n"
    "      --chain             the first frame is the previous shot's chosen take's last\n"
    "      --no-chain          edit: not chained\n"
    "      --video PROFILE     render: the image-to-video profile, e.g. kling-video\n"
    "      --takes N           render: N takes (default 1)\n"
    "      --parallel K        render: K takes at a time, at most the profile's\n"
    "                          concurrency (default 1: one after another)\n"
    "      --timeout S         render: give up on a take after S seconds\n"
    "  -m, --model NAME        check: the embedding model (default face)\n"
    "      --profile NAME      check: the model's embedding profile\n"
    "  -t, --threshold T       check: similarity needed (default: the calibrated one)\n"
    "      --rate R            check: frames checked each second (default 4)\n"
    "      --sustain S         check: seconds under the threshold that make drift (0.5)\n"
    "      --all               check: every shot that mentions a character\n",
    cmd_shot,
};
