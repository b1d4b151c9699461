#!/bin/sh
# --against-gcore on the test target: passes with only expected
# differences, leaves the target running, removes its cores.
. "${top_srcdir:-.}/tests/integration/lcorecheck-lib.sh"
[ -n "$GCORE" ] || skip "gdb's gcore not installed"
LGCORE=${LGCORE:-$top_builddir/src/lgcore}
export LGCORE
"$LGCORE" --version > /dev/null 2>&1 || skip "lgcore is not built yet ($LGCORE --version fails)"
start_target
run 0 --against-gcore "$TARGET_PID" --dir "$TMP"
expect_check pass diff.memory
expect_check pass diff.regs
state=$(sed 's/.*) //' /proc/$TARGET_PID/stat | cut -c1)
[ "$state" = S ] || fail "target left in state $state"
[ -z "$(ls "$TMP" | grep lcorecheck)" ] || fail "temporary cores left behind"
# Left stopped when it was stopped.
kill -STOP "$TARGET_PID"; sleep 0.1
run 0 --against-gcore "$TARGET_PID" --dir "$TMP"
state=$(sed 's/.*) //' /proc/$TARGET_PID/stat | cut -c1)
[ "$state" = T ] || fail "stopped target resumed (state $state)"
exit 0
