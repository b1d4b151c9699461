#!/usr/bin/env python3
"""Compare the memory two ELF core files hold where both hold it.

Usage: corecmp.py CORE_A CORE_B [--max N]

Walks the PT_LOADs of both (ELF64 little-endian, with the PN_XNUM extension
for more than 65535 segments), and for every address that both have file
data for, compares the bytes page by page.  Prints one line per differing
page ("0xADDR"), at most N of them (default 20), then a summary line
"compared BYTES bytes, DIFF pages differ".  Exit 0 when nothing differs, 1
when something does, 2 on a malformed file.  Only the standard library is
used: any python3 will do.
"""
import struct
import sys

PAGE = 4096
BLOCK = 256 * PAGE


def loads(path):
    with open(path, 'rb') as f:
        eh = f.read(64)
        if eh[:4] != b'\x7fELF' or eh[4] != 2 or eh[5] != 1:
            raise ValueError('%s: not an ELF64 little-endian file' % path)
        phoff, shoff = struct.unpack_from('<QQ', eh, 32)
        phnum, = struct.unpack_from('<H', eh, 56)
        if phnum == 0xffff:
            f.seek(shoff)
            sh = f.read(64)
            phnum, = struct.unpack_from('<I', sh, 44)
        f.seek(phoff)
        ph = f.read(56 * phnum)
    out = []
    for i in range(phnum):
        p_type, _, off, va, _, fs, ms, _ = struct.unpack_from('<IIQQQQQQ', ph, 56 * i)
        if p_type == 1 and fs:
            out.append((va, va + fs, off))
    out.sort()
    return out


def overlaps(a, b):
    i = j = 0
    while i < len(a) and j < len(b):
        s = max(a[i][0], b[j][0])
        e = min(a[i][1], b[j][1])
        if s < e:
            yield s, e, a[i][2] + (s - a[i][0]), b[j][2] + (s - b[j][0])
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1


def main(argv):
    maxshow = 20
    args = []
    k = 1
    while k < len(argv):
        if argv[k] == '--max':
            maxshow = int(argv[k + 1])
            k += 2
            continue
        args.append(argv[k])
        k += 1
    if len(args) != 2:
        sys.stderr.write(__doc__)
        return 2
    try:
        la, lb = loads(args[0]), loads(args[1])
    except (OSError, ValueError, struct.error) as e:
        sys.stderr.write('corecmp: %s\n' % e)
        return 2
    compared = diff = 0
    with open(args[0], 'rb') as fa, open(args[1], 'rb') as fb:
        for s, e, oa, ob in overlaps(la, lb):
            addr = s
            while addr < e:
                # in blocks of up to 1 MiB ending on page boundaries of the
                # address space; a differing block is looked at by page
                n = min(e, (addr // BLOCK + 1) * BLOCK) - addr
                fa.seek(oa + (addr - s))
                fb.seek(ob + (addr - s))
                x, y = fa.read(n), fb.read(n)
                # bytes past a file's end read as zeros (a truncated hole)
                x += bytes(n - len(x))
                y += bytes(n - len(y))
                if x != y:
                    p = addr
                    while p < addr + n:
                        q = min(addr + n, (p // PAGE + 1) * PAGE)
                        if x[p - addr:q - addr] != y[p - addr:q - addr]:
                            if diff < maxshow:
                                print('0x%x' % (p - p % PAGE))
                            diff += 1
                        p = q
                compared += n
                addr += n
    print('compared %d bytes, %d pages differ' % (compared, diff))
    return 1 if diff else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
