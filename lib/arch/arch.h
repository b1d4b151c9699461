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
/* What the regset notes of all threads of one core must agree on, because
 * a process-wide note describes them (x86-64: which XSAVE components every
 * NT_X86_XSTATE carries, see x86_64.h).  Zero it, pass every thread's
 * regsets to lg_arch_core_scan(), then write the notes with it. */
struct lg_arch_core {
	bool seen;		/* x86-64: some thread had an XSTATE regset */
	uint64_t xcr0;		/* x86-64: the XCR0 that XSTATE was saved under */
	uint64_t in_use;	/* x86-64: components out of their init state in some thread */
};
void lg_arch_core_scan(struct lg_arch_core *ac, size_t i, const void *raw, size_t len);
/* The note a core carries for regset I (an index into lg_arch_regsets[])
 * whose contents PTRACE_GETREGSET returned as RAW, LEN bytes: a copy, except
 * where readers need another layout than the kernel's (x86-64: XSTATE,
 * see x86_64.h).  AC is the whole core's scan, or NULL for a core of this
 * thread alone.  DESC is replaced.  Returns 0 or -ENOMEM. */
int lg_arch_regset_note(const struct lg_arch_core *ac, size_t i, const void *raw, size_t len,
			struct lg_buf *desc);
/* Process-wide notes the kernel writes after all the others (x86-64:
 * NT_X86_XSAVE_LAYOUT, Linux 6.11, describing what lg_arch_regset_note()
 * wrote with the same AC; NULL: no thread scanned).  Returns 0 or -ENOMEM. */
int lg_arch_process_notes(const struct lg_arch_core *ac, struct lg_buf *notes);

/* The general registers as pr_reg holds them (struct user_regs_struct). */
uint64_t lg_arch_reg_pc(const void *gregs);
uint64_t lg_arch_reg_sp(const void *gregs);

/* Syscall injection (lib/ptrace/inject.c), in lib/arch/<arch>-inject.c.
 * The instruction that enters the kernel, as bytes to look for in the
 * target's executable memory. */
extern const uint8_t lg_arch_syscall_insn[];
extern const size_t lg_arch_syscall_insn_len;

/* The return value of a syscall at its exit stop (-errno on failure). */
int64_t lg_arch_syscall_ret(const void *gregs);
/* The "interrupted syscall" register (orig_rax on x86-64): -1 outside a syscall. */
int64_t lg_arch_syscall_nr(const void *gregs);
/* Registers saved at an interrupt stop are written back at a syscall-exit
 * stop after an injection, where the kernel no longer restarts the
 * interrupted syscall itself: apply its restart rules to GREGS by hand.
 * Returns true if GREGS were changed. */
bool lg_arch_fix_restart(void *gregs);
/* GREGS are those of a thread interrupted in a wait the kernel resumes
 * through restart_syscall(2) (nanosleep, clock_nanosleep, poll, futex
 * with a timeout): a sigreturn would make it fail with EINTR instead. */
bool lg_arch_in_restart_block(const void *gregs);
/* A thread in the native 64-bit mode (not a compat one). */
bool lg_arch_user_64bit(const void *gregs);

/* rt_sigreturn's number, and code sequences that run it ("mov $15, %rax;
 * syscall"): every signal trampoline (SA_RESTORER) has one. */
extern const long lg_arch_nr_sigreturn;
struct lg_arch_code {
	const uint8_t *bytes;
	size_t len;
};
extern const struct lg_arch_code lg_arch_sigreturn_gadgets[];
extern const size_t lg_arch_nsigreturn_gadgets;

/* GREGS resume into rt_sigreturn(2): rip = PC (a syscall instruction),
 * the syscall number register = rt_sigreturn, sp = SP (frame->sp of
 * lg_arch_sigframe_build), no restart processing. */
void lg_arch_set_sigreturn(void *gregs, uint64_t pc, uint64_t sp);
/* At a syscall-entry stop: run syscall NR(ARGS) instead of the one the
 * thread entered, and return to RET_PC. */
void lg_arch_retarget_syscall(void *gregs, long nr, const uint64_t args[6], uint64_t ret_pc);

/* At a syscall-entry stop: the entered syscall is skipped and the
 * registers are kept as set. */
void lg_arch_set_syscall_skipped(void *gregs);

/* A signal frame that rt_sigreturn(2) turns back into a thread's state. */
struct lg_arch_sigframe_in {
	const void *gregs;	/* its registers, restart rules already applied */
	uint64_t sigmask;	/* its blocked signals (PTRACE_GETSIGMASK) */
	const void *fpu;	/* its NT_X86_XSTATE (or NT_PRFPREG) buffer */
	size_t fpu_len;
	bool fpu_is_xstate;	/* FPU is an XSAVE area, not FXSAVE only */
};
struct lg_arch_sigframe {
	uint64_t lo;		/* the frame is [lo, lo + len) in the target */
	size_t len;
	uint64_t sp;		/* the stack pointer rt_sigreturn wants */
};
/* Room for a frame with an FPU state of FPU_LEN bytes, red zone included. */
size_t lg_arch_sigframe_max(size_t fpu_len);
/* Build in BUF (CAP bytes) the frame the kernel would put below the
 * thread's stack pointer; returns 0, -EINVAL for unusable FPU state or
 * -ENOSPC if CAP is too small. */
int lg_arch_sigframe_build(const struct lg_arch_sigframe_in *in, uint8_t *buf, size_t cap,
			   struct lg_arch_sigframe *out);

#endif
