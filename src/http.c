/* http: the front of the http room: the URL policy (https only, plain
 * http only to loopback) and the loader of the libcurl module, which is
 * opened on the first request so that commands that send nothing start
 * without libcurl. */
#define _GNU_SOURCE
#include "config.h"

#include "http.h"
#include "module.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* The host part of a URL, exactly: 127.0.0.0/8 in dotted digits,
 * "localhost" or "[::1]", and nothing that merely starts like one. */
static bool loopback_host(const char *url)
{
	const char *host = strstr(url, "://");
	if (!host)
		return false;
	host += 3;
	size_t len = strcspn(host, "/?#");
	const char *at = memchr(host, '@', len);
	if (at) /* user info is not allowed to disguise the host */
		return false;
	if (len >= 5 && strncmp(host, "[::1]", 5) == 0)
		return len == 5 || host[5] == ':';
	size_t name = strcspn(host, ":/?#");
	if (name == 9 && strncmp(host, "localhost", 9) == 0)
		return true;
	if (name < 7 || strncmp(host, "127.", 4) != 0)
		return false;
	int dots = 0;
	for (size_t i = 0; i < name; i++) {
		if (host[i] == '.')
			dots++;
		else if (host[i] < '0' || host[i] > '9')
			return false;
	}
	return dots == 3;
}

int http_url_allowed(const char *url)
{
	if (strncmp(url, "https://", 8) == 0)
		return 0;
	if (strncmp(url, "http://", 7) == 0 && loopback_host(url))
		return 0;
	return error_set(EX_USAGE, "%s: only https is allowed (plain http only to loopback)", url);
}

/* What troupe-http.so may call in the program. */
static const struct module_host http_host = {MODULE_HOST_UTIL};

static const struct http_ops *ops;
static pthread_mutex_t ops_lock = PTHREAD_MUTEX_INITIALIZER;

/* Each thread sends its own request (shot render --parallel), each
 * under its own deadline. */
static _Thread_local bool deadline_set;
static _Thread_local struct timespec deadline;

static double seconds_left(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(deadline.tv_sec - now.tv_sec) + (deadline.tv_nsec - now.tv_nsec) / 1e9;
}

void http_deadline_set(double seconds)
{
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)seconds;
	deadline.tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	deadline_set = true;
}

void http_deadline_clear(void)
{
	deadline_set = false;
}

/* The secrets registered by auth: few, and kept until exit; every
 * thread's are redacted from every answer. */
static struct strlist secrets;
static pthread_mutex_t secrets_lock = PTHREAD_MUTEX_INITIALIZER;

static void secret_add_locked(const char *secret)
{
	for (size_t i = 0; i < secrets.n; i++)
		if (!strcmp(secrets.items[i], secret))
			return;
	strlist_push(&secrets, secret);
	/* A service that answers in JSON may escape '/' as "\/". */
	if (strchr(secret, '/')) {
		struct strbuf esc = STRBUF_INIT;
		for (const char *c = secret; *c; c++)
			sb_adds(&esc, *c == '/' ? "\\/" : (char[]){*c, 0});
		strlist_push(&secrets, esc.buf);
		sb_release(&esc);
	}
}

void http_secret_add(const char *secret)
{
	if (!secret || !*secret)
		return;
	pthread_mutex_lock(&secrets_lock);
	secret_add_locked(secret);
	pthread_mutex_unlock(&secrets_lock);
}

static void redact_one(struct strbuf *sb, const char *secret)
{
	size_t n = strlen(secret);
	if (!sb->len || !memmem(sb->buf, sb->len, secret, n))
		return;
	struct strbuf out = STRBUF_INIT;
	const char *s = sb->buf, *end = sb->buf + sb->len;
	for (;;) {
		const char *hit = memmem(s, (size_t)(end - s), secret, n);
		if (!hit) {
			sb_add(&out, s, (size_t)(end - s));
			break;
		}
		sb_add(&out, s, (size_t)(hit - s));
		sb_adds(&out, HTTP_REDACTED);
		s = hit + n;
	}
	sb_release(sb);
	*sb = out;
}

void http_redact_buf(struct strbuf *sb)
{
	pthread_mutex_lock(&secrets_lock);
	/* Longest first, so a secret that holds another is cut whole. */
	bool *done = xcalloc(secrets.n + 1, sizeof(bool));
	for (size_t k = 0; k < secrets.n; k++) {
		size_t best = secrets.n;
		for (size_t i = 0; i < secrets.n; i++)
			if (!done[i] && (best == secrets.n ||
					 strlen(secrets.items[i]) > strlen(secrets.items[best])))
				best = i;
		done[best] = true;
		redact_one(sb, secrets.items[best]);
	}
	free(done);
	pthread_mutex_unlock(&secrets_lock);
}

char *http_redact(const char *text)
{
	struct strbuf sb = STRBUF_INIT;
	sb_adds(&sb, text ? text : "");
	http_redact_buf(&sb);
	return sb_detach(&sb);
}

/* Images and videos are stored, never printed: their bytes are kept. */
static bool is_media(const char *content_type)
{
	return content_type && (strncasecmp(content_type, "image/", 6) == 0 ||
				strncasecmp(content_type, "video/", 6) == 0);
}

int http_load(void)
{
	pthread_mutex_lock(&ops_lock);
	if (!ops)
		ops = module_load("troupe-http.so", &http_host, HTTP_OPS_VERSION);
	int rc = ops ? 0 : -1;
	pthread_mutex_unlock(&ops_lock);
	return rc;
}

int http_send(const struct http_request *req, struct http_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	if (http_url_allowed(req->url) < 0)
		return -1;
	struct http_request bounded = *req;
	if (deadline_set) {
		double left = seconds_left();
		if (left <= 0)
			return error_set(EX_TEMPFAIL, "%s: not sent: the time allowed has run out",
					 req->url);
		if (bounded.budget_s <= 0 || bounded.budget_s > left)
			bounded.budget_s = left;
	}
	if (http_load() < 0)
		return -1;
	pthread_mutex_lock(&ops_lock);
	const struct http_ops *loaded = ops;
	pthread_mutex_unlock(&ops_lock);
	int rc = loaded->send(&bounded, resp);
	/* Only a successful answer is taken for the media it says it is: an
	 * error's body is text for someone to read, whatever its type says,
	 * and may echo the key. */
	if (!is_media(resp->content_type) || resp->status < 200 || resp->status > 299)
		http_redact_buf(&resp->body);
	return rc;
}

void http_response_clear(struct http_response *resp)
{
	sb_release(&resp->body);
	free(resp->content_type);
	resp->content_type = NULL;
	free(resp->etag);
	resp->etag = NULL;
}
