/* troupe sheet: a contact sheet of a character's or a query's pictures,
 * written atomically to one file. It parses options and prints; drawing
 * is image.c's, choosing the assets selection.c's. */
#include "config.h"

#include "asset.h"
#include "catalog.h"
#include "commands.h"
#include "image.h"
#include "query.h"
#include "selection.h"
#include "thumbnail.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { OPT_OUTPUT = 1, OPT_COLUMNS, OPT_CELL, OPT_TITLE };

static const struct opt_spec sheet_specs[] = {
    {"output", 'o', true, OPT_OUTPUT},
    {"columns", 'c', true, OPT_COLUMNS},
    {"cell", 0, true, OPT_CELL},
    {"title", 0, true, OPT_TITLE},
    {NULL, 0, false, 0},
};

struct sheet_assets {
	struct catalog *cat;
	struct image_sheet_cell *cells;
	int64_t *ids; /* the asset of each cell */
	size_t n;
	int failed;
};

static int sheet_collect(const struct asset *a, void *ctx)
{
	struct sheet_assets *s = ctx;
	char *thumb = catalog_thumbnail(s->cat, a->id);
	if (!thumb) {
		s->failed = 1;
		return 1;
	}
	s->cells = xrealloc(s->cells, (s->n + 1) * sizeof(*s->cells));
	s->ids = xrealloc(s->ids, (s->n + 1) * sizeof(*s->ids));
	s->ids[s->n] = a->id;
	char *tags = tags_joined(&a->tags);
	struct image_sheet_cell *c = &s->cells[s->n++];
	c->thumb_path = thumb;
	/* A sheet of a query mixes characters: each card says whose it is. */
	c->caption = a->character ? xasprintf("%s · %s", a->character, a->role) : xstrdup(a->role);
	c->tags = tags;
	c->detail = xasprintf("%.12s  %dx%d", a->hash, a->width, a->height);
	return 0;
}

static int cmd_sheet(struct cli *cli, int argc, char **argv)
{
	struct opts o;
	const char *arg, *output = NULL, *title_opt = NULL;
	struct strbuf what = STRBUF_INIT;
	int64_t columns = 4, cell = 256;
	int id, rc = -1;
	opts_init(&o, cli, argc, argv, sheet_specs);
	o.dash_words = true;
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		switch (id) {
		case OPT_ERROR:
			goto done;
		case OPT_HELP:
			cli_print_help(&cmd_sheet_entry);
			rc = 0;
			goto done;
		case OPT_OUTPUT:
			output = arg;
			break;
		case OPT_COLUMNS:
			if (cli_parse_int("--columns", arg, 1, 100, &columns) < 0)
				goto done;
			break;
		case OPT_CELL:
			if (cli_parse_int("--cell", arg, 64, 1024, &cell) < 0)
				goto done;
			break;
		case OPT_TITLE:
			title_opt = arg;
			break;
		case OPT_POSITIONAL:
			if (what.len)
				sb_addc(&what, ' ');
			sb_adds(&what, arg);
			break;
		}
	}
	if (!output) {
		cli_usage_error(&cmd_sheet_entry, "no output file (-o FILE.png or FILE.jpg)");
		goto done;
	}
	const char *dot = strrchr(output, '.');
	const char *format = !dot						     ? NULL
			     : !strcasecmp(dot, ".png")				     ? "png"
			     : !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") ? "jpeg"
										     : NULL;
	if (!format) {
		error_set(EX_USAGE, "-o %s: the name must end in .png, .jpg or .jpeg", output);
		goto done;
	}
	struct catalog *cat = catalog_open(cli->store_dir);
	if (!cat)
		goto done;
	struct selection sel;
	selection_of(cat, sb_str(&what), &sel);
	struct sheet_assets s = {cat, NULL, NULL, 0, 0};
	struct query_options qo = {SORT_CHARACTER, false, 0};
	struct image_buffer buf = {0};
	if (catalog_query(cat, sel.query, &qo, sheet_collect, &s) < 0 || s.failed)
		goto out;
	if (s.n == 0) {
		error_set(EX_DATAERR, "%s: no images match", sb_str(&what));
		goto out;
	}
	if (image_sheet(title_opt ? title_opt : sel.title, sel.subtitle, s.cells, s.n, (int)columns,
			(int)cell, format, &buf) < 0 ||
	    file_write_atomic(output, buf.data, buf.len) < 0)
		goto out;
	if (cli->json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "output", output);
		cJSON_AddNumberToObject(j, "images", (double)s.n);
		cJSON_AddNumberToObject(j, "width", buf.width);
		cJSON_AddNumberToObject(j, "height", buf.height);
		cJSON *cards = cJSON_AddArrayToObject(j, "cards");
		for (size_t i = 0; i < s.n; i++) {
			cJSON *card = cJSON_CreateObject();
			cJSON_AddNumberToObject(card, "id", (double)s.ids[i]);
			cJSON_AddStringToObject(card, "caption", s.cells[i].caption);
			cJSON_AddStringToObject(card, "tags", s.cells[i].tags);
			cJSON_AddStringToObject(card, "detail", s.cells[i].detail);
			cJSON_AddItemToArray(cards, card);
		}
		json_print(j);
	} else if (!cli->quiet) {
		printf("%s: %zu image%s, %dx%d\n", output, s.n, s.n == 1 ? "" : "s", buf.width,
		       buf.height);
	}
	rc = 0;
out:
	image_buffer_clear(&buf);
	for (size_t i = 0; i < s.n; i++) {
		free((char *)s.cells[i].thumb_path);
		free((char *)s.cells[i].caption);
		free((char *)s.cells[i].tags);
		free((char *)s.cells[i].detail);
	}
	free(s.cells);
	free(s.ids);
	selection_clear(&sel);
	catalog_close(cat);
done:
	sb_release(&what);
	return rc;
}

const struct cmd_entry cmd_sheet_entry = {
    "sheet",
    NULL,
    "sheet SLUG|QUERY -o FILE.png|FILE.jpg [--columns N] [--cell N]",
    "Draw a contact sheet of a character's (or a query's) images.",
    "  -o, --output FILE       where to write it; .png or .jpg picks the format\n"
    "  -c, --columns N         images per row (default 4)\n"
    "      --cell N            size of each image's square in pixels (default 256)\n"
    "      --title TEXT        heading (default: the character's name, or the query)\n",
    cmd_sheet,
};
