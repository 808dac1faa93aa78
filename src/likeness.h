/* likeness: whether a shot still shows the same character, and the
 * threshold that tells: a picture scored against a character's references
 * (embedding similarity; pHash and colour-layout distances as second
 * opinions), and a model's threshold swept from the store's own
 * references. Never prints: structs back, warnings through a callback. */
#ifndef TROUPE_LIKENESS_H
#define TROUPE_LIKENESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "embedding.h"
#include "profile.h"

/* Receives a warning meant for the user (the caller decides how to show
 * it). */
typedef void likeness_warn_fn(const char *message, void *ctx);

/* ---- check ---- */

/* What shots of one character are compared with, for one model. */
struct likeness;

/* Loads the references of the character slug: the vectors its assets
 * have for model m (of m's dimension), and the pHashes and colour layouts
 * of its stored pictures (generated ones left out). Shots are embedded
 * through p, borrowed for the life of the result. NULL with an
 * EX_DATAERR error when the character has no vectors for the model.
 * Free with likeness_free. */
struct likeness *likeness_new(struct catalog *cat, const struct profile *p,
			      const struct model_info *m, const char *slug);
void likeness_free(struct likeness *l);

/* What became of a shot. */
enum likeness_state {
	LIKENESS_SAME,	     /* a face similar enough to the references */
	LIKENESS_DRIFTED,    /* faces, none similar enough */
	LIKENESS_NO_FACE,    /* the model found nothing to compare */
	LIKENESS_UNREADABLE, /* not a picture troupe can read */
	LIKENESS_MISSING,    /* faces, but each went to another cast member */
};
/* The verdict's word: "same", "drifted", "no face", "unreadable",
 * "missing". */
const char *likeness_state_word(enum likeness_state state);

struct likeness_verdict {
	enum likeness_state state;
	/* Cosine similarity of the best face to the closest reference, when
	 * the shot gave a vector. */
	bool embedded;
	double similarity;
	int64_t similarity_ref;
	/* Every face is compared; face is the one (0-based, largest first)
	 * that came closest, of faces found, and box where it is as fractions
	 * of the shot's width and height, when the service says. */
	size_t faces, face;
	bool has_box;
	double box[4];
	/* Hamming distance of pHashes to the closest picture, -1 for none. */
	int phash_distance;
	int64_t phash_ref;
	/* Mean delta E of the colour layouts to the closest picture, -1 for
	 * none. */
	double palette_distance;
	int64_t palette_ref;
	/* The cast member (an index into the cast) the scored face is more
	 * like than this character, or -1: identity bleeding, or a swap. */
	int looks_like;
	/* Why there is no similarity (e.g. "no face in the image"), or "". */
	char reason[160];
};

/* The most characters one shot is checked for at once. */
#define LIKENESS_MAX_CAST 16

/* Every face of one shot scored against every member of a cast. */
struct likeness_shot {
	/* LIKENESS_NO_FACE or LIKENESS_UNREADABLE with a reason, else faces
	 * were found (state LIKENESS_SAME, meaning only that). */
	enum likeness_state state;
	char reason[160];
	size_t nfaces, ncast;
	double *sim;  /* nfaces x ncast: each face's similarity to each member */
	int64_t *ref; /* and the closest reference's asset */
	struct {
		bool has_box;
		double box[4];
	} * boxes; /* nfaces, largest first */
};
void likeness_shot_clear(struct likeness_shot *s);
/* Embeds the picture at path, or the image bytes buf (what names it in
 * errors), once through cast[0]'s profile, and scores every face against
 * each of the nc members (all of one model). A picture without a face or
 * that cannot be read is a state, not an error; -1 as likeness_check.
 * Clear *out also after a failure. */
int likeness_shot_file(struct likeness *const *cast, size_t nc, const char *path,
		       struct likeness_shot *out);
int likeness_shot_buffer(struct likeness *const *cast, size_t nc, const char *what,
			 const struct image_buffer *buf, struct likeness_shot *out);
/* The faces given to the members (face_of[c], -1 for none): each face to
 * at most one member, as many members placed as there are faces, the
 * total similarity the highest. At most LIKENESS_MAX_CAST members. */
void likeness_assign(const struct likeness_shot *s, int *face_of);
/* Member c's verdict in the shot under that assignment; the pHash and
 * palette fields of out are kept. */
void likeness_verdict_of(const struct likeness_shot *s, const int *face_of, size_t c,
			 double threshold, struct likeness_verdict *out);
/* Faces given to no member and like none of them: strangers. */
size_t likeness_strangers(const struct likeness_shot *s, const int *face_of, double threshold);

/* likeness_check for a cast of nc: out[c] for each member, and how many
 * strangers the shot holds. */
int likeness_check_cast(struct likeness *const *cast, size_t nc, const char *shot, double threshold,
			struct likeness_verdict *out, size_t *strangers);

/* Scores the image file shot: every face the model finds in it against
 * the character's references, the closest face counting; a similarity
 * at or above threshold is the same character. A shot the model finds
 * nothing in is a verdict of "no face", one that is not a picture of
 * "unreadable", each with its reason, not an error. -1 with an error only
 * when the check itself cannot go on (the service fails, or answers with
 * another network or dimension than the references'). */
int likeness_check(struct likeness *l, const char *shot, double threshold,
		   struct likeness_verdict *out);

/* ---- calibrate ---- */

struct likeness_calibration {
	double threshold;
	double balanced_accuracy; /* 0.5 to 1 */
	size_t same_pairs, other_pairs;
	/* Of the same pairs, how many are a reference and a variant of it
	 * (mirror, crop, exposure, ...), and variants the model found
	 * nothing in (left out). */
	size_t variant_pairs, variant_misses;
	double same_mean, same_min;   /* similarity of same-character pairs */
	double other_mean, other_max; /* and of other-character pairs */
	double margin;		      /* same_min - other_max: below 0 they overlap */
};

/* Where the threshold sits in the gap between the highest
 * other-character and the lowest same-character similarity, when there
 * is one: 0 at the first, 1 at the second. */
#define LIKENESS_GAP_FRACTION 0.25

/* A margin below this is thin: a shot a little unlike the references
 * falls on the wrong side. */
#define LIKENESS_THIN_MARGIN 0.05

/* Told how far a calibration's variants have come. */
typedef void likeness_progress_fn(size_t done, size_t total, void *ctx);

struct likeness_calibrate_opts {
	/* The model's embedding profile, to embed variants of each reference
	 * with; NULL for pairs of stored vectors only. */
	const struct profile *profile;
	likeness_warn_fn *on_warning;
	likeness_progress_fn *on_progress;
	void *ctx;
};

/* Variants are made of at most this many references of each character. */
#define LIKENESS_VARIANT_REFS 3

/* The threshold that best separates same (ns similarities of pairs of one
 * character's references) from other (nd of pairs of different
 * characters): the one that maximises the mean of the pass rate of same
 * and the fail rate of other, halfway between neighbouring values. Sorts
 * both arrays; each must have at least one element. */
void likeness_sweep(double *same, size_t ns, double *other, size_t nd, double *threshold,
		    double *accuracy);

/* Calibrates model from every pair of references that have its vectors
 * and belong to a character and, with a profile, from each reference
 * against variants of itself (so that one reference a character is
 * enough); stores the threshold in the catalog and fills out. A model
 * that separates the characters poorly, or with a thin margin, gets a
 * warning through on_warning before the threshold is stored. -1 with an
 * EX_DATAERR error when there are not enough pairs of either kind, or
 * with the service's error when a variant cannot be embedded. */
int likeness_calibrate(struct catalog *cat, const char *model,
		       const struct likeness_calibrate_opts *opts,
		       struct likeness_calibration *out);

#endif
