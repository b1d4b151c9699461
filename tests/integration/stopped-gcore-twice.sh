#!/bin/bash
# lgcore of a SIGSTOPped process changes nothing in it: gcore, lgcore, gcore
# again, and the two gcore cores hold the same registers (every thread's
# NT_PRSTATUS, FPU and XSAVE state) and the same memory.  Injecting into a
# group-stopped thread would run it to user mode once: rip 2 bytes back,
# rax the syscall number, the rseq area rewritten.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
lg_need_lgcore
lg_need_gcore
command -v python3 >/dev/null || lg_skip "python3 not found"

lg_start target-threads
lg_stop "$TPID"
lg_gcore "$TPID" g1
lg_lgcore "$TPID" lg || lg_done
lg_gcore "$TPID" g2
lg_check_stopped "$TPID" "after gcore, lgcore, gcore"

python3 - "$T/g1.$TPID" "$T/g2.$TPID" > "$T/cmp" 2>&1 <<'PY' || { cat "$T/cmp" >&2; lg_fail "the second gcore differs from the first"; }
import struct, sys

def load(path):
    f = open(path, 'rb').read()
    phoff, = struct.unpack_from('<Q', f, 32)
    phnum, = struct.unpack_from('<H', f, 56)
    notes, mem = {}, {}
    tid = None
    for i in range(phnum):
        p_type, _, off, vaddr, _, filesz, memsz, _ = struct.unpack_from('<IIQQQQQQ', f, phoff + 56 * i)
        if p_type == 1:
            mem[vaddr] = (memsz, f[off:off + filesz])
        elif p_type == 4:
            o = off
            while o < off + filesz:
                namesz, descsz, typ = struct.unpack_from('<III', f, o)
                d = o + 12 + ((namesz + 3) & ~3)
                desc = f[d:d + descsz]
                if typ == 1:				# NT_PRSTATUS: a new thread
                    tid, = struct.unpack_from('<i', desc, 32)
                    notes[(tid, 'regs')] = desc[112:112 + 27 * 8]
                elif typ in (2, 0x202) and tid is not None:
                    notes[(tid, typ)] = desc
                o = d + ((descsz + 3) & ~3)
    return notes, mem

n1, m1 = load(sys.argv[1])
n2, m2 = load(sys.argv[2])
bad = 0
for k in sorted(set(n1) | set(n2), key=str):
    if n1.get(k) != n2.get(k):
        print('thread %s note %s differs' % k)
        bad = 1
if sorted(m1) != sorted(m2):
    print('the mappings differ')
    bad = 1
for a in sorted(set(m1) & set(m2)):
    if m1[a] != m2[a]:
        print('memory at %#x differs' % a)
        bad = 1
print('%d notes, %d segments compared' % (len(n1), len(m1)))
sys.exit(bad)
PY
lg_info "$(tail -1 "$T/cmp")"
lg_finish_target "$TPID"
lg_done
