/* character: elements (characters, locations, props, styles), their
 * aliases and their tags. A slug is checked before it reaches the index,
 * and every write is one transaction. It never prints. */
#include "config.h"

#include "catalog-int.h"
#include "character.h"
#include "role.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int catalog_slug_check(const char *slug)
{
	size_t len = strlen(slug);
	if (len == 0 || len > 64)
		return error_set(EX_DATAERR, "'%s': a slug has 1 to 64 characters", slug);
	if (strspn(slug, "abcdefghijklmnopqrstuvwxyz0123456789-") != len || slug[0] == '-')
		return error_set(EX_DATAERR,
				 "'%s': a slug is lower-case letters, digits and '-' "
				 "(not starting with '-')",
				 slug);
	return 0;
}

static const char sql_character_tag_add[] =
    "INSERT OR IGNORE INTO character_tags(character_id, tag_id) VALUES (?1, ?2)";
static const char sql_character_tag_remove[] =
    "DELETE FROM character_tags WHERE character_id = ?1 AND tag_id = ?2";

static int aliases_apply(struct catalog *cat, const char *sql, int64_t owner,
			 const struct strlist *aliases)
{
	if (!aliases->n)
		return 0;
	sqlite3_stmt *stmt = db_prepare(cat->db, sql);
	if (!stmt)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < aliases->n && rc == 0; i++) {
		if (text_check("alias", aliases->items[i]) < 0 || !*aliases->items[i]) {
			rc = *aliases->items[i] ? -1 : error_set(EX_DATAERR, "alias: empty");
			break;
		}
		sqlite3_reset(stmt);
		sqlite3_bind_int64(stmt, 1, owner);
		sqlite3_bind_text(stmt, 2, aliases->items[i], -1, SQLITE_STATIC);
		if (sqlite3_step(stmt) == SQLITE_DONE)
			continue;
		if (sqlite3_errcode(cat->db) == SQLITE_CONSTRAINT)
			rc = error_set(EX_DATAERR, "alias '%s' already names another character",
				       aliases->items[i]);
		else
			rc = db_error(cat->db, "alias");
	}
	sqlite3_finalize(stmt);
	return rc;
}

static int character_text_check(const struct character *c)
{
	if (c->name && (text_check("name", c->name) < 0))
		return -1;
	if (c->description && text_check("description", c->description) < 0)
		return -1;
	if (c->negative && text_check("negative prompt", c->negative) < 0)
		return -1;
	return 0;
}

/* The error for a slug that is taken, naming what has it: across kinds
 * too, so "@harbor" can never mean two things. */
static int slug_taken(struct catalog *cat, const char *slug)
{
	sqlite3_stmt *stmt = db_prepare(cat->db, "SELECT kind FROM characters WHERE slug = ?1");
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, slug, -1, SQLITE_STATIC);
	char *kind = sqlite3_step(stmt) == SQLITE_ROW ? catalog_column_text(stmt, 0) : NULL;
	sqlite3_finalize(stmt);
	error_set(EX_DATAERR, "%s: a %s with this slug already exists (a slug names one element)",
		  slug, kind ? kind : "character");
	free(kind);
	return -1;
}

int catalog_character_new(struct catalog *cat, const struct character *c)
{
	const char *kind = c->kind ? c->kind : "character";
	if (catalog_slug_check(c->slug) < 0 || character_text_check(c) < 0)
		return -1;
	if (element_kind_index(kind) < 0)
		return error_set(EX_DATAERR, "'%s': not a kind (character, location, prop, style)",
				 kind);
	if (c->name && !*c->name)
		return error_set(EX_DATAERR, "name: empty");
	if (db_begin(cat->db) < 0)
		return -1;
	int64_t now = time_now();
	sqlite3_stmt *stmt = db_prepare(
	    cat->db, "INSERT INTO characters(slug, name, description, negative, seed, created, "
		     "updated, kind) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)");
	if (!stmt)
		goto fail;
	sqlite3_bind_text(stmt, 1, c->slug, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, c->name ? c->name : c->slug, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, c->description ? c->description : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, c->negative ? c->negative : "", -1, SQLITE_STATIC);
	if (c->has_seed)
		sqlite3_bind_int64(stmt, 5, c->seed);
	sqlite3_bind_int64(stmt, 6, now);
	sqlite3_bind_text(stmt, 7, kind, -1, SQLITE_STATIC);
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		if (sqlite3_errcode(cat->db) == SQLITE_CONSTRAINT)
			slug_taken(cat, c->slug);
		else
			db_error(cat->db, c->slug);
		goto fail;
	}
	sqlite3_finalize(stmt);
	stmt = NULL;
	int64_t id = sqlite3_last_insert_rowid(cat->db);
	if (catalog_tags_apply(cat, sql_character_tag_add, id, &c->tags, true) < 0 ||
	    aliases_apply(cat,
			  "INSERT OR IGNORE INTO character_aliases(character_id, alias) "
			  "VALUES (?1, ?2)",
			  id, &c->aliases) < 0 ||
	    db_commit(cat->db) < 0)
		goto fail;
	return 0;
fail:
	sqlite3_finalize(stmt);
	db_rollback(cat->db);
	return -1;
}

static const char sql_character_select[] =
    "SELECT c.id, c.slug, c.name, c.description, c.negative, c.seed, c.created, c.updated, "
    "(SELECT count(*) FROM assets a WHERE a.character_id = c.id), c.kind FROM characters c ";

static int character_fill_lists(struct catalog *cat, struct character *c)
{
	if (catalog_strings(cat,
			    "SELECT CASE g.ns WHEN '' THEN g.value ELSE g.ns || ':' || g.value END "
			    "FROM character_tags ct JOIN tags g ON g.id = ct.tag_id "
			    "WHERE ct.character_id = ?1 ORDER BY g.ns, g.value",
			    c->id, &c->tags) < 0)
		return -1;
	return catalog_strings(cat,
			       "SELECT alias FROM character_aliases WHERE character_id = ?1 "
			       "ORDER BY alias",
			       c->id, &c->aliases);
}

static struct character *character_from_row(sqlite3_stmt *stmt)
{
	struct character *c = xcalloc(1, sizeof(*c));
	c->id = sqlite3_column_int64(stmt, 0);
	c->slug = catalog_column_text(stmt, 1);
	c->name = catalog_column_text(stmt, 2);
	c->description = catalog_column_text(stmt, 3);
	c->negative = catalog_column_text(stmt, 4);
	c->has_seed = sqlite3_column_type(stmt, 5) != SQLITE_NULL;
	c->seed = sqlite3_column_int64(stmt, 5);
	c->created = sqlite3_column_int64(stmt, 6);
	c->updated = sqlite3_column_int64(stmt, 7);
	c->assets = sqlite3_column_int64(stmt, 8);
	c->kind = catalog_column_text(stmt, 9);
	return c;
}

void character_free(struct character *c)
{
	if (!c)
		return;
	free(c->slug);
	free(c->kind);
	free(c->name);
	free(c->description);
	free(c->negative);
	strlist_clear(&c->tags);
	strlist_clear(&c->aliases);
	free(c);
}

struct character *catalog_character_get(struct catalog *cat, const char *slug)
{
	struct strbuf sql = STRBUF_INIT;
	sb_adds(&sql, sql_character_select);
	sb_adds(&sql, "WHERE c.slug = ?1 OR c.id = (SELECT character_id FROM character_aliases "
		      "WHERE alias = ?1 LIMIT 1) ORDER BY c.slug = ?1 DESC LIMIT 1");
	sqlite3_stmt *stmt = catalog_stmt_get(cat, sql.buf);
	sb_release(&sql);
	if (!stmt)
		return NULL;
	sqlite3_bind_text(stmt, 1, slug, -1, SQLITE_STATIC);
	struct character *c = NULL;
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		c = character_from_row(stmt);
	else if (rc == SQLITE_DONE)
		error_set(EX_NOINPUT, "%s: unknown character (see 'troupe character list')", slug);
	else
		db_error(cat->db, slug);
	catalog_stmt_put(cat, stmt);
	if (c && character_fill_lists(cat, c) < 0) {
		character_free(c);
		return NULL;
	}
	return c;
}

struct character *catalog_element_get(struct catalog *cat, const char *slug, const char *kind)
{
	struct character *c = catalog_character_get(cat, slug);
	if (!c) {
		if (error_code() == EX_NOINPUT)
			error_set(EX_NOINPUT, "%s: unknown %s (see 'troupe %s list')", slug, kind,
				  kind);
		return NULL;
	}
	if (strcmp(c->kind, kind) != 0) {
		error_set(EX_DATAERR, "%s is a %s, not a %s (see 'troupe %s show %s')", slug,
			  c->kind, kind, c->kind, c->slug);
		character_free(c);
		return NULL;
	}
	return c;
}

int catalog_character_list(struct catalog *cat, const char *kind, struct character ***out,
			   size_t *n)
{
	*out = NULL;
	*n = 0;
	struct strbuf sql = STRBUF_INIT;
	sb_adds(&sql, sql_character_select);
	sb_adds(&sql, "WHERE ?1 IS NULL OR c.kind = ?1 ORDER BY c.slug");
	sqlite3_stmt *stmt = db_prepare(cat->db, sql.buf);
	sb_release(&sql);
	if (!stmt)
		return -1;
	if (kind)
		sqlite3_bind_text(stmt, 1, kind, -1, SQLITE_STATIC);
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		*out = xrealloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = character_from_row(stmt);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return db_error(cat->db, "characters");
	for (size_t i = 0; i < *n; i++)
		if (character_fill_lists(cat, (*out)[i]) < 0)
			return -1;
	return 0;
}

static int update_text(struct catalog *cat, int64_t id, const char *sql, const char *value)
{
	sqlite3_stmt *stmt = db_prepare(cat->db, sql);
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	if (value)
		sqlite3_bind_text(stmt, 2, value, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : -1;
	if (rc < 0) {
		if (sqlite3_errcode(cat->db) == SQLITE_CONSTRAINT && value)
			slug_taken(cat, value);
		else
			db_error(cat->db, "character");
	}
	sqlite3_finalize(stmt);
	return rc;
}

int catalog_character_edit(struct catalog *cat, const char *slug, const struct character_edit *e)
{
	struct character probe = {.name = (char *)e->name,
				  .description = (char *)e->description,
				  .negative = (char *)e->negative};
	if (character_text_check(&probe) < 0)
		return -1;
	if (e->name && !*e->name)
		return error_set(EX_DATAERR, "name: empty");
	if (e->slug && catalog_slug_check(e->slug) < 0)
		return -1;
	if (db_begin(cat->db) < 0)
		return -1;
	struct character *c = catalog_character_get(cat, slug);
	if (!c)
		goto fail;
	int64_t id = c->id;
	character_free(c);
	if ((e->slug &&
	     update_text(cat, id, "UPDATE characters SET slug = ?2 WHERE id = ?1", e->slug) < 0) ||
	    (e->name &&
	     update_text(cat, id, "UPDATE characters SET name = ?2 WHERE id = ?1", e->name) < 0) ||
	    (e->description &&
	     update_text(cat, id, "UPDATE characters SET description = ?2 WHERE id = ?1",
			 e->description) < 0) ||
	    (e->negative &&
	     update_text(cat, id, "UPDATE characters SET negative = ?2 WHERE id = ?1",
			 e->negative) < 0) ||
	    (e->clear_seed &&
	     update_text(cat, id, "UPDATE characters SET seed = NULL WHERE id = ?1", NULL) < 0))
		goto fail;
	if (e->set_seed) {
		char seed[32];
		snprintf(seed, sizeof(seed), "%lld", (long long)e->seed);
		if (update_text(cat, id,
				"UPDATE characters SET seed = CAST(?2 AS INTEGER) WHERE id = ?1",
				seed) < 0)
			goto fail;
	}
	char now[32];
	snprintf(now, sizeof(now), "%lld", (long long)time_now());
	if (catalog_tags_apply(cat, sql_character_tag_add, id, &e->add_tags, true) < 0 ||
	    catalog_tags_apply(cat, sql_character_tag_remove, id, &e->remove_tags, false) < 0 ||
	    aliases_apply(cat,
			  "INSERT OR IGNORE INTO character_aliases(character_id, alias) "
			  "VALUES (?1, ?2)",
			  id, &e->add_aliases) < 0 ||
	    aliases_apply(cat,
			  "DELETE FROM character_aliases WHERE character_id = ?1 AND alias = ?2",
			  id, &e->remove_aliases) < 0 ||
	    update_text(cat, id,
			"UPDATE characters SET updated = CAST(?2 AS INTEGER) WHERE id = ?1",
			now) < 0 ||
	    db_commit(cat->db) < 0)
		goto fail;
	return 0;
fail:
	db_rollback(cat->db);
	return -1;
}

char *catalog_character_slug(struct catalog *cat, const char *slug_or_alias)
{
	struct character *c = catalog_character_get(cat, slug_or_alias);
	if (!c)
		return NULL;
	char *slug = xstrdup(c->slug);
	character_free(c);
	return slug;
}

int catalog_character_rm(struct catalog *cat, const char *slug, bool force, int64_t *removed)
{
	*removed = 0;
	if (db_begin(cat->db) < 0)
		return -1;
	struct character *c = catalog_character_get(cat, slug);
	if (!c)
		goto fail;
	int64_t id = c->id, count = c->assets;
	char *real_slug = xstrdup(c->slug);
	character_free(c);
	if (count > 0 && !force) {
		error_set(EX_DATAERR,
			  "%s: %lld asset%s belong to this character (use --force to "
			  "remove them too)",
			  real_slug, (long long)count, count == 1 ? "" : "s");
		free(real_slug);
		goto fail;
	}
	free(real_slug);
	if (update_text(cat, id, "DELETE FROM assets WHERE character_id = ?1", NULL) < 0 ||
	    update_text(cat, id, "DELETE FROM characters WHERE id = ?1", NULL) < 0 ||
	    db_commit(cat->db) < 0)
		goto fail;
	*removed = count;
	return 0;
fail:
	db_rollback(cat->db);
	return -1;
}
