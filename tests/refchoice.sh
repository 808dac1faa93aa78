#!/bin/sh
# Choosing references under a limit: a profile with two slots (and one
# for a location) and real pictures in a real store. Fair spread, which
# references go and which are named as left out, --no-drop, --ref, a
# kind's own max, and the medoid by the real face service's vectors.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require vips sqlite3 python3
. "$TEST_SRCDIR/mock-lib.sh"

export TROUPE_PROFILE_PATH=$TEST_SRCDIR/data/profiles
export TROUPE_REF_BASE_URL=https://cdn.example.com/refs
photos=$TEST_SRCDIR/data/photos
johns=$TEST_SRCDIR/data/johns

inject() { troupe inject "$@" >"$scratch/.req" 2>"$scratch/.err"; }
sent() { troupe log --json --limit 1 | python3 -c 'import json,sys; print(" ".join(str(r["asset"]) for r in json.load(sys.stdin)[0]["references"]))'; }
sent_tags() { python3 -c 'import json,sys; print(" ".join(r["tag"] for r in json.load(open(sys.argv[1]))["referenceImages"]))' "$scratch/.req"; }

troupe init >/dev/null
troupe character new mei --name Mei --describe "a cat in a study" >/dev/null
troupe character new kai --name Kai --describe "a tall sailor" >/dev/null
troupe location new harbor --name "Night harbor" --describe "wet cobblestones" >/dev/null
troupe location new pier --describe "a wooden pier" >/dev/null
troupe prop new mirror --describe "a bronze hand mirror" >/dev/null
troupe add mei "$photos/chelsea.jpg" --role sheet >/dev/null             # 1
troupe add mei "$photos/astronaut.jpg" "$photos/camera.jpg" --role face >/dev/null # 2 3
troupe add kai "$photos/coffee.jpg" "$photos/rocket.jpg" --role face >/dev/null    # 4 5
noise_jpeg wide.jpg 640 360
noise_jpeg quay.jpg 640 360
noise_jpeg planks.jpg 640 360
noise_png glass.png 300 300
troupe add harbor wide.jpg quay.jpg --role location >/dev/null          # 6 7
troupe add pier planks.jpg --role location >/dev/null                   # 8
troupe add mirror glass.png --role prop >/dev/null                      # 9

check "the test profile is valid" troupe profile validate "$TROUPE_PROFILE_PATH/runway-two.json"
sed 's/"location": {"max": 1}/"location": {"max": 0}/' "$TROUPE_PROFILE_PATH/runway-two.json" >zero.json
fails_with 65 "references.kinds.max: must be a whole number from 1 to 100" \
	"a kind's max of 0 is refused" troupe profile validate zero.json

# ---- fairness ----

check "one element: both slots are its" inject --profile runway-two "@mei alone"
is "$(sent)" "2 3" "mei's two faces, the sheet after them by role"
is "$(cat "$scratch/.err")" "" "nothing left out is worth a warning (the sheet is beyond per_character)"

check "two elements, two slots" inject --profile runway-two "@mei meets @kai"
is "$(sent)" "2 4" "one each before anyone gets two"
is "$(sent_tags)" "mei kai" "in mention order, in the request too"
is "$(sed -n 1p "$scratch/.err")" \
	"troupe: warning: profile runway-two takes 2 references: @mei gets 1, not 2 (left out #3 face)" \
	"mei's left-out face is named"
is "$(sed -n 2p "$scratch/.err")" \
	"troupe: warning: profile runway-two takes 2 references: @kai gets 1, not 2 (left out #5 face)" \
	"and kai's, one line each"
check "the other order" inject --profile runway-two "@kai meets @mei"
is "$(sent)" "4 2" "mention order decides among equals"

check "three elements, two slots" inject --profile runway-two "@mei and @kai hold @mirror"
is "$(sent)" "2 4" "the first two mentioned"
like "$(cat "$scratch/.err")" \
	"profile runway-two takes 2 references: no image of @mirror is sent \\(left out #9 prop\\)" \
	"the dropped element is named with its reference"
before=$(troupe log --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
fails_with 65 "profile runway-two takes 2 references: no image of @mirror is sent \\(left out #9 prop\\) \\(--no-drop\\)" \
	"--no-drop refuses a request that leaves an element out" \
	troupe inject --profile runway-two --no-drop "@mei and @kai hold @mirror"
check "--no-drop with room for every element" troupe inject --profile runway-two --no-drop "@mei meets @kai"
like "$(cat "$scratch/.err")" "@mei gets 1, not 2" "a partial cut is still only a warning"

# ---- a kind's own max ----

check "two locations, one location slot" inject --profile runway-two "@harbor, then @pier"
is "$(sent)" "6" "one location reference, though two slots"
is "$(cat "$scratch/.err")" "troupe: warning: profile runway-two takes 1 location reference: @harbor gets 1, not 2 (left out #7 location)
troupe: warning: profile runway-two takes 1 location reference: no image of @pier is sent (left out #8 location)" \
	"both cuts named with the kind's limit"
check "a character takes the slot the location cannot" inject --profile runway-two "@harbor and @pier with @mei"
is "$(sent)" "6 2" "harbor, then mei; pier left out"

# ---- --ref overrides ----

check "--ref" inject --profile runway-two --ref 'character:kai' "@mei meets @kai"
is "$(sent)" "4 5" "the query's assets, not the rule's"
is "$(cat "$scratch/.err")" "" "nothing to report within the limit"
check "--ref beyond the limit" inject --profile runway-two --ref 'role:face' "@mei"
is "$(sent)" "2 3" "the oldest two it matches"
is "$(cat "$scratch/.err")" \
	"troupe: warning: profile runway-two takes 2 references: --ref left out #4 face, #5 face" \
	"and the ones left out"

# ---- --json ----

check "--json of a text profile" troupe inject --profile midjourney-oref --json "@mei meets @kai"
is "$(jsonv .out '[[e["element"], e["sent"], e["why"], e["limit"], [r["asset"] for r in e["references"]]] for e in d["left_out"]]')" \
	'[["kai", 0, "max", 1, [4]]]' "left_out says the same for scripts"
check "--json with nothing left out" troupe inject --profile midjourney-oref --json "@mei"
is "$(jsonv .out 'd["left_out"]')" "[]" "an empty list"

# ---- the medoid, by the real face service ----

# Four photographs of John Savage and, added first so that the oldest
# would be sent, one of John Simm under his name. With vectors, the one
# sent is the Savage photograph most like the other references: the
# medoid, computed here apart from troupe from the stored vectors.
if test_have_prereq node "the medoid is sent" "not the odd one out" "before embedding, the oldest"; then
	start_face_service
	troupe character new savage >/dev/null
	troupe add savage "$(ls "$johns/John_Simm"/*.jpg | head -n 1)" --role face >/dev/null
	troupe query character:savage --json >"$scratch/.q"
	odd=$(jsonv "$scratch/.q" 'd[0]["id"]')
	troupe add savage "$johns"/John_Savage/*.jpg --role face >/dev/null
	check "without vectors" inject --profile runway-two "@savage"
	is "$(sent | cut -d' ' -f1)" "$odd" "before embedding, the oldest"
	check "embed" troupe embed --model face
	medoid=$(sqlite3 .troupe/troupe.db "SELECT e.asset_id, hex(e.vector) FROM embeddings e
		JOIN models m ON m.id = e.model_id JOIN assets a ON a.id = e.asset_id
		JOIN characters c ON c.id = a.character_id
		WHERE m.name = 'face' AND c.slug = 'savage'" | python3 -c '
import math, struct, sys
v = {}
for line in sys.stdin:
    i, h = line.strip().split("|")
    b = bytes.fromhex(h)
    v[int(i)] = struct.unpack("<%df" % (len(b) // 4), b)
def cos(a, b):
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))
mean = {i: sum(cos(v[i], v[k]) for k in v if k != i) / (len(v) - 1) for i in v}
print(max(sorted(v), key=lambda i: mean[i]))')
	check "with vectors" inject --profile runway-two "@savage"
	echo "# the odd one is #$odd, the medoid #$medoid; sent: $(sent)"
	is "$(sent | cut -d' ' -f1)" "$medoid" "the medoid is sent"
	like "$(sent)" "^[0-9]+ [0-9]+$" "two of them"
	case " $(sent) " in *" $odd "*) fail "not the odd one out" "sent: $(sent)" ;; *) pass "not the odd one out" ;; esac
fi

done_testing
