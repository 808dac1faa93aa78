/* query: the tag query language, compiled to one parameterised SQL
 * expression over the assets table (alias "a"). User text only ever
 * reaches SQLite as a bound parameter. The grammar is in troupe-query(7). */
#ifndef TROUPE_QUERY_H
#define TROUPE_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum query_param_type { QUERY_PARAM_TEXT, QUERY_PARAM_INT, QUERY_PARAM_REAL };

struct query_param {
	enum query_param_type type;
	char *text;
	int64_t number;
	double real; /* QUERY_PARAM_REAL's value */
};

/* The query as set algebra over what the posting lists hold (tags,
 * character:, kind:, role:), for tagindex.c. A leaf's patterns are the
 * very texts the SQL binds: GLOB patterns when glob is set, else exact. */
enum query_plan_kind {
	QUERY_PLAN_ALL_OF,    /* the intersection of the children; no child: every asset */
	QUERY_PLAN_ANY_OF,    /* their union */
	QUERY_PLAN_TAG,	      /* ns and value */
	QUERY_PLAN_CHARACTER, /* the character's slug in value */
	QUERY_PLAN_KIND,      /* the element kind in value */
	QUERY_PLAN_ROLE,      /* the role in value */
};

struct query_plan {
	enum query_plan_kind kind;
	bool negated; /* its complement, as an operand of its parent */
	char *ns, *value;
	bool ns_glob, value_glob;
	struct query_plan **children;
	size_t nchildren;
};

struct query {
	char *where; /* an SQL boolean expression on "a"; "1" for no terms */
	/* where's two halves: a compound SELECT of one column "id" (no ORDER
	 * BY; duplicates possible) that the assets must be in, or NULL; and
	 * an SQL boolean on "a" for the rest, or NULL. A caller that wants
	 * the first rows in id order can stop the set's merge early. */
	char *set;
	char *pred;
	struct query_param *params;
	size_t nparams;
	/* The same query for the posting lists; NULL when a term is one they
	 * do not hold (format:, hash:, a comparison). */
	struct query_plan *plan;
};

/* Compiles text; NULL with an EX_USAGE error such as
 * "query: column 7: expected ')'" on a syntax error. Free with
 * query_free(). Parameter i binds to "?(i+1)" in where. */
struct query *query_compile(const char *text);
void query_free(struct query *q);

/* The fields a query writes as FIELD:VALUE ("character:mei"); they own
 * those namespaces, so a tag may not use one. NULL-terminated. */
extern const char *const query_fields[];

/* The orders a query's matches can come in (--sort). */
enum query_sort {
	SORT_ID,
	SORT_ADDED,
	SORT_WIDTH,
	SORT_HEIGHT,
	SORT_BYTES,
	SORT_CHARACTER,
	SORT_ROLE
};
struct query_options {
	enum query_sort sort;
	bool descending;
	int64_t limit; /* 0: no limit */
};
/* Parses "added", "-width", ...; -1 with an error for an unknown key. */
int query_sort_parse(const char *text, struct query_options *opts);
/* The ORDER BY expression of sort, over the assets "a", their blob "b"
 * and their character "c"; borrowed. */
const char *query_sort_sql(enum query_sort sort);

#endif
