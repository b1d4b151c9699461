#!/bin/bash
# gcore-lgcore-gcore.sh and lcorecheck catch issue 9's first problem if it
# comes back: with LGCORE=lgcore-restart-fixup (the real lgcore, then the
# syscall-restart fix-up applied to every thread of the stopped target in
# a restartable call: rip 2 bytes back, rax the syscall number), the
# second gcore differs from the first in gdb's registers, and lcorecheck
# fails the pair on exactly those registers of those threads.  With the
# real lgcore (the control) the two gcores pass.  The target must still pass its own check afterwards: the
# fix-up leaves a thread that re-executes its call, which is why nothing
# but a second dump shows it.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore
lg_need_gcore
lg_need_gdb
lg_need_lcorecheck
export LG_FIXUP_LGCORE=$LGCORE GDB
fixup=$top_srcdir/tests/integration/lgcore-restart-fixup

lg_start target-readers --main-read
lg_stop "$TPID"
# Threads in a restartable call (rax -ERESTARTSYS etc.), from gdb.
lg_gcore "$TPID" gc1
lg_gdb "$TEXE" "$T/gc1.$TPID" 'thread apply all p $rax' >"$T/rax"
n=$(grep -Ec '^\$[0-9]+ = -51[234]$' "$T/rax")
[ "$n" -ge 1 ] || lg_hard "no thread of target-readers --main-read in a restartable call: $(tr '\n' ' ' <"$T/rax")"

# Control: the real lgcore, then gcore: both gcores the same.
lg_lgcore "$TPID" lg || lg_done
lg_gcore "$TPID" gc2
lg_lc 0 "$T/gc1.$TPID" "$T/gc2.$TPID" && lg_lc_expect pass diff.regs

# The bug back.
LG_RUNS=$((LG_RUNS + 1))
(cd "$T" && "$fixup" -o fx "$TPID") >"$T/fx.out" 2>"$T/fx.err" ||
	{ cat "$T/fx.err" >&2; lg_hard "lgcore-restart-fixup failed"; }
lg_check_stopped "$TPID" "after lgcore-restart-fixup"
lg_gcore "$TPID" gc3
for c in gc1 gc3; do
	lg_gdb "$TEXE" "$T/$c.$TPID" "thread apply all info registers" >"$T/regs.$c"
done
cmp -s "$T/regs.gc1" "$T/regs.gc3" &&
	lg_fail "gdb shows the same registers in both gcores: the comparison of gcore-lgcore-gcore.sh would not see the fix-up"
if lg_lc 1 "$T/gc1.$TPID" "$T/gc3.$TPID"; then
	[ "$(grep -Ec '^fail +diff.regs +thread [0-9]+: rip ' "$T/lc.out")" = "$n" ] ||
		lg_fail "lcorecheck names rip of $(grep -Ec '^fail +diff.regs +thread [0-9]+: rip ' "$T/lc.out") threads, $n were fixed up"
	[ "$(grep -Ec '^fail +diff.regs +thread [0-9]+: rax ' "$T/lc.out")" = "$n" ] ||
		lg_fail "lcorecheck names rax of $(grep -Ec '^fail +diff.regs +thread [0-9]+: rax ' "$T/lc.out") threads, $n were fixed up"
	grep -E '^fail ' "$T/lc.out" | grep -Ev '^fail +diff\.(regs|ran|backtrace|unwind)' >&2 &&
		lg_fail "lcorecheck fails on more than the registers and what follows from them"
fi
lg_info "$n threads fixed up; lcorecheck: $(head -n 1 "$T/lc.out")"
lg_finish_target "$TPID"
lg_done
