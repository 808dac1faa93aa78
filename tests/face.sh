#!/bin/sh
# The consistency check end to end, with the real local face service
# (contrib/face-service) and both its models on real photographs: the same
# person re-framed, re-lit or re-encoded passes; a different person
# drifts; a picture without a face is "no face"; a store whose vectors
# came from the older model says so and is re-embedded; and a known
# answer on photographs of three real people, one reference each.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"

require vips sqlite3 node

photos=$TEST_SRCDIR/data/photos
start_face_service

troupe init >/dev/null
troupe character new eileen --name "Eileen" >/dev/null
troupe character new cam --name "Cam" >/dev/null
# Two references each: the photograph and a re-framed copy of it.
vips crop "$photos/astronaut.jpg" astro-crop.jpg 40 0 300 340 >/dev/null 2>&1
vips crop "$photos/camera.jpg" camera-crop.jpg 20 0 340 384 >/dev/null 2>&1
troupe add eileen "$photos/astronaut.jpg" astro-crop.jpg --role face >/dev/null
troupe add cam "$photos/camera.jpg" camera-crop.jpg --role face >/dev/null
troupe add "$photos/coffee.jpg" --role prop >/dev/null

check "embed every picture with the face model" troupe embed --model face
like "$(cat .out)" "4 embedded, 0 already had a vector, 1 with no face" \
	"four faces, and the coffee cup has none"
like "$(cat .err)" "asset 5: no face in the image" "the picture without a face is named"
is "$(sqlite3 .troupe/troupe.db "SELECT dimension, network, version FROM models WHERE name = 'face'")" \
	"1024|human-faceres|3.3.6" "face descriptors have 1024 dimensions, and the network is recorded"
is "$(sqlite3 .troupe/troupe.db "SELECT asset_id, reason FROM embedding_misses WHERE model = 'face'")" \
	"5|no face in the image" "the miss is remembered, with the service's reason"
check "embed again asks nothing" troupe embed --model face
like "$(cat .out)" "0 embedded, 4 already had a vector, 0 with no face, 1 skipped as no face before \\(--retry asks again\\)" \
	"the picture without a face is not sent again"
check "embed --retry asks again" troupe embed --model face --retry --json
like "$(tr -d '\n\t ' <.out)" '"embedded":0,"already":4,"nothing_to_embed":1,"nothing_before":0' \
	"and the service still finds no face"
check "calibrate from the store's own references" troupe calibrate --model face --json
like "$(tr -d '\n\t ' <.out)" '"balanced_accuracy":1[,}]' "the two people separate"

# Shots: the same person re-encoded, re-lit, resized; another person; no face.
mkdir shots
vips copy "$photos/astronaut.jpg" "shots/1-requality.jpg[Q=40]" >/dev/null 2>&1
vips linear "$photos/astronaut.jpg" shots/2-brighter.jpg 1.2 10 >/dev/null 2>&1
vips linear "$photos/astronaut.jpg" shots/3-darker.jpg 0.7 0 >/dev/null 2>&1
vips resize "$photos/astronaut.jpg" shots/4-smaller.jpg 0.6 >/dev/null 2>&1
check "the same person, re-encoded, re-lit and resized" troupe check shots --character eileen --json
is "$(grep -c '"verdict":	"same"' .out)" 4 "all four shots pass"
like "$(tr -d '\n\t ' <.out)" '"best_reference":[12],' "the best reference is one of Eileen's"
like "$(tr -d '\n\t ' <.out)" '"phash_distance":[0-9]' "the pHash distance is reported too"
like "$(tr -d '\n\t ' <.out)" '"palette_distance":[0-9.]+,"palette_reference":[12]' \
	"and the colour-palette distance"

check "a table for people" troupe check shots/2-brighter.jpg --character eileen
like "$(cat .out)" "^VERDICT +SIMILARITY +BEST-REF +FACES +PHASH +PALETTE +SHOT" "with a header"
like "$(cat .out)" "same +0\.9[0-9]+ +#[12] +1 +[0-9]+ +[0-9.]+ +shots/2-brighter.jpg" "and the verdict"

troupe check "$photos/camera.jpg" --character eileen --json >drift.json 2>drift.err
is "$?" 1 "a different person: exit status 1"
like "$(tr -d '\n\t ' <drift.json)" '"verdict":"drifted","pass":false' "says drifted"
like "$(cat drift.err)" "1 of 1 shot drifted from @eileen" "and says so on stderr"

troupe check shots "$photos/coffee.jpg" --character eileen --json >mixed.json 2>mixed.err
is "$?" 2 "a shot without a face among good ones: exit status 2"
like "$(tr -d '\n\t ' <mixed.json)" '"verdict":"noface","pass":false,[^}]*"faces":0,[^}]*"reason":"nofaceintheimage"' \
	"no face is its own verdict, with its reason"
like "$(cat mixed.err)" "1 of 5 shots had no face" "and stderr says which kind of failure"
is "$(grep -c '"pass":	true' mixed.json)" 4 "the good shots still pass"

# A stored asset is checked as a file is: Cam's photograph is not Eileen.
troupe check 3 --character eileen --json >stored.json 2>/dev/null
is "$?" 1 "a stored asset of another person: exit status 1"
like "$(tr -d '\n\t ' <stored.json)" '^\[\{"shot":"#3","asset":3,"character":"eileen","model":"face","verdict":"drifted"' \
	"named by its id, and drifted"
check "a stored asset of her" troupe check 2 --character eileen
like "$(cat .out)" "^same .* #2$" "is the same"

check "nearest to a new photo of her" troupe nearest shots/3-darker.jpg --model face -k 2 --json
like "$(tr -d '\n\t ' <.out)" '^\[\{"id":[12],"hash":"[0-9a-f]*","character":"eileen".*"character":"eileen"' \
	"her two references come first"

fails_with 66 "nobody: unknown character" "check of an unknown character" \
	troupe check shots --character nobody
fails_with 66 "no-such-dir: No such file" "a missing shot" troupe check no-such-dir --character eileen
fails_with 66 "model nothing: no vectors yet" "an unknown model" \
	troupe check shots --character eileen --model nothing
printf 'not a picture' >shots/notes.txt
fails_with 65 "notes.txt: not an image" "a file that is not a picture" \
	troupe check shots/notes.txt --character eileen

# The second model of the same service, beside the first on one store.
check "embed with face-api too" troupe embed --model face-api
is "$(sqlite3 .troupe/troupe.db "SELECT dimension, network FROM models WHERE name = 'face-api'")" \
	"128|face-api-resnet34" "its vectors are its own, 128-d"
check "check with face-api" troupe check shots/3-darker.jpg --character eileen --model face-api --threshold 0.8 --json
like "$(tr -d '\n\t ' <.out)" '"model":"face-api","verdict":"same"' "the older model agrees"

# A store made before troupe recorded networks, whose face vectors came
# from face-api: the service's face model is now another network.
sqlite3 .troupe/troupe.db "DELETE FROM models WHERE name = 'face';
	UPDATE models SET name = 'face', network = NULL, version = NULL WHERE name = 'face-api';
	UPDATE embedding_misses SET model = 'face' WHERE model = 'face-api'"
fails_with 65 "model face: its 4 vectors came from an unrecorded network \\(128-d\\), and the service now answers with human-faceres 3.3.6 \\(1024-d\\).*--reembed" \
	"an old store's face vectors are named for what they are" \
	troupe check shots/1-requality.jpg --character eileen --threshold 0.9
check "embed --reembed replaces them" troupe embed --model face --reembed
like "$(cat .out)" "4 re-embedded, 0 already had a vector, 1 with no face" "every picture again"
like "$(cat .out)" "model face is now human-faceres 3.3.6; its threshold was cleared" "and says what the model is now"
is "$(sqlite3 .troupe/troupe.db "SELECT dimension, network, vectors FROM models WHERE name = 'face'")" \
	"1024|human-faceres|4" "the model is the new network's"
check "calibrate again" troupe calibrate --model face
check "and check" troupe check shots/1-requality.jpg --character eileen

# A known answer on real people: three men, one reference each (dlib's
# public-domain johns), three held-out photographs of each checked
# against all three at the threshold calibrate finds from variants.
johns=$TEST_SRCDIR/data/johns
mkdir known && cd known
troupe init >/dev/null
for who in Savage Shimkus Simm; do
	slug=$(echo "$who" | tr 'A-Z' 'a-z')
	troupe character new "$slug" >/dev/null
	troupe add "$slug" "$(ls "$johns/John_$who"/*.jpg | head -n 1)" --role face >/dev/null
done
check "the three references embed" troupe embed --model face
like "$(cat "$scratch/.out")" "3 embedded, 0 already had a vector, 0 with no face" "a face in each 150-pixel crop"
check "calibrate from one reference each" troupe calibrate --model face --json
like "$(tr -d '\n\t ' <"$scratch/.out")" '"balanced_accuracy":1,.*"variant_pairs":24,"variant_misses":0' \
	"through 24 variants, every one with its face found"
right=0 wrong=0
for who in Savage Shimkus Simm; do
	for as in savage shimkus simm; do
		want=$(echo "$who" | tr 'A-Z' 'a-z')
		for shot in $(ls "$johns/John_$who"/*.jpg | tail -n 3); do
			verdict=$("$TROUPE" check "$shot" --character "$as" --json 2>/dev/null |
				sed -n 's/.*"verdict":[[:space:]]*"\([a-z ]*\)".*/\1/p')
			if { [ "$as" = "$want" ] && [ "$verdict" = same ]; } ||
				{ [ "$as" != "$want" ] && [ "$verdict" = drifted ]; }; then
				right=$((right + 1))
			else
				wrong=$((wrong + 1))
				echo "# John_$who $(basename "$shot") as $as: $verdict"
			fi
		done
	done
done
is "$right/$wrong" "27/0" "every held-out photograph is its own man and no other"

# Every face: two of them side by side, each on a plain canvas as in a
# wide shot, are both found, and each man is checked as himself
# whichever face the service puts first.
canvas() { vips embed "$1" "$2" 125 125 400 400 --extend background --background "128 128 128" >/dev/null 2>&1; }
canvas "$(ls "$johns/John_Savage"/*.jpg | tail -n 1)" left.png
canvas "$(ls "$johns/John_Simm"/*.jpg | tail -n 1)" right.png
vips join left.png right.png pair.jpg horizontal >/dev/null 2>&1
check "a picture of two men, checked for the one on the left" troupe check pair.jpg --character savage --json
like "$(tr -d '\n\t ' <"$scratch/.out")" '"verdict":"same",.*"faces":2,"face":[12],"box":\{"x":([0-9]|[0-9][0-9]|[0-3][0-9][0-9]),' \
	"he is found on the left"
check "and for the one on the right" troupe check pair.jpg --character simm --json
like "$(tr -d '\n\t ' <"$scratch/.out")" '"verdict":"same",.*"faces":2,"face":[12],"box":\{"x":(4[0-9][0-9]|[5-7][0-9][0-9]),' \
	"he is found on the right"
cd ..

kill $face
wait $face 2>/dev/null
fails_with 69 "embedding service \(profile face\)" "the face service is down" \
	troupe check shots/1-requality.jpg --character eileen

done_testing
