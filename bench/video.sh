#!/usr/bin/env bash
# bench/video.sh — the video benchmarks, each with its peer in the same
# run, on a 10 s 1080p H.264 clip made here with ffmpeg:
#   probe and poster: the whole `troupe add` of the clip against ffprobe
#     plus `ffmpeg -ss T -frames:v 1` making the same poster (target 1.5x);
#   frame sampling: decode and scale at check's default rate through the
#     video room (bench/video-decode) against `ffmpeg -vf fps=R,scale=W:H
#     -f null -` (target 1.3x);
#   check: the whole `troupe check` of the clip at the default rate with
#     the real face service, per second of video, and the share of the
#     time the model took (the service's own times, from its log).
# Called by bench/run; needs ffmpeg, and Node.js with `npm ci` in
# contrib/face-service for the check.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TROUPE=${TROUPE:-$here/../troupe}
out=${BENCH_DIR:-$here/out}
results=$out/results.tsv
service=$here/../contrib/face-service
photos=$here/../tests/data/photos
readonly RUNS=7 RATE=4 SIDE=1024

row() {
	local IFS=$'\t'
	echo "$*" >>"$results"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
now_ms() { date +%s%N | awk '{ printf "%.3f", $1 / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
meets() { awk -v r="$1" -v t="$2" 'BEGIN { print (r <= t) ? "yes" : "NO" }'; }
command -v ffmpeg >/dev/null || { echo "bench/video.sh: needs ffmpeg" >&2; exit 1; }

dir=$out/video
mkdir -p "$dir"
clip=$dir/clip-1080p.mp4
# A moving picture, not a still: a slow zoom over the photograph, so the
# decoder has real work on every frame.
[ -s "$clip" ] || ffmpeg -v error -y -loop 1 -framerate 30 -t 10 -i "$photos/astronaut.jpg" \
	-vf "scale=3840:-2,zoompan=z='1+0.002*on':d=1:s=1920x1080:fps=30,format=yuv420p" \
	-c:v libx264 -preset medium -r 30 "$clip"
mkdir -p "$dir/bin"
make -s -C "$here/.." bench/video-decode >/dev/null
export TROUPE_MODULE_DIR=$here/../.libs

# Probe and poster, interleaved rounds.
troupe_ms=() peer_ms=()
for run in $(seq $RUNS); do
	rm -rf "$dir/store" && "$TROUPE" init "$dir/store" >/dev/null
	t0=$(now_ms)
	"$TROUPE" --store "$dir/store/.troupe" -q add "$clip" --role generated
	t1=$(now_ms)
	troupe_ms+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
	t0=$(now_ms)
	ffprobe -v error -show_streams -show_format "$clip" >/dev/null
	ffmpeg -v error -y -ss 5 -i "$clip" -frames:v 1 -vf scale=256:-2 "$dir/poster.jpg"
	t1=$(now_ms)
	peer_ms+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
done
t=$(printf '%s\n' "${troupe_ms[@]}" | median)
p=$(printf '%s\n' "${peer_ms[@]}" | median)
r=$(ratio "$t" "$p")
row "add of a 10 s 1080p H.264 clip (probe + poster)" "$t ms" "$p ms" "$r" "$(meets "$r" 1.5) (target 1.5x)" "ffprobe + ffmpeg -ss 5 -frames:v 1"

# Frame sampling, decode and scale only.
troupe_ms=() peer_ms=()
for run in $(seq $RUNS); do
	t0=$(now_ms)
	frames=$("$here/video-decode" "$clip" $RATE $SIDE)
	t1=$(now_ms)
	troupe_ms+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
	t0=$(now_ms)
	ffmpeg -v error -i "$clip" -vf "fps=$RATE,scale=$SIDE:-2" -f null -
	t1=$(now_ms)
	peer_ms+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
done
t=$(printf '%s\n' "${troupe_ms[@]}" | median)
p=$(printf '%s\n' "${peer_ms[@]}" | median)
r=$(ratio "$t" "$p")
row "sample $frames frames of the clip at $RATE/s, scaled to $SIDE" "$t ms" "$p ms" "$r" "$(meets "$r" 1.3) (target 1.3x)" "ffmpeg -vf fps=$RATE,scale=$SIDE:-2 -f null -"

# The whole check with the real face service.
if [ -d "$service/node_modules/@vladmandic/human" ]; then
	rm -f "$dir/face.port"
	node "$service/server.js" --port 0 --port-file "$dir/face.port" >/dev/null 2>"$dir/service.log" &
	face=$!
	trap 'kill $face 2>/dev/null' EXIT
	for i in $(seq 1 150); do [ -s "$dir/face.port" ] && break; sleep 0.2; done
	export TROUPE_FACE_URL="http://127.0.0.1:$(cat "$dir/face.port")"
	S=(--store "$dir/store/.troupe")
	"$TROUPE" "${S[@]}" -q character new eileen
	"$TROUPE" "${S[@]}" -q character new cam
	"$TROUPE" "${S[@]}" -q add eileen "$photos/astronaut.jpg" --role face
	"$TROUPE" "${S[@]}" -q add cam "$photos/camera.jpg" --role face
	"$TROUPE" "${S[@]}" -q embed --model face
	"$TROUPE" "${S[@]}" -q calibrate --model face 2>/dev/null
	: >"$dir/service.log.mark"
	lines=$(wc -l <"$dir/service.log")
	t0=$(now_ms)
	"$TROUPE" "${S[@]}" -q check "$clip" --character eileen --json >"$dir/check.json" || true
	t1=$(now_ms)
	total=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
	model=$(tail -n +"$((lines + 1))" "$dir/service.log" | sed -n 's/.* \([0-9]*\) ms$/\1/p' |
		awk '{ s += $1 } END { print s + 0 }')
	row "check of the clip at $RATE frames/s, face model" "$(awk -v t="$total" 'BEGIN { printf "%.0f ms per s of video", t / 10 }')" \
		"-" "-" "model $(awk -v m="$model" -v t="$total" 'BEGIN { printf "%.0f%%", 100 * m / t }') of the time" \
		"$(grep -o '"verdict":[^,]*' "$dir/check.json" | head -1)"
	kill $face 2>/dev/null || true
fi
