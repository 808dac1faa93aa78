/* posting: the posting-list file beside the index (cache/postings.idx) and
 * the flat bitmaps a query is evaluated on. Pure C: no SQL, no store; the
 * rows come from tagindex.c. The file is a cache, never the only copy of
 * anything, and a reader trusts no byte of it that it has not checked. */
#ifndef TROUPE_POSTING_H
#define TROUPE_POSTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The lists a file holds, each indexed by a small integer: a tag's assets
 * (its own and its character's) by tag id, a character's assets by
 * character id, a role's assets by its index in role_names, and every
 * asset. */
enum posting_section {
	POSTING_TAGS,
	POSTING_CHARACTERS,
	POSTING_ROLES,
	POSTING_ALL,
	POSTING_SECTIONS
};

/* Asset ids from 0 to POSTING_MAX_ID - 1: a flat bitmap of that many bits
 * is 32 MiB, the most one operand of a query may cost. */
#define POSTING_MAX_ID (UINT64_C(1) << 28)

/* ---- writing ---- */

struct posting_builder;

/* A builder for a file of generation whose asset ids are all below
 * id_limit (<= POSTING_MAX_ID), with counts[s] lists in section s. */
struct posting_builder *posting_builder_new(uint64_t generation, uint64_t id_limit,
					    const uint32_t counts[POSTING_SECTIONS]);
/* Sets list i of section to ids (strictly ascending, each < id_limit);
 * each list is set at most once, an unset one is empty. -1 with an error
 * for ids out of order or range. */
int posting_builder_set(struct posting_builder *b, enum posting_section section, uint32_t i,
			const uint32_t *ids, size_t n);
/* Writes the file (a temporary name, then renamed) and frees b. */
int posting_builder_write(struct posting_builder *b, const char *path);
/* The file's bytes in one allocation (*data, the caller frees), for
 * tests and the fuzzer; frees b. */
void posting_builder_bytes(struct posting_builder *b, uint8_t **data, size_t *size);
void posting_builder_free(struct posting_builder *b);

/* ---- reading ---- */

struct posting_file;

/* Maps path after checking its header and directory; NULL with an error
 * for a missing, short or malformed file. Only the header and directory
 * are read here; each list is checked (bounds, order, checksum) when it is
 * first used. */
struct posting_file *posting_file_open(const char *path);
/* The same over a buffer the caller keeps alive until posting_file_close
 * (for tests and the fuzzer). */
struct posting_file *posting_file_from_buffer(const void *data, size_t size);
void posting_file_close(struct posting_file *f);
uint64_t posting_file_generation(const struct posting_file *f);
/* Bitmaps for this file have this many 64-bit words. */
size_t posting_file_words(const struct posting_file *f);
/* The number of lists in section. */
uint32_t posting_file_count(const struct posting_file *f, enum posting_section section);
/* ORs list i of section into bits (posting_file_words() words); a list
 * past the section's end is empty. -1 with an EX_DATAERR error when the
 * list is damaged (bits may then be partly written). */
int posting_file_or(const struct posting_file *f, enum posting_section section, uint64_t i,
		    uint64_t *bits);

/* ---- flat bitmaps ---- */

uint64_t posting_bits_count(const uint64_t *bits, size_t words);
/* Up to max ids (ascending, or descending when from_top) of the set bits
 * into ids; returns how many. */
size_t posting_bits_ids(const uint64_t *bits, size_t words, bool from_top, int64_t *ids,
			size_t max);

#endif
