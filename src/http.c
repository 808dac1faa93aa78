/* http: the front of the http room: the URL policy (https only, plain
 * http only to loopback) and the loader of the libcurl module, which is
 * opened on the first request so that commands that send nothing start
 * without libcurl. */
#define _GNU_SOURCE
#include "config.h"

#include "http.h"
#include "module.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
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

int http_send(const struct http_request *req, struct http_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	if (http_url_allowed(req->url) < 0)
		return -1;
	if (!ops && !(ops = module_load("troupe-http.so", &http_host, HTTP_OPS_VERSION)))
		return -1;
	return ops->send(req, resp);
}

void http_response_clear(struct http_response *resp)
{
	sb_release(&resp->body);
	free(resp->content_type);
	resp->content_type = NULL;
}
