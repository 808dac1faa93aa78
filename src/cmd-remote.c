/* troupe remote, push, pull and clone: the commands that share a cast
 * through S3-compatible object storage. They parse options and print;
 * where a remote is lives in remote.c, the transfers in sync.c. */
#include "config.h"

#include "catalog.h"
#include "commands.h"
#include "remote.h"
#include "s3.h"
#include "sync.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { OPT_ENDPOINT = 1, OPT_REGION, OPT_PATH_STYLE, OPT_JOBS, OPT_OURS, OPT_THEIRS, OPT_NAME };

/* The words of a remote's location a user gives (add and clone). */
struct where {
	const char *endpoint;
	const char *region;
	bool path_style;
};

static int location_from(const char *url, const struct where *w, struct s3_location *loc)
{
	memset(loc, 0, sizeof(*loc));
	if (!w->endpoint)
		return error_set(EX_USAGE,
				 "--endpoint URL is required (the server's https:// URL)");
	if (s3_url_parse(url, loc) < 0)
		return -1;
	if (!(loc->endpoint = s3_endpoint_check(w->endpoint))) {
		s3_location_clear(loc);
		return -1;
	}
	if (s3_region_check(w->region ? w->region : "us-east-1") < 0) {
		s3_location_clear(loc);
		return -1;
	}
	loc->region = xstrdup(w->region ? w->region : "us-east-1");
	loc->path_style = w->path_style;
	return 0;
}

static char *location_url(const struct s3_location *loc)
{
	return *loc->prefix ? xasprintf("s3://%s/%s", loc->bucket, loc->prefix)
			    : xasprintf("s3://%s", loc->bucket);
}

/* ---- output ---- */

struct out {
	struct cli *cli;
	cJSON *items;
	const char *remote;
	struct progress *bar;
};

static int print_item(const struct sync_item *it, void *ctx)
{
	struct out *o = ctx;
	if (o->items) {
		cJSON *j = cJSON_CreateObject();
		if (o->remote)
			cJSON_AddStringToObject(j, "remote", o->remote);
		cJSON_AddStringToObject(j, "element", it->slug);
		cJSON_AddStringToObject(j, "state", sync_state_name(it->state));
		if (it->detail)
			cJSON_AddStringToObject(j, "detail", it->detail);
		cJSON_AddItemToArray(o->items, j);
		return 0;
	}
	if (o->cli->quiet && it->state != SYNC_CONFLICT)
		return 0;
	char *detail = it->detail ? text_escape(it->detail) : NULL;
	printf("%s%s%s %s%s%s\n", o->remote ? o->remote : "", o->remote ? " " : "",
	       sync_state_name(it->state), it->slug, detail ? ": " : "", detail ? detail : "");
	free(detail);
	return 0;
}

static void print_progress(size_t done, size_t total, uint64_t bytes, void *ctx)
{
	struct out *o = ctx;
	(void)bytes;
	if (!o->bar)
		o->bar = progress_new("blobs", total);
	progress_step(o->bar, done);
}

static void print_counts(struct cli *cli, const char *verb, const struct sync_counts *c,
			 cJSON *items)
{
	if (cli->json) {
		cJSON *root = cJSON_CreateObject();
		cJSON_AddItemToObject(root, "elements", items);
		cJSON_AddNumberToObject(root, "changed", (double)c->changed);
		cJSON_AddNumberToObject(root, "conflicts", (double)c->conflicts);
		cJSON_AddNumberToObject(root, "blobs_sent", (double)c->blobs_sent);
		cJSON_AddNumberToObject(root, "blobs_present", (double)c->blobs_present);
		cJSON_AddNumberToObject(root, "bytes_sent", (double)c->bytes_sent);
		json_print(root);
		return;
	}
	cJSON_Delete(items);
	if (cli->quiet)
		return;
	char size[32];
	format_bytes(c->bytes_sent, size);
	printf("%zu element%s %s, %zu in conflict; %zu blob%s (%s) %s, %zu already there\n",
	       c->changed, c->changed == 1 ? "" : "s", verb, c->conflicts, c->blobs_sent,
	       c->blobs_sent == 1 ? "" : "s", size, !strcmp(verb, "pushed") ? "sent" : "fetched",
	       c->blobs_present);
}

static int conflicts_error(const struct sync_counts *c)
{
	if (!c->conflicts)
		return 0;
	return error_set(EX_DATAERR,
			 "%zu element%s in conflict, left as %s (pull with --ours or --theirs "
			 "to choose)",
			 c->conflicts, c->conflicts == 1 ? "" : "s",
			 c->conflicts == 1 ? "it was" : "they were");
}

/* ---- troupe remote ---- */

static const struct opt_spec remote_specs[] = {
    {"endpoint", 0, true, OPT_ENDPOINT},
    {"region", 0, true, OPT_REGION},
    {"path-style", 0, false, OPT_PATH_STYLE},
    {"jobs", 'j', true, OPT_JOBS},
    {NULL, 0, false, 0},
};

static int list_one(const struct remote *r, void *ctx)
{
	struct out *o = ctx;
	char *url = location_url(&r->loc);
	if (o->items) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "name", r->name);
		cJSON_AddStringToObject(j, "url", url);
		cJSON_AddStringToObject(j, "endpoint", r->loc.endpoint);
		cJSON_AddStringToObject(j, "region", r->loc.region);
		cJSON_AddBoolToObject(j, "path_style", r->loc.path_style);
		cJSON_AddItemToArray(o->items, j);
	} else {
		char *e = text_escape(r->loc.endpoint), *u = text_escape(url);
		printf("%s\t%s\t%s\t%s%s\n", r->name, u, e, r->loc.region,
		       r->loc.path_style ? "\tpath-style" : "");
		free(e);
		free(u);
	}
	free(url);
	return 0;
}

struct status_ctx {
	struct out *out;
	struct catalog *cat;
	int jobs;
	size_t conflicts;
};

static int status_one(const struct remote *r, void *ctx)
{
	struct status_ctx *s = ctx;
	s->out->remote = r->name;
	struct sync_options so = {s->jobs, MERGE_REFUSE, print_item, NULL, s->out};
	struct sync_counts counts;
	if (sync_status(s->cat, r, &so, &counts) < 0)
		return -1;
	s->conflicts += counts.conflicts;
	return 0;
}

static int cmd_remote(struct cli *cli, int argc, char **argv)
{
	struct opts o;
	const char *arg;
	struct strlist words = {NULL, 0};
	struct where w = {NULL, NULL, false};
	int64_t jobs = 0;
	int id, rc = 0;
	opts_init(&o, cli, argc, argv, remote_specs);
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		switch (id) {
		case OPT_ERROR:
			strlist_clear(&words);
			return -1;
		case OPT_HELP:
			cli_print_help(&cmd_remote_entry);
			strlist_clear(&words);
			return 0;
		case OPT_ENDPOINT:
			w.endpoint = arg;
			break;
		case OPT_REGION:
			w.region = arg;
			break;
		case OPT_PATH_STYLE:
			w.path_style = true;
			break;
		case OPT_JOBS:
			if (cli_parse_int("--jobs", arg, 1, 64, &jobs) < 0) {
				strlist_clear(&words);
				return -1;
			}
			break;
		default:
			strlist_push(&words, arg);
		}
	}
	const char *verb = words.n ? words.items[0] : "status";
	bool add = !strcmp(verb, "add"), rm = !strcmp(verb, "rm") || !strcmp(verb, "remove");
	bool list = !strcmp(verb, "list"), status = !strcmp(verb, "status");
	if (!add && !rm && !list && !status)
		rc = cli_usage_error(&cmd_remote_entry, "add, list, rm or status");
	else if (add && words.n != 3)
		rc = cli_usage_error(&cmd_remote_entry, "remote add NAME s3://BUCKET/PREFIX "
							"--endpoint URL");
	else if (rm && words.n != 2)
		rc = cli_usage_error(&cmd_remote_entry, "remote rm NAME");
	else if ((list && words.n != 1) || (status && words.n > 2))
		rc = cli_usage_error(&cmd_remote_entry, "too many arguments");
	else if (!add && (w.endpoint || w.region || w.path_style))
		rc = cli_usage_error(&cmd_remote_entry,
				     "--endpoint, --region and --path-style go with add");
	struct catalog *cat = rc == 0 ? catalog_open(cli->store_dir) : NULL;
	if (rc == 0 && !cat)
		rc = -1;
	struct out out = {cli, cli->json ? cJSON_CreateArray() : NULL, NULL, NULL};
	if (rc == 0 && add) {
		struct s3_location loc;
		rc = location_from(words.items[2], &w, &loc);
		if (rc == 0)
			rc = remote_add(cat, words.items[1], &loc);
		if (rc == 0 && !cli->quiet && !cli->json)
			printf("remote %s: %s at %s\n", words.items[1], words.items[2],
			       loc.endpoint);
		s3_location_clear(&loc);
	} else if (rc == 0 && rm) {
		rc = remote_remove(cat, words.items[1]);
	} else if (rc == 0 && list) {
		rc = remote_list(cat, list_one, &out);
		if (rc == 0 && out.items) {
			json_print(out.items);
			out.items = NULL;
		}
	} else if (rc == 0 && status) {
		struct status_ctx s = {&out, cat, (int)jobs, 0};
		if (words.n == 2) {
			struct remote r;
			rc = remote_find(cat, words.items[1], &r);
			if (rc == 0)
				rc = status_one(&r, &s);
			remote_clear(&r);
		} else
			rc = remote_list(cat, status_one, &s);
		if (rc == 0 && out.items) {
			json_print(out.items);
			out.items = NULL;
		}
	}
	cJSON_Delete(out.items);
	catalog_close(cat);
	strlist_clear(&words);
	return rc;
}

const struct cmd_entry cmd_remote_entry = {
    "remote",
    NULL,
    "remote [add NAME s3://BUCKET/PREFIX --endpoint URL [--region R] [--path-style] | list | "
    "rm NAME | status [NAME]]",
    "Name the object storage a cast is shared through; say what each remote holds.",
    "  add NAME URL     remember a remote (s3://BUCKET/PREFIX on the server --endpoint)\n"
    "  --endpoint URL   the server: https://HOST[:PORT] (http only to loopback)\n"
    "  --region R       the region to sign for (default us-east-1; R2 wants auto)\n"
    "  --path-style     BUCKET in the path, not in the host name\n"
    "  list             every remote, where it is\n"
    "  rm NAME          forget a remote (nothing on it is deleted)\n"
    "  status [NAME]    each element here or there, against each remote (the default)\n"
    "  -j, --jobs N     requests at once\n"
    "  --json           the same as JSON\n",
    cmd_remote,
};

/* ---- troupe push and pull ---- */

static const struct opt_spec sync_specs[] = {
    {"jobs", 'j', true, OPT_JOBS},
    {"ours", 0, false, OPT_OURS},
    {"theirs", 0, false, OPT_THEIRS},
    {NULL, 0, false, 0},
};

static int run_sync(struct cli *cli, int argc, char **argv, const struct cmd_entry *entry,
		    bool push)
{
	struct opts o;
	const char *arg;
	struct strlist words = {NULL, 0};
	int64_t jobs = 0;
	enum merge_side side = MERGE_REFUSE;
	int id, rc = 0;
	opts_init(&o, cli, argc, argv, sync_specs);
	while ((id = opts_next(&o, &arg)) != OPT_END && rc == 0) {
		switch (id) {
		case OPT_ERROR:
			rc = -1;
			break;
		case OPT_HELP:
			cli_print_help(entry);
			strlist_clear(&words);
			return 0;
		case OPT_JOBS:
			rc = cli_parse_int("--jobs", arg, 1, 64, &jobs);
			break;
		case OPT_OURS:
		case OPT_THEIRS:
			if (push)
				rc = cli_usage_error(entry, "--ours and --theirs go with pull");
			else if (side != MERGE_REFUSE)
				rc = cli_usage_error(entry,
						     "--ours and --theirs exclude each other");
			side = id == OPT_OURS ? MERGE_OURS : MERGE_THEIRS;
			break;
		default:
			strlist_push(&words, arg);
		}
	}
	if (rc == 0 && !words.n)
		rc = cli_usage_error(entry, "name the remote");
	struct catalog *cat = rc == 0 ? catalog_open(cli->store_dir) : NULL;
	if (rc == 0 && !cat)
		rc = -1;
	struct remote r = {0};
	if (rc == 0)
		rc = remote_find(cat, words.items[0], &r);
	if (rc == 0) {
		struct out out = {cli, cli->json ? cJSON_CreateArray() : NULL, NULL, NULL};
		struct sync_options so = {(int)jobs, side, print_item, print_progress, &out};
		struct sync_counts counts;
		rc = push ? sync_push(cat, &r, words.items + 1, words.n - 1, &so, &counts)
			  : sync_pull(cat, &r, words.items + 1, words.n - 1, &so, &counts);
		progress_free(out.bar);
		if (rc == 0) {
			print_counts(cli, push ? "pushed" : "pulled", &counts, out.items);
			rc = conflicts_error(&counts);
		} else
			cJSON_Delete(out.items);
	}
	remote_clear(&r);
	catalog_close(cat);
	strlist_clear(&words);
	return rc;
}

static int cmd_push(struct cli *cli, int argc, char **argv)
{
	return run_sync(cli, argc, argv, &cmd_push_entry, true);
}

static int cmd_pull(struct cli *cli, int argc, char **argv)
{
	return run_sync(cli, argc, argv, &cmd_pull_entry, false);
}

const struct cmd_entry cmd_push_entry = {
    "push",
    NULL,
    "push REMOTE [SLUG...] [-j N]",
    "Send elements (every one by default) and the blobs the remote lacks, manifests last.",
    "  -j, --jobs N   uploads at once (default 8)\n"
    "  --json         {\"elements\": [...], \"blobs_sent\": N, ...}\n",
    cmd_push,
};

const struct cmd_entry cmd_pull_entry = {
    "pull",
    NULL,
    "pull REMOTE [SLUG...] [-j N] [--ours | --theirs]",
    "Fetch elements (every one the remote has by default), verified before they are merged.",
    "  -j, --jobs N   downloads at once (default 8)\n"
    "  --ours         resolve conflicts by keeping this store's fields\n"
    "  --theirs       resolve conflicts by taking the remote's fields\n"
    "  --json         {\"elements\": [...], \"blobs_sent\": N, ...}\n",
    cmd_pull,
};

/* ---- troupe clone ---- */

static const struct opt_spec clone_specs[] = {
    {"endpoint", 0, true, OPT_ENDPOINT},
    {"region", 0, true, OPT_REGION},
    {"path-style", 0, false, OPT_PATH_STYLE},
    {"jobs", 'j', true, OPT_JOBS},
    {"name", 0, true, OPT_NAME},
    {NULL, 0, false, 0},
};

static int cmd_clone(struct cli *cli, int argc, char **argv)
{
	struct opts o;
	const char *arg, *url = NULL, *where = NULL, *name = "origin";
	struct where w = {NULL, NULL, false};
	int64_t jobs = 0;
	int id;
	opts_init(&o, cli, argc, argv, clone_specs);
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		switch (id) {
		case OPT_ERROR:
			return -1;
		case OPT_HELP:
			cli_print_help(&cmd_clone_entry);
			return 0;
		case OPT_ENDPOINT:
			w.endpoint = arg;
			break;
		case OPT_REGION:
			w.region = arg;
			break;
		case OPT_PATH_STYLE:
			w.path_style = true;
			break;
		case OPT_JOBS:
			if (cli_parse_int("--jobs", arg, 1, 64, &jobs) < 0)
				return -1;
			break;
		case OPT_NAME:
			name = arg;
			break;
		default:
			if (!url)
				url = arg;
			else if (!where)
				where = arg;
			else
				return cli_usage_error(&cmd_clone_entry, "too many arguments");
		}
	}
	if (!url || !where)
		return cli_usage_error(&cmd_clone_entry,
				       "clone s3://BUCKET/PREFIX --endpoint URL DIR");
	if (cli->store_dir)
		return cli_usage_error(&cmd_clone_entry, "give DIR, not --store");
	struct s3_location loc;
	if (remote_name_check(name) < 0 || location_from(url, &w, &loc) < 0)
		return -1;
	char *dir = xasprintf("%s/.troupe", where);
	struct stat sb;
	int rc = 0;
	bool existed = false;
	if (stat(dir, &sb) == 0)
		rc = error_set(EX_CANTCREAT, "%s: a store is there already (troupe pull in it)",
			       dir);
	if (rc == 0)
		rc = catalog_create(dir, &existed);
	struct catalog *cat = rc == 0 ? catalog_open(dir) : NULL;
	if (rc == 0 && !cat)
		rc = -1;
	if (rc == 0)
		rc = remote_add(cat, name, &loc);
	struct remote r = {0};
	if (rc == 0)
		rc = remote_find(cat, name, &r);
	if (rc == 0) {
		struct out out = {cli, cli->json ? cJSON_CreateArray() : NULL, NULL, NULL};
		struct sync_options so = {(int)jobs, MERGE_REFUSE, print_item, print_progress,
					  &out};
		struct sync_counts counts;
		rc = sync_pull(cat, &r, NULL, 0, &so, &counts);
		progress_free(out.bar);
		if (rc == 0)
			print_counts(cli, "pulled", &counts, out.items);
		else
			cJSON_Delete(out.items);
	}
	/* A clone that failed leaves the store with its remote and whatever
	 * was merged whole: `troupe pull` in it goes on. */
	remote_clear(&r);
	catalog_close(cat);
	s3_location_clear(&loc);
	free(dir);
	return rc;
}

const struct cmd_entry cmd_clone_entry = {
    "clone",
    NULL,
    "clone s3://BUCKET/PREFIX --endpoint URL [--region R] [--path-style] [--name NAME] DIR",
    "Make a store in DIR with every element a remote holds.",
    "  --endpoint URL   the server: https://HOST[:PORT] (http only to loopback)\n"
    "  --region R       the region to sign for (default us-east-1)\n"
    "  --path-style     BUCKET in the path, not in the host name\n"
    "  --name NAME      what the new store calls the remote (default origin)\n"
    "  -j, --jobs N     downloads at once (default 8)\n"
    "  --json           {\"elements\": [...], ...}\n",
    cmd_clone,
};
