#!/bin/sh
# The suite that runs inside the guest (busybox sh, as root, PID 1's child),
# started by tests/kernels/guest-init.  Every test runs in a session of its
# own under a deadline (a hung test is killed with its whole process group
# and fails); its output goes to /out/NAME.log, its result to the console as
#   @@LGK result NAME pass|fail|skip|xfail DETAIL
# and measurements as "@@LGK fact NAME KEY VALUE...".  /out is written to the
# second disk at the end and read by the host, which checks what needs gdb,
# lcorecheck or python (cores, --stats reports).
#
#   guest.sh all        run every test that applies to this kernel
#   guest.sh one NAME   run one test (how "all" runs each, in a new session)
#
# The kernel command line says what the host expects of this kernel:
# lgk.sd=1 (CONFIG_MEM_SOFT_DIRTY), lgk.uffd=1 (WP_ASYNC + PAGEMAP_SCAN,
# 6.7+), lgk.thp=always|never.
set -u
LG=/lg
LGCORE=$LG/src/lgcore
CONS=$LG/tests/track-targets/consistency
MMT=$LG/tests/kernels/mmtarget
MMTOOL=$LG/tests/kernels/mmtool
OUT=/out
export top_srcdir=$LG top_builddir=$LG
# Check's per-test timeout: this runs under TCG, about 20 times slower.
export CK_DEFAULT_TIMEOUT=600

arg() { sed -n "s/.*lgk\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
SD=$(arg sd) UFFD=$(arg uffd) THP=$(arg thp) ONLY=$(arg only) MEASURE=$(arg measure)
KH=/sys/kernel/mm/transparent_hugepage/khugepaged

fact() { echo "@@LGK fact $NAME $*"; }
# A failure inside a test: said on the test's output, remembered for its status.
FAILED=0
fail() { echo "FAIL: $*"; FAILED=1; }
say() { echo "$NAME: $*"; }

tracer() { sed -n 's/^TracerPid:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null; }
huge() { $MMTOOL huge "$1" | sed 's/^huge //'; }	# "N anonhuge_kb K"

# start_target OUTFILE CMD...: start CMD in the background, wait for its
# "ready" line; sets TPID.
start_target() {
	local out=$1 i=0
	shift
	: >"$out"	# here, not in the child: the loop below reads it at once
	"$@" >>"$out" 2>&1 &
	TPID=$!
	while ! grep -q ready "$out" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 600 ] || ! kill -0 $TPID 2>/dev/null; then
			fail "target $* not ready: $(head -c 300 "$out")"
			return 1
		fi
		sleep 0.1
	done
}

stop_target() { kill -KILL "$1" 2>/dev/null; wait "$1" 2>/dev/null; return 0; }

# stopped_all PID: every thread of PID in state T.
stopped_all() {
	local t
	for t in /proc/$1/task/*; do
		[ "$(sed 's/.*) \(.\).*/\1/' "$t/stat")" = T ] || return 1
	done
}

# check_running PID WHEN: neither stopped nor traced, every thread (threads
# that exit meanwhile, as the consistency target's do, are skipped).
check_running() {
	local t s tr
	for t in /proc/$1/task/*; do
		s=$(sed 's/.*) \(.\).*/\1/' "$t/stat" 2>/dev/null)
		tr=$(sed -n 's/^TracerPid:[[:space:]]*//p' "$t/status" 2>/dev/null)
		[ -n "$s" ] && [ -n "$tr" ] || continue
		case $s in T|t) fail "thread ${t##*/} is in state $s $2";; esac
		[ "$tr" = 0 ] || fail "thread ${t##*/} is traced by $tr $2"
	done
}

# vmflag_count PID FLAG: mappings of PID whose VmFlags carry FLAG.
vmflag_count() { grep '^VmFlags:' "/proc/$1/smaps" | grep -c " $2\( \|$\)"; }

# stat_field FILE KEY: a number from lgcore's --stats JSON (first match).
stat_field() { sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p" "$1" | head -n 1; }

# ---------------------------------------------------------------- tests
# Check's failures that are known defects of the unit tests when they run
# this slowly (TCG), not of lgcore: with only these, the result is xfail.
# (check_inject's test_wait_deadline: a 300 ms stop deadline must fail
# within 1 s; seen 1 of 6 boots under TCG on a loaded host.)
FLAKY='check_proc.c:[0-9]*:F:live:psargs_truncated_like_the_kernel:.*strlen(pi.psargs) == 0\|check_inject.c:[0-9]*:F:core:test_wait_deadline:.*lg_now_ns() - t0 < 1000000000ull'
t_unit() {
	local prog=$1 rc
	$LG/tests/unit/$prog >/tmp/unit.out 2>&1
	rc=$?
	cat /tmp/unit.out
	if [ $rc = 77 ]; then
		if [ "$prog" = check_track_softdirty ] && [ "$SD" = 1 ]; then
			fail "$prog skipped on a kernel with CONFIG_MEM_SOFT_DIRTY"
			return 1
		fi
		if [ "$prog" = check_track ] && [ "$UFFD" = 1 ]; then
			fail "$prog skipped on a kernel with WP_ASYNC and PAGEMAP_SCAN"
			return 1
		fi
		return 77
	fi
	[ $rc = 0 ] && return 0
	if grep -q ':[FE]:' /tmp/unit.out && ! grep ':[FE]:' /tmp/unit.out | grep -vq "$FLAKY"; then
		echo "XFAIL: only failures known to be timing-dependent under TCG"
		return 3
	fi
	fail "$prog exited $rc"
}

# Which tracker lgcore picks by itself, and what it says when it falls back.
t_default_tracker() {
	local want=none
	[ "$SD" = 1 ] && want=soft-dirty
	[ "$UFFD" = 1 ] && want=uffd
	start_target /tmp/tgt.out $CONS run 200 || return 1
	(cd /tmp && $LGCORE --stats=$OUT/default.json -o /tmp/def $TPID) >/tmp/def.out 2>$OUT/default.err
	rc=$?
	cat /tmp/def.out $OUT/default.err
	[ $rc = 0 ] || fail "lgcore exited $rc"
	got=$(sed -n 's/.*"tracker": "\([^"]*\)".*/\1/p' $OUT/default.json)
	[ "$got" = "$want" ] || fail "lgcore chose tracker '$got', expected '$want'"
	fact tracker "$got"
	fact fallback "$(sed -n 's/.*"fallback": "\([^"]*\)".*/\1/p' $OUT/default.json)"
	fact stderr_without_verbose "$(head -n 1 $OUT/default.err)"
	$CONS check /tmp/def.$TPID "$(awk '/^world/ {print $2}' /tmp/tgt.out)" ||
		fail "default dump inconsistent"
	stop_target $TPID
	rm -f /tmp/def.*
}

# lgcore --probe says what this kernel has (what the host expects of it:
# lgk.sd, lgk.uffd, lgk.thp) and which tracker a dump of a running target
# would use; a dump of that target then uses it.
t_probe() {
	local want=none sdw=no uw=no got
	[ "$SD" = 1 ] && want=soft-dirty sdw=yes
	[ "$UFFD" = 1 ] && want=uffd uw=yes
	start_target /tmp/tgt.out $CONS run 200 || return 1
	$LGCORE --probe $TPID >/tmp/probe.txt 2>&1 || fail "lgcore --probe exited $?"
	$LGCORE --probe --json $TPID >$OUT/probe.json 2>&1 || fail "lgcore --probe --json exited $?"
	cat /tmp/probe.txt
	while read -r line; do fact "$line"; done </tmp/probe.txt
	pv() { sed -n "s/^$1: \([^ ]*\).*/\1/p" /tmp/probe.txt; }
	[ "$(pv tracker.soft-dirty)" = $sdw ] || fail "tracker.soft-dirty is '$(pv tracker.soft-dirty)', expected $sdw"
	[ "$(pv tracker.uffd)" = $uw ] || fail "tracker.uffd is '$(pv tracker.uffd)', expected $uw"
	[ "$(pv dump.tracker)" = $want ] || fail "dump.tracker is '$(pv dump.tracker)', expected $want"
	[ "$(pv thp)" = "$THP" ] || fail "thp is '$(pv thp)', expected $THP"
	[ "$(pv kernel)" = "$(uname -r)" ] || fail "kernel is '$(pv kernel)', expected $(uname -r)"
	[ "$(pv process.seccomp)" = none ] || fail "process.seccomp is '$(pv process.seccomp)'"
	tr -d ' \n' <$OUT/probe.json | grep -q "\"dump.tracker\":{\"value\":\"$want\"" ||
		fail "probe.json does not say dump.tracker $want: $(cat $OUT/probe.json)"
	(cd /tmp && $LGCORE --stats=/tmp/probe-dump.json -o /tmp/probe $TPID) >/dev/null 2>&1 ||
		fail "the dump after the probe failed"
	got=$(sed -n 's/.*"tracker": "\([^"]*\)".*/\1/p' /tmp/probe-dump.json)
	[ "$got" = "$want" ] || fail "the dump used '$got', the probe said $want"
	stop_target $TPID
	rm -f /tmp/probe.*
}

# --tracker=uffd where the kernel has no WP_ASYNC: a clear one-line error,
# exit 1, no core; the target runs on.
t_uffd_forced() {
	start_target /tmp/tgt.out $CONS run 200 || return 1
	(cd /tmp && $LGCORE --tracker=uffd -o forced $TPID) >/tmp/forced.out 2>/tmp/forced.err
	rc=$?
	cat /tmp/forced.out /tmp/forced.err
	fact exit "$rc"
	fact stderr "$(head -n 1 /tmp/forced.err)"
	[ $rc = 1 ] || fail "lgcore --tracker=uffd exited $rc, expected 1"
	grep -q "^lgcore: failed to create forced.$TPID: uffd tracker unavailable: " /tmp/forced.err ||
		fail "no 'uffd tracker unavailable' reason"
	[ "$(wc -l </tmp/forced.err)" = 1 ] || fail "more than one line on stderr"
	[ -e /tmp/forced.$TPID ] && fail "a core was left behind"
	check_running $TPID "after the refused dump"
	stop_target $TPID
}

# The consistency target at RATE page records/s per writer, dumped with
# TRACKER (or stop mode), checked against its journal.  The --stats report
# and the huge pages before and after go to /out for the host.
t_consistency() {
	local tracker=$1 rate=$2 base=$OUT/${3:-consistency}-$1-$2 opt world rc
	if [ "$tracker" = stop ]; then opt=--mode=stop; else opt=--tracker=$tracker; fi
	start_target /tmp/tgt.out $CONS run "$rate" || return 1
	sleep 0.3
	world=$(awk '/^world/ {print $2}' /tmp/tgt.out)
	echo "before $(huge $TPID)" >"$base.huge"
	(cd /tmp && $LGCORE $opt --verbose --stats="$base.json" -o /tmp/cons $TPID) \
		>/tmp/cons.out 2>"$base.err"
	rc=$?
	echo "after $(huge $TPID)" >>"$base.huge"
	cat "$base.err" "$base.huge"
	if [ $rc != 0 ]; then
		fail "lgcore $opt exited $rc"
	elif ! $CONS check /tmp/cons.$TPID "$world"; then
		fail "core inconsistent"
	fi
	check_running $TPID "after the dump"
	[ "$tracker" = uffd ] && [ "$(vmflag_count $TPID uw)" != 0 ] &&
		fail "uffd-wp registration (VmFlags uw) left on $(vmflag_count $TPID uw) mappings"
	fact huge "$(tr '\n' ' ' <"$base.huge")"
	stop_target $TPID
	rm -f /tmp/cons.*
}

# The consistency test while khugepaged collapses as fast as it can: a
# range holding a zapped page (MADV_DONTNEED) may become a huge page again
# at any moment, also while the target is stopped for the final stop
# (khugepaged does not care about ptrace).  N dumps, each checked.
t_khugepaged_race() {
	local tracker=$1 none=${2:-} i k=/sys/kernel/mm/transparent_hugepage/khugepaged
	local old_sleep old_scan old_none bad=0
	old_sleep=$(cat $k/scan_sleep_millisecs) old_scan=$(cat $k/pages_to_scan)
	old_none=$(cat $k/max_ptes_none)
	echo 0 >$k/scan_sleep_millisecs
	echo 65536 >$k/pages_to_scan
	# max_ptes_none=0: no collapse over a hole (a zapped page).
	[ -n "$none" ] && echo "$none" >$k/max_ptes_none
	for i in 1 2 3; do
		FAILED=0
		t_consistency "$tracker" 2000 khugepaged-$i
		[ $FAILED = 1 ] && bad=$((bad + 1))
		fact "run_$i" "inconsistent=$FAILED, $(cat $k/pages_collapsed) pages collapsed so far"
	done
	echo "$old_sleep" >$k/scan_sleep_millisecs
	echo "$old_scan" >$k/pages_to_scan
	echo "$old_none" >$k/max_ptes_none
	fact inconsistent "$bad of 3 dumps"
	[ $bad = 0 ] && return 0
	FAILED=1
}

# A stopped target stays stopped and untraced; both modes' cores go to the
# host, which reads them with gdb and lcorecheck.
t_stopped() {
	local d=$OUT/stopped i=0
	mkdir -p $d
	start_target $d/target.out $LG/tests/targets/target-threads || return 1
	kill -STOP $TPID
	while ! stopped_all $TPID; do
		i=$((i + 1)); [ $i -gt 100 ] && { fail "target did not stop"; return 1; }
		sleep 0.05
	done
	echo "pid=$TPID" >>$d/target.out
	for mode in precopy stop; do
		(cd $d && $LGCORE --mode=$mode --verbose --stats=$d/$mode.json -o $mode $TPID) \
			>$d/$mode.out 2>$d/$mode.err || fail "lgcore --mode=$mode exited $?"
		cat $d/$mode.out $d/$mode.err
		stopped_all $TPID || fail "a thread is not stopped after --mode=$mode"
		[ "$(tracer $TPID)" = 0 ] || fail "traced after --mode=$mode"
		mv $d/$mode.$TPID $d/$mode.core 2>/dev/null || fail "no core from --mode=$mode"
	done
	kill -CONT $TPID
	sleep 0.3
	check_running $TPID "after SIGCONT"
	kill -USR1 $TPID
	wait $TPID || fail "target failed its self-check after the dumps"
}

# SIGKILL of lgcore in the middle of pre-copy: the target runs on (or stays
# stopped), untraced, nothing armed (uffd: no uw VmFlags), no core file; a
# second dump works and is consistent.  A first, complete dump of the same
# target times it: the kill lands halfway through the second.
t_sigkill() {
	local tracker=$1 stopped=${2:-} t0 t1 world lg sd_before
	start_target /tmp/tgt.out $CONS run 2000 || return 1
	world=$(awk '/^world/ {print $2}' /tmp/tgt.out)
	if [ -n "$stopped" ]; then
		kill -STOP $TPID
		sleep 0.2
	fi
	sd_before=$(vmflag_count $TPID sd)
	mkdir -p /tmp/k
	t0=$(cut -d' ' -f1 /proc/uptime)
	(cd /tmp && $LGCORE --tracker=$tracker -o first $TPID) >/tmp/k.out 2>&1 ||
		fail "the timing dump failed: $(cat /tmp/k.out)"
	t1=$(cut -d' ' -f1 /proc/uptime)
	$CONS check /tmp/first.$TPID "$world" || fail "the timing dump is inconsistent"
	rm -f /tmp/first.$TPID
	# Killed at half of that time, or a quarter, an eighth if the dump
	# was faster this time.
	for frac in 2 4 8; do
		(cd /tmp/k && exec $LGCORE --tracker=$tracker -o core $TPID) >/tmp/k.out 2>&1 &
		lg=$!
		sleep "$(awk -v a="$t0" -v b="$t1" -v f=$frac 'BEGIN { printf "%.2f", (b - a) / f }')"
		if kill -KILL $lg 2>/dev/null; then
			wait $lg 2>/dev/null
			fact killed_after "$(awk -v a="$t0" -v b="$t1" -v f=$frac 'BEGIN { printf "%.2f s of a %.2f s dump", (b - a) / f, b - a }')"
			break
		fi
		wait $lg 2>/dev/null
		say "lgcore finished before 1/$frac of a first dump's time"
		rm -f /tmp/k/core.$TPID
		frac=
	done
	[ -n "$frac" ] || fail "lgcore always ended before the kill"
	sleep 0.5
	cat /tmp/k.out
	if [ -n "$stopped" ]; then
		stopped_all $TPID || fail "a thread of the stopped target runs after lgcore's death"
		[ "$(tracer $TPID)" = 0 ] || fail "stopped target traced by $(tracer $TPID)"
		kill -CONT $TPID
		sleep 0.2
	fi
	check_running $TPID "after lgcore was killed"
	[ "$(vmflag_count $TPID uw)" = 0 ] ||
		fail "uffd-wp registration left on $(vmflag_count $TPID uw) mappings"
	fact sd_vmflags "before $sd_before after $(vmflag_count $TPID sd)"
	[ -z "$(ls -A /tmp/k)" ] || fail "files left in the output directory: $(ls -A /tmp/k)"
	(cd /tmp/k && $LGCORE --tracker=$tracker -o again $TPID) >/tmp/k.out 2>&1 ||
		fail "a second dump failed: $(cat /tmp/k.out)"
	$CONS check /tmp/k/again.$TPID "$world" || fail "second dump inconsistent"
	stop_target $TPID
	rm -rf /tmp/k
}

# Synchronous uffd write-protect injected from outside (what a
# copy-before-write snapshot needs): anon since 5.7, shmem since 5.19.  The
# target must run on afterwards and find its memory intact.
t_uffd_sync() {
	local what=$1 range rc w1 w2
	start_target /tmp/mm.out $MMT 16 2000 4 || return 1
	if [ "$what" = anon ]; then
		range=$(awk '/^anon/ {print $2, $3}' /tmp/mm.out)
	else
		range=$(awk '/^shmem/ {print $2, $3}' /tmp/mm.out)
	fi
	# shellcheck disable=SC2086
	$MMTOOL uffd-sync $TPID 3 $range >/tmp/sync.out 2>&1
	rc=$?
	cat /tmp/sync.out
	while read -r line; do fact "$line"; done </tmp/sync.out
	[ $rc = 0 ] || fail "mmtool uffd-sync exited $rc"
	w1=$(awk '/^writes/ {n = $2} END {print n}' /tmp/mm.out)
	sleep 0.5
	w2=$(awk '/^writes/ {n = $2} END {print n}' /tmp/mm.out)
	[ "$w2" -gt "$w1" ] || fail "target stopped writing after the experiment ($w1, $w2)"
	kill -USR1 $TPID
	wait $TPID || fail "target's memory check failed: $(tail -n 1 /tmp/mm.out)"
}

# The experimenter killed while it serves synchronous write faults: the
# kernel must wake the blocked threads (userfaultfd release).
t_uffd_sync_kill() {
	local range w1 w2 m
	start_target /tmp/mm.out $MMT 16 2000 || return 1
	range=$(awk '/^anon/ {print $2, $3}' /tmp/mm.out)
	# shellcheck disable=SC2086
	$MMTOOL uffd-sync $TPID 30 $range >/tmp/sync.out 2>&1 &
	m=$!
	sleep 2
	kill -KILL $m
	wait $m 2>/dev/null
	cat /tmp/sync.out
	w1=$(awk '/^writes/ {n = $2} END {print n}' /tmp/mm.out)
	sleep 1
	w2=$(awk '/^writes/ {n = $2} END {print n}' /tmp/mm.out)
	[ "$w2" -gt "$w1" ] || fail "target stuck after the uffd owner died ($w1, $w2)"
	check_running $TPID "after the uffd owner died"
	[ "$(vmflag_count $TPID uw)" = 0 ] || fail "uw VmFlags left"
	kill -USR1 $TPID
	wait $TPID || fail "target's memory check failed: $(tail -n 1 /tmp/mm.out)"
}

# Convergence and huge pages: a 32 MiB target (all of it populated, in
# huge pages with THP always) writing RATE random pages/s, dumped with each
# tracker and in stop mode; then (soft-dirty) its huge pages are split from
# outside, it is dumped again, and the huge pages are collapsed again.  The
# host asserts convergence and tabulates the --stats reports.
t_thp() {
	local rate=$1 base=$OUT/thp-$1 run opt c0 loop
	start_target /tmp/mm.out $MMT 32 "$rate" || return 1
	sleep 0.3
	fact start "$(huge $TPID)"
	for run in softdirty softdirty-keep uffd stop; do
		case $run in
		softdirty) [ "$SD" = 1 ] || continue; opt=--tracker=soft-dirty ;;
		# The huge pages kept whole: how the tracker did before it split
		# them (measured only).
		softdirty-keep) [ "$SD" = 1 ] && [ "$THP" = always ] && [ "$MEASURE" = 1 ] || continue
			opt="--tracker=soft-dirty --thp=keep" ;;
		uffd) [ "$UFFD" = 1 ] || continue; opt=--tracker=uffd ;;
		stop) opt=--mode=stop ;;
		esac
		c0=$(cat $KH/pages_collapsed 2>/dev/null || echo 0)
		(cd /tmp && $LGCORE $opt --verbose --stats=$base-$run.json -o /tmp/thp $TPID) \
			>/dev/null 2>$base-$run.err || fail "lgcore $opt exited $?"
		# khugepaged's collapses during the dump, for the host.
		echo "$(($(cat $KH/pages_collapsed 2>/dev/null || echo 0) - c0))" >$base-$run.collapsed
		cat $base-$run.err
		fact "after_$run" "$(huge $TPID)"
		rm -f /tmp/thp.*
	done
	if [ "$SD" = 1 ] && [ "$THP" = always ] && [ "$MEASURE" = 1 ]; then
		# Split once before the dump; then split again every 0.2 s
		# during it, as a tracker would split what khugepaged collapses
		# again meanwhile (a collapse marks all 512 pages soft-dirty).
		for run in split resplit; do
			$MMTOOL split $TPID >/tmp/split.out 2>&1 || fail "split: $(cat /tmp/split.out)"
			fact "$run" "$(tr '\n' ' ' </tmp/split.out)"
			c0=$(cat $KH/pages_collapsed)
			loop=
			if [ $run = resplit ]; then
				(while :; do $MMTOOL split $TPID >/dev/null; sleep 0.2; done) &
				loop=$!
			fi
			(cd /tmp && $LGCORE --tracker=soft-dirty --verbose --stats=$base-$run.json \
				-o /tmp/thp $TPID) >/dev/null 2>$base-$run.err || fail "lgcore after the split exited $?"
			[ -n "$loop" ] && kill $loop && wait $loop 2>/dev/null
			cat $base-$run.err
			fact "after_${run}_dump" "$(huge $TPID), khugepaged collapsed $(($(cat $KH/pages_collapsed) - c0)) meanwhile"
			rm -f /tmp/thp.*
		done
		$MMTOOL collapse $TPID >/tmp/collapse.out 2>&1
		fact collapse "$(tr '\n' ' ' </tmp/collapse.out)"
		cat /tmp/collapse.out
	fi
	kill -USR1 $TPID
	wait $TPID || fail "target's memory check failed: $(tail -n 1 /tmp/mm.out)"
}

# Soft-dirty without CAP_SYS_NICE (lgcore and the target as an unprivileged
# user): process_madvise is refused, so lgcore splits the huge pages with
# madvise(2) injected into the target.  The --stats report goes to the host,
# which asserts convergence; here: something was split by injection, and
# the target finds its memory intact.
t_thp_user() {
	local base=$OUT/thp-200-softdirty-user c0
	[ -w /proc/sys/kernel/yama/ptrace_scope ] && echo 0 >/proc/sys/kernel/yama/ptrace_scope
	start_target /tmp/mmu.out $MMTOOL as 1000 $MMT 32 200 || return 1
	sleep 0.3
	fact start "$(huge $TPID)"
	c0=$(cat $KH/pages_collapsed 2>/dev/null || echo 0)
	(cd /tmp && $MMTOOL as 1000 $LGCORE --tracker=soft-dirty --verbose --stats=/tmp/user.json \
		-o /tmp/user $TPID) >/dev/null 2>$base.err || fail "lgcore as uid 1000 exited $?"
	echo "$(($(cat $KH/pages_collapsed 2>/dev/null || echo 0) - c0))" >$base.collapsed
	cat $base.err
	cp /tmp/user.json $base.json 2>/dev/null
	fact after "$(huge $TPID)"
	[ "$(stat_field $base.json split_injected)" -gt 0 ] 2>/dev/null ||
		fail "no huge page split by injected madvise: $(grep 'huge pages' $base.err)"
	rm -f /tmp/user.* /tmp/user.json
	kill -USR1 $TPID
	wait $TPID || fail "target's memory check failed: $(tail -n 1 /tmp/mmu.out)"
}

# khugepaged after a split, with its default settings: how long until the
# split huge pages are collapsed again.
t_khugepaged() {
	local i t0
	start_target /tmp/mm.out $MMT 32 200 || return 1
	sleep 0.3
	fact settings "scan_sleep_ms $(cat /sys/kernel/mm/transparent_hugepage/khugepaged/scan_sleep_millisecs)" \
		"pages_to_scan $(cat /sys/kernel/mm/transparent_hugepage/khugepaged/pages_to_scan)" \
		"max_ptes_none $(cat /sys/kernel/mm/transparent_hugepage/khugepaged/max_ptes_none)"
	fact before "$(huge $TPID)"
	$MMTOOL split $TPID || fail "split refused"
	t0=$(cut -d. -f1 /proc/uptime)
	for i in 5 10 20 30 45 60; do
		while [ "$(cut -d. -f1 /proc/uptime)" -lt $((t0 + i)) ]; do
			sleep 1
		done
		fact "after_${i}s" "$(huge $TPID)"
	done
	kill -USR1 $TPID
	wait $TPID || fail "target's memory check failed"
}

# ----------------------------------------------------------- the runner
one() {
	NAME=$1
	shift
	case $NAME in
	unit/*) t_unit "${NAME#unit/}" ;;
	lgcore/default-tracker) t_default_tracker ;;
	lgcore/uffd-forced) t_uffd_forced ;;
	lgcore/probe) t_probe ;;
	khugepaged-race/*) t_khugepaged_race $(echo "${NAME#khugepaged-race/}" | tr / ' ') ;;
	consistency/*) t_consistency $(echo "${NAME#consistency/}" | tr / ' ') ;;
	stopped) t_stopped ;;
	safety/sigkill-running/*) t_sigkill "${NAME##*/}" ;;
	safety/sigkill-stopped/*) t_sigkill "${NAME##*/}" stopped ;;
	experiment/uffd-sync/*) t_uffd_sync "${NAME##*/}" ;;
	experiment/uffd-sync-owner-killed) t_uffd_sync_kill ;;
	measure/thp/*) t_thp "${NAME##*/}" ;;
	thp-user) t_thp_user ;;
	measure/khugepaged) t_khugepaged ;;
	*) echo "no such test $NAME"; return 99 ;;
	esac
	rc=$?
	[ $FAILED = 1 ] && return 1
	case $rc in 3|77|99) return $rc ;; esac
	return 0
}

# run NAME SECONDS: run one test in its own session, kill its process group
# at the deadline.
run() {
	local name=$1 secs=$2 log pid timer rc status t0 t1
	# lgk.only=GLOB[,GLOB...] (LG_KERNEL_ONLY on the host): a subset.
	if [ -n "$ONLY" ]; then
		hit=
		set -f
		for g in $(echo "$ONLY" | tr , ' '); do
			case $name in $g) hit=1 ;; esac
		done
		set +f
		[ -n "$hit" ] || return 0
	fi
	log=$OUT/$(echo "$name" | tr / _).log
	echo "@@LGK begin $name"
	t0=$(cut -d' ' -f1 /proc/uptime)
	setsid sh "$0" one "$name" >"$log" 2>&1 &
	pid=$!
	setsid sh -c "sleep $secs; echo TIMEOUT >>$log; kill -KILL -$pid" >/dev/null 2>&1 &
	timer=$!
	wait $pid
	rc=$?
	kill -KILL -$timer 2>/dev/null
	kill -KILL -$pid 2>/dev/null	# targets the test left behind
	t1=$(cut -d' ' -f1 /proc/uptime)
	case $rc in
	0) status=pass ;;
	3) status=xfail ;;
	77) status=skip ;;
	*) status=fail ;;
	esac
	grep -q '^TIMEOUT$' "$log" && status=fail && rc="timeout after ${secs}s"
	if [ $status = fail ]; then
		echo "---- $log (last 40 lines)"
		grep -v '^@@LGK ' "$log" | tail -n 40
		echo "----"
	fi
	grep '^@@LGK fact ' "$log"
	echo "@@LGK result $name $status $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1fs", b - a }') rc=$rc" \
		"$(grep -m1 -E '^(SKIP|XFAIL)' "$log")"
}

all() {
	local u r tr trackers=""
	[ "$UFFD" = 1 ] && trackers="$trackers uffd"
	[ "$SD" = 1 ] && trackers="$trackers soft-dirty"
	for u in check_common check_proc check_mem check_ptrace check_inject check_elfcore \
		check_track check_track_softdirty; do
		run unit/$u 900
	done
	run lgcore/default-tracker 300
	run lgcore/probe 120
	[ "$UFFD" = 1 ] || run lgcore/uffd-forced 120
	for tr in $trackers; do
		for r in 200 2000 0; do
			run consistency/$tr/$r 600
		done
	done
	run consistency/stop/2000 300
	if [ "$THP" = always ]; then
		for tr in $trackers; do
			run khugepaged-race/$tr 900
		done
	fi
	run stopped 300
	for tr in $trackers; do
		run safety/sigkill-running/$tr 300
		run safety/sigkill-stopped/$tr 300
	done
	run experiment/uffd-sync/anon 120
	run experiment/uffd-sync/shmem 120
	run experiment/uffd-sync-owner-killed 120
	run measure/thp/200 600
	[ "$SD" = 1 ] && [ "$THP" = always ] && run thp-user 300
	# Measurements only (lgk.measure=1, LG_KERNEL_MEASURE=1 on the host).
	if [ "$MEASURE" = 1 ]; then
		run measure/thp/2000 600
		[ "$THP" = always ] && run measure/khugepaged 200
	fi
	dmesg >$OUT/dmesg.txt
	if grep -E -n 'BUG:|WARNING:|Oops|general protection|segfault|Call Trace' $OUT/dmesg.txt \
		>$OUT/dmesg-bad.txt; then
		cat $OUT/dmesg-bad.txt
		echo "@@LGK result kernel/log fail $(wc -l <$OUT/dmesg-bad.txt) suspicious lines"
	else
		echo "@@LGK result kernel/log pass no warnings"
	fi
}

case ${1:-all} in
all) all ;;
one) shift; one "$@" ;;
*) echo "usage: guest.sh all | one NAME" >&2; exit 2 ;;
esac
