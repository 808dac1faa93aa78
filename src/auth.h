/* auth: the credentials a service wants, from the environment variables
 * its profile names, as request headers; and the signatures some schemes
 * need (Kling's HS256 JWT). A key never leaves the header list it is put
 * in: never the index, a log row, an error message or verbose output. */
#ifndef TROUPE_AUTH_H
#define TROUPE_AUTH_H

#include <stdint.h>

#include "profile.h"

/* Pushes onto headers the "Name: value" lines that authenticate to the
 * profile's service (none for a profile without auth), and registers
 * every key and token it uses with http_secret_add, so that no answer
 * read afterwards holds one. -1 with an EX_CONFIG error naming the
 * variable when one is unset or empty. */
int auth_headers(const struct profile *p, struct strlist *headers);

/* The account the profile's keys belong to, as 64 hex digits into out:
 * HMAC-SHA-256 under salt of every key the profile reads, so that ids a
 * service gave one account are never offered to another, and what is
 * kept cannot be turned back into a key. A profile without auth has the
 * fingerprint of no key. -1 with an EX_CONFIG error as auth_headers when
 * a key is unset. */
int auth_fingerprint(const struct profile *p, const uint8_t salt[32], char out[65]);

/* A JWT signed with HMAC-SHA256 (RFC 7519): the header
 * {"alg":"HS256","typ":"JWT"} and the given claims (JSON text), each in
 * base64url, and their signature with secret. The caller frees it. */
char *auth_jwt_hs256(const char *claims, const char *secret);

/* Kling's token: iss = access key, valid from five seconds before now for
 * thirty minutes, signed with the secret key. The caller frees it. */
char *auth_kling_jwt(const char *access, const char *secret, int64_t now);

#endif
