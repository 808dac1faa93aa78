/* fuzz-bundle: the bundle reader and the manifest parser on any bytes,
 * read from memory as import reads a pipe (size unknown) and as it reads
 * a file (size known), on alternate inputs. Every blob entry's data is
 * read to its end. Checks that a refusal carries an EX_DATAERR error,
 * that a manifest that parses writes out as JSON that parses again to
 * the same text, and that nothing is read past the input. */
#include "config.h"

#include "bundle.h"
#include "fuzz.h"
#include "manifest.h"
#include "util.h"

struct input {
	const uint8_t *data;
	size_t size, at;
};

static ssize_t read_input(void *ctx, void *buf, size_t len)
{
	struct input *in = ctx;
	size_t left = in->size - in->at;
	/* Short reads, as a pipe gives them. */
	if (len > left)
		len = left;
	if (len > 700)
		len = 700;
	memcpy(buf, in->data + in->at, len);
	in->at += len;
	return (ssize_t)len;
}

static void round_trip(const struct manifest *m)
{
	struct strbuf text = STRBUF_INIT, again = STRBUF_INIT;
	manifest_write(m, &text);
	struct manifest *back = manifest_parse(text.buf, text.len);
	FUZZ_CHECK(back != NULL);
	manifest_write(back, &again);
	FUZZ_CHECK(text.len == again.len && memcmp(text.buf, again.buf, text.len) == 0);
	manifest_free(back);
	sb_release(&text);
	sb_release(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	struct input in = {copy, size, 0};
	struct bundle_reader *r = bundle_reader_new(read_input, &in, size % 2 ? (int64_t)size : -1);
	struct manifest *m = bundle_read_manifest(r);
	if (!m) {
		FUZZ_CHECK(error_code() == EX_DATAERR);
	} else {
		round_trip(m);
		char hash[STORE_HASH_HEX + 1];
		uint64_t bytes;
		int rc;
		unsigned char buf[1024];
		while ((rc = bundle_next(r, hash, &bytes)) == 1) {
			FUZZ_CHECK(strlen(hash) == STORE_HASH_HEX);
			uint64_t got = 0;
			ssize_t n;
			while ((n = bundle_read(r, buf, sizeof(buf))) > 0)
				got += (uint64_t)n;
			FUZZ_CHECK(n == 0 ? got == bytes : error_code() == EX_DATAERR);
			if (n < 0)
				break;
		}
		FUZZ_CHECK(rc >= 0 || error_code() == EX_DATAERR);
		manifest_free(m);
	}
	/* The manifest parser alone, on the input as JSON text. */
	struct manifest *direct = manifest_parse(copy, size);
	if (direct)
		round_trip(direct);
	else
		FUZZ_CHECK(error_code() == EX_DATAERR);
	manifest_free(direct);
	bundle_reader_free(r);
	error_clear();
	free(copy);
	return 0;
}
