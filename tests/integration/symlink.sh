#!/bin/bash
# A symlink at PREFIX.PID is never followed: the symlink itself is replaced
# by the core, its target is left untouched (an existing file keeps its
# content, a dangling link's target is not created) and the core holds the
# target's memory.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore

lg_start target-threads
mkdir "$T/out"
echo precious >"$T/victim"
ln -s "$T/victim" "$T/out/a.$TPID"
ln -s "$T/nothing-here" "$T/out/b.$TPID"
for p in a b; do
	lg_run_lgcore "$T/out" -o $p "$TPID"
	[ "$RC" = 0 ] || lg_fail "lgcore -o $p exited $RC with a symlink at $p.$TPID: $(head -c 300 "$ERR")"
	if lg_is_core "$T/out/$p.$TPID"; then
		lg_check_core "$T/out/$p.$TPID" "$TPID"
	else
		lg_fail "$p.$TPID is not a regular core file afterwards ($(stat -c %F "$T/out/$p.$TPID" 2>&1))"
	fi
done
[ "$(cat "$T/victim")" = precious ] || lg_fail "the symlink's target was overwritten"
[ -e "$T/nothing-here" ] && lg_fail "the dangling symlink's target was created"
lg_check_running "$TPID" "after the dumps"
lg_finish_target "$TPID"
lg_done
