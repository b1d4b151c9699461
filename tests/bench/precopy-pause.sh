#!/bin/bash
# Benchmark (not a test): the pause the target itself observes while it is
# dumped, lgcore (pre-copy, the default mode) vs gcore, for targets of SIZES
# MiB writing RATES random pages per second (tests/track-targets/heartbeat).
#
# Usage: tests/bench/precopy-pause.sh [SIZES_MIB [RATES [ROUNDS]]]
#   defaults: "1024 4096" "0 10000 100000" 3
# Run from the build tree after "make check TESTS=" (builds the heartbeat).
# LGCORE, GCORE and BENCH_DIR (where cores go; needs SIZE free) override;
# STATS_DIR, if set, keeps lgcore's --stats JSON of every dump there.
#
# Every dump gets a fresh heartbeat of its own.  Before a size is measured,
# one lgcore and one gcore dump are taken and thrown away (the first touch of
# guest memory is slow on VMs); the two tools then alternate which goes first
# from round to round, and the tables show medians over ROUNDS rounds.  Each
# round also runs a heartbeat that is not dumped, for as long as lgcore's dump
# took: its largest gap is the baseline ("base").
#
# Per round (raw lines): gaps in ms (largest gap between two iterations of the
# heartbeat's loop), walls in ms, lgcore's peak RSS (GNU time %M, KiB), core
# size in bytes and disk blocks (512 B), lgcore's final stop (--stats
# final_stop.ms), whole pause (pause_ms: set-up stop not included), its
# number of passes (the first full one included), its set-up stop and its
# teardown (unprotecting and unregistering, while the target runs).
set -u
sizes=${1:-"1024 4096"}
rates=${2:-"0 10000 100000"}
rounds=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
build=${top_builddir:-$(cd "$here/../.." && pwd)}
HB=$build/tests/track-targets/heartbeat
LGCORE=${LGCORE:-$build/src/lgcore}
GCORE=${GCORE:-$(command -v gcore)}
[ -x "$HB" ] || { echo "build $HB first (make check TESTS=)" >&2; exit 1; }
[ -x "$LGCORE" ] || { echo "no lgcore at $LGCORE" >&2; exit 1; }
[ -n "$GCORE" ] || { echo "no gcore" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time)" >&2; exit 1; }

dir=$(mktemp -d "${BENCH_DIR:-/var/tmp}/lgcore-pause.XXXXXX") || exit 1
pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

start_hb() { # size rate
	: >"$dir/hb"
	"$HB" "$1" "$2" >"$dir/hb" &
	pid=$!
	until grep -q '^ready' "$dir/hb"; do
		kill -0 "$pid" 2>/dev/null || { echo "heartbeat died" >&2; exit 1; }
		sleep 0.1
	done
	sleep 1
}
stop_hb() { # sets gap (ms)
	kill -USR1 "$pid"
	wait "$pid"
	pid=
	gap=$(awk '/^maxgap_us/ { printf "%.1f", $2 / 1000 }' "$dir/hb")
	[ -n "$gap" ] || { echo "heartbeat printed no gap" >&2; exit 1; }
}

# dump TOOL SIZE RATE -> "gap wall rss bytes blocks final pause passes"
dump() {
	local tool=$1 t0 t1 gap core final=- pause=- passes=- setup=- teardown=- st
	start_hb "$2" "$3"
	rm -f "$dir/stats"
	sync
	t0=$(date +%s%N)
	if [ "$tool" = lgcore ]; then
		/usr/bin/time -f %M -o "$dir/rss" "$LGCORE" --stats="$dir/stats" -o "$dir/core" "$pid"
	else
		/usr/bin/time -f %M -o "$dir/rss" "$GCORE" -o "$dir/core" "$pid"
	fi >"$dir/log" 2>&1 || { echo "$tool failed:" >&2; tail -5 "$dir/log" >&2; exit 1; }
	t1=$(date +%s%N)
	core=$dir/core.$pid
	sleep 0.5
	stop_hb
	if [ "$tool" = lgcore ]; then
		st=$(tr -d '\n ' <"$dir/stats")
		final=$(sed -n 's/.*"final_stop":{"ms":\([0-9.]*\).*/\1/p' <<<"$st")
		pause=$(sed -n 's/.*"pause_ms":\([0-9.]*\).*/\1/p' <<<"$st")
		passes=$(sed -n 's/.*"passes":\[\([^]]*\)\].*/\1/p' <<<"$st" | grep -o '"pages"' | wc -l)
		setup=$(sed -n 's/.*"setup_stop_ms":\([0-9.]*\).*/\1/p' <<<"$st")
		teardown=$(sed -n 's/.*"teardown":{"ms":\([0-9.]*\).*/\1/p' <<<"$st")
		[ -n "${STATS_DIR:-}" ] && cp "$dir/stats" "$STATS_DIR/lgcore-$2M-$3-$round.json"
	fi
	echo "$gap $(((t1 - t0) / 1000000)) $(tail -1 "$dir/rss") $(stat -c '%s %b' "$core")" \
		"${final:--} ${pause:--} $passes ${setup:--} ${teardown:--}"
	rm -f "$core"
}
# baseline SIZE RATE MS -> gap of a heartbeat left alone as long as a dump
baseline() {
	start_hb "$1" "$2"
	sleep "$(echo "$3 / 1000" | bc -l)"
	sleep 0.5
	stop_hb
	echo "$gap"
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
div() { awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN { if (b == 0) print "n/a"; else printf f, a / b }'; }

echo "lgcore: $LGCORE ($("$LGCORE" --version 2>&1 | head -1)); gcore: $GCORE; rounds: $rounds; $(date -u +%FT%TZ)"
echo "raw: size rate round order | lgcore: gap_ms wall_ms rss_kb bytes blocks final_ms pause_ms passes setup_ms teardown_ms | gcore: gap wall rss bytes blocks | base_gap_ms"
declare -A R
for size in $sizes; do
	round=warmup
	dump lgcore "$size" 0 >/dev/null	# warm-up, discarded
	dump gcore "$size" 0 >/dev/null
	for rate in $rates; do
		for r in $(seq "$rounds"); do
			round=$r
			if [ $((r % 2)) = 1 ]; then
				lg=$(dump lgcore "$size" "$rate") || exit 1
				gc=$(dump gcore "$size" "$rate") || exit 1
				order=lg,gc
			else
				gc=$(dump gcore "$size" "$rate") || exit 1
				lg=$(dump lgcore "$size" "$rate") || exit 1
				order=gc,lg
			fi
			set -- $lg; lw=$2
			set -- $gc; gw=$2
			base=$(baseline "$size" "$rate" "$lw") || exit 1
			echo "raw: $size $rate $r $order | $lg | ${gc% - - - - -} | $base"
			R[$size,$rate]="${R[$size,$rate]:-}$lg $gc $base"$'\n'
		done
	done
done

col() { # size rate field(1-based over "lg(10) gc(10) base(1)")
	median $(printf '%s' "${R[$1,$2]}" | awk -v f="$3" 'NF { print $f }')
}
echo
echo "Medians over $rounds rounds. gap = largest gap the target saw between two loop iterations."
printf '%-6s %-7s | %9s %9s %9s %8s | %8s %8s %6s\n' size pages/s lg_gap gc_gap base_gap gc/lg lg_wall gc_wall lg/gc
for size in $sizes; do
	for rate in $rates; do
		lgg=$(col $size $rate 1) gcg=$(col $size $rate 11) bg=$(col $size $rate 21)
		lgw=$(col $size $rate 2) gcw=$(col $size $rate 12)
		printf '%-6s %-7s | %7sms %7sms %7sms %7sx | %6sms %6sms %6s\n' "${size}M" "$rate" \
			"$lgg" "$gcg" "$bg" "$(div "$gcg" "$lgg" %.0f)" "$lgw" "$gcw" "$(div "$lgw" "$gcw" %.2f)"
	done
done
echo
printf '%-6s %-7s | %9s %9s %6s %9s %10s | %8s %13s %11s | %13s %11s\n' size pages/s lg_final lg_pause passes \
	lg_setup lg_teardown \
	lg_rss lg_bytes lg_blocks gc_bytes gc_blocks
for size in $sizes; do
	for rate in $rates; do
		printf '%-6s %-7s | %7sms %7sms %6s %7sms %8sms | %6sK %13s %11s | %13s %11s\n' "${size}M" "$rate" \
			"$(col $size $rate 6)" "$(col $size $rate 7)" "$(col $size $rate 8)" \
			"$(col $size $rate 9)" "$(col $size $rate 10)" \
			"$(col $size $rate 3)" "$(col $size $rate 4)" "$(col $size $rate 5)" \
			"$(col $size $rate 14)" "$(col $size $rate 15)"
	done
done
