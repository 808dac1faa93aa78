/* remote: the remotes a store knows (where each is: bucket, prefix,
 * endpoint, region, URL style) and, per remote and element, what was
 * last pushed or pulled, so that a change on both sides is a conflict
 * and not an overwrite. A catalog room: it holds the SQL, never a key
 * and never a blob. Nothing here prints. */
#ifndef TROUPE_REMOTE_H
#define TROUPE_REMOTE_H

#include <stdbool.h>
#include <stdint.h>

#include "s3.h"

struct catalog;

struct remote {
	int64_t id;
	char *name;
	struct s3_location loc;
	int64_t created;
};
void remote_clear(struct remote *r);

/* Checks a remote's name: 1 to 64 of a-z 0-9 '-' '_', starting with a
 * letter or digit. -1 with an EX_USAGE error otherwise. */
int remote_name_check(const char *name);
/* Adds a remote; EX_USAGE when the name is taken or not valid. loc must
 * have been checked (s3_url_parse, s3_endpoint_check, s3_region_check). */
int remote_add(struct catalog *cat, const char *name, const struct s3_location *loc);
/* The remote of that name into *out (clear it with remote_clear); -1 with
 * an EX_USAGE error naming `troupe remote add` when there is none. */
int remote_find(struct catalog *cat, const char *name, struct remote *out);
/* Removes a remote and its sync state; EX_USAGE when there is none. */
int remote_remove(struct catalog *cat, const char *name);
/* Calls each for every remote by name; a nonzero return stops and is
 * returned. The remote is borrowed for the call. */
typedef int remote_each_fn(const struct remote *r, void *ctx);
int remote_list(struct catalog *cat, remote_each_fn *each, void *ctx);

/* The sync state of an element on a remote: the SHA-256 (hex) of its
 * manifest here and there at the last push or pull. 0 when found, 1 when
 * it was never synced. */
int remote_sync_get(struct catalog *cat, int64_t remote, const char *slug, char local[65],
		    char there[65]);
int remote_sync_set(struct catalog *cat, int64_t remote, const char *slug, const char *local,
		    const char *there);

#endif
