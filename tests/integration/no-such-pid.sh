#!/bin/bash
# A pid with no process: exit 1, "lgcore: failed to create core.PID: No such
# process", no file; and the same lgcore dumps a live target (an lgcore that
# fails for every pid must not pass).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore

lg_start target-threads
lg_control_dump "$TPID"
dead=$(lg_dead_pid)
mkdir "$T/out"
lg_run_lgcore "$T/out" "$dead"
lg_expect_fail "$T/out" core "$dead" 'no such process'
lg_no_core "$T/out/core.$dead"
[ -z "$(ls -A "$T/out")" ] || lg_fail "files left behind: $(ls -A "$T/out")"
lg_finish_target "$TPID"
lg_done
