#!/bin/sh
# Pictures: thumbnails and pHashes at add time, similar, derive and sheet,
# on real photographs.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require vips vipsheader sqlite3

photos=$TEST_SRCDIR/data/photos
troupe init >/dev/null
troupe character new mei --name "Mei" --describe "a cat in a study" >/dev/null
check "add real photographs" troupe add "$photos" --role reference --tag photo
troupe add mei "$photos/chelsea.jpg" --role face >/dev/null

# Thumbnails: one per picture, a JPEG no larger than 256 pixels.
is "$(sqlite3 .troupe/troupe.db 'SELECT count(*) FROM thumbnails')" 5 "a thumbnail per picture"
is "$(sqlite3 .troupe/troupe.db 'SELECT max(max(width, height)) FROM thumbnails')" 256 \
	"thumbnails are 256 pixels on the longest side"
thumb=$(sqlite3 .troupe/troupe.db "SELECT b.hash FROM thumbnails t JOIN blobs b ON
	b.id = t.thumb_blob_id JOIN blobs s ON s.id = t.blob_id ORDER BY s.id LIMIT 1")
thumb_path=.troupe/objects/$(echo "$thumb" | cut -c1-2)/$(echo "$thumb" | cut -c3-)
like "$(vipsheader "$thumb_path")" "jpegload" "a thumbnail is a stored JPEG blob"
is "$(sqlite3 .troupe/troupe.db 'SELECT count(*) FROM blobs WHERE phash IS NOT NULL')" 5 \
	"a pHash per picture"

# similar: re-encoded, resized and cropped copies are found; others are not.
vips thumbnail "$photos/chelsea.jpg" small.jpg 200 >/dev/null 2>&1
vips copy "$photos/chelsea.jpg" "requality.jpg[Q=40]" >/dev/null 2>&1
vips crop "$photos/chelsea.jpg" cropped.jpg 12 8 360 240 >/dev/null 2>&1
vips copy "$photos/chelsea.jpg" reencoded.png >/dev/null 2>&1
for copy in small.jpg requality.jpg cropped.jpg reencoded.png; do
	check "similar $copy" troupe similar "$copy" --json
	like "$(tr -d '\n\t ' <.out)" '"source":"chelsea.jpg","distance":[0-9]' \
		"$copy is found as chelsea.jpg"
done
dist=$(troupe similar cropped.jpg --json | tr -d '\n\t ' | sed 's/.*"distance":\([0-9]*\).*/\1/')
check "a slightly cropped copy is within 10 bits ($dist)" test "$dist" -le 10
dist=$(troupe similar small.jpg --json | tr -d '\n\t ' | sed 's/.*"distance":\([0-9]*\).*/\1/')
check "a resized copy is within 4 bits ($dist)" test "$dist" -le 4
check "an unrelated photograph" troupe similar "$photos/../photos/rocket.jpg" --json
is "$(grep -c '"source"' .out)" 1 "only the rocket itself is found for the rocket"
like "$(tr -d '\n\t ' <.out)" '"source":"rocket.jpg","distance":0' "at distance 0"
check "similar by asset leaves the asset out" troupe similar 6 --max-distance 0 --json
like "$(tr -d '\n\t ' <.out)" '^\[\{"id":3,' "the same picture under another asset is found"
check "table output" troupe similar small.jpg
like "$(head -1 .out)" "^DIST +ID +HASH" "similar prints a table"
check "--max-distance 64 lists everything" troupe similar small.jpg --max-distance 64 --json
is "$(grep -c '"source"' .out)" 6 "all six assets within 64 bits"
check "--limit" troupe similar small.jpg --max-distance 64 --limit 2 --json
is "$(grep -c '"source"' .out)" 2 "--limit 2"
# The flat hash file follows the index: a new picture is seen at once.
noise_jpeg fresh.jpg 120 90
troupe add fresh.jpg >/dev/null
check "a picture added after the cache was built" troupe similar fresh.jpg --max-distance 0 --json
like "$(tr -d '\n\t ' <.out)" '"source":"fresh.jpg"' "is found"

# derive: size, format, aspect, byte budget, orientation, alpha, cache.
check "derive --max-side 100" troupe derive 1 --max-side 100 --json
like "$(tr -d '\n\t ' <.out)" '"width":100,"height":100,"format":"jpeg"' "fits 100 pixels"
like "$(tr -d '\n\t ' <.out)" '"cached":false' "first time is made"
path=$(tr -d '\n\t ' <.out | sed 's/.*"path":"\([^"]*\)".*/\1/')
like "$(vipsheader "$path")" "100x100 uchar, 3 bands, srgb, jpegload" "the file is that JPEG"
# A derivative is named by its hash where a service is given it (a
# Midjourney URL), so path answers for that hash too.
derived=$(tr -d '\n\t ' <.out | sed 's/.*"hash":"\([0-9a-f]*\)".*/\1/')
check "path of a derivative's hash" troupe path "$derived"
is "$(cat .out)" "$path" "is the derivative's blob"
check "path of a prefix of it" troupe path "$(echo "$derived" | cut -c1-12)"
is "$(cat .out)" "$path" "is the same blob"
fails_with 66 "0123456789ab: no such asset" "path of a hash nothing has" troupe path 0123456789ab
check "the same recipe again" troupe derive 1 --max-side 100 --json
like "$(tr -d '\n\t ' <.out)" '"cached":true' "is served from the cache"
is "$(sqlite3 .troupe/troupe.db 'SELECT count(*) FROM derivatives')" 1 "one cached derivative"
check "webp" troupe derive 1 --max-side 64 --format webp
like "$(vipsheader "$(cut -d' ' -f3 .out)")" "64x64 .*webpload" "a WebP"
check "pad to 16:9" troupe derive 1 --max-side 320 --aspect 16:9 --json
like "$(tr -d '\n\t ' <.out)" '"width":320,"height":180' "padded to 16:9"
check "crop to 1:1" troupe derive 3 --aspect 1:1 --fit crop --json
like "$(tr -d '\n\t ' <.out)" '"width":255,"height":255' "cropped square"
check "aspect range leaves a fitting picture alone" troupe derive 3 --aspect 1-2 --json
like "$(tr -d '\n\t ' <.out)" '"width":384,"height":255' "3:2 is inside 1-2"
check "--min-side scales up" troupe derive 3 --min-side 512 --json
like "$(tr -d '\n\t ' <.out)" '"width":771,"height":512' "shortest side 512"
check "--max-bytes" troupe derive 1 --max-bytes 6kB --json
bytes=$(tr -d '\n\t ' <.out | sed 's/.*"bytes":\([0-9]*\).*/\1/')
check "within 6 kB ($bytes bytes)" test "$bytes" -le 6000
fails_with 65 "cannot reach 100 bytes" "an impossible byte budget" \
	troupe derive 1 --max-bytes 100 --format png

# EXIF orientation 6 (turn 90 degrees): an 80x60 file shows as 60x80.
vips gaussnoise plain.jpg 80 60 >/dev/null 2>&1
printf '\377\330\377\341\000\042Exif\000\000II*\000\010\000\000\000\001\000\022\001\003\000\001\000\000\000\006\000\000\000\000\000\000\000' >rotated.jpg
tail -c +3 plain.jpg >>rotated.jpg
id=$(troupe add rotated.jpg --json | tr -d '\n\t ' | sed 's/.*"id":\([0-9]*\),.*/\1/')
is "$(troupe show "$id" --json | tr -d '\n\t ' | grep -o '"width":[0-9]*,"height":[0-9]*')" \
	'"width":60,"height":80' "its width and height are recorded as it is shown"
is "$(troupe query "width=60 height=80" --count)" 1 "and queried so"
check "derive an EXIF-rotated picture" troupe derive "$id" --max-side 80 --json
like "$(tr -d '\n\t ' <.out)" '"width":60,"height":80' "orientation is applied"

# Alpha is flattened for JPEG and kept for PNG.
vips black alpha.png 40 40 --bands 4 >/dev/null 2>&1
id=$(troupe add alpha.png --json | tr -d '\n\t ' | sed 's/.*"id":\([0-9]*\),.*/\1/')
check "derive RGBA to JPEG" troupe derive "$id" --format jpeg
like "$(vipsheader "$(cut -d' ' -f3 .out)")" "3 bands, srgb" "alpha flattened"
check "derive RGBA to PNG" troupe derive "$id" --format png
like "$(vipsheader "$(cut -d' ' -f3 .out)")" "4 bands" "alpha kept"

fails_with 64 "--format gif: not jpeg, png or webp" "unknown format" troupe derive 1 --format gif
fails_with 64 "--aspect wide" "bad aspect" troupe derive 1 --aspect wide
fails_with 64 "--max-bytes lots" "bad size" troupe derive 1 --max-bytes lots
fails_with 64 "--min-side 500 is larger than --max-side 100" "contradictory sides" \
	troupe derive 1 --max-side 100 --min-side 500
fails_with 64 "--quality 0" "quality out of range" troupe derive 1 --quality 0
fails_with 66 "4242: no such asset" "derive of an unknown asset" troupe derive 4242
# The pixel limit holds for what derive makes, not only for what it reads.
fails_with 65 "the derivative would be [0-9]+x[0-9]+, [0-9.]+ megapixels, over the limit of 100 \(TROUPE_MAX_MEGAPIXELS\)" \
	"--min-side 60000 is over the pixel limit" timeout 20 "$TROUPE" derive 3 --min-side 60000
fails_with 65 "over the limit of 1 \(TROUPE_MAX_MEGAPIXELS\)" "the limit on what is made is configurable" \
	env TROUPE_MAX_MEGAPIXELS=1 "$TROUPE" derive 3 --min-side 1500

# sheet: a character, a query, both formats.
check "sheet of a character" troupe sheet mei -o mei.png
like "$(vipsheader mei.png)" "uchar, 3 bands, srgb, pngload" "a PNG contact sheet"
check "sheet of a query as JPEG" troupe sheet photo -o cast.jpg --columns 2
like "$(vipsheader cast.jpg)" "jpegload" "a JPEG contact sheet"
w=$(vipsheader -f width cast.jpg)
check "two columns of 256-pixel cells make a sheet under 700 pixels wide ($w)" test "$w" -lt 700
fails_with 64 "must end in .png, .jpg or .jpeg" "sheet to an unknown format" troupe sheet mei -o mei.gif
fails_with 65 "no images match" "sheet of nothing" troupe sheet 'role:location' -o none.png
check "no file left behind by a failed sheet" test ! -e none.png
# Captions: a generated picture with many tags. Its tags line is cut
# short on one line, so the card between the first caption line and the
# next is blank (it used to show the top of a wrapped second line), and a
# sheet of a query says whose each picture is.
troupe add mei "$photos/rocket.jpg" --role generated --tag kling --tag shot:0412 \
	--tag look:winter-coat --tag mood:melancholy --tag lighting:golden-hour --tag take:3 >/dev/null
check "sheet of a generated picture with many tags" troupe sheet 'role:generated' -o gen.png --json
like "$(tr -d '\n\t' <.out)" '"caption":"mei · generated"' "each card names the character"
like "$(tr -d '\n\t' <.out)" '"tags":"kling, lighting:golden-hour, ' "and carries the tags"
# One card: 32-pixel margin, a heading of 92 pixels, then the 256-pixel
# square; the caption lines start 6, 26 and 44 pixels under it.
blank_rows() { # FILE TOP ROWS: the card's text column is white there
	vips extract_area "$1" strip.png 40 $((92 + 256 + $2)) 240 "$3" >/dev/null 2>&1 &&
		[ "$(vips min strip.png)" = 255.000000 ]
}
check "nothing between the first caption line and the tags" blank_rows gen.png 22 4
check "nothing between the tags and the hash" blank_rows gen.png 40 4
inked_rows() { ! blank_rows "$@"; }
check "the tags line is drawn" inked_rows gen.png 26 16
fails_with 64 "no output file" "sheet without -o" troupe sheet mei
fails_with 65 "the sheet would be [0-9]+x[0-9]+, .*over the limit of 0.1 \(TROUPE_MAX_MEGAPIXELS\)" \
	"a sheet over the pixel limit is not drawn" env TROUPE_MAX_MEGAPIXELS=0.1 "$TROUPE" sheet photo -o big.png
check "no file left behind by a sheet over the limit" test ! -e big.png

done_testing
