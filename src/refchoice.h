/* refchoice: which references go into a request when the service takes
 * fewer than the mentioned elements have. It is handed each element's
 * candidates (role, look, embedding) and the profile's limits, and says
 * which are sent and what was left out and why. Pure: no store, no SQL,
 * no printing; inject gathers the candidates and places the choice. */
#ifndef TROUPE_REFCHOICE_H
#define TROUPE_REFCHOICE_H

#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One reference an element could send. */
struct refchoice_candidate {
	int64_t asset_id;
	const char *role;    /* borrowed */
	bool of_look;	     /* tagged with the look the mention names */
	const float *vector; /* unit length, of the element's dim; NULL: none */
};

/* A mentioned element, in mention order, and what it could send. */
struct refchoice_element {
	const char *slug;	     /* borrowed */
	int kind;		     /* index in element_kinds (role.h) */
	const struct strlist *roles; /* the roles its kind takes, best first */
	bool look;		     /* the mention names a registered look */
	const struct refchoice_candidate *cands;
	size_t ncands;
	uint32_t dim; /* of the candidates' vectors, 0 when none have one */
};

/* 0 in per_kind: no limit of the kind's own, only total. */
struct refchoice_limits {
	int total;	 /* the request's max */
	int per_element; /* the profile's per_character */
	int per_kind[4]; /* by element_kinds index */
};

enum refchoice_why {
	REFCHOICE_TOTAL, /* the request's max was reached */
	REFCHOICE_KIND,	 /* the kind's own max was reached */
};

/* What the limits cost one element: the references its per_element
 * would have taken that were not sent. */
struct refchoice_left {
	size_t element; /* index in the elements; SIZE_MAX for --ref */
	size_t sent;	/* how many of its references were sent */
	int64_t *asset_ids;
	const char **roles; /* borrowed from the candidates */
	size_t n;
	enum refchoice_why why;
	int limit; /* the limit that was reached */
	int kind;  /* REFCHOICE_KIND: the kind's element_kinds index */
};

struct refchoice_result {
	/* What is sent: by element in mention order, each element's best
	 * first (so the request lists an element's references together). */
	int64_t *asset_ids;
	size_t *element; /* index of the element each was chosen for */
	size_t n;
	struct refchoice_left *left; /* in mention order */
	size_t nleft;
};

/* The element's candidates best first, as indexes into cands (the caller
 * allocates ncands of them). Role preference first: with a registered
 * look its costume references, then the character's face references of
 * no look, then the look's others in role order; without one, role order.
 * Within a role, the most representative first (the highest mean cosine
 * similarity to the element's other candidates with vectors), those
 * without a vector after those with; then the oldest (lowest id). */
void refchoice_rank(const struct refchoice_element *e, size_t *order);

/* The mean cosine similarity of candidate i to the element's other
 * candidates with vectors; false when it or all the others have none. */
bool refchoice_representative(const struct refchoice_element *e, size_t i, double *score);

/* Chooses: in rounds, every element takes its next best reference in
 * mention order (so each that can be carried gets one before any gets
 * two), until per_element, the kind's max or total stops it. An element
 * a limit stops takes nothing more; what it loses is in out->left. */
void refchoice_run(const struct refchoice_element *el, size_t n, const struct refchoice_limits *lim,
		   struct refchoice_result *out);

/* --ref: the assets a query chose, in its order, taken as given up to
 * total; the rest are left out (one entry, element SIZE_MAX). roles are
 * borrowed. */
void refchoice_override(const int64_t *asset_ids, const char *const *roles, size_t n, int total,
			struct refchoice_result *out);

void refchoice_result_clear(struct refchoice_result *r);

/* One line for a left-out entry, for a warning: "profile P takes 3
 * references: no image of @kai is sent (left out #4 face, #5 sheet)".
 * slug is the element's (NULL for --ref); the caller frees it. */
char *refchoice_left_text(const char *profile, const char *slug, const struct refchoice_left *l);

#endif
