/* reqlog: the request log: each injection and generation, the characters
 * it mentioned, the references it sent and the assets it made, so that a
 * shot can be traced back to what made it. Nothing here prints. */
#ifndef TROUPE_REQLOG_H
#define TROUPE_REQLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct catalog;

struct request_ref_row {
	int64_t asset_id;
	const char *sent_hash; /* the derivative that was sent */
	const char *tag;
	const char *upload; /* "uploaded", "reused", or NULL: not uploaded */
};

/* Records a request (kind "inject" or "generate") with its characters
 * and references, and the process that made it (pid, start time, host),
 * so that a listing can tell a running request from one whose process
 * died; returns its id, or -1. */
int64_t catalog_request_begin(struct catalog *cat, const char *kind, const char *profile,
			      const char *prompt, const char *request, const char *status,
			      const struct strlist *slugs, const struct request_ref_row *refs,
			      size_t nrefs);
/* Sets the outcome; error and response may be NULL. */
int catalog_request_finish(struct catalog *cat, int64_t id, const char *status, long http_status,
			   const char *response, const char *error, int64_t duration_ms);

/* A reference a request sent, as the log keeps it. */
struct log_ref {
	int64_t asset_id;  /* 0 when the asset has been removed since */
	char *source_hash; /* the asset's blob */
	char *sent_hash;   /* the derivative that was sent */
	char *tag;	   /* NULL when it had none */
	char *upload;	   /* "uploaded", "reused", or NULL: not an upload */
};

/* An asset a request made. */
struct log_output {
	int64_t asset_id;
	char *hash; /* its blob */
	char *url;  /* where the service offered it; NULL when not known */
};

struct log_entry {
	int64_t id;
	char *kind;
	char *profile;
	char *prompt;
	char *request;
	char *response;
	char *status;
	char *error;
	long http_status;
	int64_t started;
	int64_t duration_ms;
	struct strlist characters;
	struct log_ref *refs; /* each reference, in the order of the request */
	size_t nrefs;
	struct log_output *outputs; /* each output, by asset id */
	size_t noutputs;
};
/* Frees e and everything it holds; NULL is a no-op. */
void log_entry_free(struct log_entry *e);
/* Requests, newest first, optionally only those with a character or a
 * profile; each(entry, ctx) as catalog_query. A "running" request whose
 * process is known to be gone (on this host) has the status "died". */
int catalog_log(struct catalog *cat, const char *character, const char *profile, int64_t limit,
		int (*each)(const struct log_entry *, void *), void *ctx);
/* Removes the requests that began before `before` (a Unix time), with
 * their characters and references, in one transaction. Kept are those
 * that made an asset still in the store (its provenance) and those still
 * running in a live process. *pruned and *kept (either may be NULL) get
 * the counts; with dry_run nothing is removed, only counted. */
int catalog_log_prune(struct catalog *cat, int64_t before, bool dry_run, int64_t *pruned,
		      int64_t *kept);
/* The same, leaving out the requests whose status is skip_status (NULL:
 * none), such as inject's "preview" rows. */
int catalog_log_except(struct catalog *cat, const char *character, const char *profile,
		       const char *skip_status, int64_t limit,
		       int (*each)(const struct log_entry *, void *), void *ctx);
/* The request that made an asset, or NULL (and no error) when it was not
 * generated; free it with log_entry_free(). */
int catalog_asset_request(struct catalog *cat, int64_t asset_id, struct log_entry **out);

#endif
