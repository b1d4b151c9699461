#!/usr/bin/env python3
"""Damage a core file in one known way, for tests that must notice it.

Usage: corrupt-core.py CORE LOG WHAT...
  none                  nothing (control run)
  mem ADDR              flip (xor 0xff) the byte at ADDR
  reg TID NAME          flip the low byte of register NAME (user_regs_struct
                        name) of thread TID
  drop-thread TID       remove TID's NT_PRSTATUS and the regsets after it
  garble-thread TID     set TID's pr_pid to TID + 100000
  set-reg TID NAME VAL  set register NAME of thread TID to VAL
  poke ADDR BYTE...     write the bytes BYTE... (numbers) at ADDR
  xstate-size N         cut every thread's NT_X86_XSTATE to N bytes (the
                        notes after it move down, PT_NOTE shrinks)
  unfile ADDR           p_filesz 0 for the PT_LOAD holding ADDR: its bytes
                        are gone for readers, as the kernel writes a
                        mapping it does not dump
  declared FACTS        flip one byte (the one past the middle) of every
                        memory region the target declared in FACTS
                        (NAME.addr and NAME.len lines, see tc_declare) that
                        the core holds; if it holds none, the middle byte of
                        the largest writable PT_LOAD with file data
What was changed goes to LOG as key=value lines (one line a byte for
"declared").  Used by lgcore-wrong-byte, tests/mutants/lgcore-mutant and
lcorecheck-regressions.sh.
"""
import struct
import sys

REGS = ["r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8",
        "rax", "rcx", "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "eflags",
        "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs"]
PRSTATUS_PID, PRSTATUS_REGS = 32, 112
NT_PRSTATUS = 1
PT_LOAD, PT_NOTE, PF_W = 1, 4, 2
NT_X86_XSTATE = 0x202
# Per-thread notes that follow their NT_PRSTATUS (FPREGSET, XSTATE,
# SIGINFO, shadow stack).
THREAD_NOTES = {2, 0x202, 0x53494749, 0x204}


def die(msg):
    sys.stderr.write("corrupt-core: %s\n" % msg)
    sys.exit(2)


class Core:
    def __init__(self, path):
        self.f = open(path, "r+b")
        eh = self.f.read(64)
        if eh[:4] != b"\x7fELF":
            die("%s is not an ELF file" % path)
        self.phoff, shoff = struct.unpack_from("<QQ", eh, 32)
        phnum, = struct.unpack_from("<H", eh, 56)
        if phnum == 0xffff:  # PN_XNUM: the count is section header 0's sh_info
            self.f.seek(shoff + 44)
            phnum, = struct.unpack("<I", self.f.read(4))
        self.f.seek(self.phoff)
        raw = self.f.read(56 * phnum)
        # (type, flags, offset, vaddr, paddr, filesz, memsz, align)
        self.ph = [struct.unpack_from("<IIQQQQQQ", raw, 56 * i) for i in range(phnum)]
        self.note_i = [i for i, p in enumerate(self.ph) if p[0] == PT_NOTE][0]
        self.noff, nsz = self.ph[self.note_i][2], self.ph[self.note_i][5]
        self.f.seek(self.noff)
        self.seg = self.f.read(nsz)

    def notes(self):
        p = 0
        while p + 12 <= len(self.seg):
            namesz, descsz, ty = struct.unpack_from("<III", self.seg, p)
            desc = p + 12 + ((namesz + 3) & ~3)
            end = desc + ((descsz + 3) & ~3)
            yield p, ty, desc, end
            p = end

    def prstatus(self, tid):
        for p, ty, desc, end in self.notes():
            if ty == NT_PRSTATUS and struct.unpack_from("<i", self.seg, desc + PRSTATUS_PID)[0] == tid:
                return p, desc, end
        die("no NT_PRSTATUS of thread %d" % tid)

    def offset_of(self, addr):
        """File offset of the byte at ADDR, or None if no file data holds it."""
        for ty, _, off, vaddr, _, filesz, _, _ in self.ph:
            if ty == PT_LOAD and vaddr <= addr < vaddr + filesz:
                return off + addr - vaddr
        return None

    def flip(self, off):
        self.f.seek(off)
        old = self.f.read(1)[0]
        self.f.seek(off)
        self.f.write(bytes([old ^ 0xff]))
        return old, old ^ 0xff

    def flip_addr(self, addr):
        off = self.offset_of(addr)
        old, new = self.flip(off)
        return ["addr=0x%x" % addr, "offset=%d" % off, "old=0x%02x" % old, "new=0x%02x" % new]


def declared(facts):
    """The regions of a facts file: [(name, addr, len)]."""
    kv = {}
    for line in open(facts, errors="replace"):
        k, sep, v = line.rstrip("\n").partition("=")
        if sep and k not in kv:
            kv[k] = v
    out = []
    for k in kv:
        if k.endswith(".addr") and k[:-5] + ".len" in kv:
            name = k[:-5]
            try:
                out.append((name, int(kv[k], 16), int(kv[name + ".len"], 0)))
            except ValueError:
                pass
    return out


def main():
    if len(sys.argv) < 4:
        die("usage: corrupt-core.py CORE LOG WHAT...")
    core, log, what = sys.argv[1], sys.argv[2], sys.argv[3:]
    c = Core(core)
    out = []
    if what[0] == "none":
        pass
    elif what[0] == "mem":
        addr = int(what[1], 0)
        if c.offset_of(addr) is None:
            die("0x%x is in no PT_LOAD's file data" % addr)
        out += c.flip_addr(addr)
    elif what[0] == "reg":
        tid, name = int(what[1]), what[2]
        _, desc, _ = c.prstatus(tid)
        off = desc + PRSTATUS_REGS + 8 * REGS.index(name)
        oldv, = struct.unpack_from("<Q", c.seg, off)
        c.flip(c.noff + off)
        out += ["tid=%d" % tid, "reg=%s" % name, "old=0x%x" % oldv, "new=0x%x" % (oldv ^ 0xff)]
    elif what[0] == "drop-thread":
        tid = int(what[1])
        start, _, end = c.prstatus(tid)
        for p, ty, desc, e in c.notes():
            if p == end and ty in THREAD_NOTES:
                end = e
        # Shift the notes after it down and shrink PT_NOTE: every other
        # offset in the file stays valid (the freed bytes become padding).
        new = c.seg[:start] + c.seg[end:]
        c.f.seek(c.noff)
        c.f.write(new + b"\0" * (len(c.seg) - len(new)))
        c.f.seek(c.phoff + 56 * c.note_i + 32)
        c.f.write(struct.pack("<Q", len(new)))
        out += ["tid=%d" % tid, "removed=%d" % (end - start)]
    elif what[0] == "garble-thread":
        tid = int(what[1])
        _, desc, _ = c.prstatus(tid)
        c.f.seek(c.noff + desc + PRSTATUS_PID)
        c.f.write(struct.pack("<i", tid + 100000))
        out += ["tid=%d" % tid, "new=%d" % (tid + 100000)]
    elif what[0] == "set-reg":
        tid, name, val = int(what[1]), what[2], int(what[3], 0) & (1 << 64) - 1
        _, desc, _ = c.prstatus(tid)
        off = desc + PRSTATUS_REGS + 8 * REGS.index(name)
        oldv, = struct.unpack_from("<Q", c.seg, off)
        c.f.seek(c.noff + off)
        c.f.write(struct.pack("<Q", val))
        out += ["tid=%d" % tid, "reg=%s" % name, "old=0x%x" % oldv, "new=0x%x" % val]
    elif what[0] == "poke":
        addr, new = int(what[1], 0), bytes(int(x, 0) for x in what[2:])
        off = c.offset_of(addr)
        if off is None or c.offset_of(addr + len(new) - 1) != off + len(new) - 1:
            die("0x%x is in no PT_LOAD's file data" % addr)
        c.f.seek(off)
        old = c.f.read(len(new))
        c.f.seek(off)
        c.f.write(new)
        out += ["addr=0x%x" % addr, "old=%s" % old.hex(), "new=%s" % new.hex()]
    elif what[0] == "xstate-size":
        size, new, cut = int(what[1], 0), b"", 0
        for p, ty, desc, end in c.notes():
            namesz, descsz, _ = struct.unpack_from("<III", c.seg, p)
            if ty != NT_X86_XSTATE or descsz <= size:
                new += c.seg[p:end]
                continue
            d = c.seg[desc:desc + size]
            new += struct.pack("<III", namesz, size, ty) + c.seg[p + 12:desc] + d + b"\0" * (-size % 4)
            cut += 1
        if not cut:
            die("no NT_X86_XSTATE larger than %d bytes" % size)
        c.f.seek(c.noff)
        c.f.write(new + b"\0" * (len(c.seg) - len(new)))
        c.f.seek(c.phoff + 56 * c.note_i + 32)
        c.f.write(struct.pack("<Q", len(new)))
        out += ["xstate_notes=%d" % cut, "size=%d" % size]
    elif what[0] == "unfile":
        addr = int(what[1], 0)
        for i, (ty, _, _, vaddr, _, filesz, memsz, _) in enumerate(c.ph):
            if ty == PT_LOAD and vaddr <= addr < vaddr + memsz and filesz:
                c.f.seek(c.phoff + 56 * i + 32)
                c.f.write(struct.pack("<Q", 0))
                out += ["vaddr=0x%x" % vaddr, "filesz=%d" % filesz]
                break
        else:
            die("no PT_LOAD with file data holds 0x%x" % addr)
    elif what[0] == "declared":
        for name, addr, length in declared(what[1]):
            a = addr + length // 2 + (3 if length > 8 else 0)
            if c.offset_of(a) is not None:
                out.append(" ".join(["region=%s" % name] + c.flip_addr(a)))
        if not out:
            loads = [p for p in c.ph if p[0] == PT_LOAD and p[1] & PF_W and p[5]]
            if not loads:
                die("no writable PT_LOAD with file data")
            l = max(loads, key=lambda p: p[5])
            out.append(" ".join(["region=largest-writable"] + c.flip_addr(l[3] + l[5] // 2)))
    else:
        die("unknown damage %r" % " ".join(what))
    c.f.close()
    with open(log, "w") as f:
        f.write("".join(l + "\n" for l in out))


main()
