#!/bin/bash
# Remotes against a real S3-compatible object store: OpenStack Swift with
# s3api on loopback (tests/s3-lib.sh). push, pull and clone; conflicts;
# a wrong secret and a bucket that does not exist; a push and a pull
# killed in the middle (fault points and a real SIGKILL) and retried;
# multipart uploads; fsck --repair bringing a deleted blob back.
. "$TEST_SRCDIR/lib.sh"
. "$TEST_SRCDIR/s3-lib.sh"
require S3 vips sqlite3 python3 curl
start_s3

here=$scratch/here
there=$scratch/there
in_here() { (cd "$here" && troupe "$@"); }
in_there() { (cd "$there" && troupe "$@"); }

check "a bucket is made on the store" make_bucket films

mkdir -p "$here" "$there"
(cd "$here" && troupe init -q && troupe character new mei --name Mei --describe "A girl" -q &&
	troupe character new kai --name Kai -q) >/dev/null
for i in 1 2 3 4 5 6; do noise_jpeg "$scratch/mei$i.jpg"; done
for i in 1 2 3; do noise_jpeg "$scratch/kai$i.jpg"; done
in_here add mei "$scratch"/mei?.jpg --role face -q >/dev/null
in_here add kai "$scratch"/kai?.jpg --role face -q >/dev/null

# ---- remote add, list, rm ----
TROUPE_STORE=$here/.troupe
export TROUPE_STORE
cd "$here" || exit 99
check "remote add" troupe remote add studio s3://films/cast --endpoint "$S3_ENDPOINT" --path-style
like "$(troupe remote list)" "^studio	s3://films/cast	$S3_ENDPOINT	us-east-1	path-style$" \
	"remote list says where it is"
fails_with 64 "remote 'studio' exists already" "a name is taken once" \
	troupe remote add studio s3://films/other --endpoint "$S3_ENDPOINT"
fails_with 64 "https is required" "plain http only to loopback" \
	troupe remote add far s3://films/x --endpoint http://s3.example.com
fails_with 64 "https is required" "a host that starts like loopback is not loopback" \
	troupe remote add far s3://films/x --endpoint http://127.0.0.1.example.com
fails_with 64 "bucket name is 3 to 63" "a bucket name is checked" \
	troupe remote add bad s3://Films_X/x --endpoint https://s3.example.com
fails_with 64 "empty, '.' or '..'" "a prefix with .. is refused" \
	troupe remote add bad s3://films/a/../b --endpoint https://s3.example.com
fails_with 64 "--endpoint URL is required" "an endpoint is required" \
	troupe remote add bad s3://films/x
check "a second remote" troupe remote add spare s3://films/spare --endpoint https://s3.example.com --region auto
check "remote rm" troupe remote rm spare
is "$(troupe remote list | cut -f1)" "studio" "rm forgot it"

# ---- push ----
troupe push studio --json >"$scratch/push.json" 2>"$scratch/push.err"
is "$?" 0 "push sends every element"
is "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["changed"], d["blobs_sent"], d["blobs_present"])' "$scratch/push.json")" \
	"2 9 0" "nine blobs sent for two elements"
out=$(troupe push studio)
like "$out" "0 elements pushed, 0 in conflict; 0 blobs \(0 B\) sent" "a second push sends nothing"
like "$(troupe remote)" "studio same kai" "troupe remote: kai the same there"
if grep -rq "s3cret-troupe-7f2a" "$here/.troupe" "$scratch/push.json" "$scratch/push.err"; then
	fail "the secret key is stored or printed nowhere"
else
	pass "the secret key is stored or printed nowhere"
fi

# ---- clone and pull ----
cd "$scratch" || exit 99
unset TROUPE_STORE
check "clone" troupe clone s3://films/cast --endpoint "$S3_ENDPOINT" --path-style "$there"
is "$(in_there query 'character:mei' --count)" 6 \
	"the clone has mei's six faces"
is "$(in_there query 'character:kai' --json | python3 -c 'import json,sys; print(sorted(a["hash"] for a in json.load(sys.stdin)))')" \
	"$(in_here query 'character:kai' --json | python3 -c 'import json,sys; print(sorted(a["hash"] for a in json.load(sys.stdin)))')" \
	"the clone's blobs are the same blobs"
check "the clone is clean" in_there fsck --full
is "$(in_there character show mei --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["description"])')" \
	"A girl" "the clone has mei's description"
fails_with 73 "a store is there already" "clone refuses a directory with a store" \
	troupe clone s3://films/cast --endpoint "$S3_ENDPOINT" --path-style "$there"

check "an edit here" in_here character edit mei --describe "A tall girl"
check "push of the edit" in_here push studio mei
like "$(in_there remote)" "origin remote-ahead mei" "the clone sees the remote ahead"
check "pull takes it" in_there pull origin
is "$(in_there character show mei --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["description"])')" \
	"A tall girl" "the pulled description"

# ---- conflicts ----
check "an edit there" in_there character edit mei --name "Mei Li"
check "another here" in_here character edit mei --name "Mei Ling"
check "pushed from here" in_here push studio mei
cd "$there" || exit 99
TROUPE_STORE=$there/.troupe
export TROUPE_STORE
fails_with 65 "1 element in conflict" "push from there is a conflict" troupe push origin
like "$(cat "$scratch/.out")" "conflict mei: changed here and on the remote" "the conflict is reported"
fails_with 65 "1 element in conflict" "pull of a conflict changes nothing" troupe pull origin
like "$(cat "$scratch/.out")" "conflict mei: mei name" "the field in conflict is named"
is "$(troupe character show mei --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["name"])')" \
	"Mei Li" "the local name is kept"
check "pull --theirs resolves it" troupe pull origin --theirs
is "$(troupe character show mei --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["name"])')" \
	"Mei Ling" "the remote's name taken"
like "$(troupe remote)" "origin same mei" "then both sides agree"

# ---- errors that say what ----
AWS_SECRET_ACCESS_KEY=wrong-secret fails_with 77 \
	"push: remote origin: the secret key is wrong \(403 SignatureDoesNotMatch\)" \
	"a wrong secret says so" troupe push origin
AWS_ACCESS_KEY_ID=nobody:none fails_with 77 "remote origin: " "an unknown access key is refused" \
	troupe push origin
check "a remote on a bucket nobody made" troupe remote add nowhere s3://no-such-bucket/x \
	--endpoint "$S3_ENDPOINT" --path-style
fails_with 78 "remote nowhere: bucket 'no-such-bucket' does not exist \(404 NoSuchBucket\)" \
	"a bucket that does not exist says so" troupe push nowhere
(
	unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
	export AWS_SHARED_CREDENTIALS_FILE=$scratch/none HOME=$scratch/nohome
	fails_with 78 "AWS_SHARED_CREDENTIALS_FILE" "a credentials file that is not there says so" \
		troupe push origin
	unset AWS_SHARED_CREDENTIALS_FILE
	fails_with 78 "no credentials: set AWS_ACCESS_KEY_ID" "no credentials at all says what to set" \
		troupe push origin
	printf '[default]\naws_access_key_id = nobody\naws_secret_access_key = x\n\n[team]\n# the studio\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
		"test:tester" "s3cret-troupe-7f2a" >"$scratch/creds"
	export AWS_SHARED_CREDENTIALS_FILE=$scratch/creds AWS_PROFILE=team
	check "keys from a profile of the shared credentials file" troupe remote status origin
	check "pushes too" troupe push origin
) | sed 's/^ok [0-9]*/ok/' >"$scratch/sub.tap"
while read -r line; do
	case $line in
	ok*) pass "${line#ok - }" ;;
	"not ok"*) fail "${line#not ok * - }" ;;
	esac
done <"$scratch/sub.tap"
unset TROUPE_STORE

# ---- a push killed in the middle ----
cd "$here" || exit 99
for i in 1 2 3 4 5 6 7 8; do noise_jpeg "$scratch/zoe$i.jpg" 96 96; done
troupe character new zoe -q >/dev/null
troupe add zoe "$scratch"/zoe?.jpg -q >/dev/null
TROUPE_FAULT=push-blob@3 troupe push studio zoe -j 1 >/dev/null 2>&1
is "$?" 86 "a push stops at its third blob"
like "$(troupe remote)" "studio only-here zoe" "the remote does not name zoe: no manifest went"
out=$(troupe push studio zoe -j 1)
like "$out" "1 element pushed, 0 in conflict; 5 blobs .* sent, 3 already there" \
	"the retry sends only the five the remote lacks"
check "an edit of zoe" troupe character edit zoe --describe "A runner"
TROUPE_FAULT=push-before-manifest troupe push studio zoe >/dev/null 2>&1
is "$?" 86 "a push can stop before its manifest"
like "$(troupe remote)" "studio local-ahead zoe" "the remote still has zoe as she was"
check "the retry writes it" troupe push studio zoe
like "$(troupe remote)" "studio same zoe" "then it is the same there"

for i in $(seq 1 40); do noise_jpeg "$scratch/big$i.jpg" 256 256; done
troupe character new crowd -q >/dev/null
troupe add crowd "$scratch"/big*.jpg -q >/dev/null
"$TROUPE" push studio crowd -j 2 >/dev/null 2>&1 &
pid=$!
sleep 0.4
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
out=$(troupe push studio crowd)
like "$out" "1 element pushed, 0 in conflict; [0-9]+ blobs .* sent, [0-9]+ already there" \
	"a push killed with SIGKILL goes on when run again"

# ---- a pull killed in the middle ----
cd "$there" || exit 99
TROUPE_FAULT=pull-blob@2 troupe pull origin zoe -j 1 >/dev/null 2>&1
is "$?" 86 "a pull stops at its second blob"
is "$(troupe query 'character:zoe' --count)" 0 \
	"nothing of zoe is committed"
TROUPE_FAULT=pull-before-commit troupe pull origin zoe >/dev/null 2>&1
is "$?" 86 "a pull stops before its commit"
troupe fsck --repair >/dev/null 2>&1
# What a killed pull may leave: blobs published before the commit that
# did not happen, which no row names (gc's to reclaim), and nothing worse.
is "$(troupe fsck --json | python3 -c 'import json,sys; print(sorted({p["kind"] for p in json.load(sys.stdin)["problems"]} - {"unreferenced"}))')" \
	"[]" "after --repair fsck finds nothing but unreferenced blobs"
check "the pull goes on" troupe pull origin zoe
check "and fsck is clean" troupe fsck
is "$(troupe query 'character:zoe' --count)" 8 "zoe's eight pictures"
check "clean after" troupe fsck --full
"$TROUPE" pull origin crowd -j 2 >/dev/null 2>&1 &
pid=$!
sleep 0.3
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
troupe fsck --repair >/dev/null 2>&1
check "a pull killed with SIGKILL goes on when run again" troupe pull origin crowd
is "$(troupe query 'character:crowd' --count)" 40 "the crowd whole"

# ---- multipart uploads ----
cd "$here" || exit 99
vips gaussnoise "$scratch/large.png" 4000 3200 --mean 128 --sigma 60 >/dev/null 2>&1
troupe character new vast -q >/dev/null
troupe add vast "$scratch/large.png" -q >/dev/null
size=$(stat -c %s "$scratch/large.png")
check "a picture over two parts ($size bytes)" test "$size" -gt 10485760
check "pushed in 5 MiB parts" env TROUPE_S3_PART_SIZE=5242880 "$TROUPE" push studio vast
vast=$(xxh128sum "$scratch/large.png" | cut -d' ' -f1)
like "$(s3_call HEAD "/films/cast/objects/${vast:0:2}/${vast:2}")" '^200 ".*-[0-9]+"$' \
	"the blob was stored as a multipart upload (its ETag says so)"
cd "$there" || exit 99
check "pulled back" troupe pull origin vast
check "the same bytes came back" cmp "$scratch/large.png" "$(troupe path "$vast")"

# ---- fsck --repair from a remote ----
victim=$(troupe query 'character:zoe' --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["hash"])')
chmod u+w ".troupe/objects/${victim:0:2}"
rm -f ".troupe/objects/${victim:0:2}/${victim:2}"
troupe fsck >"$scratch/fsck.out" 2>&1
is "$?" 1 "fsck finds the deleted blob"
troupe fsck --repair >"$scratch/fsck.out" 2>&1
like "$(cat "$scratch/fsck.out")" "missing $victim: not in objects/; restored from a remote" \
	"fsck --repair brings it back from the remote"
check "and the store is clean" troupe fsck --full

done_testing
