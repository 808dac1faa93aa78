/* render: image-to-video takes of a shot from its still. The request is
 * checked once without sending anything before the first take, so that a
 * shot that cannot be rendered costs no paid request and records no take;
 * after that every attempt is recorded, whatever becomes of it. */
#include "config.h"

#include "catalog.h"
#include "render.h"
#include "shot.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* The shot's still, made from the previous shot's chosen take when the
 * shot is chained and has none yet. */
static int still_of(struct catalog *cat, const struct shot *s, int64_t *still)
{
	*still = s->still_id;
	if (*still)
		return 0;
	if (s->chain)
		return catalog_shot_still_chain(cat, s->slug, still);
	return error_set(EX_DATAERR,
			 "%s has no still: image-to-video starts from one (troupe shot still %s "
			 "FILE|ASSET)",
			 s->slug, s->slug);
}

/* Everything the request needs, checked as inject --dry-run would: no
 * key is read and nothing is sent. */
static int preflight(struct catalog *cat, const struct profile *p, const struct shot *s,
		     const struct inject_options *io, const struct render_options *o)
{
	if (!p->outputs.video)
		return error_set(EX_USAGE, "profile %s makes pictures, not videos (--video)",
				 p->name);
	struct inject_options dry = *io;
	dry.dry_run = true;
	dry.unplaced = o->unplaced;
	dry.text_only = o->text_only;
	struct injection in;
	int rc = inject_run(cat, p, s->prompt, false, &dry, &in);
	injection_clear(&in);
	return rc;
}

static int record(struct catalog *cat, const char *slug, int64_t asset_id, int64_t request_id,
		  const char *error, const struct render_options *o)
{
	struct render_take t = {0, asset_id, request_id, error};
	if (catalog_shot_take_record(cat, slug, asset_id, request_id, error, &t.number) < 0)
		return -1;
	if (o->recorded)
		o->recorded(&t, o->ctx);
	return 0;
}

int render_shot(struct catalog *cat, const char *slug, const struct profile *p,
		const struct render_options *o, int *failed)
{
	*failed = 0;
	struct shot *s = catalog_shot_get(cat, slug);
	if (!s)
		return -1;
	char *frame = NULL, *first_error = NULL;
	int first_code = 0, rc = -1;
	int64_t still;
	if (still_of(cat, s, &still) < 0)
		goto out;
	frame = xasprintf("#%lld", (long long)still);
	struct generate_options go = {
	    .timeout_s = o->timeout_s, .progress = o->progress, .progress_ctx = o->ctx};
	go.inject.first_frame = frame;
	go.inject.aspect = s->aspect;
	if (preflight(cat, p, s, &go.inject, o) < 0)
		goto out;
	for (int i = 0; i < o->takes; i++) {
		struct generate_result res = {0};
		int made = generate_run(cat, p, s->prompt, false, &go, &res);
		int step = 0;
		if (made < 0) {
			char *why = xstrdup(error_message());
			if (!first_error) {
				first_error = xstrdup(why);
				first_code = error_code();
			}
			(*failed)++;
			step =
			    record(cat, slug, 0, res.request_id > 0 ? res.request_id : 0, why, o);
			free(why);
		}
		for (size_t k = 0; made == 0 && step == 0 && k < res.noutputs; k++)
			step = record(cat, slug, res.outputs[k].asset_id, res.request_id, NULL, o);
		generate_result_clear(&res);
		if (step < 0)
			goto out;
	}
	if (first_error) {
		error_set(first_code ? first_code : EX_SOFTWARE, "%s: %d of %d take%s failed: %s",
			  slug, *failed, o->takes, o->takes == 1 ? "" : "s", first_error);
		goto out;
	}
	rc = 0;
out:
	free(first_error);
	free(frame);
	shot_free(s);
	return rc;
}
