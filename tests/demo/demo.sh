#!/bin/sh
# make demo: start a process, dump it with lgcore, show that gdb and
# eu-stack read the core, and that the process ran on.
set -e
builddir=${top_builddir:-.}
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
"$builddir/tests/demo/demo-target" > "$dir/pid" &
pid=$!
while [ ! -s "$dir/pid" ]; do sleep 0.1; done
echo "== lgcore -o $dir/core $pid"
"$builddir/src/lgcore" -o "$dir/core" "$pid"
ls -ls "$dir/core.$pid"
echo "== eu-stack --core (every thread's backtrace, from the core alone)"
eu-stack --core="$dir/core.$pid" -e "$builddir/tests/demo/demo-target" 2>&1 | head -30
echo "== gdb: thread apply all bt"
gdb -q -batch -ex "thread apply all bt" "$builddir/tests/demo/demo-target" "$dir/core.$pid" 2>&1 |
	grep -E '^(Thread|#)'
echo "== the process still runs: $(ps -o pid=,stat=,comm= -p "$pid")"
