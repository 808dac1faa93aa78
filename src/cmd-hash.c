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
	int id, files = 0;
	opts_init(&o, cli, argc, argv, NULL);
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		if (id == OPT_ERROR)
			return -1;
		if (id == OPT_HELP) {
			cli_print_help(&cmd_hash_entry);
			return 0;
		}
		char hex[STORE_HASH_HEX + 1];
		if (store_hash_file(arg, hex) < 0)
			return -1;
		if (cli->json) {
			cJSON *line = cJSON_CreateObject();
			cJSON_AddStringToObject(line, "hash", hex);
			cJSON_AddStringToObject(line, "file", arg);
			char *text = cJSON_PrintUnformatted(line);
			puts(text);
			free(text);
			cJSON_Delete(line);
		} else {
			printf("%s  %s\n", hex, arg);
		}
		files++;
	}
	if (!files)
		return cli_usage_error(&cmd_hash_entry, "no file given");
	return 0;
}

const struct cmd_entry cmd_hash_entry = {
    "hash",
    NULL,
    "hash FILE...",
    "Print the XXH3-128 content hash of files ('-': standard input), as xxh128sum does.",
    "  --json   one JSON object per line: {\"hash\": ..., \"file\": ...}\n",
    cmd_hash,
};
