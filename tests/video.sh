#!/bin/sh
# Videos: add probes them (duration, fps, codec, size) and makes a poster
# for the thumbnail and pHash; query by duration and fps; show; similar;
# frames as files and as assets with their provenance; and every hostile
# file refused with a clear error and the store unchanged. The clips are
# made here from the real photographs with Debian's ffmpeg.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require ffmpeg sqlite3 vipsheader

photos=$TEST_SRCDIR/data/photos
mk() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
mk -loop 1 -t 2 -i "$photos/astronaut.jpg" -vf scale=320:-2 -c:v libx264 -pix_fmt yuv420p -r 25 a.mp4
mk -loop 1 -t 1 -i "$photos/chelsea.jpg" -vf scale=320:-2 -c:v libvpx-vp9 -b:v 200k -r 24 c.webm
# Red above blue (the photo's top half kept), stored turned a quarter:
# upright, it is taller than wide.
mk -loop 1 -t 1 -i "$photos/rocket.jpg" -vf scale=320:240 -c:v libx264 -pix_fmt yuv420p -r 25 r.mp4
mk -i r.mp4 -c copy -metadata:s:v:0 rotate=90 turned.mov
# 2 s of one photograph then 2 s of another, one keyframe: the frame at
# 3 s and the last one are reached only by decoding forward.
mk -loop 1 -t 2 -i "$photos/astronaut.jpg" -loop 1 -t 2 -i "$photos/chelsea.jpg" \
	-filter_complex "[0]scale=320:240,setsar=1[a];[1]scale=320:240,setsar=1[b];[a][b]concat=n=2:v=1" \
	-r 25 -c:v libx264 -g 1000 -pix_fmt yuv420p two.mp4
# A clip that starts on black: its poster must not be the black frame.
mk -f lavfi -i color=c=black:s=320x240:r=25:d=1 -loop 1 -t 2 -i "$photos/coffee.jpg" \
	-filter_complex "[1]scale=320:240,setsar=1,format=yuv420p[b];[0]format=yuv420p,setsar=1[a];[a][b]concat=n=2:v=1" \
	-r 25 -c:v libx264 -pix_fmt yuv420p black-start.mp4
[ -s two.mp4 ] && [ -s turned.mov ] && [ -s c.webm ] || { echo "Bail out! ffmpeg made no clips"; exit 99; }

troupe init >/dev/null
troupe character new mei --name Mei >/dev/null

# ---- adding ----
check "add an H.264 MP4" troupe add mei a.mp4 --role generated
is "$(sqlite3 .troupe/troupe.db "SELECT format, width, height, duration, fps, codec FROM assets WHERE id = 1")" \
	"mp4|320|320|2.0|25.0|h264" "add records format, size, duration, fps and codec"
is "$(sqlite3 .troupe/troupe.db "SELECT count(*) FROM thumbnails t JOIN assets a ON a.blob_id = t.blob_id WHERE a.id = 1")" \
	1 "a video gets a thumbnail"
thumb=$(sqlite3 .troupe/troupe.db "SELECT tb.hash FROM assets a JOIN thumbnails t ON t.blob_id = a.blob_id
	JOIN blobs tb ON tb.id = t.thumb_blob_id WHERE a.id = 1")
like "$(vipsheader ".troupe/objects/$(echo "$thumb" | cut -c1-2)/$(echo "$thumb" | cut -c3-)")" \
	"256x256 uchar, 3 bands, srgb, jpegload" "the poster thumbnail is a JPEG of the frame"
is "$(sqlite3 .troupe/troupe.db "SELECT phash IS NOT NULL FROM blobs b JOIN assets a ON a.blob_id = b.id WHERE a.id = 1")" \
	1 "a video gets a pHash"
check "add a VP9 WebM" troupe add c.webm
is "$(sqlite3 .troupe/troupe.db "SELECT format, codec, fps FROM assets WHERE source = 'c.webm'")" \
	"webm|vp9|24.0" "a WebM is probed"
check "add a MOV with a display matrix" troupe add turned.mov
is "$(sqlite3 .troupe/troupe.db "SELECT format, width, height FROM assets WHERE source = 'turned.mov'")" \
	"mov|240|320" "a turned MOV is recorded as displayed"
mkdir dir && cp two.mp4 black-start.mp4 dir/ && echo "notes" > dir/notes.txt
check "add a directory of videos" troupe add dir
is "$(sqlite3 .troupe/troupe.db "SELECT count(*) FROM assets WHERE codec = 'h264'")" 4 \
	"the directory's videos are added, its text file skipped"
troupe add - < r.mp4 > out.txt 2>&1
like "$(cat out.txt)" "^added .* -$" "a video on standard input is added"
is "$(sqlite3 .troupe/troupe.db "SELECT format, duration FROM assets WHERE source = 'stdin'")" \
	"mp4|1.0" "a video from standard input is probed"

# The poster of a clip that starts black is a picture, not the black frame.
black_thumb=$(sqlite3 .troupe/troupe.db "SELECT tb.hash FROM assets a JOIN thumbnails t ON t.blob_id = a.blob_id
	JOIN blobs tb ON tb.id = t.thumb_blob_id WHERE a.source = 'black-start.mp4'")
mean=$(vips avg ".troupe/objects/$(echo "$black_thumb" | cut -c1-2)/$(echo "$black_thumb" | cut -c3-)" 2>/dev/null)
like "$mean" '^([3-9][0-9]|[1-2][0-9][0-9])' "a poster is not the black first frame (mean $mean)"

# ---- query, show, similar ----
is "$(troupe query 'duration>=3' --count)" 2 "query duration>=3"
is "$(troupe query 'duration<1.5s fps=24' --count)" 1 "query duration<1.5s fps=24"
is "$(troupe query 'format:mp4 duration>=2 duration<=2' --count)" 1 \
	"query format:mp4 and an exact duration"
fails_with 64 "not a number of seconds" "a duration that is not a number" troupe query 'duration>=long'
show=$(troupe show 1)
like "$show" "video +320x320 mp4" "show says it is a video and its size"
like "$show" "duration +2.000 s at 25 fps, h264" "show prints duration, fps and codec"
like "$(troupe show 1 --json)" '"codec":[[:space:]]*"h264"' "show --json has the codec"
like "$(troupe similar a.mp4)" "^0 +1 " "similar finds a stored video from its file"
mk -i "$photos/astronaut.jpg" -vf scale=300:-2 -frames:v 1 astronaut-small.png
like "$(troupe similar astronaut-small.png)" " 1 +[0-9a-f]+ +mei +generated" \
	"similar finds a video from a still of its picture"
check "sheet draws a video's poster" troupe sheet mei -o sheet.png

# ---- hostile files: a clear error, a non-zero status, an unchanged store ----
: > empty.mp4
fails_with 65 "add: empty.mp4: an empty file" "a zero-byte file" troupe add empty.mp4
echo "this is not a video" > text.mp4
fails_with 65 "add: text.mp4: not a video" "a text file named .mp4" troupe add text.mp4
head -c 20000 a.mp4 > cut.mp4
fails_with 65 "add: cut.mp4: truncated" "a truncated MP4" troupe add cut.mp4
mk -loop 1 -t 1 -i "$photos/coffee.jpg" -vf scale=64:-2 -c:v libx264 -pix_fmt yuv420p -movflags +faststart fast.mp4
python3 - <<'PY'
import struct
data = open("fast.mp4", "rb").read()
boxes, off = [], 0
while off < len(data):
    size, = struct.unpack(">I", data[off:off + 4])
    boxes.append((data[off + 4:off + 8], off, size))
    off += size
open("nomoov.mp4", "wb").write(b"".join(data[o:o + s] for t, o, s in boxes if t != b"moov"))
o, s = [(o, s) for t, o, s in boxes if t == b"mdat"][0]
lying = bytearray(data)
lying[o:o + 4] = struct.pack(">I", s + 1000000)
open("lying.mp4", "wb").write(lying)
PY
fails_with 65 "add: nomoov.mp4: no moov box" "an MP4 without its moov box" troupe add nomoov.mp4
fails_with 65 "add: lying.mp4: truncated: the mdat box runs 1000000 bytes past" \
	"an MP4 lying about its size" troupe add lying.mp4
head -c 4000 c.webm > cut.webm
fails_with 65 "add: cut.webm: truncated" "a truncated WebM" troupe add cut.webm
mk -f lavfi -i color=c=red:s=64x64:r=25:d=1 -c:v mpeg4 mpeg4.mp4
fails_with 65 "add: mpeg4.mp4: the codec mpeg4 is not one troupe decodes" "a codec off the list" \
	troupe add mpeg4.mp4
TROUPE_MAX_MEGAPIXELS=0.01 fails_with 65 "add: a.mp4: frames of 320 x 320 pixels, over the limit" \
	"frames over the pixel limit" troupe add a.mp4 --role face
fails_with 65 "add: cut.mp4: truncated" "a hostile file on standard input... named" troupe add cut.mp4 a.mp4
troupe add - < cut.mp4 > /dev/null 2> err.txt
like "$(cat err.txt)" "^troupe: add: -: truncated" "a truncated video on standard input names -"
like "$(troupe add empty.mp4 2>&1; troupe add cut.mp4 2>&1)" "^troupe: add: [^ ]+: [a-z]" \
	"no FFmpeg log line reaches the user"
is "$(troupe add cut.mp4 2>&1 | wc -l | tr -d ' ')" 1 "one line of error, nothing from FFmpeg"

# ---- frames ----
check "frames --at, --first, --last to a directory" \
	troupe frames two.mp4 --at 1 --at 00:00:03.0 --at 2.4s --first --last -o frames
is "$(ls frames | tr '\n' ' ')" \
	"frame-000000.000.png frame-000001.000.png frame-000002.400.png frame-000003.000.png frame-000003.960.png " \
	"frames are named by their time"
like "$(vipsheader frames/frame-000003.960.png)" "320x240 uchar, 3 bands, srgb, pngload" \
	"a frame is a PNG at the video's size"
astro=$(troupe hash "$photos/astronaut.jpg" | cut -d' ' -f1)
troupe add "$photos/astronaut.jpg" "$photos/chelsea.jpg" --tag still >/dev/null
# Which of the two photographs a frame is: the nearer by pHash.
which_photo() {
	a=$(troupe similar "$1" --max-distance 64 --json | grep -B1 -A12 '"source":[[:space:]]*"astronaut.jpg"' | grep -o '"distance":[[:space:]]*[0-9]*' | grep -o '[0-9]*$')
	c=$(troupe similar "$1" --max-distance 64 --json | grep -B1 -A12 '"source":[[:space:]]*"chelsea.jpg"' | grep -o '"distance":[[:space:]]*[0-9]*' | grep -o '[0-9]*$')
	if [ "${a:-64}" -lt "${c:-64}" ]; then echo astronaut; else echo chelsea; fi
}
is "$(which_photo frames/frame-000001.000.png)" astronaut "the frame at 1 s is the first photograph"
is "$(which_photo frames/frame-000003.000.png)" chelsea "the frame at 3 s is the second"
is "$(which_photo frames/frame-000003.960.png)" chelsea \
	"the last frame is the second photograph's, not the keyframe's"
check "frames --every 0.5s --format jpeg" troupe frames two.mp4 --every 0.5s --format jpeg -o every
is "$(ls every | wc -l | tr -d ' ')" 8 "every 0.5 s of 4 s: 8 frames"
like "$(vipsheader every/frame-000000.000.jpg)" "jpegload" "--format jpeg writes JPEG"
check "frames of a turned MOV" troupe frames turned.mov --first -o turned
like "$(vipsheader turned/frame-000000.000.png)" "240x320" "frames come out upright"
fails_with 64 "--at 2.4x: not a time" "a time that is not one" troupe frames two.mp4 --at 2.4x
fails_with 64 "say which frames" "frames without a choice of frames" troupe frames two.mp4
fails_with 65 "cut.mp4: truncated" "frames of a hostile file" troupe frames cut.mp4 --first

# --add: each frame an asset that names its video and time.
video=$(sqlite3 .troupe/troupe.db "SELECT id FROM assets WHERE source = 'two.mp4'")
check "frames --add --last of a stored video" troupe frames "$video" --last --at 1 --add
is "$(sqlite3 .troupe/troupe.db "SELECT count(*) FROM asset_frames WHERE video_id = $video")" 2 \
	"two frames recorded as of that video"
is "$(sqlite3 .troupe/troupe.db "SELECT round(t, 2) FROM asset_frames WHERE video_id = $video ORDER BY t")" \
	"1.0
3.96" "each with its time"
frame=$(sqlite3 .troupe/troupe.db "SELECT asset_id FROM asset_frames WHERE video_id = $video ORDER BY t DESC LIMIT 1")
like "$(troupe show "$frame")" "frame of +asset $video at 3.960 s" "show prints a frame's provenance"
is "$(sqlite3 .troupe/troupe.db "SELECT role, source FROM assets WHERE id = $frame")" \
	"reference|frame-000003.960.png" "a stored frame is a reference named by its time"
check "frames --add of a stored video's file, for a character" \
	troupe frames two.mp4 --first --add --character mei
is "$(sqlite3 .troupe/troupe.db "SELECT c.slug FROM asset_frames f JOIN assets a ON a.id = f.asset_id
	JOIN characters c ON c.id = a.character_id WHERE f.t = 0 AND f.video_id = $video")" mei \
	"--character gives the frames a character"
fails_with 64 "not in the store; add it first" "frames --add of a file not stored" \
	troupe frames fast.mp4 --first --add
fails_with 65 "is a picture, not a video" "frames of a picture asset" troupe frames "$astro" --first

done_testing
