/* troupe calibrate: a model's check threshold from the store's own
 * references. It parses options and prints the result; the sweep and the
 * storing of the threshold are likeness.c's. */
#include "config.h"

#include "catalog.h"
#include "cli-embed.h"
#include "commands.h"
#include "likeness.h"
#include "util.h"

#include <stdio.h>

static void print_warning(const char *message, void *ctx)
{
	(void)ctx;
	warn_user("%s", message);
}

static int cmd_calibrate(struct cli *cli, int argc, char **argv)
{
	struct cli_embed a = {0};
	struct catalog *cat = NULL;
	struct likeness_calibration c;
	bool help;
	int rc = -1;
	if (cli_embed_parse(cli, &cmd_calibrate_entry, 0, argc, argv, &a, &help) < 0 || help) {
		rc = help ? 0 : -1;
		goto out;
	}
	cat = catalog_open(cli->store_dir);
	if (!cat || likeness_calibrate(cat, a.model, print_warning, NULL, &c) < 0)
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
		json_print(j);
	} else if (!cli->quiet) {
		printf("model %s: threshold %.4f (balanced accuracy %.1f%%)\n", a.model,
		       c.threshold, 100 * c.balanced_accuracy);
		printf("  same character   %zu pairs, similarity mean %.4f, min %.4f\n",
		       c.same_pairs, c.same_mean, c.same_min);
		printf("  other characters %zu pairs, similarity mean %.4f, max %.4f\n",
		       c.other_pairs, c.other_mean, c.other_max);
	}
	rc = 0;
out:
	catalog_close(cat);
	cli_embed_clear(&a);
	return rc;
}

const struct cmd_entry cmd_calibrate_entry = {
    "calibrate",
    NULL,
    "calibrate --model NAME",
    "Set a model's check threshold from the store's own references.",
    "  -m, --model NAME        the model to calibrate\n",
    cmd_calibrate,
};
