#!/bin/sh
# The posting lists beside the index (cache/postings.idx): every query form
# prints the same with them as without (TROUPE_POSTINGS=off), on a real
# store, after every kind of change troupe can make to tags, characters and
# assets, and with the file stale, damaged or cut short.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require vips
require sqlite3

troupe init >/dev/null
troupe character new mei --tag series:mirror >/dev/null
troupe character new kai --tag series:mirror --tag mood:calm >/dev/null
troupe character new ren --tag series:other >/dev/null
troupe location new beach --tag place:coast >/dev/null
noise_png s1.png 300 200; troupe add mei s1.png --role sheet >/dev/null                          # 1
noise_jpeg f1.jpg 64 64;  troupe add mei f1.jpg --role face --tag look:winter >/dev/null          # 2
noise_jpeg f2.jpg 128 96; troupe add mei f2.jpg --role face --tag look:summer --tag draft >/dev/null # 3
noise_jpeg f3.jpg 64 80;  troupe add kai f3.jpg --role face --tag look:winter >/dev/null          # 4
noise_png p1.png 512 512; troupe add ren p1.png --role pose --tag "look:red scarf" >/dev/null     # 5
noise_png x1.png 20 20;   troupe add x1.png --role prop --tag draft --tag "a?b" >/dev/null         # 6
noise_png l1.png 90 60;   troupe add beach l1.png --role location --tag mood:calm >/dev/null       # 7
noise_jpeg k2.jpg 70 70;  troupe add kai k2.jpg --role pose --tag "x[1]" --tag draft >/dev/null    # 8

queries_file=queries.txt
cat >"$queries_file" <<'EOF'

draft
-draft
look:winter
look:*
look:*er
*:calm
"look:red scarf"
look:"Red Scarf"
series:mirror
series:mirror -role:sheet (look:winter OR look:summer)
-(role:face OR role:pose)
role:face OR role:pose OR role:prop
role:f*
-role:face look:winter
character:mei
character:*
-character:*
character:k*
kind:location
kind:*
-kind:character
a?b
a?*
x[1]
x*
draft OR mood:calm
-(draft OR -series:mirror) kind:character
(look:winter OR (draft -role:prop)) OR (kind:location -place:coast)
place:coast
nosuchtag
-nosuchtag
character:nobody
format:png draft
width>64 OR draft
EOF

# answers QUERY: everything troupe prints for the query, in every form.
answers() {
	troupe query "$1"
	troupe query "$1" --json
	troupe query "$1" --count
	troupe query "$1" --limit 2 --paths
	troupe query "$1" --limit 3 --sort -id
	troupe query "$1" --limit 3 --sort -width --json
}

# both_ways DESCRIPTION: each query's answers with the lists and without.
both_ways() {
	differ=
	while IFS= read -r q; do
		with=$(answers "$q" 2>&1)
		without=$(TROUPE_POSTINGS=off answers "$q" 2>&1)
		[ "$with" = "$without" ] || differ="$differ '$q'"
	done <"$queries_file"
	is "$differ" "" "$1: every query prints the same with and without the lists"
}

# The generation in the file's header (after its 8-byte magic) and the
# index's.
file_generation() { od -An -t u8 -j 8 -N 8 .troupe/cache/postings.idx | tr -d ' '; }
index_generation() { sqlite3 .troupe/troupe.db "SELECT value FROM meta WHERE key = 'tag_generation'"; }

both_ways "a fresh store"
check "the lists are beside the index" test -s .troupe/cache/postings.idx
is "$(file_generation)" "$(index_generation)" "at the index's generation"
is "$(troupe query 'series:mirror' --count)" 5 "a character's tags match its assets"
is "$(troupe query '-kind:character' --paths | wc -l | tr -d ' ')" 2 "assets of other kinds, and of none"

troupe tag 2 3 +series:other >/dev/null
[ "$(file_generation)" != "$(index_generation)" ]
check "tagging moves the generation past the file's" test $? -eq 0
both_ways "after tagging assets"
is "$(file_generation)" "$(index_generation)" "the stale file was made again"
troupe tag 3 6 8 -draft >/dev/null
both_ways "after untagging"
troupe character edit mei --tag mood:calm --untag series:mirror >/dev/null
both_ways "after changing a character's tags"
troupe character edit ren --slug rennie >/dev/null
both_ways "after renaming a character"
troupe edit 4 --role pose >/dev/null
troupe edit 5 --character kai >/dev/null
troupe edit 1 --no-character >/dev/null
both_ways "after changing assets' role and character"
troupe rm 7 >/dev/null
both_ways "after removing an asset"
noise_jpeg n1.jpg 40 40; troupe add kai n1.jpg --role face --tag look:winter >/dev/null
both_ways "after adding one"

# A damaged list is not trusted: the answer is the index's, and the file
# goes, to be made again by the next query. The last bytes are the end of
# the list of the newest tag.
size=$(wc -c <.troupe/cache/postings.idx)
newest=$(sqlite3 .troupe/troupe.db "SELECT CASE ns WHEN '' THEN value ELSE ns || ':' || value END
	FROM tags WHERE id = (SELECT max(tag_id) FROM asset_tags)")
printf 'damage' | dd of=.troupe/cache/postings.idx bs=1 seek=$((size - 6)) conv=notrunc 2>/dev/null
cp .troupe/cache/postings.idx damaged.idx
is "$(troupe query "\"$newest\"" --count)" "$(TROUPE_POSTINGS=off troupe query "\"$newest\"" --count)" \
	"a damaged list gives the index's answer"
if cmp -s damaged.idx .troupe/cache/postings.idx; then
	fail "the damaged file is not kept" "it is still there, unchanged"
else
	pass "the damaged file is not kept"
fi
both_ways "after the file was damaged"
truncate -s 100 .troupe/cache/postings.idx
both_ways "with the file cut short"
is "$(file_generation)" "$(index_generation)" "the damaged file was made again"
printf 'not a posting file at all' >.troupe/cache/postings.idx
both_ways "with another file in its place"

# fsck names a posting-list file it cannot read, and --repair removes it.
printf 'not a posting file either' >.troupe/cache/postings.idx
troupe fsck >.out 2>&1
like "$(cat .out)" "^cache postings.idx: not a readable cache file" "fsck names an unreadable posting file"
troupe fsck --repair >/dev/null 2>&1
check "--repair removed it" test ! -e .troupe/cache/postings.idx
troupe query draft --count >/dev/null
troupe fsck >.out 2>&1
check "a good posting file is no problem to fsck" sh -c "! grep -q postings.idx .out"

fails_with 78 'TROUPE_POSTINGS=maybe: expected on or off' "TROUPE_POSTINGS must be on or off" \
	env TROUPE_POSTINGS=maybe "$TROUPE" query draft --count

done_testing
