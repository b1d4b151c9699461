#!/bin/bash
# gcore cores of a stopped test target: each validates with eu-stack's
# backtraces, two of them compare equal, and a core with one changed
# register byte, one changed memory byte or a missing thread fails with
# that exact difference.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lcorecheck
lg_need_gcore
[ -n "$EU_STACK" ] || lg_skip "eu-stack not installed"
lg_need_python
lg_start check-targets/ct_threads
lg_stop "$TPID"
"$GCORE" -o "$T/g1" "$TPID" > "$T/gcore.log" 2>&1 || lg_skip "gcore cannot attach: $(tail -1 "$T/gcore.log")"
"$GCORE" -o "$T/g2" "$TPID" >> "$T/gcore.log" 2>&1 || lg_hard "second gcore failed"
A=$T/g1.$TPID B=$T/g2.$TPID

lg_lc 0 "$A"
lg_lc_expect pass unwind.agree
lg_lc_expect pass rdebug.link-map
lg_dwfl_frames "$T/lc.out" > "$T/mine"
lg_eu_frames "$A" > "$T/theirs"
diff -u "$T/theirs" "$T/mine" || lg_fail "backtraces differ from eu-stack"
for fn in ct_b ct_a main ct_sleeper ct_reader; do
	grep -q " $fn\$" "$T/mine" || lg_fail "no frame $fn"
done

lg_lc 0 "$A" "$B"
lg_lc_expect pass diff.memory
lg_lc_expect pass diff.regs
lg_lc_expect pass 'diff.backtrace.libunwind'
lg_lc 0 --json "$T/r.json" "$A" "$B"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['schema']==1 and d['summary']['status']=='ok' and len(d['inputs'])==2 and len(d['inputs'][0]['sha256'])==64, d['summary']" "$T/r.json" || lg_fail "bad JSON report"

# mutate.py CORE OUT WHAT: one change.
cat > "$T/mutate.py" <<'PY'
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
python3 "$T/mutate.py" "$A" "$T/m" reg || lg_hard "mutate.py reg failed"
lg_lc 1 "$A" "$T/m"
lg_lc_expect fail diff.regs
grep -Eq "^fail +diff.regs +thread $TPID: rip " "$T/lc.out" || lg_fail "rip difference not named"
[ "$(grep -c '^fail' "$T/lc.out")" -ge 1 ] || lg_fail "no failure"

addr=$(python3 "$T/mutate.py" "$A" "$T/m" mem) || lg_hard "mutate.py mem failed"
lg_lc 1 "$A" "$T/m"
grep -Eq "^fail +diff.memory +1 pages differ, first at $addr " "$T/lc.out" || { cat "$T/lc.out"; lg_fail "memory byte at $addr not named"; }

python3 "$T/mutate.py" "$A" "$T/m" thread || lg_hard "mutate.py thread failed"
lg_lc 1 "$A" "$T/m"
grep -Eq "^fail +diff.thread.missing +thread [0-9]+ is in a but not in b" "$T/lc.out" || lg_fail "missing thread not named"
lg_done
