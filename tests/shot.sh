#!/bin/sh
# troupe shot: shots in film order, stills and takes made elsewhere (files
# and stored assets), picking, chaining by the last frame, tracing a take
# back to its request and still; and every bad input refused with a clear
# error, a non-zero status and the store unchanged. Clips are made here
# from the photographs with Debian's ffmpeg.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require ffmpeg sqlite3 vips
. "$TEST_SRCDIR/mock-lib.sh"

photos=$TEST_SRCDIR/data/photos
mk() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
mk -loop 1 -t 2 -i "$photos/astronaut.jpg" -vf scale=320:240,setsar=1 -c:v libx264 -pix_fmt yuv420p -r 25 a.mp4
mk -loop 1 -t 1 -i "$photos/chelsea.jpg" -vf scale=320:240,setsar=1 -c:v libx264 -pix_fmt yuv420p -r 25 b.mp4
[ -s a.mp4 ] && [ -s b.mp4 ] || { echo "Bail out! ffmpeg made no clips"; exit 99; }
cp "$photos/rocket.jpg" still.jpg
echo "not a picture" >notes.txt
db() { sqlite3 .troupe/troupe.db "$1"; }

troupe init >/dev/null
troupe character new mei --name Mei --describe "a cat" >/dev/null

# ---- new, list, show ----
check "a shot with everything" troupe shot new s01 --scene 1 --prompt "@mei walks along the pier" \
	--aspect 16:9 --duration 5
check "a shot after it, chained" troupe shot new s02 --after s01 --prompt "@mei turns" --chain
check "a shot in scene 2" troupe shot new s03 --scene 2 --prompt "the sea"
check "a shot in scene 1, made last" troupe shot new s01b --scene 1 --position 1.5
is "$(troupe shot list | awk 'NR > 1 { printf "%s ", $2 }')" "s01 s02 s01b s03 " \
	"list is in film order: s02 right after s01, then by position, scene 2 last"
like "$(troupe shot list | sed -n 3p)" "^2 +s02 +1 +s01 +0 +- +- +- +@mei turns" \
	"list shows place, scene, what it follows, takes, chosen, still, checks and prompt"
is "$(troupe shot list --json | python3 -c 'import json,sys; print(" ".join("%s:%d" % (s["id"], s["place"]) for s in json.load(sys.stdin)))')" \
	"s01:1 s02:2 s01b:3 s03:4" "list --json gives every shot with its place"
show=$(troupe shot show s01)
like "$show" "aspect +16:9" "show has the aspect"
like "$show" "duration +5 s" "show has the duration"
like "$show" "prompt +@mei walks along the pier" "show has the prompt"
like "$(troupe shot show s02 --json)" '"chain":[[:space:]]*true' "show --json says it is chained"
check "rm a shot" troupe shot rm s01b
is "$(troupe shot list | awk 'NR > 1 { printf "%s ", $2 }')" "s01 s02 s03 " "it is gone"

# ---- bad shots ----
fails_with 65 "@nobody: unknown" "a shot mentioning an unknown element" \
	troupe shot new s09 --prompt "@mei meets @nobody"
fails_with 65 "already exists" "an id taken twice" troupe shot new s01
fails_with 65 "mei has no look 'summer'" "a shot mentioning a look that does not exist" \
	troupe shot new s09 --prompt "@mei.summer walks"
fails_with 65 "@nobody: unknown" "an edit to a prompt mentioning an unknown element" \
	troupe shot edit s01 --prompt "@nobody waves"
fails_with 65 "mei has no look 'summer'" "an edit to a prompt mentioning an unknown look" \
	troupe shot edit s01 --prompt "@mei:summer waves" --scene 4
fails_with 65 "aspect 'wide'" "an aspect that is not W:H" troupe shot new s09 --aspect wide
fails_with 64 "duration" "a duration that is not a time" troupe shot new s09 --duration long
fails_with 66 "nope: no such shot" "--after an unknown shot" troupe shot new s09 --after nope
fails_with 65 "a cycle \(s02 already comes after s01\)" "a cycle in --after" \
	troupe shot edit s01 --after s02
fails_with 65 "cannot follow itself" "a shot after itself" troupe shot edit s03 --after s03
fails_with 66 "no such shot" "show of an unknown shot" troupe shot show s99
fails_with 64 "not a shot subcommand" "an unknown subcommand" troupe shot fly s01

# ---- stills and takes ----
check "a still from a file" troupe shot still s01 still.jpg
is "$(db "SELECT a.role, a.character_id IS NULL, a.format FROM shots s JOIN assets a ON a.id = s.still_id WHERE s.slug = 's01'")" \
	"generated|1|jpeg" "the still is a generated asset of no character"
fails_with 65 "a video \(mp4\), not a picture" "a still that is a video" troupe shot still s01 a.mp4
fails_with 65 "notes.txt" "a still that is not a picture" troupe shot still s01 notes.txt
check "two takes from files" troupe shot take s01 a.mp4 b.mp4
is "$(db "SELECT group_concat(t.number || ':' || a.format || ':' || a.duration, ' ') FROM shot_takes t JOIN shots s ON s.id = t.shot_id JOIN assets a ON a.id = t.asset_id WHERE s.slug = 's01' ORDER BY t.number")" \
	"1:mp4:2.0 2:mp4:1.0" "the takes are numbered and probed as add does"
is "$(db "SELECT count(*) FROM thumbnails t JOIN assets a ON a.blob_id = t.blob_id WHERE a.source IN ('a.mp4', 'b.mp4')")" \
	2 "each take has its poster thumbnail"
fails_with 65 "not a video" "a take that is not a video" troupe shot take s01 still.jpg
fails_with 65 "not a video" "a take list with one picture adds none" troupe shot take s02 b.mp4 still.jpg
still_id=$(db "SELECT still_id FROM shots WHERE slug = 's01'")
fails_with 65 "is a picture, not a video" "a stored picture as a take" troupe shot take s02 "$still_id"
fails_with 65 "already a take" "the same video twice in one shot" troupe shot take s01 a.mp4
fails_with 66 "neither a file nor an asset" "a take that is nothing" troupe shot take s01 missing.mp4
fails_with 66 "no such shot" "a take of an unknown shot" troupe shot take s99 a.mp4

# ---- pick and chain ----
fails_with 65 "s01 has no take 3 \(takes 1 to 2\)" "picking a take that does not exist" \
	troupe shot pick s01 3
fails_with 65 "s02 has no take 1 \(it has no takes yet\)" "picking in a shot without takes" \
	troupe shot pick s02 1
fails_with 65 "s02 follows s01, which has no chosen take" \
	"--chain before the previous shot has a chosen take" troupe shot still s02
fails_with 65 "s03 is not chained" "a chained still of a shot that is not chained" \
	troupe shot still s03
check "pick take 2" troupe shot pick s01 2
like "$(troupe shot show s01)" "2 \(chosen\) #[0-9]+ [0-9a-f]+ 1.000 s at 25 fps, attached" \
	"show marks the chosen take"
check "the chained still is the last frame of s01's chosen take" troupe shot still s02
take2=$(db "SELECT t.asset_id FROM shot_takes t JOIN shots s ON s.id = t.shot_id WHERE s.slug = 's01' AND t.number = 2")
is "$(db "SELECT f.video_id, f.t > 0.9 FROM shots s JOIN asset_frames f ON f.asset_id = s.still_id WHERE s.slug = 's02'")" \
	"$take2|1" "it is recorded as a frame of that take, near its end"

# ---- a generated video as a take, and trace ----
start_mock
export TROUPE_POLL_INTERVAL_MS=50
troupe add mei still.jpg --role face >/dev/null
check "generate a video with a stand-in" troupe generate --profile kling-video \
	--first-frame still.jpg "@mei walks"
gen_id=$(db "SELECT asset_id FROM request_outputs ORDER BY request_id DESC LIMIT 1")
req_id=$(db "SELECT request_id FROM request_outputs WHERE asset_id = $gen_id")
check "a stored generated video as a take" troupe shot take s02 "$gen_id"
trace=$(troupe shot trace "$gen_id")
like "$trace" "^asset #$gen_id is take 1 of shot s02" "trace names the shot and the take"
like "$trace" "request +#$req_id generate kling-video, succeeded" "trace names its request"
like "$trace" "references +#$still_id [0-9a-f]+ as first_frame" \
	"trace lists the pictures it was sent: the still as its first frame"
like "$trace" "the last frame of #$take2 \(s01 take 2\)" "trace follows the chained still to its take"
troupe shot trace "$gen_id" --json >trace.json
is "$(python3 -c 'import json; t = json.load(open("trace.json")); print(t["shot"]["id"], t["take"], t["request"]["id"], t["still_from"]["shot"], t["still_from"]["take"])')" \
	"s02 1 $req_id s01 2" "trace --json has the shot, take, request and the still's origin"
like "$(troupe shot trace "$take2")" "take 2 of shot s01 \(chosen\)" "trace of an attached take"
like "$(troupe shot trace "$take2")" "request +none: made elsewhere" "an attached take has no request"
like "$(troupe shot trace "$still_id")" "is the still of shot s01" "trace of a still"
face=$(db "SELECT id FROM assets WHERE role = 'face'")
fails_with 65 "neither a take nor a still" "trace of an asset of no shot" troupe shot trace "$face"

# ---- a failed take is never picked ----
db "INSERT INTO shot_takes(shot_id, number, status, error, added) SELECT id, 3, 'failed', 'HTTP 500', 0 FROM shots WHERE slug = 's01'"
fails_with 65 "take 3 failed \(HTTP 500\)" "picking a failed take" troupe shot pick s01 3
like "$(troupe shot show s01)" "3, failed: HTTP 500" "show lists the failed take with its error"

# ---- removal keeps the takes' assets ----
assets=$(db "SELECT count(*) FROM assets")
check "rm a shot with takes" troupe shot rm s01
is "$(db "SELECT count(*) FROM assets")" "$assets" "its assets stay"
is "$(db "SELECT count(*) FROM shot_takes t JOIN shots s ON s.id = t.shot_id WHERE s.slug = 's01'")" 0 \
	"its takes' rows are gone"
is "$(db "SELECT after_id IS NULL FROM shots WHERE slug = 's02'")" 1 "s02 follows what s01 followed"

done_testing
