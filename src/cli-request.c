/* cli-request: the shared request options of inject and generate, and
 * the reading of a request. Command-line work only: nothing here injects,
 * sends or touches the store. */
#include "config.h"

#include "cli-request.h"
#include "role.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
	OPT_PROFILE = 1,
	OPT_FILE,
	OPT_REF,
	OPT_ASPECT,
	OPT_OUTPUT,
	OPT_TIMEOUT,
	OPT_VERBOSE,
	OPT_KEEP_SEED,
	OPT_DRY_RUN,
	OPT_NO_LOG,
	OPT_FIRST_FRAME,
	OPT_LAST_FRAME,
	OPT_NO_DROP,
};

static const struct opt_spec inject_specs[] = {
    {"profile", 'p', true, OPT_PROFILE},       {"file", 'f', true, OPT_FILE},
    {"workflow", 0, true, OPT_FILE},	       {"ref", 0, true, OPT_REF},
    {"aspect", 0, true, OPT_ASPECT},	       {"output", 'o', true, OPT_OUTPUT},
    {"timeout", 0, true, OPT_TIMEOUT},	       {"verbose", 'v', false, OPT_VERBOSE},
    {"keep-seed", 0, false, OPT_KEEP_SEED},    {"dry-run", 0, false, OPT_DRY_RUN},
    {"preview", 0, false, OPT_DRY_RUN},	       {"no-log", 0, false, OPT_NO_LOG},
    {"first-frame", 0, true, OPT_FIRST_FRAME}, {"last-frame", 0, true, OPT_LAST_FRAME},
    {"no-drop", 0, false, OPT_NO_DROP},	       {NULL, 0, false, 0},
};

static int read_stream(int fd, const char *what, struct strbuf *out)
{
	if (fd_read_all(fd, out) < 0)
		return error_set(EX_IOERR, "%s: %s", what, strerror(errno));
	return 0;
}

/* Each element the limits cut, on stderr and, for --json, in left_out. */
static void warn_left_out(const char *profile, const char *slug, const struct refchoice_left *l,
			  void *ctx)
{
	struct cli_request *a = ctx;
	char *line = refchoice_left_text(profile, slug, l);
	warn_user("%s", line);
	free(line);
	if (!a->left_out)
		a->left_out = cJSON_CreateArray();
	cJSON *j = cJSON_CreateObject(), *refs;
	if (slug)
		cJSON_AddStringToObject(j, "element", slug);
	else
		cJSON_AddNullToObject(j, "element");
	cJSON_AddNumberToObject(j, "sent", (double)l->sent);
	cJSON_AddStringToObject(j, "why", l->why == REFCHOICE_KIND ? "kind" : "max");
	if (l->why == REFCHOICE_KIND)
		cJSON_AddStringToObject(j, "kind", element_kinds[l->kind]);
	cJSON_AddNumberToObject(j, "limit", l->limit);
	refs = cJSON_AddArrayToObject(j, "references");
	for (size_t i = 0; i < l->n; i++) {
		cJSON *r = cJSON_CreateObject();
		cJSON_AddNumberToObject(r, "asset", (double)l->asset_ids[i]);
		cJSON_AddStringToObject(r, "role", l->roles[i]);
		cJSON_AddItemToArray(refs, r);
	}
	cJSON_AddItemToArray(a->left_out, j);
}

static void warn_text_only(const char *profile, const char *slug, const char *kind, void *ctx)
{
	(void)ctx;
	warn_user("profile %s carries a %s as text only: @%s is described, no image of it is sent",
		  profile, kind, slug);
}

int cli_request_parse(struct cli *cli, const struct cmd_entry *entry, int argc, char **argv,
		      struct cli_request *a, bool *help)
{
	struct opts o;
	const char *arg;
	int id;
	*help = false;
	a->inject.left_out = warn_left_out;
	a->inject.text_only = warn_text_only;
	a->inject.unplaced_ctx = a;
	opts_init(&o, cli, argc, argv, inject_specs);
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		switch (id) {
		case OPT_ERROR:
			return -1;
		case OPT_HELP:
			cli_print_help(entry);
			*help = true;
			return 0;
		case OPT_PROFILE:
			a->profile = arg;
			break;
		case OPT_FILE:
			a->file = arg;
			break;
		case OPT_REF:
			a->inject.ref_query = arg;
			break;
		case OPT_ASPECT:
			a->inject.aspect = arg;
			break;
		case OPT_FIRST_FRAME:
			a->inject.first_frame = arg;
			break;
		case OPT_LAST_FRAME:
			a->inject.last_frame = arg;
			break;
		case OPT_OUTPUT:
			a->output = arg;
			break;
		case OPT_TIMEOUT:
			if (cli_parse_int("--timeout", arg, 1, 86400, &a->timeout) < 0)
				return -1;
			break;
		case OPT_VERBOSE:
			a->verbose = true;
			break;
		case OPT_KEEP_SEED:
			a->inject.keep_seed = true;
			break;
		case OPT_NO_DROP:
			a->inject.no_drop = true;
			break;
		case OPT_DRY_RUN:
		case OPT_NO_LOG:
			/* generate sends and logs by its nature. */
			if (strcmp(entry->name, "inject") != 0)
				return cli_usage_error(entry,
						       "--dry-run and --no-log are inject's");
			if (id == OPT_DRY_RUN)
				a->inject.dry_run = true;
			else
				a->no_log = true;
			break;
		case OPT_POSITIONAL:
			if (a->prompt.len)
				sb_addc(&a->prompt, ' ');
			sb_adds(&a->prompt, arg);
			break;
		}
	}
	if (!a->profile)
		return cli_usage_error(
		    entry, "which service? (--profile NAME; see 'troupe profile list')");
	if (a->prompt.len && a->file)
		return cli_usage_error(entry, "give a prompt or --file, not both");
	return 0;
}

/* The input: the prompt words, or a file, or standard input. JSON when it
 * starts with '{'. */
int cli_request_input(const struct cli_request *a, struct strbuf *input, bool *is_json)
{
	if (a->prompt.len) {
		sb_add(input, a->prompt.buf, a->prompt.len);
	} else if (a->file) {
		int fd = strcmp(a->file, "-") ? open(a->file, O_RDONLY | O_CLOEXEC) : dup(0);
		if (fd < 0)
			return error_set(errno == ENOENT ? EX_NOINPUT : EX_IOERR, "%s: %s", a->file,
					 strerror(errno));
		int rc = read_stream(fd, a->file, input);
		close(fd);
		if (rc < 0)
			return -1;
	} else {
		if (isatty(STDIN_FILENO))
			return error_set(EX_USAGE,
					 "no prompt: give one, or --file, or a request on "
					 "standard input");
		if (read_stream(STDIN_FILENO, "standard input", input) < 0)
			return -1;
	}
	if (memchr(sb_str(input), '\0', input->len))
		return error_set(EX_DATAERR, "the request holds a NUL byte");
	const char *s = sb_str(input);
	while (isspace((unsigned char)*s))
		s++;
	*is_json = *s == '{' || *s == '[';
	if (!*s)
		return error_set(EX_DATAERR, "the request is empty");
	if (*is_json) {
		cJSON *doc = cJSON_Parse(s);
		bool ok = doc != NULL;
		cJSON_Delete(doc);
		if (!ok)
			return error_set(EX_DATAERR, "the request is not valid JSON");
	}
	return 0;
}

void cli_request_clear(struct cli_request *a)
{
	sb_release(&a->prompt);
	cJSON_Delete(a->left_out);
	a->left_out = NULL;
}
