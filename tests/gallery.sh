#!/bin/sh
# troupe gallery: a static page, checked in a real browser (headless
# Chromium): no console errors, every image decodes, and a screenshot.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require vips vipsheader sqlite3

troupe init >/dev/null
troupe character new mei --name "Mei <b>&</b>" --describe "a cat; \"quoted\" <script>alert(1)</script>" \
	--seed 7 --tag series:mirror >/dev/null
troupe character new kai >/dev/null
troupe add mei "$TEST_SRCDIR/data/photos/chelsea.jpg" --role face --tag "look:<winter>" >/dev/null
troupe add kai "$TEST_SRCDIR/data/photos/astronaut.jpg" --role sheet >/dev/null
troupe add "$TEST_SRCDIR/data/photos/coffee.jpg" --role prop >/dev/null

check "gallery of everything" troupe gallery -o site
like "$(cat .out)" "site/index.html: 3 images" "says what it wrote"
check "index.html written" test -f site/index.html
is "$(ls site/thumbs | wc -l | tr -d ' ')" 3 "a thumbnail per image beside the page"
html=$(cat site/index.html)
like "$html" "Mei &lt;b&gt;&amp;&lt;/b&gt;" "names are escaped"
like "$html" "&lt;script&gt;alert\(1\)&lt;/script&gt;" "descriptions are escaped"
check "no script element" sh -c '! grep -qi "<script" site/index.html'
check "no external resource" sh -c '! grep -Eq "(src|href)=\"(https?:|//|/)" site/index.html'
like "$html" "No character" "assets without a character have a section"
like "$html" "look:&lt;winter&gt;" "tags are shown"

check "gallery of one character" troupe gallery kai -o kai-site
is "$(ls kai-site/thumbs | wc -l | tr -d ' ')" 1 "only kai's image"
# Writing another page into the same directory removes the thumbnails the
# old page used and the new one does not; other files stay.
echo "mine" >kai-site/thumbs/notes.txt
cp kai-site/thumbs/*.jpg kai-site/thumbs/logo.jpg
check "another page into the same directory" troupe gallery mei -o kai-site
is "$(ls kai-site/thumbs | grep -c '^[0-9a-f]\{32\}\.jpg$')" 1 "only mei's thumbnail is left of troupe's"
check "mei's is the one" grep -q "thumbs/$(troupe query character:mei --json | sed -n 's/.*"hash":"\([0-9a-f]*\)".*/\1/p').jpg" kai-site/index.html
check "the user's files stay" test -f kai-site/thumbs/notes.txt -a -f kai-site/thumbs/logo.jpg
check "parent directories are made" troupe gallery kai -o deep/er/site
check "the page is there" test -f deep/er/site/index.html
fails_with 65 "no images match" "gallery of nothing" troupe gallery 'role:location' -o empty
check "nothing written for nothing" test ! -e empty
fails_with 64 "no output directory" "gallery without -o" troupe gallery

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
# The check page reports when the frame has loaded and every image has
# decoded. On a loaded machine (the sanitizer build of distcheck beside
# other work) Chromium can dump the page before that; a page still saying
# PENDING is asked again, with more time, up to three times.
for budget in 10000 30000 60000; do
	run_browser --virtual-time-budget=$budget --dump-dom \
		"file://$TEST_SRCDIR/gallery-check.html?page=$page" >dom.txt 2>browser.log
	grep -q PENDING dom.txt || break
done
like "$(cat dom.txt)" "DECODED 3 OF 3" "every image on the page decodes in Chromium"
run_browser --window-size=1280,1400 --screenshot="$scratch/shot.png" "$page" \
	>/dev/null 2>shot.log
check "Chromium took a screenshot" test -s shot.png
like "$(vipsheader shot.png 2>&1)" "1280x1400" "the screenshot is a real image"
console=$(grep -h "CONSOLE" shot.log browser.log | grep -v "gallery-check" || true)
is "$console" "" "no console messages from the page"
# Keep the proof where a person can look at it.
[ -n "${TROUPE_TEST_KEEP:-}" ] && cp shot.png "$TROUPE_TEST_KEEP/gallery.png"

# Videos: a card with the poster and a <video> that plays the clip from
# beside the page. H.264 in MP4 and VP9 in WebM, each asked of Chromium.
if test_have_prereq ffmpeg "the video cards"; then
	ffmpeg -v error -y -loop 1 -t 2 -i "$TEST_SRCDIR/data/photos/astronaut.jpg" -vf format=yuv420p \
		-r 25 -c:v libx264 clip.mp4
	ffmpeg -v error -y -loop 1 -t 3 -i "$TEST_SRCDIR/data/photos/camera.jpg" -vf format=yuv420p \
		-r 25 -c:v libvpx-vp9 -b:v 200k clip.webm
	troupe add clip.mp4 clip.webm --role generated >/dev/null
	check "a gallery with videos" troupe gallery -o vsite
	mp4=$(xxh128sum clip.mp4 | cut -d' ' -f1)
	like "$(cat vsite/index.html)" "<video src=\"videos/$mp4.mp4\" poster=\"thumbs/$mp4.jpg\" controls" \
		"a video card has the clip and its poster"
	like "$(cat vsite/index.html)" "384x384 mp4, 2.0 s, 25 fps, h264" "and says its size, length, rate and codec"
	check "the clip is beside the page, the same bytes" cmp clip.mp4 "vsite/videos/$mp4.mp4"
	check "and the poster is a picture" test -s "vsite/thumbs/$mp4.jpg"
	for budget in 10000 30000 60000; do
		run_browser --virtual-time-budget=$budget --dump-dom \
			"file://$TEST_SRCDIR/gallery-check.html?page=file://$scratch/vsite/index.html" \
			>vdom.txt 2>vbrowser.log
		grep -q PENDING vdom.txt || break
	done
	like "$(cat vdom.txt)" "DECODED 3 OF 3" "every picture on the page decodes"
	like "$(cat vdom.txt)" "videos/[0-9a-f]{32}.webm=3.0" "Chromium plays the VP9 WebM: 3.0 s"
	# Debian's Chromium is built with FFmpeg's H.264 decoder; say if not.
	if grep -q "videos/$mp4.mp4=2.0" vdom.txt; then
		pass "Chromium plays the H.264 MP4: 2.0 s"
	else
		skip "Chromium plays the H.264 MP4" \
			"this Chromium does not play H.264 ($(grep -o "videos/$mp4.mp4=[A-Z0-9.]*" vdom.txt))"
	fi
	run_browser --window-size=1280,900 --screenshot="$scratch/vshot.png" "file://$scratch/vsite/index.html" \
		>/dev/null 2>&1
	check "a screenshot of the video cards" test -s vshot.png
	[ -n "${TROUPE_TEST_KEEP:-}" ] && cp vshot.png "$TROUPE_TEST_KEEP/gallery-videos.png"
	check "remove the WebM" troupe rm "$(xxh128sum clip.webm | cut -d' ' -f1)"
	check "the gallery again, without the WebM" troupe gallery -o vsite
	check "its clip is removed from beside the page" sh -c '! ls vsite/videos | grep -q webm'
fi

done_testing
