#!/usr/bin/env bash
# bench/face-eval.sh — how well troupe check tells real people apart, per face
# model: five people of dlib's examples (Debian's libdlib19.1) registered as
# characters, their other photographs, identity-preserving and stylised
# variants of them, strangers cropped from group photographs and pictures
# without a face, all through `troupe check --json`; bench/face-eval.py turns
# the answers into ROC AUC, EER, verdict accuracy and "no face" counts.
#
# usage: bench/face-eval.sh [MODEL...]      (default: face)
#
# environment:
#   TROUPE         the troupe binary (default: the one built in this tree)
#   BENCH_DIR      scratch directory (default: bench/out); results in
#                  BENCH_DIR/face-eval/results.{tsv,md}, results-timing.tsv
#                  and results-noface.tsv (the shots with no face found)
#   DLIB_EXAMPLES  an unpacked dlib examples directory (with johns/ and
#                  faces/) instead of the package fetched into the cache
#   FACE_SERVICE   the face service's directory (default: contrib/face-service
#                  of this tree, after `npm ci` there)
#   REFS           the numbers of references per person, one run each
#                  (default: "3 1")
#   PAD            1: pad every 150-px face crop onto a 300-px canvas (edges
#                  copied) before making its variants, to measure the
#                  descriptor apart from a detector that misses tight crops;
#                  runs and results then carry "-padded" in their names
#
# Needs: libvips-tools, Node.js, python3, curl; apt-get and dpkg the first
# time, to fetch the package (nothing is downloaded once it is cached).
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TROUPE=${TROUPE:-$here/../troupe}
out=${BENCH_DIR:-$here/out}/face-eval
service=${FACE_SERVICE:-$here/../contrib/face-service}
refs_list=${REFS:-3 1}
models=("$@")
suffix=
[ "${PAD:-0}" = 1 ] && suffix=-padded
[ ${#models[@]} -gt 0 ] || models=(face)

die() { echo "bench/face-eval.sh: $*" >&2; exit 1; }
note() { echo "== $*" >&2; }
need() { command -v "$1" >/dev/null || die "$1 not found (Debian package: $2)"; }

need vips libvips-tools
need vipsheader libvips-tools
need node nodejs
need python3 python3
need curl curl
[ -x "$TROUPE" ] || die "no troupe binary at $TROUPE: build it first, or set TROUPE"
[ -f "$service/server.js" ] || die "no face service at $service (set FACE_SERVICE)"
[ -d "$service/node_modules" ] || die "run 'npm ci' in $service first"
TROUPE=$(cd "$(dirname "$TROUPE")" && pwd)/$(basename "$TROUPE")
export TROUPE_PROFILE_PATH=${TROUPE_PROFILE_PATH:-$here/../profiles}
mkdir -p "$out"

# --- The photographs ---------------------------------------------------------
# The package, once: apt-get download needs no root and installs nothing;
# dpkg -x unpacks it here, so a system without /usr/share/doc still works.
if [ -n "${DLIB_EXAMPLES:-}" ]; then
	examples=$DLIB_EXAMPLES
else
	cache=$out/dlib
	examples=$cache/root/usr/share/doc/libdlib19.1/examples
	if [ ! -d "$examples/johns" ]; then
		need apt-get apt
		need dpkg dpkg
		note "fetching libdlib19.1 into $cache"
		rm -rf "$cache" && mkdir -p "$cache"
		(cd "$cache" && apt-get download libdlib19.1) >&2 ||
			die "apt-get download libdlib19.1 failed (is the Debian archive in sources.list?)"
		dpkg -x "$cache"/libdlib19.1_*.deb "$cache/root"
	fi
fi
[ -d "$examples/johns" ] && [ -d "$examples/faces" ] ||
	die "$examples has no johns/ and faces/"

set_dir=$out/set$suffix
if [ ! -f "$set_dir/.done" ]; then
	note "making the variants (once; delete $set_dir to make them again)"
	rm -rf "$set_dir" && mkdir -p "$set_dir/photos" "$set_dir/impostor" "$set_dir/noface"
	# One photograph of John_Shimkus is shipped twice under two names; the
	# second copy (by name) would be a held-out shot identical to another.
	place() {
		if [ -n "$suffix" ]; then
			local w h
			w=$(vipsheader -f width "$1")
			h=$(vipsheader -f height "$1")
			vips embed "$1" "$2" $((w / 2)) $((h / 2)) $((w * 2)) $((h * 2)) --extend copy
		else
			cp "$1" "$2"
		fi
	}
	declare -A seen=()
	for person_dir in "$examples"/johns/*/; do
		person=$(basename "$person_dir")
		mkdir -p "$set_dir/photos/$person"
		for f in "$person_dir"*.jpg; do
			sum=$(sha256sum "$f" | cut -d' ' -f1)
			if [ -n "${seen[$sum]:-}" ]; then
				echo "dropped $person/$(basename "$f"): byte-identical to ${seen[$sum]}" |
					tee -a "$set_dir/duplicates.txt" >&2
				continue
			fi
			seen[$sum]=$person/$(basename "$f")
			place "$f" "$set_dir/photos/$person/$(basename "$f")"
		done
	done
	printf '3 3 1 0\n1.2 0 -0.2\n0 1 0\n-0.2 0 1.2\n' >"$set_dir/tealorange.mat"
	tmp=$set_dir/tmp.v
	for f in "$set_dir"/photos/*/*.jpg; do
		rel=${f#"$set_dir"/photos/}
		v() { mkdir -p "$set_dir/$1/$(dirname "$rel")" && echo "$set_dir/$1/$rel"; }
		w=$(vipsheader -f width "$f")
		h=$(vipsheader -f height "$f")
		vips copy "$f" "$(v jpeg30)[Q=30]"
		vips resize "$f" "$(v scale0.5)" 0.5
		vips resize "$f" "$(v scale2)" 2
		vips linear "$f" "$(v dark0.6)" 0.6 0 --uchar
		vips linear "$f" "$(v bright1.4)" 1.4 0 --uchar
		vips colourspace "$f" "$(v grey)" b-w
		vips flip "$f" "$(v mirror)" horizontal
		vips rotate "$f" "$(v rotate10)" 10
		vips crop "$f" "$(v tightcrop)" $((w * 15 / 100)) $((h * 15 / 100)) \
			$((w * 70 / 100)) $((h * 70 / 100))
		# Four levels a band: floor(x / 64) * 64 + 32.
		vips linear "$f" "$tmp" 0.015625 0
		vips round "$tmp" "$set_dir/tmp2.v" floor
		vips linear "$set_dir/tmp2.v" "$(v posterise)" 64 32 --uchar
		vips gaussblur "$f" "$(v blur2)" 2
		vips linear "$f" "$(v warm)" "1.15 1.02 0.8" "12 0 -8" --uchar
		vips recomb "$f" "$tmp" "$set_dir/tealorange.mat"
		vips cast "$tmp" "$(v tealorange)" uchar
	done
	rm -f "$tmp" "$set_dir/tmp2.v"
	# Strangers: the boxed faces of the group photographs, grown and scaled
	# to the johns' 150 pixels; corners with no face in them; two whole
	# pictures of people not boxed; and dlib's dogs.
	python3 "$here/face-eval.py" crops "$examples"/faces/training.xml \
		"$examples"/faces/testing.xml | while read -r kind src name x y w h; do
		vips crop "$examples/faces/$src" "$set_dir/tmp.v" "$x" "$y" "$w" "$h"
		vips resize "$set_dir/tmp.v" "$set_dir/tmp.jpg" "$(awk -v w="$w" 'BEGIN { print 150 / w }')"
		place "$set_dir/tmp.jpg" "$set_dir/$kind/$name"
	done
	rm -f "$set_dir/tmp.v" "$set_dir/tmp.jpg"
	cp "$examples"/faces/Tom_Cruise_avp_2014_4.jpg "$examples"/faces/bald_guys.jpg "$set_dir/impostor/"
	cp "$examples"/faces/dogs.jpg "$set_dir/noface/"
	touch "$set_dir/.done"
fi

# --- The face service, behind a cache ----------------------------------------
tmpdir=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmpdir"
}
trap cleanup EXIT
wait_port() {
	local i
	for i in $(seq 1 300); do [ -s "$1" ] && return 0; sleep 0.2; done
	die "$2 did not start"
}
node "$service/server.js" --port 0 --port-file "$tmpdir/service.port" 2>"$out/service.log" >/dev/null &
pids+=($!)
wait_port "$tmpdir/service.port" "the face service (see $out/service.log)"
direct=http://127.0.0.1:$(cat "$tmpdir/service.port")
curl -sf "$direct/health" >"$out/health.json" || die "the face service does not answer /health"
# Keyed by what decides an answer: the service's code, its lock file and
# what it says of itself; a changed service starts an empty cache.
key=$(cat "$service/server.js" "$service/package-lock.json" "$out/health.json" 2>/dev/null |
	sha256sum | cut -c1-16)
python3 "$here/face-eval.py" cache "$tmpdir/cache.port" "$direct" "$out/cache/$key" &
pids+=($!)
wait_port "$tmpdir/cache.port" "the cache"
cached=http://127.0.0.1:$(cat "$tmpdir/cache.port")

# check exits 1 (some drifted) or 2 (only "no face" failed) on a normal run.
check() {
	local rc=0
	"$TROUPE" "$@" 2>"$tmpdir/check.err" || rc=$?
	grep -v 'drifted from\|no face' "$tmpdir/check.err" >&2 || true
	[ $rc -le 2 ] || die "troupe check failed ($rc): $* ($(cat "$tmpdir/check.err"))"
}
now() { date +%s.%N; }

runs=()
for model in "${models[@]}"; do
	first_threshold=
	for R in $refs_list; do
		run=$out/$model-r$R$suffix
		note "model $model, $R reference(s) per person"
		rm -rf "$run" && mkdir -p "$run/shots" "$run/refs"
		S=(--store "$run/.troupe")
		"$TROUPE" init "$run" >/dev/null
		: >"$run/characters.tsv"
		for person_dir in "$set_dir"/photos/*/; do
			person=$(basename "$person_dir")
			slug=$(echo "$person" | tr 'A-Z_' 'a-z-')
			printf '%s\t%s\n' "$slug" "$person" >>"$run/characters.tsv"
			"$TROUPE" "${S[@]}" -q character new "$slug"
			mapfile -t photos < <(cd "$person_dir" && ls ./*.jpg | sed 's|^\./||')
			mkdir -p "$run/refs/$person"
			for f in "${photos[@]:0:$R}"; do cp "$person_dir$f" "$run/refs/$person/"; done
			"$TROUPE" "${S[@]}" -q add "$slug" "$run/refs/$person" --role face
			for g in clean "$set_dir"/*/; do
				g=$(basename "$g")
				case $g in photos | impostor | noface) continue ;; esac
				[ "$g" = clean ] && src=$set_dir/photos || src=$set_dir/$g
				mkdir -p "$run/shots/$g/$person"
				for f in "${photos[@]:$R}"; do ln "$src/$person/$f" "$run/shots/$g/$person/$f"; done
			done
		done
		cp -r "$set_dir/impostor" "$set_dir/noface" "$run/shots/"
		export TROUPE_FACE_URL=$cached
		"$TROUPE" "${S[@]}" -q embed --model "$model"
		threshold=
		if "$TROUPE" "${S[@]}" calibrate --model "$model" --json >"$run/calibrate.json" 2>"$run/calibrate.err"; then
			calibrated=yes
			threshold=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["threshold"])' "$run/calibrate.json")
			first_threshold=${first_threshold:-$threshold}
		else
			# Today's calibrate needs two references of one character.
			calibrated="refused: $(tr '\n' ' ' <"$run/calibrate.err")"
			[ -n "$first_threshold" ] || die "calibrate refused and no earlier run's threshold to borrow"
			threshold=$first_threshold
			note "calibrate refused with $R reference(s); using the threshold of the first run, $threshold"
		fi
		T=()
		[ "$calibrated" = yes ] || T=(--threshold "$threshold")
		first_slug=$(head -1 "$run/characters.tsv" | cut -f1)
		first_person=$(head -1 "$run/characters.tsv" | cut -f2)
		timing=()
		if [ "$R" = "$(echo "$refs_list" | awk '{ print $1 }')" ]; then
			# Time against the service itself, warm, not the cache.
			export TROUPE_FACE_URL=$direct
			one=$(ls "$run/shots/clean/$first_person/"*.jpg | head -1)
			check "${S[@]}" check --json --model "$model" --character "$first_slug" "${T[@]}" "$one" >/dev/null
			singles=()
			for i in 1 2 3 4 5; do
				t0=$(now)
				check "${S[@]}" check --json --model "$model" --character "$first_slug" "${T[@]}" "$one" >/dev/null
				singles+=("$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }')")
			done
			one_shot=$(printf '%s\n' "${singles[@]}" | sort -n | sed -n 3p)
			n=$(find "$run/shots/clean" -name '*.jpg' | wc -l)
			t0=$(now)
			check "${S[@]}" check --json --model "$model" --character "$first_slug" "${T[@]}" \
				"$run/shots/clean" >/dev/null
			check_s=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
			timing=("check_shots	$n" "check_s	$check_s" "one_shot_s	$one_shot")
			export TROUPE_FACE_URL=$cached
		fi
		{
			printf 'model\t%s\nrefs\t%s\nthreshold\t%s\ncalibrate\t%s\n' "$model" "$R" "$threshold" "$calibrated"
			[ ${#timing[@]} -eq 0 ] || printf '%s\n' "${timing[@]}"
		} >"$run/meta.tsv"
		while IFS=$'\t' read -r slug person <&3; do
			note "  check $(find "$run/shots" -name '*.jpg' | wc -l) shots against $slug"
			probe=$(ls "$run/shots/clean/$person/"*.jpg | head -1)
			if ! "$TROUPE" "${S[@]}" check --model "$model" --character "$slug" "${T[@]}" \
				"$probe" >/dev/null 2>"$tmpdir/probe.err" &&
				grep -q 'has no references with' "$tmpdir/probe.err"; then
				# No reference of this person gave the model a vector: a
				# character it cannot register at all. bench/face-eval.py
				# scores its pairs as "no reference".
				note "  $slug has no reference with a vector; its pairs count as no reference"
				echo '[]' >"$run/check-$slug.json"
				touch "$run/noref-$slug"
				continue
			fi
			check "${S[@]}" check --json --model "$model" --character "$slug" "${T[@]}" \
				"$run/shots" >"$run/check-$slug.json"
		done 3<"$run/characters.tsv"
		runs+=("$run")
	done
done
python3 "$here/face-eval.py" report "$out/results$suffix" "${runs[@]}"
