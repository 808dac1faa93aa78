/* inject: mention resolution and reference placement. Invariant: the
 * request that comes out differs from the one that came in only at the
 * pointers the profile names; everything else is passed through. It is
 * over 800 lines as one pipeline (mentions, choice, placement, the log
 * row); uploads and the ids they get are upload.c's. */
#include "config.h"

#include "asset.h"
#include "auth.h"
#include "base64.h"
#include "character.h"
#include "derivative.h"
#include "embedding.h"
#include "graph.h"
#include "http.h"
#include "ingest.h"
#include "inject.h"
#include "json.h"
#include "look.h"
#include "query.h"
#include "refchoice.h"
#include "reqlog.h"
#include "role.h"
#include "upload.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool slug_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* A mention starts at '@' not preceded by a word character (so e-mail
 * addresses are left alone) and runs over slug characters. A look
 * follows at once after '.' or ':' when the next character is a slug
 * character ('.' wants a letter or digit, so "@mei." ends a sentence
 * and "@mei.winter" names a look). Trailing '-' belongs to the text. */
struct mention_span {
	size_t start, end;
	char *slug, *look;
	char sep; /* '.' or ':' before the look, as written; 0 for none */
};

static size_t find_mentions(const char *prompt, struct mention_span **out)
{
	size_t n = 0;
	*out = NULL;
	for (size_t i = 0; prompt[i]; i++) {
		if (prompt[i] != '@' || (i > 0 && (isalnum((unsigned char)prompt[i - 1]) ||
						   prompt[i - 1] == '_' || prompt[i - 1] == '.')))
			continue;
		size_t s = i + 1, e = s;
		while (slug_char(prompt[e]))
			e++;
		while (e > s && prompt[e - 1] == '-')
			e--;
		if (e == s)
			continue;
		size_t end = e;
		char *look = xstrdup("");
		char sep = 0;
		if ((prompt[e] == ':' && slug_char(prompt[e + 1])) ||
		    (prompt[e] == '.' && slug_char(prompt[e + 1]) && prompt[e + 1] != '-')) {
			size_t le = e + 1;
			while (slug_char(prompt[le]))
				le++;
			while (le > e + 1 && prompt[le - 1] == '-')
				le--;
			free(look);
			look = xstrndup(prompt + e + 1, le - e - 1);
			sep = prompt[e];
			end = le;
		}
		*out = xrealloc(*out, (n + 1) * sizeof(**out));
		(*out)[n++] = (struct mention_span){i, end, xstrndup(prompt + s, e - s), look, sep};
		i = end - 1;
	}
	return n;
}

static void spans_free(struct mention_span *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].slug);
		free(m[i].look);
	}
	free(m);
}

size_t inject_mention_spans(const char *prompt, struct inject_span **out)
{
	struct mention_span *m;
	size_t n = find_mentions(prompt, &m);
	*out = n ? xcalloc(n, sizeof(**out)) : NULL;
	for (size_t i = 0; i < n; i++) {
		(*out)[i] = (struct inject_span){m[i].start, m[i].end, m[i].slug, m[i].look};
		m[i].slug = m[i].look = NULL;
	}
	spans_free(m, n);
	return n;
}

void inject_spans_free(struct inject_span *spans, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(spans[i].slug);
		free(spans[i].look);
	}
	free(spans);
}

/* A look is known when it is registered, or when the character's assets
 * (or the character) carry its tag, as before looks were registered. */
static int look_check(struct catalog *cat, const struct character *c, const struct mention_span *m)
{
	if (!*m->look)
		return 0;
	if (strcmp(c->kind, "character") != 0)
		return error_set(EX_DATAERR, "@%s%c%s: a %s has no looks (only characters do)",
				 m->slug, m->sep, m->look, c->kind);
	struct look *l = catalog_look_get(cat, c->slug, m->look);
	look_free(l);
	if (l)
		return 0;
	if (error_code() != EX_NOINPUT)
		return -1;
	int tagged = catalog_look_tagged(cat, c->id, m->look);
	if (tagged < 0)
		return -1;
	if (tagged)
		return 0;
	return error_set(EX_DATAERR,
			 "@%s%c%s: no references: %s has no look '%s' (an unknown look; see "
			 "'troupe look list %s')",
			 m->slug, m->sep, m->look, c->slug, m->look, c->slug);
}

int inject_mentions(struct catalog *cat, const char *prompt, struct strlist *slugs,
		    struct strlist *looks)
{
	struct mention_span *m;
	size_t n = find_mentions(prompt, &m);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct character *c = catalog_character_get(cat, m[i].slug);
		if (!c) {
			rc = error_set(EX_DATAERR,
				       "@%s: unknown character (see 'troupe character list')",
				       m[i].slug);
			break;
		}
		rc = look_check(cat, c, &m[i]);
		bool seen = false;
		for (size_t k = 0; k < slugs->n; k++)
			seen |= strcmp(slugs->items[k], c->slug) == 0;
		if (!seen && rc == 0) {
			strlist_push(slugs, c->slug);
			strlist_push(looks, m[i].look);
		}
		character_free(c);
	}
	spans_free(m, n);
	return rc;
}

/* ---- choosing references ---- */

static bool strlist_has(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->items[i], s) == 0)
			return true;
	return false;
}

struct candidates {
	int64_t *ids;
	char **roles;
	char **owners; /* the asset's character's slug, "" for none */
	size_t n;
	int64_t limit;
};

static int collect_candidate(const struct asset *a, void *ctx)
{
	struct candidates *c = ctx;
	c->ids = xrealloc(c->ids, (c->n + 1) * sizeof(*c->ids));
	c->roles = xrealloc(c->roles, (c->n + 1) * sizeof(*c->roles));
	c->owners = xrealloc(c->owners, (c->n + 1) * sizeof(*c->owners));
	c->ids[c->n] = a->id;
	c->roles[c->n] = xstrdup(a->role);
	c->owners[c->n] = xstrdup(a->character ? a->character : "");
	c->n++;
	return c->limit && (int64_t)c->n >= c->limit;
}

static void candidates_free(struct candidates *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->roles[i]);
		free(c->owners[i]);
	}
	free(c->roles);
	free(c->owners);
	free(c->ids);
}

/* The assets q finds, oldest first, into c. */
static int candidates_of(struct catalog *cat, const char *q, struct candidates *c)
{
	struct query_options qo = {SORT_ID, false, 0};
	return catalog_query(cat, q, &qo, collect_candidate, c);
}

/* The vectors of an element's candidates, model by model (they come
 * ordered by model name), keeping the model that has the most of them. */
struct vector_pick {
	const struct candidates *c;
	char model[65]; /* the model being read; "" before the first row */
	uint32_t dim;
	float *vectors; /* c->n * dim */
	bool *has;
	size_t found;
	uint32_t best_dim;
	float *best_vectors;
	bool *best_has;
	size_t best_found;
};

/* A mean over one other says nothing, so a model must have two. */
static void vector_pick_end_model(struct vector_pick *v)
{
	if (v->found >= 2 && v->found > v->best_found) {
		free(v->best_vectors);
		free(v->best_has);
		v->best_vectors = v->vectors;
		v->best_has = v->has;
		v->best_found = v->found;
		v->best_dim = v->dim;
	} else {
		free(v->vectors);
		free(v->has);
	}
	v->vectors = NULL;
	v->has = NULL;
	v->found = 0;
}

static int pick_vector(int64_t asset_id, const char *model, const float *vector, uint32_t dim,
		       void *ctx)
{
	struct vector_pick *v = ctx;
	if (strcmp(v->model, model) != 0) {
		if (*v->model)
			vector_pick_end_model(v);
		snprintf(v->model, sizeof(v->model), "%s", model);
		v->dim = dim;
		v->vectors = xcalloc(v->c->n, dim * sizeof(float));
		v->has = xcalloc(v->c->n, sizeof(bool));
	}
	for (size_t i = 0; i < v->c->n; i++)
		if (v->c->ids[i] == asset_id && !v->has[i] && dim == v->dim) {
			memcpy(v->vectors + i * dim, vector, dim * sizeof(float));
			v->has[i] = true;
			v->found++;
		}
	return 0;
}

/* What one mentioned element could send, for refchoice. */
struct element_refs {
	struct candidates c;
	bool *of_look;
	float *vectors; /* c.n * dim, from the model with the most of them */
	bool *has_vector;
	uint32_t dim;
	struct refchoice_candidate *cands;
};

static void element_refs_free(struct element_refs *e)
{
	candidates_free(&e->c);
	free(e->of_look);
	free(e->vectors);
	free(e->has_vector);
	free(e->cands);
}

/* The vectors of e's candidates in the store's model that has the most of
 * them (the first by name among equals), so the most representative
 * reference can be found. With fewer than three candidates every mean is
 * the same, so none are read. */
static int element_vectors(struct catalog *cat, const char *slug, struct element_refs *e)
{
	if (e->c.n < 3)
		return 0;
	struct vector_pick v = {.c = &e->c};
	int rc = catalog_element_vectors(cat, slug, pick_vector, &v);
	if (*v.model)
		vector_pick_end_model(&v);
	if (rc == 0 && v.best_found) {
		e->vectors = v.best_vectors;
		e->has_vector = v.best_has;
		e->dim = v.best_dim;
	} else {
		free(v.best_vectors);
		free(v.best_has);
	}
	return rc;
}

/* The element's candidates: its assets in the roles its kind takes (of
 * the look the mention names, when it names one), and with a registered
 * look the character's face references that belong to no look, which
 * refchoice prefers right after the look's costume. Fails when fewer
 * than the profile's min can be sent. */
static int element_gather(struct catalog *cat, const struct profile *p, const char *slug,
			  const char *look, const struct strlist *roles, bool registered,
			  struct element_refs *e)
{
	memset(e, 0, sizeof(*e));
	struct strbuf q = STRBUF_INIT;
	sb_addf(&q, "character:%s (", slug);
	for (size_t i = 0; i < roles->n; i++)
		sb_addf(&q, "%srole:%s", i ? " OR " : "", roles->items[i]);
	sb_adds(&q, ")");
	if (*look)
		sb_addf(&q, " look:%s", look);
	int rc = candidates_of(cat, q.buf, &e->c);
	size_t of_look = *look ? e->c.n : 0;
	if (rc == 0 && registered && strlist_has(roles, "face")) {
		sb_reset(&q);
		sb_addf(&q, "character:%s role:face -look:*", slug);
		rc = candidates_of(cat, q.buf, &e->c);
	}
	sb_release(&q);
	if (rc < 0)
		return -1;
	size_t usable =
	    e->c.n < (size_t)p->refs.per_character ? e->c.n : (size_t)p->refs.per_character;
	if ((int)usable < p->refs.min) {
		struct strbuf names = STRBUF_INIT;
		for (size_t i = 0; i < roles->n; i++)
			sb_addf(&names, "%s%s", i ? ", " : "", roles->items[i]);
		error_set(EX_DATAERR,
			  "@%s%s%s: no references this profile can use (it takes roles %s%s%s)",
			  slug, *look ? ":" : "", look, names.buf, *look ? " tagged look:" : "",
			  look);
		sb_release(&names);
		return -1;
	}
	if (element_vectors(cat, slug, e) < 0)
		return -1;
	e->of_look = xcalloc(e->c.n ? e->c.n : 1, sizeof(bool));
	e->cands = xcalloc(e->c.n ? e->c.n : 1, sizeof(*e->cands));
	for (size_t i = 0; i < e->c.n; i++) {
		e->of_look[i] = i < of_look;
		e->cands[i] = (struct refchoice_candidate){
		    e->c.ids[i], e->c.roles[i], e->of_look[i],
		    e->has_vector && e->has_vector[i] ? e->vectors + i * e->dim : NULL};
	}
	return 0;
}

/* A tag for services that take 3 to 16 letters, digits and '_',
 * starting with a letter (Runway): '-' becomes '_', and a slug that is
 * too short or starts with a digit gets "c_" in front. */
static char *word_tag(const char *slug)
{
	struct strbuf sb = STRBUF_INIT;
	if (strlen(slug) < 3 || !(slug[0] >= 'a' && slug[0] <= 'z'))
		sb_adds(&sb, "c_");
	for (const char *c = slug; *c && sb.len < 16; c++)
		sb_addc(&sb, *c == '-' ? '_' : *c);
	return sb_detach(&sb);
}

/* ---- encoding ---- */

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

static int encode_ref(struct catalog *cat, const struct profile *p, struct injected_ref *r,
		      const struct strlist *auth_headers, bool stream, bool dry_run)
{
	if (stream && p->refs.encoding == ENC_BASE64) {
		r->encoded = json_base64_file(r->derived.path);
		r->streamed = true;
		return 0;
	}
	switch (p->refs.encoding) {
	case ENC_URL: {
		const char *base = getenv(p->refs.url_base_env);
		if (!base || !*base)
			return error_set(
			    EX_CONFIG,
			    "profile %s gives references as URLs: set $%s to the https "
			    "address where the store's derivatives are published",
			    p->name, p->refs.url_base_env);
		size_t len = strlen(base);
		while (len && base[len - 1] == '/')
			len--;
		r->encoded = xasprintf("%.*s/%s.%s", (int)len, base, r->derived.hash,
				       ext_of(r->derived.format));
		return 0;
	}
	case ENC_BASE64:
	case ENC_DATA_URI: {
		char *b64 = base64_encode_file(r->derived.path);
		if (!b64)
			return -1;
		if (p->refs.encoding == ENC_BASE64) {
			r->encoded = b64;
		} else {
			r->encoded =
			    xasprintf("data:%s;base64,%s", mime_of(r->derived.format), b64);
			free(b64);
		}
		return 0;
	}
	case ENC_MULTIPART:
	case ENC_PATH:
		r->encoded = xstrdup(r->derived.path);
		return 0;
	case ENC_UPLOAD:
		if (dry_run) {
			r->encoded = xasprintf("upload:%s", r->derived.hash);
			return 0;
		}
		r->encoded =
		    upload_reference(cat, p, &r->derived, auth_headers, &r->numeric, &r->reused);
		r->uploaded = r->encoded && !r->reused;
		return r->encoded ? 0 : -1;
	}
	return -1;
}

/* ---- templates ---- */

/* A copy of the template with {ref}, {tag}, {name}, {slug}, {mime} and
 * {index} replaced in every string; a string that is exactly "{ref}" for
 * a numeric upload id becomes that number. */
static cJSON *fill_template(const cJSON *tmpl, const struct injected_ref *r, const char *name,
			    size_t index)
{
	if (cJSON_IsString(tmpl)) {
		if (r->numeric && strcmp(tmpl->valuestring, "{ref}") == 0)
			return cJSON_CreateNumber(strtod(r->encoded, NULL));
		/* A payload of megabytes is referenced, not copied: the request is
		 * always freed before the references (injection_clear). A
		 * streamed one is a raw item that json_write encodes. */
		if (strcmp(tmpl->valuestring, "{ref}") == 0) {
			cJSON *item = cJSON_CreateStringReference(r->encoded);
			if (item && r->streamed)
				item->type = cJSON_Raw | cJSON_IsReference;
			return item;
		}
		/* Inside a longer string the payload is needed as text now. */
		char *text = r->streamed ? base64_encode_file(r->derived.path) : NULL;
		if (r->streamed && !text)
			return NULL;
		const char *payload = r->streamed ? text : r->encoded;
		struct strbuf sb = STRBUF_INIT;
		char number[24];
		snprintf(number, sizeof(number), "%zu", index);
		static const char *const keys[] = {"{ref}",  "{tag}",  "{name}",
						   "{slug}", "{mime}", "{index}"};
		const char *values[] = {
		    payload, r->tag, name, r->slug ? r->slug : "", mime_of(r->derived.format),
		    number};
		for (const char *s = tmpl->valuestring; *s;) {
			size_t k = 0;
			while (k < 6 && strncmp(s, keys[k], strlen(keys[k])) != 0)
				k++;
			if (k < 6) {
				sb_adds(&sb, values[k] ? values[k] : "");
				s += strlen(keys[k]);
			} else {
				sb_addc(&sb, *s++);
			}
		}
		cJSON *out = cJSON_CreateString(sb_str(&sb));
		sb_release(&sb);
		free(text);
		return out;
	}
	if (cJSON_IsArray(tmpl) || cJSON_IsObject(tmpl)) {
		cJSON *out = cJSON_IsArray(tmpl) ? cJSON_CreateArray() : cJSON_CreateObject();
		const cJSON *child;
		cJSON_ArrayForEach(child, tmpl) {
			cJSON *filled = fill_template(child, r, name, index);
			if (cJSON_IsArray(tmpl))
				cJSON_AddItemToArray(out, filled);
			else
				cJSON_AddItemToObject(out, child->string, filled);
		}
		return out;
	}
	return cJSON_Duplicate(tmpl, 1);
}

/* ---- the prompt ---- */

/* The look of slug's first mention ("" for none): looks runs beside slugs. */
static const char *look_of(const struct strlist *slugs, const struct strlist *looks,
			   const char *slug)
{
	for (size_t i = 0; i < slugs->n; i++)
		if (strcmp(slugs->items[i], slug) == 0)
			return looks->items[i];
	return "";
}

/* The element's description, then its look's; the caller frees it. */
static char *describe(struct catalog *cat, const struct character *c, const char *look)
{
	struct look *l = *look ? catalog_look_get(cat, c->slug, look) : NULL;
	if (*look && !l)
		error_clear();
	char *text = l && *l->description ? xasprintf("%s%s%s", c->description,
						      *c->description ? ", " : "", l->description)
					  : xstrdup(c->description);
	look_free(l);
	return text;
}

/* text_only: the slugs the profile carries as text only, or that got no
 * reference, which are always described, since no picture of theirs is
 * sent (and a tag that names no reference means nothing to a service). */
static char *rewrite_prompt(struct catalog *cat, const struct profile *p, const char *prompt,
			    const struct strlist *slugs, const struct strlist *looks,
			    const struct strlist *text_only)
{
	struct mention_span *m;
	size_t n = find_mentions(prompt, &m);
	struct strbuf out = STRBUF_INIT;
	struct strlist described = {0};
	size_t at = 0;
	for (size_t i = 0; i < n; i++) {
		sb_add(&out, prompt + at, m[i].start - at);
		struct character *c = catalog_character_get(cat, m[i].slug);
		char *text = describe(cat, c, look_of(slugs, looks, c->slug));
		bool as_text = strlist_has(text_only, c->slug);
		if (p->request.mention == MENTION_TAG && !as_text) {
			char *tag =
			    p->refs.tag_style == TAG_WORD ? word_tag(c->slug) : xstrdup(c->slug);
			sb_addf(&out, "@%s", tag);
			free(tag);
			if (p->refs.tag_space && prompt[m[i].end] != ' ')
				sb_addc(&out, ' ');
		} else if (!*text || (p->request.mention == MENTION_NAME &&
				      !(as_text && !p->request.describe)))
			sb_adds(&out, c->name);
		else
			sb_addf(&out, "%s (%s)", c->name, text);
		if (!strlist_has(&described, c->slug) && *text &&
		    !(as_text && p->request.mention != MENTION_NAME))
			strlist_push(&described, c->slug);
		free(text);
		character_free(c);
		at = m[i].end;
	}
	sb_adds(&out, prompt + at);
	if (p->request.describe && p->request.mention != MENTION_DESCRIPTION)
		for (size_t k = 0; k < described.n; k++) {
			struct character *c = catalog_character_get(cat, described.items[k]);
			char *text = describe(cat, c, look_of(slugs, looks, c->slug));
			sb_addf(&out, "%s%s: %s.", out.len ? " " : "", c->name, text);
			free(text);
			character_free(c);
		}
	strlist_clear(&described);
	spans_free(m, n);
	return sb_detach(&out);
}

static void negative_add(struct strbuf *sb, const char *negative)
{
	if (*negative && !strstr(sb_str(sb), negative))
		sb_addf(sb, "%s%s", sb->len ? ", " : "", negative);
}

/* The request's own negative prompt, then each element's and its look's. */
static char *negatives(struct catalog *cat, const struct strlist *slugs,
		       const struct strlist *looks, const char *existing)
{
	struct strbuf sb = STRBUF_INIT;
	if (existing && *existing)
		sb_adds(&sb, existing);
	for (size_t i = 0; i < slugs->n; i++) {
		struct character *c = catalog_character_get(cat, slugs->items[i]);
		if (c)
			negative_add(&sb, c->negative);
		character_free(c);
		struct look *l = *looks->items[i]
				     ? catalog_look_get(cat, slugs->items[i], looks->items[i])
				     : NULL;
		if (*looks->items[i] && !l)
			error_clear();
		if (l)
			negative_add(&sb, l->negative);
		look_free(l);
	}
	return sb_detach(&sb);
}

static bool first_seed(struct catalog *cat, const struct strlist *slugs, int64_t *seed)
{
	for (size_t i = 0; i < slugs->n; i++) {
		struct character *c = catalog_character_get(cat, slugs->items[i]);
		bool has = c && c->has_seed;
		if (has)
			*seed = c->seed;
		character_free(c);
		if (has)
			return true;
	}
	return false;
}

/* What the request's model needs when it carries references, a first
 * frame or a last frame (Kling's end frame wants mode pro), set where the
 * request has nothing (a user's own choice stays). */
static int apply_model_rules(const struct profile *p, cJSON *request, const bool with[3])
{
	static const char *const whens[] = {"with_references", "with_first_frame",
					    "with_last_frame"};
	cJSON *model = p->models.rules ? jp_get(request, p->models.pointer) : NULL;
	cJSON *rule = cJSON_IsString(model)
			  ? cJSON_GetObjectItemCaseSensitive(p->models.rules, model->valuestring)
			  : NULL;
	for (int w = 0; w < 3; w++) {
		cJSON *set = with[w] ? cJSON_GetObjectItemCaseSensitive(rule, whens[w]) : NULL, *v;
		cJSON_ArrayForEach(v, set) {
			if (!jp_get(request, v->string) &&
			    jp_set(request, v->string, cJSON_Duplicate(v, 1)) < 0)
				return -1;
		}
	}
	return 0;
}

/* How the profile carries the element slug: NULL with an error naming
 * it when it cannot. */
static const struct profile_kind *carried_as(struct catalog *cat, const struct profile *p,
					     const char *slug, const char *look)
{
	struct character *c = catalog_character_get(cat, slug);
	if (!c)
		return NULL;
	int k = element_kind_index(c->kind);
	const struct profile_kind *pk = k >= 0 ? &p->refs.kinds[k] : NULL;
	if (!pk || pk->carry == KIND_REFUSED) {
		struct strbuf takes = STRBUF_INIT;
		for (int i = 0; element_kinds[i]; i++)
			if (p->refs.kinds[i].carry != KIND_REFUSED)
				sb_addf(&takes, "%s%s", takes.len ? ", " : "", element_kinds[i]);
		error_set(EX_DATAERR, "@%s%s%s: profile %s cannot carry a %s (it takes %s)",
			  c->slug, *look ? "." : "", look, p->name, c->kind,
			  takes.len ? sb_str(&takes) : "no elements");
		sb_release(&takes);
		pk = NULL;
	}
	character_free(c);
	return pk;
}

/* ---- frames ---- */

static const char *const frame_names[] = {"first", "last"};

/* The asset a --first-frame or --last-frame names: a file is stored as
 * a generated asset (so the request's log row can name it), else it is
 * an asset; either way a picture. */
static int frame_asset(struct catalog *cat, const char *which, const char *input, int64_t *id)
{
	if (input[0] != '#' && access(input, F_OK) == 0) {
		struct add_batch *b = catalog_add_begin(cat, NULL, "generated", NULL);
		int rc =
		    b && catalog_add_file(b, input) == 0 && catalog_add_commit(b) == 0 ? 0 : -1;
		if (rc == 0) {
			const char *hash, *path;
			bool existed;
			catalog_add_result(b, 0, id, &hash, &path, &existed);
		}
		catalog_add_free(b);
		if (rc < 0)
			return error_prefix("--%s-frame", which);
	} else if (catalog_asset_resolve(cat, input, id) < 0) {
		return error_set(EX_NOINPUT, "--%s-frame %s: neither a file nor an asset", which,
				 input);
	}
	struct asset *a = catalog_asset_get(cat, *id);
	if (!a)
		return -1;
	bool video = catalog_format_is_video(a->format);
	asset_free(a);
	if (video)
		return error_set(EX_DATAERR, "--%s-frame %s: asset #%lld is a video, not a picture",
				 which, input, (long long)*id);
	return 0;
}

/* Checks the frames asked for against the profile's slots and finds
 * their assets (0 for none), before anything is derived or uploaded. */
static int frames_resolve(struct catalog *cat, const struct profile *p,
			  const struct inject_options *o, int64_t ids[2])
{
	const char *given[] = {o->first_frame, o->last_frame};
	const struct profile_frame *slots[] = {&p->frames.first, &p->frames.last};
	for (int i = 0; i < 2; i++) {
		ids[i] = 0;
		if (given[i] && !slots[i]->pointer)
			return error_set(EX_USAGE, "profile %s takes no %s frame (--%s-frame)",
					 p->name, frame_names[i], frame_names[i]);
		if (!given[i] && slots[i]->required)
			return error_set(EX_USAGE,
					 "profile %s starts the video from a picture: give "
					 "--%s-frame FILE|ASSET (a character's reference is never "
					 "used as a frame)",
					 p->name, frame_names[i]);
	}
	for (int i = 0; i < 2; i++)
		if (given[i] && frame_asset(cat, frame_names[i], given[i], &ids[i]) < 0)
			return -1;
	return 0;
}

/* Derives, encodes and places the frames, each recorded after the
 * references with its slot's name as its tag. */
static int frames_place(struct catalog *cat, const struct profile *p, const int64_t ids[2],
			const struct strlist *auth, const struct inject_options *o, cJSON *request,
			struct injection *out)
{
	const struct profile_frame *slots[] = {&p->frames.first, &p->frames.last};
	for (int i = 0; i < 2; i++) {
		if (!ids[i])
			continue;
		out->refs = xrealloc(out->refs, (out->nrefs + 1) * sizeof(*out->refs));
		struct injected_ref *r = &out->refs[out->nrefs++];
		memset(r, 0, sizeof(*r));
		r->asset_id = ids[i];
		r->tag = xasprintf("%s_frame", frame_names[i]);
		if (catalog_derive(cat, ids[i], &p->refs.limits, &r->derived) < 0 ||
		    encode_ref(cat, p, r, auth, o->stream_base64, o->dry_run) < 0)
			return -1;
		cJSON *plain = slots[i]->item ? NULL : cJSON_CreateString("{ref}");
		cJSON *item = fill_template(plain ? plain : slots[i]->item, r, "", (size_t)i + 1);
		cJSON_Delete(plain);
		if (!item || jp_set(request, slots[i]->pointer, item) < 0)
			return -1;
	}
	return 0;
}

/* ---- placing references by kind ---- */

/* Where a reference goes: its element's kind's own place (a service with
 * a field per kind), or the references' (also for a reference of no
 * mentioned element, from --ref); max is how many that pointer takes. */
struct ref_slot {
	const char *pointer;
	const cJSON *item;
	bool array;
	int max;
};

static void slot_of(struct catalog *cat, const struct profile *p, const char *slug,
		    struct ref_slot *s)
{
	*s = (struct ref_slot){p->refs.pointer, p->refs.item, p->refs.array, p->refs.max};
	struct character *c = slug && *slug ? catalog_character_get(cat, slug) : NULL;
	int k = c ? element_kind_index(c->kind) : -1;
	character_free(c);
	const struct profile_kind *pk = k >= 0 ? &p->refs.kinds[k] : NULL;
	if (!pk || pk->carry != KIND_REFS)
		return;
	if (pk->item)
		s->item = pk->item;
	if (pk->pointer) {
		s->pointer = pk->pointer;
		s->array = pk->array;
		s->max = pk->max ? pk->max : pk->array ? p->refs.max : 1;
	}
}

/* Keeps of the chosen references (ids, with their owners) those their
 * kind's pointer has room for, in order; an element none of whose
 * references is kept is told of, as one over the request's max is. */
static void slots_fit(struct catalog *cat, const struct profile *p, const struct inject_options *o,
		      int64_t *ids, size_t *nids, struct strlist *owner)
{
	struct strlist pointers = {0}, kept_owner = {0}, told = {0};
	size_t kept = 0;
	for (size_t i = 0; i < *nids; i++) {
		struct ref_slot s;
		slot_of(cat, p, owner->items[i], &s);
		int used = 0;
		for (size_t k = 0; s.pointer && k < pointers.n; k++)
			used += strcmp(pointers.items[k], s.pointer) == 0;
		if (s.pointer && used >= s.max) {
			const char *who = owner->items[i];
			if (*who && o->unplaced && !strlist_has(&kept_owner, who) &&
			    !strlist_has(&told, who)) {
				o->unplaced(p->name, who, s.max, o->unplaced_ctx);
				strlist_push(&told, who);
			}
			continue;
		}
		ids[kept++] = ids[i];
		strlist_push(&kept_owner, owner->items[i]);
		strlist_push(&pointers, s.pointer ? s.pointer : "");
	}
	*nids = kept;
	strlist_clear(owner);
	*owner = kept_owner;
	strlist_clear(&pointers);
	strlist_clear(&told);
}

/* A frame the service takes only without reference images (Veo 3.1's
 * first frame) is refused beside them, naming both, before anything is
 * derived or uploaded. */
static int frames_exclusive(const struct profile *p, const int64_t frame_ids[2], size_t nrefs,
			    const struct strlist *owner)
{
	const struct profile_frame *slots[] = {&p->frames.first, &p->frames.last};
	for (int i = 0; i < 2; i++) {
		if (!frame_ids[i] || !slots[i]->excludes_references || !nrefs)
			continue;
		struct strbuf who = STRBUF_INIT;
		struct strlist named = {0};
		for (size_t k = 0; k < owner->n; k++) {
			const char *slug = *owner->items[k] ? owner->items[k] : NULL;
			if (slug && strlist_has(&named, slug))
				continue;
			if (slug)
				strlist_push(&named, slug);
			sb_addf(&who, "%s%s%s", who.len ? ", " : "", slug ? "@" : "",
				slug ? slug : "--ref");
			if (!slug)
				break;
		}
		error_set(EX_USAGE,
			  "profile %s takes reference images or a %s frame, never both: "
			  "--%s-frame cannot go with the references of %s (leave out the frame, "
			  "or use an image-to-video profile)",
			  p->name, frame_names[i], frame_names[i], sb_str(&who));
		sb_release(&who);
		strlist_clear(&named);
		return -1;
	}
	return 0;
}

/* Puts each reference at its slot: appended to an array, spread over
 * the selector's matches, or alone at a pointer (the first one there). */
static int refs_place(struct catalog *cat, const struct profile *p, cJSON *request,
		      const struct injection *out)
{
	struct strlist single = {0};
	int spread = 0, rc = 0;
	for (size_t i = 0; i < out->nrefs && rc == 0; i++) {
		const struct injected_ref *r = &out->refs[i];
		struct ref_slot s;
		slot_of(cat, p, r->slug, &s);
		if (!s.array && !p->refs.spread && strlist_has(&single, s.pointer))
			continue;
		struct character *c = r->slug ? catalog_character_get(cat, r->slug) : NULL;
		cJSON *item = fill_template(s.item, r, c ? c->name : "", i + 1);
		character_free(c);
		if (!item) {
			rc = -1;
		} else if (s.array) {
			cJSON *arr = jp_get(request, s.pointer);
			if (!cJSON_IsArray(arr) &&
			    jp_set(request, s.pointer, cJSON_CreateArray()) == 0)
				arr = jp_get(request, s.pointer);
			if (cJSON_IsArray(arr))
				cJSON_AddItemToArray(arr, item);
			else
				rc = (cJSON_Delete(item), -1);
		} else if (p->refs.spread && s.pointer == p->refs.pointer) {
			char *plain = jp_resolve(request, s.pointer, spread++);
			rc = plain ? jp_set(request, plain, item) : (cJSON_Delete(item), -1);
			free(plain);
		} else {
			strlist_push(&single, s.pointer);
			rc = jp_set(request, s.pointer, item);
		}
	}
	strlist_clear(&single);
	return rc;
}

static bool look_registered(struct catalog *cat, const char *slug, const char *look)
{
	if (!*look)
		return false;
	struct look *l = catalog_look_get(cat, slug, look);
	if (!l)
		error_clear();
	look_free(l);
	return l != NULL;
}

/* Tells the caller what the limits left out: each entry to left_out, or
 * without one, to unplaced each element that gets nothing. el names the
 * elements the entries index (NULL for --ref's). */
static void report_left(const struct profile *p, const struct inject_options *o,
			const struct refchoice_result *r, const struct refchoice_element *el)
{
	for (size_t i = 0; i < r->nleft; i++) {
		const struct refchoice_left *l = &r->left[i];
		const char *slug = el && l->element != SIZE_MAX ? el[l->element].slug : NULL;
		if (o->left_out)
			o->left_out(p->name, slug, l, o->unplaced_ctx);
		else if (o->unplaced && slug && l->sent == 0)
			o->unplaced(p->name, slug, l->limit, o->unplaced_ctx);
	}
}

/* --ref: the assets the query selects, oldest first, as given. */
static int choose_given(struct catalog *cat, const struct profile *p,
			const struct inject_options *o, const struct strlist *slugs, int max_refs,
			struct refchoice_result *r, struct strlist *owner)
{
	struct candidates c = {0};
	struct query_options qo = {SORT_ID, false, 0};
	int rc = catalog_query(cat, o->ref_query, &qo, collect_candidate, &c);
	if (rc == 0 && c.n == 0)
		rc = error_set(EX_DATAERR, "--ref %s: no assets match", o->ref_query);
	if (rc == 0) {
		refchoice_override(c.ids, (const char *const *)c.roles, c.n, max_refs, r);
		/* A reference of a mentioned character is named as that
		 * character, so that a tag in the prompt still finds it; the
		 * others belong to no one mention. */
		for (size_t i = 0; i < r->n; i++)
			strlist_push(owner, strlist_has(slugs, c.owners[i]) ? c.owners[i] : "");
		report_left(p, o, r, NULL);
	}
	candidates_free(&c);
	return rc;
}

/* The rule (refchoice.h) over the mentioned elements (slugs[i] with
 * looks[i]) that the profile carries by references. */
static int choose_by_rule(struct catalog *cat, const struct profile *p,
			  const struct inject_options *o, const struct strlist *slugs,
			  const struct strlist *looks, int max_refs, struct refchoice_result *r,
			  struct strlist *owner)
{
	struct element_refs *er = xcalloc(slugs->n ? slugs->n : 1, sizeof(*er));
	struct refchoice_element *el = xcalloc(slugs->n ? slugs->n : 1, sizeof(*el));
	size_t n = 0;
	struct refchoice_limits lim = {max_refs, p->refs.per_character, {0}};
	/* A kind with a field of its own is capped by that field (one scene
	 * image); kinds sharing one field are fitted to it after the choice. */
	for (int k = 0; k < 4; k++) {
		const struct profile_kind *pk = &p->refs.kinds[k];
		lim.per_kind[k] = pk->max	? pk->max
				  : pk->pointer ? (pk->array ? p->refs.max : 1)
						: 0;
	}
	int rc = -1;
	for (size_t i = 0; i < slugs->n; i++) {
		const struct profile_kind *pk =
		    carried_as(cat, p, slugs->items[i], looks->items[i]);
		if (!pk)
			goto out;
		if (pk->carry == KIND_TEXT)
			continue;
		struct character *ch = catalog_character_get(cat, slugs->items[i]);
		if (!ch)
			goto out;
		int kind = element_kind_index(ch->kind);
		character_free(ch);
		bool registered = look_registered(cat, slugs->items[i], looks->items[i]);
		int gathered = element_gather(cat, p, slugs->items[i], looks->items[i], &pk->roles,
					      registered, &er[n]);
		n++;
		if (gathered < 0)
			goto out;
		el[n - 1] = (struct refchoice_element){
		    slugs->items[i], kind,	    &pk->roles,	  registered,
		    er[n - 1].cands, er[n - 1].c.n, er[n - 1].dim};
	}
	refchoice_run(el, n, &lim, r);
	/* --no-drop: for a director who would rather not pay for a take
	 * that lost one of its elements. */
	for (size_t i = 0; o->no_drop && i < r->nleft; i++)
		if (r->left[i].sent == 0) {
			char *why =
			    refchoice_left_text(p->name, el[r->left[i].element].slug, &r->left[i]);
			error_set(EX_DATAERR, "%s (--no-drop)", why);
			free(why);
			goto out;
		}
	for (size_t i = 0; i < r->n; i++)
		strlist_push(owner, el[r->element[i]].slug);
	report_left(p, o, r, el);
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		element_refs_free(&er[i]);
	free(er);
	free(el);
	return rc;
}

/* Which references are sent, into *ids (the caller frees it) with the
 * slug of the element each is for in owner ("" for none). */
static int choose_refs(struct catalog *cat, const struct profile *p, const struct inject_options *o,
		       const struct strlist *slugs, const struct strlist *looks, int max_refs,
		       int64_t **ids, size_t *nids, struct strlist *owner)
{
	struct refchoice_result r = {0};
	int rc = o->ref_query ? choose_given(cat, p, o, slugs, max_refs, &r, owner)
			      : choose_by_rule(cat, p, o, slugs, looks, max_refs, &r, owner);
	*ids = rc == 0 ? r.asset_ids : NULL;
	*nids = rc == 0 ? r.n : 0;
	if (rc == 0)
		r.asset_ids = NULL;
	else
		strlist_clear(owner);
	refchoice_result_clear(&r);
	return rc;
}

int inject_run(struct catalog *cat, const struct profile *p, const char *input, bool is_json,
	       const struct inject_options *o, struct injection *out)
{
	memset(out, 0, sizeof(*out));
	if (p->output == PROFILE_EMBEDDING)
		return error_set(EX_USAGE,
				 "profile %s computes embeddings; it takes no requests (see "
				 "'troupe embed')",
				 p->name);
	cJSON *request = NULL;
	const char *prompt_in;
	struct strlist looks = {0}, auth = {0}, text_only = {0};
	struct graph_places pl = {0};
	int rc = -1;
	if (p->output == PROFILE_JSON && !p->request.multipart) {
		if (is_json) {
			request = cJSON_Parse(input);
			if (!request || !cJSON_IsObject(request)) {
				error_set(EX_DATAERR, "the request is not a JSON object");
				goto out;
			}
		} else if (p->request.wrap || p->sampler.has) {
			error_set(EX_USAGE,
				  "profile %s fills a request you give it (a workflow): use "
				  "--file or standard input",
				  p->name);
			goto out;
		} else {
			request = p->request.template ? cJSON_Duplicate(p->request.template, 1)
						      : cJSON_CreateObject();
			if (jp_set(request, p->request.prompt, cJSON_CreateString(input)) < 0)
				goto out;
		}
		if (p->sampler.has) {
			if (graph_place(p, request, &pl) < 0)
				goto out;
		} else {
			pl.prompt = xstrdup(p->request.prompt);
			pl.negative = p->request.negative ? xstrdup(p->request.negative) : NULL;
		}
		cJSON *prompt_item = jp_get(request, pl.prompt);
		if (!cJSON_IsString(prompt_item)) {
			error_set(EX_DATAERR, "the request has no prompt text at %s", pl.prompt);
			goto out;
		}
		prompt_in = prompt_item->valuestring;
	} else {
		if (is_json) {
			cJSON *doc = cJSON_Parse(input);
			cJSON *pr = cJSON_GetObjectItemCaseSensitive(doc, "prompt");
			if (!cJSON_IsString(pr)) {
				cJSON_Delete(doc);
				error_set(EX_DATAERR,
					  "a %s profile takes a prompt: give text, or JSON with "
					  "a \"prompt\" string",
					  p->output == PROFILE_TEXT ? "text" : "multipart");
				goto out;
			}
			out->prompt = xstrdup(pr->valuestring);
			cJSON_Delete(doc);
		} else {
			out->prompt = xstrdup(input);
		}
		prompt_in = out->prompt;
	}
	if (text_check("prompt", prompt_in) < 0)
		goto out;
	if (inject_mentions(cat, prompt_in, &out->characters, &looks) < 0)
		goto out;
	if (o->ref_query && !p->refs.pointer && p->refs.encoding != ENC_MULTIPART &&
	    p->output == PROFILE_JSON) {
		error_set(EX_USAGE,
			  "profile %s takes no references (--ref): it describes the "
			  "elements in the prompt",
			  p->name);
		goto out;
	}
	int64_t frame_ids[2];
	if (frames_resolve(cat, p, o, frame_ids) < 0)
		goto out;
	if (p->refs.encoding == ENC_UPLOAD && !o->dry_run && auth_headers(p, &auth) < 0)
		goto out;
	/* Spread references go one to a node, so there are no more of them
	 * than nodes. */
	int max_refs = p->refs.max;
	if (p->refs.spread) {
		int nodes = jp_count(request, p->refs.pointer);
		if (nodes == 0) {
			error_set(EX_DATAERR, "the request has nothing matching %s for references",
				  p->refs.pointer);
			goto out;
		}
		if (nodes < max_refs)
			max_refs = nodes;
	}

	/* Every mention must be one the profile carries; those it carries as
	 * text only are described and get no reference. */
	for (size_t i = 0; i < out->characters.n; i++) {
		const struct profile_kind *pk =
		    carried_as(cat, p, out->characters.items[i], looks.items[i]);
		if (!pk)
			goto out;
		if (pk->carry == KIND_TEXT) {
			strlist_push(&text_only, out->characters.items[i]);
			if (o->text_only) {
				struct character *c =
				    catalog_character_get(cat, out->characters.items[i]);
				o->text_only(p->name, c->slug, c->kind, o->unplaced_ctx);
				character_free(c);
			}
		}
	}

	/* Choose, derive and encode the references. */
	int64_t *ids = NULL;
	size_t nids = 0;
	struct strlist owner = {0};
	if (choose_refs(cat, p, o, &out->characters, &looks, max_refs, &ids, &nids, &owner) < 0)
		goto out;
	slots_fit(cat, p, o, ids, &nids, &owner);
	if (frames_exclusive(p, frame_ids, nids, &owner) < 0) {
		free(ids);
		strlist_clear(&owner);
		goto out;
	}
	out->refs = xcalloc(nids ? nids : 1, sizeof(*out->refs));
	for (size_t i = 0; i < nids; i++) {
		struct injected_ref *r = &out->refs[out->nrefs++];
		r->asset_id = ids[i];
		r->slug = *owner.items[i] ? xstrdup(owner.items[i]) : NULL;
		r->tag = p->refs.tag_style == TAG_REF_N || !r->slug ? xasprintf("ref%zu", i + 1)
			 : p->refs.tag_style == TAG_WORD	    ? word_tag(r->slug)
								    : xstrdup(r->slug);
		if (catalog_derive(cat, ids[i], &p->refs.limits, &r->derived) < 0 ||
		    encode_ref(cat, p, r, &auth,
			       o->stream_base64 && p->output == PROFILE_JSON &&
				   !p->request.multipart,
			       o->dry_run) < 0) {
			free(ids);
			strlist_clear(&owner);
			goto out;
		}
	}
	free(ids);
	strlist_clear(&owner);

	/* The prompt, negative prompt and seed. */
	for (size_t i = 0; p->request.mention == MENTION_TAG && i < out->characters.n; i++) {
		bool placed = false;
		for (size_t k = 0; k < out->nrefs; k++)
			placed |= out->refs[k].slug &&
				  !strcmp(out->refs[k].slug, out->characters.items[i]);
		if (!placed && !strlist_has(&text_only, out->characters.items[i]))
			strlist_push(&text_only, out->characters.items[i]);
	}
	char *rewritten = rewrite_prompt(cat, p, prompt_in, &out->characters, &looks, &text_only);
	free(out->prompt);
	out->prompt = rewritten;
	int64_t seed = 0;
	bool has_seed = first_seed(cat, &out->characters, &seed);
	if (p->output == PROFILE_TEXT) {
		struct strbuf text = STRBUF_INIT;
		sb_adds(&text, out->prompt);
		if (out->nrefs) {
			sb_adds(&text, p->text.refs_prefix);
			for (size_t i = 0; i < out->nrefs; i++)
				sb_addf(&text, "%s%s", i ? p->text.refs_separator : "",
					out->refs[i].encoded);
			if (p->text.refs_suffix)
				sb_adds(&text, p->text.refs_suffix);
		}
		char *neg = negatives(cat, &out->characters, &looks, NULL);
		const char *parts[2] = {has_seed ? p->text.seed : NULL,
					*neg ? p->text.negative : NULL};
		for (int k = 0; k < 2; k++) {
			if (!parts[k])
				continue;
			for (const char *s = parts[k]; *s;) {
				if (!strncmp(s, "{seed}", 6)) {
					sb_addf(&text, "%lld", (long long)seed);
					s += 6;
				} else if (!strncmp(s, "{negative}", 10)) {
					sb_adds(&text, neg);
					s += 10;
				} else {
					sb_addc(&text, *s++);
				}
			}
		}
		free(neg);
		out->text = sb_detach(&text);
		rc = 0;
		goto out;
	}
	if (p->request.multipart) {
		for (size_t i = 0; i < out->nrefs; i++)
			strlist_push(&out->multipart_files, out->refs[i].encoded);
		/* A multipart request is flat: each pointer is a form field name. */
		out->request = p->request.template ? cJSON_Duplicate(p->request.template, 1)
						   : cJSON_CreateObject();
		cJSON_DeleteItemFromObjectCaseSensitive(out->request, p->request.prompt);
		cJSON_AddStringToObject(out->request, p->request.prompt, out->prompt);
		char *neg = negatives(cat, &out->characters, &looks, NULL);
		if (p->request.negative && *neg) {
			cJSON_DeleteItemFromObjectCaseSensitive(out->request, p->request.negative);
			cJSON_AddStringToObject(out->request, p->request.negative, neg);
		}
		free(neg);
		if (p->request.seed && has_seed) {
			cJSON_DeleteItemFromObjectCaseSensitive(out->request, p->request.seed);
			cJSON_AddNumberToObject(out->request, p->request.seed, (double)seed);
		}
		if (p->request.aspect && o->aspect) {
			cJSON_DeleteItemFromObjectCaseSensitive(out->request, p->request.aspect);
			cJSON_AddStringToObject(out->request, p->request.aspect, o->aspect);
		}
		rc = 0;
		goto out;
	}
	jp_set(request, pl.prompt, cJSON_CreateString(out->prompt));
	if (pl.negative) {
		cJSON *existing = jp_get(request, pl.negative);
		char *neg = negatives(cat, &out->characters, &looks,
				      cJSON_IsString(existing) ? existing->valuestring : NULL);
		if (*neg && jp_set(request, pl.negative, cJSON_CreateString(neg)) < 0) {
			free(neg);
			goto out;
		}
		free(neg);
	}
	if (p->request.seed && has_seed && !jp_get(request, p->request.seed) &&
	    jp_set(request, p->request.seed, cJSON_CreateNumber((double)seed)) < 0)
		goto out;
	/* A workflow holds a seed (ComfyUI's own, often random): the
	 * character's replaces it unless the user keeps the workflow's. */
	for (size_t i = 0; has_seed && i < pl.seeds.n; i++)
		if ((!o->keep_seed || !cJSON_IsNumber(jp_get(request, pl.seeds.items[i]))) &&
		    jp_set(request, pl.seeds.items[i], cJSON_CreateNumber((double)seed)) < 0)
			goto out;
	if (p->request.aspect && o->aspect &&
	    jp_set(request, p->request.aspect, cJSON_CreateString(o->aspect)) < 0)
		goto out;
	cJSON *duration =
	    p->request.duration && o->duration > 0 ? profile_duration_value(p, o->duration) : NULL;
	if (p->request.duration && o->duration > 0 &&
	    (!duration || jp_set(request, p->request.duration, duration) < 0))
		goto out;
	if (out->nrefs && refs_place(cat, p, request, out) < 0)
		goto out;
	bool with[3] = {out->nrefs > 0, frame_ids[0] != 0, frame_ids[1] != 0};
	if (frames_place(cat, p, frame_ids, &auth, o, request, out) < 0 ||
	    apply_model_rules(p, request, with) < 0)
		goto out;
	out->request = request;
	request = NULL;
	rc = 0;
out:
	cJSON_Delete(request);
	graph_places_clear(&pl);
	strlist_clear(&looks);
	strlist_clear(&text_only);
	strlist_clear(&auth);
	if (rc < 0)
		injection_clear(out);
	return rc;
}

char *inject_redacted(const struct injection *in)
{
	if (!in->request)
		return xstrdup(in->text ? in->text : "");
	/* The payloads are swapped for "blob:HASH" in place, printed, and put
	 * back: no copy of megabytes of base64 is made. A payload is a string
	 * equal to what was encoded for a reference (length first, then bytes). */
	size_t *lens = xcalloc(in->nrefs ? in->nrefs : 1, sizeof(size_t));
	for (size_t i = 0; i < in->nrefs; i++)
		lens[i] = in->refs[i].encoded ? strlen(in->refs[i].encoded) : 0;
	struct swap {
		cJSON *item;
		char *original;
		int type;
	} *swaps = NULL;
	size_t nswaps = 0;
	cJSON *stack[256];
	int depth = 0;
	stack[depth++] = in->request;
	while (depth) {
		cJSON *item = stack[--depth];
		if (cJSON_IsString(item) || cJSON_IsRaw(item)) {
			/* Most payloads are the reference's own string (see
			 * fill_template): found by address, not by reading it;
			 * a streamed one (a raw marker) only so. */
			size_t i = 0;
			while (i < in->nrefs && item->valuestring != in->refs[i].encoded)
				i++;
			size_t len = i < in->nrefs ? 0 : strlen(item->valuestring);
			for (i = i < in->nrefs ? i : 0; i < in->nrefs; i++) {
				bool same = item->valuestring == in->refs[i].encoded;
				bool payload =
				    in->refs[i].streamed
					? same
					: lens[i] > 64 &&
					      (same || (lens[i] == len &&
							memcmp(item->valuestring,
							       in->refs[i].encoded, len) == 0));
				if (!payload)
					continue;
				swaps = xrealloc(swaps, (nswaps + 1) * sizeof(*swaps));
				swaps[nswaps++] =
				    (struct swap){item, item->valuestring, item->type};
				item->valuestring = xasprintf("blob:%s", in->refs[i].derived.hash);
				item->type = cJSON_String | (item->type & cJSON_StringIsConst);
				break;
			}
		} else {
			cJSON *child;
			cJSON_ArrayForEach(child, item)
				if (depth < 256)
					stack[depth++] = child;
		}
	}
	char *text = cJSON_PrintUnformatted(in->request);
	for (size_t i = 0; i < nswaps; i++) {
		free(swaps[i].item->valuestring);
		swaps[i].item->valuestring = swaps[i].original;
		swaps[i].item->type = swaps[i].type;
	}
	free(swaps);
	free(lens);
	return text;
}

void injection_clear(struct injection *in)
{
	cJSON_Delete(in->request);
	free(in->text);
	free(in->prompt);
	for (size_t i = 0; i < in->nrefs; i++) {
		free(in->refs[i].slug);
		free(in->refs[i].tag);
		free(in->refs[i].encoded);
		derivative_clear(&in->refs[i].derived);
	}
	free(in->refs);
	strlist_clear(&in->characters);
	strlist_clear(&in->multipart_files);
	memset(in, 0, sizeof(*in));
}

int64_t inject_log(struct catalog *cat, const struct profile *p, const struct injection *in,
		   const char *kind, const char *status)
{
	struct request_ref_row *rows = xcalloc(in->nrefs ? in->nrefs : 1, sizeof(*rows));
	for (size_t i = 0; i < in->nrefs; i++)
		rows[i] = (struct request_ref_row){in->refs[i].asset_id, in->refs[i].derived.hash,
						   in->refs[i].tag,
						   in->refs[i].reused	  ? "reused"
						   : in->refs[i].uploaded ? "uploaded"
									  : NULL};
	char *redacted = inject_redacted(in);
	int64_t id = catalog_request_begin(cat, kind, p->name, in->prompt, redacted, status,
					   &in->characters, rows, in->nrefs);
	free(redacted);
	free(rows);
	return id;
}
