/* generate: inject, send, poll, download, store, record. Keys come only
 * from the environment variables a profile names, and never reach the
 * index, a log row, an error message or verbose output. */
#ifndef TROUPE_GENERATE_H
#define TROUPE_GENERATE_H

#include "inject.h"

struct generate_options {
	struct inject_options inject;
	int timeout_s; /* 0: the profile's */
	bool verbose;  /* progress of the task on stderr */
};

struct generate_result {
	int64_t request_id;
	struct strlist outputs; /* "ID HASH" of each stored output */
};

int generate_run(struct catalog *cat, const struct profile *p, const char *input, bool is_json,
		 const struct generate_options *o, struct generate_result *out);
void generate_result_clear(struct generate_result *r);

#endif
