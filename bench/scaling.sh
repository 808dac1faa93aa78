#!/usr/bin/env bash
# bench/scaling.sh — how each cost grows with the store: query (--count and
# --limit 100) against the hand-written SQL, similar against a plain read
# of its cache file, nearest against NumPy and a read of its file, and warm
# inject, at each size in SIZES, each size through the benchmark scripts
# themselves (bench/run query, bench/images.sh similar, bench/vectors.sh,
# bench/inject.sh) with the size set. Prints one Markdown table, also kept
# in BENCH_DIR/scaling.md.
#
# usage: bench/scaling.sh          (SIZES="10000 100000 1000000" by default)
#        SIZES="10000 100000 1000000 10000000" bench/scaling.sh
#        PARTS="query similar" bench/scaling.sh   (any of query similar
#                                                  nearest inject)
#
# Every input is cached per size in BENCH_DIR (bench/out by default) as the
# scripts cache them; a 10,000,000-asset query index takes about ten
# times the million's (minutes), and 10,000,000 vectors of 512 floats are
# a 20 GB file, so ask for that size only where there is room and time.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export TROUPE=${TROUPE:-$here/../troupe}
out=${BENCH_DIR:-$here/out}
export BENCH_DIR=$out
sizes=${SIZES:-10000 100000 1000000}
parts=${PARTS:-query similar nearest inject}
results=$out/results.tsv
table=$out/scaling.md
PY=/usr/bin/python3

note() { echo "== scaling: $*" >&2; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ms() {
	local t0=${EPOCHREALTIME/./} t1
	"$@" >/dev/null
	t1=${EPOCHREALTIME/./}
	awk -v us=$((t1 - t0)) 'BEGIN { printf "%.2f\n", us / 1000 }'
}
# The figure of the row of results.tsv whose name starts with $1, column $2.
figure() { awk -F'\t' -v n="$1" -v c="$2" 'index($1, n) == 1 { print $c; exit }' "$results"; }
# The median of 11 runs of a command.
median_of() {
	local i
	for i in $(seq 11); do ms "$@"; done | median
}

has() { case " $parts " in *" $1 "*) return 0 ;; esac; return 1; }

mkdir -p "$out"
: >"$table.rows"
for n in $sizes; do
	if has query; then
		note "query at $n assets"
		BENCH_ASSETS=$n BENCH_QUERY_RUNS=11 "$here/run" query >&2
		echo "query --count|$n|$(figure 'query --count' 2)|$(figure 'query --count' 3) (hand SQL)" >>"$table.rows"
		echo "query --limit 100|$n|$(figure 'query --limit' 2)|$(figure 'query --limit' 3) (hand SQL)" >>"$table.rows"
	fi
	if has similar; then
		note "similar at $n pHashes"
		: >"$results"
		BENCH_HASHES=$n "$here/images.sh" similar >&2
		store=$out/similar-store
		[ "$n" -eq 1000000 ] || store=$store-$n
		cat_ms=$(median_of cat "$store/.troupe/cache/phash.idx")
		echo "similar (warm)|$n|$(figure 'similar over' 2)|$cat_ms ms (\`cat\` of phash.idx)" >>"$table.rows"
	fi
	if has nearest; then
		note "nearest at $n vectors"
		: >"$results"
		BENCH_VECTORS=$n "$here/vectors.sh" >&2
		dir=$out/vectors
		[ "$n" -eq 1000000 ] || dir=$dir-$n
		cat_ms=$(median_of cat "$dir/store/.troupe/cache/vectors-bench.f32")
		echo "nearest top 10|$n|$(figure 'nearest top-10' 2)|$(figure 'nearest top-10' 3) (NumPy); $cat_ms ms (\`cat\`)" >>"$table.rows"
	fi
	if has inject; then
		note "inject at $n more assets"
		: >"$results"
		BENCH_INJECT_ASSETS=$n "$here/inject.sh" >&2
		echo "inject warm|$n|$(figure 'inject warm' 2)|-" >>"$table.rows"
	fi
done

{
	echo "| what | assets | troupe | peer, same run |"
	echo "| --- | ---: | ---: | --- |"
	sort -t'|' -k1,1 -s "$table.rows" | awk -F'|' '{ printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4 }'
} >"$table"
rm -f "$table.rows"
cat "$table"
