#!/bin/bash
# A kernel core of the test target (SIGSEGV under ulimit -c unlimited, with
# a core_pattern set for the test and restored on exit) validates, matches
# eu-stack, and differs from a gcore of the same stopped process only in
# expected ways.  core_pattern is global: the window is kept short.  The
# target runs its main thread only: other threads would run between the two
# dumps (see ct_threads.c), which made the comparison flaky.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lcorecheck
lg_need_gcore
[ -n "$EU_STACK" ] || lg_skip "eu-stack not installed"
[ -w /proc/sys/kernel/core_pattern ] || lg_skip "cannot write /proc/sys/kernel/core_pattern (not root or read-only /proc)"
ulimit -c unlimited 2>/dev/null || lg_skip "cannot raise the core size limit"
lg_start check-targets/ct_threads single
pid=$TPID
lg_stop "$pid"
"$GCORE" -o "$T/g" "$pid" > "$T/gcore.log" 2>&1 || lg_skip "gcore cannot attach: $(tail -1 "$T/gcore.log")"
old_pattern=$(cat /proc/sys/kernel/core_pattern)
lg_at_exit 'echo "$old_pattern" > /proc/sys/kernel/core_pattern'
echo "$T/kcore.%p" > /proc/sys/kernel/core_pattern || lg_skip "core_pattern not writable"
kill -SEGV "$pid"
kill -CONT "$pid"
wait "$pid" 2>/dev/null
lg_untrack "$pid"
echo "$old_pattern" > /proc/sys/kernel/core_pattern
K=$T/kcore.$pid
[ -f "$K" ] || lg_skip "the kernel wrote no core (core_pattern or limits overridden)"

lg_lc 0 "$K"
lg_lc_expect pass unwind.agree
lg_lc_expect pass nt_file.elf-magic
lg_dwfl_frames "$T/lc.out" > "$T/mine"
lg_eu_frames "$K" > "$T/theirs"
diff -u "$T/theirs" "$T/mine" || lg_fail "backtraces differ from eu-stack"

# The kernel writes XSTATE in the CPU's size (2432 bytes on an AMD CPU with
# AVX-512, 2440 with AVX2 and PKU); gdb 13 wants its own for the XCR0
# (2688, 2696) and drops a smaller section, so lcorecheck fails that
# reader difference, and nothing else.
"$LCORECHECK" "$T/g.$pid" "$K" >"$T/lc.out" 2>"$T/lc.err"
st=$?
if [ "$st" = 1 ] && grep -Eq '^fail +diff.xstate.gdb13-size ' "$T/lc.out"; then
	lg_info "the kernel's XSTATE is smaller than gdb 13's: $(grep -m1 -E '^fail +diff.xstate.gdb13-size ' "$T/lc.out" | cut -c1-140)"
	grep -E '^fail ' "$T/lc.out" | grep -Ev '^fail +diff.xstate.gdb13-size ' >&2 &&
		lg_fail "gcore vs the kernel's core fails on more than gdb 13's XSTATE size"
else
	lg_lc 0 "$T/g.$pid" "$K"
fi
lg_lc_expect pass diff.memory
lg_lc_expect pass diff.regs
lg_lc_expect pass diff.auxv
lg_lc_expect expected diff.note.types
grep -q '^expected' "$T/lc.out" || lg_fail "no expected difference between gcore and the kernel?"
# --strict turns expected differences into failures.
lg_lc 1 --strict "$T/g.$pid" "$K"
lg_done
