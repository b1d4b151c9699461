#!/bin/bash
# A snapshot-mode core of a busy process is one instant, and that instant
# is T0, the start of the dump: the consistency target's checker verifies
# every page record, zapped page and mapped region against the journal in
# the core, into a file and into a pipe, at several write rates.  Through
# a reader of 20 MB/s the stream lasts seconds: the writers' counters in
# the core must then be those of the start, well behind the counters the
# target has when lgcore is done (a pre-copy or a stop at the end would
# hold those).  Memory the process discards (MADV_DONTNEED, munmap) after
# T0 before it was written out is zeros in the core, as lgcore(1) says:
# the target logs its discards to a file, the checker accepts zeros only
# where the log shows one after T0, and lgcore must have counted drops.
# Afterwards the target runs, with no write-protection left.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore
lg_track_probe
[ "$(lg_kv snapshot "$LG_PROBE")" = yes ] ||
	lg_skip "no synchronous userfaultfd write-protect: $(lg_kv snapshot.why "$LG_PROBE")"
command -v pv >/dev/null || lg_skip "pv not installed (the slow reader)"

start() {
	rm -f "$T/discards"
	lg_start track-targets/consistency run "$1" "$T/discards"
	sleep 0.3
	world=$(sed -n 's/^world //p' "$TOUT")
	[ -n "$world" ] || lg_hard "the consistency target printed no world address"
}

# counters PID: the writers' G (struct world: magic, then per writer g,
# pages, journal), read from the live process, summed.
counters() {
	local a=$((world)) g0 g1
	g0=$(dd if=/proc/"$1"/mem bs=8 skip=$(((a + 8) / 8)) count=1 2>/dev/null | od -An -tu8)
	g1=$(dd if=/proc/"$1"/mem bs=8 skip=$(((a + 32) / 8)) count=1 2>/dev/null | od -An -tu8)
	echo $((g0 + g1))
}

for rate in 2000 20000 0; do
	for out in file pipe slow; do
		start $rate
		case $out in
		file)	lg_run_lgcore "$T" --mode=snapshot --stats="$T/stats.json" -o "$T/core" "$TPID"
			core=$T/core.$TPID;;
		pipe)	"$LGCORE" --stats="$T/stats.json" -o - "$TPID" 2>"$T/err" | cat >"$T/core"
			RC=${PIPESTATUS[0]} ERR=$T/err core=$T/core;;
		slow)	t0=$(date +%s%N)
			"$LGCORE" --stats="$T/stats.json" -o - "$TPID" 2>"$T/err" |
				pv -q -L 20m >"$T/core"
			RC=${PIPESTATUS[0]} ERR=$T/err core=$T/core
			after=$(counters "$TPID")
			secs=$((($(date +%s%N) - t0) / 1000000));;
		esac
		what="rate $rate, $out"
		if [ "$RC" != 0 ]; then
			lg_fail "$what: lgcore exited $RC: $(head -c 400 "$ERR")"
		else
			mode=$(sed -n 's/.*"mode": *"\([^"]*\)".*/\1/p' "$T/stats.json" | head -n 1)
			[ "$mode" = snapshot ] || lg_fail "$what: --stats says mode '$mode', not snapshot"
			if "$top_builddir/tests/track-targets/consistency" check "$core" "$world" "$T/discards" >"$T/check"; then
				lg_info "ok   $what: $(cat "$T/check")"
			else
				lg_fail "$what: $(cat "$T/check")"
			fi
			lost=$(sed -n 's/.*after the snapshot: \([0-9]*\) pages, \([0-9]*\) regions.*/\1 \2/p' "$T/check")
			drops=$(sed -n 's/.*"dropped": *\([0-9]*\).*/\1/p' "$T/stats.json")
			[ "$lost" = "0 0" ] || [ "${drops:-0}" -gt 0 ] ||
				lg_fail "$what: the core lost discarded memory ($lost) but lgcore counted no drop"
			if [ $out = slow ] && [ "$rate" != 0 ]; then
				# Both writers at RATE a second, for most of the
				# stream's SECS: the core's counters are of T0.
				incore=$(sed -n 's/.*G=\([0-9]*\)\/\([0-9]*\),.*/\1 \2/p' "$T/check")
				incore=$(( ${incore% *} + ${incore#* } ))
				lg_info "     $what: counters $incore in the core, $after after ${secs} ms"
				[ $((after - incore)) -ge $((rate * secs / 1000)) ] ||
					lg_fail "$what: the core's counters ($incore) are not those of the start: $after after ${secs} ms at $rate/s per writer"
			fi
		fi
		lg_check_running "$TPID" "after the $what dump"
		grep -q '^VmFlags:.* uw' /proc/"$TPID"/smaps &&
			lg_fail "$what: the target still has userfaultfd-registered mappings"
		lg_kill "$TPID"
		rm -f "$T"/core*
	done
done
lg_done
