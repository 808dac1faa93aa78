/* Unit tests for the query compiler: the SQL it makes, the parameters it
 * binds, and the columns its syntax errors point at. */
#include "config.h"

#include "query.h"
#include "tap.h"
#include "util.h"

#include <stdlib.h>

static void syntax(const char *text, const char *want)
{
	struct query *q = query_compile(text);
	ok(q == NULL, "'%s' is refused", text);
	is_str(error_message(), want, "'%s' error message", text);
	ok(error_code() == EX_USAGE, "'%s' is a usage error", text);
	query_free(q);
}

static struct query *compiles(const char *text)
{
	struct query *q = query_compile(text);
	ok(q != NULL, "'%s' compiles%s%s", text, q ? "" : ": ", q ? "" : error_message());
	return q;
}

int main(void)
{
	struct query *q = compiles("");
	is_str(q->where, "1", "empty query matches everything");
	query_free(q);

	q = compiles("role:face");
	is_str(q->where, "(a.role = ?1)", "role field");
	ok(q->nparams == 1 && !strcmp(q->params[0].text, "face"), "role value is a parameter");
	query_free(q);

	q = compiles("Character:Mei");
	is_str(q->params[0].text, "mei", "field values are lower-cased");
	query_free(q);

	q = compiles("look:win*");
	ok(q->nparams == 2 && !strcmp(q->params[0].text, "look") &&
	       !strcmp(q->params[1].text, "win*"),
	   "wildcard tag binds ns and a GLOB");
	ok(strstr(q->where, "GLOB ?2") != NULL, "wildcard uses GLOB");
	query_free(q);

	q = compiles("x:a?[b*");
	is_str(q->params[1].text, "a[?][[]b*", "GLOB metacharacters other than * are literal");
	query_free(q);

	q = compiles("draft");
	ok(q->nparams == 2 && !strcmp(q->params[0].text, "") && !strcmp(q->params[1].text, "draft"),
	   "a plain tag has the empty namespace");
	query_free(q);

	q = compiles("a -b (c OR d)");
	ok(strstr(q->where, " EXCEPT ") != NULL, "negation inside AND");
	ok(strstr(q->where, " UNION ") != NULL, "OR inside parentheses");
	query_free(q);

	q = compiles("\"look:red scarf\"");
	is_str(q->params[1].text, "red scarf", "quotes keep inner spaces");
	query_free(q);

	q = compiles("\"x:'); DROP TABLE assets; --\"");
	ok(q && strstr(q->where, "DROP") == NULL, "SQL in a tag never reaches the SQL text");
	query_free(q);

	q = compiles("width>512 height<=100 bytes=7");
	ok(q->nparams == 3 && q->params[0].type == QUERY_PARAM_INT && q->params[0].number == 512,
	   "comparisons bind integers");
	ok(strstr(q->where, "a.width > ?1") && strstr(q->where, "a.height <= ?2"),
	   "comparison operators");
	query_free(q);

	q = compiles("added>=2026-01-02");
	ok(q->params[0].number == 1767312000, "added>= is midnight UTC of that day");
	query_free(q);
	q = compiles("added>2026-01-02");
	ok(q->params[0].number == 1767312000 + 86400, "added> is the day after");
	query_free(q);

	q = compiles("hash:3f9a2c1e");
	ok(q->nparams == 2 && !strcmp(q->params[1].text, "3f9a2c1e~"), "hash prefix is a range");
	query_free(q);

	syntax("(a", "column 3: expected ')' to close the '(' at column 1");
	syntax("a )", "column 3: unexpected ')'");
	syntax("a OR", "column 5: expected a term at the end of the query");
	syntax("OR a", "column 1: 'OR' needs a term on each side");
	syntax("a - b", "column 3: '-' must be followed by a term");
	syntax("width>abc", "column 7: 'abc' is not a whole number");
	syntax("rating>5", "column 1: unknown field 'rating' in a comparison "
			   "(width, height, bytes, added, duration, fps)");
	syntax("duration>=long", "column 11: 'long' is not a number of seconds");
	syntax("fps=2.5s", "column 5: '2.5s' is not a number");
	syntax("added<2026-13-01", "column 7: '2026-13-01' is not a date (YYYY-MM-DD)");
	syntax("added=2026-02-30", "column 7: '2026-02-30' is not a date (YYYY-MM-DD)");
	syntax("added=2026-02-29", "column 7: '2026-02-29' is not a date (YYYY-MM-DD)");
	q = compiles("added=2024-02-29 Width>=64");
	ok(q && q->nparams == 3, "a leap day and an upper-case field name");
	query_free(q);
	syntax("width=>5", "column 6: unknown comparison '=>'");
	syntax("hash:XYZ", "column 6: hash:xyz is not a hex prefix");
	syntax("a \"b", "column 3: unterminated '\"'");
	syntax("()", "column 2: empty parentheses");
	syntax("role:", "column 6: 'role:' needs a value");

	q = query_compile("ok \xff");
	ok(q == NULL && error_code() == EX_DATAERR, "invalid UTF-8 is refused");

	struct strbuf deep = STRBUF_INIT;
	for (int i = 0; i < 100; i++)
		sb_addc(&deep, '(');
	q = query_compile(deep.buf);
	ok(q == NULL, "nesting is bounded");
	sb_release(&deep);
	return tap_done();
}
