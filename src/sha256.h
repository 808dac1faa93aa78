/* sha256: SHA-256 and HMAC-SHA256 (FIPS 180-4, RFC 2104), for the JWT
 * some services ask for. Small and self-contained. */
#ifndef TROUPE_SHA256_H
#define TROUPE_SHA256_H

#include <stddef.h>
#include <stdint.h>

void sha256(const void *data, size_t len, uint8_t out[32]);
/* The same hash over data given in pieces (a blob read as it arrives):
 * init, update as often as needed, final. */
struct sha256_ctx {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
	size_t nbuf;
};
void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
void sha256_final(struct sha256_ctx *c, uint8_t out[32]);
/* out as 64 lower-case hex digits and a NUL. */
void sha256_hex(const uint8_t digest[32], char out[65]);

void hmac_sha256(const void *key, size_t key_len, const void *data, size_t len, uint8_t out[32]);

#endif
