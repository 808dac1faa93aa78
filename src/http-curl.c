/* http-curl: the libcurl half of the http room, built as a module
 * (troupe-http.so) that http.c loads on first use, so commands that send
 * nothing never load libcurl and its libraries. Invariants: verification
 * is never turned off, a plain-http request is never redirected, and no
 * header value ever reaches an error message (they carry the keys). */
#define _GNU_SOURCE
#include "config.h"

#include "http.h"
#include "util.h"

#include <curl/curl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "module-ext.h"

enum {
	HTTP_MAX_ATTEMPTS = 4,
	HTTP_MAX_REDIRECTS = 3,
	HTTP_CONNECT_TIMEOUT = 15,
	HTTP_TOTAL_TIMEOUT = 300,
};
#define HTTP_DEFAULT_MAX (64u << 20)

struct sink {
	struct http_response *resp;
	size_t max;
	bool overflow;
};

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct sink *s = ctx;
	size_t len = size * n;
	if (s->resp->body.len + len > s->max) {
		s->overflow = true;
		return 0;
	}
	sb_add(&s->resp->body, data, len);
	return len;
}

static double retry_after;

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
	(void)ctx;
	size_t len = size * n;
	if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
		double v = strtod(data + 12, NULL);
		if (v > 0 && v < 3600)
			retry_after = v;
	}
	return len;
}

static CURL *make_handle(const struct http_request *req, struct sink *sink,
			 struct curl_slist **headers, curl_mime **mime, char errbuf[])
{
	CURL *h = curl_easy_init();
	if (!h)
		return NULL;
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	/* Redirects are followed over https only; a plain-http (loopback)
	 * request is not redirected at all, so it cannot be sent elsewhere. */
	bool plain = strncmp(req->url, "http://", 7) == 0;
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, plain ? 0L : 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long)HTTP_MAX_REDIRECTS);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, plain ? "http" : "https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)HTTP_CONNECT_TIMEOUT);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "troupe/" PACKAGE_VERSION);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)sink->max);
	for (size_t i = 0; i < req->headers.n; i++)
		*headers = curl_slist_append(*headers, req->headers.items[i]);
	if (req->body && !req->raw_body)
		*headers = curl_slist_append(*headers, "Content-Type: application/json");
	*headers = curl_slist_append(*headers, "Expect:");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, *headers);
	if (req->nparts) {
		*mime = curl_mime_init(h);
		for (size_t i = 0; i < req->nparts; i++) {
			curl_mimepart *part = curl_mime_addpart(*mime);
			curl_mime_name(part, req->parts[i].name);
			if (req->parts[i].file) {
				curl_mime_filedata(part, req->parts[i].file);
				if (req->parts[i].filename)
					curl_mime_filename(part, req->parts[i].filename);
			} else
				curl_mime_data(part, req->parts[i].value, CURL_ZERO_TERMINATED);
			if (req->parts[i].mime)
				curl_mime_type(part, req->parts[i].mime);
		}
		curl_easy_setopt(h, CURLOPT_MIMEPOST, *mime);
	} else if (req->body) {
		if (req->raw_body)
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
	}
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
	if (!strcmp(req->method, "GET"))
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	return h;
}

static void sleep_seconds(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
	nanosleep(&ts, NULL);
}

static int curl_send(const struct http_request *req, struct http_response *resp)
{
	static bool started;
	if (!started) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		started = true;
	}
	double budget = req->budget_s > 0 ? req->budget_s : HTTP_TOTAL_TIMEOUT;
	double backoff = 1.0;
	const char *env = getenv("TROUPE_HTTP_BACKOFF");
	if (env)
		backoff = strtod(env, NULL);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int attempt = 1;; attempt++) {
		struct sink sink = {resp, req->max_response ? req->max_response : HTTP_DEFAULT_MAX,
				    false};
		struct curl_slist *headers = NULL;
		curl_mime *mime = NULL;
		char errbuf[CURL_ERROR_SIZE] = "";
		sb_reset(&resp->body);
		retry_after = 0;
		CURL *h = make_handle(req, &sink, &headers, &mime, errbuf);
		if (!h)
			return error_set(EX_SOFTWARE, "libcurl: cannot make a handle");
		/* Every attempt gets only what is left of the budget. */
		double left = budget - resp->seconds;
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(left > 0.001 ? left * 1000 : 1));
		CURLcode rc = curl_easy_perform(h);
		resp->attempts = attempt;
		resp->status = 0;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
		char *ctype = NULL;
		curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype);
		free(resp->content_type);
		resp->content_type = ctype ? xstrdup(ctype) : NULL;
		curl_easy_cleanup(h);
		curl_mime_free(mime);
		curl_slist_free_all(headers);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		resp->seconds = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
		if (sink.overflow || rc == CURLE_FILESIZE_EXCEEDED)
			return error_set(EX_PROTOCOL, "%s: response larger than %zu bytes",
					 req->url, sink.max);
		bool transient = rc == CURLE_OK
				     ? resp->status == 429 || resp->status >= 500
				     : rc == CURLE_OPERATION_TIMEDOUT ||
					   rc == CURLE_COULDNT_CONNECT || rc == CURLE_RECV_ERROR ||
					   rc == CURLE_GOT_NOTHING;
		double wait = retry_after > 0 ? retry_after : backoff;
		if (!transient || attempt >= HTTP_MAX_ATTEMPTS || resp->seconds + wait >= budget) {
			if (rc != CURLE_OK)
				return error_set(
				    rc == CURLE_OPERATION_TIMEDOUT ? EX_TEMPFAIL : EX_UNAVAILABLE,
				    "%s: %s", req->url, *errbuf ? errbuf : curl_easy_strerror(rc));
			return 0;
		}
		/* Exponential backoff; the server's Retry-After wins when given. */
		sleep_seconds(wait);
		backoff *= 2;
	}
}

static const struct http_ops curl_ops = {HTTP_OPS_VERSION, curl_send};

/* The module's one exported symbol (see module.h). */
const void *troupe_module_init(const struct module_host *host)
{
	return module_host_accept(host) ? &curl_ops : NULL;
}
