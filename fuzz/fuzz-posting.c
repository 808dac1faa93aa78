/* fuzz-posting: the posting-list file reader (posting.h) on any bytes,
 * two ways. An input whose first byte is even is a file as it stands: the
 * reader may refuse it or any list in it, but reads nothing out of bounds
 * and writes no bit past the bitmap it is given. Any other input describes
 * lists (an id limit, then 16-bit gaps between ids, a zero gap ending a
 * list): the file the builder makes of them must read back exactly, and
 * the same file with one byte changed, at a place and by a value the
 * input's last four bytes choose, must be refused, in its header or in
 * the list the byte belongs to, never read as other lists. */
#include "config.h"

#include "fuzz.h"
#include "posting.h"
#include "util.h"

enum { MAX_LISTS = 8 };

/* Every list of every section ORed into bits; false when any is refused. */
static bool read_all(const struct posting_file *f, uint64_t *bits)
{
	bool clean = true;
	for (int s = 0; s < POSTING_SECTIONS; s++)
		for (uint32_t i = 0; i < posting_file_count(f, s); i++)
			clean &= posting_file_or(f, s, i, bits) == 0;
	return clean;
}

static void raw(const uint8_t *data, size_t size)
{
	/* A copy of its own size, so a read past the end is ASan's to see. */
	uint8_t *copy = xmalloc(size ? size : 1);
	memcpy(copy, data, size);
	struct posting_file *f = posting_file_from_buffer(copy, size);
	if (f) {
		size_t words = posting_file_words(f);
		uint64_t *bits = xcalloc(words ? words : 1, sizeof(*bits));
		read_all(f, bits);
		free(bits);
		posting_file_close(f);
	}
	free(copy);
}

static void built(const uint8_t *data, size_t size)
{
	if (size < 4)
		return;
	/* Up to 2^20 ids: bitmaps of 16,384 words keep the runs quick. */
	uint64_t id_limit =
	    1 + (((uint64_t)data[1] << 16 | (uint64_t)data[2] << 8 | data[3]) & 0xfffff);
	uint32_t *lists[MAX_LISTS] = {0};
	size_t lens[MAX_LISTS] = {0}, caps[MAX_LISTS] = {0}, n = 1;
	uint64_t id = 0;
	bool started = false;
	size_t end = size >= 8 ? size - 4 : size;
	for (size_t at = 4; at + 1 < end; at += 2) {
		uint32_t gap = (uint32_t)data[at] << 8 | data[at + 1];
		if (gap == 0) {
			if (n == MAX_LISTS)
				break;
			n++, id = 0, started = false;
			continue;
		}
		id = started ? id + gap : gap - 1;
		started = true;
		if (id >= id_limit)
			continue;
		size_t l = n - 1;
		if (lens[l] == caps[l]) {
			caps[l] = caps[l] ? caps[l] * 2 : 64;
			lists[l] = xrealloc(lists[l], caps[l] * sizeof(uint32_t));
		}
		lists[l][lens[l]++] = (uint32_t)id;
	}
	uint32_t counts[POSTING_SECTIONS] = {(uint32_t)n, 0, 0, 1};
	struct posting_builder *b = posting_builder_new(7, id_limit, counts);
	FUZZ_CHECK(b != NULL);
	for (size_t l = 0; l < n; l++)
		FUZZ_CHECK(posting_builder_set(b, POSTING_TAGS, (uint32_t)l, lists[l], lens[l]) ==
			   0);
	uint8_t *file;
	size_t file_size;
	posting_builder_bytes(b, &file, &file_size);

	struct posting_file *f = posting_file_from_buffer(file, file_size);
	FUZZ_CHECK(f != NULL);
	size_t words = posting_file_words(f);
	FUZZ_CHECK(words * 64 >= id_limit);
	uint64_t *bits = xcalloc(words ? words : 1, sizeof(*bits));
	for (size_t l = 0; l < n; l++) {
		memset(bits, 0, words * sizeof(*bits));
		FUZZ_CHECK(posting_file_or(f, POSTING_TAGS, (uint32_t)l, bits) == 0);
		FUZZ_CHECK(posting_bits_count(bits, words) == lens[l]);
		for (size_t k = 0; k < lens[l]; k++)
			FUZZ_CHECK(bits[lists[l][k] / 64] >> (lists[l][k] % 64) & 1);
	}
	posting_file_close(f);

	if (size >= 8) {
		const uint8_t *d = data + size - 4;
		size_t at = ((size_t)d[0] << 16 | (size_t)d[1] << 8 | d[2]) % file_size;
		uint8_t change = d[3] ? d[3] : 0x80;
		file[at] ^= change;
		f = posting_file_from_buffer(file, file_size);
		if (f) {
			memset(bits, 0, words * sizeof(*bits));
			FUZZ_CHECK(!read_all(f, bits));
			posting_file_close(f);
		}
	}
	free(bits);
	free(file);
	for (size_t l = 0; l < MAX_LISTS; l++)
		free(lists[l]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	error_clear();
	if (size && data[0] % 2)
		built(data, size);
	else
		raw(data, size);
	return 0;
}
