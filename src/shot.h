/* shot: the film's shots in order, their stills and takes, and the take
 * chosen for the cut. Every prompt's mentions are checked against the
 * cast before a shot is written, the order never holds a cycle, and a
 * failed take is never chosen. Nothing here prints. */
#ifndef TROUPE_SHOT_H
#define TROUPE_SHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct catalog;
struct take_check;

/* A take: a video of the shot, made by troupe or attached from elsewhere. */
struct shot_take {
	int number;	    /* 1, 2, ... within its shot */
	int64_t asset_id;   /* 0 when it failed without an output, or was removed */
	int64_t request_id; /* the request that made it; 0 when made elsewhere */
	bool failed;
	char *error; /* why it failed, or NULL */
	int64_t added;
	struct take_check *check; /* its last check (take-check.h), or NULL */
};

struct shot {
	int64_t id;
	char *slug;
	int64_t scene;
	double position; /* its place among the shots it is ordered with */
	char *after;	 /* the slug of the shot it follows, or NULL */
	char *prompt;
	char *aspect;		 /* "16:9", or NULL */
	double duration;	 /* seconds; 0 when not set */
	bool chain;		 /* the first frame is the previous shot's last */
	int64_t still_id;	 /* 0: none */
	int chosen;		 /* the chosen take's number; 0: none */
	struct shot_take *takes; /* by number */
	size_t ntakes;
	int64_t created;
	int64_t updated;
};
/* Frees s and everything it holds; NULL is a no-op. */
void shot_free(struct shot *s);
/* Frees an array of n shots and the array itself. */
void shot_list_free(struct shot **list, size_t n);

/* What a new shot or an edit sets; a NULL field or a false has_ flag
 * leaves it (a new shot: scene 1, or the scene of the shot it follows;
 * position after every shot there is). */
struct shot_spec {
	const char *slug;
	bool has_scene;
	int64_t scene;
	bool has_position;
	double position;
	const char *after; /* a slug; "" (edit only) no longer follows any */
	const char *prompt;
	const char *aspect;
	bool has_duration;
	double duration;
	bool set_chain, chain;
};

/* "W:H", each a whole number from 1 to 100; -1 with EX_DATAERR otherwise. */
int shot_aspect_check(const char *aspect);

/* Creates a shot. EX_DATAERR for a bad slug, aspect or duration, a slug
 * already taken, or a mention of an element nobody registered (named);
 * EX_NOINPUT when the shot it follows does not exist. */
int catalog_shot_new(struct catalog *cat, const struct shot_spec *spec);
/* Changes a shot in one transaction; an --after that would make the
 * order a cycle is refused with EX_DATAERR naming the loop. */
int catalog_shot_edit(struct catalog *cat, const char *slug, const struct shot_spec *e);
/* The shot with its takes; NULL with EX_NOINPUT when there is none. */
struct shot *catalog_shot_get(struct catalog *cat, const char *slug);
/* Every shot in film order: the shots that follow no other by scene,
 * then position, then creation; each shot is followed at once by the
 * shots that follow it (by position), and by theirs. */
int catalog_shot_list(struct catalog *cat, struct shot ***out, size_t *n);
/* Removes a shot and its takes' rows (their assets stay); the shots
 * that followed it follow the one it followed. */
int catalog_shot_rm(struct catalog *cat, const char *slug);
/* The slug of the shot before slug in film order (the one it follows,
 * if any); NULL with EX_DATAERR when it is the first. Caller frees. */
char *catalog_shot_previous(struct catalog *cat, const char *slug);

/* Adds each file or asset in inputs (a path that exists is a file, else
 * an asset id or hash prefix) as the next take of a shot, in one
 * transaction: files are stored as generated assets through the add
 * path. EX_DATAERR when one is not a video; then nothing is added.
 * first gets the first new take's number (may be NULL). */
int catalog_shot_take_add(struct catalog *cat, const char *slug, char *const *inputs, size_t n,
			  int *first);
/* Records the outcome of a generated take: asset_id (0 when it failed,
 * with error) and the request that made it; *number is its number. */
int catalog_shot_take_record(struct catalog *cat, const char *slug, int64_t asset_id,
			     int64_t request_id, const char *error, int *number);
/* Sets the still from a file or an asset, stored as a generated asset;
 * EX_DATAERR when it is not a picture. *asset_id gets its asset. */
int catalog_shot_still_set(struct catalog *cat, const char *slug, const char *input,
			   int64_t *asset_id);
/* A chained shot's still: the last frame of the previous shot's chosen
 * take, stored as a frame of that take. EX_DATAERR when the shot is not
 * chained, is the first, or the previous shot has no chosen take. */
int catalog_shot_still_chain(struct catalog *cat, const char *slug, int64_t *asset_id);
/* Chooses take number for the cut; EX_DATAERR for no such take, a
 * failed one or one whose asset is gone. */
int catalog_shot_pick(struct catalog *cat, const char *slug, int number);

/* Which shot an asset belongs to: *slug (caller frees) and *take (its
 * number; 0 when it is the shot's still). 0 with *slug NULL when it
 * belongs to none. */
int catalog_shot_of_asset(struct catalog *cat, int64_t asset_id, char **slug, int *take);

#endif
