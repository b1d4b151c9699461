#!/bin/bash
# A stale PREFIX.PID from an earlier run never makes a failed dump look like
# success (gcore's bug): the failure is reported and no file is left under
# the final name, the old one included; a successful dump replaces it with a
# real core of the target's memory.  A symlink there is removed, never its
# target.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore

dead=$(lg_dead_pid)
mkdir "$T/out"
echo "old core" >"$T/out/core.$dead"
lg_run_lgcore "$T/out" "$dead"
lg_expect_fail "$T/out" core "$dead" 'no such process'
lg_no_core "$T/out/core.$dead"
echo "keep me" >"$T/victim"
ln -s "$T/victim" "$T/out/core.$dead"
lg_run_lgcore "$T/out" "$dead"
lg_expect_fail "$T/out" core "$dead" 'no such process'
lg_no_core "$T/out/core.$dead"
[ "$(cat "$T/victim")" = "keep me" ] || lg_fail "the symlink's target was changed"

lg_start target-threads
echo "old core" >"$T/out/core.$TPID"
lg_run_lgcore "$T/out" "$TPID"
[ "$RC" = 0 ] || lg_fail "lgcore exited $RC over a stale core.$TPID"
if lg_is_core "$T/out/core.$TPID"; then
	lg_check_core "$T/out/core.$TPID" "$TPID"
else
	lg_fail "core.$TPID was not replaced by a real core"
fi
lg_check_running "$TPID" "after the dump"
lg_finish_target "$TPID"
lg_done
