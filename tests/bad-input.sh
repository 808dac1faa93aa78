#!/bin/sh
# Bad input: each gives a clear "troupe: ..." error, a non-zero status
# from sysexits.h, and a store exactly as it was before.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require vips sqlite3

troupe init >/dev/null
troupe character new mei >/dev/null
noise_jpeg good.jpg 200 150
noise_png good.png 50 50
troupe add mei good.png --role sheet >/dev/null

size=$(stat -c %s good.jpg)
head -c $((size / 2)) good.jpg >truncated.jpg
head -c 200 good.png >truncated.png
echo "hello, I am text" >text.png
: >empty.jpg
printf '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>' >drawing.svg
mkdir dir-of-text && echo x >dir-of-text/a.txt

fails_with 66 "missing.jpg: No such file" "missing file" troupe add mei missing.jpg
fails_with 66 "missing.jpg: No such file" "missing file without a character" troupe add missing.jpg
fails_with 65 "text.png: not an image" "text file named .png" troupe add mei text.png
fails_with 65 "empty.jpg: not an image \(empty file\)" "zero-byte file" troupe add mei empty.jpg
fails_with 65 "truncated.jpg: truncated JPEG" "truncated JPEG" troupe add mei truncated.jpg
fails_with 65 "truncated.png: (truncated PNG|not a readable image)" "truncated PNG" \
	troupe add mei truncated.png
fails_with 65 "drawing.svg: (unsupported image format|not an image)" "SVG is not accepted" \
	troupe add mei drawing.svg
prereq_JXL_SAVE() {
	prereq_why="needs libvips with the JPEG XL saver"
	vips copy good.png good.jxl >/dev/null 2>&1
}
# The README and troupe-add(1) say JPEG XL is refused: libvips marks its
# reader untrusted, and troupe blocks those.
if test_have_prereq JXL_SAVE "JPEG XL is refused"; then
	fails_with 65 "good.jxl: unsupported image format" "JPEG XL is refused" troupe add mei good.jxl
fi
fails_with 65 "bomb.png: 100000x100000 is 10000.0 megapixels, over the limit of 100 " \
	"decompression bomb refused from its header" troupe add mei "$TEST_SRCDIR/data/bomb.png"
fails_with 65 "bomb.png: 100000x100000" "similar refuses the bomb too" \
	troupe similar "$TEST_SRCDIR/data/bomb.png"
vips black big.png 1200 1000 >/dev/null 2>&1
fails_with 65 "over the limit of 1 \(TROUPE_MAX_MEGAPIXELS\)" "the pixel limit is configurable" \
	env TROUPE_MAX_MEGAPIXELS=1 "$TROUPE" add mei big.png
fails_with 78 "TROUPE_MAX_MEGAPIXELS=lots: not a positive number" "a bad pixel limit" \
	env TROUPE_MAX_MEGAPIXELS=lots "$TROUPE" add mei good.jpg
# Damage in the middle of a JPEG whose end marker is intact: the decoder
# complains, and that is enough to refuse it.
size=$(stat -c %s good.jpg)
head -c $((size / 2)) good.jpg >holed.jpg
printf '\377\331' >>holed.jpg
fails_with 65 "holed.jpg: cannot decode the image" "a JPEG cut short but given an end marker" \
	troupe add mei holed.jpg
# HEIC is decoded by libde265, which conceals damage and leaves what it
# could not decode as the heap left it: a HEIC with one bit flipped in its
# coded data is refused, never thumbnailed from stale memory.
prereq_HEIF_SAVE() {
	prereq_why="needs libvips with the HEIF saver, and python3"
	command -v python3 >/dev/null 2>&1 &&
		vips thumbnail "$TEST_SRCDIR/data/photos/astronaut.jpg" heic-src.png 128 >/dev/null 2>&1 &&
		vips copy heic-src.png good.heic >/dev/null 2>&1
}
if test_have_prereq HEIF_SAVE "an intact HEIC is added" "a HEIC with a flipped bit is refused" \
	"similar refuses it too"; then
	python3 - good.heic flipped.heic <<'PY'
import struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
box = data.find(b"mdat")
size = struct.unpack(">I", data[box - 4:box])[0]
# One bit in the middle of the coded picture.
data[box + 4 + (size - 8) // 2] ^= 0x08
open(sys.argv[2], "wb").write(data)
PY
	check "an intact HEIC is added" troupe add mei good.heic
	fails_with 65 "flipped.heic: damaged HEIF image" "a HEIC with a flipped bit is refused" \
		troupe add mei flipped.heic
	fails_with 65 "flipped.heic: damaged HEIF image" "similar refuses it too" \
		troupe similar flipped.heic
fi
fails_with 65 "text.png: not an image" "similar of a non-image" troupe similar text.png
fails_with 65 "truncated.jpg: truncated JPEG" "similar of a truncated JPEG" troupe similar truncated.jpg
fails_with 66 "nothing-here: no such file, and not an asset" "similar of neither a file nor an asset" \
	troupe similar nothing-here
fails_with 65 "no images to add \(every file was skipped\)" "directory with no images" \
	troupe add mei dir-of-text
# One bad file named on the command line means nothing is added.
fails_with 65 "truncated.jpg: truncated JPEG" "a good and a bad file add nothing" \
	troupe add mei good.jpg truncated.jpg
is "$(find .troupe/tmp -type f | wc -l | tr -d ' ')" 0 "tmp/ holds nothing after failures"

# Not a regular file: refused before a byte of it is read, even when the
# store already has a thumbnail and would hash it to look for a match.
mkfifo pipe.jpg
fails_with 65 "pipe.jpg: not a regular file" "a FIFO named on the command line" \
	timeout 10 "$TROUPE" add mei pipe.jpg
fails_with 65 "/dev/zero: not a regular file" "/dev/zero named on the command line" \
	timeout 10 "$TROUPE" add mei /dev/zero
fails_with 65 "pipe.jpg: not a regular file" "a FIFO next to a good file adds nothing" \
	timeout 10 "$TROUPE" add mei good.jpg pipe.jpg

fails_with 66 "nobody: unknown character" "unknown character" troupe add nobody good.jpg
fails_with 64 "--role hero: not a role" "unknown role" troupe add mei good.jpg --role hero
fails_with 65 "namespace 'character' is a query field" "reserved namespace in --tag" \
	troupe add mei good.jpg --tag character:kai
fails_with 65 "tag: invalid UTF-8" "invalid UTF-8 tag" troupe add mei good.jpg --tag "$(printf 'x\377')"
fails_with 65 "is empty" "empty tag" troupe add mei good.jpg --tag "look:"
fails_with 64 "no file given" "add with nothing" troupe add
fails_with 64 "option '--role' needs a value" "option without its value" troupe add mei good.jpg --role

fails_with 64 "query: column 14: expected '\)' to close the '\(' at column 1" \
	"query syntax error points at the column" troupe query '(role:sheet  '
fails_with 64 "query: column 7: parentheses nested too deep" "nesting past six groups" \
	troupe query '((((((( x )))))))'
fails_with 64 "query: column 1: 'OR' needs a term" "query starting with OR" troupe query 'OR x'
fails_with 64 "query: column 7: 'big' is not a whole number" "bad comparison" troupe query 'width>big'
fails_with 65 "query: the query: invalid UTF-8" "query with invalid UTF-8" troupe query "$(printf 'a\377')"
fails_with 64 "--sort size: unknown key" "unknown sort key" troupe query --sort size
fails_with 64 "--limit 0" "zero limit" troupe query --limit 0

# SQL metacharacters in tags are data.
check "tag with SQL in it" troupe tag 1 "+x:'); DROP TABLE assets;--" "+50%_off"
is "$(troupe query "\"x:'); drop table assets;--\"" --count)" 1 "that tag is found literally"
is "$(troupe query '50%_off' --count)" 1 "% and _ are not wildcards"
is "$(troupe query '50*' --count)" 1 "* is"
is "$(troupe query 'role:%' --count)" 0 "% in a field is literal"

fails_with 66 "12345: no such asset" "unknown asset id" troupe show 12345
fails_with 66 "deadbeef: no such asset" "unknown hash prefix" troupe show deadbeef
fails_with 64 "not an asset id or a hash prefix" "short hash prefix" troupe show abc12
fails_with 64 "not an asset id or a hash prefix" "not hex" troupe show zzzzzzzzzz
fails_with 64 "no \+tag or -tag given" "tag with no edits" troupe tag 1
fails_with 66 "999: no such asset" "tag of an unknown asset changes nothing" troupe tag 1 999 +x
fails_with 66 "999: no such asset" "rm of an unknown asset changes nothing" troupe rm 1 999

# A damaged store is reported, not papered over.
blob=$(troupe path 1)
chmod u+w "$blob" && mv "$blob" "$blob.gone"
test_when_finished 'mv "$blob.gone" "$blob"'
fails_with 74 "blob [0-9a-f]+: No such file" "cat of a missing blob" troupe cat 1
check "the blob is back after the test" test -f "$blob"

done_testing
