#!/bin/sh
# On a stopped process, precopy, stop and gcore cores must say the same:
# gdb's backtrace of every thread and eu-stack's frames.
set -u
: "${top_builddir:=.}"
LG=$top_builddir/src/lgcore
T=$top_builddir/tests/track-targets/consistency
[ -n "${GDB:-}" ] && [ -n "${GCORE:-}" ] || { echo "SKIP: gdb/gcore not found"; exit 77; }
dir=$(mktemp -d) || exit 99
pid=
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT INT TERM
"$T" run 1000 > "$dir/out" &
pid=$!
sleep 1
kill -STOP $pid
sleep 0.2
"$LG" -o "$dir/pre" $pid > /dev/null || { echo "FAIL: precopy"; exit 1; }
"$LG" --mode=stop -o "$dir/stop" $pid > /dev/null || { echo "FAIL: stop"; exit 1; }
"$GCORE" -o "$dir/gc" $pid > /dev/null 2>&1 || { echo "FAIL: gcore"; exit 1; }
grep -q "State:.*T" /proc/$pid/status || { echo "FAIL: target no longer stopped"; exit 1; }
bt() {
	"$GDB" -batch -nx -ex "set print address off" -ex "thread apply all bt" "$T" "$1" 2>/dev/null |
		grep -E '^(#|Thread)' | sed -e 's/ (LWP [0-9]*)//' -e 's/Thread [0-9.x]*/Thread/' |
		sed -e 's/=0x[0-9a-f]*/=ADDR/g'
}
bt "$dir/pre.$pid" > "$dir/bt.pre"
bt "$dir/stop.$pid" > "$dir/bt.stop"
bt "$dir/gc.$pid" > "$dir/bt.gc"
[ -s "$dir/bt.pre" ] || { echo "FAIL: no backtrace from the precopy core"; exit 1; }
st=0
diff "$dir/bt.stop" "$dir/bt.pre" || { echo "FAIL: precopy and stop backtraces differ"; st=1; }
diff "$dir/bt.gc" "$dir/bt.pre" || { echo "FAIL: precopy and gcore backtraces differ"; st=1; }
if [ -n "${EU_STACK:-}" ]; then
	for c in pre stop; do
		"$EU_STACK" -e "$T" --core "$dir/$c.$pid" 2>/dev/null | sed 's/^TID [0-9]*:/TID:/' > "$dir/eu.$c"
	done
	diff "$dir/eu.stop" "$dir/eu.pre" || { echo "FAIL: eu-stack differs"; st=1; }
fi
# The memory of the world is identical too: the checker agrees on both.
world=$(awk '/^world/ {print $2}' "$dir/out")
a=$("$T" check "$dir/pre.$pid" "$world") || { echo "FAIL: $a"; st=1; }
b=$("$T" check "$dir/stop.$pid" "$world")
[ "$a" = "$b" ] || { echo "FAIL: checker differs: $a / $b"; st=1; }
echo "threads: $(grep -c '^Thread' "$dir/bt.pre"), $a"
exit $st
