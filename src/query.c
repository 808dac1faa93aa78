/* query: a recursive-descent parser for the tag query language that
 * emits SQL as it goes. The invariant: every piece of user text becomes a
 * struct query_param; the SQL text is built only from the fixed fragments
 * in this file and "?N" placeholders. Over 800 lines because the parser
 * and its SQL fragments must stay side by side for that invariant to be
 * checked by reading one file. */
#include "config.h"

#include "query.h"
#include "role.h"
#include "util.h"

#include <errno.h>
#include <math.h>
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
	bool term_is_set;	 /* the last term emitted a set, not a predicate */
	struct query_plan *leaf; /* the last term for the posting lists, or NULL */
};

/* SQLite's parser has a bounded stack: a group costs a subquery or two, so
 * nesting stops well before it runs out. */
enum { QUERY_MAX_DEPTH = 6 };

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

/* "= ?N" or "GLOB ?N" for a value that may hold wildcards; true for
 * GLOB. The text bound is the last parameter. */
static bool emit_match(struct parser *p, const char *value)
{
	bool wild;
	char *pattern = glob_pattern(value, &wild);
	int n = add_text_param(p, wild ? pattern : value);
	sb_addf(&p->sql, wild ? " GLOB ?%d" : " = ?%d", n);
	free(pattern);
	return wild;
}

static void plan_free(struct query_plan *plan)
{
	if (!plan)
		return;
	for (size_t i = 0; i < plan->nchildren; i++)
		plan_free(plan->children[i]);
	free(plan->children);
	free(plan->ns);
	free(plan->value);
	free(plan);
}

static struct query_plan *plan_new(enum query_plan_kind kind)
{
	struct query_plan *plan = xcalloc(1, sizeof(*plan));
	plan->kind = kind;
	return plan;
}

/* The term just emitted, as a leaf whose value is the pattern its last
 * emit_match bound. */
static void plan_leaf(struct parser *p, enum query_plan_kind kind, bool glob)
{
	plan_free(p->leaf);
	p->leaf = plan_new(kind);
	p->leaf->value = xstrdup(p->params[p->nparams - 1].text);
	p->leaf->value_glob = glob;
}

const char *const query_fields[] = {"character", "role", "format", "hash", "kind", NULL};

static int emit_field(struct parser *p, const char *field, const char *value, size_t column)
{
	if (!*value)
		return syntax_error(column, "'%s:' needs a value", field);
	if (strcmp(field, "character") == 0) {
		/* Spelled so an asset without a character is false, not NULL,
		 * and "-character:x" still matches it. */
		sb_adds(&p->sql, "(a.character_id IS NOT NULL AND a.character_id IN "
				 "(SELECT id FROM characters WHERE slug");
		plan_leaf(p, QUERY_PLAN_CHARACTER, emit_match(p, value));
		sb_adds(&p->sql, "))");
	} else if (strcmp(field, "kind") == 0) {
		/* A misspelt kind would match nothing, silently. */
		if (!strchr(value, '*') && element_kind_index(value) < 0)
			return syntax_error(
			    column, "kind:%s is not a kind (character, location, prop, style)",
			    value);
		sb_adds(&p->sql, "(a.character_id IS NOT NULL AND a.character_id IN "
				 "(SELECT id FROM characters WHERE kind");
		plan_leaf(p, QUERY_PLAN_KIND, emit_match(p, value));
		sb_adds(&p->sql, "))");
	} else if (strcmp(field, "role") == 0) {
		sb_adds(&p->sql, "a.role");
		plan_leaf(p, QUERY_PLAN_ROLE, emit_match(p, value));
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

static const char *const numeric_fields[] = {"width", "height",	  "bytes",
					     "added", "duration", "fps"};

static int add_real_param(struct parser *p, double value)
{
	p->params = xrealloc(p->params, (p->nparams + 1) * sizeof(*p->params));
	p->params[p->nparams] = (struct query_param){QUERY_PARAM_REAL, NULL, 0, value};
	return (int)++p->nparams;
}

/* A video's seconds (duration>=4, duration<2.5s) or frames a second; a
 * picture has neither, so no comparison matches it. */
static int parse_real(const char *value, bool seconds, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(value, &end);
	if (end != value && seconds && !strcmp(end, "s"))
		end++;
	if (errno || *end || !isfinite(v) || v < 0 || !(*value >= '0' && *value <= '9'))
		return -1;
	*out = v;
	return 0;
}

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
			     "(width, height, bytes, added, duration, fps)",
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
	if (!strcmp(field, "duration") || !strcmp(field, "fps")) {
		double v;
		bool seconds = !strcmp(field, "duration");
		if (parse_real(value, seconds, &v) < 0) {
			syntax_error(value_column, "'%s' is not a number%s", value,
				     seconds ? " of seconds" : "");
			goto out;
		}
		sb_addf(&p->sql, "a.%s %s ?%d", field, op, add_real_param(p, v));
	} else if (strcmp(field, "added") == 0) {
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

/* What a term, a group or the whole query compiles to: the assets that
 * satisfy pred (an SQL boolean on "a"; empty for none) and whose id is in
 * set (a SELECT of one column "id"; empty for none). Tags are sets and
 * fields are predicates. A tag's set is a (tag_id, asset_id) index range,
 * already in id order, so sets combined with INTERSECT, UNION ALL and
 * EXCEPT under one ORDER BY are merged by SQLite in one pass; the former
 * "a.id IN (subquery)" per tag built a temporary b-tree of every asset of
 * every tag first. A field stays a predicate so its column index serves it.
 * Duplicate ids in a set do no harm: every consumer of one (IN, INTERSECT,
 * EXCEPT) treats it as a set, so UNION ALL is used, which SQLite flattens
 * into the merge where UNION would need a b-tree of its own. */
enum set_shape {
	SET_NONE,
	SET_SIMPLE, /* one SELECT */
	SET_UNION,  /* SIMPLE arms joined by UNION ALL only */
	SET_CHAIN,  /* any other compound */
};

struct node {
	struct strbuf pred;
	struct strbuf set;
	enum set_shape shape;
	int terms; /* SELECTs in the set's outermost compound */
	bool negated;
	struct query_plan *plan; /* NULL when a term is not for the posting lists */
};

#define NODE_INIT                                                                                  \
	{                                                                                          \
		STRBUF_INIT, STRBUF_INIT, SET_NONE, 0, false, NULL                                 \
	}

/* SQLite refuses a compound of more than 500 SELECTs (its
 * SQLITE_LIMIT_COMPOUND_SELECT), counted as written; a chain that would
 * grow past this is first wrapped into one SELECT. */
enum { QUERY_MAX_TERMS = 200 };

static void node_release(struct node *n)
{
	sb_release(&n->pred);
	sb_release(&n->set);
	plan_free(n->plan);
	n->plan = NULL;
}

/* A group's plan from its operands' (moved out of them); none when any
 * operand has none. */
static struct query_plan *plan_group(enum query_plan_kind kind, struct node *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!items[i].plan)
			return NULL;
	struct query_plan *plan = plan_new(kind);
	plan->children = xcalloc(n, sizeof(*plan->children));
	for (size_t i = 0; i < n; i++) {
		plan->children[i] = items[i].plan;
		plan->children[i]->negated = items[i].negated;
		items[i].plan = NULL;
	}
	plan->nchildren = n;
	return plan;
}

static void swap_nodes(struct node *a, struct node *b)
{
	struct node t = *a;
	*a = *b;
	*b = t;
}

static void wrap_set(struct node *n)
{
	struct strbuf w = STRBUF_INIT;
	sb_addf(&w, "SELECT id FROM (%s)", n->set.buf);
	sb_release(&n->set);
	n->set = w;
	n->shape = SET_SIMPLE;
	n->terms = 1;
}

/* Appends "OP operand" to n's chain. Compound operators all bind left to
 * right, so an operand on the right must be a single SELECT. */
static void chain_add(struct node *n, const char *op, const struct node *operand)
{
	if (n->terms + 1 > QUERY_MAX_TERMS)
		wrap_set(n);
	if (operand->shape == SET_SIMPLE)
		sb_addf(&n->set, " %s %s", op, operand->set.buf);
	else
		sb_addf(&n->set, " %s SELECT id FROM (%s)", op, operand->set.buf);
	n->shape = SET_CHAIN;
	n->terms++;
}

/* The node's assets as one set: its predicate becomes a SELECT on assets. */
static void node_to_set(struct node *n)
{
	if (!n->pred.len)
		return;
	struct node p = NODE_INIT;
	sb_addf(&p.set, "SELECT a.id AS id FROM assets a WHERE %s", n->pred.buf);
	p.shape = SET_SIMPLE;
	p.terms = 1;
	sb_release(&n->pred);
	if (n->shape == SET_NONE) {
		n->set = p.set;
		n->shape = SET_SIMPLE;
		n->terms = 1;
		return;
	}
	chain_add(n, "INTERSECT", &p);
	node_release(&p);
}

/* The next " UNION ALL " outside parentheses: an arm may be a SELECT over
 * a parenthesised compound. The SQL text holds no string literals (user
 * text is all in parameters), so counting parentheses is exact. */
static const char *next_arm(const char *sql)
{
	int depth = 0;
	for (const char *s = sql; *s; s++) {
		if (*s == '(')
			depth++;
		else if (*s == ')')
			depth--;
		else if (depth == 0 && strncmp(s, " UNION ALL ", 11) == 0)
			return s;
	}
	return NULL;
}

static void pred_and(struct strbuf *pred, const char *prefix, const char *term)
{
	sb_addf(pred, "%s%s%s", pred->len ? " AND " : "", prefix, term);
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
	bool ns_glob = emit_match(p, ns);
	char *ns_pattern = xstrdup(p->params[p->nparams - 1].text);
	sb_adds(&p->sql, " AND g.value");
	plan_leaf(p, QUERY_PLAN_TAG, emit_match(p, value));
	p->leaf->ns = ns_pattern;
	p->leaf->ns_glob = ns_glob;
	match = p->sql;
	p->sql = saved;
	sb_addf(&p->sql,
		"SELECT t.asset_id AS id FROM tags g JOIN asset_tags t ON t.tag_id = g.id "
		"WHERE %s UNION ALL SELECT x.id AS id FROM tags g JOIN character_tags ct ON "
		"ct.tag_id = g.id JOIN assets x ON x.character_id = ct.character_id WHERE %s",
		match.buf, match.buf);
	p->term_is_set = true;
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
		for (size_t i = 0; query_fields[i]; i++) {
			size_t n = strlen(query_fields[i]);
			if ((size_t)(colon - word) == n &&
			    strncasecmp(word, query_fields[i], n) == 0) {
				char *value = xstrdup(colon + 1);
				for (char *c = value; *c; c++)
					if (*c >= 'A' && *c <= 'Z')
						*c = (char)(*c - 'A' + 'a');
				int rc = emit_field(p, query_fields[i], value, column + n + 1);
				free(value);
				return rc;
			}
		}
	}
	return emit_tag(p, word, column);
}

static int parse_or(struct parser *p, struct node *out);

static int parse_unary(struct parser *p, struct node *out)
{
	switch (p->tok.kind) {
	case TOK_NOT:
		if (next_token(p) < 0)
			return -1;
		if (parse_unary(p, out) < 0)
			return -1;
		out->negated = !out->negated;
		return 0;
	case TOK_LPAREN: {
		size_t open_column = p->tok.column;
		if (++p->depth > QUERY_MAX_DEPTH)
			return syntax_error(open_column, "parentheses nested too deep");
		if (next_token(p) < 0)
			return -1;
		if (p->tok.kind == TOK_RPAREN)
			return syntax_error(p->tok.column, "empty parentheses");
		if (parse_or(p, out) < 0)
			return -1;
		if (p->tok.kind != TOK_RPAREN) {
			struct strbuf msg = STRBUF_INIT;
			sb_addf(&msg, "expected ')' to close the '(' at column %zu", open_column);
			int rc = syntax_error(p->tok.column, "%s", msg.buf);
			sb_release(&msg);
			return rc;
		}
		p->depth--;
		return next_token(p);
	}
	case TOK_WORD:
		sb_reset(&p->sql);
		p->term_is_set = false;
		plan_free(p->leaf);
		p->leaf = NULL;
		if (emit_term(p) < 0)
			return -1;
		out->plan = p->leaf;
		p->leaf = NULL;
		if (p->term_is_set) {
			out->set = p->sql;
			out->shape = SET_UNION;
			out->terms = 2;
		} else {
			out->pred = p->sql;
		}
		p->sql = (struct strbuf)STRBUF_INIT;
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

/* and := unary unary* (juxtaposition is AND). The sets that must hold are
 * intersected first and the excluded ones taken away after, so the chain
 * reads left to right; predicates are ANDed beside it. */
static int parse_and(struct parser *p, struct node *out)
{
	struct node *items = NULL;
	size_t n = 0;
	int rc = -1;
	do {
		items = xrealloc(items, (n + 1) * sizeof(*items));
		items[n] = (struct node)NODE_INIT;
		if (parse_unary(p, &items[n++]) < 0)
			goto out;
	} while (starts_term(p));
	out->plan = plan_group(QUERY_PLAN_ALL_OF, items, n);

	/* Only the chain's first operand goes in without a subquery around
	 * it, so the most compound one leads: SQL nesting, which SQLite's
	 * parser bounds, then grows by one subquery per group, not two. */
	size_t lead = n;
	for (size_t i = 0; i < n; i++)
		if (!items[i].negated && (lead == n || items[i].shape > items[lead].shape))
			lead = i;
	if (lead != n && lead != 0)
		swap_nodes(&items[0], &items[lead]);
	bool positive = false;
	for (size_t i = 0; i < n; i++) {
		struct node *it = &items[i];
		if (it->negated) {
			if (it->shape == SET_NONE)
				pred_and(&out->pred, "NOT ", it->pred.buf);
			else
				node_to_set(it);
			continue;
		}
		if (it->pred.len)
			pred_and(&out->pred, "", it->pred.buf);
		if (it->shape == SET_NONE)
			continue;
		if (!positive) {
			/* The left operand may be a compound itself. */
			sb_adds(&out->set, it->set.buf);
			out->shape = it->shape;
			out->terms = it->terms;
			positive = true;
		} else {
			chain_add(out, "INTERSECT", it);
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct node *it = &items[i];
		if (!it->negated || it->shape == SET_NONE)
			continue;
		if (!positive) {
			/* Nothing to take it away from: test each candidate. */
			struct strbuf in = STRBUF_INIT;
			sb_addf(&in, "a.id IN (%s)", it->set.buf);
			pred_and(&out->pred, "NOT ", in.buf);
			sb_release(&in);
		} else if (it->shape == SET_UNION && out->terms + it->terms <= QUERY_MAX_TERMS) {
			/* X EXCEPT (A UNION B) is X EXCEPT A EXCEPT B, and every
			 * arm stays a plain index range in the merge. */
			const char *arm = it->set.buf;
			for (;;) {
				const char *next = next_arm(arm);
				sb_adds(&out->set, " EXCEPT ");
				sb_add(&out->set, arm, next ? (size_t)(next - arm) : strlen(arm));
				out->terms++;
				if (!next)
					break;
				arm = next + strlen(" UNION ALL ");
			}
			out->shape = SET_CHAIN;
		} else {
			chain_add(out, "EXCEPT", it);
		}
	}
	if (out->pred.len) {
		struct strbuf wrapped = STRBUF_INIT;
		sb_addf(&wrapped, "(%s)", out->pred.buf);
		sb_release(&out->pred);
		out->pred = wrapped;
	}
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		node_release(&items[i]);
	free(items);
	return rc;
}

/* or := and ("OR" and)*. Predicates alone stay one predicate; as soon as
 * one side is a set, every side becomes a set and they are UNIONed. */
static int parse_or(struct parser *p, struct node *out)
{
	struct node *groups = NULL;
	size_t n = 0;
	int rc = -1;
	bool any_set = false;
	for (;;) {
		groups = xrealloc(groups, (n + 1) * sizeof(*groups));
		groups[n] = (struct node)NODE_INIT;
		if (parse_and(p, &groups[n++]) < 0)
			goto out;
		any_set |= groups[n - 1].shape != SET_NONE;
		if (p->tok.kind != TOK_OR)
			break;
		if (next_token(p) < 0)
			goto out;
	}
	if (n == 1) {
		*out = groups[0];
		groups[0] = (struct node)NODE_INIT;
		rc = 0;
		goto out;
	}
	out->plan = plan_group(QUERY_PLAN_ANY_OF, groups, n);
	if (any_set) {
		size_t lead = 0;
		for (size_t i = 0; i < n; i++) {
			node_to_set(&groups[i]);
			if (groups[i].shape > groups[lead].shape)
				lead = i;
		}
		if (lead)
			swap_nodes(&groups[0], &groups[lead]);
	}
	for (size_t i = 0; i < n; i++) {
		struct node *g = &groups[i];
		if (!any_set) {
			sb_addf(&out->pred, "%s(%s)", i ? " OR " : "(", g->pred.buf);
			continue;
		}
		if (i == 0) {
			sb_adds(&out->set, g->set.buf);
			out->terms = g->terms;
		} else if (g->shape == SET_UNION && out->terms + g->terms <= QUERY_MAX_TERMS) {
			sb_addf(&out->set, " UNION ALL %s", g->set.buf);
			out->terms += g->terms;
		} else {
			chain_add(out, "UNION ALL", g);
		}
	}
	if (any_set)
		/* Every operand after the first was appended with UNION ALL. */
		out->shape = groups[0].shape == SET_CHAIN ? SET_CHAIN : SET_UNION;
	else
		sb_adds(&out->pred, ")");
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		node_release(&groups[i]);
	free(groups);
	return rc;
}

struct query *query_compile(const char *text)
{
	struct parser p = {.src = text};
	struct query *q = NULL;
	struct node top = NODE_INIT;
	char *set = NULL, *pred = NULL;
	if (text_check("the query", text) < 0)
		return NULL;
	if (next_token(&p) < 0)
		goto out;
	if (p.tok.kind == TOK_END) {
		sb_adds(&p.sql, "1");
		top.plan = plan_new(QUERY_PLAN_ALL_OF);
	} else {
		if (parse_or(&p, &top) < 0)
			goto out;
		if (p.tok.kind != TOK_END) {
			syntax_error(p.tok.column, "unexpected ')'");
			goto out;
		}
		sb_adds(&p.sql, top.pred.buf ? top.pred.buf : "");
		set = top.shape != SET_NONE ? xstrdup(top.set.buf) : NULL;
		pred = top.pred.len ? xstrdup(top.pred.buf) : NULL;
		/* The ORDER BY is what makes SQLite merge the sorted arms of
		 * INTERSECT and EXCEPT rather than build a temporary table for
		 * each; a plain UNION ALL goes straight into IN's own table. */
		if (top.shape != SET_NONE)
			sb_addf(&p.sql, "%sa.id IN (%s%s)", p.sql.len ? " AND " : "", top.set.buf,
				top.shape == SET_CHAIN ? " ORDER BY 1" : "");
	}
	q = xcalloc(1, sizeof(*q));
	q->where = sb_detach(&p.sql);
	q->set = set;
	q->pred = pred;
	set = pred = NULL;
	q->params = p.params;
	q->nparams = p.nparams;
	q->plan = top.plan;
	top.plan = NULL;
	p.params = NULL;
	p.nparams = 0;
out:
	free(set);
	free(pred);
	node_release(&top);
	plan_free(p.leaf);
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
	free(q->set);
	free(q->pred);
	plan_free(q->plan);
	free(q);
}

static const struct {
	const char *name;
	enum query_sort sort;
	const char *sql;
} sort_keys[] = {
    {"id", SORT_ID, "a.id"},	      {"added", SORT_ADDED, "a.added"},
    {"width", SORT_WIDTH, "a.width"}, {"height", SORT_HEIGHT, "a.height"},
    {"bytes", SORT_BYTES, "b.bytes"}, {"character", SORT_CHARACTER, "c.slug IS NULL, c.slug"},
    {"role", SORT_ROLE, "a.role"},
};

int query_sort_parse(const char *text, struct query_options *opts)
{
	opts->descending = text[0] == '-';
	const char *key = text + (opts->descending || text[0] == '+');
	for (size_t i = 0; i < sizeof(sort_keys) / sizeof(sort_keys[0]); i++) {
		if (strcmp(key, sort_keys[i].name) == 0) {
			opts->sort = sort_keys[i].sort;
			return 0;
		}
	}
	return error_set(EX_USAGE,
			 "--sort %s: unknown key (id, added, width, height, bytes, "
			 "character, role; '-' in front for descending)",
			 text);
}

const char *query_sort_sql(enum query_sort sort)
{
	for (size_t i = 0; i < sizeof(sort_keys) / sizeof(sort_keys[0]); i++)
		if (sort_keys[i].sort == sort)
			return sort_keys[i].sql;
	return "a.id";
}
