#!/bin/sh
# troupe shot render: image-to-video takes of a shot from its still, against
# the Kling and PixVerse stand-ins: each take recorded with its request and
# traced back to it, the still sent as the clip's first frame (and an end
# frame where Kling documents it), a chained shot rendered from the last
# frame of the take before, and every shot that cannot be rendered refused
# before anything is sent; a failing service leaves a failed take and a
# non-zero status; --parallel sends a few at a time within the profile's
# concurrency, each recorded as it finishes, one failing losing no other;
# the shot's duration goes where the service takes one, as it documents it,
# and one it does not offer is refused naming those it does.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require ffmpeg sqlite3 vips
. "$TEST_SRCDIR/mock-lib.sh"

photos=$TEST_SRCDIR/data/photos
db() { sqlite3 .troupe/troupe.db "$1"; }
cp "$photos/rocket.jpg" still.jpg
cp "$photos/coffee.jpg" end.jpg

troupe init >/dev/null
troupe character new mei --name Mei --describe "a cat" >/dev/null
troupe add mei "$photos/chelsea.jpg" --role face >/dev/null
face=$(db "SELECT id FROM assets WHERE role = 'face'")
troupe shot new s01 --prompt "@mei walks along the pier" --aspect 16:9 >/dev/null
troupe shot new s02 --after s01 --prompt "@mei turns" --chain >/dev/null
troupe shot new s03 --prompt "@mei sleeps" >/dev/null

start_mock
export TROUPE_POLL_INTERVAL_MS=50

# ---- refused before anything is sent ----
mock_mark
fails_with 65 "s01 has no still: .*troupe shot still s01" "a shot with no still" \
	troupe shot render s01 --video kling-video
fails_with 64 "which service\? \(--video PROFILE" "render without --video" troupe shot render s01
fails_with 65 "s02 follows s01, which has no chosen take" \
	"a chained shot before the previous one has a chosen take" \
	troupe shot render s02 --video kling-video
check "a still for s01" troupe shot still s01 still.jpg
still=$(db "SELECT still_id FROM shots WHERE slug = 's01'")
fails_with 64 "profile runway-gen4-image makes pictures, not videos" "an image profile" \
	troupe shot render s01 --video runway-gen4-image
mkdir variants
python3 - "$TEST_SRCDIR/../profiles/kling-video.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["name"] = "kling-noframe"
del p["frames"]
p["references"] = {"roles": ["face"], "pointer": "/image", "item": "{ref}", "encoding": "base64"}
json.dump(p, open("variants/kling-noframe.json", "w"))
PY
fails_with 64 "profile kling-noframe takes no first frame" \
	"a profile with no place for the still" \
	env TROUPE_PROFILE_PATH=variants "$TROUPE" shot render s01 --video kling-noframe
fails_with 64 "still: --video, --takes, --parallel and --timeout are render's" \
	"--takes outside render" troupe shot still s01 still.jpg --takes 2
is "$(mock_since 'len(log)')" 0 "nothing reached a service"
is "$(db "SELECT count(*) FROM shot_takes")" 0 "and no take was recorded"

# ---- takes from the still ----
mock_mark
check "render two takes with kling-video" troupe shot render s01 --video kling-video --takes 2
is "$(db "SELECT group_concat(number || ':' || status || ':' || (asset_id IS NOT NULL) || ':' || (request_id IS NOT NULL), ' ') FROM shot_takes ORDER BY number")" \
	"1:ok:1:1 2:ok:1:1" "two takes, each with its output and its request"
like "$(cat "$scratch/.out")" "s01: take 2 is asset #[0-9]+ \(request #[0-9]+\)" "render says what each take is"
is "$(mock_since 'len([e for e in log if e["method"] == "POST" and e["status"] == 200])')" 2 \
	"one create per take, one after another, each accepted by the stand-in"
take1=$(db "SELECT t.asset_id FROM shot_takes t WHERE t.number = 1")
req1=$(db "SELECT t.request_id FROM shot_takes t WHERE t.number = 1")
trace=$(troupe shot trace "$take1")
like "$trace" "^asset #$take1 is take 1 of shot s01" "trace finds the rendered take"
like "$trace" "request +#$req1 generate kling-video, succeeded" "and the request that made it"
like "$trace" "references +#$still [0-9a-f]+ as first_frame" "whose first frame was the still"
troupe log --json --limit 1 >log.json
sent=$(jsonv log.json '[r["sent"] for r in d[0]["references"] if r["tag"] == "first_frame"][0]')
blob=.troupe/objects/$(echo "$sent" | cut -c1-2)/$(echo "$sent" | cut -c3-)
is "$(python3 - "$mock_log" "$mock_seen" "$blob" <<'PY'
import base64, json, sys
log = [json.loads(l) for l in open(sys.argv[1]) if l.strip()][int(sys.argv[2]):]
blob = open(sys.argv[3], "rb").read()
print([base64.b64decode(json.loads(e["body"])["image"]) == blob
       for e in log if e["method"] == "POST"])
PY
)" "[True, True]" "the image Kling was sent is the still's derivative, in both takes"
is "$(jsonv log.json '[d[0]["prompt"], d[0]["characters"]]')" '["Mei (a cat) walks along the pier", ["mei"]]' \
	"the shot's prompt with its mention injected as text"
is "$(jsonv log.json '[r["asset"] for r in d[0]["references"]]')" "[$still]" \
	"mei's face is not sent as a frame"

# ---- PixVerse: the still uploaded, its img_id the first frame ----
mock_mark
check "render with pixverse-video" troupe shot render s01 --video pixverse-video --json
is "$(jsonv "$scratch/.out" '[d["shot"], d["profile"], [t["number"] for t in d["takes"]], d["failed"]]')" \
	'["s01", "pixverse-video", [3], 0]' "render --json lists the take it recorded"
is "$(mock_since '[e["path"] for e in log if e["method"] == "POST"]')" \
	'["/pixverse/openapi/v2/image/upload", "/pixverse/openapi/v2/video/img/generate"]' \
	"pixverse: the still is uploaded, then the video made from its img_id"

# ---- a failing service: a failed take, never pickable ----
mock_mode '{"mode": "task-fails", "times": 1, "service": "kling"}'
troupe shot render s01 --video kling-video --takes 2 >render.out 2>render.err
is "$?" 69 "a failed generation makes render fail"
like "$(cat render.err)" "s01: 1 of 2 takes failed: .*risk control" "saying how many and why"
is "$(db "SELECT group_concat(number || ':' || status || ':' || (asset_id IS NULL) || ':' || (request_id IS NOT NULL), ' ') FROM shot_takes WHERE number > 3 ORDER BY number")" \
	"4:failed:1:1 5:ok:0:1" "the failed take is recorded with its request, the next one still rendered"
like "$(db "SELECT error FROM shot_takes WHERE number = 4")" "risk control" "with the service's reason"
like "$(cat render.out)" "s01: take 4 failed \(request #[0-9]+\): .*risk control" "render prints the failed take"
fails_with 65 "take 4 failed" "a failed take cannot be picked" troupe shot pick s01 4

# ---- --last-frame where Kling documents it, and a chained shot ----
check "pick take 1" troupe shot pick s01 1
mock_mark
check "render the chained shot" troupe shot render s02 --video kling-video
s02still=$(db "SELECT still_id FROM shots WHERE slug = 's02'")
is "$(db "SELECT video_id FROM asset_frames WHERE asset_id = $s02still")" "$take1" \
	"its still is the last frame of s01's chosen take, made for the render"
like "$(troupe shot trace "$(db "SELECT t.asset_id FROM shot_takes t JOIN shots s ON s.id = t.shot_id WHERE s.slug = 's02'")")" \
	"references +#$s02still [0-9a-f]+ as first_frame" "and it is the rendered take's first frame"
mock_mark
check "generate with a start and an end frame" \
	troupe generate --profile kling-video --first-frame still.jpg --last-frame end.jpg "@mei"
is "$(mock_since 'sorted(k for k in json.loads([e for e in log if e["method"] == "POST"][0]["body"]) if k.startswith("image"))')" \
	'["image", "image_tail"]' "kling: the end frame goes to image_tail, as its reference documents"
troupe log --json --limit 1 >log.json
is "$(jsonv log.json '[r["tag"] for r in d[0]["references"]]')" '["first_frame", "last_frame"]' \
	"both frames are logged"

fails_with 64 "profile kling-video starts the video from a picture: give --first-frame" \
	"generate without a start frame" troupe generate --profile kling-video "@mei"

# ---- a mention the profile cannot carry ----
troupe location new harbor --describe "a night harbor" >/dev/null
troupe shot new s05 --prompt "@mei walks along @harbor" >/dev/null
troupe shot still s05 still.jpg >/dev/null
python3 - "$TEST_SRCDIR/../profiles/kling-video.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["name"] = "kling-cast"
p["references"]["kinds"] = {"character": "text"}
json.dump(p, open("variants/kling-cast.json", "w"))
PY
mock_mark
fails_with 65 "@harbor: profile kling-cast cannot carry a location \(it takes character\)" \
	"a shot mentioning a kind its profile cannot carry" \
	env TROUPE_PROFILE_PATH=variants "$TROUPE" shot render s05 --video kling-cast
is "$(mock_since 'len(log)')" 0 "nothing reached the service"

# ---- the shot's duration, where the service takes one ----
troupe shot new s04 --prompt "@mei yawns" --duration 10 >/dev/null
troupe shot still s04 still.jpg >/dev/null
mock_mark
check "render a 10-second shot with kling-video" troupe shot render s04 --video kling-video
is "$(mock_since '[json.loads(e["body"])["duration"] for e in log if e["method"] == "POST"]')" '["10"]' \
	"kling: the duration as the string its reference documents"
troupe shot edit s04 --duration 8 >/dev/null
mock_mark
check "render an 8-second shot with pixverse-video" troupe shot render s04 --video pixverse-video
is "$(mock_since '[json.loads(e["body"])["duration"] for e in log if e["method"] == "POST" and e["path"].endswith("/generate")]')" '[8]' \
	"pixverse: the duration as the integer its reference documents"
mock_mark
fails_with 65 "profile kling-video makes clips of 5 or 10 seconds, not 8" \
	"a duration Kling does not offer, naming the ones it does" \
	troupe shot render s04 --video kling-video
troupe shot edit s04 --duration 10 >/dev/null
fails_with 65 "profile pixverse-video makes clips of 5 or 8 seconds, not 10" \
	"a duration PixVerse does not offer" troupe shot render s04 --video pixverse-video
is "$(mock_since 'len(log)')" 0 "neither reached a service"

# ---- a few takes at a time, within the service's concurrency ----
check "a still for s03" troupe shot still s03 still.jpg
fails_with 64 "--parallel 2: profile kling-video runs at most 1 task at a time" \
	"--parallel above a profile's concurrency (1 unless it says)" \
	troupe shot render s03 --video kling-video --takes 2 --parallel 2
python3 - "$TEST_SRCDIR/../profiles/kling-video.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["name"] = "kling-three"
p["concurrency"] = 3
json.dump(p, open("variants/kling-three.json", "w"))
PY
fails_with 64 "--parallel 4: profile kling-three runs at most 3 tasks at a time" \
	"--parallel above the concurrency a profile gives" \
	env TROUPE_PROFILE_PATH=variants "$TROUPE" shot render s03 --video kling-three --takes 4 --parallel 4
fails_with 64 "--parallel 0: " "--parallel 0" troupe shot render s03 --video kling-video --parallel 0
mock_mark
check "render four takes, three at a time" \
	env TROUPE_PROFILE_PATH=variants "$TROUPE" shot render s03 --video kling-three --takes 4 --parallel 3
is "$(db "SELECT group_concat(number || ':' || status || ':' || (asset_id IS NOT NULL) || ':' || (request_id IS NOT NULL), ' ') FROM shot_takes t JOIN shots s ON s.id = t.shot_id WHERE s.slug = 's03' ORDER BY number")" \
	"1:ok:1:1 2:ok:1:1 3:ok:1:1 4:ok:1:1" "four takes, each with its output and request, numbered 1 to 4"
is "$(db "SELECT count(DISTINCT t.asset_id) || ' ' || count(DISTINCT t.request_id) FROM shot_takes t JOIN shots s ON s.id = t.shot_id WHERE s.slug = 's03'")" \
	"4 4" "four outputs of four requests"
is "$(grep -c "^s03: take [1-4] is asset #[0-9]* (request #[0-9]*)$" "$scratch/.out")" 4 \
	"each told as it was recorded, on a line of its own"
order='(lambda c, d: "%d %d %s %s" % (len(c), len(d), c[2] < d[0], c[3] > d[0]))([i for i, e in enumerate(log) if e["method"] == "POST" and e["path"].endswith("/image2video")], [i for i, e in enumerate(log) if e["method"] == "GET" and "/files/" in e["path"]])'
is "$(mock_since "$order")" "4 4 True True" \
	"three tasks were sent before the first video came back, the fourth after"
mock_mode '{"mode": "task-fails", "times": 1, "service": "kling"}'
env TROUPE_PROFILE_PATH=variants "$TROUPE" shot render s03 --video kling-three --takes 3 --parallel 3 \
	>par.out 2>par.err
is "$?" 69 "one of three takes at a time fails: render fails"
like "$(cat par.err)" "s03: 1 of 3 takes failed: .*risk control" "saying how many and why"
is "$(db "SELECT group_concat(status, ' ') FROM (SELECT status FROM shot_takes t JOIN shots s ON s.id = t.shot_id WHERE s.slug = 's03' AND number > 4 ORDER BY status)")" \
	"failed ok ok" "the failed take is recorded and the other two are not lost"
is "$(db "SELECT count(*) FROM shot_takes t JOIN shots s ON s.id = t.shot_id WHERE s.slug = 's03' AND number > 4 AND request_id IS NOT NULL")" 3 \
	"each with its request"

done_testing
