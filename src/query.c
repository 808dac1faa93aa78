/* query: a recursive-descent parser for the tag query language that
 * emits SQL as it goes. The invariant: every piece of user text becomes a
 * struct query_param; the SQL text is built only from the fixed fragments
 * in this file and "?N" placeholders. */
#include "config.h"

#include "query.h"
#include "util.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum token_kind { TOK_END, TOK_WORD, TOK_LPAREN, TOK_RPAREN, TOK_NOT, TOK_OR };

struct token {
	enum token_kind kind;
	char *text; /* TOK_WORD: the word with quotes removed */
	bool quoted;
	size_t column; /* 1-based column of the first character */
};

struct parser {
	const char *src;
	size_t pos;
	struct token tok;
	struct strbuf sql;
	struct query_param *params;
	size_t nparams;
	int depth;
};

enum { QUERY_MAX_DEPTH = 64 };

static int syntax_error(size_t column, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int syntax_error(size_t column, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	error_set(EX_USAGE, "column %zu: %s", column, sb_str(&sb));
	sb_release(&sb);
	return -1;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Reads the next token into p->tok. A word runs to whitespace or a
 * parenthesis; double quotes inside it protect both. */
static int next_token(struct parser *p)
{
	free(p->tok.text);
	memset(&p->tok, 0, sizeof(p->tok));
	while (is_space(p->src[p->pos]))
		p->pos++;
	p->tok.column = p->pos + 1;
	char c = p->src[p->pos];
	if (!c) {
		p->tok.kind = TOK_END;
		return 0;
	}
	if (c == '(' || c == ')') {
		p->tok.kind = c == '(' ? TOK_LPAREN : TOK_RPAREN;
		p->pos++;
		return 0;
	}
	if (c == '-') {
		char d = p->src[p->pos + 1];
		if (!d || is_space(d))
			return syntax_error(p->tok.column, "'-' must be followed by a term");
		p->tok.kind = TOK_NOT;
		p->pos++;
		return 0;
	}
	struct strbuf word = STRBUF_INIT;
	bool in_quote = false;
	size_t quote_column = 0;
	for (;;) {
		c = p->src[p->pos];
		if (!c)
			break;
		if (!in_quote && (is_space(c) || c == '(' || c == ')'))
			break;
		if (c == '"') {
			in_quote = !in_quote;
			quote_column = p->pos + 1;
			p->tok.quoted = true;
			p->pos++;
			continue;
		}
		sb_addc(&word, c);
		p->pos++;
	}
	if (in_quote) {
		sb_release(&word);
		return syntax_error(quote_column, "unterminated '\"'");
	}
	p->tok.text = sb_detach(&word);
	p->tok.kind = !p->tok.quoted && strcmp(p->tok.text, "OR") == 0 ? TOK_OR : TOK_WORD;
	return 0;
}

static int add_text_param(struct parser *p, const char *text)
{
	p->params = xrealloc(p->params, (p->nparams + 1) * sizeof(*p->params));
	p->params[p->nparams] = (struct query_param){QUERY_PARAM_TEXT, xstrdup(text), 0};
	return (int)++p->nparams;
}

static int add_int_param(struct parser *p, int64_t value)
{
	p->params = xrealloc(p->params, (p->nparams + 1) * sizeof(*p->params));
	p->params[p->nparams] = (struct query_param){QUERY_PARAM_INT, NULL, value};
	return (int)++p->nparams;
}

/* Turns a user pattern with '*' wildcards into a GLOB pattern in which
 * every other GLOB metacharacter is literal. */
static char *glob_pattern(const char *value, bool *wild)
{
	struct strbuf sb = STRBUF_INIT;
	*wild = false;
	for (const char *s = value; *s; s++) {
		if (*s == '*') {
			*wild = true;
			sb_addc(&sb, '*');
		} else if (*s == '?' || *s == '[') {
			sb_addc(&sb, '[');
			sb_addc(&sb, *s);
			sb_addc(&sb, ']');
		} else {
			sb_addc(&sb, *s);
		}
	}
	return sb_detach(&sb);
}

/* "= ?N" or "GLOB ?N" for a value that may hold wildcards. */
static void emit_match(struct parser *p, const char *value)
{
	bool wild;
	char *pattern = glob_pattern(value, &wild);
	int n = add_text_param(p, wild ? pattern : value);
	sb_addf(&p->sql, wild ? " GLOB ?%d" : " = ?%d", n);
	free(pattern);
}

static const char *const reserved_fields[] = {"character", "role", "format", "hash"};

static int emit_field(struct parser *p, const char *field, const char *value, size_t column)
{
	if (!*value)
		return syntax_error(column, "'%s:' needs a value", field);
	if (strcmp(field, "character") == 0) {
		/* Spelled so an asset without a character is false, not NULL,
		 * and "-character:x" still matches it. */
		sb_adds(&p->sql, "(a.character_id IS NOT NULL AND a.character_id IN "
				 "(SELECT id FROM characters WHERE slug");
		emit_match(p, value);
		sb_adds(&p->sql, "))");
	} else if (strcmp(field, "role") == 0) {
		sb_adds(&p->sql, "a.role");
		emit_match(p, value);
	} else if (strcmp(field, "format") == 0) {
		sb_adds(&p->sql, "a.format");
		emit_match(p, strcmp(value, "jpg") == 0 ? "jpeg" : value);
	} else {
		size_t len = strlen(value);
		if (len > 32 || strspn(value, "0123456789abcdef") != len)
			return syntax_error(column, "hash:%s is not a hex prefix", value);
		/* A prefix is a range on the unique hash index. */
		char upper[40];
		snprintf(upper, sizeof(upper), "%s~", value);
		int lo = add_text_param(p, value), hi = add_text_param(p, upper);
		sb_addf(&p->sql,
			"a.blob_id IN (SELECT id FROM blobs WHERE hash >= ?%d AND hash < ?%d)", lo,
			hi);
	}
	return 0;
}

static int parse_date(const char *s, int64_t *out)
{
	int y, m, d;
	char tail;
	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 ||
	    m > 12 || d < 1)
		return -1;
	static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d > days[m - 1] || (m == 2 && d == 29 && !leap))
		return -1;
	/* Days from civil (Howard Hinnant), so no time zone enters. */
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	*out = (era * 146097 + doe - 719468) * 86400;
	return 0;
}

static const char *const numeric_fields[] = {"width", "height", "bytes", "added"};

/* A word like width>=512 or added<2026-01-01; returns 1 when the word is
 * not a comparison at all. */
static int emit_comparison(struct parser *p, const char *word, size_t column)
{
	size_t name_len = strcspn(word, "<>=");
	if (!word[name_len] || name_len == 0)
		return 1;
	char *field = xstrndup(word, name_len);
	for (char *c = field; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	const char *op_start = word + name_len;
	size_t op_len = strspn(op_start, "<>=");
	char op[3] = {0};
	const char *value = op_start + op_len;
	size_t value_column = column + name_len + op_len;
	int rc = -1;
	bool known = false;
	for (size_t i = 0; i < sizeof(numeric_fields) / sizeof(numeric_fields[0]); i++)
		known |= strcmp(field, numeric_fields[i]) == 0;
	if (!known) {
		syntax_error(column,
			     "unknown field '%s' in a comparison "
			     "(width, height, bytes, added)",
			     field);
		goto out;
	}
	if (op_len <= 2)
		memcpy(op, op_start, op_len);
	if (strcmp(op, ">") && strcmp(op, ">=") && strcmp(op, "<") && strcmp(op, "<=") &&
	    strcmp(op, "=")) {
		char *shown = xstrndup(op_start, op_len);
		syntax_error(column + name_len, "unknown comparison '%s'", shown);
		free(shown);
		goto out;
	}
	int64_t n;
	if (strcmp(field, "added") == 0) {
		if (parse_date(value, &n) < 0) {
			syntax_error(value_column, "'%s' is not a date (YYYY-MM-DD)", value);
			goto out;
		}
		/* A date names a whole UTC day. */
		int64_t day_end = n + 86400;
		if (!strcmp(op, ">"))
			sb_addf(&p->sql, "a.added >= ?%d", add_int_param(p, day_end));
		else if (!strcmp(op, ">="))
			sb_addf(&p->sql, "a.added >= ?%d", add_int_param(p, n));
		else if (!strcmp(op, "<"))
			sb_addf(&p->sql, "a.added < ?%d", add_int_param(p, n));
		else if (!strcmp(op, "<="))
			sb_addf(&p->sql, "a.added < ?%d", add_int_param(p, day_end));
		else
			sb_addf(&p->sql, "(a.added >= ?%d AND a.added < ?%d)", add_int_param(p, n),
				add_int_param(p, day_end));
	} else {
		if (parse_i64(value, &n) < 0 || n < 0) {
			syntax_error(value_column, "'%s' is not a whole number", value);
			goto out;
		}
		const char *column_name = !strcmp(field, "bytes") ? "b.bytes" : NULL;
		if (column_name)
			sb_addf(&p->sql, "a.blob_id IN (SELECT id FROM blobs b WHERE %s %s ?%d)",
				column_name, op, add_int_param(p, n));
		else
			sb_addf(&p->sql, "a.%s %s ?%d", field, op, add_int_param(p, n));
	}
	rc = 0;
out:
	free(field);
	return rc;
}

static int emit_tag(struct parser *p, const char *word, size_t column)
{
	char *ns, *value;
	if (tag_parse(word, &ns, &value) < 0)
		return syntax_error(column, "%s", error_message());
	/* A tag matches an asset's own tags and the tags of its character. */
	struct strbuf match = STRBUF_INIT;
	sb_adds(&match, "g.ns");
	struct strbuf saved = p->sql;
	p->sql = match;
	emit_match(p, ns);
	sb_adds(&p->sql, " AND g.value");
	emit_match(p, value);
	match = p->sql;
	p->sql = saved;
	sb_addf(&p->sql,
		"a.id IN (SELECT t.asset_id FROM tags g JOIN asset_tags t ON t.tag_id = g.id "
		"WHERE %s UNION ALL SELECT x.id FROM tags g JOIN character_tags ct ON "
		"ct.tag_id = g.id JOIN assets x ON x.character_id = ct.character_id WHERE %s)",
		match.buf, match.buf);
	sb_release(&match);
	free(ns);
	free(value);
	return 0;
}

static int emit_term(struct parser *p)
{
	const char *word = p->tok.text;
	size_t column = p->tok.column;
	if (!p->tok.quoted) {
		int rc = emit_comparison(p, word, column);
		if (rc <= 0)
			return rc;
	}
	const char *colon = strchr(word, ':');
	if (colon) {
		for (size_t i = 0; i < sizeof(reserved_fields) / sizeof(reserved_fields[0]); i++) {
			size_t n = strlen(reserved_fields[i]);
			if ((size_t)(colon - word) == n &&
			    strncasecmp(word, reserved_fields[i], n) == 0) {
				char *value = xstrdup(colon + 1);
				for (char *c = value; *c; c++)
					if (*c >= 'A' && *c <= 'Z')
						*c = (char)(*c - 'A' + 'a');
				int rc = emit_field(p, reserved_fields[i], value, column + n + 1);
				free(value);
				return rc;
			}
		}
	}
	return emit_tag(p, word, column);
}

static int parse_or(struct parser *p);

static int parse_unary(struct parser *p)
{
	switch (p->tok.kind) {
	case TOK_NOT:
		if (next_token(p) < 0)
			return -1;
		sb_adds(&p->sql, "NOT ");
		return parse_unary(p);
	case TOK_LPAREN: {
		size_t open_column = p->tok.column;
		if (++p->depth > QUERY_MAX_DEPTH)
			return syntax_error(open_column, "parentheses nested too deep");
		if (next_token(p) < 0)
			return -1;
		if (p->tok.kind == TOK_RPAREN)
			return syntax_error(p->tok.column, "empty parentheses");
		sb_adds(&p->sql, "(");
		if (parse_or(p) < 0)
			return -1;
		if (p->tok.kind != TOK_RPAREN) {
			struct strbuf msg = STRBUF_INIT;
			sb_addf(&msg, "expected ')' to close the '(' at column %zu", open_column);
			int rc = syntax_error(p->tok.column, "%s", msg.buf);
			sb_release(&msg);
			return rc;
		}
		sb_adds(&p->sql, ")");
		p->depth--;
		return next_token(p);
	}
	case TOK_WORD:
		if (emit_term(p) < 0)
			return -1;
		return next_token(p);
	case TOK_OR:
		return syntax_error(p->tok.column, "'OR' needs a term on each side");
	case TOK_RPAREN:
		return syntax_error(p->tok.column, "unexpected ')'");
	case TOK_END:
		return syntax_error(p->tok.column, "expected a term at the end of the query");
	}
	return -1;
}

static bool starts_term(const struct parser *p)
{
	return p->tok.kind == TOK_WORD || p->tok.kind == TOK_NOT || p->tok.kind == TOK_LPAREN;
}

/* and := unary unary* (juxtaposition is AND) */
static int parse_and(struct parser *p)
{
	sb_adds(&p->sql, "(");
	if (parse_unary(p) < 0)
		return -1;
	while (starts_term(p)) {
		sb_adds(&p->sql, " AND ");
		if (parse_unary(p) < 0)
			return -1;
	}
	sb_adds(&p->sql, ")");
	return 0;
}

/* or := and ("OR" and)* */
static int parse_or(struct parser *p)
{
	if (parse_and(p) < 0)
		return -1;
	while (p->tok.kind == TOK_OR) {
		if (next_token(p) < 0)
			return -1;
		sb_adds(&p->sql, " OR ");
		if (parse_and(p) < 0)
			return -1;
	}
	return 0;
}

struct query *query_compile(const char *text)
{
	struct parser p = {.src = text};
	struct query *q = NULL;
	if (text_check("the query", text) < 0)
		return NULL;
	if (next_token(&p) < 0)
		goto out;
	if (p.tok.kind == TOK_END) {
		sb_adds(&p.sql, "1");
	} else {
		if (parse_or(&p) < 0)
			goto out;
		if (p.tok.kind != TOK_END) {
			syntax_error(p.tok.column, "unexpected ')'");
			goto out;
		}
	}
	q = xcalloc(1, sizeof(*q));
	q->where = sb_detach(&p.sql);
	q->params = p.params;
	q->nparams = p.nparams;
	p.params = NULL;
	p.nparams = 0;
out:
	free(p.tok.text);
	sb_release(&p.sql);
	for (size_t i = 0; i < p.nparams; i++)
		free(p.params[i].text);
	free(p.params);
	return q;
}

void query_free(struct query *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->nparams; i++)
		free(q->params[i].text);
	free(q->params);
	free(q->where);
	free(q);
}
