/* Unit tests for refchoice, the rule that picks references under a
 * service's limits: fairness by rounds, ties by mention and by asset id,
 * the medoid of 512-dimensional vectors against a brute-force answer,
 * role and look preference, --ref taken as given, per-kind caps, and the
 * warning's words. */
#include "config.h"

#include "refchoice.h"
#include "tap.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DIM 512

static struct strlist face_sheet, with_costume;

/* n candidates of one role, ids as given, no vectors. */
static struct refchoice_candidate *plain(const int64_t *ids, size_t n, const char *role)
{
	struct refchoice_candidate *c = xcalloc(n, sizeof(*c));
	for (size_t i = 0; i < n; i++)
		c[i] = (struct refchoice_candidate){ids[i], role, false, NULL};
	return c;
}

static struct refchoice_element element(const char *slug, int kind,
					const struct refchoice_candidate *c, size_t n)
{
	return (struct refchoice_element){slug, kind, &face_sheet, false, c, n, 0};
}

static char *ids_text(const int64_t *ids, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < n; i++)
		sb_addf(&sb, "%s%lld", i ? " " : "", (long long)ids[i]);
	return sb_detach(&sb);
}

static void is_ids(const int64_t *ids, size_t n, const char *want, const char *what)
{
	char *got = ids_text(ids, n);
	is_str(got, want, "%s", what);
	free(got);
}

/* A deterministic generator, so the vectors are the same on every run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static double gaussian(void)
{
	double u[2];
	for (int k = 0; k < 2; k++) {
		rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
		u[k] = ((rng_state >> 11) + 0.5) / 9007199254740992.0;
	}
	return sqrt(-2 * log(u[0])) * cos(2 * M_PI * u[1]);
}

static void normalise(float *v)
{
	double len = 0;
	for (int d = 0; d < DIM; d++)
		len += (double)v[d] * v[d];
	len = sqrt(len);
	for (int d = 0; d < DIM; d++)
		v[d] = (float)(v[d] / len);
}

/* The medoid by the definition, computed apart from refchoice: the index
 * of the highest mean cosine to the others. */
static size_t brute_medoid(float (*v)[DIM], size_t n)
{
	size_t best = 0;
	double best_mean = -2;
	for (size_t i = 0; i < n; i++) {
		double sum = 0;
		for (size_t k = 0; k < n; k++) {
			if (k == i)
				continue;
			double dot = 0, li = 0, lk = 0;
			for (int d = 0; d < DIM; d++) {
				dot += (double)v[i][d] * v[k][d];
				li += (double)v[i][d] * v[i][d];
				lk += (double)v[k][d] * v[k][d];
			}
			sum += dot / sqrt(li * lk);
		}
		if (sum / (double)(n - 1) > best_mean) {
			best_mean = sum / (double)(n - 1);
			best = i;
		}
	}
	return best;
}

static void test_fairness(void)
{
	static const int64_t a[] = {1, 2, 3}, b[] = {4, 5, 6}, c[] = {7, 8, 9};
	struct refchoice_candidate *ca = plain(a, 3, "face"), *cb = plain(b, 3, "face"),
				   *cc = plain(c, 3, "face");
	struct refchoice_element el[] = {element("mei", 0, ca, 3), element("kai", 0, cb, 3),
					 element("ren", 0, cc, 3)};
	struct refchoice_limits lim = {4, 2, {0}};
	struct refchoice_result r;
	refchoice_run(el, 3, &lim, &r);
	is_ids(r.asset_ids, r.n, "1 2 4 7",
	       "every element gets one before any gets two; the first mentioned gets the spare");
	ok(r.n == 4 && r.element[0] == 0 && r.element[1] == 0 && r.element[2] == 1 &&
	       r.element[3] == 2,
	   "an element's references are together, in mention order");
	ok(r.nleft == 2 && r.left[0].element == 1 && r.left[0].sent == 1 && r.left[0].n == 1 &&
	       r.left[0].asset_ids[0] == 5 && r.left[0].why == REFCHOICE_TOTAL &&
	       r.left[0].limit == 4,
	   "kai's second reference is left out by the request's max");
	ok(r.nleft == 2 && r.left[1].element == 2 && r.left[1].asset_ids[0] == 8,
	   "and ren's: only what per_element would have taken is reported");
	refchoice_result_clear(&r);

	/* More elements than slots: the last mentioned go without. */
	struct refchoice_limits two = {2, 1, {0}};
	refchoice_run(el, 3, &two, &r);
	is_ids(r.asset_ids, r.n, "1 4", "two slots, three elements: the first two mentioned");
	ok(r.nleft == 1 && r.left[0].element == 2 && r.left[0].sent == 0 &&
	       r.left[0].asset_ids[0] == 7,
	   "the third is dropped, naming its best reference");
	refchoice_result_clear(&r);

	/* Without limits that bind, nothing is reported. */
	struct refchoice_limits roomy = {100, 3, {0}};
	refchoice_run(el, 3, &roomy, &r);
	ok(r.n == 9 && r.nleft == 0, "room for all: all sent, nothing left out");
	refchoice_result_clear(&r);

	/* An element with no candidates takes no turn from the others. */
	struct refchoice_element gap[] = {element("mei", 0, ca, 3), element("empty", 0, NULL, 0),
					  element("ren", 0, cc, 3)};
	refchoice_run(gap, 3, &two, &r);
	is_ids(r.asset_ids, r.n, "1 7", "an element with nothing to send is passed over");
	ok(r.nleft == 0, "and is not reported as left out");
	refchoice_result_clear(&r);
	free(ca);
	free(cb);
	free(cc);
}

static void test_ties(void)
{
	static const int64_t ids[] = {9, 3, 5};
	struct refchoice_candidate *c = plain(ids, 3, "face");
	struct refchoice_element e = element("mei", 0, c, 3);
	size_t order[3];
	refchoice_rank(&e, order);
	ok(order[0] == 1 && order[1] == 2 && order[2] == 0,
	   "equal role, no vectors: the oldest first (3, 5, 9)");
	/* Two vectors: each one's mean over the other is the same cosine. */
	float v[2][DIM] = {{0}};
	v[0][0] = 1;
	v[1][0] = 0.6f;
	v[1][1] = 0.8f;
	c[0].vector = v[0];
	c[2].vector = v[1];
	e.dim = DIM;
	double s0, s2, s1;
	ok(refchoice_representative(&e, 0, &s0) && refchoice_representative(&e, 2, &s2) &&
	       fabs(s0 - 0.6) < 1e-6 && fabs(s2 - 0.6) < 1e-6,
	   "the mean cosine of two unit vectors is their dot product");
	ok(!refchoice_representative(&e, 1, &s1), "a candidate without a vector has no score");
	refchoice_rank(&e, order);
	ok(order[0] == 2 && order[1] == 0 && order[2] == 1,
	   "equal scores fall to the asset id (5, 9); no vector after vectors (3)");
	free(c);
}

static void test_medoid(void)
{
	enum { N = 7 };
	static float v[N][DIM];
	float centre[DIM];
	for (int d = 0; d < DIM; d++)
		centre[d] = (float)gaussian();
	normalise(centre);
	/* Six views of one face with noise of different sizes, and one
	 * photograph of somebody else (the oldest, so order alone would
	 * send it). */
	static const double noise[N] = {0, 0.9, 0.5, 0.25, 1.2, 0.7, 0.4};
	for (int i = 0; i < N; i++) {
		for (int d = 0; d < DIM; d++)
			v[i][d] = i == 0 ? (float)gaussian()
					 : centre[d] + (float)(noise[i] * gaussian() / sqrt(DIM));
		normalise(v[i]);
	}
	struct refchoice_candidate c[N];
	for (int i = 0; i < N; i++)
		c[i] = (struct refchoice_candidate){10 + i, "face", false, v[i]};
	struct refchoice_element e = {"mei", 0, &face_sheet, false, c, N, DIM};
	size_t order[N];
	refchoice_rank(&e, order);
	size_t want = brute_medoid(v, N);
	ok(order[0] == want, "the first is the medoid by brute force (candidate %zu)", want);
	ok(want == 3, "which is the view with the least noise");
	ok(order[N - 1] == 0, "somebody else's photograph comes last");
	bool falling = true;
	for (size_t i = 1; i < N; i++) {
		double a, b;
		refchoice_representative(&e, order[i - 1], &a);
		refchoice_representative(&e, order[i], &b);
		falling &= a >= b;
	}
	ok(falling, "scores fall along the order");
	struct refchoice_limits lim = {1, 1, {0}};
	struct refchoice_result r;
	refchoice_run(&e, 1, &lim, &r);
	ok(r.n == 1 && r.asset_ids[0] == 13, "one slot: the medoid is sent, not the oldest");
	refchoice_result_clear(&r);
}

static void test_roles_and_looks(void)
{
	/* A sheet, the oldest and the most representative, against a face. */
	float v[3][DIM] = {{0}};
	v[0][0] = 1;
	v[1][1] = 1;
	v[2][0] = 0.8f;
	v[2][1] = 0.6f;
	struct refchoice_candidate c[] = {
	    {1, "sheet", false, v[2]}, {2, "face", false, v[0]}, {3, "face", false, v[1]}};
	struct refchoice_element e = {"mei", 0, &face_sheet, false, c, 3, DIM};
	size_t order[3];
	refchoice_rank(&e, order);
	ok(order[0] == 1 && order[1] == 2 && order[2] == 0,
	   "role first: faces before the sheet however representative it is");
	/* The face most like the others wins within the role. */
	v[1][0] = 0.9f;
	v[1][1] = 0.4358899f;
	refchoice_rank(&e, order);
	ok(order[0] == 2, "within a role, the more representative face first");

	/* A registered look: its costume, the faces of no look, then the
	 * look's others by role. */
	struct refchoice_candidate lk[] = {{1, "face", false, NULL},
					   {3, "sheet", true, NULL},
					   {4, "face", true, NULL},
					   {5, "costume", true, NULL},
					   {6, "costume", true, NULL}};
	struct refchoice_element le = {"mei", 0, &with_costume, true, lk, 5, 0};
	size_t lorder[5];
	refchoice_rank(&le, lorder);
	int64_t got[5];
	for (int i = 0; i < 5; i++)
		got[i] = lk[lorder[i]].asset_id;
	is_ids(got, 5, "5 6 1 4 3",
	       "look: costume, the character's own face, then the look's face and sheet");
	struct refchoice_limits lim = {2, 2, {0}};
	struct refchoice_result r;
	refchoice_run(&le, 1, &lim, &r);
	is_ids(r.asset_ids, r.n, "5 6", "two slots: the look's two costumes");
	refchoice_result_clear(&r);
	static const int64_t kai_ids[] = {8};
	struct refchoice_candidate *kai = plain(kai_ids, 1, "face");
	struct refchoice_element one[] = {le, element("kai", 0, kai, 1)};
	refchoice_run(one, 2, &lim, &r);
	is_ids(r.asset_ids, r.n, "5 8", "shared with another element: one costume, then kai");
	free(kai);
	refchoice_result_clear(&r);
	/* Without a registered look the same candidates go by role. */
	le.look = false;
	refchoice_rank(&le, lorder);
	for (int i = 0; i < 5; i++)
		got[i] = lk[lorder[i]].asset_id;
	is_ids(got, 5, "1 4 3 5 6", "no registered look: role order (face, sheet, costume)");
}

static void test_override(void)
{
	static const int64_t ids[] = {7, 2, 9, 4};
	static const char *const roles[] = {"sheet", "face", "location", "face"};
	struct refchoice_result r;
	refchoice_override(ids, roles, 4, 3, &r);
	is_ids(r.asset_ids, r.n, "7 2 9", "--ref: the query's assets in its order, up to max");
	ok(r.n == 3 && r.element[0] == SIZE_MAX, "belonging to no element's choice");
	ok(r.nleft == 1 && r.left[0].element == SIZE_MAX && r.left[0].n == 1 &&
	       r.left[0].asset_ids[0] == 4 && r.left[0].sent == 3,
	   "the one beyond max is left out");
	char *text = refchoice_left_text("runway-gen4-image", NULL, &r.left[0]);
	is_str(text, "profile runway-gen4-image takes 3 references: --ref left out #4 face",
	       "and said so");
	free(text);
	refchoice_result_clear(&r);
	refchoice_override(ids, roles, 2, 3, &r);
	ok(r.n == 2 && r.nleft == 0, "--ref within max: all sent, nothing reported");
	refchoice_result_clear(&r);
	/* Many left out: the line stays one line. */
	int64_t many[20];
	const char *many_roles[20];
	for (int i = 0; i < 20; i++) {
		many[i] = i + 1;
		many_roles[i] = "face";
	}
	refchoice_override(many, many_roles, 20, 1, &r);
	text = refchoice_left_text("kling-image", NULL, &r.left[0]);
	is_str(text,
	       "profile kling-image takes 1 reference: --ref left out #2 face, #3 face, #4 face, "
	       "#5 face, #6 face, #7 face, #8 face, #9 face and 11 more",
	       "nineteen left out: eight named, the rest counted");
	free(text);
	refchoice_result_clear(&r);
}

static void test_kinds(void)
{
	static const int64_t a[] = {1, 2}, b[] = {3, 4}, c[] = {5}, d[] = {6, 7};
	struct refchoice_candidate *ca = plain(a, 2, "face"), *cb = plain(b, 2, "location"),
				   *cc = plain(c, 1, "location"), *cd = plain(d, 2, "face");
	struct refchoice_element el[] = {element("mei", 0, ca, 2), element("harbor", 1, cb, 2),
					 element("pier", 1, cc, 1), element("kai", 0, cd, 2)};
	/* Kling's multi-image: one scene, several subjects. */
	struct refchoice_limits lim = {4, 1, {0, 1, 0, 0}};
	struct refchoice_result r;
	refchoice_run(el, 4, &lim, &r);
	is_ids(r.asset_ids, r.n, "1 3 6", "one location slot: the first location, both characters");
	ok(r.nleft == 1 && r.left[0].element == 2 && r.left[0].why == REFCHOICE_KIND &&
	       r.left[0].limit == 1 && r.left[0].kind == 1 && r.left[0].sent == 0,
	   "the second location is left out by its kind's max");
	char *text = refchoice_left_text("kling-multi", "pier", &r.left[0]);
	is_str(text,
	       "profile kling-multi takes 1 location reference: no image of @pier is sent (left "
	       "out #5 location)",
	       "the warning names the kind's limit");
	free(text);
	refchoice_result_clear(&r);

	/* Two each, six slots: the kind's cap stops harbor at one, and the
	 * spare slots go to the characters. */
	struct refchoice_limits more = {6, 2, {0, 1, 0, 0}};
	refchoice_run(el, 4, &more, &r);
	is_ids(r.asset_ids, r.n, "1 2 3 6 7", "characters take two, the location one");
	ok(r.nleft == 2 && r.left[0].element == 1 && r.left[0].sent == 1 &&
	       r.left[0].asset_ids[0] == 4 && r.left[1].element == 2,
	   "harbor loses its second, pier all");
	text = refchoice_left_text("kling-multi", "harbor", &r.left[0]);
	is_str(text,
	       "profile kling-multi takes 1 location reference: @harbor gets 1, not 2 (left out "
	       "#4 location)",
	       "a partial cut says how many were sent");
	free(text);
	refchoice_result_clear(&r);

	/* A kind's cap larger than the total changes nothing. */
	struct refchoice_limits wide = {2, 1, {0, 9, 0, 0}};
	refchoice_run(el, 4, &wide, &r);
	is_ids(r.asset_ids, r.n, "1 3", "the total still binds");
	ok(r.nleft == 2 && r.left[0].why == REFCHOICE_TOTAL && r.left[0].element == 2,
	   "and is the reason given");
	refchoice_result_clear(&r);
	free(ca);
	free(cb);
	free(cc);
	free(cd);
}

int main(void)
{
	strlist_push(&face_sheet, "face");
	strlist_push(&face_sheet, "sheet");
	strlist_push(&with_costume, "face");
	strlist_push(&with_costume, "sheet");
	strlist_push(&with_costume, "costume");
	test_fairness();
	test_ties();
	test_medoid();
	test_roles_and_looks();
	test_override();
	test_kinds();
	strlist_clear(&face_sheet);
	strlist_clear(&with_costume);
	return tap_done();
}
