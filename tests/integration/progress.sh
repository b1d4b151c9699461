#!/bin/bash
# The progress line on stderr.  Under script(1) (a terminal on stdin,
# stdout and stderr), in each mode (precopy, snapshot, stop) and with
# -o - (stdout a file, stderr the terminal):
#  - the phases the mode goes through are named, each line has the
#    process id, the bytes done of the phase's total, a rate and the
#    pause so far; within a phase done never decreases nor exceeds the
#    total;
#  - the phase that copies the memory ends with done equal to its total,
#    and in stop and snapshot mode that total is the memory the core
#    holds (its PT_LOADs' p_filesz, printed the same way);
#  - the line is erased before "Saved corefile", which is unchanged;
#  - the core holds the target's memory.
# Without a terminal nothing is printed; --progress prints it anyway,
# --quiet not even on a terminal.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore
lg_need_eu
command -v script >/dev/null || lg_skip "script(1) (util-linux) not installed: no terminal to run lgcore on"

# human BYTES: as lgcore prints them (one decimal, binary units).
human() {
	awk -v v="$1" 'BEGIN { split("B KiB MiB GiB TiB", u, " "); i = 1
		while (v >= 1024 && i < 5) { v /= 1024; i++ }
		if (i == 1) printf "%.0f B\n", v; else printf "%.1f %s\n", v, u[i] }'
}

# on_tty NAME CMD: CMD (a shell command line) under script(1); its
# terminal output, one line per redraw, into $T/NAME.lines.
on_tty() {
	local name=$1 cmd=$2
	script -qefc "$cmd" "$T/$name.ts" </dev/null >/dev/null 2>&1
	RC=$?
	tr '\r' '\n' <"$T/$name.ts" | sed '1d; /^Script done/d' >"$T/$name.lines"
}

# check_lines NAME PID PHASE...: the progress lines of NAME are well
# formed, every PHASE is among them, and the last of each phase that has
# a total ends with done == total.  Sets LAST_TOTAL: that of the last
# such phase.
check_lines() {
	local name=$1 pid=$2 ph; shift 2
	grep "^lgcore: $pid: " "$T/$name.lines" >"$T/$name.prog"
	[ -s "$T/$name.prog" ] || { lg_fail "$name: no progress line on the terminal"; return 1; }
	for ph in "$@"; do
		grep -q "^lgcore: $pid: $ph[:,]" "$T/$name.prog" ||
			lg_fail "$name: no progress line of phase '$ph' ($(cut -d: -f3 "$T/$name.prog" | sort -u | tr '\n' ';'))"
	done
	awk -v n="$name" '
		function bytes(s,  a) { split(s, a, " "); return a[1] * m[a[2]] }
		BEGIN { m["B"] = 1; m["KiB"] = 1024; m["MiB"] = 1048576; m["GiB"] = 1073741824 }
		{
			if (!match($0, /^lgcore: [0-9]+: [a-z -]+( pass [0-9]+)?(: [0-9.]+ [KMGT]?i?B of [0-9.]+ [KMGT]?i?B, [0-9.]+ [KMGT]?i?B\/s)?, paused [0-9]+\.[0-9] ms *$/)) {
				print n ": malformed progress line: " $0; bad = 1; next
			}
			line = $0; sub(/ *$/, "", line)
			split(line, f, ": "); phase = f[3]
			if (phase != prev) { last_done = 0; prev = phase }
			if (split(f[4], q, / of |, /) >= 3) {
				d = bytes(q[1]); t = bytes(q[2])
				if (d > t * 1.001) { print n ": done exceeds the total: " line; bad = 1 }
				if (d < last_done) { print n ": done went back: " line; bad = 1 }
				last_done = d; final[phase] = q[1] "|" q[2]
			}
		}
		END {
			for (p in final) { split(final[p], x, "|")
				if (x[1] != x[2]) { print n ": phase " p " ended at " x[1] " of " x[2]; bad = 1 } }
			exit bad
		}' "$T/$name.prog" >"$T/$name.bad" || lg_fail "$(cat "$T/$name.bad")"
	LAST_TOTAL=$(sed -n 's/.*: [0-9.]* [KMGT]*i*B of \([0-9.]* [KMGT]*i*B\),.*/\1/p' "$T/$name.prog" | tail -n 1)
}

# core_total CORE: the memory the core holds, as lgcore prints it.
core_total() {
	lg_loads "$1" "$T/loads"
	human "$(awk '{ s += $2 } END { printf "%.0f", s }' "$T/loads")"
}

# erased NAME WHAT: the last thing before WHAT on the terminal is the
# progress line overwritten with spaces.
erased() {
	local before
	before=$(grep -v '^$' "$T/$1.lines" | grep -B1 -x "$2" | head -n 1)
	case $before in
	"") lg_fail "$1: '$2' not on the terminal";;
	*[!\ ]*) lg_fail "$1: the progress line was not erased before '$2' (before it: '$before')";;
	esac
}

lg_start target-memory --dir "$T"
pid=$TPID
lg_track_probe
for mode in precopy snapshot stop; do
	on_tty "$mode" "exec '$LGCORE' --mode=$mode -o '$T/$mode' $pid"
	[ "$RC" = 0 ] || { cat "$T/$mode.lines" >&2; lg_fail "lgcore --mode=$mode on a terminal exited $RC"; continue; }
	lg_check_core "$T/$mode.$pid" "$pid"
	erased "$mode" "Saved corefile $T/$mode.$pid"
	case $mode in
	precopy)
		# With no tracker here pre-copy is a stop-mode dump.
		if grep -q "^lgcore: $pid: copying stopped:" "$T/$mode.lines"; then
			check_lines "$mode" "$pid" "copying stopped"
		else
			check_lines "$mode" "$pid" "set-up stop" "pre-copy pass 0" "writing the final copy"
		fi;;
	snapshot)
		if grep -q "^lgcore: $pid: copying stopped:" "$T/$mode.lines"; then
			check_lines "$mode" "$pid" "copying stopped"
		else
			check_lines "$mode" "$pid" "set-up stop" protecting writing
			want=$(core_total "$T/$mode.$pid")
			[ "$LAST_TOTAL" = "$want" ] ||
				lg_fail "snapshot: the writing phase's total is $LAST_TOTAL, the core holds $want"
		fi;;
	stop)
		check_lines "$mode" "$pid" "copying stopped"
		want=$(core_total "$T/$mode.$pid")
		[ "$LAST_TOTAL" = "$want" ] ||
			lg_fail "stop: the copy's total is $LAST_TOTAL, the core holds $want"
		# Stopped throughout: its last line has a pause.
		grep "^lgcore: $pid: copying stopped:" "$T/$mode.prog" | tail -n 1 |
			grep -Eq 'paused ([1-9][0-9]*\.[0-9]|0\.[1-9]) ms' ||
			lg_fail "stop: no pause in the last line of the copy: $(grep 'copying stopped' "$T/$mode.prog" | tail -n 1)"
		;;
	esac
	rm -f "$T/$mode.$pid"
done

# -o -: the core to a file, the line on the terminal, the saved line there.
on_tty stream "exec '$LGCORE' -o - $pid >'$T/stream.$pid'"
if [ "$RC" = 0 ]; then
	lg_check_core "$T/stream.$pid" "$pid"
	erased stream "Saved corefile of process $pid to standard output"
	if grep -q "^lgcore: $pid: copying stopped:" "$T/stream.lines"; then
		check_lines stream "$pid" "copying stopped"
	else
		check_lines stream "$pid" "set-up stop" protecting writing
	fi
	want=$(core_total "$T/stream.$pid")
	[ "$LAST_TOTAL" = "$want" ] || lg_fail "-o -: the total is $LAST_TOTAL, the core holds $want"
	rm -f "$T/stream.$pid"
else
	cat "$T/stream.lines" >&2
	lg_fail "lgcore -o - on a terminal exited $RC"
fi

# --quiet on a terminal: no progress line.
on_tty quiet "exec '$LGCORE' --quiet -o '$T/quiet' $pid"
[ "$RC" = 0 ] || lg_fail "lgcore --quiet on a terminal exited $RC"
grep -q "^lgcore: $pid: " "$T/quiet.lines" && lg_fail "--quiet: a progress line on the terminal"
grep -qx "Saved corefile $T/quiet.$pid" "$T/quiet.lines" || lg_fail "--quiet: no 'Saved corefile' line"
lg_check_core "$T/quiet.$pid" "$pid"
rm -f "$T/quiet.$pid"

# No terminal: nothing on stderr, in every mode and to a pipe.
for mode in precopy snapshot stop; do
	lg_lgcore "$pid" "plain-$mode" --mode=$mode && [ -s "$ERR" ] &&
		lg_fail "--mode=$mode without a terminal printed on stderr: $(head -c 300 "$ERR" | tr '\r' '\n')"
	rm -f "$T/plain-$mode.$pid"
done
command -v zstd >/dev/null || lg_hard "zstd not installed (tools/install-deps.sh installs it)"
lg_lgcore_stream "$pid" plain-stream &&
	grep -v -x "Saved corefile of process $pid to standard output" "$ERR" | grep -q . &&
	lg_fail "-o - without a terminal printed more on stderr: $(head -c 300 "$ERR" | tr '\r' '\n')"
rm -f "$T/plain-stream.$pid"

# --progress without a terminal: the line anyway.
if lg_lgcore "$pid" forced --progress --mode=stop; then
	tr '\r' '\n' <"$ERR" >"$T/forced.lines"
	check_lines forced "$pid" "copying stopped"
fi
rm -f "$T/forced.$pid"

lg_check_running "$pid" "after the dumps"
lg_finish_target "$pid"
lg_done
