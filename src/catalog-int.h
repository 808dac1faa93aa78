/* catalog-int: what the catalog rooms (character, asset, ingest, thumbnail,
 * derivative, reqlog, embedding) share behind their headers: struct
 * catalog, the statement cache, and the helpers for tags and blob rows.
 * Only those rooms include it; command files and the rooms below never do. */
#ifndef TROUPE_CATALOG_INT_H
#define TROUPE_CATALOG_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "catalog.h"
#include "db.h"

#include "store.h"
#include "util.h"

struct asset;
struct image_buffer;
struct query_plan;

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

/* ---- catalog.c ---- */

/* A prepared statement for sql, from the cache when it is there and free;
 * hand it back with catalog_stmt_put(), which resets it. A statement
 * already in use (a caller up the stack is stepping it) or a full cache
 * gives a fresh one, which catalog_stmt_put() finalizes. NULL with an
 * error when sql does not prepare. */
sqlite3_stmt *catalog_stmt_get(struct catalog *cat, const char *sql);
void catalog_stmt_put(struct catalog *cat, sqlite3_stmt *stmt);
/* A copy of column i's text, NULL for SQL NULL; the caller frees it. */
char *catalog_column_text(sqlite3_stmt *stmt, int i);
/* Pushes onto out the first column of every row sql gives with ?1 bound
 * to id; -1 with an error when sql does not prepare. */
int catalog_strings(struct catalog *cat, const char *sql, int64_t id, struct strlist *out);

/* Normalises a tag (tag_parse) and refuses the namespaces that query
 * fields own (query_fields); *ns and *value are the caller's to free. */
int catalog_tag_normalise(const char *in, char **ns, char **value);
/* Runs sql, an "INSERT/DELETE ... (?1 owner, ?2 tag id)", for each tag
 * of a list (NULL or empty: nothing). create makes tags not yet known;
 * without it a tag nobody has is skipped. */
int catalog_tags_apply(struct catalog *cat, const char *sql, int64_t owner,
		       const struct strlist *tags, bool create);
/* Inserts a blob row, or finds the one there; a source picture's pHash
 * (phash may be NULL) is filled in when the row had none. Returns the row
 * id, or -1 with an error. */
int64_t catalog_blob_upsert(struct catalog *cat, const char *hash, int64_t bytes,
			    const uint64_t *phash);

/* ---- asset.c ---- */

/* Adds a tag (?2) to an asset (?1), for catalog_tags_apply. */
extern const char catalog_sql_asset_tag_add[];
/* The columns catalog_asset_from_row reads, from assets "a", blobs "b"
 * and characters "c"; a WHERE clause follows. */
extern const char catalog_sql_asset_select[];
/* An asset's (?1) tags as "ns:value" or "value", in order. */
extern const char catalog_sql_asset_tags[];
/* The asset on row (stepped from catalog_sql_asset_select) with its tags
 * read through tags (catalog_sql_asset_tags); free with asset_free(). */
struct asset *catalog_asset_from_row(struct catalog *cat, sqlite3_stmt *row, sqlite3_stmt *tags);
/* The id and hash of an asset's own blob; EX_NOINPUT for no such asset. */
int catalog_asset_blob(struct catalog *cat, int64_t asset_id, int64_t *blob_id,
		       char hash[STORE_HASH_HEX + 1]);

/* ---- thumbnail.c ---- */

/* Whether the file at path is a video by its first bytes (MP4,
 * QuickTime or WebM); sets *format ("mp4", "mov", "webm") when it is. */
bool catalog_file_is_video(const char *path, const char **format);
/* The thumbnail and pHash of the picture at path, or of a video's poster
 * frame: what add and a late thumbnail both make. */
int catalog_picture_thumbnail(const char *path, struct image_buffer *thumb, uint64_t *phash);
/* Decodes the picture (or a video's poster) at path once, at reduced
 * size, for its thumbnail (staged in st; the caller publishes or discards
 * it) and its pHash. */
int catalog_thumbnail_stage(struct store *st, const char *path, struct store_staged *thumb,
			    int *width, int *height, uint64_t *phash);
/* Records a published thumbnail blob as blob_id's thumbnail (a no-op
 * when it already has one). */
int catalog_thumbnail_link(struct catalog *cat, int64_t blob_id, const char *thumb_hash,
			   int64_t thumb_bytes, int width, int height);

/* ---- tagindex.c ---- */

/* Whether the posting lists may answer (TROUPE_POSTINGS): 1 or 0, or -1
 * with an EX_CONFIG error for a value that is neither on nor off. */
int catalog_tagindex_enabled(void);
/* The number of assets plan matches, from the posting lists (brought up
 * to the index's generation first): 1 with *count; 0 when they cannot
 * answer and the caller must run the SQL; -1 with an error. */
int catalog_tagindex_count(struct catalog *cat, const struct query_plan *plan, int64_t *count);
/* The same for the ids themselves, ascending or (from_top) descending,
 * at most limit of them when limit > 0; *ids is the caller's to free. */
int catalog_tagindex_ids(struct catalog *cat, const struct query_plan *plan, bool from_top,
			 int64_t limit, int64_t **ids, size_t *n);

#endif
