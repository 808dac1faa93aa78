/* troupe inject: mentioned characters into a request, printed for another
 * tool to send. It parses options and prints; choosing, fitting and
 * placing the references is inject.c's, and nothing is sent from here. */
#include "config.h"

#include "catalog.h"
#include "cli-request.h"
#include "commands.h"
#include "json.h"
#include "util.h"

#include <stdio.h>
#include <unistd.h>

static int cmd_inject(struct cli *cli, int argc, char **argv)
{
	struct cli_request a = {.prompt = STRBUF_INIT};
	struct strbuf input = STRBUF_INIT;
	struct catalog *cat = NULL;
	struct profile *p = NULL;
	struct injection in = {0};
	bool help, is_json = false;
	int rc = -1;
	if (cli_request_parse(cli, &cmd_inject_entry, argc, argv, &a, &help) < 0 || help) {
		rc = help ? 0 : -1;
		goto out;
	}
	cat = catalog_open(cli->store_dir);
	/* Into a pipe the request goes through json_write, which encodes the
	 * base64 payloads as it writes them. */
	bool to_terminal = isatty(STDOUT_FILENO);
	a.inject.stream_base64 = !to_terminal;
	if (!cat || !(p = profile_load(a.profile, catalog_root(cat))) ||
	    cli_request_input(&a, &input, &is_json) < 0 ||
	    inject_run(cat, p, sb_str(&input), is_json, &a.inject, &in) < 0)
		goto out;
	if (!a.no_log &&
	    inject_log(cat, p, &in, "inject", a.inject.dry_run ? "preview" : "injected") < 0)
		goto out;
	if (in.text) {
		if (cli->json) {
			cJSON *j = cJSON_CreateObject();
			cJSON_AddStringToObject(j, "prompt", in.text);
			cJSON_AddItemToObject(j, "left_out",
					      a.left_out ? a.left_out : cJSON_CreateArray());
			a.left_out = NULL;
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
	cli_request_clear(&a);
	return rc;
}

static const char request_help[] =
    "  -p, --profile NAME      the service profile (see 'troupe profile list')\n"
    "  -f, --file FILE         the request (JSON) or prompt; '-' or no prompt: stdin\n"
    "      --workflow FILE     the same as --file (for ComfyUI workflows)\n"
    "      --ref QUERY         use the assets QUERY selects as references\n"
    "      --aspect RATIO      set the aspect ratio where the profile puts it\n"
    "      --first-frame FILE|ASSET  the picture an image-to-video clip starts on\n"
    "      --last-frame FILE|ASSET   the picture it ends on\n"
    "      --keep-seed         keep a workflow's own sampler seed\n"
    "      --no-drop           fail when the limits leave a mentioned element no reference\n"
    "      --dry-run           send nothing, read no key: uploads become upload:HASH\n"
    "      --preview           the same as --dry-run\n"
    "      --no-log            record nothing in the request log\n";

const struct cmd_entry cmd_inject_entry = {
    "inject",
    NULL,
    "inject --profile NAME [PROMPT | --file FILE] [--ref QUERY]",
    "Put mentioned characters' references, description, seed and negative prompt into a "
    "request.",
    request_help,
    cmd_inject,
};
