/* refchoice: the rule that picks references under a service's limits.
 * Everything it decides follows from its inputs in a fixed order (role,
 * representativeness, asset id; elements in mention order), so the same
 * store and prompt always send the same references. It must stay pure:
 * the store's candidates and vectors are inject's to gather. */
#include "config.h"

#include "refchoice.h"
#include "role.h"

#include <stdlib.h>
#include <string.h>

static size_t role_index(const struct strlist *roles, const char *role)
{
	for (size_t i = 0; i < roles->n; i++)
		if (strcmp(roles->items[i], role) == 0)
			return i;
	return roles->n;
}

/* The preference tier of a candidate, lower is better. A registered look
 * keeps the character's face: its costume, then the faces of no look,
 * then the rest of the look by role. */
static size_t tier_of(const struct refchoice_element *e, const struct refchoice_candidate *c)
{
	size_t r = role_index(e->roles, c->role);
	if (!e->look)
		return r;
	if (c->of_look && strcmp(c->role, "costume") == 0 && r < e->roles->n)
		return 0;
	if (!c->of_look && strcmp(c->role, "face") == 0)
		return 1;
	return 2 + r + (c->of_look ? 0 : e->roles->n + 1);
}

bool refchoice_representative(const struct refchoice_element *e, size_t i, double *score)
{
	*score = 0;
	if (!e->cands[i].vector || !e->dim)
		return false;
	double sum = 0;
	size_t others = 0;
	for (size_t k = 0; k < e->ncands; k++) {
		if (k == i || !e->cands[k].vector)
			continue;
		/* Unit vectors: the dot product is the cosine. */
		double dot = 0;
		for (uint32_t d = 0; d < e->dim; d++)
			dot += (double)e->cands[i].vector[d] * e->cands[k].vector[d];
		sum += dot;
		others++;
	}
	if (!others)
		return false;
	*score = sum / (double)others;
	return true;
}

struct ranked {
	size_t index, tier;
	bool scored;
	double score;
	int64_t id;
};

/* Whether a goes before b: tier, then scored before unscored, then the
 * higher score, then the lower asset id (never equal for two assets). */
static bool before(const struct ranked *a, const struct ranked *b)
{
	if (a->tier != b->tier)
		return a->tier < b->tier;
	if (a->scored != b->scored)
		return a->scored;
	if (a->scored && a->score != b->score)
		return a->score > b->score;
	return a->id < b->id;
}

void refchoice_rank(const struct refchoice_element *e, size_t *order)
{
	struct ranked *r = xcalloc(e->ncands ? e->ncands : 1, sizeof(*r));
	for (size_t i = 0; i < e->ncands; i++) {
		r[i] = (struct ranked){i, tier_of(e, &e->cands[i]), false, 0, e->cands[i].asset_id};
		r[i].scored = refchoice_representative(e, i, &r[i].score);
	}
	/* A handful of candidates: an insertion sort, stable and plain. */
	for (size_t i = 1; i < e->ncands; i++) {
		struct ranked x = r[i];
		size_t k = i;
		while (k > 0 && before(&x, &r[k - 1])) {
			r[k] = r[k - 1];
			k--;
		}
		r[k] = x;
	}
	for (size_t i = 0; i < e->ncands; i++)
		order[i] = r[i].index;
	free(r);
}

static void push_pick(struct refchoice_result *out, int64_t id, size_t element)
{
	out->asset_ids = xrealloc(out->asset_ids, (out->n + 1) * sizeof(*out->asset_ids));
	out->element = xrealloc(out->element, (out->n + 1) * sizeof(*out->element));
	out->asset_ids[out->n] = id;
	out->element[out->n++] = element;
}

static struct refchoice_left *push_left(struct refchoice_result *out, size_t element, size_t sent,
					enum refchoice_why why, int limit, int kind)
{
	out->left = xrealloc(out->left, (out->nleft + 1) * sizeof(*out->left));
	struct refchoice_left *l = &out->left[out->nleft++];
	*l = (struct refchoice_left){element, sent, NULL, NULL, 0, why, limit, kind};
	return l;
}

static void left_add(struct refchoice_left *l, int64_t id, const char *role)
{
	l->asset_ids = xrealloc(l->asset_ids, (l->n + 1) * sizeof(*l->asset_ids));
	l->roles = xrealloc(l->roles, (l->n + 1) * sizeof(*l->roles));
	l->asset_ids[l->n] = id;
	l->roles[l->n++] = role;
}

void refchoice_run(const struct refchoice_element *el, size_t n, const struct refchoice_limits *lim,
		   struct refchoice_result *out)
{
	memset(out, 0, sizeof(*out));
	size_t **order = xcalloc(n ? n : 1, sizeof(*order));
	size_t *taken = xcalloc(n ? n : 1, sizeof(*taken));
	size_t *cap = xcalloc(n ? n : 1, sizeof(*cap));
	/* why[e] + 1 once a limit has stopped element e; 0 while it may take. */
	int *stopped = xcalloc(n ? n : 1, sizeof(*stopped));
	int used = 0, used_kind[4] = {0};
	for (size_t e = 0; e < n; e++) {
		order[e] = xcalloc(el[e].ncands ? el[e].ncands : 1, sizeof(**order));
		refchoice_rank(&el[e], order[e]);
		cap[e] = el[e].ncands < (size_t)lim->per_element ? el[e].ncands
								 : (size_t)lim->per_element;
	}
	/* Round r gives every element still taking its (r+1)-th reference,
	 * in mention order: fairness is by rounds, ties by mention. A limit
	 * once reached stays reached, so a stopped element stays stopped. */
	for (int round = 0; round < lim->per_element; round++)
		for (size_t e = 0; e < n; e++) {
			if (stopped[e] || taken[e] >= cap[e])
				continue;
			int k = el[e].kind >= 0 && el[e].kind < 4 ? el[e].kind : -1;
			if (used >= lim->total)
				stopped[e] = REFCHOICE_TOTAL + 1;
			else if (k >= 0 && lim->per_kind[k] && used_kind[k] >= lim->per_kind[k])
				stopped[e] = REFCHOICE_KIND + 1;
			else {
				taken[e]++;
				used++;
				if (k >= 0)
					used_kind[k]++;
			}
		}
	for (size_t e = 0; e < n; e++) {
		for (size_t i = 0; i < taken[e]; i++)
			push_pick(out, el[e].cands[order[e][i]].asset_id, e);
		if (!stopped[e])
			continue;
		enum refchoice_why why = (enum refchoice_why)(stopped[e] - 1);
		struct refchoice_left *l = push_left(
		    out, e, taken[e], why,
		    why == REFCHOICE_TOTAL ? lim->total : lim->per_kind[el[e].kind], el[e].kind);
		for (size_t i = taken[e]; i < cap[e]; i++)
			left_add(l, el[e].cands[order[e][i]].asset_id,
				 el[e].cands[order[e][i]].role);
	}
	for (size_t e = 0; e < n; e++)
		free(order[e]);
	free(order);
	free(taken);
	free(cap);
	free(stopped);
}

void refchoice_override(const int64_t *asset_ids, const char *const *roles, size_t n, int total,
			struct refchoice_result *out)
{
	memset(out, 0, sizeof(*out));
	if (n <= (size_t)total) {
		for (size_t i = 0; i < n; i++)
			push_pick(out, asset_ids[i], SIZE_MAX);
		return;
	}
	size_t keep = (size_t)total;
	for (size_t i = 0; i < keep; i++)
		push_pick(out, asset_ids[i], SIZE_MAX);
	struct refchoice_left *l = push_left(out, SIZE_MAX, keep, REFCHOICE_TOTAL, total, -1);
	for (size_t i = keep; i < n; i++)
		left_add(l, asset_ids[i], roles[i]);
}

void refchoice_result_clear(struct refchoice_result *r)
{
	for (size_t i = 0; i < r->nleft; i++) {
		free(r->left[i].asset_ids);
		free(r->left[i].roles);
	}
	free(r->left);
	free(r->asset_ids);
	free(r->element);
	memset(r, 0, sizeof(*r));
}

char *refchoice_left_text(const char *profile, const char *slug, const struct refchoice_left *l)
{
	/* --ref can match hundreds: the line names the first few. */
	enum { SHOWN = 8 };
	struct strbuf sb = STRBUF_INIT;
	const char *kind =
	    l->why == REFCHOICE_KIND && l->kind >= 0 && l->kind < 4 ? element_kinds[l->kind] : NULL;
	sb_addf(&sb, "profile %s takes %d %s%sreference%s: ", profile, l->limit, kind ? kind : "",
		kind ? " " : "", l->limit == 1 ? "" : "s");
	if (!slug)
		sb_adds(&sb, "--ref left out ");
	else if (l->sent == 0)
		sb_addf(&sb, "no image of @%s is sent (left out ", slug);
	else
		sb_addf(&sb, "@%s gets %zu, not %zu (left out ", slug, l->sent, l->sent + l->n);
	for (size_t i = 0; i < l->n && i < SHOWN; i++)
		sb_addf(&sb, "%s#%lld %s", i ? ", " : "", (long long)l->asset_ids[i], l->roles[i]);
	if (l->n > SHOWN)
		sb_addf(&sb, " and %zu more", l->n - SHOWN);
	if (slug)
		sb_addc(&sb, ')');
	return sb_detach(&sb);
}
