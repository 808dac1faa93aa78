/* cut: the film's chosen takes as an OpenTimelineIO timeline and an
 * ffmpeg concat list. Every clip names its take's blob by absolute path,
 * quoted for the format it goes in; no shot is left out silently. It
 * builds text only: the command writes the files. */
#include "config.h"

#include "asset.h"
#include "cut.h"
#include "shot.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cut_clear(struct cut *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->clips[i].shot);
		free(c->clips[i].path);
	}
	free(c->clips);
	strlist_clear(&c->skipped);
	memset(c, 0, sizeof(*c));
}

static int add_clip(struct catalog *cat, struct cut *out, const struct shot *s)
{
	int64_t asset_id = 0;
	for (size_t i = 0; i < s->ntakes; i++)
		if (s->takes[i].number == s->chosen)
			asset_id = s->takes[i].asset_id;
	struct asset *a = asset_id ? catalog_asset_get(cat, asset_id) : NULL;
	if (!a)
		return asset_id ? error_prefix("%s take %d", s->slug, s->chosen) : 0;
	int rc = -1;
	char *real = NULL;
	if (!(a->duration > 0) || !(a->fps > 0)) {
		error_set(EX_DATAERR, "%s take %d (asset #%lld): no duration or frame rate known",
			  s->slug, s->chosen, (long long)a->id);
		goto out;
	}
	if (!(real = realpath(a->path, NULL))) {
		error_set(EX_NOINPUT, "%s take %d: %s: %s (troupe fsck)", s->slug, s->chosen,
			  a->path, strerror(errno));
		goto out;
	}
	out->clips = xrealloc(out->clips, (out->n + 1) * sizeof(*out->clips));
	struct cut_clip *c = &out->clips[out->n++];
	c->shot = xstrdup(s->slug);
	c->take = s->chosen;
	c->asset_id = a->id;
	snprintf(c->hash, sizeof(c->hash), "%s", a->hash);
	c->path = real;
	real = NULL;
	c->duration = a->duration;
	c->fps = a->fps;
	rc = 1;
out:
	free(real);
	asset_free(a);
	return rc;
}

int cut_build(struct catalog *cat, bool partial, struct cut *out)
{
	memset(out, 0, sizeof(*out));
	struct shot **list;
	size_t n;
	if (catalog_shot_list(cat, &list, &n) < 0)
		return -1;
	int rc = 0;
	if (n == 0)
		rc = error_set(EX_DATAERR, "no shots to cut (troupe shot new)");
	for (size_t i = 0; i < n && rc == 0; i++) {
		int added = list[i]->chosen ? add_clip(cat, out, list[i]) : 0;
		if (added < 0)
			rc = -1;
		else if (added == 0 && partial)
			strlist_push(&out->skipped, list[i]->slug);
		else if (added == 0)
			rc = error_set(EX_DATAERR,
				       "%s has no chosen take (troupe shot pick %s N, or --partial "
				       "to leave it out)",
				       list[i]->slug, list[i]->slug);
	}
	if (rc == 0 && out->n == 0)
		rc = error_set(EX_DATAERR, "no shot has a chosen take (troupe shot pick)");
	shot_list_free(list, n);
	return rc;
}

static cJSON *rational_time(double value, double rate)
{
	cJSON *t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "OTIO_SCHEMA", "RationalTime.1");
	cJSON_AddNumberToObject(t, "rate", rate);
	cJSON_AddNumberToObject(t, "value", value);
	return t;
}

static cJSON *time_range(double frames, double rate)
{
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "OTIO_SCHEMA", "TimeRange.1");
	cJSON_AddItemToObject(r, "duration", rational_time(frames, rate));
	cJSON_AddItemToObject(r, "start_time", rational_time(0, rate));
	return r;
}

/* What every Item and Composition carries in the published schema. */
static cJSON *item(const char *schema, const char *name)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "OTIO_SCHEMA", schema);
	cJSON_AddItemToObject(o, "metadata", cJSON_CreateObject());
	cJSON_AddStringToObject(o, "name", name);
	return o;
}

static void item_tail(cJSON *o)
{
	cJSON_AddItemToObject(o, "effects", cJSON_CreateArray());
	cJSON_AddItemToObject(o, "markers", cJSON_CreateArray());
	cJSON_AddBoolToObject(o, "enabled", true);
}

/* A file:// URL: every byte outside RFC 3986's unreserved set and '/' is
 * percent-encoded, so a path with spaces or quotes stays one URL. */
static char *file_url(const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	struct strbuf sb = STRBUF_INIT;
	sb_adds(&sb, "file://");
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~/", *p)) {
			sb_addc(&sb, (char)*p);
		} else {
			sb_addc(&sb, '%');
			sb_addc(&sb, hex[*p >> 4]);
			sb_addc(&sb, hex[*p & 15]);
		}
	}
	return sb_detach(&sb);
}

cJSON *cut_otio(const struct cut *c, const char *name)
{
	cJSON *timeline = cJSON_CreateObject();
	cJSON_AddStringToObject(timeline, "OTIO_SCHEMA", "Timeline.1");
	cJSON_AddItemToObject(timeline, "metadata", cJSON_CreateObject());
	cJSON_AddStringToObject(timeline, "name", name);
	cJSON_AddNullToObject(timeline, "global_start_time");
	cJSON *stack = item("Stack.1", "tracks");
	cJSON_AddNullToObject(stack, "source_range");
	item_tail(stack);
	cJSON *tracks = cJSON_AddArrayToObject(stack, "children");
	cJSON *track = item("Track.1", "Video");
	cJSON_AddNullToObject(track, "source_range");
	item_tail(track);
	cJSON *clips = cJSON_AddArrayToObject(track, "children");
	for (size_t i = 0; i < c->n; i++) {
		const struct cut_clip *k = &c->clips[i];
		double frames = round(k->duration * k->fps);
		char *clip_name = xasprintf("%s take %d", k->shot, k->take);
		cJSON *clip = item("Clip.2", clip_name);
		free(clip_name);
		cJSON *meta =
		    cJSON_AddObjectToObject(cJSON_GetObjectItem(clip, "metadata"), "troupe");
		cJSON_AddStringToObject(meta, "shot", k->shot);
		cJSON_AddNumberToObject(meta, "take", k->take);
		cJSON_AddNumberToObject(meta, "asset", (double)k->asset_id);
		cJSON_AddStringToObject(meta, "hash", k->hash);
		cJSON_AddItemToObject(clip, "source_range", time_range(frames, k->fps));
		item_tail(clip);
		cJSON *refs = cJSON_AddObjectToObject(clip, "media_references");
		cJSON *ref = item("ExternalReference.1", k->shot);
		cJSON_AddItemToObject(ref, "available_range", time_range(frames, k->fps));
		cJSON_AddNullToObject(ref, "available_image_bounds");
		char *url = file_url(k->path);
		cJSON_AddStringToObject(ref, "target_url", url);
		free(url);
		cJSON_AddItemToObject(refs, "DEFAULT_MEDIA", ref);
		cJSON_AddStringToObject(clip, "active_media_reference_key", "DEFAULT_MEDIA");
		cJSON_AddItemToArray(clips, clip);
	}
	cJSON_AddStringToObject(track, "kind", "Video");
	cJSON_AddItemToArray(tracks, track);
	cJSON_AddItemToObject(timeline, "tracks", stack);
	return timeline;
}

char *cut_ffconcat(const struct cut *c)
{
	struct strbuf sb = STRBUF_INIT;
	sb_adds(&sb, "ffconcat version 1.0\n");
	for (size_t i = 0; i < c->n; i++) {
		/* A line break would end the directive early, whatever quotes. */
		if (strpbrk(c->clips[i].path, "\n\r")) {
			sb_release(&sb);
			error_set(EX_DATAERR,
				  "%s: a path with a line break cannot go in a concat "
				  "list",
				  c->clips[i].path);
			return NULL;
		}
		/* Inside single quotes nothing is special but the quote, which
		 * is closed, escaped and reopened: ' becomes '\''. */
		sb_adds(&sb, "file '");
		for (const char *p = c->clips[i].path; *p; p++) {
			if (*p == '\'')
				sb_adds(&sb, "'\\''");
			else
				sb_addc(&sb, *p);
		}
		sb_adds(&sb, "'\n");
		sb_addf(&sb, "duration %.6f\n", c->clips[i].duration);
	}
	return sb_detach(&sb);
}
