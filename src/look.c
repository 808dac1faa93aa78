/* look: characters' looks. A look belongs to one character of kind
 * character, its name is checked as a slug is (a mention writes it after
 * a '.'), and every write is one statement or one transaction. It never
 * prints. */
#include "config.h"

#include "catalog-int.h"
#include "character.h"
#include "look.h"

#include <stdlib.h>
#include <string.h>

static const char sql_look_select[] =
    "SELECT l.id, c.slug, l.name, l.description, l.negative, l.created, "
    "(SELECT count(*) FROM assets a JOIN asset_tags at ON at.asset_id = a.id "
    "JOIN tags g ON g.id = at.tag_id WHERE a.character_id = l.character_id "
    "AND g.ns = 'look' AND g.value = l.name) "
    "FROM looks l JOIN characters c ON c.id = l.character_id ";

void look_free(struct look *l)
{
	if (!l)
		return;
	free(l->character);
	free(l->name);
	free(l->description);
	free(l->negative);
	free(l);
}

static struct look *look_from_row(sqlite3_stmt *stmt)
{
	struct look *l = xcalloc(1, sizeof(*l));
	l->id = sqlite3_column_int64(stmt, 0);
	l->character = catalog_column_text(stmt, 1);
	l->name = catalog_column_text(stmt, 2);
	l->description = catalog_column_text(stmt, 3);
	l->negative = catalog_column_text(stmt, 4);
	l->created = sqlite3_column_int64(stmt, 5);
	l->assets = sqlite3_column_int64(stmt, 6);
	return l;
}

static int look_name_check(const char *name)
{
	if (catalog_slug_check(name) < 0) {
		error_prefix("look");
		return -1;
	}
	return 0;
}

int catalog_look_new(struct catalog *cat, const char *character, const struct look *l)
{
	if (look_name_check(l->name) < 0 ||
	    (l->description && text_check("description", l->description) < 0) ||
	    (l->negative && text_check("negative prompt", l->negative) < 0))
		return -1;
	struct character *c = catalog_element_get(cat, character, "character");
	if (!c)
		return -1;
	sqlite3_stmt *stmt =
	    db_prepare(cat->db, "INSERT INTO looks(character_id, name, description, "
				"negative, created) VALUES (?1, ?2, ?3, ?4, ?5)");
	int rc = -1;
	if (!stmt)
		goto out;
	sqlite3_bind_int64(stmt, 1, c->id);
	sqlite3_bind_text(stmt, 2, l->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, l->description ? l->description : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, l->negative ? l->negative : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, time_now());
	if (sqlite3_step(stmt) == SQLITE_DONE)
		rc = 0;
	else if (sqlite3_errcode(cat->db) == SQLITE_CONSTRAINT)
		error_set(EX_DATAERR, "%s already has a look '%s'", c->slug, l->name);
	else
		db_error(cat->db, "look");
out:
	sqlite3_finalize(stmt);
	character_free(c);
	return rc;
}

struct look *catalog_look_get(struct catalog *cat, const char *character, const char *name)
{
	struct character *c = catalog_element_get(cat, character, "character");
	if (!c)
		return NULL;
	struct strbuf sql = STRBUF_INIT;
	sb_adds(&sql, sql_look_select);
	sb_adds(&sql, "WHERE l.character_id = ?1 AND l.name = ?2");
	sqlite3_stmt *stmt = catalog_stmt_get(cat, sql.buf);
	sb_release(&sql);
	struct look *l = NULL;
	if (!stmt)
		goto out;
	sqlite3_bind_int64(stmt, 1, c->id);
	sqlite3_bind_text(stmt, 2, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		l = look_from_row(stmt);
	else if (rc == SQLITE_DONE)
		error_set(EX_NOINPUT, "%s has no look '%s' (see 'troupe look list %s')", c->slug,
			  name, c->slug);
	else
		db_error(cat->db, "look");
	catalog_stmt_put(cat, stmt);
out:
	character_free(c);
	return l;
}

int catalog_look_list(struct catalog *cat, const char *character, struct look ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	int64_t id = 0;
	if (character) {
		struct character *c = catalog_element_get(cat, character, "character");
		if (!c)
			return -1;
		id = c->id;
		character_free(c);
	}
	struct strbuf sql = STRBUF_INIT;
	sb_adds(&sql, sql_look_select);
	sb_adds(&sql, "WHERE ?1 = 0 OR l.character_id = ?1 ORDER BY c.slug, l.name");
	sqlite3_stmt *stmt = db_prepare(cat->db, sql.buf);
	sb_release(&sql);
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		*out = xrealloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = look_from_row(stmt);
	}
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : db_error(cat->db, "looks");
}

int catalog_look_rm(struct catalog *cat, const char *character, const char *name)
{
	struct look *l = catalog_look_get(cat, character, name);
	if (!l)
		return -1;
	sqlite3_stmt *stmt = db_prepare(cat->db, "DELETE FROM looks WHERE id = ?1");
	int rc = -1;
	if (stmt) {
		sqlite3_bind_int64(stmt, 1, l->id);
		rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : db_error(cat->db, "look");
	}
	sqlite3_finalize(stmt);
	look_free(l);
	return rc;
}

int catalog_look_tagged(struct catalog *cat, int64_t character_id, const char *name)
{
	sqlite3_stmt *stmt = catalog_stmt_get(
	    cat, "SELECT EXISTS (SELECT 1 FROM tags g WHERE g.ns = 'look' AND g.value = ?2 AND "
		 "(g.id IN (SELECT tag_id FROM character_tags WHERE character_id = ?1) OR "
		 "g.id IN (SELECT at.tag_id FROM asset_tags at JOIN assets a ON a.id = "
		 "at.asset_id WHERE a.character_id = ?1)))");
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, character_id);
	sqlite3_bind_text(stmt, 2, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int(stmt, 0)
						  : db_error(cat->db, "look");
	catalog_stmt_put(cat, stmt);
	return rc;
}
