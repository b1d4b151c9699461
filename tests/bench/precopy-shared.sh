#!/bin/bash
# Benchmark (not a test): the pause a process working in shared memory,
# and a busy JVM, observe while they are dumped, lgcore (pre-copy) vs
# gcore, and whether lgcore's core is one snapshot.
#
#   shared  the consistency target's shared mode (tests/track-targets/
#           consistency shared): writer 0 in ANON_MIB of MAP_SHARED|
#           MAP_ANONYMOUS memory, writer 1 in a memfd of MEMFD_MIB
#           (descriptor closed), each writing RATE/2 journaled, checksummed
#           page records a second (every 64th op a MADV_REMOVE, every
#           64th+32 a MADV_DONTNEED); lgcore's core is checked
#   jvm     tests/targets/target-jvm-busy (OpenJDK, serial GC, 256 MiB heap):
#           threads sleeping, waiting and parked, a writer writing RATE
#           random pages a second of 128 MiB of long[] and making garbage
#
# Usage: tests/bench/precopy-shared.sh [ANON_MIB [MEMFD_MIB [RATE [ROUNDS [TARGETS]]]]]
#   defaults: 1024 256 10000 3 "shared jvm" (jvm is left out, saying so,
#   where no JDK built target-jvm-busy)
# Run from the build tree after "make check TESTS=" (builds the target).
# LGCORE, GCORE and BENCH_DIR (where cores go; needs ANON+MEMFD free, one
# core at a time, removed at once) override.
#
# Every dump and the baseline get a fresh target.  The gap is the longest
# time a writer's loop went without running (both targets measure it the
# same way: a loop that sleeps 0.2 ms between batches), from "ready" until 0.5 s after
# the dump; the baseline is a target left alone for as long as lgcore's
# dump took.  Per round: gaps, walls, their ratios, lgcore's final stop
# broken down (--stats), its set-up stop and teardown, and the checker's
# verdict on lgcore's core.
#
# Measured 2026-12-03, 2 vCPUs shared with other jobs, Linux 6.18,
# defaults, two runs (load 11-13.5, then 5-10):
#   shared: lgcore's largest gap 115-142 ms / 62-112 ms (baseline 49-131 /
#   10-27 ms), gcore's 3.9-8.2 s / 1.0-1.7 s (15-58x); walls 0.19-0.63 /
#   0.95-1.60 of gcore's; final stop 3.2-5.4 ms (maps 1.1-1.6, dirty
#   240-454 pages 0.3-1.0, absent 6-8 pages 0.8-1.3, open files 0.03-0.05);
#   set-up stop 1.2-5.4 ms; the core consistent in all 6 rounds.
#   jvm: lgcore 174-447 / 86-112 ms (baseline 110-278 / 66-71 ms), gcore
#   2.6-4.6 / 1.8-2.4 s (9-26x); final stop 2.9-18 / 3.6-8.4 ms.  Once
#   the early mappings' VM_MAYWRITE was asked of the kernel in the final
#   stop instead of read from smaps before it (load 6-9): lgcore 34-97 ms
#   (baseline 32-59 ms), gcore 1.2-1.4 s (12-36x), final stop 2.5-4.2 ms.
# The gap beyond the stops is the smaps read before the set-up stop: the
# target waits on it (five reads of the shared target: largest gap 164-171
# ms, 12 ms without, the same at nice 19).
set -u
anon=${1:-1024}
memfd=${2:-256}
rate=${3:-10000}
rounds=${4:-3}
targets=${5:-"shared jvm"}
here=$(cd "$(dirname "$0")" && pwd)
build=${top_builddir:-$PWD}
[ -x "$build/tests/track-targets/consistency" ] || build=$(cd "$here/../.." && pwd)
CT=$build/tests/track-targets/consistency
JVM=$build/tests/targets/target-jvm-busy
LGCORE=${LGCORE:-$build/src/lgcore}
GCORE=${GCORE:-$(command -v gcore)}
[ -x "$CT" ] || { echo "build $CT first (make check TESTS=)" >&2; exit 1; }
[ -x "$LGCORE" ] || { echo "no lgcore at $LGCORE" >&2; exit 1; }
[ -n "$GCORE" ] || { echo "no gcore" >&2; exit 1; }

dir=$(mktemp -d "${BENCH_DIR:-/var/tmp}/lgcore-shared.XXXXXX") || exit 1
pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

start_ct() {
	: >"$dir/ct"
	if [ "$kind" = jvm ]; then
		"$JVM" 128 "$rate" >"$dir/ct" &
	else
		"$CT" shared $((rate / 2)) "$anon" "$memfd" 0 >"$dir/ct" &
	fi
	pid=$!
	until grep -q '^ready' "$dir/ct"; do
		kill -0 "$pid" 2>/dev/null || { echo "the target died" >&2; exit 1; }
		sleep 0.1
	done
	world=$(sed -n 's/^world //p' "$dir/ct")
	sleep 1
}
stop_ct() { # sets gap (ms)
	kill -USR1 "$pid"
	wait "$pid"
	pid=
	gap=$(awk '/^maxgap_us/ { printf "%.1f", $2 / 1000 }' "$dir/ct")
	[ -n "$gap" ] || { echo "the target printed no gap" >&2; exit 1; }
}
j() { sed -n "s/.*$1\([0-9.]*\).*/\1/p" <<<"$st" | head -n 1; }

# dump TOOL -> "gap wall [final regs maps dirty_pages dirty_ms full_kib full_ms absent_pages
#                absent_ms files_ms setup teardown passes consistent]"
dump() {
	local tool=$1 t0 t1 core ok=-
	start_ct
	rm -f "$dir/stats"
	sync
	t0=$(date +%s%N)
	if [ "$tool" = lgcore ]; then
		"$LGCORE" --stats="$dir/stats" -o "$dir/core" "$pid"
	else
		"$GCORE" -o "$dir/core" "$pid"
	fi >"$dir/log" 2>&1 || { echo "$tool failed:" >&2; tail -5 "$dir/log" >&2; exit 1; }
	t1=$(date +%s%N)
	core=$dir/core.$pid
	sleep 0.5
	stop_ct
	if [ "$tool" = lgcore ]; then
		st=$(tr -d '\n ' <"$dir/stats")
		if [ "$kind" = jvm ]; then
			ok=-
		elif "$CT" check "$core" "$world" >"$dir/check"; then
			ok=yes
		else
			ok=NO
			cat "$dir/check" >&2
		fi
		echo "$gap $(((t1 - t0) / 1000000)) $(j '"final_stop":{"ms":') $(j '"registers_ms":')" \
			"$(j '"maps_ms":') $(j '"dirty_pages":') $(j '"dirty_ms":')" \
			"$(($(j '"full_bytes":') / 1024)) $(j '"full_ms":') $(j '"absent_pages":')" \
			"$(j '"absent_ms":') $(j '"files_ms":') $(j '"setup_stop_ms":')" \
			"$(j '"teardown":{"ms":') $(grep -o '"pages"' <<<"$st" | wc -l) $ok"
	else
		echo "$gap $(((t1 - t0) / 1000000))"
	fi
	rm -f "$core"
}
baseline() { # MS
	start_ct
	sleep "$(echo "$1 / 1000" | bc -l)"
	sleep 0.5
	stop_ct
	echo "$gap"
}
div() { awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN { if (b == 0) print "n/a"; else printf f, a / b }'; }

echo "lgcore: $LGCORE ($("$LGCORE" --version 2>&1 | head -1)); gcore: $GCORE; $(date -u +%FT%TZ)"
for kind in $targets; do
if [ "$kind" = jvm ]; then
	[ -x "$JVM" ] || { echo; echo "jvm: $JVM not built (no JDK found by configure): left out"; continue; }
	echo; echo "target jvm: $JVM 128 $rate (256 MiB heap, serial GC); load: $(cut -d' ' -f1-3 /proc/loadavg)"
else
	echo; echo "target shared: ${anon} MiB MAP_SHARED anonymous + ${memfd} MiB memfd, $rate page records/s; load: $(cut -d' ' -f1-3 /proc/loadavg)"
fi
printf '%-5s | %8s %8s %6s %8s | %7s %7s %5s | %7s %6s %6s %11s %12s %12s %6s | %6s %8s %6s %4s\n' \
	round lg_gap gc_gap gc/lg base_gap lg_wall gc_wall lg/gc \
	final regs maps dirty "full" absent files setup teardn passes ok
for r in $(seq "$rounds"); do
	if [ $((r % 2)) = 1 ]; then
		lg=$(dump lgcore) || exit 1
		gc=$(dump gcore) || exit 1
	else
		gc=$(dump gcore) || exit 1
		lg=$(dump lgcore) || exit 1
	fi
	set -- $lg
	lgg=$1 lgw=$2 fin=$3 regs=$4 maps=$5 dp=$6 dms=$7 fk=$8 fms=$9 ap=${10} ams=${11} fl=${12} \
		setup=${13} td=${14} passes=${15} ok=${16}
	set -- $gc
	gcg=$1 gcw=$2
	base=$(baseline "$lgw") || exit 1
	printf '%-5s | %6sms %6sms %5sx %6sms | %5sms %5sms %5s | %5sms %6s %6s %5sp/%5s %6sK/%5s %5sp/%5s %6s | %6s %8s %6s %4s\n' \
		"$r" "$lgg" "$gcg" "$(div "$gcg" "$lgg" %.0f)" "$base" "$lgw" "$gcw" "$(div "$lgw" "$gcw" %.2f)" \
		"$fin" "$regs" "$maps" "$dp" "$dms" "$fk" "$fms" "$ap" "$ams" "$fl" "$setup" "$td" "$passes" "$ok"
done
done
echo
echo "gap: longest time a writer's loop went without running; final stop in ms: registers, maps"
echo "(plan + collect), dirty pages/ms, whole mappings KiB/ms, absent shared pages read again/ms,"
echo "open-file check; ok: the checker found lgcore's core one snapshot."
