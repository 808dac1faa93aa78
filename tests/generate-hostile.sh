#!/bin/sh
# troupe generate against hostile services (tests/hostile-services.py, on
# two loopback ports over https): a redirect to another host gets neither
# the key nor the body, a trickling output is bounded by --timeout and by
# the stall limit, a service that echoes the key back never gets it shown
# or stored, and the wait is shown on a terminal.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require python3 openssl vips sqlite3

openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 ||
	skip_all "openssl cannot make a test certificate"
cat cert.pem key.pem >server.pem
export TROUPE_CA_BUNDLE=$scratch/cert.pem
noise_png out.png 64 48
hostile_log=$scratch/hostile.jsonl
python3 "$TEST_SRCDIR/hostile-services.py" "$scratch/ports" "$hostile_log" out.png server.pem \
	2>"$scratch/hostile.err" &
hostile_pid=$!
test_atexit 'kill "$hostile_pid"'
tries=0
while [ ! -s ports ] && [ "$tries" -lt 300 ]; do
	sleep 0.1
	tries=$((tries + 1))
done
[ -s ports ] || { echo "Bail out! the hostile stand-ins did not start: $(cat hostile.err)"; exit 99; }
read -r port other <ports
base=https://127.0.0.1:$port
export TROUPE_HTTP_BACKOFF=0.1 TROUPE_POLL_INTERVAL_MS=50

export HOSTILE_KEY=key_hostile_SECRET_4e1d90 HOSTILE_BEARER=tok_hostile_SECRET_77ab
export KLING_ACCESS_KEY=ak_kling_ACCESS_hostile_61 KLING_SECRET_KEY=sk_kling_SECRET_hostile_02
keys="$HOSTILE_KEY $HOSTILE_BEARER $KLING_ACCESS_KEY $KLING_SECRET_KEY"

mkdir profiles
export TROUPE_PROFILE_PATH=$scratch/profiles
# profile NAME AUTH [TASK]: a sync service at $TROUPE_HOSTILE_URL.
profile() {
	task=
	[ $# -lt 3 ] || task="\"task\": $3,"
	cat >"profiles/$1.json" <<JSON
{"name": "$1", "service": "Hostile", "doc": "https://hostile.invalid/docs",
 "base_url": "https://hostile.invalid", "base_url_env": "TROUPE_HOSTILE_URL",
 "request": {"method": "POST", "path": "/create", "template": {"prompt": ""}},
 "prompt": "/prompt", "mention": "name",
 "references": {"roles": ["face"], "max": 1, "pointer": "/image", "item": "{ref}",
                "encoding": "base64", "limits": {"max_side": 512, "format": "jpeg"}},
 "auth": $2, $task "outputs": {"urls": "/urls/*"}}
JSON
}
profile hostile '{"scheme": "header", "header": "API-KEY", "env": "HOSTILE_KEY"}'
profile hostile-bearer '{"scheme": "bearer", "env": "HOSTILE_BEARER"}'
profile hostile-task '{"scheme": "header", "header": "API-KEY", "env": "HOSTILE_KEY"}' \
	'{"id": "/id", "poll": "/poll/{id}", "status": "/status", "done": ["1"], "failed": ["8"], "error": "/error",
	  "status_names": {"5": "generating", "1": "done", "8": "failed"}}'

troupe init >/dev/null
troupe character new mei --name Mei --describe "a cat" >/dev/null
noise_png mei.png 400 400
troupe add mei mei.png --role face >/dev/null

all_output=$scratch/all-output
: >"$all_output"
# gen URL-MODE ARGS...: generate against the stand-in's MODE, bounded by
# timeout(1) so a failure here cannot hang the suite.
gen() {
	mode=$1
	shift
	TROUPE_HOSTILE_URL=$base/$mode timeout 120 "$TROUPE" generate "$@" >gen.out 2>gen.err
	status=$?
	cat gen.out gen.err >>"$all_output"
	return $status
}
logged() { python3 -c 'import json,sys
log = [json.loads(l) for l in open(sys.argv[1])]
print(eval(sys.argv[2]))' "$hostile_log" "$1"; }

# ---- redirects ----

: >"$hostile_log"
gen redirect --profile hostile "a quiet sea"
check "a redirect to another host fails" test "$status" != 0
like "$(cat gen.err)" "redirected to another host \(127\.0\.0\.1\)" \
	"and says the request was not sent there"
is "$(logged '[e for e in log if e["port"] == '"$other"']')" "[]" \
	"the other host got nothing: no API-KEY, no body"

: >"$hostile_log"
gen same --profile hostile --json "a quiet sea"
is "$status" 0 "a redirect to the same host is followed"
is "$(logged '[(e["method"], e["headers"].get("API-KEY"), e["body_len"] > 0) for e in log if e["path"] == "/ok/create"]')" \
	"[('POST', '$HOSTILE_KEY', True)]" "with the key and the body"

: >"$hostile_log"
gen okhop --profile hostile --json "a quiet sea"
is "$status" 0 "an output download may be redirected to another host"
is "$(logged '[(e["method"], "API-KEY" in e["headers"], e["body_len"]) for e in log if e["port"] == '"$other"']')" \
	"[('GET', False, 0)]" "as a GET with nothing of the request's"

# ---- every transfer is bounded ----

start=$(date +%s)
gen trickle --profile hostile --timeout 3 "a quiet sea"
took=$(($(date +%s) - start))
check "a trickling output fails with --timeout 3" test "$status" != 0
check "within the timeout (took $took s)" test "$took" -le 8
like "$(cat gen.err)" "output 1 not downloaded in time" "and says the output was too slow"

start=$(date +%s)
gen busy --profile hostile --timeout 5 "a quiet sea"
took=$(($(date +%s) - start))
check "a 503 with Retry-After, then silence, fails with --timeout 5" test "$status" != 0
check "the wait counts against the deadline (took $took s)" test "$took" -le 6

start=$(date +%s)
TROUPE_HTTP_STALL_S=1 gen trickle --profile hostile "a quiet sea"
took=$(($(date +%s) - start))
check "a stalled output fails by the low-speed limit" test "$status" != 0
check "long before the profile's timeout (took $took s)" test "$took" -le 20

# ---- a service that echoes the key back ----

for p in hostile hostile-bearer; do
	gen reflect --profile "$p" "a quiet sea"
	check "$p: the echoing service's 401 fails" test "$status" != 0
	like "$(cat gen.err)" "HTTP 401.*\[redacted\]" "$p: the error shows where the key was cut out"
	check "$p: the error is cut to a sane length" test "$(wc -c <gen.err)" -le 5000
	gen reflectpng --profile "$p" "a quiet sea"
	check "$p: an echo in an error that says it is a picture fails" test "$status" != 0
done
gen failtask --profile hostile-task "a quiet sea"
like "$(cat gen.err)" "task t[0-9]+ 8: z+\.\.\. \([0-9]+ more bytes cut\)" \
	"a task's 200 kB reason is cut, saying how much"
check "to a sane length" test "$(wc -c <gen.err)" -le 5000
troupe log --json --limit 1 >last.json
is "$(python3 -c 'import json; print(len(json.load(open("last.json"))[0]["error"]) < 5000)')" \
	True "and so is the stored error"
gen deep --profile hostile "a quiet sea"
troupe log --json --limit 1 >last.json
is "$(python3 -c 'import json; r = json.dumps(json.load(open("last.json"))[0]["response"]); print(len(r) < 5000, r.endswith("299, \"(200000 bytes, not kept)\"]}"))')" \
	"True True" "a long string after 300 items is not stored whole"

sed 's|"base_url_env": *"[A-Z_]*"|"base_url_env": "TROUPE_HOSTILE_URL"|; s|"name": *"kling-image"|"name": "kling-reflect"|' \
	"$TEST_SRCDIR/../profiles/kling-image.json" >profiles/kling-reflect.json
gen reflect --profile kling-reflect "@mei in the rain"
check "kling: the echoing service's 401 fails" test "$status" != 0
jwt=$(logged '[e["headers"]["Authorization"][7:] for e in log if e["path"].startswith("/reflect") and e["headers"].get("Authorization", "").startswith("Bearer ey")][-1]')
check "kling: the stand-in got a JWT" test -n "$jwt"
keys="$keys $jwt"

troupe log --json >log-all.json
for key in $keys; do
	name=$(printf %.10s "$key")
	check "$name...: not in the index, its -wal or anywhere under .troupe" \
		sh -c '! grep -raqF -- "$0" .troupe' "$key"
	check "$name...: nor in anything troupe printed" sh -c '! grep -aqF -- "$0" "$1"' "$key" \
		"$all_output"
	check "$name...: nor in troupe log --json" sh -c '! grep -aqF -- "$0" log-all.json' "$key"
done

# ---- the wait is shown ----

if test_have_prereq TTY "on a terminal, the wait shows the status by name and the time" \
	"and the line is cleared before the result"; then
	: >"$hostile_log"
	TROUPE_HOSTILE_URL=$base/task script -qec \
		"'$TROUPE' generate --profile hostile-task 'a quiet sea'" /dev/null >tty.out 2>&1
	like "$(tr '\r' '\n' <tty.out)" "generate: generating, [0-9]+ s" \
		"on a terminal, the wait shows the status by name and the time"
	check "and the line is cleared before the result" grep -q "request [0-9]*: 1 output" tty.out
fi
: >"$hostile_log"
gen task --profile hostile-task -v "a quiet sea"
like "$(cat gen.err)" "task t[0-9]+: generating" "-v names the status the profile names"
gen task --profile hostile-task "a quiet sea"
is "$(cat gen.err)" "" "nothing on stderr when it is not a terminal"

# ---- what generate prints ----

mkdir copies
gen ok --profile hostile --json -o copies "a quiet sea"
copy=$(python3 -c 'import json; print(json.load(open("gen.out"))["outputs"][0].get("copy"))')
like "$copy" "^copies/[0-9a-f]{32}\.png$" "--json -o names the copy it wrote"
check "and the copy is there" test -f "$copy"

: >"$hostile_log"
gen bigid --profile hostile-task "a quiet sea"
is "$(logged '[e["path"] for e in log if "/poll/" in e["path"]][:1]')" \
	"['/bigid/poll/1.0000000000000001e%2B300']" "a task id beyond long long is written out whole"

done_testing
