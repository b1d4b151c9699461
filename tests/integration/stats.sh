#!/bin/bash
# --verbose and --stats=FILE report the dump: which tracker ran, the passes,
# the final stop, and for --mode=stop the whole stop; the numbers agree with
# the core that was written (threads, bytes).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore
command -v python3 >/dev/null || lg_skip "python3 is needed to read the JSON report"

lg_start target-threads
for mode in precopy stop; do
	lg_lgcore "$TPID" "$mode" --mode=$mode --verbose --stats="$T/$mode.json" || continue
	grep -q "^lgcore: $TPID: " "$ERR" || lg_fail "--verbose printed nothing for --mode=$mode"
	python3 - "$T/$mode.json" "$mode" "$(lg_kv threads)" "$(stat -c %s "$T/$mode.$TPID")" <<'PY' ||
import json, sys
d = json.load(open(sys.argv[1]))
mode, threads, size = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
assert d["mode"] == mode, d["mode"]
assert d["threads"] == threads, (d["threads"], threads)
assert 0 < d["bytes_written"] < size, (d["bytes_written"], size)
assert d["final_stop"]["ms"] > 0 and d["pause_ms"] >= d["final_stop"]["ms"], d
if mode == "precopy" and d["tracker"] == "none":
    # No tracker on this kernel or for this target: it must say why.
    assert d["fallback"], d
elif mode == "precopy":
    assert d["tracker"] in ("uffd", "soft-dirty"), d["tracker"]
    assert len(d["passes"]) >= 1 and d["passes"][0]["pages"] > 0, d["passes"]
    assert d["tracked_maps"] > 0, d
else:
    assert d["tracker"] == "none" and d["passes"] == [], d
PY
		lg_fail "--stats report for --mode=$mode is wrong: $(head -c 400 "$T/$mode.json")"
done
lg_check_running "$TPID" "after the dumps"
lg_finish_target "$TPID"
lg_done
