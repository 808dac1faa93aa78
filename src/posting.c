/* posting: the posting-list file and flat bitmaps. A list is stored as
 * Roaring's containers do it: ids grouped by their high bits into chunks
 * of 65,536, each chunk an array of 16-bit offsets when it holds up to
 * 4,096 ids and a 65,536-bit bitmap when it holds more, so a list costs at
 * most two bytes an id and a dense one an eighth of that. The invariant a
 * reader keeps: no list is ORed into a bitmap before its bounds, order,
 * count and checksum are checked, so a torn or foreign file gives an error,
 * never a wrong answer or a read out of bounds. */
#include "config.h"

#include "posting.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <xxhash.h>

static const char posting_magic[8] = {'T', 'R', 'P', 'O', 'S', 'T', '0', '1'};

enum {
	CHUNK_BITS = 16,
	CHUNK_IDS = 1 << CHUNK_BITS,
	CHUNK_WORDS = CHUNK_IDS / 64,
	ARRAY_MAX = 4096, /* past this, a bitmap is smaller than the array */
};

struct posting_header {
	char magic[8];
	uint64_t generation;
	uint64_t id_limit; /* a multiple of 64, at most POSTING_MAX_ID */
	uint32_t counts[POSTING_SECTIONS];
	uint64_t data_size;
	uint64_t reserved;
	uint64_t checksum; /* of the bytes above */
};

/* A list's place in the data, its number of chunks and ids, and the
 * checksum of its bytes seeded with the rest of the entry and its
 * section and index, so that an entry moved, zeroed or pointed elsewhere
 * by damage does not check. */
struct posting_entry {
	uint64_t offset;
	uint32_t chunks;
	uint32_t ids;
	uint64_t checksum;
};

struct chunk_header {
	uint32_t key;
	uint32_t ids;
};

static uint64_t header_checksum(const struct posting_header *h)
{
	return XXH3_64bits(h, offsetof(struct posting_header, checksum));
}

static uint64_t list_checksum(enum posting_section section, uint64_t i,
			      const struct posting_entry *e, const uint8_t *list, size_t len)
{
	uint64_t fields[2] = {e->offset, (uint64_t)e->chunks << 32 | e->ids};
	uint64_t seed = XXH3_64bits_withSeed(
	    fields, sizeof(fields), ((uint64_t)section << 40) ^ i ^ UINT64_C(0x9e3779b97f4a7c15));
	return XXH3_64bits_withSeed(list, len, seed);
}

/* Bytes of a chunk's payload after its header, padded to 8. */
static size_t payload_size(uint32_t ids)
{
	return ids > ARRAY_MAX ? CHUNK_WORDS * 8 : ((size_t)ids * 2 + 7) & ~(size_t)7;
}

/* ---------------------------------------------------------------- writing */

struct posting_builder {
	struct posting_header header;
	uint64_t total;
	struct posting_entry *entries;
	uint64_t first[POSTING_SECTIONS]; /* index of each section's first entry */
	uint8_t *data;
	size_t len, cap;
};

struct posting_builder *posting_builder_new(uint64_t generation, uint64_t id_limit,
					    const uint32_t counts[POSTING_SECTIONS])
{
	if (id_limit > POSTING_MAX_ID) {
		error_set(EX_SOFTWARE, "posting lists: ids up to %llu, past the limit",
			  (unsigned long long)id_limit);
		return NULL;
	}
	struct posting_builder *b = xcalloc(1, sizeof(*b));
	memcpy(b->header.magic, posting_magic, sizeof(posting_magic));
	b->header.generation = generation;
	b->header.id_limit = (id_limit + 63) & ~UINT64_C(63);
	for (int s = 0; s < POSTING_SECTIONS; s++) {
		b->header.counts[s] = counts[s];
		b->first[s] = b->total;
		b->total += counts[s];
	}
	b->entries = xcalloc(b->total ? b->total : 1, sizeof(*b->entries));
	for (int s = 0; s < POSTING_SECTIONS; s++)
		for (uint32_t i = 0; i < counts[s]; i++) {
			struct posting_entry *e = &b->entries[b->first[s] + i];
			e->checksum = list_checksum(s, i, e, NULL, 0);
		}
	return b;
}

static void *grow(struct posting_builder *b, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 1 << 16;
		while (cap < b->len + n)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	void *at = b->data + b->len;
	memset(at, 0, n);
	b->len += n;
	return at;
}

int posting_builder_set(struct posting_builder *b, enum posting_section section, uint32_t i,
			const uint32_t *ids, size_t n)
{
	if (section >= POSTING_SECTIONS || i >= b->header.counts[section])
		return error_set(EX_SOFTWARE, "posting lists: no list %u in section %d", i,
				 section);
	struct posting_entry *e = &b->entries[b->first[section] + i];
	if (e->chunks)
		return error_set(EX_SOFTWARE, "posting lists: list %u set twice", i);
	for (size_t k = 0; k < n; k++)
		if (ids[k] >= b->header.id_limit || (k && ids[k] <= ids[k - 1]))
			return error_set(EX_SOFTWARE, "posting lists: ids out of order or range");
	size_t start = b->len;
	e->offset = start;
	e->ids = (uint32_t)n;
	for (size_t k = 0; k < n;) {
		uint32_t key = ids[k] >> CHUNK_BITS;
		size_t end = k;
		while (end < n && ids[end] >> CHUNK_BITS == key)
			end++;
		uint32_t count = (uint32_t)(end - k);
		struct chunk_header h = {key, count};
		memcpy(grow(b, sizeof(h)), &h, sizeof(h));
		uint8_t *payload = grow(b, payload_size(count));
		if (count > ARRAY_MAX) {
			uint64_t words[CHUNK_WORDS] = {0};
			for (size_t j = k; j < end; j++) {
				uint32_t low = ids[j] & (CHUNK_IDS - 1);
				words[low / 64] |= UINT64_C(1) << (low % 64);
			}
			memcpy(payload, words, sizeof(words));
		} else {
			for (size_t j = k; j < end; j++) {
				uint16_t low = (uint16_t)(ids[j] & (CHUNK_IDS - 1));
				memcpy(payload + (j - k) * 2, &low, 2);
			}
		}
		e->chunks++;
		k = end;
	}
	/* No data yet is no pointer yet: nothing to offset. */
	e->checksum =
	    list_checksum(section, i, e, b->data ? b->data + start : NULL, b->len - start);
	return 0;
}

int posting_builder_write(struct posting_builder *b, const char *path)
{
	b->header.data_size = b->len;
	b->header.checksum = header_checksum(&b->header);
	struct iovec parts[] = {{&b->header, sizeof(b->header)},
				{b->entries, b->total * sizeof(*b->entries)},
				{b->data, b->len}};
	int rc = file_write_atomicv(path, parts, 3);
	posting_builder_free(b);
	return rc;
}

void posting_builder_bytes(struct posting_builder *b, uint8_t **data, size_t *size)
{
	b->header.data_size = b->len;
	b->header.checksum = header_checksum(&b->header);
	size_t dir = b->total * sizeof(*b->entries);
	*size = sizeof(b->header) + dir + b->len;
	*data = xmalloc(*size);
	memcpy(*data, &b->header, sizeof(b->header));
	memcpy(*data + sizeof(b->header), b->entries, dir);
	if (b->len)
		memcpy(*data + sizeof(b->header) + dir, b->data, b->len);
	posting_builder_free(b);
}

void posting_builder_free(struct posting_builder *b)
{
	if (!b)
		return;
	free(b->entries);
	free(b->data);
	free(b);
}

/* ---------------------------------------------------------------- reading */

struct posting_file {
	const uint8_t *base;
	size_t size;
	bool mapped;
	struct posting_header header;
	const uint8_t *entries; /* unaligned reads only: memcpy */
	uint64_t first[POSTING_SECTIONS];
	const uint8_t *data;
	size_t words;
};

static struct posting_file *check_header(const uint8_t *base, size_t size, bool mapped)
{
	struct posting_header h;
	if (size < sizeof(h)) {
		error_set(EX_DATAERR, "posting lists: file too short");
		return NULL;
	}
	memcpy(&h, base, sizeof(h));
	if (memcmp(h.magic, posting_magic, sizeof(posting_magic)) != 0 ||
	    h.checksum != header_checksum(&h)) {
		error_set(EX_DATAERR, "posting lists: not a posting-list file");
		return NULL;
	}
	uint64_t total = 0;
	for (int s = 0; s < POSTING_SECTIONS; s++)
		total += h.counts[s];
	/* Each operand is checked against the size, so none of the sums can
	 * wrap: the counts are 32-bit and the file is mapped memory. */
	if (h.id_limit % 64 || h.id_limit > POSTING_MAX_ID || h.data_size > size - sizeof(h) ||
	    total > (size - sizeof(h) - h.data_size) / sizeof(struct posting_entry) ||
	    sizeof(h) + total * sizeof(struct posting_entry) + h.data_size != size) {
		error_set(EX_DATAERR, "posting lists: the size does not match the header");
		return NULL;
	}
	struct posting_file *f = xcalloc(1, sizeof(*f));
	f->base = base;
	f->size = size;
	f->mapped = mapped;
	f->header = h;
	f->entries = base + sizeof(h);
	uint64_t first = 0;
	for (int s = 0; s < POSTING_SECTIONS; s++) {
		f->first[s] = first;
		first += h.counts[s];
	}
	f->data = f->entries + total * sizeof(struct posting_entry);
	f->words = (size_t)(h.id_limit / 64);
	return f;
}

struct posting_file *posting_file_open(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		error_set(errno == ENOENT ? EX_NOINPUT : EX_IOERR, "%s: %s", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size < (off_t)sizeof(struct posting_header)) {
		close(fd);
		error_set(EX_DATAERR, "%s: not a posting-list file", path);
		return NULL;
	}
	/* Not populated: a query reads only the pages of the lists it names. */
	void *base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (base == MAP_FAILED) {
		error_set(EX_IOERR, "%s: %s", path, strerror(errno));
		return NULL;
	}
	struct posting_file *f = check_header(base, (size_t)st.st_size, true);
	if (!f) {
		munmap(base, (size_t)st.st_size);
		error_prefix("%s", path);
	}
	return f;
}

struct posting_file *posting_file_from_buffer(const void *data, size_t size)
{
	return check_header(data, size, false);
}

void posting_file_close(struct posting_file *f)
{
	if (!f)
		return;
	if (f->mapped)
		munmap((void *)f->base, f->size);
	free(f);
}

uint64_t posting_file_generation(const struct posting_file *f)
{
	return f->header.generation;
}

size_t posting_file_words(const struct posting_file *f)
{
	return f->words;
}

uint32_t posting_file_count(const struct posting_file *f, enum posting_section section)
{
	return section < POSTING_SECTIONS ? f->header.counts[section] : 0;
}

static int damaged(enum posting_section section, uint64_t i, const char *why)
{
	return error_set(EX_DATAERR, "posting lists: list %llu of section %d: %s",
			 (unsigned long long)i, section, why);
}

/* The list's byte length, walking its chunk headers: every chunk must lie
 * inside the data, in key order, under the id limit, with a count its
 * kind allows. */
static int list_extent(const struct posting_file *f, enum posting_section section, uint64_t i,
		       const struct posting_entry *e, size_t *len)
{
	uint64_t avail = f->header.data_size,
		 keys = (f->header.id_limit + CHUNK_IDS - 1) / CHUNK_IDS;
	if (e->offset > avail || e->offset % 8)
		return damaged(section, i, "outside the file");
	uint64_t pos = e->offset, ids = 0;
	int64_t last_key = -1;
	for (uint32_t c = 0; c < e->chunks; c++) {
		struct chunk_header h;
		if (avail - pos < sizeof(h))
			return damaged(section, i, "outside the file");
		memcpy(&h, f->data + pos, sizeof(h));
		if ((int64_t)h.key <= last_key || h.key >= keys || h.ids == 0 || h.ids > CHUNK_IDS)
			return damaged(section, i, "chunks out of order");
		last_key = h.key;
		pos += sizeof(h);
		if (avail - pos < payload_size(h.ids))
			return damaged(section, i, "outside the file");
		pos += payload_size(h.ids);
		ids += h.ids;
	}
	if (ids != e->ids)
		return damaged(section, i, "the count does not match");
	*len = (size_t)(pos - e->offset);
	return 0;
}

int posting_file_or(const struct posting_file *f, enum posting_section section, uint64_t i,
		    uint64_t *bits)
{
	if (section >= POSTING_SECTIONS || i >= f->header.counts[section])
		return 0;
	struct posting_entry e;
	memcpy(&e, f->entries + (f->first[section] + i) * sizeof(e), sizeof(e));
	size_t len = 0;
	if (list_extent(f, section, i, &e, &len) < 0)
		return -1;
	const uint8_t *list = f->data + e.offset;
	if (list_checksum(section, i, &e, list, len) != e.checksum)
		return damaged(section, i, "checksum mismatch");
	size_t pos = 0;
	for (uint32_t c = 0; c < e.chunks; c++) {
		struct chunk_header h;
		memcpy(&h, list + pos, sizeof(h));
		pos += sizeof(h);
		size_t base = (size_t)h.key * CHUNK_WORDS;
		const uint8_t *payload = list + pos;
		if (h.ids > ARRAY_MAX) {
			uint64_t seen = 0;
			for (size_t w = 0; w < CHUNK_WORDS; w++) {
				uint64_t word;
				memcpy(&word, payload + w * 8, 8);
				seen += (uint64_t)__builtin_popcountll(word);
				if (!word)
					continue;
				if (base + w >= f->words)
					return damaged(section, i, "ids past the limit");
				bits[base + w] |= word;
			}
			if (seen != h.ids)
				return damaged(section, i, "the count does not match");
		} else {
			uint32_t prev = 0;
			for (uint32_t k = 0; k < h.ids; k++) {
				uint16_t low;
				memcpy(&low, payload + (size_t)k * 2, 2);
				if (k && low <= prev)
					return damaged(section, i, "ids out of order");
				prev = low;
				size_t word = base + low / 64;
				if (word >= f->words)
					return damaged(section, i, "ids past the limit");
				bits[word] |= UINT64_C(1) << (low % 64);
			}
		}
		pos += payload_size(h.ids);
	}
	return 0;
}

/* ---------------------------------------------------------------- bitmaps */

/* The popcnt clone uses the CPU's instruction where there is one; static,
 * as clang makes no plain symbol for a cloned function. */
__attribute__((target_clones("popcnt", "default"))) static uint64_t count_bits(const uint64_t *bits,
									       size_t words)
{
	uint64_t n = 0;
	for (size_t w = 0; w < words; w++)
		n += (uint64_t)__builtin_popcountll(bits[w]);
	return n;
}

uint64_t posting_bits_count(const uint64_t *bits, size_t words)
{
	return count_bits(bits, words);
}

size_t posting_bits_ids(const uint64_t *bits, size_t words, bool from_top, int64_t *ids, size_t max)
{
	size_t n = 0;
	for (size_t k = 0; k < words && n < max; k++) {
		size_t w = from_top ? words - 1 - k : k;
		uint64_t word = bits[w];
		while (word && n < max) {
			int b = from_top ? 63 - __builtin_clzll(word) : __builtin_ctzll(word);
			ids[n++] = (int64_t)(w * 64 + (size_t)b);
			word &= ~(UINT64_C(1) << b);
		}
	}
	return n;
}
