#!/bin/sh
# Embeddings: import, storage rules, nearest, calibrate, and embed through
# a loopback stand-in for a remote multimodal embedding API.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require sqlite3 xxh128sum python3

troupe init >/dev/null
troupe character new mei >/dev/null
troupe character new kai >/dev/null
photos=$TEST_SRCDIR/data/photos
troupe add mei "$photos/chelsea.jpg" "$photos/coffee.jpg" "$photos/rocket.jpg" --role face >/dev/null
troupe add kai "$photos/astronaut.jpg" "$photos/camera.jpg" --role face >/dev/null
h() { xxh128sum "$photos/$1" | cut -d' ' -f1; }

# Vectors made so that mei's cluster near one direction and kai's another.
cat >v.jsonl <<JSON
{"asset": "$(h chelsea.jpg)", "vector": [1, 0.1, 0, 0]}
{"asset": "$(h coffee.jpg)", "vector": [0.9, 0.2, 0.1, 0]}
{"asset": "$(h rocket.jpg)", "vector": [0.95, 0, 0.2, 0.1]}
{"asset": "$photos/astronaut.jpg", "vector": [0, 0.1, 1, 0.2]}
{"asset": "5", "vector": [0.1, 0, 0.9, 0.3]}
JSON
# A miss recorded earlier (the model found nothing) goes when a vector lands.
sqlite3 .troupe/troupe.db "INSERT INTO embedding_misses VALUES ('toy', 1, 'nothing', 0)"
check "import JSON Lines" troupe embed import --model toy v.jsonl
is "$(sqlite3 .troupe/troupe.db 'SELECT count(*) FROM embedding_misses')" 0 \
	"a stored vector removes the asset's recorded miss"
like "$(cat .out)" "5 vectors imported" "five vectors"
check "nearest to an asset" troupe nearest 1 --model toy -k 2 --json
like "$(tr -d '\n\t ' <.out)" '^\[\{"id":2,.*\{"id":3,' "its own character's pictures come first"
check "the asset itself is left out" sh -c '! grep -q "\"id\":	1," .out'
check "nearest within a query" troupe nearest 1 --model toy -k 5 --where 'character:kai' --json
is "$(grep -c '"similarity"' .out)" 2 "only kai's two"
check "table output" troupe nearest 4 --model toy
like "$(head -1 .out)" "^SIMILARITY +ID" "a table"
check "calibrate" troupe calibrate --model toy --json
like "$(tr -d '\n\t ' <.out)" '"balanced_accuracy":1[,}]' "the two clusters separate"
is "$(sqlite3 .troupe/troupe.db "SELECT threshold IS NOT NULL FROM models WHERE name = 'toy'")" 1 \
	"the threshold is recorded"
check "vectors are stored unit length" sh -c \
	'"$TROUPE" nearest 1 --model toy -k 1 --json | grep -q "\"similarity\":	0.9"'

# A NumPy matrix with the hashes beside it.
# Two rows of three little-endian float32: (1, 0, 0) and (0, 1, 0).
python3 - <<'PY'
import struct
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
header += " " * (118 - len(header)) + "\n"
with open("m.npy", "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
    f.write(struct.pack("<6f", 1, 0, 0, 0, 1, 0))
PY
printf '%s\n%s\n' "$(h chelsea.jpg)" "$(h astronaut.jpg)" >m.hashes
check "import a .npy matrix" troupe embed import --model clip m.npy --hashes m.hashes
check "its vectors are searchable" troupe nearest 1 --model clip -k 1 --json
like "$(tr -d '\n\t ' <.out)" '"id":4,.*"similarity":0[,}]' "orthogonal rows score 0"

# Bad input: nothing is stored.
printf '{"asset": "%s", "vector": [1, NaN, 0, 0]}\n' "$(h chelsea.jpg)" >nan.jsonl
# One option table serves the four commands; each refuses the others'.
fails_with 64 "nearest: --threshold is not an option of this command" "nearest --threshold" \
	troupe nearest a.jpg --model toy --threshold 0.5
fails_with 64 "calibrate: -k is not an option of this command" "calibrate -k" \
	troupe calibrate --model toy -k 3
fails_with 64 "check: --where is not an option of this command" "check --where" \
	troupe check a.jpg --character mei --where x
fails_with 64 "embed: --character is not an option of this command" "embed --character" \
	troupe embed --model toy --character mei
fails_with 65 "not valid JSON|line 1: expected" "NaN in an import" troupe embed import --model toy nan.jsonl
printf '{"asset": "%s", "vector": [1, 2, "x", 0]}\n' "$(h chelsea.jpg)" >str.jsonl
fails_with 65 "line 1: element 2 is not a finite number" "a string in a vector" \
	troupe embed import --model toy str.jsonl
printf '{"asset": "%s", "vector": [1, 2]}\n' "$(h chelsea.jpg)" >dim.jsonl
fails_with 65 "a 2-dimensional vector for model toy, which has 4" "wrong dimension" \
	troupe embed import --model toy dim.jsonl
printf '{"asset": "%s", "vector": [0, 0, 0, 0]}\n' "$(h chelsea.jpg)" >zero.jsonl
fails_with 65 "all zeros" "a zero vector" troupe embed import --model toy zero.jsonl
{ cat v.jsonl; printf '{"asset": "deadbeefdeadbeef", "vector": [1, 0, 0, 0]}\n'; } >half.jsonl
fails_with 66 "line 6: deadbeefdeadbeef: no such asset" "one unknown asset imports nothing" \
	troupe embed import --model fresh half.jsonl
check "the half-good import left no model behind" sh -c \
	'test "$(sqlite3 .troupe/troupe.db "SELECT count(*) FROM models WHERE name = \"fresh\"")" = 0'
fails_with 65 "m.hashes names 2 assets for the 3 rows|shape" "rows and names disagree" sh -c \
	'sed "s/(2, 3)/(3, 3)/" m.npy >m3.npy; "$TROUPE" embed import --model clip m3.npy --hashes m.hashes'
# A hostile header: (2^46 + 1) * 65536 * 4 bytes wraps round to 2^18, the
# bytes that follow it, so a size check that wraps would let every row be
# read far past the file (a SIGSEGV). It is refused, and nothing stored.
python3 - <<'PY'
import struct
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, 65536), }" % (2**46 + 1)
header += " " * (118 - len(header)) + "\n"
with open("wrap.npy", "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
    f.write(b"\0" * 2**18)
PY
head -n 1 m.hashes >wrap.hashes
fails_with 65 "wrap.npy: 262144 bytes of data for shape \\(70368744177665, 65536\\)" \
	"a .npy shape whose size wraps round is refused" \
	troupe embed import --model clip wrap.npy --hashes wrap.hashes
fails_with 64 "needs --hashes" "a .npy without hashes" troupe embed import --model clip m.npy
fails_with 66 "model nothing: no vectors yet" "an unknown model" troupe nearest 1 --model nothing
fails_with 64 "--model Bad!: a model name" "a bad model name" troupe embed import --model 'Bad!' v.jsonl
fails_with 66 "no embedding profile of that name" "a model with no profile" \
	troupe embed --model toy

# embed through a stand-in for the remote API, which checks the shape.
python3 "$TEST_SRCDIR/mock-embeddings.py" port requests.log &
mock=$!
test_atexit 'kill $mock'
for i in $(seq 1 150); do [ -s port ] && break; sleep 0.2; done
export TROUPE_JINA_URL="http://127.0.0.1:$(cat port)" JINA_API_KEY=jina-test-key-123
check "embed through the API" troupe embed --model jina-clip-v2 'character:mei'
like "$(cat .out)" "3 embedded, 0 already" "three pictures embedded"
is "$(grep -c '"authorization": "Bearer jina-test-key-123"' requests.log)" 3 \
	"each request carried the key in its header"
check "embed again skips what is done" troupe embed --model jina-clip-v2
like "$(cat .out)" "2 embedded, 3 already" "only the other two"
check "the key is not in the index" sh -c '! grep -qa jina-test-key-123 .troupe/troupe.db*'
is "$(sqlite3 .troupe/troupe.db "SELECT dimension FROM models WHERE name = 'jina-clip-v2'")" 1024 \
	"the model's dimension came from its first vector"
check "nearest to a file through the API" troupe nearest "$photos/chelsea.jpg" --model jina-clip-v2 -k 1 --json
like "$(tr -d '\n\t ' <.out)" '"source":"chelsea.jpg","similarity":(1|0.9999)' "the same bytes are the same vector"

# check takes stored assets as other commands take ASSET: an id, '#id' or
# a hash prefix. Asset 1 is one of Mei's pictures, asset 4 one of Kai's.
check "check a stored asset by id" troupe check 1 --character mei --model jina-clip-v2 --threshold 0.9 --json
like "$(tr -d '\n\t ' <.out)" '^\[\{"shot":"#1","asset":1,"character":"mei","model":"jina-clip-v2","verdict":"same"' \
	"is scored, and named by its id"
check "by '#id' and by hash prefix" troupe check '#1' "$(h coffee.jpg | cut -c1-10)" --character mei \
	--model jina-clip-v2 --threshold 0.9
like "$(cat .out)" "^same .* #2$" "each named by its id in the table"
fails_with 1 "1 of 1 shot drifted from @mei" "another character's stored asset drifts" \
	troupe check 4 --character mei --model jina-clip-v2 --threshold 0.9
fails_with 66 "#99: no such asset" "an unknown asset is an error" \
	troupe check '#99' --character mei --model jina-clip-v2 --threshold 0.9
# A shot that cannot be read fails the check, named in the output; it is
# not passed over while the rest pass as the same.
mkdir shots
cp "$photos/chelsea.jpg" shots/good.jpg
printf 'JFIF, but not really' >shots/broken.jpg
printf 'shot list' >shots/notes.txt
troupe check shots --character mei --model jina-clip-v2 --threshold 0.9 --json >check.json 2>check.err
is "$?" 1 "a shot that cannot be read: exit status 1"
like "$(tr -d '\n\t ' <check.json)" '"shot":"shots/broken.jpg",.*"verdict":"unreadable","pass":false,.*"reason":"cannotberead:' \
	"it is named, with why"
like "$(tr -d '\n\t ' <check.json)" '"shot":"shots/good.jpg",.*"verdict":"same"' "the readable shot is still scored"
like "$(cat check.err)" "1 of 2 shots could not be read" "and stderr says so"
like "$(cat check.err)" "skipped shots/notes.txt" "a file not named as a picture is skipped, with a warning"
# A profile whose reference pointer runs through a string in its own
# template is the profile's fault: an error that names it, nothing sent,
# and no asset marked as having nothing to embed.
mkdir -p my-profiles
sed -e 's/"name": "jina-clip-v2"/"name": "jina-bad"/' \
	-e 's/"input": \[\]/"input": "oops"/' -e 's|"pointer": "/input"|"pointer": "/input/images"|' \
	"$TEST_SRCDIR/../profiles/jina-clip-v2.json" >my-profiles/jina-bad.json
test_when_finished 'rm -r my-profiles'
troupe add "$photos/rocket.jpg" --role prop >/dev/null
requests=$(wc -l <requests.log)
fails_with 78 "profile jina-bad: /input/images: runs through a value that is not an object or array" \
	"a profile pointer through a string" \
	env TROUPE_PROFILE_PATH="$PWD/my-profiles" "$TROUPE" embed --model jina-clip-v2 --profile jina-bad
is "$(wc -l <requests.log)" "$requests" "nothing was sent"
is "$(sqlite3 .troupe/troupe.db 'SELECT count(*) FROM embedding_misses')" 0 "and no miss recorded"
unset JINA_API_KEY
fails_with 78 "needs its key in \\\$JINA_API_KEY" "no key" troupe nearest "$photos/coffee.jpg" --model jina-clip-v2
export JINA_API_KEY=jina-test-key-123
kill $mock
wait $mock 2>/dev/null
fails_with 69 "embedding service \(profile jina-clip-v2\)" "the service is down" \
	troupe nearest "$photos/coffee.jpg" --model jina-clip-v2

done_testing
