#!/bin/bash
# Every thread's registers read the same in gdb from lgcore's core as from
# gcore's: the general registers (with fs_base/gs_base), then all registers
# including the x87/SSE/AVX/AVX-512 state carried by NT_FPREGSET and
# NT_X86_XSTATE, except those that gdb 13 reads at the wrong offsets on this
# CPU, so that gcore's core holds other bytes there (lg_misread_regex;
# gdb-xstate.sh checks lgcore's against the values the target loaded).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/readerlib.sh"

lg_dump_both target-threads
cmds=("thread apply all info registers")
lg_gdb "$TEXE" "$LGC" "${cmds[@]}" >"$T/lg.regs"
lg_gdb "$TEXE" "$GCC" "${cmds[@]}" >"$T/gc.regs"
grep -q '^rip ' "$T/gc.regs" || lg_hard "gdb shows no rip in gcore's core"
grep -q '<unavailable>' "$T/lg.regs" && lg_fail "gdb shows registers <unavailable> in lgcore's core"
lg_drop_misread "$T/lg.regs" "$T/gc.regs"
lg_same "gdb: thread apply all info registers" "$T/lg.regs" "$T/gc.regs"
[ "$(grep -c '^rip ' "$T/lg.regs")" = "$(lg_kv threads)" ] ||
	lg_fail "lgcore's core: not one rip per thread"

cmds=("thread apply all info all-registers")
lg_gdb "$TEXE" "$LGC" "${cmds[@]}" >"$T/lg.allregs"
lg_gdb "$TEXE" "$GCC" "${cmds[@]}" >"$T/gc.allregs"
grep -q '<unavailable>' "$T/lg.allregs" && lg_fail "gdb shows registers <unavailable> in lgcore's core"
lg_drop_misread "$T/lg.allregs" "$T/gc.allregs"
lg_same "gdb: thread apply all info all-registers" "$T/lg.allregs" "$T/gc.allregs"

lg_check_stopped "$TPID" "after both dumps"
lg_finish_target "$TPID"
lg_done
