/* Everything that differs between architectures.  Each lib/arch/<arch>.c
 * defines the same names; configure picks one. */
#ifndef LG_ARCH_H
#define LG_ARCH_H

#include <stddef.h>
#include <stdint.h>
#include <elf.h>

#define LG_PAGE_SIZE 4096ul
#define LG_PAGE_MASK (~(LG_PAGE_SIZE - 1))

extern const uint16_t lg_arch_elf_machine;	/* EM_X86_64 */
extern const size_t lg_arch_gregs_size;	/* size of pr_reg in NT_PRSTATUS */

/* Register sets written after each thread's NT_PRSTATUS, in order. */
struct lg_regset {
	uint32_t note_type;	/* NT_PRFPREG, NT_X86_XSTATE ... */
	const char *owner;	/* note owner name: "CORE" or "LINUX" */
	size_t max_size;	/* buffer for PTRACE_GETREGSET; the kernel says the real size */
};
extern const struct lg_regset lg_arch_regsets[];
extern const size_t lg_arch_nregsets;

struct lg_buf;
/* Process-wide notes the kernel writes after all the others (x86-64:
 * NT_X86_XSAVE_LAYOUT, Linux 6.11).  Returns 0 or -ENOMEM. */
int lg_arch_process_notes(struct lg_buf *notes);

/* The general registers as pr_reg holds them (struct user_regs_struct). */
uint64_t lg_arch_reg_pc(const void *gregs);
uint64_t lg_arch_reg_sp(const void *gregs);

#endif
