/* Unit tests for embed_answer_read, the reader of what an embedding
 * service answers: every face with its box and score, the network's
 * name, and each way a hostile or broken answer is refused or trimmed. */
#include "config.h"

#include "embed.h"
#include "tap.h"
#include "util.h"

#include <math.h>
#include <string.h>

static struct profile face_profile(void)
{
	struct profile p;
	memset(&p, 0, sizeof(p));
	p.name = "face";
	p.output = PROFILE_EMBEDDING;
	p.embedding.model = "face";
	p.embedding.vector = "/embedding";
	p.embedding.faces = "/faces";
	p.embedding.box = "/box";
	p.embedding.score = "/score";
	p.embedding.network = "/network";
	p.embedding.version = "/version";
	p.embedding.nothing_error = "no face";
	return p;
}

static int read_text(const struct profile *p, const char *text, struct embed_result *r)
{
	return embed_answer_read(p, text, strlen(text), 200, 100, r);
}

static int near(double a, double b)
{
	return fabs(a - b) < 1e-9;
}

int main(void)
{
	struct profile p = face_profile();
	struct embed_result r;

	int rc =
	    read_text(&p,
		      "{\"network\":\"human-faceres\",\"version\":\"3.3.6\",\"embedding\":[1,2],"
		      "\"faces\":[{\"box\":{\"x\":20,\"y\":10,\"width\":100,\"height\":50},"
		      "\"score\":0.9,\"embedding\":[1,2]},{\"box\":{\"x\":-10,\"y\":90,"
		      "\"width\":30,\"height\":30},\"score\":0.6,\"embedding\":[3,4]}]}",
		      &r);
	ok(rc == 0 && r.n == 2, "two faces");
	ok(rc == 0 && !strcmp(r.network, "human-faceres") && !strcmp(r.version, "3.3.6"),
	   "the network and its version");
	ok(rc == 0 && r.faces[0].dim == 2 && r.faces[0].vector[1] == 2 && r.faces[1].vector[0] == 3,
	   "each face's vector, in the order given");
	ok(rc == 0 && r.faces[0].has_box && near(r.faces[0].box[0], 0.1) &&
	       near(r.faces[0].box[1], 0.1) && near(r.faces[0].box[2], 0.5) &&
	       near(r.faces[0].box[3], 0.5),
	   "a box as fractions of the picture");
	ok(rc == 0 && r.faces[1].has_box && near(r.faces[1].box[0], 0) &&
	       near(r.faces[1].box[2], 0.1) && near(r.faces[1].box[3], 0.1),
	   "a box over the edge is clipped to the picture");
	ok(rc == 0 && r.faces[0].has_score && near(r.faces[0].score, 0.9), "the detector's score");
	struct embedding_meta m = embed_result_meta(&r, 1);
	ok(m.faces == 2 && !strcmp(m.network, "human-faceres") && m.has_box && near(m.score, 0.6),
	   "the meta stored with the second face");
	embed_result_clear(&r);

	rc = read_text(&p, "{\"embedding\":[0.5,0.5,0.5]}", &r);
	ok(rc == 0 && r.n == 1 && r.faces[0].dim == 3 && !r.faces[0].has_box && !*r.network,
	   "an answer with one vector and nothing else");
	embed_result_clear(&r);

	rc = read_text(&p, "{\"faces\":[],\"embedding\":[]}", &r);
	ok(rc == EMBED_NOTHING && error_code() == EX_DATAERR &&
	       !strcmp(error_message(), "no face in the image"),
	   "an empty list of faces is nothing to embed");
	embed_result_clear(&r);

	rc = read_text(&p, "{\"faces\":[{\"embedding\":[1,2]},{\"embedding\":[1,2,3]}]}", &r);
	ok(rc < 0 && error_code() == EX_PROTOCOL && strstr(error_message(), "face 2"),
	   "faces of two dimensions are refused");
	embed_result_clear(&r);

	rc = read_text(&p, "{\"faces\":[{\"embedding\":[1,\"2\"]}]}", &r);
	ok(rc < 0 && error_code() == EX_PROTOCOL, "a string in a face's vector");
	embed_result_clear(&r);

	rc = read_text(&p, "{\"faces\":[{\"embedding\":[1,1e39]}]}", &r);
	ok(rc < 0 && error_code() == EX_PROTOCOL, "a number beyond float's range");
	embed_result_clear(&r);

	rc = read_text(&p, "{\"faces\":{\"embedding\":[1]}}", &r);
	ok(rc < 0 && error_code() == EX_PROTOCOL, "faces that are not a list");
	embed_result_clear(&r);

	rc = read_text(&p, "[1,2,3]", &r);
	ok(rc < 0 && error_code() == EX_PROTOCOL, "an answer that is not an object");
	embed_result_clear(&r);

	rc = read_text(&p, "{\"embedding\":[1,2", &r);
	ok(rc < 0 && error_code() == EX_PROTOCOL, "an answer cut short");
	embed_result_clear(&r);

	struct strbuf many = STRBUF_INIT;
	sb_adds(&many, "{\"faces\":[");
	for (int i = 0; i < 100; i++)
		sb_addf(&many, "%s{\"embedding\":[%d,1]}", i ? "," : "", i + 1);
	sb_adds(&many, "]}");
	rc = read_text(&p, sb_str(&many), &r);
	ok(rc == 0 && r.n == EMBED_MAX_FACES && r.faces[EMBED_MAX_FACES - 1].vector[0] == 64,
	   "a hundred faces: the largest %d are kept", EMBED_MAX_FACES);
	embed_result_clear(&r);
	sb_release(&many);

	rc = read_text(&p,
		       "{\"network\":\"two words\",\"version\":\"\\u001b[31m\",\"faces\":[{"
		       "\"embedding\":[1],\"score\":7,\"box\":{\"x\":0,\"y\":0,\"width\":-5,"
		       "\"height\":5}},{\"embedding\":[1],\"box\":{\"x\":500,\"y\":0,\"width\":5,"
		       "\"height\":5}},{\"embedding\":[1],\"box\":{\"x\":1e300,\"y\":0,\"width\":5,"
		       "\"height\":5}},{\"embedding\":[1],\"box\":[1,2,3,4]}]}",
		       &r);
	ok(rc == 0 && r.n == 4 && !*r.network && !*r.version,
	   "a network name with a space or an escape is not taken");
	ok(rc == 0 && !r.faces[0].has_score && !r.faces[0].has_box && !r.faces[1].has_box &&
	       !r.faces[2].has_box && !r.faces[3].has_box,
	   "boxes that are negative, outside, absurd or not objects are left out, and a score "
	   "over 1");
	embed_result_clear(&r);

	struct profile plain = face_profile();
	plain.embedding.faces = NULL;
	rc = read_text(&plain, "{\"embedding\":[1,2],\"faces\":[{\"embedding\":[9]}]}", &r);
	ok(rc == 0 && r.n == 1 && r.faces[0].dim == 2,
	   "a profile that names no list reads the one vector");
	embed_result_clear(&r);
	return tap_done();
}
