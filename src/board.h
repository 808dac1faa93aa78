/* board: the storyboard page. It gathers every shot in film order with
 * its still, its takes and the reference pictures of the elements its
 * prompt mentions, and builds the page's HTML from those structs alone
 * (so it can be tested without a store). Every text is escaped; the page
 * has no script and names only files beside it (thumbs/, videos/). It
 * writes no file and never prints. */
#ifndef TROUPE_BOARD_H
#define TROUPE_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct asset;
struct catalog;

/* At most this many reference pictures of one element are shown. */
#define BOARD_REFS_PER_ELEMENT 3

/* A mentioned element with the pictures shown for it. */
struct board_element {
	char *slug, *kind, *name;
	char *look;	     /* "" for none */
	struct asset **refs; /* pictures, the look's first */
	size_t nrefs;
	size_t more; /* its pictures not shown */
};

/* Where a mention is in the prompt and which element it names. */
struct board_mention {
	size_t start, end;
	size_t element; /* index in the board's elements; BOARD_UNKNOWN: none */
};
#define BOARD_UNKNOWN ((size_t)-1)

struct board_take {
	int number;
	bool failed;
	char *error;	     /* why it failed, or NULL */
	struct asset *video; /* NULL when it failed or its asset is gone */
	/* Its last check (shot check): the verdict ("same", "drifted", "no
	 * face", "unreadable"), each character's figures as one line
	 * ("@mei 0.91; @kai 0.44 from 2.00s") and what it was checked
	 * with ("face, threshold 0.62 (calibrated), 2026-12-01T16:00:00Z");
	 * all NULL: not checked. */
	char *verdict;
	char *figures;
	char *checked_with;
};

struct board_shot {
	char *slug;
	int64_t scene;
	char *after; /* the shot it follows, or NULL */
	char *prompt;
	char *aspect;	 /* or NULL */
	double duration; /* 0: not set */
	bool chain;
	struct asset *still; /* or NULL */
	int chosen;	     /* 0: none */
	size_t *elements;    /* indices in the board's elements, each once */
	size_t nelements;
	struct board_mention *mentions; /* in the order they are written */
	size_t nmentions;
	struct board_take *takes;
	size_t ntakes;
};

struct board {
	struct board_shot *shots; /* in film order */
	size_t n;
	struct board_element *elements; /* every one mentioned, once */
	size_t nelements;
};

/* Every shot of the store, in film order, with what the page shows.
 * EX_DATAERR when there is no shot. Clear out with board_clear, also
 * after a failure. */
int board_build(struct catalog *cat, struct board *out);
void board_clear(struct board *b);

/* The page: title (escaped here) over the shots; the caller frees it.
 * Pictures are thumbs/HASH.jpg, clips videos/HASH.FORMAT. */
char *board_html(const struct board *b, const char *title);

#endif
