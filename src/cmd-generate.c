/* troupe inject|generate|profile|log: references into requests, requests
 * to services, and the record of both. */
#include "config.h"

#include "commands.h"
#include "generate.h"
#include "json.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
	OPT_PROFILE = 1,
	OPT_FILE,
	OPT_REF,
	OPT_ASPECT,
	OPT_OUTPUT,
	OPT_TIMEOUT,
	OPT_VERBOSE,
	OPT_CHARACTER,
	OPT_LIMIT,
};

static const struct opt_spec inject_specs[] = {
    {"profile", 'p', true, OPT_PROFILE},
    {"file", 'f', true, OPT_FILE},
    {"workflow", 0, true, OPT_FILE},
    {"ref", 0, true, OPT_REF},
    {"aspect", 0, true, OPT_ASPECT},
    {"output", 'o', true, OPT_OUTPUT},
    {"timeout", 0, true, OPT_TIMEOUT},
    {"verbose", 'v', false, OPT_VERBOSE},
    {NULL, 0, false, 0},
};

struct request_args {
	const char *profile;
	const char *file;
	const char *output;
	int64_t timeout;
	bool verbose;
	struct inject_options inject;
	struct strbuf prompt;
};

static int read_stream(int fd, const char *what, struct strbuf *out)
{
	if (fd_read_all(fd, out) < 0)
		return error_set(EX_IOERR, "%s: %s", what, strerror(errno));
	return 0;
}

static int parse_request_args(struct cli *cli, const struct cmd_entry *entry, int argc, char **argv,
			      struct request_args *a, bool *help)
{
	struct opts o;
	const char *arg;
	int id;
	*help = false;
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
static int request_input(struct request_args *a, struct strbuf *input, bool *is_json)
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

static int cmd_inject(struct cli *cli, int argc, char **argv)
{
	struct request_args a = {.prompt = STRBUF_INIT};
	struct strbuf input = STRBUF_INIT;
	struct catalog *cat = NULL;
	struct profile *p = NULL;
	struct injection in = {0};
	bool help, is_json = false;
	int rc = -1;
	if (parse_request_args(cli, &cmd_inject_entry, argc, argv, &a, &help) < 0 || help) {
		rc = help ? 0 : -1;
		goto out;
	}
	cat = catalog_open(cli->store_dir);
	/* Into a pipe the request goes through json_write, which encodes the
	 * base64 payloads as it writes them. */
	bool to_terminal = isatty(STDOUT_FILENO);
	a.inject.stream_base64 = !to_terminal;
	if (!cat || !(p = profile_load(a.profile, catalog_root(cat))) ||
	    request_input(&a, &input, &is_json) < 0 ||
	    inject_run(cat, p, sb_str(&input), is_json, &a.inject, &in) < 0)
		goto out;
	int64_t id = inject_log(cat, p, &in, "inject", "injected");
	if (id < 0)
		goto out;
	if (in.text) {
		if (cli->json) {
			cJSON *j = cJSON_CreateObject();
			cJSON_AddStringToObject(j, "prompt", in.text);
			json_print(j);
		} else {
			puts(in.text);
		}
	} else if (to_terminal) {
		json_print(cJSON_Duplicate(in.request, 1));
	} else {
		/* For a pipe: compact, and without copying megabytes of base64. */
		static char outbuf[1 << 20];
		setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
		if (json_write(stdout, in.request) < 0)
			goto out;
		fputc('\n', stdout);
	}
	rc = 0;
out:
	injection_clear(&in);
	profile_free(p);
	catalog_close(cat);
	sb_release(&input);
	sb_release(&a.prompt);
	return rc;
}

/* Copies an output into the -o directory as HASH.EXT. */
static int copy_output(struct catalog *cat, int64_t id, const char *dir, bool quiet)
{
	struct asset *a = catalog_asset_get(cat, id);
	if (!a)
		return -1;
	const char *ext = !strcmp(a->format, "jpeg") ? "jpg" : a->format;
	char *dest = xasprintf("%s/%s.%s", dir, a->hash, ext);
	int fd = catalog_asset_open(cat, id), rc = -1;
	struct strbuf bytes = STRBUF_INIT;
	if (fd >= 0 && read_stream(fd, a->path, &bytes) == 0)
		rc = file_write_atomic(dest, bytes.buf, bytes.len);
	if (fd >= 0)
		close(fd);
	if (rc == 0 && !quiet)
		printf("%s\n", dest);
	sb_release(&bytes);
	free(dest);
	asset_free(a);
	return rc;
}

static int cmd_generate(struct cli *cli, int argc, char **argv)
{
	struct request_args a = {.prompt = STRBUF_INIT};
	struct strbuf input = STRBUF_INIT;
	struct catalog *cat = NULL;
	struct profile *p = NULL;
	struct generate_result result = {0};
	bool help, is_json = false;
	int rc = -1;
	if (parse_request_args(cli, &cmd_generate_entry, argc, argv, &a, &help) < 0 || help) {
		rc = help ? 0 : -1;
		goto out;
	}
	if (a.output && mkdir(a.output, 0755) < 0 && errno != EEXIST) {
		error_set(EX_CANTCREAT, "%s: %s", a.output, strerror(errno));
		goto out;
	}
	cat = catalog_open(cli->store_dir);
	if (!cat || !(p = profile_load(a.profile, catalog_root(cat))) ||
	    request_input(&a, &input, &is_json) < 0)
		goto out;
	struct generate_options o = {a.inject, (int)a.timeout, a.verbose};
	if (generate_run(cat, p, sb_str(&input), is_json, &o, &result) < 0)
		goto out;
	if (cli->json) {
		cJSON *j = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(j, "outputs");
		cJSON_AddNumberToObject(j, "request", (double)result.request_id);
		for (size_t i = 0; i < result.noutputs; i++) {
			struct asset *asset = catalog_asset_get(cat, result.outputs[i].asset_id);
			if (asset)
				cJSON_AddItemToArray(arr, json_asset(asset));
			asset_free(asset);
		}
		json_print(j);
	} else if (!cli->quiet) {
		printf("request %lld: %zu output%s\n", (long long)result.request_id,
		       result.noutputs, result.noutputs == 1 ? "" : "s");
		for (size_t i = 0; i < result.noutputs; i++)
			printf("  #%lld %s\n", (long long)result.outputs[i].asset_id,
			       result.outputs[i].hash);
	}
	for (size_t i = 0; a.output && i < result.noutputs; i++)
		if (copy_output(cat, result.outputs[i].asset_id, a.output,
				cli->json || cli->quiet) < 0)
			goto out;
	rc = 0;
out:
	generate_result_clear(&result);
	profile_free(p);
	catalog_close(cat);
	sb_release(&input);
	sb_release(&a.prompt);
	return rc;
}

static const char request_help[] =
    "  -p, --profile NAME      the service profile (see 'troupe profile list')\n"
    "  -f, --file FILE         the request (JSON) or prompt; '-' or no prompt: stdin\n"
    "      --workflow FILE     the same as --file (for ComfyUI workflows)\n"
    "      --ref QUERY         use the assets QUERY selects as references\n"
    "      --aspect RATIO      set the aspect ratio where the profile puts it\n";

const struct cmd_entry cmd_inject_entry = {
    "inject",
    NULL,
    "inject --profile NAME [PROMPT | --file FILE] [--ref QUERY]",
    "Put mentioned characters' references, description, seed and negative prompt into a "
    "request.",
    request_help,
    cmd_inject,
};

const struct cmd_entry cmd_generate_entry = {
    "generate",
    NULL,
    "generate --profile NAME [PROMPT | --file FILE] [-o DIR] [--timeout S]",
    "Inject, send to the service, wait, and store the outputs with their provenance.",
    "  -p, --profile NAME      the service profile (see 'troupe profile list')\n"
    "  -f, --file FILE         the request (JSON) or prompt; '-' or no prompt: stdin\n"
    "      --ref QUERY         use the assets QUERY selects as references\n"
    "      --aspect RATIO      set the aspect ratio where the profile puts it\n"
    "  -o, --output DIR        also copy the outputs to DIR\n"
    "      --timeout S         give up waiting for the task after S seconds\n"
    "  -v, --verbose           report the task's status changes on stderr\n",
    cmd_generate,
};

/* ---- profile ---- */

static void print_profile_line(const struct profile *p, const char *file, struct table *t)
{
	static const char *const encodings[] = {"url",	     "base64", "data_uri",
						"multipart", "path",   "upload"};
	char refs[16];
	snprintf(refs, sizeof(refs), "%d", p->max_refs);
	const char *row[] = {p->name,
			     p->service,
			     p->output == PROFILE_TEXT ? "text" : "http",
			     encodings[p->encoding],
			     refs,
			     file};
	table_add(t, row);
}

static int cmd_profile(struct cli *cli, int argc, char **argv)
{
	struct opts o;
	const char *arg;
	struct strlist args = {0};
	int id, rc = -1;
	opts_init(&o, cli, argc, argv, NULL);
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		if (id == OPT_ERROR)
			goto out;
		if (id == OPT_HELP) {
			cli_print_help(&cmd_profile_entry);
			rc = 0;
			goto out;
		}
		strlist_push(&args, arg);
	}
	if (!args.n) {
		cli_usage_error(&cmd_profile_entry, "which subcommand? (list, show, validate)");
		goto out;
	}
	/* Profiles beside a store count when there is one; none is needed. */
	struct catalog *cat = catalog_open(cli->store_dir);
	error_clear();
	char *root = cat ? xstrdup(catalog_root(cat)) : NULL;
	catalog_close(cat);
	const char *sub = args.items[0];
	if (!strcmp(sub, "list")) {
		struct strlist names = {0}, files = {0};
		profile_list(root, &names, &files);
		static const char *const headers[] = {"NAME", "SERVICE", "KIND",
						      "REFS", "MAX",	 "FILE"};
		struct table *t = table_new(6, headers);
		cJSON *arr = cli->json ? cJSON_CreateArray() : NULL;
		rc = 0;
		for (size_t i = 0; i < names.n; i++) {
			struct profile *p = profile_load_file(files.items[i]);
			if (!p) {
				warn("%s", error_message());
				continue;
			}
			if (arr) {
				cJSON *j = cJSON_CreateObject();
				cJSON_AddStringToObject(j, "name", p->name);
				cJSON_AddStringToObject(j, "service", p->service);
				cJSON_AddStringToObject(j, "doc", p->doc);
				cJSON_AddStringToObject(j, "file", files.items[i]);
				cJSON_AddItemToArray(arr, j);
			} else {
				print_profile_line(p, files.items[i], t);
			}
			profile_free(p);
		}
		if (arr)
			json_print(arr);
		else if (names.n)
			table_print(t, stdout);
		table_free(t);
		strlist_clear(&names);
		strlist_clear(&files);
	} else if (!strcmp(sub, "show") && args.n == 2) {
		struct profile *p = profile_load(args.items[1], root);
		if (p) {
			if (!cli->json)
				printf("# %s\n", p->file);
			json_print(cJSON_Duplicate(p->raw, 1));
			profile_free(p);
			rc = 0;
		}
	} else if (!strcmp(sub, "validate") && args.n >= 2) {
		rc = 0;
		for (size_t i = 1; i < args.n; i++) {
			struct stat st;
			struct profile *p = stat(args.items[i], &st) == 0
						? profile_load_file(args.items[i])
						: profile_load(args.items[i], root);
			if (!p) {
				rc = -1;
				break;
			}
			/* A file is looked up by its name, so the two must agree. */
			const char *base = strrchr(args.items[i], '/');
			base = base ? base + 1 : args.items[i];
			size_t blen = strlen(base);
			if (blen > 5 && !strcmp(base + blen - 5, ".json") &&
			    (strlen(p->name) != blen - 5 || strncmp(base, p->name, blen - 5))) {
				error_set(EX_DATAERR,
					  "profile %s: name: \"%s\" does not match the file name",
					  args.items[i], p->name);
				profile_free(p);
				rc = -1;
				break;
			}
			if (!cli->quiet)
				printf("%s: ok (%s, %s)\n", args.items[i], p->name, p->service);
			profile_free(p);
		}
	} else {
		cli_usage_error(&cmd_profile_entry, "expected list, show NAME or validate FILE...");
	}
	free(root);
out:
	strlist_clear(&args);
	return rc;
}

const struct cmd_entry cmd_profile_entry = {
    "profile",
    NULL,
    "profile list | show NAME | validate FILE|NAME...",
    "List, show and check service profiles (the format is in troupe-profile(5)).",
    "",
    cmd_profile,
};

/* ---- log ---- */

static const struct opt_spec log_specs[] = {
    {"character", 'c', true, OPT_CHARACTER},
    {"profile", 'p', true, OPT_PROFILE},
    {"limit", 'n', true, OPT_LIMIT},
    {NULL, 0, false, 0},
};

cJSON *json_log_entry(const struct log_entry *e)
{
	char when[32];
	time_iso8601(e->started, when);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "id", (double)e->id);
	cJSON_AddStringToObject(j, "kind", e->kind);
	cJSON_AddStringToObject(j, "profile", e->profile);
	cJSON_AddStringToObject(j, "status", e->status);
	cJSON_AddStringToObject(j, "started", when);
	cJSON_AddNumberToObject(j, "duration_ms", (double)e->duration_ms);
	if (e->http_status)
		cJSON_AddNumberToObject(j, "http_status", (double)e->http_status);
	if (e->prompt)
		cJSON_AddStringToObject(j, "prompt", e->prompt);
	if (e->error)
		cJSON_AddStringToObject(j, "error", e->error);
	cJSON_AddItemToObject(j, "characters", json_strlist(&e->characters));
	cJSON_AddItemToObject(j, "references", json_strlist(&e->refs));
	cJSON_AddItemToObject(j, "outputs", json_strlist(&e->outputs));
	cJSON *req = e->request ? cJSON_Parse(e->request) : NULL;
	if (req)
		cJSON_AddItemToObject(j, "request", req);
	else if (e->request)
		cJSON_AddStringToObject(j, "request", e->request);
	cJSON *resp = e->response ? cJSON_Parse(e->response) : NULL;
	if (resp)
		cJSON_AddItemToObject(j, "response", resp);
	else if (e->response)
		cJSON_AddStringToObject(j, "response", e->response);
	return j;
}

struct log_out {
	cJSON *json;
	struct table *table;
};

static int log_row(const struct log_entry *e, void *ctx)
{
	struct log_out *o = ctx;
	if (o->json) {
		cJSON_AddItemToArray(o->json, json_log_entry(e));
		return 0;
	}
	char id[24], when[32], refs[16], outs[16];
	snprintf(id, sizeof(id), "%lld", (long long)e->id);
	time_iso8601(e->started, when);
	snprintf(refs, sizeof(refs), "%zu", e->refs.n);
	snprintf(outs, sizeof(outs), "%zu", e->outputs.n);
	char *chars = tags_joined(&e->characters);
	const char *row[] = {
	    id, when, e->kind, e->profile, e->status, chars, refs, outs, e->error ? e->error : ""};
	table_add(o->table, row);
	free(chars);
	return 0;
}

static int cmd_log(struct cli *cli, int argc, char **argv)
{
	struct opts o;
	const char *arg, *character = NULL, *profile = NULL;
	int64_t limit = 0;
	int id;
	opts_init(&o, cli, argc, argv, log_specs);
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		switch (id) {
		case OPT_ERROR:
			return -1;
		case OPT_HELP:
			cli_print_help(&cmd_log_entry);
			return 0;
		case OPT_CHARACTER:
			character = arg;
			break;
		case OPT_PROFILE:
			profile = arg;
			break;
		case OPT_LIMIT:
			if (cli_parse_int("--limit", arg, 1, INT64_MAX, &limit) < 0)
				return -1;
			break;
		default:
			return cli_usage_error(&cmd_log_entry, "unexpected argument");
		}
	}
	struct catalog *cat = catalog_open(cli->store_dir);
	if (!cat)
		return -1;
	static const char *const headers[] = {"ID",	    "WHEN", "KIND",    "PROFILE", "STATUS",
					      "CHARACTERS", "REFS", "OUTPUTS", "ERROR"};
	struct log_out out = {cli->json ? cJSON_CreateArray() : NULL,
			      cli->json ? NULL : table_new(9, headers)};
	int rc = catalog_log(cat, character, profile, limit, log_row, &out);
	cli_print_rows(rc, out.json, out.table, true);
	catalog_close(cat);
	return rc;
}

const struct cmd_entry cmd_log_entry = {
    "log",
    NULL,
    "log [--character SLUG] [--profile NAME] [--limit N]",
    "List recorded requests, newest first: profile, characters, references, outputs.",
    "  -c, --character SLUG    only requests that mentioned this character\n"
    "  -p, --profile NAME      only requests to this profile\n"
    "  -n, --limit N           at most N requests\n",
    cmd_log,
};
