#!/bin/sh
# check over time, end to end: clips made here with Debian's ffmpeg from
# the real photographs, checked frame by frame with the real face service.
# Known answers: a face that becomes another at 2 s drifts from 2 s; a
# single frame of someone else does not fail a take, unless --sustain 0;
# two men who swap sides are each followed; the plot is drawn.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"

require ffmpeg node vips sqlite3

start_face_service

photos=$TEST_SRCDIR/data/photos
johns=$TEST_SRCDIR/data/johns
# clip OUT SECONDS PICTURE [SECONDS PICTURE]...: the pictures one after
# another, 25 frames a second, H.264.
clip() {
	local out=$1 inputs= n=0 filter=
	shift
	while [ $# -gt 0 ]; do
		inputs="$inputs -loop 1 -t $1 -i $2"
		filter="$filter[$n:v]scale=384:384,setsar=1[v$n];"
		n=$((n + 1))
		shift 2
	done
	local joined= i=0
	while [ $i -lt $n ]; do joined="$joined[v$i]"; i=$((i + 1)); done
	# shellcheck disable=SC2086
	ffmpeg -v error -y $inputs -filter_complex "${filter}${joined}concat=n=$n:v=1,format=yuv420p" \
		-r 25 -c:v libx264 "$out"
}

troupe init >/dev/null
troupe character new eileen >/dev/null
troupe character new cam >/dev/null
troupe add eileen "$photos/astronaut.jpg" --role face >/dev/null
troupe add cam "$photos/camera.jpg" --role face >/dev/null
troupe embed --model face -q
troupe calibrate --model face -q 2>/dev/null

clip turns.mp4 2 "$photos/astronaut.jpg" 2 "$photos/camera.jpg"
troupe check turns.mp4 --character eileen >turns.out 2>turns.err
is "$?" 1 "a face that becomes another's: exit status 1"
like "$(cat turns.out)" "^VERDICT +CHARACTER +FIRST-DRIFT +WORST +AT +FOUND +VIDEO" "a table of clips"
like "$(grep eileen turns.out)" "^drifted +@eileen +2\\.00s +0\\.[0-9]+ +[23]\\.[0-9]+s +100% +turns.mp4" \
	"she drifts from 2 s, found in every frame"
like "$(cat turns.err)" "1 of 1 shot drifted from @eileen" "and stderr says so"

check "the same clip for both, with a plot" \
	troupe check turns.mp4 --cast eileen,cam --plot plot.png --json
json=$(tr -d '\n\t ' <"$scratch/.out")
like "$json" '^\[\{"shot":"turns.mp4","kind":"video","model":"face","verdict":"same","pass":true,"duration":4,"rate":4,"sustain":0.5,' \
	"each is himself or herself while there"
like "$json" '"character":"eileen","verdict":"same","pass":true,"worst":[0-9.]+,"worst_at":[0-9.]+,"worst_reference":1,"found":0.5,' \
	"she is in half the frames"
like "$json" '"series":\[\{"t":0,"faces":1,"strangers":0,"characters":\[\{"character":"eileen","similarity":0\.9[0-9]*,"face":1,"box":\{"x":[0-9]+,' \
	"the series gives each frame, each character's similarity and face box"
is "$(vipsheader -f width plot.png 2>/dev/null)" 1200 "the plot is a 1200-pixel-wide PNG"

# One frame (0.04 s) of someone else in the middle of her take.
clip flash.mp4 2 "$photos/astronaut.jpg" 0.04 "$photos/camera.jpg" 2 "$photos/astronaut.jpg"
check "a single frame of another face does not fail a take" \
	troupe check flash.mp4 --character eileen --rate 25 --json
like "$(tr -d '\n\t ' <"$scratch/.out")" '"character":"eileen","verdict":"same",.*"frames_below":1,' \
	"though one frame was under the threshold"
troupe check flash.mp4 --character eileen --rate 25 --sustain 0 >/dev/null 2>&1
is "$?" 1 "with --sustain 0 it does"

# Two men side by side who change places at 2 s: each followed by face.
troupe character new savage >/dev/null
troupe character new simm >/dev/null
troupe add savage "$(ls "$johns/John_Savage"/*.jpg | head -n 1)" --role face >/dev/null
troupe add simm "$(ls "$johns/John_Simm"/*.jpg | head -n 1)" --role face >/dev/null
troupe embed --model face -q
canvas() { vips embed "$1" "$2" 125 125 400 400 --extend background --background "128 128 128" >/dev/null 2>&1; }
canvas "$(ls "$johns/John_Savage"/*.jpg | tail -n 1)" a.png
canvas "$(ls "$johns/John_Simm"/*.jpg | tail -n 1)" b.png
vips join a.png b.png ab.png horizontal >/dev/null 2>&1
vips join b.png a.png ba.png horizontal >/dev/null 2>&1
ffmpeg -v error -y -loop 1 -t 2 -i ab.png -loop 1 -t 2 -i ba.png \
	-filter_complex "[0:v][1:v]concat=n=2:v=1,format=yuv420p" -r 25 -c:v libx264 places.mp4
check "two men who change places" troupe check places.mp4 --cast savage,simm --rate 2 --json
json=$(tr -d '\n\t ' <"$scratch/.out")
like "$json" '"verdict":"same","pass":true,' "both stay themselves"
like "$json" '\{"t":0,"faces":2,"strangers":0,"characters":\[\{"character":"savage","similarity":[0-9.]+,"face":[12],"box":\{"x":([0-9]|[0-9][0-9]|[0-3][0-9][0-9]),' \
	"at 0 s Savage is on the left"
like "$json" '\{"t":3,"faces":2,"strangers":0,"characters":\[\{"character":"savage","similarity":[0-9.]+,"face":[12],"box":\{"x":(4[0-9][0-9]|[5-7][0-9][0-9]),' \
	"at 3 s on the right"

# The same clips as takes of a shot that mentions her alone: shot check
# records what check says of them.
troupe shot new s01 --prompt "@eileen walks past the camera" >/dev/null
troupe shot take s01 turns.mp4 flash.mp4 >/dev/null
troupe shot check s01 --rate 25 --json >shot.out 2>shot.err
is "$?" 1 "shot check: the take in which she becomes another drifted"
is "$(sqlite3 .troupe/troupe.db "SELECT number, verdict, model, threshold_from FROM take_checks ORDER BY number" | tr '\n' ' ')" \
	"1|drifted|face|calibrated 2|same|face|calibrated " \
	"each take's verdict is recorded, with the calibrated threshold"
is "$(sqlite3 .troupe/troupe.db "SELECT number, character, verdict, round(first_drift, 2) FROM take_check_cast WHERE character = 'eileen' ORDER BY number" | tr '\n' ' ')" \
	"1|eileen|drifted|2.0 2|eileen|same| " "she drifts from 2 s in take 1, and not in take 2"
like "$(troupe shot show s01)" "checked: drifted; @eileen worst 0\.[0-9]+ from 2\.00s \(face, threshold" \
	"shot show gives the figures"

fails_with 64 "--plot draws one video" "--plot of two clips" \
	troupe check turns.mp4 flash.mp4 --character eileen --plot p.png
fails_with 64 "--rate 0: frames a second" "a rate of 0" troupe check turns.mp4 --character eileen --rate 0
fails_with 64 "--sustain x: seconds" "a sustain that is not a number" \
	troupe check turns.mp4 --character eileen --sustain x
printf 'not a video' >fake.mp4
fails_with 65 "fake.mp4: " "a text file named .mp4" troupe check fake.mp4 --character eileen
: >empty.mp4
fails_with 65 "empty.mp4: " "a zero-byte .mp4" troupe check empty.mp4 --character eileen
head -c 20000 turns.mp4 >cut.mp4
fails_with 65 "cut.mp4: " "a truncated clip" troupe check cut.mp4 --character eileen

done_testing
