/* opts: reads a command's options from its table the way getopt_long
 * would, so that what works with other tools works here. It never prints:
 * every mistake becomes an EX_USAGE error for main.c to report. */
#include "config.h"

#include "opts.h"
#include "util.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Ids of the options every command takes; below OPT_HELP so that no
 * command's id can clash, and never returned to a command. */
enum { OPT_JSON = -100, OPT_STORE = -101, OPT_QUIET = -102, OPT_APPLIED = -103 };

static const struct opt_spec common_specs[] = {
    {"help", 'h', false, OPT_HELP},   {"json", 0, false, OPT_JSON}, {"store", 0, true, OPT_STORE},
    {"quiet", 'q', false, OPT_QUIET}, {NULL, 0, false, 0},
};

void opts_init(struct opts *o, struct cli *cli, int argc, char **argv, const struct opt_spec *specs)
{
	memset(o, 0, sizeof(*o));
	o->cli = cli;
	o->argc = argc;
	o->argv = argv;
	o->i = 1;
	o->specs = specs;
}

static const struct opt_spec *find_short_in(const struct opt_spec *specs, char c)
{
	for (const struct opt_spec *s = specs; s && s->name; s++)
		if (s->short_name && s->short_name == c)
			return s;
	return NULL;
}

static const struct opt_spec *find_short(const struct opts *o, char c)
{
	const struct opt_spec *s = find_short_in(o->specs, c);
	return s ? s : find_short_in(common_specs, c);
}

static const struct opt_spec *find_exact_in(const struct opt_spec *specs, const char *name,
					    size_t len)
{
	for (const struct opt_spec *s = specs; s && s->name; s++)
		if (strlen(s->name) == len && strncmp(s->name, name, len) == 0)
			return s;
	return NULL;
}

/* "(see 'troupe query --help')", or the top level's when no command runs. */
static char *see_help(const struct opts *o)
{
	if (o->cli && o->cli->command)
		return xasprintf("see 'troupe %s --help'", o->cli->command);
	return xstrdup("see 'troupe --help'");
}

static int unknown_option(const struct opts *o, const char *option, const char *word)
{
	char *see = see_help(o);
	if (strcmp(option, word) == 0)
		error_set(EX_USAGE, "unknown option '%s' (%s)", option, see);
	else if (o->dash_words)
		error_set(EX_USAGE,
			  "unknown option '%s' in '%s' (%s; a word that starts with '-' is taken "
			  "as is after '--')",
			  option, word, see);
	else
		error_set(EX_USAGE, "unknown option '%s' in '%s' (%s)", option, word, see);
	free(see);
	return OPT_ERROR;
}

/* An exact name wins; otherwise a prefix names the one option it starts,
 * as getopt_long allows. Two spellings of one option ("--describe",
 * "--description") are not an ambiguity. */
static const struct opt_spec *find_long(const struct opts *o, const char *name, size_t len,
					const char *word)
{
	const struct opt_spec *s = find_exact_in(o->specs, name, len);
	if (!s)
		s = find_exact_in(common_specs, name, len);
	if (s || len == 0) {
		if (!s)
			unknown_option(o, word, word);
		return s;
	}
	const struct opt_spec *tables[] = {o->specs, common_specs};
	const struct opt_spec *found = NULL;
	bool ambiguous = false;
	struct strbuf names = STRBUF_INIT;
	for (size_t t = 0; t < 2; t++)
		for (s = tables[t]; s && s->name; s++) {
			if (strncmp(s->name, name, len) != 0)
				continue;
			sb_addf(&names, "%s--%s", names.len ? ", " : "", s->name);
			if (found && (found->id != s->id || found->has_arg != s->has_arg))
				ambiguous = true;
			if (!found)
				found = s;
		}
	if (!found) {
		unknown_option(o, word, word);
	} else if (ambiguous) {
		char *see = see_help(o);
		error_set(EX_USAGE, "option '--%.*s' is ambiguous: it could be %s (%s)", (int)len,
			  name, sb_str(&names), see);
		free(see);
		found = NULL;
	}
	sb_release(&names);
	return found;
}

/* Gives an option its value and applies the ones every command takes;
 * returns the id for the command, OPT_APPLIED or OPT_ERROR. */
static int take(struct opts *o, const struct opt_spec *s, const char *shown, const char *value,
		const char **arg)
{
	if (s->has_arg) {
		if (value) {
			*arg = value;
		} else if (o->i < o->argc) {
			*arg = o->argv[o->i++];
		} else {
			error_set(EX_USAGE, "option '%s' needs a value", shown);
			return OPT_ERROR;
		}
	} else if (value) {
		error_set(EX_USAGE, "option '%s' takes no value", shown);
		return OPT_ERROR;
	}
	switch (s->id) {
	case OPT_JSON:
		o->cli->json = true;
		return OPT_APPLIED;
	case OPT_STORE:
		o->cli->store_dir = *arg;
		return OPT_APPLIED;
	case OPT_QUIET:
		o->cli->quiet = true;
		return OPT_APPLIED;
	}
	return s->id;
}

static int next_long(struct opts *o, const char *word, const char **arg)
{
	const char *name = word + 2;
	const char *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const struct opt_spec *s = find_long(o, name, len, word);
	if (!s)
		return OPT_ERROR;
	char *shown = xasprintf("--%s", s->name);
	int id = take(o, s, shown, eq ? eq + 1 : NULL, arg);
	free(shown);
	return id;
}

/* One letter of a group such as "-pn5": a letter that takes a value takes
 * the rest of the group, or else the next word. */
static int next_short(struct opts *o, const char **arg)
{
	char letter = *o->group++;
	const char *rest = *o->group ? o->group : NULL;
	const char *word = o->group_word;
	o->group = NULL;
	char shown[3] = {'-', letter, '\0'};
	const struct opt_spec *s = find_short(o, letter);
	if (!s)
		return unknown_option(o, shown, word);
	if (!s->has_arg) {
		o->group = rest;
		rest = NULL;
	}
	return take(o, s, shown, rest, arg);
}

/* The dash_words rule: "-h", "-q", or a word whose first letter is one of
 * the command's own short options. */
static bool is_option_word(const struct opts *o, const char *word)
{
	if (word[2] == '\0' && find_short_in(common_specs, word[1]))
		return true;
	return find_short_in(o->specs, word[1]) != NULL;
}

int opts_next(struct opts *o, const char **arg)
{
	for (;;) {
		int id;
		*arg = NULL;
		if (o->group) {
			id = next_short(o, arg);
		} else {
			if (o->i >= o->argc)
				return OPT_END;
			char *word = o->argv[o->i++];
			if (o->only_positional || word[0] != '-' || word[1] == '\0' ||
			    (o->dash_words && word[1] != '-' && !is_option_word(o, word))) {
				o->only_positional |= o->stop_at_positional;
				*arg = word;
				return OPT_POSITIONAL;
			}
			if (strcmp(word, "--") == 0) {
				o->only_positional = true;
				continue;
			}
			if (word[1] == '-') {
				id = next_long(o, word, arg);
			} else {
				o->group = word + 1;
				o->group_word = word;
				continue;
			}
		}
		if (id != OPT_APPLIED)
			return id;
	}
}

size_t opts_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), w = lb + 1;
	size_t *d = xcalloc((la + 1) * w, sizeof(*d));
	for (size_t i = 0; i <= la; i++)
		d[i * w] = i;
	for (size_t j = 0; j <= lb; j++)
		d[j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t best = d[(i - 1) * w + j - 1] + cost;
			if (d[(i - 1) * w + j] + 1 < best)
				best = d[(i - 1) * w + j] + 1;
			if (d[i * w + j - 1] + 1 < best)
				best = d[i * w + j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[(i - 2) * w + j - 2] + 1 < best)
				best = d[(i - 2) * w + j - 2] + 1;
			d[i * w + j] = best;
		}
	size_t distance = d[la * w + lb];
	free(d);
	return distance;
}
