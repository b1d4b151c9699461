#!/bin/bash
# A target stopped with SIGSTOP stays stopped (state T, every thread) and
# untraced after lgcore, and runs on normally once continued.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore

lg_start target-threads
lg_stop "$TPID"
lg_lgcore "$TPID" lg || lg_done
lg_is_core "$T/lg.$TPID" || lg_fail "lg.$TPID is not a core"
sleep 0.5
lg_check_stopped "$TPID" "0.5 s after the dump"
for t in /proc/$TPID/task/*; do
	s=$(sed 's/.*) \(.\).*/\1/' "$t/stat")
	[ "$s" = T ] || lg_fail "thread ${t##*/} is in state $s after the dump, not T"
done
kill -CONT "$TPID"
sleep 0.2
lg_check_running "$TPID" "after SIGCONT"
lg_finish_target "$TPID"
lg_done
