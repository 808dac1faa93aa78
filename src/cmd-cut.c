/* troupe cut: the chosen takes in film order, written as an
 * OpenTimelineIO timeline and an ffmpeg concat list. Parses options,
 * writes the files whole or not at all, and prints what it wrote. */
#include "config.h"

#include "catalog.h"
#include "commands.h"
#include "cut.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_OUTPUT = 1, OPT_FFCONCAT, OPT_PARTIAL, OPT_NAME };

static const struct opt_spec cut_specs[] = {
    {"output", 'o', true, OPT_OUTPUT},
    {"ffconcat", 0, true, OPT_FFCONCAT},
    {"partial", 0, false, OPT_PARTIAL},
    {"name", 'n', true, OPT_NAME},
    {NULL, 0, false, 0},
};

static int cmd_cut(struct cli *cli, int argc, char **argv)
{
	struct opts o;
	const char *arg, *otio = NULL, *ffconcat = NULL, *name = "troupe cut";
	bool partial = false;
	int id;
	opts_init(&o, cli, argc, argv, cut_specs);
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		switch (id) {
		case OPT_ERROR:
			return -1;
		case OPT_HELP:
			cli_print_help(&cmd_cut_entry);
			return 0;
		case OPT_POSITIONAL:
			return cli_usage_error(&cmd_cut_entry, "cut takes no arguments");
		case OPT_OUTPUT:
			otio = arg;
			break;
		case OPT_FFCONCAT:
			ffconcat = arg;
			break;
		case OPT_PARTIAL:
			partial = true;
			break;
		case OPT_NAME:
			name = arg;
			break;
		}
	}
	if (!otio && !ffconcat)
		return cli_usage_error(&cmd_cut_entry, "where to? (-o FILE.otio, --ffconcat FILE)");
	if (text_check("--name", name) < 0)
		return -1;
	struct catalog *cat = catalog_open(cli->store_dir);
	if (!cat)
		return -1;
	struct cut cut;
	char *otio_text = NULL, *list = NULL;
	int rc = cut_build(cat, partial, &cut);
	if (rc == 0 && otio) {
		cJSON *timeline = cut_otio(&cut, name);
		otio_text = cJSON_Print(timeline);
		cJSON_Delete(timeline);
	}
	if (rc == 0 && ffconcat && !(list = cut_ffconcat(&cut)))
		rc = -1;
	/* Both files are made before either is written, so a refusal leaves
	 * neither behind. */
	if (rc == 0 && otio_text) {
		size_t len = strlen(otio_text);
		otio_text[len] = '\n';
		rc = file_write_atomic(otio, otio_text, len + 1);
		otio_text[len] = '\0';
	}
	if (rc == 0 && list)
		rc = file_write_atomic(ffconcat, list, strlen(list));
	if (rc == 0) {
		double total = 0;
		for (size_t i = 0; i < cut.n; i++)
			total += cut.clips[i].duration;
		for (size_t i = 0; i < cut.skipped.n; i++)
			warn_user("%s has no chosen take; left out of the cut",
				  cut.skipped.items[i]);
		if (cli->json) {
			cJSON *j = cJSON_CreateObject();
			cJSON *clips = cJSON_AddArrayToObject(j, "clips");
			for (size_t i = 0; i < cut.n; i++) {
				cJSON *c = cJSON_CreateObject();
				cJSON_AddStringToObject(c, "shot", cut.clips[i].shot);
				cJSON_AddNumberToObject(c, "take", cut.clips[i].take);
				cJSON_AddNumberToObject(c, "asset", (double)cut.clips[i].asset_id);
				cJSON_AddNumberToObject(c, "duration", cut.clips[i].duration);
				cJSON_AddNumberToObject(c, "fps", cut.clips[i].fps);
				cJSON_AddItemToArray(clips, c);
			}
			cJSON_AddItemToObject(j, "skipped", json_strlist(&cut.skipped));
			cJSON_AddNumberToObject(j, "duration", total);
			json_print(j);
		} else if (!cli->quiet) {
			printf("%zu clip%s, %.3f s", cut.n, cut.n == 1 ? "" : "s", total);
			if (otio)
				printf(", %s", otio);
			if (ffconcat)
				printf(", %s", ffconcat);
			printf("\n");
		}
	}
	free(otio_text);
	free(list);
	cut_clear(&cut);
	catalog_close(cat);
	return rc;
}

const struct cmd_entry cmd_cut_entry = {
    "cut",
    NULL,
    "cut -o FILE.otio [--ffconcat FILE] [--partial] [--name NAME]",
    "The chosen takes in film order, as an OpenTimelineIO timeline and a concat list.",
    "  -o, --output FILE       write the OpenTimelineIO timeline (.otio, JSON)\n"
    "      --ffconcat FILE     write an ffmpeg concat list of the same clips\n"
    "      --partial           leave out shots with no chosen take (named on stderr)\n"
    "  -n, --name NAME         the timeline's name (default \"troupe cut\")\n",
    cmd_cut,
};
