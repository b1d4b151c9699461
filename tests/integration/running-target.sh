#!/bin/bash
# A running target (one thread spinning, the others blocked) is dumped and
# runs on: not stopped, not traced, no signal delivered, no blocking call
# interrupted, every thread alive (its self-check on SIGUSR1).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore

lg_start target-threads
lg_lgcore "$TPID" lg || lg_done
lg_is_core "$T/lg.$TPID" || lg_fail "lg.$TPID is not a core"
lg_check_running "$TPID" "right after the dump"
sleep 0.5
lg_check_running "$TPID" "0.5 s after the dump"
lg_finish_target "$TPID"
lg_done
