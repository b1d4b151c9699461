#!/bin/bash
# On a stopped process, precopy, stop and gcore cores must say the same:
# gdb's backtrace of every thread and eu-stack's frames; and the memory of
# the world is consistent and identical in the precopy and stop cores.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore
lg_need_gcore
lg_start track-targets/consistency run 1000
sleep 1
lg_stop "$TPID"
pid=$TPID
lg_run_lgcore "$T" -o "$T/pre" "$pid"
[ "$RC" = 0 ] || { cat "$ERR" >&2; lg_fail "precopy dump exited $RC"; lg_done; }
lg_run_lgcore "$T" --mode=stop -o "$T/stop" "$pid"
[ "$RC" = 0 ] || { cat "$ERR" >&2; lg_fail "stop dump exited $RC"; lg_done; }
lg_gcore "$pid" gc
lg_check_stopped "$pid" "after the three dumps"
bt() {
	"$GDB" -batch -nx -ex "set print address off" -ex "thread apply all bt" "$TEXE" "$1" 2>/dev/null |
		grep -E '^(#|Thread)' | sed -e 's/ (LWP [0-9]*)//' -e 's/Thread [0-9.x]*/Thread/' |
		sed -e 's/=0x[0-9a-f]*/=ADDR/g'
}
bt "$T/pre.$pid" > "$T/bt.pre"
bt "$T/stop.$pid" > "$T/bt.stop"
bt "$T/gc.$pid" > "$T/bt.gc"
[ -s "$T/bt.pre" ] || lg_fail "no backtrace from the precopy core"
diff "$T/bt.stop" "$T/bt.pre" || lg_fail "precopy and stop backtraces differ"
diff "$T/bt.gc" "$T/bt.pre" || lg_fail "precopy and gcore backtraces differ"
if [ -n "$EU_STACK" ]; then
	for c in pre stop; do
		"$EU_STACK" -e "$TEXE" --core "$T/$c.$pid" 2>/dev/null | sed 's/^TID [0-9]*:/TID:/' > "$T/eu.$c"
	done
	diff "$T/eu.stop" "$T/eu.pre" || lg_fail "eu-stack differs"
fi
# The memory of the world is identical too: the checker agrees on both.
world=$(sed -n 's/^world //p' "$TOUT")
a=$("$TEXE" check "$T/pre.$pid" "$world") || lg_fail "precopy core: $a"
b=$("$TEXE" check "$T/stop.$pid" "$world") || lg_fail "stop core: $b"
[ "$a" = "$b" ] || lg_fail "checker differs: $a / $b"
lg_info "threads: $(grep -c '^Thread' "$T/bt.pre"), $a"
lg_done
