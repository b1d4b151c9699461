#!/bin/bash
# -o into a directory that does not exist: exit 1, "lgcore: failed to
# create DIR/core.PID: No such file or directory"; the target runs on and
# is dumped into a directory that exists.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore

lg_start target-threads
lg_run_lgcore "$T" -o "$T/missing/core" "$TPID"
lg_expect_fail "$T" "$T/missing/core" "$TPID" 'no such file or directory'
[ -e "$T/missing" ] && lg_fail "lgcore created $T/missing"
lg_check_running "$TPID" "after the failed dump"
lg_control_dump "$TPID"
lg_finish_target "$TPID"
lg_done
