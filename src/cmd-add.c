/* troupe add: files and directories into the store, as one transaction.
 * Files named on the command line must be images; files found by walking a
 * directory that are not are reported and skipped. */
#define _GNU_SOURCE
#include "config.h"

#include "asset.h"
#include "catalog.h"
#include "character.h"
#include "commands.h"
#include "ingest.h"
#include "look.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { OPT_ROLE = 1, OPT_TAG, OPT_CHARACTER, OPT_LOOK };

static const struct opt_spec add_specs[] = {
    {"role", 'r', true, OPT_ROLE},
    {"tag", 't', true, OPT_TAG},
    {"character", 'c', true, OPT_CHARACTER},
    {"look", 'l', true, OPT_LOOK},
    {NULL, 0, false, 0},
};

struct add_file {
	char *path;
	bool explicit; /* named on the command line */
};

struct file_list {
	struct add_file *files;
	size_t n;
};

static void files_push(struct file_list *l, const char *path, bool explicit)
{
	l->files = xrealloc(l->files, (l->n + 1) * sizeof(*l->files));
	l->files[l->n].path = xstrdup(path);
	l->files[l->n].explicit = explicit;
	l->n++;
}

static int push_found(const char *path, bool named, void *ctx)
{
	files_push(ctx, path, named);
	return 0;
}

static void tick_progress(size_t done, void *bar)
{
	progress_step(bar, done);
}

static void print_added(struct cli *cli, struct catalog *cat, struct add_batch *b, cJSON *arr,
			const char *stdin_path)
{
	for (size_t i = 0; i < catalog_add_count(b); i++) {
		int64_t id;
		const char *hash, *path;
		bool existed;
		catalog_add_result(b, i, &id, &hash, &path, &existed);
		if (cli->json) {
			struct asset *a = catalog_asset_get(cat, id);
			if (a) {
				cJSON *o = json_asset(a);
				cJSON_AddBoolToObject(o, "new", !existed);
				cJSON_AddItemToArray(arr, o);
				asset_free(a);
			}
		} else if (!cli->quiet) {
			if (stdin_path && strcmp(path, stdin_path) == 0)
				path = "-";
			char *shown = text_escape(path);
			printf("%s %s  #%lld  %s\n", existed ? "present" : "added  ", hash,
			       (long long)id, shown);
			free(shown);
		}
	}
}

/* Removes the file standard input was copied to, and its directory. */
static void stdin_done(char *path)
{
	if (!path)
		return;
	unlink(path);
	*strrchr(path, '/') = '\0';
	rmdir(path);
	free(path);
}

/* "-": standard input, read whole into a file of its own (libvips and
 * the store both want a file), named "stdin" so that is the source the
 * index records. The caller removes it with stdin_done(). */
static char *stdin_to_file(void)
{
	if (isatty(STDIN_FILENO)) {
		error_set(EX_USAGE, "-: standard input is a terminal; pipe an image into it");
		return NULL;
	}
	char *dir = temp_template("stdin");
	if (!mkdtemp(dir)) {
		error_set(EX_CANTCREAT, "%s: %s", dir, strerror(errno));
		free(dir);
		return NULL;
	}
	char *path = xasprintf("%s/stdin", dir);
	free(dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	char buf[1 << 16];
	ssize_t got = 0;
	while (fd >= 0 && (got = read(STDIN_FILENO, buf, sizeof(buf))) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 || write_all(fd, buf, (size_t)got) < 0)
			break;
	}
	if (fd < 0 || got != 0 || close(fd) < 0) {
		error_set(EX_IOERR, "-: cannot read standard input: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		stdin_done(path);
		return NULL;
	}
	return path;
}

/* An error about the file standard input was copied to names "-". */
static void stdin_error(const char *path)
{
	const char *msg = error_message();
	size_t len = strlen(path);
	if (strncmp(msg, path, len) == 0 && msg[len] == ':') {
		char *why = xstrdup(msg + len + 1);
		error_set(error_code(), "-:%s", why);
		free(why);
	}
}

static int cmd_add(struct cli *cli, int argc, char **argv)
{
	struct opts o;
	const char *arg, *role = "reference", *slug = NULL, *look = NULL;
	struct strlist tags = {0}, args = {0};
	struct file_list files = {0};
	struct catalog *cat = NULL;
	struct add_batch *batch = NULL;
	struct progress *bar = NULL;
	char *stdin_path = NULL;
	size_t skipped = 0;
	int id, rc = -1;
	opts_init(&o, cli, argc, argv, add_specs);
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		switch (id) {
		case OPT_ERROR:
			goto out;
		case OPT_HELP:
			cli_print_help(&cmd_add_entry);
			rc = 0;
			goto out;
		case OPT_ROLE:
			role = arg;
			break;
		case OPT_TAG:
			strlist_push(&tags, arg);
			break;
		case OPT_CHARACTER:
			slug = arg;
			break;
		case OPT_LOOK:
			look = arg;
			break;
		case OPT_POSITIONAL:
			strlist_push(&args, arg);
			break;
		}
	}
	if (args.n == 0) {
		cli_usage_error(&cmd_add_entry, "no file given");
		goto out;
	}
	cat = catalog_open(cli->store_dir);
	if (!cat)
		goto out;
	size_t first = 0;
	/* "add SLUG PATH...": the first word is a character (its slug or one
	 * of its aliases) when more than one word is given and it is not a
	 * path that exists. */
	if (!slug && args.n > 1) {
		struct stat st;
		if (strcmp(args.items[0], "-") != 0 && stat(args.items[0], &st) < 0) {
			struct character *c = catalog_character_get(cat, args.items[0]);
			if (!c && catalog_slug_check(args.items[0]) < 0) {
				error_set(EX_NOINPUT, "%s: %s", args.items[0], strerror(ENOENT));
				goto out;
			}
			character_free(c);
			slug = args.items[0];
			first = 1;
		}
	}
	/* A look's assets are the character's assets tagged look:NAME; the
	 * look must exist, so a misspelt name adds nothing. */
	if (look) {
		if (!slug) {
			error_set(EX_USAGE, "--look %s: needs the character whose look it is",
				  look);
			goto out;
		}
		struct look *l = catalog_look_get(cat, slug, look);
		if (!l)
			goto out;
		char *tag = xasprintf("look:%s", l->name);
		strlist_push(&tags, tag);
		free(tag);
		look_free(l);
	}
	batch = catalog_add_begin(cat, slug, role, &tags);
	if (!batch)
		goto out;
	for (size_t i = first; i < args.n; i++) {
		if (strcmp(args.items[i], "-") == 0) {
			if (stdin_path) {
				error_set(EX_USAGE, "-: standard input can be added only once");
				goto out;
			}
			if (!(stdin_path = stdin_to_file()))
				goto out;
			files_push(&files, stdin_path, true);
		} else if (files_walk(args.items[i], push_found, &files) < 0) {
			goto out;
		}
	}
	bar = cli->quiet ? NULL : progress_new("adding", files.n);
	/* The pictures are decoded on every CPU first; staging and indexing
	 * them below is then quick. */
	char **paths = xcalloc(files.n ? files.n : 1, sizeof(char *));
	for (size_t i = 0; i < files.n; i++)
		paths[i] = files.files[i].path;
	catalog_add_prepare(batch, paths, files.n, tick_progress, bar);
	free(paths);
	for (size_t i = 0; i < files.n; i++) {
		if (catalog_add_file(batch, files.files[i].path) < 0) {
			if (stdin_path && strcmp(files.files[i].path, stdin_path) == 0)
				stdin_error(stdin_path);
			/* Only a directory's non-images are skipped; a file the
			 * user named must go in, or nothing does. */
			if (files.files[i].explicit || error_code() != EX_DATAERR)
				goto out;
			char *why = text_escape(error_message());
			warn_user("skipped %s", why);
			free(why);
			skipped++;
		}
	}
	progress_step(bar, files.n);
	progress_free(bar);
	bar = NULL;
	if (catalog_add_count(batch) == 0) {
		error_set(EX_DATAERR, "no images to add%s",
			  skipped ? " (every file was skipped)" : "");
		goto out;
	}
	if (catalog_add_commit(batch) < 0)
		goto out;
	cJSON *arr = cli->json ? cJSON_CreateArray() : NULL;
	print_added(cli, cat, batch, arr, stdin_path);
	if (arr)
		json_print(arr);
	rc = 0;
out:
	progress_free(bar);
	catalog_add_free(batch);
	catalog_close(cat);
	stdin_done(stdin_path);
	for (size_t i = 0; i < files.n; i++)
		free(files.files[i].path);
	free(files.files);
	strlist_clear(&tags);
	strlist_clear(&args);
	return rc;
}

const struct cmd_entry cmd_add_entry = {
    "add",
    NULL,
    "add [SLUG] PATH... [--role ROLE] [--look NAME] [--tag TAG]...  ('-' for standard input)",
    "Add images (files, or directories walked recursively) to the store.",
    "  SLUG                    the character the images belong to (optional)\n"
    "  -c, --character SLUG    the same, as an option\n"
    "  -r, --role ROLE         sheet, face, turnaround, expression, costume, pose,\n"
    "                          prop, location, reference (default), generated\n"
    "  -t, --tag TAG           tag every added image, ns:value or value (repeatable)\n"
    "  -l, --look NAME         the character's look they show (tagged look:NAME)\n",
    cmd_add,
};
