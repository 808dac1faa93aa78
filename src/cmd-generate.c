/* troupe generate: inject, send, wait, and store what the service made.
 * It parses options and prints the outputs; the request's whole life
 * (sending, polling, storing, the log) is generate.c's. */
#include "config.h"

#include "asset.h"
#include "catalog.h"
#include "cli-request.h"
#include "commands.h"
#include "generate.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How the wait is shown: with -v a line per status change, else a
 * status line on a terminal (elapsed time and the status by name). */
struct waiting {
	bool verbose;
	struct progress *line;
};

static void on_progress(void *ctx, const char *task, const char *status, double elapsed_s,
			bool changed)
{
	struct waiting *w = ctx;
	if (w->verbose) {
		if (changed) {
			char *t = text_escape(task), *s = text_escape(status);
			fprintf(stderr, "troupe: generate: task %s: %s\n", t, s);
			free(t);
			free(s);
		}
		return;
	}
	char *text = xasprintf("%s, %d s", status, (int)elapsed_s);
	progress_status(w->line, text);
	free(text);
}

/* Copies an output into the -o directory as HASH.EXT; *written is the
 * copy's path, which the caller frees. */
static int copy_output(struct catalog *cat, int64_t id, const char *dir, char **written)
{
	struct asset *a = catalog_asset_get(cat, id);
	if (!a)
		return -1;
	const char *ext = !strcmp(a->format, "jpeg") ? "jpg" : a->format;
	char *dest = xasprintf("%s/%s.%s", dir, a->hash, ext);
	int fd = catalog_asset_open(cat, id), rc = -1;
	struct strbuf bytes = STRBUF_INIT;
	if (fd >= 0 && fd_read_all(fd, &bytes) < 0)
		error_set(EX_IOERR, "%s: %s", a->path, strerror(errno));
	else if (fd >= 0)
		rc = file_write_atomic(dest, bytes.buf, bytes.len);
	if (fd >= 0)
		close(fd);
	sb_release(&bytes);
	if (rc == 0)
		*written = dest;
	else
		free(dest);
	asset_free(a);
	return rc;
}

static int cmd_generate(struct cli *cli, int argc, char **argv)
{
	struct cli_request a = {.prompt = STRBUF_INIT};
	struct strbuf input = STRBUF_INIT;
	struct catalog *cat = NULL;
	struct profile *p = NULL;
	struct generate_result result = {0};
	struct strlist copies = {0};
	bool help, is_json = false, made_dir = false;
	int rc = -1;
	if (cli_request_parse(cli, &cmd_generate_entry, argc, argv, &a, &help) < 0 || help) {
		rc = help ? 0 : -1;
		goto out;
	}
	/* DIR is made before anything is sent, so a DIR that cannot be made
	 * costs no paid request; a failed run removes the DIR it made. */
	if (a.output && mkdir(a.output, 0755) == 0) {
		made_dir = true;
	} else if (a.output && errno != EEXIST) {
		error_set(EX_CANTCREAT, "%s: %s", a.output, strerror(errno));
		goto out;
	}
	cat = catalog_open(cli->store_dir);
	if (!cat || !(p = profile_load(a.profile, catalog_root(cat))) ||
	    cli_request_input(&a, &input, &is_json) < 0)
		goto out;
	struct waiting wait = {a.verbose, a.verbose ? NULL : progress_new_status("generate:")};
	struct generate_options o = {a.inject, (int)a.timeout, on_progress, &wait};
	int ran = generate_run(cat, p, sb_str(&input), is_json, &o, &result);
	progress_free(wait.line);
	if (ran < 0)
		goto out;
	for (size_t i = 0; a.output && i < result.noutputs; i++) {
		char *written = NULL;
		if (copy_output(cat, result.outputs[i].asset_id, a.output, &written) < 0)
			goto out;
		strlist_push(&copies, written);
		free(written);
	}
	if (cli->json) {
		cJSON *j = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(j, "outputs");
		cJSON_AddNumberToObject(j, "request", (double)result.request_id);
		cJSON_AddItemToObject(j, "left_out", a.left_out ? a.left_out : cJSON_CreateArray());
		a.left_out = NULL;
		for (size_t i = 0; i < result.noutputs; i++) {
			struct asset *asset = catalog_asset_get(cat, result.outputs[i].asset_id);
			if (asset) {
				cJSON *item = json_asset(asset);
				if (i < copies.n)
					cJSON_AddStringToObject(item, "copy", copies.items[i]);
				cJSON_AddItemToArray(arr, item);
			}
			asset_free(asset);
		}
		json_print(j);
	} else if (!cli->quiet) {
		printf("request %lld: %zu output%s\n", (long long)result.request_id,
		       result.noutputs, result.noutputs == 1 ? "" : "s");
		for (size_t i = 0; i < result.noutputs; i++)
			printf("  #%lld %s\n", (long long)result.outputs[i].asset_id,
			       result.outputs[i].hash);
		for (size_t i = 0; i < copies.n; i++)
			printf("%s\n", copies.items[i]);
	}
	rc = 0;
out:
	/* rmdir removes it only while empty: copies already made are kept. */
	if (rc != 0 && made_dir && copies.n == 0)
		rmdir(a.output);
	strlist_clear(&copies);
	generate_result_clear(&result);
	profile_free(p);
	catalog_close(cat);
	sb_release(&input);
	cli_request_clear(&a);
	return rc;
}

const struct cmd_entry cmd_generate_entry = {
    "generate",
    NULL,
    "generate --profile NAME [PROMPT | --file FILE] [-o DIR] [--timeout S]",
    "Inject, send to the service, wait, and store the outputs with their provenance.",
    "  -p, --profile NAME      the service profile (see 'troupe profile list')\n"
    "  -f, --file FILE         the request (JSON) or prompt; '-' or no prompt: stdin\n"
    "      --ref QUERY         use the assets QUERY selects as references\n"
    "      --aspect RATIO      set the aspect ratio where the profile puts it\n"
    "      --first-frame FILE|ASSET  the picture an image-to-video clip starts on\n"
    "      --last-frame FILE|ASSET   the picture it ends on\n"
    "      --no-drop           fail when the limits leave a mentioned element no reference\n"
    "  -o, --output DIR        also copy the outputs to DIR\n"
    "      --timeout S         give up after S seconds, every transfer included\n"
    "  -v, --verbose           report the task's status changes on stderr\n",
    cmd_generate,
};
