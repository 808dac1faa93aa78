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

void embed_result_clear(struct embed_result *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->faces[i].vector);
	free(r->faces);
	memset(r, 0, sizeof(*r));
}

struct embedding_meta embed_result_meta(const struct embed_result *r, size_t f)
{
	const struct embed_face *face = &r->faces[f];
	struct embedding_meta m = {.network = r->network,
				   .version = r->version,
				   .has_box = face->has_box,
				   .has_score = face->has_score,
				   .score = face->score,
				   .faces = (int)r->n};
	memcpy(m.box, face->box, sizeof(m.box));
	return m;
}

/* The vector at the profile's pointer in obj, each element a number in
 * float's range (converting 1e39 to float is undefined). */
static int read_vector(const struct profile *p, cJSON *obj, const char *where, struct embed_face *f)
{
	cJSON *vec = jp_get(obj, p->embedding.vector);
	int n = cJSON_GetArraySize(vec);
	if (!cJSON_IsArray(vec) || n < 1 || n > 65536)
		return error_set(EX_PROTOCOL, "embedding service (profile %s): no vector at %s%s",
				 p->name, p->embedding.vector, where);
	f->vector = xmalloc((size_t)n * sizeof(float));
	f->dim = (uint32_t)n;
	int i = 0;
	cJSON *e;
	cJSON_ArrayForEach(e, vec) {
		if (!cJSON_IsNumber(e) || !(fabs(e->valuedouble) <= FLT_MAX))
			return error_set(EX_PROTOCOL,
					 "embedding service (profile %s): element %d of the "
					 "vector%s is not a finite number",
					 p->name, i, where);
		f->vector[i++] = (float)e->valuedouble;
	}
	return 0;
}

/* A number member, finite and not absurd, or false. */
static bool read_coordinate(cJSON *box, const char *name, double *v)
{
	cJSON *item = cJSON_GetObjectItemCaseSensitive(box, name);
	if (!cJSON_IsNumber(item) || !(fabs(item->valuedouble) <= 1e7))
		return false;
	*v = item->valuedouble;
	return true;
}

/* The box and score of a face, when the answer gives them; a box that
 * is malformed or lies outside the picture is left out, not trusted. The
 * box is kept as fractions of the picture, clipped to it. */
static void read_box(const struct profile *p, cJSON *obj, int width, int height,
		     struct embed_face *f)
{
	cJSON *score = p->embedding.score ? jp_get(obj, p->embedding.score) : NULL;
	if (cJSON_IsNumber(score) && score->valuedouble >= 0 && score->valuedouble <= 1) {
		f->has_score = true;
		f->score = score->valuedouble;
	}
	cJSON *box = p->embedding.box ? jp_get(obj, p->embedding.box) : NULL;
	double x, y, w, h;
	if (!cJSON_IsObject(box) || width <= 0 || height <= 0 || !read_coordinate(box, "x", &x) ||
	    !read_coordinate(box, "y", &y) || !read_coordinate(box, "width", &w) ||
	    !read_coordinate(box, "height", &h) || w <= 0 || h <= 0)
		return;
	double x0 = x < 0 ? 0 : x, y0 = y < 0 ? 0 : y;
	double x1 = x + w > width ? width : x + w, y1 = y + h > height ? height : y + h;
	if (x1 <= x0 || y1 <= y0)
		return;
	f->has_box = true;
	f->box[0] = x0 / width;
	f->box[1] = y0 / height;
	f->box[2] = (x1 - x0) / width;
	f->box[3] = (y1 - y0) / height;
}

/* A short string at the pointer, or "". */
static void read_name(cJSON *answer, const char *pointer, char *out, size_t size)
{
	cJSON *item = pointer ? jp_get(answer, pointer) : NULL;
	const char *s = cJSON_IsString(item) ? item->valuestring : "";
	size_t len = strlen(s);
	/* A name, not a message: printable ASCII that fits. */
	bool ok = len < size;
	for (size_t i = 0; ok && i < len; i++)
		ok = s[i] > ' ' && s[i] < 0x7f;
	snprintf(out, size, "%s", ok ? s : "");
}

/* Every face of the answer (or its one vector when the profile names no
 * list), each checked. */
static int read_answer(const struct profile *p, cJSON *answer, int width, int height,
		       struct embed_result *out)
{
	if (!cJSON_IsObject(answer))
		return error_set(EX_PROTOCOL,
				 "embedding service (profile %s): the answer is not "
				 "a JSON object",
				 p->name);
	read_name(answer, p->embedding.network, out->network, sizeof(out->network));
	read_name(answer, p->embedding.version, out->version, sizeof(out->version));
	cJSON *list = p->embedding.faces ? jp_get(answer, p->embedding.faces) : NULL;
	if (!list) {
		out->faces = xcalloc(1, sizeof(*out->faces));
		out->n = 1;
		if (read_vector(p, answer, " in the answer", &out->faces[0]) < 0)
			return -1;
		read_box(p, answer, width, height, &out->faces[0]);
		return 0;
	}
	int n = cJSON_GetArraySize(list);
	if (!cJSON_IsArray(list))
		return error_set(EX_PROTOCOL,
				 "embedding service (profile %s): %s in the answer is not a list",
				 p->name, p->embedding.faces);
	if (n == 0) {
		error_set(EX_DATAERR, "%s in the image", p->embedding.nothing_error);
		return EMBED_NOTHING;
	}
	if (n > EMBED_MAX_FACES)
		n = EMBED_MAX_FACES;
	out->faces = xcalloc((size_t)n, sizeof(*out->faces));
	for (int i = 0; i < n; i++) {
		cJSON *face = cJSON_GetArrayItem(list, i);
		char where[48];
		snprintf(where, sizeof(where), " of face %d", i + 1);
		out->n++;
		if (read_vector(p, face, where, &out->faces[i]) < 0)
			return -1;
		if (out->faces[i].dim != out->faces[0].dim)
			return error_set(EX_PROTOCOL,
					 "embedding service (profile %s): face %d has a "
					 "%u-dimensional vector, face 1 a %u-dimensional one",
					 p->name, i + 1, out->faces[i].dim, out->faces[0].dim);
		read_box(p, face, width, height, &out->faces[i]);
	}
	return 0;
}

int embed_answer_read(const struct profile *p, const char *text, size_t len, int width, int height,
		      struct embed_result *out)
{
	memset(out, 0, sizeof(*out));
	cJSON *answer = cJSON_ParseWithLength(text, len);
	int rc = read_answer(p, answer, width, height, out);
	cJSON_Delete(answer);
	return rc;
}

int embed_image(const struct profile *p, const char *path, const char *format, int width,
		int height, struct embed_result *out)
{
	memset(out, 0, sizeof(*out));
	if (p->output != PROFILE_EMBEDDING)
		return error_set(EX_USAGE, "profile %s is not an embedding profile", p->name);
	struct strbuf bytes = STRBUF_INIT;
	if (file_read_all(path, &bytes) < 0) {
		sb_release(&bytes);
		return -1;
	}
	struct strlist headers = {0};
	char *body = NULL, *url = NULL, *content_type = NULL;
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
	rc = embed_answer_read(p, sb_str(&resp.body), resp.body.len, width, height, out);
	http_response_clear(&resp);
out:
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
static int embed_bytes(const struct profile *p, const struct image_buffer *buf,
		       struct embed_result *out)
{
	memset(out, 0, sizeof(*out));
	char *tmp = temp_template("embed");
	int fd = mkstemp(tmp), rc = -1;
	if (fd < 0) {
		error_set(EX_CANTCREAT, "%s: %s", tmp, strerror(errno));
	} else if (write_all(fd, buf->data, buf->len) < 0) {
		error_set(EX_IOERR, "%s: %s", tmp, strerror(errno));
	} else {
		rc = embed_image(p, tmp, buf->format, buf->width, buf->height, out);
	}
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(tmp);
	return rc;
}

int embed_buffer(const struct profile *p, const struct image_buffer *buf, struct embed_result *out)
{
	return embed_bytes(p, buf, out);
}

int embed_file(const struct profile *p, const char *path, struct embed_result *out)
{
	memset(out, 0, sizeof(*out));
	struct image_buffer buf;
	if (image_derive(path, &p->refs.limits, &buf) < 0)
		return error_prefix("%s", path);
	int rc = embed_bytes(p, &buf, out);
	image_buffer_clear(&buf);
	if (rc < 0)
		error_prefix("%s", path);
	return rc;
}
