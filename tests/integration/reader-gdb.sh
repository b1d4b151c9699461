#!/bin/bash
# gdb answers the same of gcore's core and of lgcore's (--mode=stop,
# default, --mode=snapshot, -o -) of one SIGSTOPped target-readers: threads, every thread's
# backtrace, registers (general and all; those gdb 13 misreads on this
# CPU's XSAVE layout are not compared with gcore's, gdb-xstate.sh checks
# them against the truth), globals, the heap list through its global
# pointer, every thread's __thread value, the never-written mapping.  The
# answers from lgcore's core must also be the facts the target printed.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/readerlib.sh"
lg_need_gdb

lg_three_dumps target-readers
ua=$(lg_kv untouched.addr) ul=$(lg_kv untouched.len)
ask() {	# NAME PREFIX CMD...: gdb's answers about core NAME into $T/PREFIX.NAME
	local c=$1 pre=$2
	shift 2
	lg_gdb "$TEXE" "$(lg_core_of $c)" "$@" >"$T/$pre.$c"
}
for c in $LG_CORES; do
	ask $c threads "info threads"
	ask $c bt "thread apply all bt"
	ask $c regs "thread apply all info registers"
	ask $c allregs "thread apply all info all-registers"
	ask $c vars "print/x lg_global" "print lg_message" "print *lg_list" "print *lg_list->next" \
		"print lg_list->next->next->name"
	ask $c tls "thread apply all print/x lg_tls"
	ask $c untouched "x/2gx $ua" "x/2gx $ua + $ul - 16"
done
lg_drop_misread "$T"/regs.* "$T"/allregs.*
lg_same3 "gdb: info threads" threads
lg_same3 "gdb: thread apply all bt" bt
lg_same3 "gdb: thread apply all info registers" regs
lg_same3 "gdb: thread apply all info all-registers" allregs
lg_same3 "gdb: globals and the heap list" vars
lg_same3 "gdb: __thread values" tls
lg_same3 "gdb: the never-written mapping" untouched

# The facts, from lgcore's core.
n=$(lg_kv threads)
[ "$(grep -c 'LWP' "$T/threads.lg")" = "$n" ] || lg_fail "gdb shows not $n threads in lgcore's core"
for i in $(seq 0 $((n - 1))); do
	tid=$(lg_kv thread.$i.tid)
	awk -v t="(LWP $tid)" '/^Thread / { inb = index($0, t) > 0; next } inb' "$T/bt.lg" |
		grep -q " $(lg_kv thread.$i.func) " ||
		lg_fail "the backtrace of LWP $tid in lgcore's core has no $(lg_kv thread.$i.func)"
	got=$(awk -v t="(LWP $tid)" '/^Thread / { inb = index($0, t) > 0; next }
		inb && /^\$[0-9]+ = / { print $3; exit }' "$T/tls.lg")
	[ "$got" = "$(lg_kv thread.$i.tls)" ] ||
		lg_fail "lg_tls of LWP $tid in lgcore's core is '$got', expected $(lg_kv thread.$i.tls)"
done
grep -q "= $(lg_kv global.value)\$" "$T/vars.lg" || lg_fail "lg_global is not $(lg_kv global.value)"
grep -q "= \"$(lg_kv global.message)\"" "$T/vars.lg" || lg_fail "lg_message is not $(lg_kv global.message)"
for i in 0 1 2; do
	# "alpha\000\000..." or "beta", '\000' <repeats 11 times>
	grep -Eq "\"$(lg_kv list.$i.name)(\\\\000)*\"" "$T/vars.lg" ||
		lg_fail "list node $i ($(lg_kv list.$i.name)) not shown from lgcore's core"
done
[ "$(grep -c ':[[:space:]]*0x0000000000000000[[:space:]]*0x0000000000000000$' "$T/untouched.lg")" = 2 ] ||
	lg_fail "gdb does not read zeros from the never-written mapping: $(head -c 200 "$T/untouched.lg")"

lg_finish_target "$TPID"
lg_done
