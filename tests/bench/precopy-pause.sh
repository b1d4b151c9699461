#!/bin/sh
# Pause the target itself observes, lgcore (pre-copy) vs gcore, for 1 and 4 GiB
# targets writing 0, 10k and 100k random pages/s.  Not part of make check.
# Usage: tests/bench/precopy-pause.sh [SIZES_MIB] [RATES]   (run from the build dir)
set -u
B=${top_builddir:-.}
LG=$B/src/lgcore HB=$B/tests/track-targets/heartbeat
GCORE=${GCORE:-$(command -v gcore)}
SIZES=${1:-"1024 4096"} RATES=${2:-"0 10000 100000"}
dir=$(mktemp -d -p "${BENCH_DIR:-/var/tmp}") || exit 1
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$dir"' EXIT INT TERM
run() { # tool size rate -> "gap_ms wall_ms rss_kb bytes blocks"
	"$HB" $2 $3 > "$dir/hb" & pid=$!
	while ! grep -q ready "$dir/hb" 2>/dev/null; do sleep 0.1; done
	sleep 1
	t0=$(date +%s%N)
	if [ $1 = lgcore ]; then
		/usr/bin/time -f %M -o "$dir/rss" "$LG" -o "$dir/core" $pid > /dev/null 2>&1
	else
		/usr/bin/time -f %M -o "$dir/rss" "$GCORE" -o "$dir/core" $pid > /dev/null 2>&1
	fi
	t1=$(date +%s%N)
	sleep 0.5
	kill -USR1 $pid; wait $pid; pid=
	gap=$(awk '/maxgap_us/ {printf "%.1f", $2 / 1000}' "$dir/hb")
	set -- $(stat -c '%s %b' "$dir/core.$!" 2>/dev/null || stat -c '%s %b' "$dir"/core.* )
	echo "$gap $(( (t1 - t0) / 1000000 )) $(tail -1 "$dir/rss") $1 $2"
	rm -f "$dir"/core.*
}
printf '%-6s %-7s | %-9s %-9s %-7s | %-8s %-8s %-6s | %-8s %-12s %-10s\n' size rate lg_gap gc_gap ratio \
	lg_wall gc_wall ratio lg_rss bytes blocks
for size in $SIZES; do
	for rate in $RATES; do
		set -- $(run lgcore $size $rate); lg_gap=$1 lg_wall=$2 lg_rss=$3 bytes=$4 blocks=$5
		set -- $(run gcore $size $rate); gc_gap=$1 gc_wall=$2
		printf '%-6s %-7s | %-9s %-9s %-7s | %-8s %-8s %-6s | %-8s %-12s %-10s\n' "${size}M" $rate \
			"${lg_gap}ms" "${gc_gap}ms" "$(awk "BEGIN{printf \"%.0fx\", $gc_gap/$lg_gap}")" \
			"${lg_wall}ms" "${gc_wall}ms" "$(awk "BEGIN{printf \"%.2f\", $lg_wall/$gc_wall}")" \
			"${lg_rss}K" $bytes $blocks
	done
done
