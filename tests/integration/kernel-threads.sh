#!/bin/bash
# lgcore on pid 2 (kthreadd) and another kernel thread: exit 1 with "process
# PID (NAME) is a kernel thread: it has no user memory to dump" (not an
# auxv error), no file, the thread untraced and in the state it was in.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore

kthreads=""
for s in /proc/[0-9]*/stat; do
	p=${s#/proc/}; p=${p%/stat}
	# PF_KTHREAD (0x00200000) in the flags, field 9.
	f=$(sed 's/.*) //' "$s" 2>/dev/null | cut -d' ' -f7)
	[ -n "$f" ] && [ $((f & 0x200000)) != 0 ] && [ "$p" != 2 ] && { kthreads=$p; break; }
done
[ -r /proc/2/stat ] && [ $(( $(sed 's/.*) //' /proc/2/stat | cut -d' ' -f7) & 0x200000 )) != 0 ] ||
	lg_skip "pid 2 is not a kernel thread here (a PID namespace)"
for p in 2 $kthreads; do
	name=$(cat "/proc/$p/comm")
	before=$(lg_state "$p")
	lg_run_lgcore "$T" -o k "$p"
	lg_expect_fail "$T" k "$p" "^process $p \(.*\) is a kernel thread: it has no user memory to dump\$"
	[ "$(grep -c . "$ERR")" = 1 ] || lg_fail "pid $p: more than one line on stderr: $(head -c 300 "$ERR")"
	lg_no_core "$T/k.$p"
	[ "$(lg_tracer "$p")" = 0 ] || lg_fail "kernel thread $p ($name) is traced"
	case $before$(lg_state "$p") in
	*T*|*t*) lg_fail "kernel thread $p ($name): state $before before, $(lg_state "$p") after";;
	esac
done

lg_start target-threads
lg_control_dump "$TPID"
lg_finish_target "$TPID"
lg_done
