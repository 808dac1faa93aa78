/* Unit tests for drift_judge, the sustained-stretch rule: known answers
 * for one blurred frame, a stretch long enough, frames without a face,
 * a character never found, a clip without faces, a short clip, and the
 * member a drifting face looks like. */
#include "config.h"

#include "drift.h"
#include "tap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A scan of n frames at 4 a second for one or two members. */
static struct drift_scan scan_of(const double *a, const double *b, size_t n)
{
	struct drift_scan s;
	memset(&s, 0, sizeof(s));
	s.n = n;
	s.ncast = b ? 2 : 1;
	s.interval = 0.25;
	s.duration = n * 0.25;
	s.t = calloc(n, sizeof(double));
	s.faces = calloc(n, sizeof(size_t));
	s.strangers = calloc(n, sizeof(size_t));
	s.sim = calloc(n * s.ncast, sizeof(double));
	s.ref = calloc(n * s.ncast, sizeof(int64_t));
	s.face = calloc(n * s.ncast, sizeof(int));
	s.looks_like = calloc(n * s.ncast, sizeof(int));
	s.box = calloc(n * s.ncast, sizeof(*s.box));
	s.has_box = calloc(n * s.ncast, sizeof(bool));
	for (size_t i = 0; i < n; i++) {
		s.t[i] = i * 0.25;
		s.sim[i * s.ncast] = a[i];
		s.faces[i] = !isnan(a[i]) + (b && !isnan(b[i]));
		s.looks_like[i * s.ncast] = -1;
		if (b) {
			s.sim[i * s.ncast + 1] = b[i];
			s.looks_like[i * s.ncast + 1] = -1;
		}
	}
	return s;
}

static void judge(const double *a, size_t n, double sustain, enum likeness_state want, double first,
		  const char *what)
{
	struct drift_scan s = scan_of(a, NULL, n);
	struct drift_verdict v;
	drift_judge(&s, 0, 0.6, sustain, &v);
	ok(v.state == want && fabs(v.first_drift - first) < 1e-9, "%s", what);
	if (v.state != want || fabs(v.first_drift - first) >= 1e-9)
		printf("#   got state %d, first drift %g\n", (int)v.state, v.first_drift);
	drift_verdict_clear(&v);
	drift_scan_clear(&s);
}

int main(void)
{
	const double N = NAN;
	double steady[] = {0.9, 0.85, 0.88, 0.9, 0.87, 0.9, 0.91, 0.9};
	judge(steady, 8, 0.5, LIKENESS_SAME, -1, "a steady face is the same");
	double blur[] = {0.9, 0.85, 0.3, 0.9, 0.87, 0.9, 0.91, 0.9};
	judge(blur, 8, 0.5, LIKENESS_SAME, -1, "one blurred frame (0.25 s) is not drift");
	double two[] = {0.9, 0.85, 0.3, 0.4, 0.87, 0.9, 0.91, 0.9};
	judge(two, 8, 0.5, LIKENESS_DRIFTED, 0.5, "two frames in a row (0.5 s) are, from 0.5 s");
	judge(two, 8, 0.75, LIKENESS_SAME, -1, "but not with a stretch of 0.75 s");
	double gap[] = {0.9, 0.3, N, N, 0.4, 0.9, 0.9, 0.9};
	judge(gap, 8, 0.5, LIKENESS_DRIFTED, 0.25,
	      "frames without her face do not break a stretch under the threshold");
	double late[] = {0.9, 0.9, 0.9, 0.9, 0.9, 0.4, 0.3, 0.2};
	judge(late, 8, 0.5, LIKENESS_DRIFTED, 1.25, "drift to the end of the clip counts");
	double gone[] = {N, N, N, N};
	judge(gone, 4, 0.5, LIKENESS_NO_FACE, -1, "a clip with no face at all is no face");
	double short_clip[] = {0.3};
	judge(short_clip, 1, 0.5, LIKENESS_DRIFTED, 0,
	      "a clip shorter than the stretch drifts when all of it does");

	/* Two members: she is never found while he is in every frame. */
	double her[] = {N, N, N, N}, him[] = {0.9, 0.9, 0.9, 0.9};
	struct drift_scan s = scan_of(her, him, 4);
	struct drift_verdict v;
	drift_judge(&s, 0, 0.6, 0.5, &v);
	ok(v.state == LIKENESS_MISSING && v.found_share == 0, "a member never found is missing");
	drift_verdict_clear(&v);
	drift_judge(&s, 1, 0.6, 0.5, &v);
	ok(v.state == LIKENESS_SAME && v.found_share == 1 && v.worst == 0.9,
	   "the other is the same, found in every frame");
	drift_verdict_clear(&v);
	drift_scan_clear(&s);

	/* Her face turns into his half way: the worst, where, and whom. */
	double mei[] = {0.9, 0.9, 0.5, 0.4, 0.35, 0.45}, kai[] = {0.2, 0.2, 0.8, 0.9, 0.9, 0.85};
	s = scan_of(mei, kai, 6);
	for (size_t i = 2; i < 6; i++)
		s.looks_like[i * 2] = 1;
	drift_judge(&s, 0, 0.6, 0.5, &v);
	ok(v.state == LIKENESS_DRIFTED && v.first_drift == 0.5 && v.worst == 0.35 &&
	       v.worst_at == 1.0 && v.looks_like == 1 && v.nspans == 1 && v.span_to[0] == 1.5 &&
	       v.below == 4,
	   "a face that becomes another member's: when, the worst, and whose it looks like");
	drift_verdict_clear(&v);
	drift_scan_clear(&s);
	return tap_done();
}
