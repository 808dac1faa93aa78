/* http-curl: the libcurl half of the http room, built as a module
 * (troupe-http.so) that http.c loads on first use, so commands that send
 * nothing never load libcurl and its libraries. Invariants: verification
 * is never turned off, a plain-http request is never redirected, a
 * header or a body never follows a redirect to another host (redirects
 * are followed here, not by libcurl, which would carry custom headers
 * such as x-goog-api-key along), and no header value ever reaches an
 * error message (they carry the keys). */
#define _GNU_SOURCE
#include "config.h"

#include "http.h"
#include "util.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
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
	/* A body-less request whose answer comes slower than this for
	 * HTTP_STALL_S seconds has stalled. Requests with a body are left
	 * alone: a service may work for minutes before its first byte. */
	HTTP_LOW_SPEED = 1024,
	HTTP_STALL_S = 20,
};
#define HTTP_DEFAULT_MAX (64u << 20)
/* The least of a non-2xx answer's body that is kept, whatever a smaller
 * max_response says: a blob's GET allows its size and one byte, and a 403
 * for a small blob must still report the 403, not a body too large. */
#define HTTP_ERROR_MAX (64u << 10)

struct sink {
	struct http_response *resp;
	size_t max;
	bool overflow;
	bool error_cut; /* a non-2xx body was cut at its cap */
	CURL *handle;
	int fd; /* the download file of this attempt, or -1 */
};

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct sink *s = ctx;
	size_t len = size * n;
	long status = 0;
	curl_easy_getinfo(s->handle, CURLINFO_RESPONSE_CODE, &status);
	bool success = status >= 200 && status <= 299;
	if (!success) {
		/* The request's own limit, or at least enough to say what went
		 * wrong when that limit is a small blob's size. */
		size_t cap = s->max > HTTP_ERROR_MAX ? s->max : HTTP_ERROR_MAX;
		size_t room = cap - s->resp->body.len;
		sb_add(&s->resp->body, data, len < room ? len : room);
		if (len <= room)
			return len;
		/* Enough to say what went wrong; the rest is not read. */
		s->error_cut = true;
		return 0;
	}
	if (s->fd >= 0) {
		if (s->resp->downloaded + len > s->max) {
			s->overflow = true;
			return 0;
		}
		for (size_t done = 0; done < len;) {
			ssize_t w = write(s->fd, data + done, len - done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return 0;
			done += (size_t)w;
		}
		s->resp->downloaded += len;
		return len;
	}
	if (s->resp->body.len + len > s->max) {
		s->overflow = true;
		return 0;
	}
	sb_add(&s->resp->body, data, len);
	return len;
}

/* Per thread: object storage and shot render --parallel send several
 * requests at once. */
static _Thread_local double retry_after;

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
	struct sink *s = ctx;
	size_t len = size * n;
	if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
		double v = strtod(data + 12, NULL);
		if (v > 0 && v < 3600)
			retry_after = v;
	}
	/* An object's ETag: a multipart upload names each part by it. */
	if (len > 5 && strncasecmp(data, "ETag:", 5) == 0) {
		size_t start = 5, end = len;
		while (start < end && (data[start] == ' ' || data[start] == '\t'))
			start++;
		while (end > start &&
		       (data[end - 1] == '\r' || data[end - 1] == '\n' || data[end - 1] == ' '))
			end--;
		/* An empty tag names no part; a long one is not a tag. */
		if (end > start && end - start < 1024) {
			char *tag = xcalloc(1, end - start + 1);
			memcpy(tag, data + start, end - start);
			free(s->resp->etag);
			s->resp->etag = tag;
		}
	}
	return len;
}

/* The body of an upload: a range of a file, read with pread so that an
 * attempt starts over from upload_offset. */
struct upload {
	int fd;
	uint64_t offset;
	uint64_t left;
};

static size_t on_read(char *buffer, size_t size, size_t n, void *ctx)
{
	struct upload *u = ctx;
	size_t want = size * n;
	if (want > u->left)
		want = (size_t)u->left;
	if (!want)
		return 0;
	ssize_t got;
	do
		got = pread(u->fd, buffer, want, (off_t)u->offset);
	while (got < 0 && errno == EINTR);
	if (got <= 0)
		return CURL_READFUNC_ABORT;
	u->offset += (uint64_t)got;
	u->left -= (uint64_t)got;
	return (size_t)got;
}

/* Where one attempt goes: the request's URL, or where it was redirected;
 * with_body false once a 303 (or a 301/302 of a POST) turned it into a
 * GET. */
struct hop {
	const char *url;
	const char *method;
	bool with_body;
};

static long stall_seconds(void)
{
	const char *env = getenv("TROUPE_HTTP_STALL_S");
	long v = env ? strtol(env, NULL, 10) : 0;
	return v >= 1 && v <= 3600 ? v : HTTP_STALL_S;
}

static CURL *make_handle(const struct http_request *req, const struct hop *hop, struct sink *sink,
			 struct upload *upload, struct curl_slist **headers, curl_mime **mime,
			 char errbuf[])
{
	CURL *h = curl_easy_init();
	if (!h)
		return NULL;
	sink->handle = h;
	curl_easy_setopt(h, CURLOPT_URL, hop->url);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	bool plain = strncmp(hop->url, "http://", 7) == 0;
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, plain ? "http" : "https");
	if (!req->body && !req->nparts && !req->upload_path) {
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, (long)HTTP_LOW_SPEED);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, stall_seconds());
	}
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	/* More certificates to trust (a company's proxy, a test's own
	 * authority); verification itself stays on. */
	const char *ca = getenv("TROUPE_CA_BUNDLE");
	if (ca && *ca)
		curl_easy_setopt(h, CURLOPT_CAINFO, ca);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)HTTP_CONNECT_TIMEOUT);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "troupe/" PACKAGE_VERSION);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, sink);
	/* No CURLOPT_MAXFILESIZE: libcurl would hold an error answer's
	 * Content-Length to max_response too; on_body keeps both limits. */
	if (req->aws_sigv4) {
		curl_easy_setopt(h, CURLOPT_AWS_SIGV4, req->aws_sigv4);
		curl_easy_setopt(h, CURLOPT_USERNAME, req->user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, req->password);
	}
	if (req->head)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	if (upload) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, upload);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)upload->left);
	}
	for (size_t i = 0; i < req->headers.n; i++)
		*headers = curl_slist_append(*headers, req->headers.items[i]);
	if (hop->with_body && req->body && !req->raw_body)
		*headers = curl_slist_append(*headers, "Content-Type: application/json");
	/* libcurl 7.88 signs an empty "Expect:" it then does not send, so
	 * a signed request keeps Expect: 100-continue (which object storage
	 * answers) instead. */
	if (!req->aws_sigv4)
		*headers = curl_slist_append(*headers, "Expect:");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, *headers);
	if (hop->with_body && req->nparts) {
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
	} else if (hop->with_body && req->body) {
		if (req->raw_body)
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
	}
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->head ? NULL : hop->method);
	if (!strcmp(hop->method, "GET"))
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	return h;
}

/* Scheme, host (lower-cased) and port of an absolute URL, the scheme's
 * default port when none is written; false when it does not parse. */
static bool origin_of(const char *url, char **scheme, char **host, char **port)
{
	CURLU *u = curl_url();
	*scheme = *host = *port = NULL;
	bool ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
		  curl_url_get(u, CURLUPART_SCHEME, scheme, 0) == CURLUE_OK &&
		  curl_url_get(u, CURLUPART_HOST, host, 0) == CURLUE_OK &&
		  curl_url_get(u, CURLUPART_PORT, port, CURLU_DEFAULT_PORT) == CURLUE_OK;
	curl_url_cleanup(u);
	if (ok)
		for (char *c = *host; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
	return ok;
}

static bool same_origin(const char *url, const char *target)
{
	char *s1, *h1, *p1, *s2, *h2, *p2;
	bool ok1 = origin_of(url, &s1, &h1, &p1), ok2 = origin_of(target, &s2, &h2, &p2);
	bool same = ok1 && ok2 && !strcmp(s1, s2) && !strcmp(h1, h2) && !strcmp(p1, p2);
	curl_free(s1);
	curl_free(h1);
	curl_free(p1);
	curl_free(s2);
	curl_free(h2);
	curl_free(p2);
	return same;
}

/* The host of url for a message: never its path or query, which may hold
 * a signature. The caller frees it with curl_free. */
static char *host_of(const char *url)
{
	char *scheme, *host, *port;
	origin_of(url, &scheme, &host, &port);
	curl_free(scheme);
	curl_free(port);
	return host;
}

static bool is_redirect(long status)
{
	return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* Decides where a redirect from the request may go: 0 with hop updated
 * (target is copied into *owned), -1 with an error when it may not. */
static int next_hop(const struct http_request *req, struct hop *hop, long status,
		    const char *target, char **owned, int redirects)
{
	if (redirects >= HTTP_MAX_REDIRECTS)
		return error_set(EX_PROTOCOL, "%s: more than %d redirects", req->url,
				 HTTP_MAX_REDIRECTS);
	if (strncmp(target, "https://", 8) != 0)
		return error_set(EX_PROTOCOL, "%s: redirected to a URL that is not https",
				 req->url);
	/* The host the caller named is the one trusted with the request;
	 * anything it carries stays there. */
	bool carries = req->headers.n || req->body || req->nparts;
	if (carries && !same_origin(req->url, target)) {
		char *host = host_of(target);
		error_set(EX_PROTOCOL,
			  "%s: redirected to another host (%s); troupe sends the "
			  "request's headers and body only to the host it names",
			  req->url, host ? host : "?");
		curl_free(host);
		return -1;
	}
	if (status == 303 || ((status == 301 || status == 302) && strcmp(hop->method, "GET") &&
			      strcmp(hop->method, "HEAD"))) {
		hop->method = "GET";
		hop->with_body = false;
	}
	free(*owned);
	*owned = xstrdup(target);
	hop->url = *owned;
	return 0;
}

static void sleep_seconds(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
	nanosleep(&ts, NULL);
}

static int curl_send(const struct http_request *req, struct http_response *resp)
{
	double budget = req->budget_s > 0 ? req->budget_s : HTTP_TOTAL_TIMEOUT;
	double backoff = 1.0;
	const char *env = getenv("TROUPE_HTTP_BACKOFF");
	if (env)
		backoff = strtod(env, NULL);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char *redirected = NULL;
	int rc_out;
	for (int attempt = 1;; attempt++) {
		struct sink sink = {resp,  req->max_response ? req->max_response : HTTP_DEFAULT_MAX,
				    false, false,
				    NULL,  -1};
		int upload_fd = -1;
		struct hop hop = {req->url, req->method, true};
		CURLcode rc = CURLE_OK;
		char errbuf[CURL_ERROR_SIZE] = "";
		for (int redirects = 0;; redirects++) {
			struct curl_slist *headers = NULL;
			curl_mime *mime = NULL;
			sb_reset(&resp->body);
			sink.error_cut = false;
			retry_after = 0;
			errbuf[0] = '\0';
			resp->downloaded = 0;
			if (req->download_path &&
			    (sink.fd = open(req->download_path,
					    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
				rc_out = error_set(EX_IOERR, "%s: %s", req->download_path,
						   strerror(errno));
				goto out;
			}
			struct upload upload = {-1, req->upload_offset, req->upload_len};
			if (req->upload_path && (upload_fd = upload.fd = open(
						     req->upload_path, O_RDONLY | O_CLOEXEC)) < 0) {
				if (sink.fd >= 0)
					close(sink.fd);
				rc_out = error_set(EX_IOERR, "%s: %s", req->upload_path,
						   strerror(errno));
				goto out;
			}
			CURL *h = make_handle(req, &hop, &sink, req->upload_path ? &upload : NULL,
					      &headers, &mime, errbuf);
			if (!h) {
				if (sink.fd >= 0)
					close(sink.fd);
				if (upload_fd >= 0)
					close(upload_fd);
				rc_out = error_set(EX_SOFTWARE, "libcurl: cannot make a handle");
				goto out;
			}
			/* Every attempt gets only what is left of the budget. */
			double left = budget - resp->seconds;
			curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
					 (long)(left > 0.001 ? left * 1000 : 1));
			rc = curl_easy_perform(h);
			if (rc == CURLE_WRITE_ERROR && sink.error_cut)
				rc = CURLE_OK;
			resp->attempts = attempt;
			resp->status = 0;
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
			curl_off_t length = -1;
			curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
			resp->length = (int64_t)length;
			char *ctype = NULL;
			curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype);
			free(resp->content_type);
			resp->content_type = ctype ? xstrdup(ctype) : NULL;
			char *target = NULL;
			curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &target);
			/* A plain-http (loopback) answer is never followed. */
			int hop_rc =
			    rc == CURLE_OK && is_redirect(resp->status) && target &&
				    strncmp(hop.url, "https://", 8) == 0
				? next_hop(req, &hop, resp->status, target, &redirected, redirects)
				: 1;
			curl_easy_cleanup(h);
			curl_mime_free(mime);
			curl_slist_free_all(headers);
			if (upload_fd >= 0)
				close(upload_fd);
			upload_fd = -1;
			if (sink.fd >= 0 && close(sink.fd) < 0 && rc == CURLE_OK)
				rc = CURLE_WRITE_ERROR;
			sink.fd = -1;
			clock_gettime(CLOCK_MONOTONIC, &t1);
			resp->seconds =
			    (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
			if (hop_rc < 0) {
				sb_reset(&resp->body);
				rc_out = -1;
				goto out;
			}
			if (hop_rc > 0)
				break;
		}
		if (sink.overflow || rc == CURLE_FILESIZE_EXCEEDED) {
			rc_out = error_set(EX_PROTOCOL, "%s: response larger than %zu bytes",
					   req->url, sink.max);
			goto out;
		}
		bool transient = rc == CURLE_OK
				     ? resp->status == 429 || resp->status >= 500
				     : rc == CURLE_OPERATION_TIMEDOUT ||
					   rc == CURLE_COULDNT_CONNECT || rc == CURLE_RECV_ERROR ||
					   rc == CURLE_GOT_NOTHING;
		double wait = retry_after > 0 ? retry_after : backoff;
		if (!transient || attempt >= HTTP_MAX_ATTEMPTS || resp->seconds + wait >= budget) {
			rc_out = 0;
			if (rc != CURLE_OK)
				rc_out = error_set(
				    rc == CURLE_OPERATION_TIMEDOUT ? EX_TEMPFAIL : EX_UNAVAILABLE,
				    "%s: %s", req->url, *errbuf ? errbuf : curl_easy_strerror(rc));
			goto out;
		}
		/* Exponential backoff; the server's Retry-After wins when given. */
		sleep_seconds(wait);
		backoff *= 2;
		/* The wait counts against the budget too: the next attempt gets
		 * only what is left after it. */
		clock_gettime(CLOCK_MONOTONIC, &t1);
		resp->seconds = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	}
out:
	free(redirected);
	return rc_out;
}

static const struct http_ops curl_ops = {HTTP_OPS_VERSION, curl_send};

/* The module's one exported symbol (see module.h). */
const void *troupe_module_init(const struct module_host *host)
{
	if (!module_host_accept(host))
		return NULL;
	/* Here, once, before any thread can send: curl_global_init is not
	 * thread-safe. */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return &curl_ops;
}
