#!/bin/bash
# lldb answers the same of gcore's core and of lgcore's (--mode=stop,
# default, --mode=snapshot, -o -) of one SIGSTOPped target-readers: the thread list (with stop
# reasons), every thread's backtrace, every thread's registers (lldb reads
# the general ones and NT_FPREGSET: x87, MXCSR, xmm0-15; it shows no
# ymm/zmm from a Linux core, whoever wrote it), globals, the heap list
# through its global pointer, the never-written mapping (lldb refuses a
# PT_LOAD with p_filesz 0: it must read zeros).  One documented difference:
# mxcsrmask, the CPU's MXCSR_MASK in lgcore's cores as in the kernel's,
# 0 in gcore's (README, "mxcsr_mask").  lldb cannot read __thread
# variables from a Linux core, gcore's included: that answer must be the
# same error.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/readerlib.sh"
[ -n "$LLDB" ] && [ -x "$LLDB" ] ||
	lg_skip "lldb not installed (Debian: apt-get install lldb-16; tools/install-deps.sh)"

lg_three_dumps target-readers
ua=$(lg_kv untouched.addr) ul=$(lg_kv untouched.len)
n=$(lg_kv threads) vec=$(($(lg_kv vec.thread) + 1))
# lldb numbers threads in note order: the leader first in both cores.
for c in $LG_CORES; do
	{
		echo "settings set use-color false"
		echo "settings set stop-line-count-before 0"
		echo "settings set stop-line-count-after 0"
		echo "target create -c $(lg_core_of $c) $TEXE"
		echo "@@threads"
		echo "thread list"
		echo "@@bt"
		echo "bt all"
		echo "@@regs"
		for i in $(seq 1 "$n"); do
			echo "@thread $i"
			echo "register read --all"
		done
		echo "@@vec"
		echo "@thread $vec"
		for i in $(seq 0 15); do
			echo "register read -f \"uint64_t[]\" xmm$i"
		done
		echo "register read -f x mxcsr"
		echo "@@vars"
		echo "p/x lg_global"
		echo "p lg_message"
		echo "p *lg_list"
		echo "p *lg_list->next"
		echo "p lg_list->name"
		echo "p lg_list->next->name"
		echo "p lg_list->next->next->name"
		echo "@@untouched"
		echo "memory read -s 8 -f x -c 2 $ua"
		echo "memory read -s 8 -f x -c 2 $((ua + ul - 16))"
		echo "@@tls"
		echo "p lg_tls"
	} >"$T/cmds.$c"
	LG_LLDB_CMDS=$T/cmds.$c "$LLDB" --no-lldbinit -b \
		-o "command script import $top_srcdir/tests/integration/lldb_ask.py" \
		>"$T/out.$c" 2>&1 </dev/null
	for q in threads bt regs vec vars untouched tls; do
		awk -v q="@@$q" '/^@@/ { inq = ($0 == q); next } inq' "$T/out.$c" >"$T/$q.$c"
	done
done
grep -q 'tid = ' "$T/threads.gc" || lg_hard "lldb shows no thread in gcore's core: $(head -c 300 "$T/out.gc")"

# mxcsr_mask: what each writer puts there, then out of the comparison.
grep -q 'mxcsrmask = 0x00000000$' "$T/regs.gc" ||
	lg_fail "gcore's core: mxcsrmask is not 0 (the row \"mxcsr_mask\" is out of date)"
for c in $LG_OURS; do
	grep 'mxcsrmask = ' "$T/regs.$c" | grep -q ' = 0x00000000$' &&
		lg_fail "$(lg_name_of $c): mxcsrmask is 0, not the CPU's MXCSR_MASK"
done
sed -i 's/mxcsrmask = 0x[0-9a-f]*$/mxcsrmask = (row mxcsr_mask)/' "$T"/regs.*

lg_same3 "lldb: thread list" threads
lg_same3 "lldb: bt all" bt
lg_same3 "lldb: every thread's registers" regs
lg_same3 "lldb: xmm0-15 and mxcsr of the vector thread" vec
lg_same3 "lldb: globals and the heap list" vars
lg_same3 "lldb: the never-written mapping" untouched
lg_same3 "lldb: a __thread variable (an error for every core)" tls

# The facts, from lgcore's core.
[ "$(grep -c 'tid = ' "$T/threads.lg")" = "$n" ] || lg_fail "lldb shows not $n threads in lgcore's core"
for i in $(seq 0 $((n - 1))); do
	grep -q "tid = $(lg_kv thread.$i.tid)," "$T/threads.lg" ||
		lg_fail "lldb shows no thread $(lg_kv thread.$i.tid) in lgcore's core"
	grep -q "\`$(lg_kv thread.$i.func)" "$T/bt.lg" ||
		lg_fail "no frame of $(lg_kv thread.$i.func) in lldb's backtraces of lgcore's core"
done
for i in $(seq 0 15); do
	want=$(lg_kv "vec.reg.[xyz]mm$i.v[248]_int64" | tr -d '{},' | awk '{ print "{" $1 " " $2 "}" }')
	grep -q "xmm$i = $want\$" "$T/vec.lg" ||
		lg_fail "lldb: xmm$i of the vector thread in lgcore's core is not $want: $(grep "xmm$i = " "$T/vec.lg")"
done
grep -q "= $(lg_kv global.value)\$" "$T/vars.lg" || lg_fail "lldb: lg_global is not $(lg_kv global.value)"
for i in 0 1 2; do
	grep -q "= \"$(lg_kv list.$i.name)\"\$" "$T/vars.lg" || lg_fail "lldb: no list node $(lg_kv list.$i.name)"
done
[ "$(grep -c ': 0x0000000000000000 0x0000000000000000$' "$T/untouched.lg")" = 2 ] ||
	lg_fail "lldb does not read zeros from the never-written mapping: $(head -c 200 "$T/untouched.lg")"
grep -q 'error' "$T/tls.gc" &&
	lg_info "lldb reads no __thread variable from gcore's core either: $(head -n 1 "$T/tls.gc")"

lg_finish_target "$TPID"
lg_done
