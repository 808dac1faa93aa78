/* fuzz-s3-xml: the XML answers object storage gives (s3-xml.h) on any
 * bytes: a listing, an error and one element's text. Whatever arrives,
 * nothing is read past the input, every key handed out is non-empty
 * UTF-8 without NUL, and a truncated listing always comes with its
 * continuation token. */
#include "config.h"

#include "fuzz.h"
#include "s3-xml.h"
#include "util.h"

static int each(const char *key, uint64_t bytes, void *ctx)
{
	(void)bytes;
	(void)ctx;
	FUZZ_CHECK(*key && utf8_valid(key, strlen(key)));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy, so a read one byte past is caught. */
	char *xml = malloc(size ? size : 1);
	if (!xml)
		return 0;
	memcpy(xml, data, size);
	bool truncated;
	char *next;
	int rc = s3xml_list(xml, size, each, NULL, &truncated, &next);
	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_CHECK(rc != 0 || !truncated || (next && *next));
	free(next);
	char *code, *message;
	if (s3xml_error(xml, size, &code, &message) == 0) {
		FUZZ_CHECK(!code || utf8_valid(code, strlen(code)));
		free(code);
		free(message);
	}
	free(s3xml_text(xml, size, "UploadId"));
	free(xml);
	return 0;
}
