/* cmd-shot: what the files of troupe shot share (cmd-shot.c parses and
 * prints shots; cmd-shot-render.c makes takes; cmd-shot-check.c checks
 * them and says what each check found). Only they include it. */
#ifndef TROUPE_CMD_SHOT_H
#define TROUPE_CMD_SHOT_H

#include "cli.h"
#include "take-check.h"
#include "util.h"

struct catalog;

/* shot check's options as parsed; NULL or false: the default. */
struct shot_check_args {
	const char *model, *profile;
	bool has_threshold;
	double threshold;
	double rate;
	bool has_sustain;
	double sustain;
	bool all;
};

/* shot render's options as parsed; 0 or NULL: the default. */
struct shot_render_args {
	const char *video; /* the profile */
	int64_t takes;
	int64_t timeout;
	int64_t parallel;
};

/* troupe shot render ID --video PROFILE; words as for shot_check. */
int shot_render(struct cli *cli, struct catalog *cat, char *const *words, size_t n,
		const struct shot_render_args *a);

/* troupe shot check ID [TAKE...] or --all; words are the positional
 * arguments after "check". */
int shot_check(struct cli *cli, struct catalog *cat, char *const *words, size_t n,
	       const struct shot_check_args *a);

/* A take's recorded check as JSON, or JSON null for none. */
cJSON *shot_check_json(const struct take_check *c);
/* One line for a listing: "same, @mei 0.8123" or "drifted at 2.00 s,
 * @mei 0.41"; "-" for none. The caller frees it. */
char *shot_check_line(const struct take_check *c);

#endif
