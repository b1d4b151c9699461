#!/bin/bash
# Benchmark (not a test): dump a SIZE MiB target (default 1024, every page
# written) with lgcore and with gcore, and compare wall time, the longest
# pause the target observed, the dumper's peak RSS, bytes written and disk
# space used.  Prints one line a metric: lgcore, gcore, lgcore/gcore.
#
# Usage: tests/bench/stop-vs-gcore.sh [SIZE_MIB [ROUNDS]]
# Both tools write SIZE MiB through the page cache, so one run is at the
# mercy of writeback: the tools alternate for ROUNDS rounds (default 3) and
# the medians are compared.
# Run from the build tree after "make check" (builds tests/bench/bench-bigmem);
# LGCORE, GCORE and BENCH_DIR (where cores go; needs 2 x SIZE free) override.
# Peak RSS comes from GNU time (/usr/bin/time, Debian package "time") when
# present, else it is reported as n/a.
set -u
size=${1:-1024}
rounds=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
build=${top_builddir:-$(cd "$here/../.." && pwd)}
target=$build/tests/bench/bench-bigmem
LGCORE=${LGCORE:-$build/src/lgcore}
GCORE=${GCORE:-$(command -v gcore)}
[ -x "$target" ] || { echo "build $target first (make check)" >&2; exit 1; }
[ -x "$LGCORE" ] || { echo "no lgcore at $LGCORE" >&2; exit 1; }
[ -n "$GCORE" ] || { echo "no gcore" >&2; exit 1; }

dir=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/lgcore-bench.XXXXXX") || exit 1
tpid=
cleanup() {
	[ -n "$tpid" ] && kill -KILL "$tpid" 2>/dev/null && wait "$tpid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

: >"$dir/target.out"
"$target" "$size" >>"$dir/target.out" &
tpid=$!
until grep -q '^ready=' "$dir/target.out"; do
	kill -0 "$tpid" 2>/dev/null || { echo "target died" >&2; exit 1; }
	sleep 0.2
done

gnutime=
[ -x /usr/bin/time ] && /usr/bin/time -f %M true >/dev/null 2>&1 && gnutime=/usr/bin/time

# measure NAME TOOL: appends to wall_NAME, rss_NAME, pause_NAME, bytes_NAME, disk_NAME
measure() {
	local name=$1 tool=$2 n t0 t1 core
	n=$(grep -c '^max_pause_us=' "$dir/target.out")
	kill -USR1 "$tpid"	# start a fresh pause measurement
	until [ "$(grep -c '^max_pause_us=' "$dir/target.out")" -gt "$n" ]; do sleep 0.05; done
	sleep 0.2
	sync
	t0=$(date +%s.%N)
	if [ -n "$gnutime" ]; then
		(cd "$dir" && $gnutime -o "$dir/$name.time" -f %M "$tool" -o "$name" "$tpid") >"$dir/$name.log" 2>&1
	else
		(cd "$dir" && "$tool" -o "$name" "$tpid") >"$dir/$name.log" 2>&1
	fi || { echo "$name failed:" >&2; tail -5 "$dir/$name.log" >&2; exit 1; }
	t1=$(date +%s.%N)
	n=$(grep -c '^max_pause_us=' "$dir/target.out")
	kill -USR1 "$tpid"
	until [ "$(grep -c '^max_pause_us=' "$dir/target.out")" -gt "$n" ]; do sleep 0.05; done
	core=$dir/$name.$tpid
	eval "wall_$name=\"\${wall_$name:-} $(printf %.3f "$(echo "$t1 - $t0" | bc -l)")\""
	eval "pause_$name=\"\${pause_$name:-} $(grep '^max_pause_us=' "$dir/target.out" | tail -1 | cut -d= -f2)\""
	eval "rss_$name=\"\${rss_$name:-} $([ -n "$gnutime" ] && tail -1 "$dir/$name.time" || echo n/a)\""
	eval "bytes_$name=\"\${bytes_$name:-} $(stat -c %s "$core")\""
	eval "disk_$name=\"\${disk_$name:-} $(($(stat -c %b "$core") * $(stat -c %B "$core") / 1024))\""
	rm -f "$core"
}

ratio() {
	case "$1$2" in *n/a*) echo n/a; return;; esac
	if [ "$(echo "$2 == 0" | bc)" = 1 ]; then echo n/a; else printf '%.3f' "$(echo "$1 / $2" | bc -l)"; fi
}

command -v bc >/dev/null || { echo "needs bc" >&2; exit 1; }
median() { printf '%s\n' $* | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

for r in $(seq "$rounds"); do
	if [ $((r % 2)) = 1 ]; then
		measure lgcore "$LGCORE"; measure gcore "$GCORE"
	else
		measure gcore "$GCORE"; measure lgcore "$LGCORE"
	fi
done
echo "rounds: $rounds (medians below); wall times lgcore:$wall_lgcore gcore:$wall_gcore"

printf '%-24s %14s %14s %10s\n' "target $size MiB" lgcore gcore ratio
for m in "wall time (s):wall" "target max pause (us):pause" "dumper peak RSS (KiB):rss" \
	 "bytes written:bytes" "disk used (KiB):disk"; do
	label=${m%:*} v=${m#*:}
	eval "a=\$(median \$${v}_lgcore) b=\$(median \$${v}_gcore)"
	printf '%-24s %14s %14s %10s\n' "$label" "$a" "$b" "$(ratio "$a" "$b")"
done
