/* Unit tests for util: UTF-8 validation, tag normalisation, strbuf. */
#include "config.h"

#include "tap.h"
#include "util.h"

#include <stdlib.h>

static void check_tag(const char *in, const char *ns, const char *value)
{
	char *n = NULL, *v = NULL;
	int rc = tag_parse(in, &n, &v);
	ok(rc == 0, "tag '%s' parses", in);
	is_str(n, ns, "tag '%s' namespace", in);
	is_str(v, value, "tag '%s' value", in);
	free(n);
	free(v);
}

int main(void)
{
	ok(utf8_valid("plain", 5), "ASCII is UTF-8");
	ok(utf8_valid("caf\xc3\xa9", 5), "two-byte sequence");
	ok(utf8_valid("\xe2\x82\xac", 3), "three-byte sequence");
	ok(utf8_valid("\xf0\x9f\x98\x80", 4), "four-byte sequence");
	ok(!utf8_valid("\xc3", 1), "truncated sequence refused");
	ok(!utf8_valid("\xff", 1), "0xff refused");
	ok(!utf8_valid("\xc0\xaf", 2), "overlong form refused");
	ok(!utf8_valid("\xed\xa0\x80", 3), "surrogate refused");
	ok(!utf8_valid("\xf4\x90\x80\x80", 4), "past U+10FFFF refused");

	check_tag("Look:Winter", "look", "winter");
	check_tag("  look :  red scarf ", "look", "red scarf");
	check_tag("Draft", "", "draft");
	check_tag("a:b:c", "a", "b:c");

	char *n, *v;
	ok(tag_parse("look:", &n, &v) < 0, "empty value refused");
	ok(tag_parse(":x", &n, &v) < 0, "empty namespace refused");
	ok(tag_parse("   ", &n, &v) < 0, "blank tag refused");
	ok(tag_parse("bad\xff", &n, &v) < 0, "invalid UTF-8 tag refused");
	ok(error_code() == EX_DATAERR, "invalid tag is a data error");

	struct strbuf sb = STRBUF_INIT;
	is_str(sb_str(&sb), "", "empty strbuf reads as \"\"");
	for (int i = 0; i < 1000; i++)
		sb_addf(&sb, "%d,", i % 10);
	ok(sb.len == 2000, "strbuf grows to 2000 bytes");
	char *s = sb_detach(&sb);
	ok(s[1999] == ',' && s[2000] == '\0', "detached string is terminated");
	free(s);

	int64_t x;
	ok(parse_i64("1234", &x) == 0 && x == 1234, "parse_i64 reads a number");
	ok(parse_i64("12x", &x) < 0, "parse_i64 refuses trailing text");
	ok(parse_i64("", &x) < 0, "parse_i64 refuses empty");

	char when[32];
	time_iso8601(0, when);
	is_str(when, "1970-01-01T00:00:00Z", "epoch formats as ISO 8601");
	return tap_done();
}
