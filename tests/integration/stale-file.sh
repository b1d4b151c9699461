#!/bin/bash
# A stale PREFIX.PID from an earlier run never makes a failed dump look like
# success (gcore's bug): the failure is reported and the old file is left
# untouched; a successful dump replaces it with a real core.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore

dead=$(lg_dead_pid)
mkdir "$T/out"
echo "old core" >"$T/out/core.$dead"
lg_run_lgcore "$T/out" "$dead"
lg_expect_fail "$T/out" core "$dead" 'no such process'
echo "old core" >"$T/want"
cmp -s "$T/want" "$T/out/core.$dead" || lg_fail "the stale core.$dead was modified"

lg_start target-threads
echo "old core" >"$T/out/core.$TPID"
lg_run_lgcore "$T/out" "$TPID"
[ "$RC" = 0 ] || lg_fail "lgcore exited $RC over a stale core.$TPID"
lg_is_core "$T/out/core.$TPID" || lg_fail "core.$TPID was not replaced by a real core"
lg_check_running "$TPID" "after the dump"
lg_finish_target "$TPID"
lg_done
