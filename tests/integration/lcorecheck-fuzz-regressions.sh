#!/bin/bash
# The inputs make check-fuzz found bugs with (tests/fuzz/regressions/),
# through lcorecheck itself: the report each must give, never a crash.
# (The sanitizers and the leak checker run on them in make check-fuzz.)
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lcorecheck
R=$top_srcdir/tests/fuzz/regressions
[ -d "$R" ] || lg_hard "$R missing"
gzip -dc "$R/leak-not-an-elf-file.gz" >"$T/not-elf" || lg_hard "gzip -d"
gzip -dc "$R/leak-prstatus-tid-0.core.gz" >"$T/tid0.core" || lg_hard "gzip -d"

lg_lc 3 "$T/not-elf"
grep -q . "$T/lc.err" || lg_fail "not-elf: exit 3 but no message"

lg_lc 1 "$T/tid0.core"
grep -Eq '^fail +unwind\.libdwfl +not run: NT_PRSTATUS 0 has thread id 0$' "$T/lc.out" ||
	lg_fail "tid0.core: no 'unwind.libdwfl not run: NT_PRSTATUS 0 has thread id 0': $(grep unwind "$T/lc.out")"
grep -Eq '^fail +thread\.first ' "$T/lc.out" || lg_fail "tid0.core: thread.first not failed"
lg_done
