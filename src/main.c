/* main: the command table, the global options, and the one place where an
 * error becomes a message on stderr and an exit status. */
#include "config.h"

#include "cli.h"
#include "commands.h"
#include "image.h"
#include "util.h"

#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct cmd_entry *const commands[] = {
    &cmd_init_entry,	&cmd_character_entry, &cmd_add_entry,	  &cmd_query_entry,
    &cmd_show_entry,	&cmd_tag_entry,	      &cmd_rm_entry,	  &cmd_cat_entry,
    &cmd_path_entry,	&cmd_hash_entry,      &cmd_similar_entry, &cmd_derive_entry,
    &cmd_sheet_entry,	&cmd_gallery_entry,   &cmd_inject_entry,  &cmd_generate_entry,
    &cmd_profile_entry, &cmd_log_entry,	      &cmd_embed_entry,	  &cmd_nearest_entry,
    &cmd_check_entry,	&cmd_calibrate_entry, &cmd_edit_entry,	  &cmd_fsck_entry,
    &cmd_frames_entry,	&cmd_shot_entry,      &cmd_cut_entry,	  &cmd_location_entry,
    &cmd_prop_entry,	&cmd_style_entry,     &cmd_look_entry,	  &cmd_board_entry,
    &cmd_gc_entry,	&cmd_remote_entry,    &cmd_push_entry,	  &cmd_pull_entry,
    &cmd_clone_entry,	&cmd_export_entry,    &cmd_import_entry,
};

static const size_t command_count = sizeof(commands) / sizeof(commands[0]);

const struct cmd_entry *cli_find_command(const char *name)
{
	for (size_t i = 0; i < command_count; i++)
		if (strcmp(commands[i]->name, name) == 0 ||
		    (commands[i]->alias && strcmp(commands[i]->alias, name) == 0))
			return commands[i];
	return NULL;
}

static void print_usage(FILE *out)
{
	fprintf(out, "usage: troupe [--store DIR] [--json] COMMAND [ARGS...]\n\n"
		     "troupe keeps AI-generated characters consistent: a content-addressed\n"
		     "store of character sheets and references, queried by tag.\n\n"
		     "commands:\n");
	for (size_t i = 0; i < command_count; i++)
		fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(out, "\n'troupe help COMMAND' or 'troupe COMMAND --help' shows a command's "
		     "options;\ntroupe(1) has the rest.\n");
}

/* Whether candidate is near enough to what the user typed to be named:
 * one slip in a short word, two in a longer one (never the whole word),
 * or a word of three letters or more that candidate starts with. Returns
 * its distance, or SIZE_MAX. */
static size_t nearness(const char *typed, const char *candidate)
{
	size_t len = strlen(typed), d = opts_distance(typed, candidate);
	if (len >= 3 && strncmp(typed, candidate, len) == 0 && d > 1)
		d = 1;
	return d < len && d <= (len < 4 ? 1u : 2u) ? d : SIZE_MAX;
}

/* The error for a word that names no command, with the nearest names and
 * aliases, as git suggests them; returns -1. */
static int unknown_command(const char *typed)
{
	enum { MAX_NAMES = 2 * sizeof(commands) / sizeof(commands[0]) + 1 };
	const char *names[MAX_NAMES];
	bool alias[MAX_NAMES];
	size_t distance[MAX_NAMES];
	size_t n = 0, best = SIZE_MAX, count = 0;
	alias[n] = false;
	names[n++] = "help";
	for (size_t i = 0; i < command_count; i++) {
		alias[n] = false;
		names[n++] = commands[i]->name;
		if (commands[i]->alias) {
			alias[n] = true;
			names[n++] = commands[i]->alias;
		}
	}
	for (size_t i = 0; i < n; i++) {
		distance[i] = nearness(typed, names[i]);
		if (distance[i] < best)
			best = distance[i];
	}
	/* A command is named once: by its name when that is as near as its
	 * alias, which follows it. */
	for (size_t i = 0; i < n; i++)
		if (alias[i] && distance[i - 1] == distance[i])
			distance[i] = SIZE_MAX;
	for (size_t i = 0; i < n; i++)
		count += best != SIZE_MAX && distance[i] == best;
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0, shown = 0; i < n && count; i++) {
		if (distance[i] != best)
			continue;
		if (++shown == 1)
			sb_adds(&sb, "; did you mean ");
		else
			sb_adds(&sb, shown == count ? " or " : ", ");
		sb_addf(&sb, "'%s'", names[i]);
	}
	if (count)
		sb_addc(&sb, '?');
	error_set(EX_USAGE, "'%s' is not a troupe command (see 'troupe --help')%s", typed,
		  sb_str(&sb));
	sb_release(&sb);
	return -1;
}

static int finish(int rc, const char *command)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (rc == 0)
			error_set(EX_IOERR, "writing output failed");
		rc = -1;
	}
	if (rc == 0) {
		error_release();
		return EX_OK;
	}
	/* Messages quote file names and what services answered: escaped, so
	 * that none reaches the terminal as a control sequence. */
	char *why = text_escape(error_message());
	if (command)
		fprintf(stderr, "troupe: %s: %s\n", command, why);
	else
		fprintf(stderr, "troupe: %s\n", why);
	free(why);
	int code = error_code();
	error_release();
	return code;
}

int main(int argc, char **argv)
{
	/* Keep large buffers (base64 payloads, decoded images) in the heap
	 * and reuse them, instead of mapping fresh pages the kernel must zero
	 * for every one. */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 128 << 20);
	struct cli cli = {0};
	enum { OPT_VERSION = 1 };
	static const struct opt_spec top_specs[] = {
	    {"version", 0, false, OPT_VERSION},
	    {NULL, 0, false, 0},
	};
	/* Global options come before the command; the option parser of each
	 * command also accepts them after it. */
	struct opts o;
	const char *arg;
	int id;
	opts_init(&o, &cli, argc, argv, top_specs);
	o.stop_at_positional = true;
	while ((id = opts_next(&o, &arg)) != OPT_END && id != OPT_POSITIONAL) {
		if (id == OPT_ERROR)
			return finish(-1, NULL);
		if (id == OPT_HELP) {
			print_usage(stdout);
			return EX_OK;
		}
		if (id == OPT_VERSION) {
			printf("troupe %s\n", PACKAGE_VERSION);
			return EX_OK;
		}
	}
	if (id == OPT_END) {
		print_usage(stderr);
		return EX_USAGE;
	}
	int i = o.i - 1;
	/* "troupe help COMMAND" is "troupe COMMAND --help", word for word. */
	char help_flag[] = "--help";
	char *help_argv[] = {NULL, help_flag, NULL};
	if (strcmp(argv[i], "help") == 0) {
		if (i + 1 >= argc || strcmp(argv[i + 1], "help") == 0) {
			print_usage(stdout);
			return finish(0, NULL);
		}
		if (i + 2 < argc) {
			error_set(EX_USAGE,
				  "help takes one command (usage: troupe help [COMMAND])");
			return finish(-1, NULL);
		}
		help_argv[0] = argv[i + 1];
		argv = help_argv;
		argc = 2;
		i = 0;
	}
	const struct cmd_entry *cmd = cli_find_command(argv[i]);
	if (!cmd)
		return finish(unknown_command(argv[i]), NULL);
	cli.command = cmd->name;
	int rc = cmd->exec(&cli, argc - i, argv + i);
	int status = finish(rc, cli.command);
	image_shutdown();
	return status;
}
