/* Everything that differs between architectures.  Each lib/arch/<arch>.c
 * defines the same names; configure picks one. */
#ifndef LG_ARCH_H
#define LG_ARCH_H

#include <stdbool.h>
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
/* The note a core carries for regset I (an index into lg_arch_regsets[])
 * whose contents PTRACE_GETREGSET returned as RAW, LEN bytes: a copy, except
 * where readers need another layout than the kernel's (x86-64: XSTATE,
 * see x86_64.h).  DESC is replaced.  Returns 0 or -ENOMEM. */
int lg_arch_regset_note(size_t i, const void *raw, size_t len, struct lg_buf *desc);
/* Process-wide notes the kernel writes after all the others (x86-64:
 * NT_X86_XSAVE_LAYOUT, Linux 6.11, describing what lg_arch_regset_note()
 * wrote).  Returns 0 or -ENOMEM. */
int lg_arch_process_notes(struct lg_buf *notes);

/* The general registers as pr_reg holds them (struct user_regs_struct). */
uint64_t lg_arch_reg_pc(const void *gregs);
uint64_t lg_arch_reg_sp(const void *gregs);

/* Syscall injection (lib/ptrace/inject.c).  The instruction that enters the
 * kernel, as bytes to look for in the target's executable memory. */
extern const uint8_t lg_arch_syscall_insn[];
extern const size_t lg_arch_syscall_insn_len;

/* Turn a copy of the registers GREGS into a call of syscall NR with ARGS
 * (up to 6) executed by the instruction at PC.  The "interrupted syscall"
 * register is set to -1 so that the kernel does no restart processing on
 * the way out of the stop we inject from. */
void lg_arch_set_syscall(void *gregs, uint64_t pc, long nr, const uint64_t args[6]);
/* The return value of a syscall at its exit stop (-errno on failure). */
int64_t lg_arch_syscall_ret(const void *gregs);
/* The "interrupted syscall" register (orig_rax on x86-64): -1 outside a syscall. */
int64_t lg_arch_syscall_nr(const void *gregs);
/* Registers saved at an interrupt stop are written back at a syscall-exit
 * stop after an injection, where the kernel no longer restarts the
 * interrupted syscall itself: apply its restart rules to GREGS by hand.
 * Returns true if GREGS were changed. */
bool lg_arch_fix_restart(void *gregs);

#endif
