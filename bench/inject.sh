#!/usr/bin/env bash
# bench/inject.sh — troupe inject of a request that mentions three
# characters with four references each, base64-encoded: warm (derivatives
# cached) and cold (made now), the cold one against vipsthumbnail making the
# same twelve derivatives in the same run. Called by bench/run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TROUPE=${TROUPE:-$here/../troupe}
out=${BENCH_DIR:-$here/out}
results=$out/results.tsv
# bench/scaling.sh alone sets BENCH_INJECT_ASSETS: that many more assets
# (rows only, with tags) in the store, to see what its size costs.
readonly RUNS=21 SIDE=768 FILLER=${BENCH_INJECT_ASSETS:-0}

row() {
	local IFS=$'\t'
	echo "$*" >>"$results"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
now_ns() { date +%s%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e6 }'; }

jpegs=$out/jpegs
"$here/jpegs.sh" "$jpegs"
dir=$out/inject
rm -rf "$dir" && mkdir -p "$dir/profiles"
"$TROUPE" init "$dir" >/dev/null
S=(--store "$dir/.troupe")
files=()
for c in mei kai ren; do
	"$TROUPE" "${S[@]}" -q character new $c --describe "the $c of the bench" --seed 7
done
i=0
for c in mei kai ren; do
	for k in 1 2 3 4; do
		i=$((i + 1))
		f=$(printf '%s/img-%04d.jpg' "$jpegs" $i)
		files+=("$f")
		"$TROUPE" "${S[@]}" -q add $c "$f" --role face
	done
done
if [ "$FILLER" -gt 0 ]; then
	sqlite3 "$dir/.troupe/troupe.db" <<-SQL
		BEGIN;
		INSERT INTO tags(ns, value) VALUES ('look', 'filler'), ('', 'draft');
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $FILLER)
		INSERT INTO blobs(hash, bytes, added)
		SELECT printf('f%07x%08x%016x', i, i * 2654435761 % 4294967296, i), 999999, 1767225600 FROM n;
		-- Not faces, so no injection picks them; but every character query
		-- has them to sift.
		INSERT INTO assets(blob_id, character_id, role, width, height, format, added)
		SELECT id, 1 + id % 3, 'reference', 1024, 1024, 'jpeg', 1767225600
		FROM blobs WHERE bytes = 999999;
		INSERT INTO asset_tags SELECT a.id, g.id FROM assets a JOIN blobs b ON b.id = a.blob_id
		JOIN tags g WHERE b.bytes = 999999 AND (a.id % 7 = 0 OR g.value = 'filler');
		COMMIT;
	SQL
fi
# A profile that takes four references per character as raw base64, made
# to SIDE pixels: the shape of Kling's or Gemini's, with work to do.
profile() {
	cat >"$dir/profiles/bench.json" <<-JSON
		{"name": "bench", "service": "bench", "doc": "bench/inject.sh",
		 "base_url": "https://example.invalid", "request": {"path": "/x"},
		 "prompt": "/prompt", "negative": "/negative_prompt", "seed": "/seed",
		 "references": {"roles": ["face"], "per_character": 4, "max": 12,
		   "pointer": "/images", "array": true, "item": {"image": "{ref}"},
		   "encoding": "base64",
		   "limits": {"max_side": $SIDE, "format": "jpeg", "quality": $1}},
		 "outputs": {"urls": "/out"}}
	JSON
}
export TROUPE_PROFILE_PATH=$dir/profiles
request='{"prompt": "@mei, @kai and @ren on a pier at dawn"}'
inject() { echo "$request" | "$TROUPE" "${S[@]}" inject --profile bench >/dev/null; }

cold=() peer=() warm=()
for run in $(seq $RUNS); do
	profile $((60 + run)) # a recipe never made before: cold
	t0=$(now_ns); inject; t1=$(now_ns)
	cold+=("$(elapsed "$t0" "$t1")")
	t0=$(now_ns)
	vipsthumbnail -s $SIDE -o "$dir/peer-%s.jpg[Q=$((60 + run)),strip]" "${files[@]}"
	t1=$(now_ns)
	peer+=("$(elapsed "$t0" "$t1")")
done
profile 90
inject
for run in $(seq $RUNS); do
	t0=$(now_ns); inject; t1=$(now_ns)
	warm+=("$(elapsed "$t0" "$t1")")
done
w=$(printf '%s\n' "${warm[@]}" | median)
c=$(printf '%s\n' "${cold[@]}" | median)
p=$(printf '%s\n' "${peer[@]}" | median)
bytes=$(echo "$request" | "$TROUPE" "${S[@]}" inject --profile bench | wc -c)
row "inject warm, 3 chars x 4 refs base64" "${w} ms" "-" "-" "whole process < 20 ms" \
	"$(awk -v m="$w" 'BEGIN { print (m < 20) ? "yes" : "NO" }')"
row "inject cold (12 derivatives made)" "${c} ms" "${p} ms" \
	"$(awk -v a="$c" -v b="$p" 'BEGIN { printf "%.2f", a / b }')" "within 1.2x of vipsthumbnail" \
	"$(awk -v a="$c" -v b="$p" 'BEGIN { print (a <= 1.2 * b) ? "yes" : "NO" }')"
row "  (request written: $bytes bytes)" "-" "-" "-" "-" "-"
