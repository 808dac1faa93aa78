/* cli-embed: option parsing for the embedding commands. Command-line work
 * only: it never opens the store or loads a profile. */
#include "config.h"

#include "cli-embed.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct opt_spec embed_specs[] = {
    {"model", 'm', true, CLI_EMBED_MODEL},
    {"profile", 'p', true, CLI_EMBED_PROFILE},
    {"k", 'k', true, CLI_EMBED_K},
    {"where", 'w', true, CLI_EMBED_WHERE},
    {"character", 'c', true, CLI_EMBED_CHARACTER},
    {"threshold", 't', true, CLI_EMBED_THRESHOLD},
    {"hashes", 0, true, CLI_EMBED_HASHES},
    {"retry", 0, false, CLI_EMBED_RETRY},
    {"face", 0, true, CLI_EMBED_FACE},
    {"reembed", 0, false, CLI_EMBED_REEMBED},
    {"no-variants", 0, false, CLI_EMBED_NO_VARIANTS},
    {"cast", 0, true, CLI_EMBED_CAST},
    {"rate", 0, true, CLI_EMBED_RATE},
    {"sustain", 0, true, CLI_EMBED_SUSTAIN},
    {"plot", 0, true, CLI_EMBED_PLOT},
    {NULL, 0, false, 0},
};

static int not_taken(const struct cmd_entry *entry, int id)
{
	const char *name = "?";
	for (const struct opt_spec *sp = embed_specs; sp->name; sp++)
		if (sp->id == id)
			name = sp->name;
	char *why = xasprintf("%s%s is not an option of this command",
			      strlen(name) == 1 ? "-" : "--", name);
	cli_usage_error(entry, why);
	free(why);
	return -1;
}

int cli_embed_parse(struct cli *cli, const struct cmd_entry *entry, unsigned takes, int argc,
		    char **argv, struct cli_embed *a, bool *help)
{
	struct opts o;
	const char *arg;
	int id;
	*help = false;
	a->k = 5;
	takes |= CLI_EMBED_TAKES(CLI_EMBED_MODEL);
	opts_init(&o, cli, argc, argv, embed_specs);
	o.dash_words = true;
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		if (id > 0 && id < 32 && !(takes & CLI_EMBED_TAKES(id)))
			return not_taken(entry, id);
		switch (id) {
		case OPT_ERROR:
			return -1;
		case OPT_HELP:
			cli_print_help(entry);
			*help = true;
			return 0;
		case CLI_EMBED_MODEL:
			a->model = arg;
			break;
		case CLI_EMBED_PROFILE:
			a->profile = arg;
			break;
		case CLI_EMBED_K:
			if (cli_parse_int("-k", arg, 1, 100000, &a->k) < 0)
				return -1;
			break;
		case CLI_EMBED_WHERE:
			a->where = arg;
			break;
		case CLI_EMBED_CHARACTER:
			a->character = arg;
			break;
		case CLI_EMBED_THRESHOLD: {
			char *end;
			errno = 0;
			a->threshold = strtod(arg, &end);
			if (*end || errno || !(a->threshold >= -1 && a->threshold <= 1))
				return error_set(EX_USAGE,
						 "--threshold %s: a cosine similarity from -1 to 1",
						 arg);
			a->has_threshold = true;
			break;
		}
		case CLI_EMBED_HASHES:
			a->hashes = arg;
			break;
		case CLI_EMBED_RETRY:
			a->retry = true;
			break;
		case CLI_EMBED_FACE:
			if (cli_parse_int("--face", arg, 1, 64, &a->face) < 0)
				return -1;
			break;
		case CLI_EMBED_REEMBED:
			a->reembed = true;
			break;
		case CLI_EMBED_CAST:
			a->cast = arg;
			break;
		case CLI_EMBED_RATE:
		case CLI_EMBED_SUSTAIN: {
			/* A number, for --sustain also with an "s" after it. */
			char *end;
			errno = 0;
			double v = strtod(arg, &end);
			if (id == CLI_EMBED_SUSTAIN && *end == 's')
				end++;
			bool rate = id == CLI_EMBED_RATE;
			if (*end || errno || end == arg ||
			    !(rate ? v > 0 && v <= 120 : v >= 0 && v <= 3600))
				return error_set(EX_USAGE, "%s %s: %s",
						 rate ? "--rate" : "--sustain", arg,
						 rate ? "frames a second, above 0 and at most 120"
						      : "seconds, from 0 to 3600");
			*(rate ? &a->rate : &a->sustain) = v;
			a->has_sustain |= !rate;
			break;
		}
		case CLI_EMBED_PLOT:
			a->plot = arg;
			break;
		case CLI_EMBED_NO_VARIANTS:
			a->no_variants = true;
			break;
		case OPT_POSITIONAL:
			strlist_push(&a->words, arg);
			break;
		}
	}
	if (!a->model)
		return cli_usage_error(entry, "which model? (--model NAME)");
	return 0;
}

void cli_embed_clear(struct cli_embed *a)
{
	strlist_clear(&a->words);
}
