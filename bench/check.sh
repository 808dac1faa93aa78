#!/usr/bin/env bash
# bench/check.sh — troupe check of 100 shots against a character with 10
# references, with the local face service: shots per second, and where the
# time goes (the service's own time per image, from a direct request, against
# troupe's whole run). Called by bench/run; needs Node.js and `npm ci` in
# contrib/face-service.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TROUPE=${TROUPE:-$here/../troupe}
out=${BENCH_DIR:-$here/out}
results=$out/results.tsv
service=$here/../contrib/face-service
photos=$here/../tests/data/photos
readonly SHOTS=100 REFS=10

row() {
	local IFS=$'\t'
	echo "$*" >>"$results"
}
[ -d "$service/node_modules/@vladmandic/human" ] && [ -d "$service/node_modules/@vladmandic/face-api" ] ||
	{ echo "bench/check.sh: run 'npm ci' in contrib/face-service first" >&2; exit 1; }
dir=$out/check
rm -rf "$dir" && mkdir -p "$dir/refs" "$dir/shots"
node "$service/server.js" --port 0 --port-file "$dir/port" >/dev/null 2>"$dir/service.log" &
face=$!
trap 'kill $face 2>/dev/null' EXIT
for i in $(seq 1 150); do [ -s "$dir/port" ] && break; sleep 0.2; done
export TROUPE_FACE_URL="http://127.0.0.1:$(cat "$dir/port")"
# The built-in face profile, from the source tree when troupe is not installed.
export TROUPE_PROFILE_PATH=${TROUPE_PROFILE_PATH:-$here/../profiles}
# References and shots: the same portrait re-framed, re-lit and resized.
for i in $(seq 1 $REFS); do
	vips crop "$photos/astronaut.jpg" "$dir/refs/$i.jpg" $((i * 3)) $((i * 2)) 330 350 >/dev/null 2>&1
done
for i in $(seq 1 $SHOTS); do
	vips linear "$photos/astronaut.jpg" "$dir/shots/$i.jpg" "1.$((i % 9))" $((i % 20)) >/dev/null 2>&1
done
S=(--store "$dir/.troupe")
"$TROUPE" init "$dir" >/dev/null
"$TROUPE" "${S[@]}" -q character new eileen
"$TROUPE" "${S[@]}" -q character new cam
"$TROUPE" "${S[@]}" -q add eileen "$dir/refs" --role face
"$TROUPE" "${S[@]}" -q add cam "$photos/camera.jpg" --role face
for model in face face-api; do
"$TROUPE" "${S[@]}" -q embed --model $model
"$TROUPE" "${S[@]}" calibrate --model $model >/dev/null 2>&1
# The service alone: one request per shot, straight to it.
t0=$(date +%s%N)
for i in $(seq 1 $SHOTS); do
	curl -s -o /dev/null -H 'Content-Type: image/jpeg' --data-binary "@$dir/shots/$i.jpg" \
		"$TROUPE_FACE_URL/embed/$model"
done
t1=$(date +%s%N)
service_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
t0=$(date +%s%N)
"$TROUPE" "${S[@]}" check "$dir/shots" --model $model --character eileen --json >"$dir/check.json" || true
t1=$(date +%s%N)
check_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
passed=$(grep -c '"pass":	true' "$dir/check.json" || true)
# One shot, the whole process, service warm: the median of 7.
one=()
for i in 1 2 3 4 5 6 7; do
	t0=$(date +%s%N)
	"$TROUPE" "${S[@]}" check "$dir/shots/$i.jpg" --model $model --character eileen >/dev/null || true
	t1=$(date +%s%N)
	one+=("$(( (t1 - t0) / 1000000 ))")
done
one_ms=$(printf '%s\n' "${one[@]}" | sort -n | sed -n 4p)
row "check 1 shot, 10 refs, $model (median of 7)" "${one_ms} ms" "-" "-" "target < 300 ms" "-"
row "check 100 shots, 10 refs, $model" "${check_s} s" "${service_s} s" \
	"$(awk -v a="$check_s" -v b="$service_s" 'BEGIN { printf "%.2f", a / b }')" \
	"$(awk -v s="$check_s" -v n=$SHOTS 'BEGIN { printf "%.1f shots/s", n / s }')" \
	"$passed/$SHOTS same"
done
