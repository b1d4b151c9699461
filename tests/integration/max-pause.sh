#!/bin/bash
# --max-pause bounds pre-copy's final stop: past it, the copying stops, the
# process is let go, untraced and unprotected, and the dump fails with one
# line; nothing is left at the output path.  0 means no bound.  The bound
# here (1 us) is shorter than any final stop, which always copies the
# target's shared mappings in full.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore

lg_start target-memory
mkdir "$T/out"
lg_run_lgcore "$T/out" --max-pause=0.001 "$TPID"
lg_expect_fail "$T/out" core "$TPID" \
	'^the process would have been stopped longer than 0\.001 ms \(--max-pause; --mode=stop dumps it in one stop\)$'
[ "$(wc -l <"$ERR")" = 1 ] || lg_fail "more than one line on stderr: $(head -c 300 "$ERR")"
lg_no_core "$T/out/core.$TPID"
[ -z "$(ls -A "$T/out")" ] || lg_fail "files left: $(ls -A "$T/out")"
lg_check_running "$TPID" "after the bounded dump"
uw=$(grep -c '^VmFlags:.* uw' "/proc/$TPID/smaps")
[ "$uw" = 0 ] || lg_fail "$uw mappings still uffd-wp registered after the failed dump"

lg_lgcore "$TPID" unbounded --max-pause=0
lg_finish_target "$TPID"
lg_done
