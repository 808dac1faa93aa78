/* upload: references a service wants sent to its upload endpoint first
 * and then named by the id it answers (PixVerse's img_id, ComfyUI's file
 * name). An id is remembered per endpoint, account and derivative and
 * reused until the lifetime the profile documents passes or the service
 * says it does not know it. */
#ifndef TROUPE_UPLOAD_H
#define TROUPE_UPLOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "catalog.h"
#include "derivative.h"
#include "profile.h"
#include "util.h"

/* The id that names d at the profile's service for the account whose key
 * auth (auth_headers) carries: a remembered, unexpired one (*reused), or
 * one got by uploading d now, which is remembered before this returns.
 * *numeric says the service gave a number. NULL with an error; the
 * caller frees the id. */
char *upload_reference(struct catalog *cat, const struct profile *p, const struct derivative *d,
		       const struct strlist *auth, bool *numeric, bool *reused);

/* Forgets the id remembered for the derivative sent_hash at the profile's
 * service, for the current key's account. */
int upload_forget(struct catalog *cat, const struct profile *p, const char *sent_hash);

/* Whether an answer of the service (body, len bytes) says that a request
 * named an id it does not know, by the profile's references.upload.unknown
 * rule; false for a profile without one. */
bool upload_answer_unknown(const struct profile *p, const char *body, size_t len);

#endif
