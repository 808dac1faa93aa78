#!/bin/sh
# What troupe does with a face service's answers, through a loopback
# stand-in (mock-faces.py) whose answers the test controls: every face
# kept with its box, --face, "no face" as its own verdict and exit status,
# the closest of several faces, a model's network recorded and never
# mixed, --reembed all or nothing, calibration from one reference a
# character through variants, and the profile's default threshold.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require sqlite3 python3 vips

photos=$TEST_SRCDIR/data/photos
# Pictures told apart by size: the stand-in says who is in each.
# Each made at a size of its own with "vips thumbnail ... --size force".
make_at() { vips thumbnail "$photos/$1" "$2" "$3" --height "$4" --size force >/dev/null 2>&1; }
make_at astronaut.jpg mei-1.jpg 300 300
make_at astronaut.jpg mei-2.jpg 310 300
make_at camera.jpg kai-1.jpg 320 300
make_at coffee.jpg cup.jpg 330 300
make_at rocket.jpg group.jpg 400 300
make_at chelsea.jpg shot-mei.jpg 340 300
make_at chelsea.jpg shot-pair.jpg 350 300
make_at chelsea.jpg shot-kai.jpg 360 300
make_at chelsea.jpg shot-none.jpg 370 300
make_at chelsea.jpg shot-twins.jpg 380 300
size() { vipsheader -f width "$1" | tr -d '\n'; printf x; vipsheader -f height "$1"; }
control() {
	cat >control.json <<JSON
{"network": "mock-net", "version": "$1", "dimension": 16, $2
 "people": {"$(size mei-1.jpg)": ["mei"], "$(size mei-2.jpg)": ["mei"],
	    "$(size kai-1.jpg)": ["kai"], "$(size group.jpg)": ["kai", "mei", "ann"],
	    "$(size shot-mei.jpg)": ["mei"], "$(size shot-pair.jpg)": ["ann", "mei"],
	    "$(size shot-kai.jpg)": ["kai"], "$(size shot-twins.jpg)": ["kai", "kai"]}}
JSON
}
control 1 ""
python3 "$TEST_SRCDIR/mock-faces.py" port requests.log control.json &
mock=$!
test_atexit 'kill $mock'
for i in $(seq 1 150); do [ -s port ] && break; sleep 0.2; done
check "the stand-in face service started" test -s port
export TROUPE_FACE_URL="http://127.0.0.1:$(cat port)"

troupe init >/dev/null
troupe character new mei >/dev/null
troupe character new kai >/dev/null
troupe add mei mei-1.jpg --role face >/dev/null
troupe add kai kai-1.jpg --role face >/dev/null
troupe add group.jpg cup.jpg --role reference >/dev/null

check "embed every picture" troupe embed --model face
like "$(cat .out)" "3 embedded, 0 already had a vector, 1 with no face" "three with faces, the cup none"
like "$(cat .err)" "asset 3: 3 faces; took the largest \\(150x150 at 0,38\\); --face N takes the Nth largest" \
	"a picture with three faces: the largest is kept, and where it is is said"
q() { sqlite3 .troupe/troupe.db "$1"; }
is "$(q "SELECT network, version, dimension FROM models WHERE name = 'face'")" "mock-net|1|16" \
	"the model records the network, its version and dimension"
is "$(q "SELECT round(box_x, 3), round(box_y, 3), round(box_w, 3), round(box_h, 3), score, faces
	FROM embeddings WHERE asset_id = 3")" "0.0|0.125|0.375|0.5|0.99|3" \
	"the face's box (fractions of the picture), score and the count are kept"
check "--face 2 takes the second largest" troupe embed --model face --face 2 '#3'
like "$(cat .out)" "1 embedded" "and embeds it again"
is "$(q "SELECT box_x, score FROM embeddings WHERE asset_id = 3")" "0.25|0.89" "its box and score"
fails_with 65 "asset 3: --face 4, but the model found 3" "--face past the last face" \
	troupe embed --model face --face 4 '#3'
fails_with 64 "--reembed replaces every vector of the model: no QUERY" "--reembed with a query" \
	troupe embed --model face --reembed '#3'
fails_with 64 "--face N: |--face 0" "--face 0" troupe embed --model face --face 0 3
fails_with 64 "--face N needs the ASSET" "--face without an asset" troupe embed --model face --face 2

# The default threshold: none for this stand-in's profile yet, so a
# store profile that ships one.
mkdir -p .troupe/profiles
grep -v '"threshold"' "$TEST_SRCDIR/../profiles/face.json" |
	sed 's/"name": "face"/"name": "face-bare"/' >.troupe/profiles/face-bare.json
fails_with 78 "model face has no threshold yet" "check before calibrating, with a profile that has no default" \
	troupe check mei-2.jpg --character mei --profile face-bare
check "the profile's default threshold is used until calibration" \
	troupe check mei-2.jpg --character mei --json
like "$(tr -d '\n\t ' <.out)" '"verdict":"same","pass":true,"similarity":0.9[0-9]*,"best_reference":1,"threshold":0.62,"threshold_from":"default","faces":1,"face":1,"box":\{"x":0,"y":38,"width":150,"height":150\}' \
	"same, with the default's source, the face and its box in the shot's pixels"

# Calibration from one reference a character: variants of each.
check "calibrate with one reference each" troupe calibrate --model face --json
like "$(tr -d '\n\t ' <.out)" '"balanced_accuracy":1,' "the two separate"
# The stand-in knows pictures by their size: the variants that keep it
# (mirror, dark, bright, grey, JPEG 30) are found, those that change it
# (crop, rotate, small) are not, and counted.
like "$(tr -d '\n\t ' <.out)" '"same_pairs":10,"other_pairs":1,.*"variant_pairs":10,"variant_misses":6' \
	"through variants of the references, those without a face counted"
like "$(cat .err)" "model face found nothing in 6 of 16 variants of the references" "and said"
like "$(tr -d '\n\t ' <.out)" '"margin":0\.[0-9]' "with a margin"
check "--no-variants has no same-character pair" sh -c \
	'! "$TROUPE" calibrate --model face --no-variants 2>err; grep -q "calibrating needs" err'

mkdir shots
cp shot-mei.jpg shot-pair.jpg shot-kai.jpg shot-none.jpg shots/
troupe check shots --character mei >table.out 2>table.err
is "$?" 1 "a drifted shot among others: exit status 1"
like "$(cat table.out)" "^VERDICT +SIMILARITY +BEST-REF +FACES +PHASH +PALETTE +SHOT" "the table has a FACES column"
like "$(grep shot-pair table.out)" "^same +0\.9[0-9]+ +#1 +2/2 " \
	"of two faces, the one that is her counts, though it is the smaller"
like "$(grep shot-kai table.out)" "^drifted " "another person drifts"
like "$(grep shot-none table.out)" "^no face +- +- +0 .*\\(no face in the image\\)" "no face is its own verdict"
like "$(cat table.err)" "2 of 4 shots failed|1 of 4 shots drifted from @mei and 1 had no face" \
	"stderr counts each kind"
troupe check shots/shot-none.jpg shots/shot-mei.jpg --character mei --json >none.json 2>none.err
is "$?" 2 "only shots without a face failed: exit status 2"
like "$(tr -d '\n\t ' <none.json)" '"verdict":"noface","pass":false,.*"faces":0,' "said in JSON too"
like "$(cat none.err)" "1 of 2 shots had no face" "and on stderr"

# A cast: every face goes to at most one character, by the best total.
check "a group checked for a cast of two" troupe check group.jpg --cast mei,kai --json
like "$(tr -d '\n\t ' <"$scratch/.out")" '^\[\{"shot":"group.jpg","model":"face","verdict":"same","pass":true,.*"faces":3,"strangers":1,"characters":\[\{"character":"mei","verdict":"same",' \
	"both found, and the third face is a stranger"
like "$(tr -d '\n\t ' <"$scratch/.out")" '"character":"mei",[^]]*"face":2,[^]]*"character":"kai",[^]]*"face":1,' \
	"each given the face that is theirs"
troupe check shots/shot-mei.jpg --cast mei,kai >cast.out 2>cast.err
is "$?" 1 "a cast member missing from the shot: exit status 1"
like "$(grep '@kai' cast.out)" "^missing +@kai +- +- +0/1 +shots/shot-mei.jpg \(1 face, none left for this character\)" \
	"is missing, and why"
like "$(grep '@mei' cast.out)" "^same +@mei +0\.9[0-9]+ +#1 +1/1 " "while she is there"
troupe check shot-twins.jpg --cast mei,kai --json >twins.json 2>/dev/null
is "$?" 1 "two faces of one man, checked for two characters: exit status 1"
like "$(tr -d '\n\t ' <twins.json)" '"character":"mei","verdict":"drifted",.*"looks_like":"kai"\},\{"character":"kai","verdict":"same"' \
	"the face given to her looks more like him: said"
fails_with 64 "--character or --cast, not both" "--character with --cast" \
	troupe check shots/shot-mei.jpg --cast mei,kai --character mei
fails_with 64 "--cast: @mei is named twice" "a cast member twice" troupe check shots/shot-mei.jpg --cast mei,mei
fails_with 66 "nobody" "an unknown cast member" troupe check shots/shot-mei.jpg --cast mei,nobody

# The network changes under the store: nothing mixes.
control 2 ""
troupe add mei mei-2.jpg --role face >/dev/null
fails_with 65 "asset 1: model face: its 3 vectors came from mock-net 1 \\(16-d\\), and the service now answers with mock-net 2 \\(16-d\\); vectors of two networks never mix: 'troupe embed --model face --reembed' replaces them" \
	"embed refuses vectors of another version of the network" troupe embed --model face --face 1 1
before=$(q "SELECT count(*) FROM embeddings")
troupe embed --model face 2>new.err >/dev/null
is "$?:$(q "SELECT count(*) FROM embeddings")" "65:$before" "a new picture's vector is refused too"
fails_with 65 "shot-mei.jpg: model face: its 3 vectors came from mock-net 1" \
	"check refuses to compare across networks" troupe check shots/shot-mei.jpg --character mei
fails_with 65 "model face: its 3 vectors came from mock-net 1" "nearest too" \
	troupe nearest shots/shot-mei.jpg --model face

# --reembed is all or nothing: a service that fails half way changes nothing.
control 2 '"fail_after": 2,'
: >requests.log
fails_with 69 "answered HTTP 500" "a service failing during --reembed" troupe embed --model face --reembed
is "$(q "SELECT network, version, count(*) FROM models m JOIN embeddings e ON e.model_id = m.id WHERE m.name = 'face'")" \
	"mock-net|1|3" "leaves the old vectors, and the old network"
control 2 ""
check "--reembed after the service changed" troupe embed --model face --reembed --json
like "$(tr -d '\n\t ' <.out)" '"model":"face","network":"mock-net","embedded":4,.*"nothing_to_embed":1,.*"reembedded":true' \
	"every picture sent again"
is "$(q "SELECT version, vectors, threshold IS NULL FROM models WHERE name = 'face'")" "2|4|1" \
	"the model is the new version's, with its vectors, and no threshold"
is "$(q "SELECT count(*) FROM embedding_misses WHERE model = 'face'")" 1 "the cup's miss is recorded again"
check "check works again" troupe check shots/shot-mei.jpg --character mei --threshold 0.5

fails_with 66 "nothing: unknown profile" "the variants need the model's profile" \
	troupe calibrate --model face --profile nothing
kill $mock
wait $mock 2>/dev/null
fails_with 69 "embedding service \\(profile face\\)" "calibrate when the service is down" \
	troupe calibrate --model face
check "--no-variants needs no service" troupe calibrate --model face --no-variants --json

done_testing
