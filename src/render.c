/* render: image-to-video takes of a shot from its still. The request is
 * checked once without sending anything before the first take, so that a
 * shot that cannot be rendered costs no paid request and records no take;
 * after that every attempt is recorded, whatever becomes of it. */
#include "config.h"

#include "catalog.h"
#include "render.h"
#include "shot.h"
#include "util.h"

#include <pthread.h>
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

/* The takes still to make, shared by the threads that make them. */
struct pool {
	const struct profile *p;
	const struct shot *s;
	struct generate_options go;
	const struct render_options *o;
	pthread_mutex_t lock;
	int started, failed;
	char *first_error; /* the first take that failed, why */
	int first_code;
	char *stop_error; /* a take that could not be recorded, why */
	int stop_code;
};

static void pool_progress(void *ctx, const char *task, const char *status, double elapsed_s,
			  bool changed)
{
	struct pool *pl = ctx;
	pthread_mutex_lock(&pl->lock);
	pl->o->progress(pl->o->ctx, task, status, elapsed_s, changed);
	pthread_mutex_unlock(&pl->lock);
}

static int record(struct catalog *cat, struct pool *pl, int64_t asset_id, int64_t request_id,
		  const char *error)
{
	struct render_take t = {0, asset_id, request_id, error};
	if (catalog_shot_take_record(cat, pl->s->slug, asset_id, request_id, error, &t.number) < 0)
		return -1;
	pthread_mutex_lock(&pl->lock);
	if (pl->o->recorded)
		pl->o->recorded(&t, pl->o->ctx);
	pthread_mutex_unlock(&pl->lock);
	return 0;
}

/* Makes one take and records it, whatever became of it; -1 only when it
 * could not be recorded. */
static int one_take(struct catalog *cat, struct pool *pl)
{
	struct generate_result res = {0};
	int made = generate_run(cat, pl->p, pl->s->prompt, false, &pl->go, &res);
	int step = 0;
	if (made < 0) {
		char *why = xstrdup(error_message());
		pthread_mutex_lock(&pl->lock);
		pl->failed++;
		if (!pl->first_error) {
			pl->first_error = xstrdup(why);
			pl->first_code = error_code();
		}
		pthread_mutex_unlock(&pl->lock);
		step = record(cat, pl, 0, res.request_id > 0 ? res.request_id : 0, why);
		free(why);
	}
	for (size_t k = 0; made == 0 && step == 0 && k < res.noutputs; k++)
		step = record(cat, pl, res.outputs[k].asset_id, res.request_id, NULL);
	generate_result_clear(&res);
	return step;
}

/* Takes the next take to make until none is left, or one could not be
 * recorded (then no more are begun). */
static void take_loop(struct catalog *cat, struct pool *pl)
{
	for (;;) {
		pthread_mutex_lock(&pl->lock);
		bool go = pl->started < pl->o->takes && !pl->stop_error;
		pl->started += go;
		pthread_mutex_unlock(&pl->lock);
		if (!go)
			return;
		if (one_take(cat, pl) < 0) {
			pthread_mutex_lock(&pl->lock);
			if (!pl->stop_error) {
				pl->stop_error = xstrdup(error_message());
				pl->stop_code = error_code();
			}
			pthread_mutex_unlock(&pl->lock);
			return;
		}
	}
}

struct worker {
	struct pool *pl;
	struct catalog *cat; /* its own connection */
	pthread_t thread;
	bool running;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	take_loop(w->cat, w->pl);
	return NULL;
}

int render_shot(struct catalog *cat, const char *slug, const struct profile *p,
		const struct render_options *o, int *failed)
{
	*failed = 0;
	int concurrency = p->send.concurrency > 1 ? p->send.concurrency : 1;
	if (o->parallel > concurrency)
		return error_set(EX_USAGE,
				 "--parallel %d: profile %s runs at most %d task%s at a time for "
				 "one account (its \"concurrency\"; see troupe-profile(5))",
				 o->parallel, p->name, concurrency, concurrency == 1 ? "" : "s");
	struct shot *s = catalog_shot_get(cat, slug);
	if (!s)
		return -1;
	struct pool pl = {.p = p, .s = s, .o = o, .lock = PTHREAD_MUTEX_INITIALIZER};
	char *frame = NULL;
	int rc = -1, nworkers = 0;
	struct worker *workers = NULL;
	int64_t still;
	if (still_of(cat, s, &still) < 0)
		goto out;
	frame = xasprintf("#%lld", (long long)still);
	pl.go = (struct generate_options){.timeout_s = o->timeout_s,
					  .progress = o->progress ? pool_progress : NULL,
					  .progress_ctx = &pl};
	pl.go.inject.first_frame = frame;
	pl.go.inject.aspect = s->aspect;
	pl.go.inject.duration = s->duration;
	if (preflight(cat, p, s, &pl.go.inject, o) < 0)
		goto out;
	/* This thread makes takes too; the others each open the index for
	 * themselves before anything is sent. */
	int threads = o->parallel > 1 ? o->parallel : 1;
	if (threads > o->takes)
		threads = o->takes;
	workers = xcalloc((size_t)threads, sizeof(*workers));
	for (; nworkers < threads - 1; nworkers++) {
		workers[nworkers].pl = &pl;
		if (!(workers[nworkers].cat = catalog_open(catalog_root(cat))))
			goto out;
	}
	for (int i = 0; i < nworkers; i++)
		workers[i].running =
		    pthread_create(&workers[i].thread, NULL, work, &workers[i]) == 0;
	take_loop(cat, &pl);
	for (int i = 0; i < nworkers; i++)
		if (workers[i].running)
			pthread_join(workers[i].thread, NULL);
	*failed = pl.failed;
	if (pl.stop_error) {
		error_set(pl.stop_code, "%s", pl.stop_error);
		goto out;
	}
	if (pl.first_error) {
		error_set(pl.first_code ? pl.first_code : EX_SOFTWARE,
			  "%s: %d of %d take%s failed: %s", slug, pl.failed, o->takes,
			  o->takes == 1 ? "" : "s", pl.first_error);
		goto out;
	}
	rc = 0;
out:
	for (int i = 0; i < nworkers; i++)
		catalog_close(workers[i].cat);
	free(workers);
	free(pl.first_error);
	free(pl.stop_error);
	pthread_mutex_destroy(&pl.lock);
	free(frame);
	shot_free(s);
	return rc;
}
