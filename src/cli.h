/* cli: what every command file shares: the command table entry, option
 * parsing, and the two output forms (aligned tables for people, JSON for
 * scripts). Only command files and main.c include it. */
#ifndef TROUPE_CLI_H
#define TROUPE_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "catalog.h"

struct cli {
	const char *store_dir; /* --store, or NULL */
	bool json;	       /* --json */
	bool quiet;	       /* -q */
	const char *command;   /* name of the running command, for messages */
};

struct cmd_entry {
	const char *name;
	const char *alias;
	const char *usage;   /* the synopsis after "troupe " */
	const char *summary; /* one line for troupe --help */
	const char *help;    /* the options, for troupe COMMAND --help */
	int (*exec)(struct cli *cli, int argc, char **argv);
};

/* Option ids at or below zero are the parser's; commands number theirs
 * from 1. */
enum { OPT_END = 0, OPT_POSITIONAL = -1, OPT_ERROR = -2, OPT_HELP = -3 };

struct opt_spec {
	const char *name; /* long name without "--" */
	char short_name;  /* 0 for none */
	bool has_arg;
	int id;
};

/* Walks argv after the command name. "--store", "--json" and "-q" are
 * understood everywhere and set cli; "--" ends options. A word starting
 * with '-' that is not a known option is an error, except that when
 * dash_words is true it is returned as a positional argument (for
 * "-tag" and "-term"). */
struct opts {
	struct cli *cli;
	int argc;
	char **argv;
	int i;
	const struct opt_spec *specs;
	bool dash_words;
	bool only_positional;
};
void opts_init(struct opts *o, struct cli *cli, int argc, char **argv,
	       const struct opt_spec *specs);
int opts_next(struct opts *o, const char **arg);

/* Prints a command's usage and options on stdout (for --help). */
void cli_print_help(const struct cmd_entry *cmd);
/* Records "usage: troupe ..." as an EX_USAGE error; returns -1. */
int cli_usage_error(const struct cmd_entry *cmd, const char *why);
const struct cmd_entry *cli_find_command(const char *name);
int cli_parse_int(const char *option, const char *text, int64_t min, int64_t max, int64_t *out);

/* A table of text cells printed with aligned columns. */
struct table;
struct table *table_new(int columns, const char *const *headers);
void table_add(struct table *t, const char *const *cells);
void table_print(struct table *t, FILE *out);
void table_free(struct table *t);
/* The end of a listing: when rc is 0, prints json, or table when any row
 * was added; then frees both (either may be NULL). */
void cli_print_rows(int rc, cJSON *json, struct table *table, bool any);

/* JSON: prints and deletes item (formatted, newline-terminated). */
void json_print(cJSON *item);
cJSON *json_asset(const struct asset *a);
cJSON *json_character(const struct character *c);
cJSON *json_strlist(const struct strlist *l);
/* A request from the log, with its request and response text parsed back
 * into JSON when they are JSON. */
cJSON *json_log_entry(const struct log_entry *e);

/* Builds the "ns:value, ..." form of a tag list; the caller frees it. */
char *tags_joined(const struct strlist *l);

#endif
