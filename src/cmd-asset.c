/* troupe show|tag|rm|cat|path: one asset or a few, named by id or by hash
 * prefix. */
#include "config.h"

#include "asset.h"
#include "catalog.h"
#include "commands.h"
#include "derivative.h"
#include "reqlog.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Parses the common shape "COMMAND ASSET..." and resolves every asset
 * before anything is done, so a bad reference changes nothing. Words that
 * start with '+' or '-' go to edits when edits is not NULL. */
static int resolve_args(struct cli *cli, const struct cmd_entry *entry, int argc, char **argv,
			int64_t **ids, size_t *n, struct strlist *edits, struct catalog **cat,
			bool *help)
{
	struct opts o;
	const char *arg;
	struct strlist refs = {0};
	int id, rc = -1;
	*ids = NULL;
	*n = 0;
	*cat = NULL;
	*help = false;
	opts_init(&o, cli, argc, argv, NULL);
	o.dash_words = edits != NULL;
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		if (id == OPT_ERROR)
			goto out;
		if (id == OPT_HELP) {
			cli_print_help(entry);
			*help = true;
			rc = 0;
			goto out;
		}
		if (edits && (arg[0] == '+' || arg[0] == '-'))
			strlist_push(edits, arg);
		else
			strlist_push(&refs, arg);
	}
	if (refs.n == 0) {
		cli_usage_error(entry, "no asset given");
		goto out;
	}
	*cat = catalog_open(cli->store_dir);
	if (!*cat)
		goto out;
	*ids = xcalloc(refs.n, sizeof(int64_t));
	for (size_t i = 0; i < refs.n; i++)
		if (catalog_asset_resolve(*cat, refs.items[i], &(*ids)[(*n)++]) < 0)
			goto out;
	rc = 0;
out:
	strlist_clear(&refs);
	return rc;
}

/* Prints one "  label      text" line of show, the text escaped for the
 * terminal (a source is a file name; a prompt came from anyone). */
static void print_field(const char *label, const char *text)
{
	char *shown = text_escape(text);
	printf("  %-10s %s\n", label, shown);
	free(shown);
}

static void print_asset(const struct asset *a, const struct log_entry *made)
{
	char added[32], size[32];
	time_iso8601(a->added, added);
	format_bytes((uint64_t)a->bytes, size);
	char *tags = tags_joined(&a->tags);
	printf("asset %lld\n", (long long)a->id);
	print_field("hash", a->hash);
	print_field("character", a->character ? a->character : "(none)");
	print_field("role", a->role);
	print_field("tags", tags);
	if (a->codec) {
		char *codec = text_escape(a->codec);
		printf("  video      %dx%d %s, %s\n", a->width, a->height, a->format, size);
		printf("  duration   %.3f s at %.3g fps, %s\n", a->duration, a->fps, codec);
		free(codec);
	} else {
		printf("  image      %dx%d %s, %s\n", a->width, a->height, a->format, size);
	}
	if (a->frame_of)
		printf("  frame of   asset %lld at %.3f s\n", (long long)a->frame_of, a->frame_t);
	print_field("source", a->source ? a->source : "(unknown)");
	print_field("added", added);
	print_field("path", a->path);
	if (made) {
		char *profile = text_escape(made->profile), *status = text_escape(made->status);
		printf("  made by    request %lld (%s, %s)\n", (long long)made->id, profile,
		       status);
		free(profile);
		free(status);
		if (made->prompt)
			print_field("prompt", made->prompt);
		for (size_t i = 0; i < made->nrefs; i++) {
			const struct log_ref *r = &made->refs[i];
			char id[24] = "-";
			if (r->asset_id)
				snprintf(id, sizeof(id), "%lld", (long long)r->asset_id);
			char *tag = text_escape(r->tag ? r->tag : "");
			printf("  %s #%s %s %s\n", i ? "          " : "reference", id,
			       r->source_hash, tag);
			free(tag);
		}
	}
	free(tags);
}

static int cmd_show(struct cli *cli, int argc, char **argv)
{
	int64_t *ids;
	size_t n;
	struct catalog *cat;
	bool help;
	int rc = resolve_args(cli, &cmd_show_entry, argc, argv, &ids, &n, NULL, &cat, &help);
	/* ASSET... is a listing: an array, whatever the count (troupe(1)). */
	cJSON *arr = cli->json ? cJSON_CreateArray() : NULL;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct asset *a = catalog_asset_get(cat, ids[i]);
		struct log_entry *made = NULL;
		if (!a || catalog_asset_request(cat, ids[i], &made) < 0) {
			asset_free(a);
			rc = -1;
			break;
		}
		/* An output walks back to the request and references that made it. */
		cJSON *j = cli->json ? json_asset(a) : NULL;
		if (j && made)
			cJSON_AddItemToObject(j, "request", json_log_entry(made));
		if (arr)
			cJSON_AddItemToArray(arr, j);
		else
			print_asset(a, made);
		log_entry_free(made);
		asset_free(a);
	}
	if (arr && rc == 0)
		json_print(arr);
	else
		cJSON_Delete(arr);
	free(ids);
	catalog_close(cat);
	return rc;
}

static int cmd_tag(struct cli *cli, int argc, char **argv)
{
	int64_t *ids;
	size_t n;
	struct catalog *cat;
	struct strlist edits = {0}, add = {0}, remove = {0};
	bool help;
	int rc = resolve_args(cli, &cmd_tag_entry, argc, argv, &ids, &n, &edits, &cat, &help);
	if (rc == 0 && !help && edits.n == 0)
		rc = cli_usage_error(&cmd_tag_entry, "no +tag or -tag given");
	if (rc == 0 && !help) {
		for (size_t i = 0; i < edits.n; i++)
			strlist_push(edits.items[i][0] == '+' ? &add : &remove, edits.items[i] + 1);
		rc = catalog_asset_tag(cat, ids, n, &add, &remove);
	}
	cJSON *arr = cli->json && rc == 0 && !help ? cJSON_CreateArray() : NULL;
	for (size_t i = 0; rc == 0 && !help && (arr || !cli->quiet) && i < n; i++) {
		struct asset *a = catalog_asset_get(cat, ids[i]);
		if (!a) {
			rc = -1;
			break;
		}
		if (arr) {
			cJSON_AddItemToArray(arr, json_asset(a));
		} else {
			char *tags = tags_joined(&a->tags);
			char *shown = text_escape(tags);
			printf("#%lld  %s\n", (long long)a->id, shown);
			free(shown);
			free(tags);
		}
		asset_free(a);
	}
	if (arr && rc == 0)
		json_print(arr);
	else
		cJSON_Delete(arr);
	strlist_clear(&edits);
	strlist_clear(&add);
	strlist_clear(&remove);
	free(ids);
	catalog_close(cat);
	return rc;
}

static int cmd_rm(struct cli *cli, int argc, char **argv)
{
	int64_t *ids;
	size_t n;
	struct catalog *cat;
	bool help;
	int rc = resolve_args(cli, &cmd_rm_entry, argc, argv, &ids, &n, NULL, &cat, &help);
	/* The assets as they were, read before they go. */
	cJSON *arr = cli->json && rc == 0 && !help ? cJSON_CreateArray() : NULL;
	for (size_t i = 0; arr && rc == 0 && i < n; i++) {
		struct asset *a = catalog_asset_get(cat, ids[i]);
		if (!a)
			rc = -1;
		else
			cJSON_AddItemToArray(arr, json_asset(a));
		asset_free(a);
	}
	if (rc == 0 && !help)
		rc = catalog_asset_rm(cat, ids, n);
	if (rc == 0 && arr) {
		json_print(arr);
		arr = NULL;
	} else if (rc == 0 && !help && !cli->quiet) {
		for (size_t i = 0; i < n; i++)
			printf("removed asset #%lld\n", (long long)ids[i]);
	}
	cJSON_Delete(arr);
	free(ids);
	catalog_close(cat);
	return rc;
}

enum { OPT_FORCE = 1 };

static const struct opt_spec cat_specs[] = {
    {"force", 'f', false, OPT_FORCE},
    {NULL, 0, false, 0},
};

/* The words of cat and path, which take options of their own; *force is
 * set by --force where specs has it. */
static int collect_words(struct cli *cli, const struct cmd_entry *entry, int argc, char **argv,
			 const struct opt_spec *specs, struct strlist *words, bool *force,
			 bool *help)
{
	struct opts o;
	const char *arg;
	int id;
	*help = false;
	opts_init(&o, cli, argc, argv, specs);
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		if (id == OPT_ERROR)
			return -1;
		if (id == OPT_HELP) {
			cli_print_help(entry);
			*help = true;
			return 0;
		}
		if (id == OPT_FORCE)
			*force = true;
		else
			strlist_push(words, arg);
	}
	if (words->n == 0)
		return cli_usage_error(entry, "no asset given");
	return 0;
}

static int copy_to_stdout(int fd)
{
	char buf[1 << 16];
	for (;;) {
		ssize_t got = read(fd, buf, sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return error_set(EX_IOERR, "read: %s", strerror(errno));
		if (got == 0)
			return 0;
		if (fwrite(buf, 1, (size_t)got, stdout) != (size_t)got)
			return error_set(EX_IOERR, "write: %s", strerror(errno));
	}
}

static int cmd_cat(struct cli *cli, int argc, char **argv)
{
	struct strlist words = {0};
	struct catalog *cat = NULL;
	bool help, force = false;
	int rc = collect_words(cli, &cmd_cat_entry, argc, argv, cat_specs, &words, &force, &help);
	if (rc < 0 || help)
		goto out;
	/* Pictures on a terminal are noise at best and control sequences
	 * at worst. */
	if (!force && isatty(STDOUT_FILENO)) {
		rc = error_set(EX_USAGE, "standard output is a terminal; redirect it to a file "
					 "or a pipe, or give --force");
		goto out;
	}
	rc = -1;
	cat = catalog_open(cli->store_dir);
	if (!cat)
		goto out;
	int64_t *ids = xcalloc(words.n, sizeof(int64_t));
	rc = 0;
	/* Every asset is looked up before a byte is written. */
	for (size_t i = 0; rc == 0 && i < words.n; i++)
		rc = catalog_asset_resolve(cat, words.items[i], &ids[i]);
	for (size_t i = 0; rc == 0 && i < words.n; i++) {
		int fd = catalog_asset_open(cat, ids[i]);
		if (fd < 0) {
			rc = -1;
			break;
		}
		rc = copy_to_stdout(fd);
		close(fd);
	}
	free(ids);
out:
	strlist_clear(&words);
	catalog_close(cat);
	return rc;
}

/* The blob path of an asset, or else of a derivative with that hash. */
static char *word_path(struct catalog *cat, const char *word)
{
	int64_t id;
	if (catalog_asset_resolve(cat, word, &id) == 0) {
		struct asset *a = catalog_asset_get(cat, id);
		char *path = a ? xstrdup(a->path) : NULL;
		asset_free(a);
		return path;
	}
	if (error_code() != EX_NOINPUT)
		return NULL;
	/* Not found, the asset's error stands. */
	char *path;
	return catalog_derivative_find(cat, word, &path) > 0 ? path : NULL;
}

static int cmd_path(struct cli *cli, int argc, char **argv)
{
	struct strlist words = {0}, paths = {0};
	struct catalog *cat = NULL;
	bool help, force = false;
	int rc = collect_words(cli, &cmd_path_entry, argc, argv, NULL, &words, &force, &help);
	if (rc < 0 || help)
		goto out;
	rc = -1;
	cat = catalog_open(cli->store_dir);
	if (!cat)
		goto out;
	for (size_t i = 0; i < words.n; i++) {
		char *path = word_path(cat, words.items[i]);
		if (!path)
			goto out;
		strlist_push(&paths, path);
		free(path);
	}
	if (cli->json) {
		json_print(json_strlist(&paths));
	} else {
		for (size_t i = 0; i < paths.n; i++)
			puts(paths.items[i]);
	}
	rc = 0;
out:
	strlist_clear(&words);
	strlist_clear(&paths);
	catalog_close(cat);
	return rc;
}

const struct cmd_entry cmd_show_entry = {
    "show",
    NULL,
    "show ASSET...",
    "Show assets, by id or by hash prefix (8 or more hex digits).",
    "",
    cmd_show,
};
const struct cmd_entry cmd_tag_entry = {
    "tag",
    NULL,
    "tag ASSET... +TAG... -TAG...",
    "Add (+tag) and remove (-tag) tags on assets, in one transaction.",
    "",
    cmd_tag,
};
const struct cmd_entry cmd_rm_entry = {
    "rm",
    NULL,
    "rm ASSET...",
    "Remove assets from the index (their blobs stay until garbage collection).",
    "",
    cmd_rm,
};
const struct cmd_entry cmd_cat_entry = {
    "cat",
    NULL,
    "cat ASSET... [--force]",
    "Write an asset's bytes to standard output.",
    "  -f, --force             write to standard output even when it is a terminal\n",
    cmd_cat,
};
const struct cmd_entry cmd_path_entry = {
    "path",
    NULL,
    "path ASSET|DERIVATIVE...",
    "Print the path of an asset's blob, or a derivative's, in the store.",
    "",
    cmd_path,
};

enum { OPT_EDIT_ROLE = 1, OPT_EDIT_CHARACTER, OPT_EDIT_NO_CHARACTER };

static const struct opt_spec edit_specs[] = {
    {"role", 'r', true, OPT_EDIT_ROLE},
    {"character", 'c', true, OPT_EDIT_CHARACTER},
    {"no-character", 0, false, OPT_EDIT_NO_CHARACTER},
    {NULL, 0, false, 0},
};

/* Reads edit's options and its ASSET words; 1 after --help. */
static int edit_parse(struct cli *cli, int argc, char **argv, struct asset_edit *edit,
		      struct strlist *refs)
{
	struct opts o;
	const char *arg;
	int id;
	opts_init(&o, cli, argc, argv, edit_specs);
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		switch (id) {
		case OPT_ERROR:
			return -1;
		case OPT_HELP:
			cli_print_help(&cmd_edit_entry);
			return 1;
		case OPT_EDIT_ROLE:
			edit->role = arg;
			break;
		case OPT_EDIT_CHARACTER:
			edit->character = arg;
			break;
		case OPT_EDIT_NO_CHARACTER:
			edit->no_character = true;
			break;
		case OPT_POSITIONAL:
			strlist_push(refs, arg);
			break;
		}
	}
	if (edit->character && edit->no_character)
		return cli_usage_error(&cmd_edit_entry, "--character and --no-character together");
	if (!edit->role && !edit->character && !edit->no_character)
		return cli_usage_error(&cmd_edit_entry,
				       "nothing to change (--role, --character or --no-character)");
	if (refs->n == 0)
		return cli_usage_error(&cmd_edit_entry, "no asset given");
	return 0;
}

static int cmd_edit(struct cli *cli, int argc, char **argv)
{
	struct asset_edit edit = {0};
	struct strlist refs = {0};
	struct catalog *cat = NULL;
	int64_t *ids = NULL;
	cJSON *arr = NULL;
	int rc = edit_parse(cli, argc, argv, &edit, &refs);
	if (rc != 0) {
		rc = rc > 0 ? 0 : -1;
		goto out;
	}
	rc = -1;
	cat = catalog_open(cli->store_dir);
	if (!cat)
		goto out;
	ids = xcalloc(refs.n, sizeof(int64_t));
	for (size_t i = 0; i < refs.n; i++)
		if (catalog_asset_resolve(cat, refs.items[i], &ids[i]) < 0)
			goto out;
	if (catalog_asset_edit(cat, ids, refs.n, &edit) < 0)
		goto out;
	arr = cli->json ? cJSON_CreateArray() : NULL;
	for (size_t i = 0; (arr || !cli->quiet) && i < refs.n; i++) {
		struct asset *a = catalog_asset_get(cat, ids[i]);
		if (!a)
			goto out;
		if (arr)
			cJSON_AddItemToArray(arr, json_asset(a));
		else
			printf("#%lld  %s  %s\n", (long long)a->id,
			       a->character ? a->character : "(none)", a->role);
		asset_free(a);
	}
	if (arr) {
		json_print(arr);
		arr = NULL;
	}
	rc = 0;
out:
	cJSON_Delete(arr);
	free(ids);
	strlist_clear(&refs);
	catalog_close(cat);
	return rc;
}

const struct cmd_entry cmd_edit_entry = {
    "edit",
    NULL,
    "edit ASSET... [--role ROLE] [--character SLUG | --no-character]",
    "Change assets' role or character in place, keeping their ids, tags and links.",
    "  -r, --role ROLE         sheet, face, turnaround, expression, costume, pose,\n"
    "                          prop, location, reference, generated\n"
    "  -c, --character SLUG    the character the assets belong to\n"
    "      --no-character      the assets belong to no character\n",
    cmd_edit,
};
