#!/bin/bash
# lgcore leaves a SIGSTOPped process exactly as it was: gcore, lgcore
# (default mode), lgcore --mode=snapshot, lgcore -o -, gcore again; the two
# gcores hold the same registers (gdb's "info all-registers" of every
# thread) and the same memory, lcorecheck passes the pairs, and lgcore's
# cores equal the first gcore in both (registers but those gdb 13 misreads
# on this CPU, and memory where both cores hold it).  target-readers
# --main-read has every thread in a call the kernel restarts after a stop
# (read, futex, nanosleep), the case where a syscall injected into a
# group-stopped thread and undone with the restart already applied sends
# the thread out to user mode once: it comes back stopped at the syscall
# instruction (rip 2 bytes back, rax the syscall number) and glibc's rseq
# area rewritten.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/readerlib.sh"
lg_need_lgcore
lg_need_gcore

lg_start target-readers --main-read
lg_stop "$TPID"
lg_gcore "$TPID" gc1
lg_lgcore "$TPID" lg || lg_done
lg_check_stopped "$TPID" "after lgcore"
# The snapshot mode and a stream stop and resume the threads too.
lg_lgcore "$TPID" sn --mode=snapshot || lg_done
lg_check_stopped "$TPID" "after lgcore --mode=snapshot"
lg_lgcore_stream "$TPID" st || lg_done
lg_check_stopped "$TPID" "after lgcore -o -"
lg_gcore "$TPID" gc2
lg_check_stopped "$TPID" "after the second gcore"

for c in gc1 lg sn gc2; do
	lg_gdb "$TEXE" "$T/$c.$TPID" "thread apply all info all-registers" >"$T/regs.$c"
done
grep -q '^rip ' "$T/regs.gc1" || lg_hard "gdb shows no rip in gcore's core"
lg_same "gdb: every thread's registers, second gcore vs first" "$T/regs.gc2" "$T/regs.gc1"
lg_memcmp "$T/gc1.$TPID" "$T/gc2.$TPID" >"$T/mem.gc2" ||
	lg_fail "memory: the second gcore differs from the first in pages $(head -n 20 "$T/mem.gc2" | tr '\n' ' ')"
cp "$T/regs.gc1" "$T/regs.gc1.kept"
lg_drop_misread "$T/regs.lg" "$T/regs.sn" "$T/regs.gc1.kept"
lg_same "gdb: every thread's registers, lgcore's core vs the first gcore" "$T/regs.lg" "$T/regs.gc1.kept"
lg_same "gdb: every thread's registers, lgcore --mode=snapshot's core vs the first gcore" "$T/regs.sn" "$T/regs.gc1.kept"
lg_memcmp "$T/gc1.$TPID" "$T/lg.$TPID" >"$T/mem.lg" ||
	lg_fail "memory: lgcore's core differs from the first gcore in pages $(head -n 20 "$T/mem.lg" | tr '\n' ' ')"
lg_info "memory: $(tail -n 1 "$T/mem.gc2") (gcore vs gcore), $(tail -n 1 "$T/mem.lg") (gcore vs lgcore)"
# lcorecheck sees the same: the three cores are of one state, so each pair
# passes (a restart fix-up would fail the two gcores' diff.regs).
if [ -x "$LCORECHECK" ]; then
	for p in "gc1 gc2" "gc1 lg" "lg gc2" "gc1 sn" "st gc2"; do
		set -- $p
		lg_lc 0 "$T/$1.$TPID" "$T/$2.$TPID" && lg_lc_expect pass diff.regs && lg_lc_expect pass diff.memory
	done
else
	lg_info "lcorecheck not built (no libdw/libunwind): the pairs are not diffed by it"
fi

lg_finish_target "$TPID"
lg_done
