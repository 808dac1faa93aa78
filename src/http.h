/* http: libcurl behind the policy troupe keeps for every service: TLS
 * verification on, https only except to loopback, few redirects, bounded
 * responses, 429 and 5xx retried with backoff that honours Retry-After.
 * Header values (which carry keys) are never recorded or printed. */
#ifndef TROUPE_HTTP_H
#define TROUPE_HTTP_H

#include <stdbool.h>
#include <stddef.h>

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
};

struct http_response {
	long status;
	struct strbuf body;
	char *content_type;
	double seconds;
	int attempts;
};

/* Sends a request; retries 429 and 5xx up to four times. Returns 0 when a
 * response arrived (any status), -1 with an error when none did. */
int http_send(const struct http_request *req, struct http_response *resp);
void http_response_clear(struct http_response *resp);
/* 0 if troupe may talk to this URL: https, or http to a loopback host. */
int http_url_allowed(const char *url);

/* The libcurl module's interface: one table, checked by version. */
#define HTTP_OPS_VERSION 1
struct http_ops {
	int version;
	int (*send)(const struct http_request *req, struct http_response *resp);
};

#endif
