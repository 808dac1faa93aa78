/* cli-request: what inject and generate share on the command line: the
 * options that name a service and shape a request, and reading the
 * request from the prompt words, a file or standard input. Only command
 * files include it; it never sends or injects anything itself. */
#ifndef TROUPE_CLI_REQUEST_H
#define TROUPE_CLI_REQUEST_H

#include "cli.h"
#include "inject.h"
#include "util.h"

struct cli_request {
	const char *profile;
	const char *file;
	const char *output;
	int64_t timeout;
	bool verbose;
	bool no_log; /* inject --no-log: record nothing */
	struct inject_options inject;
	struct strbuf prompt;
	/* What the reference limits left out, for --json (NULL: nothing). */
	cJSON *left_out;
};

/* Parses the options of inject and generate (one table serves both) into
 * a, which starts zeroed with prompt = STRBUF_INIT. *help is set when
 * --help was printed. -1 with a usage error when no profile is named or
 * both a prompt and --file are given. */
int cli_request_parse(struct cli *cli, const struct cmd_entry *entry, int argc, char **argv,
		      struct cli_request *a, bool *help);
/* The request: the prompt words, else --file ('-' is standard input),
 * else standard input when it is not a terminal; appended to input.
 * *is_json says whether it is JSON (it starts with '{' or '['), which is
 * then checked to parse. -1 with an error when it is empty, holds a NUL,
 * or cannot be read. */
int cli_request_input(const struct cli_request *a, struct strbuf *input, bool *is_json);
/* Frees what a holds. */
void cli_request_clear(struct cli_request *a);

#endif
