#!/bin/bash
# drgn answers the same of gcore's core and of lgcore's (--mode=stop,
# default, --mode=snapshot, -o -) of one SIGSTOPped target-readers (drgn_ask.py): every thread's
# stack trace and frame-0 registers, the crashed thread, globals, the heap
# list through its global pointer, the never-written mapping (drgn raises
# FaultError for a PT_LOAD with p_filesz 0: it must read zeros).  drgn
# 0.0.22 has no vector registers, and cannot evaluate a __thread variable
# (DW_OP_form_tls_address) in any core: that answer must be the same error.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/readerlib.sh"
[ -n "$DRGN" ] && [ -x "$DRGN" ] ||
	lg_skip "drgn not installed (Debian: apt-get install python3-drgn; tools/install-deps.sh)"

lg_three_dumps target-readers
ua=$(lg_kv untouched.addr) ul=$(lg_kv untouched.len)
for c in $LG_CORES; do
	"$DRGN" -q -c "$(lg_core_of $c)" "$top_srcdir/tests/integration/drgn_ask.py" "$ua" "$ul" \
		>"$T/out.$c" 2>&1 </dev/null
	for q in threads main vars tls untouched; do
		awk -v q="@@$q" '/^@@/ { inq = ($0 == q); next } inq' "$T/out.$c" >"$T/$q.$c"
	done
	awk '/^@@regs / { inq = 1; print; next } /^@@/ { inq = 0 } inq' "$T/out.$c" >"$T/regs.$c"
done
grep -q '^thread ' "$T/threads.gc" || lg_hard "drgn shows no thread in gcore's core: $(head -c 300 "$T/out.gc")"

lg_same3 "drgn: threads and their stack traces" threads
lg_same3 "drgn: frame-0 registers of every thread" regs
lg_same3 "drgn: the crashed thread" main
lg_same3 "drgn: globals and the heap list" vars
lg_same3 "drgn: the never-written mapping" untouched
lg_same3 "drgn: a __thread variable (an error for every core)" tls

# The facts, from lgcore's core.
n=$(lg_kv threads)
[ "$(grep -c '^thread ' "$T/threads.lg")" = "$n" ] || lg_fail "drgn shows not $n threads in lgcore's core"
for i in $(seq 0 $((n - 1))); do
	awk -v t="thread $(lg_kv thread.$i.tid)" '/^thread / { inb = ($0 == t); next } inb' "$T/threads.lg" |
		grep -q " in $(lg_kv thread.$i.func) " ||
		lg_fail "drgn: the stack trace of $(lg_kv thread.$i.tid) in lgcore's core has no $(lg_kv thread.$i.func)"
done
[ "$(cat "$T/main.lg")" = "$TPID" ] || lg_fail "drgn: the crashed thread is '$(cat "$T/main.lg")', not the leader"
{
	lg_kv global.value
	lg_kv global.message
	for i in 0 1 2; do echo "$(lg_kv list.$i.id) $(lg_kv list.$i.name)"; done
} >"$T/vars.want"
lg_same "drgn: globals and the list in lgcore's core vs the target's facts" "$T/vars.lg" "$T/vars.want"
[ "$(grep -c '^0\{32\}$' "$T/untouched.lg")" = 2 ] ||
	lg_fail "drgn does not read zeros from the never-written mapping: $(cat "$T/untouched.lg")"
grep -q '^error' "$T/tls.gc" && lg_info "drgn reads no __thread variable from gcore's core either: $(cat "$T/tls.gc")"

lg_finish_target "$TPID"
lg_done
