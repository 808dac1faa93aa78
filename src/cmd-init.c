/* troupe init: make a store, like git init. */
#include "config.h"

#include "catalog.h"
#include "commands.h"
#include "util.h"

#include <limits.h>
#include <stdlib.h>

static int cmd_init(struct cli *cli, int argc, char **argv)
{
	struct opts o;
	const char *arg, *where = NULL;
	int id;
	opts_init(&o, cli, argc, argv, NULL);
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		if (id == OPT_ERROR)
			return -1;
		if (id == OPT_HELP) {
			cli_print_help(&cmd_init_entry);
			return 0;
		}
		if (where)
			return cli_usage_error(&cmd_init_entry, "too many arguments");
		where = arg;
	}
	if (where && cli->store_dir)
		return cli_usage_error(&cmd_init_entry, "give either DIR or --store, not both");
	/* --store names the store itself; DIR names the directory to hold it. */
	char *dir =
	    cli->store_dir ? xstrdup(cli->store_dir) : xasprintf("%s/.troupe", where ? where : ".");
	bool existed;
	int rc = catalog_create(dir, &existed);
	if (rc == 0 && cli->json) {
		char *real = realpath(dir, NULL);
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "store", real ? real : dir);
		cJSON_AddBoolToObject(j, "created", !existed);
		json_print(j);
		free(real);
	} else if (rc == 0 && !cli->quiet) {
		char *real = realpath(dir, NULL);
		printf("%s troupe store in %s\n",
		       existed ? "Reinitialised existing" : "Initialised empty", real ? real : dir);
		free(real);
	}
	free(dir);
	return rc;
}

const struct cmd_entry cmd_init_entry = {
    "init",	  NULL,
    "init [DIR]", "Make a store: DIR/.troupe (DIR defaults to here), or the --store directory.",
    "",		  cmd_init,
};
