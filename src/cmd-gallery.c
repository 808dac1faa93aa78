/* troupe gallery: a self-contained static HTML page of characters and
 * their references. Thumbnails are copied beside the page, clips linked or
 * copied there (videos/) to play in place; the page loads
 * nothing from anywhere else and needs no JavaScript. */
#include "config.h"

#include "asset.h"
#include "catalog.h"
#include "character.h"
#include "commands.h"
#include "page.h"
#include "query.h"
#include "selection.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_OUTPUT = 1 };

static const struct opt_spec gallery_specs[] = {
    {"output", 'o', true, OPT_OUTPUT},
    {NULL, 0, false, 0},
};

static const char page_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>%s</title>\n<style>\n"
    "body{margin:0;padding:32px;background:#f6f4ef;color:#222226;"
    "font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif}\n"
    "h1{font-size:28px;margin:0 0 4px}\n"
    ".count{color:#6e6e76;margin:0 0 32px}\n"
    "section{margin:0 0 48px}\n"
    "h2{font-size:22px;margin:0}\n"
    "h2 .slug{font:14px ui-monospace,monospace;color:#6e6e76;margin-left:8px}\n"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:8px 0 16px}\n"
    "dt{color:#6e6e76}dd{margin:0}\n"
    ".grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:16px}\n"
    "figure{margin:0;background:#fff;border-radius:6px;overflow:hidden;"
    "box-shadow:0 1px 3px rgba(0,0,0,.12)}\n"
    "figure img,figure video{display:block;width:100%%;height:200px;object-fit:contain;"
    "background:#fff}\n"
    "figcaption{padding:8px 10px;font-size:13px}\n"
    ".role{font-weight:600}\n.tags{color:#444}\n"
    ".hash{font:11px ui-monospace,monospace;color:#6e6e76;word-break:break-all}\n"
    "</style>\n</head>\n<body>\n";

struct gallery {
	struct catalog *cat;
	const char *dir;
	struct strbuf html;
	char *current; /* slug of the open section; "" for none yet */
	bool open;
	size_t assets;
	int failed;
	struct strlist written; /* names in thumbs/ this page uses */
	struct strlist videos;	/* and in videos/ */
};

static void open_section(struct gallery *g, const struct asset *a)
{
	if (g->open)
		sb_adds(&g->html, "</div>\n</section>\n");
	g->open = true;
	free(g->current);
	g->current = xstrdup(a->character ? a->character : "");
	sb_adds(&g->html, "<section>\n");
	struct character *c = a->character ? catalog_character_get(g->cat, a->character) : NULL;
	if (!c) {
		error_clear();
		sb_adds(&g->html, "<h2>No character</h2>\n");
	} else {
		sb_adds(&g->html, "<h2>");
		page_escape(&g->html, c->name);
		sb_adds(&g->html, "<span class=\"slug\">@");
		page_escape(&g->html, c->slug);
		sb_adds(&g->html, "</span></h2>\n<dl>\n");
		static const char *const labels[] = {"Description", "Negative", "Seed", "Tags",
						     "Aliases"};
		char seed[32];
		snprintf(seed, sizeof(seed), "%lld", (long long)c->seed);
		char *tags = tags_joined(&c->tags), *aliases = tags_joined(&c->aliases);
		const char *values[] = {c->description, c->negative, c->has_seed ? seed : "", tags,
					aliases};
		for (size_t i = 0; i < 5; i++) {
			if (!*values[i])
				continue;
			sb_addf(&g->html, "<dt>%s</dt><dd>", labels[i]);
			page_escape(&g->html, values[i]);
			sb_adds(&g->html, "</dd>\n");
		}
		sb_adds(&g->html, "</dl>\n");
		free(tags);
		free(aliases);
		character_free(c);
	}
	sb_adds(&g->html, "<div class=\"grid\">\n");
}

/* "thumbs/HASH.jpg" after writing the asset's thumbnail there. */
static int copy_thumbnail(struct gallery *g, const struct asset *a, char **name)
{
	*name = xasprintf("thumbs/%s.jpg", a->hash);
	return page_copy_thumbnail(g->cat, g->dir, a, &g->written);
}

/* "videos/HASH.FORMAT" after placing the clip there. */
static int place_video(struct gallery *g, const struct asset *a, char **name)
{
	*name = xasprintf("videos/%s.%s", a->hash, a->format);
	return page_place_video(g->dir, a, &g->videos);
}

static int gallery_asset(const struct asset *a, void *ctx)
{
	struct gallery *g = ctx;
	if (!g->open || strcmp(g->current, a->character ? a->character : "") != 0)
		open_section(g, a);
	char *thumb;
	if (catalog_format_is_video(a->format)) {
		/* The poster is the thumbnail add made of the clip; the clip
		 * plays in place, from beside the page. */
		char *video = NULL;
		if (copy_thumbnail(g, a, &thumb) < 0 || place_video(g, a, &video) < 0) {
			free(thumb);
			free(video);
			g->failed = 1;
			return 1;
		}
		char *tags = tags_joined(&a->tags);
		sb_addf(&g->html,
			"<figure><video src=\"%s\" poster=\"%s\" controls preload=\"metadata\" "
			"title=\"",
			video, thumb);
		page_escape(&g->html, a->source ? a->source : a->hash);
		sb_addf(&g->html,
			"\"></video><figcaption><span class=\"role\">%s</span> "
			"<span class=\"size\">%dx%d %s, %.1f s, %.3g fps, %s</span><br>"
			"<span class=\"tags\">",
			a->role, a->width, a->height, a->format, a->duration, a->fps,
			a->codec ? a->codec : "?");
		page_escape(&g->html, tags);
		sb_addf(&g->html,
			"</span><br><span class=\"hash\">#%lld %s</span></figcaption></figure>\n",
			(long long)a->id, a->hash);
		free(tags);
		free(thumb);
		free(video);
		g->assets++;
		return 0;
	}
	if (copy_thumbnail(g, a, &thumb) < 0) {
		free(thumb);
		g->failed = 1;
		return 1;
	}
	char *tags = tags_joined(&a->tags);
	sb_addf(&g->html, "<figure><img src=\"%s\" alt=\"", thumb);
	page_escape(&g->html, a->source ? a->source : a->hash);
	sb_addf(&g->html,
		"\"><figcaption><span class=\"role\">%s</span> "
		"<span class=\"size\">%dx%d %s</span><br><span class=\"tags\">",
		a->role, a->width, a->height, a->format);
	page_escape(&g->html, tags);
	sb_addf(&g->html, "</span><br><span class=\"hash\">#%lld %s</span></figcaption></figure>\n",
		(long long)a->id, a->hash);
	free(tags);
	free(thumb);
	g->assets++;
	return 0;
}

static int cmd_gallery(struct cli *cli, int argc, char **argv)
{
	struct opts o;
	const char *arg, *output = NULL;
	struct strbuf what = STRBUF_INIT;
	int id, rc = -1;
	opts_init(&o, cli, argc, argv, gallery_specs);
	o.dash_words = true;
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		if (id == OPT_ERROR)
			goto done;
		if (id == OPT_HELP) {
			cli_print_help(&cmd_gallery_entry);
			rc = 0;
			goto done;
		}
		if (id == OPT_OUTPUT) {
			output = arg;
		} else {
			if (what.len)
				sb_addc(&what, ' ');
			sb_adds(&what, arg);
		}
	}
	if (!output) {
		cli_usage_error(&cmd_gallery_entry, "no output directory (-o DIR)");
		goto done;
	}
	struct catalog *cat = catalog_open(cli->store_dir);
	if (!cat)
		goto done;
	struct selection sel;
	selection_of(cat, sb_str(&what), &sel);
	struct gallery g = {cat, output, STRBUF_INIT, NULL, false, 0, 0, {0}, {0}};
	char *thumbs = xasprintf("%s/thumbs", output);
	char *index = xasprintf("%s/index.html", output);
	struct query_options qo = {SORT_CHARACTER, false, 0};
	int64_t count;
	/* Check the query before anything is written. */
	if (catalog_query_count(cat, sel.query, &count) < 0)
		goto out;
	if (count == 0) {
		error_set(EX_DATAERR, "%s: no images match",
			  *sb_str(&what) ? sb_str(&what) : "store");
		goto out;
	}
	if (file_make_dirs(output, 0755) < 0 || file_make_dirs(thumbs, 0755) < 0)
		goto out;
	struct strbuf page_title = STRBUF_INIT;
	sb_adds(&page_title, "troupe: ");
	page_escape(&page_title, sel.title);
	sb_addf(&g.html, page_head, page_title.buf);
	sb_addf(&g.html, "<h1>%s</h1>\n", page_title.buf + 8);
	sb_release(&page_title);
	if (*sel.subtitle) {
		sb_adds(&g.html, "<p class=\"count\">");
		page_escape(&g.html, sel.subtitle);
		sb_adds(&g.html, "</p>\n");
	}
	if (catalog_query(cat, sel.query, &qo, gallery_asset, &g) < 0 || g.failed)
		goto out;
	if (g.open)
		sb_adds(&g.html, "</div>\n</section>\n");
	sb_addf(&g.html, "<p class=\"count\">%zu image%s.</p>\n</body>\n</html>\n", g.assets,
		g.assets == 1 ? "" : "s");
	if (file_write_atomic(index, g.html.buf, g.html.len) < 0)
		goto out;
	if (page_prune(thumbs, &g.written, page_thumbnail_name) > 0)
		warn_user("%s", error_message());
	char *videos = xasprintf("%s/videos", output);
	if (page_prune(videos, &g.videos, page_video_name) > 0)
		warn_user("%s", error_message());
	free(videos);
	if (cli->json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "output", index);
		cJSON_AddNumberToObject(j, "images", (double)g.assets);
		json_print(j);
	} else if (!cli->quiet) {
		printf("%s: %zu image%s\n", index, g.assets, g.assets == 1 ? "" : "s");
	}
	rc = 0;
out:
	sb_release(&g.html);
	strlist_clear(&g.written);
	strlist_clear(&g.videos);
	free(g.current);
	free(thumbs);
	free(index);
	selection_clear(&sel);
	catalog_close(cat);
done:
	sb_release(&what);
	return rc;
}

const struct cmd_entry cmd_gallery_entry = {
    "gallery",
    NULL,
    "gallery [SLUG|QUERY] -o DIR",
    "Write a static HTML page of characters and their references to DIR.",
    "  -o, --output DIR        the directory for index.html and thumbs/\n"
    "  SLUG|QUERY              one character, or a tag query (default: everything)\n",
    cmd_gallery,
};
