#!/usr/bin/env bash
# bench/vectors.sh — nearest over a million 512-d vectors, side by side in
# the same run with NumPy (a matrix-vector product and argpartition over
# the same data) and with a plain sequential read of the same bytes from
# memory; then the first nearest after 1,000 more vectors are added, with
# a full rebuild of the cache file beside it. Called by bench/run; needs
# python3-numpy (Debian's).
#
# usage: bench/vectors.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TROUPE=${TROUPE:-$here/../troupe}
out=${BENCH_DIR:-$here/out}
results=$out/results.tsv
# bench/scaling.sh alone sets BENCH_VECTORS.
readonly VECTORS=${BENCH_VECTORS:-1000000} DIM=512 K=10 RUNS=11 ADDED=1000 ADD_RUNS=5
# The asset searched for: 12345, or the middle one of a smaller store.
readonly PROBE=$((VECTORS > 24690 ? 12345 : VECTORS / 2))
PY=/usr/bin/python3

note() { echo "== $*" >&2; }
row() {
	local IFS=$'\t'
	echo "$*" >>"$results"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N); awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }

"$PY" -c 'import numpy' 2>/dev/null || { echo "bench/vectors.sh: needs python3-numpy (apt-get install python3-numpy)" >&2; exit 1; }
dir=$out/vectors
[ "$VECTORS" -eq 1000000 ] || dir=$dir-$VECTORS
mkdir -p "$dir"
store=$dir/store/.troupe
if [ ! -f "$dir/ready" ]; then
	note "making $VECTORS unit vectors of $DIM dimensions and a store for them"
	rm -rf "$dir/store" && "$TROUPE" init "$dir/store" >/dev/null
	sqlite3 "$store/troupe.db" <<-SQL
		BEGIN;
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $VECTORS)
		INSERT INTO blobs(hash, bytes, added) SELECT lower(hex(randomblob(16))), 1000, 1767225600 FROM n;
		INSERT INTO assets(blob_id, role, width, height, format, added)
		SELECT id, 'reference', 512, 512, 'jpeg', 1767225600 FROM blobs;
		COMMIT;
	SQL
	"$PY" - "$dir" "$VECTORS" "$DIM" <<-'PY'
		import sys, numpy as np
		d, n, dim = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
		rng = np.random.default_rng(7)
		m = rng.standard_normal((n, dim), dtype=np.float32)
		m /= np.linalg.norm(m, axis=1, keepdims=True)
		np.save(d + "/vectors.npy", m)
		with open(d + "/ids", "w") as f:
		    f.write("\n".join(str(i) for i in range(1, n + 1)) + "\n")
	PY
	"$TROUPE" --store "$store" embed import --model bench "$dir/vectors.npy" --hashes "$dir/ids"
	touch "$dir/ready"
fi
# The assets the added vectors belong to, made once, and the vectors.
if [ ! -f "$dir/added-ready" ]; then
	sqlite3 "$store/troupe.db" <<-SQL
		BEGIN;
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $ADDED)
		INSERT INTO blobs(hash, bytes, added) SELECT lower(hex(randomblob(16))), 1000, 1767225600 FROM n;
		INSERT INTO assets(blob_id, role, width, height, format, added)
		SELECT id, 'reference', 512, 512, 'jpeg', 1767225600 FROM blobs WHERE id > $VECTORS;
		COMMIT;
	SQL
	"$PY" - "$dir" "$VECTORS" "$ADDED" "$DIM" <<-'PY'
		import sys, numpy as np
		d, first, n, dim = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
		m = np.random.default_rng(8).standard_normal((n, dim), dtype=np.float32)
		m /= np.linalg.norm(m, axis=1, keepdims=True)
		np.save(d + "/added.npy", m)
		with open(d + "/added-ids", "w") as f:
		    f.write("\n".join(str(i) for i in range(first + 1, first + n + 1)) + "\n")
	PY
	touch "$dir/added-ready"
fi
# Every timed search is of the million alone; the added ones are not yet in.
sqlite3 "$store/troupe.db" "DELETE FROM embeddings WHERE asset_id > $VECTORS"
# The first search builds the flat file from the index; not timed here.
"$TROUPE" --store "$store" nearest $PROBE --model bench -k $K >/dev/null
flat=$store/cache/vectors-bench.f32
cat >"$dir/numpy_nearest.py" <<-'PY'
	import sys, time, numpy as np
	m = np.load(sys.argv[1], mmap_mode="r")
	probe = int(sys.argv[2]) - 1
	q = np.asarray(m[probe])
	t0 = time.perf_counter()
	scores = m @ q
	top = np.argpartition(-scores, 11)[:11]
	top = top[np.argsort(-scores[top])]
	t1 = time.perf_counter()
	print(" ".join(str(i + 1) for i in top if i != probe)[:80], file=sys.stderr)
	print("%.3f" % ((t1 - t0) * 1000))
PY
troupe_ms=() numpy_ms=() numpy_inner=() read_ms=()
for run in $(seq $RUNS); do
	troupe_ms+=("$(ms "$TROUPE" --store "$store" nearest $PROBE --model bench -k $K)")
	t0=$(date +%s%N)
	inner=$("$PY" "$dir/numpy_nearest.py" "$dir/vectors.npy" $PROBE 2>/dev/null)
	t1=$(date +%s%N)
	numpy_ms+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')")
	numpy_inner+=("$inner")
	read_ms+=("$(ms cat "$flat")")
done
t=$(printf '%s\n' "${troupe_ms[@]}" | median)
n=$(printf '%s\n' "${numpy_ms[@]}" | median)
ni=$(printf '%s\n' "${numpy_inner[@]}" | median)
r=$(printf '%s\n' "${read_ms[@]}" | median)
row "nearest top-10, 1M x 512-d" "${t} ms" "${n} ms" \
	"$(awk -v a="$t" -v b="$n" 'BEGIN { printf "%.2f", a / b }')" "faster than NumPy (whole process)" \
	"$(awk -v a="$t" -v b="$n" 'BEGIN { print (a < b) ? "yes" : "NO" }')"
row "  NumPy product + argpartition only" "-" "${ni} ms" "-" "-" "-"
row "  vs plain read of the 2 GB (cat)" "${t} ms" "${r} ms" \
	"$(awk -v a="$t" -v b="$r" 'BEGIN { printf "%.2f", a / b }')" "within 1.5x of the read" \
	"$(awk -v a="$t" -v b="$r" 'BEGIN { print (a <= 1.5 * b) ? "yes" : "NO" }')"

# The first nearest after 1,000 vectors join the million: the cache file
# takes them as one appended segment. Each run takes them out again (and
# lets a search apply that) before adding them, so every run adds the
# same 1,000 to the same million. The floor is what troupe did before:
# the whole file rebuilt from the index, timed once in the same run.
added_ms=()
for run in $(seq $ADD_RUNS); do
	sqlite3 "$store/troupe.db" "DELETE FROM embeddings WHERE asset_id > $VECTORS"
	"$TROUPE" --store "$store" nearest $PROBE --model bench -k $K >/dev/null
	"$TROUPE" --store "$store" -q embed import --model bench "$dir/added.npy" --hashes "$dir/added-ids"
	added_ms+=("$(ms "$TROUPE" --store "$store" nearest $PROBE --model bench -k $K)")
done
sqlite3 "$store/troupe.db" "DELETE FROM embeddings WHERE asset_id > $VECTORS"
"$TROUPE" --store "$store" -q embed import --model bench "$dir/added.npy" --hashes "$dir/added-ids"
rm -f "$flat"
rebuild=$(ms "$TROUPE" --store "$store" nearest $PROBE --model bench -k $K)
a=$(printf '%s\n' "${added_ms[@]}" | median)
row "first nearest after adding 1,000 vectors" "${a} ms" "${rebuild} ms" \
	"$(awk -v a="$a" -v b="$rebuild" 'BEGIN { printf "%.2f", a / b }')" "< 1 s (floor: full rebuild)" \
	"$(awk -v a="$a" 'BEGIN { print (a < 1000) ? "yes" : "NO" }')"
sqlite3 "$store/troupe.db" "DELETE FROM embeddings WHERE asset_id > $VECTORS"
