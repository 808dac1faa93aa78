/* embed: one image, one request, one vector. Keys come from auth.c, as
 * for generation, and never leave the request headers. */
#include "config.h"

#include "auth.h"
#include "base64.h"
#include "embed.h"
#include "http.h"
#include "json.h"
#include "util.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *mime_for(const char *format)
{
	return !strcmp(format, "png")	 ? "image/png"
	       : !strcmp(format, "webp") ? "image/webp"
					 : "image/jpeg";
}

int embed_image(const struct profile *p, const char *path, const char *format, float **vector,
		uint32_t *dim)
{
	*vector = NULL;
	*dim = 0;
	if (p->output != PROFILE_EMBEDDING)
		return error_set(EX_USAGE, "profile %s is not an embedding profile", p->name);
	struct strbuf bytes = STRBUF_INIT;
	if (file_read_all(path, &bytes) < 0) {
		sb_release(&bytes);
		return -1;
	}
	struct strlist headers = {0};
	char *body = NULL, *url = NULL, *content_type = NULL;
	cJSON *answer = NULL;
	int rc = -1;
	if (auth_headers(p, &headers) < 0)
		goto out;
	profile_headers(p, &headers);
	char *base = profile_base_url(p);
	url = xasprintf("%s%s", base, p->request.path);
	free(base);
	/* Every header goes in before the request takes its copy of the list. */
	if (p->embedding.image_body) {
		content_type = xasprintf("Content-Type: %s", mime_for(format));
		strlist_push(&headers, content_type);
	}
	struct http_request req = {.method = p->request.method,
				   .url = url,
				   .headers = headers,
				   .body = NULL,
				   .parts = NULL,
				   .nparts = 0,
				   .max_response = 16u << 20};
	if (p->embedding.image_body) {
		req.body = bytes.buf;
		req.body_len = bytes.len;
		req.raw_body = true;
	} else {
		char *b64 = base64_encode(bytes.buf, bytes.len);
		char *encoded = p->refs.encoding == ENC_BASE64
				    ? xstrdup(b64)
				    : xasprintf("data:%s;base64,%s", mime_for(format), b64);
		free(b64);
		cJSON *doc = p->request.template ? cJSON_Duplicate(p->request.template, 1)
						 : cJSON_CreateObject();
		/* The item template names the image as {ref}. */
		char *item_text = cJSON_PrintUnformatted(p->refs.item);
		struct strbuf filled = STRBUF_INIT;
		for (const char *s = item_text; *s;) {
			if (!strncmp(s, "{ref}", 5)) {
				sb_adds(&filled, encoded);
				s += 5;
			} else if (!strncmp(s, "{mime}", 6)) {
				sb_adds(&filled, mime_for(format));
				s += 6;
			} else {
				sb_addc(&filled, *s++);
			}
		}
		free(item_text);
		free(encoded);
		cJSON *item = cJSON_Parse(filled.buf);
		sb_release(&filled);
		int set = 0;
		if (!item) {
			set = error_set(EX_CONFIG,
					"profile %s: its reference item is not JSON once filled",
					p->name);
		} else if (!p->refs.array) {
			set = jp_set(doc, p->refs.pointer, item);
		} else {
			cJSON *list = jp_get(doc, p->refs.pointer);
			if (!cJSON_IsArray(list)) {
				set = jp_set(doc, p->refs.pointer, cJSON_CreateArray());
				list = set < 0 ? NULL : jp_get(doc, p->refs.pointer);
			}
			if (list)
				cJSON_AddItemToArray(list, item);
			else
				cJSON_Delete(item);
		}
		if (set < 0) {
			/* The request is the profile's own: its pointer is at fault. */
			char *why = xstrdup(error_message());
			error_set(EX_CONFIG, "profile %s: %s", p->name, why);
			free(why);
			cJSON_Delete(doc);
			goto out;
		}
		body = cJSON_PrintUnformatted(doc);
		cJSON_Delete(doc);
		req.body = body;
	}
	struct http_response resp;
	if (http_send(&req, &resp) < 0) {
		http_response_clear(&resp);
		error_prefix("embedding service (profile %s)", p->name);
		goto out;
	}
	if (p->embedding.nothing_status && resp.status == p->embedding.nothing_status) {
		error_set(EX_DATAERR, "%s in the image", p->embedding.nothing_error);
		http_response_clear(&resp);
		rc = EMBED_NOTHING;
		goto out;
	}
	if (resp.status < 200 || resp.status > 299) {
		error_set(EX_UNAVAILABLE, "embedding service (profile %s) answered HTTP %ld",
			  p->name, resp.status);
		http_response_clear(&resp);
		goto out;
	}
	answer = cJSON_ParseWithLength(sb_str(&resp.body), resp.body.len);
	http_response_clear(&resp);
	cJSON *vec = jp_get(answer, p->embedding.vector);
	int n = cJSON_GetArraySize(vec);
	if (!cJSON_IsArray(vec) || n < 1 || n > 65536) {
		error_set(EX_PROTOCOL,
			  "embedding service (profile %s): no vector at %s in the answer", p->name,
			  p->embedding.vector);
		goto out;
	}
	float *v = xmalloc((size_t)n * sizeof(float));
	int i = 0;
	cJSON *e;
	cJSON_ArrayForEach(e, vec) {
		/* In float's range, not only finite: converting 1e39 to float
		 * is undefined. */
		if (!cJSON_IsNumber(e) || !(fabs(e->valuedouble) <= FLT_MAX)) {
			free(v);
			error_set(EX_PROTOCOL,
				  "embedding service (profile %s): element %d of the vector "
				  "is not a finite number",
				  p->name, i);
			goto out;
		}
		v[i++] = (float)e->valuedouble;
	}
	*vector = v;
	*dim = (uint32_t)n;
	rc = 0;
out:
	cJSON_Delete(answer);
	free(body);
	free(url);
	free(content_type);
	strlist_clear(&headers);
	sb_release(&bytes);
	return rc;
}

struct profile *embed_profile_load(const char *model, const char *name, const char *store_root)
{
	struct profile *p = profile_load(name ? name : model, store_root);
	if (!p) {
		if (!name && error_code() == EX_NOINPUT)
			error_set(EX_NOINPUT,
				  "model %s: no embedding profile of that name (give "
				  "--profile, or import vectors with 'troupe embed import')",
				  model);
		return NULL;
	}
	if (p->output != PROFILE_EMBEDDING) {
		error_set(EX_USAGE, "profile %s is not an embedding profile", p->name);
		profile_free(p);
		return NULL;
	}
	if (strcmp(p->embedding.model, model) != 0) {
		error_set(EX_USAGE, "profile %s computes model %s, not %s", p->name,
			  p->embedding.model, model);
		profile_free(p);
		return NULL;
	}
	return p;
}

/* The file goes through the profile's recipe, as stored assets do, so a
 * file and the same picture in the store are sent as the same bytes; bad
 * input gets troupe's own error before anything is sent. */
int embed_file(const struct profile *p, const char *path, float **vector, uint32_t *dim)
{
	*vector = NULL;
	*dim = 0;
	struct image_buffer buf;
	if (image_derive(path, &p->refs.limits, &buf) < 0)
		return error_prefix("%s", path);
	char *tmp = temp_template("embed");
	int fd = mkstemp(tmp), rc = -1;
	if (fd < 0) {
		error_set(EX_CANTCREAT, "%s: %s", tmp, strerror(errno));
	} else if (write_all(fd, buf.data, buf.len) < 0) {
		error_set(EX_IOERR, "%s: %s", tmp, strerror(errno));
	} else {
		rc = embed_image(p, tmp, buf.format, vector, dim);
	}
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(tmp);
	image_buffer_clear(&buf);
	return rc < 0 ? error_prefix("%s", path) : 0;
}
