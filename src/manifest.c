/* manifest: the JSON form of a manifest, written and parsed. The parser
 * is the gate for everything a bundle or a remote brings: each field is
 * checked for its type, range and text here, and every reference inside
 * the manifest (an asset's blob and element, a shot's still and takes, a
 * frame's video) must resolve, so merge never meets a dangling one.
 * Building a manifest from the catalog is manifest-build.c's. Over 800
 * lines because the writer and the parser of each part sit together: a
 * field added to one and not the other is seen at a glance. */
#include "config.h"

#include "manifest.h"

#include "base64.h"
#include "character.h"
#include "role.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void look_clear(struct manifest_look *l)
{
	free(l->name);
	free(l->description);
	free(l->negative);
}

static void element_clear(struct manifest_element *e)
{
	free(e->slug);
	free(e->kind);
	free(e->name);
	free(e->description);
	free(e->negative);
	strlist_clear(&e->tags);
	strlist_clear(&e->aliases);
	for (size_t i = 0; i < e->nlooks; i++)
		look_clear(&e->looks[i]);
	free(e->looks);
}

static void asset_clear(struct manifest_asset *a)
{
	free(a->element);
	free(a->role);
	strlist_clear(&a->tags);
	free(a->format);
	free(a->source);
	free(a->codec);
	for (size_t i = 0; i < a->nembeddings; i++)
		free(a->embeddings[i].vector);
	free(a->embeddings);
}

static void shot_clear(struct manifest_shot *s)
{
	free(s->slug);
	free(s->after);
	free(s->prompt);
	free(s->aspect);
	for (size_t i = 0; i < s->ntakes; i++)
		free(s->takes[i].error);
	free(s->takes);
}

void manifest_free(struct manifest *m)
{
	if (!m)
		return;
	free(m->blobs);
	for (size_t i = 0; i < m->nmodels; i++) {
		free(m->models[i].name);
		free(m->models[i].network);
		free(m->models[i].version);
	}
	free(m->models);
	for (size_t i = 0; i < m->nelements; i++)
		element_clear(&m->elements[i]);
	free(m->elements);
	for (size_t i = 0; i < m->nassets; i++)
		asset_clear(&m->assets[i]);
	free(m->assets);
	for (size_t i = 0; i < m->nshots; i++)
		shot_clear(&m->shots[i]);
	free(m->shots);
	free(m);
}

static int cmp_blob(const void *a, const void *b)
{
	return strcmp(((const struct manifest_blob *)a)->hash,
		      ((const struct manifest_blob *)b)->hash);
}

const struct manifest_blob *manifest_blob_find(const struct manifest *m, const char *hash)
{
	struct manifest_blob key = {0};
	if (strlen(hash) != STORE_HASH_HEX)
		return NULL;
	memcpy(key.hash, hash, sizeof(key.hash));
	return bsearch(&key, m->blobs, m->nblobs, sizeof(*m->blobs), cmp_blob);
}

static int cmp_element(const void *a, const void *b)
{
	return strcmp(((const struct manifest_element *)a)->slug,
		      ((const struct manifest_element *)b)->slug);
}

const struct manifest_element *manifest_element_find(const struct manifest *m, const char *slug)
{
	struct manifest_element key = {0};
	key.slug = (char *)slug;
	return bsearch(&key, m->elements, m->nelements, sizeof(*m->elements), cmp_element);
}

uint64_t manifest_bytes(const struct manifest *m)
{
	uint64_t total = 0;
	for (size_t i = 0; i < m->nblobs; i++)
		total += m->blobs[i].bytes;
	return total;
}

/* ---- writing ---- */

static cJSON *string_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static cJSON *string_array(const struct strlist *l)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < l->n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(l->items[i]));
	return a;
}

/* Vectors travel as the base64 of little-endian float32s: exact, and a
 * quarter of the size of decimal text. */
static char *vector_encode(const float *v, uint32_t dim)
{
	unsigned char *bytes = xmalloc((size_t)dim * 4);
	for (uint32_t i = 0; i < dim; i++) {
		uint32_t u;
		memcpy(&u, &v[i], 4);
		for (int k = 0; k < 4; k++)
			bytes[4 * i + (uint32_t)k] = (unsigned char)(u >> (8 * k));
	}
	char *text = base64_encode(bytes, (size_t)dim * 4);
	free(bytes);
	return text;
}

static cJSON *element_json(const struct manifest_element *e)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "slug", e->slug);
	cJSON_AddStringToObject(o, "kind", e->kind);
	cJSON_AddStringToObject(o, "name", e->name);
	cJSON_AddStringToObject(o, "description", e->description);
	cJSON_AddStringToObject(o, "negative", e->negative);
	cJSON_AddItemToObject(
	    o, "seed", e->has_seed ? cJSON_CreateNumber((double)e->seed) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "tags", string_array(&e->tags));
	cJSON_AddItemToObject(o, "aliases", string_array(&e->aliases));
	cJSON *looks = cJSON_AddArrayToObject(o, "looks");
	for (size_t i = 0; i < e->nlooks; i++) {
		cJSON *l = cJSON_CreateObject();
		cJSON_AddStringToObject(l, "name", e->looks[i].name);
		cJSON_AddStringToObject(l, "description", e->looks[i].description);
		cJSON_AddStringToObject(l, "negative", e->looks[i].negative);
		cJSON_AddItemToArray(looks, l);
	}
	cJSON_AddNumberToObject(o, "created", (double)e->created);
	cJSON_AddNumberToObject(o, "updated", (double)e->updated);
	return o;
}

static cJSON *asset_json(const struct manifest *m, const struct manifest_asset *a)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "blob", a->hash);
	cJSON_AddItemToObject(o, "element", string_or_null(a->element));
	cJSON_AddStringToObject(o, "role", a->role);
	cJSON_AddItemToObject(o, "tags", string_array(&a->tags));
	cJSON_AddNumberToObject(o, "width", a->width);
	cJSON_AddNumberToObject(o, "height", a->height);
	cJSON_AddStringToObject(o, "format", a->format);
	cJSON_AddItemToObject(o, "source", string_or_null(a->source));
	cJSON_AddNumberToObject(o, "added", (double)a->added);
	if (a->codec) {
		cJSON *v = cJSON_AddObjectToObject(o, "video");
		cJSON_AddNumberToObject(v, "duration", a->duration);
		cJSON_AddNumberToObject(v, "fps", a->fps);
		cJSON_AddStringToObject(v, "codec", a->codec);
	}
	if (a->has_frame) {
		cJSON *f = cJSON_AddObjectToObject(o, "frame");
		cJSON_AddNumberToObject(f, "of", (double)a->frame_of);
		cJSON_AddNumberToObject(f, "t", a->frame_t);
	}
	cJSON *embs = cJSON_AddArrayToObject(o, "embeddings");
	for (size_t i = 0; i < a->nembeddings; i++) {
		const struct manifest_embedding *e = &a->embeddings[i];
		const struct manifest_model *model = &m->models[e->model];
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "model", model->name);
		char *v = vector_encode(e->vector, model->dimension);
		cJSON_AddStringToObject(j, "vector", v);
		free(v);
		if (e->has_box) {
			cJSON *box = cJSON_AddArrayToObject(j, "box");
			for (int k = 0; k < 4; k++)
				cJSON_AddItemToArray(box, cJSON_CreateNumber(e->box[k]));
		}
		if (e->has_score)
			cJSON_AddNumberToObject(j, "score", e->score);
		if (e->faces)
			cJSON_AddNumberToObject(j, "faces", e->faces);
		cJSON_AddItemToArray(embs, j);
	}
	return o;
}

static cJSON *shot_json(const struct manifest_shot *s)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "slug", s->slug);
	cJSON_AddNumberToObject(o, "scene", (double)s->scene);
	cJSON_AddNumberToObject(o, "position", s->position);
	cJSON_AddItemToObject(o, "after", string_or_null(s->after));
	cJSON_AddStringToObject(o, "prompt", s->prompt);
	cJSON_AddItemToObject(o, "aspect", string_or_null(s->aspect));
	cJSON_AddItemToObject(
	    o, "duration", s->duration > 0 ? cJSON_CreateNumber(s->duration) : cJSON_CreateNull());
	cJSON_AddBoolToObject(o, "chain", s->chain);
	cJSON_AddItemToObject(
	    o, "still", s->has_still ? cJSON_CreateNumber((double)s->still) : cJSON_CreateNull());
	cJSON_AddNumberToObject(o, "chosen", s->chosen);
	cJSON *takes = cJSON_AddArrayToObject(o, "takes");
	for (size_t i = 0; i < s->ntakes; i++) {
		const struct manifest_take *t = &s->takes[i];
		cJSON *j = cJSON_CreateObject();
		cJSON_AddNumberToObject(j, "number", t->number);
		cJSON_AddItemToObject(j, "asset",
				      t->has_asset ? cJSON_CreateNumber((double)t->asset)
						   : cJSON_CreateNull());
		cJSON_AddStringToObject(j, "status", t->failed ? "failed" : "ok");
		cJSON_AddItemToObject(j, "error", string_or_null(t->error));
		cJSON_AddNumberToObject(j, "added", (double)t->added);
		cJSON_AddItemToArray(takes, j);
	}
	cJSON_AddNumberToObject(o, "created", (double)s->created);
	cJSON_AddNumberToObject(o, "updated", (double)s->updated);
	return o;
}

void manifest_write(const struct manifest *m, struct strbuf *out)
{
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "format", MANIFEST_FORMAT);
	cJSON_AddNumberToObject(root, "version", MANIFEST_VERSION);
	cJSON *blobs = cJSON_AddArrayToObject(root, "blobs");
	for (size_t i = 0; i < m->nblobs; i++) {
		cJSON *b = cJSON_CreateObject();
		cJSON_AddStringToObject(b, "hash", m->blobs[i].hash);
		cJSON_AddNumberToObject(b, "bytes", (double)m->blobs[i].bytes);
		cJSON_AddStringToObject(b, "sha256", m->blobs[i].sha256);
		cJSON_AddItemToArray(blobs, b);
	}
	cJSON *models = cJSON_AddArrayToObject(root, "models");
	for (size_t i = 0; i < m->nmodels; i++) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "name", m->models[i].name);
		cJSON_AddNumberToObject(j, "dimension", m->models[i].dimension);
		cJSON_AddStringToObject(j, "network", m->models[i].network);
		cJSON_AddStringToObject(j, "version", m->models[i].version);
		cJSON_AddItemToArray(models, j);
	}
	cJSON *elements = cJSON_AddArrayToObject(root, "elements");
	for (size_t i = 0; i < m->nelements; i++)
		cJSON_AddItemToArray(elements, element_json(&m->elements[i]));
	cJSON *assets = cJSON_AddArrayToObject(root, "assets");
	for (size_t i = 0; i < m->nassets; i++)
		cJSON_AddItemToArray(assets, asset_json(m, &m->assets[i]));
	cJSON *shots = cJSON_AddArrayToObject(root, "shots");
	for (size_t i = 0; i < m->nshots; i++)
		cJSON_AddItemToArray(shots, shot_json(&m->shots[i]));
	char *text = cJSON_PrintUnformatted(root);
	sb_adds(out, text);
	sb_addc(out, '\n');
	cJSON_free(text);
	cJSON_Delete(root);
}

/* ---- parsing ---- */

/* Where the parser is, for messages: "elements[3].tags[1]". */
struct parse {
	char where[96];
	/* What each model and asset was last used by (an index + 1), so that
	 * a repeat is found in one pass, however long the lists. */
	size_t *model_seen;
	size_t *asset_seen;
	size_t owner;
};

static int bad(const struct parse *p, const char *why)
{
	return error_set(EX_DATAERR, "manifest: %s: %s", p->where, why);
}

static void at(struct parse *p, const char *part, size_t i, const char *field)
{
	if (field)
		snprintf(p->where, sizeof(p->where), "%s[%zu].%s", part, i, field);
	else
		snprintf(p->where, sizeof(p->where), "%s[%zu]", part, i);
}

static cJSON *member(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* A text field: a string of valid UTF-8 without controls but tab and
 * newline, at most max bytes. NULL is allowed (and *out NULL) when
 * nullable and the member is absent or null. */
static int get_text(struct parse *p, const cJSON *o, const char *key, bool nullable, size_t max,
		    char **out)
{
	*out = NULL;
	cJSON *j = member(o, key);
	if (nullable && (!j || cJSON_IsNull(j)))
		return 0;
	if (!cJSON_IsString(j))
		return bad(p, nullable ? "not a string or null" : "missing, or not a string");
	size_t len = strlen(j->valuestring);
	if (len > max)
		return bad(p, "too long");
	if (text_check(p->where, j->valuestring) < 0)
		return error_prefix("manifest");
	*out = xstrdup(j->valuestring);
	return 0;
}

/* A whole number in [min, max]. */
static int get_int(struct parse *p, const cJSON *o, const char *key, double min, double max,
		   int64_t *out)
{
	cJSON *j = member(o, key);
	if (!cJSON_IsNumber(j))
		return bad(p, "missing, or not a number");
	double v = j->valuedouble;
	if (!(v >= min && v <= max) || v != floor(v))
		return bad(p, "not a whole number in range");
	*out = (int64_t)v;
	return 0;
}

static int get_double(struct parse *p, const cJSON *o, const char *key, double min, double max,
		      double *out)
{
	cJSON *j = member(o, key);
	if (!cJSON_IsNumber(j) || !isfinite(j->valuedouble))
		return bad(p, "missing, or not a number");
	if (!(j->valuedouble >= min && j->valuedouble <= max))
		return bad(p, "out of range");
	*out = j->valuedouble;
	return 0;
}

static bool hex_ok(const char *s, size_t len)
{
	return strlen(s) == len && strspn(s, "0123456789abcdef") == len;
}

/* An array member (absent is refused) of at most MANIFEST_MAX_ITEMS. */
static int get_array(struct parse *p, const cJSON *o, const char *key, cJSON **out, size_t *n)
{
	cJSON *j = member(o, key);
	if (!cJSON_IsArray(j))
		return bad(p, "missing, or not an array");
	int size = cJSON_GetArraySize(j);
	if (size > MANIFEST_MAX_ITEMS)
		return bad(p, "too many items");
	*out = j;
	*n = (size_t)size;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A list of strings, each checked by check (may be NULL), stored sorted
 * and refused when one comes twice. */
static int get_strings(struct parse *p, const cJSON *o, const char *key, int (*check)(const char *),
		       struct strlist *out)
{
	cJSON *arr;
	size_t n;
	char base[96];
	snprintf(base, sizeof(base), "%s", p->where);
	if (get_array(p, o, key, &arr, &n) < 0)
		return -1;
	size_t i = 0;
	for (cJSON *j = arr->child; j; j = j->next, i++) {
		snprintf(p->where, sizeof(p->where), "%.80s[%zu]", base, i);
		if (!cJSON_IsString(j) || strlen(j->valuestring) > 1024)
			return bad(p, "not a string");
		if (text_check(p->where, j->valuestring) < 0)
			return error_prefix("manifest");
		if (check && check(j->valuestring) < 0)
			return error_prefix("manifest: %s", p->where);
		strlist_push(out, j->valuestring);
	}
	snprintf(p->where, sizeof(p->where), "%s", base);
	if (out->n > 1)
		qsort(out->items, out->n, sizeof(*out->items), cmp_str);
	for (size_t k = 1; k < out->n; k++)
		if (strcmp(out->items[k - 1], out->items[k]) == 0)
			return bad(p, "an entry comes twice");
	return 0;
}

static int tag_check(const char *tag)
{
	char *ns, *value;
	if (tag_parse(tag, &ns, &value) < 0)
		return -1;
	free(ns);
	free(value);
	return 0;
}

static int parse_blobs(struct parse *p, const cJSON *root, struct manifest *m)
{
	cJSON *arr;
	snprintf(p->where, sizeof(p->where), "blobs");
	if (get_array(p, root, "blobs", &arr, &m->nblobs) < 0)
		return -1;
	m->blobs = xcalloc(m->nblobs ? m->nblobs : 1, sizeof(*m->blobs));
	size_t i = 0;
	for (cJSON *j = arr->child; j; j = j->next, i++) {
		struct manifest_blob *b = &m->blobs[i];
		at(p, "blobs", i, "hash");
		cJSON *h = member(j, "hash");
		if (!cJSON_IsString(h) || !hex_ok(h->valuestring, STORE_HASH_HEX))
			return bad(p, "not 32 lower-case hex digits");
		memcpy(b->hash, h->valuestring, STORE_HASH_HEX + 1);
		at(p, "blobs", i, "sha256");
		cJSON *s = member(j, "sha256");
		if (!cJSON_IsString(s) || !hex_ok(s->valuestring, SHA256_HEX))
			return bad(p, "not 64 lower-case hex digits");
		memcpy(b->sha256, s->valuestring, SHA256_HEX + 1);
		at(p, "blobs", i, "bytes");
		int64_t bytes;
		if (get_int(p, j, "bytes", 0, (double)MANIFEST_MAX_BLOB, &bytes) < 0)
			return -1;
		b->bytes = (uint64_t)bytes;
	}
	qsort(m->blobs, m->nblobs, sizeof(*m->blobs), cmp_blob);
	for (i = 1; i < m->nblobs; i++)
		if (strcmp(m->blobs[i - 1].hash, m->blobs[i].hash) == 0)
			return error_set(EX_DATAERR, "manifest: blob %s is listed twice",
					 m->blobs[i].hash);
	return 0;
}

static bool model_name_ok(const char *name)
{
	size_t len = strlen(name);
	return len > 0 && len <= 64 &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-") == len;
}

static int cmp_model(const void *a, const void *b)
{
	return strcmp(((const struct manifest_model *)a)->name,
		      ((const struct manifest_model *)b)->name);
}

static int parse_models(struct parse *p, const cJSON *root, struct manifest *m)
{
	cJSON *arr;
	snprintf(p->where, sizeof(p->where), "models");
	if (get_array(p, root, "models", &arr, &m->nmodels) < 0)
		return -1;
	m->models = xcalloc(m->nmodels ? m->nmodels : 1, sizeof(*m->models));
	size_t i = 0;
	for (cJSON *j = arr->child; j; j = j->next, i++) {
		struct manifest_model *model = &m->models[i];
		int64_t dim;
		at(p, "models", i, "name");
		if (get_text(p, j, "name", false, 64, &model->name) < 0)
			return -1;
		if (!model_name_ok(model->name))
			return bad(p, "not a model name (a-z, 0-9, '.', '_', '-')");
		at(p, "models", i, "dimension");
		if (get_int(p, j, "dimension", 1, MANIFEST_MAX_VECTOR, &dim) < 0)
			return -1;
		model->dimension = (uint32_t)dim;
		at(p, "models", i, "network");
		if (get_text(p, j, "network", false, 64, &model->network) < 0)
			return -1;
		at(p, "models", i, "version");
		if (get_text(p, j, "version", false, 32, &model->version) < 0)
			return -1;
	}
	qsort(m->models, m->nmodels, sizeof(*m->models), cmp_model);
	for (i = 1; i < m->nmodels; i++)
		if (strcmp(m->models[i - 1].name, m->models[i].name) == 0)
			return error_set(EX_DATAERR, "manifest: model %s is listed twice",
					 m->models[i].name);
	return 0;
}

static int cmp_look(const void *a, const void *b)
{
	return strcmp(((const struct manifest_look *)a)->name,
		      ((const struct manifest_look *)b)->name);
}

static int parse_looks(struct parse *p, const cJSON *o, struct manifest_element *e)
{
	cJSON *arr;
	char base[96];
	snprintf(base, sizeof(base), "%s", p->where);
	if (get_array(p, o, "looks", &arr, &e->nlooks) < 0)
		return -1;
	e->looks = xcalloc(e->nlooks ? e->nlooks : 1, sizeof(*e->looks));
	size_t i = 0;
	for (cJSON *j = arr->child; j; j = j->next, i++) {
		struct manifest_look *l = &e->looks[i];
		snprintf(p->where, sizeof(p->where), "%.80s[%zu]", base, i);
		if (get_text(p, j, "name", false, 64, &l->name) < 0 ||
		    get_text(p, j, "description", false, 65536, &l->description) < 0 ||
		    get_text(p, j, "negative", false, 65536, &l->negative) < 0)
			return -1;
		if (catalog_slug_check(l->name) < 0)
			return error_prefix("manifest: %s", p->where);
	}
	qsort(e->looks, e->nlooks, sizeof(*e->looks), cmp_look);
	for (i = 1; i < e->nlooks; i++)
		if (strcmp(e->looks[i - 1].name, e->looks[i].name) == 0)
			return error_set(EX_DATAERR, "manifest: element %s: look %s comes twice",
					 e->slug, e->looks[i].name);
	return 0;
}

struct name_owner {
	const char *name, *owner;
};

static int cmp_name_owner(const void *a, const void *b)
{
	const struct name_owner *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->owner, y->owner);
}

static int parse_elements(struct parse *p, const cJSON *root, struct manifest *m)
{
	cJSON *arr;
	snprintf(p->where, sizeof(p->where), "elements");
	if (get_array(p, root, "elements", &arr, &m->nelements) < 0)
		return -1;
	m->elements = xcalloc(m->nelements ? m->nelements : 1, sizeof(*m->elements));
	size_t i = 0;
	for (cJSON *j = arr->child; j; j = j->next, i++) {
		struct manifest_element *e = &m->elements[i];
		at(p, "elements", i, "slug");
		if (get_text(p, j, "slug", false, 64, &e->slug) < 0)
			return -1;
		if (catalog_slug_check(e->slug) < 0)
			return error_prefix("manifest: %s", p->where);
		at(p, "elements", i, "kind");
		if (get_text(p, j, "kind", false, 32, &e->kind) < 0)
			return -1;
		if (element_kind_index(e->kind) < 0)
			return bad(p, "not a kind of element");
		at(p, "elements", i, NULL);
		if (get_text(p, j, "name", false, 1024, &e->name) < 0 ||
		    get_text(p, j, "description", false, 65536, &e->description) < 0 ||
		    get_text(p, j, "negative", false, 65536, &e->negative) < 0)
			return -1;
		cJSON *seed = member(j, "seed");
		if (seed && !cJSON_IsNull(seed)) {
			at(p, "elements", i, "seed");
			if (get_int(p, j, "seed", 0, 4294967295.0, &e->seed) < 0)
				return -1;
			e->has_seed = true;
		}
		at(p, "elements", i, "tags");
		if (get_strings(p, j, "tags", tag_check, &e->tags) < 0)
			return -1;
		at(p, "elements", i, "aliases");
		if (get_strings(p, j, "aliases", catalog_slug_check, &e->aliases) < 0)
			return -1;
		at(p, "elements", i, "looks");
		if (parse_looks(p, j, e) < 0)
			return -1;
		if (e->nlooks && strcmp(e->kind, "character") != 0)
			return bad(p, "only a character has looks");
		at(p, "elements", i, "created");
		if (get_int(p, j, "created", 0, 1e15, &e->created) < 0)
			return -1;
		at(p, "elements", i, "updated");
		if (get_int(p, j, "updated", 0, 1e15, &e->updated) < 0)
			return -1;
	}
	qsort(m->elements, m->nelements, sizeof(*m->elements), cmp_element);
	for (i = 1; i < m->nelements; i++)
		if (strcmp(m->elements[i - 1].slug, m->elements[i].slug) == 0)
			return error_set(EX_DATAERR, "manifest: element %s is listed twice",
					 m->elements[i].slug);
	/* A name a mention could mean two ways is refused: an alias is no
	 * element's slug and belongs to one element. Sorted, so a manifest
	 * of many elements is checked in n log n. */
	size_t nnames = m->nelements;
	for (i = 0; i < m->nelements; i++)
		nnames += m->elements[i].aliases.n;
	struct name_owner *names = xmalloc((nnames ? nnames : 1) * sizeof(*names));
	size_t k = 0;
	for (i = 0; i < m->nelements; i++) {
		names[k++] = (struct name_owner){m->elements[i].slug, m->elements[i].slug};
		for (size_t q = 0; q < m->elements[i].aliases.n; q++)
			names[k++] = (struct name_owner){m->elements[i].aliases.items[q],
							 m->elements[i].slug};
	}
	qsort(names, nnames, sizeof(*names), cmp_name_owner);
	int rc = 0;
	for (k = 1; k < nnames && rc == 0; k++)
		if (strcmp(names[k - 1].name, names[k].name) == 0)
			rc = error_set(EX_DATAERR, "manifest: %s names both %s and %s",
				       names[k].name, names[k - 1].owner, names[k].owner);
	free(names);
	return rc;
}

static int parse_vector(struct parse *p, const cJSON *j, uint32_t dim, float **out)
{
	cJSON *v = member(j, "vector");
	if (!cJSON_IsString(v))
		return bad(p, "missing, or not a string");
	struct strbuf bytes = STRBUF_INIT;
	if (strlen(v->valuestring) > ((size_t)dim * 4 + 2) / 3 * 4 + 8 ||
	    base64_decode(v->valuestring, &bytes) < 0 || bytes.len != (size_t)dim * 4) {
		sb_release(&bytes);
		return bad(p, "not the base64 of the model's dimension of float32s");
	}
	float *vec = xmalloc((size_t)dim * sizeof(float));
	const unsigned char *b = (const unsigned char *)bytes.buf;
	for (uint32_t i = 0; i < dim; i++) {
		uint32_t u = 0;
		for (int k = 0; k < 4; k++)
			u |= (uint32_t)b[4 * i + (uint32_t)k] << (8 * k);
		memcpy(&vec[i], &u, 4);
		if (!isfinite(vec[i])) {
			free(vec);
			sb_release(&bytes);
			return bad(p, "a component is not a finite number");
		}
	}
	sb_release(&bytes);
	*out = vec;
	return 0;
}

static int parse_embeddings(struct parse *p, const cJSON *o, const struct manifest *m,
			    struct manifest_asset *a)
{
	cJSON *arr;
	char base[96];
	snprintf(base, sizeof(base), "%s", p->where);
	if (get_array(p, o, "embeddings", &arr, &a->nembeddings) < 0)
		return -1;
	a->embeddings = xcalloc(a->nembeddings ? a->nembeddings : 1, sizeof(*a->embeddings));
	size_t i = 0;
	for (cJSON *j = arr->child; j; j = j->next, i++) {
		struct manifest_embedding *e = &a->embeddings[i];
		snprintf(p->where, sizeof(p->where), "%.80s[%zu]", base, i);
		cJSON *name = member(j, "model");
		if (!cJSON_IsString(name))
			return bad(p, "model: missing, or not a string");
		struct manifest_model key = {.name = name->valuestring};
		const struct manifest_model *model =
		    bsearch(&key, m->models, m->nmodels, sizeof(*m->models), cmp_model);
		if (!model)
			return bad(p, "model: not one of the manifest's models");
		e->model = (size_t)(model - m->models);
		if (p->model_seen[e->model] == p->owner)
			return bad(p, "a second vector of the same model");
		p->model_seen[e->model] = p->owner;
		if (parse_vector(p, j, model->dimension, &e->vector) < 0)
			return -1;
		cJSON *box = member(j, "box");
		if (box) {
			if (!cJSON_IsArray(box) || cJSON_GetArraySize(box) != 4)
				return bad(p, "box: not four numbers");
			int k = 0;
			for (cJSON *c = box->child; c; c = c->next, k++) {
				if (!cJSON_IsNumber(c) || !isfinite(c->valuedouble) ||
				    fabs(c->valuedouble) > 1e6)
					return bad(p, "box: not four numbers");
				e->box[k] = c->valuedouble;
			}
			e->has_box = true;
		}
		if (member(j, "score")) {
			if (get_double(p, j, "score", -1e6, 1e6, &e->score) < 0)
				return -1;
			e->has_score = true;
		}
		if (member(j, "faces")) {
			int64_t faces;
			if (get_int(p, j, "faces", 0, 1e6, &faces) < 0)
				return -1;
			e->faces = (int)faces;
		}
	}
	return 0;
}

static int role_check(const char *role)
{
	return role_valid(role) ? 0 : error_set(EX_DATAERR, "%s: not a role", role);
}

static int parse_asset(struct parse *p, const cJSON *j, struct manifest *m, size_t i)
{
	struct manifest_asset *a = &m->assets[i];
	at(p, "assets", i, "blob");
	cJSON *h = member(j, "blob");
	if (!cJSON_IsString(h) || !hex_ok(h->valuestring, STORE_HASH_HEX))
		return bad(p, "not 32 lower-case hex digits");
	if (!manifest_blob_find(m, h->valuestring))
		return bad(p, "not one of the manifest's blobs");
	memcpy(a->hash, h->valuestring, STORE_HASH_HEX + 1);
	at(p, "assets", i, "element");
	if (get_text(p, j, "element", true, 64, &a->element) < 0)
		return -1;
	if (a->element && !manifest_element_find(m, a->element))
		return bad(p, "not one of the manifest's elements");
	at(p, "assets", i, "role");
	if (get_text(p, j, "role", false, 32, &a->role) < 0)
		return -1;
	if (role_check(a->role) < 0)
		return error_prefix("manifest: %s", p->where);
	at(p, "assets", i, "tags");
	if (get_strings(p, j, "tags", tag_check, &a->tags) < 0)
		return -1;
	int64_t v;
	at(p, "assets", i, "width");
	if (get_int(p, j, "width", 0, 1 << 20, &v) < 0)
		return -1;
	a->width = (int)v;
	at(p, "assets", i, "height");
	if (get_int(p, j, "height", 0, 1 << 20, &v) < 0)
		return -1;
	a->height = (int)v;
	at(p, "assets", i, "format");
	if (get_text(p, j, "format", false, 16, &a->format) < 0)
		return -1;
	if (!*a->format ||
	    strspn(a->format, "abcdefghijklmnopqrstuvwxyz0123456789") != strlen(a->format))
		return bad(p, "not a format name");
	at(p, "assets", i, "source");
	if (get_text(p, j, "source", true, 4096, &a->source) < 0)
		return -1;
	at(p, "assets", i, "added");
	if (get_int(p, j, "added", 0, 1e15, &a->added) < 0)
		return -1;
	cJSON *video = member(j, "video");
	if (video) {
		at(p, "assets", i, "video");
		if (!cJSON_IsObject(video) ||
		    get_double(p, video, "duration", 0, 1e7, &a->duration) < 0 ||
		    get_double(p, video, "fps", 0, 1e4, &a->fps) < 0 ||
		    get_text(p, video, "codec", false, 32, &a->codec) < 0)
			return -1;
	}
	cJSON *frame = member(j, "frame");
	if (frame) {
		at(p, "assets", i, "frame");
		int64_t of;
		if (!cJSON_IsObject(frame) ||
		    get_int(p, frame, "of", 0, (double)m->nassets - 1, &of) < 0 ||
		    get_double(p, frame, "t", 0, 1e7, &a->frame_t) < 0)
			return bad(p, "not a frame of one of the manifest's assets");
		if ((size_t)of == i)
			return bad(p, "an asset is not a frame of itself");
		a->has_frame = true;
		a->frame_of = (size_t)of;
	}
	at(p, "assets", i, "embeddings");
	return parse_embeddings(p, j, m, a);
}

static int cmp_asset_key(const void *a, const void *b)
{
	const struct manifest_asset *x = *(const struct manifest_asset *const *)a;
	const struct manifest_asset *y = *(const struct manifest_asset *const *)b;
	int c = strcmp(x->hash, y->hash);
	if (!c)
		c = strcmp(x->element ? x->element : "", y->element ? y->element : "");
	if (!c)
		c = (x->element != NULL) - (y->element != NULL);
	return c ? c : strcmp(x->role, y->role);
}

static int parse_assets(struct parse *p, const cJSON *root, struct manifest *m)
{
	cJSON *arr;
	snprintf(p->where, sizeof(p->where), "assets");
	if (get_array(p, root, "assets", &arr, &m->nassets) < 0)
		return -1;
	m->assets = xcalloc(m->nassets ? m->nassets : 1, sizeof(*m->assets));
	size_t i = 0;
	p->model_seen = xcalloc(m->nmodels ? m->nmodels : 1, sizeof(*p->model_seen));
	for (cJSON *j = arr->child; j; j = j->next, i++) {
		p->owner = i + 1;
		if (parse_asset(p, j, m, i) < 0)
			return -1;
	}
	/* A frame's video is not itself a frame: no chain, so no cycle. */
	for (i = 0; i < m->nassets; i++)
		if (m->assets[i].has_frame && m->assets[m->assets[i].frame_of].has_frame) {
			at(p, "assets", i, "frame");
			return bad(p, "a frame of a frame");
		}
	/* A blob no asset names would be stored and never referenced. */
	bool *named = xcalloc(m->nblobs ? m->nblobs : 1, sizeof(*named));
	for (i = 0; i < m->nassets; i++)
		named[manifest_blob_find(m, m->assets[i].hash) - m->blobs] = true;
	for (i = 0; i < m->nblobs; i++)
		if (!named[i]) {
			free(named);
			return error_set(EX_DATAERR, "manifest: blob %s: no asset names it",
					 m->blobs[i].hash);
		}
	free(named);
	if (m->nassets < 2)
		return 0;
	const struct manifest_asset **order = xmalloc(m->nassets * sizeof(*order));
	for (i = 0; i < m->nassets; i++)
		order[i] = &m->assets[i];
	qsort(order, m->nassets, sizeof(*order), cmp_asset_key);
	int rc = 0;
	for (i = 1; i < m->nassets && rc == 0; i++)
		if (cmp_asset_key(&order[i - 1], &order[i]) == 0)
			rc = error_set(EX_DATAERR,
				       "manifest: blob %s is an asset of the same element and "
				       "role twice",
				       order[i]->hash);
	free(order);
	return rc;
}

static int parse_takes(struct parse *p, const cJSON *o, const struct manifest *m,
		       struct manifest_shot *s)
{
	cJSON *arr;
	char base[96];
	snprintf(base, sizeof(base), "%s", p->where);
	if (get_array(p, o, "takes", &arr, &s->ntakes) < 0)
		return -1;
	s->takes = xcalloc(s->ntakes ? s->ntakes : 1, sizeof(*s->takes));
	size_t i = 0;
	for (cJSON *j = arr->child; j; j = j->next, i++) {
		struct manifest_take *t = &s->takes[i];
		snprintf(p->where, sizeof(p->where), "%.80s[%zu]", base, i);
		int64_t v;
		if (get_int(p, j, "number", 1, 1e6, &v) < 0)
			return -1;
		t->number = (int)v;
		if (i && t->number <= s->takes[i - 1].number)
			return bad(p, "takes are not in increasing order of number");
		cJSON *asset = member(j, "asset");
		if (asset && !cJSON_IsNull(asset)) {
			if (get_int(p, j, "asset", 0, (double)m->nassets - 1, &v) < 0)
				return -1;
			t->has_asset = true;
			t->asset = (size_t)v;
			if (p->asset_seen[t->asset] == p->owner)
				return bad(p, "the same asset is two takes");
			p->asset_seen[t->asset] = p->owner;
		}
		cJSON *status = member(j, "status");
		if (!cJSON_IsString(status) || (strcmp(status->valuestring, "ok") != 0 &&
						strcmp(status->valuestring, "failed") != 0))
			return bad(p, "status: neither \"ok\" nor \"failed\"");
		t->failed = strcmp(status->valuestring, "failed") == 0;
		if (get_text(p, j, "error", true, 65536, &t->error) < 0 ||
		    get_int(p, j, "added", 0, 1e15, &t->added) < 0)
			return -1;
	}
	return 0;
}

static int parse_shot(struct parse *p, const cJSON *j, struct manifest *m, size_t i)
{
	struct manifest_shot *s = &m->shots[i];
	int64_t v;
	at(p, "shots", i, "slug");
	if (get_text(p, j, "slug", false, 64, &s->slug) < 0)
		return -1;
	if (catalog_slug_check(s->slug) < 0)
		return error_prefix("manifest: %s", p->where);
	at(p, "shots", i, "scene");
	if (get_int(p, j, "scene", -1e9, 1e9, &s->scene) < 0)
		return -1;
	at(p, "shots", i, "position");
	if (get_double(p, j, "position", -1e15, 1e15, &s->position) < 0)
		return -1;
	at(p, "shots", i, "after");
	if (get_text(p, j, "after", true, 64, &s->after) < 0)
		return -1;
	if (s->after && catalog_slug_check(s->after) < 0)
		return error_prefix("manifest: %s", p->where);
	at(p, "shots", i, "prompt");
	if (get_text(p, j, "prompt", false, 65536, &s->prompt) < 0)
		return -1;
	at(p, "shots", i, "aspect");
	if (get_text(p, j, "aspect", true, 16, &s->aspect) < 0)
		return -1;
	cJSON *duration = member(j, "duration");
	if (duration && !cJSON_IsNull(duration)) {
		at(p, "shots", i, "duration");
		if (get_double(p, j, "duration", 1e-9, 3600, &s->duration) < 0)
			return -1;
	}
	at(p, "shots", i, "chain");
	cJSON *chain = member(j, "chain");
	if (!cJSON_IsBool(chain))
		return bad(p, "missing, or not true or false");
	s->chain = cJSON_IsTrue(chain);
	cJSON *still = member(j, "still");
	if (still && !cJSON_IsNull(still)) {
		at(p, "shots", i, "still");
		if (get_int(p, j, "still", 0, (double)m->nassets - 1, &v) < 0)
			return -1;
		s->has_still = true;
		s->still = (size_t)v;
	}
	at(p, "shots", i, "takes");
	if (parse_takes(p, j, m, s) < 0)
		return -1;
	at(p, "shots", i, "chosen");
	if (get_int(p, j, "chosen", 0, 1e6, &v) < 0)
		return -1;
	s->chosen = (int)v;
	if (s->chosen) {
		size_t k = 0;
		while (k < s->ntakes && s->takes[k].number != s->chosen)
			k++;
		if (k == s->ntakes || s->takes[k].failed || !s->takes[k].has_asset)
			return bad(p, "not a take with an asset");
	}
	at(p, "shots", i, "created");
	if (get_int(p, j, "created", 0, 1e15, &s->created) < 0)
		return -1;
	at(p, "shots", i, "updated");
	return get_int(p, j, "updated", 0, 1e15, &s->updated);
}

static int parse_shots(struct parse *p, const cJSON *root, struct manifest *m)
{
	cJSON *arr;
	snprintf(p->where, sizeof(p->where), "shots");
	if (get_array(p, root, "shots", &arr, &m->nshots) < 0)
		return -1;
	m->shots = xcalloc(m->nshots ? m->nshots : 1, sizeof(*m->shots));
	size_t i = 0;
	p->asset_seen = xcalloc(m->nassets ? m->nassets : 1, sizeof(*p->asset_seen));
	for (cJSON *j = arr->child; j; j = j->next, i++) {
		p->owner = i + 1;
		if (parse_shot(p, j, m, i) < 0)
			return -1;
	}
	if (m->nshots < 2)
		return 0;
	char **slugs = xmalloc(m->nshots * sizeof(*slugs));
	for (i = 0; i < m->nshots; i++)
		slugs[i] = m->shots[i].slug;
	qsort(slugs, m->nshots, sizeof(*slugs), cmp_str);
	int rc = 0;
	for (i = 1; i < m->nshots && rc == 0; i++)
		if (strcmp(slugs[i - 1], slugs[i]) == 0)
			rc = error_set(EX_DATAERR, "manifest: shot %s is listed twice", slugs[i]);
	free(slugs);
	return rc;
}

struct manifest *manifest_parse(const void *data, size_t len)
{
	if (len > MANIFEST_MAX_BYTES) {
		error_set(EX_DATAERR, "manifest: %zu bytes, over the limit of %zu", len,
			  MANIFEST_MAX_BYTES);
		return NULL;
	}
	if (!utf8_valid(data, len) || memchr(data, '\0', len)) {
		error_set(EX_DATAERR, "manifest: not UTF-8 text");
		return NULL;
	}
	cJSON *root = cJSON_ParseWithLength(data, len);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		error_set(EX_DATAERR, "manifest: not a JSON object");
		return NULL;
	}
	struct manifest *m = xcalloc(1, sizeof(*m));
	struct parse p = {"format", NULL, NULL, 0};
	int rc = -1;
	cJSON *format = member(root, "format");
	if (!cJSON_IsString(format) || strcmp(format->valuestring, MANIFEST_FORMAT) != 0) {
		bad(&p, "not a troupe manifest");
		goto out;
	}
	cJSON *version = member(root, "version");
	if (!cJSON_IsNumber(version) || version->valuedouble != MANIFEST_VERSION) {
		if (cJSON_IsNumber(version))
			error_set(EX_DATAERR,
				  "manifest: version %g; this troupe reads version %d only",
				  version->valuedouble, MANIFEST_VERSION);
		else
			error_set(EX_DATAERR, "manifest: no version");
		goto out;
	}
	m->version = MANIFEST_VERSION;
	if (parse_blobs(&p, root, m) < 0 || parse_models(&p, root, m) < 0 ||
	    parse_elements(&p, root, m) < 0 || parse_assets(&p, root, m) < 0 ||
	    parse_shots(&p, root, m) < 0)
		goto out;
	rc = 0;
out:
	free(p.model_seen);
	free(p.asset_seen);
	cJSON_Delete(root);
	if (rc < 0) {
		manifest_free(m);
		return NULL;
	}
	return m;
}
