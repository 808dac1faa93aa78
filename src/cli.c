/* cli: help, usage errors and output shared by the command files. It may
 * print; it never opens the store or runs SQL. */
#include "config.h"

#include "asset.h"
#include "character.h"
#include "cli.h"
#include "util.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void cli_print_help(const struct cmd_entry *cmd)
{
	printf("usage: troupe %s\n\n%s\n", cmd->usage, cmd->summary);
	if (cmd->help && *cmd->help)
		printf("\n%s", cmd->help);
	printf("\nEvery command also takes --store DIR, --json, -q and --help.\n"
	       "See troupe-%s(1) for more.\n",
	       cmd->name);
}

int cli_usage_error(const struct cmd_entry *cmd, const char *why)
{
	return error_set(EX_USAGE, "%s (usage: troupe %s)", why, cmd->usage);
}

int cli_parse_int(const char *option, const char *text, int64_t min, int64_t max, int64_t *out)
{
	if (parse_i64(text, out) < 0 || *out < min || *out > max)
		return error_set(EX_USAGE, "%s %s: expected a whole number from %lld to %lld",
				 option, text, (long long)min, (long long)max);
	return 0;
}

struct table {
	int columns;
	char **cells; /* rows * columns, the first row the headers */
	size_t rows;
};

struct table *table_new(int columns, const char *const *headers)
{
	struct table *t = xcalloc(1, sizeof(*t));
	t->columns = columns;
	table_add(t, headers);
	return t;
}

void table_add(struct table *t, const char *const *cells)
{
	t->cells = xrealloc(t->cells, (t->rows + 1) * (size_t)t->columns * sizeof(char *));
	/* Every cell is for a terminal: what a file name or a service put in
	 * it must not reach the terminal as a control sequence. */
	for (int c = 0; c < t->columns; c++)
		t->cells[t->rows * (size_t)t->columns + (size_t)c] =
		    text_escape(cells[c] ? cells[c] : "");
	t->rows++;
}

/* Display width of UTF-8 text: one column per code point. */
static size_t text_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		w += ((unsigned char)*s & 0xC0) != 0x80;
	return w;
}

void table_print(struct table *t, FILE *out)
{
	size_t *width = xcalloc((size_t)t->columns, sizeof(size_t));
	for (size_t r = 0; r < t->rows; r++)
		for (int c = 0; c < t->columns; c++) {
			size_t w = text_width(t->cells[r * (size_t)t->columns + (size_t)c]);
			if (w > width[c])
				width[c] = w;
		}
	for (size_t r = 0; r < t->rows; r++) {
		for (int c = 0; c < t->columns; c++) {
			const char *cell = t->cells[r * (size_t)t->columns + (size_t)c];
			if (c == t->columns - 1) {
				fputs(cell, out);
				break;
			}
			fputs(cell, out);
			bool rest_empty = true;
			for (int k = c + 1; k < t->columns; k++)
				rest_empty &= !*t->cells[r * (size_t)t->columns + (size_t)k];
			if (rest_empty)
				break;
			for (size_t pad = text_width(cell); pad < width[c] + 2; pad++)
				fputc(' ', out);
		}
		fputc('\n', out);
	}
	free(width);
}

void table_free(struct table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->rows * (size_t)t->columns; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

void cli_print_rows(int rc, cJSON *json, struct table *table, bool any)
{
	if (rc == 0 && json)
		json_print(json);
	else
		cJSON_Delete(json);
	if (rc == 0 && table && any)
		table_print(table, stdout);
	table_free(table);
}

void json_print(cJSON *item)
{
	char *text = cJSON_Print(item);
	if (text) {
		fputs(text, stdout);
		fputc('\n', stdout);
	}
	free(text);
	cJSON_Delete(item);
}

cJSON *json_strlist(const struct strlist *l)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < l->n; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(l->items[i]));
	return arr;
}

static void add_string_or_null(cJSON *obj, const char *key, const char *value)
{
	if (value)
		cJSON_AddStringToObject(obj, key, value);
	else
		cJSON_AddNullToObject(obj, key);
}

cJSON *json_asset(const struct asset *a)
{
	char added[32];
	time_iso8601(a->added, added);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)a->id);
	cJSON_AddStringToObject(o, "hash", a->hash);
	add_string_or_null(o, "character", a->character);
	cJSON_AddStringToObject(o, "role", a->role);
	cJSON_AddItemToObject(o, "tags", json_strlist(&a->tags));
	cJSON_AddStringToObject(o, "path", a->path);
	cJSON_AddNumberToObject(o, "width", a->width);
	cJSON_AddNumberToObject(o, "height", a->height);
	cJSON_AddStringToObject(o, "format", a->format);
	cJSON_AddNumberToObject(o, "bytes", (double)a->bytes);
	cJSON_AddStringToObject(o, "added", added);
	add_string_or_null(o, "source", a->source);
	if (a->codec) {
		cJSON_AddNumberToObject(o, "duration", a->duration);
		cJSON_AddNumberToObject(o, "fps", a->fps);
		cJSON_AddStringToObject(o, "codec", a->codec);
	}
	if (a->frame_of) {
		cJSON *from = cJSON_AddObjectToObject(o, "frame_of");
		cJSON_AddNumberToObject(from, "asset", (double)a->frame_of);
		cJSON_AddNumberToObject(from, "t", a->frame_t);
	}
	return o;
}

cJSON *json_character(const struct character *c)
{
	char created[32], updated[32];
	time_iso8601(c->created, created);
	time_iso8601(c->updated, updated);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)c->id);
	cJSON_AddStringToObject(o, "slug", c->slug);
	cJSON_AddStringToObject(o, "kind", c->kind);
	cJSON_AddStringToObject(o, "name", c->name);
	cJSON_AddStringToObject(o, "description", c->description);
	cJSON_AddStringToObject(o, "negative", c->negative);
	if (c->has_seed)
		cJSON_AddNumberToObject(o, "seed", (double)c->seed);
	else
		cJSON_AddNullToObject(o, "seed");
	cJSON_AddItemToObject(o, "tags", json_strlist(&c->tags));
	cJSON_AddItemToObject(o, "aliases", json_strlist(&c->aliases));
	cJSON_AddNumberToObject(o, "assets", (double)c->assets);
	cJSON_AddStringToObject(o, "created", created);
	cJSON_AddStringToObject(o, "updated", updated);
	return o;
}

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
	cJSON *refs = cJSON_AddArrayToObject(j, "references");
	for (size_t i = 0; i < e->nrefs; i++) {
		const struct log_ref *r = &e->refs[i];
		cJSON *o = cJSON_CreateObject();
		if (r->asset_id)
			cJSON_AddNumberToObject(o, "asset", (double)r->asset_id);
		else
			cJSON_AddNullToObject(o, "asset");
		cJSON_AddStringToObject(o, "hash", r->source_hash);
		cJSON_AddStringToObject(o, "sent", r->sent_hash);
		add_string_or_null(o, "tag", r->tag);
		if (r->upload)
			cJSON_AddStringToObject(o, "upload", r->upload);
		cJSON_AddItemToArray(refs, o);
	}
	cJSON *outs = cJSON_AddArrayToObject(j, "outputs");
	for (size_t i = 0; i < e->noutputs; i++) {
		const struct log_output *out = &e->outputs[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "asset", (double)out->asset_id);
		cJSON_AddStringToObject(o, "hash", out->hash);
		add_string_or_null(o, "url", out->url);
		cJSON_AddItemToArray(outs, o);
	}
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

char *tags_joined(const struct strlist *l)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < l->n; i++) {
		if (i)
			sb_adds(&sb, ", ");
		sb_adds(&sb, l->items[i]);
	}
	return sb_detach(&sb);
}
