/* x86-64: the register sets a core carries and where pc/sp live in pr_reg. */
#include <elf.h>
#include <stddef.h>
#include <string.h>
#include <sys/user.h>

#include "arch/arch.h"

#ifndef NT_X86_XSTATE
# define NT_X86_XSTATE 0x202
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
