#!/bin/bash
# lcorecheck --against-gcore fails, naming the exact difference, when
# lgcore writes a wrong byte.  lgcore itself is not touched: LGCORE is
# lgcore-wrong-byte, which runs the real lgcore and then damages its core
# in one known way: a memory byte at an address the target printed, one
# register of one thread, a thread removed, a thread's id garbled.  A
# control run through the same wrapper must pass, and the target must
# still pass its own check at the end.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore
lg_need_gcore
lg_need_lcorecheck
command -v python3 >/dev/null || lg_skip "python3 is needed to damage the core"
export LG_WRONG_LGCORE=$LGCORE LG_WRONG_LOG=$T/wrong.log
export LGCORE=$top_srcdir/tests/integration/lgcore-wrong-byte
mkdir "$T/cores" || lg_hard "mkdir $T/cores"

lg_start target-threads

# wrong WANT_EXIT HOW...: one --against-gcore run with LG_WRONG=HOW.
wrong() {
	local want=$1 rc
	shift
	rm -f "$LG_WRONG_LOG"
	LG_WRONG="$*" "$LCORECHECK" --against-gcore "$TPID" --dir "$T/cores" >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" != "$want" ]; then
		cat "$T/err" >&2
		grep -E '^fail ' "$T/out" >&2
		lg_fail "LG_WRONG='$*': lcorecheck exited $rc, want $want"
		return 1
	fi
	[ "$*" = none ] || [ -s "$LG_WRONG_LOG" ] || lg_hard "the wrapper did not damage the core ($*): $(cat "$T/err")"
	return 0
}
w() { sed -n "s/^$1=//p" "$LG_WRONG_LOG"; }
# only_fails ERE: every failed check matches ERE (nothing else was blamed).
only_fails() {
	local other
	other=$(grep -E '^fail ' "$T/out" | grep -Ev "$1")
	[ -z "$other" ] || lg_fail "$2: other failures too: $other"
}

wrong 0 none

# (a) One byte of the heap pattern.
addr=$(printf '0x%x' $(($(lg_kv heap.addr) + 0x123)))
page=$(printf '0x%x' $((addr & ~0xfff)))
if wrong 1 mem "$addr"; then
	old=$(w old) new=$(w new)
	grep -Eq "^fail +diff.memory +1 pages differ, first at $addr \(a $old, b $new, 1 bytes in that page\)$" "$T/out" ||
		lg_fail "memory byte at $addr ($old -> $new) not named: $(grep diff.memory "$T/out")"
	grep -Eq "^  page $page: 1 bytes differ, first at $addr \(gcore $old, lgcore $new\)$" "$T/out" ||
		lg_fail "page $page not listed: $(grep '^  page' "$T/out" | head -3)"
	only_fails 'diff\.memory ' "memory byte"
fi

# (b) One register of one thread (not the first: the one in a poll).
tid=$(lg_kv thread.3.tid)
if wrong 1 reg "$tid" r12; then
	grep -Eq "^fail +diff.regs +thread $tid: r12 $(w old) vs $(w new)$" "$T/out" ||
		lg_fail "r12 of thread $tid ($(w old) -> $(w new)) not named: $(grep diff.regs "$T/out")"
	only_fails "diff\.regs +thread $tid: r12 " "register"
fi

# (c) A thread removed from lgcore's core.
tid=$(lg_kv thread.4.tid)
if wrong 1 drop-thread "$tid"; then
	grep -Eq "^fail +diff.thread.missing +thread $tid is in a but not in b$" "$T/out" ||
		lg_fail "missing thread $tid not named: $(grep diff.thread "$T/out")"
	only_fails "diff\.thread\.missing +thread $tid is in a but not in b" "missing thread"
fi

# (d) A thread's id garbled: one thread too few, one unknown thread.
tid=$(lg_kv thread.5.tid)
if wrong 1 garble-thread "$tid"; then
	bad=$(w new)
	grep -Eq "^fail +diff.thread.missing +thread $tid is in a but not in b$" "$T/out" ||
		lg_fail "thread $tid not named missing: $(grep diff.thread "$T/out")"
	grep -Eq "^fail +diff.thread.missing +thread $bad is in b but not in a$" "$T/out" ||
		lg_fail "unknown thread $bad not named: $(grep diff.thread "$T/out")"
fi

[ -z "$(ls -A "$T/cores")" ] || lg_fail "temporary cores left behind: $(ls -A "$T/cores")"
lg_check_running "$TPID" "after the runs"
lg_finish_target "$TPID"
lg_done
