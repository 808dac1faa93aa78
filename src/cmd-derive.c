/* troupe derive: a copy of an asset fitted to a recipe (size, aspect,
 * format, bytes). It parses the recipe and prints the derivative; the
 * pixels are image.c's and the cache the catalog's, never touched here. */
#include "config.h"

#include "asset.h"
#include "catalog.h"
#include "commands.h"
#include "derivative.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
