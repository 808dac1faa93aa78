/* board: the storyboard page from the shot room's film order. An element
 * is looked up once however many shots mention it; a mention that names
 * nothing known any more is shown as written, never dropped; a take whose
 * asset is gone is still listed, so the numbering the director picks by
 * stays readable. */
#include "config.h"

#include "asset.h"
#include "board.h"
#include "character.h"
#include "inject.h"
#include "page.h"
#include "shot.h"
#include "take-check.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void element_clear(struct board_element *e)
{
	free(e->slug);
	free(e->kind);
	free(e->name);
	free(e->look);
	for (size_t i = 0; i < e->nrefs; i++)
		asset_free(e->refs[i]);
	free(e->refs);
}

static void shot_clear(struct board_shot *s)
{
	free(s->slug);
	free(s->after);
	free(s->prompt);
	free(s->aspect);
	asset_free(s->still);
	free(s->elements);
	free(s->mentions);
	for (size_t i = 0; i < s->ntakes; i++) {
		free(s->takes[i].error);
		free(s->takes[i].verdict);
		free(s->takes[i].figures);
		free(s->takes[i].checked_with);
		asset_free(s->takes[i].video);
	}
	free(s->takes);
}

void board_clear(struct board *b)
{
	for (size_t i = 0; i < b->n; i++)
		shot_clear(&b->shots[i]);
	free(b->shots);
	for (size_t i = 0; i < b->nelements; i++)
		element_clear(&b->elements[i]);
	free(b->elements);
	memset(b, 0, sizeof(*b));
}

/* ---- gathering ---- */

struct ref_walk {
	struct catalog *cat;
	struct board_element *e;
};

static int collect_ref(const struct asset *a, void *ctx)
{
	struct ref_walk *w = ctx;
	if (catalog_format_is_video(a->format))
		return 0;
	for (size_t i = 0; i < w->e->nrefs; i++)
		if (w->e->refs[i]->id == a->id)
			return 0;
	if (w->e->nrefs == BOARD_REFS_PER_ELEMENT) {
		w->e->more++;
		return 0;
	}
	struct asset *copy = catalog_asset_get(w->cat, a->id);
	if (!copy)
		return -1;
	w->e->refs = xrealloc(w->e->refs, (w->e->nrefs + 1) * sizeof(*w->e->refs));
	w->e->refs[w->e->nrefs++] = copy;
	return 0;
}

/* The element's pictures: with a look, the look's own first and then
 * those of no look (the face it keeps); without one, all of them. */
static int element_refs(struct catalog *cat, struct board_element *e)
{
	struct ref_walk w = {cat, e};
	struct query_options qo = {SORT_ID, false, 0};
	char *q = *e->look ? xasprintf("character:%s look:%s", e->slug, e->look)
			   : xasprintf("character:%s", e->slug);
	int rc = catalog_query(cat, q, &qo, collect_ref, &w);
	free(q);
	if (rc == 0 && *e->look) {
		q = xasprintf("character:%s -look:*", e->slug);
		rc = catalog_query(cat, q, &qo, collect_ref, &w);
		free(q);
	}
	return rc < 0 ? -1 : 0;
}

/* The index in b->elements of the element slug (a slug or alias) with
 * look, gathered now if no shot before mentioned it, and listed in the
 * shot's elements once; BOARD_UNKNOWN when no element has that slug (it
 * was removed since the shot was written). */
static int shot_element(struct catalog *cat, struct board *b, struct board_shot *s,
			const char *slug, const char *look, size_t *index)
{
	*index = BOARD_UNKNOWN;
	struct character *c = catalog_character_get(cat, slug);
	if (!c) {
		if (error_code() != EX_NOINPUT)
			return -1;
		error_clear();
		return 0;
	}
	int rc = 0;
	for (size_t i = 0; i < b->nelements && *index == BOARD_UNKNOWN; i++)
		if (!strcmp(b->elements[i].slug, c->slug) && !strcmp(b->elements[i].look, look))
			*index = i;
	if (*index == BOARD_UNKNOWN) {
		b->elements = xrealloc(b->elements, (b->nelements + 1) * sizeof(*b->elements));
		struct board_element *e = &b->elements[b->nelements++];
		*e = (struct board_element){xstrdup(c->slug),
					    xstrdup(c->kind ? c->kind : "character"),
					    xstrdup(c->name && *c->name ? c->name : c->slug),
					    xstrdup(look),
					    NULL,
					    0,
					    0};
		*index = b->nelements - 1;
		if ((rc = element_refs(cat, e)) < 0)
			goto out;
	}
	bool listed = false;
	for (size_t i = 0; i < s->nelements; i++)
		listed |= s->elements[i] == *index;
	if (!listed) {
		s->elements = xrealloc(s->elements, (s->nelements + 1) * sizeof(*s->elements));
		s->elements[s->nelements++] = *index;
	}
out:
	character_free(c);
	return rc;
}

/* An asset that may have been removed since it was recorded: NULL then,
 * with no error. */
static int asset_if_any(struct catalog *cat, int64_t id, struct asset **out)
{
	*out = id ? catalog_asset_get(cat, id) : NULL;
	if (*out || !id)
		return 0;
	if (error_code() != EX_NOINPUT)
		return -1;
	error_clear();
	return 0;
}

/* What the page says of a take's last check. */
static void take_verdict(const struct take_check *c, struct board_take *k)
{
	struct strbuf fig = STRBUF_INIT;
	for (size_t i = 0; i < c->ncast; i++) {
		const struct take_figure *f = &c->cast[i];
		sb_addf(&fig, "%s@%s", i ? "; " : "", f->character);
		if (*f->look)
			sb_addf(&fig, ".%s", f->look);
		if (strcmp(f->verdict, c->verdict))
			sb_addf(&fig, " %s", f->verdict);
		if (!isnan(f->worst))
			sb_addf(&fig, " %.2f", f->worst);
		if (f->first_drift >= 0)
			sb_addf(&fig, " from %.2fs", f->first_drift);
		if (f->looks_like)
			sb_addf(&fig, ", like @%s", f->looks_like);
	}
	char when[32];
	time_iso8601(c->checked, when);
	k->verdict = xstrdup(c->verdict);
	k->figures = sb_detach(&fig);
	k->checked_with = xasprintf("model %s, threshold %.4g (%s), %s", c->model, c->threshold,
				    c->threshold_from, when);
}

static int gather_shot(struct catalog *cat, struct board *b, const struct shot *from,
		       struct board_shot *s)
{
	s->slug = xstrdup(from->slug);
	s->scene = from->scene;
	s->after = from->after ? xstrdup(from->after) : NULL;
	s->prompt = xstrdup(from->prompt ? from->prompt : "");
	s->aspect = from->aspect ? xstrdup(from->aspect) : NULL;
	s->duration = from->duration;
	s->chain = from->chain;
	s->chosen = from->chosen;
	if (asset_if_any(cat, from->still_id, &s->still) < 0)
		return -1;
	struct inject_span *spans;
	size_t n = inject_mention_spans(s->prompt, &spans);
	int rc = 0;
	s->mentions = xcalloc(n ? n : 1, sizeof(*s->mentions));
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct board_mention *m = &s->mentions[s->nmentions++];
		m->start = spans[i].start;
		m->end = spans[i].end;
		rc = shot_element(cat, b, s, spans[i].slug, spans[i].look, &m->element);
	}
	inject_spans_free(spans, n);
	s->takes = xcalloc(from->ntakes ? from->ntakes : 1, sizeof(*s->takes));
	for (size_t i = 0; i < from->ntakes && rc == 0; i++) {
		const struct shot_take *t = &from->takes[i];
		struct board_take *k = &s->takes[s->ntakes++];
		k->number = t->number;
		k->failed = t->failed;
		k->error = t->error ? xstrdup(t->error) : NULL;
		if (t->check)
			take_verdict(t->check, k);
		rc = asset_if_any(cat, t->failed ? 0 : t->asset_id, &k->video);
	}
	return rc;
}

int board_build(struct catalog *cat, struct board *out)
{
	memset(out, 0, sizeof(*out));
	struct shot **list;
	size_t n;
	if (catalog_shot_list(cat, &list, &n) < 0)
		return -1;
	int rc = 0;
	if (n == 0)
		rc = error_set(EX_DATAERR, "no shots for a board (troupe shot new)");
	out->shots = xcalloc(n ? n : 1, sizeof(*out->shots));
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = gather_shot(cat, out, list[i], &out->shots[out->n++]);
	shot_list_free(list, n);
	return rc;
}

/* ---- the page ---- */

static const char page_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>%s</title>\n<style>\n"
    "body{margin:0;padding:32px;background:#f6f4ef;color:#222226;"
    "font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif}\n"
    "h1{font-size:28px;margin:0 0 4px}\n"
    ".count{color:#6e6e76;margin:0 0 28px}\n"
    ".shot{display:grid;grid-template-columns:300px 1fr;gap:24px;background:#fff;"
    "border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:20px;margin:0 0 24px}\n"
    ".still img,.still .none{display:block;width:300px;height:200px;object-fit:contain;"
    "background:#ecebe6;border-radius:4px}\n"
    ".still .none{display:flex;align-items:center;justify-content:center;color:#6e6e76}\n"
    ".label{font-size:12px;text-transform:uppercase;letter-spacing:.06em;color:#6e6e76;"
    "margin:0 0 4px}\n"
    "h2{font-size:20px;margin:0}\n"
    "h2 .place{display:inline-block;min-width:28px;margin-right:8px;padding:0 6px;"
    "border-radius:4px;background:#222226;color:#fff;text-align:center}\n"
    "h2 .slug{font-family:ui-monospace,monospace}\n"
    ".meta{color:#6e6e76;margin:2px 0 10px}\n"
    ".prompt{font-size:16px;margin:0 0 14px}\n"
    ".mention{font-weight:600;color:#1d4f91}\n.unknown{color:#a3322a}\n"
    ".cast{display:flex;flex-wrap:wrap;gap:16px;margin:0 0 16px}\n"
    ".element{display:flex;gap:6px;align-items:center}\n"
    ".element img{width:56px;height:56px;object-fit:cover;border-radius:4px;"
    "background:#ecebe6}\n"
    ".element .name{font-size:13px;line-height:1.3}\n"
    ".element .kind{display:block;color:#6e6e76}\n"
    ".takes{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:14px}\n"
    ".take{margin:0;border:2px solid #e2e0da;border-radius:6px;overflow:hidden;background:#fff}\n"
    ".take video,.take .none{display:block;width:100%%;height:150px;object-fit:contain;"
    "background:#111}\n"
    ".take .none{display:flex;align-items:center;justify-content:center;color:#ddd;"
    "background:#555;padding:0 8px;box-sizing:border-box;text-align:center}\n"
    ".take figcaption{padding:6px 8px;font-size:13px}\n"
    ".take.chosen{border:3px solid #1f8a4c;box-shadow:0 0 0 3px rgba(31,138,76,.18)}\n"
    ".badge{display:inline-block;margin-left:6px;padding:0 6px;border-radius:3px;"
    "background:#1f8a4c;color:#fff;font-size:12px;font-weight:600}\n"
    ".size{color:#6e6e76}\n"
    ".verdict{display:inline-block;padding:0 6px;border-radius:3px;font-size:12px;"
    "background:#ecebe6;color:#555}\n"
    ".verdict.same{background:#d8f0e0;color:#17603a}\n"
    ".verdict.drifted,.verdict.unreadable{background:#f7dcd9;color:#8a2219}\n"
    ".verdict.no-face{background:#f8ecd0;color:#7a5410}\n"
    ".figures{font-size:12px;color:#555;font-family:ui-monospace,monospace}\n"
    ".empty{color:#6e6e76}\n"
    "</style>\n</head>\n<body>\n";

static void add_prompt(struct strbuf *sb, const struct board *b, const struct board_shot *s)
{
	if (!*s->prompt) {
		sb_adds(sb, "<p class=\"prompt empty\">No prompt.</p>\n");
		return;
	}
	sb_adds(sb, "<p class=\"prompt\">");
	size_t at = 0;
	for (size_t i = 0; i < s->nmentions; i++) {
		const struct board_mention *m = &s->mentions[i];
		char *before = xstrndup(s->prompt + at, m->start - at);
		char *written = xstrndup(s->prompt + m->start, m->end - m->start);
		page_escape(sb, before);
		if (m->element == BOARD_UNKNOWN) {
			sb_adds(sb, "<span class=\"mention unknown\" title=\"unknown element\">");
			page_escape(sb, written);
		} else {
			const struct board_element *e = &b->elements[m->element];
			sb_adds(sb, "<span class=\"mention\" title=\"");
			page_escape(sb, written);
			sb_adds(sb, "\">");
			page_escape(sb, e->name);
			if (*e->look) {
				sb_adds(sb, " (");
				page_escape(sb, e->look);
				sb_adds(sb, ")");
			}
		}
		sb_adds(sb, "</span>");
		free(before);
		free(written);
		at = m->end;
	}
	page_escape(sb, s->prompt + at);
	sb_adds(sb, "</p>\n");
}

static void add_elements(struct strbuf *sb, const struct board *b, const struct board_shot *s)
{
	if (!s->nelements)
		return;
	sb_adds(sb, "<p class=\"label\">References</p>\n<div class=\"cast\">\n");
	for (size_t i = 0; i < s->nelements; i++) {
		const struct board_element *e = &b->elements[s->elements[i]];
		sb_adds(sb, "<div class=\"element\">");
		for (size_t k = 0; k < e->nrefs; k++) {
			sb_addf(sb, "<img src=\"thumbs/%s.jpg\" alt=\"", e->refs[k]->hash);
			page_escape(sb, e->name);
			sb_adds(sb, ", ");
			page_escape(sb, e->refs[k]->role);
			sb_adds(sb, "\">");
		}
		sb_adds(sb, "<span class=\"name\">");
		page_escape(sb, e->name);
		sb_adds(sb, "<span class=\"kind\">");
		page_escape(sb, e->kind);
		if (*e->look) {
			sb_adds(sb, ", look ");
			page_escape(sb, e->look);
		}
		if (!e->nrefs)
			sb_adds(sb, ", no pictures");
		else if (e->more)
			sb_addf(sb, ", %zu more", e->more);
		sb_adds(sb, "</span></span></div>\n");
	}
	sb_adds(sb, "</div>\n");
}

static void add_size(struct strbuf *sb, int64_t bytes)
{
	if (bytes >= 1024 * 1024)
		sb_addf(sb, "%.1f MB", (double)bytes / (1024.0 * 1024.0));
	else
		sb_addf(sb, "%lld KB", (long long)((bytes + 1023) / 1024));
}

static void add_take(struct strbuf *sb, const struct board_shot *s, const struct board_take *t)
{
	bool chosen = t->number == s->chosen && s->chosen;
	sb_addf(sb, "<figure class=\"take%s\" id=\"%s-take-%d\">", chosen ? " chosen" : "", s->slug,
		t->number);
	const struct asset *v = t->video;
	if (v) {
		sb_addf(sb,
			"<video src=\"videos/%s.%s\" poster=\"thumbs/%s.jpg\" controls "
			"preload=\"metadata\" title=\"",
			v->hash, v->format, v->hash);
		page_escape(sb, v->source ? v->source : v->hash);
		sb_adds(sb, "\"></video>");
	} else {
		sb_adds(sb, "<div class=\"none\">");
		if (t->failed) {
			sb_adds(sb, "failed");
			if (t->error) {
				sb_adds(sb, ": ");
				page_escape(sb, t->error);
			}
		} else {
			sb_adds(sb, "its video was removed");
		}
		sb_adds(sb, "</div>");
	}
	sb_addf(sb, "<figcaption><strong>Take %d</strong>", t->number);
	if (chosen)
		sb_adds(sb, "<span class=\"badge\">&#9733; chosen</span>");
	if (v) {
		sb_addf(sb, "<br><span class=\"size\">%.1f s, %dx%d %s, ", v->duration, v->width,
			v->height, v->format);
		add_size(sb, v->bytes);
		sb_adds(sb, "</span><br>");
		if (t->verdict) {
			struct strbuf cls = STRBUF_INIT;
			for (const char *p = t->verdict; *p; p++)
				sb_addc(&cls, *p == ' ' ? '-' : *p);
			sb_adds(sb, "<span class=\"verdict ");
			page_escape(sb, cls.buf);
			sb_adds(sb, "\" title=\"");
			page_escape(sb, t->checked_with);
			sb_adds(sb, "\">");
			page_escape(sb, t->verdict);
			sb_adds(sb, "</span>");
			if (t->figures && *t->figures) {
				sb_adds(sb, " <span class=\"figures\">");
				page_escape(sb, t->figures);
				sb_adds(sb, "</span>");
			}
			sb_release(&cls);
		} else {
			sb_adds(sb, "<span class=\"verdict\">not checked</span>");
		}
	}
	sb_adds(sb, "</figcaption></figure>\n");
}

static void add_shot(struct strbuf *sb, const struct board *b, const struct board_shot *s,
		     size_t place)
{
	sb_addf(sb, "<section class=\"shot\" id=\"shot-%s\">\n<div class=\"still\">", s->slug);
	sb_adds(sb, "<p class=\"label\">Still</p>");
	if (s->still)
		sb_addf(sb, "<img src=\"thumbs/%s.jpg\" alt=\"still of %s\">", s->still->hash,
			s->slug);
	else
		sb_adds(sb, "<div class=\"none\">no still yet</div>");
	sb_addf(sb, "</div>\n<div>\n<h2><span class=\"place\">%zu</span><span class=\"slug\">",
		place);
	page_escape(sb, s->slug);
	sb_addf(sb, "</span></h2>\n<p class=\"meta\">Scene %lld", (long long)s->scene);
	if (s->aspect) {
		sb_adds(sb, " &middot; ");
		page_escape(sb, s->aspect);
	}
	if (s->duration > 0)
		sb_addf(sb, " &middot; %g s", s->duration);
	if (s->after) {
		sb_adds(sb, " &middot; follows ");
		page_escape(sb, s->after);
	}
	if (s->chain)
		sb_adds(sb, " &middot; chained (its first frame is the last of the one before)");
	sb_adds(sb, "</p>\n");
	add_prompt(sb, b, s);
	add_elements(sb, b, s);
	sb_addf(sb, "<p class=\"label\">Takes</p>\n");
	if (!s->ntakes) {
		sb_adds(sb, "<p class=\"empty\">No takes yet.</p>\n");
	} else {
		sb_adds(sb, "<div class=\"takes\">\n");
		for (size_t i = 0; i < s->ntakes; i++)
			add_take(sb, s, &s->takes[i]);
		sb_adds(sb, "</div>\n");
	}
	sb_adds(sb, "</div>\n</section>\n");
}

char *board_html(const struct board *b, const char *title)
{
	struct strbuf sb = STRBUF_INIT, escaped = STRBUF_INIT;
	page_escape(&escaped, title);
	sb_addf(&sb, page_head, escaped.buf);
	sb_addf(&sb, "<h1>%s</h1>\n", escaped.buf);
	sb_release(&escaped);
	size_t takes = 0, chosen = 0;
	for (size_t i = 0; i < b->n; i++) {
		takes += b->shots[i].ntakes;
		chosen += b->shots[i].chosen != 0;
	}
	sb_addf(&sb, "<p class=\"count\">%zu shot%s, %zu take%s, %zu with a chosen take.</p>\n",
		b->n, b->n == 1 ? "" : "s", takes, takes == 1 ? "" : "s", chosen);
	for (size_t i = 0; i < b->n; i++)
		add_shot(&sb, b, &b->shots[i], i + 1);
	sb_adds(&sb, "</body>\n</html>\n");
	return sb_detach(&sb);
}
