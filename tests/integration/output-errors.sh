#!/bin/bash
# Output errors are errors: "Saved corefile" lost on a full stdout, or
# --stats lost on a full device, is exit 1 with one line naming what was
# lost (the core itself is complete under its name and says so); --stats
# never writes through a symlink.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore
[ -w /dev/full ] || lg_skip "no /dev/full"

lg_start target-threads
mkdir "$T/out"

# stdout on /dev/full: the core is saved, but nobody can know.
LG_RUNS=$((LG_RUNS + 1))
ERR=$T/full.err
(cd "$T/out" && exec "$LGCORE" -o c "$TPID") >/dev/full 2>"$ERR"
RC=$?
[ "$RC" = 1 ] || lg_fail "stdout on /dev/full: lgcore exited $RC, expected 1"
grep -q "^lgcore: c\.$TPID saved, but cannot say so on standard output: No space left on device$" "$ERR" ||
	lg_fail "stdout on /dev/full: no one-line error; stderr: $(head -c 300 "$ERR")"
[ "$(wc -l <"$ERR")" = 1 ] || lg_fail "stdout on /dev/full: more than one line: $(head -c 300 "$ERR")"
lg_is_core "$T/out/c.$TPID" && lg_check_core "$T/out/c.$TPID" "$TPID" ||
	lg_fail "stdout on /dev/full: no complete core c.$TPID"
rm -f "$T/out/c.$TPID"

# --stats on /dev/full.
lg_run_lgcore "$T/out" --stats=/dev/full -o s "$TPID"
[ "$RC" = 1 ] || lg_fail "--stats=/dev/full: lgcore exited $RC, expected 1"
grep -q "^lgcore: s\.$TPID saved, but cannot write --stats /dev/full: No space left on device$" "$ERR" ||
	lg_fail "--stats=/dev/full: no one-line error; stderr: $(head -c 300 "$ERR")"
grep -qx "Saved corefile s.$TPID" "$OUT" || lg_fail "--stats=/dev/full: no 'Saved corefile s.$TPID'"
rm -f "$T/out/s.$TPID"

# --stats at a symlink: refused, the file it points to untouched.
echo precious >"$T/victim-file"
ln -s "$T/victim-file" "$T/out/stats.json"
lg_run_lgcore "$T/out" --stats=stats.json -o y "$TPID"
[ "$RC" = 1 ] || lg_fail "--stats at a symlink: lgcore exited $RC, expected 1"
grep -q "^lgcore: y\.$TPID saved, but cannot write --stats stats.json: " "$ERR" ||
	lg_fail "--stats at a symlink: no one-line error; stderr: $(head -c 300 "$ERR")"
[ "$(cat "$T/victim-file")" = precious ] || lg_fail "--stats wrote through a symlink"
rm -f "$T/out/y.$TPID" "$T/out/stats.json"

# The control: --stats to a plain file works and is JSON.
lg_lgcore "$TPID" ok --stats="$T/stats.json"
python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$T/stats.json" 2>/dev/null ||
	lg_fail "--stats wrote no JSON: $(head -c 200 "$T/stats.json")"

lg_check_running "$TPID" "after the dumps"
lg_finish_target "$TPID"
lg_done
