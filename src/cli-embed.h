/* cli-embed: the options of the embedding commands (embed, nearest, check,
 * calibrate). One table serves the four, so that an option of a sibling
 * command is refused by name; each command says which it takes. Only
 * command files include it. */
#ifndef TROUPE_CLI_EMBED_H
#define TROUPE_CLI_EMBED_H

#include "cli.h"

enum cli_embed_option {
	CLI_EMBED_MODEL = 1, /* every command takes it */
	CLI_EMBED_PROFILE,
	CLI_EMBED_K,
	CLI_EMBED_WHERE,
	CLI_EMBED_CHARACTER,
	CLI_EMBED_THRESHOLD,
	CLI_EMBED_HASHES,
	CLI_EMBED_RETRY,
	CLI_EMBED_FACE,
	CLI_EMBED_REEMBED,
	CLI_EMBED_NO_VARIANTS,
	CLI_EMBED_CAST,
	CLI_EMBED_RATE,
	CLI_EMBED_SUSTAIN,
	CLI_EMBED_PLOT,
};
/* The bit of an option in the takes mask of cli_embed_parse. */
#define CLI_EMBED_TAKES(option) (1u << (option))

struct cli_embed {
	const char *model; /* may be preset as the command's default */
	const char *profile;
	int64_t k; /* 5 unless given */
	const char *where;
	const char *character;
	const char *cast;     /* "a,b,c" */
	double rate, sustain; /* 0 unless given */
	bool has_sustain;
	const char *plot;
	bool has_threshold;
	double threshold;
	const char *hashes;
	bool retry;
	int64_t face; /* 1-based, largest first; 0 unless given */
	bool reembed;
	bool no_variants;
	struct strlist words; /* the positional arguments */
};

/* Parses argv into a (zeroed, or with model preset). An option of the
 * family that is not in takes is a usage error naming it; no model is
 * one too. *help is set when --help was printed. Free a's words with
 * cli_embed_clear, also after a failure. */
int cli_embed_parse(struct cli *cli, const struct cmd_entry *entry, unsigned takes, int argc,
		    char **argv, struct cli_embed *a, bool *help);
void cli_embed_clear(struct cli_embed *a);

#endif
