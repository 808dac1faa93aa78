/* cli: what every command file shares: the command table entry, the
 * option parser (opts.h), and the two output forms (aligned tables for
 * people, JSON for scripts). Only command files and main.c include it. */
#ifndef TROUPE_CLI_H
#define TROUPE_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "asset.h"
#include "character.h"
#include "opts.h"
#include "reqlog.h"

struct cmd_entry {
	const char *name;
	const char *alias;
	const char *usage;   /* the synopsis after "troupe " */
	const char *summary; /* one line for troupe --help */
	const char *help;    /* the options, for troupe COMMAND --help */
	int (*exec)(struct cli *cli, int argc, char **argv);
};

/* Prints a command's usage and options on stdout (for --help). */
void cli_print_help(const struct cmd_entry *cmd);
/* Records "usage: troupe ..." as an EX_USAGE error; returns -1. */
int cli_usage_error(const struct cmd_entry *cmd, const char *why);
const struct cmd_entry *cli_find_command(const char *name);
int cli_parse_int(const char *option, const char *text, int64_t min, int64_t max, int64_t *out);

/* A table of text cells printed with aligned columns; every cell is
 * escaped with text_escape. */
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
