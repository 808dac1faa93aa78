# Helpers for the tests that talk to services: source after lib.sh. They
# start tests/mock-services.py (the loopback stand-ins for every service)
# and read JSON with python3, which these tests need.
require python3

# LeakSanitizer's stop-the-world tracer (sanitizer builds only) now and then
# crashes with signal 11 while libcurl's resolver thread runs; leaks are
# still checked by every other test, which covers the same code paths.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
export ASAN_OPTIONS

# The built-in profiles, which the build-tree troupe finds by itself, as a
# user's would: the tests set no TROUPE_PROFILE_PATH of their own.
builtin_profiles=$TEST_SRCDIR/../profiles
export TROUPE_HTTP_BACKOFF=0.1

# Test keys: distinctive, so a leak is easy to find with grep.
export RUNWAYML_API_SECRET=key_runway_SECRET_5b1f0c2e
export KLING_ACCESS_KEY=ak_kling_ACCESS_77d2
export KLING_SECRET_KEY=sk_kling_SECRET_9e4a61
export PIXVERSE_API_KEY=key_pixverse_SECRET_3c88
export OPENAI_API_KEY=sk-openai_SECRET_0a7d55
export GEMINI_API_KEY=key_gemini_SECRET_c41b
export REPLICATE_API_TOKEN=r8_replicate_SECRET_e2f9
export FAL_KEY=key_fal_SECRET_81aa
export LUMAAI_API_KEY=key_luma_SECRET_6d03
export MINIMAX_API_KEY=key_minimax_SECRET_f5e7
export VIDU_API_KEY=key_vidu_SECRET_2a9c
all_keys="$RUNWAYML_API_SECRET $KLING_ACCESS_KEY $KLING_SECRET_KEY $PIXVERSE_API_KEY
$OPENAI_API_KEY $GEMINI_API_KEY $REPLICATE_API_TOKEN $FAL_KEY $LUMAAI_API_KEY $MINIMAX_API_KEY
$VIDU_API_KEY"

# start_mock: runs the stand-ins on a free loopback port and points every
# profile's base_url_env at its service there.
start_mock() {
	mock_log=$scratch/mock.jsonl
	mock_control=$scratch/mock-control.json
	python3 "$TEST_SRCDIR/mock-services.py" "$scratch/mock.port" "$mock_log" \
		--control "$mock_control" --lifetime 900 2>"$scratch/mock.err" &
	mock_pid=$!
	test_atexit 'kill "$mock_pid"'
	tries=0
	while [ ! -s "$scratch/mock.port" ] && [ "$tries" -lt 300 ]; do
		sleep 0.1
		tries=$((tries + 1))
	done
	if [ ! -s "$scratch/mock.port" ]; then
		echo "Bail out! the service stand-ins did not start: $(cat "$scratch/mock.err")"
		exit 99
	fi
	mock_url=http://127.0.0.1:$(cat "$scratch/mock.port")
	export TROUPE_RUNWAY_URL=$mock_url/runway
	export TROUPE_KLING_URL=$mock_url/kling
	export TROUPE_PIXVERSE_URL=$mock_url/pixverse
	export TROUPE_OPENAI_URL=$mock_url/openai
	export TROUPE_GEMINI_URL=$mock_url/gemini
	export TROUPE_REPLICATE_URL=$mock_url/replicate
	export TROUPE_FAL_URL=$mock_url/fal
	export TROUPE_LUMA_URL=$mock_url/luma
	export TROUPE_MINIMAX_URL=$mock_url/minimax
	export TROUPE_COMFYUI_URL=$mock_url/comfyui
	export TROUPE_VIDU_URL=$mock_url/vidu
}

# mock_mode JSON: the failure mode for the next requests (see the script).
mock_mode() {
	printf '%s\n' "$1" >"$mock_control.tmp" && mv "$mock_control.tmp" "$mock_control"
}

# mock_eval EXPR: a Python expression over `log`, the requests the stand-ins
# received (dicts: method, path, service, headers, body, status), printed.
mock_eval() {
	python3 - "$mock_log" "$1" <<'EOF'
import json, sys
log = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v))
EOF
}

# mock_mark: remembers how many requests have been logged, so mock_since
# can look at the newer ones only.
mock_mark() { mock_seen=$(wc -l <"$mock_log" | tr -d ' '); }
mock_since() {
	python3 - "$mock_log" "${mock_seen:-0}" "$1" <<'EOF'
import json, sys
log = [json.loads(line) for line in open(sys.argv[1]) if line.strip()][int(sys.argv[2]):]
v = eval(sys.argv[3])
print(v if isinstance(v, str) else json.dumps(v))
EOF
}

# jsonv FILE EXPR: a Python expression over the JSON document `d` in FILE.
jsonv() {
	python3 - "$1" "$2" <<'EOF'
import base64, json, re, struct, sys
try:
    d = json.load(open(sys.argv[1]))
except ValueError as e:
    print("(%s is not JSON: %s)" % (sys.argv[1], e))
    sys.exit(0)
def jpeg_size(b):
    i = 2
    while i + 9 < len(b):
        m = b[i + 1]
        if m in (0xD8, 0x01) or 0xD0 <= m <= 0xD7:
            i += 2
            continue
        if 0xC0 <= m <= 0xCF and m not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", b[i + 5:i + 9])
            return "%dx%d" % (w, h)
        i += 2 + struct.unpack(">H", b[i + 2:i + 4])[0]
    return "?"
def b64(s):
    return base64.b64decode(s, validate=True)
try:
    v = eval(sys.argv[2])
except Exception as e:
    v = "(%s: %r)" % (type(e).__name__, e)
print(v if isinstance(v, str) else json.dumps(v))
EOF
}
