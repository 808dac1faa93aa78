/* generate: one request to a service, from injection to stored outputs.
 * A failure anywhere leaves the request row saying what went wrong and no
 * output registered: outputs are added in one transaction at the end.
 * One deadline bounds every transfer of a request, and no key a service
 * echoes back reaches the log, an error or the caller's progress. Just
 * over 800 lines: sending, polling, the retry after an unknown upload and
 * storing the outputs are one request's life, sharing its row and
 * deadline; the request builders live in inject.c and upload.c. */
#include "config.h"

#include "auth.h"
#include "base64.h"
#include "generate.h"
#include "http.h"
#include "ingest.h"
#include "json.h"
#include "reqlog.h"
#include "upload.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A path-like id keeps its '/' between segments, but no segment may
 * climb out of the path the profile names (".", ".." or empty). */
static int id_path_check(const char *id)
{
	for (const char *seg = id;;) {
		const char *end = strchr(seg, '/');
		size_t len = end ? (size_t)(end - seg) : strlen(seg);
		if (len == 0 || (len == 1 && seg[0] == '.') ||
		    (len == 2 && seg[0] == '.' && seg[1] == '.'))
			return error_set(EX_PROTOCOL,
					 "the service named its task '%s', not a path of names",
					 id);
		if (!end)
			return 0;
		seg = end + 1;
	}
}

static char *substitute_id(const char *path, const char *id, bool id_path)
{
	struct strbuf sb = STRBUF_INIT;
	for (const char *s = path; *s;) {
		if (!strncmp(s, "{id}", 4)) {
			for (const char *c = id; *c; c++) {
				/* The id goes into a URL path: keep it to safe characters. */
				if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
				    (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' ||
				    *c == '.' || (id_path && *c == '/'))
					sb_addc(&sb, *c);
				else
					sb_addf(&sb, "%%%02X", (unsigned char)*c);
			}
			s += 4;
		} else {
			sb_addc(&sb, *s++);
		}
	}
	return sb_detach(&sb);
}

/* A pointer with {id} replaced by the task id, escaped as a token. */
static char *pointer_with_id(const char *pointer, const char *id)
{
	struct strbuf sb = STRBUF_INIT;
	for (const char *s = pointer; *s;) {
		if (!strncmp(s, "{id}", 4)) {
			for (const char *c = id; *c; c++)
				sb_adds(&sb, *c == '~' ? "~0" : *c == '/' ? "~1" : (char[]){*c, 0});
			s += 4;
		} else {
			sb_addc(&sb, *s++);
		}
	}
	return sb_detach(&sb);
}

static void url_escape(struct strbuf *sb, const char *text)
{
	for (const char *c = text; *c; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.' || *c == '~')
			sb_addc(sb, *c);
		else
			sb_addf(sb, "%%%02X", (unsigned char)*c);
	}
}

/* Fills {member} in template from an object's string or number members;
 * a template starting with '/' is relative to base. */
static char *url_from_item(const char *base, const char *template, cJSON *item)
{
	struct strbuf sb = STRBUF_INIT;
	if (template[0] == '/')
		sb_adds(&sb, base);
	for (const char *s = template; *s;) {
		const char *close = *s == '{' ? strchr(s, '}') : NULL;
		if (close) {
			char *name = xstrndup(s + 1, (size_t)(close - s - 1));
			cJSON *v = cJSON_GetObjectItemCaseSensitive(item, name);
			char num[32];
			const char *text =
			    cJSON_IsString(v) ? v->valuestring
			    : cJSON_IsNumber(v)
				? (snprintf(num, sizeof(num), "%g", v->valuedouble), num)
				: "";
			url_escape(&sb, text);
			free(name);
			s = close + 1;
		} else {
			sb_addc(&sb, *s++);
		}
	}
	return sb_detach(&sb);
}

static bool in_list(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->items[i], s))
			return true;
	return false;
}

/* A short, printable excerpt of a response body for an error message. */
static char *excerpt(const struct strbuf *body)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < body->len && i < 200; i++) {
		unsigned char c = (unsigned char)body->buf[i];
		sb_addc(&sb, c >= 0x20 && c < 0x7f ? (char)c : '.');
	}
	return sb_detach(&sb);
}

static const char *status_text(cJSON *item, char buf[32])
{
	if (cJSON_IsString(item))
		return item->valuestring;
	/* Google's operations say "done": true. */
	if (cJSON_IsBool(item))
		return cJSON_IsTrue(item) ? "true" : "false";
	if (cJSON_IsNumber(item)) {
		/* Task ids can be large integers: never in exponent form. The
		 * range is checked first: converting a double outside long
		 * long's is undefined. */
		double v = item->valuedouble;
		if (v >= -9223372036854775808.0 && v < 9223372036854775808.0 &&
		    v == (double)(long long)v)
			snprintf(buf, 32, "%lld", (long long)v);
		else
			snprintf(buf, 32, "%.17g", v);
		return buf;
	}
	return NULL;
}

/* Polls until the task reaches a status in done (returns the final
 * answer) or failed, or timeout_s seconds from start (the whole wait,
 * the first request included) pass. */
static double since(struct timespec start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9;
}

/* The status by the name the profile gives it (Pixverse's 5 is
 * "generating"), else as the service said it. Borrowed. */
static const char *status_name(const struct profile *p, const char *status)
{
	for (size_t i = 0; i + 1 < p->task.status_names.n; i += 2)
		if (!strcmp(p->task.status_names.items[i], status))
			return p->task.status_names.items[i + 1];
	return status;
}

static void report(const struct generate_options *o, const char *id, const char *status,
		   struct timespec start, bool changed)
{
	if (o->progress)
		o->progress(o->progress_ctx, id, status, since(start), changed);
}

static cJSON *poll_task(const struct profile *p, const char *base, const char *id,
			const struct strlist *auth, struct timespec start, int timeout_s,
			const struct generate_options *o, struct strbuf *last_body,
			long *http_status)
{
	if (p->task.id_path && id_path_check(id) < 0)
		return NULL;
	char *path = substitute_id(p->task.poll_path, id, p->task.id_path);
	char *url = xasprintf("%s%s", base, path);
	free(path);
	struct timespec now;
	cJSON *result = NULL;
	char *previous = NULL;
	for (;;) {
		struct strlist headers = {0};
		for (size_t i = 0; i < auth->n; i++)
			strlist_push(&headers, auth->items[i]);
		profile_headers(p, &headers);
		clock_gettime(CLOCK_MONOTONIC, &now);
		double left = timeout_s - (double)(now.tv_sec - start.tv_sec) -
			      (now.tv_nsec - start.tv_nsec) / 1e9;
		struct http_request req = {.method = "GET",
					   .url = url,
					   .headers = headers,
					   .max_response = 8u << 20,
					   .budget_s = left > 0.1 ? left : 0.1};
		struct http_response resp;
		int rc = http_send(&req, &resp);
		strlist_clear(&headers);
		if (rc < 0) {
			/* A poll cut short by the deadline is the task still
			 * running, said the same way as below. */
			if (error_code() == EX_TEMPFAIL)
				error_set(EX_TEMPFAIL, "task %s still %s after %d s", id,
					  previous ? previous : "(no answer yet)", timeout_s);
			http_response_clear(&resp);
			break;
		}
		*http_status = resp.status;
		sb_reset(last_body);
		sb_add(last_body, sb_str(&resp.body), resp.body.len);
		if (resp.status < 200 || resp.status > 299) {
			char *ex = excerpt(&resp.body);
			error_set(EX_UNAVAILABLE, "polling task %s: HTTP %ld: %s", id, resp.status,
				  ex);
			free(ex);
			http_response_clear(&resp);
			break;
		}
		cJSON *answer = cJSON_ParseWithLength(sb_str(&resp.body), resp.body.len);
		http_response_clear(&resp);
		if (!answer) {
			error_set(EX_PROTOCOL, "polling task %s: the answer is not JSON", id);
			break;
		}
		char buf[32];
		char *status_pointer = pointer_with_id(p->task.poll_status, id);
		/* Some services (ComfyUI's history) say nothing until the task
		 * ends: no status yet means still running. */
		const char *status = status_text(jp_get(answer, status_pointer), buf);
		free(status_pointer);
		if (!status)
			status = "(no status yet)";
		/* Errors quote the status as the service sent it; only the
		 * progress shows its name. */
		report(o, id, status_name(p, status), start,
		       !previous || strcmp(previous, status) != 0);
		free(previous);
		previous = xstrdup(status);
		bool failed_anyway = p->task.failed_if && jp_get(answer, p->task.failed_if);
		if (in_list(&p->task.done, status) && !failed_anyway) {
			result = answer;
			break;
		}
		if (in_list(&p->task.failed, status) || failed_anyway) {
			cJSON *why = p->task.error ? jp_get(answer, p->task.error) : NULL;
			char *text = why ? (cJSON_IsString(why) ? xstrdup(why->valuestring)
								: cJSON_PrintUnformatted(why))
					 : xstrdup("no reason given");
			error_set(EX_UNAVAILABLE, "task %s %s: %s", id, status, text);
			free(text);
			cJSON_Delete(answer);
			break;
		}
		cJSON_Delete(answer);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= timeout_s) {
			error_set(EX_TEMPFAIL, "task %s still %s after %d s", id, previous,
				  timeout_s);
			break;
		}
		/* $TROUPE_POLL_INTERVAL_MS overrides the profile's pace (tests
		 * against a loopback stand-in need not wait seconds). */
		int interval = p->task.interval_ms;
		const char *env = getenv("TROUPE_POLL_INTERVAL_MS");
		int64_t v;
		if (env && parse_i64(env, &v) == 0 && v >= 1 && v <= 600000)
			interval = (int)v;
		/* Never sleep past the deadline. */
		double left_ms = (timeout_s - since(start)) * 1000;
		if (left_ms < interval)
			interval = left_ms > 1 ? (int)left_ms : 1;
		struct timespec ts = {interval / 1000, (interval % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
	free(previous);
	free(url);
	return result;
}

/* After a task is done, some services want one more request for the
 * result (fal's response_url, MiniMax's file). Takes answer. */
static cJSON *fetch_result(const struct profile *p, const char *base, const char *id, cJSON *answer,
			   const struct strlist *auth, struct strbuf *last, long *http_status)
{
	char buf[32];
	const char *value =
	    p->task.result_value ? status_text(jp_get(answer, p->task.result_value), buf) : "";
	if (!value) {
		error_set(EX_PROTOCOL, "task %s is done but has nothing at %s", id,
			  p->task.result_value);
		cJSON_Delete(answer);
		return NULL;
	}
	struct strbuf path = STRBUF_INIT;
	for (const char *s = p->task.result_path; *s;) {
		if (!strncmp(s, "{id}", 4) || !strncmp(s, "{value}", 7)) {
			url_escape(&path, s[1] == 'i' ? id : value);
			s += s[1] == 'i' ? 4 : 7;
		} else {
			sb_addc(&path, *s++);
		}
	}
	cJSON_Delete(answer);
	char *url = xasprintf("%s%s", base, path.buf);
	sb_release(&path);
	struct strlist headers = {0};
	for (size_t i = 0; i < auth->n; i++)
		strlist_push(&headers, auth->items[i]);
	profile_headers(p, &headers);
	struct http_request req = {.method = "GET",
				   .url = url,
				   .headers = headers,
				   .body = NULL,
				   .parts = NULL,
				   .nparts = 0,
				   .max_response = 8u << 20};
	struct http_response resp;
	cJSON *result = NULL;
	if (http_send(&req, &resp) == 0) {
		*http_status = resp.status;
		sb_reset(last);
		sb_add(last, sb_str(&resp.body), resp.body.len);
		if (resp.status < 200 || resp.status > 299)
			error_set(EX_UNAVAILABLE, "result of task %s: HTTP %ld", id, resp.status);
		else if (!(result = cJSON_ParseWithLength(sb_str(&resp.body), resp.body.len)))
			error_set(EX_PROTOCOL, "result of task %s: the answer is not JSON", id);
	}
	http_response_clear(&resp);
	strlist_clear(&headers);
	free(url);
	return result;
}

/* Writes bytes to a file in dir; returns its path. */
static char *save_output(const char *dir, size_t index, const void *data, size_t len)
{
	char *path = xasprintf("%s/output-%zu", dir, index);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int written = fd >= 0 ? write_all(fd, data, len) : -1;
	if (fd >= 0)
		close(fd);
	if (written < 0) {
		error_set(EX_IOERR, "%s: cannot write", path);
		free(path);
		return NULL;
	}
	return path;
}

/* An output given inline: base64, or a data URI holding it. */
static int decode_output(const char *text, struct strbuf *out)
{
	const char *comma = strncmp(text, "data:", 5) == 0 ? strchr(text, ',') : NULL;
	return base64_decode(comma ? comma + 1 : text, out);
}

/* Downloads (or decodes) every output into a temporary directory and adds
 * them all as generated assets in one transaction. */
static int store_outputs(struct catalog *cat, const struct profile *p, cJSON *answer,
			 const struct injection *in, int64_t request_id, const char *base,
			 const char *task_id, const struct strlist *auth,
			 struct generate_result *out)
{
	const char **urls = NULL, **b64 = NULL;
	size_t nurls = 0, nb64 = 0;
	struct strlist built = {0};
	if (p->outputs.urls) {
		char *ptr = pointer_with_id(p->outputs.urls, task_id);
		jp_collect_strings(answer, ptr, &urls, &nurls);
		free(ptr);
	}
	if (p->outputs.base64) {
		char *ptr = pointer_with_id(p->outputs.base64, task_id);
		jp_collect_strings(answer, ptr, &b64, &nb64);
		free(ptr);
	}
	if (p->outputs.items) {
		char *ptr = pointer_with_id(p->outputs.items, task_id);
		cJSON **items = NULL;
		size_t nitems = 0;
		jp_collect_items(answer, ptr, &items, &nitems);
		free(ptr);
		for (size_t i = 0; i < nitems; i++) {
			char *u = url_from_item(base, p->outputs.url, items[i]);
			strlist_push(&built, u);
			free(u);
		}
		free(items);
		for (size_t i = 0; i < built.n; i++) {
			urls = xrealloc(urls, (nurls + 1) * sizeof(*urls));
			urls[nurls++] = built.items[i];
		}
	}
	int rc = -1;
	struct strlist files = {0}, sources = {0}, tags = {0};
	char *dir = temp_template("generate");
	struct add_batch *batch = NULL;
	if (nurls + nb64 == 0) {
		error_set(EX_PROTOCOL, "the service answered without outputs (nothing at %s)",
			  p->outputs.urls     ? p->outputs.urls
			  : p->outputs.base64 ? p->outputs.base64
					      : p->outputs.items);
		goto out;
	}
	if (!mkdtemp(dir)) {
		error_set(EX_CANTCREAT, "%s: %s", dir, strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < nurls + nb64; i++) {
		struct strbuf bytes = STRBUF_INIT;
		if (i < nurls) {
			/* A download from the service itself may need its key; one
			 * from anywhere else never gets it. */
			struct strlist headers = {0};
			size_t blen = strlen(base);
			if (p->outputs.auth && !strncmp(urls[i], base, blen) &&
			    (urls[i][blen] == '/' || urls[i][blen] == '?')) {
				for (size_t k = 0; k < auth->n; k++)
					strlist_push(&headers, auth->items[k]);
				profile_headers(p, &headers);
			}
			struct http_request req = {.method = "GET",
						   .url = urls[i],
						   .headers = headers,
						   .body = NULL,
						   .parts = NULL,
						   .nparts = 0,
						   .max_response = 512u << 20};
			struct http_response resp;
			int sent = http_send(&req, &resp);
			strlist_clear(&headers);
			if (sent < 0) {
				http_response_clear(&resp);
				if (error_code() == EX_TEMPFAIL)
					error_prefix("output %zu not downloaded in time", i + 1);
				goto out;
			}
			if (resp.status < 200 || resp.status > 299) {
				error_set(EX_UNAVAILABLE, "output %s: HTTP %ld", urls[i],
					  resp.status);
				http_response_clear(&resp);
				goto out;
			}
			sb_add(&bytes, sb_str(&resp.body), resp.body.len);
			http_response_clear(&resp);
			strlist_push(&sources, urls[i]);
		} else {
			if (decode_output(b64[i - nurls], &bytes) < 0) {
				sb_release(&bytes);
				error_set(EX_PROTOCOL, "output %zu: not base64", i + 1);
				goto out;
			}
			strlist_push(&sources, "");
		}
		char *path = save_output(dir, i + 1, bytes.buf, bytes.len);
		sb_release(&bytes);
		if (!path)
			goto out;
		strlist_push(&files, path);
		free(path);
	}
	/* An output belongs to the character when exactly one appeared; every
	 * character that appeared is named in a cast: tag. */
	for (size_t i = 0; i < in->characters.n; i++) {
		char *t = xasprintf("cast:%s", in->characters.items[i]);
		strlist_push(&tags, t);
		free(t);
	}
	char *profile_tag = xasprintf("profile:%s", p->name);
	strlist_push(&tags, profile_tag);
	free(profile_tag);
	batch = catalog_add_begin(cat, in->characters.n == 1 ? in->characters.items[0] : NULL,
				  "generated", &tags);
	if (!batch)
		goto out;
	catalog_add_link_request(batch, request_id, &sources);
	for (size_t i = 0; i < files.n; i++)
		if ((p->outputs.video ? catalog_add_video(batch, files.items[i])
				      : catalog_add_file(batch, files.items[i])) < 0) {
			error_prefix("output %zu from the service", i + 1);
			goto out;
		}
	if (catalog_add_commit(batch) < 0)
		goto out;
	for (size_t i = 0; i < catalog_add_count(batch); i++) {
		int64_t id;
		const char *hash, *path;
		bool existed;
		catalog_add_result(batch, i, &id, &hash, &path, &existed);
		out->outputs = xrealloc(out->outputs, (out->noutputs + 1) * sizeof(*out->outputs));
		struct generate_output *o = &out->outputs[out->noutputs++];
		o->asset_id = id;
		snprintf(o->hash, sizeof(o->hash), "%s", hash);
		o->url = i < sources.n && *sources.items[i] ? xstrdup(sources.items[i]) : NULL;
		o->existed = existed;
	}
	rc = 0;
out:
	catalog_add_free(batch);
	for (size_t i = 0; i < files.n; i++)
		unlink(files.items[i]);
	rmdir(dir);
	free(dir);
	strlist_clear(&files);
	strlist_clear(&sources);
	strlist_clear(&tags);
	strlist_clear(&built);
	free(urls);
	free(b64);
	return rc;
}

enum {
	/* The deadline of a request to a profile without a task. */
	GENERATE_DEFAULT_TIMEOUT = 900,
	/* A string in a logged response longer than this (an image as
	 * base64) is kept as its length only. */
	LOG_STRING_MAX = 4096,
	/* An error message or a logged response is cut to this. */
	LOG_TEXT_MAX = 4096,
	LOG_RESPONSE_MAX = 65536,
};

static void shorten_strings(cJSON *item)
{
	/* cJSON parses at most CJSON_NESTING_LIMIT levels deep, which bounds
	 * this recursion. */
	if (cJSON_IsString(item) && strlen(item->valuestring) > LOG_STRING_MAX) {
		char *note = xasprintf("(%zu bytes, not kept)", strlen(item->valuestring));
		cJSON_SetValuestring(item, note);
		free(note);
		return;
	}
	cJSON *child;
	cJSON_ArrayForEach(child, item)
		shorten_strings(child);
}

/* Cuts text (which it takes) to max bytes, at a UTF-8 character's start,
 * saying how much went. */
static char *cut_text(char *text, size_t max)
{
	size_t len = strlen(text);
	if (len <= max)
		return text;
	size_t keep = max;
	while (keep && ((unsigned char)text[keep] & 0xc0) == 0x80)
		keep--;
	char *cut = xasprintf("%.*s... (%zu more bytes cut)", (int)keep, text, len - keep);
	free(text);
	return cut;
}

/* A response fit for the log: long strings (images as base64) become the
 * length they had, no secret is left in it, and it is cut to a size a log
 * can hold. */
static char *redact_response(const struct strbuf *body)
{
	cJSON *doc = cJSON_ParseWithLength(sb_str(body), body->len);
	char *text;
	if (doc) {
		shorten_strings(doc);
		text = cJSON_PrintUnformatted(doc);
		cJSON_Delete(doc);
	} else {
		text = excerpt(body);
	}
	char *clean = http_redact(text);
	free(text);
	return cut_text(clean, LOG_RESPONSE_MAX);
}

/* Sends the injected request to url with the auth headers and the
 * profile's own (a fresh trace id each time); the answer's HTTP status
 * and body into *http_status and last. */
static int send_request(const struct profile *p, const struct injection *in, const char *url,
			const struct strlist *auth, const struct generate_options *o,
			struct strbuf *last, long *http_status)
{
	int rc;
	char *body = NULL;
	struct strlist own = {0};
	const struct strlist *headers = &own;
	for (size_t i = 0; i < auth->n; i++)
		strlist_push(&own, auth->items[i]);
	profile_headers(p, &own);
	struct http_part *parts = NULL;
	size_t nparts = 0;
	if (p->request.multipart) {
		cJSON *field;
		size_t nfields = (size_t)cJSON_GetArraySize(in->request);
		parts = xcalloc(nfields + in->multipart_files.n + 1, sizeof(*parts));
		char **values = xcalloc(nfields + 1, sizeof(char *));
		size_t k = 0;
		cJSON_ArrayForEach(field, in->request) {
			values[k] = cJSON_IsString(field) ? xstrdup(field->valuestring)
							  : cJSON_PrintUnformatted(field);
			parts[nparts++] = (struct http_part){field->string, values[k], NULL, NULL};
			k++;
		}
		char **names = xcalloc(in->nrefs + 1, sizeof(char *));
		for (size_t i = 0; i < in->nrefs; i++) {
			const char *f = in->refs[i].derived.format;
			names[i] = xasprintf("ref%zu.%s", i + 1, !strcmp(f, "jpeg") ? "jpg" : f);
			parts[nparts++] = (struct http_part){p->refs.pointer, NULL,
							     in->refs[i].encoded, NULL, names[i]};
		}
		struct http_request req = {.method = p->request.method,
					   .url = url,
					   .headers = *headers,
					   .parts = parts,
					   .nparts = nparts,
					   .budget_s = o->timeout_s};
		struct http_response resp;
		rc = http_send(&req, &resp);
		for (size_t i = 0; i < k; i++)
			free(values[i]);
		free(values);
		for (size_t i = 0; i < in->nrefs; i++)
			free(names[i]);
		free(names);
		free(parts);
		if (rc == 0) {
			*http_status = resp.status;
			sb_add(last, sb_str(&resp.body), resp.body.len);
		}
		http_response_clear(&resp);
	} else {
		if (p->request.wrap) {
			cJSON *wrapped = cJSON_Duplicate(p->request.template, 1);
			if (jp_set(wrapped, p->request.wrap, cJSON_Duplicate(in->request, 1)) < 0) {
				cJSON_Delete(wrapped);
				rc = -1;
				goto out;
			}
			body = cJSON_PrintUnformatted(wrapped);
			cJSON_Delete(wrapped);
		} else {
			body = cJSON_PrintUnformatted(in->request);
		}
		struct http_request req = {.method = p->request.method,
					   .url = url,
					   .headers = *headers,
					   .body = body,
					   .budget_s = o->timeout_s};
		struct http_response resp;
		rc = http_send(&req, &resp);
		if (rc == 0) {
			*http_status = resp.status;
			sb_add(last, sb_str(&resp.body), resp.body.len);
		}
		http_response_clear(&resp);
	}
out:
	free(body);
	strlist_clear(&own);
	return rc;
}

static bool any_reused(const struct injection *in)
{
	for (size_t i = 0; i < in->nrefs; i++)
		if (in->refs[i].reused)
			return true;
	return false;
}

/* The service said the request named an id it does not know (it lapsed
 * early, or was deleted): the reused ids are forgotten, the injection is
 * made again (uploading those references afresh, reusing the ones this
 * request uploaded) and sent once more as a new request in the log. The
 * first request's row says why it failed and which request followed. */
static int retry_with_uploads(struct catalog *cat, const struct profile *p, const char *input,
			      bool is_json, const struct generate_options *o, struct injection *in,
			      const char *url, const struct strlist *auth,
			      struct generate_result *out, struct strbuf *last, long *http_status,
			      struct timespec t0)
{
	for (size_t i = 0; i < in->nrefs; i++)
		if (in->refs[i].reused && upload_forget(cat, p, in->refs[i].derived.hash) < 0)
			return -1;
	injection_clear(in);
	if (inject_run(cat, p, input, is_json, &o->inject, in) < 0)
		return -1;
	int64_t retry = inject_log(cat, p, in, "generate", "running");
	if (retry < 0)
		return -1;
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	int64_t ms = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	char *response = redact_response(last);
	char *message = xasprintf("%s does not know an uploaded reference named by an id an "
				  "earlier upload got; uploaded again as request %lld",
				  p->service, (long long)retry);
	catalog_request_finish(cat, out->request_id, "failed", *http_status, response, message, ms);
	free(message);
	free(response);
	out->request_id = retry;
	sb_reset(last);
	*http_status = 0;
	return send_request(p, in, url, auth, o, last, http_status);
}

int generate_run(struct catalog *cat, const struct profile *p, const char *input, bool is_json,
		 const struct generate_options *o, struct generate_result *out)
{
	memset(out, 0, sizeof(*out));
	if (p->output == PROFILE_EMBEDDING)
		return error_set(EX_USAGE,
				 "profile %s computes embeddings; it takes no requests (see "
				 "'troupe embed')",
				 p->name);
	if (p->output != PROFILE_JSON)
		return error_set(EX_USAGE,
				 "profile %s makes prompt text, not a request to send; use "
				 "'troupe inject'",
				 p->name);
	struct injection in;
	struct strlist auth = {0};
	struct strbuf last = STRBUF_INIT;
	cJSON *answer = NULL;
	char *base = NULL, *url = NULL;
	long http_status = 0;
	int rc = -1;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* --timeout covers the whole request: uploads, the first request,
	 * every poll and every download. */
	int limit = o->timeout_s	? o->timeout_s
		    : p->task.timeout_s ? p->task.timeout_s
					: GENERATE_DEFAULT_TIMEOUT;
	if (auth_headers(p, &auth) < 0)
		return -1;
	http_deadline_set(limit);
	if (inject_run(cat, p, input, is_json, &o->inject, &in) < 0) {
		http_deadline_clear();
		strlist_clear(&auth);
		return -1;
	}
	out->request_id = inject_log(cat, p, &in, "generate", "running");
	if (out->request_id < 0)
		goto done;
	base = profile_base_url(p);
	url = xasprintf("%s%s", base, p->request.path);
	rc = send_request(p, &in, url, &auth, o, &last, &http_status);
	if (rc == 0 && any_reused(&in) && upload_answer_unknown(p, sb_str(&last), last.len))
		rc = retry_with_uploads(cat, p, input, is_json, o, &in, url, &auth, out, &last,
					&http_status, t0);
	if (rc < 0)
		goto done;
	rc = -1;
	if (http_status < 200 || http_status > 299) {
		char *ex = excerpt(&last);
		error_set(EX_UNAVAILABLE, "%s answered HTTP %ld: %s", p->service, http_status, ex);
		free(ex);
		goto done;
	}
	answer = cJSON_ParseWithLength(sb_str(&last), last.len);
	if (!answer) {
		error_set(EX_PROTOCOL, "%s answered with something that is not JSON", p->service);
		goto done;
	}
	if (p->task.id) {
		char buf[32];
		const char *id = status_text(jp_get(answer, p->task.id), buf);
		if (!id) {
			error_set(EX_PROTOCOL, "%s answered without a task id at %s", p->service,
				  p->task.id);
			goto done;
		}
		char *task = xstrdup(id);
		cJSON_Delete(answer);
		answer = poll_task(p, base, task, &auth, t0, limit, o, &last, &http_status);
		if (answer && p->task.result_path)
			answer = fetch_result(p, base, task, answer, &auth, &last, &http_status);
		if (!answer) {
			free(task);
			goto done;
		}
		rc = store_outputs(cat, p, answer, &in, out->request_id, base, task, &auth, out);
		free(task);
		goto done;
	}
	rc = store_outputs(cat, p, answer, &in, out->request_id, base, "", &auth, out);
done:
	http_deadline_clear();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	int64_t ms = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	if (out->request_id > 0) {
		char *response = last.len ? redact_response(&last) : NULL;
		/* The message never holds a header value, but it may quote what
		 * a service said, at any length. */
		char *message =
		    rc < 0 ? cut_text(http_redact(error_message()), LOG_TEXT_MAX) : NULL;
		int saved_code = error_code();
		catalog_request_finish(cat, out->request_id, rc == 0 ? "succeeded" : "failed",
				       http_status, response, message, ms);
		if (rc < 0)
			error_set(saved_code, "%s (request %lld)", message,
				  (long long)out->request_id);
		free(message);
		free(response);
	}
	cJSON_Delete(answer);
	free(url);
	free(base);
	sb_release(&last);
	strlist_clear(&auth);
	injection_clear(&in);
	return rc;
}

void generate_result_clear(struct generate_result *r)
{
	for (size_t i = 0; i < r->noutputs; i++)
		free(r->outputs[i].url);
	free(r->outputs);
	r->outputs = NULL;
	r->noutputs = 0;
}
