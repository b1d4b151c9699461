#!/bin/bash
# Pre-copy copies a shared mapping the process cannot write (no VM_MAYWRITE:
# a file opened read-only, mapped MAP_SHARED) while the process runs, not
# in the final stop, and the core holds the file's bytes.  Controls: the
# same mapping of a file opened read-write (VM_MAYWRITE) is still copied in
# the final stop; and one the target makes writable during the dump (the
# same range, file and protection, only VM_MAYWRITE differs) is copied
# again in the final stop, so the core holds what it holds then.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore
lg_need_python
lg_track_probe
[ "$(lg_kv uffd "$LG_PROBE")" = yes ] || [ "$(lg_kv soft-dirty "$LG_PROBE")" = yes ] ||
	lg_skip "no dirty-page tracker here, pre-copy runs as stop mode (uffd: $(lg_kv uffd.why "$LG_PROBE"); soft-dirty: $(lg_kv soft-dirty.why "$LG_PROBE"))"

MIB=64
lg_start target-roshared "$T" $MIB
[ "$(lg_kv maywrite.ro)" = 0 ] ||
	lg_hard "a file opened O_RDONLY is mapped MAP_SHARED with mw=$(lg_kv maywrite.ro) in smaps VmFlags, not 0"
[ "$(lg_kv maywrite.rw)" = 1 ] ||
	lg_hard "a file opened O_RDWR is mapped MAP_SHARED with mw=$(lg_kv maywrite.rw) in smaps VmFlags, not 1"

# lg_lgcore checks the core's bytes of "ro" and "rw" against the target's.
lg_lgcore "$TPID" core --verbose --stats="$T/stats.json" || lg_done
core=$T/core.$TPID
grep -Eq "^mappings: .*; [1-9][0-9]* not writable by the process copied early" "$ERR" ||
	lg_fail "--verbose does not say what was copied early: $(grep 'mappings:' "$ERR")"
flipped=$(lg_kv flipped)
python3 - "$T/stats.json" $((MIB << 20)) "$(lg_kv rw.len)" "$flipped" <<'PY' ||
import json, sys
d = json.load(open(sys.argv[1]))
ro, rw, flipped = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
f = d["final_stop"]
assert d["tracker"] in ("uffd", "soft-dirty"), "tracker %s (%s)" % (d["tracker"], d["fallback"])
assert d["early_maps"] >= 1 and d["early_bytes"] >= ro, \
    "the read-only mapping was not copied early: early_maps %d, early_bytes %d < %d" % (
        d["early_maps"], d["early_bytes"], ro)
assert f["full_bytes"] < ro, \
    "the final stop copied %d bytes of whole mappings, the read-only %d among them" % (f["full_bytes"], ro)
# rw always, flip when it became writable: copied in the final stop.
want = rw * (2 if flipped else 1)
assert f["full_bytes"] >= want, \
    "the final stop copied %d bytes of whole mappings, not the %d of the writable ones" % (f["full_bytes"], want)
assert f["early_changed_maps"] == (1 if flipped else 0), \
    "early_changed_maps %d, flipped %s" % (f["early_changed_maps"], flipped)
PY
	lg_fail "--stats: $(tr -d '\n' <"$T/stats.json" | head -c 900)"

# The core's bytes of each mapping are the file's (for "flip": as it is
# now, written before the final stop).
lg_loads "$core" "$T/loads"
for r in ro rw flip; do
	lg_core_bytes "$core" "$T/loads" "$(lg_kv $r.addr)" "$(lg_kv $r.len)" "$T/bytes.$r"
	case $? in
	0) cmp -s "$T/bytes.$r" "$(lg_kv $r.path)" ||
		lg_fail "the core's bytes of mapping $r are not those of its file";;
	1) lg_fail "mapping $r is not in the core";;
	*) lg_fail "mapping $r is only partly in the core";;
	esac
	rm -f "$T/bytes.$r"
done
if [ "$flipped" = 1 ]; then
	lg_info "flip was made writable during the dump (checked above: copied again in the final stop)"
elif [ "$(sed -n 's/.*"tracker": *"\([^"]*\)".*/\1/p' "$T/stats.json")" = uffd ]; then
	lg_fail "the uffd tracker ran but the target never saw its registration: flip was not tested"
else
	lg_info "flip not tested: it waits for a userfaultfd registration, the tracker was soft-dirty"
fi
lg_info "$(grep -E '^(mappings|final stop):' "$ERR" | tr '\n' ' ')"
rm -f "$core"
lg_check_running "$TPID" "after the dump"
lg_finish_target "$TPID"
lg_done
