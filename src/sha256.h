/* sha256: SHA-256 and HMAC-SHA256 (FIPS 180-4, RFC 2104), for the JWT
 * some services ask for. Small and self-contained. */
#ifndef TROUPE_SHA256_H
#define TROUPE_SHA256_H

#include <stddef.h>
#include <stdint.h>

void sha256(const void *data, size_t len, uint8_t out[32]);
void hmac_sha256(const void *key, size_t key_len, const void *data, size_t len, uint8_t out[32]);

#endif
