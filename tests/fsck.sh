#!/bin/sh
# troupe fsck: a sound store passes; a deleted blob, bytes written into a
# blob, a leftover in tmp/, a file no row names, an unreadable cache file
# and a damaged index page are each found, named, and (only where it is
# safe) repaired.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require sqlite3 xxh128sum jq

photos=$TEST_SRCDIR/data/photos
troupe init >/dev/null
troupe character new mei >/dev/null
troupe add mei "$photos/astronaut.jpg" "$photos/camera.jpg" "$photos/chelsea.jpg" --role face >/dev/null
troupe add mei "$photos/coffee.jpg" "$photos/rocket.jpg" --role sheet >/dev/null
blob_path() { echo ".troupe/objects/$(echo "$1" | cut -c1-2)/$(echo "$1" | cut -c3-)"; }
chelsea=$(xxh128sum "$photos/chelsea.jpg" | cut -d' ' -f1)
coffee=$(xxh128sum "$photos/coffee.jpg" | cut -d' ' -f1)
blobs=$(sqlite3 .troupe/troupe.db 'SELECT count(*) FROM blobs')

check "a sound store passes" troupe fsck
like "$(cat .out)" "^0 problems; $blobs blobs \\(.*\\) checked, 0 rehashed, $blobs files in objects/, 0 in tmp/$" \
	"the summary counts every blob"
check "a sound store passes --full" troupe fsck --full
like "$(cat .out)" "^0 problems; $blobs blobs .* checked, $blobs rehashed" "--full rehashes every blob"
check "--json" troupe fsck --json
is "$(jq -c '.problems' .out)" "[]" "--json: no problems"
is "$(jq '.checked.blobs' .out)" "$blobs" "--json: the blobs checked"

# A deleted blob: every asset that needs it is named.
mv "$(blob_path "$chelsea")" chelsea.blob
fails_with 1 "1 problem found" "a deleted blob is a problem" troupe fsck
like "$(cat .out)" "^missing $chelsea: not in objects/; needed by asset 3$" "the missing blob names its asset"
troupe fsck --json >.json 2>/dev/null
is "$(jq -c '.problems[0] | [.kind, .object, .assets]' .json)" "[\"missing\",\"$chelsea\",[3]]" \
	"--json names the kind, the blob and the asset"
mv chelsea.blob "$(blob_path "$chelsea")"

# A thumbnail is needed by the asset it shows.
thumb=$(sqlite3 .troupe/troupe.db "SELECT tb.hash FROM thumbnails t JOIN blobs tb ON tb.id = t.thumb_blob_id
	JOIN blobs b ON b.id = t.blob_id WHERE b.hash = '$coffee'")
check "the coffee picture has a thumbnail" test -n "$thumb"
if [ -n "$thumb" ]; then
	mv "$(blob_path "$thumb")" thumb.blob
	fails_with 1 "1 problem found" "a deleted thumbnail is a problem" troupe fsck
	like "$(cat .out)" "^missing $thumb: .*; needed by asset 4$" "the thumbnail names its asset"
	mv thumb.blob "$(blob_path "$thumb")"
fi

# Bytes written inside a blob, its size kept: only a rehash sees it.
path=$(blob_path "$coffee")
cp "$path" coffee.blob
chmod u+w "$path"
printf 'XXXX' | dd of="$path" bs=1 seek=100 conv=notrunc 2>/dev/null
check "same size, new bytes: plain fsck checks sizes only" troupe fsck
fails_with 1 "1 problem found" "--full finds the overwritten bytes" troupe fsck --full
like "$(cat .out)" "^hash $coffee: its bytes hash to [0-9a-f]{32}; needed by asset 4$" \
	"--full names the blob and its asset"
# Bytes appended: the size alone gives it away.
printf 'tail' >>"$path"
fails_with 1 "1 problem found" "a blob of the wrong size is a problem" troupe fsck
like "$(cat .out)" "^size $coffee: [0-9]+ bytes, the index says [0-9]+; needed by asset 4$" \
	"the size problem names the blob"
cat coffee.blob >"$path"
chmod 0444 "$path"
check "the blob put back passes --full" troupe fsck --full

# A leftover in tmp/: reported, kept while another process holds the
# store, removed by --repair when none does.
echo partial >.troupe/tmp/blob-Kill3d
fails_with 1 "1 problem found" "a leftover in tmp/ is a problem" troupe fsck
like "$(cat .out)" "^tmp blob-Kill3d: left by a write that did not finish$" "the leftover is named"
check "plain fsck keeps the leftover" test -f .troupe/tmp/blob-Kill3d
if test_have_prereq flock "--repair while a writer holds the store exits 1" \
	"--repair says why it kept the leftover" "--repair keeps a leftover while the store is held"; then
	flock -s .troupe/tmp "$TROUPE" fsck --repair >.out 2>.err
	is "$?" 1 "--repair while a writer holds the store exits 1"
	like "$(cat .out)" "^tmp blob-Kill3d: .*kept: another troupe process holds the store$" \
		"--repair says why it kept the leftover"
	check "--repair keeps a leftover while the store is held" test -f .troupe/tmp/blob-Kill3d
fi
troupe fsck --repair >.out 2>.err
is "$?" 1 "--repair lists what it removed, exit 1"
like "$(cat .out)" "^tmp blob-Kill3d: .*; removed$" "--repair says it removed the leftover"
check "--repair removed the leftover" test ! -e .troupe/tmp/blob-Kill3d
check "then the store is clean" troupe fsck

# A file in objects/ that no row names: reported, never deleted.
stray=0123456789abcdef0123456789abcdef
mkdir -p .troupe/objects/01
echo stray >"$(blob_path "$stray")"
check "an unreferenced blob is not a problem (gc reclaims it)" troupe fsck
like "$(cat .out)" "^unreferenced $stray: no row names this blob" "the unreferenced blob is named"
like "$(cat .out)" "^0 problems; 1 unreferenced blob \\(gc reclaims them\\);" "the summary counts it apart"
troupe fsck --json >.json
is "$(jq -c '[(.problems | length), (.notes | map(.kind + " " + .object))]' .json)" "[0,[\"unreferenced $stray\"]]" \
	"--json lists it under notes, not problems"
troupe fsck --repair >/dev/null 2>&1
check "--repair keeps the unreferenced file" test -f "$(blob_path "$stray")"
rm "$(blob_path "$stray")"

# --sample rehashes a share, least recently verified first, and the
# state file carries on from one run to the next.
rm -f .troupe/cache/fsck-verified
check "--sample 50%" troupe fsck --sample 50%
half=$(((blobs + 1) / 2))
like "$(cat .out)" ", $half rehashed," "--sample 50% rehashes half the blobs"
is "$(grep -c '^[0-9a-f]\{32\} [0-9]*$' .troupe/cache/fsck-verified)" "$half" "the state file holds them"
check "--sample 50% again" troupe fsck --sample 50%
is "$(grep -c '^[0-9a-f]\{32\} [0-9]*$' .troupe/cache/fsck-verified)" "$blobs" \
	"two runs of --sample 50% cover every blob"
first=$(sed -n 2p .troupe/cache/fsck-verified | cut -d' ' -f1)
fails_with 64 "--sample" "--sample 0 is refused" troupe fsck --sample 0
fails_with 64 "--sample" "--sample 101% is refused" troupe fsck --sample 101%
fails_with 64 "exclude each other" "--full and --sample together are refused" troupe fsck --full --sample 5
fails_with 64 "no arguments" "fsck takes no words" troupe fsck extra
# A damaged blob found by a sample is forgotten by the state file.
cp "$(blob_path "$first")" first.blob
chmod u+w "$(blob_path "$first")"
printf 'XX' | dd of="$(blob_path "$first")" bs=1 seek=10 conv=notrunc 2>/dev/null
troupe fsck --full >/dev/null 2>&1
check "a damaged blob leaves the state file" sh -c "! grep -q '^$first ' .troupe/cache/fsck-verified"
cat first.blob >"$(blob_path "$first")"
check "the blob put back passes --full again" troupe fsck --full

# An unreadable cache file is reported; --repair removes it.
troupe similar 1 >/dev/null 2>&1
check "similar made the pHash cache" test -f .troupe/cache/phash.idx
if [ -f .troupe/cache/phash.idx ]; then
	echo garbage >.troupe/cache/phash.idx
	troupe fsck >.out 2>&1
	like "$(cat .out)" "^cache phash.idx: not a readable cache file" "an unreadable cache file is named"
	troupe fsck --repair >.out 2>&1
	check "--repair removed the unreadable cache file" test ! -e .troupe/cache/phash.idx
fi

# A damaged page of the index: quick_check says so, exit 1.
root=$(sqlite3 .troupe/troupe.db "SELECT rootpage FROM sqlite_master WHERE name = 'assets_by_role'")
pagesize=$(sqlite3 .troupe/troupe.db 'PRAGMA page_size')
check "the index has no WAL left" test ! -s .troupe/troupe.db-wal
head -c "$pagesize" /dev/urandom | dd of=.troupe/troupe.db bs="$pagesize" seek=$((root - 1)) conv=notrunc 2>/dev/null
troupe fsck >.out 2>.err
is "$?" 1 "a damaged index page: exit 1"
like "$(cat .out)" "^index troupe.db: Page [0-9]+: " "quick_check's finding is reported, a line each"

done_testing
