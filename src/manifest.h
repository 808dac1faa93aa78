/* manifest: what a selection of the cast is, as a bundle or a remote
 * carries it — elements with their fields, tags, aliases and looks, their
 * assets, the assets' embeddings with each model's identity, and shots
 * with their takes — and every blob it names with its size, XXH3-128 and
 * SHA-256. Built from the catalog, written as JSON, parsed back. The
 * parser trusts nothing: everything merge reads has been checked here.
 * Nothing here prints or writes to the store. */
#ifndef TROUPE_MANIFEST_H
#define TROUPE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "util.h"

struct catalog;

/* The "format" member every manifest carries, and the one version of it
 * this binary reads and writes; any other version is refused. */
#define MANIFEST_FORMAT	 "troupe-manifest"
#define MANIFEST_VERSION 1
#define SHA256_HEX	 64

/* Limits a parsed manifest is held to (a bundle may come from anyone):
 * the JSON text itself, one blob, and how many of each thing. A blob is
 * held to what one ustar entry holds (eleven octal digits, 8 GiB less a
 * byte), so every manifest can travel as a bundle. */
#define MANIFEST_MAX_BYTES  ((size_t)256 << 20)
#define MANIFEST_MAX_BLOB   ((uint64_t)077777777777)
#define MANIFEST_MAX_ITEMS  1000000
#define MANIFEST_MAX_VECTOR 65536

/* A blob by its XXH3-128 (its name in the store), with what verifies it
 * against a hostile source: its size and its SHA-256 (lower-case hex). */
struct manifest_blob {
	char hash[STORE_HASH_HEX + 1];
	char sha256[SHA256_HEX + 1];
	uint64_t bytes;
};

struct manifest_look {
	char *name;
	char *description;
	char *negative;
};

/* An element (a character, location, prop or style). Tags and aliases
 * are sorted, so that two manifests of the same element compare equal. */
struct manifest_element {
	char *slug;
	char *kind;
	char *name;
	char *description;
	char *negative;
	bool has_seed;
	int64_t seed;
	struct strlist tags;
	struct strlist aliases;
	struct manifest_look *looks; /* by name */
	size_t nlooks;
	int64_t created;
	int64_t updated;
};

/* An embedding model's identity: vectors of another network, version or
 * dimension than the store's model of that name cannot join it. */
struct manifest_model {
	char *name;
	uint32_t dimension;
	char *network; /* "" when the model never said */
	char *version; /* "" likewise */
};

struct manifest_embedding {
	size_t model;  /* index into manifest.models */
	float *vector; /* that model's dimension of floats */
	bool has_box;
	double box[4]; /* x, y, width, height: fractions of the picture */
	bool has_score;
	double score;
	int faces; /* 0 when unsaid */
};

/* An asset is known across stores by (blob, element, role): adding never
 * makes two with the same three. */
struct manifest_asset {
	char hash[STORE_HASH_HEX + 1]; /* its blob, one of manifest.blobs */
	char *element;		       /* a slug of manifest.elements, or NULL */
	char *role;
	struct strlist tags; /* sorted, "ns:value" or "value" */
	int width;
	int height;
	char *format;
	char *source; /* the file name it was added from, or NULL */
	int64_t added;
	double duration; /* a video's; 0 and NULL for a picture */
	double fps;
	char *codec;
	bool has_frame;	 /* a frame stored from a video ... */
	size_t frame_of; /* ... that video: an index into manifest.assets */
	double frame_t;
	struct manifest_embedding *embeddings;
	size_t nembeddings;
};

struct manifest_take {
	int number;
	bool has_asset;
	size_t asset; /* index into manifest.assets */
	bool failed;
	char *error; /* NULL unless failed */
	int64_t added;
};

struct manifest_shot {
	char *slug;
	int64_t scene;
	double position;
	char *after; /* the slug of the shot it follows, or NULL */
	char *prompt;
	char *aspect;	 /* NULL when unset */
	double duration; /* 0 when unset */
	bool chain;
	bool has_still;
	size_t still;		     /* index into manifest.assets */
	int chosen;		     /* a take's number; 0: none */
	struct manifest_take *takes; /* by number */
	size_t ntakes;
	int64_t created;
	int64_t updated;
};

struct manifest {
	int version;
	struct manifest_blob *blobs; /* sorted by hash, each once */
	size_t nblobs;
	struct manifest_model *models; /* sorted by name */
	size_t nmodels;
	struct manifest_element *elements; /* sorted by slug */
	size_t nelements;
	struct manifest_asset *assets;
	size_t nassets;
	struct manifest_shot *shots; /* in film order */
	size_t nshots;
};

/* What to put in a manifest; every part may be empty, not all of them. */
struct manifest_selection {
	char *const *elements; /* slugs or aliases: each element whole, with all its assets */
	size_t nelements;
	const char *query;  /* a tag query: the assets it matches, and their elements */
	char *const *shots; /* slugs: each shot, its still and takes, and every
			       element its prompt mentions, whole */
	size_t nshots;
};

/* Called for each blob whose SHA-256 is being computed (they are read
 * whole), so a command can show progress; may be NULL. */
typedef void manifest_progress_fn(size_t done, size_t total, void *ctx);

/* Builds the manifest of a selection from the catalog, reading every blob
 * it names once for its SHA-256. NULL with an error: EX_NOINPUT for an
 * unknown element or shot, EX_DATAERR for a bad query, EX_IOERR for a
 * blob that cannot be read. Free with manifest_free(). */
struct manifest *manifest_build(struct catalog *cat, const struct manifest_selection *sel,
				manifest_progress_fn *progress, void *ctx);

/* Writes m as JSON onto out: the same manifest always gives the same
 * bytes (members in a fixed order, vectors as the base64 of their
 * little-endian float32s). */
void manifest_write(const struct manifest *m, struct strbuf *out);

/* Parses and checks a manifest: the format and version, every field's
 * type and range, slugs, roles, kinds and text (UTF-8, no controls),
 * hashes as lower-case hex, sizes within MANIFEST_MAX_BLOB, every index
 * and slug a part names present in the manifest, each blob, element,
 * look, asset, embedding, shot and take once, vectors finite and of their
 * model's dimension. A file too big is refused before it is parsed. NULL
 * with an EX_DATAERR error naming what is wrong. Free with manifest_free(). */
struct manifest *manifest_parse(const void *data, size_t len);

/* Frees m and everything it holds; NULL is a no-op. */
void manifest_free(struct manifest *m);

/* The blob of that hash among m's (borrowed), or NULL. */
const struct manifest_blob *manifest_blob_find(const struct manifest *m, const char *hash);
/* The element of that slug among m's (borrowed), or NULL. */
const struct manifest_element *manifest_element_find(const struct manifest *m, const char *slug);

/* The sum of the sizes of m's blobs. */
uint64_t manifest_bytes(const struct manifest *m);

#endif
