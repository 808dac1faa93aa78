/* catalog: characters, assets and tags. Every write is one transaction,
 * and a row never names a blob that is not already durable in the store.
 * User text reaches SQLite only as bound parameters. */
#include "config.h"

#include "catalog.h"
#include "db.h"
#include "phash.h"
#include "vector.h"
#include "query.h"
#include "util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Statements the lookups that one command repeats (a character per
 * mention, a blob and a derivative per reference) keep prepared: parsing
 * the SQL costs more than running it. */
enum { STMT_CACHE = 16 };

struct cached_stmt {
	char *sql;
	sqlite3_stmt *stmt;
	bool in_use;
};

struct catalog {
	struct store *store;
	sqlite3 *db;
	struct cached_stmt cache[STMT_CACHE];
};

/* A prepared statement for sql, from the cache when it is there and free;
 * hand it back with stmt_put(). A statement already in use (a caller up
 * the stack is stepping it) or a full cache gives a fresh one. */
static sqlite3_stmt *stmt_get(struct catalog *cat, const char *sql)
{
	struct cached_stmt *slot = NULL;
	for (size_t i = 0; i < STMT_CACHE; i++) {
		struct cached_stmt *c = &cat->cache[i];
		if (c->sql && !c->in_use && strcmp(c->sql, sql) == 0) {
			c->in_use = true;
			return c->stmt;
		}
		if (!c->sql && !slot)
			slot = c;
	}
	sqlite3_stmt *stmt = db_prepare(cat->db, sql);
	if (stmt && slot) {
		slot->sql = xstrdup(sql);
		slot->stmt = stmt;
		slot->in_use = true;
	}
	return stmt;
}

static void stmt_put(struct catalog *cat, sqlite3_stmt *stmt)
{
	if (!stmt)
		return;
	for (size_t i = 0; i < STMT_CACHE; i++) {
		if (cat->cache[i].stmt == stmt) {
			sqlite3_reset(stmt);
			sqlite3_clear_bindings(stmt);
			cat->cache[i].in_use = false;
			return;
		}
	}
	sqlite3_finalize(stmt);
}

const char *const catalog_roles[] = {"sheet",	  "face",      "turnaround", "expression",
				     "costume",	  "pose",      "prop",	     "location",
				     "reference", "generated", NULL};

static char *column_text(sqlite3_stmt *stmt, int i)
{
	const unsigned char *t = sqlite3_column_text(stmt, i);
	return t ? xstrdup((const char *)t) : NULL;
}

struct catalog *catalog_open(const char *dir)
{
	struct store *st = store_open(dir);
	if (!st)
		return NULL;
	sqlite3 *db = db_open(store_db_path(st), false);
	if (!db) {
		store_free(st);
		return NULL;
	}
	struct catalog *cat = xcalloc(1, sizeof(*cat));
	cat->store = st;
	cat->db = db;
	return cat;
}

int catalog_create(const char *dir, bool *existed)
{
	if (store_create(dir, existed) < 0)
		return -1;
	char *path = xasprintf("%s/troupe.db", dir);
	sqlite3 *db = db_open(path, true);
	free(path);
	if (!db)
		return -1;
	db_close(db);
	return 0;
}

void catalog_close(struct catalog *cat)
{
	if (!cat)
		return;
	for (size_t i = 0; i < STMT_CACHE; i++) {
		sqlite3_finalize(cat->cache[i].stmt);
		free(cat->cache[i].sql);
	}
	db_close(cat->db);
	store_free(cat->store);
	free(cat);
}

const char *catalog_root(const struct catalog *cat)
{
	return store_root(cat->store);
}

bool catalog_role_valid(const char *role)
{
	for (const char *const *r = catalog_roles; *r; r++)
		if (strcmp(*r, role) == 0)
			return true;
	return false;
}

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

/* Normalises a tag and refuses the reserved namespaces; *text is the
 * normalised "ns:value" (or "value"), the caller's to free. */
static int tag_normalise(const char *in, char **ns, char **value)
{
	if (tag_parse(in, ns, value) < 0)
		return -1;
	for (const char *const *r = query_fields; *r; r++) {
		if (strcmp(*ns, *r) == 0) {
			error_set(EX_DATAERR, "tag '%s': the namespace '%s' is a query field", in,
				  *r);
			free(*ns);
			free(*value);
			return -1;
		}
	}
	return 0;
}

static int64_t tag_id(struct catalog *cat, const char *text, bool create)
{
	char *ns, *value;
	if (tag_normalise(text, &ns, &value) < 0)
		return -1;
	int64_t id = 0;
	sqlite3_stmt *stmt = NULL;
	if (create) {
		stmt = db_prepare(cat->db, "INSERT INTO tags(ns, value) VALUES (?1, ?2) "
					   "ON CONFLICT DO NOTHING");
		if (!stmt)
			goto fail;
		sqlite3_bind_text(stmt, 1, ns, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 2, value, -1, SQLITE_STATIC);
		if (sqlite3_step(stmt) != SQLITE_DONE) {
			db_error(cat->db, "tag");
			goto fail;
		}
		sqlite3_finalize(stmt);
	}
	stmt = db_prepare(cat->db, "SELECT id FROM tags WHERE ns = ?1 AND value = ?2");
	if (!stmt)
		goto fail;
	sqlite3_bind_text(stmt, 1, ns, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, value, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		id = sqlite3_column_int64(stmt, 0);
	else if (rc != SQLITE_DONE) {
		db_error(cat->db, "tag");
		goto fail;
	}
	sqlite3_finalize(stmt);
	free(ns);
	free(value);
	return id;
fail:
	sqlite3_finalize(stmt);
	free(ns);
	free(value);
	return -1;
}

/* Runs "INSERT/DELETE ... (?1 owner, ?2 tag)" for each tag of a list. */
static int tags_apply(struct catalog *cat, const char *sql, int64_t owner,
		      const struct strlist *tags, bool create)
{
	if (!tags || !tags->n)
		return 0;
	sqlite3_stmt *stmt = db_prepare(cat->db, sql);
	if (!stmt)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < tags->n && rc == 0; i++) {
		int64_t id = tag_id(cat, tags->items[i], create);
		if (id < 0) {
			rc = -1;
			break;
		}
		if (id == 0)
			continue; /* removing a tag nobody has */
		sqlite3_reset(stmt);
		sqlite3_bind_int64(stmt, 1, owner);
		sqlite3_bind_int64(stmt, 2, id);
		if (sqlite3_step(stmt) != SQLITE_DONE)
			rc = db_error(cat->db, "tag");
	}
	sqlite3_finalize(stmt);
	return rc;
}

static const char sql_character_tag_add[] =
    "INSERT OR IGNORE INTO character_tags(character_id, tag_id) VALUES (?1, ?2)";
static const char sql_character_tag_remove[] =
    "DELETE FROM character_tags WHERE character_id = ?1 AND tag_id = ?2";
static const char sql_asset_tag_add[] =
    "INSERT OR IGNORE INTO asset_tags(asset_id, tag_id) VALUES (?1, ?2)";
static const char sql_asset_tag_remove[] =
    "DELETE FROM asset_tags WHERE asset_id = ?1 AND tag_id = ?2";

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

int catalog_character_new(struct catalog *cat, const struct character *c)
{
	if (catalog_slug_check(c->slug) < 0 || character_text_check(c) < 0)
		return -1;
	if (c->name && !*c->name)
		return error_set(EX_DATAERR, "name: empty");
	if (db_begin(cat->db) < 0)
		return -1;
	int64_t now = time_now();
	sqlite3_stmt *stmt = db_prepare(
	    cat->db, "INSERT INTO characters(slug, name, description, negative, seed, created, "
		     "updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)");
	if (!stmt)
		goto fail;
	sqlite3_bind_text(stmt, 1, c->slug, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, c->name ? c->name : c->slug, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, c->description ? c->description : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, c->negative ? c->negative : "", -1, SQLITE_STATIC);
	if (c->has_seed)
		sqlite3_bind_int64(stmt, 5, c->seed);
	sqlite3_bind_int64(stmt, 6, now);
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		if (sqlite3_errcode(cat->db) == SQLITE_CONSTRAINT)
			error_set(EX_DATAERR, "%s: a character with this slug already exists",
				  c->slug);
		else
			db_error(cat->db, c->slug);
		goto fail;
	}
	sqlite3_finalize(stmt);
	stmt = NULL;
	int64_t id = sqlite3_last_insert_rowid(cat->db);
	if (tags_apply(cat, sql_character_tag_add, id, &c->tags, true) < 0 ||
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
    "(SELECT count(*) FROM assets a WHERE a.character_id = c.id) FROM characters c ";

static int character_fill_lists(struct catalog *cat, struct character *c)
{
	sqlite3_stmt *stmt =
	    stmt_get(cat, "SELECT CASE g.ns WHEN '' THEN g.value ELSE g.ns || ':' || g.value END "
			  "FROM character_tags ct JOIN tags g ON g.id = ct.tag_id "
			  "WHERE ct.character_id = ?1 ORDER BY g.ns, g.value");
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, c->id);
	while (sqlite3_step(stmt) == SQLITE_ROW)
		strlist_push(&c->tags, (const char *)sqlite3_column_text(stmt, 0));
	stmt_put(cat, stmt);
	stmt = stmt_get(cat, "SELECT alias FROM character_aliases WHERE character_id = ?1 "
			     "ORDER BY alias");
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, c->id);
	while (sqlite3_step(stmt) == SQLITE_ROW)
		strlist_push(&c->aliases, (const char *)sqlite3_column_text(stmt, 0));
	stmt_put(cat, stmt);
	return 0;
}

static struct character *character_from_row(sqlite3_stmt *stmt)
{
	struct character *c = xcalloc(1, sizeof(*c));
	c->id = sqlite3_column_int64(stmt, 0);
	c->slug = column_text(stmt, 1);
	c->name = column_text(stmt, 2);
	c->description = column_text(stmt, 3);
	c->negative = column_text(stmt, 4);
	c->has_seed = sqlite3_column_type(stmt, 5) != SQLITE_NULL;
	c->seed = sqlite3_column_int64(stmt, 5);
	c->created = sqlite3_column_int64(stmt, 6);
	c->updated = sqlite3_column_int64(stmt, 7);
	c->assets = sqlite3_column_int64(stmt, 8);
	return c;
}

void character_free(struct character *c)
{
	if (!c)
		return;
	free(c->slug);
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
	sqlite3_stmt *stmt = stmt_get(cat, sql.buf);
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
	stmt_put(cat, stmt);
	if (c && character_fill_lists(cat, c) < 0) {
		character_free(c);
		return NULL;
	}
	return c;
}

int catalog_character_list(struct catalog *cat, struct character ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	struct strbuf sql = STRBUF_INIT;
	sb_adds(&sql, sql_character_select);
	sb_adds(&sql, "ORDER BY c.slug");
	sqlite3_stmt *stmt = db_prepare(cat->db, sql.buf);
	sb_release(&sql);
	if (!stmt)
		return -1;
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
		if (sqlite3_errcode(cat->db) == SQLITE_CONSTRAINT)
			error_set(EX_DATAERR, "%s: a character with this slug already exists",
				  value ? value : "");
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
	if (tags_apply(cat, sql_character_tag_add, id, &e->add_tags, true) < 0 ||
	    tags_apply(cat, sql_character_tag_remove, id, &e->remove_tags, false) < 0 ||
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

/* ---- adding files ---- */

struct add_item {
	char *path;
	struct image_info info;
	struct store_staged staged;
	struct store_staged thumb; /* staged only when the blob had none */
	int thumb_width;
	int thumb_height;
	bool has_thumb;
	uint64_t phash;
	int64_t asset_id;
	bool existed;
};

/* The image work for one file, done ahead by catalog_add_prepare. */
struct prepared {
	const char *path; /* borrowed from the caller */
	bool known;	  /* its bytes are stored with a thumbnail: no decode */
	int rc;
	int code;
	char *error;
	struct image_info info;
	struct image_buffer thumb;
	uint64_t phash;
};

struct add_batch {
	struct prepared *prep;
	size_t nprep, cursor;
	int64_t request_id;  /* outputs of this request, or 0 */
	struct strlist urls; /* where each output came from */
	struct catalog *cat;
	int64_t character_id; /* 0: none */
	char *role;
	struct strlist tags;
	struct add_item *items;
	size_t n;
};

struct add_batch *catalog_add_begin(struct catalog *cat, const char *slug, const char *role,
				    const struct strlist *tags)
{
	if (!catalog_role_valid(role)) {
		error_set(EX_USAGE,
			  "--role %s: not a role (sheet, face, turnaround, expression, "
			  "costume, pose, prop, location, reference, generated)",
			  role);
		return NULL;
	}
	int64_t character_id = 0;
	if (slug) {
		struct character *c = catalog_character_get(cat, slug);
		if (!c)
			return NULL;
		character_id = c->id;
		character_free(c);
	}
	for (size_t i = 0; tags && i < tags->n; i++) {
		char *ns, *value;
		if (tag_normalise(tags->items[i], &ns, &value) < 0)
			return NULL;
		free(ns);
		free(value);
	}
	struct add_batch *b = xcalloc(1, sizeof(*b));
	b->cat = cat;
	b->character_id = character_id;
	b->role = xstrdup(role);
	for (size_t i = 0; tags && i < tags->n; i++)
		strlist_push(&b->tags, tags->items[i]);
	return b;
}

/* 1 when the blob with this hash already has a thumbnail row. */
static int blob_has_thumbnail(struct catalog *cat, const char *hash)
{
	sqlite3_stmt *stmt = stmt_get(cat, "SELECT 1 FROM blobs b JOIN thumbnails t ON "
					   "t.blob_id = b.id WHERE b.hash = ?1");
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, hash, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	stmt_put(cat, stmt);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : db_error(cat->db, "thumbnail");
}

/* Decodes the picture once, at reduced size, for its thumbnail and pHash,
 * and stages the thumbnail. */
static int stage_thumbnail(struct store *st, const char *path, struct store_staged *thumb,
			   int *width, int *height, uint64_t *phash)
{
	struct image_buffer buf;
	if (image_thumbnail(path, IMAGE_THUMB_SIDE, &buf, phash) < 0)
		return -1;
	int rc = store_stage_buffer(st, buf.data, buf.len, thumb);
	*width = buf.width;
	*height = buf.height;
	image_buffer_clear(&buf);
	return rc;
}

static void prepare_one(struct prepared *p)
{
	p->rc = image_probe(p->path, &p->info);
	if (p->rc == 0 && !p->known)
		p->rc = image_thumbnail(p->path, IMAGE_THUMB_SIDE, &p->thumb, &p->phash);
	if (p->rc < 0) {
		p->code = error_code();
		p->error = xstrdup(error_message());
	}
}

struct prepare_pool {
	struct prepared *items;
	size_t n;
	atomic_size_t next;
	atomic_size_t done;
};

static void *prepare_worker(void *arg)
{
	struct prepare_pool *pool = arg;
	for (;;) {
		size_t i = atomic_fetch_add(&pool->next, 1);
		if (i >= pool->n)
			break;
		prepare_one(&pool->items[i]);
		atomic_fetch_add(&pool->done, 1);
	}
	error_release();
	return NULL;
}

void catalog_add_prepare(struct add_batch *b, char *const *paths, size_t n,
			 void (*tick)(size_t done, void *ctx), void *ctx)
{
	if (!n)
		return;
	b->prep = xcalloc(n, sizeof(*b->prep));
	b->nprep = n;
	b->cursor = 0;
	for (size_t i = 0; i < n; i++)
		b->prep[i].path = paths[i];
	/* Bytes already stored with a thumbnail are not decoded again (adding
	 * a folder anew after a few files joined it); hashing is a small part
	 * of a decode, and a store with no thumbnail yet skips even that. */
	sqlite3_stmt *any = stmt_get(b->cat, "SELECT 1 FROM thumbnails LIMIT 1");
	bool some = any && sqlite3_step(any) == SQLITE_ROW;
	stmt_put(b->cat, any);
	for (size_t i = 0; some && i < n; i++) {
		char hex[STORE_HASH_HEX + 1];
		b->prep[i].known = store_hash_file(paths[i], hex) == 0 &&
				   blob_has_thumbnail(b->cat, hex) == 1;
	}
	/* The first file on this thread: it loads the image module and starts
	 * libvips, which must happen once, before any worker runs. */
	prepare_one(&b->prep[0]);
	struct prepare_pool pool = {b->prep, n, 1, 1};
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t workers = cpus > 1 ? (size_t)(cpus < 8 ? cpus : 8) - 1 : 0;
	pthread_t *threads = xcalloc(workers ? workers : 1, sizeof(pthread_t));
	size_t started = 0;
	for (size_t i = 0; i < workers && n > 1; i++)
		if (pthread_create(&threads[started], NULL, prepare_worker, &pool) == 0)
			started++;
	/* This thread works too, and reports progress between pictures. */
	for (;;) {
		size_t i = atomic_fetch_add(&pool.next, 1);
		if (i >= n)
			break;
		prepare_one(&b->prep[i]);
		atomic_fetch_add(&pool.done, 1);
		if (tick)
			tick(atomic_load(&pool.done), ctx);
	}
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	if (tick)
		tick(n, ctx);
}

int catalog_add_file(struct add_batch *b, const char *path)
{
	struct add_item item = {0};
	struct prepared *ready = NULL;
	if (b->cursor < b->nprep && strcmp(b->prep[b->cursor].path, path) == 0)
		ready = &b->prep[b->cursor++];
	if (ready && ready->rc < 0) {
		error_set(ready->code, "%s", ready->error);
		return error_prefix("%s", path);
	}
	if (ready)
		item.info = ready->info;
	else if (image_probe(path, &item.info) < 0)
		return error_prefix("%s", path);
	if (store_stage_file(b->cat->store, path, &item.staged) < 0)
		return -1;
	int has = item.staged.present ? blob_has_thumbnail(b->cat, item.staged.hash) : 0;
	if (has < 0) {
		store_staged_discard(&item.staged);
		return -1;
	}
	if (!has && ready && !ready->known) {
		if (store_stage_buffer(b->cat->store, ready->thumb.data, ready->thumb.len,
				       &item.thumb) < 0) {
			store_staged_discard(&item.staged);
			return -1;
		}
		item.thumb_width = ready->thumb.width;
		item.thumb_height = ready->thumb.height;
		item.phash = ready->phash;
		item.has_thumb = true;
	} else if (!has) {
		if (stage_thumbnail(b->cat->store, path, &item.thumb, &item.thumb_width,
				    &item.thumb_height, &item.phash) < 0) {
			store_staged_discard(&item.staged);
			return error_prefix("%s", path);
		}
		item.has_thumb = true;
	}
	if (ready)
		image_buffer_clear(&ready->thumb);
	item.path = xstrdup(path);
	b->items = xrealloc(b->items, (b->n + 1) * sizeof(*b->items));
	b->items[b->n++] = item;
	return 0;
}

bool catalog_format_is_video(const char *format)
{
	return format &&
	       (!strcmp(format, "mp4") || !strcmp(format, "mov") || !strcmp(format, "webm"));
}

int catalog_add_video(struct add_batch *b, const char *path)
{
	unsigned char head[12] = {0};
	FILE *f = fopen(path, "rb");
	size_t got = f ? fread(head, 1, sizeof(head), f) : 0;
	if (f)
		fclose(f);
	const char *format = NULL;
	if (got == sizeof(head) && memcmp(head + 4, "ftyp", 4) == 0)
		format = memcmp(head + 8, "qt  ", 4) == 0 ? "mov" : "mp4";
	else if (got >= 4 && head[0] == 0x1A && head[1] == 0x45 && head[2] == 0xDF &&
		 head[3] == 0xA3)
		format = "webm";
	if (!format)
		return error_set(EX_DATAERR, "%s: not a video (MP4, QuickTime or WebM)", path);
	struct add_item item = {0};
	snprintf(item.info.format, sizeof(item.info.format), "%s", format);
	if (store_stage_file(b->cat->store, path, &item.staged) < 0)
		return -1;
	item.path = xstrdup(path);
	b->items = xrealloc(b->items, (b->n + 1) * sizeof(*b->items));
	b->items[b->n++] = item;
	return 0;
}

void catalog_add_link_request(struct add_batch *b, int64_t request_id, const struct strlist *urls)
{
	b->request_id = request_id;
	for (size_t i = 0; urls && i < urls->n; i++)
		strlist_push(&b->urls, urls->items[i]);
}

size_t catalog_add_count(const struct add_batch *b)
{
	return b->n;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* Inserts a blob row, or finds the one there; a source picture's pHash is
 * filled in when the row had none. Returns the row id, or -1. */
static int64_t blob_upsert(struct catalog *cat, const char *hash, int64_t bytes,
			   const uint64_t *phash)
{
	sqlite3_stmt *ins = db_prepare(
	    cat->db, "INSERT INTO blobs(hash, bytes, added, phash) VALUES (?1, ?2, ?3, ?4) "
		     "ON CONFLICT(hash) DO UPDATE SET phash = excluded.phash "
		     "WHERE blobs.phash IS NULL AND excluded.phash IS NOT NULL");
	sqlite3_stmt *sel = db_prepare(cat->db, "SELECT id FROM blobs WHERE hash = ?1");
	int64_t id = -1;
	if (!ins || !sel)
		goto out;
	sqlite3_bind_text(ins, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ins, 2, bytes);
	sqlite3_bind_int64(ins, 3, time_now());
	if (phash)
		sqlite3_bind_int64(ins, 4, (int64_t)*phash);
	sqlite3_bind_text(sel, 1, hash, -1, SQLITE_STATIC);
	if (sqlite3_step(ins) != SQLITE_DONE || sqlite3_step(sel) != SQLITE_ROW) {
		db_error(cat->db, "blob");
		goto out;
	}
	id = sqlite3_column_int64(sel, 0);
out:
	sqlite3_finalize(ins);
	sqlite3_finalize(sel);
	return id;
}

static int thumbnail_link(struct catalog *cat, int64_t blob_id, const char *thumb_hash,
			  int64_t thumb_bytes, int width, int height)
{
	int64_t thumb_id = blob_upsert(cat, thumb_hash, thumb_bytes, NULL);
	if (thumb_id < 0)
		return -1;
	sqlite3_stmt *stmt =
	    db_prepare(cat->db, "INSERT OR IGNORE INTO thumbnails(blob_id, "
				"thumb_blob_id, width, height) VALUES (?1, ?2, ?3, ?4)");
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, blob_id);
	sqlite3_bind_int64(stmt, 2, thumb_id);
	sqlite3_bind_int(stmt, 3, width);
	sqlite3_bind_int(stmt, 4, height);
	int rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : db_error(cat->db, "thumbnail");
	sqlite3_finalize(stmt);
	return rc;
}

static int add_rows(struct add_batch *b)
{
	sqlite3 *db = b->cat->db;
	int rc = -1;
	int64_t now = time_now();
	sqlite3_stmt *existing = db_prepare(
	    db, "SELECT id FROM assets WHERE blob_id = ?1 AND character_id IS ?2 AND role = ?3");
	sqlite3_stmt *asset_ins = db_prepare(
	    db, "INSERT INTO assets(blob_id, character_id, role, width, height, format, source, "
		"added) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
	if (!existing || !asset_ins)
		goto out;
	for (size_t i = 0; i < b->n; i++) {
		struct add_item *it = &b->items[i];
		int64_t bid = blob_upsert(b->cat, it->staged.hash, (int64_t)it->staged.bytes,
					  it->has_thumb ? &it->phash : NULL);
		if (bid < 0 ||
		    (it->has_thumb &&
		     thumbnail_link(b->cat, bid, it->thumb.hash, (int64_t)it->thumb.bytes,
				    it->thumb_width, it->thumb_height) < 0))
			goto out;

		sqlite3_reset(existing);
		sqlite3_bind_int64(existing, 1, bid);
		if (b->character_id)
			sqlite3_bind_int64(existing, 2, b->character_id);
		else
			sqlite3_bind_null(existing, 2);
		sqlite3_bind_text(existing, 3, b->role, -1, SQLITE_STATIC);
		int step = sqlite3_step(existing);
		if (step == SQLITE_ROW) {
			it->asset_id = sqlite3_column_int64(existing, 0);
			it->existed = true;
		} else if (step == SQLITE_DONE) {
			/* Only text that is valid UTF-8 goes in the index. */
			const char *source = base_name(it->path);
			sqlite3_reset(asset_ins);
			sqlite3_clear_bindings(asset_ins);
			sqlite3_bind_int64(asset_ins, 1, bid);
			if (b->character_id)
				sqlite3_bind_int64(asset_ins, 2, b->character_id);
			sqlite3_bind_text(asset_ins, 3, b->role, -1, SQLITE_STATIC);
			sqlite3_bind_int(asset_ins, 4, it->info.width);
			sqlite3_bind_int(asset_ins, 5, it->info.height);
			sqlite3_bind_text(asset_ins, 6, it->info.format, -1, SQLITE_STATIC);
			if (utf8_valid(source, strlen(source)))
				sqlite3_bind_text(asset_ins, 7, source, -1, SQLITE_STATIC);
			sqlite3_bind_int64(asset_ins, 8, now);
			if (sqlite3_step(asset_ins) != SQLITE_DONE) {
				db_error(db, it->path);
				goto out;
			}
			it->asset_id = sqlite3_last_insert_rowid(db);
		} else {
			db_error(db, it->path);
			goto out;
		}
		if (tags_apply(b->cat, sql_asset_tag_add, it->asset_id, &b->tags, true) < 0)
			goto out;
		if (b->request_id) {
			sqlite3_stmt *link =
			    db_prepare(db, "INSERT OR IGNORE INTO request_outputs("
					   "request_id, asset_id, url) VALUES (?1, ?2, ?3)");
			if (!link)
				goto out;
			sqlite3_bind_int64(link, 1, b->request_id);
			sqlite3_bind_int64(link, 2, it->asset_id);
			if (i < b->urls.n && *b->urls.items[i])
				sqlite3_bind_text(link, 3, b->urls.items[i], -1, SQLITE_STATIC);
			int linked = sqlite3_step(link);
			sqlite3_finalize(link);
			if (linked != SQLITE_DONE) {
				db_error(db, "request outputs");
				goto out;
			}
		}
	}
	rc = 0;
out:
	sqlite3_finalize(existing);
	sqlite3_finalize(asset_ins);
	return rc;
}

int catalog_add_commit(struct add_batch *b)
{
	/* Originals and thumbnails are published together: one sync. */
	struct store_staged *staged = xcalloc(2 * b->n, sizeof(*staged));
	for (size_t i = 0; i < b->n; i++) {
		staged[2 * i] = b->items[i].staged;
		staged[2 * i + 1] = b->items[i].thumb;
	}
	int rc = store_publish(b->cat->store, staged, 2 * b->n);
	for (size_t i = 0; i < b->n; i++) {
		b->items[i].staged = staged[2 * i];
		b->items[i].thumb = staged[2 * i + 1];
	}
	free(staged);
	if (rc < 0)
		return -1;
	if (db_begin(b->cat->db) < 0)
		return -1;
	if (add_rows(b) < 0 || db_commit(b->cat->db) < 0) {
		db_rollback(b->cat->db);
		return -1;
	}
	return 0;
}

void catalog_add_result(const struct add_batch *b, size_t i, int64_t *id, const char **hash,
			const char **path, bool *existed)
{
	*id = b->items[i].asset_id;
	*hash = b->items[i].staged.hash;
	*path = b->items[i].path;
	*existed = b->items[i].existed;
}

void catalog_add_free(struct add_batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++) {
		store_staged_discard(&b->items[i].staged);
		store_staged_discard(&b->items[i].thumb);
		free(b->items[i].path);
	}
	for (size_t i = 0; i < b->nprep; i++) {
		image_buffer_clear(&b->prep[i].thumb);
		free(b->prep[i].error);
	}
	free(b->prep);
	free(b->items);
	free(b->role);
	strlist_clear(&b->tags);
	strlist_clear(&b->urls);
	free(b);
}

/* ---- assets ---- */

/* The asset whose blob hash starts with hex (8 to 32 digits): 1 with *id,
 * 0 for none, -1 with an error when several assets share it. */
static int resolve_prefix(struct catalog *cat, const char *ref, const char *hex, int64_t *id)
{
	size_t len = strlen(hex);
	char lower[STORE_HASH_HEX + 2];
	for (size_t i = 0; i <= len; i++)
		lower[i] = (char)(hex[i] >= 'A' && hex[i] <= 'F' ? hex[i] - 'A' + 'a' : hex[i]);
	char upper[STORE_HASH_HEX + 3];
	snprintf(upper, sizeof(upper), "%s~", lower);
	sqlite3_stmt *stmt =
	    db_prepare(cat->db, "SELECT a.id FROM assets a JOIN blobs b ON b.id = a.blob_id "
				"WHERE b.hash >= ?1 AND b.hash < ?2 ORDER BY a.id LIMIT 6");
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, lower, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(stmt, 2, upper, -1, SQLITE_TRANSIENT);
	int rc = 0, step = sqlite3_step(stmt);
	if (step == SQLITE_ROW) {
		*id = sqlite3_column_int64(stmt, 0);
		rc = 1;
		if (sqlite3_step(stmt) == SQLITE_ROW) {
			/* The same bytes may be several assets (one per character
			 * and role); name them so the user can pick by id. */
			struct strbuf ids = STRBUF_INIT;
			sb_addf(&ids, "#%lld", (long long)*id);
			do
				sb_addf(&ids, ", #%lld", (long long)sqlite3_column_int64(stmt, 0));
			while (sqlite3_step(stmt) == SQLITE_ROW);
			rc = error_set(EX_USAGE,
				       "%s: ambiguous; it matches assets %s (name one by id)", ref,
				       ids.buf);
			sb_release(&ids);
		}
	} else if (step != SQLITE_DONE) {
		rc = db_error(cat->db, ref);
	}
	sqlite3_finalize(stmt);
	return rc;
}

/* 1 with *id when an asset has that id, 0 when none does. */
static int resolve_id(struct catalog *cat, const char *ref, const char *digits, int64_t *id)
{
	int64_t n;
	if (parse_i64(digits, &n) < 0 || n <= 0)
		return 0;
	sqlite3_stmt *stmt = db_prepare(cat->db, "SELECT id FROM assets WHERE id = ?1");
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, n);
	int step = sqlite3_step(stmt), rc = 0;
	if (step == SQLITE_ROW) {
		*id = n;
		rc = 1;
	} else if (step != SQLITE_DONE) {
		rc = db_error(cat->db, ref);
	}
	sqlite3_finalize(stmt);
	return rc;
}

int catalog_asset_resolve(struct catalog *cat, const char *ref, int64_t *id)
{
	size_t len = strlen(ref);
	size_t digits = strspn(ref, "0123456789");
	size_t hex = strspn(ref, "0123456789abcdefABCDEF");
	int by_id = 0, by_hash = 0;
	int64_t id_match = 0, hash_match = 0;
	if (ref[0] == '#') {
		/* "#12": an id and nothing else, as the error messages write it. */
		if (len < 2 || strspn(ref + 1, "0123456789") != len - 1)
			return error_set(EX_USAGE, "%s: '#' must be followed by an asset id", ref);
		by_id = resolve_id(cat, ref, ref + 1, &id_match);
	} else if (len > 0 && digits == len && len < 8) {
		by_id = resolve_id(cat, ref, ref, &id_match);
	} else if (len >= 8 && len <= STORE_HASH_HEX && hex == len) {
		/* Eight or more decimal digits may be either: an id as large as
		 * that and a hash prefix of only decimal digits are both rare,
		 * and when both match the user is asked to say which. */
		/* A leading zero is no way to write an id; "#0012" still is. */
		if (digits == len && len <= 18 && ref[0] != '0')
			by_id = resolve_id(cat, ref, ref, &id_match);
		if (by_id >= 0)
			by_hash = resolve_prefix(cat, ref, ref, &hash_match);
	} else {
		return error_set(EX_USAGE,
				 "%s: not an asset id or a hash prefix of 8 to 32 hex digits", ref);
	}
	if (by_id < 0 || by_hash < 0)
		return -1;
	if (by_id && by_hash && id_match != hash_match)
		return error_set(EX_USAGE,
				 "%s: ambiguous; it is asset #%lld's id and the start of asset "
				 "#%lld's hash (write '#%s' for the id, or more hex digits)",
				 ref, (long long)id_match, (long long)hash_match, ref);
	if (!by_id && !by_hash)
		return error_set(EX_NOINPUT, "%s: no such asset", ref);
	*id = by_id ? id_match : hash_match;
	return 0;
}

static const char sql_asset_select[] =
    "SELECT a.id, b.hash, c.slug, a.role, a.width, a.height, a.format, b.bytes, a.added, "
    "a.source FROM assets a JOIN blobs b ON b.id = a.blob_id "
    "LEFT JOIN characters c ON c.id = a.character_id ";

static const char sql_asset_tags[] =
    "SELECT CASE g.ns WHEN '' THEN g.value ELSE g.ns || ':' || g.value END "
    "FROM asset_tags t JOIN tags g ON g.id = t.tag_id WHERE t.asset_id = ?1 "
    "ORDER BY g.ns, g.value";

static struct asset *asset_from_row(struct catalog *cat, sqlite3_stmt *row, sqlite3_stmt *tags)
{
	struct asset *a = xcalloc(1, sizeof(*a));
	a->id = sqlite3_column_int64(row, 0);
	snprintf(a->hash, sizeof(a->hash), "%s", (const char *)sqlite3_column_text(row, 1));
	a->character = column_text(row, 2);
	a->role = column_text(row, 3);
	a->width = sqlite3_column_int(row, 4);
	a->height = sqlite3_column_int(row, 5);
	a->format = column_text(row, 6);
	a->bytes = sqlite3_column_int64(row, 7);
	a->added = sqlite3_column_int64(row, 8);
	a->source = column_text(row, 9);
	a->path = store_blob_path(cat->store, a->hash);
	sqlite3_reset(tags);
	sqlite3_bind_int64(tags, 1, a->id);
	while (sqlite3_step(tags) == SQLITE_ROW)
		strlist_push(&a->tags, (const char *)sqlite3_column_text(tags, 0));
	return a;
}

void asset_free(struct asset *a)
{
	if (!a)
		return;
	free(a->character);
	free(a->role);
	strlist_clear(&a->tags);
	free(a->format);
	free(a->source);
	free(a->path);
	free(a);
}

struct asset *catalog_asset_get(struct catalog *cat, int64_t id)
{
	struct strbuf sql = STRBUF_INIT;
	sb_adds(&sql, sql_asset_select);
	sb_adds(&sql, "WHERE a.id = ?1");
	sqlite3_stmt *row = stmt_get(cat, sql.buf);
	sqlite3_stmt *tags = stmt_get(cat, sql_asset_tags);
	sb_release(&sql);
	struct asset *a = NULL;
	if (row && tags) {
		sqlite3_bind_int64(row, 1, id);
		int rc = sqlite3_step(row);
		if (rc == SQLITE_ROW)
			a = asset_from_row(cat, row, tags);
		else if (rc == SQLITE_DONE)
			error_set(EX_NOINPUT, "%lld: no such asset", (long long)id);
		else
			db_error(cat->db, "asset");
	}
	stmt_put(cat, row);
	stmt_put(cat, tags);
	return a;
}

int catalog_asset_rm(struct catalog *cat, const int64_t *ids, size_t n)
{
	if (db_begin(cat->db) < 0)
		return -1;
	sqlite3_stmt *stmt = db_prepare(cat->db, "DELETE FROM assets WHERE id = ?1");
	if (!stmt)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(stmt);
		sqlite3_bind_int64(stmt, 1, ids[i]);
		if (sqlite3_step(stmt) != SQLITE_DONE) {
			db_error(cat->db, "rm");
			goto fail;
		}
	}
	sqlite3_finalize(stmt);
	stmt = NULL;
	if (db_commit(cat->db) < 0)
		goto fail;
	return 0;
fail:
	sqlite3_finalize(stmt);
	db_rollback(cat->db);
	return -1;
}

int catalog_asset_tag(struct catalog *cat, const int64_t *ids, size_t n, const struct strlist *add,
		      const struct strlist *remove)
{
	if (db_begin(cat->db) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (tags_apply(cat, sql_asset_tag_add, ids[i], add, true) < 0 ||
		    tags_apply(cat, sql_asset_tag_remove, ids[i], remove, false) < 0) {
			db_rollback(cat->db);
			return -1;
		}
	}
	if (db_commit(cat->db) < 0) {
		db_rollback(cat->db);
		return -1;
	}
	return 0;
}

int catalog_asset_open(struct catalog *cat, int64_t id)
{
	struct asset *a = catalog_asset_get(cat, id);
	if (!a)
		return -1;
	int fd = store_open_blob(cat->store, a->hash);
	asset_free(a);
	return fd;
}

/* ---- queries ---- */

static void bind_query(sqlite3_stmt *stmt, const struct query *q)
{
	for (size_t i = 0; i < q->nparams; i++) {
		if (q->params[i].type == QUERY_PARAM_TEXT)
			sqlite3_bind_text(stmt, (int)i + 1, q->params[i].text, -1, SQLITE_STATIC);
		else
			sqlite3_bind_int64(stmt, (int)i + 1, q->params[i].number);
	}
}

int catalog_query(struct catalog *cat, const char *text, const struct query_options *opts,
		  int (*each)(const struct asset *, void *), void *ctx)
{
	struct query *q = query_compile(text);
	if (!q)
		return -1;
	const char *order = query_sort_sql(opts->sort);
	const char *dir = opts->descending ? "DESC" : "ASC";
	struct strbuf sql = STRBUF_INIT;
	sb_adds(&sql, sql_asset_select);
	if (opts->sort == SORT_ID && opts->limit > 0 && q->set && !q->pred)
		/* The first rows in id order: the set's sorted index ranges
		 * are merged only until that many distinct ids come out,
		 * where "a.id IN (set)" would finish the whole set first. */
		sb_addf(&sql,
			"WHERE a.id IN (SELECT DISTINCT id FROM (%s ORDER BY 1 %s) LIMIT %lld)",
			q->set, dir, (long long)opts->limit);
	else
		sb_addf(&sql, "WHERE %s", q->where);
	sb_addf(&sql, " ORDER BY %s %s, a.id", order, dir);
	if (opts->limit > 0)
		sb_addf(&sql, " LIMIT %lld", (long long)opts->limit);
	sqlite3_stmt *row = db_prepare(cat->db, sql.buf);
	sqlite3_stmt *tags = db_prepare(cat->db, sql_asset_tags);
	int rc = -1;
	sb_release(&sql);
	if (!row && strstr(sqlite3_errmsg(cat->db), "parser stack overflow"))
		error_set(EX_USAGE, "the query is nested too deeply for SQLite; use fewer groups");
	if (!row || !tags)
		goto out;
	bind_query(row, q);
	int step;
	while ((step = sqlite3_step(row)) == SQLITE_ROW) {
		struct asset *a = asset_from_row(cat, row, tags);
		int stop = each(a, ctx);
		asset_free(a);
		if (stop)
			break;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE) {
		db_error(cat->db, "query");
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(row);
	sqlite3_finalize(tags);
	query_free(q);
	return rc;
}

int catalog_query_count(struct catalog *cat, const char *text, int64_t *count)
{
	struct query *q = query_compile(text);
	if (!q)
		return -1;
	char *sql = xasprintf("SELECT count(*) FROM assets a WHERE %s", q->where);
	sqlite3_stmt *stmt = db_prepare(cat->db, sql);
	free(sql);
	int rc = -1;
	if (stmt) {
		bind_query(stmt, q);
		if (sqlite3_step(stmt) == SQLITE_ROW) {
			*count = sqlite3_column_int64(stmt, 0);
			rc = 0;
		} else {
			db_error(cat->db, "query");
		}
	}
	sqlite3_finalize(stmt);
	query_free(q);
	return rc;
}

/* ---- images: thumbnails, perceptual hashes, derivatives ---- */

/* The hash (and blob id) of an asset's own blob. */
static int asset_blob(struct catalog *cat, int64_t asset_id, int64_t *blob_id,
		      char hash[STORE_HASH_HEX + 1])
{
	sqlite3_stmt *stmt = stmt_get(cat, "SELECT b.id, b.hash FROM assets a JOIN blobs b "
					   "ON b.id = a.blob_id WHERE a.id = ?1");
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, asset_id);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*blob_id = sqlite3_column_int64(stmt, 0);
		snprintf(hash, STORE_HASH_HEX + 1, "%s",
			 (const char *)sqlite3_column_text(stmt, 1));
	}
	stmt_put(cat, stmt);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return error_set(EX_NOINPUT, "%lld: no such asset", (long long)asset_id);
	return db_error(cat->db, "asset");
}

static int thumbnail_hash(struct catalog *cat, int64_t blob_id, char hash[STORE_HASH_HEX + 1])
{
	sqlite3_stmt *stmt = stmt_get(cat, "SELECT tb.hash FROM thumbnails t JOIN blobs tb "
					   "ON tb.id = t.thumb_blob_id WHERE t.blob_id = ?1");
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, blob_id);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		snprintf(hash, STORE_HASH_HEX + 1, "%s",
			 (const char *)sqlite3_column_text(stmt, 0));
	stmt_put(cat, stmt);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : db_error(cat->db, "thumbnail");
}

/* Makes the thumbnail (and pHash) of a stored blob that has none. */
static int thumbnail_make(struct catalog *cat, int64_t blob_id, const char *hash)
{
	char *path = store_blob_path(cat->store, hash);
	struct store_staged thumb = {0};
	int width, height;
	uint64_t phash;
	int rc = stage_thumbnail(cat->store, path, &thumb, &width, &height, &phash);
	free(path);
	if (rc < 0)
		return error_prefix("blob %s", hash);
	if (store_publish(cat->store, &thumb, 1) < 0 || db_begin(cat->db) < 0)
		goto fail;
	sqlite3_stmt *stmt = db_prepare(cat->db, "UPDATE blobs SET phash = ?2 WHERE id = ?1 AND "
						 "phash IS NULL");
	if (!stmt)
		goto fail;
	sqlite3_bind_int64(stmt, 1, blob_id);
	sqlite3_bind_int64(stmt, 2, (int64_t)phash);
	rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : db_error(cat->db, "pHash");
	sqlite3_finalize(stmt);
	if (rc < 0 ||
	    thumbnail_link(cat, blob_id, thumb.hash, (int64_t)thumb.bytes, width, height) < 0 ||
	    db_commit(cat->db) < 0)
		goto fail;
	return 0;
fail:
	db_rollback(cat->db);
	store_staged_discard(&thumb);
	return -1;
}

char *catalog_thumbnail(struct catalog *cat, int64_t asset_id)
{
	int64_t blob_id;
	char hash[STORE_HASH_HEX + 1], thumb[STORE_HASH_HEX + 1];
	if (asset_blob(cat, asset_id, &blob_id, hash) < 0)
		return NULL;
	int has = thumbnail_hash(cat, blob_id, thumb);
	if (has == 0 && thumbnail_make(cat, blob_id, hash) == 0)
		has = thumbnail_hash(cat, blob_id, thumb);
	if (has <= 0) {
		if (has == 0)
			error_set(EX_SOFTWARE, "asset %lld: no thumbnail", (long long)asset_id);
		return NULL;
	}
	return store_blob_path(cat->store, thumb);
}

int catalog_thumbnail_open(struct catalog *cat, int64_t asset_id)
{
	char *path = catalog_thumbnail(cat, asset_id);
	if (!path)
		return -1;
	free(path);
	int64_t blob_id;
	char hash[STORE_HASH_HEX + 1], thumb[STORE_HASH_HEX + 1];
	if (asset_blob(cat, asset_id, &blob_id, hash) < 0 ||
	    thumbnail_hash(cat, blob_id, thumb) <= 0)
		return -1;
	return store_open_blob(cat->store, thumb);
}

int catalog_asset_phash(struct catalog *cat, int64_t asset_id, uint64_t *phash)
{
	int64_t blob_id;
	char hash[STORE_HASH_HEX + 1];
	if (asset_blob(cat, asset_id, &blob_id, hash) < 0)
		return -1;
	for (int attempt = 0; attempt < 2; attempt++) {
		sqlite3_stmt *stmt = db_prepare(cat->db, "SELECT phash FROM blobs WHERE id = ?1");
		if (!stmt)
			return -1;
		sqlite3_bind_int64(stmt, 1, blob_id);
		int rc = sqlite3_step(stmt);
		bool have = rc == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL;
		if (have)
			*phash = (uint64_t)sqlite3_column_int64(stmt, 0);
		sqlite3_finalize(stmt);
		if (have)
			return 0;
		/* Made before pHashes existed: compute it now, with the thumbnail. */
		if (attempt == 0 && thumbnail_make(cat, blob_id, hash) < 0)
			return -1;
	}
	return error_set(EX_SOFTWARE, "asset %lld: no pHash", (long long)asset_id);
}

int catalog_file_phash(const char *path, uint64_t *phash)
{
	struct image_info info;
	struct image_buffer thumb;
	if (image_probe(path, &info) < 0 ||
	    image_thumbnail(path, IMAGE_THUMB_SIDE, &thumb, phash) < 0)
		return error_prefix("%s", path);
	image_buffer_clear(&thumb);
	return 0;
}

/* Brings cache/phash.idx up to the index's generation. The rows and the
 * generation are read in one transaction so they agree. */
static int phash_file_refresh(struct catalog *cat, const char *path)
{
	int rc = -1;
	int64_t *ids = NULL;
	uint64_t *hashes = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *gen = NULL, *rows = NULL;
	if (db_exec(cat->db, "BEGIN") < 0)
		return -1;
	gen = db_prepare(cat->db, "SELECT value FROM meta WHERE key = 'phash_generation'");
	if (!gen || sqlite3_step(gen) != SQLITE_ROW) {
		db_error(cat->db, "pHash index");
		goto out;
	}
	uint64_t generation = (uint64_t)sqlite3_column_int64(gen, 0), have;
	if (phash_file_generation(path, &have) == 0 && have == generation) {
		rc = 0;
		goto out;
	}
	rows = db_prepare(cat->db, "SELECT id, phash FROM blobs WHERE phash IS NOT NULL");
	if (!rows)
		goto out;
	int step;
	while ((step = sqlite3_step(rows)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			ids = xrealloc(ids, cap * sizeof(*ids));
			hashes = xrealloc(hashes, cap * sizeof(*hashes));
		}
		ids[n] = sqlite3_column_int64(rows, 0);
		hashes[n] = (uint64_t)sqlite3_column_int64(rows, 1);
		n++;
	}
	if (step != SQLITE_DONE) {
		db_error(cat->db, "pHash index");
		goto out;
	}
	rc = phash_file_write(path, generation, ids, hashes, n);
out:
	sqlite3_finalize(gen);
	sqlite3_finalize(rows);
	db_exec(cat->db, "COMMIT");
	free(ids);
	free(hashes);
	return rc;
}

int catalog_similar(struct catalog *cat, uint64_t phash, int max_distance, int64_t limit,
		    int (*each)(const struct asset *, int, void *), void *ctx)
{
	char *path = store_cache_path(cat->store, "phash.idx");
	struct phash_match *matches = NULL;
	size_t n = 0;
	int rc = -1;
	sqlite3_stmt *row = NULL, *tags = NULL;
	if (phash_file_refresh(cat, path) < 0 ||
	    phash_file_search(path, phash, max_distance, &matches, &n) < 0)
		goto out;
	struct strbuf sql = STRBUF_INIT;
	sb_adds(&sql, sql_asset_select);
	sb_adds(&sql, "WHERE a.blob_id = ?1 ORDER BY a.id");
	row = db_prepare(cat->db, sql.buf);
	sb_release(&sql);
	tags = db_prepare(cat->db, sql_asset_tags);
	if (!row || !tags)
		goto out;
	int64_t shown = 0;
	for (size_t i = 0; i < n && (!limit || shown < limit); i++) {
		sqlite3_reset(row);
		sqlite3_bind_int64(row, 1, matches[i].id);
		while ((!limit || shown < limit) && sqlite3_step(row) == SQLITE_ROW) {
			struct asset *a = asset_from_row(cat, row, tags);
			int stop = each(a, matches[i].distance, ctx);
			asset_free(a);
			shown++;
			if (stop) {
				rc = 0;
				goto out;
			}
		}
	}
	rc = 0;
out:
	sqlite3_finalize(row);
	sqlite3_finalize(tags);
	free(matches);
	free(path);
	return rc;
}

void derivative_clear(struct derivative *d)
{
	free(d->path);
	memset(d, 0, sizeof(*d));
}

static int derivative_lookup(struct catalog *cat, int64_t source, const char *key,
			     struct derivative *out)
{
	sqlite3_stmt *stmt = stmt_get(
	    cat, "SELECT b.hash, d.width, d.height, d.format, b.bytes FROM derivatives d "
		 "JOIN blobs b ON b.id = d.blob_id WHERE d.source_blob_id = ?1 AND d.recipe = ?2");
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, source);
	sqlite3_bind_text(stmt, 2, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		snprintf(out->hash, sizeof(out->hash), "%s",
			 (const char *)sqlite3_column_text(stmt, 0));
		out->width = sqlite3_column_int(stmt, 1);
		out->height = sqlite3_column_int(stmt, 2);
		snprintf(out->format, sizeof(out->format), "%s",
			 (const char *)sqlite3_column_text(stmt, 3));
		out->bytes = sqlite3_column_int64(stmt, 4);
	}
	stmt_put(cat, stmt);
	/* A row whose blob went missing is a miss: the work is redone. */
	if (rc == SQLITE_ROW)
		return store_has(cat->store, out->hash) ? 1 : 0;
	return rc == SQLITE_DONE ? 0 : db_error(cat->db, "derivative");
}

int catalog_derive(struct catalog *cat, int64_t asset_id, const struct image_recipe *recipe,
		   struct derivative *out)
{
	memset(out, 0, sizeof(*out));
	int64_t source;
	char hash[STORE_HASH_HEX + 1];
	if (asset_blob(cat, asset_id, &source, hash) < 0)
		return -1;
	char *key = image_recipe_key(recipe);
	struct image_buffer buf = {0};
	struct store_staged staged = {0};
	sqlite3_stmt *stmt = NULL;
	int rc = derivative_lookup(cat, source, key, out);
	if (rc != 0) {
		out->cached = rc > 0;
		rc = rc > 0 ? 0 : -1;
		goto done;
	}
	char *path = store_blob_path(cat->store, hash);
	rc = image_derive(path, recipe, &buf);
	free(path);
	if (rc < 0) {
		error_prefix("asset %lld", (long long)asset_id);
		goto done;
	}
	rc = -1;
	if (store_stage_buffer(cat->store, buf.data, buf.len, &staged) < 0 ||
	    store_publish(cat->store, &staged, 1) < 0 || db_begin(cat->db) < 0)
		goto done;
	int64_t blob_id = blob_upsert(cat, staged.hash, (int64_t)staged.bytes, NULL);
	stmt = db_prepare(cat->db, "INSERT OR REPLACE INTO derivatives(source_blob_id, recipe, "
				   "blob_id, width, height, format, created) VALUES "
				   "(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
	if (blob_id < 0 || !stmt)
		goto done;
	sqlite3_bind_int64(stmt, 1, source);
	sqlite3_bind_text(stmt, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, blob_id);
	sqlite3_bind_int(stmt, 4, buf.width);
	sqlite3_bind_int(stmt, 5, buf.height);
	sqlite3_bind_text(stmt, 6, buf.format, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 7, time_now());
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		db_error(cat->db, "derivative");
		goto done;
	}
	if (db_commit(cat->db) < 0)
		goto done;
	snprintf(out->hash, sizeof(out->hash), "%s", staged.hash);
	out->width = buf.width;
	out->height = buf.height;
	snprintf(out->format, sizeof(out->format), "%s", buf.format);
	out->bytes = (int64_t)staged.bytes;
	rc = 0;
done:
	if (rc < 0)
		db_rollback(cat->db);
	if (rc == 0)
		out->path = store_blob_path(cat->store, out->hash);
	sqlite3_finalize(stmt);
	store_staged_discard(&staged);
	image_buffer_clear(&buf);
	free(key);
	return rc;
}

/* ---- the request log ---- */

int64_t catalog_request_begin(struct catalog *cat, const char *kind, const char *profile,
			      const char *prompt, const char *request, const char *status,
			      const struct strlist *slugs, const struct request_ref_row *refs,
			      size_t nrefs)
{
	if (db_begin(cat->db) < 0)
		return -1;
	int64_t id = -1;
	sqlite3_stmt *ins =
	    db_prepare(cat->db, "INSERT INTO requests(kind, profile, prompt, request, "
				"status, started) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	sqlite3_stmt *who = db_prepare(cat->db, "INSERT OR IGNORE INTO request_characters("
						"request_id, character_id) SELECT ?1, id FROM "
						"characters WHERE slug = ?2");
	sqlite3_stmt *ref = db_prepare(
	    cat->db,
	    "INSERT INTO request_refs(request_id, position, asset_id, source_hash, "
	    "sent_hash, tag) SELECT ?1, ?2, a.id, b.hash, ?4, ?5 FROM assets a JOIN blobs b "
	    "ON b.id = a.blob_id WHERE a.id = ?3");
	if (!ins || !who || !ref)
		goto fail;
	sqlite3_bind_text(ins, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 2, profile, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 3, prompt, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 4, request, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 5, status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ins, 6, time_now());
	if (sqlite3_step(ins) != SQLITE_DONE) {
		db_error(cat->db, "request log");
		goto fail;
	}
	id = sqlite3_last_insert_rowid(cat->db);
	for (size_t i = 0; slugs && i < slugs->n; i++) {
		sqlite3_reset(who);
		sqlite3_bind_int64(who, 1, id);
		sqlite3_bind_text(who, 2, slugs->items[i], -1, SQLITE_STATIC);
		if (sqlite3_step(who) != SQLITE_DONE) {
			db_error(cat->db, "request log");
			goto fail;
		}
	}
	for (size_t i = 0; i < nrefs; i++) {
		sqlite3_reset(ref);
		sqlite3_bind_int64(ref, 1, id);
		sqlite3_bind_int64(ref, 2, (int64_t)i + 1);
		sqlite3_bind_int64(ref, 3, refs[i].asset_id);
		sqlite3_bind_text(ref, 4, refs[i].sent_hash, -1, SQLITE_STATIC);
		sqlite3_bind_text(ref, 5, refs[i].tag, -1, SQLITE_STATIC);
		if (sqlite3_step(ref) != SQLITE_DONE) {
			db_error(cat->db, "request log");
			goto fail;
		}
	}
	if (db_commit(cat->db) < 0)
		goto fail;
	goto out;
fail:
	db_rollback(cat->db);
	id = -1;
out:
	sqlite3_finalize(ins);
	sqlite3_finalize(who);
	sqlite3_finalize(ref);
	return id;
}

int catalog_request_finish(struct catalog *cat, int64_t id, const char *status, long http_status,
			   const char *response, const char *error, int64_t duration_ms)
{
	sqlite3_stmt *stmt =
	    db_prepare(cat->db, "UPDATE requests SET status = ?2, http_status = ?3, "
				"response = ?4, error = ?5, duration_ms = ?6 "
				"WHERE id = ?1");
	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_text(stmt, 2, status, -1, SQLITE_STATIC);
	if (http_status)
		sqlite3_bind_int64(stmt, 3, http_status);
	sqlite3_bind_text(stmt, 4, response, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 6, duration_ms);
	int rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : db_error(cat->db, "request log");
	sqlite3_finalize(stmt);
	return rc;
}

void log_entry_free(struct log_entry *e)
{
	if (!e)
		return;
	free(e->kind);
	free(e->profile);
	free(e->prompt);
	free(e->request);
	free(e->response);
	free(e->status);
	free(e->error);
	strlist_clear(&e->characters);
	strlist_clear(&e->refs);
	strlist_clear(&e->outputs);
	free(e);
}

static const char sql_log_select[] =
    "SELECT r.id, r.kind, r.profile, r.prompt, r.request, r.response, r.status, r.error, "
    "r.http_status, r.started, r.duration_ms FROM requests r ";

static void push_rows(struct catalog *cat, const char *sql, int64_t id, struct strlist *out)
{
	sqlite3_stmt *stmt = db_prepare(cat->db, sql);
	if (!stmt)
		return;
	sqlite3_bind_int64(stmt, 1, id);
	while (sqlite3_step(stmt) == SQLITE_ROW)
		strlist_push(out, (const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
}

static struct log_entry *log_from_row(struct catalog *cat, sqlite3_stmt *row)
{
	struct log_entry *e = xcalloc(1, sizeof(*e));
	e->id = sqlite3_column_int64(row, 0);
	e->kind = column_text(row, 1);
	e->profile = column_text(row, 2);
	e->prompt = column_text(row, 3);
	e->request = column_text(row, 4);
	e->response = column_text(row, 5);
	e->status = column_text(row, 6);
	e->error = column_text(row, 7);
	e->http_status = sqlite3_column_int(row, 8);
	e->started = sqlite3_column_int64(row, 9);
	e->duration_ms = sqlite3_column_int64(row, 10);
	push_rows(cat,
		  "SELECT c.slug FROM request_characters rc JOIN characters c ON "
		  "c.id = rc.character_id WHERE rc.request_id = ?1 ORDER BY c.slug",
		  e->id, &e->characters);
	push_rows(cat,
		  "SELECT coalesce('#' || asset_id, '#-') || ' ' || source_hash || ' ' || "
		  "coalesce(tag, '') FROM request_refs WHERE request_id = ?1 ORDER BY position",
		  e->id, &e->refs);
	push_rows(cat,
		  "SELECT '#' || o.asset_id || ' ' || b.hash FROM request_outputs o JOIN "
		  "assets a ON a.id = o.asset_id JOIN blobs b ON b.id = a.blob_id "
		  "WHERE o.request_id = ?1 ORDER BY o.asset_id",
		  e->id, &e->outputs);
	return e;
}

int catalog_log(struct catalog *cat, const char *character, const char *profile, int64_t limit,
		int (*each)(const struct log_entry *, void *), void *ctx)
{
	struct strbuf sql = STRBUF_INIT;
	sb_adds(&sql, sql_log_select);
	sb_adds(&sql, "WHERE (?1 IS NULL OR r.profile = ?1) AND (?2 IS NULL OR r.id IN (SELECT "
		      "rc.request_id FROM request_characters rc JOIN characters c ON c.id = "
		      "rc.character_id WHERE c.slug = ?2)) ORDER BY r.id DESC LIMIT ?3");
	sqlite3_stmt *row = db_prepare(cat->db, sql.buf);
	sb_release(&sql);
	if (!row)
		return -1;
	if (character) {
		char *slug = catalog_character_slug(cat, character);
		if (!slug) {
			sqlite3_finalize(row);
			return -1;
		}
		sqlite3_bind_text(row, 2, slug, -1, SQLITE_TRANSIENT);
		free(slug);
	}
	if (profile)
		sqlite3_bind_text(row, 1, profile, -1, SQLITE_STATIC);
	sqlite3_bind_int64(row, 3, limit > 0 ? limit : -1);
	int step;
	while ((step = sqlite3_step(row)) == SQLITE_ROW) {
		struct log_entry *e = log_from_row(cat, row);
		int stop = each(e, ctx);
		log_entry_free(e);
		if (stop)
			break;
	}
	int rc = step == SQLITE_ROW || step == SQLITE_DONE ? 0 : db_error(cat->db, "log");
	sqlite3_finalize(row);
	return rc;
}

int catalog_asset_request(struct catalog *cat, int64_t asset_id, struct log_entry **out)
{
	*out = NULL;
	struct strbuf sql = STRBUF_INIT;
	sb_adds(&sql, sql_log_select);
	sb_adds(&sql, "JOIN request_outputs o ON o.request_id = r.id WHERE o.asset_id = ?1 "
		      "ORDER BY r.id LIMIT 1");
	sqlite3_stmt *row = db_prepare(cat->db, sql.buf);
	sb_release(&sql);
	if (!row)
		return -1;
	sqlite3_bind_int64(row, 1, asset_id);
	int step = sqlite3_step(row);
	if (step == SQLITE_ROW)
		*out = log_from_row(cat, row);
	sqlite3_finalize(row);
	return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : db_error(cat->db, "log");
}

/* ---- embeddings ---- */

int catalog_begin(struct catalog *cat)
{
	return db_begin(cat->db);
}

int catalog_end(struct catalog *cat, bool commit)
{
	if (commit)
		return db_commit(cat->db);
	db_rollback(cat->db);
	return 0;
}

static bool model_name_ok(const char *name)
{
	size_t len = strlen(name);
	return len > 0 && len <= 64 &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-") == len;
}

static int model_fill(sqlite3_stmt *stmt, struct model_info *m)
{
	m->id = sqlite3_column_int64(stmt, 0);
	snprintf(m->name, sizeof(m->name), "%s", (const char *)sqlite3_column_text(stmt, 1));
	m->dimension = (uint32_t)sqlite3_column_int(stmt, 2);
	m->has_threshold = sqlite3_column_type(stmt, 3) != SQLITE_NULL;
	m->threshold = sqlite3_column_double(stmt, 3);
	m->vectors = sqlite3_column_int64(stmt, 4);
	return 0;
}

static const char sql_model_select[] =
    "SELECT m.id, m.name, m.dimension, m.threshold, m.vectors FROM models m ";

int catalog_model_get(struct catalog *cat, const char *name, struct model_info *out)
{
	memset(out, 0, sizeof(*out));
	if (!model_name_ok(name))
		return error_set(EX_USAGE,
				 "--model %s: a model name is lower-case letters, digits, "
				 "'.', '_' and '-'",
				 name);
	char *sql = xasprintf("%sWHERE m.name = ?1", sql_model_select);
	sqlite3_stmt *stmt = db_prepare(cat->db, sql);
	free(sql);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		model_fill(stmt, out);
	sqlite3_finalize(stmt);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return error_set(EX_NOINPUT, "model %s: no vectors yet (see 'troupe embed')", name);
	return db_error(cat->db, "model");
}

int catalog_model_list(struct catalog *cat, struct model_info **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	char *sql = xasprintf("%sORDER BY m.name", sql_model_select);
	sqlite3_stmt *stmt = db_prepare(cat->db, sql);
	free(sql);
	if (!stmt)
		return -1;
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		*out = xrealloc(*out, (*n + 1) * sizeof(**out));
		model_fill(stmt, &(*out)[(*n)++]);
	}
	sqlite3_finalize(stmt);
	return 0;
}

int catalog_model_set_threshold(struct catalog *cat, const char *name, double threshold)
{
	sqlite3_stmt *stmt =
	    db_prepare(cat->db, "UPDATE models SET threshold = ?2 WHERE name = ?1");
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_double(stmt, 2, threshold);
	int rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : db_error(cat->db, "model");
	sqlite3_finalize(stmt);
	return rc;
}

int catalog_embedding_put(struct catalog *cat, int64_t asset_id, const char *model, float *vector,
			  uint32_t dim)
{
	if (!model_name_ok(model))
		return error_set(EX_USAGE,
				 "--model %s: a model name is lower-case letters, digits, "
				 "'.', '_' and '-'",
				 model);
	if (vector_normalise(vector, dim) < 0)
		return error_prefix("asset %lld", (long long)asset_id);
	/* Inside a caller's transaction (an import) the write joins it. */
	bool own = sqlite3_get_autocommit(cat->db);
	if (own && db_begin(cat->db) < 0)
		return -1;
	sqlite3_stmt *ins = NULL, *put = NULL;
	struct model_info m;
	int rc = -1;
	ins =
	    db_prepare(cat->db, "INSERT INTO models(name, dimension, created) VALUES (?1, ?2, ?3) "
				"ON CONFLICT(name) DO NOTHING");
	if (!ins)
		goto out;
	sqlite3_bind_text(ins, 1, model, -1, SQLITE_STATIC);
	sqlite3_bind_int(ins, 2, (int)dim);
	sqlite3_bind_int64(ins, 3, time_now());
	if (sqlite3_step(ins) != SQLITE_DONE) {
		db_error(cat->db, "model");
		goto out;
	}
	/* Only id and dimension: the full model row counts its vectors,
	 * which would make a large import quadratic. */
	sqlite3_stmt *sel = db_prepare(cat->db, "SELECT id, dimension FROM models WHERE name = ?1");
	if (!sel)
		goto out;
	sqlite3_bind_text(sel, 1, model, -1, SQLITE_STATIC);
	int found = sqlite3_step(sel);
	m.id = sqlite3_column_int64(sel, 0);
	m.dimension = (uint32_t)sqlite3_column_int(sel, 1);
	sqlite3_finalize(sel);
	if (found != SQLITE_ROW) {
		db_error(cat->db, "model");
		goto out;
	}
	/* A model's dimension is fixed once its first vector lands. */
	if (m.dimension != dim) {
		error_set(EX_DATAERR,
			  "asset %lld: a %u-dimensional vector for model %s, which has %u",
			  (long long)asset_id, dim, model, m.dimension);
		goto out;
	}
	/* An upsert, not REPLACE: the triggers that keep the model's count
	 * and generation must see an update as an update. */
	put =
	    db_prepare(cat->db, "INSERT INTO embeddings(asset_id, model_id, vector, added) "
				"VALUES (?1, ?2, ?3, ?4) ON CONFLICT(model_id, asset_id) DO UPDATE "
				"SET vector = excluded.vector, added = excluded.added");
	if (!put)
		goto out;
	sqlite3_bind_int64(put, 1, asset_id);
	sqlite3_bind_int64(put, 2, m.id);
	sqlite3_bind_blob(put, 3, vector, (int)(dim * sizeof(float)), SQLITE_STATIC);
	sqlite3_bind_int64(put, 4, time_now());
	if (sqlite3_step(put) != SQLITE_DONE) {
		if (sqlite3_errcode(cat->db) == SQLITE_CONSTRAINT)
			error_set(EX_NOINPUT, "%lld: no such asset", (long long)asset_id);
		else
			db_error(cat->db, "embedding");
		goto out;
	}
	/* A vector for an asset the model once found nothing in. */
	sqlite3_stmt *unmiss =
	    stmt_get(cat, "DELETE FROM embedding_misses WHERE model = ?1 AND asset_id = ?2");
	if (!unmiss)
		goto out;
	sqlite3_bind_text(unmiss, 1, model, -1, SQLITE_STATIC);
	sqlite3_bind_int64(unmiss, 2, asset_id);
	int step = sqlite3_step(unmiss);
	stmt_put(cat, unmiss);
	if (step != SQLITE_DONE) {
		db_error(cat->db, "embedding");
		goto out;
	}
	rc = own ? db_commit(cat->db) : 0;
out:
	if (rc < 0 && own)
		db_rollback(cat->db);
	sqlite3_finalize(ins);
	sqlite3_finalize(put);
	return rc;
}

int catalog_embedding_has(struct catalog *cat, int64_t asset_id, const char *model)
{
	sqlite3_stmt *stmt =
	    stmt_get(cat, "SELECT 1 FROM embeddings e JOIN models m ON "
			  "m.id = e.model_id WHERE m.name = ?1 AND "
			  "e.asset_id = ?2 UNION ALL SELECT 2 FROM embedding_misses "
			  "WHERE model = ?1 AND asset_id = ?2");
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, model, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, asset_id);
	int rc = sqlite3_step(stmt);
	int has = rc == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : 0;
	stmt_put(cat, stmt);
	return rc == SQLITE_ROW ? has : rc == SQLITE_DONE ? 0 : db_error(cat->db, "embedding");
}

int catalog_embedding_missed(struct catalog *cat, int64_t asset_id, const char *model,
			     const char *reason)
{
	sqlite3_stmt *stmt = db_prepare(
	    cat->db, "INSERT INTO embedding_misses(model, asset_id, reason, at) VALUES (?1, ?2, "
		     "?3, ?4) ON CONFLICT(model, asset_id) DO UPDATE SET reason = excluded.reason, "
		     "at = excluded.at");
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, model, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, asset_id);
	sqlite3_bind_text(stmt, 3, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, time_now());
	int rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : db_error(cat->db, "embedding");
	sqlite3_finalize(stmt);
	return rc;
}

int catalog_embedding_get(struct catalog *cat, int64_t asset_id, const char *model, float **vector,
			  uint32_t *dim)
{
	*vector = NULL;
	sqlite3_stmt *stmt = db_prepare(cat->db, "SELECT e.vector, m.dimension FROM embeddings e "
						 "JOIN models m ON m.id = e.model_id WHERE "
						 "m.name = ?1 AND e.asset_id = ?2");
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, model, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, asset_id);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*dim = (uint32_t)sqlite3_column_int(stmt, 1);
		size_t bytes = (size_t)sqlite3_column_bytes(stmt, 0);
		if (bytes == *dim * sizeof(float)) {
			*vector = xmalloc(bytes);
			memcpy(*vector, sqlite3_column_blob(stmt, 0), bytes);
		}
	}
	sqlite3_finalize(stmt);
	if (*vector)
		return 0;
	if (rc == SQLITE_ROW)
		return error_set(EX_DATAERR, "asset %lld: damaged vector", (long long)asset_id);
	if (rc == SQLITE_DONE)
		return error_set(EX_NOINPUT,
				 "asset %lld has no vector for model %s (run 'troupe "
				 "embed --model %s')",
				 (long long)asset_id, model, model);
	return db_error(cat->db, "embedding");
}

/* Brings cache/vectors-MODEL.f32 up to the model's generation. */
static int vector_file_refresh(struct catalog *cat, const struct model_info *m, const char *path)
{
	if (db_exec(cat->db, "BEGIN") < 0)
		return -1;
	int rc = -1;
	sqlite3_stmt *gen = db_prepare(cat->db, "SELECT generation FROM models WHERE id = ?1");
	sqlite3_stmt *rows = NULL;
	int64_t *ids = NULL;
	float *data = NULL;
	size_t n = 0, cap = 0;
	if (!gen)
		goto out;
	sqlite3_bind_int64(gen, 1, m->id);
	if (sqlite3_step(gen) != SQLITE_ROW) {
		db_error(cat->db, "model");
		goto out;
	}
	uint64_t generation = (uint64_t)sqlite3_column_int64(gen, 0), have;
	uint32_t dim;
	if (vector_file_header(path, &have, &dim) == 0 && have == generation &&
	    dim == m->dimension) {
		rc = 0;
		goto out;
	}
	/* Reading every vector through SQLite's pread of each page is most
	 * of a rebuild's time; a memory map of the index (up to SQLite's
	 * limit) reads the same pages without a system call each. */
	db_exec(cat->db, "PRAGMA mmap_size = 2147418112");
	rows = db_prepare(cat->db, "SELECT asset_id, vector FROM embeddings WHERE model_id = ?1 "
				   "ORDER BY asset_id");
	if (!rows)
		goto out;
	sqlite3_bind_int64(rows, 1, m->id);
	size_t row_bytes = m->dimension * sizeof(float);
	/* The triggers keep the count: one allocation, not a doubling copy
	 * of gigabytes. */
	if (m->vectors > 0) {
		cap = (size_t)m->vectors;
		ids = xmalloc(cap * sizeof(*ids));
		data = xmalloc(cap * row_bytes);
	}
	while (sqlite3_step(rows) == SQLITE_ROW) {
		if ((size_t)sqlite3_column_bytes(rows, 1) != row_bytes)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			ids = xrealloc(ids, cap * sizeof(*ids));
			data = xrealloc(data, cap * row_bytes);
		}
		ids[n] = sqlite3_column_int64(rows, 0);
		memcpy((char *)data + n * row_bytes, sqlite3_column_blob(rows, 1), row_bytes);
		n++;
	}
	rc = vector_file_write(path, generation, m->dimension, ids, data, n);
out:
	sqlite3_finalize(gen);
	sqlite3_finalize(rows);
	db_exec(cat->db, "COMMIT");
	db_exec(cat->db, "PRAGMA mmap_size = 0");
	free(ids);
	free(data);
	return rc;
}

struct id_set {
	int64_t *ids;
	size_t n;
};

static int collect_id(const struct asset *a, void *ctx)
{
	struct id_set *s = ctx;
	s->ids = xrealloc(s->ids, (s->n + 1) * sizeof(*s->ids));
	s->ids[s->n++] = a->id;
	return 0;
}

static int id_allowed(int64_t id, void *ctx)
{
	const struct id_set *s = ctx;
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n && s->ids[lo] == id;
}

int catalog_nearest(struct catalog *cat, const char *model, const float *query, uint32_t dim,
		    size_t k, const char *where, int (*each)(const struct asset *, float, void *),
		    void *ctx)
{
	struct model_info m;
	if (catalog_model_get(cat, model, &m) < 0)
		return -1;
	if (m.dimension != dim)
		return error_set(EX_DATAERR, "a %u-dimensional query for model %s, which has %u",
				 dim, model, m.dimension);
	char *name = xasprintf("vectors-%s.f32", model);
	char *path = store_cache_path(cat->store, name);
	free(name);
	struct id_set allowed = {0};
	struct vector_hit *hits = NULL;
	size_t n = 0;
	int rc = -1;
	if (where) {
		struct query_options qo = {SORT_ID, false, 0};
		if (catalog_query(cat, where, &qo, collect_id, &allowed) < 0)
			goto out;
	}
	if (vector_file_refresh(cat, &m, path) < 0 ||
	    vector_file_search(path, query, dim, k, where ? id_allowed : NULL, &allowed, &hits,
			       &n) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct asset *a = catalog_asset_get(cat, hits[i].id);
		if (!a)
			goto out;
		int stop = each(a, hits[i].score, ctx);
		asset_free(a);
		if (stop)
			break;
	}
	rc = 0;
out:
	free(allowed.ids);
	free(hits);
	free(path);
	return rc;
}

int catalog_embeddings(struct catalog *cat, const char *model, const char *character,
		       int (*each)(int64_t, const char *, const float *, void *), void *ctx)
{
	sqlite3_stmt *stmt = db_prepare(
	    cat->db, "SELECT e.asset_id, c.slug, e.vector, m.dimension FROM embeddings e JOIN "
		     "models m ON m.id = e.model_id JOIN assets a ON a.id = e.asset_id LEFT JOIN "
		     "characters c ON c.id = a.character_id WHERE m.name = ?1 AND (?2 IS NULL OR "
		     "c.slug = ?2) AND a.role <> 'generated' ORDER BY e.asset_id");
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, model, -1, SQLITE_STATIC);
	if (character)
		sqlite3_bind_text(stmt, 2, character, -1, SQLITE_STATIC);
	int step;
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		uint32_t dim = (uint32_t)sqlite3_column_int(stmt, 3);
		if ((size_t)sqlite3_column_bytes(stmt, 2) != dim * sizeof(float))
			continue;
		if (each(sqlite3_column_int64(stmt, 0), (const char *)sqlite3_column_text(stmt, 1),
			 sqlite3_column_blob(stmt, 2), ctx))
			break;
	}
	int rc = step == SQLITE_ROW || step == SQLITE_DONE ? 0 : db_error(cat->db, "embeddings");
	sqlite3_finalize(stmt);
	return rc;
}
