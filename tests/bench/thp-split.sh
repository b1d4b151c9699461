#!/bin/bash
# Benchmark (not a test): the cost of write-protect tracking on transparent
# huge pages.  A target (tests/bench/thp-writer) maps SIZE MiB (default 1024)
# with MADV_HUGEPAGE and writes RATE random pages/s; it is dumped by lgcore,
# and this prints, per case, AnonHugePages of the target (smaps_rollup)
# before and after the dump, the system's thp_split_pmd count during the
# dump (/proc/vmstat, so other processes count too), and the target's random
# page-write throughput (median of BURSTS one-second bursts, default 3)
# before and after: writing to a huge page while it is write-protected splits
# it, and the split stays, so TLB reach drops.
#
# Usage: tests/bench/thp-split.sh [SIZE_MIB [CASES]]
#   CASES: "MODE:RATE ..." (default "precopy:0 precopy:10000 precopy:100000
#   stop:10000"; stop mode does no tracking: the control)
# Run from the build tree after "make check TESTS=".  LGCORE, BENCH_DIR and
# BURSTS override.  Needs THP "always" or "madvise" in
# /sys/kernel/mm/transparent_hugepage/enabled.
set -u
size=${1:-1024}
cases=${2:-"precopy:0 precopy:10000 precopy:100000 stop:10000"}
bursts=${BURSTS:-3}
here=$(cd "$(dirname "$0")" && pwd)
build=${top_builddir:-$(cd "$here/../.." && pwd)}
TW=$build/tests/bench/thp-writer
LGCORE=${LGCORE:-$build/src/lgcore}
[ -x "$TW" ] || { echo "build $TW first (make check TESTS=)" >&2; exit 1; }
[ -x "$LGCORE" ] || { echo "no lgcore at $LGCORE" >&2; exit 1; }
grep -q '\[never\]' /sys/kernel/mm/transparent_hugepage/enabled &&
	{ echo "THP disabled on this system" >&2; exit 77; }

dir=$(mktemp -d "${BENCH_DIR:-/var/tmp}/lgcore-thp.XXXXXX") || exit 1
pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

ahp() { awk '/^AnonHugePages:/ { print $2 }' "/proc/$pid/smaps_rollup"; }
splits() { awk '/^thp_split_pmd / { print $2 }' /proc/vmstat; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
throughput() { # median of $bursts bursts
	local i n v=
	for i in $(seq "$bursts"); do
		n=$(grep -c '^burst_writes_per_s' "$dir/tw")
		kill -USR2 "$pid"
		until [ "$(grep -c '^burst_writes_per_s' "$dir/tw")" -gt "$n" ]; do sleep 0.1; done
		v="$v $(grep '^burst_writes_per_s' "$dir/tw" | tail -1 | cut -d' ' -f2)"
	done
	median $v
}

echo "lgcore: $LGCORE; target: $size MiB, MADV_HUGEPAGE; THP: $(cat /sys/kernel/mm/transparent_hugepage/enabled); $(date -u +%FT%TZ)"
printf '%-16s | %12s %12s | %9s | %12s %12s %7s | %8s %8s %6s\n' case \
	AHP_before AHP_after split_pmd wr/s_before wr/s_after after/before \
	final_ms gap_ms passes
for c in $cases; do
	mode=${c%:*} rate=${c#*:}
	: >"$dir/tw"
	"$TW" "$size" "$rate" >"$dir/tw" &
	pid=$!
	until grep -q '^ready' "$dir/tw"; do
		kill -0 "$pid" 2>/dev/null || { echo "target died" >&2; exit 1; }
		sleep 0.1
	done
	sleep 1
	a0=$(ahp)
	w0=$(throughput)
	s0=$(splits)
	rm -f "$dir/stats"
	"$LGCORE" --mode="$mode" --stats="$dir/stats" -o "$dir/core" "$pid" >"$dir/log" 2>&1 ||
		{ echo "lgcore failed:" >&2; tail -5 "$dir/log" >&2; exit 1; }
	s1=$(splits)
	rm -f "$dir/core.$pid"
	a1=$(ahp)
	w1=$(throughput)
	kill -USR1 "$pid"
	wait "$pid"
	pid=
	gap=$(awk '/^maxgap_us/ { printf "%.1f", $2 / 1000 }' "$dir/tw")
	st=$( { tr -d '\n ' <"$dir/stats"; } 2>/dev/null)
	final=$(sed -n 's/.*"final_stop":{"ms":\([0-9.]*\).*/\1/p' <<<"$st")
	passes=$(sed -n 's/.*"passes":\[\([^]]*\)\].*/\1/p' <<<"$st" | grep -o '"pages"' | wc -l)
	printf '%-16s | %10skB %10skB | %9s | %12s %12s %7s | %8s %8s %6s\n' "$c" "$a0" "$a1" \
		$((s1 - s0)) "$w0" "$w1" "$(awk -v a="$w1" -v b="$w0" 'BEGIN { printf "%.2f", a / b }')" \
		"${final:--}" "$gap" "$passes"
done
