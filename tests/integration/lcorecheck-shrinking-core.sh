#!/bin/bash
# A core truncated by someone else while lcorecheck reads it (the cores are
# mmapped): never a death by SIGBUS, but exit 2 with a message saying so
# (or a normal result when the truncation came before the open or after
# the reading).  Timing decides which: several delays are tried, and the
# test requires that every run ended in one of those ways.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lcorecheck
lg_dump_both target-memory --dir "$T"
lg_finish_target "$TPID"
hit=0
for delay in 0.002 0.005 0.01 0.015 0.02 0.03; do
	cp "$LGC" "$T/a" && cp "$GCC" "$T/b" || lg_hard "cannot copy the cores"
	"$LCORECHECK" "$T/a" "$T/b" >"$T/out" 2>"$T/err" &
	pid=$!
	sleep "$delay"
	truncate -s 8192 "$T/a" "$T/b"
	wait "$pid"
	rc=$?
	case $rc in
	0|1) ;;
	2)	grep -q '^lcorecheck: a core file shrank while being read (SIGBUS)' "$T/err" ||
			lg_fail "delay $delay: exit 2 without the SIGBUS message: $(head -c 300 "$T/err")"
		hit=$((hit + 1)) ;;
	*)	lg_fail "delay $delay: lcorecheck exited $rc (killed by signal $((rc - 128))?)" ;;
	esac
done
lg_info "$hit of 6 runs saw the core shrink under them"
lg_done
