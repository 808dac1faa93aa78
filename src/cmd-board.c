/* troupe board: the storyboard page of every shot, written to a
 * directory with its thumbnails and clips beside it. Parses options,
 * checks there is something to show before anything is written, and
 * prints what it wrote. */
#include "config.h"

#include "asset.h"
#include "board.h"
#include "catalog.h"
#include "commands.h"
#include "page.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_OUTPUT = 1, OPT_TITLE };

static const struct opt_spec board_specs[] = {
    {"output", 'o', true, OPT_OUTPUT},
    {"title", 0, true, OPT_TITLE},
    {NULL, 0, false, 0},
};

struct placed {
	struct strlist thumbs, videos;
	size_t takes;
};

static int place_files(struct catalog *cat, const char *dir, const struct board *b,
		       struct placed *p)
{
	for (size_t i = 0; i < b->nelements; i++)
		for (size_t k = 0; k < b->elements[i].nrefs; k++)
			if (page_copy_thumbnail(cat, dir, b->elements[i].refs[k], &p->thumbs) < 0)
				return -1;
	for (size_t i = 0; i < b->n; i++) {
		const struct board_shot *s = &b->shots[i];
		if (s->still && page_copy_thumbnail(cat, dir, s->still, &p->thumbs) < 0)
			return error_prefix("%s still", s->slug);
		for (size_t k = 0; k < s->ntakes; k++) {
			const struct asset *v = s->takes[k].video;
			p->takes++;
			if (v && (page_copy_thumbnail(cat, dir, v, &p->thumbs) < 0 ||
				  page_place_video(dir, v, &p->videos) < 0))
				return error_prefix("%s take %d", s->slug, s->takes[k].number);
		}
	}
	return 0;
}

static int cmd_board(struct cli *cli, int argc, char **argv)
{
	struct opts o;
	const char *arg, *output = NULL, *title = "Storyboard";
	int id;
	opts_init(&o, cli, argc, argv, board_specs);
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		switch (id) {
		case OPT_ERROR:
			return -1;
		case OPT_HELP:
			cli_print_help(&cmd_board_entry);
			return 0;
		case OPT_POSITIONAL:
			return cli_usage_error(&cmd_board_entry,
					       "board takes no arguments (it shows every shot)");
		case OPT_OUTPUT:
			output = arg;
			break;
		case OPT_TITLE:
			title = arg;
			break;
		}
	}
	if (!output)
		return cli_usage_error(&cmd_board_entry, "no output directory (-o DIR)");
	if (text_check("--title", title) < 0)
		return -1;
	struct catalog *cat = catalog_open(cli->store_dir);
	if (!cat)
		return -1;
	struct board b;
	struct placed p = {{0}, {0}, 0};
	char *thumbs = xasprintf("%s/thumbs", output);
	char *videos = xasprintf("%s/videos", output);
	char *index = xasprintf("%s/index.html", output);
	char *html = NULL;
	int rc = -1;
	if (board_build(cat, &b) < 0)
		goto out;
	if (file_make_dirs(output, 0755) < 0 || file_make_dirs(thumbs, 0755) < 0 ||
	    place_files(cat, output, &b, &p) < 0)
		goto out;
	html = board_html(&b, title);
	if (file_write_atomic(index, html, strlen(html)) < 0)
		goto out;
	if (page_prune(thumbs, &p.thumbs, page_thumbnail_name) > 0)
		warn_user("%s", error_message());
	if (page_prune(videos, &p.videos, page_video_name) > 0)
		warn_user("%s", error_message());
	if (cli->json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "output", index);
		cJSON_AddNumberToObject(j, "shots", (double)b.n);
		cJSON_AddNumberToObject(j, "takes", (double)p.takes);
		json_print(j);
	} else if (!cli->quiet) {
		printf("%s: %zu shot%s, %zu take%s\n", index, b.n, b.n == 1 ? "" : "s", p.takes,
		       p.takes == 1 ? "" : "s");
	}
	rc = 0;
out:
	free(html);
	board_clear(&b);
	strlist_clear(&p.thumbs);
	strlist_clear(&p.videos);
	free(thumbs);
	free(videos);
	free(index);
	catalog_close(cat);
	return rc;
}

const struct cmd_entry cmd_board_entry = {
    "board",
    NULL,
    "board -o DIR [--title TEXT]",
    "Write the storyboard page of every shot, in film order, to DIR.",
    "  -o, --output DIR        the directory for index.html, thumbs/ and videos/\n"
    "  --title TEXT            the page's title (default: Storyboard)\n",
    cmd_board,
};
