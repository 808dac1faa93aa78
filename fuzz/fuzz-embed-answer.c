/* fuzz-embed-answer: embed_answer_read() on an answer an embedding
 * service could send. The first four bytes are the picture's width and
 * height (two little-endian int16, so zero and negative sizes come too);
 * the rest is the answer, read once by a profile with a faces list (as
 * profiles/face.json) and once by one without. Checks that a success
 * holds what embed.h promises: 1 to EMBED_MAX_FACES faces of one finite
 * dimension, boxes as fractions inside the picture, scores in [0, 1],
 * printable names; and that clearing frees everything either way. */
#include "config.h"

#include "embed.h"
#include "fuzz.h"

#include <math.h>

static struct profile face_profile(bool faces)
{
	struct profile p;
	memset(&p, 0, sizeof(p));
	p.name = "face";
	p.output = PROFILE_EMBEDDING;
	p.embedding.model = "face";
	p.embedding.vector = "/embedding";
	p.embedding.faces = faces ? "/faces" : NULL;
	p.embedding.box = "/box";
	p.embedding.score = "/score";
	p.embedding.network = "/network";
	p.embedding.version = "/version";
	p.embedding.nothing_error = "no face";
	return p;
}

static void check_name(const char *s, size_t size)
{
	size_t len = strnlen(s, size);
	FUZZ_CHECK(len < size);
	for (size_t i = 0; i < len; i++)
		FUZZ_CHECK(s[i] > ' ' && s[i] < 0x7f);
}

static void check_result(const struct embed_result *r)
{
	FUZZ_CHECK(r->n >= 1 && r->n <= EMBED_MAX_FACES && r->faces);
	check_name(r->network, sizeof(r->network));
	check_name(r->version, sizeof(r->version));
	for (size_t i = 0; i < r->n; i++) {
		const struct embed_face *f = &r->faces[i];
		FUZZ_CHECK(f->vector && f->dim >= 1 && f->dim <= 65536);
		FUZZ_CHECK(f->dim == r->faces[0].dim);
		for (uint32_t d = 0; d < f->dim; d++)
			FUZZ_CHECK(isfinite(f->vector[d]));
		if (f->has_score)
			FUZZ_CHECK(f->score >= 0 && f->score <= 1);
		if (f->has_box) {
			for (int k = 0; k < 4; k++)
				FUZZ_CHECK(f->box[k] >= 0 && f->box[k] <= 1);
			FUZZ_CHECK(f->box[2] > 0 && f->box[3] > 0);
			FUZZ_CHECK(f->box[0] + f->box[2] <= 1 + 1e-9);
			FUZZ_CHECK(f->box[1] + f->box[3] <= 1 + 1e-9);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	int width = (int16_t)(data[0] | data[1] << 8);
	int height = (int16_t)(data[2] | data[3] << 8);
	/* An exact-size copy: the reader is given a length, not a NUL. */
	size_t len = size - 4;
	char *text = malloc(len ? len : 1);
	if (!text)
		abort();
	memcpy(text, data + 4, len);
	for (int faces = 0; faces < 2; faces++) {
		struct profile p = face_profile(faces);
		struct embed_result r;
		int rc = embed_answer_read(&p, text, len, width, height, &r);
		FUZZ_CHECK(rc == 0 || rc == -1 || rc == EMBED_NOTHING);
		FUZZ_CHECK(rc != EMBED_NOTHING || faces);
		if (rc == 0)
			check_result(&r);
		embed_result_clear(&r);
	}
	free(text);
	return 0;
}
