#!/usr/bin/env bash
# bench/images.sh — the picture benchmarks, each with its peer in the same
# run: add with thumbnails and pHashes against vipsthumbnail over the same
# files, similar over a million stored hashes, and derive warm and cold
# against vipsthumbnail making the same size. Called by bench/run.
#
# usage: bench/images.sh [add|similar|derive|all]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TROUPE=${TROUPE:-$here/../troupe}
out=${BENCH_DIR:-$here/out}
results=$out/results.tsv
readonly ADD_RUNS=3
# bench/scaling.sh alone sets BENCH_HASHES.
readonly HASHES=${BENCH_HASHES:-1000000} SIMILAR_RUNS=21
readonly DERIVE_RUNS=21 DERIVE_SIDE=512

note() { echo "== $*" >&2; }
row() {
	local IFS=$'\t'
	echo "$*" >>"$results"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
now_ms() { date +%s%N | awk '{ printf "%.3f", $1 / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
meets() { awk -v r="$1" -v t="$2" 'BEGIN { print (r <= t) ? "yes" : "NO" }'; }

# The same 1,000 distinct 1024x1024 JPEGs bench/run adds for ingest.
jpegs() {
	"$here/jpegs.sh" "$out/jpegs"
	echo "$out/jpegs"
}

bench_add() {
	local dir store thumbs t0 t1 troupe_ms=() peer_ms=()
	dir=$(jpegs)
	for run in $(seq $ADD_RUNS); do
		store=$out/add-store
		rm -rf "$store" && "$TROUPE" init "$store" >/dev/null
		sync
		t0=$(now_ms)
		"$TROUPE" --store "$store/.troupe" -q add "$dir" --role reference
		t1=$(now_ms)
		troupe_ms+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
		thumbs=$out/vipsthumbnail-out
		rm -rf "$thumbs" && mkdir -p "$thumbs"
		sync
		t0=$(now_ms)
		vipsthumbnail -s 256 -o "$thumbs/%s.jpg[Q=82,strip]" "$dir"/*.jpg
		t1=$(now_ms)
		peer_ms+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
	done
	local t p
	t=$(printf '%s\n' "${troupe_ms[@]}" | median)
	p=$(printf '%s\n' "${peer_ms[@]}" | median)
	row "add 1000 JPEGs + thumbnails + pHash" "${t} ms" "${p} ms" "$(ratio "$t" "$p")" \
		"2x faster than vipsthumbnail" "$(meets "$(ratio "$t" "$p")" 0.5)"
}

# A store with a million blobs carrying pHashes, made straight in SQL.
similar_store() {
	local store=$out/similar-store
	[ "$HASHES" -eq 1000000 ] || store=$store-$HASHES
	if [ ! -f "$store/.troupe/troupe.db" ] ||
		[ "$(sqlite3 "$store/.troupe/troupe.db" 'SELECT count(*) FROM blobs')" -lt $HASHES ]; then
		note "making a store with $HASHES pHashes"
		rm -rf "$store" && "$TROUPE" init "$store" >/dev/null
		# The trigger goes for the bulk load and comes back as troupe
		# wrote it (it also logs each change for the pHash file).
		local trigger
		trigger=$(sqlite3 "$store/.troupe/troupe.db" \
			"SELECT sql FROM sqlite_schema WHERE name = 'blobs_phash_insert'")
		sqlite3 "$store/.troupe/troupe.db" <<-SQL
			PRAGMA foreign_keys = ON;
			BEGIN;
			DROP TRIGGER blobs_phash_insert;
			WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $HASHES)
			INSERT INTO blobs(hash, bytes, added, phash)
			SELECT lower(hex(randomblob(16))), 1000, 1767225600, random() FROM n;
			INSERT INTO assets(blob_id, role, width, height, format, added)
			SELECT id, 'reference', 1024, 1024, 'jpeg', 1767225600 FROM blobs;
			$trigger;
			UPDATE meta SET value = value + 1 WHERE key = 'phash_generation';
			COMMIT;
		SQL
	fi
	echo "$store/.troupe"
}

bench_similar() {
	local store t0 t1 cold ms=()
	store=$(similar_store)
	rm -f "$store/cache/phash.idx"
	t0=$(now_ms)
	"$TROUPE" --store "$store" similar 1 --max-distance 10 >/dev/null
	t1=$(now_ms)
	cold=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	for run in $(seq $SIMILAR_RUNS); do
		t0=$(now_ms)
		"$TROUPE" --store "$store" similar 1 --max-distance 10 >/dev/null
		t1=$(now_ms)
		ms+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
	done
	local m
	m=$(printf '%s\n' "${ms[@]}" | median)
	row "similar over 1M pHashes (warm)" "${m} ms" "-" "-" "whole process < 50 ms" \
		"$(awk -v m="$m" 'BEGIN { print (m < 50) ? "yes" : "NO" }')"
	row "similar, first run (builds cache)" "${cold} ms" "-" "-" "-" "-"
}

bench_derive() {
	local store dir id blob t0 t1 warm=() cold=() peer=()
	dir=$(jpegs)
	store=$out/derive-store
	rm -rf "$store" && "$TROUPE" init "$store" >/dev/null
	"$TROUPE" --store "$store/.troupe" -q add "$dir/img-0001.jpg"
	blob=$("$TROUPE" --store "$store/.troupe" path 1)
	"$TROUPE" --store "$store/.troupe" -q derive 1 --max-side $DERIVE_SIDE >/dev/null
	for run in $(seq $DERIVE_RUNS); do
		t0=$(now_ms)
		"$TROUPE" --store "$store/.troupe" -q derive 1 --max-side $DERIVE_SIDE >/dev/null
		t1=$(now_ms)
		warm+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
	done
	# Cold: a recipe never asked for before, each time (a new quality),
	# against vipsthumbnail making the same size from the same file.
	for run in $(seq $DERIVE_RUNS); do
		t0=$(now_ms)
		"$TROUPE" --store "$store/.troupe" -q derive 1 --max-side $DERIVE_SIDE \
			--quality $((50 + run)) >/dev/null
		t1=$(now_ms)
		cold+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
		t0=$(now_ms)
		vipsthumbnail -s $DERIVE_SIDE -o "$out/derive-peer.jpg[Q=$((50 + run)),strip]" "$blob"
		t1=$(now_ms)
		peer+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
	done
	local w c p
	w=$(printf '%s\n' "${warm[@]}" | median)
	c=$(printf '%s\n' "${cold[@]}" | median)
	p=$(printf '%s\n' "${peer[@]}" | median)
	row "derive warm (cached)" "${w} ms" "-" "-" "whole process < 10 ms" \
		"$(awk -v m="$w" 'BEGIN { print (m < 10) ? "yes" : "NO" }')"
	row "derive cold, 1024 -> ${DERIVE_SIDE} JPEG" "${c} ms" "${p} ms" "$(ratio "$c" "$p")" \
		"within 1.2x of vipsthumbnail" "$(meets "$(ratio "$c" "$p")" 1.2)"
}

mkdir -p "$out"
case ${1:-all} in
add) bench_add ;;
similar) bench_similar ;;
derive) bench_derive ;;
all) bench_add; bench_similar; bench_derive ;;
*) echo "usage: bench/images.sh [add|similar|derive|all]" >&2; exit 64 ;;
esac
