/* troupe hash: the content hash troupe names a file's blob by, printed as
 * xxh128sum prints it, so the two can be compared. */
#include "config.h"

#include "commands.h"
#include "util.h"

#include <stdlib.h>

static int cmd_hash(struct cli *cli, int argc, char **argv)
{
	struct opts o;
	const char *arg;
	struct strlist files = {0};
	cJSON *arr = NULL;
	int id, rc = -1;
	opts_init(&o, cli, argc, argv, NULL);
	/* Every option is read before any file is hashed: --json after the
	 * files counts, as getopt_long would have it. */
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		if (id == OPT_ERROR)
			goto out;
		if (id == OPT_HELP) {
			cli_print_help(&cmd_hash_entry);
			rc = 0;
			goto out;
		}
		strlist_push(&files, arg);
	}
	if (!files.n) {
		cli_usage_error(&cmd_hash_entry, "no file given");
		goto out;
	}
	arr = cli->json ? cJSON_CreateArray() : NULL;
	for (size_t i = 0; i < files.n; i++) {
		char hex[STORE_HASH_HEX + 1];
		if (store_hash_file(files.items[i], hex) < 0)
			goto out;
		if (arr) {
			cJSON *item = cJSON_CreateObject();
			cJSON_AddStringToObject(item, "hash", hex);
			cJSON_AddStringToObject(item, "file", files.items[i]);
			cJSON_AddItemToArray(arr, item);
		} else {
			char *shown = text_escape(files.items[i]);
			printf("%s  %s\n", hex, shown);
			free(shown);
		}
	}
	if (arr)
		json_print(arr);
	arr = NULL;
	rc = 0;
out:
	cJSON_Delete(arr);
	strlist_clear(&files);
	return rc;
}

const struct cmd_entry cmd_hash_entry = {
    "hash",
    NULL,
    "hash FILE...",
    "Print the XXH3-128 content hash of files ('-': standard input), as xxh128sum does.",
    "  --json   an array of {\"hash\": ..., \"file\": ...}, one for each file\n",
    cmd_hash,
};
