/* opts: the command line's options, read as getopt_long reads them, from
 * a table each command declares. It records errors with error_set() and
 * never prints or exits; the command decides what an option means. */
#ifndef TROUPE_OPTS_H
#define TROUPE_OPTS_H

#include <stdbool.h>
#include <stddef.h>

/* What the options every command takes (--store, --json, -q) said. */
struct cli {
	const char *store_dir; /* --store, or NULL */
	bool json;	       /* --json */
	bool quiet;	       /* -q */
	const char *command;   /* name of the running command, for messages */
};

/* Option ids at or below zero are the parser's; commands number theirs
 * from 1. */
enum { OPT_END = 0, OPT_POSITIONAL = -1, OPT_ERROR = -2, OPT_HELP = -3 };

/* One row of a command's option table, which ends with a row whose name
 * is NULL. */
struct opt_spec {
	const char *name; /* long name without "--" */
	char short_name;  /* 0 for none */
	bool has_arg;
	int id;
};

/* Walks argv after the command name (argv[0]), as getopt_long does:
 * "-xVALUE", "-x VALUE", "--opt=value", "--opt value", grouped flags
 * ("-qp", "-pn5"), an unambiguous prefix of a long name, and "--" ending
 * the options. Options and positional words may be mixed. "--store",
 * "--json", "-q" and "--help" are understood everywhere and set cli.
 *
 * dash_words is for commands whose positional words may start with '-'
 * ("-tag" terms of a query, "-tag" edits): then such a word is an option
 * only when it is "-h" or "-q", or when the letter after the '-' is one of
 * the command's own short options; any other is returned as a positional
 * word. Words after "--" are always positional.
 *
 * stop_at_positional makes the first positional word end the options, as
 * getopt does with a leading '+' (for the words before the command). */
struct opts {
	struct cli *cli;
	int argc;
	char **argv;
	int i; /* the index in argv of the next word to read */
	const struct opt_spec *specs;
	bool dash_words;
	bool stop_at_positional;
	bool only_positional;
	const char *group; /* the rest of a group of short options, or NULL */
	const char *group_word;
};

/* Starts reading argv; specs may be NULL for a command without options of
 * its own. Borrows everything it is given. */
void opts_init(struct opts *o, struct cli *cli, int argc, char **argv,
	       const struct opt_spec *specs);
/* Returns the id of the next option (its value, if it takes one, in
 * *arg), OPT_POSITIONAL with the word in *arg, OPT_HELP, OPT_END after the
 * last word, or OPT_ERROR with an EX_USAGE error recorded. *arg points
 * into argv. */
int opts_next(struct opts *o, const char **arg);

/* The Damerau-Levenshtein distance between a and b (insertions,
 * deletions, substitutions and swaps of neighbours each count 1), for
 * suggesting the word the user meant. */
size_t opts_distance(const char *a, const char *b);

#endif
