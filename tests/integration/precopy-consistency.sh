#!/bin/sh
# The core of a busy process taken with pre-copy is one snapshot: the
# consistency target's checker verifies every page record, zapped page and
# mapped region against the journal in the core.  Several write rates, every
# tracker this kernel has, and stop mode as the control.
set -u
: "${top_builddir:=.}"
LG=$top_builddir/src/lgcore
T=$top_builddir/tests/track-targets/consistency
dir=$(mktemp -d) || exit 99
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT INT TERM
fail=0 ran=0
for tracker in uffd soft-dirty stop; do
	for rate in 2000 20000 0; do
		"$T" run $rate > "$dir/out" &
		pid=$!
		i=0
		while ! grep -q ready "$dir/out" 2>/dev/null; do
			i=$((i + 1)); [ $i -gt 100 ] && { echo "target did not start"; exit 99; }
			sleep 0.1
		done
		sleep 0.3
		world=$(awk '/^world/ {print $2}' "$dir/out")
		if [ $tracker = stop ]; then opt=--mode=stop; else opt=--tracker=$tracker; fi
		if ! "$LG" $opt --verbose -o "$dir/core" $pid 2> "$dir/err" > /dev/null; then
			if grep -q "unavailable" "$dir/err"; then
				echo "SKIP $tracker: $(grep unavailable "$dir/err" | head -1)"
				kill $pid; wait $pid 2>/dev/null; pid=
				continue 2
			fi
			echo "FAIL $tracker rate $rate: lgcore failed"; cat "$dir/err"; fail=1
		else
			if "$T" check "$dir/core.$pid" "$world" > "$dir/check"; then
				echo "ok   $tracker rate $rate: $(cat "$dir/check")"
			else
				echo "FAIL $tracker rate $rate: $(cat "$dir/check")"; cat "$dir/err"; fail=1
			fi
			ran=$((ran + 1))
		fi
		kill $pid; wait $pid 2>/dev/null; pid=
		rm -f "$dir"/core.*
	done
done
[ $ran -gt 0 ] || exit 77
exit $fail
