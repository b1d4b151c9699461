#!/bin/bash
# Cores are created mode 0600 whatever the umask (as the kernel does), and
# hold the target's memory.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore

lg_start target-threads
mkdir "$T/out"
for u in 022 000 077; do
	LG_RUNS=$((LG_RUNS + 1))
	OUT=$T/u$u.out ERR=$T/u$u.err
	(cd "$T/out" && umask $u && exec "$LGCORE" -o u$u "$TPID") >"$OUT" 2>"$ERR"
	RC=$?
	[ "$RC" = 0 ] || lg_fail "lgcore under umask $u exited $RC"
	m=$(stat -c %a "$T/out/u$u.$TPID" 2>/dev/null)
	[ "$m" = 600 ] || lg_fail "core written under umask $u has mode '$m', expected 600"
	[ "$RC" = 0 ] && lg_check_core "$T/out/u$u.$TPID" "$TPID"
done
lg_check_running "$TPID" "after the dumps"
lg_finish_target "$TPID"
lg_done
