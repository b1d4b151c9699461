#!/bin/bash
# lgcore given its own pid (a shell that execs lgcore with $$): exit 1 with
# "process PID is lgcore itself: it cannot dump itself", promptly, no file.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore
command -v timeout >/dev/null || lg_skip "timeout (coreutils) not found"

LG_RUNS=$((LG_RUNS + 1))
OUT=$T/self.out ERR=$T/self.err
(cd "$T" && exec timeout -s KILL 20 sh -c 'exec "$0" -o self $$; exit 99' "$LGCORE") >"$OUT" 2>"$ERR"
RC=$?
pid=$(sed -n 's/^lgcore: failed to create self\.\([0-9]*\): .*/\1/p' "$ERR")
[ -n "$pid" ] || pid=0
lg_expect_fail "$T" self "$pid" "^process $pid is lgcore itself: it cannot dump itself\$"
[ "$(grep -c . "$ERR")" = 1 ] || lg_fail "more than one line on stderr: $(head -c 300 "$ERR")"
ls -A "$T" | grep -q "self\.$pid" && lg_fail "files left: $(ls -A "$T")"

lg_start target-threads
lg_control_dump "$TPID"
lg_finish_target "$TPID"
lg_done
