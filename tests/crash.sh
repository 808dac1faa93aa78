#!/bin/sh
# Crash safety: every fault point troupe(1) lists under TROUPE_FAULT (and
# every Nth hit of one reached once per file of a batch) is run, the
# command must exit 86 there, fsck may then find only harmless leftovers
# (tmp/ ones, which fsck --repair removes, and unreferenced blobs, which
# gc frees), and the command run again must succeed with the result it
# would have had. The list is read from the manual page, and checked
# against src/fault.c's table of every point and the fault_point() calls
# in src/, so a point added to the code and not to the page, or without a
# scenario here, fails.
#
# A scenario is three functions named for the room a point starts with
# (add, gc, fsck, ...): setup_ROOM makes a store in the working directory,
# run_ROOM runs the command, done_ROOM STATUS says whether that status and
# the store are what the command finishing gives. Another room joins by
# defining its three. push, pull and sync run against a real object
# store (tests/s3-lib.sh), started once; without one they are skipped.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
. "$TEST_SRCDIR/s3-lib.sh"
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
# The table in src/fault.c (troupe refuses to pass a point not in it)
# and the literal calls, which must all be in the table.
points_in_table() {
	sed -n '/^static const char \*const fault_names\[\] = {$/,/^};$/p' "$src/fault.c" |
		grep -o '"[a-z0-9-]*"' | tr -d '"' | sort -u
}
points_called() {
	grep -ho 'fault_point("[a-z0-9-]*")' "$src"/*.c | sed 's/fault_point("\(.*\)")/\1/' | sort -u
}
manual_points=$(points_in_manual)
table_points=$(points_in_table)
check "troupe(1) lists fault points" test -n "$manual_points"
is "$manual_points" "$table_points" "src/fault.c's table of points is troupe(1)'s list"
outside=
for point in $(points_called); do
	case " $(echo $table_points) " in *" $point "*) ;; *) outside="$outside $point" ;; esac
done
is "$outside" "" "every literal fault_point() in src/ is in src/fault.c's table"

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

# ---- push, pull and sync: against the object store ----
# Each scenario's remote is a prefix of its own in one bucket.
s3_prefix=0
new_prefix() { s3_prefix=$((s3_prefix + 1)); }
remote_here() {
	troupe remote add studio "s3://crash/p$s3_prefix" --endpoint "$S3_ENDPOINT" --path-style >/dev/null
}
# Two elements, so that a crash can fall between them.
store_with_cast() {
	troupe init >/dev/null && troupe character new mei >/dev/null &&
		troupe character new kai >/dev/null &&
		troupe add mei "$photos/astronaut.jpg" "$photos/camera.jpg" --role face >/dev/null &&
		troupe add kai "$photos/chelsea.jpg" --role face >/dev/null
}
setup_push() {
	new_prefix && store_with_cast && remote_here
}
run_push() {
	troupe push studio
}
# What the remote holds is what a fresh clone of it gets.
done_push() {
	[ "$1" = 0 ] && [ "$(troupe remote | grep -c '^studio same ')" = 2 ] &&
		rm -rf clone && troupe clone "s3://crash/p$s3_prefix" --endpoint "$S3_ENDPOINT" \
		--path-style clone >/dev/null 2>&1 &&
		[ "$(cd clone && troupe query 'character:mei' --count)" = 2 ] &&
		[ "$(cd clone && troupe query 'character:kai' --count)" = 1 ] &&
		(cd clone && troupe fsck --full >/dev/null 2>&1)
}
# ---- import: a bundle of two characters and three pictures ----
bundle_file=$scratch/cast.troupe
make_bundle() {
	[ -f "$bundle_file" ] && return 0
	mkdir -p "$scratch/bundle-source" &&
		(cd "$scratch/bundle-source" && store_with_cast && troupe export mei kai -o "$bundle_file")
}
setup_import() {
	make_bundle && troupe init >/dev/null
}
run_import() {
	troupe import "$bundle_file"
}
done_import() {
	[ "$1" = 0 ] && [ "$(troupe query 'character:mei' --count)" = 2 ] &&
		[ "$(troupe query 'character:kai' --count)" = 1 ] && troupe cat 1 2 3 >/dev/null 2>&1
}

# ---- cache: a vector cache grown by one segment for a new vector ----
toy_vector() {
	printf '{"asset": "%s", "vector": [%s]}\n' "$1" "$2"
}
setup_cache() {
	troupe init >/dev/null && troupe character new mei >/dev/null &&
		troupe add mei "$photos/astronaut.jpg" "$photos/camera.jpg" "$photos/chelsea.jpg" \
			--role face >/dev/null &&
		{ toy_vector 1 "1, 0, 0"; toy_vector 2 "0.8, 0.6, 0"; } >v1.jsonl &&
		troupe embed import --model toy v1.jsonl >/dev/null &&
		troupe nearest 1 --model toy -k 5 >/dev/null &&
		toy_vector 3 "0.6, 0.8, 0" >v2.jsonl && troupe embed import --model toy v2.jsonl >/dev/null
}
run_cache() {
	troupe nearest 1 --model toy -k 5
}
# The grown file answers as a file rebuilt from the index does.
done_cache() {
	[ "$1" = 0 ] && troupe nearest 1 --model toy -k 5 >grown.out 2>&1 &&
		rm -f .troupe/cache/vectors-toy.f32 &&
		troupe nearest 1 --model toy -k 5 >rebuilt.out 2>&1 && cmp -s grown.out rebuilt.out &&
		grep -q . rebuilt.out
}

# sync-start is passed by push and pull alike; push reaches it.
setup_sync() { setup_push; }
run_sync() { run_push; }
done_sync() { done_push "$@"; }
# The remote is filled from a store in origin/; the one here starts empty.
setup_pull() {
	new_prefix && mkdir origin &&
		(cd origin && store_with_cast && remote_here && troupe push studio >/dev/null) &&
		troupe init >/dev/null && remote_here
}
run_pull() {
	troupe pull studio
}
done_pull() {
	[ "$1" = 0 ] && [ "$(troupe query 'character:mei' --count)" = 2 ] &&
		[ "$(troupe query 'character:kai' --count)" = 1 ] &&
		[ "$(troupe remote | grep -c '^studio same ')" = 2 ] && full_check_harmless
}
# Every blob rehashed, and what the crash left (tmp/ files) is all fsck
# may find.
full_check_harmless() {
	local verdict kinds kind
	verdict=$(troupe fsck --full --json 2>/dev/null)
	kinds=$(printf '%s' "$verdict" | jq -r '.problems[].kind') || return 1
	for kind in $kinds; do harmless "$kind" || return 1; done
}
needs_s3() {
	case $1 in
	push | pull | sync) return 0 ;;
	*) return 1 ;;
	esac
}
s3_up=no
for point in $manual_points; do
	needs_s3 "${point%%-*}" || continue
	if test_have_prereq S3; then
		start_s3
		check "a bucket for the remotes' scenarios" make_bucket crash
		s3_up=yes
	fi
	break
done

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
	if needs_s3 "$room" && [ "$s3_up" = no ]; then
		prereq_holds S3
		skip "$point: crash and retry against an object store" "$prereq_why"
		continue
	fi
	if ! command -v "setup_$room" >/dev/null 2>&1; then
		fail "$point: tests/crash.sh has a scenario for the room $room"
		continue
	fi
	n=1
	while [ "$n" -le 20 ] && crash "$point" "$n"; do n=$((n + 1)); done
done

done_testing
