#!/usr/bin/env bash
# bench/soak.sh — kills troupe commands that write the store, at random
# moments (SIGKILL after a random delay) and at their fault points
# (TROUPE_FAULT, see troupe(1)), on a real store of real JPEGs, until at
# least $KILLS kills, and reports committed assets lost (the goal is 0),
# leftovers, and fsck's verdict.
#
# Each round removes an asset or two, then runs one or two commands from
# COMMANDS side by side, each killed or not. Before the round every
# committed asset is noted (id and blob hash, from the index, with nothing
# running); after it every one of those not removed on purpose must still
# be there with its blob in objects/ and of its size, and every asset the
# index names must have its blob. A command joins the soak by one line in
# COMMANDS: its name (the prefix of its fault points) and the command line,
# in which $batch is a few of the pictures.
#
# push and pull talk to a real object store (OpenStack Swift with s3api
# on loopback, started once as tests/s3-lib.sh does): push sends mei to
# "studio"; pull takes kai, whom another store pushed to "origin", back
# with --theirs whenever a round's removals changed him here; import
# takes lin back the same way from a bundle another store exported.
# Without the Swift packages push and pull are left out, and the report
# says so.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
TROUPE=${TROUPE:-$here/../troupe}
BENCH_DIR=${BENCH_DIR:-$here/out}
KILLS=${KILLS:-200}
PICTURES=${PICTURES:-120}
SEED=${SEED:-1}
MANUAL=$here/../man/troupe.1

COMMANDS='
add	"$TROUPE" add mei $batch --role face --json
gc	"$TROUPE" gc --grace 0
push	"$TROUPE" push studio mei
pull	"$TROUPE" pull origin kai --theirs
import	"$TROUPE" import "$work/lin.troupe" --theirs
'

die() { echo "bench/soak.sh: $*" >&2; exit 1; }
command -v sqlite3 >/dev/null || die "needs sqlite3"
command -v vips >/dev/null || die "needs vips (libvips-tools)"
[ -x "$TROUPE" ] || die "$TROUPE: not built"
RANDOM=$SEED

# Real JPEGs: a coloured noise field each, made once, 640x640, ~100 kB.
pool=$BENCH_DIR/soak-jpegs
if [ ! -d "$pool" ]; then
	echo "== making $PICTURES JPEGs (once)" >&2
	mkdir -p "$pool.tmp"
	for i in $(seq -w 1 "$PICTURES"); do
		vips gaussnoise "$pool.tmp/n.v" 20 20 --mean 128 --sigma 50 --seed $((10#$i))
		vips resize "$pool.tmp/n.v" "$pool.tmp/r.v" 32 --kernel cubic
		vips falsecolour "$pool.tmp/r.v" "$pool.tmp/img-$i.jpg[Q=90,strip]"
	done
	rm -f "$pool.tmp"/*.v
	mv "$pool.tmp" "$pool"
fi
pictures=("$pool"/img-*.jpg)

work=$BENCH_DIR/soak
rm -rf "$work"
mkdir -p "$work"
cd "$work"
export TROUPE_DIR=$work/.troupe
"$TROUPE" init "$work" >/dev/null
"$TROUPE" character new mei >/dev/null
db=$TROUPE_DIR/troupe.db

# lin comes from a bundle another store exported, for import.
(
	export TROUPE_DIR=$work/lin/.troupe
	"$TROUPE" init "$work/lin" >/dev/null
	"$TROUPE" character new lin >/dev/null
	"$TROUPE" add lin "${pictures[@]:30:20}" --role face >/dev/null
	"$TROUPE" export lin -o "$work/lin.troupe" >/dev/null
) || die "could not make the bundle to import"

# The object store, stopped when the soak ends, and kai's home on it.
. "$here/../tests/s3-lib.sh"
if prereq_S3; then
	scratch=$work
	test_atexit() { trap "$1" EXIT; }
	start_s3 >/dev/null
	s3_call PUT /soak | grep -q '^200' || die "could not make the bucket"
	for remote in origin studio; do
		"$TROUPE" -q remote add "$remote" "s3://soak/$remote" --endpoint "$S3_ENDPOINT" --path-style
	done
	(
		export TROUPE_DIR=$work/origin/.troupe
		"$TROUPE" init "$work/origin" >/dev/null
		"$TROUPE" character new kai >/dev/null
		"$TROUPE" add kai "${pictures[@]:0:30}" --role face >/dev/null
		"$TROUPE" -q remote add origin s3://soak/origin --endpoint "$S3_ENDPOINT" --path-style
		"$TROUPE" push origin >/dev/null
	)
	"$TROUPE" pull origin >/dev/null
	s3_note="push and pull against Swift on loopback"
else
	COMMANDS=$(printf '%s\n' "$COMMANDS" | grep -v -e '^push	' -e '^pull	')
	s3_note="push and pull LEFT OUT: $prereq_why"
fi

# The fault points of a command: troupe(1)'s list, by prefix.
points_of() {
	sed -n '/^\.It Ev TROUPE_FAULT$/,/^\.It Ev /p' "$MANUAL" |
		sed -n "/^\\.Bl/,/^\\.El/s/^\\.It Li \\($1-[a-z0-9-]*\\)\$/\\1/p"
}
mapfile -t names < <(printf '%s' "$COMMANDS" | awk -F'\t' 'NF { print $1 }')
declare -A line points
for name in "${names[@]}"; do
	line[$name]=$(printf '%s' "$COMMANDS" | awk -F'\t' -v n="$name" '$1 == n { print $2 }')
	points[$name]=$(points_of "$name" | tr '\n' ' ')
done

committed() {
	sqlite3 "$db" "SELECT a.id, b.hash, b.bytes FROM assets a JOIN blobs b ON b.id = a.blob_id ORDER BY a.id"
}
blob_path() { echo "$TROUPE_DIR/objects/${1:0:2}/${1:2}"; }

# Every asset the index names has its blob, of its size; prints the lost.
check_blobs() {
	local id hash bytes path
	while IFS='|' read -r id hash bytes; do
		path=$(blob_path "$hash")
		if [ ! -f "$path" ] || [ "$(stat -c %s "$path")" != "$bytes" ]; then echo "$id"; fi
	done
}

kills=0 faults=0 sigkills=0 finished=0 rounds=0 lost=0 vanished=0
declare -A killed_by
start=$(date +%s)
while [ "$kills" -lt "$KILLS" ]; do
	rounds=$((rounds + 1))
	# Remove an asset or two now and then, so gc has blobs to free and
	# later adds find their blobs unreferenced, or gone.
	n=$(sqlite3 "$db" 'SELECT count(*) FROM assets')
	if [ "$n" -gt 4 ] && [ $((RANDOM % 3)) = 0 ]; then
		ids=$(sqlite3 "$db" "SELECT id FROM assets ORDER BY random() LIMIT $((RANDOM % 2 + 1))")
		# shellcheck disable=SC2086
		"$TROUPE" rm $ids >/dev/null
	fi
	committed >before.txt

	pids=()
	labels=()
	for slot in 1 2; do
		[ "$slot" = 2 ] && [ $((RANDOM % 2)) = 0 ] && continue
		name=${names[RANDOM % ${#names[@]}]}
		batch=
		for _ in $(seq 1 $((RANDOM % 8 + 1))); do batch="$batch ${pictures[RANDOM % ${#pictures[@]}]}"; done
		read -r -a pts <<<"${points[$name]}"
		fault=
		mode=$((RANDOM % 10))
		if [ "$mode" -lt 4 ] && [ "${#pts[@]}" -gt 0 ]; then
			fault="${pts[RANDOM % ${#pts[@]}]}@$((RANDOM % 3 + 1))"
		fi
		(
			[ -n "$fault" ] && export TROUPE_FAULT=$fault
			eval "exec ${line[$name]}" >/dev/null 2>>"$work/errors.log"
		) &
		pids+=($!)
		# A kill after 0 to 80 or 0 to 600 ms for most of the rest (gc
		# is over in tens of milliseconds, a batch of adds in hundreds);
		# a few finish.
		if [ -z "$fault" ] && [ "$mode" -lt 9 ]; then
			labels+=("$name:sigkill:$((RANDOM % ($((RANDOM % 2)) ? 80 : 600)))")
		else
			labels+=("$name:${fault:-none}:0")
		fi
	done
	for i in "${!pids[@]}"; do
		IFS=: read -r name how delay <<<"${labels[$i]}"
		if [ "$how" = sigkill ]; then
			(sleep "$(printf '0.%03d' "$delay")"; kill -KILL "${pids[$i]}" 2>/dev/null || true) &
		fi
	done
	for i in "${!pids[@]}"; do
		IFS=: read -r name how delay <<<"${labels[$i]}"
		status=0
		{ wait "${pids[$i]}"; } 2>/dev/null || status=$?
		case $status in
		86) faults=$((faults + 1)); kills=$((kills + 1)); killed_by[$name]=$((${killed_by[$name]:-0} + 1)) ;;
		137) sigkills=$((sigkills + 1)); kills=$((kills + 1)); killed_by[$name]=$((${killed_by[$name]:-0} + 1)) ;;
		*) finished=$((finished + 1)) ;;
		esac
	done
	wait

	# Nothing runs now: what was committed before must still be there.
	committed >after.txt
	gone=$(LC_ALL=C comm -23 <(LC_ALL=C sort before.txt) <(LC_ALL=C sort after.txt) | wc -l)
	vanished=$((vanished + gone))
	broken=$(check_blobs <after.txt | wc -l)
	lost=$((lost + broken))
done
took=$(($(date +%s) - start))

tmp_left=$(find "$TROUPE_DIR/tmp" -type f | wc -l)
verdict=$("$TROUPE" fsck --full --json 2>/dev/null || true)
kinds=$(printf '%s' "$verdict" | python3 -c '
import json, sys, collections
c = collections.Counter(p["kind"] for p in json.load(sys.stdin)["problems"])
print(", ".join(f"{k} {n}" for k, n in sorted(c.items())) or "none")')
"$TROUPE" fsck --repair >/dev/null 2>&1 || true
"$TROUPE" gc --grace 0 >/dev/null 2>&1
after=$("$TROUPE" fsck --full >/dev/null 2>&1 && echo clean || echo "not clean")
assets=$(sqlite3 "$db" 'SELECT count(*) FROM assets')
objects=$(find "$TROUPE_DIR/objects" -type f | wc -l)

echo "remotes             $s3_note"
echo "rounds              $rounds ($took s)"
echo "kills               $kills: $faults at fault points, $sigkills by SIGKILL ($(for n in "${names[@]}"; do printf '%s %s ' "$n" "${killed_by[$n]:-0}"; done))"
echo "runs that finished  $finished"
echo "committed assets lost (row gone)      $vanished"
echo "committed assets lost (blob missing)  $lost"
echo "leftovers at the end: $tmp_left in tmp/; fsck --full found: $kinds"
echo "after fsck --repair and gc --grace 0: fsck --full $after; $assets assets, $objects files in objects/"
touch "$work/errors.log"
echo "errors other than kills: $(wc -l <"$work/errors.log") lines in $work/errors.log"
