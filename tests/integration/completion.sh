#!/bin/bash
# The bash completion (completion/lgcore) under bash-completion: options
# come from the lgcore under test's --help (--mode=, --progress, -o), the
# values of --mode and --tracker are completed, and the operands are
# process ids (a running target's among them).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore
bc=/usr/share/bash-completion/bash_completion
[ -r "$bc" ] || lg_skip "bash-completion not installed ($bc)"

# comp WORDS...: the completions of the last word, one a line.
comp() {
	bash --norc --noprofile -c '
		. "$1" && . "$2" || exit 99
		compopt() { :; }	# works only inside a real completion
		shift 2
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_lgcore "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}"' comp "$bc" "$top_srcdir/completion/lgcore" "$@"
}

lg_start target-memory --dir "$T"
comp "$LGCORE" - >"$T/opts" || lg_fail "completing options failed"
for o in --mode= --tracker= --progress --quiet --verbose --stats= --help -o -a; do
	grep -qx -- "$o" "$T/opts" || lg_fail "'lgcore -<TAB>' does not offer $o ($(tr '\n' ' ' <"$T/opts"))"
done
[ "$(comp "$LGCORE" --mode "" | sort | tr '\n' ' ')" = "precopy snapshot stop " ] ||
	lg_fail "'lgcore --mode <TAB>' offers: $(comp "$LGCORE" --mode "" | tr '\n' ' ')"
[ "$(comp "$LGCORE" --mode=sn | tr '\n' ' ')" = "snapshot " ] ||
	lg_fail "'lgcore --mode=sn<TAB>' offers: $(comp "$LGCORE" --mode=sn | tr '\n' ' ')"
[ "$(comp "$LGCORE" --tracker "" | sort | tr '\n' ' ')" = "none soft-dirty uffd " ] ||
	lg_fail "'lgcore --tracker <TAB>' offers: $(comp "$LGCORE" --tracker "" | tr '\n' ' ')"
comp "$LGCORE" -a "" >"$T/pids"
grep -qx "$TPID" "$T/pids" || lg_fail "'lgcore -a <TAB>' does not offer the target's pid $TPID"
grep -qvx '[0-9]*' "$T/pids" && lg_fail "'lgcore -a <TAB>' offers more than pids: $(grep -vx '[0-9]*' "$T/pids" | head -n 3)"
lg_finish_target "$TPID"
lg_done
