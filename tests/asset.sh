#!/bin/sh
# troupe show, tag, rm, cat, path and hash.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require vips sqlite3 xxh128sum

troupe init >/dev/null
troupe character new mei >/dev/null
noise_jpeg a.jpg 80 60
noise_png b.png 40 40
troupe add mei a.jpg --role face >/dev/null
troupe add mei b.png --role sheet --tag keep >/dev/null
hash=$(xxh128sum a.jpg | cut -d' ' -f1)

check "show by id" troupe show 1
like "$(cat .out)" "hash +$hash" "show has the hash"
like "$(cat .out)" "image +80x60 jpeg" "show has size and format"
check "show by 8-digit hash prefix" troupe show "$(echo "$hash" | cut -c1-8)"
like "$(cat .out)" "^asset 1$" "prefix finds the asset"
check "show by upper-case full hash" troupe show "$(echo "$hash" | tr a-f A-F)"
check "show by '#id'" troupe show '#1'
like "$(cat .out)" "^asset 1$" "'#1' is asset 1"
fails_with 64 "'#' must be followed by an asset id" "'#' and no digits" troupe show '#'
fails_with 64 "'#' must be followed by an asset id" "'#' and hex" troupe show '#1a'
fails_with 66 "#99: no such asset" "'#' and an unknown id" troupe show '#99'
fails_with 64 "not an asset id or a hash prefix" "seven hex digits" troupe show 1234abc
fails_with 66 "00000001: no such asset" "eight digits with a leading zero are only a hash prefix" \
	troupe show 00000001
# Eight or more decimal digits: an id or a hash prefix, whichever exists,
# and an error that names both when both do. Asset 2's id is moved to
# 12345678 and asset 1's hash is made to start with those digits.
sql() { sqlite3 .troupe/troupe.db "PRAGMA foreign_keys = OFF; $1"; }
sql "UPDATE asset_tags SET asset_id = 12345678 WHERE asset_id = 2;
     UPDATE assets SET id = 12345678 WHERE id = 2"
check "an 8-digit id" troupe show 12345678
like "$(cat .out)" "^asset 12345678$" "is found by id when no hash starts with it"
sql "UPDATE blobs SET hash = '12345678' || substr(hash, 9) WHERE hash = '$hash'"
fails_with 64 "ambiguous; it is asset #12345678's id and the start of asset #1's hash \\(write '#12345678' for the id" \
	"an id that is also a hash prefix is ambiguous" troupe show 12345678
check "'#' picks the id" troupe show '#12345678'
like "$(cat .out)" "^asset 12345678$" "and shows it"
check "a longer prefix picks the hash" troupe show "12345678$(echo "$hash" | cut -c9-12)"
like "$(cat .out)" "^asset 1$" "and shows that"
sql "UPDATE blobs SET hash = '$hash' WHERE hash = '12345678' || substr('$hash', 9);
     UPDATE asset_tags SET asset_id = 2 WHERE asset_id = 12345678;
     UPDATE assets SET id = 2 WHERE id = 12345678"
check "show two, as JSON" troupe show 1 2 --json
is "$(grep -c '"hash"' .out)" 2 "both in a JSON array"

check "tag +add -remove" troupe tag 1 2 +look:winter "+Hero Shot" -keep
is "$(troupe query 'look:winter "hero shot"' --count)" 2 "tags added to both"
is "$(troupe query keep --count)" 0 "tag removed"
check "removing a tag nobody has is fine" troupe tag 1 -never-used

check "cat writes the bytes" sh -c '"$TROUPE" cat 1 >out.jpg'
check "cat output equals the original" cmp a.jpg out.jpg
# A picture is not written to a terminal unless asked for.
if test_have_prereq TTY "cat to a terminal is refused" "saying why" "cat --force writes to a terminal"; then
	script -qec "\"$TROUPE\" cat 1" /dev/null >tty.out 2>&1 </dev/null
	is "$?" 64 "cat to a terminal is refused"
	like "$(cat tty.out)" "troupe: cat: standard output is a terminal; .*--force" "saying why"
	script -qec "\"$TROUPE\" cat --force 1" /dev/null >tty.out 2>&1 </dev/null
	check "cat --force writes to a terminal" test "$(wc -c <tty.out)" -ge "$(wc -c <a.jpg)"
fi
check "cat -f to a pipe" sh -c '"$TROUPE" cat -f 1 | cmp - a.jpg'
check "path" troupe path 1
check "path names the blob" cmp a.jpg "$(cat .out)"

check "hash prints what xxh128sum prints" troupe hash a.jpg b.png
is "$(cat .out)" "$(xxh128sum a.jpg b.png)" "hash output equals xxh128sum"

objects=$(count_objects)
check "rm" troupe rm 2
fails_with 66 "2: no such asset" "removed asset is gone" troupe show 2
is "$(count_objects)" "$objects" "its blob stays until garbage collection"
is "$(troupe query --count)" 1 "one asset left"
check "the blob can be added back" troupe add mei b.png --role sheet
like "$(cat .out)" "^added" "re-added as a new asset"
# Ids are written down in shot lists and scripts: one is never given twice,
# not even the newest one after it was removed.
like "$(cat .out)" " #3 " "the re-added picture takes a new id, not the removed #2"
check "rm the newest" troupe rm 3
check "add after removing the newest" troupe add mei b.png --role sheet
like "$(cat .out)" " #4 " "the newest id removed is not given again"

# edit changes an asset's role and character in place: its id, tags,
# embeddings and log links stay. The links are made here by hand.
troupe character new ren >/dev/null
sqlite3 .troupe/troupe.db "INSERT INTO models(name, dimension, created) VALUES ('m', 2, 0);
	INSERT INTO embeddings(asset_id, model_id, vector, added) VALUES (1, 1, x'0000803f00000000', 0);
	INSERT INTO requests(kind, profile, status, started) VALUES ('generate', 'p', 'succeeded', 0);
	INSERT INTO request_outputs(request_id, asset_id) VALUES (1, 1)"
check "edit --role --character" troupe edit 1 --role pose --character ren
is "$(cat .out)" "#1  ren  pose" "edit says what each asset is now"
check "the edited asset keeps its id" troupe show 1
like "$(cat .out)" "character +ren" "its character changed"
like "$(cat .out)" "role +pose" "its role changed"
like "$(cat .out)" "tags +.*look:winter" "its tags stay"
like "$(cat .out)" "made by +request 1" "its log link stays"
is "$(sqlite3 .troupe/troupe.db 'SELECT count(*) FROM embeddings WHERE asset_id = 1')" 1 \
	"its embedding stays"
check "edit --no-character" troupe edit 1 --no-character --json
like "$(tr -d ' \t\n' <.out)" '^\[{"id":1,.*"role":"pose"' "--json prints an array of the edited assets"
is "$(troupe query 'character:ren' --count)" 0 "the asset belongs to no character"
fails_with 64 "--role hero: not a role" "edit refuses a bad role" troupe edit 1 --role hero
fails_with 66 "nobody" "edit refuses an unknown character" troupe edit 1 --character nobody
fails_with 64 "nothing to change" "edit with nothing to change" troupe edit 1
fails_with 64 "together" "--character and --no-character together" \
	troupe edit 1 --character ren --no-character
fails_with 66 "no such asset" "a bad asset changes nothing" troupe edit 1 '#99' --role face
troupe add a.jpg --role face >/dev/null
twin=$(sqlite3 .troupe/troupe.db "SELECT max(id) FROM assets")
fails_with 65 "asset #$twin is already this picture" \
	"edit refuses to make an asset another one's twin" troupe edit 1 --role face

# A store made before ids were kept keeps every id, tag and link when it
# is migrated. It is made here as that troupe made it, from the first
# five schema files, with rows that point at the assets from every side.
mkdir -p old/.troupe/objects old/.troupe/tmp
cat "$TEST_SRCDIR"/../schema/000[1-5]-*.sql | sqlite3 old/.troupe/troupe.db
sqlite3 old/.troupe/troupe.db "PRAGMA journal_mode = WAL; PRAGMA user_version = 5;
	PRAGMA application_id = 1414681936;
	INSERT INTO blobs(id, hash, bytes, added) VALUES (1, '$hash', 100, 0),
		(2, '$(xxh128sum b.png | cut -d' ' -f1)', 100, 0);
	INSERT INTO characters(id, slug, name, created, updated) VALUES (1, 'kai', 'Kai', 0, 0);
	INSERT INTO assets(id, blob_id, character_id, role, width, height, format, added)
		VALUES (1, 1, 1, 'face', 80, 60, 'jpeg', 0), (7, 2, 1, 'sheet', 40, 40, 'png', 0);
	INSERT INTO tags(id, value) VALUES (1, 'keep');
	INSERT INTO asset_tags VALUES (1, 1), (7, 1);
	INSERT INTO models(id, name, dimension, created) VALUES (1, 'm', 2, 0);
	INSERT INTO embeddings VALUES (7, 1, x'0000803f00000000', 0);
	INSERT INTO requests(id, kind, profile, status, started) VALUES (1, 'generate', 'p', 'succeeded', 0);
	INSERT INTO request_refs VALUES (1, 1, 1, '$hash', '$hash', 'kai');
	INSERT INTO request_outputs VALUES (1, 7, NULL)" >/dev/null
check "an old store opens" troupe --store old/.troupe query
is "$(sqlite3 old/.troupe/troupe.db "SELECT group_concat(id, ' ') FROM (SELECT id FROM assets ORDER BY id)")" \
	"1 7" "and keeps every id"
is "$(troupe --store old/.troupe query keep --count)" 2 "and every tag"
is "$(sqlite3 old/.troupe/troupe.db 'SELECT count(*) FROM embeddings WHERE asset_id = 7')" 1 \
	"and its embeddings"
is "$(sqlite3 old/.troupe/troupe.db 'SELECT asset_id FROM request_refs; SELECT asset_id FROM request_outputs')" \
	"1
7" "and its log links"
is "$(sqlite3 old/.troupe/troupe.db 'PRAGMA foreign_key_check' | wc -l | tr -d ' ')" 0 \
	"and every foreign key holds"
is "$(sqlite3 old/.troupe/troupe.db "SELECT count(*) FROM sqlite_master WHERE name LIKE 'assets_by_%'")" 3 \
	"and its indexes"
check "rm the newest in the old store" troupe --store old/.troupe rm 7
noise_png c.png 30 30
check "add to the old store" troupe --store old/.troupe add kai c.png --role sheet
like "$(cat .out)" " #8 " "the migrated store does not give #7 again"

# File names and tags are text for a terminal: hash and tag print them
# escaped (this escape sequence sets the window title; \302\233 is CSI).
evil=$(printf 'x\033]0;pwned\007.png')
cp c.png "$evil"
controls=$(printf '[\001-\011\013-\037\177]')
check "hash a file whose name holds an escape sequence" troupe hash "$evil"
cp .out hash.out
check "hash prints no control character" sh -c '! LC_ALL=C grep -q "$1" hash.out' - "$controls"
like "$(cat hash.out)" ' x\\x1b\]0;pwned\\x07\.png$' "hash prints the name with \\x escapes"
csi=$(printf '\302\233')
check "tag with a C1 control" troupe --store old/.troupe tag 8 "+t${csi}"
cp .out tag.out
check "tag prints no C1 control" sh -c '! grep -q "$1" tag.out' - "$csi"
like "$(cat tag.out)" 't\\u009b' "tag prints it escaped"

done_testing
