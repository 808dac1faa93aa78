/* generate: inject, send, poll, download, store, record. Keys come only
 * from the environment variables a profile names, and never reach the
 * index, a log row, an error message or the progress callback, even when
 * a service echoes one back. */
#ifndef TROUPE_GENERATE_H
#define TROUPE_GENERATE_H

#include "inject.h"
#include "store.h"

/* Called while a task is waited for, after every poll: the task's id,
 * its status by name (see the profile's task.status_names), the seconds
 * since the request began, and whether the status changed. */
typedef void generate_progress_fn(void *ctx, const char *task, const char *status, double elapsed_s,
				  bool changed);

struct generate_options {
	struct inject_options inject;
	int timeout_s;			/* 0: the profile's task.timeout_s; bounds every transfer */
	generate_progress_fn *progress; /* or NULL */
	void *progress_ctx;
};

/* One output of a request, as it was stored. */
struct generate_output {
	int64_t asset_id;
	char hash[STORE_HASH_HEX + 1];
	char *url;    /* where the service offered it; NULL when sent inline */
	bool existed; /* the store held these bytes before */
};

struct generate_result {
	int64_t request_id;
	struct generate_output *outputs; /* in the order the service gave them */
	size_t noutputs;
};

/* Injects input (see inject_run), sends it to the profile's service,
 * waits for the task, and stores every output as a generated asset of
 * the mentioned character, linked to the request in the log. Fills out
 * (cleared with generate_result_clear, also after a failure). On failure
 * the request row says what went wrong and no output is registered. */
int generate_run(struct catalog *cat, const struct profile *p, const char *input, bool is_json,
		 const struct generate_options *o, struct generate_result *out);
/* Frees what out holds; the struct may be reused. */
void generate_result_clear(struct generate_result *r);

#endif
