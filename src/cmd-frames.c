/* troupe frames: frames of a video, at times, at a rate, first or last, as
 * PNG or JPEG files named by their time, or with --add stored as assets
 * that remember which video and which time they came from. It parses
 * and prints; decoding and storing are the frames and ingest rooms'. */
#include "config.h"

#include "asset.h"
#include "catalog.h"
#include "commands.h"
#include "frames.h"
#include "ingest.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum {
	OPT_AT = 1,
	OPT_EVERY,
	OPT_FIRST,
	OPT_LAST,
	OPT_OUTPUT,
	OPT_FORMAT,
	OPT_ADD,
	OPT_CHARACTER,
};

static const struct opt_spec frames_specs[] = {
    {"at", 0, true, OPT_AT},
    {"every", 0, true, OPT_EVERY},
    {"first", 0, false, OPT_FIRST},
    {"last", 0, false, OPT_LAST},
    {"output", 'o', true, OPT_OUTPUT},
    {"format", 'f', true, OPT_FORMAT},
    {"add", 0, false, OPT_ADD},
    {"character", 'c', true, OPT_CHARACTER},
    {NULL, 0, false, 0},
};

struct frames_out {
	struct cli *cli;
	const char *dir;
	struct add_batch *batch; /* with --add */
	int64_t video_id;
	struct strlist written; /* their paths, printed at the end */
	double *times;		/* each frame's time, in the order taken */
	int64_t *indexes;
	size_t n;
};

static int keep_frame(const struct frames_taken *f, void *ctx)
{
	struct frames_out *o = ctx;
	o->times = xrealloc(o->times, (o->n + 1) * sizeof(*o->times));
	o->indexes = xrealloc(o->indexes, (o->n + 1) * sizeof(*o->indexes));
	o->times[o->n] = f->t;
	o->indexes[o->n] = f->index;
	o->n++;
	if (o->batch)
		return catalog_add_frame(o->batch, f->image->data, f->image->len, f->name,
					 o->video_id, f->t);
	char *path = xasprintf("%s/%s", o->dir, f->name);
	int rc = file_write_atomic(path, f->image->data, f->image->len);
	if (rc == 0)
		strlist_push(&o->written, path);
	free(path);
	return rc;
}

static void print_files(const struct frames_out *o)
{
	cJSON *arr = o->cli->json ? cJSON_CreateArray() : NULL;
	for (size_t i = 0; i < o->written.n; i++) {
		if (arr) {
			cJSON *f = cJSON_CreateObject();
			cJSON_AddStringToObject(f, "path", o->written.items[i]);
			cJSON_AddNumberToObject(f, "t", o->times[i]);
			cJSON_AddNumberToObject(f, "index", (double)o->indexes[i]);
			cJSON_AddItemToArray(arr, f);
		} else if (!o->cli->quiet) {
			char *shown = text_escape(o->written.items[i]);
			printf("%s\n", shown);
			free(shown);
		}
	}
	if (arr)
		json_print(arr);
}

static void print_added(const struct frames_out *o, struct catalog *cat)
{
	cJSON *arr = o->cli->json ? cJSON_CreateArray() : NULL;
	for (size_t i = 0; i < catalog_add_count(o->batch); i++) {
		int64_t id;
		const char *hash, *path;
		bool existed;
		catalog_add_result(o->batch, i, &id, &hash, &path, &existed);
		if (arr) {
			struct asset *a = catalog_asset_get(cat, id);
			if (a) {
				cJSON *j = json_asset(a);
				cJSON_AddBoolToObject(j, "new", !existed);
				cJSON_AddNumberToObject(j, "index", (double)o->indexes[i]);
				cJSON_AddItemToArray(arr, j);
				asset_free(a);
			}
		} else if (!o->cli->quiet) {
			printf("%s %s  #%lld  frame at %.3f s\n", existed ? "present" : "added  ",
			       hash, (long long)id, o->times[i]);
		}
	}
	if (arr)
		json_print(arr);
}

/* The video the user named: a file that exists, else a stored asset. With
 * want_asset, a file must be stored already (its bytes name the asset). */
static int find_video(struct catalog **cat, const char *store_dir, const char *target,
		      bool want_asset, char **path, struct asset **video)
{
	struct stat st;
	bool is_file = stat(target, &st) == 0;
	if (is_file && !want_asset) {
		*path = xstrdup(target);
		return 0;
	}
	if (!*cat && !(*cat = catalog_open(store_dir)))
		return -1;
	int64_t id;
	if (is_file) {
		char hex[STORE_HASH_HEX + 1];
		if (store_hash_file(target, hex) < 0)
			return error_prefix("%s", target);
		if (catalog_asset_resolve(*cat, hex, &id) < 0)
			return error_set(EX_USAGE,
					 "%s: not in the store; add it first (troupe add), so its "
					 "frames can name it",
					 target);
	} else if (catalog_asset_resolve(*cat, target, &id) < 0) {
		return -1;
	}
	if (!(*video = catalog_asset_get(*cat, id)))
		return -1;
	if (!catalog_format_is_video((*video)->format))
		return error_set(EX_DATAERR, "%s: asset #%lld is a picture, not a video", target,
				 (long long)id);
	*path = xstrdup((*video)->path);
	return 0;
}

static int cmd_frames(struct cli *cli, int argc, char **argv)
{
	struct opts o;
	const char *arg, *target = NULL, *dir = ".", *format = "png", *slug = NULL;
	double *at = NULL, every = 0;
	size_t nat = 0;
	bool every_set = false, first = false, last = false, add = false;
	struct catalog *cat = NULL;
	struct asset *video = NULL;
	char *path = NULL;
	struct frames_out out = {cli, NULL, NULL, 0, {0}, NULL, NULL, 0};
	int id, rc = -1;
	opts_init(&o, cli, argc, argv, frames_specs);
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		switch (id) {
		case OPT_ERROR:
			goto out;
		case OPT_HELP:
			cli_print_help(&cmd_frames_entry);
			rc = 0;
			goto out;
		case OPT_AT:
			at = xrealloc(at, (nat + 1) * sizeof(*at));
			if (frames_parse_time("--at", arg, &at[nat]) < 0)
				goto out;
			nat++;
			break;
		case OPT_EVERY:
			if (frames_parse_time("--every", arg, &every) < 0)
				goto out;
			every_set = true;
			break;
		case OPT_FIRST:
			first = true;
			break;
		case OPT_LAST:
			last = true;
			break;
		case OPT_OUTPUT:
			dir = arg;
			break;
		case OPT_FORMAT:
			format = !strcmp(arg, "jpg") ? "jpeg" : arg;
			if (strcmp(format, "png") && strcmp(format, "jpeg")) {
				error_set(EX_USAGE, "--format %s: not png or jpeg", arg);
				goto out;
			}
			break;
		case OPT_ADD:
			add = true;
			break;
		case OPT_CHARACTER:
			slug = arg;
			break;
		case OPT_POSITIONAL:
			if (target) {
				cli_usage_error(&cmd_frames_entry, "one video at a time");
				goto out;
			}
			target = arg;
			break;
		}
	}
	if (!target) {
		cli_usage_error(&cmd_frames_entry, "no video given");
		goto out;
	}
	if (!nat && !every_set && !first && !last) {
		cli_usage_error(&cmd_frames_entry, "say which frames: --at, --every, --first or "
						   "--last");
		goto out;
	}
	if (slug && !add) {
		cli_usage_error(&cmd_frames_entry, "--character goes with --add");
		goto out;
	}
	if (find_video(&cat, cli->store_dir, target, add, &path, &video) < 0)
		goto out;
	if (add) {
		/* Frames are stored as references: what the next shot starts
		 * from, or a character's look in a take. */
		out.batch =
		    catalog_add_begin(cat, slug ? slug : video->character, "reference", NULL);
		if (!out.batch)
			goto out;
		out.video_id = video->id;
	} else {
		out.dir = dir;
		struct stat st;
		if (stat(dir, &st) < 0 && file_make_dirs(dir, 0777) < 0)
			goto out;
	}
	struct frames_pick pick = {at, nat, every, every_set, first, last};
	if (frames_take(path, &pick, format, keep_frame, &out) != 0) {
		if (!error_message()[0])
			error_set(EX_SOFTWARE, "%s: frames stopped", target);
		goto out;
	}
	if (add) {
		if (catalog_add_commit(out.batch) < 0)
			goto out;
		print_added(&out, cat);
	} else {
		print_files(&out);
	}
	rc = 0;
out:
	catalog_add_free(out.batch);
	asset_free(video);
	catalog_close(cat);
	strlist_clear(&out.written);
	free(out.times);
	free(out.indexes);
	free(path);
	free(at);
	return rc;
}

const struct cmd_entry cmd_frames_entry = {
    "frames",
    NULL,
    "frames VIDEO|ASSET [--at T]... [--every T] [--first] [--last] [-o DIR]\n"
    "              [--format png|jpeg] [--add [--character SLUG]]",
    "Write a video's frames as pictures, or store them as assets.",
    "  --at T                  the frame nearest time T (2.4, 2.4s or 00:00:02.4;\n"
    "                          repeatable)\n"
    "  --every T               one frame every T seconds from the start (0: all)\n"
    "  --first                 the first frame\n"
    "  --last                  the exact last frame\n"
    "  -o, --output DIR        where to write them (default: here), named by time\n"
    "  -f, --format FORMAT     png (default) or jpeg\n"
    "  --add                   store them as reference assets of the video's\n"
    "                          character, each recording its video and time\n"
    "  -c, --character SLUG    with --add: the character they belong to instead\n",
    cmd_frames,
};
