/* service-ids: the ids services gave references uploaded to them, kept
 * per upload endpoint, account fingerprint and derivative, with when they
 * were made and when the service lets them lapse. It holds no key: an
 * account is known only by its fingerprint (auth_fingerprint). */
#ifndef TROUPE_SERVICE_IDS_H
#define TROUPE_SERVICE_IDS_H

#include <stdbool.h>
#include <stdint.h>

#include "catalog.h"

/* Where one remembered upload lives: the endpoint is the upload URL, the
 * account a 64-digit hex fingerprint, the hash the derivative sent. All
 * borrowed. */
struct service_id_key {
	const char *endpoint;
	const char *account;
	const char *sent_hash;
};

/* Copies the store's salt for account fingerprints (32 bytes, made once
 * when the index was created or migrated) into salt. */
int catalog_upload_salt(struct catalog *cat, uint8_t salt[32]);

/* The id remembered for key that has not expired at now: 1 with *id (the
 * caller frees it) and *numeric set, 0 when there is none. */
int catalog_upload_find(struct catalog *cat, const struct service_id_key *key, int64_t now,
			char **id, bool *numeric);

/* Remembers the id an upload got, made at created, lapsing at expires (0:
 * the service documents no lifetime); replaces what key held. It commits
 * on its own, so the id outlives a request that fails after it. */
int catalog_upload_record(struct catalog *cat, const struct service_id_key *key, const char *id,
			  bool numeric, int64_t created, int64_t expires);

/* Forgets what key held (the service said it no longer knows the id); a
 * key with nothing is not an error. */
int catalog_upload_forget(struct catalog *cat, const struct service_id_key *key);

#endif
