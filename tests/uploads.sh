#!/bin/sh
# Uploaded references are remembered: against the PixVerse stand-in
# (tests/mock-services.py, which ties an img_id to the account that
# uploaded it and can forget them), a picture is uploaded once per
# account and then named by its img_id until it expires or the service
# says it does not know it; the key never reaches the index. PixVerse's
# image-to-video takes one picture, the first frame: each character's
# face is given as the first frame of its shots.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require vips sqlite3
. "$TEST_SRCDIR/mock-lib.sh"

# The stand-in accepts any key, so that a second account can be used.
own_key=$PIXVERSE_API_KEY
unset PIXVERSE_API_KEY
start_mock
export PIXVERSE_API_KEY=$own_key
other_key=key_pixverse_OTHER_ACCOUNT_91d4
export TROUPE_POLL_INTERVAL_MS=50

troupe init >/dev/null
troupe character new mei --name Mei --describe "a cat in a study" >/dev/null
troupe character new kai --name Kai --describe "a tall sailor" >/dev/null
noise_png mei-face.png 400 500
noise_png kai-face.png 360 360
troupe add mei mei-face.png --role face >/dev/null
troupe add kai kai-face.png --role face >/dev/null

gen() { "$TROUPE" generate "$@" >"$scratch/gen.out" 2>"$scratch/gen.err"; }
uploads() { mock_since 'len([e for e in log if e["path"].endswith("/openapi/v2/image/upload")])'; }
sent_ids() { mock_since '[json.loads(e["body"])["img_id"] for e in log if e["path"].endswith("/video/img/generate") and e["status"] == 200]'; }
refs_upload() { troupe log --json --limit 1 >"$scratch/log.json" && jsonv "$scratch/log.json" '[r.get("upload") for r in d[0]["references"]]'; }
db() { sqlite3 .troupe/troupe.db "$1"; }

# ---- first generate uploads, the second reuses ----
mock_mark
check "a first generate for mei" gen -p pixverse-video --first-frame mei-face.png "@mei walks"
is "$(uploads)" 1 "it uploads mei's reference"
first_id=$(sent_ids)
is "$(refs_upload)" '["uploaded"]' "the log says the reference was uploaded"
mock_mark
check "a first generate for kai" gen -p pixverse-video --first-frame kai-face.png "@kai sails"
is "$(uploads)" 1 "it uploads kai's reference"
is "$(db 'SELECT count(*) FROM uploads')" 2 "two uploads are remembered"
is "$(db 'SELECT count(*) FROM uploads WHERE expires IS NULL')" 2 \
	"with no expiry: PixVerse documents no lifetime"

mock_mark
check "a second generate for mei" gen -p pixverse-video --first-frame mei-face.png "@mei sleeps"
is "$(uploads)" 0 "it uploads nothing"
is "$(sent_ids)" "$first_id" "and names the img_id the first upload got"
is "$(refs_upload)" '["reused"]' "the log says the reference was reused"
like "$(troupe log --limit 1)" "1 \\(0 uploaded, 1 reused\\)" "troupe log shows the reuse"

# ---- the service forgot the id: one new upload, and success ----
mock_mode '{"mode": "forget", "service": "pixverse"}'
mock_mark
check "a generate after the service forgot its uploads succeeds" gen -p pixverse-video --json --first-frame mei-face.png "@mei sits"
is "$(uploads)" 1 "one new upload"
is "$(mock_since '[e["status"] for e in log if e["path"].endswith("/video/img/generate")]')" "[400, 200]" \
	"the request naming the forgotten id is refused, the retry accepted"
new_id=$(mock_since '[json.loads(e["body"])["img_id"] for e in log if e["path"].endswith("/video/img/generate")][-1]')
check "the retry names the new img_id" test "$new_id" != "$first_id"
is "$(db "SELECT service_id FROM uploads u WHERE sent_hash IN (SELECT sent_hash FROM request_refs WHERE request_id = (SELECT max(id) FROM requests))")" \
	"$new_id" "the stale id is forgotten, the new one remembered"
is "$(troupe log --json --limit 2 >"$scratch/two.json" && jsonv "$scratch/two.json" '[d[0]["status"], d[1]["status"], "uploaded again" in d[1]["error"]]')" \
	'["succeeded", "failed", true]' "the log keeps the refused request, saying it was retried"
is "$(refs_upload)" '["uploaded"]' "and the retry's reference as uploaded"
mock_mode '{"mode": "ok"}'

# ---- an expired record: a new upload ----
mkdir variants
python3 - "$builtin_profiles" <<'PY'
import json, os, sys
d = next(d for d in sys.argv[1].split(":") if os.path.exists(os.path.join(d, "pixverse-video.json")))
p = json.load(open(os.path.join(d, "pixverse-video.json")))
p["name"] = "pixverse-hour"
p["references"]["upload"]["expires"] = 3600
json.dump(p, open("variants/pixverse-hour.json", "w"))
PY
export TROUPE_PROFILE_PATH=$PWD/variants
mock_mark
check "a profile whose uploads last an hour" gen -p pixverse-hour --first-frame kai-face.png "@kai waves"
is "$(uploads)" 1 "kai's id, which the service forgot too, is refused and uploaded again"
is "$(db 'SELECT count(*) FROM uploads WHERE expires - created = 3600')" 1 \
	"the record lapses after the profile's lifetime"
db "UPDATE uploads SET created = created - 7200, expires = strftime('%s', 'now') - 60
	WHERE expires IS NOT NULL"
mock_mark
check "after the record has expired" gen -p pixverse-hour --first-frame kai-face.png "@kai waves"
is "$(uploads)" 1 "the reference is uploaded again"
is "$(db "SELECT count(*) FROM uploads WHERE expires - created = 3600 AND expires > strftime('%s', 'now')")" 1 \
	"the new record replaces the expired one"
mock_mark
check "and once more" gen -p pixverse-hour --first-frame kai-face.png "@kai waves"
is "$(uploads)" 0 "while it lasts, it is reused"

# ---- another account never sees this account's ids ----
mock_mark
check "a generate with another key" env PIXVERSE_API_KEY="$other_key" "$TROUPE" generate -p pixverse-video --first-frame mei-face.png "@mei walks"
is "$(uploads)" 1 "uploads its own reference"
is "$(mock_since '[e["status"] for e in log if e["path"].endswith("/video/img/generate")]')" "[200]" \
	"and names only its own img_id"
is "$(db 'SELECT count(DISTINCT account) FROM uploads')" 2 "two accounts are remembered apart"
mock_mark
check "the first key again" gen -p pixverse-video --first-frame mei-face.png "@mei walks"
is "$(uploads)" 0 "reuses its own upload"

# ---- a generate that fails still keeps the id it got ----
troupe character new ana --name Ana --describe "a painter" >/dev/null
noise_png ana-face.png 380 380
troupe add ana ana-face.png --role face >/dev/null
mock_mode '{"mode": "task-fails", "service": "pixverse"}'
mock_mark
check "a generate whose task fails" sh -c '! "$TROUPE" generate -p pixverse-video --first-frame ana-face.png "@ana paints" 2>/dev/null'
is "$(uploads)" 1 "ana's reference was uploaded"
mock_mark
check "the next generate for ana" gen -p pixverse-video --first-frame ana-face.png "@ana paints"
is "$(uploads)" 0 "reuses the id the failed request got"

# ---- no key in the index ----
check "the key is not in the index" sh -c '! grep -qa "$0" .troupe/troupe.db*' "$own_key"
check "nor the other key" sh -c '! grep -qa "$0" .troupe/troupe.db*' "$other_key"
like "$(db 'SELECT DISTINCT account FROM uploads LIMIT 1')" '^[0-9a-f]{64}$' \
	"an account is a fingerprint"
done_testing
