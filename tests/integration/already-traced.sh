#!/bin/bash
# A target already traced by another debugger (strace -f -p): exit 1,
# "lgcore: failed to create core.PID: ... traced ...", no file; the other
# tracer keeps its target, which runs on and passes its self-check after
# the tracer leaves, when it can be dumped.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore
command -v strace >/dev/null || lg_skip "strace not found"

lg_start target-threads
strace -f -qq -e trace=none -o /dev/null -p "$TPID" 2>"$T/strace.err" &
SPID=$!
lg_track $SPID
for i in $(seq 100); do
	[ "$(lg_tracer "$TPID")" = "$SPID" ] && break
	sleep 0.1
done
[ "$(lg_tracer "$TPID")" = "$SPID" ] || lg_skip "strace could not attach: $(head -c 200 "$T/strace.err")"
sleep 0.3	# let strace seize every thread

mkdir "$T/out"
lg_run_lgcore "$T/out" "$TPID"
lg_expect_fail "$T/out" core "$TPID" 'traced|debugger'
lg_no_core "$T/out/core.$TPID"
[ -z "$(ls -A "$T/out")" ] || lg_fail "files left behind: $(ls -A "$T/out")"
[ "$(lg_tracer "$TPID")" = "$SPID" ] || lg_fail "strace lost its target (TracerPid $(lg_tracer "$TPID"))"

kill -TERM $SPID
wait $SPID
for i in $(seq 50); do [ "$(lg_tracer "$TPID")" = 0 ] && break; sleep 0.1; done
lg_check_running "$TPID" "after strace left"
lg_control_dump "$TPID"
lg_finish_target "$TPID"
lg_done
