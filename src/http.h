/* http: libcurl behind the policy troupe keeps for every service: TLS
 * verification on, https only except to loopback, few redirects and none
 * that carries a header or a body to another host, bounded responses and
 * times, 429 and 5xx retried with backoff that honours Retry-After.
 * Header values (which carry keys) are never recorded or printed, and a
 * registered secret is cut out of every answer before anyone reads it. */
#ifndef TROUPE_HTTP_H
#define TROUPE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct http_part {
	const char *name;
	const char *value; /* a text field, or */
	const char *file;  /* a file to send */
	const char *mime;
	const char *filename; /* the name a file part is sent under */
};

struct http_request {
	const char *method;
	const char *url;
	struct strlist headers;	       /* "Name: value" */
	const char *body;	       /* JSON text, or NULL */
	size_t body_len;	       /* with raw_body: the body's length */
	bool raw_body;		       /* body is bytes with their own Content-Type */
	const struct http_part *parts; /* multipart/form-data when nparts > 0 */
	size_t nparts;
	size_t max_response; /* bytes; 0 for the default (64 MB) */
	double budget_s;     /* all attempts together; 0 for the default (300 s) */
	/* Object storage (s3.c): libcurl signs the request with AWS SigV4
	 * ("aws:amz:REGION:s3") under user (the access key, which may hold
	 * a colon) and password (the secret key). */
	const char *aws_sigv4;
	const char *user;
	const char *password;
	/* The body is upload_len bytes of this file from upload_offset,
	 * read again for every attempt. */
	const char *upload_path;
	uint64_t upload_offset;
	uint64_t upload_len;
	/* A 2xx answer's body goes to this file (made or truncated at each
	 * attempt), at most max_response bytes; any other answer's body is
	 * kept in the response, as always. */
	const char *download_path;
	bool head; /* HEAD: no body comes back */
};

struct http_response {
	long status;
	struct strbuf body;
	char *content_type;
	double seconds;
	int attempts;
	char *etag;	     /* the ETag header, NULL when there was none */
	uint64_t downloaded; /* bytes written to download_path */
	int64_t length;	     /* the Content-Length header; -1 when there was none */
};

/* Sends a request; retries 429 and 5xx up to four times. A redirect is
 * followed (https only, at most three) to the same scheme, host and port
 * with everything the request had; to another host only when the request
 * has no header and no body of its own (an output download), and
 * otherwise refused, so no key and no body leave the host the caller
 * named. The request's budget is cut to the deadline (http_deadline_set);
 * a body-less request also fails when its answer stalls (under 1 kB/s for
 * 20 s). Every registered secret in a text answer is replaced by
 * HTTP_REDACTED. Returns 0 when a response arrived (any status), -1 with
 * an error when none did. */
int http_send(const struct http_request *req, struct http_response *resp);
/* What a redacted secret becomes. */
#define HTTP_REDACTED "[redacted]"
/* Every request sent from now until http_deadline_clear() ends by at most
 * seconds from now; one sent after it has passed fails at once with
 * EX_TEMPFAIL. */
void http_deadline_set(double seconds);
void http_deadline_clear(void);
/* Registers a secret (a key, a token made from one) for redaction until
 * exit; empty strings are ignored. The text is copied. */
void http_secret_add(const char *secret);
/* Replaces every registered secret in text (and its JSON-escaped form)
 * with HTTP_REDACTED; returns a new string the caller frees. */
char *http_redact(const char *text);
/* The same in place on a buffer. */
void http_redact_buf(struct strbuf *sb);
void http_response_clear(struct http_response *resp);
/* Loads the libcurl module now, so that threads sending requests at once
 * find it loaded (http_send loads it on first use otherwise, which is not
 * safe from two threads at once). -1 with an error when it cannot be. */
int http_load(void);
/* 0 if troupe may talk to this URL: https, or http to a loopback host. */
int http_url_allowed(const char *url);

/* The libcurl module's interface: one table, checked by version. */
#define HTTP_OPS_VERSION 2
struct http_ops {
	int version;
	int (*send)(const struct http_request *req, struct http_response *resp);
};

#endif
