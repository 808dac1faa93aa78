# TAP plumbing shared by the shell tests; source it first.
# Each test file runs in a fresh scratch directory with its own store. The
# directory is removed when every test passed and kept, its path printed,
# when one failed. A missing tool is a visible skip (require,
# test_have_prereq), never a silent pass or a failure nobody can explain.
set -u

: "${TROUPE:?TROUPE must name the troupe binary}"
TEST_SRCDIR=${TEST_SRCDIR:-$(cd "$(dirname "$0")" && pwd)}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/troupe-test.XXXXXX")
cd "$scratch" || exit 99
unset TROUPE_DIR
# Retries and polling at test pace, not at a remote service's.
TROUPE_HTTP_BACKOFF=${TROUPE_HTTP_BACKOFF:-0.05}
TROUPE_POLL_INTERVAL_MS=${TROUPE_POLL_INTERVAL_MS:-20}
export TROUPE_HTTP_BACKOFF TROUPE_POLL_INTERVAL_MS

test_count=0
test_failed=0
test_finish_cmds=
test_atexit_cmds=

# At exit: what test_atexit registered (services to stop), then the
# scratch directory, kept when anything failed so the failure can be
# looked at. A file that stopped early (exit 99, "Bail out!") counts as
# failed too.
test_exit() {
	local status=$?
	[ -n "$test_finish_cmds" ] && test_run_finish_cmds
	if [ -n "$test_atexit_cmds" ]; then
		eval "$test_atexit_cmds" >/dev/null 2>&1
	fi
	cd / || :
	if [ "$test_failed" != 0 ] || [ "$status" != 0 ]; then
		echo "# scratch kept in $scratch"
	else
		rm -rf "$scratch"
	fi
	exit "$status"
}
trap test_exit EXIT

# test_atexit CMD: runs CMD (with eval) when the file ends, however it
# ends: for a service a test started. Later commands run first.
test_atexit() {
	test_atexit_cmds="$1
$test_atexit_cmds"
}

# test_when_finished CMD: runs CMD (with eval, in this shell) right after
# the next test is reported, pass or fail; a test here is one check, is,
# like, fails_with... line. Use it to put back what a test breaks on
# purpose, so the tests after it start from a sound store. A cleanup that
# fails makes that test fail. Later commands run first.
test_when_finished() {
	test_finish_cmds="$1
$test_finish_cmds"
}

test_run_finish_cmds() {
	local cmds=$test_finish_cmds
	test_finish_cmds=
	eval "$cmds" >"$scratch/.cleanup" 2>&1
}

troupe() { "$TROUPE" "$@"; }

report_ok() {
	test_count=$((test_count + 1))
	echo "ok $test_count - $1"
}
report_not_ok() {
	test_count=$((test_count + 1))
	test_failed=$((test_failed + 1))
	echo "not ok $test_count - $1"
	shift
	for line in "$@"; do echo "#   $line"; done
}

pass() {
	if [ -n "$test_finish_cmds" ] && ! test_run_finish_cmds; then
		report_not_ok "$1" "the cleanup after it failed:" "$(head -c 600 "$scratch/.cleanup")"
	else
		report_ok "$1"
	fi
}
fail() {
	[ -n "$test_finish_cmds" ] && test_run_finish_cmds
	report_not_ok "$@"
}

# ---- prerequisites ----

# The Debian package that has a tool, for the reason a skip gives.
package_for() {
	case $1 in
	vips | vipsheader) echo libvips-tools ;;
	xxh128sum) echo xxhash ;;
	script) echo util-linux ;;
	node) echo nodejs ;;
	*) echo "$1" ;;
	esac
}

# Prerequisites are tools on PATH, named as they are run ("mandoc"), or
# named in capitals and checked by a function prereq_NAME, which a test
# file may define and which may set prereq_why to say what is missing.
# Whether every NAME holds; prereq_why says why not.
prereq_holds() {
	local name
	prereq_why=
	for name in "$@"; do
		if command -v "prereq_$name" >/dev/null 2>&1; then
			"prereq_$name" && continue
			[ -n "$prereq_why" ] || prereq_why="$name does not hold"
			return 1
		fi
		command -v "$name" >/dev/null 2>&1 && continue
		prereq_why="needs $name (apt-get install $(package_for "$name"))"
		return 1
	done
	return 0
}

# TTY: script(1) can give a command a terminal.
prereq_TTY() {
	prereq_why="needs script(1) that can make a terminal (apt-get install util-linux)"
	command -v script >/dev/null 2>&1 && script -qec true /dev/null >/dev/null 2>&1 </dev/null
}

# skip DESCRIPTION REASON: a test that is not run, and says why.
skip() {
	test_count=$((test_count + 1))
	echo "ok $test_count - $1 # SKIP $2"
}

# test_have_prereq NAME [DESCRIPTION...]: whether the prerequisite holds
# (for use with if); when it does not, each DESCRIPTION is reported as a
# skipped test, so the tests an if leaves out are still counted.
test_have_prereq() {
	local name=$1 desc
	shift
	prereq_holds "$name" && return 0
	for desc in "$@"; do skip "$desc" "$prereq_why"; done
	return 1
}

# skip_all REASON: the rest of the file is not run. Before any test that
# is the whole file (TAP "1..0 # SKIP"); after some, one skipped test
# says what was left out.
skip_all() {
	if [ "$test_count" = 0 ]; then
		echo "1..0 # SKIP $1"
		exit 0
	fi
	skip "the rest of $(basename "$0")" "$1"
	done_testing
	exit
}

# require NAME...: the rest of the file needs these prerequisites.
require() {
	prereq_holds "$@" || skip_all "$prereq_why"
}

# ---- assertions ----

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

# start_face_service: the real local face service (contrib/face-service,
# or $TROUPE_FACE_SERVICE) on a free port, stopped when the file ends; $face
# is its pid and TROUPE_FACE_URL is exported. Without Node.js there is
# nothing to run it with (the caller's `require node` skips); with Node.js
# but without the service's packages the tree is half set up: the packages
# are the project's own, pinned by its package-lock.json and installed by
# ./bootstrap check, so CI has them, and a skip would let a checkout that
# forgot 'npm ci' pass without the end-to-end tests of check. Hence a
# failure that says what to run, and the file ends.
start_face_service() {
	service=${TROUPE_FACE_SERVICE:-$TEST_SRCDIR/../contrib/face-service}
	if [ ! -d "$service/node_modules/@vladmandic/human" ] ||
		[ ! -d "$service/node_modules/@vladmandic/face-api" ]; then
		fail "the face service's packages are installed" \
			"run 'npm ci' in $service (./bootstrap check does), or point" \
			"TROUPE_FACE_SERVICE at a copy where it was run"
		done_testing
		exit
	fi
	node "$service/server.js" --port 0 --port-file "$scratch/face.port" >/dev/null \
		2>"$scratch/face.log" &
	face=$!
	test_atexit 'kill $face'
	for i in $(seq 1 150); do [ -s "$scratch/face.port" ] && break; sleep 0.2; done
	check "the face service started" test -s "$scratch/face.port"
	TROUPE_FACE_URL="http://127.0.0.1:$(cat "$scratch/face.port")"
	export TROUPE_FACE_URL
}

done_testing() {
	echo "1..$test_count"
	[ "$test_failed" = 0 ]
}
