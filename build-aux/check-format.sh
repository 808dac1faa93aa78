#!/bin/sh
# Checks that every C file under src/ and tests/unit/ is formatted as
# .clang-format says, names each one that is not, and exits 1 if any is.
# Without clang-format it says so and exits 0: a visible skip, not a pass.
# Usage: check-format.sh [SRCDIR]   ($CLANG_FORMAT names another binary)
set -eu
clang_format=${CLANG_FORMAT:-clang-format}
if ! command -v "$clang_format" >/dev/null 2>&1; then
	echo "check-format: SKIP: $clang_format not found (apt-get install clang-format)"
	exit 0
fi
cd "${1:-.}"
checked=0 bad=0
for f in src/*.c src/*.h tests/unit/*.c tests/unit/*.h; do
	[ -f "$f" ] || continue
	# Made from schema/*.sql by sql2c.sh in an in-tree build.
	[ "$f" = src/schema-sql.c ] && continue
	checked=$((checked + 1))
	if ! "$clang_format" --dry-run --Werror "$f" >/dev/null 2>&1; then
		echo "check-format: $f is not formatted (clang-format -i $f)"
		bad=$((bad + 1))
	fi
done
echo "check-format: $checked files, $bad not formatted ($("$clang_format" --version))"
[ "$bad" -eq 0 ]
