/* merge: brings a parsed manifest into the catalog, as import and pull do.
 * A plan compares each element, look, asset, embedding and shot with the
 * store's (new, the same, or a conflict with every differing field);
 * blobs are staged through merge_stage_blob, which verifies their size,
 * XXH3-128 and SHA-256 as they arrive; merge_apply then publishes them and
 * writes every row in one transaction, or nothing. Merging never removes
 * anything the store has. Nothing here prints. */
#ifndef TROUPE_MERGE_H
#define TROUPE_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct catalog;
struct manifest;
struct manifest_blob;

enum merge_what { MERGE_ELEMENT, MERGE_LOOK, MERGE_ASSET, MERGE_EMBEDDING, MERGE_SHOT };
enum merge_state { MERGE_NEW, MERGE_SAME, MERGE_CONFLICT };

/* How conflicts are resolved: not at all (merge_apply refuses, and the
 * store is unchanged), by keeping the store's side, or by taking the
 * manifest's (its fields replace the store's; an element's tags and
 * aliases, and an asset's tags, become the manifest's set). A look or a
 * take the manifest does not name is no conflict: it stays. */
enum merge_side { MERGE_REFUSE, MERGE_OURS, MERGE_THEIRS };

/* One field that differs, as text for people ("" for none). */
struct merge_diff {
	const char *field; /* "name", "tags", "vector", ... (static) */
	char *ours;
	char *theirs;
};

/* One thing of the manifest, compared with the store. */
struct merge_item {
	enum merge_what what;
	char *name; /* "mei", "mei/winter" (a look), "mei face 3fa2c1d0" (an
		       asset: element, role and blob hash prefix), "mei face
		       3fa2c1d0 facenet" (an embedding), "shot-01" */
	enum merge_state state;
	struct merge_diff *diffs; /* for a conflict */
	size_t ndiffs;
};

struct merge_plan;

/* Compares m with the catalog. m is borrowed and must outlive the plan.
 * NULL with an error when the index cannot be read, or (EX_DATAERR) when
 * m cannot join this store at all whatever is chosen: an embedding of
 * another dimension, network or version than the store's model of that
 * name, a slug or alias an element of another kind has, or an alias of
 * the manifest's element that names another element here. */
struct merge_plan *merge_plan_new(struct catalog *cat, const struct manifest *m);
/* Frees the plan and discards every blob staged for it that
 * merge_apply did not publish; NULL is a no-op. */
void merge_plan_free(struct merge_plan *p);

/* The plan's items (borrowed), in manifest order: elements and their
 * looks, assets and their embeddings, shots. */
const struct merge_item *merge_plan_items(const struct merge_plan *p, size_t *n);
/* How many items are in conflict. */
size_t merge_plan_conflicts(const struct merge_plan *p);

/* The blobs of the manifest that the store does not have yet (borrowed
 * pointers into the manifest, sorted by hash): what a pull downloads. */
const struct manifest_blob *const *merge_plan_missing(const struct merge_plan *p, size_t *n);

/* Reads up to len bytes of a blob's contents into buf: the count read,
 * 0 at the end, -1 with an error set. */
typedef ssize_t merge_read_fn(void *ctx, void *buf, size_t len);

/* Stages the bytes read through read as the manifest's blob hash: into
 * the store's tmp/, counting, and hashing with XXH3-128 and SHA-256 as
 * they pass. Refused (EX_DATAERR, nothing kept) when hash is not one of
 * the manifest's blobs or is staged already, when the bytes are more or
 * fewer than the manifest says (reading stops one byte past), or when
 * either hash differs (each named). Bytes a stored blob already has are
 * deduplicated after a byte-for-byte comparison. Safe to call from
 * several threads at once for different blobs (a pull downloading
 * several at a time); each thread keeps its own error. */
int merge_stage_blob(struct merge_plan *p, const char *hash, merge_read_fn *read, void *ctx);

/* Whether each blob of the manifest is staged or already in the store;
 * -1 with an EX_DATAERR error naming the first that is neither. */
int merge_plan_complete(const struct merge_plan *p);

struct merge_options {
	enum merge_side side;
	/* The room whose fault points merge_apply passes: with "import",
	 * "import-staged" (blobs staged, none published), "import-before-commit"
	 * (blobs published, rows written, not committed) and
	 * "import-after-commit". */
	const char *fault_prefix;
};

/* What merge_apply did. */
struct merge_counts {
	size_t elements_new, elements_updated, elements_same;
	size_t looks_new, assets_new, assets_updated, embeddings_new, embeddings_updated;
	size_t shots_new, shots_updated;
	size_t blobs_stored;	   /* blobs written into objects/ */
	size_t blobs_present;	   /* blobs the store already had */
	uint64_t bytes_stored;	   /* the bytes of blobs_stored */
	size_t conflicts_kept;	   /* conflicts resolved as the store had them */
	size_t conflicts_replaced; /* conflicts resolved with the manifest's fields */
};

/* Applies the plan: refused with nothing changed (EX_DATAERR) when an
 * item is in conflict and opts->side is MERGE_REFUSE, or when a blob is
 * neither staged nor stored (merge_plan_complete); otherwise publishes
 * the staged blobs and writes every new and (by opts->side) changed row
 * in one transaction. counts may be NULL. Applying the same manifest
 * twice changes nothing the second time. */
int merge_apply(struct merge_plan *p, const struct merge_options *opts,
		struct merge_counts *counts);

/* "element", "look", "asset", "embedding", "shot"; "new", "same",
 * "conflict": the words the commands print and put in JSON. */
const char *merge_what_name(enum merge_what what);
const char *merge_state_name(enum merge_state state);

#endif
