#!/bin/sh
# troupe generate: every built-in service profile end to end against the
# loopback stand-ins (tests/mock-services.py), which check each request
# against the service's documented shape; then the ways a service fails.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require vips sqlite3
. "$TEST_SRCDIR/mock-lib.sh"

start_mock
# Poll the stand-ins every 50 ms, not at the profiles' pace of seconds.
export TROUPE_POLL_INTERVAL_MS=50
export TROUPE_REF_BASE_URL=https://cdn.example.com/refs
hex='[0-9a-f]{32}'

troupe init >/dev/null
troupe character new mei --name Mei --describe "a cat in a study" \
	--negative "blurry, extra limbs" --seed 42 >/dev/null
troupe character new kai --name Kai --describe "a tall sailor" >/dev/null
noise_png mei-face.png 400 500
noise_jpeg mei-sheet.jpg 640 400
noise_png kai-face.png 360 360
troupe add mei mei-face.png --role face >/dev/null
troupe add mei mei-sheet.jpg --role sheet >/dev/null
troupe add kai kai-face.png --role face >/dev/null

# A ComfyUI workflow in the API format, with one LoadImage node.
cp "$TEST_SRCDIR/data/comfyui-workflow.json" workflow.json

# Everything troupe prints in this test, to look for keys in at the end.
all_output=$scratch/all-output
: >"$all_output"
gen() {
	"$TROUPE" generate "$@" >"$scratch/gen.out" 2>"$scratch/gen.err"
	status=$?
	cat "$scratch/gen.out" "$scratch/gen.err" >>"$all_output"
	return $status
}
generated_count() { troupe query 'role:generated' --count; }
last_log() { troupe log --json --limit 1 >"$scratch/.log" && jsonv "$scratch/.log" "$1"; }

# ---- every service, end to end ----

# profile service kind [generate arguments]
end_to_end() {
	profile=$1 service=$2 kind=$3
	shift 3
	[ $# -gt 0 ] || set -- "@mei walks into the sea"
	mock_mark
	gen --profile "$profile" --json "$@"
	is "$(mock_since '[e["path"].split("?")[0] + ": " + e["body"][:300] for e in log if e["service"] == "'"$service"'" and e["status"] >= 400]')" \
		"[]" "$profile: the stand-in accepted every request's shape"
	if [ "$status" = 0 ]; then
		pass "$profile: generate succeeds"
	else
		fail "$profile: generate succeeds" "exit $status" "$(head -c 600 "$scratch/gen.err")"
		fail "$profile: outputs stored, tagged and logged" "not checked: generate failed"
		return
	fi
	cp "$scratch/gen.out" "$profile.json"
	is "$(jsonv "$profile.json" '[[a["role"], a["character"]] for a in d["outputs"]]')" \
		'[["generated", "mei"]]' "$profile: one output, role generated, Mei's"
	id=$(jsonv "$profile.json" 'd["outputs"][0]["id"]')
	troupe show "$id" --json >"show-$profile.json"
	is "$(jsonv "show-$profile.json" 'sorted(d[0]["tags"])')" "[\"cast:mei\", \"profile:$profile\"]" \
		"$profile: tagged cast:mei and profile:$profile"
	is "$(jsonv "show-$profile.json" 'd[0]["format"] in (["mp4", "mov", "webm"] if "'"$kind"'" == "video" else ["png", "jpeg", "webp"])')" \
		true "$profile: stored as $kind ($(jsonv "show-$profile.json" 'd[0]["format"]'))"
	is "$(jsonv "show-$profile.json" '[d[0]["request"]["profile"], d[0]["request"]["status"], d[0]["request"]["characters"]]')" \
		"[\"$profile\", \"succeeded\", [\"mei\"]]" "$profile: show names the request that made it"
	like "$(jsonv "show-$profile.json" '"#%s %s %s" % tuple(d[0]["request"]["references"][0][k] for k in ("asset", "hash", "tag"))')" "${want_ref:-^#[12] $hex mei$}" \
		"$profile: and the ${want_ref:+first frame}${want_ref:-reference} it was given"
	is "$(last_log '[d[0]["id"] == '"$(jsonv "$profile.json" 'd["request"]')"', d[0]["status"], len(d[0]["outputs"])]')" \
		'[true, "succeeded", 1]' "$profile: the log row is the request, succeeded, with its output"
}

end_to_end runway-gen4-image runway image
is "$(mock_since '[e["headers"].get("X-Runway-Version") for e in log if e["service"] == "runway"]')" \
	'["2024-11-06", "2024-11-06", "2024-11-06", "2024-11-06"]' \
	"runway: X-Runway-Version on the create and every poll"
is "$(mock_since '[e["headers"].get("Authorization") for e in log if e["service"] == "runway"][0]')" \
	"Bearer $RUNWAYML_API_SECRET" "runway: the key goes in the Authorization header"
is "$(mock_since '[e["headers"].get("Authorization") for e in log if e["service"] == "files"]')" \
	"[null]" "the output is downloaded without the key"
is "$(mock_since '[json.loads(e["body"])["referenceImages"][0]["uri"][:23] for e in log if e["method"] == "POST"]')" \
	'["data:image/jpeg;base64,"]' "runway: the reference was sent as a data URI"

end_to_end kling-image kling image
is "$(mock_since '[e["headers"]["Authorization"].count(".") for e in log if e["service"] == "kling"]')" \
	"[2, 2, 2, 2]" "kling: a JWT on the create and every poll (signature checked by the stand-in)"
is "$(mock_since '"data:" in [e for e in log if e["method"] == "POST"][0]["body"]')" false \
	"kling: the image is sent without a data: prefix"
# Image-to-video starts from the shot's still, given as --first-frame; the
# character goes as text (image2video and img/generate take no reference).
cp "$TEST_SRCDIR/data/photos/rocket.jpg" still.jpg
want_ref="^#[0-9]+ $hex first_frame$"
end_to_end kling-video kling video --first-frame still.jpg "@mei walks into the sea"
still=$(sqlite3 .troupe/troupe.db "SELECT id FROM assets WHERE source = 'still.jpg'")
is "$(jsonv show-kling-video.json 'd[0]["request"]["references"][0]["asset"]')" "$still" \
	"kling-video: the first frame is the still, stored from its file"
is "$(mock_since 'sorted(k for k in json.loads([e for e in log if e["method"] == "POST"][0]["body"]) if k.startswith("image"))')" \
	'["image"]' "kling-video: the still went to image, and no image_tail was sent"
want_ref="^#$still $hex first_frame$"
end_to_end pixverse-video pixverse video --first-frame "#$still" "@mei walks into the sea"
want_ref=
is "$(mock_since 'len(set(e["headers"].get("Ai-trace-id") for e in log if e["service"] == "pixverse")) == len([e for e in log if e["service"] == "pixverse"])')" \
	true "pixverse: a fresh Ai-trace-id on every request, the upload included"
end_to_end openai-image-edit openai image
is "$(mock_since '[e["headers"]["Content-Type"].split(";")[0] for e in log if e["service"] == "openai"]')" \
	'["multipart/form-data"]' "openai: a multipart request"
end_to_end gemini-image gemini image
is "$(mock_since '[e["headers"].get("x-goog-api-key") for e in log if e["service"] == "gemini"]')" \
	"[\"$GEMINI_API_KEY\"]" "gemini: the key in x-goog-api-key"
end_to_end replicate-ideogram-character replicate image
end_to_end fal-flux-kontext fal image
like "$(mock_since '[e["path"] for e in log if e["service"] == "fal"][-2:]')" \
	'^\["/fal/fal-ai/flux-pro/requests/[0-9a-f-]+/status", "/fal/fal-ai/flux-pro/requests/[0-9a-f-]+"\]$' \
	"fal: polls the status, then fetches the result (model id without /kontext)"
is "$(mock_since '[e["headers"].get("Authorization", "")[:4] for e in log if e["service"] == "fal"][0]')" \
	"Key " "fal: Authorization: Key ..."
end_to_end luma-image luma image
end_to_end minimax-video minimax video
is "$(mock_since '[e["path"].split("?")[0] for e in log if e["service"] == "minimax"][-1]')" \
	"/minimax/v1/files/retrieve" "minimax: the file is looked up after the task succeeds"
end_to_end comfyui comfyui image --workflow workflow.json
is "$(mock_since '[e["path"].split("?")[0] for e in log][:2]')" \
	'["/comfyui/upload/image", "/comfyui/prompt"]' "comfyui: the reference is uploaded, then the prompt queued"
is "$(mock_since 'sorted(json.loads([e for e in log if e["path"] == "/comfyui/prompt"][0]["body"]))')" \
	'["client_id", "prompt"]' "comfyui: the workflow is sent wrapped as {client_id, prompt}"

# -o copies the outputs out of the store.
check "generate -o DIR" gen --profile gemini-image -o out "@kai on deck"
like "$(ls out)" "^$hex\.png$" "the output is copied to DIR as HASH.EXT"
is "$(last_log 'd[0]["characters"]')" '["kai"]' "a request for Kai is logged as Kai's"
# A generate that fails leaves no empty DIR behind, but keeps one it did
# not make.
fails_with 78 'needs its key in \$RUNWAYML_API_SECRET' "generate -o DIR that fails" \
	env -u RUNWAYML_API_SECRET "$TROUPE" generate --profile runway-gen4-image -o never "@mei"
check "leaves no DIR behind" sh -c '! test -e never'
mkdir kept
fails_with 78 'needs its key in \$RUNWAYML_API_SECRET' "generate -o an existing DIR that fails" \
	env -u RUNWAYML_API_SECRET "$TROUPE" generate --profile runway-gen4-image -o kept "@mei"
check "keeps a DIR it did not make" test -d kept

# ---- keys ----

fails_with 78 'needs its key in \$RUNWAYML_API_SECRET' "no key: refused before anything is sent" \
	env -u RUNWAYML_API_SECRET "$TROUPE" generate --profile runway-gen4-image "@mei"
fails_with 78 'needs its secret key in \$KLING_SECRET_KEY' "Kling without its secret key" \
	env -u KLING_SECRET_KEY "$TROUPE" generate --profile kling-image "@mei"
env RUNWAYML_API_SECRET=key_runway_WRONG "$TROUPE" generate --profile runway-gen4-image "@mei" \
	>wrong.out 2>wrong.err
is "$?" 69 "a wrong key: the service's 401 is an error"
cat wrong.out wrong.err >>"$all_output"
like "$(cat wrong.err)" "HTTP 401" "which says HTTP 401"
check "and does not print the key it sent" sh -c '! grep -q key_runway_WRONG wrong.err wrong.out'
env KLING_SECRET_KEY=sk_not_the_secret "$TROUPE" generate --profile kling-image "@mei" \
	>wrong.out 2>wrong.err
is "$?" 69 "a JWT signed with the wrong secret is refused by Kling"
like "$(cat wrong.err)" "HTTP 401.*signature" "and the reason is shown"

# ---- failures ----

# 500, then 200: retried, and the request succeeds.
mock_mode '{"mode": "500", "times": 1, "service": "runway"}'
mock_mark
check "a 500 then a 200 succeeds" gen --profile runway-gen4-image "@mei in the rain"
is "$(mock_since '[e["status"] for e in log if e["method"] == "POST"]')" "[500, 200]" \
	"after two attempts"

mock_mode '{"mode": "429", "times": 1, "service": "kling"}'
mock_mark
check "a 429 then a 200 succeeds" gen --profile kling-image "@mei in the rain"
is "$(mock_since '[e["status"] for e in log if e["method"] == "POST"]')" "[429, 200]" \
	"after two attempts"
is "$(mock_since 'round([e["time"] for e in log if e["method"] == "POST"][1] - [e["time"] for e in log if e["method"] == "POST"][0]) >= 1')" \
	true "the second attempt waits for Retry-After: 1 (not the 0.1 s backoff)"

mock_mode '{"mode": "500", "times": 10, "service": "luma"}'
mock_mark
gens=$(generated_count)
gen --profile luma-image "@mei"
is "$status" 69 "500 every time: gives up"
is "$(mock_since 'len([e for e in log if e["method"] == "POST"])')" 4 "after four attempts"
is "$(generated_count)" "$gens" "and registers nothing"
mock_mode '{"mode": "ok"}'

# Garbage instead of JSON.
mock_mode '{"mode": "garbage", "times": 1, "service": "replicate"}'
gens=$(generated_count)
gen --profile replicate-ideogram-character "@mei"
is "$status" 76 "an answer that is not JSON fails (EX_PROTOCOL)"
like "$(cat "$scratch/gen.err")" "not JSON" "saying the answer is not JSON"
is "$(last_log '[d[0]["status"], d[0]["outputs"]]')" '["failed", []]' \
	"the request row says failed, with no outputs"
like "$(last_log 'd[0]["error"]')" "not JSON" "and what went wrong"
like "$(last_log 'd[0]["response"]')" "502 Bad Gateway" "and keeps what the service said"
is "$(generated_count)" "$gens" "nothing is registered"

# An output that is not an image.
mock_mode '{"mode": "not-image", "times": 1, "service": "runway"}'
gens=$(generated_count)
objects=$(count_objects)
gen --profile runway-gen4-image "@mei"
is "$status" 65 "an output that is not an image fails"
like "$(cat "$scratch/gen.err")" "not an image" "saying so"
is "$(generated_count)" "$gens" "nothing is registered"
is "$(count_objects)" "$objects" "no blob is left in the store"
is "$(find .troupe/tmp -type f | wc -l | tr -d ' ')" 0 "nor in .troupe/tmp"
is "$(last_log 'd[0]["status"]')" failed "the request row says failed"

mock_mode '{"mode": "not-image", "times": 1, "service": "openai"}'
gen --profile openai-image-edit "@mei"
is "$status" 65 "a base64 output that is not an image fails too"
mock_mode '{"mode": "not-image", "times": 1, "service": "kling"}'
gen --profile kling-video --first-frame "#$still" "@mei"
is "$status" 65 "a video output that is not a video fails"
like "$(cat "$scratch/gen.err")" "not a video" "saying so"

# A task that fails.
for case in runway-gen4-image:runway:'task [0-9a-f-]+ FAILED: The content was flagged' \
	kling-image:kling:'failed: Failure to pass the risk control' \
	pixverse-video:pixverse:'task [0-9]+ 8: Generation failed' \
	minimax-video:minimax:'Fail: video generation failed' \
	comfyui:comfyui:'task [0-9a-f-]+ error'; do
	profile=${case%%:*}
	rest=${case#*:}
	service=${rest%%:*}
	why=${rest#*:}
	mock_mode "{\"mode\": \"task-fails\", \"times\": 1, \"service\": \"$service\"}"
	gens=$(generated_count)
	if [ "$profile" = comfyui ]; then
		gen --profile "$profile" --workflow workflow.json
	elif [ "$profile" = pixverse-video ]; then
		gen --profile "$profile" --first-frame "#$still" "@mei"
	else
		gen --profile "$profile" "@mei"
	fi
	is "$status" 69 "$profile: a failed task is an error"
	like "$(cat "$scratch/gen.err")" "$why" "$profile: with the service's reason"
	is "$(last_log '[d[0]["status"], d[0]["outputs"]]')" '["failed", []]' \
		"$profile: the request row says failed"
	is "$(generated_count)" "$gens" "$profile: nothing is registered"
done

# A task that never ends, and a server that never answers, with --timeout.
mock_mode '{"mode": "stuck", "times": 1, "service": "replicate"}'
start=$(date +%s)
gen --profile replicate-ideogram-character --timeout 2 "@mei"
took=$(($(date +%s) - start))
is "$status" 75 "a task still running at --timeout 2 gives up (EX_TEMPFAIL)"
check "after about 2 seconds ($took s)" test "$took" -le 6
like "$(cat "$scratch/gen.err")" "still processing after 2 s" "saying what it was still doing"
check "the message is printable text" sh -c '! LC_ALL=C grep -q "[^[:print:]]" "$0"' "$scratch/gen.err"
is "$(last_log 'd[0]["status"]')" failed "the request row says failed"

mock_mode '{"mode": "hang", "times": 1, "service": "fal", "seconds": 40}'
start=$(date +%s)
timeout 30 "$TROUPE" generate --profile fal-flux-kontext --timeout 2 "@mei" >hang.out 2>hang.err
status=$?
took=$(($(date +%s) - start))
is "$status" 75 "a server that does not answer: --timeout 2 gives up (EX_TEMPFAIL)"
check "within a few seconds, not when the server wakes up ($took s)" test "$took" -le 10
mock_mode '{"mode": "ok"}'

# https only, except to loopback.
mock_mark
TROUPE_RUNWAY_URL=http://example.com gen --profile runway-gen4-image "@mei"
is "$status" 64 "a plain-http base URL that is not loopback is refused"
like "$(cat "$scratch/gen.err")" "http://example.com/v1/text_to_image: only https is allowed" \
	"saying only https is allowed"
is "$(mock_since 'len(log)')" 0 "nothing was sent anywhere"
TROUPE_RUNWAY_URL=ftp://127.0.0.1/runway gen --profile runway-gen4-image "@mei"
is "$status" 64 "another scheme is refused too"

# A slug too short to be a Runway tag (3-16 characters) never reaches
# Runway as an invalid tag: troupe makes it valid or refuses before sending.
troupe character new li --name Li >/dev/null
noise_png li.png 320 320
troupe add li li.png --role face >/dev/null
mock_mark
gen --profile runway-gen4-image "@li dances"
is "$(mock_since '[e["status"] for e in log if e["service"] == "runway" and e["status"] >= 400]')" \
	"[]" "a two-letter slug is not sent as a Runway tag"

# Runway takes at most 3 references.
for n in 1 2 3; do noise_png "extra$n.png" 300 300; done
troupe add mei extra1.png extra2.png extra3.png --role reference >/dev/null
mock_mark
check "--ref selecting four assets" gen --profile runway-gen4-image --ref 'character:mei -role:generated' "@mei"
is "$(mock_since '[len(json.loads(e["body"])["referenceImages"]) for e in log if e["method"] == "POST" and e["service"] == "runway"]')" \
	"[3]" "only three references are sent to Runway"

# ---- no key is kept or shown anywhere ----

cat hang.out hang.err wrong.out wrong.err >>"$all_output"
troupe log --json >log-all.json
for key in $all_keys; do
	name=${key%%_SECRET*}
	if grep -aqF -- "$key" .troupe/troupe.db .troupe/troupe.db-wal 2>/dev/null; then
		fail "$name...: the key is not in .troupe/troupe.db or its -wal"
	else
		pass "$name...: the key is not in .troupe/troupe.db or its -wal"
	fi
	check "$name...: nor anywhere under .troupe" sh -c '! grep -raqF -- "$0" .troupe' "$key"
	check "$name...: nor in anything troupe printed" sh -c '! grep -aqF -- "$0" "$1"' "$key" \
		"$all_output"
	check "$name...: nor in troupe log --json" sh -c '! grep -aqF -- "$0" log-all.json' "$key"
done

# ---- the stand-ins refuse what the services refuse ----

# variant NAME BASE PYTHON: a copy of profile BASE named NAME, changed by
# the Python statements PYTHON acting on the dict p.
mkdir variants
TROUPE_PROFILE_PATH=$PWD/variants
export TROUPE_PROFILE_PATH
variant() {
	python3 - "$builtin_profiles" "$@" <<'PY'
import json, os, sys
dirs, name, base, code = sys.argv[1].split(":"), sys.argv[2], sys.argv[3], sys.argv[4]
path = next(os.path.join(d, base + ".json") for d in dirs
            if os.path.exists(os.path.join(d, base + ".json")))
p = json.load(open(path))
p["name"] = name
exec(code)
json.dump(p, open(os.path.join("variants", name + ".json"), "w"), indent=2)
PY
}
# refused NAME REGEX DESCRIPTION [ARGS]: generate with a variant fails
# because the stand-in answered 4xx with a reason matching REGEX.
refused() {
	name=$1 regex=$2 desc=$3
	shift 3
	[ $# -gt 0 ] || set -- "@mei walks into the sea"
	gen --profile "$name" "$@"
	if [ "$status" != 0 ] && grep -Eq -- "$regex" "$scratch/gen.err"; then
		pass "$desc"
	else
		fail "$desc" "exit $status, want an error matching $regex" "$(cat "$scratch/gen.err")"
	fi
}
variant kling-datauri kling-image 'p["references"]["encoding"] = "data_uri"'
refused kling-datauri "HTTP 400.*without a data: prefix" "Kling refuses a data: URI image"
variant kling-nojwt kling-image 'p["auth"] = {"scheme": "bearer", "env": "KLING_ACCESS_KEY"}'
refused kling-nojwt "HTTP 401.*JWT" "Kling refuses a bare access key"
variant kling-small kling-image 'p["references"]["limits"] = {"max_side": 200, "format": "jpeg"}'
refused kling-small "HTTP 400.*smaller than 300 px" "Kling refuses an image under 300 px"
variant kling-negative kling-image 'p["negative"] = "/negative_prompt"'
refused kling-negative "HTTP 400.*negative_prompt is not supported" \
	"Kling refuses a negative prompt with an image"
variant runway-noversion runway-gen4-image 'del p["headers"]'
refused runway-noversion "HTTP 400.*X-Runway-Version" "Runway refuses a request without X-Runway-Version"
variant runway-four runway-gen4-image 'p["references"]["max"] = 4'
refused runway-four "HTTP 400.*at most 3" "Runway refuses four references" \
	--ref 'character:mei -role:generated' "@mei"
variant runway-raw runway-gen4-image 'p["references"]["encoding"] = "base64"'
refused runway-raw "HTTP 400.*https URL or a data: URI" "Runway refuses raw base64"
variant pixverse-notrace pixverse-video 'del p["trace_header"]'
refused pixverse-notrace "HTTP 400.*Ai-trace-id" "PixVerse refuses a request without Ai-trace-id" \
	--first-frame "#$still" "@mei walks into the sea"
variant gemini-datauri gemini-image 'p["references"]["encoding"] = "data_uri"'
refused gemini-datauri "HTTP 400.*not valid base64" "Gemini refuses a data URI as inline data"
variant luma-datauri luma-image 'p["references"]["encoding"] = "data_uri"'
refused luma-datauri "HTTP 400.*must be an https URL" "Luma refuses a data URI as a character reference"
variant minimax-two minimax-video 'p["references"]["item"] = {"type": "face", "image": ["{ref}"]}'
refused minimax-two 'HTTP 400.*subject_reference\[0\]\.type: must be' \
	"MiniMax refuses a subject that is not a character"
variant fal-subpath fal-flux-kontext 'p["task"]["poll"] = "/fal-ai/flux-pro/kontext/requests/{id}/status"'
refused fal-subpath "HTTP 404|HTTP 405" "fal's queue has no status under the model's subpath"
variant openai-json openai-image-edit 'p["request"]["body"] = "json"; p["prompt"] = "/prompt"; p["references"] = {"encoding": "base64", "pointer": "/image", "item": "{ref}"}'
refused openai-json "HTTP 400.*multipart" "OpenAI's edits endpoint wants multipart, not JSON"
variant comfyui-noupload comfyui 'p["references"]["encoding"] = "path"'
refused comfyui-noupload "HTTP 400.*Invalid image file" "ComfyUI refuses a LoadImage of a file it was not given" \
	--workflow workflow.json

# The stand-in refuses kling-v1-5 with an image and no image_reference,
# as Kling does; the profile's models rule supplies it.
echo '{"model_name": "kling-v1-5", "prompt": "@mei in the rain"}' >kling-v15.json
check "generate kling-image with model_name kling-v1-5" gen --profile kling-image --file kling-v15.json

# A profile for a text service cannot be sent.
fails_with 64 "makes prompt text" "generate with a text profile" \
	troupe generate --profile midjourney "@mei"
is "$(cat "$mock_log" | grep -c '"status": 599')" 0 "the stand-ins never failed themselves"

done_testing
