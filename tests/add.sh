#!/bin/sh
# troupe add: files, directories, deduplication and the blob layout.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require vips sqlite3 xxh128sum

troupe init >/dev/null
troupe character new mei >/dev/null
noise_png sheet.png 120 80
mkdir -p faces/winter faces/.hidden
noise_jpeg faces/a.jpg 64 48
noise_jpeg faces/winter/b.jpg 32 32
vips copy faces/a.jpg faces/c.webp >/dev/null
cp faces/a.jpg faces/.hidden/secret.jpg
echo "not an image" >faces/notes.txt

check "add one file" troupe add mei sheet.png --role sheet
hash=$(xxh128sum sheet.png | cut -d' ' -f1)
like "$(cat .out)" "^added +$hash +#1 +sheet.png" "add prints the hash xxh128sum prints"
blob=.troupe/objects/$(echo "$hash" | cut -c1-2)/$(echo "$hash" | cut -c3-)
check "blob is at objects/xx/rest" test -f "$blob"
check "blob holds the same bytes" cmp sheet.png "$blob"
is "$(stat -c %a "$blob")" 444 "blob is read-only"
is "$(troupe show 1 --json | tr -d '\t\n ' | grep -o '"width":[^,]*,[^,]*,[^,]*')" \
	'"width":120,"height":80,"format":"png"' "width, height and format recorded"

check "add a directory" troupe add mei faces/ --role face --tag look:winter --tag Draft
is "$(grep -c '^added' .out)" 3 "three images found recursively"
like "$(cat .err)" "skipped faces/notes.txt: not an image" "non-image reported and skipped"
check "hidden files are skipped" sh -c '! grep -q secret .out'
is "$(troupe query 'look:winter draft' --count)" 3 "tags applied to every file"
is "$(troupe query 'format:webp' --count)" 1 "WebP recognised"

check "same file again" troupe add mei sheet.png --role sheet
like "$(cat .out)" "^present $hash +#1" "the same asset is reported present"
is "$(troupe query --count)" 4 "no duplicate asset row"
is "$(count_objects)" 8 "no duplicate blob (4 images, 4 thumbnails)"

cp sheet.png copy-of-sheet.png
check "same bytes for another character" sh -c \
	'"$TROUPE" character new kai >/dev/null && "$TROUPE" add kai copy-of-sheet.png'
is "$(troupe query --count)" 5 "a second asset row for the other character"
is "$(count_objects)" 8 "still one blob for the same bytes"
is "$(sqlite3 .troupe/troupe.db 'SELECT count(*) FROM blobs')" 8 "one blob row per content"
is "$(sqlite3 .troupe/troupe.db 'SELECT count(*) FROM thumbnails')" 4 "one thumbnail per picture"

check "add without a character" troupe add faces/a.jpg --role prop
like "$(troupe show "$(sed -n 's/^added *[0-9a-f]* *#\([0-9]*\).*/\1/p' .out)")" \
	"character  \(none\)" "an asset may belong to no character"
check "--character option" troupe add --character mei faces/winter/b.jpg --role pose
is "$(troupe query 'character:mei role:pose' --count)" 1 "--character works"

check "add --json" troupe add mei faces/a.jpg --role costume --json
like "$(cat .out)" '"new":	true' "JSON says new"
like "$(cat .out)" '"role":	"costume"' "JSON has the role"

is "$(find .troupe/tmp -type f | wc -l | tr -d ' ')" 0 "tmp/ is empty after adds"

# More than a handful of files on a terminal draws a progress bar.
mkdir many
for i in 1 2 3 4 5 6 7 8 9 10; do noise_jpeg many/$i.jpg 16 16; done
if test_have_prereq TTY "progress bar on a terminal"; then
	script -qec "$TROUPE add many --role reference" /dev/null >tty.out 2>&1
	like "$(cat tty.out)" "adding \[#+ *\] +[0-9]+%" "progress bar on a terminal"
fi
check "no progress bar when stderr is not a terminal" troupe add many --role reference
is "$(cat .err)" "" "stderr stays quiet"

# Paths with brackets and spaces are read as they are.
cp sheet.png "odd [name] here.png"
check "odd file name" troupe add "odd [name] here.png" --role location

troupe character new ren --alias "Ren Tanaka" >/dev/null
noise_png alias.png 30 30
check "the first word may be an alias" troupe add "Ren Tanaka" alias.png --role pose
is "$(troupe query 'character:ren role:pose' --count)" 1 "added to the alias's character"
fails_with 66 "nobody: unknown character" "an unknown slug as the first word" \
	troupe add nobody alias.png
fails_with 66 "Nobody Here: No such file" "a word that is neither a path nor a character" \
	troupe add "Nobody Here" alias.png

# '-' is standard input, read whole into a temporary file of its own.
noise_png piped.png 24 24
check "add - reads standard input" sh -c '"$TROUPE" add ren - --role face <piped.png'
like "$(cat .out)" "^added +$(xxh128sum piped.png | cut -d' ' -f1) +#[0-9]+ +-$" "printed as '-'"
is "$(troupe query 'character:ren role:face' --json | grep -c '"source":"stdin"')" 1 \
	"its source is recorded as stdin"
check "standard input beside a file" sh -c '"$TROUPE" add ren - sheet.png <faces/a.jpg'
is "$(grep -c '^present\|^added' .out)" 2 "both added"
fails_with 65 "-: not an image" "text on standard input" sh -c 'echo hello | "$TROUPE" add ren -'
fails_with 65 "-: not an image \\(empty file\\)" "nothing on standard input" \
	sh -c '"$TROUPE" add ren - </dev/null'
fails_with 64 "-: standard input can be added only once" "'-' twice" \
	sh -c '"$TROUPE" add ren - - <piped.png'
check "no temporary file is left behind" sh -c '! ls "${TMPDIR:-/tmp}" | grep -q "^troupe-stdin-"'
# A file name is text for a terminal: an escape sequence in it (this one
# sets the window title) is printed escaped, never raw, by add and show.
evil=$(printf 'title\033]0;pwned\007.png')
noise_png "$evil" 20 20
controls=$(printf '[\001-\011\013-\037\177]')
check "add a file whose name holds an escape sequence" troupe add ren "$evil" --role prop
cp .out add.out
check "add prints no control character" sh -c '! LC_ALL=C grep -q "$1" add.out' - "$controls"
like "$(cat add.out)" ' title\\x1b\]0;pwned\\x07\.png$' "add prints the name with \\x escapes"
id=$(sed -n 's/^added *[0-9a-f]* *#\([0-9]*\).*/\1/p' add.out)
check "show that asset" troupe show "$id"
cp .out show.out
check "show prints no control character" sh -c '! LC_ALL=C grep -q "$1" show.out' - "$controls"
like "$(cat show.out)" 'source +title\\x1b\]0;pwned\\x07\.png' "show prints the source escaped"
like "$(troupe show "$id" --json)" '"source":	"title\\u001b]0;pwned\\u0007.png"' \
	"JSON keeps the name, escaped as JSON"
# Errors and warnings name files too: escaped as well.
printf 'not a picture' >"$evil.jpg"
"$TROUPE" add ren "$evil.jpg" --role prop 2>add.err
check "an error naming such a file prints no control character" \
	sh -c '! LC_ALL=C grep -q "$1" add.err' - "$controls"
like "$(cat add.err)" 'title\\x1b\]0;pwned\\x07\.png\.jpg' "the error names it with \\x escapes"
rm -f "$evil.jpg"

# A terminal on standard input (script(1) makes one) is refused rather than
# waited on; under script the message comes out on its standard output.
if test_have_prereq TTY "a terminal on standard input is refused" "saying so"; then
	script -qec "\"$TROUPE\" add ren -" /dev/null >tty.out 2>&1 </dev/null
	is "$?" 64 "a terminal on standard input is refused"
	like "$(cat tty.out)" "troupe: add: -: standard input is a terminal" "saying so"
fi

done_testing
