/* Unit tests for phash: the hash of known pictures and the flat file. */
#include "config.h"

#include "phash.h"
#include "tap.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

static uint8_t px[PHASH_SIDE * PHASH_SIDE];

static uint64_t hash_of(uint8_t (*f)(int x, int y))
{
	for (int y = 0; y < PHASH_SIDE; y++)
		for (int x = 0; x < PHASH_SIDE; x++)
			px[y * PHASH_SIDE + x] = f(x, y);
	return phash_from_gray(px);
}

/* A smooth picture with energy at every low frequency, as photographs
 * have; synthetic ramps leave most coefficients at zero. */
static double scene(int x, int y)
{
	return 0.5 + 0.2 * sin(x * 0.31 + 0.4) * cos(y * 0.23) + 0.15 * sin((x + 2 * y) * 0.17) +
	       0.1 * cos(x * 0.07 - y * 0.11);
}
static uint8_t picture(int x, int y)
{
	return (uint8_t)(scene(x, y) * 255);
}
static uint8_t picture_dimmer(int x, int y)
{
	return (uint8_t)(scene(x, y) * 180 + 30);
}
static uint8_t picture_mirrored(int x, int y)
{
	return (uint8_t)(scene(PHASH_SIDE - 1 - x, y) * 255);
}
static uint8_t blob(int x, int y)
{
	int dx = x - 10, dy = y - 20;
	return dx * dx + dy * dy < 40 ? 250 : 20;
}

int main(void)
{
	uint64_t r = hash_of(picture), rb = hash_of(picture_dimmer), rr = hash_of(picture_mirrored);
	ok((r & 1) == 0, "the DC bit is always 0");
	ok(phash_distance(r, rb) <= 2, "brightness and contrast barely move the hash (%d)",
	   phash_distance(r, rb));
	ok(phash_distance(r, rr) >= 10, "a mirrored picture is far (%d)", phash_distance(r, rr));
	ok(phash_distance(r, hash_of(blob)) >= 10, "an unrelated picture is far (%d)",
	   phash_distance(r, hash_of(blob)));
	ok(phash_distance(0, UINT64_MAX) == 64, "distance counts all 64 bits");

	char *dir = temp_template("phash");
	ok(mkdtemp(dir) != NULL, "temporary directory");
	char *path = xasprintf("%s/phash.idx", dir);
	uint64_t gen;
	ok(phash_file_generation(path, &gen) < 0, "a missing file has no generation");
	enum { N = 1000 };
	int64_t ids[N];
	uint64_t hashes[N];
	for (int i = 0; i < N; i++) {
		ids[i] = i + 1;
		hashes[i] = (uint64_t)i * 0x9E3779B97F4A7C15ull;
	}
	hashes[500] = 0xF0F0F0F0F0F0F0F0ull;
	hashes[501] = 0xF0F0F0F0F0F0F0F1ull; /* one bit away */
	ok(phash_file_write(path, 42, ids, hashes, N) == 0, "write the file");
	ok(phash_file_generation(path, &gen) == 0 && gen == 42, "generation read back");
	struct phash_match *m;
	size_t n;
	ok(phash_file_search(path, 0xF0F0F0F0F0F0F0F0ull, 1, &m, &n) == 0, "search");
	ok(n == 2 && m[0].id == 501 && m[0].distance == 0 && m[1].id == 502 && m[1].distance == 1,
	   "exact match first, then one bit away");
	free(m);
	ok(phash_file_search(path, 0xF0F0F0F0F0F0F0F0ull, 64, &m, &n) == 0 && n == N,
	   "distance 64 finds every entry");
	for (size_t i = 1; i < n; i++)
		if (m[i].distance < m[i - 1].distance) {
			ok(0, "sorted by distance");
			break;
		}
	free(m);

	FILE *f = fopen(path, "r+b");
	fseek(f, 0, SEEK_SET);
	fputs("JUNK", f);
	fclose(f);
	ok(phash_file_generation(path, &gen) < 0, "a damaged header is not trusted");
	ok(phash_file_search(path, 0, 1, &m, &n) < 0, "nor searched");
	ok(truncate(path, 100) == 0 && phash_file_generation(path, &gen) < 0,
	   "a short file is not trusted");
	unlink(path);
	rmdir(dir);
	free(dir);
	free(path);
	return tap_done();
}
