/* troupe profile: list, show, validate and trust service profiles. It prints;
 * finding and checking a profile is profile.c's. */
#include "config.h"

#include "catalog.h"
#include "commands.h"
#include "profile.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void print_profile_line(const struct profile *p, const char *file, struct table *t)
{
	static const char *const encodings[] = {"url",	     "base64", "data_uri",
						"multipart", "path",   "upload"};
	char refs[16];
	snprintf(refs, sizeof(refs), "%d", p->refs.max);
	const char *row[] = {p->name,
			     p->service,
			     p->output == PROFILE_TEXT ? "text" : "http",
			     encodings[p->refs.encoding],
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
		cli_usage_error(&cmd_profile_entry,
				"which subcommand? (list, show, validate, trust)");
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
				warn_user("%s", error_message());
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
		if (arr) {
			json_print(arr);
		} else if (names.n) {
			table_print(t, stdout);
		} else {
			/* Nothing found is most often an install that went wrong:
			 * say where to look. */
			struct strlist dirs = {0};
			profile_dirs(root, &dirs);
			struct strbuf where = STRBUF_INIT;
			for (size_t i = 0; i < dirs.n; i++)
				sb_addf(&where, "%s%s", i ? ", " : "", dirs.items[i]);
			rc = error_set(EX_CONFIG, "no profiles found (looked in %s)", where.buf);
			sb_release(&where);
			strlist_clear(&dirs);
		}
		table_free(t);
		strlist_clear(&names);
		strlist_clear(&files);
	} else if (!strcmp(sub, "show") && args.n == 2) {
		struct profile *p = profile_find(args.items[1], root);
		if (p) {
			if (!cli->json)
				printf("# %s\n", p->file);
			json_print(cJSON_Duplicate(p->raw, 1));
			profile_free(p);
			rc = 0;
		}
	} else if (!strcmp(sub, "validate") && args.n >= 2) {
		/* FILE|NAME... is a listing: an array, printed when all passed. */
		cJSON *arr = cli->json ? cJSON_CreateArray() : NULL;
		rc = 0;
		for (size_t i = 1; i < args.n; i++) {
			struct stat st;
			struct profile *p = stat(args.items[i], &st) == 0
						? profile_load_file(args.items[i])
						: profile_find(args.items[i], root);
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
			if (arr) {
				cJSON *j = cJSON_CreateObject();
				cJSON_AddStringToObject(j, "profile", args.items[i]);
				cJSON_AddStringToObject(j, "name", p->name);
				cJSON_AddStringToObject(j, "service", p->service);
				cJSON_AddStringToObject(j, "file", p->file);
				cJSON_AddItemToArray(arr, j);
			} else if (!cli->quiet) {
				char *file = text_escape(args.items[i]);
				char *name = text_escape(p->name);
				char *service = text_escape(p->service);
				printf("%s: ok (%s, %s)\n", file, name, service);
				free(file);
				free(name);
				free(service);
			}
			profile_free(p);
		}
		if (rc == 0 && arr)
			json_print(arr);
		else
			cJSON_Delete(arr);
	} else if (!strcmp(sub, "trust") && args.n >= 2) {
		rc = 0;
		cJSON *arr = cli->json ? cJSON_CreateArray() : NULL;
		for (size_t i = 1; i < args.n && rc == 0; i++) {
			struct profile *p = profile_find(args.items[i], root);
			if (!p) {
				rc = -1;
				break;
			}
			rc = profile_trust(p);
			if (rc == 0 && arr) {
				cJSON *j = cJSON_CreateObject();
				cJSON_AddStringToObject(j, "name", p->name);
				cJSON_AddStringToObject(j, "file", p->file);
				cJSON_AddStringToObject(j, "sha256", p->sha256);
				cJSON_AddItemToArray(arr, j);
			} else if (rc == 0 && !cli->quiet) {
				printf("trusted %s: %s (sha256 %s)\n", p->name, p->file, p->sha256);
			}
			profile_free(p);
		}
		if (arr && rc == 0)
			json_print(arr);
		else
			cJSON_Delete(arr);
	} else {
		cli_usage_error(&cmd_profile_entry,
				"expected list, show NAME, validate FILE... or trust NAME...");
	}
	free(root);
out:
	strlist_clear(&args);
	return rc;
}

const struct cmd_entry cmd_profile_entry = {
    "profile",
    NULL,
    "profile list | show NAME | validate FILE|NAME... | trust NAME...",
    "List, show, check and trust service profiles (the format is in troupe-profile(5)).",
    "",
    cmd_profile,
};
