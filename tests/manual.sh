#!/bin/sh
# The manual: every page is clean mandoc, every command has a page, and
# every option a command's --help lists is in that page (or in troupe(1),
# for the options every command takes).
. "${TEST_SRCDIR:-$(dirname "$0")}/lib.sh"
require mandoc

man=$TEST_SRCDIR/../man
for page in "$man"/*.[157]; do
	is "$(mandoc -T lint -W warning "$page" 2>&1)" "" "$(basename "$page") is clean mandoc"
done

commands=$(troupe --help | sed -n '/^commands:/,/^$/p' | awk 'NF > 1 && $1 != "commands:" { print $1 }')
check "troupe --help lists the commands" test -n "$commands"
for cmd in $commands; do
	case $cmd in
	show | tag | edit | rm | cat | path | hash) page=$man/troupe-asset.1 ;;
	location | prop | style) page=$man/troupe-character.1 ;;
	*) page=$man/troupe-$cmd.1 ;;
	esac
	check "$cmd has a page" test -f "$page"
	missing=
	# The options are the lines of the help that start with one:
	# "  -m, --model NAME ...", "  --retry ...", "  -k N ...".
	for opt in $(troupe "$cmd" --help 2>&1 |
		sed -n -e 's/^ *-[a-z], \(--[a-z][a-z-]*\).*/\1/p' -e 's/^ *\(--*[a-z][a-z-]*\).*/\1/p' |
		sort -u); do
		name=${opt#*-}
		name=${name#-}
		if grep -q -- "Fl Fl $name\\b" "$page" "$man/troupe.1" ||
			{ [ ${#name} -eq 1 ] && grep -q -- "Fl $name\\b" "$page" "$man/troupe.1"; }; then
			:
		else
			missing="$missing $opt"
		fi
	done
	is "$missing" "" "every option of '$cmd --help' is in its page"
done

done_testing
