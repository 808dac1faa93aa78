#!/bin/sh
# troupe init and how a store is found.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require sqlite3

check "init makes a store here" troupe init
like "$(cat .out)" "Initialised empty troupe store in .*/\.troupe" "init says where"
check "store has objects/ and tmp/" test -d .troupe/objects -a -d .troupe/tmp
is "$(sqlite3 .troupe/troupe.db 'PRAGMA journal_mode')" wal "index is in WAL mode"
is "$(sqlite3 .troupe/troupe.db 'PRAGMA application_id')" 1414681936 "application_id is set"
is "$(sqlite3 .troupe/troupe.db 'PRAGMA user_version')" "$(ls "$TEST_SRCDIR"/../schema/*.sql | wc -l | tr -d ' ')" \
	"schema version applied: one per schema/ file"
is "$(sqlite3 .troupe/troupe.db "SELECT count(*) FROM sqlite_master WHERE name IN
	('characters','assets','blobs','tags','asset_tags','character_tags')")" 6 "tables exist"
check "init again is harmless" troupe init
like "$(cat .out)" "Reinitialised existing" "second init says so"

mkdir -p deep/down/here
check "found from a subdirectory" sh -c 'cd deep/down/here && "$TROUPE" character list'

mkdir other
check "init DIR" troupe init other
check "--store names the store itself" troupe --store other/.troupe character list
check "--store after the command" troupe character list --store other/.troupe
check "TROUPE_DIR" env TROUPE_DIR=other/.troupe "$TROUPE" character list

mkdir -p /tmp/troupe-nostore.$$ 
fails_with 78 "no troupe store here" "no store is a configuration error" \
	sh -c 'cd /tmp/troupe-nostore.'$$' && "$TROUPE" character list'
rmdir /tmp/troupe-nostore.$$
fails_with 78 "not a troupe store" "--store on a plain directory" troupe --store deep character list
# A directory that holds a store is not one; the message says which is.
fails_with 78 "other is not a troupe store; did you mean other/.troupe\\?" \
	"--store naming the directory that holds a store suggests the store" troupe --store other character list
fails_with 78 "other is not a troupe store; did you mean other/.troupe\\?" \
	"and so does TROUPE_DIR" env TROUPE_DIR=other "$TROUPE" character list
# init never makes a store loose among a project's files: a directory
# with anything else in it is refused, and nothing is made there.
mkdir proj && echo "INT. STUDY - NIGHT" >proj/script.txt
fails_with 64 "proj holds other files \\(script.txt\\) and is not a troupe store.*'troupe init proj' makes proj/.troupe" \
	"init --store on a project's directory is refused" troupe --store proj init
is "$(ls -A proj)" "script.txt" "and leaves it as it was"
fails_with 64 "other is not a troupe store; did you mean other/.troupe\\?" \
	"init --store on a directory that holds a store suggests it" troupe --store other init
check "init --store on an empty directory" sh -c 'mkdir empty && "$TROUPE" --store empty init'
check "makes the store there" test -f empty/troupe.db
check "init --store on a store again" troupe --store empty init
like "$(cat .out)" "Reinitialised existing" "is harmless"
check "init DIR on the project makes DIR/.troupe" troupe init proj
check "beside the project's files" test -f proj/.troupe/troupe.db -a -f proj/script.txt
fails_with 64 "not a troupe command" "unknown command" troupe frobnicate
fails_with 64 "unknown option" "unknown option" troupe character list --frob

check "--help" troupe --help
like "$(cat .out)" "character" "--help lists commands"
check "command --help" troupe add --help
like "$(cat .out)" "usage: troupe add" "add --help shows usage"
check "--version" troupe --version

# An index from a newer troupe is refused, not damaged.
troupe init newer >/dev/null
sqlite3 newer/.troupe/troupe.db 'PRAGMA user_version = 99'
fails_with 78 "newer than this troupe" "newer schema refused" troupe --store newer/.troupe character list
# A file that is not a troupe index is refused.
mkdir -p alien && sqlite3 alien/troupe.db 'PRAGMA application_id = 7; CREATE TABLE x(y);'
fails_with 65 "not a troupe index" "foreign SQLite file refused" troupe --store alien character list

# A WAL left large (here by another program that never checkpoints) is
# folded in and truncated when troupe closes the index, even by a command
# that only reads; a small one is left for SQLite's own auto-checkpoint.
printf '%s\n' '.dbconfig no_ckpt_on_close on' 'PRAGMA wal_autocheckpoint = 0;' \
	'CREATE TABLE junk(x);' \
	'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) INSERT INTO junk SELECT randomblob(4000) FROM n;' \
	'DROP TABLE junk;' | sqlite3 .troupe/troupe.db >/dev/null
check "another program left a WAL of over 8 MB" test "$(stat -c %s .troupe/troupe.db-wal)" -gt 8388608
check "a reading command" troupe character list
is "$(stat -c %s .troupe/troupe.db-wal)" 0 "leaves it truncated"
is "$(sqlite3 .troupe/troupe.db 'PRAGMA integrity_check')" ok "and the index whole"

done_testing
