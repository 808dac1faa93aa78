#!/bin/sh
# troupe cut: the chosen takes in film order as an OpenTimelineIO
# timeline (its structure checked with python3) and an ffmpeg concat list
# that Debian's ffmpeg turns into one file as long as the takes together;
# a shot with no chosen take refused, or left out with --partial. The
# clips are made here from the photographs.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require ffmpeg ffprobe python3 sqlite3

photos=$TEST_SRCDIR/data/photos
mk() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
# One size, codec and frame rate, so that stream copy can join them.
clip() { mk -loop 1 -t "$3" -i "$photos/$1" -vf scale=320:240,setsar=1 -c:v libx264 -pix_fmt yuv420p -r "$4" "$2"; }
clip astronaut.jpg a.mp4 2 25
clip chelsea.jpg b.mp4 1 25
clip coffee.jpg c.mp4 3 25
clip rocket.jpg d.mp4 1 25
# A file name with a quote and a space: the store names blobs by hash,
# so the list must quote the store's own path; the source name is kept.
cp d.mp4 "it's d.mp4"
[ -s a.mp4 ] && [ -s c.mp4 ] || { echo "Bail out! ffmpeg made no clips"; exit 99; }
duration() { ffprobe -v error -show_entries format=duration -of csv=p=0 "$1"; }

troupe init >/dev/null
troupe shot new s01 >/dev/null
troupe shot new s02 >/dev/null
troupe shot new s01b --after s01 >/dev/null
troupe shot take s01 a.mp4 b.mp4 >/dev/null
troupe shot take s02 c.mp4 >/dev/null
troupe shot take s01b "it's d.mp4" >/dev/null

fails_with 64 "where to" "a cut with nowhere to go" troupe cut
fails_with 65 "s01 has no chosen take .*--partial" "a shot with no chosen take is named" \
	troupe cut -o cut.otio --ffconcat cut.txt
check "nothing was written" test ! -e cut.otio -a ! -e cut.txt
troupe shot pick s01 2 >/dev/null
troupe shot pick s01b 1 >/dev/null
troupe cut -o part.otio --partial >out.txt 2>err.txt
is "$?" 0 "--partial cuts what has a chosen take"
like "$(cat err.txt)" "s02 has no chosen take; left out" "--partial names the shot left out"
like "$(cat out.txt)" "^2 clips, 2.000 s, part.otio" "it says how many clips and how long"

troupe shot pick s02 1 >/dev/null
check "the whole cut" troupe cut -o cut.otio --ffconcat cut.txt --name "Night harbor"
is "$(head -1 cut.txt)" "ffconcat version 1.0" "the concat list starts with its version line"
is "$(grep -c "^file '/" cut.txt) $(grep -c '^duration ' cut.txt)" "3 3" \
	"a file and a duration line per clip, absolute paths"
is "$(troupe cut -o again.otio --json | python3 -c 'import json,sys; j = json.load(sys.stdin); print(" ".join("%s:%d" % (c["shot"], c["take"]) for c in j["clips"]), j["duration"])')" \
	"s01:2 s01b:1 s02:1 5" "--json: the clips in film order (s01b right after s01) and the total"

# The concat list makes one file as long as the chosen takes together.
check "ffmpeg joins the concat list" \
	ffmpeg -nostdin -hide_banner -loglevel error -y -f concat -safe 0 -i cut.txt -c copy out.mp4
want=$(python3 -c 'print(1 + 1 + 3)')
got=$(duration out.mp4)
is "$(python3 -c "print(abs($got - $want) < 0.1)")" True \
	"the joined file lasts the sum of the takes ($got s, want $want s)"

# The timeline, against the published schema's structure.
python3 - cut.otio >otio.txt 2>&1 <<'PY'
import json, sys, urllib.parse, os
t = json.load(open(sys.argv[1]))
def expect(cond, what):
    if not cond:
        print("FAIL", what); sys.exit(1)
expect(t["OTIO_SCHEMA"] == "Timeline.1", "Timeline.1")
expect(t["name"] == "Night harbor", "the timeline's name")
expect("global_start_time" in t and isinstance(t["metadata"], dict), "timeline fields")
stack = t["tracks"]
expect(stack["OTIO_SCHEMA"] == "Stack.1" and len(stack["children"]) == 1, "one Stack.1 of one track")
track = stack["children"][0]
expect(track["OTIO_SCHEMA"] == "Track.1" and track["kind"] == "Video", "a video Track.1")
clips = track["children"]
expect([c["name"] for c in clips] == ["s01 take 2", "s01b take 1", "s02 take 1"], "clips in film order")
frames = []
for c in clips:
    expect(c["OTIO_SCHEMA"] == "Clip.2", "Clip.2")
    expect(c["active_media_reference_key"] == "DEFAULT_MEDIA", "the active reference key")
    for key in ("effects", "markers", "enabled", "metadata", "source_range", "media_references"):
        expect(key in c, "a clip has " + key)
    ref = c["media_references"]["DEFAULT_MEDIA"]
    expect(ref["OTIO_SCHEMA"] == "ExternalReference.1", "ExternalReference.1")
    url = urllib.parse.urlparse(ref["target_url"])
    expect(url.scheme == "file" and os.path.isfile(urllib.parse.unquote(url.path)), "a file:// URL of a file")
    r = c["source_range"]
    expect(r["OTIO_SCHEMA"] == "TimeRange.1", "TimeRange.1")
    expect(r["start_time"] == {"OTIO_SCHEMA": "RationalTime.1", "rate": 25, "value": 0}, "start 0 at 25 fps")
    expect(r["duration"]["OTIO_SCHEMA"] == "RationalTime.1" and r["duration"]["rate"] == 25, "duration at 25 fps")
    expect(ref["available_range"] == r, "the reference's available range")
    expect(c["metadata"]["troupe"]["hash"] in ref["target_url"].replace("/", ""), "the clip's blob")
    frames.append(r["duration"]["value"])
expect(frames == [25, 25, 75], "durations in frames: %s" % frames)
print("ok")
PY
is "$(cat otio.txt)" "ok" "the .otio is a Timeline.1 of Clip.2s with file:// references and frame ranges"

mkdir empty && (cd empty && "$TROUPE" init >/dev/null)
TROUPE_STORE=empty/.troupe fails_with 65 "no shots to cut" "a store with no shots" \
	troupe --store empty/.troupe cut -o none.otio
check "and nothing was written" test ! -e none.otio

done_testing
