/* troupe character|location|prop|style new|list|show|edit|rm: the cast
 * and the other elements a prompt mentions, one implementation filtered
 * by the kind the command is named for. Parses options and prints; the
 * catalog does the rest. */
#include "config.h"

#include "catalog.h"
#include "character.h"
#include "commands.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

enum {
	OPT_NAME = 1,
	OPT_DESCRIBE,
	OPT_NEGATIVE,
	OPT_SEED,
	OPT_NO_SEED,
	OPT_TAG,
	OPT_UNTAG,
	OPT_ALIAS,
	OPT_UNALIAS,
	OPT_SLUG,
	OPT_FORCE,
};

static const struct opt_spec character_specs[] = {
    {"name", 'n', true, OPT_NAME},
    {"describe", 'd', true, OPT_DESCRIBE},
    {"description", 0, true, OPT_DESCRIBE},
    {"negative", 0, true, OPT_NEGATIVE},
    {"seed", 0, true, OPT_SEED},
    {"no-seed", 0, false, OPT_NO_SEED},
    {"tag", 't', true, OPT_TAG},
    {"untag", 0, true, OPT_UNTAG},
    {"alias", 0, true, OPT_ALIAS},
    {"unalias", 0, true, OPT_UNALIAS},
    {"slug", 0, true, OPT_SLUG},
    {"force", 'f', false, OPT_FORCE},
    {NULL, 0, false, 0},
};

/* Largest seed the services take (an unsigned 32-bit number). */
#define SEED_MAX 4294967295LL

struct character_args {
	const char *kind; /* what the command was called as */
	struct strlist positional;
	struct character_edit edit;
	bool force;
	bool any_edit;
};

static int parse_args(struct cli *cli, int argc, char **argv, struct character_args *a, bool *help)
{
	struct opts o;
	const char *arg;
	int id;
	*help = false;
	opts_init(&o, cli, argc, argv, character_specs);
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		struct character_edit *e = &a->edit;
		a->any_edit |= id > 0 && id != OPT_FORCE;
		switch (id) {
		case OPT_ERROR:
			return -1;
		case OPT_HELP:
			*help = true;
			return 0;
		case OPT_POSITIONAL:
			strlist_push(&a->positional, arg);
			break;
		case OPT_NAME:
			e->name = arg;
			break;
		case OPT_DESCRIBE:
			e->description = arg;
			break;
		case OPT_NEGATIVE:
			e->negative = arg;
			break;
		case OPT_SEED:
			if (cli_parse_int("--seed", arg, 0, SEED_MAX, &e->seed) < 0)
				return -1;
			e->set_seed = true;
			break;
		case OPT_NO_SEED:
			e->clear_seed = true;
			break;
		case OPT_TAG:
			strlist_push(&e->add_tags, arg);
			break;
		case OPT_UNTAG:
			strlist_push(&e->remove_tags, arg);
			break;
		case OPT_ALIAS:
			strlist_push(&e->add_aliases, arg);
			break;
		case OPT_UNALIAS:
			strlist_push(&e->remove_aliases, arg);
			break;
		case OPT_SLUG:
			e->slug = arg;
			break;
		case OPT_FORCE:
			a->force = true;
			break;
		}
	}
	return 0;
}

static void args_free(struct character_args *a)
{
	strlist_clear(&a->positional);
	strlist_clear(&a->edit.add_tags);
	strlist_clear(&a->edit.remove_tags);
	strlist_clear(&a->edit.add_aliases);
	strlist_clear(&a->edit.remove_aliases);
}

/* Prints one "  label        text" line of show, the text escaped for the
 * terminal: names, descriptions, tags and aliases came from anyone. */
static void print_field(const char *label, const char *text)
{
	char *shown = text_escape(text);
	printf("  %-12s %s\n", label, shown);
	free(shown);
}

static void print_character(const struct character *c)
{
	char *tags = tags_joined(&c->tags);
	char *aliases = tags_joined(&c->aliases);
	char *name = text_escape(c->name);
	char created[32];
	time_iso8601(c->created, created);
	printf("%s  %s\n", c->slug, name);
	printf("  kind         %s\n", c->kind);
	print_field("description", c->description);
	print_field("negative", c->negative);
	if (c->has_seed)
		printf("  seed         %lld\n", (long long)c->seed);
	else
		printf("  seed         (none)\n");
	print_field("tags", tags);
	print_field("aliases", aliases);
	printf("  assets       %lld\n", (long long)c->assets);
	printf("  created      %s\n", created);
	free(name);
	free(tags);
	free(aliases);
}

static int character_new(struct cli *cli, struct catalog *cat, struct character_args *a)
{
	if (a->positional.n != 2)
		return error_set(EX_USAGE,
				 "new: expected one SLUG (usage: troupe %s new SLUG "
				 "[--name NAME] [--describe TEXT] ...)",
				 a->kind);
	const struct character_edit *e = &a->edit;
	if (e->remove_tags.n || e->remove_aliases.n || e->slug || e->clear_seed)
		return error_set(EX_USAGE,
				 "new: --untag, --unalias, --slug and --no-seed are for "
				 "'%s edit'",
				 a->kind);
	struct character c = {
	    .slug = a->positional.items[1],
	    .kind = (char *)a->kind,
	    .name = (char *)e->name,
	    .description = (char *)e->description,
	    .negative = (char *)e->negative,
	    .has_seed = e->set_seed,
	    .seed = e->seed,
	    .tags = e->add_tags,
	    .aliases = e->add_aliases,
	};
	if (catalog_character_new(cat, &c) < 0)
		return -1;
	struct character *made = catalog_character_get(cat, c.slug);
	if (!made)
		return -1;
	if (cli->json)
		json_print(json_character(made));
	else if (!cli->quiet)
		printf("created %s %s (%s)\n", made->kind, made->slug, made->name);
	character_free(made);
	return 0;
}

static int character_list(struct cli *cli, struct catalog *cat, const char *kind)
{
	struct character **list;
	size_t n;
	if (catalog_character_list(cat, kind, &list, &n) < 0)
		return -1;
	if (cli->json) {
		cJSON *arr = cJSON_CreateArray();
		for (size_t i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, json_character(list[i]));
		json_print(arr);
	} else {
		static const char *const headers[] = {"SLUG", "NAME", "ASSETS", "SEED", "TAGS"};
		struct table *t = table_new(5, headers);
		for (size_t i = 0; i < n; i++) {
			char assets[32], seed[32];
			snprintf(assets, sizeof(assets), "%lld", (long long)list[i]->assets);
			snprintf(seed, sizeof(seed), "%lld", (long long)list[i]->seed);
			char *tags = tags_joined(&list[i]->tags);
			const char *row[] = {list[i]->slug, list[i]->name, assets,
					     list[i]->has_seed ? seed : "-", tags};
			table_add(t, row);
			free(tags);
		}
		if (n)
			table_print(t, stdout);
		table_free(t);
	}
	for (size_t i = 0; i < n; i++)
		character_free(list[i]);
	free(list);
	return 0;
}

static int character_show(struct cli *cli, struct catalog *cat, struct character_args *a)
{
	if (a->positional.n != 2)
		return error_set(EX_USAGE, "show: expected one SLUG");
	struct character *c = catalog_element_get(cat, a->positional.items[1], a->kind);
	if (!c)
		return -1;
	if (cli->json)
		json_print(json_character(c));
	else
		print_character(c);
	character_free(c);
	return 0;
}

static int character_edit(struct cli *cli, struct catalog *cat, struct character_args *a)
{
	if (a->positional.n != 2)
		return error_set(EX_USAGE, "edit: expected one SLUG");
	if (!a->any_edit)
		return error_set(EX_USAGE, "edit: nothing to change (see 'troupe %s --help')",
				 a->kind);
	if (a->edit.set_seed && a->edit.clear_seed)
		return error_set(EX_USAGE, "edit: --seed and --no-seed together");
	struct character *was = catalog_element_get(cat, a->positional.items[1], a->kind);
	if (!was)
		return -1;
	character_free(was);
	if (catalog_character_edit(cat, a->positional.items[1], &a->edit) < 0)
		return -1;
	struct character *c =
	    catalog_character_get(cat, a->edit.slug ? a->edit.slug : a->positional.items[1]);
	if (!c)
		return -1;
	if (cli->json)
		json_print(json_character(c));
	else if (!cli->quiet)
		print_character(c);
	character_free(c);
	return 0;
}

static int character_rm(struct cli *cli, struct catalog *cat, struct character_args *a)
{
	if (a->positional.n != 2)
		return error_set(EX_USAGE, "rm: expected one SLUG");
	int64_t removed;
	/* Say which element went, even when an alias named it. */
	struct character *c = catalog_element_get(cat, a->positional.items[1], a->kind);
	char *slug = c ? xstrdup(c->slug) : NULL;
	character_free(c);
	if (!slug || catalog_character_rm(cat, slug, a->force, &removed) < 0) {
		free(slug);
		return -1;
	}
	if (cli->json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "removed", slug);
		cJSON_AddNumberToObject(o, "assets_removed", (double)removed);
		json_print(o);
	} else if (!cli->quiet) {
		printf("removed %s %s", a->kind, slug);
		if (removed)
			printf(" and %lld asset%s", (long long)removed, removed == 1 ? "" : "s");
		printf("\n");
	}
	free(slug);
	return 0;
}

static int cmd_character(struct cli *cli, int argc, char **argv)
{
	struct character_args a = {0};
	const struct cmd_entry *entry = &cmd_character_entry;
	static const struct cmd_entry *const by_kind[] = {&cmd_location_entry, &cmd_prop_entry,
							  &cmd_style_entry};
	for (size_t k = 0; k < sizeof(by_kind) / sizeof(by_kind[0]); k++)
		if (argc > 0 && strcmp(argv[0], by_kind[k]->name) == 0)
			entry = by_kind[k];
	a.kind = entry == &cmd_character_entry ? "character" : entry->name;
	bool help;
	struct catalog *cat = NULL;
	int rc = -1;
	if (parse_args(cli, argc, argv, &a, &help) < 0)
		goto out;
	if (help || a.positional.n == 0) {
		if (!help) {
			rc = cli_usage_error(entry, "which subcommand?");
			goto out;
		}
		cli_print_help(entry);
		rc = 0;
		goto out;
	}
	const char *sub = a.positional.items[0];
	if (strcmp(sub, "new") && strcmp(sub, "list") && strcmp(sub, "ls") && strcmp(sub, "show") &&
	    strcmp(sub, "edit") && strcmp(sub, "rm")) {
		rc = error_set(EX_USAGE,
			       "'%s' is not a %s subcommand "
			       "(new, list, show, edit, rm)",
			       sub, a.kind);
		goto out;
	}
	cat = catalog_open(cli->store_dir);
	if (!cat)
		goto out;
	if (!strcmp(sub, "new"))
		rc = character_new(cli, cat, &a);
	else if (!strcmp(sub, "list") || !strcmp(sub, "ls"))
		rc = character_list(cli, cat, a.kind);
	else if (!strcmp(sub, "show"))
		rc = character_show(cli, cat, &a);
	else if (!strcmp(sub, "edit"))
		rc = character_edit(cli, cat, &a);
	else
		rc = character_rm(cli, cat, &a);
out:
	catalog_close(cat);
	args_free(&a);
	return rc;
}

/* The options every kind of element takes, after its subcommands. */
#define ELEMENT_OPTIONS                                                                            \
	"\n"                                                                                       \
	"  -n, --name NAME         display name (defaults to the slug)\n"                          \
	"  -d, --describe TEXT     description injected into prompts\n"                            \
	"      --negative TEXT     negative prompt\n"                                              \
	"      --seed N            seed, 0 to 4294967295 (edit: --no-seed clears it)\n"            \
	"  -t, --tag TAG           add a tag, ns:value or value (repeatable)\n"                    \
	"      --untag TAG         edit: remove a tag\n"                                           \
	"      --alias NAME        add an alias (repeatable); --unalias removes one\n"             \
	"      --slug NEW          edit: rename the slug\n"                                        \
	"  -f, --force             rm: also remove its assets\n"

/* A location, prop or style: the same commands as a character's. */
#define ELEMENT_ENTRY(KIND, PLURAL)                                                                \
	{                                                                                          \
		KIND, NULL, KIND " new|list|show|edit|rm [SLUG] [OPTIONS]",                        \
		    "Register, list, show, change and remove " PLURAL ".",                         \
		    "  new SLUG        register a " KIND " (slug: a-z, 0-9 and '-'; one\n"         \
		    "                  slug names one element of any kind)\n"                      \
		    "  list            every " KIND ", with its asset count\n"                     \
		    "  show SLUG       one " KIND " (by slug or alias)\n"                          \
		    "  edit SLUG       change fields, tags or aliases\n"                           \
		    "  rm SLUG         remove it; refused while it has assets unless "             \
		    "--force\n" ELEMENT_OPTIONS,                                                   \
		    cmd_character,                                                                 \
	}

const struct cmd_entry cmd_character_entry = {
    "character",
    "char",
    "character new|list|show|edit|rm [SLUG] [OPTIONS]",
    "Register, list, show, change and remove characters.",
    "  new SLUG        register a character (slug: a-z, 0-9 and '-')\n"
    "  list            every character, with its asset count\n"
    "  show SLUG       one character (by slug or alias)\n"
    "  edit SLUG       change fields, tags or aliases\n"
    "  rm SLUG         remove it; refused while it has assets unless --force\n" ELEMENT_OPTIONS,
    cmd_character,
};
const struct cmd_entry cmd_location_entry = ELEMENT_ENTRY("location", "locations");
const struct cmd_entry cmd_prop_entry = ELEMENT_ENTRY("prop", "props");
const struct cmd_entry cmd_style_entry = ELEMENT_ENTRY("style", "styles");
