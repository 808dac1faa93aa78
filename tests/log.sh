#!/bin/sh
# troupe log: a request whose process died is shown as such, and
# log prune removes old requests but keeps the provenance of outputs.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require vips sqlite3 python3

troupe init >/dev/null
troupe character new mei >/dev/null
noise_png mei.png 300 300
troupe add mei mei.png --role face >/dev/null
sql() { sqlite3 .troupe/troupe.db "$1"; }
status_of() { troupe log --json >"$scratch/.log" && python3 -c '
import json, sys
print([e["status"] for e in json.load(open(sys.argv[1])) if e["id"] == int(sys.argv[2])][0])' \
	"$scratch/.log" "$1"; }

check "inject records its request" troupe inject -p kling-image "@mei walks"
is "$(sql 'SELECT pid IS NOT NULL AND host IS NOT NULL FROM requests WHERE id = 1')" 1 \
	"with the process that began it and its host"

# A generate killed before it finished leaves its row "running"; the rows
# are made so by hand, with a process that is gone, one that is alive,
# and a pid that now names another process.
sh -c 'exit 0' &
dead=$!
wait "$dead"
host=$(uname -n)
sql "UPDATE requests SET status = 'running', pid = $dead, pid_start = NULL WHERE id = 1"
check "log lists a request whose process is gone" troupe log
like "$(cat .out)" "^1 .* died " "as died, not running"
is "$(status_of 1)" died "and so in JSON"

if [ -r /proc/$$/stat ]; then
	start=$(sed 's/.*) //' /proc/$$/stat | cut -d' ' -f20)
	sql "UPDATE requests SET pid = $$, pid_start = $start WHERE id = 1"
	is "$(status_of 1)" running "a request whose process is alive is running"
	sql "UPDATE requests SET pid_start = $start + 1 WHERE id = 1"
	is "$(status_of 1)" died "a pid now used by a later process is not the request's"
else
	skip "a request whose process is alive is running" "no /proc"
	skip "a pid now used by a later process is not the request's" "no /proc"
fi
sql "UPDATE requests SET pid = $dead, host = 'elsewhere.example' WHERE id = 1"
is "$(status_of 1)" running "another host's process is not judged"
sql "UPDATE requests SET pid = NULL, pid_start = NULL, host = NULL WHERE id = 1"
is "$(status_of 1)" running "nor a row from before pids were kept"

# Pruning: request 1 is old and running in a dead process, 2 old and
# done, 3 old and made asset 1 (its provenance), 4 new.
troupe inject -p kling-image "@mei sits" >/dev/null
troupe inject -p kling-image "@mei runs" >/dev/null
troupe inject -p kling-image "@mei waits" >/dev/null
sql "UPDATE requests SET status = 'running', pid = $dead, host = '$host' WHERE id = 1;
	UPDATE requests SET started = 86400 WHERE id IN (1, 2, 3);
	INSERT INTO request_outputs(request_id, asset_id) VALUES (3, 1)"
fails_with 64 "one of --before and --older-than" "prune needs a cutoff" troupe log prune
fails_with 64 "one of --before and --older-than" "and only one" \
	troupe log prune --before 2000-01-01 --older-than 30d
fails_with 64 "--before 2026-02-30: not a date" "prune refuses a day that is not" \
	troupe log prune --before 2026-02-30
fails_with 64 "--older-than 30: not an age" "prune refuses an age without a unit" \
	troupe log prune --older-than 30
fails_with 64 "--older-than 99999999999999999w: not an age" "nor one that overflows" \
	troupe log prune --older-than 99999999999999999w
before=$(store_state)
check "prune --dry-run" troupe log prune --older-than 30d --dry-run
is "$(cat .out)" "would prune 2 requests; kept 1 older one that made assets still in the store or are still running" \
	"says what would go"
is "$(store_state)" "$before" "and removes nothing"
check "prune --before" troupe log prune --before 2000-01-01 --json
like "$(tr -d ' \t\n' <.out)" '"pruned":2,"kept":1' "prints the counts as JSON"
is "$(sql 'SELECT group_concat(id) FROM (SELECT id FROM requests ORDER BY id)')" 3,4 \
	"old requests go; the one that made a stored asset stays"
is "$(sql 'SELECT count(*) FROM request_refs WHERE request_id IN (1, 2)')" 0 \
	"with their references"
check "show still walks back to the request" troupe show 1
like "$(cat .out)" "made by +request 3" "the output's provenance is kept"
check "prune with nothing to prune" troupe log prune --older-than 30d
is "$(cat .out)" "pruned 0 requests; kept 1 older one that made assets still in the store or are still running" \
	"says so"

done_testing
