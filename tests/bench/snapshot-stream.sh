#!/bin/bash
# Benchmark (not a test): the snapshot mode (lgcore --mode=snapshot, into a
# file, into /dev/null through -o -, and through a reader of 20 MB/s) against
# pre-copy and gcore, for targets of SIZES MiB writing RATES random pages per
# second (tests/track-targets/heartbeat; RATE "max": as fast as it can).
#
# Usage: tests/bench/snapshot-stream.sh [SIZES_MIB [RATES [ROUNDS]]]
#   defaults: "1024 4096" "0 10000 100000" 1
# Run from the build tree after "make check TESTS=" (builds the heartbeat).
# LGCORE, GCORE, BENCH_DIR (where cores go; needs SIZE free) override;
# SLOW_MAX_MIB (default 1024): the 20 MB/s reader only up to this size
# (4 GiB at 20 MB/s is 3.5 minutes a dump).
#
# Every dump gets a fresh heartbeat; a warm-up dump per size is thrown away.
# Per dump, printed raw: the largest gap the target saw between two
# iterations of its loop (every round), the wall time, lgcore's peak RSS
# (GNU time), lgcore's pause (--stats pause_ms: every stop, a slow
# reader's late stop included), and the target's writes during the dump
# relative to its RATE (or, for "max", to its own speed with no dump), and
# the longest a single write of the target waited for lgcore to take its
# page (--stats snapshot.max_service_ms).  A fixed-rate heartbeat catches
# up after a stall in one iteration of its loop, so when faults throttle
# it, its "gap" is the length of that catch-up, not of one stall: "max"
# (flat out) shows single stalls.  The "hog" row is the heartbeat with a
# process of our own spinning on the other CPU for as long as snapnull
# took: the gap that CPU competition alone causes on this machine.
# Then, per size and rate, the worst round of each and the ratios to gcore.
set -u
sizes=${1:-"1024 4096"}
rates=${2:-"0 10000 100000"}
rounds=${3:-1}
here=$(cd "$(dirname "$0")" && pwd)
build=${top_builddir:-$(cd "$here/../.." && pwd)}
HB=$build/tests/track-targets/heartbeat
LGCORE=${LGCORE:-$build/src/lgcore}
GCORE=${GCORE:-$(command -v gcore)}
SLOW_MAX_MIB=${SLOW_MAX_MIB:-1024}
[ -x "$HB" ] || { echo "build $HB first (make check TESTS=)" >&2; exit 1; }
[ -x "$LGCORE" ] || { echo "no lgcore at $LGCORE" >&2; exit 1; }
[ -n "$GCORE" ] || { echo "no gcore" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time)" >&2; exit 1; }
command -v pv >/dev/null || { echo "needs pv (the 20 MB/s reader)" >&2; exit 1; }

dir=$(mktemp -d "${BENCH_DIR:-/var/tmp}/lgcore-snap.XXXXXX") || exit 1
pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

hbrate() { [ "$1" = max ] && echo -1 || echo "$1"; }
start_hb() { # size rate
	: >"$dir/hb"
	"$HB" "$1" "$(hbrate "$2")" >"$dir/hb" &
	pid=$!
	until grep -q '^ready' "$dir/hb"; do
		kill -0 "$pid" 2>/dev/null || { echo "heartbeat died" >&2; exit 1; }
		sleep 0.1
	done
	hb0=$(date +%s%N)	# it counts its writes from "ready"
	sleep 1
}
stop_hb() { # sets gap (ms), wps (writes/s over its life after ready)
	local t1
	kill -USR1 "$pid"
	wait "$pid"
	t1=$(date +%s%N)
	pid=
	gap=$(awk '/^maxgap_us/ { printf "%.1f", $2 / 1000 }' "$dir/hb")
	wps=$(awk -v ns=$((t1 - hb0)) '/^maxgap_us/ { printf "%.0f", $4 / (ns / 1e9) }' "$dir/hb")
	[ -n "$gap" ] || { echo "heartbeat printed no gap" >&2; exit 1; }
}
# Writes/s of a heartbeat left alone, for "max".
free_speed() {
	start_hb "$1" max
	sleep 2
	stop_hb
	echo "$wps"
}

# dump VARIANT SIZE RATE -> "gap wall rss pause writes_ratio"
dump() {
	local v=$1 t0 t1 pause=- svc=- st ref
	[ "$v" = hog ] && [ -z "${hog_ms:-}" ] && hog_ms=1000
	# The writeback of the previous core before the heartbeat starts:
	# during it, an idle heartbeat saw gaps of 20-35 ms.
	rm -f "$dir/stats" "$dir"/core*
	sync
	start_hb "$2" "$3"
	t0=$(date +%s%N)
	case $v in
	gcore)	/usr/bin/time -f %M -o "$dir/rss" "$GCORE" -o "$dir/core" "$pid" >"$dir/log" 2>&1;;
	precopy) /usr/bin/time -f %M -o "$dir/rss" "$LGCORE" --stats="$dir/stats" -o "$dir/core" "$pid" >"$dir/log" 2>&1;;
	snapfile) /usr/bin/time -f %M -o "$dir/rss" "$LGCORE" --mode=snapshot --stats="$dir/stats" -o "$dir/core" "$pid" >"$dir/log" 2>&1;;
	snapnull) /usr/bin/time -f %M -o "$dir/rss" "$LGCORE" --stats="$dir/stats" -o - "$pid" 2>"$dir/log" >/dev/null;;
	snapslow) /usr/bin/time -f %M -o "$dir/rss" "$LGCORE" --stats="$dir/stats" -o - "$pid" 2>"$dir/log" |
			pv -q -L 20m >/dev/null;;
	hog)	/usr/bin/time -f %M -o "$dir/rss" timeout "$(awk -v ms="$hog_ms" 'BEGIN { print ms / 1000 }')" \
			sh -c 'while :; do :; done' >"$dir/log" 2>&1; [ $? = 124 ];;
	esac || { echo "$v failed:" >&2; tail -5 "$dir/log" >&2; exit 1; }
	t1=$(date +%s%N)
	sleep 0.5
	stop_hb
	rm -f "$dir"/core*
	if [ -s "$dir/stats" ]; then
		st=$(tr -d '\n ' <"$dir/stats")
		pause=$(sed -n 's/.*"pause_ms":\([0-9.]*\).*/\1/p' <<<"$st")
		svc=$(sed -n 's/.*"max_service_ms":\([0-9.]*\).*/\1/p' <<<"$st")
	fi
	if [ "$3" = max ]; then ref=$free; else ref=$3; fi
	echo "$gap $(((t1 - t0) / 1000000)) $(tail -1 "$dir/rss") ${pause:--} $(awk -v w="$wps" -v r="$ref" 'BEGIN { if (r == 0) print "-"; else printf "%.2f", w / r }') ${svc:--}"
}

echo "lgcore: $LGCORE ($("$LGCORE" --version 2>&1 | head -1)); gcore: $GCORE; rounds: $rounds; $(date -u +%FT%TZ)"
echo "raw: size rate round variant | gap_ms wall_ms rss_kb pause_ms writes/rate service_ms"
declare -A W
for size in $sizes; do
	variants="gcore precopy snapfile snapnull"
	[ "$size" -le "$SLOW_MAX_MIB" ] && variants="$variants snapslow"
	dump gcore "$size" 0 >/dev/null
	dump snapnull "$size" 0 >/dev/null
	free=0
	case " $rates " in *" max "*) free=$(free_speed "$size");; esac
	for rate in $rates; do
		for r in $(seq "$rounds"); do
			for v in $variants; do
				line=$(dump "$v" "$size" "$rate") || exit 1
				echo "raw: $size $rate $r $v | $line"
				W[$size,$rate,$v]="${W[$size,$rate,$v]:-}$line"$'\n'
				[ "$v" = snapnull ] && hog_ms=$(echo "$line" | awk '{ print $2 }')
			done
			line=$(dump hog "$size" "$rate") || exit 1
			echo "raw: $size $rate $r hog | $line"
			W[$size,$rate,hog]="${W[$size,$rate,hog]:-}$line"$'\n'
		done
	done
done

# worst SIZE RATE VARIANT FIELD: the largest value over the rounds
worst() { printf '%s' "${W[$1,$2,$3]:-}" | awk -v f="$4" 'NF && $f != "-" { if (!n++ || $f + 0 > m) m = $f + 0 } END { print n ? m : "-" }'; }
least() { printf '%s' "${W[$1,$2,$3]:-}" | awk -v f="$4" 'NF && $f != "-" { if (!n++ || $f + 0 < m) m = $f + 0 } END { print n ? m : "-" }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }
echo
echo "Worst round of $rounds. gap: largest gap the target saw; writes: the target's writes during"
echo "the dump over its rate (lowest round); wall/gc: wall time over gcore's."
printf '%-6s %-6s %-9s | %9s %9s %9s %7s %8s %7s %9s\n' size rate variant gap pause wall wall/gc rss writes service
for size in $sizes; do
	for rate in $rates; do
		for v in gcore precopy snapfile snapnull snapslow hog; do
			[ -n "${W[$size,$rate,$v]:-}" ] || continue
			printf '%-6s %-6s %-9s | %7sms %7sms %7sms %7s %7sK %7s %7sms\n' "${size}M" "$rate" "$v" \
				"$(worst $size $rate $v 1)" "$(worst $size $rate $v 4)" "$(worst $size $rate $v 2)" \
				"$(div "$(worst $size $rate $v 2)" "$(worst $size $rate gcore 2)")" \
				"$(worst $size $rate $v 3)" "$(least $size $rate $v 5)" "$(worst $size $rate $v 6)"
		done
	done
done
