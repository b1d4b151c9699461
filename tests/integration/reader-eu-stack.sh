#!/bin/bash
# elfutils (libdwfl: eu-stack, eu-unstrip) answers the same of gcore's core
# and of lgcore's (--mode=stop, default, --mode=snapshot, -o -) of one SIGSTOPped
# target-readers: every thread's backtrace with modules, build-ids, offsets
# and source lines (eu-stack -i -m -s -b), and the modules with their
# addresses, build-ids and files (eu-unstrip -n).  libdwfl reads no
# variables or vector registers.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/readerlib.sh"
lg_need_eu
EU_UNSTRIP=${EU_UNSTRIP:-$(dirname "$EU_STACK")/eu-unstrip}
[ -x "$EU_UNSTRIP" ] || lg_skip "eu-unstrip not found next to $EU_STACK"

lg_three_dumps target-readers
for c in $LG_CORES; do
	"$EU_STACK" -i -m -s -b --core="$(lg_core_of $c)" --executable="$TEXE" >"$T/stack.$c" 2>&1
	"$EU_UNSTRIP" -n --core="$(lg_core_of $c)" >"$T/modules.$c" 2>&1
done
grep -q '^TID ' "$T/stack.gc" || lg_hard "eu-stack shows no thread in gcore's core: $(head -c 300 "$T/stack.gc")"
lg_same3 "eu-stack: every thread's backtrace" stack
lg_same3 "eu-unstrip -n: modules" modules

# The facts, from lgcore's core.
n=$(lg_kv threads)
[ "$(grep -c '^TID ' "$T/stack.lg")" = "$n" ] || lg_fail "eu-stack shows not $n threads in lgcore's core"
for i in $(seq 0 $((n - 1))); do
	awk -v t="TID $(lg_kv thread.$i.tid):" '/^TID / { inb = ($0 == t); next } inb' "$T/stack.lg" |
		grep -q " $(lg_kv thread.$i.func) - target-readers\$" ||
		lg_fail "eu-stack: no $(lg_kv thread.$i.func) in the backtrace of $(lg_kv thread.$i.tid) in lgcore's core"
done
for m in target-readers libc.so.6 ld-linux-x86-64.so.2 linux-vdso.so.1; do
	grep -q "$m\$" "$T/modules.lg" || lg_fail "eu-unstrip: no module $m in lgcore's core"
done

lg_finish_target "$TPID"
lg_done
