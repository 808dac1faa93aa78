/* Unit tests for authentication: SHA-256 (FIPS 180-4 examples and every
 * padding boundary), HMAC-SHA256 (RFC 4231), HS256 JWT signatures against
 * published tokens (RFC 7515 A.1, jwt.io), and the headers a profile's
 * auth scheme makes, the Kling JWT checked byte for byte. */
#include "config.h"

#include "auth.h"
#include "base64.h"
#include "inject.h"
#include "json.h"
#include "profile.h"
#include "sha256.h"
#include "tap.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *hex(const uint8_t *b, size_t n)
{
	char *s = xmalloc(2 * n + 1);
	for (size_t i = 0; i < n; i++)
		snprintf(s + 2 * i, 3, "%02x", b[i]);
	return s;
}

static void check_sha256(const void *data, size_t len, const char *want, const char *what)
{
	uint8_t out[32];
	sha256(data, len, out);
	char *got = hex(out, 32);
	is_str(got, want, "SHA-256 of %s", what);
	free(got);
}

static void check_hmac(const void *key, size_t key_len, const void *data, size_t len,
		       const char *want, const char *what)
{
	uint8_t out[32];
	hmac_sha256(key, key_len, data, len, out);
	char *got = hex(out, 32);
	is_str(got, want, "HMAC-SHA256, RFC 4231 %s", what);
	free(got);
}

/* base64url without padding (RFC 7515 section 2), from standard base64. */
static char *b64url(const void *data, size_t len)
{
	char *s = base64_encode(data, len);
	size_t j = 0;
	for (size_t i = 0; s[i] && s[i] != '='; i++)
		s[j++] = s[i] == '+' ? '-' : s[i] == '/' ? '_' : s[i];
	s[j] = '\0';
	return s;
}

/* The signature part of an HS256 JWT over header.payload. */
static char *hs256(const void *key, size_t key_len, const char *signing_input)
{
	uint8_t mac[32];
	hmac_sha256(key, key_len, signing_input, strlen(signing_input), mac);
	return b64url(mac, sizeof(mac));
}

static char *tmpdir;

static struct profile *profile_with_auth(const char *auth)
{
	char *path = xasprintf("%s/auth.json", tmpdir);
	FILE *f = fopen(path, "w");
	fprintf(f,
		"{\"name\": \"auth\", \"service\": \"X\", \"doc\": \"https://x\","
		" \"base_url\": \"https://x\", \"request\": {\"path\": \"/x\"},"
		" \"prompt\": \"/prompt\", \"references\": {\"pointer\": \"/r\", \"item\": "
		"\"{ref}\"},"
		" \"outputs\": {\"urls\": \"/u\"}, \"auth\": %s}",
		auth);
	fclose(f);
	struct profile *p = profile_load_file(path);
	if (!p)
		printf("# %s\n", error_message());
	free(path);
	return p;
}

/* The one header a profile's auth makes, or NULL with an error. */
static char *auth_header(const char *auth)
{
	struct profile *p = profile_with_auth(auth);
	struct strlist headers = {0};
	char *line = NULL;
	error_clear();
	if (p && auth_headers(p, &headers) == 0 && headers.n == 1)
		line = xstrdup(headers.items[0]);
	strlist_clear(&headers);
	profile_free(p);
	return line;
}

int main(void)
{
	check_sha256("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		     "nothing");
	check_sha256("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		     "\"abc\"");
	const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	check_sha256(two_blocks, strlen(two_blocks),
		     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
		     "the 448-bit FIPS 180-4 message");
	/* The lengths where padding spills into one more block. */
	static const struct {
		size_t len;
		const char *want;
	} as[] = {
	    {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
	    {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
	    {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
	    {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
	    {65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
	    {119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
	    {120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
	    {1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
	};
	char *a = xmalloc(1000000);
	memset(a, 'a', 1000000);
	for (size_t i = 0; i < sizeof(as) / sizeof(as[0]); i++) {
		char what[32];
		snprintf(what, sizeof(what), "%zu times 'a'", as[i].len);
		check_sha256(a, as[i].len, as[i].want, what);
	}
	free(a);

	uint8_t k20[20], d50[50], k25[25], k131[131];
	memset(k20, 0x0b, sizeof(k20));
	check_hmac(k20, 20, "Hi There", 8,
		   "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", "case 1");
	check_hmac("Jefe", 4, "what do ya want for nothing?", 28,
		   "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
		   "case 2 (a key shorter than the hash)");
	memset(k20, 0xaa, sizeof(k20));
	memset(d50, 0xdd, sizeof(d50));
	check_hmac(k20, 20, d50, 50,
		   "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe", "case 3");
	for (int i = 0; i < 25; i++)
		k25[i] = (uint8_t)(i + 1);
	memset(d50, 0xcd, sizeof(d50));
	check_hmac(k25, 25, d50, 50,
		   "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b", "case 4");
	memset(k131, 0xaa, sizeof(k131));
	const char *big_key = "Test Using Larger Than Block-Size Key - Hash Key First";
	check_hmac(k131, 131, big_key, strlen(big_key),
		   "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
		   "case 6 (a key longer than a block is hashed first)");
	const char *big_data = "This is a test using a larger than block-size key and a larger "
			       "than block-size data. The key needs to be hashed before being "
			       "used by the HMAC algorithm.";
	check_hmac(k131, 131, big_data, strlen(big_data),
		   "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
		   "case 7 (and data longer than a block)");

	/* RFC 7515 appendix A.1: the HS256 example, its key and signature. */
	static const uint8_t jws_key[64] =
	    "\x03\x23\x35\x4b\x2b\x0f\xa5\xbc\x83\x7e\x06\x65\x77\x7b\xa6\x8f\x5a\xb3\x28\xe6"
	    "\xf0\x54\xc9\x28\xa9\x0f\x84\xb2\xd2\x50\x2e\xbf\xd3\xfb\x5a\x92\xd2\x06\x47\xef"
	    "\x96\x8a\xb4\xc3\x77\x62\x3d\x22\x3d\x2e\x21\x72\x05\x2e\x4f\x08\xc0\xcd\x9a\xf5"
	    "\x67\xd0\x80\xa3";
	const char *jws_header = "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}";
	const char *jws_payload =
	    "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";
	char *h64 = b64url(jws_header, strlen(jws_header));
	char *p64 = b64url(jws_payload, strlen(jws_payload));
	is_str(h64, "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9", "RFC 7515 A.1: the header part");
	is_str(p64,
	       "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb2"
	       "90Ijp0cnVlfQ",
	       "RFC 7515 A.1: the payload part");
	char *signing = xasprintf("%s.%s", h64, p64);
	char *sig = hs256(jws_key, sizeof(jws_key), signing);
	is_str(sig, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "RFC 7515 A.1: the signature");
	free(sig);
	free(signing);
	free(p64);
	free(h64);

	/* jwt.io's example token and its secret. */
	const char *secret = "your-256-bit-secret";
	sig = hs256(secret, strlen(secret),
		    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6Ikpv"
		    "aG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ");
	is_str(sig, "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c", "jwt.io's HS256 token");
	free(sig);

	tmpdir = temp_template("auth");
	ok(mkdtemp(tmpdir) != NULL, "temporary directory");

	/* The schemes a profile can name. */
	setenv("TEST_AUTH_KEY", "k-123", 1);
	setenv("TEST_AUTH_SECRET", "s-456", 1);
	unsetenv("TEST_AUTH_UNSET");
	char *line = auth_header("{\"scheme\": \"bearer\", \"env\": \"TEST_AUTH_KEY\"}");
	is_str(line, "Authorization: Bearer k-123", "bearer: the key after Bearer");
	free(line);
	line = auth_header(
	    "{\"scheme\": \"header\", \"env\": \"TEST_AUTH_KEY\", \"header\": \"x-api-key\"}");
	is_str(line, "x-api-key: k-123", "header: the key alone in the profile's header");
	free(line);
	line = auth_header("{\"scheme\": \"bearer\", \"env\": \"TEST_AUTH_KEY\", \"prefix\": "
			   "\"Key \"}");
	is_str(line, "Authorization: Key k-123", "a prefix of the profile's own");
	free(line);
	line = auth_header("{\"scheme\": \"bearer\", \"env\": \"TEST_AUTH_UNSET\"}");
	ok(!line && error_code() == EX_CONFIG && strstr(error_message(), "$TEST_AUTH_UNSET"),
	   "an unset key is an error naming its variable: %s", error_message());
	setenv("TEST_AUTH_EMPTY", "", 1);
	line = auth_header("{\"scheme\": \"bearer\", \"env\": \"TEST_AUTH_EMPTY\"}");
	ok(!line && strstr(error_message(), "$TEST_AUTH_EMPTY"), "and so is an empty one");
	line = auth_header("{\"scheme\": \"kling_jwt\", \"env\": \"TEST_AUTH_KEY\","
			   " \"secret_env\": \"TEST_AUTH_UNSET\"}");
	ok(!line && error_code() == EX_CONFIG && strstr(error_message(), "secret key") &&
	       strstr(error_message(), "$TEST_AUTH_UNSET"),
	   "a JWT without its secret: %s", error_message());
	struct profile *none = profile_with_auth("{\"scheme\": \"none\"}");
	struct strlist headers = {0};
	ok(none && auth_headers(none, &headers) == 0 && headers.n == 0, "scheme none: no header");
	profile_free(none);

	/* The Kling JWT: iss is the access key, valid from five seconds ago for
	 * thirty minutes, signed with the secret key. The claims hold the time,
	 * so the token is rebuilt for each second the call may have seen. */
	int64_t before = time_now();
	line = auth_header("{\"scheme\": \"kling_jwt\", \"env\": \"TEST_AUTH_KEY\","
			   " \"secret_env\": \"TEST_AUTH_SECRET\"}");
	int64_t after = time_now();
	const char *prefix = "Authorization: Bearer ";
	ok(line && strncmp(line, prefix, strlen(prefix)) == 0, "kling_jwt: a bearer token");
	const char *token = line ? line + strlen(prefix) : "";
	ok(strncmp(token, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37) == 0,
	   "kling_jwt: the header is {\"alg\":\"HS256\",\"typ\":\"JWT\"}");
	bool matched = false;
	for (int64_t t = before; t <= after && !matched; t++) {
		char claims[128];
		snprintf(claims, sizeof(claims), "{\"iss\":\"k-123\",\"exp\":%lld,\"nbf\":%lld}",
			 (long long)(t + 1800), (long long)(t - 5));
		char *c64 = b64url(claims, strlen(claims));
		char *input = xasprintf("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.%s", c64);
		char *s = hs256("s-456", 5, input);
		char *want = xasprintf("%s.%s", input, s);
		matched = strcmp(token, want) == 0;
		if (!matched && t == after)
			printf("#   got  %s\n#   want %s (%s)\n", token, want, claims);
		free(want);
		free(s);
		free(input);
		free(c64);
	}
	ok(matched, "kling_jwt: the claims and the HS256 signature, byte for byte");
	free(line);

	/* An account's fingerprint: the key's HMAC under the store's salt. */
	uint8_t salt[32] = {1}, salt2[32] = {2};
	char fp[65], fp_again[65], fp_salt2[65], fp_other[65], fp_jwt[65];
	struct profile *header = profile_with_auth("{\"scheme\": \"header\", \"header\": "
						   "\"API-KEY\", \"env\": \"TEST_AUTH_KEY\"}");
	ok(header && auth_fingerprint(header, salt, fp) == 0 &&
	       auth_fingerprint(header, salt, fp_again) == 0 && !strcmp(fp, fp_again) &&
	       strlen(fp) == 64 && strspn(fp, "0123456789abcdef") == 64,
	   "a fingerprint is 64 hex digits, the same for the same key");
	uint8_t mac[32];
	hmac_sha256(salt, 32, "k-123", 6, mac);
	char want[65];
	for (int i = 0; i < 32; i++)
		snprintf(want + 2 * i, 3, "%02x", mac[i]);
	is_str(fp, want, "it is HMAC-SHA-256 of the key (NUL-ended) keyed by the salt");
	ok(auth_fingerprint(header, salt2, fp_salt2) == 0 && strcmp(fp, fp_salt2) != 0,
	   "another store's salt gives another fingerprint");
	setenv("TEST_AUTH_KEY", "k-456", 1);
	ok(auth_fingerprint(header, salt, fp_other) == 0 && strcmp(fp, fp_other) != 0,
	   "another key gives another fingerprint");
	struct profile *jwt =
	    profile_with_auth("{\"scheme\": \"kling_jwt\", \"env\": "
			      "\"TEST_AUTH_KEY\", \"secret_env\": \"TEST_AUTH_SECRET\"}");
	ok(jwt && auth_fingerprint(jwt, salt, fp_jwt) == 0 && strcmp(fp_jwt, fp_other) != 0,
	   "a JWT account is the access key and the secret together");
	unsetenv("TEST_AUTH_KEY");
	ok(auth_fingerprint(header, salt, fp) < 0 && error_code() == EX_CONFIG,
	   "no key, no fingerprint");
	profile_free(jwt);
	profile_free(header);

	char *path = xasprintf("%s/auth.json", tmpdir);
	unlink(path);
	rmdir(tmpdir);
	free(path);
	free(tmpdir);
	return tap_done();
}
