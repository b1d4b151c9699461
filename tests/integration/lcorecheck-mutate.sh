#!/bin/bash
# Mutated cores give the specific failure, never a crash: a note removed,
# a note size changed, the file truncated, a PT_LOAD past the end of the
# file, garbage bytes.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lcorecheck
lg_need_gcore
lg_need_python
lg_start check-targets/ct_threads
lg_stop "$TPID"
"$GCORE" -o "$T/g" "$TPID" > "$T/gcore.log" 2>&1 || lg_skip "gcore cannot attach: $(tail -1 "$T/gcore.log")"
C=$T/g.$TPID
lg_kill "$TPID"

cat > "$T/mut.py" <<'PY'
import struct, sys, random
src, dst, what = sys.argv[1:4]
d = bytearray(open(src, 'rb').read())
phoff, = struct.unpack_from('<Q', d, 32); phnum, = struct.unpack_from('<H', d, 56)
ph = [(phoff + 56 * i,) + struct.unpack_from('<IIQQQQQQ', d, phoff + 56 * i) for i in range(phnum)]
note = [x for x in ph if x[1] == 4][0]
def notes():
    p = note[3]
    while p < note[3] + note[6]:
        nsz, dsz, ty = struct.unpack_from('<III', d, p)
        do = p + 12 + ((nsz + 3) & ~3)
        yield p, ty, do, dsz
        p = do + ((dsz + 3) & ~3)
if what == 'no-prpsinfo':     # the note's type changed: it is gone for readers
    p = [n for n in notes() if n[1] == 3][0][0]
    struct.pack_into('<I', d, p + 8, 0x7777)
elif what == 'prstatus-size': # 336 -> 332: still aligned, wrong size
    p = [n for n in notes() if n[1] == 1][0][0]
    struct.pack_into('<I', d, p + 4, 332)
elif what == 'note-overrun':  # a descsz running past the segment
    p = [n for n in notes() if n[1] == 6][0][0]
    struct.pack_into('<I', d, p + 4, 0x7fffffff)
elif what == 'truncate':      # cut in the middle of the memory data
    loads = [x for x in ph if x[1] == 1 and x[6]]
    d = d[:loads[len(loads) // 2][3] + 100]
elif what == 'load-past-end':
    l = [x for x in ph if x[1] == 1 and x[6]][0]
    struct.pack_into('<Q', d, l[0] + 8, len(d) + 4096)
elif what == 'phdr-past-end':
    struct.pack_into('<Q', d, 32, len(d) - 10)
elif what.startswith('garbage'):
    random.seed(int(what[7:]))
    for _ in range(200):
        i = random.randrange(0, min(len(d), 1 << 16))
        d[i] = random.randrange(256)
open(dst, 'wb').write(d)
PY
m() { python3 "$T/mut.py" "$C" "$T/m" "$1" || lg_hard "mut.py $1 failed"; }

m no-prpsinfo;   lg_lc 1 "$T/m" && lg_lc_expect fail note.prpsinfo
m prstatus-size; lg_lc 1 "$T/m" && lg_lc_expect fail note.sizes
m note-overrun;  lg_lc 1 "$T/m" && lg_lc_expect fail note.align
m truncate;      lg_lc 1 "$T/m" && lg_lc_expect fail load.in-file
m load-past-end; lg_lc 1 "$T/m" && lg_lc_expect fail load.in-file
m phdr-past-end; lg_lc 1 "$T/m" && lg_lc_expect fail phdr.in-file
head -c 10 "$C" > "$T/m"; lg_lc 3 "$T/m"
lg_lc 2 "$T/does-not-exist"
for seed in 1 2 3 4 5 6 7 8; do
	m garbage$seed
	"$LCORECHECK" "$T/m" > /dev/null 2>&1
	st=$?
	case $st in 0|1|2|3) ;; *) lg_fail "garbage seed $seed: exit $st (crash?)" ;; esac
done
lg_done
