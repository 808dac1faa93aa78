#!/bin/sh
# --json on every command: the output is one JSON document of the shape
# troupe(1) gives under JSON OUTPUT: an object for a command about one
# thing, an array for a listing whatever its count, pretty-printed alike;
# inject prints the request itself.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require vips sqlite3 xxh128sum
. "$TEST_SRCDIR/mock-lib.sh"

# json_shape SHAPE DESCRIPTION COMMAND...: the command, given --json,
# succeeds and prints JSON of SHAPE: "object", "array" (of objects when
# not empty) or "array:N" (of N). Its output is kept in .json.
json_shape() {
	local shape=$1 desc=$2 status
	shift 2
	"$@" --json >"$scratch/.json" 2>"$scratch/.err"
	status=$?
	if [ "$status" != 0 ]; then
		fail "$desc" "exit $status: $* --json" "$(head -c 600 "$scratch/.err")"
		return
	fi
	local why
	why=$(python3 - "$scratch/.json" "$shape" <<'EOF'
import json, sys
text = open(sys.argv[1]).read()
shape = sys.argv[2]
try:
    d = json.loads(text)
except ValueError as e:
    print("not one JSON document: %s: %r" % (e, text[:200]))
    sys.exit()
kind, _, count = shape.partition(":")
if kind == "object" and not isinstance(d, dict):
    print("want an object, got %s" % type(d).__name__)
elif kind == "array" and not isinstance(d, list):
    print("want an array, got %s" % type(d).__name__)
elif count and len(d) != int(count):
    print("want %s items, got %d" % (count, len(d)))
elif kind == "array" and shape == "array" and not all(isinstance(x, dict) for x in d):
    print("want an array of objects")
elif not text.endswith("\n"):
    print("the document does not end in a newline")
EOF
)
	if [ -n "$why" ]; then
		fail "$desc" "$* --json: $why"
	else
		pass "$desc"
	fi
}

# pretty DESCRIPTION: the last json_shape output is pretty-printed as
# every other is: indented with tabs, an object's members one a line.
pretty() {
	if grep -Eq '^	+"[a-z_]+":	' "$scratch/.json"; then
		pass "$1"
	else
		fail "$1" "not indented with tabs: $(head -c 200 "$scratch/.json")"
	fi
}

json_shape object "init: the store it made" troupe init
pretty "init is pretty-printed"
json_shape object "character new" troupe character new mei --name Mei --describe "a cat"
pretty "character new is pretty-printed"
json_shape object "character new, another" troupe character new kai
json_shape array:2 "character list" troupe character list
json_shape object "character show" troupe character show mei
json_shape object "character edit" troupe character edit mei --describe "a grey cat"

photos=$TEST_SRCDIR/data/photos
json_shape array:1 "add of one file: an array of one" \
	troupe add mei "$photos/chelsea.jpg" --role face
json_shape array:2 "add of two files" troupe add mei "$photos/coffee.jpg" "$photos/rocket.jpg" --role face
troupe add kai "$photos/astronaut.jpg" "$photos/camera.jpg" --role face >/dev/null

json_shape array:5 "query" troupe query
json_shape array:1 "query of one asset: an array of one" troupe query -n1
json_shape array:0 "query of nothing: an empty array" troupe query role:sheet

json_shape array:1 "show of one asset: an array of one" troupe show 1
pretty "show is pretty-printed"
json_shape array:2 "show of two assets" troupe show 1 2
json_shape array:1 "tag of one asset: an array of one" troupe tag 1 +hero
json_shape array:2 "tag of two" troupe tag 1 2 -hero
json_shape array:1 "path of one asset: an array of one" troupe path 1
is "$(jsonv "$scratch/.json" 'd[0]')" "$(troupe path 1)" "path's array holds the path"

json_shape array:1 "hash of one file: an array of one" troupe hash "$photos/chelsea.jpg"
pretty "hash is pretty-printed"
json_shape array:2 "hash of two files: one array, not JSON Lines" \
	troupe hash "$photos/chelsea.jpg" "$photos/coffee.jpg"
is "$(jsonv "$scratch/.json" '[x["hash"] for x in d]')" \
	"$(xxh128sum "$photos/chelsea.jpg" "$photos/coffee.jpg" | cut -d' ' -f1 | python3 -c 'import json, sys; print(json.dumps(sys.stdin.read().split()))')" \
	"hash --json has xxh128sum's hashes"
check "hash: --json after the files counts" troupe hash "$photos/chelsea.jpg" --json
cp .out hash-after.json
check "and gives the same array" sh -c '"$TROUPE" --json hash "$1" | cmp -s - hash-after.json' sh \
	"$photos/chelsea.jpg"

json_shape array "similar" troupe similar 1
json_shape object "derive" troupe derive 1 --max-side 64
json_shape object "sheet" troupe sheet mei -o sheet.png
json_shape object "gallery" troupe gallery mei -o gallery

json_shape array "profile list" troupe profile list
json_shape object "profile show" troupe profile show kling-image
json_shape array:1 "profile validate of one: an array of one" troupe profile validate kling-image
pretty "profile validate is pretty-printed"
is "$(jsonv "$scratch/.json" '[d[0]["name"], d[0]["service"]]')" '["kling-image", "Kling AI"]' \
	"profile validate names the profile and its service"
json_shape array:2 "profile validate of two" troupe profile validate kling-image midjourney
check "profile validate --json prints nothing when one fails" sh -c \
	'! "$TROUPE" profile validate kling-image no-such-profile --json >"$1" 2>/dev/null && ! test -s "$1"' \
	sh "$scratch/failed.json"

# inject prints the request the service gets, --json or not.
check "inject (into a pipe)" troupe inject -p kling-image "@mei waves"
cp .out plain-request.json
json_shape object "inject --json: the request itself" troupe inject -p kling-image "@mei waves"
check "the same request as without --json" cmp -s plain-request.json "$scratch/.json"
json_shape object "inject --json, text profile: an object with the prompt" \
	env TROUPE_REF_BASE_URL=https://cdn.example.com/refs "$TROUPE" inject -p midjourney "@mei waves"
like "$(jsonv "$scratch/.json" 'd["prompt"]')" "waves" "the prompt is in it"

json_shape array "log" troupe log
json_shape array:1 "log of one request: an array of one" troupe log -n1

h() { xxh128sum "$photos/$1" | cut -d' ' -f1; }
cat >v.jsonl <<JSON
{"asset": "$(h chelsea.jpg)", "vector": [1, 0.1, 0, 0]}
{"asset": "$(h coffee.jpg)", "vector": [0.9, 0.2, 0.1, 0]}
{"asset": "$(h rocket.jpg)", "vector": [0.95, 0, 0.2, 0.1]}
{"asset": "$(h astronaut.jpg)", "vector": [0, 0.1, 1, 0.2]}
{"asset": "$(h camera.jpg)", "vector": [0.1, 0, 0.9, 0.3]}
JSON
json_shape object "embed import" troupe embed import --model toy v.jsonl
json_shape array:2 "nearest" troupe nearest 1 --model toy -k 2
json_shape object "calibrate" troupe calibrate --model toy

python3 "$TEST_SRCDIR/mock-embeddings.py" embed.port embed.log &
embed_mock=$!
test_atexit 'kill $embed_mock'
for i in $(seq 1 150); do [ -s embed.port ] && break; sleep 0.2; done
export TROUPE_JINA_URL="http://127.0.0.1:$(cat embed.port)" JINA_API_KEY=jina-test-key
json_shape object "embed" troupe embed --model jina-clip-v2 'character:mei'
json_shape array:1 "check of one shot: an array of one" \
	troupe check "$photos/coffee.jpg" --character mei --model jina-clip-v2 --threshold 0.5

start_mock
json_shape object "generate" troupe generate -p runway-gen4-image "@mei waves"

json_shape array:1 "rm of one asset: an array of one" troupe rm 5
is "$(jsonv "$scratch/.json" '[d[0]["id"], d[0]["hash"]]')" "[5, \"$(h camera.jpg)\"]" \
	"rm --json gives the asset as it was"
fails_with 66 "5: no such asset" "and it is gone" troupe show 5
json_shape object "character rm" troupe character rm kai --force

done_testing
