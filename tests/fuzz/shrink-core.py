#!/usr/bin/env python3
"""Shrink an x86-64 ELF core into a small fuzzing seed: the ELF header,
the program headers and the notes as they are, each PT_LOAD's memory kept
only when small (up to 8 KiB) or, around each thread's stack pointer,
12 KiB of its stack (the PT_LOAD then starts a page below the stack
pointer); other PT_LOADs keep their p_memsz with p_filesz 0, as gcore
writes mappings it does not dump.  File offsets stay congruent to the
addresses modulo the page size; section headers are dropped unless the
core needs section 0 for its program header count (PN_XNUM).

    shrink-core.py CORE SEED
"""
import struct
import sys

PAGE = 4096
KEEP = 8192
STACK = 12288
PT_LOAD, PT_NOTE, NT_PRSTATUS = 1, 4, 1
RSP_OFF = 112 + 19 * 8  # pr_reg in struct elf_prstatus, rsp is register 19


def notes(blob):
    off = 0
    while off + 12 <= len(blob):
        namesz, descsz, ntype = struct.unpack_from("<III", blob, off)
        off += 12
        off += (namesz + 3) & ~3
        yield ntype, blob[off:off + descsz]
        off += (descsz + 3) & ~3


def main(src, dst):
    data = open(src, "rb").read()
    ehdr = bytearray(data[:64])
    if data[:4] != b"\x7fELF" or data[4] != 2:
        sys.exit("shrink-core: %s is not an ELF64 file" % src)
    phoff, shoff = struct.unpack_from("<QQ", data, 32)
    phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from("<HHHHH", data, 54)
    phs = [list(struct.unpack_from("<IIQQQQQQ", data, phoff + i * phentsize)) for i in range(phnum)]
    rsps = []
    for p in phs:
        if p[0] == PT_NOTE:
            for ntype, desc in notes(data[p[2]:p[2] + p[5]]):
                if ntype == NT_PRSTATUS and len(desc) >= RSP_OFF + 8:
                    rsps.append(struct.unpack_from("<Q", desc, RSP_OFF)[0])
    out = bytearray()
    keep_sh = phnum == 0xFFFF and shnum != 0
    head = 64 + phnum * 56 + (64 if keep_sh else 0)
    out += b"\0" * head
    for p in phs:
        ptype, flags, off, vaddr, paddr, filesz, memsz, align = p
        if ptype == PT_NOTE:
            p[2] = len(out)
            out += data[off:off + filesz]
            out += b"\0" * (-len(out) % 8)
        elif ptype == PT_LOAD:
            src_off, n = off, min(filesz, memsz)
            inside = [r for r in rsps if vaddr <= r < vaddr + memsz]
            if n > KEEP and inside:
                start = max(vaddr, (inside[0] & ~(PAGE - 1)) - PAGE)
                src_off += start - vaddr
                memsz -= start - vaddr
                vaddr = paddr = start
                n = max(0, min(STACK, filesz - (start - p[3]), memsz))
            elif n > KEEP:
                n = 0
            out += b"\0" * ((vaddr - len(out)) % PAGE)
            p[2], p[3], p[4], p[5], p[6] = len(out), vaddr, paddr, n, memsz
            out += data[src_off:src_off + n]
    for i, p in enumerate(phs):
        struct.pack_into("<IIQQQQQQ", out, 64 + i * 56, *p)
    if keep_sh:
        sh = bytearray(data[shoff:shoff + 64])
        out[64 + phnum * 56:head] = sh
        struct.pack_into("<Q", ehdr, 40, 64 + phnum * 56)
        struct.pack_into("<HHH", ehdr, 58, 64, 1, 0)
    else:
        struct.pack_into("<Q", ehdr, 40, 0)
        struct.pack_into("<HHH", ehdr, 58, 0, 0, 0)
    struct.pack_into("<Q", ehdr, 32, 64)
    struct.pack_into("<H", ehdr, 54, 56)
    out[:64] = ehdr
    open(dst, "wb").write(out)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
