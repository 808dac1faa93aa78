#!/bin/sh
# The caches beside the index (cache/vectors-MODEL.f32, cache/phash.idx)
# grow with the change: after vectors or pHashes are added, changed or
# removed, the next nearest or similar appends what changed (and
# tombstones what went) instead of rebuilding, compacts when the
# tombstones pass a quarter, and always answers as a full rebuild does.
# A torn append (a crash between the segment and the header, or a
# damaged segment) is caught and never trusted.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require sqlite3 awk od

troupe init >/dev/null
db=.troupe/troupe.db
vectors=.troupe/cache/vectors-toy.f32
phashes=.troupe/cache/phash.idx
# 3,000 assets straight in SQL, as bench/vectors.sh makes its million.
sqlite3 $db "BEGIN;
	WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
	INSERT INTO blobs(hash, bytes, added) SELECT printf('%032x', i), 1000, 1767225600 FROM n;
	INSERT INTO assets(blob_id, role, width, height, format, added)
	SELECT id, 'reference', 64, 64, 'jpeg', 1767225600 FROM blobs;
	COMMIT;"

# vectors FIRST LAST SEED: JSON Lines of 8-d vectors for assets FIRST to
# LAST, from a small hash of the id and the seed; every seventh asset has
# its sixth's vector, so that equal scores must be ordered by id.
vectors() {
	awk -v a="$1" -v b="$2" -v s="$3" 'BEGIN {
		for (i = a; i <= b; i++) {
			k = (i % 7 == 0) ? i - 1 : i
			printf "{\"asset\": \"%d\", \"vector\": [", i
			for (d = 0; d < 8; d++) {
				x = (k * 2654435761 + d * 40503 + s * 97) % 1000003
				printf "%s%.4f", d ? ", " : "", x / 1000003 - 0.5
			}
			print "]}"
		}
	}'
}
# The segments count is the header's 32-bit field at byte 52.
segments() { od -An -tu4 -j52 -N4 "$1" | tr -d ' '; }
size() { wc -c <"$1" | tr -d ' '; }
answers() {
	"$TROUPE" nearest 41 --model toy -k 1 --json
	for q in 1 2 6 7 500 1999 2500; do
		"$TROUPE" nearest $q --model toy -k 12 --json || echo "nearest $q failed"
		"$TROUPE" nearest $q --model toy -k 3 --where 'role:reference' --json
	done
}
# Answers now, then from a rebuilt file, then compares them.
same_as_rebuild() {
	answers >now.txt 2>&1
	cp "$vectors" kept.f32
	rm -f "$vectors"
	answers >rebuilt.txt 2>&1
	cp kept.f32 "$vectors"
	check "$1" cmp now.txt rebuilt.txt
}

vectors 1 2000 1 >v1.jsonl
check "import 2,000 vectors" troupe embed import --model toy v1.jsonl
check "the first nearest builds the file" troupe nearest 1 --model toy -k 5
is "$(segments $vectors)" 1 "a built file is one segment"
built=$(size $vectors)

vectors 2001 2100 1 >v2.jsonl
vectors 10 29 2 >v3.jsonl
# Asset 5 takes the vector 41 and 42 share: a tie between a row of the
# first segment and one appended after it, which the rebuilt file holds
# in the other order.
vectors 41 41 1 | sed 's/"41"/"5"/' >>v3.jsonl
check "import 100 new vectors" troupe embed import --model toy v2.jsonl
check "and change 20" troupe embed import --model toy v3.jsonl
sqlite3 $db "DELETE FROM embeddings WHERE asset_id BETWEEN 100 AND 109"
check "nearest after the change" troupe nearest 1 --model toy -k 5
is "$(segments $vectors)" 2 "the change is one appended segment"
grown=$(size $vectors)
check "the file grew by the change, not by a rebuild ($built to $grown bytes)" \
	test $((grown - built)) -lt $((built / 10))
same_as_rebuild "answers equal a full rebuild's after an append"
is "$(segments $vectors)" 2 "the kept file is the appended one"

# A crash after the segment is synced, before the header names it.
vectors 2101 2150 1 >v4.jsonl
troupe embed import --model toy v4.jsonl >/dev/null
TROUPE_FAULT=cache-segment-synced "$TROUPE" nearest 1 --model toy -k 5 >/dev/null 2>&1
is $? 86 "a nearest stopped between the segment and the header"
check "the cut-short segment is past the committed end" test "$(size $vectors)" -gt "$grown"
is "$(segments $vectors)" 2 "and the header does not name it"
check "nearest after the crash" troupe nearest 1 --model toy -k 5
is "$(segments $vectors)" 3 "the torn tail was cut off and the change appended again"
same_as_rebuild "answers equal a full rebuild's after a crash"

# An append damaged after the fact (a torn write the disk reordered)
# fails its checksum: the file is rebuilt, not trusted.
vectors 2151 2160 1 >v5.jsonl
troupe embed import --model toy v5.jsonl >/dev/null
troupe nearest 1 --model toy -k 5 >/dev/null
is "$(segments $vectors)" 4 "one more segment"
end=$(size $vectors)
printf '\377\377\377\377' | dd of=$vectors bs=1 seek=$((end - 300)) conv=notrunc 2>/dev/null
same_as_rebuild "a damaged segment is not trusted: the answers are a rebuild's"
is "$(segments $vectors)" 1 "and the file was rebuilt whole"
printf '\001' | dd of=$vectors bs=1 seek=9 conv=notrunc 2>/dev/null
check "a damaged header" troupe nearest 1 --model toy -k 5
is "$(segments $vectors)" 1 "is rebuilt too"

# Removing more than a quarter compacts the file.
troupe nearest 1 --model toy -k 5 >/dev/null
before=$(size $vectors)
sqlite3 $db "DELETE FROM embeddings WHERE asset_id BETWEEN 1200 AND 1899"
check "nearest after removing 700 of 2,150" troupe nearest 1 --model toy -k 5
is "$(segments $vectors)" 1 "the tombstones passed a quarter: compacted to one segment"
check "the compacted file is smaller" test "$(size $vectors)" -lt "$before"
same_as_rebuild "answers equal a full rebuild's after compaction"

# Many small changes, each followed by a search, then many searches at
# once after one more change: every answer agrees with the rebuild's.
for i in 1 2 3 4 5 6; do
	vectors $((2200 + i * 10)) $((2209 + i * 10)) $i >v6.jsonl
	troupe embed import --model toy v6.jsonl >/dev/null
	sqlite3 $db "DELETE FROM embeddings WHERE asset_id = $((300 + i))"
	troupe nearest 1 --model toy -k 5 >/dev/null
done
is "$(segments $vectors)" 7 "six appends"
same_as_rebuild "answers equal a full rebuild's after six appends"
vectors 2400 2499 9 >v7.jsonl
troupe embed import --model toy v7.jsonl >/dev/null
for i in 1 2 3 4 5 6; do
	"$TROUPE" nearest 7 --model toy -k 12 --json >par-$i.txt 2>&1 &
done
wait
rm -f "$vectors"
"$TROUPE" nearest 7 --model toy -k 12 --json >par-rebuilt.txt 2>&1
for i in 1 2 3 4 5 6; do
	check "concurrent nearest $i answers as a rebuild" cmp par-$i.txt par-rebuilt.txt
done

# A model removed and made again under its name starts its generations
# over: its old file is another owner's and is not trusted.
sqlite3 $db "PRAGMA foreign_keys = ON; DELETE FROM models WHERE name = 'toy'"
vectors 1 50 5 >v8.jsonl
check "a new model of the same name" troupe embed import --model toy v8.jsonl
check "nearest" troupe nearest 3 --model toy -k 50 --json
is "$(grep -c '"similarity"' .out)" 49 "only the new model's vectors are found"

# The pHash file: the same, through similar.
sqlite3 $db "UPDATE blobs SET phash = (id * 2654435761) % 4294967296 * 4294967296 +
	(id * 40503) % 65536 WHERE id <= 2000"
similar() {
	for q in 1 3 700 1500; do
		"$TROUPE" similar $q --max-distance 24 --json || echo "similar $q failed"
	done
}
check "the first similar builds the pHash file" troupe similar 1
is "$(segments $phashes)" 1 "one segment"
sqlite3 $db "UPDATE blobs SET phash = (id * 7919) % 65536 WHERE id BETWEEN 2001 AND 2100;
	UPDATE blobs SET phash = NULL WHERE id BETWEEN 50 AND 59;
	UPDATE blobs SET phash = phash + 1 WHERE id BETWEEN 60 AND 69"
similar >now.txt 2>&1
is "$(segments $phashes)" 2 "added, removed and changed pHashes are one appended segment"
rm -f $phashes
similar >rebuilt.txt 2>&1
check "similar answers as a rebuild" cmp now.txt rebuilt.txt

done_testing
