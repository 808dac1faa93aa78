#!/bin/sh
# troupe character new|list|show|edit|rm.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require vips sqlite3

troupe init >/dev/null
check "new with every field" troupe character new mei --name "Mei" \
	--describe "young woman, black bob haircut, red wool scarf, amber eyes" \
	--negative "glasses, blonde hair" --seed 1234 --tag series:mirror --tag Lead \
	--alias "Mei Ling"
check "show --json" troupe character show mei --json
json=$(cat .out)
like "$json" '"slug":	"mei"' "slug in JSON"
like "$json" '"name":	"Mei"' "name in JSON"
like "$json" '"description":	"young woman, black bob haircut, red wool scarf, amber eyes"' \
	"description in JSON"
like "$json" '"negative":	"glasses, blonde hair"' "negative in JSON"
like "$json" '"seed":	1234' "seed in JSON"
like "$json" '"tags":	\["lead", "series:mirror"\]' "tags normalised and sorted"
like "$json" '"aliases":	\["Mei Ling"\]' "alias kept as typed"

check "new with only a slug" troupe character new dragon
check "name defaults to the slug" sh -c '"$TROUPE" character show dragon | grep -q "^dragon  dragon$"'
check "show by alias" troupe character show "Mei Ling"
like "$(cat .out)" "^mei  Mei" "alias resolves to its character"

check "list" troupe character list
is "$(sed -n '2p;3p' .out | awk '{print $1}' | tr '\n' ' ')" "dragon mei " "list is sorted by slug"
check "list --json" troupe character list --json
is "$(grep -c '"slug"' .out)" 2 "list --json has both characters"

check "edit fields" troupe character edit mei --describe "short black hair" --seed 99 \
	--tag look:winter --untag lead --unalias "Mei Ling" --alias Mei-chan
troupe character show mei --json >show.json
like "$(cat show.json)" '"description":	"short black hair"' "description changed"
like "$(cat show.json)" '"seed":	99' "seed changed"
like "$(cat show.json)" '"tags":	\["look:winter", "series:mirror"\]' "tags edited"
like "$(cat show.json)" '"aliases":	\["Mei-chan"\]' "aliases edited"
check "edit --no-seed" troupe character edit mei --no-seed
like "$(troupe character show mei --json)" '"seed":	null' "seed cleared"
check "rename the slug" troupe character edit dragon --slug drake
check "renamed character is found" troupe character show drake
troupe character edit drake --slug dragon >/dev/null

# SQL metacharacters are data, never SQL.
check "quotes and SQL in a name" troupe character new bobby --name "Robert'); DROP TABLE characters;--" \
	--describe "a \"quoted\" ; % _ description" --tag "x:'); DELETE FROM tags;--"
like "$(troupe character show bobby --json)" "DROP TABLE characters;--" "name stored literally"
is "$(troupe character list | wc -l | tr -d ' ')" 4 "all characters still there"
check "unicode name" troupe character new yuki --name "雪 Yuki" --describe "café au lait coat"
like "$(troupe character show yuki)" "雪 Yuki" "unicode kept"

fails_with 65 "already exists" "duplicate slug" troupe character new mei
fails_with 65 "slug is lower-case letters" "upper-case slug" troupe character new Mei
fails_with 65 "slug is lower-case letters" "slug with a space" troupe character new "mei ling"
fails_with 65 "slug is lower-case letters" "slug with a quote" troupe character new "mei'"
fails_with 65 "slug is lower-case letters" "slug with a leading dash" troupe character new -- -mei
fails_with 65 "1 to 64 characters" "empty slug" troupe character new ""
fails_with 65 "1 to 64 characters" "overlong slug" troupe character new \
	aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
fails_with 64 "--seed -1: expected a whole number" "negative seed" troupe character new x --seed -1
fails_with 64 "--seed 4294967296" "seed past 32 bits" troupe character new x --seed 4294967296
fails_with 64 "--seed 12ab" "seed not a number" troupe character new x --seed 12ab
fails_with 65 "name: invalid UTF-8" "invalid UTF-8 name" troupe character new x --name "$(printf 'bad\377')"
fails_with 65 "description: invalid UTF-8" "invalid UTF-8 description" \
	troupe character new x --describe "$(printf '\303')"
fails_with 65 "tag: invalid UTF-8" "invalid UTF-8 tag" troupe character new x --tag "$(printf '\377')"
fails_with 65 "control character" "control character in a name" \
	troupe character new x --name "$(printf 'a\033[31mred')"
fails_with 65 "namespace 'role' is a query field" "reserved tag namespace" \
	troupe character new x --tag role:face
fails_with 65 "name: empty" "empty name" troupe character new x --name ""
fails_with 66 "nobody: unknown character" "show unknown" troupe character show nobody
fails_with 66 "nobody: unknown character" "edit unknown" troupe character edit nobody --seed 1
fails_with 66 "nobody: unknown character" "rm unknown" troupe character rm nobody
fails_with 64 "nothing to change" "edit with no change" troupe character edit mei
fails_with 64 "not a character subcommand" "unknown subcommand" troupe character frob
fails_with 65 "already exists" "rename onto another slug" troupe character edit dragon --slug mei

noise_png face.png
troupe add mei face.png --role face >/dev/null
fails_with 65 "1 asset belong to this character" "rm refuses while assets belong" \
	troupe character rm mei
check "rm --force" troupe character rm mei --force
like "$(cat .out)" "removed character mei and 1 asset" "rm --force says what went"
is "$(troupe query --count)" 0 "its assets are gone from the index"
is "$(count_objects)" 2 "the blob and its thumbnail stay until garbage collection"
check "rm without assets" troupe character rm dragon
fails_with 66 "dragon: unknown character" "removed character is gone" troupe character show dragon

# Stored text is text for a terminal: a C1 control (CSI, which some
# terminals act on) passes text_check, so show must print it escaped.
csi=$(printf '\302\233')
check "new with a C1 control in every text" troupe character new c1 --name "a${csi}2Jb" \
	--describe "d${csi}" --negative "n${csi}" --tag "t${csi}" --alias "al${csi}"
check "show it" troupe character show c1
cp .out c1.out
check "show prints no C1 control" sh -c '! grep -q "$1" c1.out' - "$csi"
like "$(cat c1.out)" '^c1  a\\u009b2Jb$' "the name is escaped"
like "$(cat c1.out)" 'description +d\\u009b$' "the description is escaped"
like "$(cat c1.out)" 'negative +n\\u009b$' "the negative prompt is escaped"
like "$(cat c1.out)" 'tags +t\\u009b$' "the tags are escaped"
like "$(cat c1.out)" 'aliases +al\\u009b$' "the aliases are escaped"
check "rm it" troupe character rm c1

done_testing
