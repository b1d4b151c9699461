# The one library of the test scripts under tests/; every *.sh sources it:
#   . "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
#
# Exit codes follow automake: 0 pass, 1 fail, 77 skip (with the reason on
# stdout), 99 framework failure.  A tool under test that does not work at
# all (lgcore --version fails) is a framework failure, never a skip: skips
# are for what the machine cannot do (no gdb, no root, a kernel feature),
# and say so.  Each script makes its own temporary directory $T and kills
# the targets it started, whatever happens.
#
# Environment (exported by the top Makefile.am): top_builddir, top_srcdir,
# GDB, GCORE, EU_STACK, EU_READELF.  LGCORE overrides the lgcore under test
# (default $top_builddir/src/lgcore): tests/mutants/check-mutants.sh points
# it at broken lgcores, and every test that runs lgcore must then fail.
#
# Targets (tests/targets, tests/track-targets, tests/check-targets) print
# key=value facts; lg_start keeps them in $LG_FACTS/PID, where
# lg_check_core finds the memory regions a target declared (NAME.addr,
# NAME.len, NAME.crc) to compare with every core written of it.

set -u
: "${top_builddir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_srcdir:=$top_builddir}"
: "${GDB:=$(command -v gdb || true)}"
: "${GCORE:=$(command -v gcore || true)}"
: "${EU_STACK:=$(command -v eu-stack || true)}"
: "${EU_READELF:=$(command -v eu-readelf || true)}"
TARGETS=$top_builddir/tests/targets
LCORECHECK=$top_builddir/src/lcorecheck
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
LG_AT_EXIT=
lg_cleanup() {
	local p
	for p in $LG_PIDS; do
		kill -KILL "$p" 2>/dev/null
	done
	for p in $LG_PIDS; do
		wait "$p" 2>/dev/null
	done
	eval "$LG_AT_EXIT"
	[ -n "$LG_TMP" ] && rm -rf "$LG_TMP"
}
trap lg_cleanup EXIT
trap 'exit 99' HUP INT TERM

# lg_at_exit CMD: run CMD (eval'd) on exit, before the temporary directory
# goes; the last one added runs first.
lg_at_exit() { LG_AT_EXIT="$1; $LG_AT_EXIT"; }

LG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/lgcore-$ME.XXXXXX") || lg_hard "mktemp failed"
T=$LG_TMP
# Scratch files of the helpers below, out of the directories tests list.
LG_SCRATCH=$T/.lg
LG_FACTS=$T/.facts
mkdir "$LG_SCRATCH" "$LG_FACTS" || lg_hard "mkdir in $T failed"
export LG_FACTS

# Remember a pid to kill on exit (for helpers such as strace), or forget it.
lg_track() { LG_PIDS="$LG_PIDS $1"; }
lg_untrack() { LG_PIDS=$(echo " $LG_PIDS " | sed "s/ $1 / /"); }

# lg_kill PID: kill a process started here and reap it.
lg_kill() {
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	lg_untrack "$1"
}

# -------------------------------------------------------------- the tools
# lg_need_lgcore: the lgcore under test must exist and answer --version
# with "lgcore VERSION"; anything else is a broken tool (exit 99).
LG_LGCORE_OK=
lg_need_lgcore() {
	local v rc
	[ -n "$LG_LGCORE_OK" ] && return 0
	: "${LGCORE:=$top_builddir/src/lgcore}"
	case $LGCORE in
	*/*) [ -x "$LGCORE" ] || lg_hard "$LGCORE is not built (run make) or not executable";;
	*) command -v "$LGCORE" >/dev/null || lg_hard "LGCORE=$LGCORE is not in PATH";;
	esac
	v=$("$LGCORE" --version 2>&1)
	rc=$?
	[ "$rc" = 0 ] || lg_hard "$LGCORE --version exited $rc: the lgcore under test is broken ($(echo "$v" | head -c 200))"
	case $(echo "$v" | head -n 1) in
	"lgcore "[0-9]*) ;;
	*) lg_hard "$LGCORE --version printed '$(echo "$v" | head -c 200)', not 'lgcore VERSION'";;
	esac
	export LGCORE
	LG_LGCORE_OK=1
}

# lg_need_lcorecheck: the same for lcorecheck (--version, "lcorecheck VERSION").
lg_need_lcorecheck() {
	local v rc
	[ -x "$LCORECHECK" ] || lg_hard "$LCORECHECK is not built (run make)"
	v=$("$LCORECHECK" --version 2>&1)
	rc=$?
	[ "$rc" = 0 ] || lg_hard "$LCORECHECK --version exited $rc: lcorecheck is broken ($(echo "$v" | head -c 200))"
	case $(echo "$v" | head -n 1) in
	"lcorecheck "*[0-9]*) ;;
	*) lg_hard "$LCORECHECK --version printed '$(echo "$v" | head -n 1)', not 'lcorecheck VERSION'";;
	esac
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
lg_need_python() { command -v python3 >/dev/null || lg_skip "python3 not found"; }

# --------------------------------------------------------- running lgcore
# lg_run_lgcore DIR ARGS...: run lgcore in DIR; sets RC, OUT (file), ERR (file).
LG_RUNS=0
lg_run_lgcore() {
	local dir=$1; shift
	lg_need_lgcore
	LG_RUNS=$((LG_RUNS + 1))
	OUT=$T/lgcore.$LG_RUNS.out ERR=$T/lgcore.$LG_RUNS.err
	(cd "$dir" && exec "$LGCORE" "$@") >"$OUT" 2>"$ERR"
	RC=$?
}

# lg_lgcore PID PREFIX [ARGS...]: dump with lgcore, must succeed, print
# "Saved corefile PREFIX.PID" and write a core holding the target's declared
# memory (lg_check_core).  The core is PREFIX.PID, PREFIX relative to $T
# unless absolute.
lg_lgcore() {
	local pid=$1 prefix=$2 core; shift 2
	lg_run_lgcore "$T" "$@" -o "$prefix" "$pid"
	if [ "$RC" != 0 ]; then
		cat "$ERR" >&2
		lg_fail "lgcore${*:+ $*} -o $prefix $pid exited $RC"
		return 1
	fi
	grep -qx "Saved corefile $prefix.$pid" "$OUT" ||
		lg_fail "lgcore printed no 'Saved corefile $prefix.$pid'"
	case $prefix in /*) core=$prefix.$pid;; *) core=$T/$prefix.$pid;; esac
	lg_check_core "$core" "$pid"
	return 0
}

# lg_lgcore_stream PID NAME [ARGS...]: lgcore ARGS -o - PID through zstd
# and back into $T/NAME.PID; must succeed, say "Saved corefile of process
# PID to standard output" on stderr, and hold the declared memory.
lg_lgcore_stream() {
	local pid=$1 name=$2; shift 2
	lg_need_lgcore
	command -v zstd >/dev/null || lg_hard "zstd not installed (tools/install-deps.sh installs it)"
	LG_RUNS=$((LG_RUNS + 1))
	ERR=$T/lgcore.$LG_RUNS.err
	"$LGCORE" -o - "$@" "$pid" 2>"$ERR" | zstd -q | zstd -qd >"$T/$name.$pid"
	RC=${PIPESTATUS[0]}
	if [ "$RC" != 0 ]; then
		cat "$ERR" >&2
		lg_fail "lgcore -o -${*:+ $*} $pid | zstd exited $RC"
		return 1
	fi
	grep -qx "Saved corefile of process $pid to standard output" "$ERR" ||
		lg_fail "lgcore -o - printed no 'Saved corefile of process $pid to standard output'"
	lg_check_core "$T/$name.$pid" "$pid"
	return 0
}

# lg_control_dump PID: an error-path test's proof that the lgcore under
# test works at all: a dump of the live target PID succeeds and holds its
# memory; the core is removed afterwards.
lg_control_dump() {
	lg_lgcore "$1" control || lg_fail "the control dump of target $1 failed: an lgcore that fails for every input would pass this test"
	rm -f "$T/control.$1"
}

# lg_gcore PID PREFIX [ARGS...]: the reference dump; failure is a framework error.
lg_gcore() {
	local pid=$1 prefix=$2; shift 2
	(cd "$T" && "$GCORE" "$@" -o "$prefix" "$pid") >"$T/gcore.log" 2>&1 ||
		{ cat "$T/gcore.log" >&2; lg_hard "gcore failed on $pid"; }
	[ -s "$T/$prefix.$pid" ] || lg_hard "gcore wrote no $prefix.$pid"
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

# ----------------------------------------------------------------- targets
# lg_start NAME [ARGS...]: start a target (NAME in tests/targets, or a path
# under tests/ such as track-targets/consistency), wait for its "ready"
# line; sets TPID, TOUT (its stdout: the facts, also $LG_FACTS/TPID), TEXE.
# A target that prints skip=REASON makes the script skip.
LG_NSTART=0
lg_start() {
	local name=$1 i; shift
	TEXE=$TARGETS/$name
	[ -x "$TEXE" ] || TEXE=$top_builddir/tests/$name
	[ -x "$TEXE" ] || lg_hard "target $name not built (in $TARGETS or $top_builddir/tests)"
	LG_NSTART=$((LG_NSTART + 1))
	TOUT=$T/${name##*/}.$LG_NSTART.out
	: >"$TOUT"	# before the background job does: we grep it at once
	"$TEXE" "$@" >"$TOUT" 2>"$TOUT.err" &
	TPID=$!
	lg_track "$TPID"
	ln -sf "$TOUT" "$LG_FACTS/$TPID" || lg_hard "cannot record the facts of $TPID"
	for i in $(seq 600); do
		grep -Eq '^ready([= ]|$)' "$TOUT" && return 0
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
	lg_untrack "$pid"
	if [ "$rc" != 0 ]; then
		cat "$TOUT.err" >&2
		lg_fail "target $pid failed its self-check after the dump (exit $rc)"
	fi
}

# lg_check_stopped PID WHEN: a stopped target stays stopped, untraced.
# A thread a tracer detaches from while the group stop is in effect is
# woken to stop again for it (__ptrace_unlink sets JOBCTL_STOP_PENDING and
# wakes it, Linux 3.1+): /proc shows it 'R' for that moment, seen once
# under load right after gcore's detach.  So wait up to a second for 'T';
# a process that was resumed runs (or sleeps) on and never gets there.
lg_check_stopped() {
	local s tr i
	for i in $(seq 20); do
		s=$(lg_state "$1")
		[ "$s" = T ] && break
		sleep 0.05
	done
	tr=$(lg_tracer "$1")
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

# lg_dead_pid: a pid that no process has right now.
lg_dead_pid() {
	local p
	true & p=$!
	wait $p
	while kill -0 $p 2>/dev/null; do p=$((p + 7919)); done
	echo $p
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
	lg_at_exit "echo $old >/proc/sys/vm/max_map_count"
}

# lg_track_probe: what this kernel offers for dirty-page tracking, as
# lg_track_probe() in lib/track finds it, cross-checked by track-probe
# against the kernel by other means; sets LG_PROBE (a key=value file:
# uffd=yes|no, uffd.why=..., soft-dirty=yes|no, soft-dirty.why=...).
lg_track_probe() {
	local probe=$top_builddir/tests/integration/track-probe
	[ -x "$probe" ] || lg_hard "$probe not built"
	LG_PROBE=$T/track-probe.out
	"$probe" >"$LG_PROBE" 2>"$LG_PROBE.err" ||
		lg_hard "track-probe failed: $(cat "$LG_PROBE.err")"
}

# ------------------------------------------------------- the core's memory
# lg_loads CORE OUT: the core's PT_LOADs as "vaddr filesz offset" lines in
# decimal (eu-readelf -l; handles the PN_XNUM extension for many segments).
lg_loads() {
	[ -n "$EU_READELF" ] || lg_hard "eu-readelf is needed to read a core's program headers"
	"$EU_READELF" -l "$1" 2>/dev/null | awk '$1 == "LOAD" { print $3, $5, $2 }' |
		while read -r va fs off; do
			echo $((va)) $((fs)) $((off))
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

# lg_core_bytes CORE LOADS ADDR LEN OUT: the bytes of [ADDR, ADDR+LEN) as
# CORE's file data holds them (one PT_LOAD or adjacent ones), into OUT.
# 0: all of them; 1: none is in the file; 2: only part of them.
lg_core_bytes() {
	local core=$1 loads=$2 a=$(($3)) e=$(($3 + $4)) out=$5 lo n off cur
	: >"$out"
	awk -v a=$a -v e=$e '{
		lo = $1 > a ? $1 : a; hi = $1 + $2 < e ? $1 + $2 : e
		if (lo < hi) printf "%.0f %.0f %.0f\n", lo, hi - lo, $3 + lo - $1 }' "$loads" |
		sort -n >"$out.pieces"
	[ -s "$out.pieces" ] || return 1
	cur=$a
	while read -r lo n off; do
		[ "$lo" = "$cur" ] || return 2
		dd if="$core" bs=1M iflag=skip_bytes,count_bytes skip="$off" count="$n" \
			status=none >>"$out" || lg_hard "cannot read $core"
		cur=$((lo + n))
	done <"$out.pieces"
	[ "$cur" = "$e" ] || return 2
	return 0
}

# lg_declare_stopped PID NAME MAPPING: for targets that cannot declare
# regions themselves (Go, the JVM): read the first mapping of stopped PID
# whose /proc/PID/maps line ends in MAPPING (e.g. "[stack]") through
# /proc/PID/mem, independently of any dumper, and record it as region NAME,
# which lg_check_core then compares with every core.
lg_declare_stopped() {
	local pid=$1 name=$2 map=$3 lo hi crc
	[ "$(lg_state "$pid")" = T ] || lg_hard "lg_declare_stopped: $pid is not stopped"
	read -r lo hi <<<"$(awk -v m="$map" '$NF == m { split($1, r, "-"); print r[1], r[2]; exit }' "/proc/$pid/maps")"
	[ -n "$lo" ] || lg_hard "target $pid has no mapping $map"
	lo=$((16#$lo)) hi=$((16#$hi))
	crc=$(dd if="/proc/$pid/mem" bs=4096 iflag=skip_bytes,count_bytes skip=$lo count=$((hi - lo)) status=none | cksum) ||
		lg_hard "cannot read $map of $pid through /proc/$pid/mem"
	printf '%s.addr=0x%x\n%s.len=%d\n%s.crc=%s\n' "$name" $lo "$name" $((hi - lo)) "$name" "$crc" >>"$LG_FACTS/$pid"
}

# lg_check_core CORE PID: every memory region target PID declared (NAME.crc
# in its facts, see tc_declare) that CORE holds must hold exactly the
# target's bytes; a region with no NAME.dump rule must be in it whole; and
# at least one region must have been compared.  Sets LG_CHECKED (count).
lg_check_core() {
	local core=$1 pid=$2 facts=$LG_FACTS/$2 names r a len want got what
	[ -e "$facts" ] || lg_hard "no facts of target $pid: start it with lg_start"
	names=$(sed -n 's/^\(.*\)\.crc=.*/\1/p' "$facts")
	[ -n "$names" ] || lg_hard "target $pid declares no memory region (NAME.crc): nothing to compare its cores with"
	LG_CHECKED=0
	lg_is_core "$core" || { lg_fail "${core##*/} is not a core file"; return 1; }
	lg_loads "$core" "$LG_SCRATCH/loads"
	for r in $names; do
		a=$(lg_kv "$r.addr" "$facts") len=$(lg_kv "$r.len" "$facts") want=$(lg_kv "$r.crc" "$facts")
		lg_core_bytes "$core" "$LG_SCRATCH/loads" "$a" "$len" "$LG_SCRATCH/bytes"
		case $? in
		0)	got=$(cksum <"$LG_SCRATCH/bytes")
			[ "$got" = "$want" ] ||
				lg_fail "${core##*/}: region $r ($a, $len bytes) does not hold the target's bytes (cksum $got, the target's $want)"
			LG_CHECKED=$((LG_CHECKED + 1))
			continue;;
		1) what="not";;
		*) what="only partly";;
		esac
		[ -n "$(lg_kv "$r.dump" "$facts")" ] ||
			lg_fail "${core##*/}: region $r ($a, $len bytes) is $what in the core"
	done
	[ "$LG_CHECKED" -gt 0 ] ||
		lg_fail "${core##*/} holds none of the regions target $pid declared: its memory was not checked"
	return 0
}

# Region checks of target-memory's cores (memory.sh, dump-all.sh,
# coredump-filter.sh).
# lg_check_regions CORE_LG CORE_GC KEY: for every region printed by
# target-memory, with KEY = dump or dump_a:
#   yes -> lgcore's core holds exactly the target's bytes (cksum of gdb's
#          "dump binary memory" equals the target's NAME.crc);
#   no  -> no PT_LOAD of lgcore's core has data for it (gdb 13 would read
#          it anyway from a file named in NT_FILE, so ask the headers);
#   any -> no requirement here (lg_check_core compares its bytes when the
#          core holds it).
# Wherever both cores hold a region, the bytes are identical.
lg_region_dump() {	# CORE PREFIX: one gdb run dumps every region
	local core=$1 pre=$2 r a len
	local -a cmds=()
	for r in $(lg_kv regions); do
		a=$(lg_kv $r.addr) len=$(lg_kv $r.len)
		cmds+=("echo @@$r\\n" "x/1gx $a" "dump binary memory $pre.$r $a $a + $len")
	done
	lg_gdb "$TEXE" "$core" "${cmds[@]}" >"$pre.gdb"
}

lg_region_block() {	# PREFIX NAME: gdb's output for that region
	awk -v r="@@$2" '/^@@/ { inb = ($0 == r); next } inb' "$1.gdb"
}

lg_check_regions() {
	local lgc=$1 gcc=$2 key=$3 r want got
	if [ -z "$(lg_kv regions)" ]; then
		lg_fail "the target printed no regions= list: no region was checked"
		return 1
	fi
	rm -f "$T"/rl.* "$T"/rg.*
	lg_loads "$lgc" "$T/rl.loads"
	lg_loads "$gcc" "$T/rg.loads"
	lg_region_dump "$lgc" "$T/rl"
	lg_region_dump "$gcc" "$T/rg"
	for r in $(lg_kv regions); do
		want=$(lg_kv $r.$key)
		[ -n "$want" ] || lg_fail "region $r has no $key rule in the target's facts"
		lg_in_core "$T/rl.loads" $(lg_kv $r.addr) $(lg_kv $r.len)
		case $? in 0) got=yes;; 1) got=no;; *) got=part;; esac
		case $want in
		yes)
			if [ $got != yes ]; then
				lg_fail "region $r ($(lg_kv $r.addr), $(lg_kv $r.len) bytes) is not (all) in lgcore's core ($got); the kernel's rules dump it (filter $(lg_kv filter), $key)"
			elif lg_region_block "$T/rl" $r | grep -q 'Cannot access memory'; then
				lg_fail "gdb cannot read region $r from lgcore's core"
			elif [ "$(cksum <"$T/rl.$r")" != "$(lg_kv $r.crc)" ]; then
				lg_fail "region $r in lgcore's core does not hold the target's bytes (cksum $(cksum <"$T/rl.$r"), target says $(lg_kv $r.crc))"
			fi;;
		no)
			[ $got = no ] ||
				lg_fail "region $r ($(lg_kv $r.addr)) is in lgcore's core; the kernel's rules leave it out (filter $(lg_kv filter), $key)";;
		esac
		if [ $got = yes ] && lg_in_core "$T/rg.loads" $(lg_kv $r.addr) $(lg_kv $r.len); then
			cmp -s "$T/rl.$r" "$T/rg.$r" ||
				lg_fail "region $r differs between lgcore's core and gcore's"
		fi
	done
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

# -------------------------------------------------------------- lcorecheck
# lg_lc STATUS ARGS...: run lcorecheck; the report is in $T/lc.out, its
# stderr in $T/lc.err; a failure unless it exits STATUS.
lg_lc() {
	local want=$1 st
	shift
	"$LCORECHECK" "$@" >"$T/lc.out" 2>"$T/lc.err"
	st=$?
	if [ "$st" != "$want" ]; then
		cat "$T/lc.out" "$T/lc.err" >&2
		lg_fail "lcorecheck $* exited $st, want $want"
		return 1
	fi
	return 0
}

# lg_lc_expect STATUS ID-ERE: the last report has such a line.
lg_lc_expect() {
	grep -Eq "^$1 +$2 " "$T/lc.out" ||
		{ cat "$T/lc.out" >&2; lg_fail "no '$1 $2' line in lcorecheck's report"; }
}

# lg_dwfl_frames REPORT: the libdwfl backtrace section of a report, in
# eu-stack's layout.
lg_dwfl_frames() {
	sed -n '/^backtrace .* libdwfl:/,/^$/p' "$1" | grep -E '^(TID|#)'
}

# lg_eu_frames CORE [-e EXE]: eu-stack's frames for CORE.
lg_eu_frames() {
	"$EU_STACK" --core="$@" 2>/dev/null | grep -E '^(TID|#)'
}

# lg_against TARGET [ARGS...]: lcorecheck --against-gcore on TARGET started
# running (not stopped: --against-gcore stops and resumes the process
# itself): exit 0 with no unexpected difference and with the comparisons
# that matter actually made (diff.memory compares every byte both cores
# hold), the target running again and untraced, no temporary core left
# behind; then SIGUSR1 so the target checks its own memory and threads, and
# require it to exit 0.  The report is left in $T/check.out.
lg_against() {
	local rc id
	lg_need_lgcore
	lg_need_gcore
	lg_need_lcorecheck
	lg_start "$@"
	mkdir "$T/cores" || lg_hard "mkdir $T/cores"
	"$LCORECHECK" --against-gcore "$TPID" --dir "$T/cores" >"$T/check.out" 2>"$T/check.err"
	rc=$?
	if [ "$rc" != 0 ]; then
		cat "$T/check.err" >&2
		grep -E '^fail ' "$T/check.out" >&2
		lg_fail "lcorecheck --against-gcore on $1 exited $rc, want 0"
	fi
	grep -Eq '^lcorecheck: .* vs .*: OK: 0 failed, ' "$T/check.out" ||
		lg_fail "no 'OK: 0 failed' summary: $(head -n 1 "$T/check.out")"
	# A comparison that silently skipped its core checks would pass too.
	for id in diff.thread.ids diff.regs diff.fpregset diff.xstate diff.auxv diff.nt_file \
		diff.memory diff.modules diff.backtrace.libdwfl diff.backtrace.libunwind \
		a.unwind.libdwfl b.unwind.libdwfl; do
		grep -Eq "^pass +$id " "$T/check.out" || lg_fail "no 'pass $id' in the report"
	done
	[ -z "$(ls -A "$T/cores")" ] || lg_fail "temporary cores left behind: $(ls -A "$T/cores")"
	lg_check_running "$TPID" "after lcorecheck --against-gcore"
	lg_finish_target "$TPID"
}
