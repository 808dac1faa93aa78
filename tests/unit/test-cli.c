/* Unit tests for cli: text_escape, which every line printed for people
 * goes through, against each kind of byte a terminal would act on. */
#include "config.h"

#include "cli.h"
#include "tap.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static void escapes(const char *text, const char *want, const char *what)
{
	char *got = text_escape(text);
	is_str(got, want, "%s", what);
	free(got);
}

int main(void)
{
	escapes("plain name.png", "plain name.png", "plain text is kept");
	escapes("Mei · 猫 😀.png", "Mei · 猫 😀.png", "UTF-8 text is kept");
	escapes("a\033]0;pwned\007b", "a\\x1b]0;pwned\\x07b", "ESC and BEL become \\x escapes");
	escapes("line\nbreak\ttab\r", "line\\x0abreak\\x09tab\\x0d", "newline, tab and CR too");
	escapes("del\177", "del\\x7f", "DEL");
	escapes("csi\302\233x next\302\205", "csi\\u009bx next\\u0085", "C1 controls as \\u");
	escapes("nbsp\302\240", "nbsp\302\240", "U+00A0 is not a control");
	escapes("bad\377byte", "bad\\xffbyte", "a byte that is not UTF-8");
	escapes("cut\303", "cut\\xc3", "a sequence cut short at the end");
	escapes("over\300\257long", "over\\xc0\\xaflong", "an overlong form");
	escapes("surrogate\355\240\200", "surrogate\\xed\\xa0\\x80", "a UTF-16 surrogate");
	escapes("big\364\220\200\200", "big\\xf4\\x90\\x80\\x80", "past U+10FFFF");
	escapes("", "", "the empty string");
	ok(text_escape(NULL) == NULL, "NULL stays NULL");
	return tap_done();
}
