/* Unit tests for http's URL policy: https anywhere, plain http only to a
 * host that is exactly loopback, and nothing that merely looks like one
 * (user info, a longer name, a different scheme); and for the redaction
 * of registered secrets. No request is sent. */
#include "config.h"

#include "http.h"
#include "tap.h"
#include "util.h"

static void allowed(const char *url, const char *why)
{
	error_clear();
	ok(http_url_allowed(url) == 0, "allowed: %s (%s)", url, why);
}

static void refused(const char *url, const char *why)
{
	error_clear();
	int rc = http_url_allowed(url);
	ok(rc < 0 && error_code() == EX_USAGE && strstr(error_message(), url) &&
	       strstr(error_message(), "only https is allowed"),
	   "refused: %s (%s)", url, why);
}

static void redaction(void)
{
	http_secret_add("sk_SECRET_abc");
	http_secret_add("sk_SECRET_abc.longer");
	http_secret_add("a/b+c_SECRET");
	http_secret_add("");
	char *t =
	    http_redact("{\"got\":\"Bearer sk_SECRET_abc\",\"x\":\"sk_SECRET_abcsk_SECRET_abc\"}");
	ok(!strcmp(t, "{\"got\":\"Bearer [redacted]\",\"x\":\"[redacted][redacted]\"}"),
	   "every occurrence is cut: %s", t);
	free(t);
	t = http_redact("token sk_SECRET_abc.longer end");
	ok(!strcmp(t, "token [redacted] end"), "a secret holding another is cut whole: %s", t);
	free(t);
	t = http_redact("{\"k\":\"a\\/b+c_SECRET\",\"j\":\"a/b+c_SECRET\"}");
	ok(!strcmp(t, "{\"k\":\"[redacted]\",\"j\":\"[redacted]\"}"),
	   "and its JSON-escaped form: %s", t);
	free(t);
	t = http_redact("nothing secret here");
	ok(!strcmp(t, "nothing secret here"), "other text is left alone");
	free(t);
}

int main(void)
{
	redaction();
	allowed("https://api.example.com/v1/tasks", "https");
	allowed("https://127.0.0.1:8443/x", "https to loopback");
	allowed("http://127.0.0.1:8188/prompt", "loopback by address, with a port");
	allowed("http://127.0.0.1", "loopback with nothing after the host");
	allowed("http://127.1.2.3/x", "anywhere in 127.0.0.0/8");
	allowed("http://localhost:3000/embed", "localhost");
	allowed("http://localhost/", "localhost without a port");
	allowed("http://[::1]:8080/x", "IPv6 loopback with a port");
	allowed("http://[::1]/x", "IPv6 loopback");
	allowed("http://127.0.0.1?q=1", "a query right after the host");

	refused("http://example.com/x", "plain http to the world");
	refused("http://localhost.example.com/x", "a name that starts like localhost");
	refused("http://localhostx/x", "a longer name");
	refused("http://127.0.0.1.example.com/x", "an address followed by a domain");
	refused("http://127.0.0.1@example.com/x", "user info that looks like loopback");
	refused("http://user@localhost/x", "user info before loopback");
	refused("http://localhost:80@example.com/x", "user info with a colon, as host and port");
	refused("http://127.0.0.1:1@example.com/x", "the same with an address");
	refused("http://[::1]@example.com/x", "and with IPv6 loopback");
	refused("http://127.0.0/x", "three parts are not an address here");
	refused("http://127.0.0.1a/x", "a letter in the address");
	refused("http://128.0.0.1/x", "outside 127.0.0.0/8");
	refused("http://[::1]x/", "something glued to [::1]");
	refused("http://[::2]/x", "another IPv6 address");
	refused("ftp://127.0.0.1/x", "another scheme");
	refused("httpx://localhost/x", "a scheme that starts like http");
	refused("file:///etc/passwd", "a file URL");
	refused("localhost:8080/x", "no scheme at all");
	refused("", "nothing");
	return tap_done();
}
