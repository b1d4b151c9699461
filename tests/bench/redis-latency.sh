#!/bin/bash
# Benchmark (not a test): the latency redis clients see while redis-server is
# dumped, lgcore (pre-copy, the default) vs gcore vs no dump.
#
# Starts redis-server on 127.0.0.1 (random free port, no persistence), fills
# about SIZE MiB (default 1024) with DEBUG POPULATE until INFO memory
# used_memory >= SIZE MiB, then for ROUNDS rounds (default 3) runs, in an
# order that alternates, three times the same bounded redis-benchmark
# (-t set,get, -c CLIENTS, -n REQUESTS per test): once undisturbed, once with
# an lgcore dump and once with a gcore dump taken DELAY s after it started.
# Reports the largest max_latency_ms redis-benchmark prints (--csv) per run,
# medians, and checks lgcore's last core with gdb (thread apply all bt:
# the main thread under aeMain, the bio threads present).
# redis-benchmark records latencies above 3 s as 3 s: a gcore stop longer
# than that reads 3000 ms.
#
# Usage: tests/bench/redis-latency.sh [SIZE_MIB [ROUNDS]]
# Environment: LGCORE, GCORE, BENCH_DIR, REQUESTS (default 200000),
# CLIENTS (default 4), DELAY (default 1.5).
# Needs redis-server, redis-cli, redis-benchmark (Debian: redis-server,
# redis-tools) and gdb.
set -u
size=${1:-1024}
rounds=${2:-3}
requests=${REQUESTS:-200000}
clients=${CLIENTS:-4}
delay=${DELAY:-1.5}
here=$(cd "$(dirname "$0")" && pwd)
build=${top_builddir:-$(cd "$here/../.." && pwd)}
LGCORE=${LGCORE:-$build/src/lgcore}
GCORE=${GCORE:-$(command -v gcore)}
SERVER=$(command -v redis-server) || { echo "needs redis-server" >&2; exit 77; }
for t in redis-cli redis-benchmark gdb; do
	command -v $t >/dev/null || { echo "needs $t" >&2; exit 77; }
done
[ -x "$LGCORE" ] || { echo "no lgcore at $LGCORE" >&2; exit 1; }

dir=$(mktemp -d "${BENCH_DIR:-/var/tmp}/lgcore-redis.XXXXXX") || exit 1
rpid= bpid=
cleanup() {
	[ -n "$bpid" ] && kill "$bpid" 2>/dev/null && wait "$bpid" 2>/dev/null
	if [ -n "$rpid" ]; then
		kill -TERM "$rpid" 2>/dev/null
		for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$rpid" 2>/dev/null || break; sleep 0.5; done
		kill -KILL "$rpid" 2>/dev/null
		wait "$rpid" 2>/dev/null
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# a free port: random, not listened on
for i in $(seq 50); do
	port=$((20000 + RANDOM % 40000))
	ss -Htln "sport = :$port" 2>/dev/null | grep -q . || break
done
cli() { redis-cli -h 127.0.0.1 -p "$port" "$@"; }

"$SERVER" --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
	--enable-debug-command local --dir "$dir" --logfile "$dir/redis.log" \
	--daemonize no &
rpid=$!
for i in $(seq 100); do
	[ "$(cli ping 2>/dev/null)" = PONG ] && break
	kill -0 "$rpid" 2>/dev/null || { echo "redis-server died" >&2; cat "$dir/redis.log" >&2; exit 1; }
	sleep 0.1
done
[ "$(cli ping 2>/dev/null)" = PONG ] || { echo "redis-server does not answer" >&2; exit 1; }

used() { cli info memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }'; }
want=$((size * 1048576)) keys=0 batch=250000
while [ "$(used)" -lt "$want" ]; do
	keys=$((keys + batch))
	cli debug populate "$keys" fill 1024 >/dev/null	# adds fill:N for N < keys
	[ "$keys" -gt 100000000 ] && { echo "cannot fill" >&2; exit 1; }
done
echo "redis-server $("$SERVER" --version | awk '{ print $3 }') pid $rpid port $port:" \
	"$(cli dbsize) keys, used_memory $(used), RSS $(awk '/^VmRSS/ { print $2 $3 }' /proc/$rpid/status)"

# bench TOOL -> "max_latency_ms dump_ms overlapped"
bench() {
	local tool=$1 t0 t1 ms=- over=-
	redis-benchmark -h 127.0.0.1 -p "$port" -t set,get -n "$requests" -c "$clients" \
		-r 100000 -d 1024 --csv >"$dir/bench.csv" 2>"$dir/bench.err" &
	bpid=$!
	if [ "$tool" != none ]; then
		sleep "$delay"
		kill -0 "$bpid" 2>/dev/null && over=yes || over=no
		t0=$(date +%s%N)
		"$tool" -o "$dir/core" "$rpid" >"$dir/dump.log" 2>&1 ||
			{ echo "$tool failed:" >&2; tail -5 "$dir/dump.log" >&2; exit 1; }
		t1=$(date +%s%N)
		ms=$(((t1 - t0) / 1000000))
		kill -0 "$bpid" 2>/dev/null || over=no
	fi
	wait "$bpid" || { echo "redis-benchmark failed:" >&2; cat "$dir/bench.err" >&2; exit 1; }
	bpid=
	# "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",
	# "p95_latency_ms","p99_latency_ms","max_latency_ms"
	echo "$(tr -d '"' <"$dir/bench.csv" | awk -F, '$1 != "test" && NF >= 8 && $8 + 0 > m { m = $8 + 0 } END { print m }') $ms $over"
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

"$LGCORE" -o "$dir/warm" "$rpid" >/dev/null 2>&1; rm -f "$dir"/warm.*	# warm-up
"$GCORE" -o "$dir/warm" "$rpid" >/dev/null 2>&1; rm -f "$dir"/warm.*
echo "redis-benchmark -t set,get -n $requests -c $clients -r 100000 -d 1024; dump ${delay}s after it starts"
echo "raw: round tool max_latency_ms dump_wall_ms dump_during_benchmark"
L= G= N=
for r in $(seq "$rounds"); do
	case $((r % 3)) in
	1) order="none lgcore gcore" ;;
	2) order="gcore none lgcore" ;;
	0) order="lgcore gcore none" ;;
	esac
	for t in $order; do
		case $t in
		none) set -- $(bench none); [ $# = 3 ] || exit 1; N="$N $1" ;;
		lgcore)
			set -- $(bench "$LGCORE"); [ $# = 3 ] || exit 1; L="$L $1"
			mv "$dir/core.$rpid" "$dir/lgcore.core" ;;
		gcore) set -- $(bench "$GCORE"); [ $# = 3 ] || exit 1; G="$G $1"; rm -f "$dir/core.$rpid" ;;
		esac
		echo "raw: $r $t $*"
	done
done
l=$(median $L) g=$(median $G) n=$(median $N)
echo
echo "median max latency over $rounds rounds (ms): no dump $n, lgcore $l, gcore $g;" \
	"gcore/lgcore $(awk -v a="$g" -v b="$l" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "n/a" }')"

for v in $L $G $N; do
	if awk -v v="$v" 'BEGIN { exit !(v >= 3000) }'; then
		echo "note: redis-benchmark clamps each latency at 3000 ms (its histogram's" \
			"ceiling): values of 3000 mean at least 3 s, and the ratio is a lower bound"
		break
	fi
done

echo
echo "gdb -batch -ex 'thread apply all bt' $SERVER lgcore.core:"
gdb -batch -ex 'thread apply all bt' "$SERVER" "$dir/lgcore.core" >"$dir/bt" 2>&1
grep -E '^(Thread|#)' "$dir/bt"
# the main thread (LWP = redis-server's pid) runs under aeMain (in epoll_wait
# when idle, in a read or a command when busy; static functions show as "??"
# without debug symbols), and redis's bio threads wait for background jobs
main_bt=$(awk -v p="LWP $rpid)" '/^Thread / { main = index($0, p) > 0 } main' "$dir/bt")
if grep -q ' aeMain ' <<<"$main_bt" && grep -q ' main ' <<<"$main_bt" &&
	[ "$(grep -c '^#.* bioProcessBackgroundJobs ' "$dir/bt")" -ge 1 ]; then
	echo "core check: OK (main thread LWP $rpid under aeMain, top frame:" \
		"$(sed -n 2p <<<"$main_bt" | sed 's/ (.*//; s/^#0 *//; s/0x[0-9a-f]* in //'); bio threads present)"
else
	echo "core check: FAILED (main thread not under aeMain, or no bio thread)"
	exit 1
fi
