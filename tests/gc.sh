#!/bin/sh
# troupe gc: frees only blobs nothing references (assets, thumbnails and
# derivatives of live blobs, the request log's references, uploads), only
# after the grace period, says why each is unreferenced, agrees with fsck,
# and never loses a blob an add running beside it is about to name.
# Grace periods are tested as a user meets them: --grace 0, and notes
# back-dated in the index.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require sqlite3 xxh128sum jq vips

photos=$TEST_SRCDIR/data/photos
db=.troupe/troupe.db
TROUPE_PROFILE_PATH=
export TROUPE_PROFILE_PATH
troupe init >/dev/null
troupe character new mei >/dev/null
troupe add mei "$photos/astronaut.jpg" "$photos/camera.jpg" "$photos/chelsea.jpg" --role face >/dev/null
troupe add mei "$photos/coffee.jpg" --role sheet >/dev/null
blob_path() { echo ".troupe/objects/$(echo "$1" | cut -c1-2)/$(echo "$1" | cut -c3-)"; }
hash_of() { xxh128sum "$1" | cut -d' ' -f1; }
thumb_of() {
	sqlite3 $db "SELECT tb.hash FROM thumbnails t JOIN blobs tb ON tb.id = t.thumb_blob_id
		JOIN blobs b ON b.id = t.blob_id WHERE b.hash = '$1'"
}
camera=$(hash_of "$photos/camera.jpg")
chelsea=$(hash_of "$photos/chelsea.jpg")
coffee=$(hash_of "$photos/coffee.jpg")
camera_thumb=$(thumb_of "$camera")
objects=$(count_objects)

# ---- a store where everything is referenced ----
check "gc on a sound store" troupe gc --grace 0
is "$(cat .out)" "freed 0 blobs (0 B) of $objects; 0 unreferenced (0 B) kept for the grace period of 0 days" \
	"nothing to free"
is "$(count_objects)" "$objects" "every blob stays"

# ---- a removed asset: its blob and thumbnail, kept for the grace period ----
troupe rm 2 >/dev/null
before=$(store_state)
check "gc --dry-run" troupe gc --dry-run
is "$(store_state)" "$before" "--dry-run changes nothing"
like "$(cat .out)" "^keep $camera [0-9.]+ kB: was asset #2 \\(face, camera.jpg\\); unreferenced since [0-9T:-]+Z, free after [0-9T:-]+Z$" \
	"--dry-run names the removed asset as what named the blob"
like "$(cat .out)" "^keep $camera_thumb [0-9.]+ kB: was the thumbnail of asset #2;" \
	"and its thumbnail"
like "$(cat .out)" "^would free 0 blobs \\(0 B\\) of $objects; 2 unreferenced \\([0-9.]+ kB\\) kept for the grace period of 14 days$" \
	"the summary counts them, kept"
check "gc keeps them for 14 days" troupe gc
is "$(count_objects)" "$objects" "no file is removed within the grace period"
is "$(sqlite3 $db "SELECT count(*) FROM gc_unreferenced WHERE hash IN ('$camera', '$camera_thumb')")" 2 \
	"when they were first seen unreferenced is recorded"

# Back-dated past the grace period, as 15 days passing would do.
bytes=$(($(stat -c %s "$(blob_path "$camera")") + $(stat -c %s "$(blob_path "$camera_thumb")")))
sqlite3 $db "UPDATE gc_unreferenced SET first_seen = first_seen - 15 * 86400"
troupe gc --dry-run --json >dry.json
is "$(jq -r '[.candidates[] | select(.verdict == "free") | .hash] | sort | join(" ")' dry.json)" \
	"$(printf '%s\n' "$camera" "$camera_thumb" | sort | tr '\n' ' ' | sed 's/ $//')" \
	"--dry-run --json: both would go"
is "$(jq .freed.bytes dry.json)" "$bytes" "--dry-run --json: the bytes that would be freed"
# Line-buffered, a report made before the commit would reach the file
# before the fault; the blobs stay, so none may be said to be freed.
if test_have_prereq stdbuf "a gc stopped before its commit says nothing was freed"; then
	status=0
	# stdbuf preloads a library, which a sanitizer build refuses unless
	# told that its runtime need not come first.
	TROUPE_FAULT=gc-before-commit ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
		stdbuf -oL "$TROUPE" gc >fault.out 2>/dev/null || status=$?
	check "a gc stopped before its commit says nothing was freed" \
		test "$status" = 86 -a ! -s fault.out -a -e "$(blob_path "$camera")"
fi
check "gc frees what is past the grace period" troupe gc
like "$(cat .out)" "^freed $camera [0-9.]+ kB: was asset #2" "gc says what it freed, and why"
is "$(tail -n 1 .out | cut -d' ' -f1-3)" "freed 2 blobs" "the summary says how many"
check "the blob is gone" test ! -e "$(blob_path "$camera")"
check "its thumbnail is gone" test ! -e "$(blob_path "$camera_thumb")"
is "$(sqlite3 $db "SELECT count(*) FROM blobs WHERE hash IN ('$camera', '$camera_thumb')")" 0 \
	"their rows are gone"
is "$(sqlite3 $db 'SELECT count(*) FROM gc_unreferenced')" 0 "and their notes"
check "fsck is clean after gc" troupe fsck
check "the other assets are whole" sh -c "'$TROUPE' cat 1 3 4 >/dev/null"

# ---- a blob two assets share goes with the last of them only ----
troupe add mei "$photos/chelsea.jpg" --role sheet >/dev/null # asset 5, the blob of asset 3
troupe rm 3 >/dev/null
troupe gc --grace 0 >/dev/null 2>&1
check "a blob another asset still names stays" test -f "$(blob_path "$chelsea")"
check "and can be read" sh -c "'$TROUPE' cat 5 >/dev/null"
is "$(sqlite3 $db "SELECT count(*) FROM gc_unreferenced WHERE hash = '$chelsea'")" 0 \
	"the note the removal left is dropped once the blob is seen named"

# ---- the request log names what it sent ----
echo '{"prompt":"@mei on a bench"}' | troupe inject --profile kling-image >/dev/null 2>&1
sent=$(sqlite3 $db "SELECT sent_hash FROM request_refs LIMIT 1")
source=$(sqlite3 $db "SELECT source_hash FROM request_refs LIMIT 1")
source_id=$(sqlite3 $db "SELECT asset_id FROM request_refs LIMIT 1")
check "inject recorded a reference" test -n "$sent"
troupe rm "$source_id" >/dev/null
troupe gc --grace 0 >/dev/null 2>&1
check "the source of a logged reference stays after its asset is removed" test -f "$(blob_path "$source")"
check "what the request sent stays" test -f "$(blob_path "$sent")"
troupe log prune --before 2999-01-01 >/dev/null
troupe gc --dry-run >.out 2>&1
like "$(cat .out)" "^keep $sent .*: was what request #1 sent;" "pruning the log leaves a note on what it sent"
troupe gc --grace 0 >/dev/null 2>&1
check "once the log is pruned, the reference goes" test ! -e "$(blob_path "$sent")"
check "and its source" test ! -e "$(blob_path "$source")"
check "fsck is clean" troupe fsck

# ---- a thumbnail goes only with the blob it shows ----
troupe add mei "$photos/camera.jpg" --role pose >/dev/null
id=$(troupe query 'role:pose' --json | jq '.[0].id')
troupe rm "$id" >/dev/null
camera_thumb=$(thumb_of "$camera")
sqlite3 $db "UPDATE gc_unreferenced SET first_seen = first_seen - 15 * 86400 WHERE hash = '$camera_thumb'"
troupe gc --dry-run >.out 2>&1
like "$(cat .out)" "^keep $camera_thumb .*: was the thumbnail of asset #$id, which is kept$" \
	"a thumbnail past its grace is held by its blob within it"
troupe gc >/dev/null 2>&1
check "the held thumbnail stays" test -f "$(blob_path "$camera_thumb")"
check "fsck after a held thumbnail: index sound" sh -c "'$TROUPE' fsck --json | jq -e '[.problems[] | select(.kind != \"unreferenced\")] == []' >/dev/null"
troupe gc --grace 0 >/dev/null 2>&1

# ---- orphans: files no row names, first seen at their mtime ----
noise_jpeg orphan.jpg 40 40
orphan=$(hash_of orphan.jpg)
mkdir -p "$(dirname "$(blob_path "$orphan")")"
cp orphan.jpg "$(blob_path "$orphan")"
chmod 0444 "$(blob_path "$orphan")"
troupe gc --dry-run >.out 2>&1
like "$(cat .out)" "^keep $orphan .*: no row names it: left by an add or gc that was interrupted;" \
	"a fresh orphan is kept for the grace period"
touch -d '20 days ago' "$(blob_path "$orphan")"
check "an old orphan" troupe gc
like "$(cat .out)" "^freed $orphan " "an orphan past the grace period by its mtime is freed"
check "the orphan is gone" test ! -e "$(blob_path "$orphan")"

# ---- a row whose file is already gone frees no bytes, and keeps none ----
noise_jpeg gone.jpg 44 44
gone=$(hash_of gone.jpg)
gone_id=$(troupe add mei gone.jpg --role pose --json | jq '.[0].id')
troupe rm "$gone_id" >/dev/null
rm -f "$(blob_path "$gone")"
troupe gc --grace 0 --json >gone.json
is "$(jq -r --arg h "$gone" '.candidates[] | select(.hash == $h) | "\(.verdict) \(.file)"' gone.json)" \
	"free false" "the row whose file is gone is freed"
is "$(jq -c '.kept' gone.json)" '{"blobs":0,"bytes":0}' "and nothing freed is counted as kept"

# ---- fsck and gc --dry-run agree on what is unreferenced ----
troupe rm 5 >/dev/null
cp orphan.jpg "$(blob_path "$orphan")"
troupe fsck --json >fsck.json 2>/dev/null
troupe gc --dry-run --json >dry.json
fsck_list=$(jq -r '[.notes[] | select(.kind == "unreferenced") | .object] | sort | join(" ")' fsck.json)
gc_list=$(jq -r '[.candidates[] | select(.file) | .hash] | sort | join(" ")' dry.json)
check "there is something unreferenced to compare" test -n "$gc_list"
is "$fsck_list" "$gc_list" "fsck's unreferenced objects are gc --dry-run's candidates"
like "$(jq -r ".notes[] | select(.object == \"$chelsea\") | .detail" fsck.json)" \
	"^was asset #5 \\(sheet, chelsea.jpg\\); kept: gc reclaims it$" "fsck gives gc's reason"
troupe gc --grace 0 >/dev/null 2>&1
check "after gc --grace 0 fsck is clean" troupe fsck

# ---- bad input, store unchanged ----
fails_with 64 "--grace" "--grace -1 is refused" troupe gc --grace -1
fails_with 64 "--grace" "--grace of words is refused" troupe gc --grace soon
fails_with 64 "--grace" "--grace of a fraction is refused" troupe gc --grace 1.5
fails_with 64 "no arguments" "gc takes no words" troupe gc now

# ---- the lock: gc waits for a writer between staging and commit ----
if test_have_prereq flock "gc waits while a writer holds the store" "and then frees"; then
	troupe rm 4 >/dev/null
	flock -s .troupe/tmp sleep 2 &
	holder=$!
	sleep 0.3
	start=$(date +%s%N)
	troupe gc --grace 0 >/dev/null 2>&1
	took=$((($(date +%s%N) - start) / 1000000))
	wait $holder
	check "gc waits while a writer holds the store" test "$took" -ge 1000
	check "and then frees" test ! -e "$(blob_path "$coffee")"
fi

# ---- the lock: an import of blobs already in place waits for gc ----
# It stages nothing, so only the lock it takes before it looks for them
# keeps gc from freeing one between its look and its commit.
if test_have_prereq flock "the import of blobs already in place succeeds" \
	"an import naming only present blobs waits for gc's lock"; then
	troupe export mei -o mei.troupe >/dev/null
	flock -x .troupe/tmp sleep 2 &
	holder=$!
	sleep 0.3
	start=$(date +%s%N)
	imported=0
	troupe import mei.troupe >/dev/null 2>&1 || imported=$?
	took=$((($(date +%s%N) - start) / 1000000))
	wait $holder
	is "$imported" 0 "the import of blobs already in place succeeds"
	check "an import naming only present blobs waits for gc's lock" test "$took" -ge 1000
fi

# ---- add beside gc: a blob about to be named is never lost ----
# Each round adds a picture whose blob is unreferenced (removed just
# before), so the add finds it in place and names it again, while gc
# --grace 0 runs in a loop trying to free exactly that blob.
mkdir race
for i in 1 2 3 4 5 6; do noise_jpeg race/$i.jpg 48 48; done
troupe add mei race --role reference >/dev/null
troupe rm $(troupe query 'role:reference' --json | jq -r '.[].id') >/dev/null
: >gc.err
(
	while [ ! -e stop ]; do "$TROUPE" gc --grace 0 >/dev/null 2>>gc.err || echo "gc failed" >>gc.err; done
) &
gcloop=$!
lost=0 failed=0
for round in $(seq 1 25); do
	f=race/$((round % 6 + 1)).jpg
	if ! id=$("$TROUPE" add mei "$f" --role reference --json 2>>add.err | jq -r '.[0].id'); then
		failed=$((failed + 1))
		continue
	fi
	"$TROUPE" cat "$id" >/dev/null 2>&1 || lost=$((lost + 1))
	"$TROUPE" rm "$id" >/dev/null 2>&1 || failed=$((failed + 1))
done
touch stop
wait $gcloop
is "$failed" 0 "every add and rm beside gc succeeded"
is "$lost" 0 "no asset added beside gc lost its blob"
is "$(cat gc.err)" "" "no gc failed"
troupe fsck --json >fsck.json 2>/dev/null
is "$(jq -c '[.problems[] | select(.kind != "unreferenced")]' fsck.json)" "[]" \
	"fsck finds no missing blob after the race"

done_testing
