/* Unit tests for likeness_sweep, the threshold calibrate stores: known
 * answers for lists that separate cleanly, that overlap, that are the
 * wrong way round, and of one element each. */
#include "config.h"

#include "likeness.h"
#include "tap.h"

#include <math.h>

static int near(double a, double b)
{
	return fabs(a - b) < 1e-9;
}

static void sweep(double *same, size_t ns, double *other, size_t nd, double want_t, double want_acc,
		  const char *what)
{
	double t = -99, acc = -99;
	likeness_sweep(same, ns, other, nd, &t, &acc);
	ok(near(t, want_t) && near(acc, want_acc), "%s: threshold %.4f, balanced accuracy %.4f",
	   what, want_t, want_acc);
	if (!near(t, want_t) || !near(acc, want_acc))
		printf("#   got threshold %.6f, accuracy %.6f\n", t, acc);
}

int main(void)
{
	/* Given out of order: the sweep sorts them. Every same pair is above
	 * every other pair, so the threshold is halfway across the gap. */
	double same1[] = {0.9, 0.7, 0.8}, other1[] = {0.3, 0.1, 0.2};
	sweep(same1, 3, other1, 3, 0.5, 1.0, "separate lists");
	ok(same1[0] == 0.7 && same1[2] == 0.9 && other1[0] == 0.1, "both lists are left sorted");

	/* 0.7 of another character lies among the same ones: the best cut
	 * lets one same pair fail (0.6) and rejects every other pair,
	 * (3/4 + 3/3) / 2, halfway between 0.7 and 0.8. */
	double same2[] = {0.6, 0.8, 0.9, 0.95}, other2[] = {0.1, 0.3, 0.7};
	sweep(same2, 4, other2, 3, 0.75, 0.875, "overlapping lists");

	/* A model that scores other characters higher separates nothing:
	 * the best is to pass everything, just below the lowest value. */
	double same3[] = {0.1, 0.2}, other3[] = {0.8, 0.9};
	sweep(same3, 2, other3, 2, 0.09, 0.5, "lists the wrong way round");

	double same4[] = {0.8}, other4[] = {0.2};
	sweep(same4, 1, other4, 1, 0.5, 1.0, "one pair of each");

	/* Equal values cannot be split: the cut sits below them or above. */
	double same5[] = {0.5, 0.9}, other5[] = {0.5};
	sweep(same5, 2, other5, 1, 0.7, 0.75, "a tie between the lists");
	return tap_done();
}
