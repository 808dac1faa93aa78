/* s3: the object storage client behind s3.h. It builds URLs and SigV4's
 * inputs (libcurl computes the signature), turns S3's XML answers into
 * errors that say what happened, and splits large files into a
 * multipart upload that is aborted if any part fails. Credentials live
 * only in memory, registered for redaction the moment they are read. */
#define _GNU_SOURCE
#include "config.h"

#include "s3.h"
#include "http.h"
#include "s3-xml.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The SHA-256 of no bytes: the payload hash of a request without a body. */
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define MIB	     ((uint64_t)1 << 20)
/* S3 allows at most 10,000 parts. */
enum { S3_MAX_PARTS = 10000 };

void s3_location_clear(struct s3_location *loc)
{
	free(loc->bucket);
	free(loc->prefix);
	free(loc->endpoint);
	free(loc->region);
	memset(loc, 0, sizeof(*loc));
}

static bool bucket_valid(const char *b, size_t n)
{
	if (n < 3 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = b[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
			return false;
	}
	return b[0] != '.' && b[0] != '-' && b[n - 1] != '.' && b[n - 1] != '-';
}

int s3_url_parse(const char *url, struct s3_location *loc)
{
	if (strncmp(url, "s3://", 5) != 0)
		return error_set(EX_USAGE, "%s: not an s3:// URL (s3://BUCKET/PREFIX)", url);
	const char *b = url + 5;
	size_t n = strcspn(b, "/");
	if (!bucket_valid(b, n))
		return error_set(EX_USAGE,
				 "%s: a bucket name is 3 to 63 lower-case letters, digits, '.' "
				 "and '-'",
				 url);
	const char *p = b + n;
	while (*p == '/')
		p++;
	size_t plen = strlen(p);
	while (plen && p[plen - 1] == '/')
		plen--;
	/* Every segment a real name: a prefix with "..", an empty segment or
	 * a control character would name keys nobody meant. */
	for (size_t i = 0; i < plen;) {
		size_t seg = strcspn(p + i, "/");
		if (seg > plen - i)
			seg = plen - i;
		if (!seg || (seg == 1 && p[i] == '.') || (seg == 2 && !strncmp(p + i, "..", 2)))
			return error_set(EX_USAGE, "%s: the prefix has an empty, '.' or '..' part",
					 url);
		for (size_t k = i; k < i + seg; k++)
			if ((unsigned char)p[k] < 0x20 || p[k] == 0x7f || p[k] == '\\')
				return error_set(EX_USAGE, "%s: the prefix has a control character",
						 url);
		i += seg + 1;
	}
	if (!utf8_valid(p, plen))
		return error_set(EX_USAGE, "%s: the prefix is not UTF-8", url);
	free(loc->bucket);
	free(loc->prefix);
	loc->bucket = xstrndup(b, n);
	loc->prefix = xstrndup(p, plen);
	return 0;
}

char *s3_endpoint_check(const char *endpoint)
{
	bool tls = strncmp(endpoint, "https://", 8) == 0;
	if (!tls && strncmp(endpoint, "http://", 7) != 0) {
		error_set(EX_USAGE, "--endpoint %s: not an http(s):// URL", endpoint);
		return NULL;
	}
	const char *host = endpoint + (tls ? 8 : 7);
	size_t len = strlen(host);
	while (len && host[len - 1] == '/')
		len--;
	if (!len || memchr(host, '/', len) || memchr(host, '?', len) || memchr(host, '#', len) ||
	    memchr(host, '@', len)) {
		error_set(EX_USAGE, "--endpoint %s: give the server alone (scheme, host, port)",
			  endpoint);
		return NULL;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)host[i] <= 0x20 || host[i] == 0x7f) {
			error_set(EX_USAGE,
				  "--endpoint: the host has a space or control character");
			return NULL;
		}
	if (!tls) {
		/* Plain http only where nothing crosses a network. */
		size_t name = host[0] == '['
				  ? (size_t)(strchr(host, ']') ? strchr(host, ']') - host + 1 : 0)
				  : strcspn(host, ":");
		if (name > len)
			name = len;
		bool loopback = (name == 9 && !strncmp(host, "127.0.0.1", 9)) ||
				(name == 9 && !strncmp(host, "localhost", 9)) ||
				(name == 5 && !strncmp(host, "[::1]", 5));
		if (!loopback || (name < len && host[name] != ':')) {
			error_set(EX_USAGE,
				  "--endpoint %s: https is required (plain http only to "
				  "127.0.0.1, [::1] or localhost)",
				  endpoint);
			return NULL;
		}
	}
	return xasprintf("%s%.*s", tls ? "https://" : "http://", (int)len, host);
}

int s3_region_check(const char *region)
{
	size_t n = strlen(region);
	bool ok = n >= 1 && n <= 32;
	for (size_t i = 0; ok && i < n; i++) {
		char c = region[i];
		ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		     c == '-';
	}
	return ok ? 0 : error_set(EX_USAGE, "--region %s: letters, digits and '-' only", region);
}

void s3_credentials_clear(struct s3_credentials *c)
{
	/* Wiped, not only freed: a key should not linger in a core file. */
	if (c->secret_key)
		explicit_bzero(c->secret_key, strlen(c->secret_key));
	if (c->session_token)
		explicit_bzero(c->session_token, strlen(c->session_token));
	free(c->access_key);
	free(c->secret_key);
	free(c->session_token);
	free(c->source);
	memset(c, 0, sizeof(*c));
}

static char *trimmed(const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	return xstrndup(s, n);
}

int s3_credentials_parse(const char *text, const char *profile, struct s3_credentials *c)
{
	bool in_profile = false;
	char *access = NULL, *secret = NULL, *token = NULL;
	int lineno = 0, rc = 1;
	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		lineno++;
		char *l = trimmed(line, n);
		line = nl ? nl + 1 : NULL;
		if (!*l || *l == '#' || *l == ';') {
			free(l);
			continue;
		}
		size_t ln = strlen(l);
		if (*l == '[') {
			if (l[ln - 1] != ']') {
				free(l);
				rc = error_set(EX_CONFIG,
					       "the shared credentials file: line %d: a section "
					       "without its ']'",
					       lineno);
				goto out;
			}
			char *name = trimmed(l + 1, ln - 2);
			in_profile = !strcmp(name, profile);
			free(name);
			free(l);
			continue;
		}
		char *eq = strchr(l, '=');
		if (!eq) {
			free(l);
			/* The line is not echoed: it may be half of a key. */
			rc = error_set(EX_CONFIG,
				       "the shared credentials file: line %d: not 'name = value'",
				       lineno);
			goto out;
		}
		if (in_profile) {
			char *name = trimmed(l, (size_t)(eq - l));
			char *value = trimmed(eq + 1, strlen(eq + 1));
			char **slot = !strcmp(name, "aws_access_key_id")       ? &access
				      : !strcmp(name, "aws_secret_access_key") ? &secret
				      : !strcmp(name, "aws_session_token")     ? &token
									       : NULL;
			if (slot && *value) {
				free(*slot);
				*slot = value;
			} else
				free(value);
			free(name);
		}
		explicit_bzero(l, ln);
		free(l);
	}
	if (access && secret) {
		c->access_key = access;
		c->secret_key = secret;
		c->session_token = token;
		access = secret = token = NULL;
		rc = 0;
	}
out:
	free(access);
	if (secret)
		explicit_bzero(secret, strlen(secret));
	free(secret);
	free(token);
	return rc;
}

static void register_secrets(const struct s3_credentials *c)
{
	http_secret_add(c->secret_key);
	if (c->session_token)
		http_secret_add(c->session_token);
}

int s3_credentials_load(struct s3_credentials *c)
{
	memset(c, 0, sizeof(*c));
	const char *id = getenv("AWS_ACCESS_KEY_ID"), *key = getenv("AWS_SECRET_ACCESS_KEY");
	if (id && *id && key && *key) {
		c->access_key = xstrdup(id);
		c->secret_key = xstrdup(key);
		const char *token = getenv("AWS_SESSION_TOKEN");
		c->session_token = token && *token ? xstrdup(token) : NULL;
		c->source = xstrdup("the environment");
		register_secrets(c);
		return 0;
	}
	const char *file = getenv("AWS_SHARED_CREDENTIALS_FILE");
	char *path = NULL;
	if (file && *file)
		path = xstrdup(file);
	else if (getenv("HOME") && *getenv("HOME"))
		path = xasprintf("%s/.aws/credentials", getenv("HOME"));
	const char *profile = getenv("AWS_PROFILE");
	if (!profile || !*profile)
		profile = "default";
	struct strbuf text = STRBUF_INIT;
	int rc = 1;
	if (path && file_read_all(path, &text) == 0) {
		rc = s3_credentials_parse(sb_str(&text), profile, c);
		explicit_bzero(text.buf, text.len);
	} else if (path && file && *file) {
		rc = error_set(EX_CONFIG, "AWS_SHARED_CREDENTIALS_FILE: %s", error_message());
	} else
		error_clear();
	sb_release(&text);
	if (rc == 0) {
		c->source = xasprintf("profile '%s' of %s", profile, path);
		register_secrets(c);
	} else if (rc > 0)
		rc =
		    error_set(EX_CONFIG,
			      "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
			      "give profile '%s' (AWS_PROFILE) aws_access_key_id and "
			      "aws_secret_access_key in %s",
			      profile, path ? path : "~/.aws/credentials");
	free(path);
	return rc < 0 ? -1 : 0;
}

char *s3_uri_encode(const char *s, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	struct strbuf sb = STRBUF_INIT;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/'))
			sb_addc(&sb, (char)c);
		else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			sb_add(&sb, e, 3);
		}
	}
	return sb_detach(&sb);
}

char *s3_url(const struct s3_location *loc, const char *key, const char *query)
{
	struct strbuf sb = STRBUF_INIT;
	const char *host = strstr(loc->endpoint, "://") + 3;
	if (loc->path_style) {
		sb_adds(&sb, loc->endpoint);
		sb_addf(&sb, "/%s", loc->bucket);
	} else {
		sb_add(&sb, loc->endpoint, (size_t)(host - loc->endpoint));
		sb_addf(&sb, "%s.%s", loc->bucket, host);
	}
	if (key) {
		char *enc = s3_uri_encode(key, true);
		sb_addf(&sb, "/%s", enc);
		free(enc);
	} else if (!loc->path_style)
		sb_addc(&sb, '/');
	if (query)
		sb_addf(&sb, "?%s", query);
	return sb_detach(&sb);
}

char *s3_key(const struct s3_location *loc, const char *name)
{
	return *loc->prefix ? xasprintf("%s/%s", loc->prefix, name) : xstrdup(name);
}

uint64_t s3_part_size(void)
{
	const char *env = getenv("TROUPE_S3_PART_SIZE");
	int64_t v;
	if (env && parse_i64(env, &v) == 0 && v >= (int64_t)(5 * MIB) &&
	    v <= (int64_t)(5 * 1024 * MIB))
		return (uint64_t)v;
	return 64 * MIB;
}

struct s3_client {
	struct s3_location loc;
	struct s3_credentials creds;
	char *sigv4;
};

struct s3_client *s3_client_new(const struct s3_location *loc, const struct s3_credentials *creds)
{
	struct s3_client *c = xcalloc(1, sizeof(*c));
	c->loc.bucket = xstrdup(loc->bucket);
	c->loc.prefix = xstrdup(loc->prefix ? loc->prefix : "");
	c->loc.endpoint = xstrdup(loc->endpoint);
	c->loc.region = xstrdup(loc->region && *loc->region ? loc->region : "us-east-1");
	c->loc.path_style = loc->path_style;
	c->creds.access_key = xstrdup(creds->access_key);
	c->creds.secret_key = xstrdup(creds->secret_key);
	c->creds.session_token = creds->session_token ? xstrdup(creds->session_token) : NULL;
	c->creds.source = xstrdup(creds->source ? creds->source : "");
	c->sigv4 = xasprintf("aws:amz:%s:s3", c->loc.region);
	return c;
}

void s3_client_free(struct s3_client *c)
{
	if (!c)
		return;
	s3_location_clear(&c->loc);
	s3_credentials_clear(&c->creds);
	free(c->sigv4);
	free(c);
}

const struct s3_location *s3_client_location(const struct s3_client *c)
{
	return &c->loc;
}

char *s3_error_text(long status, const char *code, const char *message, const char *bucket,
		    int *exit_code)
{
	static const struct {
		const char *code;
		int exit_code;
		const char *text;
	} known[] = {
	    {"SignatureDoesNotMatch", EX_NOPERM, "the secret key is wrong"},
	    {"InvalidAccessKeyId", EX_NOPERM, "the server does not know this access key"},
	    {"AccessDenied", EX_NOPERM, "these keys may not do that"},
	    {"ExpiredToken", EX_NOPERM, "the session token has expired"},
	    {"InvalidToken", EX_NOPERM, "the session token is not valid"},
	    {"RequestTimeTooSkewed", EX_NOPERM, "this machine's clock is too far off the server's"},
	    {"AuthorizationHeaderMalformed", EX_CONFIG, "the region is wrong for this server"},
	    {"PermanentRedirect", EX_CONFIG,
	     "the bucket is elsewhere (another region or endpoint)"},
	    {"NoSuchUpload", EX_PROTOCOL, "the multipart upload is gone"},
	    {"SlowDown", EX_UNAVAILABLE, "the server asks to slow down"},
	    {"ServiceUnavailable", EX_UNAVAILABLE, "the server is unavailable"},
	    {"InternalError", EX_UNAVAILABLE, "the server failed"},
	};
	struct strbuf sb = STRBUF_INIT;
	*exit_code = status == 403 ? EX_NOPERM : status >= 500 ? EX_UNAVAILABLE : EX_PROTOCOL;
	if (code && !strcmp(code, "NoSuchBucket")) {
		*exit_code = EX_CONFIG;
		char *b = text_escape(bucket);
		sb_addf(&sb, "bucket '%s' does not exist", b ? b : "?");
		free(b);
	} else {
		const char *text = NULL;
		for (size_t i = 0; code && i < sizeof(known) / sizeof(known[0]); i++)
			if (!strcmp(code, known[i].code)) {
				text = known[i].text;
				*exit_code = known[i].exit_code;
			}
		char *m = text ? NULL : text_escape(message && *message ? message : NULL);
		sb_adds(&sb, text ? text : m ? m : "the server refused the request");
		free(m);
	}
	char *c = code ? text_escape(code) : NULL;
	sb_addf(&sb, " (%ld%s%s)", status, c ? " " : "", c ? c : "");
	free(c);
	return sb_detach(&sb);
}

/* Records the error an answer that is not 2xx means; returns -1. */
static int answer_error(const struct s3_client *c, const struct http_response *resp)
{
	char *code = NULL, *message = NULL;
	s3xml_error(resp->body.buf, resp->body.len, &code, &message);
	/* HEAD answers have no body: the status is all there is. */
	if (!code && resp->status == 404)
		code = xstrdup("NoSuchKey");
	if (!code && resp->status == 403)
		code = xstrdup("AccessDenied");
	int exit_code;
	char *text = s3_error_text(resp->status, code, message, c->loc.bucket, &exit_code);
	/* The server's own words may quote a key; redact before keeping. */
	char *safe = http_redact(text);
	error_set(exit_code, "%s", safe);
	free(safe);
	free(text);
	free(code);
	free(message);
	return -1;
}

struct call {
	const char *method;
	const char *key; /* NULL: the bucket */
	const char *query;
	const void *body; /* a buffer to send, or */
	size_t body_len;
	const char *upload_path; /* a file range to send */
	uint64_t upload_offset, upload_len;
	const char *download_path;
	size_t max_response;
	const char *content_type;
};

/* Sends one signed request; 0 when an answer came (any status). */
static int send_call(const struct s3_client *c, const struct call *call, struct http_response *resp)
{
	struct http_request req = {0};
	char *url = s3_url(&c->loc, call->key, call->query);
	bool has_body = call->body || call->upload_path;
	req.method = call->method;
	req.url = url;
	req.aws_sigv4 = c->sigv4;
	req.user = c->creds.access_key;
	req.password = c->creds.secret_key;
	/* Bodies go unsigned (the transport is TLS, and every blob is
	 * verified when it comes back); SigV4 still covers every header. */
	strlist_push(&req.headers, has_body ? "x-amz-content-sha256: UNSIGNED-PAYLOAD"
					    : "x-amz-content-sha256: " EMPTY_SHA256);
	if (c->creds.session_token) {
		char *h = xasprintf("x-amz-security-token: %s", c->creds.session_token);
		strlist_push(&req.headers, h);
		explicit_bzero(h, strlen(h));
		free(h);
	}
	if (call->content_type) {
		char *h = xasprintf("Content-Type: %s", call->content_type);
		strlist_push(&req.headers, h);
		free(h);
	}
	if (call->body) {
		req.body = call->body;
		req.body_len = call->body_len;
		req.raw_body = true;
	}
	req.upload_path = call->upload_path;
	req.upload_offset = call->upload_offset;
	req.upload_len = call->upload_len;
	req.download_path = call->download_path;
	req.max_response = call->max_response;
	req.head = !strcmp(call->method, "HEAD");
	/* Large bodies get time in proportion: 1 MB/s at the least. */
	uint64_t bytes = call->upload_path ? call->upload_len : call->max_response;
	req.budget_s = 300 + (double)(bytes / MIB);
	int rc = http_send(&req, resp);
	for (size_t i = 0; i < req.headers.n; i++)
		explicit_bzero(req.headers.items[i], strlen(req.headers.items[i]));
	strlist_clear(&req.headers);
	free(url);
	return rc;
}

static bool ok_status(long s)
{
	return s >= 200 && s <= 299;
}

int s3_put_buffer(struct s3_client *c, const char *key, const void *data, size_t len)
{
	struct http_response resp;
	/* An empty buffer still has to be sent as a body. */
	struct call call = {.method = "PUT", .key = key, .body = len ? data : "", .body_len = len};
	int rc = send_call(c, &call, &resp);
	if (rc == 0 && !ok_status(resp.status))
		rc = answer_error(c, &resp);
	http_response_clear(&resp);
	return rc;
}

static int put_whole(struct s3_client *c, const char *key, const char *path, uint64_t size)
{
	struct http_response resp;
	struct call call = {.method = "PUT",
			    .key = key,
			    .upload_path = path,
			    .upload_offset = 0,
			    .upload_len = size};
	int rc = send_call(c, &call, &resp);
	if (rc == 0 && !ok_status(resp.status))
		rc = answer_error(c, &resp);
	http_response_clear(&resp);
	return rc;
}

static void abort_upload(struct s3_client *c, const char *key, const char *id_query)
{
	struct http_response resp;
	struct call call = {.method = "DELETE", .key = key, .query = id_query};
	/* Best effort: the error that made us abort is the one to report. */
	char *kept = xstrdup(error_message());
	int code = error_code();
	send_call(c, &call, &resp);
	http_response_clear(&resp);
	error_set(code, "%s", kept);
	free(kept);
}

static int put_multipart(struct s3_client *c, const char *key, const char *path, uint64_t size)
{
	uint64_t part = s3_part_size();
	while ((size + part - 1) / part > S3_MAX_PARTS)
		part *= 2;
	struct http_response resp;
	struct call start = {.method = "POST", .key = key, .query = "uploads="};
	int rc = send_call(c, &start, &resp);
	if (rc == 0 && !ok_status(resp.status))
		rc = answer_error(c, &resp);
	char *upload_id = rc == 0 ? s3xml_text(resp.body.buf, resp.body.len, "UploadId") : NULL;
	http_response_clear(&resp);
	if (rc < 0)
		return -1;
	if (!upload_id || !*upload_id) {
		free(upload_id);
		return error_set(EX_PROTOCOL, "the server began a multipart upload without an id");
	}
	char *enc_id = s3_uri_encode(upload_id, false);
	char *id_query = xasprintf("uploadId=%s", enc_id);
	struct strbuf done = STRBUF_INIT;
	sb_adds(&done, "<CompleteMultipartUpload>");
	uint64_t offset = 0;
	for (int number = 1; offset < size; number++) {
		uint64_t len = size - offset < part ? size - offset : part;
		char *query = xasprintf("partNumber=%d&uploadId=%s", number, enc_id);
		struct call put = {.method = "PUT",
				   .key = key,
				   .query = query,
				   .upload_path = path,
				   .upload_offset = offset,
				   .upload_len = len};
		rc = send_call(c, &put, &resp);
		free(query);
		if (rc == 0 && !ok_status(resp.status))
			rc = answer_error(c, &resp);
		if (rc == 0 && (!resp.etag || strpbrk(resp.etag, "<>&")))
			rc = error_set(EX_PROTOCOL,
				       "part %d of a multipart upload came back "
				       "without a usable ETag",
				       number);
		if (rc == 0)
			sb_addf(&done, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>",
				number, resp.etag);
		http_response_clear(&resp);
		if (rc < 0)
			goto fail;
		offset += len;
	}
	sb_adds(&done, "</CompleteMultipartUpload>");
	struct call finish = {.method = "POST",
			      .key = key,
			      .query = id_query,
			      .body = done.buf,
			      .body_len = done.len,
			      .content_type = "application/xml"};
	rc = send_call(c, &finish, &resp);
	/* A 200 can still carry an error: S3 reports a failed completion in
	 * the body of a successful answer. */
	if (rc == 0 && (!ok_status(resp.status) ||
			(resp.body.len && memmem(resp.body.buf, resp.body.len, "<Error>", 7))))
		rc = answer_error(c, &resp);
	http_response_clear(&resp);
	if (rc < 0)
		goto fail;
	goto out;
fail:
	abort_upload(c, key, id_query);
	rc = -1;
out:
	sb_release(&done);
	free(id_query);
	free(enc_id);
	free(upload_id);
	return rc;
}

int s3_put_file(struct s3_client *c, const char *key, const char *path)
{
	struct stat sb;
	if (stat(path, &sb) < 0)
		return error_set(EX_NOINPUT, "%s: %s", path, strerror(errno));
	uint64_t size = (uint64_t)sb.st_size;
	if (size > s3_part_size())
		return put_multipart(c, key, path, size);
	return put_whole(c, key, path, size);
}

int s3_get_file(struct s3_client *c, const char *key, const char *path, uint64_t max,
		uint64_t *bytes)
{
	struct http_response resp;
	struct call call = {.method = "GET",
			    .key = key,
			    .download_path = path,
			    .max_response = max ? (size_t)max : 1};
	int rc = send_call(c, &call, &resp);
	if (rc == 0 && resp.status == 404 && !resp.body.len)
		rc = 1;
	else if (rc == 0 && resp.status == 404) {
		char *code = s3xml_text(resp.body.buf, resp.body.len, "Code");
		rc = code && !strcmp(code, "NoSuchKey") ? 1 : answer_error(c, &resp);
		free(code);
	} else if (rc == 0 && !ok_status(resp.status))
		rc = answer_error(c, &resp);
	if (rc == 0 && bytes)
		*bytes = resp.downloaded;
	http_response_clear(&resp);
	return rc;
}

int s3_get_buffer(struct s3_client *c, const char *key, size_t max, struct strbuf *out)
{
	struct http_response resp;
	struct call call = {.method = "GET", .key = key, .max_response = max};
	int rc = send_call(c, &call, &resp);
	if (rc == 0 && resp.status == 404) {
		char *code = s3xml_text(resp.body.buf, resp.body.len, "Code");
		rc = !code || !strcmp(code, "NoSuchKey") ? 1 : answer_error(c, &resp);
		free(code);
	} else if (rc == 0 && !ok_status(resp.status))
		rc = answer_error(c, &resp);
	if (rc == 0)
		sb_add(out, resp.body.buf ? resp.body.buf : "", resp.body.len);
	http_response_clear(&resp);
	return rc;
}

int s3_head(struct s3_client *c, const char *key, uint64_t *bytes)
{
	struct http_response resp;
	struct call call = {.method = "HEAD", .key = key};
	int rc = send_call(c, &call, &resp);
	if (rc == 0 && resp.status == 404)
		rc = 1;
	else if (rc == 0 && !ok_status(resp.status))
		rc = answer_error(c, &resp);
	if (rc == 0 && bytes)
		*bytes = resp.length >= 0 ? (uint64_t)resp.length : 0;
	http_response_clear(&resp);
	return rc;
}

/* Pages of a listing are bounded; a page is 1,000 keys of a few hundred
 * bytes each. */
#define LIST_PAGE_MAX ((size_t)16 << 20)

int s3_list(struct s3_client *c, const char *prefix, s3_list_fn *each, void *ctx)
{
	char *enc_prefix = s3_uri_encode(prefix, false);
	char *token = NULL;
	int rc = 0;
	for (;;) {
		char *enc_token = token ? s3_uri_encode(token, false) : NULL;
		/* SigV4 wants the query's names in order. */
		char *query = enc_token ? xasprintf("continuation-token=%s&list-type=2&prefix=%s",
						    enc_token, enc_prefix)
					: xasprintf("list-type=2&prefix=%s", enc_prefix);
		free(enc_token);
		struct http_response resp;
		struct call call = {.method = "GET", .query = query, .max_response = LIST_PAGE_MAX};
		rc = send_call(c, &call, &resp);
		free(query);
		if (rc == 0 && !ok_status(resp.status))
			rc = answer_error(c, &resp);
		bool truncated = false;
		char *next = NULL;
		if (rc == 0) {
			error_clear();
			rc = s3xml_list(resp.body.buf, resp.body.len, each, ctx, &truncated, &next);
			if (rc == -1 && !*error_message())
				rc = error_set(EX_PROTOCOL,
					       "the server's listing is not well formed");
		}
		http_response_clear(&resp);
		if (rc == 0 && truncated && token && next && !strcmp(next, token))
			rc = error_set(EX_PROTOCOL, "the server's listing does not move on");
		free(token);
		token = next;
		if (rc || !truncated)
			break;
	}
	free(token);
	free(enc_prefix);
	return rc;
}

int s3_delete(struct s3_client *c, const char *key)
{
	struct http_response resp;
	struct call call = {.method = "DELETE", .key = key};
	int rc = send_call(c, &call, &resp);
	if (rc == 0 && resp.status != 404 && !ok_status(resp.status))
		rc = answer_error(c, &resp);
	http_response_clear(&resp);
	return rc;
}
