/* troupe look new|list|show|rm: characters' looks (wardrobe, age). Parses
 * options and prints; the look room does the rest. */
#include "config.h"

#include "catalog.h"
#include "commands.h"
#include "look.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_DESCRIBE = 1, OPT_NEGATIVE };

static const struct opt_spec look_specs[] = {
    {"describe", 'd', true, OPT_DESCRIBE},
    {"description", 0, true, OPT_DESCRIBE},
    {"negative", 0, true, OPT_NEGATIVE},
    {NULL, 0, false, 0},
};

static cJSON *json_look(const struct look *l)
{
	char created[32];
	time_iso8601(l->created, created);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "character", l->character);
	cJSON_AddStringToObject(o, "name", l->name);
	cJSON_AddStringToObject(o, "description", l->description);
	cJSON_AddStringToObject(o, "negative", l->negative);
	cJSON_AddNumberToObject(o, "assets", (double)l->assets);
	cJSON_AddStringToObject(o, "created", created);
	return o;
}

/* Descriptions came from anyone: escaped for the terminal. */
static void print_look(const struct look *l)
{
	char *description = text_escape(l->description), *negative = text_escape(l->negative);
	char created[32];
	time_iso8601(l->created, created);
	printf("%s.%s\n", l->character, l->name);
	printf("  description  %s\n", description);
	printf("  negative     %s\n", negative);
	printf("  assets       %lld (tagged look:%s)\n", (long long)l->assets, l->name);
	printf("  created      %s\n", created);
	free(description);
	free(negative);
}

static int look_list(struct cli *cli, struct catalog *cat, const char *character)
{
	struct look **list;
	size_t n;
	if (catalog_look_list(cat, character, &list, &n) < 0)
		return -1;
	cJSON *arr = cli->json ? cJSON_CreateArray() : NULL;
	static const char *const headers[] = {"CHARACTER", "LOOK", "ASSETS", "DESCRIPTION"};
	struct table *t = cli->json ? NULL : table_new(4, headers);
	for (size_t i = 0; i < n; i++) {
		if (arr) {
			cJSON_AddItemToArray(arr, json_look(list[i]));
		} else {
			char assets[32];
			snprintf(assets, sizeof(assets), "%lld", (long long)list[i]->assets);
			const char *row[] = {list[i]->character, list[i]->name, assets,
					     list[i]->description};
			table_add(t, row);
		}
		look_free(list[i]);
	}
	free(list);
	cli_print_rows(0, arr, t, n > 0);
	return 0;
}

static int cmd_look(struct cli *cli, int argc, char **argv)
{
	struct opts o;
	const char *arg, *describe = NULL, *negative = NULL;
	struct strlist pos = {0};
	struct catalog *cat = NULL;
	int id, rc = -1;
	opts_init(&o, cli, argc, argv, look_specs);
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		switch (id) {
		case OPT_ERROR:
			goto out;
		case OPT_HELP:
			cli_print_help(&cmd_look_entry);
			rc = 0;
			goto out;
		case OPT_DESCRIBE:
			describe = arg;
			break;
		case OPT_NEGATIVE:
			negative = arg;
			break;
		case OPT_POSITIONAL:
			strlist_push(&pos, arg);
			break;
		}
	}
	if (pos.n == 0) {
		rc = cli_usage_error(&cmd_look_entry, "which subcommand?");
		goto out;
	}
	const char *sub = pos.items[0];
	bool is_new = !strcmp(sub, "new"), is_list = !strcmp(sub, "list") || !strcmp(sub, "ls");
	bool is_show = !strcmp(sub, "show"), is_rm = !strcmp(sub, "rm");
	if (!is_new && !is_list && !is_show && !is_rm) {
		rc =
		    error_set(EX_USAGE, "'%s' is not a look subcommand (new, list, show, rm)", sub);
		goto out;
	}
	if (is_list ? pos.n > 2 : pos.n != 3) {
		rc = error_set(EX_USAGE, "%s: expected %s", sub,
			       is_list ? "at most one CHARACTER" : "CHARACTER NAME");
		goto out;
	}
	if ((describe || negative) && !is_new) {
		rc = error_set(EX_USAGE, "--describe and --negative are for 'look new'");
		goto out;
	}
	cat = catalog_open(cli->store_dir);
	if (!cat)
		goto out;
	if (is_list) {
		rc = look_list(cli, cat, pos.n == 2 ? pos.items[1] : NULL);
		goto out;
	}
	const char *character = pos.items[1], *name = pos.items[2];
	if (is_rm) {
		struct look *l = catalog_look_get(cat, character, name);
		if (!l || catalog_look_rm(cat, character, name) < 0) {
			look_free(l);
			goto out;
		}
		if (cli->json) {
			cJSON *j = cJSON_CreateObject();
			cJSON_AddStringToObject(j, "character", l->character);
			cJSON_AddStringToObject(j, "removed", l->name);
			json_print(j);
		} else if (!cli->quiet) {
			printf("removed look %s.%s", l->character, l->name);
			if (l->assets)
				printf(" (%lld asset%s keep the tag look:%s)", (long long)l->assets,
				       l->assets == 1 ? "" : "s", l->name);
			printf("\n");
		}
		look_free(l);
		rc = 0;
		goto out;
	}
	if (is_new) {
		struct look fields = {.name = (char *)name,
				      .description = (char *)describe,
				      .negative = (char *)negative};
		if (catalog_look_new(cat, character, &fields) < 0)
			goto out;
	}
	struct look *l = catalog_look_get(cat, character, name);
	if (!l)
		goto out;
	if (cli->json)
		json_print(json_look(l));
	else if (is_new && !cli->quiet)
		printf("created look %s.%s\n", l->character, l->name);
	else if (!is_new)
		print_look(l);
	look_free(l);
	rc = 0;
out:
	catalog_close(cat);
	strlist_clear(&pos);
	return rc;
}

const struct cmd_entry cmd_look_entry = {
    "look",
    NULL,
    "look new|list|show|rm [CHARACTER] [NAME] [OPTIONS]",
    "Register, list, show and remove characters' looks.",
    "  new CHARACTER NAME   a look of the character (NAME: a-z, 0-9 and '-');\n"
    "                       mentioned as @CHARACTER.NAME\n"
    "  list [CHARACTER]     every look (of one character)\n"
    "  show CHARACTER NAME  one look, with how many assets are tagged look:NAME\n"
    "  rm CHARACTER NAME    remove the look (its assets stay)\n"
    "\n"
    "  -d, --describe TEXT  new: description injected after the character's\n"
    "      --negative TEXT  new: negative prompt added to the character's\n",
    cmd_look,
};
