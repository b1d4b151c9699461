#!/bin/bash
# gdb sees the same threads, in the same order, with the same backtraces in
# lgcore's core as in gcore's; and lgcore's core shows the target's facts:
# the main thread first and each thread's LWP blocked in its function.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

lg_dump_both target-threads
cmds=("info threads" "thread apply all bt")
lg_gdb "$TEXE" "$LGC" "${cmds[@]}" >"$T/lg.gdb"
lg_gdb "$TEXE" "$GCC" "${cmds[@]}" >"$T/gc.gdb"
grep -q 'LWP' "$T/gc.gdb" || lg_hard "gdb shows no thread in gcore's core: $(head -5 "$T/gc.gdb")"
lg_same "gdb: info threads / thread apply all bt" "$T/lg.gdb" "$T/gc.gdb"

n=$(lg_kv threads)
main=$(lg_kv thread.0.tid)
grep -Eq "^\* 1 +Thread 0x[0-9a-f]+ \(LWP $main\)" "$T/lg.gdb" ||
	lg_fail "thread 1 (current) of lgcore's core is not the main thread LWP $main"
[ "$(grep -Ec '^\*? +[0-9]+ +Thread 0x[0-9a-f]+ \(LWP [0-9]+\)' "$T/lg.gdb")" = "$n" ] ||
	lg_fail "lgcore's core does not have $n threads in 'info threads'"
for i in $(seq 0 $((n - 1))); do
	tid=$(lg_kv thread.$i.tid) fn=$(lg_kv thread.$i.func)
	# The backtrace block of that LWP must show the function it sits in.
	awk -v lwp="(LWP $tid))" -v fn=" $fn " '
		/^Thread [0-9]+ \(/ { inb = index($0, lwp) > 0 }
		inb && index($0, fn) { found = 1 }
		END { exit !found }' "$T/lg.gdb" ||
		lg_fail "backtrace of LWP $tid in lgcore's core does not show $fn"
done

lg_check_stopped "$TPID" "after both dumps"
lg_finish_target "$TPID"
lg_done
