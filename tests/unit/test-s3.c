/* test-s3: the parts of the s3 room that need no server: s3:// URLs and
 * endpoints, the URLs and keys SigV4 signs, the shared credentials file,
 * and the XML answers (listings, errors, multipart ids), hostile ones
 * included. tests/remote.sh covers the rest against a real store. */
#include "config.h"

#include "s3-xml.h"
#include "s3.h"
#include "tap.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

struct seen {
	struct strbuf keys;
	uint64_t bytes;
};

static int each(const char *key, uint64_t bytes, void *ctx)
{
	struct seen *s = ctx;
	sb_addf(&s->keys, "%s;", key);
	s->bytes += bytes;
	return 0;
}

static int list(const char *xml, struct seen *s, bool *truncated, char **next)
{
	sb_reset(&s->keys);
	s->bytes = 0;
	return s3xml_list(xml, strlen(xml), each, s, truncated, next);
}

int main(void)
{
	struct s3_location loc = {0};
	ok(s3_url_parse("s3://films/cast/2026/", &loc) == 0, "an s3:// URL parses");
	is_str(loc.bucket, "films", "its bucket");
	is_str(loc.prefix, "cast/2026", "its prefix, without the slashes at its ends");
	ok(s3_url_parse("s3://films", &loc) == 0 && !strcmp(loc.prefix, ""), "no prefix is ''");
	ok(s3_url_parse("s3://Films/x", &loc) < 0 && error_code() == EX_USAGE,
	   "upper case refused");
	ok(s3_url_parse("s3://ab/x", &loc) < 0, "a two-letter bucket refused");
	ok(s3_url_parse("s3://films/a/../b", &loc) < 0, "'..' in the prefix refused");
	ok(s3_url_parse("s3://films/a//b", &loc) < 0, "an empty segment refused");
	ok(s3_url_parse("s3://films/a\tb", &loc) < 0, "a control character refused");
	ok(s3_url_parse("https://films/x", &loc) < 0, "not s3:// refused");

	char *e = s3_endpoint_check("https://s3.example.com/");
	is_str(e, "https://s3.example.com", "https kept, the trailing slash dropped");
	free(e);
	e = s3_endpoint_check("http://127.0.0.1:9000");
	is_str(e, "http://127.0.0.1:9000", "http to 127.0.0.1");
	free(e);
	e = s3_endpoint_check("http://[::1]:9000");
	is_str(e, "http://[::1]:9000", "http to [::1]");
	free(e);
	e = s3_endpoint_check("http://localhost");
	is_str(e, "http://localhost", "http to localhost");
	free(e);
	ok(!s3_endpoint_check("http://127.0.0.2"), "another 127/8 address is not exactly loopback");
	ok(!s3_endpoint_check("http://127.0.0.1.example.com"), "a look-alike host refused");
	ok(!s3_endpoint_check("http://localhost@evil.example"), "user info refused");
	ok(!s3_endpoint_check("https://s3.example.com/bucket"), "a path refused");
	ok(s3_region_check("us-east-1") == 0 && s3_region_check("auto") == 0, "regions");
	ok(s3_region_check("us east") < 0, "a region with a space refused");

	char *enc = s3_uri_encode("a b/c~d+e%", true);
	is_str(enc, "a%20b/c~d%2Be%25", "URI encoding keeps '/' in a path");
	free(enc);
	enc = s3_uri_encode("films/cast/", false);
	is_str(enc, "films%2Fcast%2F", "and encodes it in a query value");
	free(enc);

	s3_location_clear(&loc);
	s3_url_parse("s3://films/cast", &loc);
	loc.endpoint = xstrdup("https://s3.example.com:8443");
	loc.region = xstrdup("us-east-1");
	char *key = s3_key(&loc, "objects/ab/cd");
	is_str(key, "cast/objects/ab/cd", "a key under the prefix");
	char *url = s3_url(&loc, key, "partNumber=1&uploadId=x");
	is_str(url, "https://films.s3.example.com:8443/cast/objects/ab/cd?partNumber=1&uploadId=x",
	       "virtual-host style puts the bucket in the host");
	free(url);
	loc.path_style = true;
	url = s3_url(&loc, key, NULL);
	is_str(url, "https://s3.example.com:8443/films/cast/objects/ab/cd", "path style");
	free(url);
	url = s3_url(&loc, NULL, "list-type=2&prefix=cast%2F");
	is_str(url, "https://s3.example.com:8443/films?list-type=2&prefix=cast%2F",
	       "the bucket itself");
	free(url);
	free(key);
	s3_location_clear(&loc);

	struct s3_credentials c = {0};
	const char *file = "# keys\n[default]\naws_access_key_id = AKIDEFAULT\n"
			   "aws_secret_access_key=sd\n\n[ team ]\r\n; the studio's\n"
			   "aws_access_key_id = test:tester\naws_secret_access_key = s/e+c=\n"
			   "aws_session_token = tok\nregion = auto\n";
	ok(s3_credentials_parse(file, "team", &c) == 0, "a profile is found");
	is_str(c.access_key, "test:tester", "its access key, colon and all");
	is_str(c.secret_key, "s/e+c=", "its secret, '=' and all");
	is_str(c.session_token, "tok", "its session token");
	s3_credentials_clear(&c);
	ok(s3_credentials_parse(file, "default", &c) == 0 && !strcmp(c.secret_key, "sd") &&
	       !c.session_token,
	   "the default profile");
	s3_credentials_clear(&c);
	ok(s3_credentials_parse(file, "nobody", &c) == 1, "a profile that is not there");
	ok(s3_credentials_parse("[x]\naws_access_key_id = a\n", "x", &c) == 1, "a half profile");
	ok(s3_credentials_parse("[x\n", "x", &c) < 0 && error_code() == EX_CONFIG,
	   "a broken section refused");
	ok(s3_credentials_parse("[x]\nsecretwithoutequals\n", "x", &c) < 0 &&
	       !strstr(error_message(), "secretwithoutequals"),
	   "a malformed line refused without echoing it");

	struct seen s = {STRBUF_INIT, 0};
	bool truncated;
	char *next;
	ok(list("<?xml version='1.0'?><ListBucketResult xmlns=\"x\"><KeyCount>2</KeyCount>"
		"<IsTruncated>true</IsTruncated><Contents><Key>a/b &amp; c</Key><Size>10</Size>"
		"</Contents><Contents><Key>a/&#x263A;&#65;</Key><Size>5</Size></Contents>"
		"<NextContinuationToken>tok/1=</NextContinuationToken></ListBucketResult>",
		&s, &truncated, &next) == 0,
	   "a listing reads");
	is_str(sb_str(&s.keys),
	       "a/b & c;a/\xe2\x98\xba"
	       "A;",
	       "keys decoded, in order");
	ok(s.bytes == 15 && truncated, "sizes, and truncated");
	is_str(next, "tok/1=", "the continuation token");
	free(next);
	ok(list("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>", &s,
		&truncated, &next) == 0 &&
	       !truncated && !next && !s.keys.len,
	   "an empty listing");
	ok(list("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>", &s,
		&truncated, &next) == -1,
	   "truncated without a token is refused (it would loop)");
	ok(list("<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents>"
		"</ListBucketResult>",
		&s, &truncated, &next) == -1,
	   "a negative size is refused");
	ok(list("<ListBucketResult><Contents><Key>k&#0;</Key><Size>1</Size></Contents>"
		"</ListBucketResult>",
		&s, &truncated, &next) == -1,
	   "NUL by reference is refused");
	ok(list("<ListBucketResult><Contents><Key>k&bogus;</Key><Size>1</Size></Contents>"
		"</ListBucketResult>",
		&s, &truncated, &next) == -1,
	   "an unknown entity is refused");
	ok(list("<ListBucketResult><Contents><Key>\xff</Key><Size>1</Size></Contents>"
		"</ListBucketResult>",
		&s, &truncated, &next) == -1,
	   "bytes that are not UTF-8 are refused");
	ok(list("<ListBucketResult><Contents><Key>k</Key><Size>1</Size>", &s, &truncated, &next) ==
	       -1,
	   "a cut listing is refused");
	ok(list("<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a</Key>"
		"<Size>1</Size></Contents><Contents><Key>b</Key><Size>2</Size>"
		"</ListBucketResult>",
		&s, &truncated, &next) == -1,
	   "a record left open after whole ones is refused, not taken as the end");
	ok(list("<ListBucketResult><Contents><Key>a</Key><Size>1</Size></Contents>"
		"<Contents ></ListBucketResult>",
		&s, &truncated, &next) == -1,
	   "and so is a bare start tag");
	ok(list("<ListBucketResult><Contents><Key>a</Key><Size>1</Size></Contents>"
		"<ContentsX>y</ContentsX></ListBucketResult>",
		&s, &truncated, &next) == 0 &&
	       !strcmp(sb_str(&s.keys), "a;"),
	   "an element that only starts like Contents is not one");
	ok(list("<ListBucketResult><Contents><Key></Key><Size>1</Size></Contents>"
		"</ListBucketResult>",
		&s, &truncated, &next) == -1,
	   "an empty key is refused (found by fuzz-s3-xml)");
	ok(list("<Error><Code>NoSuchBucket</Code></Error>", &s, &truncated, &next) == -1,
	   "an error is not a listing");
	ok(list("<ListBucketResult><KeyCount>1</KeyCount><Contents><Key>k</Key><Size>1"
		"</Size></Contents></ListBucketResult>",
		&s, &truncated, &next) == 0 &&
	       !strcmp(sb_str(&s.keys), "k;"),
	   "Key is not taken for KeyCount");
	sb_release(&s.keys);

	char *code, *message;
	const char *err = "<?xml version='1.0'?><Error><Code>SignatureDoesNotMatch</Code>"
			  "<Message>The request signature &lt;x&gt;</Message></Error>";
	ok(s3xml_error(err, strlen(err), &code, &message) == 0, "an error answer reads");
	is_str(code, "SignatureDoesNotMatch", "its code");
	is_str(message, "The request signature <x>", "its message");
	int exit_code;
	char *text = s3_error_text(403, code, message, "films", &exit_code);
	is_str(text, "the secret key is wrong (403 SignatureDoesNotMatch)", "said plainly");
	ok(exit_code == EX_NOPERM, "EX_NOPERM");
	free(text);
	free(code);
	free(message);
	text = s3_error_text(404, "NoSuchBucket", "x", "films", &exit_code);
	is_str(text, "bucket 'films' does not exist (404 NoSuchBucket)", "a missing bucket");
	ok(exit_code == EX_CONFIG, "EX_CONFIG");
	free(text);
	text = s3_error_text(400, "Odd", "odd \x1b[31m thing", "films", &exit_code);
	is_str(text, "odd \\x1b[31m thing (400 Odd)",
	       "an unknown code: the server's message, escaped");
	free(text);
	ok(s3xml_error("<html>nope</html>", 17, &code, &message) == -1 && !code && !message,
	   "HTML is not an error answer");
	char *id = s3xml_text("<InitiateMultipartUploadResult><UploadId>OWE4=</UploadId>"
			      "</InitiateMultipartUploadResult>",
			      83, "UploadId");
	is_str(id, "OWE4=", "a multipart upload's id");
	free(id);
	ok(!s3xml_text("<UploadId>abc", 13, "UploadId"), "no end tag, no id");
	ok(s3_part_size() == 64u << 20, "64 MiB parts by default");
	setenv("TROUPE_S3_PART_SIZE", "1024", 1);
	ok(s3_part_size() == 64u << 20, "parts under S3's 5 MiB are not taken");
	setenv("TROUPE_S3_PART_SIZE", "5242880", 1);
	ok(s3_part_size() == 5242880, "5 MiB parts when asked");
	return tap_done();
}
