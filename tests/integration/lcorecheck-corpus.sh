#!/bin/sh
# The validator on the external cores of ../shared/corpus/elfutils: each
# validates (testfile69 predates NT_FILE: that one rule must fail, alone)
# and libdwfl's backtraces are exactly what eu-stack prints.
. "${top_srcdir:-.}/tests/integration/lcorecheck-lib.sh"
CORPUS=${LG_CORPUS:-$top_srcdir/../shared/corpus/elfutils}
[ -d "$CORPUS" ] || CORPUS=/work/shared/corpus/elfutils
[ -d "$CORPUS" ] || skip "corpus folder absent"
[ -n "$EU_STACK" ] || skip "eu-stack not installed"
cd "$TMP" || exit 99
for f in "$CORPUS"/*.bz2; do bzip2 -dc "$f" > "$(basename "$f" .bz2)" || exit 99; done

run 0 -e backtrace.x86_64.exec backtrace.x86_64.core
dwfl_frames "$TMP/out" > mine
eu_frames backtrace.x86_64.core -e backtrace.x86_64.exec > theirs
diff -u theirs mine || fail "backtrace.x86_64: backtraces differ from eu-stack"
[ "$(wc -l < mine)" -ge 10 ] || fail "backtrace.x86_64: too few frames"

run 0 -e test-core.exec test-core.core
expect_check pass unwind.agree
dwfl_frames "$TMP/out" > mine
eu_frames test-core.core -e test-core.exec > theirs
diff -u theirs mine || fail "test-core: backtraces differ from eu-stack"
grep -q libfunc mine || fail "test-core: no libfunc frame"

run 1 testfile69.core
expect_check fail note.file
[ "$(grep -c '^fail' "$TMP/out")" = 1 ] || { cat "$TMP/out"; fail "testfile69: more than the NT_FILE failure"; }
dwfl_frames "$TMP/out" > mine
eu_frames testfile69.core > theirs
diff -u theirs mine || fail "testfile69: backtraces differ from eu-stack"
exit 0
