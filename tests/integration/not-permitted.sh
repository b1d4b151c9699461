#!/bin/bash
# lgcore run as "nobody" against a root target: exit 1, "lgcore: failed to
# create core.PID: permission denied: process PID (NAME) belongs to uid 0,
# lgcore runs as uid N (...)" (not an error reading /proc/PID/auxv), no
# file, target untouched; root's lgcore dumps it.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore
[ "$(id -u)" = 0 ] || lg_skip "needs root (to run the target as root and lgcore as nobody)"
command -v setpriv >/dev/null || lg_skip "setpriv (util-linux) not found"
id nobody >/dev/null 2>&1 || lg_skip "no user nobody"
setpriv --reuid=nobody --regid=nogroup --clear-groups test -x "$LGCORE" ||
	lg_skip "nobody cannot execute $LGCORE (a parent directory is closed)"

lg_start target-threads
chmod 755 "$T"
mkdir -m 1777 "$T/out"
LG_RUNS=$((LG_RUNS + 1))
OUT=$T/nobody.out ERR=$T/nobody.err
(cd "$T/out" && exec setpriv --reuid=nobody --regid=nogroup --clear-groups \
	"$LGCORE" "$TPID") >"$OUT" 2>"$ERR"
RC=$?
lg_expect_fail "$T/out" core "$TPID" \
	"^permission denied: process $TPID \\(target-threads\\) belongs to uid 0, lgcore runs as uid $(id -u nobody) \\(another user's process needs root or CAP_SYS_PTRACE\\)\$"
[ "$(grep -c . "$ERR")" = 1 ] || lg_fail "more than one line on stderr: $(head -c 300 "$ERR")"
lg_no_core "$T/out/core.$TPID"
[ -z "$(ls -A "$T/out")" ] || lg_fail "files left behind: $(ls -A "$T/out")"
lg_check_running "$TPID" "after the refused dump"
lg_control_dump "$TPID"
lg_finish_target "$TPID"
lg_done
