#!/bin/sh
# The command line: options read as getopt_long reads them, on real
# commands; the help forms; the nearest command for a typo; and the
# progress bar making way for warnings on a terminal.
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"

troupe init >/dev/null
troupe character new mei --name Mei --describe "a cat in a study" >/dev/null
for i in 1 2 3; do noise_png face$i.png 40 40; done
troupe add mei face1.png face2.png face3.png --role face >/dev/null
troupe tag 1 +draft +sketch >/dev/null

rows() { "$TROUPE" "$@" 2>"$scratch/.err" | wc -l | tr -d ' '; }

# ---- the forms of an option with a value ----
is "$(rows query -n1 --paths)" 1 "query -n1: the value attached"
is "$(rows query -n 1 --paths)" 1 "query -n 1: the value in the next word"
is "$(rows query --limit=1 --paths)" 1 "query --limit=1"
is "$(rows query --limit 1 --paths)" 1 "query --limit 1"
is "$(rows query --lim 1 --paths)" 1 "query --lim 1: an unambiguous prefix"
is "$(rows query -pn1)" 1 "query -pn1: a flag group ending in an option with a value"
is "$(rows query -pqn2)" 2 "query -pqn2: a global flag inside the group"
is "$(rows query -n2 -p -- character:mei)" 2 "options, then '--', then the query"
is "$(rows query -sid -n1 -p)" 1 "query -sid: a short option's value attached"
is "$(troupe query -s-id -n1 -p)" "$(troupe path 3)" "query -s-id sorts descending"

troupe inject -p kling-image "@mei at sea" >/dev/null
troupe inject -p kling-image "@mei in the rain" >/dev/null
is "$(rows log -n1)" 2 "log -n1: the header and one request"
is "$(rows log --limit=1)" 2 "log --limit=1"

check "inject -pkling-image" troupe inject -pkling-image "@mei on a cliff"
like "$(cat .out)" '"model_name":"kling-v1-5".*"prompt":"Mei .*on a cliff' \
	"the profile was kling-image"
check "inject --prof=kling-image" troupe inject --prof=kling-image "@mei on a cliff"

check "sheet -c2" troupe sheet -c2 -o two.png mei
sheet_c2=$(cat .out)
check "sheet --columns 2" troupe sheet --columns 2 -o long.png mei
is "$sheet_c2" "$(sed 's/long.png/two.png/' .out)" "sheet -c2 is sheet --columns 2"
check "sheet -otwo.png -c 2" troupe sheet -otwo.png -c 2 mei
is "$(cat .out)" "$sheet_c2" "the output file attached to -o"

check "the global options after the command" troupe query -n1 --json --store=.troupe
like "$(cat .out)" '^\[' "--json after the command"
check "--st as a prefix of --store" troupe query --st .troupe -n1
check "top-level --vers" troupe --vers
like "$(cat .out)" '^troupe [0-9]' "prints the version"
check "character --desc: one option with two spellings" \
	troupe character edit mei --desc "a grey cat"
like "$(troupe character show mei --json)" '"description":[[:space:]]*"a grey cat"' \
	"the description was set"

# ---- query terms that start with '-' ----
is "$(rows query -draft -p)" 2 "-draft is a negated term ('d' is no option of query)"
is "$(rows query -p -- -sketch)" 2 "after '--' a word starting with an option letter is a term"
is "$(rows query -n1 -p -- -sketch)" 1 "options before '--' still count"
fails_with 64 "--sort ketch: unknown key" "-sketch before '--' is --sort ketch" troupe query -sketch
fails_with 64 "unknown option '-o' in '-portrait'.*after '--'" \
	"an unknown letter in a group says where terms go" troupe query -portrait
check "tag: -hero is a tag to remove, not -h" troupe tag 1 -hero
like "$(cat .out)" "^tagged|#1" "tag ran"

# ---- mistakes ----
fails_with 64 "option '--s' is ambiguous: it could be --sort, --store" \
	"an ambiguous prefix names the candidates" troupe query --s id
fails_with 64 "option '-n' needs a value" "a missing value" troupe query -n
fails_with 64 "option '-n' needs a value" "a missing value at the end of a group" \
	troupe query -pn
fails_with 64 "option '--limit' needs a value" "a missing value of a long option" \
	troupe log --limit
fails_with 64 "option '--paths' takes no value" "a value for a flag" troupe query --paths=yes
fails_with 64 "unknown option '--frob' \\(see 'troupe query --help'\\)" "an unknown option" \
	troupe query --frob
fails_with 64 "unknown option '-x' in '-fx'" "an unknown letter in a group" \
	troupe character list -fx
fails_with 64 "option '--store' needs a value" "--store without its value" troupe --store

# ---- help ----
troupe --help >help-long.out
check "troupe help" troupe help
is "$(cat .out)" "$(cat help-long.out)" "troupe help is troupe --help"
troupe query --help >help-query.out
check "troupe help query" troupe help query
is "$(cat .out)" "$(cat help-query.out)" "troupe help query is troupe query --help"
check "troupe help q: an alias" troupe help q
is "$(cat .out)" "$(cat help-query.out)" "the alias's help is its command's"
troupe character --help >help-character.out
check "troupe help character" troupe help character
is "$(cat .out)" "$(cat help-character.out)" "a command with subcommands too"
like "$(cat help-long.out)" "troupe help COMMAND" "troupe --help mentions troupe help"
fails_with 64 "help takes one command" "help with two words" troupe help query log
fails_with 64 "'qeury' is not a troupe command" "help for a typo" troupe help qeury

# ---- the nearest command ----
fails_with 64 "'qeury' is not a troupe command \\(see 'troupe --help'\\); did you mean 'query'\\?$" \
	"a swapped pair of letters" troupe qeury
fails_with 64 "did you mean 'calibrate'\\?$" "the start of a command" troupe calib
fails_with 64 "did you mean 'character'\\?$" "a command is named once, not with its alias" \
	troupe cha
fails_with 64 "'frobnicate' is not a troupe command \\(see 'troupe --help'\\)$" \
	"nothing near: no suggestion" troupe frobnicate

# ---- the progress bar and warnings ----
mkdir many
for i in 1 2 3 4 5 6 7 8 9 10; do noise_jpeg many/$i.jpg 16 16; done
echo "not a picture" >many/notes.jpg
if command -v script >/dev/null && script -qec true /dev/null >/dev/null 2>&1 </dev/null; then
	script -qec "\"$TROUPE\" add many --role reference" /dev/null >tty.out 2>&1 </dev/null
	like "$(cat tty.out)" "adding \[#+ *\] +[0-9]+%" "a progress bar on a terminal"
	# The bar is drawn with carriage returns: split there, drop the
	# erase-line sequences, and the warning must be a line of its own.
	tr '\r' '\n' <tty.out | sed 's/\x1b\[K//g' >tty.lines
	like "$(cat tty.lines)" "^troupe: warning: skipped .*notes.jpg: not an image" \
		"the warning starts a line"
	is "$(grep -c '[0-9]troupe: warning' tty.lines)" 0 "no warning glued to the bar"
	like "$(sed -n '/troupe: warning/,$p' tty.lines | sed 1d)" "adding \[#+ *\]" \
		"the bar is drawn again after the warning"
	script -qec "env TERM=dumb \"$TROUPE\" add many --role reference" /dev/null \
		>dumb.out 2>&1 </dev/null
	is "$(grep -c 'adding \[' dumb.out)" 0 "no bar when TERM=dumb"
	like "$(cat dumb.out)" "troupe: warning: skipped" "the warning is still there"
else
	echo "# skipped: the progress bar on a terminal needs script(1)"
	pass "# SKIP script(1) is not installed"
fi

done_testing
