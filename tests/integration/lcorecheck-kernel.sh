#!/bin/sh
# A kernel core of the test target (SIGSEGV under ulimit -c unlimited, with
# a core_pattern set for the test and restored on exit) validates, matches
# eu-stack, and differs from a gcore of the same stopped process only in
# expected ways.  core_pattern is global: the window is kept short.  The
# target runs its main thread only: other threads would run between the two
# dumps (see ct_threads.c), which made the comparison flaky.
. "${top_srcdir:-.}/tests/integration/lcorecheck-lib.sh"
[ -n "$GCORE" ] || skip "gdb's gcore not installed"
[ -n "$EU_STACK" ] || skip "eu-stack not installed"
[ -w /proc/sys/kernel/core_pattern ] || skip "cannot write /proc/sys/kernel/core_pattern (not root or read-only /proc)"
ulimit -c unlimited 2>/dev/null || skip "cannot raise the core size limit"
start_target single
kill -STOP "$TARGET_PID"
"$GCORE" -o "$TMP/g" "$TARGET_PID" > "$TMP/gcore.log" 2>&1 || skip "gcore cannot attach: $(tail -1 "$TMP/gcore.log")"
OLD_PATTERN=$(cat /proc/sys/kernel/core_pattern)
echo "$TMP/kcore.%p" > /proc/sys/kernel/core_pattern || skip "core_pattern not writable"
kill -SEGV "$TARGET_PID"
kill -CONT "$TARGET_PID"
wait "$TARGET_PID" 2>/dev/null
echo "$OLD_PATTERN" > /proc/sys/kernel/core_pattern
OLD_PATTERN=
K=$TMP/kcore.$TARGET_PID
[ -f "$K" ] || skip "the kernel wrote no core (core_pattern or limits overridden)"
pid=$TARGET_PID; TARGET_PID=

run 0 "$K"
expect_check pass unwind.agree
expect_check pass nt_file.elf-magic
dwfl_frames "$TMP/out" > "$TMP/mine"
eu_frames "$K" > "$TMP/theirs"
diff -u "$TMP/theirs" "$TMP/mine" || fail "backtraces differ from eu-stack"

run 0 "$TMP/g.$pid" "$K"
expect_check pass diff.memory
expect_check pass diff.regs
expect_check pass diff.auxv
expect_check expected diff.note.types
grep -q '^expected' "$TMP/out" || fail "no expected difference between gcore and the kernel?"
# --strict turns expected differences into failures.
run 1 --strict "$TMP/g.$pid" "$K"
exit 0
