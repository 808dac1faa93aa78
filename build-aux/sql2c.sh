#!/bin/sh
# Turns schema/NNNN-name.sql files into a C array of migrations, so the
# binary carries its schema and never reads the source tree at run time.
# usage: sql2c.sh OUT.c FILE.sql...
set -e
out=$1
shift
tmp="$out.tmp"
{
	echo '/* Generated from the schema/ SQL files by build-aux/sql2c.sh; do not edit. */'
	echo '#include "db.h"'
	echo 'const struct db_migration db_migrations[] = {'
	for f in "$@"; do
		base=$(basename "$f" .sql)
		version=$(echo "$base" | sed 's/^0*\([0-9][0-9]*\)-.*/\1/')
		echo "	{ $version, \"$base\","
		sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/	  "/' -e 's/$/\\n"/' "$f"
		echo '	},'
	done
	echo '	{ 0, 0, 0 }'
	echo '};'
} >"$tmp"
mv "$tmp" "$out"
