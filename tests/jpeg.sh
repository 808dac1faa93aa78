#!/bin/sh
# The JPEG path of add (image-jpeg.c, libjpeg-turbo's scaled decode)
# against the libvips path it stands in for (TROUPE_IMAGE_DECODER=vips):
# the same thumbnail size, pixels within a small mean difference and the
# pHash within 2 bits, on the real photographs and the johns, on made
# pictures that need the whole resize, and on EXIF-turned ones; and the
# untrusted-input rules of the libvips path, kept.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require vips vipsheader sqlite3

# The tolerances the README states: pHash bits, and the mean absolute
# difference of the thumbnails' pixels, in levels of 255. The made
# pictures are saturated colour fields with sharp hue edges, on which a
# small difference before the Q82 encoding becomes a larger one after it
# (one quantisation step of a block), so they get wider bounds.
readonly MAX_BITS=2 MAX_MEAN=3 MADE_BITS=4 MADE_MEAN=10

data=$TEST_SRCDIR/data
mkdir pictures
# Made pictures: a photograph-like field at sizes that take libvips'
# shrink-on-load by 2, 4 and 8 and odd sizes, and a grey one.
n=0
for size in 1024x1024 1536x1024 1000x333 2000x1999 4100x3001 513x1025 300x200; do
	n=$((n + 1))
	w=${size%x*} h=${size#*x}
	vips gaussnoise pictures/n.v $((w / 32 + 1)) $((h / 32 + 1)) --mean 128 --sigma 50 \
		--seed $n >/dev/null 2>&1
	vips resize pictures/n.v pictures/r.v 32 --kernel cubic >/dev/null 2>&1
	vips falsecolour pictures/r.v pictures/f.v >/dev/null 2>&1
	vips crop pictures/f.v "pictures/made-$size.jpg[Q=90,strip]" 0 0 "$w" "$h" >/dev/null 2>&1
done
vips colourspace pictures/made-1536x1024.jpg "pictures/grey.jpg[Q=85,strip]" b-w >/dev/null 2>&1
rm -f pictures/*.v
# EXIF orientations 3, 6 and 8 on one picture: an APP1 segment of one
# directory entry, written in front of the rest of the file.
exif() {
	head -c 2 pictures/made-1536x1024.jpg
	printf '\377\341\000\042Exif\000\000MM\000\052\000\000\000\010\000\001\001\022\000\003'
	printf "\\000\\000\\000\\001\\000\\00$1\\000\\000\\000\\000\\000\\000"
	tail -c +3 pictures/made-1536x1024.jpg
}
for o in 3 6 8; do exif $o >pictures/turned-$o.jpg; done
is "$(vipsheader -f orientation pictures/turned-6.jpg)" 6 "libvips reads the made orientation"
cp "$data"/photos/*.jpg pictures/
find "$data/johns" -name '*.jpg' -exec cp {} pictures/ \;
total=$(ls pictures | wc -l | tr -d ' ')

troupe init jpeg >/dev/null
troupe init vips >/dev/null
check "add through the JPEG path" troupe --store jpeg/.troupe add pictures
check "add through libvips" env TROUPE_IMAGE_DECODER=vips "$TROUPE" --store vips/.troupe add pictures
# One of the johns is shipped twice under two names: one blob.
is "$(sqlite3 jpeg/.troupe/troupe.db 'SELECT count(*) FROM thumbnails')" \
	"$(sqlite3 jpeg/.troupe/troupe.db 'SELECT count(DISTINCT blob_id) FROM assets')" \
	"a thumbnail for each of the pictures"

# One line per picture: name, both pHashes, both thumbnail sizes, both
# thumbnail blobs.
sqlite3 -separator ' ' jpeg/.troupe/troupe.db "ATTACH 'vips/.troupe/troupe.db' AS v;
	SELECT a.source, b.phash, vb.phash, t.width || 'x' || t.height,
	       vt.width || 'x' || vt.height, tb.hash, vtb.hash
	FROM assets a JOIN blobs b ON b.id = a.blob_id JOIN thumbnails t ON t.blob_id = b.id
	JOIN blobs tb ON tb.id = t.thumb_blob_id JOIN v.blobs vb ON vb.hash = b.hash
	JOIN v.thumbnails vt ON vt.blob_id = vb.id JOIN v.blobs vtb ON vtb.id = vt.thumb_blob_id
	ORDER BY a.source" >pairs
is "$(wc -l <pairs | tr -d ' ')" "$(sqlite3 jpeg/.troupe/troupe.db 'SELECT count(*) FROM assets')" \
	"both stores have every picture"

blob() { echo "$1/.troupe/objects/$(echo "$2" | cut -c1-2)/$(echo "$2" | cut -c3-)"; }
worst_bits=0 worst_mean=0
while read -r name mine theirs size vsize thumb vthumb; do
	bits=$(sqlite3 :memory: "WITH RECURSIVE b(i, x, n) AS (SELECT 0, ($mine | $theirs) - ($mine & $theirs), 0
		UNION ALL SELECT i + 1, x, n + ((x >> i) & 1) FROM b WHERE i < 64)
		SELECT max(n) FROM b")
	case $name in
	made-* | turned-* | grey.jpg) bound_bits=$MADE_BITS bound_mean=$MADE_MEAN ;;
	*) bound_bits=$MAX_BITS bound_mean=$MAX_MEAN ;;
	esac
	is "$size" "$vsize" "$name: the same thumbnail size ($size)"
	check "$name: pHash within $bound_bits bits ($bits)" test "$bits" -le $bound_bits
	vips subtract "$(blob jpeg "$thumb")" "$(blob vips "$vthumb")" d.v >/dev/null 2>&1
	vips abs d.v a.v >/dev/null 2>&1
	mean=$(vips avg a.v 2>/dev/null)
	check "$name: mean pixel difference within $bound_mean ($mean)" \
		awk -v m="$mean" -v t=$bound_mean 'BEGIN { exit !(m != "" && m <= t) }'
	if [ $bound_bits = $MAX_BITS ]; then
		[ "$bits" -gt "$worst_bits" ] && worst_bits=$bits
		worst_mean=$(awk -v a="$worst_mean" -v b="$mean" 'BEGIN { print (b > a) ? b : a }')
	fi
done <pairs
echo "# worst of the real photographs: pHash $worst_bits bits, mean difference $worst_mean"
is "$(sqlite3 jpeg/.troupe/troupe.db "SELECT t.width || 'x' || t.height FROM thumbnails t
	JOIN blobs b ON b.id = t.blob_id JOIN assets a ON a.blob_id = b.id
	WHERE a.source = 'turned-6.jpg'")" 171x256 "a quarter turn is applied to the thumbnail"

# Untrusted input: damage in the entropy-coded data is a decoder warning
# to libjpeg, and an error here. (libvips 8.14 only logs this one, "read
# gave 1 warnings", when it decodes with shrink-on-load, so the libvips
# path lets the picture in: this path is the stricter.)
troupe init >/dev/null
size=$(wc -c <pictures/made-1024x1024.jpg)
cp pictures/made-1024x1024.jpg damaged.jpg
head -c 4096 /dev/zero | dd of=damaged.jpg bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
fails_with 65 'damaged.jpg: .*libjpeg' "damaged entropy data is refused" \
	troupe add damaged.jpg
head -c $((size - 200)) pictures/made-1024x1024.jpg >truncated.jpg
fails_with 65 'truncated' "a truncated JPEG is refused" troupe add truncated.jpg
fails_with 65 'over the limit' "the pixel limit holds" \
	env TROUPE_MAX_MEGAPIXELS=1 "$TROUPE" add pictures/made-1536x1024.jpg
# similar reads a file that is not in the store through the same path.
check "similar of a file outside the store" troupe similar pictures/made-1024x1024.jpg
fails_with 65 'damaged.jpg' "similar refuses the damaged file" troupe similar damaged.jpg

done_testing
