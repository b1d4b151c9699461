#!/bin/bash
# Under "ulimit -f 256" (256 KiB, default SIGXFSZ disposition) lgcore fails
# cleanly: exit 1 (not killed by SIGXFSZ), "lgcore: failed to create
# core.PID: File too large", no file -- not even an older core.PID from an
# earlier run, which would make the failed dump look like a success; the
# target runs on, untraced, and is dumped without the limit.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore

lg_start target-threads
mkdir "$T/out" "$T/stale"
for d in out stale; do
	[ $d = stale ] && echo "core from an earlier run" >"$T/stale/core.$TPID"
	LG_RUNS=$((LG_RUNS + 1))
	OUT=$T/$d.out ERR=$T/$d.err
	(cd "$T/$d" && trap - XFSZ && ulimit -f 256 && exec "$LGCORE" "$TPID") >"$OUT" 2>"$ERR"
	RC=$?
	[ "$RC" -gt 128 ] && lg_fail "lgcore was killed by signal $((RC - 128)) under ulimit -f"
	lg_expect_fail "$T/$d" core "$TPID" 'file too large'
	lg_check_running "$TPID" "after the failed dump"
done
for d in out stale; do
	lg_no_core "$T/$d/core.$TPID"
	[ -z "$(ls -A "$T/$d")" ] || lg_fail "files left behind in $d: $(ls -A "$T/$d")"
done
lg_control_dump "$TPID"
lg_finish_target "$TPID"
lg_done
