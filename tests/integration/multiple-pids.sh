#!/bin/bash
# Several pids: each dumped to PREFIX.PID (with that target's memory) with
# its own "Saved corefile" line; at the first failure lgcore stops, exits 1
# and leaves later pids alone.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore

lg_start target-threads; p1=$TPID out1=$TOUT
lg_start target-threads; p2=$TPID out2=$TOUT
dead=$(lg_dead_pid)
mkdir "$T/ok" "$T/ko"

lg_run_lgcore "$T/ok" -o m "$p1" "$p2"
[ "$RC" = 0 ] || lg_fail "lgcore -o m $p1 $p2 exited $RC"
printf 'Saved corefile m.%s\nSaved corefile m.%s\n' "$p1" "$p2" >"$T/want"
grep '^Saved corefile' "$OUT" >"$T/got"
lg_same "stdout of lgcore -o m P1 P2" "$T/got" "$T/want"
lg_is_core "$T/ok/m.$p1" && lg_is_core "$T/ok/m.$p2" || lg_fail "m.$p1 or m.$p2 is not a core"
lg_check_core "$T/ok/m.$p1" "$p1"
lg_check_core "$T/ok/m.$p2" "$p2"

lg_run_lgcore "$T/ko" -o m "$p1" "$dead" "$p2"
lg_expect_fail "$T/ko" m "$dead" 'no such process'
lg_is_core "$T/ko/m.$p1" || lg_fail "m.$p1 (before the failing pid) is not a core"
lg_check_core "$T/ko/m.$p1" "$p1"
grep -qx "Saved corefile m.$p1" "$OUT" || lg_fail "no 'Saved corefile m.$p1'"
lg_no_core "$T/ko/m.$dead"
lg_no_core "$T/ko/m.$p2"
grep -q "m\.$p2" "$OUT" && lg_fail "lgcore went on to $p2 after a failure"

for p in $p1 $p2; do lg_check_running "$p" "after the dumps"; done
TOUT=$out1 lg_finish_target "$p1"
TOUT=$out2 lg_finish_target "$p2"
lg_done
