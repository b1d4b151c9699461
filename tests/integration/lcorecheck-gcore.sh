#!/bin/sh
# gcore cores of a stopped test target: each validates with eu-stack's
# backtraces, two of them compare equal, and a core with one changed
# register byte, one changed memory byte or a missing thread fails with
# that exact difference.
. "${top_srcdir:-.}/tests/integration/lcorecheck-lib.sh"
[ -n "$GCORE" ] || skip "gdb's gcore not installed"
[ -n "$EU_STACK" ] || skip "eu-stack not installed"
need_python
start_target
kill -STOP "$TARGET_PID"
"$GCORE" -o "$TMP/g1" "$TARGET_PID" > "$TMP/gcore.log" 2>&1 || skip "gcore cannot attach: $(tail -1 "$TMP/gcore.log")"
"$GCORE" -o "$TMP/g2" "$TARGET_PID" >> "$TMP/gcore.log" 2>&1 || fail "second gcore failed"
A=$TMP/g1.$TARGET_PID B=$TMP/g2.$TARGET_PID

run 0 "$A"
expect_check pass unwind.agree
expect_check pass rdebug.link-map
dwfl_frames "$TMP/out" > "$TMP/mine"
eu_frames "$A" > "$TMP/theirs"
diff -u "$TMP/theirs" "$TMP/mine" || fail "backtraces differ from eu-stack"
for fn in ct_b ct_a main ct_sleeper ct_reader; do
	grep -q " $fn\$" "$TMP/mine" || fail "no frame $fn"
done

run 0 "$A" "$B"
expect_check pass diff.memory
expect_check pass diff.regs
expect_check pass 'diff.backtrace.libunwind'
run 0 --json "$TMP/r.json" "$A" "$B"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['schema']==1 and d['summary']['status']=='ok' and len(d['inputs'])==2 and len(d['inputs'][0]['sha256'])==64, d['summary']" "$TMP/r.json" || fail "bad JSON report"

# mutate.py CORE OUT WHAT: one change.
cat > "$TMP/mutate.py" <<'PY'
import struct, sys, shutil
src, dst, what = sys.argv[1:4]
d = bytearray(open(src, 'rb').read())
phoff, = struct.unpack_from('<Q', d, 32); phnum, = struct.unpack_from('<H', d, 56)
ph = [struct.unpack_from('<IIQQQQQQ', d, phoff + 56 * i) for i in range(phnum)]
def notes():
    for t, f, off, va, pa, fs, ms, al in ph:
        if t == 4:
            p = off
            while p < off + fs:
                nsz, dsz, ty = struct.unpack_from('<III', d, p)
                do = p + 12 + ((nsz + 3) & ~3)
                yield p, ty, do, dsz
                p = do + ((dsz + 3) & ~3)
prs = [n for n in notes() if n[1] == 1]
if what == 'reg':        # low byte of rip (pr_reg index 16) of the first thread
    d[prs[0][2] + 112 + 16 * 8] ^= 1
elif what == 'thread':   # the last thread gets another tid
    struct.pack_into('<I', d, prs[-1][2] + 32, 999999)
elif what == 'mem':      # one byte in the middle of the largest writable PT_LOAD
    l = max((x for x in ph if x[0] == 1 and x[1] & 2 and x[5]), key=lambda x: x[5])
    d[l[2] + l[5] // 2] ^= 0xff
    print(hex(l[3] + l[5] // 2))
open(dst, 'wb').write(d)
PY
python3 "$TMP/mutate.py" "$A" "$TMP/m" reg || exit 99
run 1 "$A" "$TMP/m"
expect_check fail diff.regs
grep -Eq "^fail +diff.regs +thread $TARGET_PID: rip " "$TMP/out" || fail "rip difference not named"
[ "$(grep -c '^fail' "$TMP/out")" -ge 1 ] || fail "no failure"

addr=$(python3 "$TMP/mutate.py" "$A" "$TMP/m" mem) || exit 99
run 1 "$A" "$TMP/m"
grep -Eq "^fail +diff.memory +1 pages differ, first at $addr " "$TMP/out" || { cat "$TMP/out"; fail "memory byte at $addr not named"; }

python3 "$TMP/mutate.py" "$A" "$TMP/m" thread || exit 99
run 1 "$A" "$TMP/m"
grep -Eq "^fail +diff.thread.missing +thread [0-9]+ is in a but not in b" "$TMP/out" || fail "missing thread not named"
kill -CONT "$TARGET_PID"
exit 0
