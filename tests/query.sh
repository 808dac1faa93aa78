#!/bin/sh
# The tag query language, end to end on a real store.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require vips

troupe init >/dev/null
troupe character new mei --tag series:mirror >/dev/null
troupe character new kai --tag series:mirror >/dev/null
troupe character new ren --tag series:other >/dev/null
noise_png s1.png 300 200;  troupe add mei s1.png --role sheet >/dev/null            # 1
noise_jpeg f1.jpg 64 64;   troupe add mei f1.jpg --role face --tag look:winter >/dev/null  # 2
noise_jpeg f2.jpg 128 96;  troupe add mei f2.jpg --role face --tag look:summer --tag draft >/dev/null # 3
noise_jpeg f3.jpg 64 80;   troupe add kai f3.jpg --role face --tag look:winter >/dev/null   # 4
noise_png  p1.png 512 512; troupe add ren p1.png --role pose --tag "look:red scarf" >/dev/null # 5
noise_png  x1.png 20 20;   troupe add x1.png --role prop --tag draft >/dev/null             # 6

# ids QUERY: the ids it matches, in order, space-separated.
ids() { troupe query "$@" --json | sed -n 's/^  {"id":\([0-9]*\),.*/\1/p' | tr '\n' ' ' | sed 's/ $//'; }

is "$(ids '')" "1 2 3 4 5 6" "empty query lists everything"
is "$(ids 'character:mei role:face look:winter')" "2" "AND of fields and a tag"
is "$(ids 'series:mirror -role:sheet (look:winter OR look:summer)')" "2 3 4" \
	"character tags, negation, OR and parentheses"
is "$(ids 'series:mirror')" "1 2 3 4" "a character's tags match its assets"
is "$(ids 'draft')" "3 6" "plain tag"
is "$(ids '-draft')" "1 2 4 5" "negated plain tag"
is "$(ids 'look:*')" "2 3 4 5" "wildcard value"
is "$(ids 'look:*mer')" "3" "wildcard suffix"
is "$(ids 'character:*')" "1 2 3 4 5" "any character"
is "$(ids '-character:*')" "6" "assets with no character"
is "$(ids '"look:red scarf"')" "5" "quoted tag with an inner space"
is "$(ids 'look:"Red Scarf"')" "5" "tags are case-insensitive"
is "$(ids 'format:png')" "1 5 6" "format field"
is "$(ids 'format:jpg')" "2 3 4" "jpg means jpeg"
is "$(ids 'width>100')" "1 3 5" "width>"
is "$(ids 'width>=128 height<=200')" "1 3" "width>= and height<="
is "$(ids 'height=64')" "2" "height="
is "$(ids 'bytes>0 width<21')" "6" "bytes comparison"
today=$(date -u +%Y-%m-%d)
is "$(ids "added>=$today")" "1 2 3 4 5 6" "added today"
is "$(ids "added<$today")" "" "nothing before today"
is "$(ids "added=$today role:pose")" "5" "added= a day"
is "$(ids 'role:face OR role:pose OR role:prop')" "2 3 4 5 6" "chained OR"
is "$(ids '-(role:face OR role:pose)')" "1 6" "negated group"
is "$(ids role:face -look:winter)" "3" "a '-term' as its own word"
hash=$(troupe query 'role:pose' --json | sed -n 's/.*"hash":"\([0-9a-f]*\)".*/\1/p')
prefix=$(echo "$hash" | cut -c1-8)
is "$(ids "hash:$prefix")" "5" "hash prefix"

check "--paths" troupe query 'role:sheet' --paths
is "$(cat .out)" "$(troupe path 1)" "--paths prints blob paths"
is "$(ids '' --limit 2)" "1 2" "--limit"
# With --limit and no field terms, the tag sets are merged only until that
# many distinct ids come out: an asset that matches twice (its own tag and
# its character's) still counts once.
troupe tag 2 3 +series:mirror >/dev/null
is "$(ids 'series:mirror' --limit 3)" "1 2 3" "--limit on a tag matched twice"
is "$(ids 'series:mirror' --limit 3 --sort -id)" "4 3 2" "--limit, descending"
is "$(ids 'series:* -look:summer' --limit 4)" "1 2 4 5" "--limit on a wildcard less a tag"
is "$(ids 'series:mirror OR draft' --limit 9)" "1 2 3 4 6" "--limit beyond the matches"
is "$(ids 'series:mirror role:face' --limit 2)" "2 3" "--limit with a field term"
troupe tag 2 3 -series:mirror >/dev/null
is "$(ids '' --sort -width)" "5 1 3 2 4 6" "--sort -width, ties by id"
is "$(ids 'role:face' --sort character)" "4 2 3" "--sort character"
is "$(troupe query 'role:face' --count)" 3 "--count"
check "table output" troupe query 'character:mei'
is "$(head -1 .out | tr -s ' ')" "ID HASH CHARACTER ROLE SIZE FORMAT TAGS" "table header"
like "$(sed -n 4p .out)" "^3 +[0-9a-f]{16} +mei +face +128x96 +jpeg +draft, look:summer$" "table row"
check "no match prints nothing" troupe query 'role:location'
is "$(cat .out)" "" "empty table is silent"
is "$(troupe query 'role:location' --json)" "[]" "empty JSON is []"

# Every asset field a script needs is in the JSON.
json=$(troupe query 'role:pose' --json)
for field in id hash character role tags path width height format bytes added source; do
	like "$json" "\"$field\":" "JSON has $field"
done
check "JSON path exists" test -f "$(echo "$json" | sed -n 's/.*"path":"\([^"]*\)".*/\1/p')"

done_testing
