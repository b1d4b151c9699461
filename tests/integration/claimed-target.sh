#!/bin/bash
# One dumper at a time: while another dumper holds the claim on the
# target (an abstract Unix socket "lgcore-dump/PID/STARTTIME", which
# lgcore binds for the length of each dump), lgcore refuses with one line
# naming the holder, before stopping anything, and leaves any file at the
# output path alone (the holder may be about to name it).  Once the holder
# is gone, however it died, the claim is gone with it and lgcore dumps.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore
lg_need_python

lg_start target-threads
start=$(sed 's/.*) //' "/proc/$TPID/stat" | cut -d' ' -f20)
mkdir "$T/out"
# The holder: binds the claim, says so, and holds it until killed.
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind("\0lgcore-dump/%s/%s" % (sys.argv[1], sys.argv[2]))
s.listen(4)
print("held", flush=True)
time.sleep(600)' "$TPID" "$start" >"$T/holder.out" 2>&1 &
holder=$!
lg_track "$holder"
for _ in $(seq 100); do
	grep -q held "$T/holder.out" && break
	sleep 0.1
done
grep -q held "$T/holder.out" || lg_hard "the claim holder did not start: $(cat "$T/holder.out")"

echo "another dumper's" >"$T/out/core.$TPID"
lg_run_lgcore "$T/out" "$TPID"
lg_expect_fail "$T/out" core "$TPID" "^process $TPID is being dumped already \(by process $holder\)\$"
[ "$(wc -l <"$ERR")" = 1 ] || lg_fail "more than one line on stderr: $(head -c 300 "$ERR")"
[ "$(cat "$T/out/core.$TPID")" = "another dumper's" ] ||
	lg_fail "the refused dump touched the file at its output path"
rm -f "$T/out/core.$TPID"
lg_check_running "$TPID" "after the refused dump"
[ "$(lg_tracer "$TPID")" = 0 ] || lg_fail "target traced after the refused dump"

# The same in stop mode.
lg_run_lgcore "$T/out" --mode=stop "$TPID"
lg_expect_fail "$T/out" core "$TPID" "being dumped already"

# The holder dies by SIGKILL: its claim goes with it.
kill -KILL "$holder"
wait "$holder" 2>/dev/null
lg_untrack "$holder"
lg_control_dump "$TPID"
lg_finish_target "$TPID"
lg_done
