/* x86-64: the register sets a core carries and where pc/sp live in pr_reg. */
#include <cpuid.h>
#include <elf.h>
#include <stddef.h>
#include <string.h>
#include <sys/user.h>

#include "arch/arch.h"
#include "common/buf.h"
#include "elfcore/elfcore.h"

#ifndef NT_X86_XSTATE
# define NT_X86_XSTATE 0x202
#endif
#ifndef NT_X86_XSAVE_LAYOUT
# define NT_X86_XSAVE_LAYOUT 0x205
#endif

const uint16_t lg_arch_elf_machine = EM_X86_64;
const size_t lg_arch_gregs_size = sizeof(struct user_regs_struct);

_Static_assert(sizeof(struct user_regs_struct) == 27 * 8, "pr_reg is 27 registers");
_Static_assert(sizeof(struct user_fpregs_struct) == 512, "FXSAVE area is 512 bytes");

/* The kernel and gdb write FPREGSET (owner CORE) then XSTATE (owner LINUX).
 * XSTATE is as large as the CPU's XSAVE area (11008 bytes with AMX); the
 * kernel trims the iovec to what it has, so a generous buffer is enough. */
const struct lg_regset lg_arch_regsets[] = {
	{ NT_PRFPREG, "CORE", sizeof(struct user_fpregs_struct) },
	{ NT_X86_XSTATE, "LINUX", 64 * 1024 },
};
const size_t lg_arch_nregsets = sizeof(lg_arch_regsets) / sizeof(lg_arch_regsets[0]);

uint64_t lg_arch_reg_pc(const void *gregs)
{
	struct user_regs_struct r;
	memcpy(&r, gregs, sizeof(r));
	return r.rip;
}

uint64_t lg_arch_reg_sp(const void *gregs)
{
	struct user_regs_struct r;
	memcpy(&r, gregs, sizeof(r));
	return r.rsp;
}

/* Where each XSAVE component lives in NT_X86_XSTATE.  Readers used to guess
 * it from the note's size and XCR0, which is wrong on AMD CPUs with AVX-512
 * (no MPX hole: 2432 bytes instead of Intel's 2688), so Linux 6.11 added
 * this note; we write it as the kernel does, one record per extended
 * feature enabled in XCR0, with the offsets of the standard (user) format
 * that PTRACE_GETREGSET returns. */
int lg_arch_process_notes(struct lg_buf *notes)
{
	struct lg_buf d = { 0 };
	unsigned int a, b, c, dx, i;
	uint32_t lo, hi;
	uint64_t xcr0;
	int r = 0;

	if (!__get_cpuid(1, &a, &b, &c, &dx) || !(c & bit_OSXSAVE))
		return 0;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	xcr0 = (uint64_t)hi << 32 | lo;
	for (i = 2; i < 64; i++) {
		uint32_t rec[4];
		if (!(xcr0 & (1ull << i)))
			continue;
		__cpuid_count(0xd, i, a, b, c, dx);
		rec[0] = i;	/* type */
		rec[1] = a;	/* size */
		rec[2] = b;	/* offset in the standard format */
		rec[3] = 0;	/* flags: reserved */
		if ((r = lg_buf_append(&d, rec, sizeof(rec))))
			goto out;
	}
	if (d.len)
		r = lg_note_add(notes, "LINUX", NT_X86_XSAVE_LAYOUT, d.p, d.len);
out:
	lg_buf_free(&d);
	return r;
}
