#!/bin/sh
# Several troupe processes on one store: a busy index is waited for,
# never reported as an error, and nothing is lost.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require vips sqlite3

troupe init >/dev/null
troupe character new mei >/dev/null
for w in 1 2 3 4 5 6; do
	mkdir -p in$w
	for i in 1 2 3 4 5 6 7 8; do noise_jpeg in$w/$i.jpg 24 24; done
done
# The same file in every worker's set, to race on one blob.
noise_png shared.png 30 30
for w in 1 2 3 4 5 6; do cp shared.png in$w/shared.png; done

for w in 1 2 3 4 5 6; do
	( for round in 1 2 3; do
		"$TROUPE" add mei in$w --role face --tag worker:$w >/dev/null 2>>err$w || echo fail >>err$w
		"$TROUPE" tag 1 +round:$round >/dev/null 2>>err$w || echo fail >>err$w
		"$TROUPE" query 'role:face' --count >/dev/null 2>>err$w || echo fail >>err$w
	done ) &
done
wait
is "$(cat err1 err2 err3 err4 err5 err6)" "" "no process failed or complained"
is "$(troupe query 'role:face' --count)" 49 "48 distinct images and one shared, each once"
is "$(count_objects)" 98 "one blob and one thumbnail per distinct content"
is "$(find .troupe/tmp -type f | wc -l | tr -d ' ')" 0 "nothing left in tmp/"
is "$(sqlite3 .troupe/troupe.db 'PRAGMA integrity_check')" ok "index is intact"

done_testing
