#!/bin/sh
# troupe export and import: a cast goes from one real store to another as
# one bundle, and query, inject and nearest work on it there; importing it
# again changes nothing; a conflict is refused until --ours or --theirs
# decides; every hostile bundle (truncated, a wrong hash, a link, a path
# out of the archive, a profile, ...) is refused with the store unchanged;
# and a crash at each of import's fault points leaves a store that fsck
# passes and a repeated import completes.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require sqlite3 xxh128sum jq python3 sha256sum

photos=$TEST_SRCDIR/data/photos
h() { xxh128sum "$photos/$1" | cut -c1-32; }
A=$PWD/a/.troupe
B=$PWD/b/.troupe
ta() { troupe --store "$A" "$@"; }
tb() { troupe --store "$B" "$@"; }

# Store A: a character with a look and embeddings, a location, a shot.
ta init >/dev/null
ta character new mei --name Mei --describe "a pilot" --seed 42 >/dev/null
ta character edit mei --tag hero --alias meimei >/dev/null
ta add mei "$photos/astronaut.jpg" "$photos/camera.jpg" --role face --tag look:winter >/dev/null
ta add mei "$photos/chelsea.jpg" --role sheet >/dev/null
ta look new mei winter --describe "a fur coat" >/dev/null
ta location new dock --describe "a wooden pier" >/dev/null
ta add dock "$photos/coffee.jpg" --role location >/dev/null
printf '{"asset": "%s", "vector": [1, 0, 0, 0]}\n{"asset": "%s", "vector": [0.9, 0.1, 0, 0]}\n{"asset": "%s", "vector": [0, 1, 0, 0]}\n' \
	"$(h astronaut.jpg)" "$(h camera.jpg)" "$(h chelsea.jpg)" >v.jsonl
ta embed import --model toy v.jsonl >/dev/null
ta shot new s01 --prompt "@mei walks onto @dock" --aspect 16:9 >/dev/null
ta shot still s01 "$photos/rocket.jpg" >/dev/null

check "export two elements" ta export mei dock -o cast.troupe
like "$(cat .out)" "^exported 2 elements, 4 assets, 0 shots \\(4 blobs, .*\\) to cast.troupe$" "the summary"
check "the bundle is a tar file, manifest first" sh -c 'tar tf cast.troupe >names && head -1 names | grep -qx manifest.json'
is "$(grep -c '^objects/[0-9a-f][0-9a-f]/[0-9a-f]\{32\}$' names)" 4 "four blobs named by hash"
tar xf cast.troupe manifest.json
is "$(jq -r '.blobs[] | select(.hash == "'"$(h astronaut.jpg)"'") | .sha256' manifest.json)" \
	"$(sha256sum "$photos/astronaut.jpg" | cut -c1-64)" "the manifest carries each blob's SHA-256"
is "$(jq -c '[.elements[] | .slug, .kind]' manifest.json)" '["dock","location","mei","character"]' "elements and kinds"
is "$(jq -c '.elements[1] | [.seed, .tags, .aliases, .looks[0].name, .looks[0].description]' manifest.json)" \
	'[42,["hero"],["meimei"],"winter","a fur coat"]' "every field of the element"
is "$(jq -c '.models' manifest.json)" '[{"name":"toy","dimension":4,"network":"","version":""}]' "the model's identity"
check "export to standard output" sh -c "\"$TROUPE\" --store '$A' export mei dock -o - >stdout.troupe"
check "the same cast gives the same bytes" cmp cast.troupe stdout.troupe
fails_with 64 "-o FILE" "export needs -o" ta export mei
fails_with 66 "nobody: unknown character" "an unknown element" ta export nobody -o x.troupe
check "no file is left by a failed export" test ! -e x.troupe

# Store B imports it.
tb init >/dev/null
check "import into another store" tb import cast.troupe
like "$(cat .out)" "^imported 2 new elements .* 1 look, 4 assets, 3 embeddings, 0 shots; 4 blobs stored" "what came in"
check "fsck passes after the import" tb fsck --full
check "query works on the imported cast" tb query 'character:mei look:winter' --json
is "$(jq -r '[.[].hash] | sort | join(" ")' .out)" "$(printf '%s\n' "$(h astronaut.jpg)" "$(h camera.jpg)" | sort | tr '\n' ' ' | sed 's/ $//')" \
	"the look's two faces"
check "the element's fields" tb character show mei --json
is "$(jq -c '[.name, .description, .seed, .tags, .aliases]' .out)" '["Mei","a pilot",42,["hero"],["meimei"]]' "name, description, seed, tags, aliases"
check "the look came along" tb look show mei winter
check "an alias resolves" tb character show meimei
check "inject resolves the imported cast" tb inject --profile runway-gen4-image "@mei on @dock"
is "$(jq -r '[.seed, (.referenceImages | length > 0)] | join(",")' .out)" "42,true" "the seed and references of the imported Mei"
check "nearest uses the imported vectors" tb nearest "$(h astronaut.jpg)" --model toy -k 1 --json
is "$(jq -r '.[0].hash' .out)" "$(h camera.jpg)" "the nearest neighbour is the other winter face"
check "exporting again from B gives the same bundle" sh -c "\"$TROUPE\" --store '$B' export mei dock -o - | cmp - cast.troupe"

# Re-importing changes nothing at all.
before=$(TROUPE_STORE=$B store_state)
check "import the same bundle again" tb import cast.troupe
like "$(cat .out)" "0 new elements \\(0 updated, 2 unchanged\\).* 0 blobs stored .* 4 already here" "nothing new"
is "$(TROUPE_STORE=$B store_state)" "$before" "the store is identical"
check "fsck is clean" tb fsck
check "import from standard input" sh -c "\"$TROUPE\" --store '$B' import - <cast.troupe"
is "$(TROUPE_STORE=$B store_state)" "$before" "still identical"

# Shots come with their still and the elements their prompt mentions.
check "export a shot" ta export --shot s01 -o shot.troupe
troupe --store "$PWD/c/.troupe" init >/dev/null
check "import the shot into an empty store" troupe --store "$PWD/c/.troupe" import shot.troupe
check "the shot is there" troupe --store "$PWD/c/.troupe" shot show s01 --json
is "$(jq -r '[.prompt, .aspect, (.still != null)] | join(",")' .out)" "@mei walks onto @dock,16:9,true" "prompt, aspect, still"
check "its elements came along" troupe --store "$PWD/c/.troupe" location show dock

# A query's assets and their elements.
check "export a query" ta export --query 'role:location' -o q.troupe
tar xf q.troupe manifest.json
is "$(jq -c '[(.assets | length), [.elements[].slug]]' manifest.json)" '[1,["dock"]]' "one asset, its element"

# Conflicts: reported field by field, refused until a side is chosen.
tb character edit mei --describe "a retired pilot" >/dev/null
tb tag "$(h camera.jpg)" +smiling >/dev/null
before=$(TROUPE_STORE=$B store_state)
fails_with 65 "conflict.*--ours.*--theirs" "a conflict is refused" tb import cast.troupe
like "$(cat .out)" "description: ours \"a retired pilot\", theirs \"a pilot\"" "the differing field is named"
is "$(TROUPE_STORE=$B store_state)" "$before" "the store is unchanged"
check "import -n lists the plan" tb import -n cast.troupe --json
is "$(jq -r '[.[] | select(.state == "conflict") | .name] | .[0]' .out)" "mei" "the element is in conflict"
check "--ours keeps this store's" tb import --ours cast.troupe
is "$(tb character show mei --json | jq -r .description)" "a retired pilot" "the description stays"
check "--theirs takes the bundle's" tb import --theirs cast.troupe
is "$(tb character show mei --json | jq -r .description)" "a pilot" "the bundle's description"
fails_with 64 "exclude each other" "--ours with --theirs" tb import --ours --theirs cast.troupe
check "fsck is clean after the merges" tb fsck

# Hostile bundles, each built from the good one by tests' own tar writer.
cat >mk.py <<'PY'
import hashlib, io, json, sys, tarfile
src, out, action = sys.argv[1], sys.argv[2], sys.argv[3]
arg = sys.argv[4] if len(sys.argv) > 4 else None
tin = tarfile.open(src)
members = [(m, tin.extractfile(m).read()) for m in tin.getmembers()]
man = json.loads(members[0][1])
blobs = members[1:]
def info(name, data, mode=0o444, kind=tarfile.REGTYPE):
    i = tarfile.TarInfo(name); i.size = len(data); i.mode = mode; i.type = kind
    return i, data
extra = []
if action == "xxh3":     # other bytes, their SHA-256 in the manifest: only XXH3 catches it
    m, data = blobs[0]; data = bytearray(data); data[200] ^= 0xff; data = bytes(data)
    for b in man["blobs"]:
        if b["hash"] == m.name[-32:]: b["sha256"] = hashlib.sha256(data).hexdigest()
    blobs[0] = (m, data)
elif action == "sha256":  # the bytes intact, the manifest's SHA-256 not theirs
    man["blobs"][0]["sha256"] = "0" * 64
elif action == "absent":
    blobs = blobs[1:]
elif action == "version":
    man["version"] = 2
elif action == "dimension":
    man["models"][0]["dimension"] = 3
elif action == "huge":
    man["blobs"][0]["bytes"] = 1 << 50
elif action == "dup":
    extra.append(blobs[0])
elif action == "dup-far":  # the same entry again, last, with the others between
    blobs.append(blobs[0])
elif action in ("traversal", "absolute", "profile", "exec", "symlink", "hardlink", "device", "dir"):
    name = {"traversal": "objects/../../evil", "absolute": "/tmp/evil", "profile": "profiles/kling.json",
            "exec": blobs[0][0].name, "symlink": "objects/aa/link", "hardlink": "objects/aa/link",
            "device": "objects/aa/dev", "dir": "objects/aa"}[action]
    kind = {"symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE, "device": tarfile.CHRTYPE,
            "dir": tarfile.DIRTYPE}.get(action, tarfile.REGTYPE)
    i, d = info(name, b"" if kind != tarfile.REGTYPE else b'{"x": 1}', 0o755 if action == "exec" else 0o444, kind)
    if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE): i.linkname = "/etc/passwd"
    if action == "exec": blobs = blobs[1:]; d = members[1][1]; i.size = len(d)
    extra.append((i, d))
text = json.dumps(man).encode()
with tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as t:
    i, d = info("manifest.json", text); t.addfile(i, io.BytesIO(d))
    for m, d in extra + blobs:
        t.addfile(m, io.BytesIO(d))
PY
tc() { troupe --store "$PWD/c/.troupe" "$@"; }
rm -rf c && tc init >/dev/null
empty=$(TROUPE_STORE=$PWD/c/.troupe store_state)
refused() { # STATUS REGEX WHAT ACTION: the store stays as it was
	python3 mk.py cast.troupe "bad-$4.troupe" "$4" || fail "$3: mk.py $4"
	fails_with "$1" "$2" "$3" tc import "bad-$4.troupe"
	is "$(TROUPE_STORE=$PWD/c/.troupe store_state)" "$empty" "$3: the store is unchanged"
}
size=$(wc -c <cast.troupe)
head -c $((size - 1500)) cast.troupe >bad-truncated.troupe
fails_with 65 "truncated" "a truncated bundle" tc import bad-truncated.troupe
is "$(TROUPE_STORE=$PWD/c/.troupe store_state)" "$empty" "truncated: the store is unchanged"
head -c 700 cast.troupe >bad-short.troupe
fails_with 65 "truncated" "a bundle cut inside the manifest" tc import bad-short.troupe
is "$(TROUPE_STORE=$PWD/c/.troupe store_state)" "$empty" "cut in the manifest: the store is unchanged"
check "a truncated bundle from a pipe too" sh -c "cat bad-truncated.troupe | \"$TROUPE\" --store '$PWD/c/.troupe' import - 2>err; test \$? = 65 && grep -q 'truncated (the file ends inside the archive)' err"
is "$(TROUPE_STORE=$PWD/c/.troupe store_state)" "$empty" "truncated on a pipe: the store is unchanged"
refused 65 "XXH3-128 mismatch" "other bytes under a blob's name" xxh3
refused 65 "SHA-256 mismatch" "a SHA-256 that is not the blob's" sha256
refused 65 "named by the manifest, but absent" "a blob missing from the archive" absent
refused 65 "version 2; this troupe reads version 1 only" "a manifest of another version" version
refused 65 "not a whole number in range" "an absurd blob size in the manifest" huge
refused 65 "a duplicate entry" "the same entry twice" dup
refused 65 "a duplicate entry" "the same entry twice, far apart" dup-far
refused 65 "path traversal" "a name with .." traversal
refused 65 "an absolute name" "an absolute name" absolute
refused 65 "a profile inside a bundle is never installed" "a profile inside" profile
refused 65 "an executable inside a bundle" "an executable entry" exec
refused 65 "a symbolic link inside a bundle" "a symbolic link" symlink
refused 65 "a hard link inside a bundle" "a hard link" hardlink
refused 65 "a character device inside a bundle" "a device" device
refused 65 "a directory inside a bundle" "a directory entry" dir
check "nothing of the profile was written anywhere" test ! -e c/.troupe/profiles/kling.json
# A header that declares more than the file holds: the first blob's size
# field rewritten (and its checksum with it).
python3 - cast.troupe bad-declared.troupe <<'PY'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
msize = int(data[124:136].split(b"\0")[0], 8)
off = 512 + (msize + 511) // 512 * 512
data[off + 124:off + 136] = b"%011o\0" % (1 << 32)
data[off + 148:off + 156] = b" " * 8
data[off + 148:off + 156] = b"%06o\0 " % sum(data[off:off + 512])
open(sys.argv[2], "wb").write(data)
PY
fails_with 65 "declares 4294967296 bytes, more than is left in the file" "a size larger than the file" tc import bad-declared.troupe
is "$(TROUPE_STORE=$PWD/c/.troupe store_state)" "$empty" "declared size: the store is unchanged"
printf 'not a tar file at all, just some text that is long enough to fill a block.%0500d' 0 >bad-text.troupe
fails_with 65 "not a tar file|checksum" "a file that is not a bundle" tc import bad-text.troupe
refused 65 "not the base64 of the model's dimension of float32s" \
	"vectors of another dimension than the manifest's model" dimension
# A store whose model has another dimension takes none of the bundle's vectors.
tb2() { troupe --store "$PWD/d/.troupe" "$@"; }
tb2 init >/dev/null
tb2 character new kai >/dev/null
tb2 add kai "$photos/rocket.jpg" >/dev/null
printf '{"asset": "%s", "vector": [1, 0, 0, 0, 0]}\n' "$(h rocket.jpg)" >five.jsonl
tb2 embed import --model toy five.jsonl >/dev/null
before=$(TROUPE_STORE=$PWD/d/.troupe store_state)
fails_with 65 "model toy: the bundle's vectors have 4 dimensions, this store's 5" \
	"an embedding of another dimension than the store's model" tb2 import cast.troupe
is "$(TROUPE_STORE=$PWD/d/.troupe store_state)" "$before" "dimension: the store is unchanged"

# A crash at each fault point: fsck passes once the leftovers are
# repaired, and the import, repeated, completes.
for point in $(sed -n '/^\.It Ev TROUPE_FAULT/,/^\.It Ev/p' "$TEST_SRCDIR/../man/troupe.1" |
	grep -o 'import-[a-z-]*' | sort -u); do
	rm -rf f && troupe --store "$PWD/f/.troupe" init >/dev/null
	TROUPE_FAULT=$point "$TROUPE" --store "$PWD/f/.troupe" import cast.troupe >/dev/null 2>&1
	is $? 86 "a crash at $point"
	# Blobs published before the crash are kept for gc: the only thing
	# fsck may still list before the import is repeated.
	troupe --store "$PWD/f/.troupe" fsck --repair >/dev/null 2>&1
	troupe --store "$PWD/f/.troupe" fsck >fsck.out 2>/dev/null
	is "$(grep -v '^unreferenced [0-9a-f]*: no row names this blob' fsck.out | grep -cv '^[0-9]* problems\{0,1\};')" 0 \
		"$point: after fsck --repair, nothing but unreferenced blobs"
	check "$point: the repeated import completes" troupe --store "$PWD/f/.troupe" import cast.troupe
	check "$point: fsck is clean after it" troupe --store "$PWD/f/.troupe" fsck --full
	is "$(troupe --store "$PWD/f/.troupe" query 'character:mei' --json | jq length)" 3 "$point: mei's three assets"
	points="${points:-}$point "
done
is "$points" "import-after-commit import-before-commit import-staged " "three fault points were looped over"

done_testing
