#!/bin/bash
# On a full file system (a 64 KiB tmpfs in a private mount namespace)
# lgcore fails cleanly: exit 1, "... No space left on device", no file;
# the target runs on, untraced, and is dumped where there is room.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore
command -v unshare >/dev/null || lg_skip "unshare not found"
unshare -m --propagation private true 2>/dev/null || lg_skip "cannot make a mount namespace"

lg_start target-threads
mkdir "$T/full"
LG_RUNS=$((LG_RUNS + 1))
OUT=$T/full.out ERR=$T/full.err
unshare -m --propagation private bash -c '
	mount -t tmpfs -o size=64k lgcore-test "$1" || exit 99
	cd "$1" && "$2" "$3"
	rc=$?
	ls -A "$1" >"$4"
	exit $rc' sh "$T/full" "$LGCORE" "$TPID" "$T/left" >"$OUT" 2>"$ERR"
RC=$?
[ "$RC" = 99 ] && lg_skip "cannot mount a tmpfs: $(cat "$ERR")"
lg_expect_fail "$T/full" core "$TPID" 'no space left'
[ -z "$(cat "$T/left")" ] || lg_fail "files left on the full file system: $(cat "$T/left")"
lg_check_running "$TPID" "after the failed dump"
lg_control_dump "$TPID"
lg_finish_target "$TPID"
lg_done
