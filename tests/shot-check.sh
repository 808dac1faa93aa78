#!/bin/sh
# troupe shot check, through the stand-in face service (mock-faces.py),
# whose answers the test controls by frame size: each take checked like a
# video against the characters its shot mentions (a location has no
# face), the verdict recorded with its figures, model and threshold, and
# shown by shot show, list and trace; a new check replaces the old; a
# failed take, an unknown take, a shot with no character and a service
# that fails mid-run each say so and leave the store as it was, or the
# takes checked before the failure as they were checked.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require sqlite3 python3 vips vipsheader ffmpeg

photos=$TEST_SRCDIR/data/photos
make_at() { vips thumbnail "$photos/$1" "$2" "$3" --height "$4" --size force >/dev/null 2>&1; }
# clip OUT PICTURE W H: two seconds of the picture at W x H, 25 frames a second.
clip() {
	ffmpeg -nostdin -v error -y -loop 1 -t 2 -i "$photos/$2" -vf "scale=$3:$4,setsar=1" \
		-r 25 -c:v libx264 -pix_fmt yuv420p "$1"
}
make_at astronaut.jpg mei-face.jpg 300 300
make_at camera.jpg kai-face.jpg 320 300
clip mei.mp4 chelsea.jpg 340 300
clip kai.mp4 chelsea.jpg 360 300
clip nobody.mp4 chelsea.jpg 380 300
clip both.mp4 chelsea.jpg 400 300
[ -s both.mp4 ] || { echo "Bail out! ffmpeg made no clips"; exit 99; }
control() {
	cat >control.json <<JSON
{"network": "mock-net", "version": "1", "dimension": 16, $1
 "people": {"300x300": ["mei"], "320x300": ["kai"], "340x300": ["mei"],
            "360x300": ["kai"], "400x300": ["kai", "mei"]}}
JSON
}
control ""
python3 "$TEST_SRCDIR/mock-faces.py" port requests.log control.json &
mock=$!
test_atexit 'kill $mock'
for i in $(seq 1 150); do [ -s port ] && break; sleep 0.2; done
check "the stand-in face service started" test -s port
export TROUPE_FACE_URL="http://127.0.0.1:$(cat port)"
db() { sqlite3 .troupe/troupe.db "$1"; }

troupe init >/dev/null
troupe character new mei >/dev/null
troupe character new kai >/dev/null
troupe look new mei winter --describe "red coat" >/dev/null
troupe location new harbor >/dev/null
troupe add mei mei-face.jpg --role face >/dev/null
troupe add kai kai-face.jpg --role face >/dev/null
troupe embed --model face -q
troupe shot new s01 --prompt "@mei.winter walks along @harbor" >/dev/null
troupe shot new s02 --prompt "@harbor at dawn" >/dev/null
troupe shot new s03 --prompt "@kai meets @mei" >/dev/null
troupe shot take s01 mei.mp4 kai.mp4 nobody.mp4 >/dev/null
db "INSERT INTO shot_takes(shot_id, number, status, error, added) SELECT id, 4, 'failed', 'HTTP 500', 0 FROM shots WHERE slug = 's01'"
troupe shot take s02 mei.mp4 >/dev/null
troupe shot take s03 both.mp4 >/dev/null

fails_with 65 "s01 take 4 failed \(HTTP 500\): it has no video to check" "a failed take named" \
	troupe shot check s01 4
fails_with 65 "s01 has no take 9" "a take that does not exist" troupe shot check s01 9
fails_with 65 "s02 mentions no character" "a shot that mentions no one (a location has no face)" \
	troupe shot check s02
fails_with 66 "nope: no such shot" "a shot that does not exist" troupe shot check nope
fails_with 64 "expected ID \[TAKE...\] or --all" "check with nothing to check" troupe shot check
fails_with 64 "--all checks every shot; name no shot" "--all with a shot" troupe shot check s01 --all
fails_with 64 "--rate 0: a number above 0" "a rate of 0" troupe shot check s01 --rate 0
fails_with 64 "--model, --profile, --threshold, --rate, --sustain and --all are check's" \
	"check's options elsewhere" troupe shot show s01 --rate 2
is "$(db "SELECT count(*) FROM take_checks")" 0 "nothing recorded by the failures"

troupe shot check s01 >check.out 2>check.err
is "$?" 1 "a take that drifted: exit status 1, as troupe check"
like "$(cat check.err)" "troupe: shot: 2 of 3 takes checked: 1 drifted, 1 had no face" \
	"stderr counts what was found"
like "$(cat check.out)" "^SHOT +TAKE +VERDICT +CHARACTER +FIRST-DRIFT +WORST +AT +FOUND +NOTE" "a table"
like "$(grep '^s01 *1 ' check.out)" "^s01 +1 +same +@mei.winter +- +0\.9[0-9]+ +[0-9.]+s +100%" \
	"take 1: Mei, in her winter look, is herself throughout"
like "$(grep '^s01 *2 ' check.out)" "^s01 +2 +drifted +@mei.winter +0\.00s +-?0\.[0-9]+ " \
	"take 2: someone else from the start"
like "$(grep '^s01 *3 ' check.out)" "^s01 +3 +no face +@mei.winter " "take 3: no face"
like "$(grep '^s01 *4 ' check.out)" "^s01 +4 +failed +- .*not checked: HTTP 500" \
	"take 4 failed: said, not checked"
is "$(db "SELECT number, verdict, model, threshold, threshold_from, rate, sustain, frames FROM take_checks ORDER BY number" | tr '\n' ' ')" \
	"1|same|face|0.62|default|4.0|0.5|8 2|drifted|face|0.62|default|4.0|0.5|8 3|no face|face|0.62|default|4.0|0.5|8 " \
	"each verdict recorded with the model, threshold, rate and sustain"
is "$(db "SELECT number, character, look, verdict, found, frames_below FROM take_check_cast ORDER BY number" | tr '\n' ' ')" \
	"1|mei|winter|same|1.0|0 2|mei|winter|drifted|1.0|8 3|mei|winter|no face|0.0|0 " \
	"and each character's figures, with the look it was mentioned with"
is "$(db "SELECT count(*) FROM take_checks WHERE checked > strftime('%s','now') - 600")" 3 \
	"and when"

check "shot show gives each take's verdict" troupe shot show s01
like "$(cat "$scratch/.out")" "checked: same; @mei.winter worst 0\.9[0-9]+ \(face, threshold 0\.62\)" \
	"the same take with its figures"
like "$(cat "$scratch/.out")" "checked: drifted; @mei.winter worst -?0\.[0-9]+ from 0\.00s" "the drifted one"
check "shot show --json" troupe shot show s01 --json
json=$(tr -d '\n\t ' <"$scratch/.out")
like "$json" '"number":1,"status":"ok","request":null,"chosen":false,"check":\{"verdict":"same","pass":true,"model":"face","threshold":0.62,"threshold_from":"default","rate":4,"sustain":0.5,"frames":8,"checked":"[0-9T:-]+Z","characters":\[\{"character":"mei","look":"winter","verdict":"same","pass":true,"worst":0\.9' \
	"--json gives the check with its figures"
like "$json" '"number":4,"status":"failed","error":"HTTP500","request":null,"chosen":false,"check":null' \
	"a failed take has none"
check "shot list" troupe shot list
like "$(grep '^1 ' "$scratch/.out")" " same/drifted/no face/failed " "shot list gives each take's verdict"
like "$(grep '^3 ' "$scratch/.out")" " -  +@kai meets" "a shot never checked: -"
check "shot trace of a checked take" troupe shot trace "$(db "SELECT asset_id FROM shot_takes WHERE number = 2 AND shot_id = 1")"
like "$(cat "$scratch/.out")" "check +drifted; @mei.winter" "trace gives the take's verdict"

check "two characters at once, each given a face" troupe shot check s03 --json
json=$(tr -d '\n\t ' <"$scratch/.out")
like "$json" '^\[\{"verdict":"same","pass":true,.*"characters":\[\{"character":"kai","look":null,"verdict":"same",.*\{"character":"mei","look":null,"verdict":"same",.*"shot":"s03","take":1,"asset":[0-9]+,"checked":true\}\]$' \
	"both are themselves"

# A stricter check of take 1 replaces its verdict, leaves the others.
troupe shot check s01 1 --threshold 0.999 --rate 2 >/dev/null 2>&1
is "$?" 1 "at a threshold of 0.999 take 1 drifts"
is "$(db "SELECT number, verdict, threshold, threshold_from, rate, frames FROM take_checks WHERE shot_id = 1 ORDER BY number" | tr '\n' ' ')" \
	"1|drifted|0.999|given|2.0|4 2|drifted|0.62|default|4.0|8 3|no face|0.62|default|4.0|8 " \
	"the new check replaced take 1's, the others kept theirs"
is "$(db "SELECT count(*) FROM take_check_cast WHERE shot_id = 1 AND number = 1")" 1 \
	"its figures replaced, not added to"

# The service fails during take 2: take 1 keeps its new verdict, take 2
# its old one, and the command says why.
sent=$(wc -l <requests.log)
control "\"fail_after\": $((sent + 8)),"
before=$(db "SELECT number, verdict, threshold FROM take_checks WHERE shot_id = 1 AND number > 1")
troupe shot check s01 >/dev/null 2>fail.err
is "$?" 69 "a service that fails mid-run: its status"
like "$(cat fail.err)" "troupe: .*s01 take 2: .*500" "the error names the take it stopped at"
is "$(db "SELECT verdict, threshold FROM take_checks WHERE shot_id = 1 AND number = 1")" "same|0.62" \
	"the take checked before the failure has its new verdict"
is "$(db "SELECT number, verdict, threshold FROM take_checks WHERE shot_id = 1 AND number > 1")" "$before" \
	"the others keep theirs"
control ""

troupe shot check --all --json >all.out 2>all.err
is "$?" 1 "--all checks every shot that mentions a character (one take drifted)"
like "$(cat all.err)" "s02 mentions no character: its takes are not checked" \
	"and says which it passes over"
is "$(tr -d '\n\t ' <all.out | grep -o '"shot":"s0[0-9]","take":[0-9]' | tr '\n' ' ')" \
	'"shot":"s01","take":1 "shot":"s01","take":2 "shot":"s01","take":3 "shot":"s01","take":4 "shot":"s03","take":1 ' \
	"in film order"

# Removing a take's shot removes its checks.
check "shot rm" troupe shot rm s03
is "$(db "SELECT count(*) FROM take_check_cast WHERE shot_id = 3")" 0 "its checks go with it"

done_testing
