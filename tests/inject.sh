#!/bin/sh
# troupe inject: every built-in profile puts the mentioned characters'
# references, description, seed and negative prompt where its service
# wants them, and changes nothing else in the request.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require vips sqlite3
. "$TEST_SRCDIR/mock-lib.sh"

# Upload profiles (PixVerse, ComfyUI) send references at inject time.
start_mock
export TROUPE_REF_BASE_URL=https://cdn.example.com/refs
hex='[0-9a-f]{32}'

troupe init >/dev/null
troupe character new mei --name Mei --describe "a cat in a study" \
	--negative "blurry, extra limbs" --seed 42 >/dev/null
troupe character new kai --name Kai --describe "a tall sailor" >/dev/null
troupe character new ghost --name Ghost >/dev/null
noise_png mei-face.png 400 500
noise_jpeg mei-winter.jpg 640 400
noise_png kai-face.png 360 360
noise_png prop.png 300 300
troupe add mei mei-face.png --role face >/dev/null       # asset 1
troupe add mei mei-winter.jpg --role sheet --tag look:winter >/dev/null # asset 2
troupe add kai kai-face.png --role face >/dev/null       # asset 3
troupe add ghost prop.png --role location >/dev/null     # asset 4: no role profiles use

inject() { troupe inject "$@" >"$scratch/.req" 2>"$scratch/.err"; }
req() { jsonv "$scratch/.req" "$1"; }
last_log() { troupe log --json --limit 1 >"$scratch/.log" && jsonv "$scratch/.log" "$1"; }

# ---- where profiles come from ----

check "the build-tree troupe finds the built-in profiles by itself" \
	env -u TROUPE_PROFILE_PATH "$TROUPE" profile list --json
like "$(cat .out)" '"name":[[:space:]]*"kling-image"' "kling-image among them"
like "$(cat .out)" "$(cd "$builtin_profiles" && pwd -P)/kling-image.json" "from the source tree's profiles/"
# A store may come from anyone: its profiles add services, never replace a
# built-in one, and send no key until the user trusts the file.
mkdir -p .troupe/profiles
sed 's/"max": 3/"max": 1/' "$builtin_profiles/runway-gen4-image.json" >.troupe/profiles/runway-gen4-image.json
check "a store profile with a built-in's name" troupe inject --profile runway-gen4-image "@mei meets @kai"
is "$(jsonv .out 'len(d["referenceImages"])')" 2 "does not replace the built-in one"
sed -e 's/"name": "runway-gen4-image"/"name": "runway-mine"/' \
	"$builtin_profiles/runway-gen4-image.json" >.troupe/profiles/runway-mine.json
fails_with 77 "profile runway-mine: it comes from the store (.*) and would send \\\$RUNWAYML_API_SECRET to" \
	"a store profile that sends a key is refused" troupe inject --profile runway-mine "@mei"
# Trust is the user's, recorded outside the store, and lapses when the file
# changes.
user_home=$HOME
HOME=$PWD/home
check "profile show of an untrusted store profile still works" troupe profile show runway-mine
check "profile trust" troupe profile trust runway-mine
like "$(cat .out)" "trusted runway-mine: .*runway-mine.json \(sha256 [0-9a-f]{64}\)" "says what it trusted"
like "$(cat home/.config/troupe/trusted-profiles)" "^[0-9a-f]{64} runway-mine " "recorded in the user's config"
check "a trusted store profile is used" troupe inject --profile runway-mine "@mei"
printf ' \n' >>.troupe/profiles/runway-mine.json
fails_with 77 "would send" "a changed file must be trusted again" troupe inject --profile runway-mine "@mei"
rm -r .troupe/profiles home
HOME=$user_home
# An installed troupe whose data directory is missing says where it looked.
mkdir -p elsewhere
cp "$TROUPE" elsewhere/troupe
fails_with 78 "profile: no profiles found \(looked in .*profiles\)" \
	"profile list with no profiles anywhere says where it looked" \
	env TROUPE_MODULE_DIR="$(dirname "$TROUPE")/.libs" elsewhere/troupe profile list
rm -r elsewhere

# ---- every built-in profile ----

check "profile validate accepts every built-in profile" \
	sh -c '"$TROUPE" profile validate "$0"/*.json' "$builtin_profiles"
troupe profile list --json >profiles.json
services="comfyui fal-flux-kontext gemini-image kling-image kling-video luma-image midjourney
midjourney-oref minimax-video openai-image-edit pixverse-video replicate-ideogram-character
runway-gen4-image"
is "$(jsonv profiles.json '[n for n in """'"$services"'""".split() if n not in [p["name"] for p in d]]')" \
	"[]" "a built-in profile for each of the thirteen service endpoints"
is "$(jsonv profiles.json '[p["name"] for p in d if p["name"] in """'"$services"'""".split() and not p["doc"].startswith("https://")]')" \
	"[]" "each cites an https page of its service's API reference"

prompt="@mei walks into the sea"
# The shot's still, where an image-to-video clip starts: never a character's sheet.
cp "$TEST_SRCDIR/data/photos/rocket.jpg" still.jpg

check "runway-gen4-image" inject --profile runway-gen4-image "$prompt"
is "$(req 'd["promptText"]')" "@mei walks into the sea" "runway: the mention stays a @tag"
is "$(req '[d["model"], d["ratio"], d["seed"]]')" '["gen4_image", "1920:1080", 42]' \
	"runway: template model and ratio, the character's seed"
is "$(req '[r["tag"] for r in d["referenceImages"]]')" '["mei"]' "runway: one reference, tagged mei"
like "$(req 'd["referenceImages"][0]["uri"][:40]')" '^data:image/jpeg;base64,/9j/' \
	"runway: the reference is a JPEG data URI"
is "$(req '"negative" in json.dumps(d) or "blurry" in json.dumps(d)')" false \
	"runway: no negative prompt (the profile has no place for one)"

check "kling-image" inject --profile kling-image "$prompt"
is "$(req 'd["prompt"]')" "Mei (a cat in a study) walks into the sea" \
	"kling-image: the mention becomes the name and description"
is "$(req '[d["model_name"], d["image_reference"], d["n"], d["aspect_ratio"]]')" \
	'["kling-v1-5", "subject", 1, "16:9"]' "kling-image: template fields"
like "$(req 'd["image"][:20]')" '^/9j/' "kling-image: raw base64 with no data: prefix"
size=$(req 'jpeg_size(b64(d["image"]))')
check "kling-image: the reference is a JPEG of at least 300 px ($size)" \
	test "$(echo "$size" | tr x '\n' | sort -n | head -1)" -ge 300
is "$(req '"negative_prompt" in d')" false \
	"kling-image: no negative_prompt (unsupported with an image)"

# kling-v1-5 needs image_reference with an image (the profile's models
# rule); a request's own value stays, and other models get none.
echo '{"model_name": "kling-v1-5", "prompt": "@mei"}' >kling-v15.json
check "kling-image: a kling-v1-5 request" inject --profile kling-image --file kling-v15.json
is "$(req 'd.get("image_reference")')" subject "kling-image: kling-v1-5 with an image gets image_reference"
echo '{"model_name": "kling-v1-5", "image_reference": "face", "prompt": "@mei"}' >kling-face.json
check "kling-image: a kling-v1-5 request with face" inject --profile kling-image --file kling-face.json
is "$(req 'd["image_reference"]')" face "kling-image: the request's image_reference stays"
echo '{"model_name": "kling-v2", "prompt": "@mei"}' >kling-v2.json
check "kling-image: a kling-v2 request" inject --profile kling-image --file kling-v2.json
is "$(req '"image_reference" in d')" false "kling-image: no image_reference for a model without the rule"

check "kling-video" inject --profile kling-video --first-frame still.jpg "$prompt"
is "$(req '[d["model_name"], d.get("mode"), d["duration"]]')" '["kling-v1-6", null, "5"]' \
	"kling-video: template fields (no mode: std, Kling's default, unless an end frame needs pro)"
is "$(req 'd["negative_prompt"]')" "blurry, extra limbs" "kling-video: negative_prompt"
like "$(req 'd["image"][:20]')" '^/9j/' "kling-video: raw base64 image"
still_asset=$(sqlite3 .troupe/troupe.db "SELECT id FROM assets WHERE source = 'still.jpg'")
is "$(last_log '[[r["asset"], r["tag"]] for r in d[0]["references"]]')" "[[$still_asset, \"first_frame\"]]" \
	"kling-video: the image is the still given as --first-frame, and nothing of mei's"
is "$(req 'd["prompt"]')" "Mei (a cat in a study) walks into the sea" \
	"kling-video: mei's likeness goes as text, since image2video takes no reference"
like "$(cat "$scratch/.err")" "carries a character as text only: @mei is described" \
	"kling-video: saying so"
fails_with 64 "profile kling-video starts the video from a picture: give --first-frame" \
	"kling-video without a start frame (a sheet is never used as one)" \
	inject --profile kling-video "$prompt"
check "kling-video with an end frame" \
	inject --profile kling-video --first-frame still.jpg --last-frame 2 "$prompt"
is "$(last_log '[[r["asset"], r["tag"]] for r in d[0]["references"]]')" \
	"[[$still_asset, \"first_frame\"], [2, \"last_frame\"]]" \
	"kling-video: --last-frame ASSET goes to image_tail, after the first frame"
like "$(req 'd["image_tail"][:20]')" '^/9j/' "kling-video: image_tail is raw base64"
fails_with 64 "profile pixverse-video takes no last frame" "a last frame a profile has no place for" \
	inject --profile pixverse-video --first-frame still.jpg --last-frame still.jpg "$prompt"
fails_with 64 "profile runway-gen4-image takes no first frame" "a first frame for an image profile" \
	inject --profile runway-gen4-image --first-frame still.jpg "$prompt"
fails_with 66 "--first-frame nothing.png: neither a file nor an asset" "a first frame that is nothing" \
	inject --profile kling-video --first-frame nothing.png "$prompt"
fails_with 64 "profile kling-video takes no references \(--ref\)" "--ref for a profile that takes none" \
	inject --profile kling-video --first-frame still.jpg --ref role:face "$prompt"

check "pixverse-video (uploads its first frame)" \
	inject --profile pixverse-video --first-frame still.jpg "$prompt"
is "$(req 'type(d.get("img_id")).__name__')" int \
	"pixverse-video: img_id is the integer the upload answered"
is "$(req '[d.get("model"), d.get("duration"), d.get("quality"), d.get("seed")]')" \
	'["v4.5", 5, "540p", 42]' "pixverse-video: template fields and seed"
is "$(req 'd.get("negative_prompt")')" "blurry, extra limbs" "pixverse-video: negative_prompt"

check "openai-image-edit" inject --profile openai-image-edit "$prompt"
is "$(req 'd')" '{"model": "gpt-image-1", "prompt": "Mei walks into the sea Mei: a cat in a study."}' \
	"openai-image-edit: the form fields, name and description in the prompt"

check "gemini-image" inject --profile gemini-image "$prompt"
is "$(req 'd["contents"][0]["parts"][0]')" \
	'{"text": "Mei walks into the sea Mei: a cat in a study."}' "gemini-image: the prompt part"
is "$(req 'd["contents"][0]["parts"][1]["inline_data"]["mime_type"]')" image/jpeg \
	"gemini-image: the reference as inline_data"
is "$(req 'b64(d["contents"][0]["parts"][1]["inline_data"]["data"])[:3].hex()')" ffd8ff \
	"gemini-image: inline_data.data is raw base64 of a JPEG"

check "replicate-ideogram-character" inject --profile replicate-ideogram-character "$prompt"
is "$(req '[d["input"]["prompt"], d["input"]["seed"], d["input"]["aspect_ratio"]]')" \
	'["Mei (a cat in a study) walks into the sea", 42, "16:9"]' "replicate: input.prompt and seed"
like "$(req 'd["input"]["character_reference_image"][:30]')" '^data:image/jpeg;base64,' \
	"replicate: character_reference_image is a data URI"
is "$(req 'len(d["input"]["character_reference_image"]) * 3 // 4 < 1000000')" true \
	"replicate: the data URI stays under 1 MB"

check "fal-flux-kontext" inject --profile fal-flux-kontext "$prompt"
is "$(req '[d["prompt"], d["seed"], d["output_format"]]')" \
	'["Mei (a cat in a study) walks into the sea", 42, "jpeg"]' "fal: prompt, seed, template"
like "$(req 'd["image_url"][:30]')" '^data:image/jpeg;base64,' "fal: image_url is a data URI"

check "luma-image" inject --profile luma-image "$prompt"
like "$(req '" ".join(d["character_ref"]["identity0"]["images"])')" \
	"^https://cdn\.example\.com/refs/$hex\.jpg https://cdn\.example\.com/refs/$hex\.jpg$" \
	"luma: both of Mei's references as published URLs in identity0"
is "$(req '[d["model"], d["aspect_ratio"], d["prompt"]]')" \
	'["photon-1", "16:9", "Mei (a cat in a study) walks into the sea"]' "luma: template and prompt"
url_hash=$(req 'd["character_ref"]["identity0"]["images"][0].split("/")[-1][:32]')
check "luma: the URL names a derivative in the store (to publish)" \
	test -f ".troupe/objects/$(echo "$url_hash" | cut -c1-2)/$(echo "$url_hash" | cut -c3-)"

check "minimax-video" inject --profile minimax-video "$prompt"
is "$(req '[d["model"], d["subject_reference"][0]["type"], len(d["subject_reference"][0]["image"])]')" \
	'["S2V-01", "character", 1]' "minimax: one character subject"
like "$(req 'd["subject_reference"][0]["image"][0][:30]')" '^data:image/jpeg;base64,' \
	"minimax: the image is a data URI"

# The shared workflow with two people in its prompt and a second LoadImage
# node, so that each node gets one reference.
python3 - "$TEST_SRCDIR/data/comfyui-workflow.json" >workflow.json <<'EOF'
import json, sys
w = json.load(open(sys.argv[1]))
w["6"]["inputs"]["text"] = "@mei and @kai on deck"
w["10"]["inputs"]["image"] = "first.png"
w["11"] = {"class_type": "LoadImage", "inputs": {"image": "second.png"}}
json.dump(w, sys.stdout)
EOF
check "comfyui (a workflow, references uploaded)" inject --profile comfyui --workflow workflow.json
is "$(req 'd["6"]["inputs"]["text"]')" "Mei (a cat in a study) and Kai (a tall sailor) on deck" \
	"comfyui: the first CLIPTextEncode gets the prompt"
is "$(req 'd["7"]["inputs"]["text"]')" "watermark, blurry, extra limbs" \
	"comfyui: the sampler's negative node gets Mei's negative prompt"
is "$(req 'd["3"]["inputs"]["seed"]')" 42 "comfyui: KSampler gets Mei's seed"
is "$(req '[d["10"]["inputs"]["image"] != "first.png", d["11"]["inputs"]["image"] != "second.png"]')" \
	"[true, true]" "comfyui: each LoadImage node gets one uploaded reference (spread)"
is "$(mock_eval 'len([e for e in log if e["path"] == "/comfyui/upload/image" and e["status"] == 200])')" 2 \
	"comfyui: two references uploaded"
is "$(req 'sorted(d)')" '["10", "11", "3", "4", "5", "6", "7", "8", "9"]' \
	"comfyui: inject prints the workflow itself, not the /prompt wrapper"
fails_with 64 "fills a request you give it" "comfyui: a bare prompt is refused (needs a workflow)" \
	troupe inject --profile comfyui "$prompt"
# A workflow as ComfyUI saves it: the negative node has the lower id, and
# the sampler holds a seed of its own. The sampler's links decide.
wf="$TEST_SRCDIR/data/comfyui-workflow-negative-first.json"
check "comfyui: negative node first" inject --profile comfyui --workflow "$wf"
is "$(req '[d["7"]["inputs"]["text"], d["6"]["inputs"]["text"]]')" \
	'["Mei (a cat in a study) reads by the window", "text, watermark, blurry, extra limbs"]' \
	"comfyui: the prompt goes to the sampler's positive node, negatives to its negative"
is "$(req 'd["10"]["inputs"]["image"] != "example.png"')" true "comfyui: the LoadImage node gets Mei"
is "$(req 'd["3"]["inputs"]["seed"]')" 42 "comfyui: Mei's seed replaces the workflow's"
is "$(last_log '[r["asset"] for r in d[0]["references"]]')" '[1]' "comfyui: the reference is logged"
check "comfyui --keep-seed" inject --profile comfyui --keep-seed --workflow "$wf"
is "$(req 'd["3"]["inputs"]["seed"]')" 156680208700286 "comfyui: --keep-seed keeps the workflow's seed"
# The custom sampler: conditioning through a guider, the seed in a noise
# node, a ControlNet between the text and the guider.
python3 - "$wf" >custom.json <<'EOF'
import json, sys
w = json.load(open(sys.argv[1]))
w["3"] = {"class_type": "SamplerCustomAdvanced", "inputs": {"noise": ["11", 0],
          "guider": ["12", 0], "sampler": ["13", 0], "sigmas": ["14", 0], "latent_image": ["5", 0]}}
w["11"] = {"class_type": "RandomNoise", "inputs": {"noise_seed": 7}}
w["12"] = {"class_type": "CFGGuider", "inputs": {"model": ["4", 0], "positive": ["15", 0],
           "negative": ["6", 0], "cfg": 8}}
w["15"] = {"class_type": "ControlNetApply", "inputs": {"conditioning": ["7", 0],
           "control_net": ["16", 0], "image": ["10", 0], "strength": 1}}
w["16"] = {"class_type": "ControlNetLoader", "inputs": {"control_net_name": "pose.safetensors"}}
json.dump(w, sys.stdout)
EOF
check "comfyui: SamplerCustomAdvanced" inject --profile comfyui --workflow custom.json
is "$(req '[d["7"]["inputs"]["text"][:3], d["6"]["inputs"]["text"], d["11"]["inputs"]["noise_seed"]]')" \
	'["Mei", "text, watermark, blurry, extra limbs", 42]' \
	"comfyui: through the guider and the ControlNet to the text nodes; the noise node's seed"
python3 -c 'import json,sys; w=json.load(open(sys.argv[1])); del w["3"]; json.dump(w, sys.stdout)' \
	"$wf" >nosampler.json
fails_with 65 "the workflow has no sampler \(a node of type KSampler, " \
	"comfyui: a workflow without a sampler is refused, naming why" \
	troupe inject --profile comfyui --workflow nosampler.json
python3 -c 'import json,sys; w=json.load(open(sys.argv[1])); w["3"]["inputs"]["positive"]=["5", 0]; json.dump(w, sys.stdout)' \
	"$wf" >notext.json
fails_with 65 "no sampler's /inputs/positive input leads to a text node" \
	"comfyui: a sampler whose positive input leads to no text is refused" \
	troupe inject --profile comfyui --workflow notext.json

check "midjourney" inject --profile midjourney "$prompt"
like "$(cat "$scratch/.req")" "^Mei \(a cat in a study\) walks into the sea --cref https://cdn\.example\.com/refs/$hex\.jpg https://cdn\.example\.com/refs/$hex\.jpg --cw 100 --seed 42 --no blurry, extra limbs$" \
	"midjourney: --cref URLs, --cw 100, --seed, --no"
check "midjourney-oref" inject --profile midjourney-oref "$prompt"
like "$(cat "$scratch/.req")" "^Mei \(a cat in a study\) walks into the sea --oref https://cdn\.example\.com/refs/$hex\.jpg --ow 100 --seed 42 --no blurry, extra limbs$" \
	"midjourney-oref: one --oref URL, --ow 100"
check "midjourney --json" troupe inject --profile midjourney --json "$prompt"
like "$(jsonv .out 'd["prompt"]')" ' --cref https://' "the text comes as {\"prompt\": ...} with --json"

# ---- mentions, negative prompts, seeds ----

check "two characters" inject --profile runway-gen4-image "@mei meets @kai"
is "$(req '[d["promptText"], [r["tag"] for r in d["referenceImages"]]]')" \
	'["@mei meets @kai", ["mei", "kai"]]' "one reference for each, tagged by slug"
check "two characters, a profile that takes one reference" \
	inject --profile kling-image "@mei meets @kai"
is "$(cat "$scratch/.err")" "troupe: warning: profile kling-image takes 1 reference: no image of @kai is sent (left out #3 face)" \
	"the character left without an image is named, with the reference left out"
is "$(last_log '[r["tag"] for r in d[0]["references"]]')" '["mei"]' "only mei's reference is sent"
python3 -c 'import json,sys; w=json.load(open(sys.argv[1])); w["6"]["inputs"]["text"]="@mei and @kai"; json.dump(w, sys.stdout)' \
	"$TEST_SRCDIR/data/comfyui-workflow.json" >one-node.json
check "a workflow with fewer LoadImage nodes than characters" \
	inject --profile comfyui --workflow one-node.json
like "$(cat "$scratch/.err")" "profile comfyui takes 1 reference: no image of @kai is sent" \
	"comfyui: the character with no LoadImage node is named"
check "mention: name" inject --profile openai-image-edit "@kai waves; mail kai@example.com"
is "$(req 'd["prompt"]')" "Kai waves; mail kai@example.com Kai: a tall sailor." \
	"name mention; an e-mail address is not a mention"
check "mention: description" inject --profile kling-video --first-frame still.jpg "@kai and @mei."
is "$(req 'd["prompt"]')" "Kai (a tall sailor) and Mei (a cat in a study)." "description mention"

check "@slug:look" inject --profile runway-gen4-image "@mei:winter in the snow"
is "$(req 'd["promptText"]')" "@mei in the snow" "the look is dropped from the prompt"
is "$(last_log '[r["asset"] for r in d[0]["references"]]')" '[2]' \
	"the reference is the asset tagged look:winter"
check "--ref picks the references" inject --profile runway-gen4-image --ref 'role:sheet' "$prompt"
is "$(last_log '[r["asset"] for r in d[0]["references"]]')" '[2]' "--ref role:sheet chose asset 2"
is "$(req '[d["promptText"], [r["tag"] for r in d["referenceImages"]]]')" \
	'["@mei walks into the sea", ["mei"]]' \
	"--ref: a mentioned character's reference carries her tag, as the prompt does"
check "--ref of a character the prompt does not mention" \
	inject --profile runway-gen4-image --ref 'character:kai' "$prompt"
is "$(req '[r["tag"] for r in d["referenceImages"]]')" '["ref1"]' \
	"--ref: a reference of no mentioned character is ref1"

cat >kling-video.json <<'EOF'
{"model_name": "kling-v2-master", "prompt": "@mei sleeps", "negative_prompt": "low quality",
 "cfg_scale": 0.5, "mode": "pro", "duration": "10", "camera_control": {"type": "simple",
 "config": {"zoom": 5}}, "callback_url": "https://example.com/hook"}
EOF
check "a request with its own negative prompt" \
	inject --profile kling-video --first-frame still.jpg --file kling-video.json
is "$(req 'd["negative_prompt"]')" "low quality, blurry, extra limbs" \
	"the character's negative prompt is appended to the request's"
is "$(jsonv kling-video.json 'sorted(d)')" "$(req 'sorted(k for k in d if k != "image")')" \
	"no field is added but the first frame"
is "$(python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2]))
for k in ("prompt", "negative_prompt", "image"): a.pop(k, None); b.pop(k, None)
print(a == b)' kling-video.json "$scratch/.req")" True \
	"every other field is passed through unchanged (model, mode, duration, camera_control...)"

cat >runway.json <<'EOF'
{"promptText": "@kai at dawn", "model": "gen4_image_turbo", "ratio": "1080:1920", "seed": 7,
 "contentModeration": {"publicFigureThreshold": "low"}, "extra": [1, {"a": null}, "@mei"]}
EOF
check "a request with its own seed" inject --profile runway-gen4-image --file runway.json
is "$(req 'd["seed"]')" 7 "the request's seed wins"
is "$(python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2]))
b.pop("referenceImages"); print(a == b)' runway.json "$scratch/.req")" True \
	"nothing else in the request changes (not even an @mei inside another field)"
check "the request from standard input" sh -c '"$TROUPE" inject --profile runway-gen4-image <runway.json'
is "$(jsonv .out 'd["seed"]')" 7 "stdin works as --file"
check "a seedless character leaves the seed out" inject --profile fal-flux-kontext "@kai rows"
is "$(req '"seed" in d')" false "no seed when no mentioned character has one"
check "--aspect" inject --profile replicate-ideogram-character --aspect 9:16 "$prompt"
is "$(req 'd["input"]["aspect_ratio"]')" "9:16" "--aspect goes where the profile says"

# ---- the derivative cache and the log ----

check "first injection (cold)" inject --profile kling-image "@kai"
objects=$(count_objects)
derived=$(sqlite3 .troupe/troupe.db 'SELECT count(*) FROM derivatives')
first=$(req 'd["image"]')
check "the same injection again (warm)" inject --profile kling-image "@kai"
is "$(count_objects)" "$objects" "a warm injection stores nothing new"
is "$(sqlite3 .troupe/troupe.db 'SELECT count(*) FROM derivatives')" "$derived" \
	"and makes no new derivative"
is "$(req 'd["image"]')" "$first" "and sends the same bytes"

check "log after a data-URI injection" inject --profile runway-gen4-image "$prompt"
cp "$scratch/.req" "$scratch/runway.req"
troupe log --json --limit 1 >log.json
like "$(jsonv log.json 'd[0]["request"]["referenceImages"][0]["uri"]')" "^blob:$hex$" \
	"the logged request has blob:HASH instead of the data URI"
blob=$(jsonv log.json 'd[0]["request"]["referenceImages"][0]["uri"][5:]')
check "blob:HASH names the derivative that was sent" \
	test -f ".troupe/objects/$(echo "$blob" | cut -c1-2)/$(echo "$blob" | cut -c3-)"
is "$(jsonv log.json '[d[0]["kind"], d[0]["status"], d[0]["profile"], d[0]["characters"]]')" \
	'["inject", "injected", "runway-gen4-image", ["mei"]]' "the log row says what was injected"
like "$(jsonv log.json '"#%s %s %s" % tuple(d[0]["references"][0][k] for k in ("asset", "hash", "tag"))')" "^#1 $hex mei$" "and which asset, as which tag"
is "$(jsonv log.json 'd[0]["references"][0]["sent"]')" "$blob" \
	"and the hash of the derivative sent, the blob named in the request"
check "log after a raw base64 injection" inject --profile kling-image "$prompt"
like "$(last_log 'd[0]["request"]["image"]')" "^blob:$hex$" "raw base64 is replaced too"
check "no base64 payload is kept in the index" \
	sh -c '! sqlite3 .troupe/troupe.db "SELECT request FROM requests" | grep -q "/9j/"'
# Into a pipe the payload is encoded while it is written: it must be the
# base64 of exactly the derivative the log names, byte for byte.
sent=$(last_log 'd[0]["request"]["image"][5:]')
check "the streamed payload is the derivative's bytes" python3 -c '
import base64, json, sys
d = json.load(open(sys.argv[1]))
blob = open(sys.argv[2], "rb").read()
sys.exit(0 if base64.b64decode(d["image"], validate=True) == blob else 1)' \
	"$scratch/.req" ".troupe/objects/$(echo "$sent" | cut -c1-2)/$(echo "$sent" | cut -c3-)"
check "and a data URI's too" python3 -c '
import base64, json, sys
d = json.load(open(sys.argv[1]))
uri = d["referenceImages"][0]["uri"]
assert uri.startswith("data:image/jpeg;base64,")
blob = open(sys.argv[2], "rb").read()
sys.exit(0 if base64.b64decode(uri[23:], validate=True) == blob else 1)' \
	"$scratch/runway.req" ".troupe/objects/$(echo "$blob" | cut -c1-2)/$(echo "$blob" | cut -c3-)"

# ---- previews: inject --dry-run sends nothing ----

# Upload profiles send references at inject time; a preview does not,
# needs no key, and marks the upload's place as upload:HASH.
mock_mark
rows=$(sqlite3 .troupe/troupe.db 'SELECT count(*) FROM requests')
check "pixverse-video --dry-run without a key" \
	env -u PIXVERSE_API_KEY "$TROUPE" inject --profile pixverse-video --dry-run \
	--first-frame still.jpg "$prompt"
like "$(jsonv .out 'd["img_id"]')" "^upload:$hex$" "pixverse --dry-run: the upload's place says upload:HASH"
upload_hash=$(jsonv .out 'd["img_id"][7:]')
check "upload:HASH names the derivative that would be uploaded" \
	test -f ".troupe/objects/$(echo "$upload_hash" | cut -c1-2)/$(echo "$upload_hash" | cut -c3-)"
is "$(mock_since 'len(log)')" 0 "--dry-run: nothing reached the service"
is "$(last_log '[d[0]["kind"], d[0]["status"], d[0]["profile"]]')" '["inject", "preview", "pixverse-video"]' \
	"--dry-run: the log row is marked as a preview"
check "comfyui --preview" inject --profile comfyui --preview --workflow workflow.json
is "$(req '[d["10"]["inputs"]["image"][:7], d["11"]["inputs"]["image"][:7]]')" '["upload:", "upload:"]' \
	"comfyui --preview: each LoadImage node holds upload:HASH"
is "$(mock_since 'len(log)')" 0 "--preview: nothing reached ComfyUI"
check "log --no-previews" troupe log --json --no-previews
is "$(jsonv .out '[e["status"] for e in d if e["status"] == "preview"]')" "[]" "log --no-previews leaves them out"
is "$(jsonv .out 'len(d)')" "$rows" "and keeps every other request"
check "log lists previews by default" troupe log --json --limit 2
is "$(jsonv .out '[e["status"] for e in d]')" '["preview", "preview"]' "log shows them without --no-previews"
rows=$(sqlite3 .troupe/troupe.db 'SELECT count(*) FROM requests')
check "inject --no-log" inject --profile runway-gen4-image --no-log "$prompt"
is "$(sqlite3 .troupe/troupe.db 'SELECT count(*) FROM requests')" "$rows" "--no-log records nothing"
check "inject --dry-run --no-log" inject --profile kling-image --dry-run --no-log "$prompt"
is "$(sqlite3 .troupe/troupe.db 'SELECT count(*) FROM requests')" "$rows" "nor with --dry-run"
fails_with 64 "--dry-run and --no-log are inject's" "generate --dry-run is refused" \
	troupe generate --profile kling-image --dry-run "$prompt"

# ---- bad input: a clear error and a store left as it was ----

fails_with 66 "nosuch: unknown profile" "unknown profile" troupe inject --profile nosuch "$prompt"
fails_with 64 "a profile name is" "a profile name with a slash" \
	troupe inject --profile ../etc/passwd "$prompt"
# Profiles broken in four ways, shared with tests/unit/test-profile.c.
mkdir bad-profiles
cp "$TEST_SRCDIR"/data/bad-profiles/*.json bad-profiles/
fails_with 65 "broken.json: references.encoding: \"carrier-pigeon\" is not one of" \
	"a broken profile: the error names the field" \
	env TROUPE_PROFILE_PATH="$PWD/bad-profiles" "$TROUPE" inject --profile broken "$prompt"
fails_with 65 "truncated.json: not valid JSON" "a profile that is not JSON" \
	env TROUPE_PROFILE_PATH="$PWD/bad-profiles" "$TROUPE" inject --profile truncated "$prompt"
fails_with 65 "noprompt.json: prompt: missing" "a profile without a prompt pointer" \
	env TROUPE_PROFILE_PATH="$PWD/bad-profiles" "$TROUPE" inject --profile noprompt "$prompt"
fails_with 65 "renamed.json: name: \"other\" does not match the file name" \
	"a profile whose name is not its file's" \
	env TROUPE_PROFILE_PATH="$PWD/bad-profiles" "$TROUPE" inject --profile renamed "$prompt"
fails_with 65 "broken.json: references.encoding" "profile validate names the field too" \
	troupe profile validate bad-profiles/broken.json
# Numbers beyond what a field can hold are refused, not converted (a
# double out of int's range is undefined behaviour in C).
for huge in 1e100 -1e100 2147483648 1.5; do
	sed "s/\"max\": 3/\"max\": $huge/" "$builtin_profiles/runway-gen4-image.json" \
		>bad-profiles/huge.json
	fails_with 65 "huge.json: references.max: must be a whole number" \
		"a profile with references.max $huge is refused" troupe profile validate bad-profiles/huge.json
done
sed 's/"max_side": [0-9]*/"max_side": 1e100/' "$builtin_profiles/kling-image.json" >bad-profiles/huge.json
fails_with 65 "huge.json: references.limits.max_side: must be a whole number" \
	"a profile with max_side 1e100 is refused" troupe profile validate bad-profiles/huge.json
rm -f bad-profiles/huge.json
# Frames: each slot needs a pointer, never the references' own, and only
# a JSON request has a place for them.
frames_variant() {
	python3 - "$builtin_profiles/$1.json" "bad-profiles/$2.json" "$3" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["name"] = sys.argv[2].split("/")[-1][:-5]
exec(sys.argv[3])
json.dump(p, open(sys.argv[2], "w"))
PY
}
frames_variant kling-video noslot 'p["frames"] = {"doc": "x"}'
fails_with 65 "noslot.json: frames: needs first or last" "a frames section with no slot" \
	troupe profile validate bad-profiles/noslot.json
frames_variant kling-video nopointer 'p["frames"]["last"] = {"required": True}'
fails_with 65 "nopointer.json: frames.last.pointer: missing" "a frame slot without a pointer" \
	troupe profile validate bad-profiles/nopointer.json
frames_variant kling-image sameplace 'p["frames"] = {"first": {"pointer": "/image"}}'
fails_with 65 "sameplace.json: frames: a frame cannot go where the references go" \
	"a frame where the references go" troupe profile validate bad-profiles/sameplace.json
frames_variant midjourney textframes 'p["frames"] = {"first": {"pointer": "/image"}}'
fails_with 65 "textframes.json: frames: only a JSON request body takes frames" \
	"frames in a text profile" troupe profile validate bad-profiles/textframes.json
rm -f bad-profiles/noslot.json bad-profiles/nopointer.json bad-profiles/sameplace.json \
	bad-profiles/textframes.json
cp "$builtin_profiles/runway-gen4-image.json" bad-profiles/
sed 's/"max": 3/"max": 1/' bad-profiles/runway-gen4-image.json >bad-profiles/r.json &&
	mv bad-profiles/r.json bad-profiles/runway-gen4-image.json
check "a profile earlier in TROUPE_PROFILE_PATH overrides the built-in one" \
	env TROUPE_PROFILE_PATH="$PWD/bad-profiles" "$TROUPE" inject \
	--profile runway-gen4-image "@mei meets @kai"
is "$(jsonv .out 'len(d["referenceImages"])')" 1 "its max of 1 applies"

fails_with 65 "@nobody: unknown character" "a mention of an unknown character" \
	troupe inject --profile runway-gen4-image "@mei meets @nobody"
fails_with 65 "not valid JSON" "a request that is not JSON" \
	sh -c 'printf "{\"promptText\": \"@mei\"," | "$TROUPE" inject --profile runway-gen4-image'
fails_with 65 "not a JSON object" "a JSON request that is not an object" \
	sh -c 'printf "[\"@mei\"]" | "$TROUPE" inject --profile runway-gen4-image'
fails_with 65 "no prompt text at /promptText" "a request without the prompt field" \
	sh -c 'printf "{\"text\": \"@mei\"}" | "$TROUPE" inject --profile runway-gen4-image'
fails_with 65 "@ghost: no references this profile can use" \
	"a character with no references the profile can use" \
	troupe inject --profile runway-gen4-image "@ghost haunts"
fails_with 65 "@mei:summer: no references" "a look with no references" \
	troupe inject --profile runway-gen4-image "@mei:summer at the beach"
fails_with 65 "--ref role:prop: no assets match" "--ref that selects nothing" \
	troupe inject --profile runway-gen4-image --ref role:prop "$prompt"
fails_with 78 "TROUPE_REF_BASE_URL" "URL references without a published base" \
	env -u TROUPE_REF_BASE_URL "$TROUPE" inject --profile midjourney "$prompt"
fails_with 64 "which service" "no --profile" troupe inject "$prompt"
fails_with 65 "the request is empty" "an empty request" \
	sh -c 'printf "" | "$TROUPE" inject --profile runway-gen4-image'

# A profile's service is text for a terminal: validate prints it escaped.
mkdir -p evil-profiles
sed 's/"service": "[^"]*"/"service": "K\\u001b]0;pwned\\u0007"/' \
	"$builtin_profiles/kling-image.json" >evil-profiles/kling-image.json
check "validate a profile whose service holds an escape sequence" \
	troupe profile validate evil-profiles/kling-image.json
cp .out validate.out
check "validate prints no control character" \
	sh -c '! LC_ALL=C grep -q "$(printf "[\001-\011\013-\037\177]")" validate.out'
like "$(cat validate.out)" 'K\\x1b\]0;pwned\\x07' "validate prints the service escaped"

done_testing
