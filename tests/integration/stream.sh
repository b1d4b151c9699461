#!/bin/bash
# lgcore -o -: the core on standard output, everything else on stderr.
#  - refused: two pids, a terminal, --mode=precopy (exit 2, one line, and
#    nothing on stdout);
#  - a stopped process (the snapshot mode falls back to stop mode, saying
#    so): after gcore's core, lgcore's streamed core through a pipe and
#    through zstd holds the target's memory, gdb, eu-stack and lcorecheck
#    read it, lcorecheck finds it equal to gcore's, and a second gcore
#    equals the first (the process was not changed);
#  - a running process, snapshot and stop mode: the same reads;
#  - the reader exits mid-stream (EPIPE): exit 1 with one line, target
#    running and unprotected;
#  - lgcore killed mid-stream with the target's writers blocked on
#    protected pages: they are released and the target runs on.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore
lg_need_lcorecheck
lg_need_gcore
lg_need_eu
command -v zstd >/dev/null || lg_skip "zstd not installed"
command -v pv >/dev/null || lg_skip "pv not installed (the slow reader)"
command -v script >/dev/null || lg_skip "script(1) not installed (a terminal on stdout)"
lg_track_probe
snap=$(lg_kv snapshot "$LG_PROBE")

# stream NAME ARGS...: lgcore ARGS -o - into $T/NAME through a pipe.
stream() {
	local name=$1; shift
	"$LGCORE" -o - "$@" 2>"$T/$name.err" | cat >"$T/$name"
	RC=${PIPESTATUS[0]}
}

# usable CORE PID WHAT: the core holds the target's declared memory, and
# gdb, eu-stack and lcorecheck read it.
usable() {
	local core=$1 pid=$2 what=$3
	lg_check_core "$core" "$pid"
	lg_lc 0 -q "$core" || lg_fail "$what: lcorecheck does not accept the streamed core"
	lg_eu_frames "$core" -e "$TEXE" >"$T/eu" || true
	grep -q '^#0 ' "$T/eu" || lg_fail "$what: eu-stack finds no frame in the streamed core"
	"$GDB" -nx -batch -ex "set debuginfod enabled off" -ex "core-file $core" -ex bt "$TEXE" \
		>"$T/gdb" 2>&1
	grep -q '^#0 ' "$T/gdb" || lg_fail "$what: gdb finds no frame in the streamed core: $(head -c 300 "$T/gdb")"
}

lg_start target-memory

# Refusals: exit 2, one line on stderr, nothing on stdout.
refused() {
	local what=$1 re=$2
	[ "$RC" = 2 ] || lg_fail "$what: exit $RC, want 2"
	[ "$(wc -l <"$ERR")" = 1 ] && grep -Eq "$re" "$ERR" ||
		lg_fail "$what: want one line matching /$re/ on stderr, got: $(head -c 300 "$ERR")"
	[ -s "$OUT" ] && lg_fail "$what: wrote $(wc -c <"$OUT") bytes to stdout"
}
lg_run_lgcore "$T" -o - "$TPID" "$TPID"
refused "two pids" "^lgcore: -o - writes one core"
lg_run_lgcore "$T" --mode=precopy -o - "$TPID"
refused "--mode=precopy" "^lgcore: --mode=precopy cannot write to -o -"
script -qec "$LGCORE -o - $TPID" "$T/tty.typescript" >"$T/tty.out" 2>&1 </dev/null
RC=$?
[ "$RC" = 2 ] || lg_fail "a terminal on stdout: exit $RC, want 2"
grep -q "not writing a core to a terminal" "$T/tty.out" ||
	lg_fail "a terminal on stdout: no one-line refusal: $(head -c 300 "$T/tty.out")"
[ "$(wc -c <"$T/tty.out")" -lt 200 ] || lg_fail "a terminal on stdout: $(wc -c <"$T/tty.out") bytes on the terminal"
lg_check_running "$TPID" "after the refusals"

# A stopped process: gcore's core first, then lgcore's, then gcore again.
lg_stop "$TPID"
lg_gcore "$TPID" g1
stream stopped "$TPID"
[ "$RC" = 0 ] || lg_fail "stopped: lgcore -o - exited $RC: $(head -c 300 "$T/stopped.err")"
grep -q "^Saved corefile of process $TPID to standard output$" "$T/stopped.err" ||
	lg_fail "stopped: no 'Saved corefile of process $TPID to standard output' on stderr"
if [ "$snap" = yes ]; then
	grep -q "^lgcore: $TPID: dumped in stop mode: the process is stopped$" "$T/stopped.err" ||
		lg_fail "stopped: no notice of the stop mode: $(cat "$T/stopped.err")"
fi
"$LGCORE" -o - "$TPID" 2>"$T/zst.err" | zstd -q >"$T/stopped.zst"
[ "${PIPESTATUS[0]}" = 0 ] || lg_fail "stopped: lgcore -o - | zstd failed: $(cat "$T/zst.err")"
zstd -qd "$T/stopped.zst" -o "$T/unzstd" || lg_fail "zstd -d of the streamed core failed"
lg_gcore "$TPID" g2
lg_check_stopped "$TPID" "after gcore, lgcore -o -, gcore"
cmp -s "$T/stopped" "$T/unzstd" || lg_fail "stopped: the core through zstd differs from the piped one"
usable "$T/stopped" "$TPID" stopped
lg_lc 0 -q "$T/g1.$TPID" "$T/stopped" ||
	lg_fail "stopped: lcorecheck finds lgcore's streamed core different from gcore's"
lg_lc 0 -q "$T/g1.$TPID" "$T/g2.$TPID" ||
	lg_fail "stopped: the second gcore differs from the first: lgcore -o - changed the process"
kill -CONT "$TPID"
rm -f "$T"/g1.* "$T"/g2.* "$T/stopped" "$T/unzstd" "$T/stopped.zst"

# A running process, both modes.
for mode in snapshot stop; do
	[ $mode = snapshot ] && [ "$snap" != yes ] && continue
	stream run.$mode --mode=$mode "$TPID"
	[ "$RC" = 0 ] || { lg_fail "$mode: lgcore -o - exited $RC: $(head -c 300 "$T/run.$mode.err")"; continue; }
	grep -q "dumped in stop mode" "$T/run.$mode.err" &&
		lg_fail "$mode: fell back on a running process: $(cat "$T/run.$mode.err")"
	usable "$T/run.$mode" "$TPID" "running, $mode"
	lg_check_running "$TPID" "after the $mode stream"
	rm -f "$T/run.$mode"
done

# The reader goes away: exit 1, one line, the target unharmed.
for mode in snapshot stop; do
	[ $mode = snapshot ] && [ "$snap" != yes ] && continue
	"$LGCORE" --mode=$mode -o - "$TPID" 2>"$T/epipe.err" | head -c 100000 >/dev/null
	RC=${PIPESTATUS[0]}
	[ "$RC" = 1 ] || lg_fail "EPIPE, $mode: exit $RC, want 1"
	[ "$(wc -l <"$T/epipe.err")" = 1 ] &&
		grep -q "^lgcore: failed to dump $TPID to standard output: the reader of the core went away" "$T/epipe.err" ||
		lg_fail "EPIPE, $mode: want one line, got: $(head -c 300 "$T/epipe.err")"
	lg_check_running "$TPID" "after EPIPE ($mode)"
	grep -q '^VmFlags:.* uw' /proc/"$TPID"/smaps &&
		lg_fail "EPIPE, $mode: the target is still registered for write-protect"
done
lg_finish_target "$TPID"

# Killed mid-stream, with the writers blocked on protected pages.
if [ "$snap" = yes ]; then
	lg_start track-targets/consistency run 0
	world=$(sed -n 's/^world //p' "$TOUT")
	g() { dd if=/proc/"$TPID"/mem bs=8 skip=$(((world + 8) / 8)) count=1 2>/dev/null | od -An -tu8; }
	"$LGCORE" -o - "$TPID" 2>"$T/kill.err" > >(pv -q -L 2m >/dev/null) &
	lpid=$!
	sleep 1.5
	kill -0 "$lpid" 2>/dev/null || lg_fail "killed mid-stream: lgcore ended before the kill: $(cat "$T/kill.err")"
	kill -KILL "$lpid"
	wait "$lpid" 2>/dev/null
	sleep 0.3
	a=$(g); sleep 0.5; b=$(g)
	[ "$b" -gt "$a" ] || lg_fail "killed mid-stream: the writer no longer runs (G $a, then $b)"
	lg_check_running "$TPID" "after lgcore was killed mid-stream"
	grep -q '^VmFlags:.* uw' /proc/"$TPID"/smaps &&
		lg_fail "killed mid-stream: write-protect registrations outlived lgcore"
	lg_info "killed mid-stream: the writer went on from $a to $b in 0.5 s"
	lg_kill "$TPID"
fi
lg_done
