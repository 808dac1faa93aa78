# TAP plumbing shared by the shell tests; source it first.
# Each test file runs in a fresh scratch directory with its own store.
set -u

: "${TROUPE:?TROUPE must name the troupe binary}"
TEST_SRCDIR=${TEST_SRCDIR:-$(cd "$(dirname "$0")" && pwd)}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/troupe-test.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
cd "$scratch" || exit 99
unset TROUPE_DIR
# Retries and polling at test pace, not at a remote service's.
TROUPE_HTTP_BACKOFF=${TROUPE_HTTP_BACKOFF:-0.05}
TROUPE_POLL_INTERVAL_MS=${TROUPE_POLL_INTERVAL_MS:-20}
export TROUPE_HTTP_BACKOFF TROUPE_POLL_INTERVAL_MS

test_count=0
test_failed=0

troupe() { "$TROUPE" "$@"; }

pass() { test_count=$((test_count + 1)); echo "ok $test_count - $1"; }
fail() {
	test_count=$((test_count + 1))
	test_failed=$((test_failed + 1))
	echo "not ok $test_count - $1"
	shift
	for line in "$@"; do echo "#   $line"; done
}

# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
	local desc=$1
	shift
	if "$@" >"$scratch/.out" 2>"$scratch/.err"; then
		pass "$desc"
	else
		fail "$desc" "exit $?: $*" "$(head -c 600 "$scratch/.err")"
	fi
}

# is GOT WANT DESCRIPTION
is() {
	if [ "$1" = "$2" ]; then
		pass "$3"
	else
		fail "$3" "got:  '$1'" "want: '$2'"
	fi
}

# like TEXT REGEX DESCRIPTION (extended regex)
like() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		pass "$3"
	else
		fail "$3" "got:  '$1'" "want match of: $2"
	fi
}

# fails_with STATUS REGEX DESCRIPTION COMMAND...: the command exits with
# STATUS, prints a "troupe: ..." message matching REGEX on stderr, and
# leaves the store exactly as it was.
fails_with() {
	local want=$1 regex=$2 desc=$3 status before after
	shift 3
	before=$(store_state)
	"$@" >"$scratch/.out" 2>"$scratch/.err"
	status=$?
	after=$(store_state)
	local err
	err=$(cat "$scratch/.err")
	if [ "$status" != "$want" ]; then
		fail "$desc" "exit $status, want $want: $*" "$err"
	elif ! printf '%s' "$err" | grep -Eq -- "^troupe: .*$regex"; then
		fail "$desc" "stderr does not match '$regex'" "$err"
	elif [ "$before" != "$after" ]; then
		fail "$desc" "the store changed"
	else
		pass "$desc"
	fi
}

# A fingerprint of everything in the store: every row and every file.
store_state() {
	local dir=${TROUPE_STORE:-.troupe}
	[ -f "$dir/troupe.db" ] || { echo none; return; }
	{
		sqlite3 "$dir/troupe.db" .dump
		(cd "$dir" && find objects tmp -type f | sort)
	} | md5sum
}

# Images are made with libvips: distinct noise, so every file is unique.
noise_jpeg() { vips gaussnoise "$1" "${2:-64}" "${3:-64}" --mean 128 --sigma 40 >/dev/null 2>&1; }
noise_png() { vips gaussnoise "$1" "${2:-64}" "${3:-64}" --mean 100 --sigma 30 >/dev/null 2>&1; }

count_objects() { find "${TROUPE_STORE:-.troupe}/objects" -type f | wc -l | tr -d ' '; }

done_testing() {
	echo "1..$test_count"
	[ "$test_failed" = 0 ]
}
