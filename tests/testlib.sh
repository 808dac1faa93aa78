#!/bin/sh
# tests/lib.sh itself: small test files run with it, and what they print
# and leave behind. Their scratch directories are made inside this file's
# own, so nothing outlives it.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"

# run NAME BODY: a test file of BODY after lib.sh, run; its TAP in NAME.out.
run() {
	printf '. "$TEST_SRCDIR/lib.sh"\n%s\n' "$2" >"$1.sh"
	OUTER=$scratch TMPDIR=$scratch/tmp-$1 TEST_SRCDIR=$TEST_SRCDIR sh "$1.sh" >"$1.out" 2>"$1.err"
	echo $? >"$1.status"
}
mkdir tmp-passing tmp-failing tmp-finish tmp-skipall tmp-rest tmp-prereq
run passing 'check "true" true
done_testing'
is "$(cat passing.status)" 0 "a file whose tests pass exits 0"
is "$(ls tmp-passing)" "" "and its scratch directory is removed"

run failing 'echo evidence >left.txt
check "false" false
done_testing'
is "$(cat failing.status)" 1 "a file with a failing test exits 1"
kept=$(sed -n 's/^# scratch kept in //p' failing.out)
like "$kept" "^$scratch/tmp-failing/troupe-test\." "the output names the scratch directory it kept"
check "which holds what the test left" test -f "$kept/left.txt"

run finish 'test_when_finished "echo one >>log"
check "first" true
test_when_finished "echo two >>log"
check "second fails" false
check "third" true
test_when_finished false
check "fourth, whose cleanup fails" true
test_atexit "echo atexit >>\"$OUTER/finish.atexit\""
done_testing'
like "$(tr '\n' ' ' <finish.out)" "^ok 1 - first not ok 2 - second fails .*ok 3 - third not ok 4 - fourth, whose cleanup fails" \
	"a failing cleanup fails its test, and only that one"
dir=$(sed -n 's/^# scratch kept in //p' finish.out)
is "$(tr '\n' ' ' <"$dir/log")" "one two " "each cleanup runs once, after its test, pass or fail"
is "$(cat finish.atexit)" atexit "test_atexit runs when the file ends"

run skipall 'require no-such-tool-here
check "never" false
done_testing'
is "$(cat skipall.out)" "1..0 # SKIP needs no-such-tool-here (apt-get install no-such-tool-here)" \
	"require of a missing tool before any test skips the file"
is "$(cat skipall.status)" 0 "and exits 0"

run rest 'check "one" true
require sh no-such-tool-here
check "never" false
done_testing'
is "$(tr '\n' ' ' <rest.out)" "ok 1 - one ok 2 - the rest of rest.sh # SKIP needs no-such-tool-here (apt-get install no-such-tool-here) 1..2 " \
	"after some tests, the rest of the file is one visible skip"

run prereq 'prereq_NEVER() { prereq_why="never holds"; false; }
if test_have_prereq NEVER "a" "b"; then check "never" false; fi
if test_have_prereq sh "c"; then check "sh is there" true; fi
done_testing'
is "$(tr '\n' ' ' <prereq.out)" "ok 1 - a # SKIP never holds ok 2 - b # SKIP never holds ok 3 - sh is there 1..3 " \
	"test_have_prereq: a skip for each test an if leaves out, with the reason"

done_testing
