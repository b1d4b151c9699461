#!/bin/bash
# The core of a busy process taken with pre-copy is one snapshot: the
# consistency target's checker verifies every page record, zapped page and
# mapped region against the journal in the core.  Several write rates, with
# every tracker this kernel offers (each must really run: --stats names
# it) and stop mode as the control.  A tracker the kernel lacks is skipped
# with the reason track-probe gives, and lgcore must refuse it when asked
# for it; a tracker it offers that does not run is a failure.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore
lg_track_probe

# start RATE: a fresh consistency target writing RATE records/s per writer.
start() {
	lg_start track-targets/consistency run "$1"
	sleep 0.3
	world=$(sed -n 's/^world //p' "$TOUT")
	[ -n "$world" ] || lg_hard "the consistency target printed no world address"
}

ran=
for tracker in uffd soft-dirty stop; do
	if [ $tracker = stop ]; then
		opt=--mode=stop want=none
	else
		opt=--tracker=$tracker want=$tracker
		if [ "$(lg_kv $tracker "$LG_PROBE")" != yes ]; then
			lg_info "SKIP tracker $tracker: $(lg_kv $tracker.why "$LG_PROBE")"
			# Asked for anyway, it fails the dump; it does not fall
			# back to another tracker behind the user's back.
			start 2000
			lg_run_lgcore "$T" "$opt" -o "$T/core" "$TPID"
			[ "$RC" = 1 ] || lg_fail "lgcore $opt on a kernel without $tracker exited $RC, want 1"
			lg_no_core "$T/core.$TPID"
			lg_kill "$TPID"
			continue
		fi
	fi
	for rate in 2000 20000 0; do
		start $rate
		lg_run_lgcore "$T" "$opt" --verbose --stats="$T/stats.json" -o "$T/core" "$TPID"
		if [ "$RC" != 0 ]; then
			lg_fail "$tracker rate $rate: lgcore exited $RC: $(head -c 400 "$ERR")"
		else
			used=$(sed -n 's/.*"tracker": *"\([^"]*\)".*/\1/p' "$T/stats.json" | head -n 1)
			[ "$used" = "$want" ] ||
				lg_fail "$tracker rate $rate: --stats says tracker '$used', not $want"
			if "$top_builddir/tests/track-targets/consistency" check "$T/core.$TPID" "$world" >"$T/check"; then
				lg_info "ok   $tracker rate $rate: $(cat "$T/check")"
			else
				lg_fail "$tracker rate $rate: $(cat "$T/check")"
				cat "$ERR" >&2
			fi
			ran="$ran $tracker"
		fi
		lg_kill "$TPID"
		rm -f "$T"/core.*
	done
done
lg_info "ran:$(echo $ran | tr ' ' '\n' | uniq -c | awk '{ printf " %s x%s", $2, $1 }')"
lg_done
