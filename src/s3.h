/* s3: a client for S3-compatible object storage (AWS S3, R2, B2, MinIO,
 * Ceph RGW, Swift's s3api) on top of the http room: requests signed with
 * AWS SigV4 by libcurl, path-style or virtual-host-style URLs, https
 * except to exact loopback hosts, credentials from the environment or the
 * AWS CLI's shared credentials file only. A key is never stored, printed
 * or put in an error: every secret is registered for redaction as soon
 * as it is read. Errors say what the server meant ("the secret key is
 * wrong (403 SignatureDoesNotMatch)"). Nothing here prints. */
#ifndef TROUPE_S3_H
#define TROUPE_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Where a remote is: a bucket and a prefix inside it on a server. */
struct s3_location {
	char *bucket;
	char *prefix;	/* "" or "a/b", no leading or trailing '/' */
	char *endpoint; /* "https://host[:port]", no path */
	char *region;	/* "us-east-1" when none was given */
	bool path_style;
};
void s3_location_clear(struct s3_location *loc);

/* Parses "s3://BUCKET[/PREFIX]" into loc's bucket and prefix. The bucket
 * is 3 to 63 lower-case letters, digits, '.' and '-'; the prefix has no
 * empty, "." or ".." segment and no control character. -1 with an
 * EX_USAGE error otherwise. */
int s3_url_parse(const char *url, struct s3_location *loc);
/* Checks an endpoint: "https://host[:port]" (a trailing '/' is dropped),
 * or "http://" to exactly 127.0.0.1, [::1] or localhost. Returns a copy
 * the caller frees, NULL with an EX_USAGE error. */
char *s3_endpoint_check(const char *endpoint);
/* Checks a region name: letters, digits and '-', 1 to 32 of them. */
int s3_region_check(const char *region);

/* Keys to sign with; every member is the caller's to free with
 * s3_credentials_clear. */
struct s3_credentials {
	char *access_key;
	char *secret_key;
	char *session_token; /* NULL when none */
	char *source;	     /* where they came from, for messages: "the environment" */
};
void s3_credentials_clear(struct s3_credentials *c);
/* AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN)
 * when both are set; else the profile AWS_PROFILE names ("default" when
 * unset) in the file AWS_SHARED_CREDENTIALS_FILE names, or
 * ~/.aws/credentials. Every secret is registered with http_secret_add.
 * -1 with an EX_CONFIG error saying what to set when there are none. */
int s3_credentials_load(struct s3_credentials *c);
/* The profile's keys from the text of a shared credentials file (INI:
 * "[name]" sections, "key = value", '#' and ';' comments). 0 when the
 * profile has both keys, 1 when the profile or a key is absent, -1 with
 * an EX_CONFIG error when a line is malformed. */
int s3_credentials_parse(const char *text, const char *profile, struct s3_credentials *c);

/* A key encoded for a URL path the way SigV4 expects: every byte but
 * A-Z a-z 0-9 - . _ ~ and '/' as %XX. The caller frees it. */
char *s3_uri_encode(const char *s, bool keep_slash);
/* The URL of key (NULL: the bucket itself) with query (NULL for none; it
 * must be in SigV4's canonical order, names sorted, values encoded). The
 * caller frees it. */
char *s3_url(const struct s3_location *loc, const char *key, const char *query);
/* The full key of name under the location's prefix. The caller frees it. */
char *s3_key(const struct s3_location *loc, const char *name);

struct s3_client;
/* A client for loc (copied) with creds (copied). Free with s3_client_free. */
struct s3_client *s3_client_new(const struct s3_location *loc, const struct s3_credentials *creds);
void s3_client_free(struct s3_client *c);
const struct s3_location *s3_client_location(const struct s3_client *c);

/* Each call below takes a full key (s3_key) and is safe from several
 * threads at once once http_load() has succeeded. Failures are -1 with
 * an error: EX_NOPERM for refused keys, EX_CONFIG for a bucket that does
 * not exist, EX_UNAVAILABLE when the server cannot be reached or keeps
 * failing (5xx and 429 are retried with backoff), EX_PROTOCOL for an
 * answer that makes no sense. */

/* Uploads a file: one PUT, or a multipart upload in parts of
 * s3_part_size() bytes when it is larger than one part; a multipart
 * upload that fails is aborted, so no parts are left to pay for. */
int s3_put_file(struct s3_client *c, const char *key, const char *path);
int s3_put_buffer(struct s3_client *c, const char *key, const void *data, size_t len);
/* Downloads key into path (made or truncated), at most max bytes. 0 when
 * written (*bytes, may be NULL, its size), 1 when there is no such key. */
int s3_get_file(struct s3_client *c, const char *key, const char *path, uint64_t max,
		uint64_t *bytes);
/* The same into a buffer. */
int s3_get_buffer(struct s3_client *c, const char *key, size_t max, struct strbuf *out);
/* 0 with *bytes when key exists, 1 when it does not. */
int s3_head(struct s3_client *c, const char *key, uint64_t *bytes);
/* Every key that starts with prefix (a full key prefix), page by page
 * (ListObjectsV2 with continuation tokens). A nonzero return from each
 * stops the listing and is returned. */
typedef int s3_list_fn(const char *key, uint64_t bytes, void *ctx);
int s3_list(struct s3_client *c, const char *prefix, s3_list_fn *each, void *ctx);
/* Deletes key; a key that is not there is not an error. */
int s3_delete(struct s3_client *c, const char *key);

/* The part size of multipart uploads: $TROUPE_S3_PART_SIZE bytes (at
 * least 5 MiB, S3's smallest part), else 64 MiB. */
uint64_t s3_part_size(void);

/* The message for an S3 error answer, as the commands print it after
 * "remote NAME: ", and its exit status; the caller frees the message. */
char *s3_error_text(long status, const char *code, const char *message, const char *bucket,
		    int *exit_code);

#endif
