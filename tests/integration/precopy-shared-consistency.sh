#!/bin/bash
# Writable shared memory is tracked in pre-copy, and the core is still one
# snapshot of what the process itself wrote: the consistency target's
# writer 0 works in MAP_SHARED|MAP_ANONYMOUS memory, writer 1 in a memfd
# (writing records, punching pages with MADV_REMOVE, dropping them with
# MADV_DONTNEED), and its checker verifies every page against the journal
# in the core, at several write rates.  --stats must show both shared
# mappings tracked and not copied whole in the final stop; afterwards no
# mapping of the target may keep a userfaultfd registration (VmFlags uw).
# The snapshot mode's core of the same target is checked too.
# Controls: with the memfd's descriptor kept open (write(2) through it would
# be unseen), or with part of it mapped twice, the memfd is copied in the
# final stop, and --verbose says why.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore
lg_need_python
lg_track_probe
[ "$(lg_kv uffd "$LG_PROBE")" = yes ] ||
	lg_skip "shared memory is tracked only by the uffd tracker: $(lg_kv uffd.why "$LG_PROBE")"

ANON=32 MEMFD=16

# start RATE KEEPFD [LOG]: a fresh shared-memory consistency target.
start() {
	lg_start track-targets/consistency shared "$1" $ANON $MEMFD "$2" ${3:+"$3"}
	sleep 0.3
	world=$(sed -n 's/^world //p' "$TOUT")
	[ -n "$world" ] || lg_hard "the consistency target printed no world address"
	grep -q ' rw-s .*/dev/zero (deleted)$' "/proc/$TPID/maps" &&
		grep -q ' rw-s .*/memfd:consistency (deleted)$' "/proc/$TPID/maps" ||
		lg_hard "the target has no writable MAP_SHARED anonymous and memfd mappings"
}

# dump WHAT TRACKED OPEN MINFULL MAXFULL: dump, check the core and --stats.
dump() {
	lg_run_lgcore "$T" --verbose --stats="$T/stats.json" -o "$T/core" "$TPID"
	if [ "$RC" != 0 ]; then
		lg_fail "$1: lgcore exited $RC: $(head -c 400 "$ERR")"
		return
	fi
	if "$top_builddir/tests/track-targets/consistency" check "$T/core.$TPID" "$world" >"$T/check"; then
		lg_info "ok   $1: $(cat "$T/check")"
	else
		lg_fail "$1: $(cat "$T/check")"
		cat "$ERR" >&2
	fi
	python3 - "$T/stats.json" "$2" "$3" "$4" "$5" <<'PY' || lg_fail "$1: --stats: $(tr -d '\n' <"$T/stats.json" | head -c 1200)"
import json, sys
d = json.load(open(sys.argv[1]))
tracked, opened, lo, hi = (int(a) for a in sys.argv[2:])
f = d["final_stop"]
assert d["tracker"] == "uffd", "tracker %s (%s)" % (d["tracker"], d["fallback"])
assert d["shm_tracked_maps"] == tracked, "%d shared mappings tracked, want %d" % (d["shm_tracked_maps"], tracked)
assert d["shm_untracked"]["open"] == opened, "%d held open, want %d" % (d["shm_untracked"]["open"], opened)
assert lo <= f["full_bytes"] < hi, "the final stop copied %d bytes of whole mappings, want [%d, %d)" % (f["full_bytes"], lo, hi)
PY
	grep -q "; $2 shared memory tracked" "$ERR" ||
		lg_fail "$1: --verbose does not say $2 shared mappings were tracked: $(grep '^mappings' "$ERR")"
	if grep -E '^VmFlags:.* uw( |$)' "/proc/$TPID/smaps" >/dev/null; then
		lg_fail "$1: a mapping of the target is still registered with userfaultfd after the dump (uw)"
	fi
	lg_check_running "$TPID" "after the dump ($1)"
	rm -f "$T"/core.*
}

# Both tracked: the final stop copies only the small private mappings that
# come and go (the mapper's), never a whole shared one.
for rate in 2000 20000 0; do
	start $rate 0
	dump "rate $rate" 2 0 0 $((MEMFD << 20))
	lg_kill "$TPID"
done
start 2000 1
dump "memfd held open" 1 1 $((MEMFD << 20)) $(((ANON + MEMFD) << 20))
grep -q '; 1 shared memory held open' "$ERR" ||
	lg_fail "--verbose does not say why the memfd was not tracked: $(grep '^mappings' "$ERR")"
lg_kill "$TPID"
# Mapped twice: writes through one mapping are not seen in the other's page
# tables, so neither is tracked.
start 2000 2
dump "memfd mapped twice" 1 0 $(((MEMFD + 1) << 20)) $(((ANON + MEMFD + 1) << 20))
grep -q '; 2 shared memory mapped twice' "$ERR" ||
	lg_fail "--verbose does not say why the memfd was not tracked: $(grep '^mappings' "$ERR")"
lg_kill "$TPID"
# The snapshot mode too (synchronous write-protect of shared memory): its
# core is the state at T0 but for what the process discards after T0
# (MADV_REMOVE, and MADV_DONTNEED, which keeps the bytes of shared memory
# but is documented as a discard there), which the target logs.
start 2000 0 "$T/discards"
lg_run_lgcore "$T" --mode=snapshot --stats="$T/stats.json" -o "$T/core" "$TPID"
if [ "$RC" != 0 ]; then
	lg_fail "snapshot: lgcore exited $RC: $(head -c 400 "$ERR")"
elif "$top_builddir/tests/track-targets/consistency" check "$T/core.$TPID" "$world" "$T/discards" >"$T/check"; then
	lg_info "ok   snapshot: $(cat "$T/check")"
else
	lg_fail "snapshot: $(cat "$T/check")"
fi
grep -E '^VmFlags:.* uw( |$)' "/proc/$TPID/smaps" >/dev/null &&
	lg_fail "snapshot: a mapping of the target is still registered with userfaultfd after the dump (uw)"
lg_check_running "$TPID" "after the snapshot dump"
rm -f "$T"/core.*
lg_kill "$TPID"
lg_done
