/* troupe query: assets by tag query, as a table, JSON, paths or a count.
 * The language itself is in query.c and troupe-query(7). */
#include "config.h"

#include "asset.h"
#include "catalog.h"
#include "commands.h"
#include "query.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_PATHS = 1, OPT_LIMIT, OPT_SORT, OPT_COUNT };

static const struct opt_spec query_specs[] = {
    {"paths", 'p', false, OPT_PATHS},
    {"limit", 'n', true, OPT_LIMIT},
    {"sort", 's', true, OPT_SORT},
    {"count", 0, false, OPT_COUNT},
    {NULL, 0, false, 0},
};

enum output_form { FORM_TABLE, FORM_JSON, FORM_PATHS };

struct printer {
	enum output_form form;
	struct table *table;
	size_t rows;
};

static int print_row(const struct asset *a, void *ctx)
{
	struct printer *p = ctx;
	if (p->form == FORM_PATHS) {
		puts(a->path);
	} else if (p->form == FORM_JSON) {
		/* Streamed, one object per line, so a large result needs no
		 * tree in memory. */
		cJSON *o = json_asset(a);
		char *text = cJSON_PrintUnformatted(o);
		printf("%s%s", p->rows ? ",\n  " : "[\n  ", text);
		free(text);
		cJSON_Delete(o);
	} else {
		char id[24], size[24], hash[17];
		snprintf(id, sizeof(id), "%lld", (long long)a->id);
		snprintf(size, sizeof(size), "%dx%d", a->width, a->height);
		snprintf(hash, sizeof(hash), "%.16s", a->hash);
		char *tags = tags_joined(&a->tags);
		const char *row[] = {
		    id, hash, a->character ? a->character : "-", a->role, size, a->format, tags};
		table_add(p->table, row);
		free(tags);
	}
	p->rows++;
	return 0;
}

static int cmd_query(struct cli *cli, int argc, char **argv)
{
	struct opts o;
	const char *arg;
	struct strbuf text = STRBUF_INIT;
	struct query_options qo = {SORT_ID, false, 0};
	bool paths = false, count_only = false;
	struct catalog *cat = NULL;
	int id, rc = -1;
	opts_init(&o, cli, argc, argv, query_specs);
	o.dash_words = true;
	while ((id = opts_next(&o, &arg)) != OPT_END) {
		switch (id) {
		case OPT_ERROR:
			goto out;
		case OPT_HELP:
			cli_print_help(&cmd_query_entry);
			rc = 0;
			goto out;
		case OPT_PATHS:
			paths = true;
			break;
		case OPT_COUNT:
			count_only = true;
			break;
		case OPT_LIMIT:
			if (cli_parse_int("--limit", arg, 1, INT64_MAX, &qo.limit) < 0)
				goto out;
			break;
		case OPT_SORT:
			if (query_sort_parse(arg, &qo) < 0)
				goto out;
			break;
		case OPT_POSITIONAL:
			if (text.len)
				sb_addc(&text, ' ');
			sb_adds(&text, arg);
			break;
		}
	}
	if (paths && cli->json) {
		error_set(EX_USAGE, "--paths and --json together");
		goto out;
	}
	cat = catalog_open(cli->store_dir);
	if (!cat)
		goto out;
	if (count_only) {
		int64_t n;
		if (catalog_query_count(cat, sb_str(&text), &n) < 0)
			goto out;
		if (cli->json)
			printf("{\"count\": %lld}\n", (long long)n);
		else
			printf("%lld\n", (long long)n);
		rc = 0;
		goto out;
	}
	static const char *const headers[] = {"ID",   "HASH",	"CHARACTER", "ROLE",
					      "SIZE", "FORMAT", "TAGS"};
	struct printer p = {cli->json ? FORM_JSON : paths ? FORM_PATHS : FORM_TABLE, NULL, 0};
	if (p.form == FORM_TABLE)
		p.table = table_new(7, headers);
	rc = catalog_query(cat, sb_str(&text), &qo, print_row, &p);
	if (rc == 0 && p.form == FORM_JSON)
		fputs(p.rows ? "\n]\n" : "[]\n", stdout);
	if (rc == 0 && p.table && p.rows)
		table_print(p.table, stdout);
	table_free(p.table);
out:
	catalog_close(cat);
	sb_release(&text);
	return rc;
}

const struct cmd_entry cmd_query_entry = {
    "query",
    "q",
    "query [QUERY] [--json|--paths] [--limit N] [--sort KEY] [--count]",
    "List assets that match a tag query (see troupe-query(7)).",
    "  QUERY                   e.g. 'character:mei role:face -draft (look:a OR look:b)'\n"
    "  -p, --paths             print only the blob path of each asset\n"
    "  -n, --limit N           at most N assets\n"
    "  -s, --sort KEY          id (default), added, width, height, bytes, character,\n"
    "                          role; '-KEY' sorts descending\n"
    "      --count             print only how many assets match\n",
    cmd_query,
};
