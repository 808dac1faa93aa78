#!/usr/bin/env bash
# bench/s3.sh — troupe's remotes against the tools a team would otherwise
# use, on a real object store (OpenStack Swift with s3api on loopback, as
# tests/s3-lib.sh starts it), in the same run:
#
#   push   `troupe push` of the 1,000-JPEG ingest workload against
#          `aws s3 sync` (Debian's awscli) and `rclone copy` of the same
#          files; each to a fresh prefix, rounds interleaved, median
#   pull   `troupe pull` into an empty store (every blob verified, XXH3
#          and SHA-256, before the commit) against `aws s3 sync` down
#   fsck   `troupe fsck --full` of the 1,000-JPEG store against
#          `xxh128sum` over the same files, warm cache
#
# Rows go to $BENCH_DIR/results.tsv when bench/run calls it, and are
# printed either way. Needs: the Swift packages (see tests/s3-lib.sh),
# awscli, rclone, xxhash, libvips-tools, python3, curl.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TROUPE=${TROUPE:-$here/../troupe}
out=${BENCH_DIR:-$here/out}
readonly ROUNDS=${ROUNDS:-3} JPEGS=1000

die() { echo "bench/s3.sh: $*" >&2; exit 1; }
note() { echo "== $*" >&2; }
for tool in swift-proxy-server memcached rclone xxh128sum python3 curl; do
	command -v "$tool" >/dev/null || die "$tool not found"
done
# Debian's awscli, not another one earlier on PATH.
AWS=/usr/bin/aws
[ -x "$AWS" ] || die "$AWS not found (apt-get install awscli)"
[ -x "$TROUPE" ] || die "$TROUPE: not built"
unset TROUPE_DIR

row() {
	local IFS=$'\t'
	echo "$*"
	[ -z "${BENCH_DIR:-}" ] || echo "$*" >>"$BENCH_DIR/results.tsv"
}
median() {
	sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# Milliseconds one command takes, its output kept in $work/last.out.
ms() {
	local t0=${EPOCHREALTIME/./} t1
	"$@" >"$work/last.out" 2>&1 || { cat "$work/last.out" >&2; die "failed: $*"; }
	t1=${EPOCHREALTIME/./}
	echo $(((t1 - t0) / 1000))
}

work=$out/s3
rm -rf "$work"
mkdir -p "$work"

# The store, as the tests start it; its servers stop when this script ends.
scratch=$work
test_atexit() { trap "$1" EXIT; }
# shellcheck source=../tests/s3-lib.sh
. "$here/../tests/s3-lib.sh"
note "starting Swift on loopback"
start_s3
s3_call PUT /bench | grep -q '^200' || die "could not make the bucket"

export AWS_CONFIG_FILE=$work/aws-config AWS_SHARED_CREDENTIALS_FILE=/dev/null
printf '[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n' >"$AWS_CONFIG_FILE"
export RCLONE_CONFIG=/dev/null RCLONE_CONFIG_SWIFT_TYPE=s3 RCLONE_CONFIG_SWIFT_PROVIDER=Other \
	RCLONE_CONFIG_SWIFT_ENDPOINT=$S3_ENDPOINT RCLONE_CONFIG_SWIFT_REGION=us-east-1 \
	RCLONE_CONFIG_SWIFT_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID \
	RCLONE_CONFIG_SWIFT_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY \
	RCLONE_CONFIG_SWIFT_FORCE_PATH_STYLE=true
# Plain http on loopback: a CA bundle named in the environment is
# nothing to load, and rclone's S3 client refuses to start with one.
unset AWS_CA_BUNDLE
aws_s3() { "$AWS" --endpoint-url "$S3_ENDPOINT" --no-cli-pager s3 "$@"; }

# The workload and its store, made the way bench/run's ingest makes it
# (the pictures become one character's, since a push sends characters).
jpegs=$out/jpegs
"$here/jpegs.sh" "$jpegs"
mb=$(du -sm "$jpegs" | cut -f1)
# Kept between runs (adding the pictures takes minutes); remotes are
# per run.
store=$out/s3-store
if [ "$("$TROUPE" --store "$store" query --count 2>/dev/null)" != "$JPEGS" ]; then
	note "adding $JPEGS JPEGs ($mb MB) to a store (once)"
	rm -rf "$store"
	"$TROUPE" -q --store "$store" init
	"$TROUPE" -q --store "$store" character new cast
	"$TROUPE" --store "$store" add cast "$jpegs" --role reference >/dev/null
fi
"$TROUPE" --store "$store" remote list | cut -f1 | while read -r name; do
	"$TROUPE" -q --store "$store" remote rm "$name"
done
blobs=$(find "$store/objects" -type f | wc -l)
store_mb=$(du -sm "$store/objects" | cut -f1)
note "the store: $blobs blobs ($store_mb MB: the pictures and their thumbnails)"
cat "$jpegs"/*.jpg >/dev/null

# ---- push and pull, interleaved rounds ----
declare -a t_push=() t_aws=() t_rclone=() t_pull=() t_aws_down=()
for ((r = 1; r <= ROUNDS; r++)); do
	"$TROUPE" -q --store "$store" remote add "r$r" "s3://bench/troupe-$r" \
		--endpoint "$S3_ENDPOINT" --path-style
	# Rotate who goes first, so that none always meets the store warmest.
	sides=(troupe aws rclone)
	for ((k = 0; k < (r - 1) % 3; k++)); do sides=("${sides[@]:1}" "${sides[0]}"); done
	for side in "${sides[@]}"; do
		case $side in
		troupe) t_push+=("$(ms "$TROUPE" --store "$store" push "r$r")") ;;
		aws) t_aws+=("$(ms aws_s3 sync --only-show-errors "$jpegs" "s3://bench/aws-$r/")") ;;
		rclone) t_rclone+=("$(ms rclone copy "$jpegs" "swift:bench/rclone-$r")") ;;
		esac
	done
	note "push round $r: troupe ${t_push[-1]} ms, aws s3 sync ${t_aws[-1]} ms, rclone copy ${t_rclone[-1]} ms"
	for side in $( ((r % 2)) && echo "troupe aws" || echo "aws troupe"); do
		rm -rf "$work/down" "$work/pulled"
		case $side in
		troupe)
			"$TROUPE" -q --store "$work/pulled" init
			"$TROUPE" -q --store "$work/pulled" remote add origin "s3://bench/troupe-$r" \
				--endpoint "$S3_ENDPOINT" --path-style
			t_pull+=("$(ms "$TROUPE" --store "$work/pulled" pull origin)")
			[ "$("$TROUPE" --store "$work/pulled" query --count)" = "$JPEGS" ] ||
				die "the pull did not bring $JPEGS assets"
			;;
		aws)
			mkdir "$work/down"
			t_aws_down+=("$(ms aws_s3 sync --only-show-errors "s3://bench/aws-$r/" "$work/down")")
			[ "$(find "$work/down" -name '*.jpg' | wc -l)" = "$JPEGS" ] ||
				die "aws s3 sync did not bring $JPEGS files"
			;;
		esac
	done
	note "pull round $r: troupe ${t_pull[-1]} ms, aws s3 sync down ${t_aws_down[-1]} ms"
done
rm -rf "$work/down" "$work/pulled"
# Each side sent the whole workload: the same count of pictures is there.
for prefix in aws-1 rclone-1; do
	n=$(aws_s3 ls "s3://bench/$prefix/" | wc -l)
	[ "$n" = "$JPEGS" ] || die "s3://bench/$prefix holds $n objects, not $JPEGS"
done

# ---- fsck --full against xxh128sum ----
declare -a t_fsck=() t_xxh=()
for ((r = 1; r <= ROUNDS; r++)); do
	for side in $( ((r % 2)) && echo "troupe xxh" || echo "xxh troupe"); do
		case $side in
		troupe) t_fsck+=("$(ms "$TROUPE" --store "$store" fsck --full)") ;;
		xxh) t_xxh+=("$(ms xxh128sum -q "$jpegs"/*.jpg)") ;;
		esac
	done
	note "fsck round $r: troupe fsck --full ${t_fsck[-1]} ms, xxh128sum ${t_xxh[-1]} ms"
done

m() { printf '%s\n' "$@" | median; }
push=$(m "${t_push[@]}") aws=$(m "${t_aws[@]}") rclone=$(m "${t_rclone[@]}")
pull=$(m "${t_pull[@]}") aws_down=$(m "${t_aws_down[@]}")
fsck=$(m "${t_fsck[@]}") xxh=$(m "${t_xxh[@]}")
faster=$((aws < rclone ? aws : rclone))
peer=$( ((aws < rclone)) && echo "aws s3 sync" || echo "rclone copy")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
met() { awk -v r="$1" -v t="$2" 'BEGIN { exit !(r <= t) }' && echo yes || echo NO; }
r=$(ratio "$push" "$faster")
row "push $JPEGS JPEGs to Swift ($mb MB)" "$push ms" "$faster ms" "${r}x" "<= faster ($peer)" "$(met "$r" 1)"
row "(info) push: aws s3 sync / rclone copy" - "$aws / $rclone ms" - "(same files, same server)" -
r=$(ratio "$pull" "$aws_down")
row "pull $JPEGS JPEGs, verified" "$pull ms" "$aws_down ms" "${r}x" "<= aws s3 sync down" "$(met "$r" 1)"
r=$(ratio "$fsck" "$xxh")
row "fsck --full, $JPEGS-JPEG store" "$fsck ms" "$xxh ms" "${r}x" "<= 1.3x xxh128sum" "$(met "$r" 1.3)"
