#!/bin/sh
# Reference-to-video and multi-reference profiles, through the real binary
# against the loopback stand-ins (tests/mock-services.py and mock_refs.py,
# which refuse any request whose shape differs from the service's
# reference): characters with a look, a location and a prop go where each
# service takes that kind (Kling's subject, scene and style images,
# PixVerse's subject and background entries named @ref_name, Veo's asset
# images, Vidu's subjects, MiniMax's one character), and each request is
# checked field by field against the derivatives troupe logged as sent.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require vips sqlite3
. "$TEST_SRCDIR/mock-lib.sh"

photos=$TEST_SRCDIR/data/photos
db() { sqlite3 .troupe/troupe.db "$1"; }

troupe init >/dev/null
troupe character new mei --name Mei --describe "a young woman" --negative "blurry" >/dev/null
troupe character new kai --name Kai --describe "a tall sailor" >/dev/null
troupe look new mei winter --describe "long red wool coat" >/dev/null
troupe location new harbor --name "Night harbor" --describe "wet cobblestones, fog" >/dev/null
troupe location new pier --name "Old pier" --describe "rotten planks" >/dev/null
troupe prop new mirror --name "Hand mirror" --describe "bronze, sea-dragon handle" >/dev/null
troupe style new noir --name Noir --describe "high-contrast black and white" >/dev/null
troupe add mei "$photos/chelsea.jpg" --role face >/dev/null
troupe add mei "$photos/astronaut.jpg" --look winter --role costume >/dev/null
troupe add kai "$photos/camera.jpg" --role face >/dev/null
troupe add harbor "$photos/coffee.jpg" --role location >/dev/null
troupe add pier "$photos/rocket.jpg" --role location >/dev/null
troupe add mirror "$photos/rocket.jpg" --role prop >/dev/null
troupe add noir "$photos/camera.jpg" --role reference >/dev/null
asset() { db "SELECT a.id FROM assets a JOIN characters c ON c.id = a.character_id WHERE c.slug = '$1' AND a.role = '$2'"; }
mei_face=$(asset mei face)
mei_coat=$(asset mei costume)
kai_face=$(asset kai face)
harbor=$(asset harbor location)
pier=$(asset pier location)
mirror=$(asset mirror prop)
noir=$(asset noir reference)
cp "$photos/coffee.jpg" still.jpg

start_mock
export TROUPE_POLL_INTERVAL_MS=20

gen() { "$TROUPE" generate "$@" >"$scratch/gen.out" 2>"$scratch/gen.err"; }
# posted SUFFIX EXPR: EXPR over the last request the stand-ins accepted at a
# path ending in SUFFIX since mock_mark, as `body` (JSON), with `blobs`, the
# bytes of the derivatives troupe's log says it sent, in order, `refs` the
# log's references and `b64` to decode.
posted() {
	troupe log --json --limit 1 >"$scratch/log.json"
	python3 - "$mock_log" "${mock_seen:-0}" "$1" "$2" "$scratch/log.json" <<'EOF'
import base64, json, re, sys
log = [json.loads(l) for l in open(sys.argv[1]) if l.strip()][int(sys.argv[2]):]
hits = [e for e in log if e["method"] == "POST" and e["path"].split("?")[0].endswith(sys.argv[3])]
body = json.loads(hits[-1]["body"]) if hits and hits[-1]["status"] == 200 else None
if body is None:
    print("(no accepted request at %s: %s)" % (sys.argv[3], [(e["path"], e["status"], e["body"][:300]) for e in hits]))
    sys.exit(0)
refs = json.load(open(sys.argv[5]))[0]["references"]
def blob(h):
    return open(".troupe/objects/%s/%s" % (h[:2], h[2:]), "rb").read()
blobs = [blob(r["sent"]) for r in refs]
def b64(s):
    return base64.b64decode(s.split(",", 1)[1] if s.startswith("data:") else s, validate=True)
v = eval(sys.argv[4])
print(v if isinstance(v, str) else json.dumps(v))
EOF
}
logged() { troupe log --json --limit 1 >"$scratch/log.json" && jsonv "$scratch/log.json" "$1"; }
outputs() { logged 'd[0]["status"] + " " + str(len(d[0]["outputs"]))'; }

cast="@mei.winter and @kai hold @mirror on @harbor."

# ---- Kling multi-image-to-video: four references in image_list ----
mock_mark
check "kling-multi-image" gen -p kling-multi-image "$cast"
is "$(posted /v1/videos/multi-image2video '[len(body["image_list"]), sorted(body)]')" \
	'[4, ["aspect_ratio", "duration", "image_list", "model_name", "negative_prompt", "prompt"]]' \
	"image_list holds 4 references, with the documented members only"
is "$(logged '[r["asset"] for r in d[0]["references"]]')" "[$mei_coat, $kai_face, $mirror, $harbor]" \
	"the look's costume, kai's face, the prop and the location, in the order of mention"
is "$(posted /v1/videos/multi-image2video '[b64(i["image"]) == b for i, b in zip(body["image_list"], blobs)]')" \
	"[true, true, true, true]" "each image is the derivative logged as sent, as bare base64"
is "$(posted /v1/videos/multi-image2video 'body["prompt"]')" \
	"Mei (a young woman, long red wool coat) and Kai (a tall sailor) hold Hand mirror (bronze, sea-dragon handle) on Night harbor (wet cobblestones, fog)." \
	"every mention described in the prompt"
is "$(posted /v1/videos/multi-image2video 'body["negative_prompt"]')" "blurry" "mei's negative prompt"
is "$(outputs)" "succeeded 1" "the video is stored"
is "$(db "SELECT format FROM assets ORDER BY id DESC LIMIT 1")" mp4 "as a video"

# ---- Kling multi-image-to-image: subject, scene and style images ----
mock_mark
check "kling-multi-image2image" gen -p kling-multi-image2image "$cast In @noir"
is "$(posted /v1/images/multi-image2image '[len(body["subject_image_list"]), "scene_image" in body, "style_image" in body, "negative_prompt" in body]')" \
	"[3, true, true, false]" "three subjects, a scene and a style; no negative prompt"
is "$(logged '[r["asset"] for r in d[0]["references"]]')" "[$mei_coat, $kai_face, $mirror, $harbor, $noir]" \
	"characters and the prop as subjects, then the location, then the style"
is "$(posted /v1/images/multi-image2image '[b64(s["subject_image"]) == b for s, b in zip(body["subject_image_list"], blobs)] + [b64(body["scene_image"]) == blobs[3], b64(body["style_image"]) == blobs[4]]')" \
	"[true, true, true, true, true]" "each at its field is the derivative logged as sent"
is "$(outputs)" "succeeded 1" "the picture is stored"
mock_mark
check "two locations for one scene image" gen -p kling-multi-image2image "@mei on @harbor by @pier"
like "$(cat "$scratch/gen.err")" "profile kling-multi-image2image takes 1 location reference: no image of @pier is sent" \
	"the second location is said to be left out"
is "$(posted /v1/images/multi-image2image '[len(body["subject_image_list"]), b64(body["scene_image"]) == blobs[1], len(blobs)]')" \
	"[1, true, 2]" "the scene image is the first location's, and only it is logged"

# ---- Kling image-to-video: the start and the end frame ----
mock_mark
check "kling-video with an end frame" gen -p kling-video --first-frame still.jpg --last-frame "#$harbor" "@mei walks"
is "$(posted /v1/videos/image2video '[body["mode"], body["model_name"], b64(body["image"]) == blobs[0], b64(body["image_tail"]) == blobs[1]]')" \
	'["pro", "kling-v1-6", true, true]' "image and image_tail, and mode pro, which kling-v1-6's end frame needs"
mock_mark
check "kling-video with a start frame only" gen -p kling-video --first-frame still.jpg "@mei walks"
is "$(posted /v1/videos/image2video '["mode" in body, "image_tail" in body]')" "[false, false]" \
	"no mode is asked for without an end frame (the default, std)"
mock_mark
printf '{"model_name": "kling-v1-6", "mode": "std", "prompt": "@mei walks"}' >std.json
gen -p kling-video --first-frame still.jpg --last-frame "#$harbor" --file std.json
is "$?" 69 "a request's own mode std stays, and Kling's stand-in refuses the end frame in it"
like "$(cat "$scratch/gen.err")" "image_tail: kling-v1-6 in mode std takes no end frame" "saying why"

# ---- PixVerse Fusion: uploads, subject and background, @ref_name ----
mock_mark
check "pixverse-fusion" gen -p pixverse-fusion "@mei.winter holds @mirror on @harbor."
is "$(mock_since 'len([e for e in log if e["path"].endswith("/openapi/v2/image/upload") and e["status"] == 200])')" 3 \
	"each reference is uploaded"
is "$(posted /video/fusion/generate '[[r["type"], r["ref_name"]] for r in body["image_references"]]')" \
	'[["subject", "mei"], ["subject", "mirror"], ["background", "harbor"]]' \
	"a character and a prop as subjects, the location as the background, named by their slugs"
is "$(posted /video/fusion/generate 'body["prompt"]')" "@mei holds @mirror on @harbor ." \
	"each mention is its @ref_name followed by a space, as Fusion wants"
is "$(posted /video/fusion/generate '[type(r["img_id"]).__name__ for r in body["image_references"]] + [sorted(body)]')" \
	'["int", "int", "int", ["aspect_ratio", "duration", "image_references", "model", "prompt", "quality"]]' \
	"img_ids are numbers, and only Fusion's members are sent"
is "$(logged '[r["upload"] for r in d[0]["references"]]')" '["uploaded", "uploaded", "uploaded"]' \
	"the log says each was uploaded"
is "$(outputs)" "succeeded 1" "the video is stored"
mock_mark
check "pixverse-fusion over its limit" gen -p pixverse-fusion "$cast"
like "$(cat "$scratch/gen.err")" "profile pixverse-fusion takes 3 references: no image of @harbor is sent" \
	"the fourth element is said to be left out"
is "$(posted /video/fusion/generate 'body["prompt"]')" \
	"@mei and @kai hold @mirror on Night harbor (wet cobblestones, fog)." \
	"and described instead of named by a @ref_name that has no entry"
is "$(mock_since 'len([e for e in log if e["path"].endswith("/openapi/v2/image/upload")])')" 1 \
	"only kai's reference is new: mei's and the mirror's img_ids are reused"
check "a style in fusion is described" gen -p pixverse-fusion "@mei in @noir"
like "$(cat "$scratch/gen.err")" "profile pixverse-fusion carries a style as text only: @noir is described" \
	"with a warning"

# A missing upload answer: nothing is generated.
troupe character new lin --name Lin >/dev/null
noise_png lin.png 400 400
troupe add lin lin.png --role face >/dev/null
before=$(db "SELECT count(*) FROM assets")
uploads_before=$(db "SELECT count(*) FROM uploads")
mock_mode '{"mode": "upload-no-id", "service": "pixverse"}'
mock_mark
gen -p pixverse-fusion "@lin waves"
is "$?" 76 "an upload answered without an img_id fails (EX_PROTOCOL)"
like "$(cat "$scratch/gen.err")" "^troupe: generate: upload of reference [0-9a-f]+: no id at /Resp/img_id in the answer" \
	"naming where the id should be"
is "$(mock_since 'len([e for e in log if e["path"].endswith("/video/fusion/generate")])')" 0 \
	"no video is asked for"
is "$(db "SELECT count(*) FROM assets")" "$before" "and no asset is added"
is "$(db "SELECT count(*) FROM uploads")" "$uploads_before" "nothing is remembered for the upload"

# ---- Veo 3.1: asset reference images, never with a first frame ----
mock_mark
check "veo-3.1-reference" gen -p veo-3.1-reference "$cast"
like "$(cat "$scratch/gen.err")" "profile veo-3.1-reference carries a location as text only: @harbor is described" \
	"a location goes as text"
is "$(posted :predictLongRunning '[[r["referenceType"], r["image"]["mimeType"]] for r in body["instances"][0]["referenceImages"]]')" \
	'[["asset", "image/jpeg"], ["asset", "image/jpeg"], ["asset", "image/jpeg"]]' \
	"three asset reference images"
is "$(posted :predictLongRunning '[b64(r["image"]["bytesBase64Encoded"]) == b for r, b in zip(body["instances"][0]["referenceImages"], blobs)] + [len(blobs)]')" \
	"[true, true, true, 3]" "mei's costume, kai's face and the prop, as logged"
is "$(posted :predictLongRunning '[body["parameters"], sorted(body["instances"][0])]')" \
	'[{"aspectRatio": "16:9", "durationSeconds": 8, "personGeneration": "allow_adult", "negativePrompt": "blurry"}, ["prompt", "referenceImages"]]' \
	"the parameters reference images need, and no frame"
is "$(mock_since '[e["path"].split("/operations/")[0] for e in log if e["method"] == "GET" and "/operations/" in e["path"]][:1]')" \
	'["/gemini/v1beta/models/veo-3.1-generate-preview"]' "the operation is polled at its name, slashes and all"
is "$(mock_since '[e["status"] for e in log if ":download" in e["path"]]')" "[200]" \
	"the video is downloaded from the Gemini API, which wants the key for it"
is "$(outputs)" "succeeded 1" "and stored"
mock_mark
fails_with 64 "profile veo-3.1-reference takes reference images or a first frame, never both: --first-frame cannot go with the references of @mei, @kai" \
	"Veo with a first frame and references" troupe generate -p veo-3.1-reference --first-frame still.jpg "@mei.winter and @kai talk"
is "$(mock_since 'len(log)')" 0 "nothing reached the service"
mock_mark
check "veo with a first frame and a location only" gen -p veo-3.1-reference --first-frame still.jpg "dawn over @harbor"
is "$(posted :predictLongRunning '[sorted(body["instances"][0]), b64(body["instances"][0]["image"]["bytesBase64Encoded"]) == blobs[0]]')" \
	'[["image", "prompt"], true]' "the frame goes to image when no reference is sent"
mock_mode '{"mode": "task-fails", "service": "gemini"}'
gen -p veo-3.1-reference "@kai waves"
is "$?" 69 "an operation done with an error fails"
like "$(cat "$scratch/gen.err")" "blocked by the safety filters" "with the operation's message"

# ---- Vidu reference-to-video: subjects named @id ----
mock_mark
check "vidu-reference" gen -p vidu-reference "$cast"
is "$(posted /ent/v2/reference2video '[s["id"] for s in body["subjects"]]')" '["mei", "kai", "mirror", "harbor"]' \
	"one subject for each element"
is "$(posted /ent/v2/reference2video '[b64(s["images"][0]) == b and s["images"][0].startswith("data:image/jpeg;base64,") for s, b in zip(body["subjects"], blobs)]')" \
	"[true, true, true, true]" "each subject's image is the derivative logged, as a data URI"
is "$(posted /ent/v2/reference2video 'body["prompt"]')" "@mei and @kai hold @mirror on @harbor." \
	"the prompt names the subjects by their ids"
is "$(outputs)" "succeeded 1" "the video is stored"

# ---- MiniMax S2V: one character; the rest as text ----
mock_mark
check "minimax-video" gen -p minimax-video "@mei.winter holds @mirror on @harbor"
like "$(cat "$scratch/gen.err")" "carries a prop as text only: @mirror" "the prop as text"
is "$(posted /v1/video_generation '[len(body["subject_reference"]), body["subject_reference"][0]["type"], b64(body["subject_reference"][0]["image"][0]) == blobs[0]]')" \
	'[1, "character", true]' "one character subject, the logged derivative"
like "$(posted /v1/video_generation 'body["prompt"]')" "Hand mirror \\(bronze, sea-dragon handle\\) on Night harbor" \
	"the prop and the location described"

# ---- image services taking locations and props ----
mock_mark
check "runway with a location and a prop" gen -p runway-gen4-image "@mei holds @mirror on @harbor"
is "$(posted /v1/text_to_image '[[r["tag"], b64(r["uri"]) == b] for r, b in zip(body["referenceImages"], blobs)]')" \
	'[["mei", true], ["mirror", true], ["harbor", true]]' "runway: a tagged reference each"
mock_mark
check "openai with a location and a prop" gen -p openai-image-edit "@mei holds @mirror on @harbor"
is "$(mock_since '[e["body"].count("name=\"image[]\"") for e in log if e["path"].endswith("/images/edits")]')" "[3]" \
	"three image[] parts: the character, the prop and the location"
mock_mark
check "gemini with a location and a prop" gen -p gemini-image "@mei holds @mirror on @harbor"
is "$(posted :generateContent '[b64(p["inline_data"]["data"]) == b for p, b in zip(body["contents"][0]["parts"][1:], blobs)] + [len(body["contents"][0]["parts"])]')" \
	"[true, true, true, 4]" "gemini: the prompt and three inline pictures"
cat >workflow.json <<'EOF'
{"1": {"class_type": "LoadImage", "inputs": {"image": "x.png"}},
 "2": {"class_type": "LoadImage", "inputs": {"image": "x.png"}},
 "3": {"class_type": "LoadImage", "inputs": {"image": "x.png"}},
 "4": {"class_type": "CLIPTextEncode", "inputs": {"text": "@mei holds @mirror on @harbor"}},
 "5": {"class_type": "KSampler", "inputs": {"seed": 1, "positive": ["4", 0]}},
 "6": {"class_type": "SaveImage", "inputs": {"images": ["5", 0]}}}
EOF
mock_mark
check "comfyui with a location and a prop" gen -p comfyui --file workflow.json
is "$(mock_since 'len([e for e in log if e["path"].endswith("/upload/image") and e["status"] == 200])')" 3 \
	"comfyui: three uploads"
is "$(posted /prompt 'len(set(body["prompt"][n]["inputs"]["image"] for n in "123"))')" 3 \
	"each LoadImage node names its own upload"
like "$(posted /prompt 'body["prompt"]["4"]["inputs"]["text"]')" "Hand mirror \\(bronze, sea-dragon handle\\) on Night harbor" \
	"and the prompt describes the prop and the location"

# ---- a kind the service cannot take ----
mock_mark
fails_with 65 "@noir: profile gemini-image cannot carry a style \\(it takes character, location, prop\\)" \
	"a style through gemini-image" troupe generate -p gemini-image "@mei in @noir"
is "$(mock_since 'len(log)')" 0 "nothing reached the service"

done_testing
