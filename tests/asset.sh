#!/bin/sh
# troupe show, tag, rm, cat, path and hash.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"

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
check "show two, as JSON" troupe show 1 2 --json
is "$(grep -c '"hash"' .out)" 2 "both in a JSON array"

check "tag +add -remove" troupe tag 1 2 +look:winter "+Hero Shot" -keep
is "$(troupe query 'look:winter "hero shot"' --count)" 2 "tags added to both"
is "$(troupe query keep --count)" 0 "tag removed"
check "removing a tag nobody has is fine" troupe tag 1 -never-used

check "cat writes the bytes" sh -c '"$TROUPE" cat 1 >out.jpg'
check "cat output equals the original" cmp a.jpg out.jpg
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

done_testing
