#!/bin/bash
# A process whose main thread called pthread_exit(3) while another runs
# on: its /proc/PID/auxv and maps are gone with the leader's mm, so lgcore
# cannot dump it; it says so in one line ("the main thread of process PID
# (NAME) has exited ..."), exits 1, leaves no file, and the live thread
# runs on untraced.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore

lg_start target-exec --leader-exit
pid=$TPID
for i in $(seq 50); do [ "$(lg_state "$pid")" = Z ] && break; sleep 0.1; done
[ "$(lg_state "$pid")" = Z ] || lg_hard "the main thread of $pid did not exit"
lg_run_lgcore "$T" -o le "$pid"
lg_expect_fail "$T" le "$pid" "^the main thread of process $pid \\(target-exec\\) has exited: its /proc files \\(auxv, maps\\) are gone, so it cannot be dumped\$"
[ "$(grep -c . "$ERR")" = 1 ] || lg_fail "more than one line on stderr: $(head -c 300 "$ERR")"
lg_no_core "$T/le.$pid"
for t in /proc/"$pid"/task/*; do
	[ "${t##*/}" = "$pid" ] && continue
	case $(sed 's/.*) \(.\).*/\1/' "$t/stat") in S|R|D) ;; *) lg_fail "thread ${t##*/} is in state $(sed 's/.*) \(.\).*/\1/' "$t/stat")";; esac
	[ "$(sed -n 's/^TracerPid:[[:space:]]*//p' "$t/status")" = 0 ] || lg_fail "thread ${t##*/} is traced"
done
lg_finish_target "$pid"

lg_start target-threads
lg_control_dump "$TPID"
lg_finish_target "$TPID"
lg_done
