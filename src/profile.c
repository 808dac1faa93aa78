/* profile: loading and checking provider profiles. A profile that loads
 * is complete: every later step may rely on the fields it needs being
 * there and well-formed. Over 800 lines: every field of the format is
 * checked here, beside the search path and the user's trust in files. */
#define _GNU_SOURCE
#include "config.h"

#include "json.h"
#include "profile.h"
#include "role.h"
#include "sha256.h"
#include "util.h"

#include <dirent.h>
#include <limits.h>
#include <fcntl.h>
#include <unistd.h>
#include <errno.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef PROFILE_DATADIR
#define PROFILE_DATADIR "/usr/local/share/troupe/profiles"
#endif

struct loader {
	struct profile *p;
	const char *file;
	int failed;
};

static int bad(struct loader *l, const char *field, const char *why)
{
	if (!l->failed)
		error_set(EX_DATAERR, "profile %s: %s: %s", l->file, field, why);
	l->failed = 1;
	return -1;
}

static cJSON *member(cJSON *obj, const char *name)
{
	return obj ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
}

/* A string member; NULL when absent (and required is false). */
static const char *get_string(struct loader *l, cJSON *obj, const char *prefix, const char *name,
			      bool required)
{
	cJSON *item = member(obj, name);
	char field[128];
	snprintf(field, sizeof(field), "%s%s", prefix, name);
	if (!item) {
		if (required)
			bad(l, field, "missing");
		return NULL;
	}
	if (!cJSON_IsString(item)) {
		bad(l, field, "must be a string");
		return NULL;
	}
	return item->valuestring;
}

static const char *get_pointer(struct loader *l, cJSON *obj, const char *prefix, const char *name,
			       bool required)
{
	const char *s = get_string(l, obj, prefix, name, required);
	if (s && *s != '/') {
		char field[128];
		snprintf(field, sizeof(field), "%s%s", prefix, name);
		bad(l, field, "a JSON pointer must start with '/'");
		return NULL;
	}
	return s;
}

static int get_int(struct loader *l, cJSON *obj, const char *prefix, const char *name, int dflt,
		   int min, int max)
{
	cJSON *item = member(obj, name);
	char field[128];
	snprintf(field, sizeof(field), "%s%s", prefix, name);
	if (!item)
		return dflt;
	/* The range is checked on the double: converting a number out of
	 * int's range (1e100) is undefined behaviour. */
	if (!cJSON_IsNumber(item) || !(item->valuedouble >= min && item->valuedouble <= max) ||
	    item->valuedouble != floor(item->valuedouble)) {
		char why[96];
		snprintf(why, sizeof(why), "must be a whole number from %d to %d", min, max);
		bad(l, field, why);
		return dflt;
	}
	return (int)item->valuedouble;
}

/* A number from min to max; *has says whether it was there. */
static double get_number(struct loader *l, cJSON *obj, const char *prefix, const char *name,
			 double min, double max, bool *has)
{
	cJSON *item = member(obj, name);
	*has = false;
	if (!item)
		return 0;
	if (!cJSON_IsNumber(item) || !(item->valuedouble >= min && item->valuedouble <= max)) {
		char field[128], why[96];
		snprintf(field, sizeof(field), "%s%s", prefix, name);
		snprintf(why, sizeof(why), "must be a number from %g to %g", min, max);
		bad(l, field, why);
		return 0;
	}
	*has = true;
	return item->valuedouble;
}

static bool get_bool(struct loader *l, cJSON *obj, const char *prefix, const char *name)
{
	cJSON *item = member(obj, name);
	if (item && !cJSON_IsBool(item)) {
		char field[128];
		snprintf(field, sizeof(field), "%s%s", prefix, name);
		bad(l, field, "must be true or false");
	}
	return cJSON_IsTrue(item);
}

/* One of a fixed set of words; returns its index. */
static int get_enum(struct loader *l, cJSON *obj, const char *prefix, const char *name,
		    const char *const *words, int dflt)
{
	const char *s = get_string(l, obj, prefix, name, false);
	if (!s)
		return dflt;
	struct strbuf all = STRBUF_INIT;
	for (int i = 0; words[i]; i++) {
		if (strcmp(s, words[i]) == 0) {
			sb_release(&all);
			return i;
		}
		sb_addf(&all, "%s%s", i ? ", " : "", words[i]);
	}
	char field[128];
	snprintf(field, sizeof(field), "%s%s", prefix, name);
	struct strbuf why = STRBUF_INIT;
	sb_addf(&why, "\"%s\" is not one of %s", s, all.buf);
	bad(l, field, why.buf);
	sb_release(&why);
	sb_release(&all);
	return dflt;
}

static void get_strings(struct loader *l, cJSON *obj, const char *prefix, const char *name,
			struct strlist *out)
{
	cJSON *item = member(obj, name), *e;
	if (!item)
		return;
	char field[128];
	snprintf(field, sizeof(field), "%s%s", prefix, name);
	if (!cJSON_IsArray(item)) {
		bad(l, field, "must be an array of strings");
		return;
	}
	cJSON_ArrayForEach(e, item) {
		if (!cJSON_IsString(e)) {
			bad(l, field, "must be an array of strings");
			return;
		}
		strlist_push(out, e->valuestring);
	}
}

static cJSON *get_object(struct loader *l, cJSON *obj, const char *prefix, const char *name,
			 bool required)
{
	cJSON *item = member(obj, name);
	char field[128];
	snprintf(field, sizeof(field), "%s%s", prefix, name);
	if (!item) {
		if (required)
			bad(l, field, "missing");
		return NULL;
	}
	if (!cJSON_IsObject(item)) {
		bad(l, field, "must be an object");
		return NULL;
	}
	return item;
}

static void load_limits(struct loader *l, cJSON *limits, struct image_recipe *r)
{
	if (!limits)
		return;
	r->max_side = get_int(l, limits, "references.limits.", "max_side", 0, 0, 65535);
	r->min_side = get_int(l, limits, "references.limits.", "min_side", 0, 0, 65535);
	r->quality = get_int(l, limits, "references.limits.", "quality", 0, 0, 100);
	cJSON *bytes = member(limits, "max_bytes");
	if (bytes) {
		if (!cJSON_IsNumber(bytes) ||
		    !(bytes->valuedouble >= 1 && bytes->valuedouble <= 1e12))
			bad(l, "references.limits.max_bytes",
			    "must be a number of bytes from 1 to 10^12");
		else
			r->max_bytes = (int64_t)bytes->valuedouble;
	}
	const char *format = get_string(l, limits, "references.limits.", "format", false);
	if (format)
		snprintf(r->format, sizeof(r->format), "%s", format);
	cJSON *aspect = member(limits, "aspect");
	if (aspect) {
		cJSON *lo = cJSON_GetArrayItem(aspect, 0), *hi = cJSON_GetArrayItem(aspect, 1);
		if (!cJSON_IsArray(aspect) || cJSON_GetArraySize(aspect) != 2 ||
		    !cJSON_IsNumber(lo) || !cJSON_IsNumber(hi) || !(lo->valuedouble > 0) ||
		    !(hi->valuedouble >= lo->valuedouble) || !isfinite(hi->valuedouble))
			bad(l, "references.limits.aspect",
			    "must be [smallest, largest] width/height");
		else {
			r->aspect_min = lo->valuedouble;
			r->aspect_max = hi->valuedouble;
		}
	}
	static const char *const fits[] = {"pad", "crop", NULL};
	r->fit = get_enum(l, limits, "references.limits.", "fit", fits, 0) == 1 ? IMAGE_FIT_CROP
										: IMAGE_FIT_PAD;
	if (!l->failed) {
		struct image_recipe check = *r;
		if (image_recipe_check(&check) < 0) {
			char *why = xstrdup(error_message());
			bad(l, "references.limits", why);
			free(why);
		} else
			*r = check;
	}
}

/* A kind's own place in the request: "pointer", "array", "item" and
 * "max", for a service with a field per kind; an item alone keeps the
 * references' pointer (PixVerse's subject and background entries). */
static void load_kind_place(struct loader *l, cJSON *k, struct profile_kind *pk)
{
	const char *pre = "references.kinds.";
	pk->pointer = get_pointer(l, k, pre, "pointer", false);
	pk->array = get_bool(l, k, pre, "array");
	pk->item = member(k, "item");
	pk->max = get_int(l, k, pre, "max", 0, 1, 100);
	if (pk->pointer && !pk->item)
		bad(l, "references.kinds", "a kind with its own pointer needs an item");
	if (!pk->pointer && pk->array)
		bad(l, "references.kinds", "array goes with a kind's own pointer");
	if (pk->pointer && !pk->array && pk->max > 1)
		bad(l, "references.kinds", "a pointer that is not an array takes one reference");
}

/* "kinds": {"location": {"roles": [...]}, "style": "text", ...}: each kind
 * the service takes, by references in roles (a kind's own roles by
 * default, the profile's for characters) or as text only. */
static void load_kinds(struct loader *l, cJSON *refs)
{
	struct profile *p = l->p;
	static const char *const default_roles[][3] = {{NULL},
						       {"location", "reference", NULL},
						       {"prop", "reference", NULL},
						       {"reference", NULL}};
	cJSON *kinds = get_object(l, refs, "references.", "kinds", false), *k;
	if (!kinds) {
		p->refs.kinds[0].carry = KIND_REFS;
		for (size_t i = 0; i < p->refs.roles.n; i++)
			strlist_push(&p->refs.kinds[0].roles, p->refs.roles.items[i]);
		return;
	}
	cJSON_ArrayForEach(k, kinds) {
		int i = element_kind_index(k->string);
		if (i < 0 || i >= 4) {
			bad(l, "references.kinds", "names a kind troupe does not have");
			continue;
		}
		struct profile_kind *pk = &p->refs.kinds[i];
		if (cJSON_IsString(k) && strcmp(k->valuestring, "text") == 0) {
			pk->carry = KIND_TEXT;
			continue;
		}
		if (!cJSON_IsObject(k)) {
			bad(l, "references.kinds", "a kind takes {\"roles\": [...]} or \"text\"");
			continue;
		}
		pk->carry = KIND_REFS;
		load_kind_place(l, k, pk);
		get_strings(l, k, "references.kinds.", "roles", &pk->roles);
		for (size_t r = 0; r < pk->roles.n; r++)
			if (!role_valid(pk->roles.items[r]))
				bad(l, "references.kinds", "names a role troupe does not have");
		if (pk->roles.n)
			continue;
		if (i == 0)
			for (size_t r = 0; r < p->refs.roles.n; r++)
				strlist_push(&pk->roles, p->refs.roles.items[r]);
		else
			for (const char *const *r = default_roles[i]; *r; r++)
				strlist_push(&pk->roles, *r);
	}
}

static void load_references(struct loader *l, cJSON *refs)
{
	struct profile *p = l->p;
	const char *pre = "references.";
	get_strings(l, refs, pre, "roles", &p->refs.roles);
	for (size_t i = 0; i < p->refs.roles.n; i++)
		if (!role_valid(p->refs.roles.items[i]))
			bad(l, "references.roles", "names a role troupe does not have");
	if (!p->refs.roles.n)
		for (const char *const *r = role_names; *r; r++)
			if (strcmp(*r, "generated") != 0)
				strlist_push(&p->refs.roles, *r);
	load_kinds(l, refs);
	p->refs.per_character = get_int(l, refs, pre, "per_character", 1, 1, 100);
	p->refs.max = get_int(l, refs, pre, "max", p->refs.per_character, 1, 100);
	p->refs.min = get_int(l, refs, pre, "min", 1, 0, 100);
	static const char *const encodings[] = {"url",	"base64", "data_uri", "multipart",
						"path", "upload", NULL};
	p->refs.encoding = get_enum(l, refs, pre, "encoding", encodings, ENC_DATA_URI);
	p->refs.url_base_env = get_string(l, refs, pre, "url_base_env", false);
	if (!p->refs.url_base_env)
		p->refs.url_base_env = "TROUPE_REF_BASE_URL";
	static const char *const tag_styles[] = {"slug", "word", "ref-n"};
	const char *tag = get_string(l, refs, pre, "tag", false);
	p->refs.tag_style = TAG_SLUG;
	for (int i = 0; tag && i < 3; i++)
		if (strcmp(tag, tag_styles[i]) == 0) {
			p->refs.tag_style = (enum tag_style)i;
			tag = NULL;
		}
	if (tag)
		bad(l, "references.tag", "must be \"slug\", \"word\" or \"ref-n\"");
	p->refs.tag_space = get_bool(l, refs, pre, "tag_space");
	load_limits(l, get_object(l, refs, pre, "limits", false), &p->refs.limits);
	if (!p->refs.limits.format[0]) {
		snprintf(p->refs.limits.format, sizeof(p->refs.limits.format), "jpeg");
		if (!p->refs.limits.quality)
			p->refs.limits.quality = 90;
	}
	if (p->output == PROFILE_TEXT) {
		if (p->refs.encoding != ENC_URL)
			bad(l, "references.encoding", "a text profile can only give URLs");
		return;
	}
	if (p->refs.encoding == ENC_MULTIPART) {
		p->refs.pointer = get_string(l, refs, pre, "field", true);
		return;
	}
	/* A profile that carries every kind as text (an image-to-video
	 * service whose only pictures are its frames) places no reference. */
	bool places = false;
	for (size_t k = 0; k < sizeof(p->refs.kinds) / sizeof(p->refs.kinds[0]); k++)
		places |= p->refs.kinds[k].carry == KIND_REFS && !p->refs.kinds[k].pointer;
	p->refs.pointer = get_pointer(l, refs, pre, "pointer", places);
	p->refs.array = get_bool(l, refs, pre, "array");
	p->refs.spread = get_bool(l, refs, pre, "spread");
	if (p->refs.spread && p->refs.array)
		bad(l, "references.spread", "cannot go with array");
	if (p->refs.spread && p->refs.pointer && !strstr(p->refs.pointer, "/["))
		bad(l, "references.spread", "needs a pointer with a [key=value] selector");
	if (p->refs.spread && !p->refs.pointer)
		bad(l, "references.spread", "needs a pointer");
	p->refs.item = member(refs, "item");
	if (!p->refs.item && places)
		bad(l, "references.item", "missing (a template such as \"{ref}\")");
	if (p->refs.encoding == ENC_UPLOAD) {
		cJSON *up = get_object(l, refs, pre, "upload", true);
		p->send.upload_path = get_string(l, up, "references.upload.", "path", true);
		p->send.upload_field = get_string(l, up, "references.upload.", "field", true);
		p->send.upload_id = get_pointer(l, up, "references.upload.", "id", true);
		p->send.upload_form = get_object(l, up, "references.upload.", "form", false);
		/* Where the lifetime and the unknown-id answer are documented. */
		get_string(l, up, "references.upload.", "doc", false);
		p->send.upload_expires =
		    get_int(l, up, "references.upload.", "expires", 0, 1, INT_MAX);
		cJSON *unknown = get_object(l, up, "references.upload.", "unknown", false);
		if (unknown) {
			p->send.upload_unknown =
			    get_pointer(l, unknown, "references.upload.unknown.", "pointer", true);
			get_strings(l, unknown, "references.upload.unknown.", "values",
				    &p->send.upload_unknown_values);
			if (!p->send.upload_unknown_values.n)
				bad(l, "references.upload.unknown.values",
				    "must name at least one value");
		}
	}
}

/* A number of seconds as a profile writes it: a number, or a string
 * that is only one. */
static bool seconds_of(const cJSON *v, double *out)
{
	char *end = NULL;
	if (cJSON_IsNumber(v))
		*out = v->valuedouble;
	else if (cJSON_IsString(v) && *v->valuestring)
		*out = strtod(v->valuestring, &end);
	else
		return false;
	return (!end || !*end) && *out > 0 && *out <= 3600;
}

static void load_duration(struct loader *l, cJSON *duration, struct profile_request *r)
{
	r->duration = get_pointer(l, duration, "duration.", "pointer", true);
	cJSON *values = member(duration, "values"), *v;
	if (!cJSON_IsArray(values) || !cJSON_GetArraySize(values)) {
		bad(l, "duration.values", "must be a list of the lengths the service offers");
		return;
	}
	cJSON_ArrayForEach(v, values) {
		double seconds;
		if (!seconds_of(v, &seconds)) {
			bad(l, "duration.values",
			    "each must be a number of seconds, or a string that is one");
			return;
		}
	}
	r->durations = values;
}

/* "frames": {"first": {"pointer": "/image", "required": true}, "last":
 * {...}, "doc": URL}: where an image-to-video request's frames go. */
static void load_frames(struct loader *l, cJSON *frames)
{
	struct profile *p = l->p;
	p->frames.doc = get_string(l, frames, "frames.", "doc", false);
	static const char *const names[] = {"first", "last"};
	struct profile_frame *slots[] = {&p->frames.first, &p->frames.last};
	for (int i = 0; i < 2; i++) {
		char prefix[32];
		snprintf(prefix, sizeof(prefix), "frames.%s.", names[i]);
		cJSON *f = get_object(l, frames, "frames.", names[i], false);
		if (!f)
			continue;
		slots[i]->pointer = get_pointer(l, f, prefix, "pointer", true);
		slots[i]->item = member(f, "item");
		slots[i]->required = get_bool(l, f, prefix, "required");
		slots[i]->excludes_references = get_bool(l, f, prefix, "excludes_references");
		for (size_t k = 0; k < sizeof(p->refs.kinds) / sizeof(p->refs.kinds[0]); k++)
			if (p->refs.kinds[k].pointer && slots[i]->pointer &&
			    !strcmp(p->refs.kinds[k].pointer, slots[i]->pointer))
				bad(l, "frames", "a frame cannot go where the references go");
	}
	if (!p->frames.first.pointer && !p->frames.last.pointer && !l->failed)
		bad(l, "frames", "needs first or last (each {\"pointer\": ...})");
	if (p->refs.pointer &&
	    ((p->frames.first.pointer && !strcmp(p->frames.first.pointer, p->refs.pointer)) ||
	     (p->frames.last.pointer && !strcmp(p->frames.last.pointer, p->refs.pointer))))
		bad(l, "frames", "a frame cannot go where the references go");
}

/* A graph request (a ComfyUI workflow) is an object of nodes; the nodes
 * whose type is one of "types" are samplers, whose positive and negative
 * inputs are links [node id, output] to the text nodes; "seed" says
 * where each type of node that makes noise keeps its seed. */
static void load_sampler(struct loader *l, cJSON *sampler)
{
	struct profile *p = l->p;
	const char *pre = "sampler.";
	p->sampler.has = true;
	p->sampler.type = get_pointer(l, sampler, pre, "type", true);
	get_strings(l, sampler, pre, "types", &p->sampler.types);
	if (!p->sampler.types.n)
		bad(l, "sampler.types", "missing (the node types that are samplers)");
	p->sampler.positive = get_pointer(l, sampler, pre, "positive", true);
	p->sampler.negative = get_pointer(l, sampler, pre, "negative", false);
	p->sampler.text = get_pointer(l, sampler, pre, "text", true);
	p->sampler.seeds = get_object(l, sampler, pre, "seed", false);
	cJSON *seed;
	cJSON_ArrayForEach(seed, p->sampler.seeds) {
		if (!cJSON_IsString(seed) || seed->valuestring[0] != '/')
			bad(l, "sampler.seed",
			    "maps node types to JSON pointers (starting with '/')");
	}
}

/* "models": {"pointer": "/model_name", "rules": {NAME: {"with_references":
 * {POINTER: VALUE}}}}: what a model needs that the others do not. */
static void load_models(struct loader *l, cJSON *models)
{
	struct profile *p = l->p;
	p->models.pointer = get_pointer(l, models, "models.", "pointer", true);
	p->models.rules = get_object(l, models, "models.", "rules", true);
	cJSON *rule;
	static const char *const whens[] = {"with_references", "with_first_frame",
					    "with_last_frame", NULL};
	cJSON_ArrayForEach(rule, p->models.rules) {
		cJSON *set, *v;
		if (!cJSON_IsObject(rule) || !rule->child) {
			bad(l, "models.rules",
			    "each model needs a \"with_references\", \"with_first_frame\" or "
			    "\"with_last_frame\" object");
			return;
		}
		cJSON_ArrayForEach(set, rule) {
			int w = 0;
			while (whens[w] && strcmp(whens[w], set->string) != 0)
				w++;
			if (!whens[w] || !cJSON_IsObject(set)) {
				bad(l, "models.rules",
				    "a model's rules are with_references, with_first_frame and "
				    "with_last_frame objects");
				return;
			}
			cJSON_ArrayForEach(v, set) {
				if (v->string[0] != '/' || cJSON_IsObject(v) || cJSON_IsArray(v)) {
					bad(l, "models.rules",
					    "a rule maps JSON pointers to plain values");
					return;
				}
			}
		}
	}
}

static void load_sending(struct loader *l, cJSON *root)
{
	struct profile *p = l->p;
	cJSON *auth = get_object(l, root, "", "auth", false);
	static const char *const schemes[] = {"none", "bearer", "header", "kling_jwt", NULL};
	p->auth.scheme = get_enum(l, auth, "auth.", "scheme", schemes, AUTH_NONE);
	if (p->auth.scheme != AUTH_NONE)
		p->auth.env = get_string(l, auth, "auth.", "env", true);
	if (p->auth.scheme == AUTH_KLING_JWT)
		p->auth.secret_env = get_string(l, auth, "auth.", "secret_env", true);
	p->auth.header = get_string(l, auth, "auth.", "header", p->auth.scheme == AUTH_HEADER);
	p->auth.prefix = get_string(l, auth, "auth.", "prefix", false);
	if (!p->auth.header)
		p->auth.header = "Authorization";
	if (!p->auth.prefix)
		p->auth.prefix = p->auth.scheme == AUTH_HEADER ? "" : "Bearer ";
	p->send.headers = get_object(l, root, "", "headers", false);
	cJSON *h;
	cJSON_ArrayForEach(h, p->send.headers)
		if (!cJSON_IsString(h))
			bad(l, "headers", "values must be strings");
	p->send.trace_header = get_string(l, root, "", "trace_header", false);
	p->send.concurrency = get_int(l, root, "", "concurrency", 1, 1, 16);

	cJSON *task = get_object(l, root, "", "task", false);
	if (task) {
		p->task.id = get_pointer(l, task, "task.", "id", true);
		p->task.poll_path = get_string(l, task, "task.", "poll", true);
		p->task.poll_status = get_pointer(l, task, "task.", "status", true);
		get_strings(l, task, "task.", "done", &p->task.done);
		get_strings(l, task, "task.", "failed", &p->task.failed);
		if (!p->task.done.n)
			bad(l, "task.done", "missing (the statuses that mean finished)");
		p->task.error = get_pointer(l, task, "task.", "error", false);
		cJSON *names = get_object(l, task, "task.", "status_names", false), *name;
		cJSON_ArrayForEach(name, names) {
			if (!cJSON_IsString(name)) {
				bad(l, "task.status_names", "values must be strings");
				break;
			}
			strlist_push(&p->task.status_names, name->string);
			strlist_push(&p->task.status_names, name->valuestring);
		}
		p->task.interval_ms = get_int(l, task, "task.", "interval_ms", 2000, 10, 600000);
		p->task.timeout_s = get_int(l, task, "task.", "timeout_s", 900, 1, 86400);
		p->task.failed_if = get_pointer(l, task, "task.", "failed_if", false);
		p->task.id_path = get_bool(l, task, "task.", "id_path");
		cJSON *result = get_object(l, task, "task.", "result", false);
		if (result) {
			p->task.result_path = get_string(l, result, "task.result.", "path", true);
			p->task.result_value =
			    get_pointer(l, result, "task.result.", "value", false);
			if (p->task.result_path && strstr(p->task.result_path, "{value}") &&
			    !p->task.result_value)
				bad(l, "task.result.value",
				    "missing ({value} is used in the path)");
		}
	}
	cJSON *outputs = get_object(l, root, "", "outputs", false);
	p->outputs.urls = get_pointer(l, outputs, "outputs.", "urls", false);
	p->outputs.base64 = get_pointer(l, outputs, "outputs.", "base64", false);
	p->outputs.items = get_pointer(l, outputs, "outputs.", "items", false);
	p->outputs.url = get_string(l, outputs, "outputs.", "url", p->outputs.items != NULL);
	static const char *const kinds[] = {"image", "video", NULL};
	p->outputs.video = get_enum(l, outputs, "outputs.", "kind", kinds, 0) == 1;
	p->outputs.auth = get_bool(l, outputs, "outputs.", "auth");
	if (outputs && !p->outputs.urls && !p->outputs.base64 && !p->outputs.items)
		bad(l, "outputs", "needs urls, base64, or items and url");
	if (!outputs && p->output == PROFILE_JSON)
		bad(l, "outputs", "missing (where the results are in the answer)");
}

struct profile *profile_load_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		error_set(errno == ENOENT ? EX_NOINPUT : EX_IOERR, "profile %s: %s", path,
			  strerror(errno));
		return NULL;
	}
	struct strbuf text = STRBUF_INIT;
	char buf[8192];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sb_add(&text, buf, n);
	fclose(f);
	cJSON *root = cJSON_ParseWithLength(sb_str(&text), text.len);
	if (!root) {
		const char *where = cJSON_GetErrorPtr();
		size_t offset = where && text.buf ? (size_t)(where - text.buf) : 0;
		error_set(EX_DATAERR, "profile %s: not valid JSON (near byte %zu)", path, offset);
		sb_release(&text);
		return NULL;
	}
	struct profile *p = xcalloc(1, sizeof(*p));
	uint8_t digest[32];
	sha256(sb_str(&text), text.len, digest);
	for (int i = 0; i < 32; i++)
		snprintf(p->sha256 + 2 * i, 3, "%02x", digest[i]);
	sb_release(&text);
	p->raw = root;
	p->file = xstrdup(path);
	struct loader l = {p, path, 0};
	if (!cJSON_IsObject(root)) {
		bad(&l, "(top)", "must be a JSON object");
		goto out;
	}
	const char *name = get_string(&l, root, "", "name", true);
	p->name = xstrdup(name ? name : "");
	p->service = get_string(&l, root, "", "service", true);
	p->doc = get_string(&l, root, "", "doc", true);
	static const char *const outputs[] = {"json", "text", "embedding", NULL};
	p->output = get_enum(&l, root, "", "output", outputs, PROFILE_JSON);
	static const char *const mentions[] = {"tag", "name", "description", NULL};
	p->request.mention = get_enum(&l, root, "", "mention", mentions, MENTION_NAME);
	p->request.describe = get_bool(&l, root, "", "describe");
	if (p->output == PROFILE_TEXT) {
		cJSON *text_spec = get_object(&l, root, "", "text", true);
		p->text.refs_prefix = get_string(&l, text_spec, "text.", "refs_prefix", true);
		p->text.refs_separator =
		    get_string(&l, text_spec, "text.", "refs_separator", false);
		p->text.refs_suffix = get_string(&l, text_spec, "text.", "refs_suffix", false);
		p->text.seed = get_string(&l, text_spec, "text.", "seed", false);
		p->text.negative = get_string(&l, text_spec, "text.", "negative", false);
		if (!p->text.refs_separator)
			p->text.refs_separator = " ";
	} else if (p->output == PROFILE_EMBEDDING) {
		p->request.base_url = get_string(&l, root, "", "base_url", true);
		p->request.base_url_env = get_string(&l, root, "", "base_url_env", false);
		cJSON *req = get_object(&l, root, "", "request", true);
		p->request.method = get_string(&l, req, "request.", "method", false);
		if (!p->request.method)
			p->request.method = "POST";
		p->request.path = get_string(&l, req, "request.", "path", true);
		static const char *const bodies[] = {"json", "image", NULL};
		p->embedding.image_body = get_enum(&l, req, "request.", "body", bodies, 0) == 1;
		p->request.template = get_object(&l, req, "request.", "template", false);
		p->embedding.model = get_string(&l, root, "", "model", true);
		if (p->embedding.model &&
		    (!*p->embedding.model || strlen(p->embedding.model) > 64 ||
		     strspn(p->embedding.model, "abcdefghijklmnopqrstuvwxyz0123456789._-") !=
			 strlen(p->embedding.model)))
			bad(&l, "model",
			    "a model name is lower-case letters, digits, '.', '_' and '-'");
		if (p->request.base_url && strncmp(p->request.base_url, "https://", 8) != 0 &&
		    strncmp(p->request.base_url, "http://", 7) != 0)
			bad(&l, "base_url", "must be an http(s) URL");
		p->embedding.vector = get_pointer(&l, root, "", "vector", true);
		p->embedding.nothing_status = get_int(&l, root, "", "nothing_status", 0, 0, 599);
		p->embedding.nothing_error = get_string(&l, root, "", "nothing_error", false);
		if (!p->embedding.nothing_error)
			p->embedding.nothing_error = "nothing to embed";
		p->embedding.faces = get_pointer(&l, root, "", "faces", false);
		p->embedding.box = get_pointer(&l, root, "", "box", false);
		p->embedding.score = get_pointer(&l, root, "", "score", false);
		p->embedding.network = get_pointer(&l, root, "", "network", false);
		p->embedding.version = get_pointer(&l, root, "", "version", false);
		p->embedding.threshold =
		    get_number(&l, root, "", "threshold", -1, 1, &p->embedding.has_threshold);
		load_sending(&l, root);
		cJSON *refs = get_object(&l, root, "", "references", !p->embedding.image_body);
		if (refs && p->embedding.image_body) {
			/* The image is the body: only its limits matter. */
			load_limits(&l, get_object(&l, refs, "references.", "limits", false),
				    &p->refs.limits);
			if (!p->refs.limits.format[0])
				snprintf(p->refs.limits.format, sizeof(p->refs.limits.format),
					 "jpeg");
			if (!p->refs.limits.quality)
				p->refs.limits.quality = 90;
		} else if (refs) {
			load_references(&l, refs);
			if (p->refs.encoding != ENC_BASE64 && p->refs.encoding != ENC_DATA_URI)
				bad(&l, "references.encoding",
				    "an embedding profile sends base64 or a data URI");
		} else {
			p->refs.max = p->refs.per_character = 1;
			snprintf(p->refs.limits.format, sizeof(p->refs.limits.format), "jpeg");
			p->refs.limits.quality = 90;
		}
		goto out;
	} else {
		p->request.base_url = get_string(&l, root, "", "base_url", true);
		p->request.base_url_env = get_string(&l, root, "", "base_url_env", false);
		cJSON *req = get_object(&l, root, "", "request", true);
		p->request.method = get_string(&l, req, "request.", "method", false);
		if (!p->request.method)
			p->request.method = "POST";
		p->request.path = get_string(&l, req, "request.", "path", true);
		static const char *const bodies[] = {"json", "multipart", NULL};
		p->request.multipart = get_enum(&l, req, "request.", "body", bodies, 0) == 1;
		p->request.template = get_object(&l, req, "request.", "template", false);
		p->request.wrap = get_pointer(&l, req, "request.", "wrap", false);
		if (p->request.wrap && !p->request.template)
			bad(&l, "request.wrap", "needs request.template to wrap the request in");
		cJSON *sampler = get_object(&l, root, "", "sampler", false);
		if (sampler && p->request.multipart)
			bad(&l, "sampler", "a multipart request has no nodes");
		else if (sampler)
			load_sampler(&l, sampler);
		if (sampler &&
		    (member(root, "prompt") || member(root, "negative") || member(root, "seed")))
			bad(&l, "sampler",
			    "finds the prompt, negative prompt and seed: leave out prompt, "
			    "negative and seed");
		p->request.prompt = p->request.multipart ? get_string(&l, root, "", "prompt", true)
				    : sampler		 ? NULL
					      : get_pointer(&l, root, "", "prompt", true);
		cJSON *models = get_object(&l, root, "", "models", false);
		if (models)
			load_models(&l, models);
		p->request.negative = get_string(&l, root, "", "negative", false);
		p->request.seed = get_string(&l, root, "", "seed", false);
		p->request.aspect = get_string(&l, root, "", "aspect_ratio", false);
		cJSON *duration = get_object(&l, root, "", "duration", false);
		if (duration)
			load_duration(&l, duration, &p->request);
		if (!p->request.multipart) {
			const char *names[] = {"negative", "seed", "aspect_ratio"};
			const char *values[] = {p->request.negative, p->request.seed,
						p->request.aspect};
			for (int i = 0; i < 3; i++)
				if (values[i] && values[i][0] != '/')
					bad(&l, names[i], "a JSON pointer must start with '/'");
		}
		load_sending(&l, root);
		if (p->request.base_url && strncmp(p->request.base_url, "https://", 8) != 0 &&
		    strncmp(p->request.base_url, "http://", 7) != 0)
			bad(&l, "base_url", "must be an http(s) URL");
	}
	cJSON *refs = get_object(&l, root, "", "references", true);
	if (refs)
		load_references(&l, refs);
	if (!l.failed && (p->refs.encoding == ENC_MULTIPART) != p->request.multipart)
		bad(&l, "references.encoding",
		    "multipart references need a multipart request body");
	cJSON *frames = get_object(&l, root, "", "frames", false);
	if (frames && (p->output != PROFILE_JSON || p->request.multipart))
		bad(&l, "frames", "only a JSON request body takes frames");
	else if (frames && !l.failed)
		load_frames(&l, frames);
out:
	if (l.failed) {
		profile_free(p);
		return NULL;
	}
	return p;
}

cJSON *profile_duration_value(const struct profile *p, double seconds)
{
	struct strbuf offered = STRBUF_INIT;
	const cJSON *v;
	size_t i = 0, n = (size_t)cJSON_GetArraySize(p->request.durations);
	cJSON_ArrayForEach(v, p->request.durations) {
		double s;
		if (seconds_of(v, &s) && fabs(s - seconds) < 1e-6) {
			sb_release(&offered);
			return cJSON_Duplicate(v, true);
		}
		seconds_of(v, &s);
		sb_addf(&offered, "%s%g", i == 0 ? "" : i + 1 == n ? " or " : ", ", s);
		i++;
	}
	error_set(EX_DATAERR, "profile %s makes clips of %s seconds, not %g (shot edit --duration)",
		  p->name, offered.len ? offered.buf : "no", seconds);
	sb_release(&offered);
	return NULL;
}

void profile_free(struct profile *p)
{
	if (!p)
		return;
	cJSON_Delete(p->raw);
	strlist_clear(&p->refs.roles);
	for (size_t k = 0; k < sizeof(p->refs.kinds) / sizeof(p->refs.kinds[0]); k++)
		strlist_clear(&p->refs.kinds[k].roles);
	strlist_clear(&p->task.done);
	strlist_clear(&p->task.failed);
	strlist_clear(&p->sampler.types);
	strlist_clear(&p->task.status_names);
	strlist_clear(&p->send.upload_unknown_values);
	free(p->name);
	free(p->file);
	free(p);
}

char *profile_base_url(const struct profile *p)
{
	const char *env = p->request.base_url_env ? getenv(p->request.base_url_env) : NULL;
	const char *base = env && *env ? env : p->request.base_url;
	size_t len = strlen(base);
	while (len && base[len - 1] == '/')
		len--;
	return xstrndup(base, len);
}

void profile_headers(const struct profile *p, struct strlist *headers)
{
	cJSON *h;
	cJSON_ArrayForEach(h, p->send.headers) {
		char *line = xasprintf("%s: %s", h->string, h->valuestring);
		strlist_push(headers, line);
		free(line);
	}
	if (p->send.trace_header) {
		/* A unique id per request, as some services require. */
		uint8_t r[16];
		int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
		if (fd < 0 || read(fd, r, sizeof(r)) != (ssize_t)sizeof(r))
			memset(r, 0, sizeof(r));
		if (fd >= 0)
			close(fd);
		char *line = xasprintf("%s: %02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
				       "%02x%02x%02x%02x%02x%02x",
				       p->send.trace_header, r[0], r[1], r[2], r[3], r[4], r[5],
				       (r[6] & 0x0f) | 0x40, r[7], (r[8] & 0x3f) | 0x80, r[9],
				       r[10], r[11], r[12], r[13], r[14], r[15]);
		strlist_push(headers, line);
		free(line);
	}
}

const char *profile_builtin_dir(void)
{
	/* A program run from the build tree it was made in, not installed,
	 * takes the source tree's profiles, as it takes the modules beside
	 * it: a new user's ./troupe finds what make install would put in
	 * the data directory. */
#if defined(TROUPE_BUILDDIR) && defined(TROUPE_SRCDIR)
	static char dir[PATH_MAX];
	static bool done;
	if (!done) {
		char self[PATH_MAX], build[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		done = true;
		if (n > 0) {
			self[n] = '\0';
			char *slash = strrchr(self, '/');
			if (slash)
				*slash = '\0';
			/* The source directory as the file system names it, not
			 * as configure wrote it (a VPATH build's "sub/../.."). */
			char src[PATH_MAX];
			if (realpath(TROUPE_BUILDDIR, build) && strcmp(self, build) == 0 &&
			    realpath(TROUPE_SRCDIR, src) && strlen(src) + 10 <= sizeof(dir))
				memcpy(stpcpy(dir, src), "/profiles", 10);
		}
	}
	if (*dir)
		return dir;
#endif
	return PROFILE_DATADIR;
}

/* The directories searched, in order, with where each came from; the
 * caller clears the list. A store's own profiles come after the built-in
 * ones: a store may come from anyone (a bundle, a remote), so its
 * profiles can add services but never replace a built-in one. A user
 * who wants to replace one says so with $TROUPE_PROFILE_PATH. */
static void search_dirs(const char *store_root, struct strlist *dirs, enum profile_origin origins[],
			size_t max)
{
	const char *env = getenv("TROUPE_PROFILE_PATH");
	if (env && *env) {
		char *copy = xstrdup(env), *save = NULL;
		for (char *d = strtok_r(copy, ":", &save); d && dirs->n + 2 < max;
		     d = strtok_r(NULL, ":", &save)) {
			origins[dirs->n] = PROFILE_FROM_PATH;
			strlist_push(dirs, d);
		}
		free(copy);
	}
	origins[dirs->n] = PROFILE_BUILTIN;
	strlist_push(dirs, profile_builtin_dir());
	if (store_root) {
		char *d = xasprintf("%s/profiles", store_root);
		origins[dirs->n] = PROFILE_FROM_STORE;
		strlist_push(dirs, d);
		free(d);
	}
}

enum { MAX_PROFILE_DIRS = 34 };

/* Where the user's trust in store profiles is kept: outside every store,
 * since a store travels and trust must not travel with it. */
static char *trust_file(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	if (xdg && *xdg == '/')
		return xasprintf("%s/troupe/trusted-profiles", xdg);
	if (home && *home == '/')
		return xasprintf("%s/.config/troupe/trusted-profiles", home);
	return NULL;
}

bool profile_trusted(const struct profile *p)
{
	char *file = trust_file();
	FILE *f = file ? fopen(file, "r") : NULL;
	bool trusted = false;
	char line[256];
	while (f && !trusted && fgets(line, sizeof(line), f))
		trusted =
		    strncmp(line, p->sha256, 64) == 0 && (line[64] == ' ' || line[64] == '\n');
	if (f)
		fclose(f);
	free(file);
	return trusted;
}

int profile_trust(const struct profile *p)
{
	if (profile_trusted(p))
		return 0;
	char *file = trust_file();
	if (!file)
		return error_set(EX_CONFIG, "cannot record trust: neither $XDG_CONFIG_HOME nor "
					    "$HOME is an absolute path");
	char *dir = xstrdup(file);
	*strrchr(dir, '/') = '\0';
	int rc = file_make_dirs(dir, 0700);
	if (rc < 0)
		goto out;
	int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = error_set(EX_CANTCREAT, "%s: %s", file, strerror(errno));
		goto out;
	}
	char *line = xasprintf("%s %s %s\n", p->sha256, p->name, p->file);
	if (write_all(fd, line, strlen(line)) < 0 || fsync(fd) != 0)
		rc = error_set(EX_IOERR, "%s: %s", file, strerror(errno));
	free(line);
	if (close(fd) != 0 && rc == 0)
		rc = error_set(EX_IOERR, "%s: %s", file, strerror(errno));
out:
	free(dir);
	free(file);
	return rc;
}

static bool name_ok(const char *name)
{
	size_t len = strlen(name);
	return len > 0 && len <= 64 &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-_.") == len && name[0] != '.';
}

static int name_check(const char *name)
{
	if (name_ok(name))
		return 0;
	return error_set(EX_USAGE,
			 "--profile %s: a profile name is lower-case letters, digits, "
			 "'-', '_' and '.'",
			 name);
}

/* Loads the file that wins for name, and checks that it calls itself so. */
static struct profile *load_found(const char *name, const char *store_root, bool *found)
{
	struct strlist dirs = {0};
	enum profile_origin origins[MAX_PROFILE_DIRS];
	search_dirs(store_root, &dirs, origins, MAX_PROFILE_DIRS);
	struct profile *p = NULL;
	*found = false;
	for (size_t i = 0; i < dirs.n && !*found; i++) {
		char *path = xasprintf("%s/%s.json", dirs.items[i], name);
		struct stat st;
		if (stat(path, &st) == 0) {
			*found = true;
			p = profile_load_file(path);
			if (p && strcmp(p->name, name) != 0) {
				error_set(EX_DATAERR,
					  "profile %s: name: \"%s\" does not match the file name",
					  path, p->name);
				profile_free(p);
				p = NULL;
			}
			if (p)
				p->origin = origins[i];
		}
		free(path);
	}
	if (!*found)
		error_set(EX_NOINPUT, "%s: unknown profile (see 'troupe profile list')", name);
	strlist_clear(&dirs);
	return p;
}

struct profile *profile_find(const char *name, const char *store_root)
{
	bool found;
	return name_check(name) < 0 ? NULL : load_found(name, store_root, &found);
}

struct profile *profile_load(const char *name, const char *store_root)
{
	struct profile *p = profile_find(name, store_root);
	/* A profile that came with the store sends no key until the user
	 * has said, once, that they trust this very file: otherwise a shared
	 * store could name any variable of the user's environment as its
	 * key and send it to a host of its choosing. */
	if (p && p->origin == PROFILE_FROM_STORE && p->auth.scheme != AUTH_NONE &&
	    !profile_trusted(p)) {
		error_set(EX_NOPERM,
			  "profile %s: it comes from the store (%s) and would send $%s to %s; "
			  "if you wrote it, run 'troupe profile trust %s'",
			  name, p->file, p->auth.env,
			  p->request.base_url ? p->request.base_url : "its service", name);
		profile_free(p);
		p = NULL;
	}
	return p;
}

void profile_dirs(const char *store_root, struct strlist *dirs)
{
	enum profile_origin origins[MAX_PROFILE_DIRS];
	search_dirs(store_root, dirs, origins, MAX_PROFILE_DIRS);
}

int profile_list(const char *store_root, struct strlist *names, struct strlist *files)
{
	struct strlist dirs = {0};
	enum profile_origin origins[MAX_PROFILE_DIRS];
	search_dirs(store_root, &dirs, origins, MAX_PROFILE_DIRS);
	for (size_t i = 0; i < dirs.n; i++) {
		DIR *d = opendir(dirs.items[i]);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			size_t len = strlen(e->d_name);
			if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
				continue;
			char *name = xstrndup(e->d_name, len - 5);
			bool seen = false;
			for (size_t k = 0; k < names->n; k++)
				seen |= strcmp(names->items[k], name) == 0;
			if (!seen && name_ok(name)) {
				char *file = xasprintf("%s/%s", dirs.items[i], e->d_name);
				strlist_push(names, name);
				strlist_push(files, file);
				free(file);
			}
			free(name);
		}
		if (d)
			closedir(d);
	}
	strlist_clear(&dirs);
	/* Sort both lists together by name. */
	for (size_t i = 1; i < names->n; i++)
		for (size_t k = i; k > 0 && strcmp(names->items[k - 1], names->items[k]) > 0; k--) {
			char *t = names->items[k];
			names->items[k] = names->items[k - 1];
			names->items[k - 1] = t;
			t = files->items[k];
			files->items[k] = files->items[k - 1];
			files->items[k - 1] = t;
		}
	return 0;
}
