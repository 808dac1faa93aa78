#!/bin/sh
# The quick start's demo (demo/run) runs the main job from end to end on a
# fresh store: what ./bootstrap demo shows a new user must keep working.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require vips sqlite3 python3

demo=$TEST_SRCDIR/../demo/run
check "the demo runs" env DEMO_STORE="$scratch/demo" "$demo" "$TROUPE"
cp .out demo.out
out=$scratch/demo/out
like "$(cat demo.out)" "query 'character:mei role:face look:winter'" "it queries the cast"
check "the Kling request is JSON with its reference in it" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert "@" not in d["prompt"] and len(d["image"]) > 1000' "$out/kling-image.json"
check "the PixVerse preview names the upload it would make" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["img_id"].startswith("upload:")' "$out/pixverse-video.json"
like "$(cat demo.out)" "--cref https://cdn.example.com/troupe/[0-9a-f]{32}" \
	"the Midjourney prompt names its references"
is "$(sqlite3 "$scratch/demo/.troupe/troupe.db" "SELECT count(*) FROM requests WHERE status = 'preview'")" 1 \
	"the dry run is logged as a preview"
for f in mei-sheet.png cast-faces.png gallery/index.html; do
	check "it made $f" test -s "$out/$f"
done
like "$(cat demo.out)" "^  gallery +$out/gallery/index.html" "it says where each artefact is"
# An echoed command, pasted into a shell in demo/, does what the demo did.
line=$(grep "^\$ troupe .* query 'series:mirror -role:sheet" demo.out | sed 's/^\$ troupe //')
printf '%s\n' "cd '$TEST_SRCDIR/../demo' && '$TROUPE' $line" >pasted.sh
check "an echoed command pastes back into a shell" sh pasted.sh
like "$(cat .out)" '"role":[[:space:]]*"face"' "and gives the same answer"
# The face check runs where the face service is installed, as ./bootstrap
# check installs it; elsewhere the demo says it skipped it.
if [ -d "$TEST_SRCDIR/../contrib/face-service/node_modules/@vladmandic/human" ] &&
	test_have_prereq node "the demo's face check"; then
	like "$(cat demo.out)" "^drifted " "the face check finds the other person drifted"
	like "$(cat demo.out)" "^same " "and the same person the same"
	if test_have_prereq ffmpeg "the demo's take checked over time"; then
		like "$(cat demo.out)" "^drifted +@eileen +2\.00s " "the take drifts from 2 s"
		check "and its plot is drawn" test -s "$out/take-drift.png"
		like "$(cat demo.out)" "^  drift over time +$out/take-drift.png" "where the plot is is said"
	fi
else
	like "$(cat demo.out)" "Skipping the face check" "without the face service the demo says it skipped the check"
fi
done_testing
