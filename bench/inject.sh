#!/usr/bin/env bash
# bench/inject.sh — troupe inject of a request that mentions three
# characters with four references each, base64-encoded: warm (derivatives
# cached) and cold (made now), the cold one against vipsthumbnail making the
# same twelve derivatives in the same run; and warm, a shot's cast (three
# characters in looks, a location and a prop, with embeddings) through a
# profile that takes fewer references than they have, so the choice under a
# limit is made. With TROUPE_BEFORE (another build), that one is timed on the
# same store, interleaved run by run. Called by bench/run.
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

# ---- a shot's cast under a limit ----
# Each character in a look with two costume references, a location with
# two, a prop with one, a 512-d vector for every reference, and seven
# places for twelve first choices: the rounds, the look's preference and
# the medoid all run.
looks=(winter storm dusk)
k=0
for c in mei kai ren; do
	"$TROUPE" "${S[@]}" -q look new $c "${looks[$k]}" --describe "the ${looks[$k]} coat"
	for n in 1 2; do
		i=$((i + 1))
		"$TROUPE" "${S[@]}" -q add $c "$(printf '%s/img-%04d.jpg' "$jpegs" $i)" \
			--look "${looks[$k]}" --role costume
	done
	k=$((k + 1))
done
"$TROUPE" "${S[@]}" -q location new harbor --describe "a night harbor"
"$TROUPE" "${S[@]}" -q prop new mirror --describe "a bronze hand mirror"
for n in 1 2; do
	i=$((i + 1))
	"$TROUPE" "${S[@]}" -q add harbor "$(printf '%s/img-%04d.jpg' "$jpegs" $i)" --role location
done
i=$((i + 1))
"$TROUPE" "${S[@]}" -q add mirror "$(printf '%s/img-%04d.jpg' "$jpegs" $i)" --role prop
"$TROUPE" "${S[@]}" query --json 'kind:character OR kind:location OR kind:prop' |
	python3 -c '
import json, random, sys
random.seed(7)
for a in json.load(sys.stdin):
    print(json.dumps({"asset": a["hash"], "vector": [random.gauss(0, 1) for _ in range(512)]}))
' >"$dir/vectors.jsonl"
"$TROUPE" "${S[@]}" -q embed import --model bench-clip "$dir/vectors.jsonl"
cat >"$dir/profiles/bench-film.json" <<-JSON
	{"name": "bench-film", "service": "bench", "doc": "bench/inject.sh",
	 "base_url": "https://example.invalid", "request": {"path": "/x"},
	 "prompt": "/prompt", "negative": "/negative_prompt", "seed": "/seed",
	 "references": {"roles": ["face", "costume"],
	   "kinds": {"character": {}, "location": {"max": 1}, "prop": {}},
	   "per_character": 2, "max": 7,
	   "pointer": "/images", "array": true, "item": {"image": "{ref}"},
	   "encoding": "base64",
	   "limits": {"max_side": $SIDE, "format": "jpeg", "quality": 90}},
	 "outputs": {"urls": "/out"}}
JSON
film='{"prompt": "@mei.winter, @kai.storm and @ren.dusk on @harbor; @mei lifts @mirror"}'
film() { echo "$film" | "$1" "${S[@]}" inject --profile bench-film >/dev/null 2>&1; }
film "$TROUPE"
[ -z "${TROUPE_BEFORE:-}" ] || film "$TROUPE_BEFORE"
after=() before=()
for run in $(seq $RUNS); do
	t0=$(now_ns); film "$TROUPE"; t1=$(now_ns)
	after+=("$(elapsed "$t0" "$t1")")
	if [ -n "${TROUPE_BEFORE:-}" ]; then
		t0=$(now_ns); film "$TROUPE_BEFORE"; t1=$(now_ns)
		before+=("$(elapsed "$t0" "$t1")")
	fi
done
f=$(printf '%s\n' "${after[@]}" | median)
if [ -n "${TROUPE_BEFORE:-}" ]; then
	b=$(printf '%s\n' "${before[@]}" | median)
	row "inject warm, a shot: 3 chars in looks + location + prop, 7 refs of 9 wanted" "${f} ms" \
		"${b} ms (TROUPE_BEFORE)" "$(awk -v a="$f" -v b="$b" 'BEGIN { printf "%.2f", a / b }')" \
		"whole process < 20 ms" "$(awk -v m="$f" 'BEGIN { print (m < 20) ? "yes" : "NO" }')"
else
	row "inject warm, a shot: 3 chars in looks + location + prop, 7 refs of 9 wanted" "${f} ms" "-" "-" \
		"whole process < 20 ms" "$(awk -v m="$f" 'BEGIN { print (m < 20) ? "yes" : "NO" }')"
fi
