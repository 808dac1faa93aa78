#!/bin/sh
# troupe board: the storyboard page of every shot in film order, with the
# mentioned elements' reference thumbnails, the still, and the takes as
# videos (made here from the photographs with Debian's ffmpeg), the
# chosen one marked, each take's recorded check verdict with its figures
# (checked here through the stand-in face service, mock-faces.py, which
# tells people apart by frame size); every text escaped and every file
# beside the page.
# Checked in headless Chromium as the gallery is, with a screenshot.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require ffmpeg sqlite3 vips vipsheader python3

photos=$TEST_SRCDIR/data/photos
mk() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
mk -loop 1 -t 2 -i "$photos/astronaut.jpg" -vf scale=320:240,setsar=1 -c:v libx264 -pix_fmt yuv420p -r 25 a.mp4
mk -loop 1 -t 1 -i "$photos/chelsea.jpg" -vf scale=320:200,setsar=1 -c:v libx264 -pix_fmt yuv420p -r 25 b.mp4
mk -loop 1 -t 3 -i "$photos/coffee.jpg" -vf scale=320:180,setsar=1 -c:v libvpx-vp9 -b:v 200k -pix_fmt yuv420p -r 25 c.webm
[ -s a.mp4 ] && [ -s c.webm ] || { echo "Bail out! ffmpeg made no clips"; exit 99; }
db() { sqlite3 .troupe/troupe.db "$1"; }
# Mei's references (384x255 and 384x384) and take 1 (320x240) show Mei,
# take 2 (320x200) Kai; the webm nobody.
cat >control.json <<JSON
{"network": "mock-net", "version": "1", "dimension": 16,
 "people": {"384x255": ["mei"], "384x384": ["mei"], "320x240": ["mei"], "320x200": ["kai"],
            "300x300": ["kai"]}}
JSON
python3 "$TEST_SRCDIR/mock-faces.py" port requests.log control.json &
mock=$!
test_atexit 'kill $mock'
for i in $(seq 1 150); do [ -s port ] && break; sleep 0.2; done
[ -s port ] || { echo "Bail out! the stand-in face service did not start"; exit 99; }
export TROUPE_FACE_URL="http://127.0.0.1:$(cat port)"
hash_of() { xxh128sum "$1" | cut -d' ' -f1; }

troupe init >/dev/null
fails_with 65 "no shots for a board" "a board of a store with no shots" troupe board -o empty
check "nothing written when there is no shot" test ! -e empty
fails_with 64 "no output directory" "board without -o" troupe board
fails_with 64 "takes no arguments" "board with a query" troupe board s01 -o site

troupe character new mei --name "Mei <b>&</b>" >/dev/null
troupe look new mei winter --describe "long red wool coat" >/dev/null
troupe location new harbor --name "Night harbor" >/dev/null
troupe prop new mirror --name "Bronze mirror" >/dev/null
troupe add mei "$photos/chelsea.jpg" --role face >/dev/null
troupe add mei "$photos/astronaut.jpg" --role costume --tag look:winter >/dev/null
troupe add harbor "$photos/rocket.jpg" --role location >/dev/null
troupe add mirror "$photos/camera.jpg" --role prop >/dev/null
troupe shot new s01 --scene 1 --aspect 16:9 --duration 5 \
	--prompt "@mei.winter walks along @harbor <script>alert(1)</script> & \"on\"" >/dev/null
troupe shot new s02 --scene 2 --prompt "the sea at dawn" >/dev/null
troupe shot new s01b --after s01 --prompt "@mei lifts @mirror; it glows" >/dev/null
cp "$photos/coffee.jpg" still.jpg
troupe shot still s01 still.jpg >/dev/null
troupe shot take s01 a.mp4 b.mp4 >/dev/null
troupe shot pick s01 2 >/dev/null
troupe shot take s01b c.webm >/dev/null
db "INSERT INTO shot_takes(shot_id, number, status, error, added) SELECT id, 2, 'failed', 'HTTP 500 <oops>', 0 FROM shots WHERE slug = 's01b'"
troupe embed --model face -q
troupe shot check s01 >/dev/null 2>&1
is "$?" 1 "shot check: take 2 of s01 drifted (Kai, not Mei)"
troupe shot check s01b >/dev/null 2>&1
is "$?" 2 "shot check: the take of s01b has no face"

check "a board of every shot" troupe board -o site
like "$(cat .out)" "site/index.html: 3 shots, 4 takes" "says what it wrote"
html=$(cat site/index.html)
is "$(grep -o 'class="slug">[a-z0-9-]*' site/index.html | sed 's/.*>//' | tr '\n' ' ')" "s01 s01b s02 " \
	"the shots in film order (s01b right after the shot it follows)"
like "$html" "&lt;script&gt;alert\(1\)&lt;/script&gt; &amp; &quot;on&quot;" "a hostile prompt is escaped"
check "no script element" sh -c '! grep -qi "<script" site/index.html'
check "no external resource" sh -c '! grep -Eq "(src|href|poster)=\"(https?:|//|/|file:)" site/index.html'
like "$html" 'title="@mei.winter">Mei &lt;b&gt;&amp;&lt;/b&gt; \(winter\)</span> walks along <span class="mention" title="@harbor">Night harbor</span>' \
	"mentions are shown as the elements' names, escaped, with the look"
like "$html" "Scene 1 &middot; 16:9 &middot; 5 s" "a shot shows its scene, aspect and duration"
like "$html" "follows s01" "and what it follows"
a=$(hash_of a.mp4) b=$(hash_of b.mp4) c=$(hash_of c.webm)
like "$html" "<figure class=\"take chosen\" id=\"s01-take-2\"><video src=\"videos/$b.mp4\" poster=\"thumbs/$b.jpg\" controls preload=\"metadata\"" \
	"the chosen take is a video with its poster, marked chosen"
like "$html" "Take 2</strong><span class=\"badge\">&#9733; chosen</span>" "and labelled chosen"
is "$(grep -c 'class="take chosen"' site/index.html)" 1 "only the chosen take is marked"
like "$html" "<figure class=\"take\" id=\"s01-take-1\"><video src=\"videos/$a.mp4\"" "the other take is not"
like "$html" "2.0 s, 320x240 mp4, [0-9]+ KB<\/span><br><span class=\"verdict same\" title=\"model face, threshold 0.62 \(default\), [0-9T:-]+Z\">same</span> <span class=\"figures\">@mei.winter 0\.9[0-9]</span>" \
	"a take shows its length, size, its verdict with the figures, and what it was checked with"
like "$html" "id=\"s01-take-2\">.*<span class=\"verdict drifted\" title=\"model face[^\"]*\">drifted</span> <span class=\"figures\">@mei.winter -?0\.[0-9]+ from 0\.00s</span>" \
	"the chosen take drifted: said, with Mei's lowest similarity and when it began"
like "$html" "id=\"s01b-take-1\">.*<span class=\"verdict no-face\" title=\"model face[^\"]*\">no face</span> <span class=\"figures\">@mei</span>" \
	"a take with no face says so"
like "$html" "failed: HTTP 500 &lt;oops&gt;" "a failed take shows its error, escaped"
like "$html" "<img src=\"thumbs/$(hash_of "$photos/astronaut.jpg").jpg\" alt=\"Mei &lt;b&gt;&amp;&lt;/b&gt;, costume\"><img src=\"thumbs/$(hash_of "$photos/chelsea.jpg").jpg\"" \
	"a look's references come first, then the character's face"
like "$html" "Night harbor<span class=\"kind\">location" "a location is among the references"
like "$html" "Bronze mirror<span class=\"kind\">prop" "and a prop"
like "$html" "<img src=\"thumbs/$(hash_of still.jpg).jpg\" alt=\"still of s01\">" "the still is shown"
like "$html" "no still yet" "a shot without a still says so"
like "$html" "No takes yet" "a shot without takes says so"
missing=
for f in $(grep -Eo '(src|poster)="[^"]*"' site/index.html | sed 's/^[a-z]*="//; s/"$//' | sort -u); do
	[ -s "site/$f" ] || missing="$missing $f"
done
is "$missing" "" "every file the page names is beside it"
is "$(ls site/thumbs | wc -l | tr -d ' ')" 8 "a thumbnail per picture shown: 4 references, a still, 3 takes"
check "a take's clip is its blob's bytes" cmp c.webm "site/videos/$c.webm"
check "--json says what it wrote" troupe board -o site --json
like "$(cat .out)" '"shots":[[:space:]]*3' "--json counts the shots"

# Writing again: troupe's files no longer shown go, the user's stay.
echo mine >site/thumbs/notes.txt
troupe shot rm s01b >/dev/null
check "a board again into the same directory" troupe board -o site
check "the removed shot's clip is gone" test ! -e "site/videos/$c.webm"
check "the user's file stays" test -f site/thumbs/notes.txt
check "the board again, for the browser" troupe shot take s02 c.webm
check "and the page" troupe board -o site
like "$(cat site/index.html)" "id=\"s02-take-1\">.*<span class=\"verdict\">not checked</span>" \
	"a take never checked says so"
troupe shot new s03 --scene 3 --prompt "@mei at the window" >/dev/null
troupe shot take s03 c.webm >/dev/null
troupe shot check s03 >/dev/null 2>&1
is "$?" 2 "shot check: nobody in the webm"
check "and the page" troupe board -o site

# Bad output: a directory that cannot be made.
echo x >file.txt
fails_with 73 "file.txt/board: Not a directory" "an -o that cannot be written" troupe board -o file.txt/board

# CHROMIUM: a headless browser, under either name Debian has used.
prereq_CHROMIUM() {
	prereq_why="the browser checks need headless Chromium (apt-get install chromium)"
	browser=$(command -v chromium || command -v chromium-browser)
}
require CHROMIUM
run_browser() {
	timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$scratch/profile" --allow-file-access-from-files \
		--enable-logging=stderr --v=0 "$@"
}
page="file://$scratch/site/index.html"
# As in the gallery's test: a page still PENDING is asked again, with
# more time, on a loaded machine.
for budget in 10000 30000 60000; do
	run_browser --virtual-time-budget=$budget --dump-dom \
		"file://$TEST_SRCDIR/gallery-check.html?page=$page" >dom.txt 2>browser.log
	grep -q PENDING dom.txt || break
done
images=$(grep -o '<img ' site/index.html | wc -l | tr -d ' ')
like "$(cat dom.txt)" "DECODED $images OF $images" "every image on the board decodes in Chromium"
like "$(cat dom.txt)" "videos/$c.webm=3.0" "Chromium plays the VP9 take: 3.0 s"
if grep -q "videos/$a.mp4=2.0" dom.txt && grep -q "videos/$b.mp4=1.0" dom.txt; then
	pass "Chromium plays the H.264 takes: 2.0 s and 1.0 s"
else
	skip "Chromium plays the H.264 takes" \
		"this Chromium does not play H.264 ($(grep -o 'videos/[0-9a-f]*.mp4=[A-Z0-9.]*' dom.txt | tr '\n' ' '))"
fi
run_browser --window-size=1280,1600 --screenshot="$scratch/board.png" "$page" >/dev/null 2>shot.log
check "Chromium took a screenshot" test -s board.png
like "$(vipsheader board.png 2>&1)" "1280x1600" "the screenshot is a real image"
console=$(grep -h "CONSOLE" shot.log browser.log | grep -v "gallery-check" || true)
is "$console" "" "no console messages from the page"
[ -n "${TROUPE_TEST_KEEP:-}" ] && cp board.png "$TROUPE_TEST_KEEP/board.png"

done_testing
