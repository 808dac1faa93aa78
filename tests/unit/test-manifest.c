/* Unit tests for the manifest: the incremental SHA-256 against the
 * one-shot one, a manifest built from a real store with real pictures
 * and embeddings, its JSON written and parsed back the same, and each
 * rule of the parser, broken one at a time on a valid manifest, refused
 * with a message that names what is wrong. */
#include "config.h"

#include "catalog.h"
#include "character.h"
#include "embedding.h"
#include "ingest.h"
#include "json.h"
#include "look.h"
#include "manifest.h"
#include "sha256.h"
#include "tap.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static const char base[] =
    "{\"format\":\"troupe-manifest\",\"version\":1,"
    "\"blobs\":[{\"hash\":\"0123456789abcdef0123456789abcdef\",\"bytes\":3,"
    "\"sha256\":\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"}],"
    "\"models\":[{\"name\":\"toy\",\"dimension\":2,\"network\":\"\",\"version\":\"\"}],"
    "\"elements\":[{\"slug\":\"mei\",\"kind\":\"character\",\"name\":\"Mei\","
    "\"description\":\"\",\"negative\":\"\",\"seed\":7,\"tags\":[\"hero\"],\"aliases\":[],"
    "\"looks\":[{\"name\":\"winter\",\"description\":\"coat\",\"negative\":\"\"}],"
    "\"created\":1,\"updated\":2}],"
    "\"assets\":[{\"blob\":\"0123456789abcdef0123456789abcdef\",\"element\":\"mei\","
    "\"role\":\"face\",\"tags\":[\"look:winter\"],\"width\":4,\"height\":4,\"format\":\"png\","
    "\"source\":null,\"added\":3,\"embeddings\":[{\"model\":\"toy\",\"vector\":\"AACAPwAAAAA=\"}]}]"
    ","
    "\"shots\":[{\"slug\":\"s01\",\"scene\":1,\"position\":1,\"after\":null,\"prompt\":\"@mei\","
    "\"aspect\":null,\"duration\":null,\"chain\":false,\"still\":0,\"chosen\":0,\"takes\":[],"
    "\"created\":4,\"updated\":5}]}";

/* The base manifest with the value at pointer replaced by json (NULL:
 * removed), parsed; whether it was refused, with a message matching. */
static bool refused(const char *pointer, const char *json, const char *message)
{
	cJSON *root = cJSON_Parse(base);
	if (json)
		jp_set(root, pointer, cJSON_Parse(json));
	else {
		char *parent = xstrdup(pointer);
		char *slash = strrchr(parent, '/');
		*slash = '\0';
		cJSON_DeleteItemFromObjectCaseSensitive(jp_get(root, parent), slash + 1);
		free(parent);
	}
	char *text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	error_clear();
	struct manifest *m = manifest_parse(text, strlen(text));
	free(text);
	bool no = m == NULL && error_code() == EX_DATAERR && strstr(error_message(), message);
	if (!no)
		fprintf(stderr, "# %s: %s\n", pointer, m ? "accepted" : error_message());
	manifest_free(m);
	return no;
}

/* The base manifest with the value at pointer replaced by json, parsed;
 * whether it was accepted. */
static bool accepted(const char *pointer, const char *json)
{
	cJSON *root = cJSON_Parse(base);
	jp_set(root, pointer, cJSON_Parse(json));
	char *text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	error_clear();
	struct manifest *m = manifest_parse(text, strlen(text));
	free(text);
	if (!m)
		fprintf(stderr, "# %s: %s\n", pointer, error_message());
	bool yes = m != NULL;
	manifest_free(m);
	return yes;
}

static void test_sha256(void)
{
	uint8_t one[32], two[32];
	char hex[65];
	sha256("abc", 3, one);
	sha256_hex(one, hex);
	is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	       "SHA-256 of \"abc\" (FIPS 180-4's example)");
	unsigned char data[1000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7);
	bool same = true;
	for (size_t split = 0; split <= 200 && same; split += 1) {
		struct sha256_ctx c;
		sha256_init(&c);
		sha256_update(&c, data, split);
		sha256_update(&c, data + split, 63);
		sha256_update(&c, data + split + 63, sizeof(data) - split - 63);
		sha256_final(&c, two);
		sha256(data, sizeof(data), one);
		same = memcmp(one, two, 32) == 0;
	}
	ok(same, "the incremental SHA-256 equals the one-shot one, split anywhere");
}

static void test_parse(void)
{
	struct manifest *m = manifest_parse(base, strlen(base));
	ok_or_bail(m != NULL, "a valid manifest parses");
	ok(m->nblobs == 1 && m->nelements == 1 && m->nassets == 1 && m->nshots == 1,
	   "its parts are all read");
	ok(m->elements[0].has_seed && m->elements[0].seed == 7 && m->elements[0].nlooks == 1,
	   "the seed and the look");
	ok(m->assets[0].nembeddings == 1 && m->assets[0].embeddings[0].vector[0] == 1.0f &&
	       m->assets[0].embeddings[0].vector[1] == 0.0f,
	   "the vector is decoded from little-endian float32s");
	ok(m->shots[0].has_still && m->shots[0].still == 0, "the shot's still is an index");
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	manifest_write(m, &a);
	struct manifest *again = manifest_parse(a.buf, a.len);
	ok(again != NULL, "what manifest_write writes parses");
	if (again)
		manifest_write(again, &b);
	ok(a.len == b.len && memcmp(a.buf, b.buf, a.len) == 0, "and writes the same bytes again");
	ok(manifest_blob_find(m, "0123456789abcdef0123456789abcdef") == &m->blobs[0] &&
	       !manifest_blob_find(m, "ffffffffffffffffffffffffffffffff"),
	   "blobs are found by hash");
	manifest_free(again);
	manifest_free(m);
	sb_release(&a);
	sb_release(&b);

	ok(refused("/format", "\"tar\"", "not a troupe manifest"), "another format");
	ok(refused("/version", "2", "version 2; this troupe reads version 1 only"),
	   "another version");
	ok(refused("/version", NULL, "no version"), "no version");
	ok(refused("/blobs/0/hash", "\"0123456789ABCDEF0123456789ABCDEF\"", "lower-case hex"),
	   "an upper-case hash");
	ok(refused("/blobs/0/hash", "\"../../etc/passwd\"", "lower-case hex"), "a path as a hash");
	ok(refused("/blobs/0/sha256", "\"00\"", "64 lower-case hex"), "a short SHA-256");
	ok(refused("/blobs/0/bytes", "1e18", "not a whole number in range"), "an absurd size");
	ok(refused("/blobs/0/bytes", "-1", "not a whole number in range"), "a negative size");
	ok(refused("/blobs/0/bytes", "8589934592", "not a whole number in range"),
	   "8 GiB, a byte more than one bundle entry holds");
	ok(accepted("/blobs/0/bytes", "8589934591"), "8 GiB less a byte, the largest entry");
	ok(refused("/blobs/-",
		   "{\"hash\":\"0123456789abcdef0123456789abcdef\",\"bytes\":3,\"sha256\":"
		   "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"}",
		   "listed twice"),
	   "a blob twice");
	ok(refused("/blobs/-",
		   "{\"hash\":\"ffffffffffffffffffffffffffffffff\",\"bytes\":3,\"sha256\":"
		   "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"}",
		   "no asset names it"),
	   "a blob no asset names");
	ok(refused("/elements/0/slug", "\"Mei!\"", "elements[0].slug"), "a bad slug");
	ok(refused("/elements/0/kind", "\"monster\"", "not a kind"), "an unknown kind");
	ok(refused("/elements/0/kind", "\"prop\"", "only a character has looks"), "a prop's look");
	ok(refused("/elements/0/seed", "4294967296", "not a whole number in range"),
	   "a seed too large");
	ok(refused("/elements/0/name", "\"a\\u0007bell\"", "control"), "a control character");
	ok(refused("/elements/0/tags", "[\"a\",\"a\"]", "twice"), "a tag twice");
	ok(refused("/elements/0/aliases", "[\"mei\"]", "mei names both mei and mei"),
	   "an alias that is a slug");
	ok(refused("/elements/0/looks/-",
		   "{\"name\":\"winter\",\"description\":\"\","
		   "\"negative\":\"\"}",
		   "look winter comes twice"),
	   "a look twice");
	ok(refused("/assets/0/blob", "\"ffffffffffffffffffffffffffffffff\"",
		   "not one of the "
		   "manifest's blobs"),
	   "an asset of an unlisted blob");
	ok(refused("/assets/0/element", "\"kai\"", "not one of the manifest's elements"),
	   "an asset of an unlisted element");
	ok(refused("/assets/0/role", "\"villain\"", "not a role"), "an unknown role");
	ok(refused("/assets/0/format", "\"../png\"", "not a format name"), "a bad format");
	ok(refused("/assets/0/frame", "{\"of\":0,\"t\":1}", "not a frame of itself"),
	   "a frame of itself");
	ok(refused("/assets/0/frame", "{\"of\":5,\"t\":1}", "not a frame of one of"),
	   "a frame of a missing asset");
	ok(refused("/assets/0/embeddings/0/vector", "\"AACAPw==\"", "model's dimension"),
	   "a vector of another dimension than its model");
	ok(refused("/assets/0/embeddings/0/vector", "\"AADAfwAAAAA=\"", "not a finite number"),
	   "a NaN in a vector");
	ok(refused("/assets/0/embeddings/0/model", "\"clip\"", "not one of the manifest's models"),
	   "an unlisted model");
	ok(refused("/assets/0/embeddings/-", "{\"model\":\"toy\",\"vector\":\"AACAPwAAAAA=\"}",
		   "same model"),
	   "two vectors of one model");
	ok(refused("/models/0/dimension", "0", "not a whole number in range"),
	   "a model of no dimension");
	ok(refused("/shots/0/still", "3", "not a whole number in range"), "a still out of range");
	ok(refused("/shots/0/chosen", "1", "not a take with an asset"), "a chosen take not there");
	ok(refused(
	       "/shots/0/takes",
	       "[{\"number\":2,\"asset\":0,\"status\":\"ok\",\"error\":null,\"added\":1},"
	       "{\"number\":1,\"asset\":null,\"status\":\"failed\",\"error\":\"x\",\"added\":1}]",
	       "increasing order"),
	   "takes out of order");
	ok(refused("/shots/0/takes/-",
		   "{\"number\":1,\"asset\":0,\"status\":\"maybe\",\"error\":null,\"added\":1}",
		   "status"),
	   "an unknown take status");
	ok(refused("/shots/-", "{\"slug\":\"s01\"}", "shots[1]"), "an incomplete shot");
	ok(refused("/assets", "{}", "not an array"), "assets not an array");
	error_clear();
	ok(manifest_parse("{\"format\":", 11) == NULL && error_code() == EX_DATAERR, "broken JSON");
	ok(manifest_parse("\xff\xfe", 2) == NULL && strstr(error_message(), "not UTF-8"),
	   "bytes that are not UTF-8");
	ok(manifest_parse(base, MANIFEST_MAX_BYTES + 1) == NULL &&
	       strstr(error_message(), "over the limit"),
	   "a manifest over the size limit is refused before it is read");
}

static void test_build(void)
{
	const char *srcdir = getenv("TEST_SRCDIR");
	char *astronaut = xasprintf("%s/data/photos/astronaut.jpg", srcdir ? srcdir : "tests");
	char *camera = xasprintf("%s/data/photos/camera.jpg", srcdir ? srcdir : "tests");
	char *root = temp_template("manifest");
	ok_or_bail(mkdtemp(root) != NULL, "temporary directory");
	char *dir = xasprintf("%s/.troupe", root);
	bool existed;
	ok_or_bail(catalog_create(dir, &existed) == 0, "create a store");
	struct catalog *cat = catalog_open(dir);
	ok_or_bail(cat != NULL, "open it");
	struct character c = {0};
	c.slug = "mei";
	c.name = "Mei";
	c.description = "a pilot";
	strlist_push(&c.tags, "hero");
	ok_or_bail(catalog_character_new(cat, &c) == 0, "a character");
	strlist_clear(&c.tags);
	struct look l = {0};
	l.name = "winter";
	l.description = "a coat";
	ok(catalog_look_new(cat, "mei", &l) == 0, "a look");
	struct add_batch *b = catalog_add_begin(cat, "mei", "face", NULL);
	ok_or_bail(b && catalog_add_file(b, astronaut) == 0 && catalog_add_file(b, camera) == 0 &&
		       catalog_add_commit(b) == 0,
		   "two real pictures");
	catalog_add_free(b);
	float v[3] = {3, 4, 0};
	ok(catalog_embedding_put(cat, 2, "toy", v, 3, NULL) == 0, "a vector for the second");

	char *slugs[] = {"mei"};
	struct manifest_selection sel = {slugs, 1, NULL, NULL, 0};
	struct manifest *m = manifest_build(cat, &sel, NULL, NULL);
	ok_or_bail(m != NULL, "the manifest of mei");
	ok(m->nelements == 1 && strcmp(m->elements[0].slug, "mei") == 0 &&
	       strcmp(m->elements[0].description, "a pilot") == 0 && m->elements[0].nlooks == 1,
	   "the element with its fields and look");
	ok(m->nassets == 2 && m->nblobs == 2, "both assets and their two blobs, no thumbnails");
	ok(strcmp(m->blobs[0].hash, m->blobs[1].hash) < 0, "blobs sorted by hash");
	struct strbuf bytes = STRBUF_INIT;
	uint8_t digest[32];
	char hex[65];
	file_read_all(camera, &bytes);
	sha256(bytes.buf, bytes.len, digest);
	sha256_hex(digest, hex);
	char hash[STORE_HASH_HEX + 1];
	store_hash_buffer(bytes.buf, bytes.len, hash);
	const struct manifest_blob *mb = manifest_blob_find(m, hash);
	ok(mb && mb->bytes == bytes.len && strcmp(mb->sha256, hex) == 0,
	   "a blob's size and SHA-256 are those of its file");
	sb_release(&bytes);
	ok(m->nmodels == 1 && m->models[0].dimension == 3 && m->assets[1].nembeddings == 1 &&
	       m->assets[1].embeddings[0].vector[0] == 0.6f,
	   "the model and the stored unit vector");
	struct strbuf text = STRBUF_INIT;
	manifest_write(m, &text);
	struct manifest *back = manifest_parse(text.buf, text.len);
	ok(back != NULL, "the built manifest passes the parser");
	manifest_free(back);
	sb_release(&text);
	manifest_free(m);

	char *nobody[] = {"nobody"};
	sel.elements = nobody;
	ok(manifest_build(cat, &sel, NULL, NULL) == NULL && error_code() == EX_NOINPUT,
	   "an unknown element is EX_NOINPUT");
	struct manifest_selection by_query = {NULL, 0, "role:sheet", NULL, 0};
	ok(manifest_build(cat, &by_query, NULL, NULL) == NULL && error_code() == EX_DATAERR,
	   "a selection of nothing is refused");
	catalog_close(cat);
	char *cmd = xasprintf("rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", root);
	free(cmd);
	free(dir);
	free(root);
	free(astronaut);
	free(camera);
}

int main(void)
{
	tap_find_modules();
	test_sha256();
	test_parse();
	test_build();
	return tap_done();
}
