/* troupe calibrate: a model's check threshold from the store's own
 * references. It parses options and prints the result; the sweep and the
 * storing of the threshold are likeness.c's. */
#include "config.h"

#include "catalog.h"
#include "cli-embed.h"
#include "commands.h"
#include "embed.h"
#include "likeness.h"
#include "util.h"

#include <stdio.h>

struct shown {
	struct progress *bar;
	bool quiet;
};

static void print_warning(const char *message, void *ctx)
{
	struct shown *s = ctx;
	/* A warning on a line of its own, not over the bar. */
	progress_free(s->bar);
	s->bar = NULL;
	warn_user("%s", message);
}

static void show_progress(size_t done, size_t total, void *ctx)
{
	struct shown *s = ctx;
	if (!s->bar && !s->quiet && done < total)
		s->bar = progress_new("variants", total);
	progress_step(s->bar, done);
	if (done == total) {
		progress_free(s->bar);
		s->bar = NULL;
	}
}

static int cmd_calibrate(struct cli *cli, int argc, char **argv)
{
	struct cli_embed a = {0};
	struct catalog *cat = NULL;
	struct profile *p = NULL;
	struct likeness_calibration c;
	struct shown shown = {NULL, cli->quiet};
	bool help;
	int rc = -1;
	const unsigned takes =
	    CLI_EMBED_TAKES(CLI_EMBED_PROFILE) | CLI_EMBED_TAKES(CLI_EMBED_NO_VARIANTS);
	if (cli_embed_parse(cli, &cmd_calibrate_entry, takes, argc, argv, &a, &help) < 0 || help) {
		rc = help ? 0 : -1;
		goto out;
	}
	if (a.no_variants && a.profile) {
		cli_usage_error(&cmd_calibrate_entry,
				"--profile embeds variants: not with --no-variants");
		goto out;
	}
	cat = catalog_open(cli->store_dir);
	if (!cat)
		goto out;
	/* Variants need the model's service; vectors imported from elsewhere
	 * have none, and are calibrated from their pairs alone. */
	if (!a.no_variants && !(p = embed_profile_load(a.model, a.profile, catalog_root(cat)))) {
		if (a.profile || error_code() != EX_NOINPUT)
			goto out;
		error_clear();
	}
	struct likeness_calibrate_opts opts = {p, print_warning, show_progress, &shown};
	if (likeness_calibrate(cat, a.model, &opts, &c) < 0)
		goto out;
	if (cli->json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "model", a.model);
		cJSON_AddNumberToObject(j, "threshold", c.threshold);
		cJSON_AddNumberToObject(j, "balanced_accuracy", c.balanced_accuracy);
		cJSON_AddNumberToObject(j, "same_pairs", (double)c.same_pairs);
		cJSON_AddNumberToObject(j, "other_pairs", (double)c.other_pairs);
		cJSON_AddNumberToObject(j, "same_mean", c.same_mean);
		cJSON_AddNumberToObject(j, "same_min", c.same_min);
		cJSON_AddNumberToObject(j, "other_mean", c.other_mean);
		cJSON_AddNumberToObject(j, "other_max", c.other_max);
		cJSON_AddNumberToObject(j, "margin", c.margin);
		cJSON_AddNumberToObject(j, "variant_pairs", (double)c.variant_pairs);
		cJSON_AddNumberToObject(j, "variant_misses", (double)c.variant_misses);
		json_print(j);
	} else if (!cli->quiet) {
		printf("model %s: threshold %.4f (balanced accuracy %.1f%%)\n", a.model,
		       c.threshold, 100 * c.balanced_accuracy);
		printf("  same character   %zu pairs (%zu with variants), similarity mean %.4f, "
		       "min %.4f\n",
		       c.same_pairs, c.variant_pairs, c.same_mean, c.same_min);
		printf("  other characters %zu pairs, similarity mean %.4f, max %.4f\n",
		       c.other_pairs, c.other_mean, c.other_max);
		printf("  margin %.4f%s\n", c.margin,
		       c.margin < 0			 ? " (they overlap)"
		       : c.margin < LIKENESS_THIN_MARGIN ? " (thin)"
							 : "");
	}
	rc = 0;
out:
	progress_free(shown.bar);
	profile_free(p);
	catalog_close(cat);
	cli_embed_clear(&a);
	return rc;
}

const struct cmd_entry cmd_calibrate_entry = {
    "calibrate",
    NULL,
    "calibrate --model NAME [--profile NAME | --no-variants]",
    "Set a model's check threshold from the store's own references and variants of them.",
    "  -m, --model NAME        the model to calibrate\n"
    "  -p, --profile NAME      embed the variants through this profile (default: the\n"
    "                          one named like the model)\n"
    "  --no-variants           pairs of stored references only, no service needed\n",
    cmd_calibrate,
};
