#!/usr/bin/env bash
# bench/jpegs.sh DIR — makes DIR hold the picture workload of the ingest,
# images and inject benchmarks, once, and checks it every time: 1,000
# distinct 1024x1024 JPEGs named img-0001.jpg ... img-1000.jpg.
#
# One noise field per image (seeded, so each image is distinct) smoothed
# into blobs and coloured, plus a shared film grain so that the files are
# the size of real 1024x1024 JPEGs (~0.5 MB), not a few kilobytes.
set -euo pipefail

readonly JPEGS=1000 JPEG_SIDE=1024
die() { echo "bench/jpegs.sh: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: bench/jpegs.sh DIR"
dir=$1

if [ ! -d "$dir" ]; then
	echo "== generating $JPEGS JPEGs of ${JPEG_SIDE}x${JPEG_SIDE} (a few minutes, once)" >&2
	tmp=$dir.tmp
	rm -rf "$tmp"
	mkdir -p "$tmp/scratch"
	vips gaussnoise "$tmp/scratch/g.v" $JPEG_SIDE $JPEG_SIDE --mean 0 --sigma 6 --seed 1
	vips bandjoin "$tmp/scratch/g.v $tmp/scratch/g.v $tmp/scratch/g.v" "$tmp/scratch/grain.v"
	export tmp JPEG_SIDE
	# shellcheck disable=SC2016
	seq -w 1 $JPEGS | xargs -P "$(nproc)" -I{} bash -c '
		set -euo pipefail
		w=$tmp/scratch/{}
		vips gaussnoise $w-n.v 32 32 --mean 128 --sigma 50 --seed $((10#{}))
		vips resize $w-n.v $w-r.v $((JPEG_SIDE / 32)) --kernel cubic
		vips falsecolour $w-r.v $w-f.v
		vips add $w-f.v $tmp/scratch/grain.v $w-s.v
		vips cast $w-s.v "$tmp/img-{}.jpg[Q=90,strip]" uchar
		rm -f $w-*.v'
	rm -rf "$tmp/scratch"
	mv "$tmp" "$dir"
fi

# Whoever made it, it must hold the workload the targets are stated for.
n=$(find "$dir" -maxdepth 1 -name 'img-*.jpg' | wc -l)
distinct=$(find "$dir" -maxdepth 1 -name 'img-*.jpg' -exec xxh128sum -q {} + | cut -d' ' -f1 | sort -u | wc -l)
if [ "$n" -ne "$JPEGS" ] || [ "$distinct" -ne "$JPEGS" ]; then
	die "$dir: $n JPEGs, $distinct distinct; expected $JPEGS distinct (delete it to regenerate)"
fi
vipsheader -f width "$dir/img-0001.jpg" | grep -qx "$JPEG_SIDE" ||
	die "$dir: the JPEGs are not ${JPEG_SIDE} pixels wide (delete it to regenerate)"
