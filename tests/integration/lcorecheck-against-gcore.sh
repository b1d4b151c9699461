#!/bin/bash
# --against-gcore on lcorecheck's own test target (ct_threads): passes with
# only expected differences (memory and registers compared), leaves the
# target running, removes its cores; and leaves it stopped when it was
# stopped.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_gcore
lg_need_lgcore
lg_need_lcorecheck
lg_start check-targets/ct_threads
mkdir "$T/cores" || lg_hard "mkdir $T/cores"
if lg_lc 0 --against-gcore "$TPID" --dir "$T/cores"; then
	lg_lc_expect pass diff.memory
	lg_lc_expect pass diff.regs
fi
state=$(lg_state "$TPID")
[ "$state" = S ] || lg_fail "target left in state $state"
[ -z "$(ls -A "$T/cores")" ] || lg_fail "temporary cores left behind: $(ls -A "$T/cores")"
# Left stopped when it was stopped.
lg_stop "$TPID"
lg_lc 0 --against-gcore "$TPID" --dir "$T/cores"
state=$(lg_state "$TPID")
[ "$state" = T ] || lg_fail "stopped target resumed (state $state)"
[ -z "$(ls -A "$T/cores")" ] || lg_fail "temporary cores left behind: $(ls -A "$T/cores")"
lg_done
