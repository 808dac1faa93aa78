#!/bin/sh
# Locations, props and styles beside characters, and characters' looks:
# registered, listed, queried and mentioned like characters, through the
# real binary and a real store; every refusal leaves the store as it was.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require vips sqlite3
. "$TEST_SRCDIR/mock-lib.sh"

export TROUPE_REF_BASE_URL=https://cdn.example.com/refs
troupe init >/dev/null
troupe character new mei --name Mei --describe "a cat in a study" --negative "blurry" >/dev/null

# ---- each kind is registered, listed, shown, edited and removed ----

check "location new" troupe location new harbor --name "Night harbor" \
	--describe "wet cobblestones, sodium lamps, fog"
is "$(cat .out)" "created location harbor (Night harbor)" "says what it made"
check "prop new" troupe prop new mirror --describe "bronze hand mirror, sea-dragon handle"
check "style new" troupe style new noir --describe "high-contrast black and white"
check "location show" troupe location show harbor
like "$(cat .out)" "kind +location" "show names the kind"
check "prop show --json" troupe prop show mirror --json
is "$(jsonv .out 'd["kind"]')" prop "the JSON has the kind"
is "$(troupe character list --json | python3 -c 'import json,sys; print(" ".join(c["slug"] for c in json.load(sys.stdin)))')" \
	mei "character list shows characters only"
is "$(troupe location list | awk 'NR > 1 { print $1 }')" harbor "location list shows locations only"
is "$(troupe style list --json | python3 -c 'import json,sys; print(" ".join(c["kind"] for c in json.load(sys.stdin)))')" \
	style "style list --json"
check "location edit" troupe location edit harbor --describe "wet cobblestones, fog" --tag act:one
is "$(troupe location show harbor --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["description"])')" \
	"wet cobblestones, fog" "the description changed"
check "style rm" troupe style rm noir
is "$(cat .out)" "removed style noir" "says what it removed"
check "style new again" troupe style new noir --describe "high-contrast black and white"

# ---- one slug names one element ----

fails_with 65 "harbor: a location with this slug already exists" \
	"the same slug as a prop is refused" troupe prop new harbor
fails_with 65 "mei: a character with this slug already exists" \
	"the same slug as a location is refused" troupe location new mei
fails_with 65 "mirror: a prop with this slug already exists" \
	"renaming onto another kind's slug is refused" troupe location edit harbor --slug mirror
fails_with 65 "harbor is a location, not a character" \
	"character show of a location" troupe character show harbor
fails_with 65 "mei is a character, not a prop" "prop rm of a character" troupe prop rm mei
fails_with 66 "dock: unknown location" "an unknown location" troupe location show dock
fails_with 64 "'fly' is not a prop subcommand" "an unknown subcommand" troupe prop fly

# ---- assets of any element, and the kind: query field ----

noise_png mei-face.png 300 360
noise_jpeg harbor-wide.jpg 640 360
noise_jpeg harbor-pier.jpg 480 360
noise_png mirror.png 200 200
noise_png noir.png 200 200
troupe add mei mei-face.png --role face >/dev/null       # asset 1
check "add to a location" troupe add harbor harbor-wide.jpg harbor-pier.jpg --role location
troupe add mirror mirror.png --role prop >/dev/null      # asset 4
troupe add noir noir.png --role reference >/dev/null     # asset 5
is "$(troupe query kind:location --count)" 2 "kind:location selects the location's assets"
is "$(troupe query 'kind:prop OR kind:style' --count)" 2 "kind: in an OR"
is "$(troupe query --count -- '-kind:character')" 4 "-kind:character"
is "$(troupe query 'kind:character role:face' --count)" 1 "kind: with a role"
fails_with 64 "kind:place is not a kind" "a kind that does not exist" troupe query kind:place
fails_with 65 "the namespace 'kind' is a query field" "kind: is not a tag namespace" \
	troupe tag 1 +kind:hero

# ---- mentions of each kind ----

inject() { troupe inject "$@" >"$scratch/.req" 2>"$scratch/.err"; }
req() { jsonv "$scratch/.req" "$1"; }
check "inject a character, a location and a prop (runway)" \
	inject --profile runway-gen4-image --dry-run "@mei holds @mirror on @harbor"
is "$(req 'd["promptText"]')" "@mei holds @mirror on @harbor" "the mentions stay tags"
is "$(req '" ".join(r["tag"] for r in d["referenceImages"])')" "mei mirror harbor" \
	"one reference each, in the order of mention"
check "a style through runway" inject --profile runway-gen4-image --dry-run "@mei in @noir"
is "$(req 'len(d["referenceImages"])')" 2 "the style's reference is sent"
check "a location through openai-image-edit" \
	inject --profile openai-image-edit --dry-run "@mei walks along @harbor"
like "$(req 'd["prompt"]')" "Night harbor: wet cobblestones, fog\\." "the location is described"
fails_with 65 "@noir: profile openai-image-edit cannot carry a style \\(it takes character, location, prop\\)" \
	"a kind the profile cannot carry" troupe inject --profile openai-image-edit "@mei in @noir"
fails_with 65 "@harbor: profile kling-image cannot carry a location \\(it takes character\\)" \
	"a profile that takes characters only" troupe inject --profile kling-image "@mei on @harbor"
check "a location as text only (midjourney)" inject --profile midjourney "@mei on @harbor"
like "$(cat "$scratch/.req")" "Night harbor \\(wet cobblestones, fog\\)" "described in the prompt"
like "$(cat "$scratch/.err")" "profile midjourney carries a location as text only: @harbor is described" \
	"a warning says no image of it is sent"

# ---- looks ----

noise_jpeg coat-front.jpg 400 600
noise_jpeg coat-back.jpg 400 600
check "look new" troupe look new mei winter --describe "long red wool coat, knitted grey hat" \
	--negative "bare arms"
is "$(cat .out)" "created look mei.winter" "says what it made"
fails_with 65 "mei already has a look 'winter'" "the same look twice" troupe look new mei winter
fails_with 65 "harbor is a location, not a character" "a location has no looks" \
	troupe look new harbor night
fails_with 65 "look: 'Winter!': a slug is lower-case" "a bad look name" troupe look new mei 'Winter!'
fails_with 66 "mei has no look 'summer'" "add --look of an unknown look" \
	troupe add mei coat-front.jpg --look summer --role costume
check "add --look" troupe add mei coat-front.jpg coat-back.jpg --look winter --role costume
is "$(troupe query 'look:winter character:mei' --count)" 2 "look: selects the look's assets"
is "$(troupe query 'look:winter' --json | python3 -c 'import json,sys; print(" ".join(sorted(set(t for a in json.load(sys.stdin) for t in a["tags"]))))')" \
	"look:winter" "the look's tag is exactly look:NAME"
check "look show" troupe look show mei winter
like "$(cat .out)" "assets +2 \\(tagged look:winter\\)" "show counts its assets"
check "look list" troupe look list mei
like "$(cat .out)" "mei +winter +2 +long red wool coat" "list"

check "@mei.winter" inject --profile runway-gen4-image --dry-run "@mei.winter stands on @harbor."
is "$(req 'd["promptText"]')" "@mei stands on @harbor." "the look form becomes the tag; the period stays"
is "$(req '" ".join(r["tag"] for r in d["referenceImages"])')" "mei harbor" "one reference each"
troupe log --json --limit 1 >"$scratch/.log"
is "$(jsonv "$scratch/.log" 'd[0]["references"][0]["asset"]')" 6 "Mei's is the look's costume (asset 6)"
check "the look's description after the character's" \
	inject --profile openai-image-edit --dry-run "@mei.winter at the window"
like "$(req 'd["prompt"]')" "Mei: a cat in a study, long red wool coat, knitted grey hat\\." \
	"look described after the character"
check "costume and face together" troupe inject --profile gemini-image --dry-run "@mei.winter"
check "@mei. ends a sentence" inject --profile openai-image-edit --dry-run "It is @mei. She waits"
like "$(req 'd["prompt"]')" "^It is Mei\\. She waits Mei: a cat in a study\\.$" \
	"'@mei.' is @mei with no look"
fails_with 65 "@mei.summer: no references: mei has no look 'summer' \\(an unknown look" \
	"an unknown look is an error naming it" troupe inject --profile runway-gen4-image "@mei.summer"
fails_with 65 "@harbor.night: a location has no looks" "a look of a location" \
	troupe inject --profile runway-gen4-image "@harbor.night"
check "look rm" troupe look rm mei winter
like "$(cat .out)" "removed look mei.winter \\(2 assets keep the tag look:winter\\)" "its assets stay"
fails_with 66 "mei has no look 'winter'" "look show after rm" troupe look show mei winter

done_testing
