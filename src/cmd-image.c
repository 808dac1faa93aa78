/* troupe similar|derive|sheet: the picture commands. They parse options
 * and print; the pixels are image.c's and the rows catalog.c's. */
#include "config.h"

#include "commands.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- similar ---- */

enum { OPT_MAX_DISTANCE = 1, OPT_LIMIT };

static const struct opt_spec similar_specs[] = {
    {"max-distance", 'd', true, OPT_MAX_DISTANCE},
    {"limit", 'n', true, OPT_LIMIT},
    {NULL, 0, false, 0},
};

struct similar_out {
	struct cli *cli;
	int64_t limit;
	int64_t shown;
	int64_t skip_id;
	struct table *table;
	cJSON *json;
};

static int similar_row(const struct asset *a, int distance, void *ctx)
{
	struct similar_out *o = ctx;
	if (a->id == o->skip_id)
		return 0;
	o->shown++;
	if (o->json) {
		cJSON *item = json_asset(a);
		cJSON_AddNumberToObject(item, "distance", distance);
		cJSON_AddItemToArray(o->json, item);
		return o->limit && o->shown >= o->limit;
	}
	char dist[8], id[24], size[24], hash[17];
	snprintf(dist, sizeof(dist), "%d", distance);
	snprintf(id, sizeof(id), "%lld", (long long)a->id);
	snprintf(size, sizeof(size), "%dx%d", a->width, a->height);
	snprintf(hash, sizeof(hash), "%.16s", a->hash);
	char *tags = tags_joined(&a->tags);
	const char *row[] = {dist,    id,   hash, a->character ? a->character : "-",
			     a->role, size, tags};
	table_add(o->table, row);
	free(tags);
	return o->limit && o->shown >= o->limit;
}

static int cmd_similar(struct cli *cli, int argc, char **argv)
{
	struct opts o;
	const char *arg, *target = NULL;
	int64_t max_distance = 10, limit = 0;
	int id, rc = -1;
	struct catalog *cat = NULL;
	opts_init(&o, cli, argc, argv, similar_specs);
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		switch (id) {
		case OPT_ERROR:
			return -1;
		case OPT_HELP:
			cli_print_help(&cmd_similar_entry);
			return 0;
		case OPT_MAX_DISTANCE:
			if (cli_parse_int("--max-distance", arg, 0, 64, &max_distance) < 0)
				return -1;
			break;
		case OPT_LIMIT:
			if (cli_parse_int("--limit", arg, 1, INT64_MAX, &limit) < 0)
				return -1;
			break;
		case OPT_POSITIONAL:
			if (target)
				return cli_usage_error(&cmd_similar_entry,
						       "one image or asset at a time");
			target = arg;
			break;
		}
	}
	if (!target)
		return cli_usage_error(&cmd_similar_entry, "no image or asset given");
	cat = catalog_open(cli->store_dir);
	if (!cat)
		return -1;
	uint64_t phash;
	struct similar_out out = {cli, limit, 0, 0, NULL, NULL};
	/* A path that exists is a file to compare; anything else names an
	 * asset already in the store, which is left out of its own answer. */
	struct stat st;
	if (stat(target, &st) == 0) {
		if (catalog_file_phash(target, &phash) < 0)
			goto out;
	} else if (catalog_asset_resolve(cat, target, &out.skip_id) < 0) {
		if (strstr(error_message(), "not an asset id"))
			error_set(EX_NOINPUT,
				  "%s: no such file, and not an asset id or hash prefix", target);
		goto out;
	} else if (catalog_asset_phash(cat, out.skip_id, &phash) < 0) {
		goto out;
	}
	static const char *const headers[] = {"DIST", "ID",   "HASH", "CHARACTER",
					      "ROLE", "SIZE", "TAGS"};
	if (cli->json)
		out.json = cJSON_CreateArray();
	else
		out.table = table_new(7, headers);
	rc = catalog_similar(cat, phash, (int)max_distance, 0, similar_row, &out);
	cli_print_rows(rc, out.json, out.table, out.shown);
out:
	catalog_close(cat);
	return rc;
}

const struct cmd_entry cmd_similar_entry = {
    "similar",
    NULL,
    "similar FILE|ASSET [--max-distance N] [--limit N]",
    "Find stored images that look like an image file or a stored asset.",
    "  -d, --max-distance N    Hamming distance between 64-bit pHashes, 0 to 64\n"
    "                          (default 10; 0 is the same picture)\n"
    "  -n, --limit N           at most N assets\n",
    cmd_similar,
};

/* ---- derive ---- */

enum {
	OPT_MAX_SIDE = 1,
	OPT_MIN_SIDE,
	OPT_ASPECT,
	OPT_FIT,
	OPT_FORMAT,
	OPT_QUALITY,
	OPT_MAX_BYTES
};

static const struct opt_spec derive_specs[] = {
    {"max-side", 0, true, OPT_MAX_SIDE},   {"min-side", 0, true, OPT_MIN_SIDE},
    {"aspect", 0, true, OPT_ASPECT},	   {"fit", 0, true, OPT_FIT},
    {"format", 'f', true, OPT_FORMAT},	   {"quality", 'Q', true, OPT_QUALITY},
    {"max-bytes", 0, true, OPT_MAX_BYTES}, {NULL, 0, false, 0},
};

/* "16:9", "1.5" or "4/3" as a number. */
static int parse_ratio(const char *text, double *out)
{
	char *end;
	errno = 0;
	double a = strtod(text, &end);
	if (end == text || errno || a <= 0)
		return -1;
	if (*end == ':' || *end == '/') {
		const char *rest = end + 1;
		double b = strtod(rest, &end);
		if (end == rest || b <= 0)
			return -1;
		a /= b;
	}
	if (*end)
		return -1;
	*out = a;
	return 0;
}

/* "16:9" (exactly) or "9:16-16:9" / "0.5-2" (a range). */
static int parse_aspect(const char *text, struct image_recipe *r)
{
	const char *dash = strchr(text, '-');
	int rc;
	if (dash) {
		char *lo = xstrndup(text, (size_t)(dash - text));
		rc =
		    parse_ratio(lo, &r->aspect_min) < 0 || parse_ratio(dash + 1, &r->aspect_max) < 0
			? -1
			: 0;
		free(lo);
	} else {
		rc = parse_ratio(text, &r->aspect_min);
		r->aspect_max = r->aspect_min;
	}
	if (rc < 0)
		return error_set(EX_USAGE,
				 "--aspect %s: expected a ratio like 16:9, or a range "
				 "like 9:16-16:9",
				 text);
	return 0;
}

/* "2MB", "500kB", "1MiB", "123456". */
static int parse_size(const char *text, int64_t *out)
{
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	if (end == text || errno || v <= 0)
		goto bad;
	static const struct {
		const char *suffix;
		double factor;
	} units[] = {
	    {"", 1},	 {"B", 1},	{"k", 1e3},	      {"kB", 1e3}, {"K", 1e3},
	    {"KB", 1e3}, {"KiB", 1024}, {"M", 1e6},	      {"MB", 1e6}, {"MiB", 1048576.0},
	    {"G", 1e9},	 {"GB", 1e9},	{"GiB", 1073741824.0}};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].suffix) == 0) {
			*out = (int64_t)(v * units[i].factor);
			if (*out < 1)
				goto bad;
			return 0;
		}
bad:
	return error_set(EX_USAGE, "--max-bytes %s: expected a size like 2MB, 500kB or 123456",
			 text);
}

static int cmd_derive(struct cli *cli, int argc, char **argv)
{
	struct opts o;
	const char *arg, *ref = NULL;
	struct image_recipe recipe = {0};
	int64_t n;
	int id, rc = -1;
	opts_init(&o, cli, argc, argv, derive_specs);
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		switch (id) {
		case OPT_ERROR:
			return -1;
		case OPT_HELP:
			cli_print_help(&cmd_derive_entry);
			return 0;
		case OPT_MAX_SIDE:
		case OPT_MIN_SIDE:
			if (cli_parse_int(id == OPT_MAX_SIDE ? "--max-side" : "--min-side", arg, 1,
					  65535, &n) < 0)
				return -1;
			*(id == OPT_MAX_SIDE ? &recipe.max_side : &recipe.min_side) = (int)n;
			break;
		case OPT_ASPECT:
			if (parse_aspect(arg, &recipe) < 0)
				return -1;
			break;
		case OPT_FIT:
			if (strcmp(arg, "pad") && strcmp(arg, "crop"))
				return error_set(EX_USAGE, "--fit %s: expected pad or crop", arg);
			recipe.fit = strcmp(arg, "crop") == 0 ? IMAGE_FIT_CROP : IMAGE_FIT_PAD;
			break;
		case OPT_FORMAT:
			snprintf(recipe.format, sizeof(recipe.format), "%s", arg);
			if (strlen(arg) >= sizeof(recipe.format))
				return error_set(EX_USAGE, "--format %s: not jpeg, png or webp",
						 arg);
			break;
		case OPT_QUALITY:
			if (cli_parse_int("--quality", arg, 1, 100, &n) < 0)
				return -1;
			recipe.quality = (int)n;
			break;
		case OPT_MAX_BYTES:
			if (parse_size(arg, &recipe.max_bytes) < 0)
				return -1;
			break;
		case OPT_POSITIONAL:
			if (ref)
				return cli_usage_error(&cmd_derive_entry, "one asset at a time");
			ref = arg;
			break;
		}
	}
	if (!ref)
		return cli_usage_error(&cmd_derive_entry, "no asset given");
	if (image_recipe_check(&recipe) < 0)
		return -1;
	struct catalog *cat = catalog_open(cli->store_dir);
	if (!cat)
		return -1;
	int64_t asset_id;
	struct derivative d = {0};
	if (catalog_asset_resolve(cat, ref, &asset_id) < 0 ||
	    catalog_derive(cat, asset_id, &recipe, &d) < 0)
		goto out;
	if (cli->json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "hash", d.hash);
		cJSON_AddStringToObject(j, "path", d.path);
		cJSON_AddNumberToObject(j, "width", d.width);
		cJSON_AddNumberToObject(j, "height", d.height);
		cJSON_AddStringToObject(j, "format", d.format);
		cJSON_AddNumberToObject(j, "bytes", (double)d.bytes);
		cJSON_AddNumberToObject(j, "source", (double)asset_id);
		cJSON_AddBoolToObject(j, "cached", d.cached);
		json_print(j);
	} else {
		printf("%s  %s\n", d.hash, d.path);
		if (!cli->quiet) {
			char size[32];
			format_bytes((uint64_t)d.bytes, size);
			fprintf(stderr, "troupe: derive: %dx%d %s, %s%s\n", d.width, d.height,
				d.format, size, d.cached ? " (cached)" : "");
		}
	}
	rc = 0;
out:
	derivative_clear(&d);
	catalog_close(cat);
	return rc;
}

const struct cmd_entry cmd_derive_entry = {
    "derive",
    NULL,
    "derive ASSET [--max-side N] [--format F] [--max-bytes SIZE] ...",
    "Make (or find cached) a copy of an asset's image that fits a recipe.",
    "      --max-side N        longest side at most N pixels\n"
    "      --min-side N        shortest side at least N pixels (scales up)\n"
    "      --aspect RANGE      width:height, e.g. 16:9 or 9:16-16:9 or 0.5-2\n"
    "      --fit pad|crop      meet --aspect by padding (default) or cropping\n"
    "  -f, --format F          jpeg (default), png or webp\n"
    "  -Q, --quality Q         1 to 100 (default 90)\n"
    "      --max-bytes SIZE    e.g. 2MB; quality, then size, step down to fit\n"
    "Prints the derivative's hash and path; --json says more.\n",
    cmd_derive,
};

/* ---- sheet ---- */

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
	size_t n;
	int failed;
};

static int sheet_collect(const struct asset *a, void *ctx)
{
	struct sheet_assets *s = ctx;
	if (catalog_format_is_video(a->format))
		return 0; /* a sheet is of pictures */
	char *thumb = catalog_thumbnail(s->cat, a->id);
	if (!thumb) {
		s->failed = 1;
		return 1;
	}
	s->cells = xrealloc(s->cells, (s->n + 1) * sizeof(*s->cells));
	char *tags = tags_joined(&a->tags);
	struct image_sheet_cell *c = &s->cells[s->n++];
	c->thumb_path = thumb;
	c->caption = *tags ? xasprintf("%s · %s", a->role, tags) : xstrdup(a->role);
	c->detail = xasprintf("%.12s  %dx%d", a->hash, a->width, a->height);
	free(tags);
	return 0;
}

/* A slug or alias of a character selects its assets; anything else is a
 * query. *title and *subtitle are the caller's to free. */
int select_assets(struct catalog *cat, const char *what, char **query, char **title,
		  char **subtitle)
{
	*query = *title = *subtitle = NULL;
	if (!what || !*what) {
		*query = xstrdup("");
		*title = xstrdup("All assets");
		*subtitle = xstrdup("");
		return 0;
	}
	if (catalog_slug_check(what) == 0 || !strchr(what, ':')) {
		struct character *c = catalog_character_get(cat, what);
		if (c) {
			*query = xasprintf("character:%s", c->slug);
			*title = xstrdup(c->name);
			*subtitle = xstrdup(c->description);
			character_free(c);
			return 0;
		}
	}
	error_clear();
	*query = xstrdup(what);
	*title = xstrdup(what);
	*subtitle = xstrdup("");
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
	char *query, *title, *subtitle;
	select_assets(cat, sb_str(&what), &query, &title, &subtitle);
	struct sheet_assets s = {cat, NULL, 0, 0};
	struct query_options qo = {SORT_CHARACTER, false, 0};
	struct image_buffer buf = {0};
	if (catalog_query(cat, query, &qo, sheet_collect, &s) < 0 || s.failed)
		goto out;
	if (s.n == 0) {
		error_set(EX_DATAERR, "%s: no images match", sb_str(&what));
		goto out;
	}
	if (image_sheet(title_opt ? title_opt : title, subtitle, s.cells, s.n, (int)columns,
			(int)cell, format, &buf) < 0 ||
	    file_write_atomic(output, buf.data, buf.len) < 0)
		goto out;
	if (cli->json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "output", output);
		cJSON_AddNumberToObject(j, "images", (double)s.n);
		cJSON_AddNumberToObject(j, "width", buf.width);
		cJSON_AddNumberToObject(j, "height", buf.height);
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
		free((char *)s.cells[i].detail);
	}
	free(s.cells);
	free(query);
	free(title);
	free(subtitle);
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
