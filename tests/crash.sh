#!/bin/sh
# Crash safety: every fault point troupe(1) lists under TROUPE_FAULT (and
# every Nth hit of one reached once per file of a batch) is run, the
# command must exit 86 there, fsck may then find only harmless leftovers
# (tmp/ ones, which fsck --repair removes, and unreferenced blobs, which
# gc frees), and the command run again must succeed with the result it
# would have had. The list is read from the manual page, and checked
# against the fault_point() calls in src/, so a point added to the code
# and not to the page, or without a scenario here, fails.
#
# A scenario is three functions named for the room a point starts with
# (add, gc, fsck, ...): setup_ROOM makes a store in the working directory,
# run_ROOM runs the command, done_ROOM STATUS says whether that status and
# the store are what the command finishing gives. Another room joins by
# defining its three.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require sqlite3 jq

photos=$TEST_SRCDIR/data/photos
manual=$TEST_SRCDIR/../man/troupe.1
src=$TEST_SRCDIR/../src

# The points troupe(1) lists: the .It Li lines of the list inside the
# TROUPE_FAULT entry.
points_in_manual() {
	sed -n '/^\.It Ev TROUPE_FAULT$/,/^\.It Ev /p' "$manual" |
		sed -n '/^\.Bl/,/^\.El/s/^\.It Li \([a-z0-9-]*\)$/\1/p' | sort -u
}
points_in_code() {
	grep -ho 'fault_point("[a-z0-9-]*")' "$src"/*.c | sed 's/fault_point("\(.*\)")/\1/' | sort -u
}
manual_points=$(points_in_manual)
code_points=$(points_in_code)
check "troupe(1) lists fault points" test -n "$manual_points"
is "$manual_points" "$code_points" "every fault_point() in src/ is listed in troupe(1), and no other"

# ---- add: three real pictures in one batch ----
setup_add() {
	troupe init >/dev/null && troupe character new mei >/dev/null
}
run_add() {
	troupe add mei "$photos/astronaut.jpg" "$photos/camera.jpg" "$photos/chelsea.jpg" --role face
}
done_add() {
	[ "$1" = 0 ] && [ "$(troupe query 'character:mei' --count)" = 3 ] &&
		troupe cat 1 2 3 >/dev/null 2>&1
}

# ---- gc: five pictures, two removed, so four files to unlink ----
setup_gc() {
	troupe init >/dev/null && troupe character new mei >/dev/null &&
		troupe add mei "$photos"/*.jpg --role face >/dev/null && troupe rm 2 4 >/dev/null
}
run_gc() {
	troupe gc --grace 0
}
done_gc() {
	[ "$1" = 0 ] && [ "$(troupe query 'character:mei' --count)" = 3 ] &&
		troupe cat 1 3 5 >/dev/null 2>&1 &&
		[ "$(troupe gc --dry-run --json | jq '.candidates | length')" = 0 ]
}

# ---- fsck --repair: three leftovers in tmp/ ----
setup_fsck() {
	troupe init >/dev/null && troupe character new mei >/dev/null &&
		troupe add mei "$photos/coffee.jpg" --role face >/dev/null &&
		for i in 1 2 3; do echo "partial $i" >.troupe/tmp/blob-Left$i; done
}
run_fsck() {
	troupe fsck --repair
}
# Problems found and repaired is exit 1, as fsck says of any problem; 0
# when a crash after the last removal left nothing to repair.
done_fsck() {
	[ "$1" -le 1 ] && [ -z "$(ls -A .troupe/tmp)" ] && troupe fsck >/dev/null 2>&1
}

# After a crash: the kinds fsck finds, which must all be harmless.
harmless() {
	case $1 in
	tmp | unreferenced) return 0 ;;
	*) return 1 ;;
	esac
}
fsck_kinds() {
	troupe fsck --json 2>/dev/null | jq -r '[.problems[].kind, .notes[].kind] | unique | join(" ")'
}

# crash POINT N: one run to the Nth hit of POINT in a store of its own.
# Returns 1 when the command finished before that hit (the batch is done).
crash() {
	local point=$1 n=$2 room=${1%%-*} status kinds kind left
	local dir=$scratch/$point@$n
	mkdir -p "$dir" && cd "$dir" || return 1
	if ! "setup_$room" >setup.out 2>&1; then
		fail "$point@$n: the store is set up" "$(head -c 600 setup.out)"
		cd "$scratch" && return 1
	fi
	(
		TROUPE_FAULT=$point@$n
		export TROUPE_FAULT
		"run_$room"
	) >run.out 2>&1
	status=$?
	if [ "$status" != 86 ]; then
		if [ "$n" = 1 ]; then
			fail "$point: the scenario reaches the point" "exit $status" "$(head -c 600 run.out)"
		elif "done_$room" "$status"; then
			pass "$point: a run past its last hit ($((n - 1))) finishes as it should"
		else
			fail "$point@$n: a run past the last hit finishes" "exit $status"
		fi
		cd "$scratch" && return 1
	fi
	pass "$point@$n: troupe exits 86 there"
	kinds=$(fsck_kinds)
	left=ok
	for kind in $kinds; do harmless "$kind" || left="$kinds"; done
	is "$left" ok "$point@$n: fsck finds only harmless leftovers (${kinds:-none})"
	"run_$room" >again.out 2>&1
	status=$?
	if "done_$room" "$status"; then
		pass "$point@$n: the command run again succeeds, with the expected result"
	else
		fail "$point@$n: the command run again succeeds, with the expected result" \
			"exit $status" "$(head -c 600 again.out)"
	fi
	# What is left once it succeeded is reclaimed by repair and gc.
	kinds=$(fsck_kinds)
	[ -n "$kinds" ] && echo "# $point@$n: after the repeat fsck finds: $kinds"
	case " $kinds " in *" tmp "*) troupe fsck --repair >/dev/null 2>&1 ;; esac
	case " $kinds " in *" unreferenced "*) troupe gc --grace 0 >/dev/null 2>&1 ;; esac
	check "$point@$n: then fsck is clean" troupe fsck
	cd "$scratch" || return 1
	return 0
}

for point in $manual_points; do
	room=${point%%-*}
	if ! command -v "setup_$room" >/dev/null 2>&1; then
		fail "$point: tests/crash.sh has a scenario for the room $room"
		continue
	fi
	n=1
	while [ "$n" -le 20 ] && crash "$point" "$n"; do n=$((n + 1)); done
done

done_testing
