# Shared helpers for lgcore's integration tests; sourced by every *.sh here.
#
# Exit codes follow automake: 0 pass, 1 fail, 77 skip (with the reason on
# stdout), 99 framework failure.  Each script makes its own temporary
# directory and kills the targets it started, whatever happens.
#
# Environment (exported by the top Makefile.am): top_builddir, top_srcdir,
# GDB, GCORE, EU_STACK, EU_READELF.  LGCORE overrides the tool under test
# (default $top_builddir/src/lgcore), e.g. a wrapper around gcore while
# lgcore is not written yet.

set -u
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$top_builddir}"
: "${GDB:=$(command -v gdb || true)}"
: "${GCORE:=$(command -v gcore || true)}"
: "${EU_STACK:=$(command -v eu-stack || true)}"
: "${EU_READELF:=$(command -v eu-readelf || true)}"
TARGETS=$top_builddir/tests/targets
ME=$(basename "$0" .sh)
export LC_ALL=C
unset DEBUGINFOD_URLS

lg_skip() { echo "SKIP: $ME: $*"; exit 77; }
lg_hard() { echo "ERROR: $ME: $*" >&2; exit 99; }
lg_fail() { echo "FAIL: $ME: $*" >&2; FAILED=1; }
lg_info() { echo "$ME: $*"; }
FAILED=0

# Finish the script: exit 1 if any lg_fail was recorded.
lg_done() {
	if [ "$FAILED" != 0 ]; then
		echo "$ME: FAILED"
		exit 1
	fi
	echo "$ME: ok"
	exit 0
}

# ---------------------------------------------------------------- cleanup
LG_PIDS=
LG_TMP=
lg_cleanup() {
	for p in $LG_PIDS; do
		kill -KILL "$p" 2>/dev/null
	done
	for p in $LG_PIDS; do
		wait "$p" 2>/dev/null
	done
	[ -n "$LG_TMP" ] && rm -rf "$LG_TMP"
}
trap lg_cleanup EXIT
trap 'exit 99' HUP INT TERM

LG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/lgcore-$ME.XXXXXX") || lg_hard "mktemp failed"
T=$LG_TMP

# Remember a pid to kill on exit (for helpers such as strace).
lg_track() { LG_PIDS="$LG_PIDS $1"; }

# --------------------------------------------------------------- the tool
LGCORE_DEFAULT=$top_builddir/src/lgcore
# lg_need_lgcore: skip unless the tool under test is usable.
lg_need_lgcore() {
	if [ -z "${LGCORE:-}" ]; then
		LGCORE=$LGCORE_DEFAULT
		[ -x "$LGCORE" ] || lg_skip "lgcore not built ($LGCORE)"
		# The skeleton's placeholder returns 2 for everything.
		"$LGCORE" --version >/dev/null 2>&1 ||
			lg_skip "$LGCORE is not a real lgcore yet (--version fails); set LGCORE= to test another tool"
	fi
	[ -x "$LGCORE" ] || command -v "$LGCORE" >/dev/null ||
		lg_hard "LGCORE=$LGCORE is not executable"
}
lg_need_gcore() {
	[ -n "$GCORE" ] && [ -x "$GCORE" ] || lg_skip "gcore not found"
	[ -n "$GDB" ] && [ -x "$GDB" ] || lg_skip "gdb not found"
}
lg_need_gdb() { [ -n "$GDB" ] && [ -x "$GDB" ] || lg_skip "gdb not found"; }
lg_need_eu() {
	[ -n "$EU_STACK" ] && [ -x "$EU_STACK" ] || lg_skip "eu-stack not found"
	[ -n "$EU_READELF" ] && [ -x "$EU_READELF" ] || lg_skip "eu-readelf not found"
}

# lg_run_lgcore DIR ARGS...: run lgcore in DIR; sets RC, OUT (file), ERR (file).
LG_RUNS=0
lg_run_lgcore() {
	local dir=$1; shift
	LG_RUNS=$((LG_RUNS + 1))
	OUT=$T/lgcore.$LG_RUNS.out ERR=$T/lgcore.$LG_RUNS.err
	(cd "$dir" && exec "$LGCORE" "$@") >"$OUT" 2>"$ERR"
	RC=$?
}

# lg_lgcore PID PREFIX [ARGS...]: dump with lgcore, must succeed; the core
# is PREFIX.PID (PREFIX relative to $T unless absolute).
lg_lgcore() {
	local pid=$1 prefix=$2; shift 2
	lg_run_lgcore "$T" "$@" -o "$prefix" "$pid"
	if [ "$RC" != 0 ]; then
		cat "$ERR" >&2
		lg_fail "lgcore $* -o $prefix $pid exited $RC"
		return 1
	fi
	grep -qx "Saved corefile $prefix.$pid" "$OUT" ||
		lg_fail "lgcore printed no 'Saved corefile $prefix.$pid'"
	return 0
}

# lg_gcore PID PREFIX [ARGS...]: the reference dump; failure is a framework error.
lg_gcore() {
	local pid=$1 prefix=$2; shift 2
	(cd "$T" && "$GCORE" "$@" -o "$prefix" "$pid") >"$T/gcore.log" 2>&1 ||
		{ cat "$T/gcore.log" >&2; lg_hard "gcore failed on $pid"; }
	[ -s "$T/$prefix.$pid" ] || lg_hard "gcore wrote no $prefix.$pid"
}

# ----------------------------------------------------------------- targets
# lg_start NAME [ARGS...]: start a target, wait for "ready"; sets TPID, TOUT.
# A target that prints skip=REASON makes the script skip.
LG_NSTART=0
lg_start() {
	local name=$1 i; shift
	[ -x "$TARGETS/$name" ] || lg_hard "target $TARGETS/$name not built"
	LG_NSTART=$((LG_NSTART + 1))
	TOUT=$T/$name.$LG_NSTART.out
	: >"$TOUT"	# before the background job does: we grep it at once
	"$TARGETS/$name" "$@" >"$TOUT" 2>"$TOUT.err" &
	TPID=$!
	lg_track "$TPID"
	TEXE=$TARGETS/$name
	for i in $(seq 600); do
		grep -q '^ready=' "$TOUT" && return 0
		if grep -q '^skip=' "$TOUT"; then
			lg_skip "$name: $(sed -n 's/^skip=//p' "$TOUT")"
		fi
		kill -0 "$TPID" 2>/dev/null || { cat "$TOUT.err" >&2; lg_hard "$name died before ready"; }
		sleep 0.1
	done
	lg_hard "$name not ready after 60 s"
}

# lg_kv KEY [OUTFILE]: a key=value fact printed by the target.
lg_kv() {
	sed -n "s/^$1=//p" "${2:-$TOUT}" | head -n 1
}

# lg_state PID: the one-letter state from /proc/PID/stat.
lg_state() { sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null; }
lg_tracer() { sed -n 's/^TracerPid:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null; }

# lg_stop PID: SIGSTOP and wait until every thread is stopped.
lg_stop() {
	local pid=$1 i t all
	kill -STOP "$pid" || lg_hard "cannot stop $pid"
	for i in $(seq 200); do
		all=1
		for t in /proc/"$pid"/task/*; do
			[ "$(sed 's/.*) \(.\).*/\1/' "$t/stat" 2>/dev/null)" = T ] || all=0
		done
		[ $all = 1 ] && return 0
		sleep 0.05
	done
	lg_hard "$pid did not stop"
}

# lg_finish_target PID: resume it, ask it to check itself, require exit 0.
lg_finish_target() {
	local pid=$1 rc
	kill -CONT "$pid" 2>/dev/null
	kill -USR1 "$pid" 2>/dev/null || { lg_fail "target $pid is gone"; return; }
	wait "$pid"
	rc=$?
	LG_PIDS=$(echo " $LG_PIDS " | sed "s/ $pid / /")
	if [ "$rc" != 0 ]; then
		cat "$TOUT.err" >&2
		lg_fail "target $pid failed its self-check after the dump (exit $rc)"
	fi
}

# ----------------------------------------------------------------- readers
# lg_gdb EXE CORE CMD...: run gdb in batch mode on a core; prints only what
# the commands print (the core-loading banner is cut off: it legitimately
# differs, e.g. "Program terminated with signal SIGSTOP").
lg_gdb() {
	local exe=$1 core=$2 c
	local -a args=()
	shift 2
	# -ex rather than a script file: gdb stops a script at the first
	# error, and "Cannot access memory" is an answer we want to see.
	for c in "$@"; do
		args+=(-ex "$c")
	done
	"$GDB" -nx -batch -iex 'set debuginfod enabled off' \
		-ex 'set pagination off' -ex 'set width 0' -ex 'set confirm off' \
		-ex "file $exe" -ex "core-file $core" -ex 'echo @@CUT@@\n' \
		"${args[@]}" 2>&1 </dev/null |
		sed -e '1,/^@@CUT@@$/d' |
		grep -v 'Unexpected size of section .reg-xstate'
}

# lg_raise_map_count N: let the target have N mappings (vm.max_map_count is
# 65530 by default) for this script's duration, restoring the old value on
# exit; skip where we may not.  Scripts that do this hold one lock, so that
# one cannot restore the limit while another's target still needs it.
lg_raise_map_count() {
	local want=$1 old
	exec 9>"${TMPDIR:-/tmp}/lgcore-max_map_count.lock"
	flock 9 || lg_hard "cannot lock ${TMPDIR:-/tmp}/lgcore-max_map_count.lock"
	old=$(cat /proc/sys/vm/max_map_count)
	[ "$old" -ge "$want" ] && return 0
	{ echo "$want" >/proc/sys/vm/max_map_count; } 2>/dev/null ||
		lg_skip "vm.max_map_count is $old and this user cannot raise it to $want"
	LG_OLD_MAP_COUNT=$old
	trap 'echo "$LG_OLD_MAP_COUNT" >/proc/sys/vm/max_map_count; lg_cleanup' EXIT
}

# lg_same WHAT FILE_LGCORE FILE_GCORE: record a failure with a diff.
lg_same() {
	if ! cmp -s "$2" "$3"; then
		lg_fail "$1 differs (- lgcore's core, + reference):"
		diff -u "$2" "$3" | head -n 60 >&2
		return 1
	fi
	return 0
}

# lg_notes CORE: "TYPE count" for every note type in the core.
lg_notes() {
	"$EU_READELF" -n "$1" 2>/dev/null |
		awk '$1 ~ /^(CORE|LINUX|GDB)$/ && $2 ~ /^[0-9]+$/ { n[$3]++ }
		     END { for (t in n) print t, n[t] }' | sort
}

# lg_dump_both TARGET [ARGS...]: start TARGET, stop it with SIGSTOP, dump it
# with lgcore then gcore (same LGCORE_ARGS / GCORE_ARGS options if set);
# sets TPID, LGC (lgcore's core) and GCC (gcore's). The target must still be
# stopped and untraced after each dump.
lg_dump_both() {
	lg_need_lgcore
	lg_need_gcore
	lg_start "$@"
	lg_stop "$TPID"
	lg_lgcore "$TPID" lg ${LGCORE_ARGS:-} || lg_done
	lg_check_stopped "$TPID" "after lgcore"
	lg_gcore "$TPID" gc ${GCORE_ARGS:-}
	LGC=$T/lg.$TPID GCC=$T/gc.$TPID
}

# lg_check_stopped PID WHEN: a stopped target stays stopped, untraced.
lg_check_stopped() {
	local s tr
	s=$(lg_state "$1") tr=$(lg_tracer "$1")
	[ "$s" = T ] || lg_fail "target $2 is in state '$s', not T (stopped)"
	[ "$tr" = 0 ] || lg_fail "target $2 is traced by $tr"
}

# lg_check_running PID WHEN: a running target is neither stopped nor traced.
lg_check_running() {
	local s tr t ts
	s=$(lg_state "$1") tr=$(lg_tracer "$1")
	case $s in R|S|D) ;; *) lg_fail "target $2 is in state '$s', not running";; esac
	for t in /proc/"$1"/task/*; do
		ts=$(sed 's/.*) \(.\).*/\1/' "$t/stat" 2>/dev/null)
		case $ts in T|t) lg_fail "thread ${t##*/} $2 is in state $ts";; esac
	done
	[ "$tr" = 0 ] || lg_fail "target $2 is traced by $tr"
}

# lg_loads CORE OUT: the core's PT_LOADs as "vaddr filesz" lines in decimal
# (eu-readelf -l; handles the PN_XNUM extension for many segments).
lg_loads() {
	"$EU_READELF" -l "$1" 2>/dev/null | awk '$1 == "LOAD" { print $3, $5 }' |
		while read -r va fs; do
			echo $((va)) $((fs))
		done >"$2"
}

# lg_in_core LOADS ADDR LEN: is [ADDR, ADDR+LEN) inside the file data of
# one PT_LOAD?  0 yes, 1 nothing of it, 2 only part of it.
lg_in_core() {
	local a=$(($2)) e=$(($2 + $3))
	awk -v a=$a -v e=$e '
		$1 <= a && a < $1 + $2 { r = (e <= $1 + $2) ? 0 : 2; found = 1; exit }
		$1 < e && $1 + $2 > a { part = 1 }
		END { exit found ? r : (part ? 2 : 1) }' "$1"
}

# lg_expect_fail DIR PREFIX PID REASON_ERE: the last lg_run_lgcore must have
# failed cleanly for PREFIX.PID: exit 1, "lgcore: failed to create
# PREFIX.PID: <reason>" on stderr (reason matching REASON_ERE, any case), no
# "Saved corefile" for it, and no file PREFIX.PID in DIR afterwards unless
# one was there before (lg_expect_fail checks it is absent; callers that
# planted a stale file check its content themselves).
lg_expect_fail() {
	local dir=$1 prefix=$2 pid=$3 re=$4 line
	[ "$RC" = 1 ] || lg_fail "lgcore on $pid exited $RC, expected 1 (stderr: $(head -c 300 "$ERR"))"
	line=$(grep -m1 "^lgcore: failed to create $prefix\.$pid: " "$ERR")
	if [ -z "$line" ]; then
		lg_fail "no 'lgcore: failed to create $prefix.$pid: <reason>' on stderr; got: $(head -c 300 "$ERR")"
	elif ! echo "${line#*: failed to create $prefix.$pid: }" | grep -Eiq "$re"; then
		lg_fail "reason for $prefix.$pid does not match /$re/: $line"
	fi
	grep -q "^Saved corefile $prefix\.$pid\$" "$OUT" &&
		lg_fail "lgcore printed 'Saved corefile $prefix.$pid' although it failed"
	return 0
}

# lg_no_core PATH: nothing (not even a dangling symlink) at PATH.
lg_no_core() {
	if [ -e "$1" ] || [ -L "$1" ]; then
		lg_fail "$1 exists after a failed dump ($(stat -c '%s bytes, %F' "$1"))"
	fi
}

# lg_is_core FILE: an ELF core file (e_type ET_CORE), regular, not a symlink.
lg_is_core() {
	[ -f "$1" ] && [ ! -L "$1" ] &&
		[ "$(od -An -c -N4 "$1" | tr -d ' ')" = '177ELF' ] &&
		[ "$(od -An -tu2 -j16 -N2 "$1" | tr -d ' ')" = 4 ]
}

# lg_dead_pid: a pid that no process has right now.
lg_dead_pid() {
	local p
	true & p=$!
	wait $p
	while kill -0 $p 2>/dev/null; do p=$((p + 7919)); done
	echo $p
}
