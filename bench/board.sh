#!/usr/bin/env bash
# bench/board.sh — troupe board of 200 shots x 3 takes, each shot with a
# still and a prompt mentioning three characters and a location: the
# whole process, warm (the page written once before into the same
# directory, the store in the page cache). Called by bench/run.
#
# The store is made fast: one tiny ffmpeg clip, made distinct 600 times
# by a trailing MP4 "free" box holding a counter (readers skip free
# boxes), added three to a shot; one still shared by every shot. Every
# take is then checked once (shot check --all) through the stand-in face
# service (tests/mock-faces.py), so that the page shows 600 recorded
# verdicts with their figures.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TROUPE=${TROUPE:-$here/../troupe}
out=${BENCH_DIR:-$here/out}
results=$out/results.tsv
readonly SHOTS=200 TAKES=3 RUNS=11

row() {
	local IFS=$'\t'
	echo "$*" >>"$results"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
now_ns() { date +%s%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }
command -v ffmpeg >/dev/null || { echo "bench/board.sh: ffmpeg not found (apt-get install ffmpeg)" >&2; exit 1; }

photos=$here/../tests/data/photos
dir=$out/board
S=(--store "$dir/.troupe")
# The store is kept between runs: made again only when missing.
if [ ! -f "$dir/made" ]; then
	rm -rf "$dir" && mkdir -p "$dir/clips"
	"$TROUPE" init "$dir" >/dev/null
	ffmpeg -nostdin -hide_banner -loglevel error -y -loop 1 -t 1 -i "$photos/astronaut.jpg" \
		-vf scale=160:120,setsar=1 -c:v libx264 -pix_fmt yuv420p -r 25 "$dir/clip.mp4"
	for c in mei kai ren; do
		"$TROUPE" "${S[@]}" -q character new $c
	done
	"$TROUPE" "${S[@]}" -q location new harbor
	"$TROUPE" "${S[@]}" -q add mei "$photos/chelsea.jpg" --role face
	"$TROUPE" "${S[@]}" -q add kai "$photos/astronaut.jpg" --role face
	"$TROUPE" "${S[@]}" -q add ren "$photos/camera.jpg" --role face
	"$TROUPE" "${S[@]}" -q add harbor "$photos/rocket.jpg" --role location
	"$TROUPE" "${S[@]}" -q add "$photos/coffee.jpg" --role generated
	still=$("$TROUPE" "${S[@]}" query role:generated --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
	n=0
	for s in $(seq -f 's%03g' $SHOTS); do
		"$TROUPE" "${S[@]}" -q shot new "$s" --prompt "@mei meets @kai and @ren on @harbor ($s)"
		"$TROUPE" "${S[@]}" -q shot still "$s" "$still"
		clips=()
		for _ in $(seq $TAKES); do
			n=$((n + 1))
			{ cat "$dir/clip.mp4"; printf '\000\000\000\020free%08d' $n; } >"$dir/clips/$n.mp4"
			clips+=("$dir/clips/$n.mp4")
		done
		"$TROUPE" "${S[@]}" -q shot take "$s" "${clips[@]}"
		"$TROUPE" "${S[@]}" -q shot pick "$s" 2
	done
	rm -rf "$dir/clips"
	touch "$dir/made"
fi

if [ ! -f "$dir/checked" ]; then
	# Mei's face (384x255) and the clips' frames (160x120, Mei and Kai)
	# are people to the stand-in; Kai's and Ren's pictures (384x384) are
	# one person, so Ren is missing from every take: some drift.
	cat >"$dir/faces.json" <<'JSON'
{"network": "mock-net", "version": "1", "dimension": 16,
 "people": {"384x255": ["mei"], "384x384": ["kai"], "160x120": ["mei", "kai"]}}
JSON
	rm -f "$dir/faces.port"
	python3 "$here/../tests/mock-faces.py" "$dir/faces.port" /dev/null "$dir/faces.json" &
	faces=$!
	trap 'kill $faces 2>/dev/null' EXIT
	for _ in $(seq 1 150); do [ -s "$dir/faces.port" ] && break; sleep 0.2; done
	export TROUPE_FACE_URL="http://127.0.0.1:$(cat "$dir/faces.port")"
	"$TROUPE" "${S[@]}" -q embed --model face
	t0=$(now_ns)
	"$TROUPE" "${S[@]}" -q shot check --all || [ $? -le 2 ]
	t1=$(now_ns)
	kill $faces
	trap - EXIT
	row "shot check --all, $SHOTS shots x $TAKES takes of 1 s, stand-in face service" \
		"$(elapsed "$t0" "$t1") ms" "-" "-" "-" "-"
	touch "$dir/checked"
fi

board() { "$TROUPE" "${S[@]}" -q board -o "$dir/site"; }
rm -rf "$dir/site"
t0=$(now_ns); board; t1=$(now_ns)
first=$(elapsed "$t0" "$t1")
times=()
for _ in $(seq $RUNS); do
	t0=$(now_ns); board; t1=$(now_ns)
	times+=("$(elapsed "$t0" "$t1")")
done
w=$(printf '%s\n' "${times[@]}" | median)
row "board warm, $SHOTS shots x $TAKES takes" "${w} ms" "-" "-" "whole process < 1 s" \
	"$(awk -v m="$w" 'BEGIN { print (m < 1000) ? "yes" : "NO" }')"
row "board into an empty directory" "${first} ms" "-" "-" "-" "-"
