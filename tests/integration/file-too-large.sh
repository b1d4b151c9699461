#!/bin/bash
# Under "ulimit -f 256" (256 KiB, default SIGXFSZ disposition) lgcore fails
# cleanly: exit 1 (not killed by SIGXFSZ), "lgcore: failed to create
# core.PID: File too large", no file; an older core.PID from an earlier run
# is left as it was; the target runs on, untraced.
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
lg_no_core "$T/out/core.$TPID"
[ -z "$(ls -A "$T/out")" ] || lg_fail "files left behind: $(ls -A "$T/out")"
echo "core from an earlier run" >"$T/want"
cmp -s "$T/want" "$T/stale/core.$TPID" ||
	lg_fail "the earlier core.$TPID was replaced or removed by a failed dump"
[ "$(ls -A "$T/stale")" = "core.$TPID" ] || lg_fail "the directory with the old core holds '$(ls -A "$T/stale")' instead of just core.$TPID"
lg_finish_target "$TPID"
lg_done
