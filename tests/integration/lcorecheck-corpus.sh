#!/bin/bash
# The validator on the external cores of ../shared/corpus/elfutils: each
# validates (testfile69 predates NT_FILE: that one rule must fail, alone)
# and libdwfl's backtraces are exactly what eu-stack prints.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lcorecheck
CORPUS=${LG_CORPUS:-$top_srcdir/../shared/corpus/elfutils}
[ -d "$CORPUS" ] || CORPUS=/work/shared/corpus/elfutils
[ -d "$CORPUS" ] || lg_skip "corpus folder absent"
[ -n "$EU_STACK" ] || lg_skip "eu-stack not installed"
cd "$T" || lg_hard "cd $T"
for f in "$CORPUS"/*.bz2; do bzip2 -dc "$f" > "$(basename "$f" .bz2)" || lg_hard "bzip2 -d $f"; done

lg_lc 0 -e backtrace.x86_64.exec backtrace.x86_64.core
lg_dwfl_frames "$T/lc.out" > mine
lg_eu_frames backtrace.x86_64.core -e backtrace.x86_64.exec > theirs
diff -u theirs mine || lg_fail "backtrace.x86_64: backtraces differ from eu-stack"
[ "$(wc -l < mine)" -ge 10 ] || lg_fail "backtrace.x86_64: too few frames"

lg_lc 0 -e test-core.exec test-core.core
lg_lc_expect pass unwind.agree
lg_dwfl_frames "$T/lc.out" > mine
lg_eu_frames test-core.core -e test-core.exec > theirs
diff -u theirs mine || lg_fail "test-core: backtraces differ from eu-stack"
grep -q libfunc mine || lg_fail "test-core: no libfunc frame"

lg_lc 1 testfile69.core
lg_lc_expect fail note.file
[ "$(grep -c '^fail' "$T/lc.out")" = 1 ] || { cat "$T/lc.out"; lg_fail "testfile69: more than the NT_FILE failure"; }
lg_dwfl_frames "$T/lc.out" > mine
lg_eu_frames testfile69.core > theirs
diff -u theirs mine || lg_fail "testfile69: backtraces differ from eu-stack"
lg_done
