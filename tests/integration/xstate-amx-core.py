#!/usr/bin/env python3
"""Rewrite a core's XSTATE notes as on a CPU with AMX.

Usage: xstate-amx-core.py CORE OUT HELPER kernel|lgcore [used]
Every NT_X86_XSTATE of CORE (lgcore's, Intel's fixed layout) goes through
HELPER (tests/integration/xstate-amx): "kernel" gives the area the kernel
hands out on a Sapphire Rapids (11008 bytes, as its own core carries it),
"lgcore" what lgcore writes for that area; NT_X86_XSAVE_LAYOUT to match.
The new notes go to the end of OUT, the PT_NOTE header points there.
"""
import struct
import subprocess
import sys

NT_X86_XSTATE, NT_X86_XSAVE_LAYOUT, PT_NOTE = 0x202, 0x205, 4


def pad(n):
    return (n + 3) & ~3


def note(name, typ, desc):
    return (struct.pack("<III", len(name), len(desc), typ) + name + bytes(pad(len(name)) - len(name)) +
            desc + bytes(pad(len(desc)) - len(desc)))


def helper(args, data):
    return subprocess.run([sys.argv[3]] + args, input=data, stdout=subprocess.PIPE, check=True).stdout


def main():
    src, dst, mode = sys.argv[1], sys.argv[2], sys.argv[4]
    extra = sys.argv[5:]
    b = bytearray(open(src, "rb").read())
    phoff, = struct.unpack_from("<Q", b, 32)
    phnum, = struct.unpack_from("<H", b, 56)
    pi = [i for i in range(phnum) if struct.unpack_from("<I", b, phoff + 56 * i)[0] == PT_NOTE][0]
    off, = struct.unpack_from("<Q", b, phoff + 56 * pi + 8)
    fsz, = struct.unpack_from("<Q", b, phoff + 56 * pi + 32)
    seg, out, p, first = b[off:off + fsz], bytearray(), 0, None
    while p + 12 <= len(seg):
        nsz, dsz, typ = struct.unpack_from("<III", seg, p)
        name = bytes(seg[p + 12:p + 12 + nsz])
        q = p + 12 + pad(nsz)
        desc = bytes(seg[q:q + dsz])
        p = q + pad(dsz)
        if typ == NT_X86_XSTATE:
            first = first or desc
            desc = helper([mode if mode == "kernel" else "note"] + extra, desc)
        elif typ == NT_X86_XSAVE_LAYOUT:
            desc = helper(["kernel-layout" if mode == "kernel" else "layout"] + extra, first)
        out += note(name, typ, desc)
    at = (len(b) + 7) & ~7
    b += bytes(at - len(b)) + out
    struct.pack_into("<Q", b, phoff + 56 * pi + 8, at)
    struct.pack_into("<Q", b, phoff + 56 * pi + 32, len(out))
    open(dst, "wb").write(b)


main()
