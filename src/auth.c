/* auth: credentials into headers. Keys are read from the environment at
 * the moment a request is built and handed over only inside the header
 * list, and registered with http as secrets, so that a service which
 * echoes one back gets it cut out of its answer; this room must never
 * print, log or store one. */
#include "config.h"

#include "auth.h"
#include "base64.h"
#include "http.h"
#include "sha256.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *auth_jwt_hs256(const char *claims, const char *secret)
{
	static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	char *h64 = base64url_encode(header, strlen(header));
	char *c64 = base64url_encode(claims, strlen(claims));
	char *signing = xasprintf("%s.%s", h64, c64);
	uint8_t mac[32];
	hmac_sha256(secret, strlen(secret), signing, strlen(signing), mac);
	char *s64 = base64url_encode(mac, sizeof(mac));
	char *token = xasprintf("%s.%s", signing, s64);
	free(h64);
	free(c64);
	free(signing);
	free(s64);
	return token;
}

char *auth_kling_jwt(const char *access, const char *secret, int64_t now)
{
	cJSON *claims = cJSON_CreateObject();
	cJSON_AddStringToObject(claims, "iss", access);
	cJSON_AddNumberToObject(claims, "exp", (double)(now + 1800));
	cJSON_AddNumberToObject(claims, "nbf", (double)(now - 5));
	char *text = cJSON_PrintUnformatted(claims);
	cJSON_Delete(claims);
	char *token = auth_jwt_hs256(text, secret);
	free(text);
	return token;
}

int auth_headers(const struct profile *p, struct strlist *headers)
{
	if (p->auth.scheme == AUTH_NONE)
		return 0;
	const char *key = getenv(p->auth.env);
	if (!key || !*key)
		return error_set(EX_CONFIG, "profile %s needs its key in $%s", p->name,
				 p->auth.env);
	http_secret_add(key);
	char *line;
	if (p->auth.scheme == AUTH_KLING_JWT) {
		const char *secret = getenv(p->auth.secret_env);
		if (!secret || !*secret)
			return error_set(EX_CONFIG, "profile %s needs its secret key in $%s",
					 p->name, p->auth.secret_env);
		http_secret_add(secret);
		char *jwt = auth_kling_jwt(key, secret, time_now());
		http_secret_add(jwt);
		line = xasprintf("%s: %s%s", p->auth.header, p->auth.prefix, jwt);
		free(jwt);
	} else {
		line = xasprintf("%s: %s%s", p->auth.header, p->auth.prefix, key);
	}
	strlist_push(headers, line);
	free(line);
	return 0;
}

int auth_fingerprint(const struct profile *p, const uint8_t salt[32], char out[65])
{
	struct strbuf keys = STRBUF_INIT;
	if (p->auth.scheme != AUTH_NONE) {
		const char *names[2] = {
		    p->auth.env, p->auth.scheme == AUTH_KLING_JWT ? p->auth.secret_env : NULL};
		for (int i = 0; i < 2 && names[i]; i++) {
			const char *key = getenv(names[i]);
			if (!key || !*key) {
				sb_release(&keys);
				return error_set(EX_CONFIG, "profile %s needs its key in $%s",
						 p->name, names[i]);
			}
			/* NUL between keys: ("ab", "c") and ("a", "bc") differ. */
			sb_add(&keys, key, strlen(key) + 1);
		}
	}
	uint8_t mac[32];
	hmac_sha256(salt, 32, keys.buf ? keys.buf : "", keys.len, mac);
	sb_release(&keys);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
	return 0;
}
