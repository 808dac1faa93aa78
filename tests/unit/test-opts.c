/* Unit tests for opts: every form getopt_long accepts, the dash_words
 * rule, the errors, and the distance that suggests a command. */
#include "config.h"

#include "opts.h"
#include "tap.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_PATHS = 1, OPT_LIMIT, OPT_SORT, OPT_DESCRIBE, OPT_VERBOSE };

static const struct opt_spec specs[] = {
    {"paths", 'p', false, OPT_PATHS},
    {"limit", 'n', true, OPT_LIMIT},
    {"sort", 's', true, OPT_SORT},
    {"describe", 'd', true, OPT_DESCRIBE},
    {"description", 0, true, OPT_DESCRIBE},
    {"verbose", 'v', false, OPT_VERBOSE},
    {NULL, 0, false, 0},
};

enum mode { PLAIN, DASH_WORDS, STOP_AT_POSITIONAL };

/* Reads the words of line (split at spaces) as the options of a command
 * "cmd", and writes down what came out: "limit=1 paths 'word' quiet". */
static char *parse(enum mode mode, const char *line)
{
	char *copy = xstrdup(line);
	char *argv[32] = {"cmd"};
	int argc = 1;
	for (char *w = strtok(copy, " "); w && argc < 31; w = strtok(NULL, " "))
		argv[argc++] = w;
	struct cli cli = {.command = "cmd"};
	struct opts o;
	const char *arg;
	struct strbuf sb = STRBUF_INIT;
	int id;
	opts_init(&o, &cli, argc, argv, specs);
	o.dash_words = mode == DASH_WORDS;
	o.stop_at_positional = mode == STOP_AT_POSITIONAL;
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		if (sb.len)
			sb_addc(&sb, ' ');
		if (id == OPT_ERROR) {
			sb_addf(&sb, "error: %s", error_message());
			break;
		} else if (id == OPT_HELP) {
			sb_adds(&sb, "help");
		} else if (id == OPT_POSITIONAL) {
			sb_addf(&sb, "'%s'", arg);
		} else {
			for (const struct opt_spec *s = specs; s->name; s++)
				if (s->id == id) {
					sb_adds(&sb, s->name);
					break;
				}
			if (arg)
				sb_addf(&sb, "=%s", arg);
		}
	}
	if (cli.json)
		sb_adds(&sb, " json");
	if (cli.quiet)
		sb_adds(&sb, " quiet");
	if (cli.store_dir)
		sb_addf(&sb, " store=%s", cli.store_dir);
	free(copy);
	return sb_detach(&sb);
}

static void check(enum mode mode, const char *line, const char *want)
{
	char *got = parse(mode, line);
	is_str(got, want, "%s%s", mode == DASH_WORDS ? "(dash words) " : "", line);
	free(got);
}

int main(void)
{
	check(PLAIN, "-n1", "limit=1");
	check(PLAIN, "-n 1", "limit=1");
	check(PLAIN, "--limit=1", "limit=1");
	check(PLAIN, "--limit 1", "limit=1");
	check(PLAIN, "--limit=", "limit=");
	check(PLAIN, "-pn5", "paths limit=5");
	check(PLAIN, "-qp", "paths quiet");
	check(PLAIN, "-pq a -v", "paths 'a' verbose quiet");
	check(PLAIN, "a -n 2 b", "'a' limit=2 'b'");
	check(PLAIN, "-n -p", "limit=-p");
	check(PLAIN, "-n --", "limit=--");
	check(PLAIN, "-- -n1 --paths", "'-n1' '--paths'");
	check(PLAIN, "- -p", "'-' paths");
	check(PLAIN, "--lim 3", "limit=3");
	check(PLAIN, "--p", "paths");
	check(PLAIN, "--j", " json");
	check(PLAIN, "--st dir", " store=dir");
	check(PLAIN, "--store=dir x", "'x' store=dir");
	check(PLAIN, "--desc x", "describe=x");
	check(PLAIN, "--description=x", "describe=x");
	check(PLAIN, "-h", "help");
	check(PLAIN, "--he", "help");

	check(PLAIN, "--s x",
	      "error: option '--s' is ambiguous: it could be --sort, --store "
	      "(see 'troupe cmd --help')");
	check(PLAIN, "--paths=1", "error: option '--paths' takes no value");
	check(PLAIN, "--pa=1", "error: option '--paths' takes no value");
	check(PLAIN, "-n", "error: option '-n' needs a value");
	check(PLAIN, "-pn", "paths error: option '-n' needs a value");
	check(PLAIN, "--limit", "error: option '--limit' needs a value");
	check(PLAIN, "--li", "error: option '--limit' needs a value");
	check(PLAIN, "--store", "error: option '--store' needs a value");
	check(PLAIN, "--frob", "error: unknown option '--frob' (see 'troupe cmd --help')");
	check(PLAIN, "--pathsx", "error: unknown option '--pathsx' (see 'troupe cmd --help')");
	check(PLAIN, "--=x", "error: unknown option '--=x' (see 'troupe cmd --help')");
	check(PLAIN, "-x", "error: unknown option '-x' (see 'troupe cmd --help')");
	check(PLAIN, "-pz", "paths error: unknown option '-z' in '-pz' (see 'troupe cmd --help')");
	check(PLAIN, "-dx", "describe=x");
	check(PLAIN, "-vx",
	      "verbose error: unknown option '-x' in '-vx' (see 'troupe cmd --help')");

	/* Query terms and tag edits: options only by a letter of the
	 * command's own, or -h and -q alone. */
	check(DASH_WORDS, "-n1", "limit=1");
	check(DASH_WORDS, "-pn2 a", "paths limit=2 'a'");
	check(DASH_WORDS, "-role:face -n 1", "'-role:face' limit=1");
	check(DASH_WORDS, "-hero -quality", "'-hero' '-quality'");
	check(DASH_WORDS, "-q -h", "help quiet");
	check(DASH_WORDS, "-x", "'-x'");
	check(DASH_WORDS, "-- -n1", "'-n1'");
	check(DASH_WORDS, "--limit=1 -a", "limit=1 '-a'");
	check(DASH_WORDS, "--frob", "error: unknown option '--frob' (see 'troupe cmd --help')");
	check(DASH_WORDS, "-portrait",
	      "paths error: unknown option '-o' in '-portrait' (see 'troupe cmd --help'; a word "
	      "that starts with '-' is taken as is after '--')");

	/* The words before the command: the first word that is not an
	 * option ends them. */
	check(STOP_AT_POSITIONAL, "--json query -n1", "'query' '-n1' json");
	check(STOP_AT_POSITIONAL, "-q -- -n1 x", "'-n1' 'x' quiet");

	ok(opts_distance("query", "query") == 0, "same word: distance 0");
	ok(opts_distance("qeury", "query") == 1, "swapped neighbours: distance 1");
	ok(opts_distance("quer", "query") == 1, "a letter missing: distance 1");
	ok(opts_distance("kitten", "sitting") == 3, "kitten, sitting: distance 3");
	ok(opts_distance("", "log") == 3, "empty word: the other's length");
	ok(opts_distance("ca", "abc") == 3, "a swap is not edited again");
	return tap_done();
}
