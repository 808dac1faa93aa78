/* upload: sending references to an upload endpoint, and remembering what
 * the service named them. The id is recorded as soon as the upload's
 * answer is read, on its own commit, so a request that fails later still
 * leaves a valid id to reuse; the key itself is never kept, only the
 * account's fingerprint (auth_fingerprint). */
#include "config.h"

#include "auth.h"
#include "http.h"
#include "json.h"
#include "service-ids.h"
#include "upload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *mime_of(const char *format)
{
	return !strcmp(format, "png")	 ? "image/png"
	       : !strcmp(format, "webp") ? "image/webp"
					 : "image/jpeg";
}

static const char *ext_of(const char *format)
{
	return !strcmp(format, "png") ? "png" : !strcmp(format, "webp") ? "webp" : "jpg";
}

/* The upload URL, which names the service (and the server, for a local
 * one such as ComfyUI) an id belongs to. The caller frees it. */
static char *endpoint_of(const struct profile *p)
{
	char *base = profile_base_url(p);
	char *url = xasprintf("%s%s", base, p->send.upload_path);
	free(base);
	return url;
}

/* Fills key (endpoint is the caller's to free) for the current account. */
static int key_for(struct catalog *cat, const struct profile *p, const char *sent_hash,
		   struct service_id_key *key, char account[65])
{
	uint8_t salt[32];
	if (catalog_upload_salt(cat, salt) < 0 || auth_fingerprint(p, salt, account) < 0)
		return -1;
	key->endpoint = endpoint_of(p);
	key->account = account;
	key->sent_hash = sent_hash;
	return 0;
}

/* Sends d to the upload endpoint; the id its answer holds at the
 * profile's pointer. */
static char *send_upload(const struct profile *p, const char *url, const struct derivative *d,
			 const struct strlist *auth, bool *numeric)
{
	size_t nform = (size_t)cJSON_GetArraySize(p->send.upload_form);
	struct http_part *parts = xcalloc(nform + 1, sizeof(*parts));
	char *filename = xasprintf("%s.%s", d->hash, ext_of(d->format));
	parts[0] =
	    (struct http_part){p->send.upload_field, NULL, d->path, mime_of(d->format), filename};
	size_t k = 1;
	cJSON *f;
	cJSON_ArrayForEach(f, p->send.upload_form)
		if (cJSON_IsString(f))
			parts[k++] = (struct http_part){f->string, f->valuestring, NULL, NULL};
	struct strlist headers = {0};
	for (size_t i = 0; i < auth->n; i++)
		strlist_push(&headers, auth->items[i]);
	profile_headers(p, &headers);
	struct http_request req = {.method = "POST",
				   .url = url,
				   .headers = headers,
				   .body = NULL,
				   .parts = parts,
				   .nparts = k,
				   .max_response = 1 << 20};
	struct http_response resp;
	char *id = NULL;
	if (http_send(&req, &resp) < 0)
		goto out;
	if (resp.status < 200 || resp.status > 299) {
		struct strbuf why = STRBUF_INIT;
		for (size_t i = 0; i < resp.body.len && i < 200; i++) {
			unsigned char c = (unsigned char)resp.body.buf[i];
			sb_addc(&why, c >= 0x20 && c < 0x7f ? (char)c : '.');
		}
		error_set(EX_UNAVAILABLE, "upload of reference %s: HTTP %ld: %s", d->hash,
			  resp.status, sb_str(&why));
		sb_release(&why);
		goto out;
	}
	cJSON *answer = cJSON_ParseWithLength(sb_str(&resp.body), resp.body.len);
	cJSON *item = jp_get(answer, p->send.upload_id);
	if (cJSON_IsString(item))
		id = xstrdup(item->valuestring);
	else if (cJSON_IsNumber(item)) {
		id = xasprintf("%.0f", item->valuedouble);
		*numeric = true;
	} else
		error_set(EX_PROTOCOL, "upload of reference %s: no id at %s in the answer", d->hash,
			  p->send.upload_id);
	cJSON_Delete(answer);
out:
	http_response_clear(&resp);
	strlist_clear(&headers);
	free(filename);
	free(parts);
	return id;
}

char *upload_reference(struct catalog *cat, const struct profile *p, const struct derivative *d,
		       const struct strlist *auth, bool *numeric, bool *reused)
{
	struct service_id_key key;
	char account[65];
	char *id = NULL;
	*numeric = *reused = false;
	if (key_for(cat, p, d->hash, &key, account) < 0)
		return NULL;
	int64_t now = time_now();
	int found = catalog_upload_find(cat, &key, now, &id, numeric);
	if (found < 0)
		goto out;
	if (found) {
		*reused = true;
		goto out;
	}
	id = send_upload(p, key.endpoint, d, auth, numeric);
	if (id &&
	    catalog_upload_record(cat, &key, id, *numeric, now,
				  p->send.upload_expires ? now + p->send.upload_expires : 0) < 0) {
		error_prefix("remembering upload %s of reference %s", id, d->hash);
		free(id);
		id = NULL;
	}
out:
	free((char *)key.endpoint);
	return id;
}

int upload_forget(struct catalog *cat, const struct profile *p, const char *sent_hash)
{
	struct service_id_key key;
	char account[65];
	if (key_for(cat, p, sent_hash, &key, account) < 0)
		return -1;
	int rc = catalog_upload_forget(cat, &key);
	free((char *)key.endpoint);
	return rc;
}

bool upload_answer_unknown(const struct profile *p, const char *body, size_t len)
{
	if (!p->send.upload_unknown || !body)
		return false;
	cJSON *answer = cJSON_ParseWithLength(body, len);
	cJSON *item = jp_get(answer, p->send.upload_unknown);
	char number[32];
	const char *text = NULL;
	if (cJSON_IsString(item))
		text = item->valuestring;
	else if (cJSON_IsNumber(item) && item->valuedouble > -1e15 && item->valuedouble < 1e15 &&
		 item->valuedouble == (double)(long long)item->valuedouble) {
		snprintf(number, sizeof(number), "%lld", (long long)item->valuedouble);
		text = number;
	}
	bool unknown = false;
	for (size_t i = 0; text && i < p->send.upload_unknown_values.n; i++)
		if (!strcmp(p->send.upload_unknown_values.items[i], text))
			unknown = true;
	cJSON_Delete(answer);
	return unknown;
}
