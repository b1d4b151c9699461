#!/bin/bash
# After a pid wraparound a thread's tid can be smaller than the leader's
# pid.  The threads of lgcore's core must still come in gcore's order, the
# kernel's thread-list order (/proc/PID/task's order: the leader, then by
# creation), so that gdb numbers them alike in both cores.  The wrap is
# forced with /proc/sys/kernel/ns_last_pid (root) just below pid_max before
# target-threads creates its threads.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore
lg_need_gcore
lg_need_eu
[ -w /proc/sys/kernel/ns_last_pid ] || lg_skip "cannot write /proc/sys/kernel/ns_last_pid (needs root)"
max=$(cat /proc/sys/kernel/pid_max)
# straddles: some threads of TPID were created before the wrap (tids above
# the leader's), some after (below it).
straddles() {
	ls -f "/proc/$TPID/task" | grep -v '^\.' | tr '\n' ' ' >"$T/kernel.order"
	awk -v p="$TPID" '{ for (i = 1; i <= NF; i++) { if ($i < p) lo = 1; if ($i > p) hi = 1 } }
		END { exit !(lo && hi) }' "$T/kernel.order"
}
# Other processes take pids too: try a few times.
for try in $(seq 10); do
	# The leader and two threads before the wrap, three after it.
	echo $((max - 4)) >/proc/sys/kernel/ns_last_pid || lg_skip "cannot set ns_last_pid"
	lg_start target-threads
	straddles && break
	lg_kill "$TPID"
done
straddles || lg_skip "other processes took the pids near pid_max 10 times: $(cat "$T/kernel.order")"
lg_stop "$TPID"
lg_lgcore "$TPID" lg || lg_done
lg_gcore "$TPID" gc
for c in lg gc; do
	"$EU_READELF" -n "$T/$c.$TPID" | sed -n 's/^ *pid: \([0-9]*\),.*/\1/p' | tr '\n' ' ' >"$T/$c.order"
done
lg_info "threads: kernel $(cat "$T/kernel.order"), gcore $(cat "$T/gc.order"), lgcore $(cat "$T/lg.order")"
lg_same "NT_PRSTATUS order (lgcore vs gcore)" "$T/lg.order" "$T/gc.order"
lg_check_stopped "$TPID" "after both dumps"
lg_finish_target "$TPID"
lg_done
